"""Values of the margin heads, the pair / proxy losses and the triplet miner: the papers' special cases,
hand-computed geometry, the float64 references (tests/reference/margin_heads.py) on cases the battery does
not draw, and the Modules that own centres / proxies (ArcFaceLoss, CosFaceLoss, SphereFaceLoss,
ProxyAnchorLoss: parity, parameters, copies, options).

Expected values come from the papers' formulas evaluated with ``math`` here, from torch's
``cross_entropy`` (the margin-free heads are a plain softmax cross-entropy) or from the references.
"""

from __future__ import annotations

import copy
import io
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import losskit
from losskit.functional import (
    arcface_loss,
    circle_loss,
    cosface_loss,
    mine_triplets,
    multi_similarity_loss,
    proxy_anchor_loss,
    sphereface_loss,
)
from tests.reference import margin_heads as R

F64 = torch.float64


def _rand(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).normal(size=shape) * scale, dtype=F64)


def _labels(seed: int, n: int, c: int) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).integers(0, c, n), dtype=torch.long)


def _unit_angle(theta: float) -> list[float]:
    return [math.cos(theta), math.sin(theta)]


def _cosines(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return TF.normalize(x, dim=1) @ TF.normalize(w, dim=1).T


# ---------------------------------------------------------------------------------------------------
# margin 0: the heads are a normalised softmax cross-entropy


@pytest.mark.parametrize("scale", [1.0, 16.0, 64.0])
def test_margin_zero_heads_are_normalised_softmax(scale):
    x, w, y = _rand(1, 9, 4, scale=3.0), _rand(2, 5, 4), _labels(3, 9, 5)
    want = TF.cross_entropy(scale * _cosines(x, w), y, reduction="none")
    for fn in (arcface_loss, cosface_loss):
        torch.testing.assert_close(
            fn(x, w, y, scale=scale, margin=0.0, reduction="none"), want, rtol=1e-12, atol=1e-13
        )
    # easy_margin changes nothing without a margin; K identical sub-centres are one centre
    torch.testing.assert_close(
        arcface_loss(x, w, y, scale=scale, margin=0.0, easy_margin=True, reduction="none"),
        want,
        rtol=1e-12,
        atol=1e-13,
    )
    w3 = w.repeat_interleave(3, dim=0)
    torch.testing.assert_close(
        arcface_loss(x, w3, y, scale=scale, margin=0.0, sub_centers=3, reduction="none"),
        want,
        rtol=1e-12,
        atol=1e-13,
    )


def test_sphereface_margin_one_is_the_modified_softmax():
    # the paper's "modified softmax" (normalised weights, no bias, no margin): logits ‖x‖ cos θ_j;
    # λ does not matter there since ψ = cos θ
    x, w, y = _rand(4, 9, 4, scale=2.0), _rand(5, 5, 4), _labels(6, 9, 5)
    logits = torch.linalg.vector_norm(x, dim=1, keepdim=True) * _cosines(x, w)
    for scale, blend in [(1.0, 0.0), (2.5, 0.0), (1.0, 3.0)]:
        want = TF.cross_entropy(scale * logits, y, reduction="none")
        got = sphereface_loss(x, w, y, margin=1, scale=scale, blend=blend, reduction="none")
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


def test_sphereface_huge_blend_tends_to_the_modified_softmax():
    x, w, y = _rand(7, 6, 3, scale=2.0), _rand(8, 4, 3), _labels(9, 6, 4)
    plain = sphereface_loss(x, w, y, margin=1, reduction="none")
    m4 = sphereface_loss(x, w, y, margin=4, reduction="none")
    near = sphereface_loss(x, w, y, margin=4, blend=1e8, reduction="none")
    assert ((near - plain).abs() <= 1e-6 * (m4 - plain).abs() + 1e-12).all()


# ---------------------------------------------------------------------------------------------------
# ArcFace geometry: the margin, its fallback past π, easy_margin


def _two_class_case(theta: float, other: float):
    """Embedding (1, 0); its centre at angle θ, the other class's at angle ``other``."""
    x = torch.tensor([[1.0, 0.0]], dtype=F64)
    w = torch.tensor([_unit_angle(theta), _unit_angle(other)], dtype=F64)
    return x, w, torch.tensor([0])


@pytest.mark.parametrize("deg", [10.0, 45.0, 80.0, 120.0, 150.0])
def test_arcface_true_logit_is_cos_theta_plus_m(deg):
    s, m, theta = 8.0, 0.5, math.radians(deg)
    x, w, y = _two_class_case(theta, math.radians(100.0))
    phi = math.cos(theta + m)  # θ + m <= π here
    want = math.log1p(math.exp(s * (math.cos(math.radians(100.0)) - phi)))
    assert arcface_loss(x, w, y, scale=s, margin=m).item() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("deg", [155.0, 170.0, 179.0, 180.0])
def test_arcface_past_pi_continues_linearly(deg):
    # θ + m > π: φ = cos θ - m sin m (the ArcFace code's fallback), which keeps φ decreasing in θ
    s, m, theta = 8.0, 0.5, math.radians(deg)
    assert theta + m > math.pi
    x, w, y = _two_class_case(theta, math.radians(90.0))
    phi = math.cos(theta) - m * math.sin(m)
    want = math.log1p(math.exp(s * (0.0 - phi)))
    assert arcface_loss(x, w, y, scale=s, margin=m).item() == pytest.approx(want, rel=1e-12)
    # cos(θ + m) would have turned back up: the fallback is smaller (a larger loss for a worse angle)
    assert phi < math.cos(theta + m)


def test_arcface_target_logit_decreases_over_zero_to_pi():
    s, m = 1.0, 0.5
    thetas = torch.linspace(0.0, math.pi, 721, dtype=F64)
    x = torch.stack([torch.cos(thetas), torch.sin(thetas)], 1)
    w = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64)  # class 1's zero centre: logit 0 for everyone
    y = torch.zeros(len(thetas), dtype=torch.long)
    # one other logit of 0: loss = softplus(-s φ), so φ = -softplus⁻¹(loss)
    loss = arcface_loss(x, w, y, scale=s, margin=m, reduction="none")
    phi = -torch.log(torch.expm1(loss))
    assert (phi.diff() < 0).all()
    # at θ = π - m the fallback steps down, from cos π = -1 to -cos m - m sin m: a drop, never a rise
    before = thetas <= math.pi - m
    assert phi[before][-1].item() == pytest.approx(math.cos(thetas[before][-1].item() + m), rel=1e-12)
    assert phi[~before][0].item() == pytest.approx(
        math.cos(thetas[~before][0].item()) - m * math.sin(m), rel=1e-12
    )


