"""Hand-derived values for the segmentation family (SPEC §4): the SPEC worked examples and values whose
derivation is written next to them. Expected numbers come from SPEC or from the arithmetic shown, never
from running losskit."""

from __future__ import annotations

import pytest
import torch

import losskit
import losskit.functional as LF

F64 = torch.float64


def probs(*rows: list[float]) -> torch.Tensor:
    """Probability input (N=1, C=len(rows), W)."""
    return torch.tensor([rows], dtype=F64)


def close(x: torch.Tensor, expected: float, tol: float = 1e-9) -> None:
    assert x.dtype == F64
    assert abs(float(x) - expected) <= tol, f"{float(x)!r} != {expected!r}"


# SPEC §4 worked examples ---------------------------------------------------------------------------------
P4 = probs([0.9, 0.8, 0.2, 0.1])
G4 = torch.tensor([[1, 1, 0, 0]])
P5 = probs([0.9, 0.5, 0.3, 0.2, 0.1])
G5 = torch.tensor([[1, 1, 1, 0, 0]])


def test_spec_dice() -> None:
    # 1 - 2*1.7 / (2 + 2) = 0.15 ; squared: 1 - 3.4 / (0.81 + 0.64 + 0.04 + 0.01 + 2) = 1 - 3.4/3.5
    close(LF.dice_loss(P4, G4, input_type="probs", smooth=0.0), 0.15)
    close(LF.dice_loss(P4, G4, input_type="probs", smooth=0.0, squared=True), 0.0285714286, 1e-10)
    close(LF.dice_loss(P4, G4, input_type="probs", smooth=0.0, squared=True), 1 - 3.4 / 3.5)


def test_spec_tversky_and_focal_tversky() -> None:
    # TP = .9+.5+.3 = 1.7, FP = .2+.1 = .3, FN = .1+.5+.7 = 1.3 ; T = 1.7 / (1.7 + .3*.3 + .7*1.3) = 1.7/2.7
    close(LF.tversky_loss(P5, G5, alpha=0.3, beta=0.7, input_type="probs", smooth=0.0), 0.370370370, 1e-9)
    close(LF.tversky_loss(P5, G5, alpha=0.3, beta=0.7, input_type="probs", smooth=0.0), 1 - 1.7 / 2.7, 1e-15)
    close(
        LF.focal_tversky_loss(P5, G5, alpha=0.3, beta=0.7, input_type="probs", smooth=0.0), 0.474763340, 1e-9
    )
    close(
        LF.focal_tversky_loss(P5, G5, alpha=0.3, beta=0.7, gamma=0.75, input_type="probs", smooth=0.0),
        (1 - 1.7 / 2.7) ** 0.75,
        1e-15,
    )


def test_spec_jaccard() -> None:
    # 1 - 1.7 / (2 + 2 - 1.7) = 1 - 1.7/2.3
    close(LF.jaccard_loss(P4, G4, input_type="probs", smooth=0.0), 0.260869565, 1e-9)


def test_spec_lovasz_hinge() -> None:
    # errors 1 - z*(2g-1) = [-1, 0, 1.5, 1.5]; sorted [1.5, 1.5, 0, -1] with labels [0, 1, 0, 1] (or [1, 0, ...]);
    # Jaccard increments of the first two sum to 2/3 either way: 1.5 * 2/3 = 1.0
    z = torch.tensor([[[2.0, -1.0, 0.5, -0.5]]], dtype=F64)
    close(LF.lovasz_loss(z, torch.tensor([[1, 0, 0, 1]])), 1.0, 1e-12)
    # the same from probabilities sigmoid(z): converted back to logits first
    close(LF.lovasz_loss(torch.sigmoid(z), torch.tensor([[1, 0, 0, 1]]), input_type="probs"), 1.0, 1e-9)


# hand-derived values -------------------------------------------------------------------------------------


