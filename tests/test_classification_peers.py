"""Classification losses against torch.nn.functional, torchvision, kornia, MONAI and scikit-learn.

Each test maps the peer's convention explicitly. Where a SPEC **Decision** departs from a peer, the test
pins losskit's behaviour and shows the peer's alongside."""

from __future__ import annotations

import kornia
import monai
import numpy as np
import pytest
import sklearn.metrics as skm
import torch
import torch.nn.functional as F
import torchvision.ops

import losskit.functional as LF

D = torch.float64


@pytest.fixture
def g():
    return torch.Generator().manual_seed(1234)


def _ce_data(g, n=12, c=5):
    z = torch.randn(n, c, generator=g, dtype=D) * 2
    y = torch.randint(0, c, (n,), generator=g)
    w = torch.rand(c, generator=g, dtype=D) + 0.1
    return z, y, w


# --- torch.nn.functional ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("use_weight", [False, True])
def test_cross_entropy_index_targets_equal_torch(g, reduction, smoothing, use_weight):
    z, y, w = _ce_data(g)
    y[[2, 5]] = -100
    kw = {"weight": w if use_weight else None, "label_smoothing": smoothing, "reduction": reduction}
    torch.testing.assert_close(LF.cross_entropy(z, y, **kw), F.cross_entropy(z, y, **kw))
    # NLL on log-probabilities
    torch.testing.assert_close(
        LF.cross_entropy(torch.log_softmax(z, 1), y, input_type="log_probs", **kw),
        F.cross_entropy(z, y, **kw),
    )


def test_nll_loss_spatial_equals_torch(g):
    z = torch.randn(2, 4, 3, 5, generator=g, dtype=D)
    y = torch.randint(0, 4, (2, 3, 5), generator=g)
    lp = torch.log_softmax(z, 1)
    torch.testing.assert_close(
        LF.cross_entropy(lp, y, input_type="log_probs", reduction="none"), F.nll_loss(lp, y, reduction="none")
    )


def test_cross_entropy_soft_targets_with_weights_decision(g):
    # SPEC §0 Decision: losskit divides by Σ_i Σ_k w_k q_ik; torch divides by N (pytorch issue 107680)
    z, _, w = _ce_data(g)
    q = torch.softmax(torch.randn(z.shape, generator=g, dtype=D), 1)
    ours = LF.cross_entropy(z, q, weight=w)
    theirs = F.cross_entropy(z, q, weight=w)
    torch.testing.assert_close(ours, theirs * len(z) / (q * w).sum())
    # without weights both divide by N
    torch.testing.assert_close(LF.cross_entropy(z, q), F.cross_entropy(z, q))
    torch.testing.assert_close(
        LF.cross_entropy(z, q, reduction="none"), F.cross_entropy(z, q, reduction="none")
    )


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_bce_equals_torch(g, reduction):
    x = torch.randn(6, 3, generator=g, dtype=D) * 3
    y = torch.rand(6, 3, generator=g, dtype=D)
    w = torch.rand(6, 3, generator=g, dtype=D)
    pw = torch.tensor([0.5, 1.0, 4.0], dtype=D)
    kw = {"weight": w, "pos_weight": pw, "reduction": reduction}
    torch.testing.assert_close(
        LF.binary_cross_entropy(x, y, **kw), F.binary_cross_entropy_with_logits(x, y, **kw)
    )
    p = torch.sigmoid(x)
    torch.testing.assert_close(
        LF.binary_cross_entropy(p, y, weight=w, input_type="probs", reduction=reduction),
        F.binary_cross_entropy(p, y, weight=w, reduction=reduction),
    )


def test_bce_weighted_mean_decision(g):
    # SPEC §0: "mean" with weights is Σwℓ/Σw; torch's BCE weight rescales and still divides by numel
    x = torch.randn(8, generator=g, dtype=D)
    y = (torch.rand(8, generator=g) < 0.5).to(D)
    w = torch.rand(8, generator=g, dtype=D)
    theirs = F.binary_cross_entropy_with_logits(x, y, weight=w)
    torch.testing.assert_close(LF.binary_cross_entropy(x, y, weight=w), theirs * 8 / w.sum())


def test_shape_mismatch_decision_bce():
    # torch broadcasts (N,1) against (N,) in some losses; losskit refuses
    x, y = torch.randn(4, 1), torch.rand(4)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target must have shape \(4, 1\)"):
        LF.binary_cross_entropy(x, y)