@pytest.mark.parametrize("deg", [30.0, 80.0, 95.0, 130.0, 175.0])
def test_easy_margin_applies_only_to_positive_cosines(deg):
    s, m, theta = 8.0, 0.5, math.radians(deg)
    x, w, y = _two_class_case(theta, math.radians(60.0))
    phi = math.cos(theta + m) if math.cos(theta) > 0 else math.cos(theta)
    want = math.log1p(math.exp(s * (math.cos(math.radians(60.0)) - phi)))
    got = arcface_loss(x, w, y, scale=s, margin=m, easy_margin=True).item()
    assert got == pytest.approx(want, rel=1e-12)
    if deg > 90.0:  # no margin at all: the normalised softmax
        assert got == pytest.approx(arcface_loss(x, w, y, scale=s, margin=0.0).item(), rel=1e-12)


def test_easy_margin_jumps_at_ninety_degrees():
    # just below 90° the margin is on (φ ≈ cos(90° + m) = -sin m), just above it is off (φ ≈ 0)
    s, m = 4.0, 0.5
    below = arcface_loss(*_two_class_case(math.radians(89.999), math.pi), scale=s, margin=m, easy_margin=True)
    above = arcface_loss(*_two_class_case(math.radians(90.001), math.pi), scale=s, margin=m, easy_margin=True)
    assert below.item() == pytest.approx(math.log1p(math.exp(s * (-1.0 + math.sin(m)))), rel=1e-4)
    assert above.item() == pytest.approx(math.log1p(math.exp(-s)), rel=1e-3)


def test_arcface_decision_boundary_is_an_angle_m():
    # θ_other = θ_y + m: the two logits are equal, the loss is log 2, whatever the scale
    for s in (1.0, 64.0):
        for theta in (0.2, 0.9):
            x, w, y = _two_class_case(theta, theta + 0.4)
            assert arcface_loss(x, w, y, scale=s, margin=0.4).item() == pytest.approx(
                math.log(2.0), rel=1e-12
            )


def test_cosface_decision_boundary_is_a_cosine_gap_m():
    for s in (1.0, 64.0):
        theta = 0.5
        other = math.acos(math.cos(theta) - 0.3)
        x, w, y = _two_class_case(theta, other)
        assert cosface_loss(x, w, y, scale=s, margin=0.3).item() == pytest.approx(math.log(2.0), rel=1e-10)


