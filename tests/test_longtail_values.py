"""Long-tail / multi-label family: timm's ASL as peer, the papers' special cases, SeesawLoss's counting."""

from __future__ import annotations

import math

import pytest
import torch
from timm.loss import AsymmetricLossMultiLabel

import losskit
from losskit.functional import (
    asymmetric_loss,
    balanced_softmax_loss,
    cross_entropy,
    ldam_loss,
    logit_adjusted_cross_entropy,
    poly_loss,
    seesaw_loss,
    softmax_focal_loss,
)

D = torch.float64


def _data(n=16, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=D) * 2
    y = torch.randint(0, c, (n,), generator=g)
    return z, y


@pytest.mark.parametrize("gp,gn,clip", [(1.0, 4.0, 0.05), (0.0, 4.0, 0.05), (0.0, 2.0, 0.0), (2.0, 1.0, 0.2)])
@pytest.mark.parametrize("detach", [False, True])
def test_asl_matches_timm_values_and_gradients(gp, gn, clip, detach):
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(8, 6, generator=g) * 3).clamp(-15, 15)  # timm clamps p at 1e-8: stay inside
    y = (torch.rand(8, 6, generator=g) < 0.3).float()
    w = torch.rand(6, generator=g) + 0.5
    ref = AsymmetricLossMultiLabel(
        gamma_neg=gn,
        gamma_pos=gp,
        clip=clip,
        disable_torch_grad_focal_loss=detach,
        reduction="none",
        weight=w,
    )
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    want = ref(xa, y)
    got = asymmetric_loss(
        xb, y, gamma_pos=gp, gamma_neg=gn, clip=clip, detach_focal_weight=detach, weight=w, reduction="none"
    )
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    want.sum().backward()
    got.sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-4, atol=1e-6)
    # timm's reductions: "sum" is ours, "batchmean" is sum / N (normalizer=N), "mean" the element mean
    for red, kw in (
        ("sum", {"reduction": "sum"}),
        ("batchmean", {"normalizer": 8}),
        ("mean", {"reduction": "mean"}),
    ):
        ref.reduction = red
        ours = asymmetric_loss(x, y, gamma_pos=gp, gamma_neg=gn, clip=clip, **kw)
        ref_unw = AsymmetricLossMultiLabel(gamma_neg=gn, gamma_pos=gp, clip=clip, reduction=red)
        torch.testing.assert_close(ours, ref_unw(x, y), rtol=1e-5, atol=1e-6)


def test_asl_soft_targets_depart_from_timm_by_design():
    """Ours weighs the two terms by y and 1 - y; timm blends the exponents. Hand value at y = 1/2, x = 0."""
    x, y = torch.zeros(1, 1, dtype=D), torch.full((1, 1), 0.5, dtype=D)
    got = asymmetric_loss(x, y, gamma_pos=1.0, gamma_neg=4.0, clip=0.05, reduction="sum").item()
    # p = 1/2: positive term (1/2)^1 ln 2, negative term 0.45^4 * -ln 0.55, each weighted 1/2
    want = 0.5 * (0.5 * math.log(2.0)) + 0.5 * (0.45**4 * -math.log(0.55))
    assert got == pytest.approx(want, rel=1e-12)
    timm = AsymmetricLossMultiLabel(gamma_neg=4, gamma_pos=1, clip=0.05, reduction="sum")(
        x.float(), y.float()
    )
    assert abs(float(timm) - want) > 1e-3


def test_asl_zero_focusing_is_bce():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(7, 3, generator=g, dtype=D) * 4, torch.rand(7, 3, generator=g, dtype=D)
    got = asymmetric_loss(x, y, gamma_pos=0.0, gamma_neg=0.0, clip=0.0, reduction="none")
    torch.testing.assert_close(
        got, torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
    )


def test_poly_epsilon_zero_is_ce_and_focal():
    z, y = _data()
    w = torch.rand(5, dtype=D) + 0.2
    torch.testing.assert_close(
        poly_loss(z, y, epsilon=0.0, weight=w), torch.nn.functional.cross_entropy(z, y, weight=w)
    )
    torch.testing.assert_close(
        poly_loss(z, y, epsilon=0.0, gamma=2.0, label_smoothing=0.1),
        softmax_focal_loss(z, y, gamma=2.0, label_smoothing=0.1),
    )


