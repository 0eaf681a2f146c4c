"""Soft labels and the peer-parity options of the overlap losses (issue 13).

* Soft targets use Wang et al.'s soft-label intersection :math:`(|p|_1 + |g|_1 - |p - g|_1)/2` (Dice
  semimetric losses, MICCAI 2023, arXiv 2303.16296): the loss is 0 at p = g, and for binary targets it is
  the product form :math:`\\sum p g` (tested against the product form written out here).
* Peers: MONAI ``DiceLoss`` / ``TverskyLoss`` / ``GeneralizedDiceLoss`` with ``soft_label=True``,
  ``smooth_nr`` / ``smooth_dr``, ``other_act``, ``jaccard=True, squared_pred=True``; segmentation-models-pytorch
  ``DiceLoss`` / ``JaccardLoss`` / ``TverskyLoss`` (soft form always, ``log_loss``, ``gamma``).
"""

from __future__ import annotations

import monai.losses as ML
import numpy as np
import pytest
import segmentation_models_pytorch.losses as SL
import torch

import losskit
import losskit.functional as LF
from tests.reference import segmentation as R

F64 = torch.float64
RATIO = [LF.dice_loss, LF.jaccard_loss, LF.tversky_loss, LF.focal_tversky_loss, LF.generalized_dice_loss]


def _soft(seed: int, shape: tuple[int, ...] = (2, 3, 4, 5)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(shape, generator=g, dtype=F64) * 1.5, 1)


def _logits(seed: int, shape: tuple[int, ...] = (2, 3, 4, 5)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-9, atol: float = 1e-11) -> None:
    torch.testing.assert_close(a.to(F64).reshape(-1), b.to(F64).reshape(-1), rtol=rtol, atol=atol)


# soft labels ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", RATIO, ids=lambda f: f.__name__)
@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("multilabel", [False, True])
def test_soft_target_loss_is_zero_at_prediction_equal_target(fn, per_image, multilabel) -> None:
    q = (
        _soft(1)
        if not multilabel
        else torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(2), dtype=F64)
    )
    for smooth in (0.0, 1e-5, 1.0):
        out = fn(
            q,
            q,
            input_type="probs",
            multilabel=multilabel,
            per_image=per_image,
            smooth=smooth,
            reduction="none",
        )
        close(out, torch.zeros_like(out), atol=1e-14)


@pytest.mark.parametrize("fn", [LF.dice_loss, LF.jaccard_loss], ids=lambda f: f.__name__)
@pytest.mark.parametrize("per_image", [True, False])
def test_squared_soft_target_loss_is_zero_at_prediction_equal_target(fn, per_image) -> None:
    # Σ p² + Σ g² - Σ (p - g)² = 2 Σ p g, so the squared forms keep the product and are 0 at p = g too
    q = _soft(21)
    for smooth in (0.0, 1e-5, 1.0):
        out = fn(q, q, input_type="probs", squared=True, per_image=per_image, smooth=smooth, reduction="none")
        close(out, torch.zeros_like(out), atol=1e-14)
    assert float(fn(q, q.roll(1, 1), input_type="probs", squared=True, smooth=0.0)) > 0.05


def test_product_form_on_soft_targets_was_not_zero() -> None:
    # the hard-label form 1 - 2 Σ q² / (2 Σ q) is what dice_loss(q, q) used to be: well above 0 for soft q
    q = _soft(3)
    product = 1 - 2 * (q * q).sum((2, 3)) / (2 * q.sum((2, 3)))
    assert float(product.mean()) > 0.3
    close(
        LF.dice_loss(q, q, input_type="probs", smooth=0.0, reduction="none"),
        torch.zeros(2, 3, dtype=F64),
        atol=1e-14,
    )