def test_arcface_gradient_is_finite_on_and_opposite_the_centre():
    w = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=F64, requires_grad=True)
    x = torch.tensor([[2.0, 0.0, 0.0], [-2.0, 0.0, 0.0]], dtype=F64, requires_grad=True)
    for easy in (False, True):
        loss = arcface_loss(x, w, torch.tensor([0, 0]), easy_margin=easy)
        gx, gw = torch.autograd.grad(loss, (x, w))
        assert torch.isfinite(gx).all() and torch.isfinite(gw).all()


# ---------------------------------------------------------------------------------------------------
# sub-centres


def test_sub_centres_take_the_nearest_one():
    # per sample, K = 3 sub-centres give the plain ArcFace of each class's nearest sub-centre
    x, y, k = _rand(10, 8, 3), _labels(12, 8, 4), 3
    w = _rand(11, 4 * k, 3)
    got = arcface_loss(x, w, y, scale=10.0, sub_centers=k, reduction="none")
    cos = _cosines(x, w).reshape(8, 4, k)
    for i in range(8):
        best = w.reshape(4, k, 3)[torch.arange(4), cos[i].argmax(1)]  # (C, D): each class's nearest
        want = arcface_loss(x[i : i + 1], best, y[i : i + 1], scale=10.0)
        assert got[i].item() == pytest.approx(want.item(), rel=1e-12)
    assert (cos.argmax(2) != 0).any()  # not always the first sub-centre


def test_sub_centre_layout_is_class_major():
    # rows c·K .. c·K + K - 1 belong to class c: an embedding on row 5 of (3 classes x 2) is class 2
    w = _rand(13, 6, 4)
    x = 2.0 * w[5:6]
    losses = [
        arcface_loss(x, w, torch.tensor([c]), sub_centers=2, margin=0.0, scale=5.0).item() for c in range(3)
    ]
    assert int(np.argmin(losses)) == 2


# ---------------------------------------------------------------------------------------------------
# SphereFace ψ


@pytest.mark.parametrize("m", [1, 2, 3, 4, 6])
def test_sphereface_psi_is_monotone_from_one_to_one_minus_two_m(m):
    thetas = torch.linspace(0.0, math.pi, 1441, dtype=F64)
    x = torch.stack([torch.cos(thetas), torch.sin(thetas)], 1)  # unit norm: logits are ψ and 0
    w = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64)
    y = torch.zeros(len(thetas), dtype=torch.long)
    loss = sphereface_loss(x, w, y, margin=m, reduction="none")
    psi = -torch.log(torch.expm1(loss))
    assert psi[0].item() == pytest.approx(1.0, abs=1e-12)
    assert psi[-1].item() == pytest.approx(1.0 - 2.0 * m, abs=1e-9)
    assert (psi.diff() <= 1e-12).all()
    # eq. 7 of the paper, from the angle: ψ(θ) = (-1)^k cos(mθ) - 2k, k = ⌊mθ/π⌋
    want = [R.sphereface_psi(t, m) for t in thetas.tolist()]
    torch.testing.assert_close(psi, torch.tensor(want, dtype=F64), rtol=0, atol=1e-9)


def test_sphereface_example_of_the_docstring_by_hand():
    # θ = 60°, m = 4: k = 1, ψ = -cos 240° - 2 = -1.5; ‖x‖ = 2; the other class orthogonal
    x = torch.tensor([[2.0, 0.0]], dtype=F64)
    w = torch.tensor([_unit_angle(math.radians(60.0)), [0.0, 1.0]], dtype=F64)
    assert sphereface_loss(x, w, torch.tensor([0])).item() == pytest.approx(
        math.log1p(math.exp(3.0)), rel=1e-12
    )
    # with λ = 5: f = (5 cos 60° + ψ) / 6 = (2.5 - 1.5) / 6
    f = 1.0 / 6.0
    got = sphereface_loss(x, w, torch.tensor([0]), blend=5.0).item()
    assert got == pytest.approx(math.log1p(math.exp(-2.0 * f)), rel=1e-12)


# ---------------------------------------------------------------------------------------------------
# pair and proxy losses by hand