def test_poly_one_hand_value():
    # z = (0, 0): p_t = 1/2, Poly-1 = ln 2 + eps / 2; focal gamma = 1: (1/2) ln 2 + eps (1/2)^2
    z, y = torch.zeros(1, 2, dtype=D), torch.tensor([0])
    assert poly_loss(z, y, epsilon=2.0).item() == pytest.approx(math.log(2) + 1.0, rel=1e-12)
    assert poly_loss(z, y, epsilon=2.0, gamma=1.0).item() == pytest.approx(0.5 * math.log(2) + 0.5, rel=1e-12)


def test_balanced_softmax_uniform_counts_is_ce_and_equals_logit_adjustment():
    z, y = _data()
    torch.testing.assert_close(
        balanced_softmax_loss(z, y, class_counts=torch.full((5,), 7)), cross_entropy(z, y)
    )
    n = torch.tensor([500, 120, 30, 8, 2])
    torch.testing.assert_close(
        balanced_softmax_loss(z, y, class_counts=n),
        logit_adjusted_cross_entropy(z, y, class_priors=n / n.sum(), tau=1.0),
    )
    torch.testing.assert_close(
        logit_adjusted_cross_entropy(z, y, class_priors=n.double(), tau=0.0), cross_entropy(z, y)
    )


def test_ldam_zero_margin_is_scaled_ce_and_margin_rule():
    z, y = _data()
    n = torch.tensor([500, 120, 30, 8, 2])
    torch.testing.assert_close(
        ldam_loss(z, y, class_counts=n, max_margin=0.0, scale=7.0), cross_entropy(7.0 * z, y)
    )
    # a one-sample check of Delta_j = 0.5 (n_min / n_j)^(1/4): class 2 (30 examples) vs the tail (2)
    zz, yy = torch.zeros(1, 5, dtype=D), torch.tensor([2])
    delta = 0.5 * (2 / 30) ** 0.25
    want = -math.log(math.exp(-delta) / (math.exp(-delta) + 4.0))
    assert ldam_loss(zz, yy, class_counts=n, scale=1.0).item() == pytest.approx(want, rel=1e-12)


def test_seesaw_special_cases_and_gradient():
    z, y = _data()
    n = torch.tensor([500, 120, 30, 8, 0])
    torch.testing.assert_close(seesaw_loss(z, y, class_counts=n, p=0.0, q=0.0), cross_entropy(z, y))
    # S is a constant in the backward pass: d loss / d z_j = sigma_hat_j (j != y), sigma_hat_y - 1
    zz = z.clone().requires_grad_(True)
    seesaw_loss(zz, y, class_counts=n, reduction="sum").backward()
    with torch.no_grad():
        logp = torch.log_softmax(z, 1)
        ly = logp.gather(1, y[:, None])
        lnn = torch.log(n.double().clamp_min(1))
        log_s = 0.8 * (lnn[None, :] - lnn[y][:, None]).clamp_max(0) + 2.0 * (logp - ly).clamp_min(0)
        want = torch.softmax(z + log_s, 1) - torch.nn.functional.one_hot(y, 5)
    torch.testing.assert_close(zz.grad, want)


def test_seesaw_module_accumulates_counts_and_restores():
    crit = losskit.SeesawLoss()
    z, y = _data(n=8, c=3)
    y[0] = -100
    crit(z, y)
    want = torch.bincount(y[1:], minlength=3)
    assert torch.equal(crit.class_counts, want)
    out = crit(z, y)
    assert torch.equal(crit.class_counts, 2 * want)
    torch.testing.assert_close(out, seesaw_loss(z, y, class_counts=2 * want))
    crit.eval()
    crit(z, y)
    assert torch.equal(crit.class_counts, 2 * want)  # eval: counts used, left alone
    fresh = losskit.SeesawLoss()
    fresh.load_state_dict(crit.state_dict())
    assert torch.equal(fresh.class_counts, 2 * want)
    fixed = losskit.SeesawLoss(class_counts=torch.tensor([5, 1, 1]))
    fixed(z, y)
    assert torch.equal(fixed.class_counts, torch.tensor([5, 1, 1]))
    assert isinstance(losskit.get("seesaw"), losskit.SeesawLoss)
    with pytest.raises(ValueError, match=r"^SeesawLoss: input has 4 classes"):
        losskit.SeesawLoss(num_classes=3)(torch.randn(2, 4), torch.tensor([0, 1]))


def test_registry_names():
    assert isinstance(losskit.get("asl"), losskit.AsymmetricLoss)
    assert isinstance(losskit.get("poly1"), losskit.PolyLoss)
    assert isinstance(losskit.get("logit_adjusted"), losskit.LogitAdjustedCrossEntropyLoss)
    assert isinstance(losskit.get("ldam"), losskit.LDAMLoss)
    assert isinstance(losskit.get("balanced_softmax"), losskit.BalancedSoftmaxLoss)
