"""Hand-derived values for the dense detection family, its Decisions, and torch as a peer where it applies.

mmdet (the usual peer for these losses) is not installed; every expected number here is derived in the
comment next to it, and torch's BCE is the peer for the settings where a loss reduces to it.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as TF

import losskit
import losskit.functional as LF

F64 = torch.float64


def t(*values):
    return torch.tensor(values, dtype=F64)


# --- Gaussian focal ------------------------------------------------------------------------------------


def test_gaussian_focal_hand_values():
    # p = 1/2: positive (y = 1): (1 - p)^2 ln 2 = ln 2 / 4; negative with y = 1/2: (1 - y)^4 p^2 ln 2 = ln 2 / 64
    p, y = t(0.5, 0.5), t(1.0, 0.5)
    got = LF.gaussian_focal_loss(p, y, input_type="probs", reduction="none")
    torch.testing.assert_close(got, t(math.log(2) / 4, math.log(2) / 64))
    # the same from logits (0) and log-probabilities
    torch.testing.assert_close(LF.gaussian_focal_loss(t(0.0, 0.0), y, reduction="none"), got)
    # per-object normalisation: one positive, so "mean" with normalizer = (y == 1) is the sum
    torch.testing.assert_close(LF.gaussian_focal_loss(p, y, input_type="probs", normalizer=y == 1), got.sum())
    # no positives: divided by 1, not 0
    torch.testing.assert_close(
        LF.gaussian_focal_loss(p, y * 0.5, input_type="probs", normalizer=y * 0.5 == 1),
        LF.gaussian_focal_loss(p, y * 0.5, input_type="probs", reduction="sum"),
    )


def test_gaussian_focal_without_focusing_is_torch_bce_on_the_peaks():
    # α = β = 0: -log p at y == 1, -log(1 - p) elsewhere: torch's BCE against the binarised heatmap
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 3, 5, 5, generator=g, dtype=F64) * 3
    y = torch.rand(2, 3, 5, 5, generator=g, dtype=F64)
    y[y > 0.8] = 1.0
    za, zb = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    ours = LF.gaussian_focal_loss(za, y, alpha=0.0, beta=0.0, reduction="sum")
    theirs = TF.binary_cross_entropy_with_logits(zb, (y == 1).to(F64), reduction="sum")
    torch.testing.assert_close(ours, theirs)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(za.grad, zb.grad)


# --- balanced L1 ---------------------------------------------------------------------------------------


def test_balanced_l1_hand_values_and_continuity():
    b = math.expm1(3.0)  # e^{γ/α} - 1 with α = 0.5, γ = 1.5
    # |x| = 2 >= 1: γ|x| + γ/b - α = 3 + 1.5/b - 0.5
    assert LF.balanced_l1_loss(t(2.0), t(0.0)).item() == pytest.approx(2.5 + 1.5 / b, abs=1e-14)
    # |x| = 0.5 < 1: α/b (b/2 + 1) ln(b/2 + 1) - α/2
    want = 0.5 / b * (b / 2 + 1) * math.log(b / 2 + 1) - 0.25
    assert LF.balanced_l1_loss(t(0.5), t(0.0)).item() == pytest.approx(want, abs=1e-14)
    # value and gradient (γ = 1.5) are continuous at |x| = 1, for β = 1 and for β = 3 (scaled form)
    for beta in (1.0, 3.0):
        x = t(beta - 1e-7, beta + 1e-7).requires_grad_(True)
        v = LF.balanced_l1_loss(x, torch.zeros_like(x), beta=beta, reduction="none")
        v.sum().backward()
        assert v[0].item() == pytest.approx(v[1].item(), abs=1e-6)
        assert x.grad[0].item() == pytest.approx(1.5, abs=1e-5) and x.grad[1].item() == pytest.approx(
            1.5, abs=1e-12
        )


def test_balanced_l1_decision_beta_scales_the_loss():
    # Decision: ℓ_β(x) = β ℓ_1(x/β), >= 0 everywhere (mmdet's β > 1 form is negative near 0)
    x = torch.linspace(-6, 6, 121, dtype=F64)
    for beta in (0.2, 2.0, 5.0):
        got = LF.balanced_l1_loss(x, x * 0, beta=beta, reduction="none")
        torch.testing.assert_close(got, beta * LF.balanced_l1_loss(x / beta, x * 0, reduction="none"))
        assert bool((got >= 0).all())


# --- Wing and adaptive Wing ------------------------------------------------------------------------------


def test_wing_hand_values():
    # ω = 10, ε = 2: |x| = 2 -> 10 ln 2; |x| = 20 -> 20 - C, C = 10 - 10 ln 6
    got = LF.wing_loss(t(2.0, -20.0), t(0.0, 0.0), reduction="none")
    torch.testing.assert_close(got, t(10 * math.log(2.0), 10 + 10 * math.log(6.0)))
    # continuous at |x| = ω, gradient ω/(ε + |x|) = 10/12 just below and 1 above
    x = t(10 - 1e-9, 10 + 1e-9).requires_grad_(True)
    v = LF.wing_loss(x, torch.zeros_like(x), reduction="none")
    v.sum().backward()
    assert v[0].item() == pytest.approx(v[1].item(), abs=1e-7)
    torch.testing.assert_close(x.grad, t(10 / 12, 1.0))


def test_adaptive_wing_hand_values_and_continuity():
    # y = 0, α = 3, |d| = 1/4 < θ: ω ln(1 + (1/4)^3) = 14 ln(65/64)
    assert LF.adaptive_wing_loss(t(0.25), t(0.0), alpha=3.0).item() == pytest.approx(
        14 * math.log(65 / 64), abs=1e-14
    )
    # y = 1, exponent α - y = 1.1, |d| = 0.2: 14 ln(1 + 0.2^1.1)
    assert LF.adaptive_wing_loss(t(0.8), t(1.0)).item() == pytest.approx(14 * math.log1p(0.2**1.1), abs=1e-13)
    # value and gradient continuous at |d| = θ = 0.5 for a few targets
    for y in (0.0, 0.3, 1.0):
        x = t(y + 0.5 - 1e-8, y + 0.5 + 1e-8).requires_grad_(True)
        v = LF.adaptive_wing_loss(x, t(y, y), reduction="none")
        v.sum().backward()
        assert v[0].item() == pytest.approx(v[1].item(), abs=1e-6)
        assert x.grad[0].item() == pytest.approx(x.grad[1].item(), rel=1e-6)
    # smooth at a perfect prediction on the background: zero gradient (α - y > 1)
    x = t(0.0).requires_grad_(True)
    LF.adaptive_wing_loss(x, t(0.0)).backward()
    assert x.grad.item() == 0.0


# --- GHM-C --------------------------------------------------------------------------------------------


def test_ghm_c_hand_values():
    # g = |σ(x) - y|: three elements at g = 1/2 (bin 5), one at g = 1 - σ(4) = 0.018 (bin 0); N = 4, n = 2
    x, y = t(0.0, 0.0, 0.0, 4.0), t(1.0, 1.0, 1.0, 1.0)
    softplus4 = math.log1p(math.exp(-4.0))  # BCE of logit 4 against 1
    want = t(4 / 6 * math.log(2), 4 / 6 * math.log(2), 4 / 6 * math.log(2), 4 / 2 * softplus4)
    torch.testing.assert_close(LF.ghm_c_loss(x, y, reduction="none"), want)
    # "mean" divides by N = 4
    torch.testing.assert_close(LF.ghm_c_loss(x, y), want.sum() / 4)
    # running counts R = (2, ..., 6, ...) replace the batch's: β = 4 / (2 R)
    counts = torch.ones(10, dtype=F64)
    counts[0], counts[5] = 2.0, 6.0
    torch.testing.assert_close(
        LF.ghm_c_loss(x, y, bin_counts=counts, reduction="none"),
        t(4 / 12 * math.log(2), 4 / 12 * math.log(2), 4 / 12 * math.log(2), 4 / 4 * softplus4),
    )


def test_ghm_c_one_bin_is_torch_bce_and_label_weight_excludes():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 5, generator=g, dtype=F64) * 2
    y = (torch.rand(8, 5, generator=g, dtype=F64) < 0.3).to(F64)
    # one bin: β = N / (1 · N) = 1, so GHM-C is plain BCE (values and gradients)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = LF.ghm_c_loss(xa, y, bins=1)
    theirs = TF.binary_cross_entropy_with_logits(xb, y)
    torch.testing.assert_close(ours, theirs)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    # elements with weight 0 change neither the density nor N: the kept rows give the loss of those rows alone
    keep = torch.zeros(8, 1, dtype=F64)
    keep[:5] = 1.0
    torch.testing.assert_close(LF.ghm_c_loss(x, y, weight=keep), LF.ghm_c_loss(x[:5], y[:5]))


def test_ghm_c_module_momentum():
    x, y = t(0.0, 0.0, 0.0, 4.0), t(1.0, 1.0, 1.0, 1.0)
    plain = losskit.GHMCLoss()
    torch.testing.assert_close(plain(x, y), LF.ghm_c_loss(x, y))
    crit = losskit.GHMCLoss(momentum=0.75)
    crit(x.float(), y.float())
    # first batch: R = 0.25 · (1 in bin 0, 3 in bin 5), other bins untouched
    want = torch.zeros(10)
    want[0], want[5] = 0.25, 0.75
    torch.testing.assert_close(crit.acc_sum, want)
    # second batch: R = 0.75 R + 0.25 r; the loss uses the updated counts
    out = crit(x.float(), y.float())
    want[0], want[5] = 0.75 * 0.25 + 0.25, 0.75 * 0.75 + 0.75
    torch.testing.assert_close(crit.acc_sum, want)
    torch.testing.assert_close(out, LF.ghm_c_loss(x.float(), y.float(), bin_counts=want))
    # eval mode leaves the state alone and uses the batch's density
    crit.eval()
    torch.testing.assert_close(crit(x.float(), y.float()), LF.ghm_c_loss(x.float(), y.float()))
    torch.testing.assert_close(crit.acc_sum, want)
    with pytest.raises(ValueError, match=r"^GHMCLoss: momentum must be in \[0, 1\)"):
        losskit.GHMCLoss(momentum=1.0)


# --- OKS ------------------------------------------------------------------------------------------------


def test_oks_hand_value():
    # two keypoints, σ = 1 (κ = 2), s² = 1: keypoint 0 off by d² = 8 = 2 s² κ² -> e^{-1}; keypoint 1 exact -> 1
    gt = torch.zeros(1, 2, 2, dtype=F64)
    pred = gt.clone()
    pred[0, 0, 0] = math.sqrt(8.0)
    got = LF.oks_loss(pred, gt, area=t(1.0), sigmas=[1.0, 1.0], eps=0.0)
    assert got.item() == pytest.approx(1 - (math.exp(-1) + 1) / 2, abs=1e-15)
    # keypoint 1 invisible: only keypoint 0 counts -> 1 - e^{-1}
    vis = torch.tensor([[2, 0]])
    assert LF.oks_loss(
        pred, gt, area=t(1.0), sigmas=[1.0, 1.0], visibility=vis, eps=0.0
    ).item() == pytest.approx(1 - math.exp(-1), abs=1e-15)
    # nothing visible: 0
    assert LF.oks_loss(pred, gt, area=t(1.0), sigmas=[1.0, 1.0], visibility=vis * 0).item() == 0.0


def test_oks_coco_sigmas_scale_invariance_and_batch_permutation():
    g = torch.Generator().manual_seed(2)
    gt = torch.rand(5, 17, 2, generator=g, dtype=F64) * 100
    pred = gt + torch.randn(5, 17, 2, generator=g, dtype=F64) * 4
    area = torch.rand(5, generator=g, dtype=F64) * 4000 + 500
    vis = torch.randint(0, 3, (5, 17), generator=g)
    base = LF.oks_loss(pred, gt, area=area, visibility=vis, eps=0.0, reduction="none")
    # the COCO constants are the default for 17 keypoints
    torch.testing.assert_close(
        base,
        LF.oks_loss(
            pred,
            gt,
            area=area,
            visibility=vis,
            eps=0.0,
            reduction="none",
            sigmas=LF.detection.COCO_KEYPOINT_SIGMAS,
        ),
    )
    # scaling the image by k scales distances by k and the area by k²: OKS unchanged
    torch.testing.assert_close(
        LF.oks_loss(3 * pred, 3 * gt, area=9 * area, visibility=vis, eps=0.0, reduction="none"), base
    )
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(
        LF.oks_loss(pred[perm], gt[perm], area=area[perm], visibility=vis[perm], eps=0.0, reduction="none"),
        base[perm],
    )
    crit = losskit.OKSLoss(visibility=vis)
    torch.testing.assert_close(crit(pred, gt, area=area), LF.oks_loss(pred, gt, area=area, visibility=vis))