def test_multi_similarity_one_positive_one_negative_by_hand():
    # anchor (1, 0), positive at 60° (s_p = 0.5), negative at 80° (s_n = 0.17): eq. 12 keeps the
    # negative if s_n + ε > s_p and the positive if s_p - ε < s_n, both when ε > s_p - s_n = 0.33
    x = torch.tensor(
        [[1.0, 0.0], _unit_angle(math.radians(60.0)), _unit_angle(math.radians(80.0))], dtype=F64
    )
    y = torch.tensor([0, 0, 1])
    sp, sn = math.cos(math.radians(60.0)), math.cos(math.radians(80.0))
    a, b, lam = 2.0, 50.0, 0.5
    pos = math.log1p(math.exp(-a * (sp - lam))) / a
    neg = math.log1p(math.exp(b * (sn - lam))) / b
    out = multi_similarity_loss(x, y, epsilon=None, reduction="none")
    assert out[0].item() == pytest.approx(pos + neg, rel=1e-12)
    mined = multi_similarity_loss(x, y, epsilon=0.1, reduction="none")
    assert mined[0].item() == 0.0  # neither pair is informative enough
    mined = multi_similarity_loss(x, y, epsilon=0.4, reduction="none")
    assert mined[0].item() == pytest.approx(pos + neg, rel=1e-12)
    # anchor 2 has no positive: it mines no negative either (eq. 12), so it pays nothing
    assert mined[2].item() == 0.0


@pytest.mark.parametrize("gamma", [256.0, 1e4])
@pytest.mark.parametrize(("pos_angle", "neg_angle"), [(0.7, 1.0), (0.2, 1.4)])
def test_circle_large_gamma_is_the_triplet_like_hinge(gamma, pos_angle, neg_angle):
    # (1/γ) log(1 + e^{γ z}) -> max(0, z), z = α_n (s_n - Δ_n) - α_p (s_p - Δ_p): Sun et al.'s
    # "γ -> ∞" limit, for one positive and one negative pair (z > 0 in the first case, < 0 in the second)
    m = 0.25
    x = torch.tensor([[1.0, 0.0], _unit_angle(pos_angle), _unit_angle(neg_angle)], dtype=F64)
    y = torch.tensor([0, 0, 1])
    sp, sn = math.cos(pos_angle), math.cos(neg_angle)
    z = max(0.0, sn + m) * (sn - m) - max(0.0, 1.0 + m - sp) * (sp - (1.0 - m))
    got = circle_loss(x, y, m=m, gamma=gamma, reduction="none")[0].item() / gamma
    assert got == pytest.approx(max(0.0, z), rel=1e-3, abs=1e-9)
    gz = gamma * z
    exact = (gz + math.log1p(math.exp(-gz))) / gamma if gz > 0 else math.log1p(math.exp(gz)) / gamma
    assert got == pytest.approx(exact, rel=1e-12, abs=1e-300)


def test_circle_weights_are_detached_by_default():
    # α treated as constants (the paper's choice): the same value, another gradient than the formula's
    x = torch.tensor([[1.0, 0.0], _unit_angle(0.7), _unit_angle(2.0)], dtype=F64)
    y = torch.tensor([0, 0, 1])
    v_det = circle_loss(x, y, reduction="none")
    v_full = circle_loss(x, y, detach_weights=False, reduction="none")
    torch.testing.assert_close(v_det, v_full, rtol=0, atol=0)  # same value
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    circle_loss(xa, y).backward()
    circle_loss(xb, y, detach_weights=False).backward()
    assert not torch.allclose(xa.grad, xb.grad)  # different gradients


def test_proxy_anchor_reductions_and_a_class_absent_from_the_batch():
    x = torch.tensor([[1.0, 0.0], _unit_angle(0.3)], dtype=F64)
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=F64)
    y = torch.tensor([0, 1])
    a, d = 32.0, 0.1
    s = [[1.0, 0.0, -1.0], [math.cos(0.3), math.sin(0.3), -math.cos(0.3)]]
    h_pos = [math.log1p(math.exp(-a * (s[0][0] - d))), math.log1p(math.exp(-a * (s[1][1] - d))), 0.0]
    h_neg = [
        math.log1p(math.exp(a * (s[1][0] + d))),
        math.log1p(math.exp(a * (s[0][1] + d))),
        math.log1p(math.exp(a * (s[0][2] + d)) + math.exp(a * (s[1][2] + d))),
    ]
    none = proxy_anchor_loss(x, p, y, reduction="none")
    torch.testing.assert_close(
        none, torch.tensor([hp + hn for hp, hn in zip(h_pos, h_neg)], dtype=F64), rtol=1e-12, atol=1e-14
    )
    assert proxy_anchor_loss(x, p, y, reduction="sum").item() == pytest.approx(
        sum(h_pos) + sum(h_neg), rel=1e-12
    )
    # the paper's mean: positives over the 2 proxies present, negatives over all 3
    want = sum(h_pos) / 2 + sum(h_neg) / 3
    assert proxy_anchor_loss(x, p, y).item() == pytest.approx(want, rel=1e-12)