def test_generalized_dice_two_classes() -> None:
    # class 1 probs [.9,.8,.2,.1] occupies pixel 0 (V=1, w=1): TP=.9, Σ(g+p)=1+2=3
    # class 0 probs [.1,.2,.8,.9] occupies pixels 1..3 (V=3, w=1/9): TP=.2+.8+.9=1.9, Σ(g+p)=3+2=5
    # GDL = 1 - 2(.9 + 1.9/9) / (3 + 5/9) = 1 - (20/9)/(32/9) = 0.375 ; uniform weights: 1 - 2*2.8/8 = 0.3
    # "simple" weights 1/V: 1 - 2(.9 + 1.9/3)/(3 + 5/3) = 1 - (9.2/3)/(14/3) = 1 - 9.2/14
    p = probs([0.1, 0.2, 0.8, 0.9], [0.9, 0.8, 0.2, 0.1])
    g = torch.tensor([[1, 0, 0, 0]])
    close(LF.generalized_dice_loss(p, g, input_type="probs", smooth=0.0), 0.375, 1e-12)
    close(LF.generalized_dice_loss(p, g, input_type="probs", smooth=0.0, weighting="uniform"), 0.3, 1e-12)
    close(
        LF.generalized_dice_loss(p, g, input_type="probs", smooth=0.0, weighting="simple"),
        1 - 9.2 / 14,
        1e-12,
    )


def test_generalized_dice_absent_class_takes_max_weight() -> None:
    # 3 classes, 2 pixels labelled [0, 1]; class 2 absent. p0=[.6,.2], p1=[.3,.7], p2=[.1,.1]
    # volumes [1, 1, 0] -> weights [1, 1, max finite = 1]; TP = [.6, .7, 0]; Σp = [.8, 1.0, .2]; Σg = [1, 1, 0]
    # GDL = 1 - 2(.6 + .7) / (1.8 + 2.0 + 0.2) = 1 - 2.6/4 = 0.35  (weight 0 for the absent class would give
    # 1 - 2.6/3.8 = 0.3158: the absent class's false positives would be free)
    p = probs([0.6, 0.2], [0.3, 0.7], [0.1, 0.1])
    close(LF.generalized_dice_loss(p, torch.tensor([[0, 1]]), input_type="probs", smooth=0.0), 0.35, 1e-12)
    # every class absent (all pixels ignored): all weights 0, loss 0
    y = torch.tensor([[255, 255]])
    close(LF.generalized_dice_loss(p, y, input_type="probs", ignore_index=255), 0.0, 0.0)


def test_lovasz_softmax_two_classes() -> None:
    # p1 = [.8, .4, .3], p0 = 1 - p1, labels [1, 0, 1].
    # class 1: errors |fg-p| = [.2, .4, .7] -> sorted [.7 (fg), .4 (bg), .2 (fg)], |G| = 2,
    #   J = 1 - [1, 1, 0]/[2, 3, 3] = [1/2, 2/3, 1], increments [1/2, 1/6, 1/3] -> .35 + .4/6 + .2/3 = 29/60
    # class 0: errors [.2, .4, .7] -> sorted [.7 (bg), .4 (fg), .2 (bg)], |G| = 1,
    #   J = 1 - [1, 0, 0]/[2, 2, 3] = [1/2, 1, 1], increments [1/2, 1/2, 0] -> .35 + .2 = 33/60
    p = probs([0.2, 0.6, 0.7], [0.8, 0.4, 0.3])
    y = torch.tensor([[1, 0, 1]])
    none = LF.lovasz_loss(p, y, input_type="probs", reduction="none")
    torch.testing.assert_close(none, torch.tensor([[33 / 60, 29 / 60]], dtype=F64), rtol=0, atol=1e-12)
    close(LF.lovasz_loss(p, y, input_type="probs"), 31 / 60, 1e-12)


def test_lovasz_softmax_absent_class_costs_its_largest_probability() -> None:
    # labels all 0, p1 = [.3, .9]: class 1 is absent, |G| = 0 so J = 1 from the first pixel: loss = max p1 = .9
    # class 0: errors [.3, .9] sorted [.9, .3] both fg, J = 1 - [1, 0]/[2, 2] = [1/2, 1] -> .45 + .15 = .6
    p = probs([0.7, 0.1], [0.3, 0.9])
    none = LF.lovasz_loss(p, torch.tensor([[0, 0]]), input_type="probs", reduction="none")
    torch.testing.assert_close(none, torch.tensor([[0.6, 0.9]], dtype=F64), rtol=0, atol=1e-12)