@pytest.mark.parametrize("fn", [LF.dice_loss, LF.jaccard_loss, LF.tversky_loss], ids=lambda f: f.__name__)
def test_half_target_pixel_scores_best_at_half(fn) -> None:
    # one pixel with target 0.5. Soft Dice score = (p + 0.5 - |p - 0.5|) / (p + 0.5): 2p / (p + 0.5) below 0.5,
    # 1 / (p + 0.5) above, so 1 (loss 0) exactly at p = 0.5; e.g. p = 1 gives loss 1 - 1/1.5 = 1/3, where the
    # product form 1 - 2·0.5p / (p + 0.5) gave 1/3 at p = 1 but 1/2 at p = 0.5 (it preferred p = 1).
    grid = torch.linspace(0.0, 1.0, 101, dtype=F64)
    g = torch.full((1, 1, 1), 0.5, dtype=F64)
    losses = torch.stack([fn(p.view(1, 1, 1), g, input_type="probs", smooth=0.0) for p in grid])
    assert int(losses.argmin()) == 50
    assert float(losses[50]) == 0.0
    if fn is LF.dice_loss:
        assert abs(float(losses[100]) - 1 / 3) < 1e-15
        assert abs(float(losses[30]) - (1 - 0.6 / 0.8)) < 1e-15  # p = 0.3: 1 - 2·0.3 / 0.8


@pytest.mark.parametrize("fn", RATIO, ids=lambda f: f.__name__)
@pytest.mark.parametrize("per_image", [True, False])
def test_binary_targets_soft_form_equals_product_form(fn, per_image) -> None:
    # for g in {0, 1}: |p - g| = p + g - 2pg, so (Σp + Σg - Σ|p - g|) / 2 = Σ p g. Written out here with Σ p g:
    x = _logits(4)
    y = torch.randint(0, 3, (2, 4, 5), generator=torch.Generator().manual_seed(5))
    onehot = torch.nn.functional.one_hot(y, 3).movedim(-1, 1).to(F64)
    p = torch.softmax(x, 1)
    dims = (2, 3) if per_image else (0, 2, 3)
    tp, sp, sg = (p * onehot).sum(dims), p.sum(dims), onehot.sum(dims)
    s, a, b, gm = 0.1, 0.3, 0.7, 0.75
    expected = {
        LF.dice_loss: 1 - (2 * tp + s) / (sp + sg + s),
        LF.jaccard_loss: 1 - (tp + s) / (sp + sg - tp + s),
        LF.tversky_loss: 1 - (tp + s) / (tp + a * (sp - tp) + b * (sg - tp) + s),
        LF.focal_tversky_loss: (1 - (tp + s) / (tp + a * (sp - tp) + b * (sg - tp) + s)) ** gm,
    }
    kw = {"alpha": a, "beta": b} if fn in (LF.tversky_loss, LF.focal_tversky_loss) else {}
    if fn is LF.generalized_dice_loss:
        w = 1 / sg**2
        expected[fn] = 1 - (2 * (w * tp).sum(-1) + s) / ((w * (sp + sg)).sum(-1) + s)
    for target in (onehot, y):  # exactly one-hot (soft form) and class indices (index path)
        close(fn(x, target, smooth=s, per_image=per_image, reduction="none", **kw), expected[fn], rtol=1e-12)