def test_kl_divergence_equals_torch_batchmean(g):
    z = torch.randn(5, 4, generator=g, dtype=D)
    p = torch.softmax(torch.randn(5, 4, generator=g, dtype=D), 1)
    p[0, 2] = 0.0
    logq = torch.log_softmax(z, 1)
    torch.testing.assert_close(LF.kl_divergence(z, p), F.kl_div(logq, p, reduction="batchmean"))
    torch.testing.assert_close(
        LF.kl_divergence(z, p, reduction="none"), F.kl_div(logq, p, reduction="none").sum(1)
    )
    # torch's elementwise "mean" divides by N·C: the trap losskit does not offer
    torch.testing.assert_close(F.kl_div(logq, p, reduction="mean") * 4, LF.kl_divergence(z, p))
    # teacher logits
    t = torch.randn(5, 4, generator=g, dtype=D)
    torch.testing.assert_close(
        LF.kl_divergence(z, t, target_type="logits"),
        F.kl_div(logq, torch.log_softmax(t, 1), reduction="batchmean", log_target=True),
    )


def test_kl_and_entropy_equal_scipy(g):
    from scipy.stats import entropy as sp_entropy

    p = torch.softmax(torch.randn(4, 6, generator=g, dtype=D), 1)
    q = torch.softmax(torch.randn(4, 6, generator=g, dtype=D), 1)
    np.testing.assert_allclose(
        LF.kl_divergence(q, p, input_type="probs", reduction="none").numpy(),
        sp_entropy(p.numpy(), q.numpy(), axis=1),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        LF.entropy(p, input_type="probs", base=2, reduction="none").numpy(),
        sp_entropy(p.numpy(), axis=1, base=2),
        rtol=1e-12,
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_equals_torch(g, reduction):
    T, N, C = 15, 4, 6
    lp = torch.log_softmax(torch.randn(T, N, C, generator=g, dtype=D), 2)
    tgt = torch.randint(1, C, (N, 5), generator=g)
    il, tl = torch.tensor([15, 14, 15, 10]), torch.tensor([5, 3, 0, 4])
    torch.testing.assert_close(
        LF.ctc_loss(lp, tgt, il, tl, reduction=reduction), F.ctc_loss(lp, tgt, il, tl, reduction=reduction)
    )


@pytest.mark.parametrize("p", [1, 2])
def test_weston_watkins_is_torch_multi_margin_times_C(g, p):
    z, y, _ = _ce_data(g)
    ours = LF.multiclass_hinge_loss(z, y, variant="weston_watkins", squared=(p == 2), reduction="none")
    torch.testing.assert_close(ours, F.multi_margin_loss(z, y, p=p, reduction="none") * z.shape[1])


# --- torchvision --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.25, -1])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_sigmoid_focal_equals_torchvision(g, alpha, gamma):
    x = torch.randn(10, 4, generator=g, dtype=D) * 3
    y = torch.rand(10, 4, generator=g, dtype=D).round()
    ours = LF.sigmoid_focal_loss(x, y, alpha=None if alpha < 0 else alpha, gamma=gamma, reduction="none")
    theirs = torchvision.ops.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction="none")
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(
        LF.sigmoid_focal_loss(x, y, gamma=gamma, alpha=None if alpha < 0 else alpha),
        torchvision.ops.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction="mean"),
    )


def test_sigmoid_focal_saturated_gradient_decision():
    # torchvision computes p_t from exp(-BCE): NaN gradient for gamma < 1 at saturated logits; losskit finite
    x = torch.tensor([40.0, -40.0, 5.0], dtype=torch.float32)
    y = torch.tensor([1.0, 0.0, 1.0])
    xa = x.clone().requires_grad_()
    torchvision.ops.sigmoid_focal_loss(xa, y, gamma=0.5, reduction="sum").backward()
    assert torch.isnan(xa.grad).any()
    xb = x.clone().requires_grad_()
    LF.sigmoid_focal_loss(xb, y, gamma=0.5, reduction="sum").backward()
    assert torch.isfinite(xb.grad).all()
    torch.testing.assert_close(xb.grad[2], xa.grad[2])  # away from saturation both agree


def test_empty_input_decision_torchvision():
    x, y = torch.zeros(0, 3, requires_grad=True), torch.zeros(0, 3)
    assert torch.isnan(torchvision.ops.sigmoid_focal_loss(x, y, reduction="mean"))
    out = LF.sigmoid_focal_loss(x, y)
    assert out.item() == 0.0
    out.backward()