def test_per_image_versus_batch_dice() -> None:
    # image 1 perfect: p = g = [1, 1, 1, 1] -> 0. image 2: p = [.5, .5, 0, 0], g = [0, 1, 0, 0]:
    # TP = .5, Σp = 1, Σg = 1 -> 1 - 1/2 = .5. per_image mean = .25;
    # batch: TP = 4.5, Σp = 5, Σg = 5 -> 1 - 9/10 = .1
    p = torch.tensor([[[1.0, 1.0, 1.0, 1.0]], [[0.5, 0.5, 0.0, 0.0]]], dtype=F64)
    g = torch.tensor([[1, 1, 1, 1], [0, 1, 0, 0]])
    close(LF.dice_loss(p, g, input_type="probs", smooth=0.0), 0.25, 1e-15)
    close(LF.dice_loss(p, g, input_type="probs", smooth=0.0, per_image=False), 0.1, 1e-15)
    assert LF.dice_loss(p, g, input_type="probs", reduction="none").shape == (2, 1)
    assert LF.dice_loss(p, g, input_type="probs", reduction="none", per_image=False).shape == (1,)


def test_tversky_alpha_weights_false_positives() -> None:
    # p = [1, 1], g = [1, 0]: TP = 1, FP = 1, FN = 0 -> T = 1/(1 + α): α is the FP weight, β does not matter
    p, g = probs([1.0, 1.0]), torch.tensor([[1, 0]])
    close(LF.tversky_loss(p, g, alpha=0.3, beta=0.9, input_type="probs", smooth=0.0), 1 - 1 / 1.3, 1e-15)
    close(LF.tversky_loss(p, g, alpha=0.3, beta=0.1, input_type="probs", smooth=0.0), 1 - 1 / 1.3, 1e-15)
    # only false negatives: p = [1, 0], g = [1, 1]: T = 1/(1 + β)
    close(
        LF.tversky_loss(
            probs([1.0, 0.0]), torch.tensor([[1, 1]]), alpha=0.9, beta=0.7, input_type="probs", smooth=0.0
        ),
        1 - 1 / 1.7,
        1e-15,
    )


def test_smoothing_and_empty_masks() -> None:
    # SPEC decision: empty target & empty prediction -> (0 + s)/(0 + 0 + s) = 1 -> loss 0;
    # empty target & prediction mass P -> 1 - s/(P + s) = P/(P + s), near 1.
    s = 1e-5
    empty = torch.tensor([[0, 0, 0, 0]])
    none_pred = probs([0.0, 0.0, 0.0, 0.0])
    some_pred = probs([0.5, 0.0, 0.0, 0.0])
    for f in (LF.dice_loss, LF.jaccard_loss, LF.tversky_loss, LF.focal_tversky_loss):
        close(f(none_pred, empty, input_type="probs", smooth=s), 0.0, 0.0)
        close(f(none_pred, empty, input_type="probs", smooth=0.0), 0.0, 0.0)  # 0/0 counts as perfect
    close(LF.dice_loss(some_pred, empty, input_type="probs", smooth=s), 0.5 / (0.5 + s), 1e-15)
    close(LF.jaccard_loss(some_pred, empty, input_type="probs", smooth=s), 0.5 / (0.5 + s), 1e-15)
    # tversky: 1 - s/(α·0.5 + s) with α = 0.5
    close(LF.tversky_loss(some_pred, empty, input_type="probs", smooth=s), 1 - s / (0.25 + s), 1e-15)
    close(LF.dice_loss(some_pred, empty, input_type="probs", smooth=0.0), 1.0, 0.0)


def test_smooth_conventions_relate_the_ratio_losses() -> None:
    # Tversky with α = β = 1 is the Jaccard loss (same smoothing); with α = β = 1/2 it is the Dice loss with
    # twice the smoothing: (TP + s)/(TP + FP/2 + FN/2 + s) = (2TP + 2s)/(Σp + Σg + 2s)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=F64)
    y = torch.randint(0, 3, (2, 4, 4), generator=g)
    for per_image in (True, False):
        kw = {"per_image": per_image, "reduction": "none"}
        torch.testing.assert_close(
            LF.tversky_loss(x, y, alpha=1.0, beta=1.0, smooth=0.3, **kw),
            LF.jaccard_loss(x, y, smooth=0.3, **kw),
        )
        torch.testing.assert_close(
            LF.tversky_loss(x, y, smooth=0.3, **kw), LF.dice_loss(x, y, smooth=0.6, **kw)
        )
        torch.testing.assert_close(LF.focal_tversky_loss(x, y, gamma=1.0, **kw), LF.tversky_loss(x, y, **kw))
    # generalized Dice of a single class is that class's Dice (the weight cancels when s = 0)
    torch.testing.assert_close(
        LF.generalized_dice_loss(x[:, :1], (y > 0).long(), smooth=0.0, reduction="none"),
        LF.dice_loss(x[:, :1], (y > 0).long(), smooth=0.0, reduction="none")[:, 0],
    )