@pytest.mark.parametrize("per_image", [True, False])
def test_monai_soft_label(per_image) -> None:
    x, q = _logits(6), _soft(7)
    batch = not per_image
    for opts, ours in [
        ({}, {}),
        ({"include_background": False}, {"include_background": False}),
        ({"squared_pred": True}, {"squared": True}),
    ]:
        m = ML.DiceLoss(softmax=True, soft_label=True, batch=batch, reduction="none", **opts)(x, q)
        close(
            LF.dice_loss(x, q, per_image=per_image, reduction="none", **ours), m, rtol=1e-6 if ours else 1e-9
        )
    m = ML.DiceLoss(
        softmax=True,
        soft_label=True,
        jaccard=True,
        batch=batch,
        smooth_nr=0.4,
        smooth_dr=0.4,
        reduction="none",
    )(x, q)
    close(LF.jaccard_loss(x, q, per_image=per_image, smooth=0.2, reduction="none"), m)
    for a, b in ((0.3, 0.7), (0.9, 0.1)):
        m = ML.TverskyLoss(softmax=True, soft_label=True, alpha=a, beta=b, batch=batch, reduction="none")(
            x, q
        )
        close(LF.tversky_loss(x, q, alpha=a, beta=b, per_image=per_image, reduction="none"), m)
    # sigmoid with a soft multi-label target
    t = torch.rand(x.shape, generator=torch.Generator().manual_seed(8), dtype=F64)
    m = ML.DiceLoss(sigmoid=True, soft_label=True, batch=batch, reduction="none")(x, t)
    close(LF.dice_loss(x, t, multilabel=True, per_image=per_image, reduction="none"), m)
    # MONAI's default soft_label=False keeps the product form, which differs on soft targets (pinned)
    m_hard = ML.DiceLoss(softmax=True, batch=batch, reduction="none")(x, q)
    assert (
        float(
            (LF.dice_loss(x, q, per_image=per_image, reduction="none") - m_hard.reshape(-1, 3).squeeze())
            .abs()
            .max()
        )
        > 1e-3
    )


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("w_type", ["square", "simple", "uniform"])
def test_monai_generalized_dice_soft_label(per_image, w_type) -> None:
    # MONAI GeneralizedDiceLoss(soft_label=True): denominator 2 TP + FP + FN = Σp + Σg with the soft TP;
    # its class weights come from float32 volumes, hence rtol 1e-6
    x, q = _logits(24), _soft(25)
    for nr, dr in ((1e-5, 1e-5), (0.2, 0.7)):
        m = ML.GeneralizedDiceLoss(
            softmax=True,
            soft_label=True,
            w_type=w_type,
            batch=not per_image,
            smooth_nr=nr,
            smooth_dr=dr,
            reduction="none",
        )(x, q)
        close(
            LF.generalized_dice_loss(
                x, q, weighting=w_type, per_image=per_image, smooth_nr=nr, smooth_dr=dr, reduction="none"
            ),
            m,
            rtol=1e-6,
        )
    m = ML.GeneralizedDiceLoss(
        softmax=True, soft_label=True, include_background=False, batch=not per_image, reduction="none"
    )(x, q)
    close(
        LF.generalized_dice_loss(x, q, include_background=False, per_image=per_image, reduction="none"),
        m,
        rtol=1e-6,
    )
    # the soft form is 0 at p = q on MONAI's side too (its default soft_label=False is not)
    assert float(ML.GeneralizedDiceLoss(soft_label=True, smooth_nr=0.0, smooth_dr=0.0)(q, q)) < 1e-6
    assert float(ML.GeneralizedDiceLoss(smooth_nr=0.0, smooth_dr=0.0)(q, q)) > 0.1


def test_smp_soft_targets() -> None:
    # smp >= 0.4 computes the soft-label form always (its soft_tversky_score); multilabel mode takes float masks
    x = _logits(9)
    t = torch.rand(x.shape, generator=torch.Generator().manual_seed(10), dtype=F64)
    close(LF.dice_loss(x, t, multilabel=True, per_image=False, smooth=0.0), SL.DiceLoss("multilabel")(x, t))
    close(
        LF.jaccard_loss(x, t, multilabel=True, per_image=False, smooth=0.2),
        SL.JaccardLoss("multilabel", smooth=0.2)(x, t),
    )
    close(
        LF.tversky_loss(x, t, multilabel=True, per_image=False, smooth=0.1, alpha=0.3, beta=0.7),
        SL.TverskyLoss("multilabel", smooth=0.1, alpha=0.3, beta=0.7)(x, t),
    )


# options from the peers ---------------------------------------------------------------------------------------