# ---------------------------------------------------------------------------------------------------
# the triplet miner against the reference


CONFIGS = [
    {"strategy": "batch_hard"},
    {"strategy": "batch_hard", "p": 1.0},
    {"strategy": "batch_hard", "p": math.inf},
    {"strategy": "batch_hard", "squared": True},
    {"strategy": "batch_hard", "distance": "cosine"},
    {"strategy": "semi_hard", "margin": 0.5},
    {"strategy": "semi_hard", "margin": 2.0, "squared": True},
    {"strategy": "semi_hard", "margin": 0.2, "distance": "cosine"},
    {"strategy": "semi_hard", "margin": 0.0},
    {"strategy": "all"},
]


@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_mine_triplets_matches_reference(kw):
    x, y = _rand(40, 11, 3), _labels(41, 11, 3)
    a, p, n = mine_triplets(x, y, **kw)
    assert a.dtype == p.dtype == n.dtype == torch.int64
    got = list(zip(a.tolist(), p.tolist(), n.tolist()))
    want = R.mine_triplets(x.numpy(), y.numpy(), **kw)
    assert got == want
    if kw.get("margin") != 0.0:
        assert got  # the case mines something


def test_batch_hard_ties_take_the_first_index():
    # anchor 0 at the origin: positives 1 and 2 both at distance 1, negatives 3 and 4 both at 2
    x = torch.tensor([[0.0], [1.0], [-1.0], [2.0], [-2.0]], dtype=F64)
    y = torch.tensor([0, 0, 0, 1, 1])
    a, p, n = mine_triplets(x, y)
    assert (a[0].item(), p[0].item(), n[0].item()) == (0, 1, 3)


def test_mine_triplets_without_valid_anchor_is_empty_and_reads_no_gradient():
    x = torch.randn(4, 3, requires_grad=True)
    for y in (torch.zeros(4, dtype=torch.long), torch.arange(4)):  # no negatives / no positives
        for strategy in ("batch_hard", "semi_hard", "all"):
            out = mine_triplets(x, y, strategy=strategy)
            assert all(t.shape == (0,) and t.dtype == torch.int64 and not t.requires_grad for t in out)


def test_mine_triplets_bad_options_name_the_argument():
    x, y = torch.randn(4, 3), torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"^mine_triplets: strategy must be one of .*, got 'hardest'"):
        mine_triplets(x, y, strategy="hardest")
    with pytest.raises(ValueError, match=r"^mine_triplets: p applies to distance='euclidean'"):
        mine_triplets(x, y, distance="cosine", p=1.0)
    with pytest.raises(ValueError, match=r"^mine_triplets: margin must be in \[0, inf\)"):
        mine_triplets(x, y, margin=-1.0)
    with pytest.raises(ValueError, match=r"^mine_triplets: labels must have shape \(4,\)"):
        mine_triplets(x, y[:3])
    with pytest.raises(ValueError, match=r"^mine_triplets: embeddings .*NaN"):
        mine_triplets(torch.full((4, 3), math.nan), y)


# ---------------------------------------------------------------------------------------------------
# Modules owning centres / proxies


HEADS = [
    (losskit.ArcFaceLoss, arcface_loss, {"scale": 10.0, "margin": 0.3}, "weight"),
    (losskit.ArcFaceLoss, arcface_loss, {"sub_centers": 3, "easy_margin": True}, "weight"),
    (losskit.CosFaceLoss, cosface_loss, {"scale": 30.0, "margin": 0.2}, "weight"),
    (losskit.SphereFaceLoss, sphereface_loss, {"margin": 3, "blend": 2.0}, "weight"),
    (losskit.ProxyAnchorLoss, proxy_anchor_loss, {"alpha": 16.0, "delta": 0.2}, "proxies"),
]
IDS = ["arcface", "subcenter", "cosface", "sphereface", "proxy_anchor"]


def _saved(m):
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


