"""Options of the binary losses users bring from the peers (issue 13): label smoothing, pos_weight,
ignore_index / mask, checked against segmentation-models-pytorch, kornia, torchvision, timm and torch; the
balanced-CE default α = 0.75 against torchvision.

Mappings pinned here: smp's ``smooth_factor=s`` is losskit's ``label_smoothing=2s`` (smp maps 1 -> 1 - s,
losskit 1 -> 1 - ε/2 like torch's two-class label smoothing); smp's SoftBCE and kornia keep ignored elements in
the mean's denominator, losskit (and smp's binary FocalLoss) leave them out (their mean = losskit's ``"sum"`` /
element count); kornia's ``pos_weight`` (C,) acts along dim 1 (losskit broadcasts from the right: pass
``pos_weight.view(C, 1, 1)``);
timm's ``BinaryCrossEntropy(smoothing=s, smooth_dense=True)`` on dense targets is ``label_smoothing=s`` (on
index targets timm builds the one-hot with off = s / C, on = 1 - s + s / C: pass that target to losskit).
"""

from __future__ import annotations

import inspect
import math

import kornia.losses as KL
import pytest
import segmentation_models_pytorch.losses as SL
import timm.loss as TL
import torch
import torchvision.ops as TVO

import losskit.functional as LF

F64 = torch.float64


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    torch.testing.assert_close(a.to(F64), b.to(F64), rtol=rtol, atol=atol)


def _data(seed: int, shape: tuple[int, ...] = (3, 4, 5, 2)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=F64) * 2, torch.randint(0, 2, shape, generator=g).to(F64)


def test_smp_soft_bce_smoothing_pos_weight_ignore() -> None:
    x, y = _data(1)
    pw = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64).view(4, 1, 1)
    for s in (0.0, 0.1, 0.25):
        theirs = SL.SoftBCEWithLogitsLoss(smooth_factor=s, reduction="none")(x, y)
        close(LF.binary_cross_entropy(x, y, label_smoothing=2 * s, reduction="none"), theirs)
        theirs = SL.SoftBCEWithLogitsLoss(smooth_factor=s, pos_weight=pw)(x, y)
        close(LF.binary_cross_entropy(x, y, label_smoothing=2 * s, pos_weight=pw), theirs)
    y_ign = y.clone()
    y_ign[0, :2] = -100.0
    theirs = SL.SoftBCEWithLogitsLoss(ignore_index=-100, reduction="none")(x, y_ign)
    close(LF.binary_cross_entropy(x, y_ign, ignore_index=-100, reduction="none"), theirs)
    # smp's mean keeps the ignored elements in the denominator
    theirs = SL.SoftBCEWithLogitsLoss(ignore_index=-100)(x, y_ign)
    close(LF.binary_cross_entropy(x, y_ign, ignore_index=-100, reduction="sum") / y.numel(), theirs)
    kept = (y_ign != -100).to(F64)
    ours = LF.binary_cross_entropy(x, y_ign, ignore_index=-100)
    close(ours, (LF.binary_cross_entropy(x, y, reduction="none") * kept).sum() / kept.sum())


@pytest.mark.parametrize("alpha", [0.25, None])
def test_kornia_binary_focal_pos_weight_and_ignore(alpha) -> None:
    x, y = _data(2)
    pw = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    theirs = KL.binary_focal_loss_with_logits(x, y, alpha=alpha, gamma=2.0, pos_weight=pw, reduction="none")
    close(LF.sigmoid_focal_loss(x, y, alpha=alpha, pos_weight=pw.view(4, 1, 1), reduction="none"), theirs)
    theirs = KL.binary_focal_loss_with_logits(x, y, alpha=alpha, gamma=2.0, pos_weight=pw, reduction="mean")
    close(LF.sigmoid_focal_loss(x, y, alpha=alpha, pos_weight=pw.view(4, 1, 1)), theirs)
    y_ign = y.clone()
    y_ign[1, 2] = -100.0
    theirs = KL.binary_focal_loss_with_logits(x, y_ign, alpha=alpha, gamma=2.0, reduction="none")
    close(LF.sigmoid_focal_loss(x, y_ign, alpha=alpha, ignore_index=-100, reduction="none"), theirs)
    theirs = KL.binary_focal_loss_with_logits(x, y_ign, alpha=alpha, gamma=2.0, reduction="mean")
    close(
        LF.sigmoid_focal_loss(x, y_ign, alpha=alpha, ignore_index=-100, reduction="sum") / y.numel(), theirs
    )


