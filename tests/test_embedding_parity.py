"""pytorch-metric-learning conventions (issue 13): ``reduction="mean_nonzero"`` (its AvgNonZeroReducer) for
triplet and contrastive, the cosine distance for triplets, and NT-Xent with several positives per anchor.

PML's triplet loss with ``CosineSimilarity`` computes the violation ``s_an - s_ap + m``; with ``d = 1 - s``
that is losskit's ``d_ap - d_an + m``. PML's ``NTXentLoss(embeddings, labels)`` makes one term per
(anchor, positive) pair with only the negatives beside the positive in the denominator; losskit's
``nt_xent_loss(z1, z2, labels=...)`` follows it (SupCon, a different quantity, is
``supervised_contrastive_loss``).
"""

from __future__ import annotations

import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import reducers as pml_reducers

import losskit
import losskit.functional as LF
from tests.reference import embedding as R

F64 = torch.float64


def rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def close(a, b, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    torch.testing.assert_close(
        torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64), rtol=rtol, atol=atol
    )


def _pml_triplet(a, p, n, **kw):
    k = a.shape[0]
    idx = torch.arange(k)
    return pml_losses.TripletMarginLoss(**kw)(torch.cat([a, p, n]), indices_tuple=(idx, idx + k, idx + 2 * k))


@pytest.mark.parametrize("margin", [0.05, 0.3])
def test_triplet_cosine_mean_nonzero_matches_pml_default(margin) -> None:
    a, p, n = rand(1, 12, 5), rand(2, 12, 5), rand(3, 12, 5)
    ours = LF.triplet_loss(a, p, n, distance="cosine", margin=margin, reduction="mean_nonzero")
    # PML's default reducer for TripletMarginLoss is AvgNonZeroReducer
    close(ours, _pml_triplet(a, p, n, margin=margin, distance=pml_distances.CosineSimilarity()))
    none = LF.triplet_loss(a, p, n, distance="cosine", margin=margin, reduction="none")
    assert bool((none == 0).any()) and bool((none > 0).any())  # the average really skips zeros
    close(
        none,
        R.triplet_loss(a.numpy(), p.numpy(), n.numpy(), distance="cosine", margin=margin, reduction="none"),
    )
    # MeanReducer is the plain mean
    close(
        LF.triplet_loss(a, p, n, distance="cosine", margin=margin),
        _pml_triplet(
            a,
            p,
            n,
            margin=margin,
            distance=pml_distances.CosineSimilarity(),
            reducer=pml_reducers.MeanReducer(),
        ),
    )


def test_triplet_euclidean_mean_nonzero_matches_pml_default() -> None:
    a, p, n = rand(4, 10, 3), rand(5, 10, 3), rand(6, 10, 3)
    dist = pml_distances.LpDistance(normalize_embeddings=False, p=2, power=1)
    close(
        LF.triplet_loss(a, p, n, margin=0.5, reduction="mean_nonzero"),
        _pml_triplet(a, p, n, margin=0.5, distance=dist),
    )


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_triplet_mean_nonzero_with_weight_matches_float64_reference(distance) -> None:
    # Σ w ℓ / Σ_{ℓ > 0} w: the weighted form of pml's AvgNonZeroReducer (float64 reference)
    a, p, n = rand(16, 14, 4), rand(17, 14, 4), rand(18, 14, 4)
    w = rand(19, 14).abs() + 0.1
    m = 0.2 if distance == "cosine" else 0.8
    none = LF.triplet_loss(a, p, n, distance=distance, margin=m, reduction="none")
    assert bool((none == 0).any()) and bool((none > 0).any())
    want = R.triplet_loss(
        a.numpy(),
        p.numpy(),
        n.numpy(),
        distance=distance,
        margin=m,
        weight=w.numpy(),
        reduction="mean_nonzero",
    )
    close(LF.triplet_loss(a, p, n, distance=distance, margin=m, weight=w, reduction="mean_nonzero"), want)
    close(losskit.TripletLoss(distance=distance, margin=m, reduction="mean_nonzero")(a, p, n, weight=w), want)
    # unweighted, the mean over the nonzero terms differs from the plain mean whenever a term is 0
    plain = LF.triplet_loss(a, p, n, distance=distance, margin=m)
    assert float(LF.triplet_loss(a, p, n, distance=distance, margin=m, reduction="mean_nonzero")) > float(
        plain
    )


