"""Hand-derived values and SPEC §5 worked examples for the embedding losses.

Every expected number is either printed in SPEC.md §5 or derived in the test's comment; the float64
NumPy reference (tests/reference/embedding.py) is checked against the same numbers, so a wrong reference
cannot hide a wrong implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import losskit
from losskit.functional import (
    clip_loss,
    contrastive_loss,
    info_nce_loss,
    nt_xent_loss,
    supervised_contrastive_loss,
    triplet_loss,
)
from tests.reference import embedding as R

F64 = torch.float64


def t(x, dtype=F64, grad=False):
    return torch.tensor(x, dtype=dtype, requires_grad=grad)


# SPEC §5: z = [(1,0),(0.8,0.6),(0,1),(-0.6,0.8)], pairs (0,1),(2,3), tau = 0.5
Z = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]]


# ---------------------------------------------------------------------------------------------------
# contrastive_loss


def test_contrastive_spec_example():
    # D = 0.8, m = 1: similar ½·0.8² = 0.32; dissimilar ½·(1 - 0.8)² = 0.02
    x1 = t([[0.0, 0.0], [1.0, 1.0]])
    x2 = t([[0.8, 0.0], [1.0, 1.8]])
    for target in (torch.tensor([1, 1]), torch.tensor([True, True]), t([1.0, 1.0])):
        got = contrastive_loss(x1, x2, target, reduction="none")
        torch.testing.assert_close(got, t([0.32, 0.32]), rtol=1e-12, atol=1e-15)
    got = contrastive_loss(x1, x2, torch.tensor([0, 0]), reduction="none")
    torch.testing.assert_close(got, t([0.02, 0.02]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        R.contrastive_loss(x1.numpy(), x2.numpy(), np.array([1, 0]), reduction="none"),
        [0.32, 0.02],
        rtol=1e-12,
    )
    # mean of one similar and one dissimilar pair: (0.32 + 0.02) / 2
    assert contrastive_loss(x1, x2, torch.tensor([1, 0])).item() == pytest.approx(0.17, rel=1e-12)


def test_contrastive_label_convention_target_1_is_similar():
    # identical embeddings: a similar pair (target 1) costs nothing, a dissimilar one (target 0) ½·m²
    x = t([[0.3, -1.2, 2.0]])
    assert contrastive_loss(x, x.clone(), torch.tensor([1])).item() == 0.0
    assert contrastive_loss(x, x.clone(), torch.tensor([0]), margin=2.0).item() == pytest.approx(
        2.0, rel=1e-15
    )
    # past the margin a dissimilar pair costs nothing and a similar one ½·D²: D = 5 (3-4-5 triangle)
    a, b = t([[0.0, 0.0]]), t([[3.0, 4.0]])
    assert contrastive_loss(a, b, torch.tensor([0])).item() == 0.0
    assert contrastive_loss(a, b, torch.tensor([1])).item() == pytest.approx(12.5, rel=1e-15)
    # a soft target interpolates: 0.25·12.5 + 0.75·0
    assert contrastive_loss(a, b, t([0.25])).item() == pytest.approx(3.125, rel=1e-15)


def test_contrastive_cosine_distance():
    # x2 = (1, 1): cos = 1/√2, D = 1 - 1/√2 = 0.29289; dissimilar, m = 0.5: ½(0.5 - 0.29289)² = 0.021446
    x1, x2 = t([[2.0, 0.0], [1.0, 0.0]]), t([[1.0, 1.0], [0.0, 3.0]])
    d = 1.0 - 1.0 / math.sqrt(2.0)
    got = contrastive_loss(x1, x2, torch.tensor([0, 1]), distance="cosine", margin=0.5, reduction="none")
    # second pair orthogonal: D = 1, similar -> ½
    torch.testing.assert_close(got, t([0.5 * (0.5 - d) ** 2, 0.5]), rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(
        R.contrastive_loss(
            x1.numpy(), x2.numpy(), np.array([0, 1]), distance="cosine", margin=0.5, reduction="none"
        ),
        got.numpy(),
        rtol=1e-12,
    )


def test_contrastive_gradient_at_zero_distance_is_finite():
    x1 = t([[0.5, -0.5, 1.0]] * 2, grad=True)
    x2 = t([[0.5, -0.5, 1.0]] * 2, grad=True)
    contrastive_loss(x1, x2, torch.tensor([1, 0]), reduction="sum").backward()
    # similar: d/dx1 ½‖x1 - x2‖² = x1 - x2 = 0; dissimilar at D = 0: no direction, sub-gradient 0
    assert torch.equal(x1.grad, torch.zeros_like(x1))
    assert torch.equal(x2.grad, torch.zeros_like(x2))


def test_contrastive_gradient_near_zero_distance():
    # dissimilar, D = 1e-3 along the first axis: d/dx1 ½(m - D)² = -(m - D)·(x1 - x2)/D = -(1 - 1e-3)·e1
    x1 = t([[1e-3, 0.0]], grad=True)
    contrastive_loss(x1, t([[0.0, 0.0]]), torch.tensor([0]), reduction="sum").backward()
    torch.testing.assert_close(x1.grad, t([[-(1 - 1e-3), 0.0]]), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------------
# triplet_loss


def test_triplet_spec_example():
    # a = (0,0), p = (0.5,0.5), n = (1,0), m = 1: √0.5 - 1 + 1 = 0.707106781
    a, p, n = t([[0.0, 0.0]]), t([[0.5, 0.5]]), t([[1.0, 0.0]])
    assert triplet_loss(a, p, n).item() == pytest.approx(0.707106781, abs=1e-9)
    assert triplet_loss(a, p, n).item() == pytest.approx(math.sqrt(0.5), rel=1e-15)
    assert R.triplet_loss(a.numpy(), p.numpy(), n.numpy()) == pytest.approx(0.707106781, abs=1e-9)


def test_triplet_swap_squared_and_p():
    # on a line: a = 0, p = 3, n = 4 -> d(a,p) = 3, d(a,n) = 4, d(p,n) = 1
    a, p, n = t([[0.0, 0.0]]), t([[3.0, 0.0]]), t([[4.0, 0.0]])
    assert triplet_loss(a, p, n).item() == 0.0  # max(0, 3 - 4 + 1)
    assert triplet_loss(a, p, n, swap=True).item() == pytest.approx(3.0)  # max(0, 3 - min(4, 1) + 1)
    assert triplet_loss(a, p, n, squared=True, margin=10.0).item() == pytest.approx(3.0)  # 9 - 16 + 10
    # squared swap: 9 - min(16, 1) + 0 = 8
    assert triplet_loss(a, p, n, squared=True, swap=True, margin=0.0).item() == pytest.approx(8.0)
    # p = (1, 1), n = (2, 0): L1 distances 2 and 2 -> m; L2: √2 - 2 + 1; L∞: 1 - 2 + 1
    p2, n2 = t([[1.0, 1.0]]), t([[2.0, 0.0]])
    assert triplet_loss(a, p2, n2, p=1.0).item() == pytest.approx(1.0, rel=1e-15)
    assert triplet_loss(a, p2, n2).item() == pytest.approx(math.sqrt(2.0) - 1.0, rel=1e-15)
    assert triplet_loss(a, p2, n2, p=float("inf")).item() == 0.0
    # p = 3: (1 + 1)^(1/3) - 2 + 1
    assert triplet_loss(a, p2, n2, p=3.0).item() == pytest.approx(2.0 ** (1 / 3) - 1.0, rel=1e-14)


def test_triplet_distances_are_exact():
    # anchor == positive: d(a,p) is exactly 0, so the loss is exactly m - d(a,n)
    a = t([[1.0, 2.0, 3.0]])
    n = a + t([[0.1, 0.0, 0.0]])
    assert triplet_loss(a, a.clone(), n).item() == pytest.approx(0.9, rel=1e-14)


def test_triplet_gradient_finite_when_points_coincide():
    a = t([[1.0, -1.0]], grad=True)
    p = t([[1.0, -1.0]], grad=True)
    n = t([[1.0, -1.0]], grad=True)
    loss = triplet_loss(a, p, n)  # 0 - 0 + 1
    assert loss.item() == 1.0
    loss.backward()
    for x in (a, p, n):
        assert torch.isfinite(x.grad).all()


def test_triplet_zero_distance_gradient_under_compile():
    # a == p, n = a + 0.1·(1,1,1): loss = 0 - 0.1·√3 + 1 per row; d/da of -‖a - n‖ = (n - a)/‖n - a‖ = 1/√3 per
    # coordinate, halved by the mean over two rows: 1/(2√3) = 0.288675; d(a,p) at 0 contributes 0, not NaN
    x = t([[0.3, -0.2, 1.0], [0.0, 0.0, 0.0]])
    compiled = torch.compile(triplet_loss, fullgraph=True, backend="aot_eager")
    a, p = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = compiled(a, p, x + 0.1)
    assert out.item() == pytest.approx(1.0 - 0.1 * math.sqrt(3.0), rel=1e-14)
    out.backward()
    torch.testing.assert_close(a.grad, torch.full_like(x, 1 / (2 * math.sqrt(3.0))), rtol=1e-12, atol=0.0)
    assert torch.equal(p.grad, torch.zeros_like(x))


# ---------------------------------------------------------------------------------------------------
# info_nce_loss


def test_info_nce_hand_values():
    q = t([[1.0, 0.0], [0.0, 1.0]])
    # keys = queries, tau = 1: each row's logits are (1, 0) with the positive first -> log(1 + e^-1)
    assert info_nce_loss(q, q.clone(), temperature=1.0).item() == pytest.approx(
        math.log1p(math.exp(-1)), rel=1e-14
    )
    # plus one shared negative (-1, 0): row 0 logits (1, 0, -1) -> log(1 + e^-1 + e^-2);
    # row 1 logits (0, 1, 0) -> log(1 + 2e^-1)
    neg = t([[-1.0, 0.0]])
    want = [math.log(1 + math.exp(-1) + math.exp(-2)), math.log(1 + 2 * math.exp(-1))]
    got = info_nce_loss(q, q.clone(), negatives=neg, temperature=1.0, reduction="none")
    torch.testing.assert_close(got, t(want), rtol=1e-14, atol=0.0)
    np.testing.assert_allclose(
        R.info_nce_loss(q.numpy(), q.numpy(), negatives=neg.numpy(), temperature=1.0, reduction="none"),
        want,
        rtol=1e-14,
    )
    # the same negative given per query, (N, M, D) = (2, 1, 2), gives the same values
    got_own = info_nce_loss(q, q.clone(), negatives=neg.expand(2, 1, 2), temperature=1.0, reduction="none")
    torch.testing.assert_close(got_own, got, rtol=1e-14, atol=0.0)


def test_info_nce_dot_product_and_temperature():
    # normalize=False: q = (2, 0), keys (1, 0) [positive] and (0, 3); tau = 0.5: logits (4, 0) -> log(1 + e^-4)
    q = t([[2.0, 0.0], [0.0, 1.0]])
    k = t([[1.0, 0.0], [0.0, 3.0]])
    got = info_nce_loss(q, k, normalize=False, temperature=0.5, reduction="none")
    # row 1: q = (0, 1): logits (0, 6) with the positive second -> log(1 + e^-6)
    torch.testing.assert_close(
        got, t([math.log1p(math.exp(-4)), math.log1p(math.exp(-6))]), rtol=1e-11, atol=0.0
    )
    # with normalize=True the same rows are orthonormal: log(1 + e^-2) each at tau = 0.5
    got_cos = info_nce_loss(q, k, temperature=0.5, reduction="none")
    torch.testing.assert_close(got_cos, t([math.log1p(math.exp(-2))] * 2), rtol=1e-12, atol=0.0)


# ---------------------------------------------------------------------------------------------------
# nt_xent_loss


def test_nt_xent_spec_example():
    z = t(Z)
    got = nt_xent_loss(z[[0, 2]], z[[1, 3]], temperature=0.5)
    assert got.item() == pytest.approx(0.430190277, abs=1e-9)
    assert R.nt_xent_loss(z[[0, 2]].numpy(), z[[1, 3]].numpy(), temperature=0.5) == pytest.approx(
        0.430190277, abs=1e-9
    )
    # the views are interchangeable
    assert nt_xent_loss(z[[1, 3]], z[[0, 2]], temperature=0.5).item() == pytest.approx(got.item(), rel=1e-14)
    # "none" is per pair: pair (0,1) and pair (2,3) are mirror images, so they are equal
    none = nt_xent_loss(z[[0, 2]], z[[1, 3]], temperature=0.5, reduction="none")
    assert none.shape == (2,)
    torch.testing.assert_close(none.mean(), got)


def test_nt_xent_hand_derived_single_pair_and_two_pairs():
    # one pair: the positive is the only other embedding, softmax = 1, loss 0
    z1, z2 = t([[1.0, 2.0]]), t([[-3.0, 0.5]])
    assert nt_xent_loss(z1, z2).item() == pytest.approx(0.0, abs=1e-15)
    # two pairs, z1 = (e1, e2), z2 = (e1, e2), tau = 1: anchor e1 sees positive e1 (cos 1), negatives e2, e2
    # (cos 0): -log(e / (e + 2)) = log(1 + 2/e), the same for every anchor
    e = torch.eye(2, dtype=F64)
    assert nt_xent_loss(e, e.clone(), temperature=1.0).item() == pytest.approx(
        math.log1p(2 / math.e), rel=1e-14
    )


def test_nt_xent_equals_supcon_with_pair_labels():
    # SupCon with labels (0..N-1, 0..N-1) over [z1; z2] has exactly one positive per anchor: NT-Xent
    rng = np.random.default_rng(3)
    z1, z2 = t(rng.normal(size=(5, 4)).tolist()), t(rng.normal(size=(5, 4)).tolist())
    labels = torch.arange(5).repeat(2)
    for tau in (0.05, 0.5):
        sup = supervised_contrastive_loss(torch.cat([z1, z2]), labels, temperature=tau)
        torch.testing.assert_close(nt_xent_loss(z1, z2, temperature=tau), sup, rtol=1e-13, atol=0.0)


# ---------------------------------------------------------------------------------------------------
# supervised_contrastive_loss


def test_supcon_spec_example():
    z, labels = t(Z), torch.tensor([0, 0, 1, 0])
    got = supervised_contrastive_loss(z, labels, temperature=0.5)
    assert got.item() == pytest.approx(1.83121268, abs=1e-8)
    assert R.supervised_contrastive_loss(z.numpy(), labels.numpy(), temperature=0.5) == pytest.approx(
        1.83121268, abs=1e-8
    )
    none = supervised_contrastive_loss(z, labels, temperature=0.5, reduction="none")
    # the anchor labelled 1 has no positive: 0, and the mean is over the other three
    assert none[2].item() == 0.0
    assert got.item() == pytest.approx(none.sum().item() / 3, rel=1e-14)


def test_supcon_anchor_by_anchor_hand_value():
    # anchor 0 = (1,0) with positives (0.8,0.6) and (-0.6,0.8), tau = 0.5: similarities 0.8, 0, -0.6 -> logits
    # 1.6, 0, -1.2; denominator log(e^1.6 + e^0 + e^-1.2); loss = denominator - mean(1.6, -1.2)
    z, labels = t(Z), torch.tensor([0, 0, 1, 0])
    denom = math.log(math.exp(1.6) + 1.0 + math.exp(-1.2))
    want = denom - (1.6 - 1.2) / 2
    got = supervised_contrastive_loss(z, labels, temperature=0.5, reduction="none")[0]
    assert got.item() == pytest.approx(want, rel=1e-14)


def test_supcon_no_positive_anywhere_is_zero_never_nan():
    f = t([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], grad=True)
    labels = torch.tensor([3, 1, 2])
    for reduction in ("mean", "sum"):
        out = supervised_contrastive_loss(f, labels, reduction=reduction)
        assert out.item() == 0.0
        out.backward()
        assert torch.equal(f.grad, torch.zeros_like(f))
        f.grad = None


def test_supcon_weight_counts_only_anchors_with_positives():
    z, labels = t(Z), torch.tensor([0, 0, 1, 0])
    w = t([1.0, 2.0, 100.0, 0.5])
    none = supervised_contrastive_loss(z, labels, temperature=0.5, reduction="none")
    got = supervised_contrastive_loss(z, labels, temperature=0.5, weight=w)
    # the weight of the anchor without a positive (100) is not in the denominator
    assert got.item() == pytest.approx((none * w).sum().item() / 3.5, rel=1e-14)


# ---------------------------------------------------------------------------------------------------
# clip_loss


def test_clip_hand_values():
    e = torch.eye(2, dtype=F64)
    # scale t: logits t·I; each direction -log(e^t / (e^t + 1)) = log(1 + e^-t)
    for ls in (0.0, math.log(2.0), math.log(50.0)):
        scale = math.exp(ls)
        want = math.log1p(math.exp(-scale))
        assert clip_loss(e, e.clone(), logit_scale=ls).item() == pytest.approx(want, rel=1e-12)
        assert R.clip_loss(e.numpy(), e.numpy(), logit_scale=ls) == pytest.approx(want, rel=1e-12)
    # clamped at 100: logit_scale 7 (e^7 = 1097) gives the value at scale 100
    want100 = math.log1p(math.exp(-100.0))
    assert clip_loss(e, e.clone(), logit_scale=7.0).item() == pytest.approx(want100, rel=1e-12)
    assert clip_loss(e, e.clone(), logit_scale=t(1e4)).item() == pytest.approx(want100, rel=1e-12)


def test_clip_is_symmetric_in_its_two_directions():
    # non-square softmax structure: image->text and text->image differ per pair but the loss is symmetric
    rng = np.random.default_rng(7)
    u, v = t(rng.normal(size=(5, 3)).tolist()), t(rng.normal(size=(5, 3)).tolist())
    torch.testing.assert_close(
        clip_loss(u, v, logit_scale=2.0, reduction="none"),
        clip_loss(v, u, logit_scale=2.0, reduction="none"),
        rtol=1e-13,
        atol=0.0,
    )
    # and it is scale-invariant in the embeddings (cosine similarities)
    torch.testing.assert_close(
        clip_loss(3.0 * u, 0.1 * v, logit_scale=2.0), clip_loss(u, v, logit_scale=2.0), rtol=1e-13, atol=0.0
    )


def test_clip_logit_scale_gradient():
    # u = v = I: loss(t) = log(1 + e^-t), t = e^s -> d/ds = t · (-e^-t / (1 + e^-t)) = -t·σ(-t); at t = 2:
    # -2 / (1 + e^2) = -0.238405844
    e = torch.eye(2, dtype=F64)
    s = t(math.log(2.0), grad=True)
    clip_loss(e, e.clone(), logit_scale=s).backward()
    assert s.grad.item() == pytest.approx(-2.0 / (1.0 + math.exp(2.0)), rel=1e-12)
    assert s.grad.item() == pytest.approx(-0.238405844, abs=1e-9)
    # beyond the clamp the scale gets no gradient
    s2 = t(6.0, grad=True)
    clip_loss(e, e.clone(), logit_scale=s2).backward()
    assert s2.grad.item() == 0.0


def test_clip_module_holds_a_learnable_scale():
    crit = losskit.ClipLoss()
    assert crit.logit_scale.requires_grad and isinstance(crit.logit_scale, torch.nn.Parameter)
    assert crit.logit_scale.item() == pytest.approx(math.log(1 / 0.07), rel=1e-6)
    assert crit.scale.item() == pytest.approx(1 / 0.07, rel=1e-6)
    u = torch.randn(4, 8, requires_grad=True)
    v = torch.randn(4, 8)
    before = crit.logit_scale.detach().clone()
    opt = torch.optim.SGD([u, *crit.parameters()], lr=0.1)
    crit(u, v).backward()
    assert crit.logit_scale.grad is not None and crit.logit_scale.grad.item() != 0.0
    assert torch.equal(crit.logit_scale.detach(), before)  # forward/backward leave it alone
    opt.step()
    assert not torch.equal(crit.logit_scale.detach(), before)  # the optimizer moves it
    fixed = losskit.ClipLoss(logit_scale=0.0, learnable=False)
    assert list(fixed.parameters()) == [] and "logit_scale" in dict(fixed.named_buffers())
    e = torch.eye(2)
    assert fixed(e, e.clone()).item() == pytest.approx(math.log1p(math.exp(-1)), rel=1e-6)
    with pytest.raises(TypeError, match="ClipLoss: learnable must be a bool"):
        losskit.ClipLoss(learnable="yes")
    with pytest.raises(ValueError, match="ClipLoss: logit_scale must be a number or a one-element tensor"):
        losskit.ClipLoss(logit_scale=torch.ones(3))
    with pytest.raises(TypeError, match="unknown option"):
        losskit.ClipLoss(temperature=0.07)
    assert "logit_scale=" in repr(crit)


# ---------------------------------------------------------------------------------------------------
# numerics shared by the similarity losses: temperature 0.005 in float32


def _near_views(seed: int, n: int = 16, d: int = 32):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d))
    b = a + 0.3 * rng.normal(size=(n, d))
    return a, b


@pytest.mark.parametrize("name", ["info_nce", "nt_xent", "supcon"])
def test_float32_temperature_0005_is_finite_and_accurate(name):
    a, b = _near_views(11)
    labels = np.arange(16) % 5
    tau = 0.005
    fns = {
        "info_nce": (
            lambda x, y: info_nce_loss(x, y, temperature=tau),
            R.info_nce_loss(a, b, temperature=tau),
        ),
        "nt_xent": (lambda x, y: nt_xent_loss(x, y, temperature=tau), R.nt_xent_loss(a, b, temperature=tau)),
        "supcon": (
            lambda x, y: supervised_contrastive_loss(x, torch.as_tensor(labels), temperature=tau),
            R.supervised_contrastive_loss(a, labels, temperature=tau),
        ),
    }
    f, want = fns[name]
    x = torch.tensor(a, dtype=torch.float32, requires_grad=True)
    y = torch.tensor(b, dtype=torch.float32, requires_grad=True)
    got = f(x, y)
    assert got.dtype == torch.float32 and torch.isfinite(got)
    # logits reach 200: float32 rounding of the cosines (~6e-8) is amplified 200x
    assert got.item() == pytest.approx(want, rel=1e-4, abs=1e-3)
    got.backward()
    assert torch.isfinite(x.grad).all()
    if name != "supcon":
        assert torch.isfinite(y.grad).all()


def test_registry_names():
    assert isinstance(losskit.get("contrastive", margin=2.0), losskit.ContrastiveLoss)
    assert isinstance(losskit.get("triplet"), losskit.TripletLoss)
    assert isinstance(losskit.get("info_nce"), losskit.InfoNCELoss)
    assert isinstance(losskit.get("InfoNCE"), losskit.InfoNCELoss)
    assert isinstance(losskit.get("nt_xent", temperature=0.1), losskit.NTXentLoss)
    assert isinstance(losskit.get("simclr"), losskit.NTXentLoss)
    assert isinstance(losskit.get("supcon"), losskit.SupervisedContrastiveLoss)
    assert isinstance(losskit.get("supervised_contrastive_loss"), losskit.SupervisedContrastiveLoss)
    assert isinstance(losskit.get("clip", logit_scale=1.0), losskit.ClipLoss)
    for name in ("contrastive", "triplet", "info_nce", "nt_xent", "supervised_contrastive", "clip"):
        assert name in losskit.available()
        assert hasattr(losskit.functional, f"{name}_loss") and hasattr(losskit, f"{name}_loss")


def test_module_forwards_extra_positional_arguments():
    crit = losskit.TripletLoss(margin=0.5, swap=True)
    a, p, n = t([[0.0, 0.0]]), t([[3.0, 0.0]]), t([[4.0, 0.0]])
    assert crit(a, p, n).item() == pytest.approx(2.5)  # 3 - min(4, 1) + 0.5
    sup = losskit.SupervisedContrastiveLoss(temperature=0.5)
    assert sup(t(Z), torch.tensor([0, 0, 1, 0])).item() == pytest.approx(1.83121268, abs=1e-8)