def _labelled(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = _logits(seed, (3, 4, 6, 5))
    y = torch.randint(0, 4, (3, 6, 5), generator=torch.Generator().manual_seed(seed + 1))
    y.view(3, -1)[:, :4] = torch.arange(4)  # every class in every image (smp zeroes absent classes)
    return x, y


@pytest.mark.parametrize("per_image", [True, False])
def test_monai_smooth_nr_dr(per_image) -> None:
    x, y = _labelled(11)
    batch = not per_image
    nr, dr = 0.3, 1.7
    m = ML.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=nr, smooth_dr=dr, batch=batch, reduction="none")
    close(
        LF.dice_loss(x, y, smooth_nr=nr, smooth_dr=dr, per_image=per_image, reduction="none"),
        m(x, y[:, None]),
    )
    m = ML.TverskyLoss(
        softmax=True,
        to_onehot_y=True,
        alpha=0.3,
        beta=0.7,
        smooth_nr=nr,
        smooth_dr=dr,
        batch=batch,
        reduction="none",
    )
    close(
        LF.tversky_loss(
            x, y, alpha=0.3, beta=0.7, smooth_nr=nr, smooth_dr=dr, per_image=per_image, reduction="none"
        ),
        m(x, y[:, None]),
    )
    m = ML.GeneralizedDiceLoss(
        softmax=True, to_onehot_y=True, smooth_nr=nr, smooth_dr=dr, batch=batch, reduction="none"
    )
    close(
        LF.generalized_dice_loss(x, y, smooth_nr=nr, smooth_dr=dr, per_image=per_image, reduction="none"),
        m(x, y[:, None]),
        rtol=1e-6,
    )  # MONAI's class weights are float32
    # MONAI's Jaccard smooths 2·TP and 2·union: its (nr, dr) are losskit's (nr / 2, dr / 2)
    m = ML.DiceLoss(
        softmax=True,
        to_onehot_y=True,
        jaccard=True,
        smooth_nr=nr,
        smooth_dr=dr,
        batch=batch,
        reduction="none",
    )
    close(
        LF.jaccard_loss(x, y, smooth_nr=nr / 2, smooth_dr=dr / 2, per_image=per_image, reduction="none"),
        m(x, y[:, None]),
    )
    # squared Jaccard: MONAI jaccard=True with squared_pred=True (float32 norms of the target on its side)
    m = ML.DiceLoss(
        softmax=True,
        to_onehot_y=True,
        jaccard=True,
        squared_pred=True,
        smooth_nr=nr,
        smooth_dr=dr,
        batch=batch,
        reduction="none",
    )
    close(
        LF.jaccard_loss(
            x, y, squared=True, smooth_nr=nr / 2, smooth_dr=dr / 2, per_image=per_image, reduction="none"
        ),
        m(x, y[:, None]),
        rtol=1e-6,
    )


def test_smooth_nr_dr_default_to_smooth_and_hand_value() -> None:
    p = torch.tensor([[[0.9, 0.8, 0.2, 0.1]]], dtype=F64)
    g = torch.tensor([[1, 1, 0, 0]])
    # TP = 1.7, Σp = Σg = 2: 1 - (3.4 + 0.5) / (4 + 2) = 0.35
    assert abs(float(LF.dice_loss(p, g, input_type="probs", smooth_nr=0.5, smooth_dr=2.0)) - 0.35) < 1e-15
    # smooth_nr given, smooth_dr falls back to smooth = 0: 1 - (3.4 + 0.6) / 4 = 0 (the score is 1)
    assert abs(float(LF.dice_loss(p, g, input_type="probs", smooth=0.0, smooth_nr=0.6))) < 1e-15
    close(
        LF.dice_loss(p, g, input_type="probs", smooth=0.3),
        LF.dice_loss(p, g, input_type="probs", smooth_nr=0.3, smooth_dr=0.3),
    )


def test_smp_log_loss_and_tversky_gamma() -> None:
    x, y = _labelled(12)
    close(
        LF.dice_loss(x, y, per_image=False, smooth=0.0, log_loss=True),
        SL.DiceLoss("multiclass", log_loss=True)(x, y),
    )
    close(
        LF.jaccard_loss(x, y, per_image=False, smooth=0.3, log_loss=True),
        SL.JaccardLoss("multiclass", smooth=0.3, log_loss=True)(x, y),
    )
    close(
        LF.tversky_loss(x, y, per_image=False, smooth=0.0, log_loss=True, alpha=0.3, beta=0.7),
        SL.TverskyLoss("multiclass", log_loss=True, alpha=0.3, beta=0.7)(x, y),
    )
    # smp's TverskyLoss(gamma=γ) raises the class-averaged loss to γ: losskit's tversky_loss(...) ** γ
    for gamma in (0.75, 2.0):
        close(
            LF.tversky_loss(x, y, per_image=False, smooth=0.0, alpha=0.3, beta=0.7) ** gamma,
            SL.TverskyLoss("multiclass", alpha=0.3, beta=0.7, gamma=gamma)(x, y),
        )
    # hand value: TP = 1.7, Σp = Σg = 2 -> -log(3.4 / 4) = 0.162518929497775
    p = torch.tensor([[[0.9, 0.8, 0.2, 0.1]]], dtype=F64)
    assert (
        abs(
            float(
                LF.dice_loss(p, torch.tensor([[1, 1, 0, 0]]), input_type="probs", smooth=0.0, log_loss=True)
            )
            - 0.162518929497775
        )
        < 1e-14
    )