def test_ignored_pixels_are_removed() -> None:
    # ignoring the last two columns equals cropping them away; mask= does the same for dense targets
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 4, 6, generator=g, dtype=F64)
    y = torch.randint(0, 3, (2, 4, 6), generator=g)
    y_ign = y.clone()
    y_ign[..., 4:] = 255
    keep = torch.ones(2, 4, 6, dtype=torch.bool)
    keep[..., 4:] = False
    onehot = torch.nn.functional.one_hot(y, 3).movedim(-1, 1).to(F64)
    for f in (LF.dice_loss, LF.tversky_loss, LF.generalized_dice_loss, LF.lovasz_loss):
        for per_image in (True, False):
            crop = f(x[..., :4], y[..., :4], per_image=per_image, reduction="none")
            torch.testing.assert_close(
                f(x, y_ign, ignore_index=255, per_image=per_image, reduction="none"), crop
            )
            torch.testing.assert_close(f(x, onehot, mask=keep, per_image=per_image, reduction="none"), crop)


def test_include_background_and_class_weight() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 4, 5, 5, generator=g, dtype=F64)
    y = torch.randint(0, 4, (3, 5, 5), generator=g)
    w = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=F64)
    for f in (LF.dice_loss, LF.jaccard_loss, LF.tversky_loss, LF.focal_tversky_loss, LF.lovasz_loss):
        full = f(x, y, reduction="none")
        torch.testing.assert_close(f(x, y, include_background=False, reduction="none"), full[:, 1:])
        # "none" carries the weight; "mean" = Σ w ℓ / (N Σ w); the background weight is dropped with it
        torch.testing.assert_close(f(x, y, weight=w, reduction="none"), full * w)
        torch.testing.assert_close(f(x, y, weight=w), (full * w).sum() / (3 * w.sum()))
        torch.testing.assert_close(f(x, y, weight=w, include_background=False), (full * w).sum() / (3 * 6.0))


def test_index_and_one_hot_targets_agree() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 3, 4, 2, generator=g, dtype=F64)  # a 3-D volume
    y = torch.randint(0, 3, (2, 3, 4, 2), generator=g)
    onehot = torch.nn.functional.one_hot(y, 3).movedim(-1, 1)
    for f in (
        LF.dice_loss,
        LF.jaccard_loss,
        LF.tversky_loss,
        LF.focal_tversky_loss,
        LF.generalized_dice_loss,
        LF.lovasz_loss,
    ):
        for multilabel in (False, True):
            for per_image in (True, False):
                kw = {"multilabel": multilabel, "per_image": per_image, "reduction": "none"}
                ref = f(x, y, **kw)
                torch.testing.assert_close(f(x, onehot.to(F64), **kw), ref)
                torch.testing.assert_close(f(x, onehot.bool(), **kw), ref)


def test_saturated_logits() -> None:
    # logits ±1e4 give exact 0/1 probabilities: a right answer costs 0 (up to the smoothing), a wrong one 1
    y = torch.tensor([[[0, 1, 2, 2], [1, 1, 0, 2]]])
    onehot = torch.nn.functional.one_hot(y, 3).movedim(-1, 1).to(F64)
    right = (onehot * 2 - 1) * 1e4
    wrong = right.roll(1, dims=1)
    for f in (
        LF.dice_loss,
        LF.jaccard_loss,
        LF.tversky_loss,
        LF.focal_tversky_loss,
        LF.generalized_dice_loss,
        LF.lovasz_loss,
    ):
        close(f(right, y), 0.0, 1e-12)
        assert float(f(wrong, y)) > 0.999


def test_gradients_at_the_edges_are_finite() -> None:
    # perfect and empty-and-empty scores put focal Tversky at d = 0, where d^γ (γ < 1) has an infinite slope
    y = torch.tensor([[[0, 1, 2, 2]]])
    onehot = torch.nn.functional.one_hot(y, 3).movedim(-1, 1).to(F64)
    x = ((onehot * 2 - 1) * 1e4).requires_grad_(True)
    for gamma in (0.25, 0.75, 2.0):
        LF.focal_tversky_loss(x, y, gamma=gamma, smooth=0.0).backward()
        assert torch.isfinite(x.grad).all()
        x.grad = None
    # all pixels ignored: loss 0 with a zero gradient
    for f in (LF.dice_loss, LF.generalized_dice_loss, LF.lovasz_loss, LF.focal_tversky_loss):
        out = f(x, torch.full_like(y, 255), ignore_index=255)
        out.backward()
        assert float(out.detach()) == 0.0 and torch.equal(x.grad, torch.zeros_like(x))
        x.grad = None