# --- kornia and MONAI: scalar alpha means [1 - a, a, a, ...] there ------------------------------------------
@pytest.mark.parametrize("a", [0.25, 0.6])
def test_softmax_focal_equals_kornia_with_alpha_mapped(g, a):
    z, y, _ = _ce_data(g)
    C = z.shape[1]
    theirs = kornia.losses.focal_loss(z, y, alpha=a, gamma=2.0, reduction="none").sum(1)
    ours = LF.softmax_focal_loss(
        z, y, alpha=torch.tensor([1 - a] + [a] * (C - 1), dtype=D), gamma=2.0, reduction="none"
    )
    torch.testing.assert_close(ours, theirs)
    # Decision: a scalar alpha in losskit is a uniform multiplier (no hidden background class)
    torch.testing.assert_close(
        LF.softmax_focal_loss(z, y, alpha=a, reduction="none"),
        a * LF.softmax_focal_loss(z, y, reduction="none"),
    )


@pytest.mark.parametrize("a", [None, 0.25])
def test_softmax_focal_equals_monai(g, a):
    z, y, _ = _ce_data(g)
    C = z.shape[1]
    loss = monai.losses.FocalLoss(gamma=2.0, alpha=a, use_softmax=True, to_onehot_y=True, reduction="none")
    theirs = loss(z, y[:, None]).sum(1).to(D)
    alpha = None if a is None else torch.tensor([1 - a] + [a] * (C - 1), dtype=D)
    torch.testing.assert_close(
        LF.softmax_focal_loss(z, y, alpha=alpha, reduction="none"), theirs, rtol=1e-6, atol=1e-7
    )


def test_sigmoid_focal_equals_monai(g):
    x = torch.randn(6, 3, generator=g, dtype=D)
    y = torch.rand(6, 3, generator=g).round().to(D)
    theirs = monai.losses.FocalLoss(gamma=2.0, alpha=0.25, reduction="none")(x, y).to(D)
    torch.testing.assert_close(LF.sigmoid_focal_loss(x, y, reduction="none"), theirs, rtol=1e-6, atol=1e-7)


# --- scikit-learn ---------------------------------------------------------------------------------------------
def test_log_loss_equals_sklearn(g):
    z, y, _ = _ce_data(g)
    p = torch.softmax(z, 1)
    theirs = skm.log_loss(y.numpy(), p.numpy(), labels=list(range(z.shape[1])))
    assert abs(float(LF.cross_entropy(p, y, input_type="probs")) - theirs) < 1e-12
    assert abs(float(LF.cross_entropy(z, y)) - theirs) < 1e-12


def test_hinge_equals_sklearn(g):
    f = torch.randn(20, generator=g, dtype=D)
    y = (torch.rand(20, generator=g) < 0.5).long()
    assert abs(float(LF.hinge_loss(f, y)) - skm.hinge_loss(y.numpy(), f.numpy())) < 1e-12
    z, yi, _ = _ce_data(g)  # sklearn's multi-class hinge is Crammer–Singer
    theirs = skm.hinge_loss(yi.numpy(), z.numpy(), labels=list(range(z.shape[1])))
    assert abs(float(LF.multiclass_hinge_loss(z, yi)) - theirs) < 1e-12


def test_brier_equals_sklearn(g):
    z, y, _ = _ce_data(g)
    p = torch.softmax(z, 1)
    theirs = skm.brier_score_loss(y.numpy(), p.numpy(), labels=list(range(z.shape[1])))
    assert abs(float(LF.brier_score(z, y)) - theirs) < 1e-12
    # binary: sklearn scores the positive class only, i.e. half of the two-class sum
    pb = p[:, 0]
    yb = (y == 0).long()
    two = torch.stack([1 - pb, pb], 1)
    assert (
        abs(
            float(LF.brier_score(two, yb, input_type="probs")) / 2
            - skm.brier_score_loss(yb.numpy(), pb.numpy())
        )
        < 1e-12
    )


def test_zero_one_equals_sklearn(g):
    f = torch.randn(30, generator=g, dtype=D)
    y = (torch.rand(30, generator=g) < 0.5).long()
    pred = (f > 0).long()
    assert abs(float(LF.zero_one_loss(f, y)) - skm.zero_one_loss(y.numpy(), pred.numpy())) < 1e-12