def test_monai_other_act() -> None:
    x, y = _labelled(13)

    def act(z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z / 3.0, dim=1)  # a tempered softmax

    for per_image in (True, False):
        m = ML.DiceLoss(other_act=act, to_onehot_y=True, batch=not per_image, reduction="none")(x, y[:, None])
        close(LF.dice_loss(x, y, activation=act, per_image=per_image, reduction="none"), m)
        m = ML.TverskyLoss(
            other_act=act, to_onehot_y=True, alpha=0.3, beta=0.7, batch=not per_image, reduction="none"
        )(x, y[:, None])
        close(
            LF.tversky_loss(x, y, activation=act, alpha=0.3, beta=0.7, per_image=per_image, reduction="none"),
            m,
        )
    # activation=torch.sigmoid on a multi-class input is multilabel=True
    close(LF.dice_loss(x, y, activation=torch.sigmoid), LF.dice_loss(x, y, multilabel=True))
    # gradients flow through the custom activation (index targets skip the fused softmax backward)
    xg = x.clone().requires_grad_()
    LF.jaccard_loss(xg, y, activation=act).backward()
    xr = x.clone().requires_grad_()
    LF.jaccard_loss(xr / 3.0, y).backward()
    close(xg.grad, xr.grad)


def _tempered_softmax_np(z, t: float = 3.0):
    e = np.exp((z - z.max(axis=1, keepdims=True)) / t)
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("fn", RATIO, ids=lambda f: f.__name__)
@pytest.mark.parametrize("per_image", [True, False])
def test_activation_matches_float64_reference(fn, per_image) -> None:
    # activation=f means p = f(x): the float64 reference on the activated probabilities (computed in NumPy)
    x, y = _labelled(22)
    q = _soft(23, tuple(x.shape))
    kw = {"alpha": 0.3, "beta": 0.7} if fn in (LF.tversky_loss, LF.focal_tversky_loss) else {}
    ref = getattr(R, fn.__name__)
    p_np = _tempered_softmax_np(x.numpy())
    for target in (y, q):
        ours = fn(
            x,
            target,
            activation=lambda z: torch.softmax(z / 3.0, dim=1),
            per_image=per_image,
            reduction="none",
            **kw,
        )
        theirs = ref(p_np, target.numpy(), input_type="probs", per_image=per_image, reduction="none", **kw)
        close(ours, torch.as_tensor(np.asarray(theirs), dtype=F64), rtol=1e-10)
    # a sigmoid activation on the index target: each class probability independent
    ours = fn(x, y, activation=torch.sigmoid, per_image=per_image, reduction="none", **kw)
    theirs = ref(
        1 / (1 + np.exp(-x.numpy())),
        y.numpy(),
        input_type="probs",
        per_image=per_image,
        reduction="none",
        **kw,
    )
    close(ours, torch.as_tensor(np.asarray(theirs), dtype=F64), rtol=1e-10)