@pytest.mark.parametrize(("cls", "fn", "kw", "param"), HEADS, ids=IDS)
def test_module_parity_parameter_and_gradients(cls, fn, kw, param):
    torch.manual_seed(0)
    crit = cls(5, 4, **kw).double()
    centres = getattr(crit, param)
    rows = 5 * kw.get("sub_centers", 1)
    assert isinstance(centres, torch.nn.Parameter) and tuple(centres.shape) == (rows, 4)
    assert [n for n, _ in crit.named_parameters()] == [param]
    x, y = _rand(50, 8, 4), _labels(51, 8, 5)
    before = centres.detach().clone()
    for reduction in ("none", "mean", "sum"):
        got = crit(x, y, reduction=reduction)
        torch.testing.assert_close(got, fn(x, centres, y, **kw, reduction=reduction), rtol=0, atol=0)
    torch.testing.assert_close(centres.detach(), before, rtol=0, atol=0)  # forward leaves it alone
    crit(x, y).backward()
    assert centres.grad is not None and torch.isfinite(centres.grad).all() and centres.grad.abs().sum() > 0


@pytest.mark.parametrize(("cls", "fn", "kw", "param"), HEADS, ids=IDS)
def test_module_copies_and_state_dict(cls, fn, kw, param):
    crit = cls(5, 4, **kw)
    x, y = torch.randn(6, 4), torch.randint(0, 5, (6,))
    for copier in (copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m)), _saved):
        dup = copier(crit)
        assert type(dup) is cls and repr(dup) == repr(crit)
        assert getattr(dup, param) is not getattr(crit, param)
        torch.testing.assert_close(dup(x, y), crit(x, y), rtol=0, atol=0)
    fresh = cls(5, 4, **kw)
    fresh.load_state_dict(crit.state_dict(), strict=True)
    torch.testing.assert_close(fresh(x, y), crit(x, y), rtol=0, atol=0)
    assert repr(crit).startswith(f"{cls.__name__}(num_classes=5, embedding_size=4")


def test_modules_validate_at_construction():
    with pytest.raises(ValueError, match=r"^arcface_loss: margin must be in \[0, 3.14159\), got 4"):
        losskit.ArcFaceLoss(10, 4, margin=4)
    with pytest.raises(ValueError, match=r"^arcface_loss: sub_centers must be a positive int"):
        losskit.ArcFaceLoss(10, 4, sub_centers=0)
    with pytest.raises(TypeError, match=r"^sphereface_loss: margin must be an int"):
        losskit.SphereFaceLoss(10, 4, margin=4.0)
    with pytest.raises(ValueError, match=r"^CosFaceLoss: num_classes must be a positive int, got 0"):
        losskit.CosFaceLoss(0, 4)
    with pytest.raises(
        TypeError, match=r"^ProxyAnchorLoss: embedding_size must be a positive int, got float"
    ):
        losskit.ProxyAnchorLoss(10, 4.0)
    with pytest.raises(
        ValueError, match=r"^proxy_anchor_loss: weight must have the loss's unreduced shape \(10,\)"
    ):
        losskit.ProxyAnchorLoss(10, 4, weight=torch.ones(3))
    with pytest.raises(TypeError):
        losskit.ArcFaceLoss(10, 4, sample_weight=torch.ones(3))  # a per-batch weight: given at call time


def test_module_call_time_options_and_buffers():
    crit = losskit.SphereFaceLoss(4, 3)
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 2, 3, 0])
    torch.testing.assert_close(crit(x, y, blend=5.0), sphereface_loss(x, crit.weight, y, blend=5.0))
    sw = torch.rand(5)
    head = losskit.ArcFaceLoss(4, 3)
    torch.testing.assert_close(
        head(x, y, sample_weight=sw), arcface_loss(x, head.weight, y, sample_weight=sw)
    )
    pa = losskit.ProxyAnchorLoss(4, 3, weight=torch.tensor([1.0, 2.0, 0.5, 1.0]))
    assert [n for n, _ in pa.named_buffers()] == ["weight"]
    torch.testing.assert_close(pa(x, y), proxy_anchor_loss(x, pa.proxies, y, weight=pa.weight))


def test_pair_modules_forward_embeddings_and_labels():
    x, y = _rand(60, 8, 3), torch.tensor([0, 1, 0, 1, 2, 2, 3, 3])
    torch.testing.assert_close(
        losskit.MultiSimilarityLoss(epsilon=None)(x, y),
        multi_similarity_loss(x, y, epsilon=None),
        rtol=0,
        atol=0,
    )
    torch.testing.assert_close(
        losskit.CircleLoss(m=0.25, gamma=64.0)(x, y), circle_loss(x, y, m=0.25, gamma=64.0), rtol=0, atol=0
    )
    assert type(losskit.get("ms")) is losskit.MultiSimilarityLoss
