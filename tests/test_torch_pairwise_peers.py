"""Conformance of torch.nn's remaining pairwise losses (issue 13) with torch.nn.functional, every reduction.

torch is the defining peer: losskit's ``cosine_embedding_loss``, ``margin_ranking_loss``,
``hinge_embedding_loss``, ``multilabel_soft_margin_loss`` (torch's ``weight=`` is losskit's ``class_weight=``),
``poisson_nll_loss`` and ``multiclass_hinge_loss(class_weight=...)`` (torch's ``MultiMarginLoss(weight=...)``,
Weston–Watkins divided by C) give the same numbers. Hand-derived values sit beside them.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as TF

import losskit
import losskit.functional as LF

F64 = torch.float64
REDUCTIONS = ["none", "mean", "sum"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-12, atol: float = 1e-13) -> None:
    torch.testing.assert_close(a.to(F64), b.to(F64), rtol=rtol, atol=atol)


def pm(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 2, (n,), generator=gen(seed)) * 2 - 1


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.4, -0.5])
def test_cosine_embedding_matches_torch(reduction, margin) -> None:
    x1, x2 = torch.randn(9, 5, generator=gen(1), dtype=F64), torch.randn(9, 5, generator=gen(2), dtype=F64)
    y = pm(9, 3)
    close(
        LF.cosine_embedding_loss(x1, x2, y, margin=margin, reduction=reduction),
        TF.cosine_embedding_loss(x1, x2, y, margin=margin, reduction=reduction),
    )
    close(
        losskit.CosineEmbeddingLoss(margin=margin, reduction=reduction)(x1, x2, y),
        torch.nn.CosineEmbeddingLoss(margin=margin, reduction=reduction)(x1, x2, y),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.7])
def test_margin_ranking_matches_torch(reduction, margin) -> None:
    x1, x2 = torch.randn(4, 6, generator=gen(4), dtype=F64), torch.randn(4, 6, generator=gen(5), dtype=F64)
    y = pm(24, 6).view(4, 6).to(F64)
    close(
        LF.margin_ranking_loss(x1, x2, y, margin=margin, reduction=reduction),
        TF.margin_ranking_loss(x1, x2, y, margin=margin, reduction=reduction),
    )
    close(
        losskit.MarginRankingLoss(margin=margin, reduction=reduction)(x1, x2, y),
        torch.nn.MarginRankingLoss(margin=margin, reduction=reduction)(x1, x2, y),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_embedding_matches_torch(reduction, margin) -> None:
    d = torch.rand(5, 7, generator=gen(7), dtype=F64) * 2
    y = pm(35, 8).view(5, 7)
    close(
        LF.hinge_embedding_loss(d, y, margin=margin, reduction=reduction),
        TF.hinge_embedding_loss(d, y, margin=margin, reduction=reduction),
    )
    close(
        losskit.HingeEmbeddingLoss(margin=margin, reduction=reduction)(d, y),
        torch.nn.HingeEmbeddingLoss(margin=margin, reduction=reduction)(d, y),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_matches_torch(reduction) -> None:
    x = torch.randn(8, 5, generator=gen(9), dtype=F64) * 3
    y = torch.randint(0, 2, (8, 5), generator=gen(10)).to(F64)
    ys = torch.rand(8, 5, generator=gen(11), dtype=F64)
    w = torch.rand(5, generator=gen(12), dtype=F64) + 0.1
    for target in (y, ys):
        close(
            LF.multilabel_soft_margin_loss(x, target, reduction=reduction),
            TF.multilabel_soft_margin_loss(x, target, reduction=reduction),
        )
        close(
            LF.multilabel_soft_margin_loss(x, target, class_weight=w, reduction=reduction),
            TF.multilabel_soft_margin_loss(x, target, weight=w, reduction=reduction),
        )
    close(
        losskit.MultilabelSoftMarginLoss(class_weight=w, reduction=reduction)(x, y),
        torch.nn.MultiLabelSoftMarginLoss(weight=w, reduction=reduction)(x, y),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("log_input", "full"), [(True, False), (True, True), (False, False), (False, True)])
def test_poisson_nll_matches_torch(reduction, log_input, full) -> None:
    x = torch.randn(6, 4, generator=gen(13), dtype=F64)
    if not log_input:
        x = x.exp()
    y = torch.poisson(torch.full((6, 4), 2.5, dtype=F64), generator=gen(14))
    y[0, 0] = 1.0  # the Stirling term is 0 for y <= 1 on both sides
    for eps in (1e-8, 1e-3):
        close(
            LF.poisson_nll_loss(x, y, log_input=log_input, full=full, eps=eps, reduction=reduction),
            TF.poisson_nll_loss(x, y, log_input=log_input, full=full, eps=eps, reduction=reduction),
        )
    close(
        losskit.PoissonNLLLoss(log_input=log_input, full=full, reduction=reduction)(x, y),
        torch.nn.PoissonNLLLoss(log_input=log_input, full=full, reduction=reduction)(x, y),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
def test_multiclass_hinge_class_weight_matches_torch_multi_margin(reduction, p) -> None:
    # torch MultiMarginLoss(p, margin, weight) = w[y] · Σ_{j≠y} max(0, m - x_y + x_j)^p / C, "mean" over N
    x = torch.randn(10, 4, generator=gen(15), dtype=F64)
    y = torch.randint(0, 4, (10,), generator=gen(16))
    w = torch.rand(4, generator=gen(17), dtype=F64) + 0.2
    ours = LF.multiclass_hinge_loss(
        x, y, variant="weston_watkins", squared=p == 2, margin=0.8, class_weight=w, reduction=reduction
    )
    theirs = TF.multi_margin_loss(x, y, p=p, margin=0.8, weight=w, reduction=reduction)
    close(ours / 4, theirs)  # losskit's Weston–Watkins is not divided by C
    m = torch.nn.MultiMarginLoss(p=p, margin=0.8, weight=w, reduction=reduction)(x, y)
    close(
        losskit.MulticlassHingeLoss(
            variant="weston_watkins", squared=p == 2, margin=0.8, class_weight=w, reduction=reduction
        )(x, y)
        / 4,
        m,
    )


# hand-derived values -------------------------------------------------------------------------------------------


def test_cosine_embedding_hand_values() -> None:
    # cos((3, 4), (4, 3)) = 24 / 25 = 0.96: similar 1 - 0.96 = 0.04, dissimilar max(0, 0.96 - 0.5) = 0.46
    u = torch.tensor([[3.0, 4.0], [3.0, 4.0]], dtype=F64)
    v = torch.tensor([[4.0, 3.0], [4.0, 3.0]], dtype=F64)
    out = LF.cosine_embedding_loss(u, v, torch.tensor([1, -1]), margin=0.5, reduction="none")
    close(out, torch.tensor([0.04, 0.46], dtype=F64), rtol=1e-12, atol=1e-12)
    # a zero embedding has cosine 0: a similar pair costs 1, with a finite gradient
    z = torch.zeros(1, 2, dtype=F64, requires_grad=True)
    loss = LF.cosine_embedding_loss(z, v[:1], torch.tensor([1]))
    loss.backward()
    assert float(loss) == 1.0 and bool(torch.isfinite(z.grad).all())


def test_poisson_hand_values() -> None:
    # λ = e^{ln 3} = 3, y = 2: 3 - 2 ln 3 = 0.802775423; rate input 3 (eps 0): the same
    # full: + 2 ln 2 - 2 + ½ ln(4π) = 0.651806485
    x = torch.tensor([math.log(3.0)], dtype=F64)
    y = torch.tensor([2.0], dtype=F64)
    assert abs(float(LF.poisson_nll_loss(x, y)) - (3 - 2 * math.log(3))) < 1e-14
    assert (
        abs(float(LF.poisson_nll_loss(x.exp(), y, log_input=False, eps=1e-300)) - (3 - 2 * math.log(3)))
        < 1e-14
    )
    stirling = 2 * math.log(2) - 2 + 0.5 * math.log(4 * math.pi)
    assert abs(float(LF.poisson_nll_loss(x, y, full=True)) - (3 - 2 * math.log(3) + stirling)) < 1e-14


def test_multiclass_hinge_class_weight_hand_value() -> None:
    # scores (3.2, 5.1, 4.0), y = 0: Crammer–Singer max(0, 1 + 5.1 - 3.2) = 2.9, times class_weight[0] = 0.5
    s = torch.tensor([[3.2, 5.1, 4.0]], dtype=F64)
    w = torch.tensor([0.5, 2.0, 3.0], dtype=F64)
    assert abs(float(LF.multiclass_hinge_loss(s, torch.tensor([0]), class_weight=w)) - 1.45) < 1e-12
    # with a per-sample weight too, "mean" divides by the per-sample weights only: Σ v_n w_{y_n} ℓ_n / Σ v_n
    s2 = torch.cat([s, s])
    v = torch.tensor([1.0, 3.0], dtype=F64)
    out = LF.multiclass_hinge_loss(s2, torch.tensor([0, 2]), class_weight=w, weight=v)
    # ℓ_1 for y = 2: max(0, 1 + 5.1 - 4.0) = 2.1, times 3.0 = 6.3; (1·1.45 + 3·6.3) / 4 = 5.0875
    assert abs(float(out) - 5.0875) < 1e-12