def test_contrastive_mean_nonzero_is_pml_avg_nonzero_reducer() -> None:
    x1, x2 = rand(7, 16, 3), rand(8, 16, 3)
    y = torch.randint(0, 2, (16,), generator=torch.Generator().manual_seed(9))
    none = LF.contrastive_loss(x1, x2, y, margin=1.5, reduction="none")
    assert bool((none == 0).any()) and bool((none > 0).any())
    loss_dict = {"loss": {"losses": none, "indices": torch.arange(16), "reduction_type": "element"}}
    theirs = pml_reducers.AvgNonZeroReducer()(loss_dict, torch.cat([x1, x2]), torch.cat([y, y]))
    close(LF.contrastive_loss(x1, x2, y, margin=1.5, reduction="mean_nonzero"), theirs)
    close(
        LF.contrastive_loss(x1, x2, y, margin=1.5, reduction="mean_nonzero"),
        R.contrastive_loss(x1.numpy(), x2.numpy(), y.numpy(), margin=1.5, reduction="mean_nonzero"),
    )
    w = rand(10, 16).abs()
    close(
        losskit.ContrastiveLoss(margin=1.5, reduction="mean_nonzero")(x1, x2, y, weight=w),
        R.contrastive_loss(
            x1.numpy(), x2.numpy(), y.numpy(), margin=1.5, weight=w.numpy(), reduction="mean_nonzero"
        ),
    )


def test_mean_nonzero_all_zero_is_zero_with_backward_and_compiles() -> None:
    a = rand(11, 4, 3).requires_grad_()
    far = a.detach() + 100.0
    out = LF.triplet_loss(a, a.detach().clone(), far, reduction="mean_nonzero")  # every triplet satisfied
    out.backward()
    assert float(out) == 0.0 and bool(torch.isfinite(a.grad).all())
    torch._dynamo.reset()
    f = torch.compile(LF.triplet_loss, fullgraph=True, backend="eager")
    p, n = rand(12, 4, 3), rand(13, 4, 3)
    close(
        f(a.detach(), p, n, reduction="mean_nonzero", distance="cosine"),
        LF.triplet_loss(a.detach(), p, n, reduction="mean_nonzero", distance="cosine"),
    )
    with pytest.raises(ValueError, match="triplet_loss: reduction must be one of"):
        LF.triplet_loss(a, p, n, reduction="nonzero")
    with pytest.raises(ValueError, match="triplet_loss: p applies to distance='euclidean'"):
        LF.triplet_loss(a, p, n, distance="cosine", p=1.0)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_several_positives_matches_pml(tau) -> None:
    z1, z2 = rand(14, 10, 4), rand(15, 10, 4)
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 3, 3, 1, 4])
    theirs = pml_losses.NTXentLoss(temperature=tau)(torch.cat([z1, z2]), torch.cat([labels, labels]))
    close(LF.nt_xent_loss(z1, z2, labels=labels, temperature=tau), theirs)
    # gradients too
    a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    LF.nt_xent_loss(a, b, labels=labels, temperature=tau).backward()
    c = torch.cat([z1, z2]).requires_grad_()
    pml_losses.NTXentLoss(temperature=tau)(c, torch.cat([labels, labels])).backward()
    close(torch.cat([a.grad, b.grad]), c.grad, rtol=1e-9, atol=1e-12)
    # distinct labels are SimCLR's pairing
    close(
        LF.nt_xent_loss(z1, z2, labels=torch.arange(10), temperature=tau),
        LF.nt_xent_loss(z1, z2, temperature=tau),
    )
    with pytest.raises(ValueError, match=r"nt_xent_loss: labels must have shape \(10,\)"):
        LF.nt_xent_loss(z1, z2, labels=labels[:3])
    with pytest.raises(TypeError, match="nt_xent_loss: labels must be an integer tensor"):
        LF.nt_xent_loss(z1, z2, labels=labels.double())


def test_center_loss_values_gradient_and_module() -> None:
    x = torch.tensor([[1.0, 1.0], [3.0, 0.0], [2.0, 2.0]], dtype=F64)
    y = torch.tensor([0, 1, 0])
    c = torch.tensor([[0.0, 0.0], [3.0, 2.0]], dtype=F64, requires_grad=True)
    # ½·2, ½·4, ½·8 -> mean 7/3
    out = LF.center_loss(x, y, centers=c)
    assert abs(float(out) - 7 / 3) < 1e-14
    out.backward()
    # ∂/∂c_j of (1/N) Σ ½||x_i - c_j||² = (1/N) Σ_{y_i = j} (c_j - x_i)
    close(c.grad, torch.tensor([[-3.0, -3.0], [0.0, 2.0]], dtype=F64) / 3)
    crit = losskit.CenterLoss(centers=c.detach()).double()
    assert [n for n, _ in crit.named_parameters()] == ["centers"]
    opt = torch.optim.SGD(crit.parameters(), lr=0.5)
    before = float(crit(x, y))
    crit(x, y).backward()
    opt.step()
    assert float(crit(x, y)) < before
    with pytest.raises(TypeError, match="CenterLoss: num_classes must be a positive int"):
        losskit.CenterLoss()
    assert tuple(losskit.CenterLoss(5, 3).centers.shape) == (5, 3)
    assert isinstance(losskit.get("center", num_classes=4, feat_dim=2), losskit.CenterLoss)