@pytest.mark.parametrize("alpha", [0.25, None])
def test_smp_binary_focal_ignore_index_leaves_elements_out(alpha) -> None:
    # smp's FocalLoss(mode="binary", ignore_index=i) drops the ignored elements before its mean: losskit's
    # convention (unlike smp's SoftBCEWithLogitsLoss and kornia, which keep them in the count)
    x, y = _data(13)
    y_ign = y.clone()
    y_ign[0, 1:3] = -100.0
    y_ign[2, :, 4] = -100.0
    for gamma in (2.0, 0.5):
        theirs = SL.FocalLoss("binary", alpha=alpha, gamma=gamma, ignore_index=-100)(x, y_ign)
        close(LF.sigmoid_focal_loss(x, y_ign, alpha=alpha, gamma=gamma, ignore_index=-100), theirs)
        close(LF.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, mask=y_ign != -100), theirs)
        theirs = SL.FocalLoss("binary", alpha=alpha, gamma=gamma, ignore_index=-100, reduction="sum")(
            x, y_ign
        )
        close(
            LF.sigmoid_focal_loss(x, y_ign, alpha=alpha, gamma=gamma, ignore_index=-100, reduction="sum"),
            theirs,
        )


def test_torchvision_focal_with_mask_and_smoothing() -> None:
    x, y = _data(3, (50, 6))
    keep = torch.rand(50, 6, generator=torch.Generator().manual_seed(4)) > 0.4
    tv = TVO.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0, reduction="none")
    close(LF.sigmoid_focal_loss(x, y, mask=keep), tv[keep].mean())
    # smoothing is a target transform: torchvision on the smoothed target gives the same numbers
    ys = y * 0.8 + 0.1
    close(
        LF.sigmoid_focal_loss(x, y, label_smoothing=0.2, reduction="none"),
        TVO.sigmoid_focal_loss(x, ys, alpha=0.25, gamma=2.0, reduction="none"),
    )
    # the fused path (no pos_weight) and the plain path (pos_weight of ones) agree, values and gradients
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a = LF.sigmoid_focal_loss(xa, y, label_smoothing=0.2, mask=keep)
    b = LF.sigmoid_focal_loss(xb, y, label_smoothing=0.2, mask=keep, pos_weight=torch.ones(6, dtype=F64))
    close(a, b)
    a.backward()
    b.backward()
    close(xa.grad, xb.grad)


def test_torch_bce_pos_weight_and_smoothing_as_target_transform() -> None:
    x, y = _data(5, (7, 3))
    pw = torch.tensor([0.3, 1.0, 4.0], dtype=F64)
    close(
        LF.binary_cross_entropy(x, y, pos_weight=pw, label_smoothing=0.1),
        torch.nn.BCEWithLogitsLoss(pos_weight=pw)(x, y * 0.9 + 0.05),
    )


@pytest.mark.parametrize(
    "fn",
    [LF.binary_cross_entropy, LF.sigmoid_focal_loss, LF.quality_focal_loss, LF.varifocal_loss],
    ids=lambda f: f.__name__,
)
def test_ignore_and_mask_leave_elements_out(fn) -> None:
    g = torch.Generator().manual_seed(6)
    x = torch.randn(8, 3, generator=g, dtype=F64, requires_grad=True)
    q = torch.rand(8, 3, generator=g, dtype=F64)
    ign = q.clone()
    ign[:3] = 255.0
    keep = torch.ones(8, 3, dtype=torch.bool)
    keep[:3] = False
    full = fn(x, q, reduction="none")
    # the mean over the kept rows, from the unmasked elementwise values
    expected = full[3:].mean()
    close(fn(x, ign, ignore_index=255), expected)
    close(fn(x, q, mask=keep), expected)
    # everything ignored: 0 with a working backward that writes zeros
    out = fn(x, torch.full_like(q, 255.0), ignore_index=255)
    out.backward()
    assert float(out) == 0.0 and float(x.grad.abs().sum()) == 0.0