@pytest.mark.parametrize("fn", RATIO, ids=lambda f: f.__name__)
def test_bad_activation_and_probabilities_rejected(fn) -> None:
    x, y = _labelled(14)
    name = fn.__name__
    with pytest.raises(
        ValueError, match=rf"{name}: input must hold probabilities in \[0, 1\], got values in"
    ):
        fn(x, y, input_type="probs")  # logits passed as probabilities
    with pytest.raises(ValueError, match=rf"{name}: activation\(input\) must hold probabilities in \[0, 1\]"):
        fn(x, y, activation=torch.tanh)
    with pytest.raises(ValueError, match=rf"{name}: activation applies to logits, got input_type='probs'"):
        fn(torch.softmax(x, 1), y, input_type="probs", activation=torch.sigmoid)
    with pytest.raises(TypeError, match=rf"{name}: activation must be a callable"):
        fn(x, y, activation="sigmoid")
    with pytest.raises(ValueError, match=rf"{name}: smooth_nr must be"):
        fn(x, y, smooth_nr=-1.0)
    with pytest.raises(ValueError, match=rf"{name}: activation must return a tensor of the input's shape"):
        fn(x, y, activation=lambda z: torch.softmax(z, 1)[:, :2])


def test_modules_take_the_new_options() -> None:
    x, y = _labelled(15)
    close(
        losskit.DiceLoss(log_loss=True, smooth_nr=0.1, smooth_dr=0.2)(x, y),
        LF.dice_loss(x, y, log_loss=True, smooth_nr=0.1, smooth_dr=0.2),
    )
    close(
        losskit.JaccardLoss(squared=True, activation=torch.sigmoid)(x, y),
        LF.jaccard_loss(x, y, squared=True, multilabel=True),
    )
    with pytest.raises(ValueError, match="dice_loss: smooth_dr must be"):
        losskit.DiceLoss(smooth_dr=-0.5)
    with pytest.raises(TypeError, match="tversky_loss: log_loss must be a bool"):
        losskit.TverskyLoss(log_loss=1)


# MCC --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_smp_mcc(eps) -> None:
    # smp's MCCLoss: binary, probabilities, counts pooled over the batch, eps added to each of TP, TN, FP, FN
    g = torch.Generator().manual_seed(16)
    x = torch.randn(3, 1, 6, 5, generator=g, dtype=F64)
    p = torch.sigmoid(x)
    y = (torch.rand(3, 1, 6, 5, generator=g) > 0.6).to(F64)
    close(LF.mcc_loss(p, y, input_type="probs", per_image=False, eps=eps), SL.MCCLoss(eps=eps)(p, y))
    close(losskit.MCCLoss(per_image=False, eps=eps)(x, y), SL.MCCLoss(eps=eps)(p, y))  # logits: sigmoid here
    # soft targets: smp keeps the product counts (TP = Σ p y, TN = Σ (1-p)(1-y)); losskit's soft TP = Σ min(p, y)
    # differs there (pinned) and, unlike the product form, makes the loss 0 at p = y
    ys = torch.rand(3, 1, 6, 5, generator=g, dtype=F64)
    ours = LF.mcc_loss(p, ys, input_type="probs", per_image=False, eps=eps)
    assert abs(float(ours - SL.MCCLoss(eps=eps)(p, ys))) > 1e-3
    assert float(SL.MCCLoss(eps=1e-12)(ys, ys)) > 0.1
    yl = (torch.rand(3, 6, 5, generator=g) > 0.5).long()
    close(LF.mcc_loss(x, yl, per_image=False, eps=eps), SL.MCCLoss(eps=eps)(p, yl[:, None].to(F64)))


def test_mcc_hand_values() -> None:
    # a perfect hard prediction: TP·TN / sqrt(TP·TP·TN·TN) = 1 -> loss 0; the inverted one: -1 -> loss 2
    g = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]], dtype=F64)
    assert abs(float(LF.mcc_loss(g, g, input_type="probs", eps=1e-15))) < 1e-12
    assert abs(float(LF.mcc_loss(1 - g, g, input_type="probs", eps=1e-15)) - 2.0) < 1e-12
    # a soft target: TP = Σ min(p, g) = Σ g at p = g, FP = FN = 0, so MCC = TP·TN / (TP·TN) = 1 (loss 0), and
    # moving the prediction off the target in either direction costs more
    q = torch.tensor([[[0.9, 0.7, 0.2, 0.1]]], dtype=F64)
    best = LF.mcc_loss(q, q, input_type="probs", eps=1e-15)
    assert abs(float(best)) < 1e-12
    for shift in (-0.05, 0.05):
        assert float(LF.mcc_loss((q + shift).clamp(0, 1), q, input_type="probs", eps=1e-15)) > 1e-3