def test_options_validated_when_the_module_is_built() -> None:
    with pytest.raises(ValueError, match=r"^dice_loss: smooth must be in \[0, inf\)"):
        losskit.DiceLoss(smooth=-1.0)
    with pytest.raises(ValueError, match=r"^tversky_loss: alpha must be in \[0, inf\)"):
        losskit.TverskyLoss(alpha=-0.1)
    with pytest.raises(ValueError, match=r"^focal_tversky_loss: gamma must be in \(0, inf\)"):
        losskit.FocalTverskyLoss(gamma=0.0)
    with pytest.raises(ValueError, match=r"^generalized_dice_loss: weighting must be one of"):
        losskit.GeneralizedDiceLoss(weighting="cube")
    with pytest.raises(TypeError, match=r"^lovasz_loss: per_image must be a bool"):
        losskit.LovaszLoss(per_image=1)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['smooth'\]"):
        losskit.LovaszLoss(smooth=1.0)


def test_registry_names() -> None:
    assert type(losskit.get("dice")) is losskit.DiceLoss
    assert type(losskit.get("gdl")) is losskit.GeneralizedDiceLoss
    assert type(losskit.get("focal_tversky", gamma=1.0)) is losskit.FocalTverskyLoss
    assert type(losskit.get("TverskyLoss", alpha=0.3, beta=0.7)) is losskit.TverskyLoss
    assert type(losskit.get("soft-jaccard")) is losskit.JaccardLoss
    assert type(losskit.get("lovasz_softmax")) is losskit.LovaszLoss
    for name in ("dice", "generalized_dice", "tversky", "focal_tversky", "jaccard", "lovasz"):
        assert name in losskit.available()


@pytest.mark.parametrize(
    "f",
    [LF.dice_loss, LF.focal_tversky_loss, LF.generalized_dice_loss, LF.lovasz_loss],
    ids=lambda f: f.__name__,
)
def test_traces_whole_with_every_option(f) -> None:
    # fullgraph=True raises on any graph break; the eager backend keeps this to tracing only. Jaccard and
    # Tversky share dice_loss's body; the battery compiles each loss's first sample with aot_eager.
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=F64)
    y = torch.randint(0, 3, (2, 4, 4), generator=g)
    y[0, 0] = 255
    w = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="eager")
    for kw in (
        {"ignore_index": 255, "per_image": False, "include_background": False, "weight": w},
        {"ignore_index": 255, "multilabel": True},
    ):
        torch.testing.assert_close(compiled(x, y, **kw), f(x, y, **kw))


@pytest.mark.parametrize("spatial", [(3, 4), (100, 110)], ids=["small", "above-2**15"])
def test_fused_backward_matches_autograd_of_the_plain_formula(spatial) -> None:
    # logits + class indices take a custom autograd.Function (closed-form gradient, recomputed softmax);
    # probabilities take plain autograd. Feeding softmax(x) / sigmoid(x) as probabilities must give the same
    # values and gradients, for every option that changes the backward. (100, 110) crosses the size where
    # torch's own softmax kernels take over.
    g = torch.Generator().manual_seed(5)
    x0 = torch.randn(2, 3, *spatial, generator=g, dtype=F64)
    y = torch.randint(0, 3, (2, *spatial), generator=g)
    y[0, :2] = 255
    w = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    for f, own in (
        (LF.dice_loss, {"squared": True}),
        (LF.dice_loss, {}),
        (LF.tversky_loss, {"alpha": 0.2}),
        (LF.generalized_dice_loss, {}),
    ):
        for multilabel in (False, True):
            for per_image in (True, False):
                kw = {
                    **own,
                    "multilabel": multilabel,
                    "per_image": per_image,
                    "ignore_index": 255,
                    "include_background": False,
                    "weight": w,
                }
                x = x0.clone().requires_grad_(True)
                fused = f(x, y, **kw)
                (g_fused,) = torch.autograd.grad(fused, x)
                p = torch.sigmoid(x) if multilabel else torch.softmax(x, 1)
                plain = f(p, y, input_type="probs", **kw)
                (g_plain,) = torch.autograd.grad(plain, x)
                torch.testing.assert_close(fused, plain, rtol=1e-12, atol=1e-14)
                torch.testing.assert_close(g_fused, g_plain, rtol=1e-9, atol=1e-14)