@pytest.mark.parametrize("s", [0.0, 0.1, 0.3])
def test_timm_binary_cross_entropy_smoothing_pos_weight_weight(s) -> None:
    x, y = _data(7, (9, 4))
    pw = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    # dense (multi-label) targets with smooth_dense=True: y (1 - s) + s / 2, losskit's label_smoothing=s
    theirs = TL.BinaryCrossEntropy(smoothing=s, smooth_dense=True, pos_weight=pw, reduction="none")(x, y)
    close(LF.binary_cross_entropy(x, y, label_smoothing=s, pos_weight=pw, reduction="none"), theirs)
    theirs = TL.BinaryCrossEntropy(smoothing=s, smooth_dense=True, pos_weight=pw)(x, y)
    close(LF.binary_cross_entropy(x, y, label_smoothing=s, pos_weight=pw), theirs)
    # sum_classes=True: the per-sample class sum averaged over the batch, losskit's "sum" / N
    theirs = TL.BinaryCrossEntropy(smoothing=s, smooth_dense=True, sum_classes=True)(x, y)
    close(LF.binary_cross_entropy(x, y, label_smoothing=s, reduction="sum") / 9, theirs)
    # timm's per-class weight follows torch (its mean divides by numel): losskit's weighted "sum" / numel
    w = torch.tensor([0.2, 1.0, 1.5, 3.0], dtype=F64)
    theirs = TL.BinaryCrossEntropy(smoothing=s, smooth_dense=True, weight=w)(x, y)
    close(LF.binary_cross_entropy(x, y, label_smoothing=s, weight=w, reduction="sum") / y.numel(), theirs)
    # index targets: timm's one-hot with off = s / C, on = 1 - s + s / C, given to losskit as a soft target
    yi = torch.randint(0, 4, (9,), generator=torch.Generator().manual_seed(8))
    soft = torch.nn.functional.one_hot(yi, 4).to(F64) * (1 - s) + s / 4
    close(LF.binary_cross_entropy(x, soft), TL.BinaryCrossEntropy(smoothing=s)(x, yi))
    # without smooth_dense timm leaves dense targets unsmoothed: label_smoothing=0
    close(LF.binary_cross_entropy(x, y), TL.BinaryCrossEntropy(smoothing=s)(x, y))


@pytest.mark.parametrize("s", [0.1, 0.25])
def test_timm_label_smoothing_cross_entropy(s) -> None:
    # timm's LabelSmoothingCrossEntropy: (1 - s)·NLL + s·mean_k(-log p_k), torch's (and losskit's) smoothing
    g = torch.Generator().manual_seed(9)
    z = torch.randn(11, 5, generator=g, dtype=F64) * 2
    y = torch.randint(0, 5, (11,), generator=g)
    close(LF.cross_entropy(z, y, label_smoothing=s), TL.LabelSmoothingCrossEntropy(smoothing=s)(z, y))
    q = torch.softmax(torch.randn(11, 5, generator=g, dtype=F64), -1)
    close(LF.cross_entropy(z, q), TL.SoftTargetCrossEntropy()(z, q))


def test_balanced_cross_entropy_default_alpha_is_torchvision_alpha_075_gamma_0() -> None:
    # Lin et al. Table 1a: the α-balanced CE (γ = 0) is best at α = 0.75, losskit's default
    x, y = _data(10, (6, 5))
    for reduction in ("none", "mean", "sum"):
        close(
            LF.balanced_cross_entropy(x, y, reduction=reduction),
            TVO.sigmoid_focal_loss(x, y, alpha=0.75, gamma=0.0, reduction=reduction),
        )
    close(
        LF.balanced_cross_entropy(x, y, alpha=0.25),
        TVO.sigmoid_focal_loss(x, y, alpha=0.25, gamma=0.0, reduction="mean"),
    )
    assert inspect.signature(LF.balanced_cross_entropy).parameters["alpha"].default == 0.75


def test_bce_mask_equals_torch_on_the_kept_elements() -> None:
    x, y = _data(11, (20, 3))
    keep = torch.rand(20, 3, generator=torch.Generator().manual_seed(12)) > 0.35
    pw = torch.tensor([0.5, 2.0, 1.5], dtype=F64)
    full_pw = pw.expand(20, 3)[keep]
    close(
        LF.binary_cross_entropy(x, y, mask=keep, pos_weight=pw),
        torch.nn.functional.binary_cross_entropy_with_logits(x[keep], y[keep], pos_weight=full_pw),
    )
    close(
        LF.binary_cross_entropy(x, y, mask=keep, reduction="sum"),
        torch.nn.functional.binary_cross_entropy_with_logits(x[keep], y[keep], reduction="sum"),
    )


def test_label_smoothing_hand_value() -> None:
    # logit 0 (p = 1/2): the loss is ln 2 whatever the target. Logit ln 4 (p = 0.8), y = 1, ε = 0.2: the
    # target is 0.9: -(0.9 ln 0.8 + 0.1 ln 0.2) = 0.9·0.223143551 + 0.1·1.609437912 = 0.361772987
    x = torch.tensor([math.log(4.0)], dtype=F64)
    expected = -(0.9 * math.log(0.8) + 0.1 * math.log(0.2))
    assert (
        abs(float(LF.binary_cross_entropy(x, torch.ones(1, dtype=F64), label_smoothing=0.2)) - expected)
        < 1e-14
    )
    assert abs(expected - 0.361772987) < 1e-9


# OHEM / top-k cross-entropy (hand-derived) ----------------------------------------------------------------


def _two_class(p1: list[float]) -> torch.Tensor:
    """Logits (1, 2, P) whose class-1 probabilities are p1 (class 0 logit 0, class 1 logit log(p / (1 - p)))."""
    p = torch.tensor(p1, dtype=F64)
    return torch.stack([torch.zeros_like(p), torch.log(p / (1 - p))])[None]


def test_ohem_threshold_and_min_kept() -> None:
    y = torch.ones(1, 4, dtype=torch.long)
    # p = .9, .6, .3, .8 with threshold .7: the sorted p are .3, .6, .8, .9; min_kept = 1 reads p_(2) = .6 < .7,
    # so t = .7 and the pixels at .6 and .3 are kept: (-ln .6 - ln .3) / 2
    x = _two_class([0.9, 0.6, 0.3, 0.8])
    assert (
        abs(
            float(LF.ohem_cross_entropy(x, y, threshold=0.7, min_kept=1))
            - (-math.log(0.6) - math.log(0.3)) / 2
        )
        < 1e-12
    )
    # every pixel easy (.9, .95, .8 > .7): min_kept = 1 reads p_(2) = .9, t = .9, only the pixel at .8 is kept
    x = _two_class([0.9, 0.95, 0.8])
    out = LF.ohem_cross_entropy(x, torch.ones(1, 3, dtype=torch.long), threshold=0.7, min_kept=1)
    assert abs(float(out) + math.log(0.8)) < 1e-12
    none = LF.ohem_cross_entropy(
        x, torch.ones(1, 3, dtype=torch.long), threshold=0.7, min_kept=1, reduction="none"
    )
    close(none, torch.tensor([[0.0, 0.0, -math.log(0.8)]], dtype=F64))
    # ignored pixels leave the ranking; all ignored -> 0 with a working backward
    xg = x.clone().requires_grad_()
    out = LF.ohem_cross_entropy(xg, torch.full((1, 3), -100), min_kept=1)
    out.backward()
    assert float(out) == 0.0 and float(xg.grad.abs().sum()) == 0.0


def test_topk_mean_of_the_largest_losses() -> None:
    # ten pixels with p = .05, .15, ..., .95 for the true class: the top 30 % are the three smallest p
    p1 = [0.05 + 0.1 * i for i in range(10)]
    x = _two_class(p1)
    y = torch.ones(1, 10, dtype=torch.long)
    expected = -(math.log(0.05) + math.log(0.15) + math.log(0.25)) / 3
    assert abs(float(LF.ohem_cross_entropy(x, y, top_k=30.0)) - expected) < 1e-12
    # nnU-Net counts ignored pixels (loss 0) in the pixel total: 10 % of 10 = 1 pixel, the hardest
    y_ign = y.clone()
    y_ign[0, 0] = -100
    assert abs(float(LF.ohem_cross_entropy(x, y_ign, top_k=10.0)) + math.log(0.15)) < 1e-12
    # the gradient reaches only the selected pixels
    xg = x.clone().requires_grad_()
    LF.ohem_cross_entropy(xg, y, top_k=30.0).backward()
    assert bool((xg.grad[..., 3:] == 0).all()) and bool((xg.grad[..., :3] != 0).all())
