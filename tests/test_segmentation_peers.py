"""Conformance of the segmentation family with MONAI, segmentation-models-pytorch (smp) and kornia.

Every comparison states the options that make the two sides compute the same quantity:

* aggregation: MONAI's default (``batch=False``) is losskit's ``per_image=True``; MONAI ``batch=True`` and smp
  (which sums over dims (0, 2)) are ``per_image=False``; kornia scores each image (``per_image=True``).
* smoothing: MONAI ``smooth_nr = smooth_dr = s`` is losskit ``smooth=s`` for Dice and Tversky, and
  ``smooth=s/2`` for ``DiceLoss(jaccard=True)``; smp's ``smooth=s`` is losskit ``smooth=2s`` for Dice (smp
  smooths TP, not 2TP) and ``smooth=s`` for Jaccard and Tversky; kornia's ``eps`` (denominator only) is
  losskit ``smooth=0`` when set to 0.
* class weights: MONAI multiplies each (sample, class) loss and its "mean" divides by N·C (not by the
  weights): compare ``"none"``. smp and kornia's ``"macro"`` divide by the summed weights, like losskit.
* absent classes: smp zeroes them and kornia ``macro`` / ``tversky`` leave them out of the mean, where
  losskit (SPEC §4) scores them; the inputs here contain every class in every image unless a test maps the
  difference explicitly. test_segmentation_empty.py tabulates the empty-mask behaviour.
"""

from __future__ import annotations

import kornia.losses as KL
import monai.losses as ML
import pytest
import segmentation_models_pytorch.losses as SL
import torch

import losskit
import losskit.functional as LF

F64 = torch.float64


def _data(seed: int, n: int = 3, c: int = 4, spatial: tuple[int, ...] = (6, 5), dtype: torch.dtype = F64):
    """Logits and labels with every class present in every image (labels 0..C-1 planted in each image)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, c, *spatial, generator=g) * 2).to(dtype)
    y = torch.randint(0, c, (n, *spatial), generator=g)
    flat = y.view(n, -1)
    flat[:, :c] = torch.arange(c)
    return x, y


def _onehot(y: torch.Tensor, c: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(y, c).movedim(-1, 1).to(F64)


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-9, atol: float = 1e-11) -> None:
    torch.testing.assert_close(a.to(F64).reshape(-1), b.to(F64).reshape(-1), rtol=rtol, atol=atol)


# MONAI -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spatial", [(6, 5), (3, 4, 3)], ids=["2d", "3d"])
@pytest.mark.parametrize("per_image", [True, False])
def test_monai_dice(spatial, per_image) -> None:
    x, y = _data(0, spatial=spatial)
    batch = not per_image
    for opts, ours in [
        ({}, {}),
        ({"smooth_nr": 0.5, "smooth_dr": 0.5}, {"smooth": 0.5}),
        ({"include_background": False}, {"include_background": False}),
        ({"squared_pred": True}, {"squared": True}),
    ]:
        m = ML.DiceLoss(softmax=True, to_onehot_y=True, batch=batch, reduction="none", **opts)(x, y[:, None])
        rtol = (
            1e-6 if opts.get("squared_pred") else 1e-9
        )  # MONAI's squared path takes float32 norms of the target
        close(LF.dice_loss(x, y, per_image=per_image, reduction="none", **ours), m, rtol=rtol, atol=1e-9)
    # MONAI's jaccard=True smooths 2·TP: its s is losskit's s / 2
    m = ML.DiceLoss(
        softmax=True,
        to_onehot_y=True,
        batch=batch,
        jaccard=True,
        smooth_nr=0.4,
        smooth_dr=0.4,
        reduction="none",
    )(x, y[:, None])
    close(LF.jaccard_loss(x, y, per_image=per_image, smooth=0.2, reduction="none"), m)
    # sigmoid on one-hot / multi-hot targets
    t = (torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) > 0.5).to(F64)
    m = ML.DiceLoss(sigmoid=True, batch=batch, reduction="none")(x, t)
    close(LF.dice_loss(x, t, multilabel=True, per_image=per_image, reduction="none"), m)


def test_monai_dice_weight_and_ignore() -> None:
    x, y = _data(2)
    w = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    # MONAI's weight has one entry per *kept* class; losskit's one per class id. "none" carries it on both sides.
    m = ML.DiceLoss(softmax=True, to_onehot_y=True, include_background=False, weight=w[1:], reduction="none")(
        x, y[:, None]
    )
    close(LF.dice_loss(x, y, include_background=False, weight=w, reduction="none"), m)
    # MONAI's "mean" divides by N·C', losskit's by N·Σw
    m_mean = ML.DiceLoss(softmax=True, to_onehot_y=True, weight=w)(x, y[:, None])
    close(LF.dice_loss(x, y, weight=w) * w.sum() / 4, m_mean)
    # ignore_index: excluded from every sum on both sides
    y_ign = y.clone()
    y_ign[:, 2:, 1:] = 255
    for cls in (ML.DiceLoss, ML.TverskyLoss):
        m = cls(softmax=True, to_onehot_y=True, ignore_index=255, reduction="none")(x, y_ign[:, None])
        f = LF.dice_loss if cls is ML.DiceLoss else LF.tversky_loss
        close(f(x, y_ign, ignore_index=255, reduction="none"), m)


@pytest.mark.parametrize("per_image", [True, False])
def test_monai_generalized_dice(per_image) -> None:
    x, y = _data(3)
    y_absent = y.clone()
    y_absent[0][y_absent[0] == 2] = 1  # class 2 absent from image 0: weight = the largest finite weight
    for target in (y, y_absent):
        for w_type in ("square", "simple", "uniform"):
            m = ML.GeneralizedDiceLoss(
                softmax=True, to_onehot_y=True, w_type=w_type, batch=not per_image, reduction="none"
            )(x, target[:, None])
            ours = LF.generalized_dice_loss(
                x, target, weighting=w_type, per_image=per_image, reduction="none"
            )
            close(ours, m, rtol=1e-6)  # MONAI computes the class weights in float32
    m = ML.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, include_background=False)(x, y[:, None])
    close(LF.generalized_dice_loss(x, y, include_background=False), m, rtol=1e-6)


@pytest.mark.parametrize("per_image", [True, False])
def test_monai_tversky(per_image) -> None:
    x, y = _data(4, spatial=(3, 4, 3))
    for a, b in ((0.5, 0.5), (0.3, 0.7), (0.9, 0.1)):
        m = ML.TverskyLoss(
            softmax=True, to_onehot_y=True, alpha=a, beta=b, batch=not per_image, reduction="none"
        )(x, y[:, None])
        close(LF.tversky_loss(x, y, alpha=a, beta=b, per_image=per_image, reduction="none"), m)
    # soft targets: losskit uses Wang et al.'s soft-label TP = (|p| + |g| - |p - g|) / 2, MONAI's soft_label=True
    # (tests/test_segmentation_parity.py pins that MONAI's default soft_label=False differs on soft targets)
    q = torch.softmax(torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=F64), 1)
    m = ML.TverskyLoss(softmax=True, alpha=0.2, beta=0.8, soft_label=True, reduction="none")(x, q)
    close(LF.tversky_loss(x, q, alpha=0.2, beta=0.8, reduction="none"), m)


def test_monai_dice_ce_by_composition() -> None:
    # MONAI DiceCELoss(softmax, to_onehot_y) == λ_d·losskit.DiceLoss + λ_c·losskit.CrossEntropyLoss, same options
    x, y = _data(6)
    m = ML.DiceCELoss(softmax=True, to_onehot_y=True, lambda_dice=0.7, lambda_ce=1.3, label_smoothing=0.1)
    ours = 0.7 * losskit.DiceLoss() + 1.3 * losskit.CrossEntropyLoss(label_smoothing=0.1)
    close(ours(x, y), m(x, y[:, None]))
    parts = ours.components(x, y)
    assert sorted(parts) == ["cross_entropy", "dice", "total"]
    # with class weights and no background: MONAI gives the Dice weight[1:] and divides its mean by C', so the
    # losskit Dice term carries the factor Σw[1:] / C'
    w = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    m = ML.DiceCELoss(softmax=True, to_onehot_y=True, include_background=False, weight=w, batch=True)
    ours = float(w[1:].sum() / 3) * losskit.DiceLoss(
        include_background=False, weight=w, per_image=False
    ) + losskit.CrossEntropyLoss(weight=w)
    close(ours(x, y), m(x, y[:, None]))


def test_monai_dice_focal_by_composition() -> None:
    x, y = _data(7)
    t = _onehot(y, 4)
    # MONAI 1.6's DiceFocalLoss builds its FocalLoss without use_softmax: a sigmoid (one-vs-rest) focal term
    # on the one-hot target, averaged over N·C·H·W. That is losskit's SigmoidFocalLoss with alpha=None.
    m = ML.DiceFocalLoss(softmax=True, gamma=2.0, lambda_dice=1.0, lambda_focal=0.5)
    ours = losskit.DiceLoss() + 0.5 * losskit.SigmoidFocalLoss(alpha=None, gamma=2.0)
    close(ours(x, t), m(x, t), rtol=1e-6)  # MONAI's FocalLoss computes in float32
    # a softmax focal term: MONAI FocalLoss(use_softmax=True) averages over N·C·H·W, losskit's per pixel (N·H·W)
    dice, focal = (
        ML.DiceLoss(softmax=True, to_onehot_y=True),
        ML.FocalLoss(use_softmax=True, to_onehot_y=True),
    )
    ours = losskit.DiceLoss() + 0.25 * losskit.SoftmaxFocalLoss(gamma=2.0)  # 0.25 = 1 / C
    close(ours(x, y), dice(x, y[:, None]) + focal(x, y[:, None]), rtol=1e-6)


def test_monai_dice_does_not_trace_whole_but_losskit_does() -> None:
    x, y = _data(8, dtype=torch.float32)
    torch._dynamo.reset()
    monai_c = torch.compile(ML.DiceLoss(softmax=True, to_onehot_y=True), fullgraph=True, backend="eager")
    with pytest.raises(Exception, match="data-dependent"):  # its .tolist() of the reduce axes
        monai_c(x, y[:, None])
    torch._dynamo.reset()
    ours = torch.compile(losskit.DiceLoss(), fullgraph=True, backend="eager")
    close(ours(x, y), LF.dice_loss(x, y), rtol=1e-6)


# segmentation-models-pytorch ------------------------------------------------------------------------------


def test_smp_dice_jaccard_tversky_multiclass() -> None:
    x, y = _data(10)
    w = [0.5, 1.0, 2.0, 3.0]
    close(LF.dice_loss(x, y, per_image=False, smooth=0.0), SL.DiceLoss("multiclass")(x, y))
    close(LF.dice_loss(x, y, per_image=False, smooth=0.6), SL.DiceLoss("multiclass", smooth=0.3)(x, y))
    close(
        LF.dice_loss(x, y, per_image=False, smooth=0.0, weight=torch.tensor(w, dtype=F64)),
        SL.DiceLoss("multiclass", class_weights=w)(x, y),
        rtol=1e-7,
    )  # smp keeps its weights in float32
    close(
        LF.dice_loss(x, y, per_image=False, smooth=0.0, include_background=False),
        SL.DiceLoss("multiclass", classes=[1, 2, 3])(x, y),
    )
    close(LF.jaccard_loss(x, y, per_image=False, smooth=0.3), SL.JaccardLoss("multiclass", smooth=0.3)(x, y))
    close(
        LF.tversky_loss(x, y, per_image=False, smooth=0.2, alpha=0.3, beta=0.7),
        SL.TverskyLoss("multiclass", smooth=0.2, alpha=0.3, beta=0.7)(x, y),
    )
    y_ign = y.clone()
    y_ign[:, 4:] = 255
    close(
        LF.dice_loss(x, y_ign, per_image=False, smooth=0.0, ignore_index=255),
        SL.DiceLoss("multiclass", ignore_index=255)(x, y_ign),
    )


def test_smp_multilabel_and_binary() -> None:
    x, y = _data(11)
    t = (torch.rand(x.shape, generator=torch.Generator().manual_seed(12)) > 0.5).to(F64)
    close(LF.dice_loss(x, t, multilabel=True, per_image=False, smooth=0.0), SL.DiceLoss("multilabel")(x, t))
    close(
        LF.jaccard_loss(x, t, multilabel=True, per_image=False, smooth=0.1),
        SL.JaccardLoss("multilabel", smooth=0.1)(x, t),
    )
    xb, yb = x[:, :1], (y > 1).long()
    close(LF.dice_loss(xb, yb, per_image=False, smooth=0.0), SL.DiceLoss("binary")(xb, yb))
    # smp's TverskyLoss raises the class *mean* to gamma; with one class that is losskit's focal Tversky
    close(
        LF.focal_tversky_loss(xb, yb, per_image=False, smooth=0.0, alpha=0.3, beta=0.7, gamma=0.75),
        SL.TverskyLoss("binary", alpha=0.3, beta=0.7, gamma=0.75)(xb, yb),
    )


@pytest.mark.parametrize("per_image", [True, False])
def test_smp_lovasz(per_image) -> None:
    x, y = _data(13, dtype=torch.float32)  # smp's Lovász mixes float32 into its dot product
    tol = {"rtol": 1e-5, "atol": 1e-6}
    close(
        LF.lovasz_loss(x, y, per_image=per_image),
        SL.LovaszLoss("multiclass", per_image=per_image)(x, y),
        **tol,
    )
    y_ign = y.clone()
    y_ign[:, 4:] = 255
    close(
        LF.lovasz_loss(x, y_ign, per_image=per_image, ignore_index=255),
        SL.LovaszLoss("multiclass", per_image=per_image, ignore_index=255)(x, y_ign),
        **tol,
    )
    xb, yb = x[:, :1], (y > 1).long()
    close(
        LF.lovasz_loss(xb, yb, per_image=per_image),
        SL.LovaszLoss("binary", per_image=per_image)(xb, yb),
        **tol,
    )
    yb_ign = torch.where(y == 0, 255, yb)
    close(
        LF.lovasz_loss(xb, yb_ign, per_image=per_image, ignore_index=255),
        SL.LovaszLoss("binary", per_image=per_image, ignore_index=255)(xb, yb_ign),
        **tol,
    )


def test_smp_lovasz_present_classes_mapping() -> None:
    # smp (Berman's default classes="present") averages the classes present in the target; losskit scores
    # every class. The mapping: smp == the mean of losskit's "none" over the present classes.
    x, y = _data(14, dtype=torch.float32)
    y[y == 3] = 0  # class 3 absent from the whole batch
    none = LF.lovasz_loss(x, y, per_image=False, reduction="none")
    close(none[:3].mean(), SL.LovaszLoss("multiclass", per_image=False)(x, y), rtol=1e-5, atol=1e-6)
    assert float(none[3]) > 0  # the absent class costs its largest predicted probability


# kornia ------------------------------------------------------------------------------------------------


def test_kornia_dice() -> None:
    x, y = _data(20)
    w = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    # macro: per image and class, averaged over the (here: all present) classes: losskit per_image, smooth 0
    close(LF.dice_loss(x, y, smooth=0.0), KL.dice_loss(x, y, average="macro", eps=0.0))
    close(LF.dice_loss(x, y, smooth=0.0, weight=w), KL.dice_loss(x, y, average="macro", eps=0.0, weight=w))
    # micro: one Dice per image pooled over classes = generalized Dice with uniform class weights
    close(
        LF.generalized_dice_loss(x, y, smooth=0.0, weighting="uniform"),
        KL.dice_loss(x, y, average="micro", eps=0.0),
    )
    close(
        LF.generalized_dice_loss(x, y, smooth=0.0, weighting="uniform", weight=w),
        KL.dice_loss(x, y, average="micro", eps=0.0, weight=w),
    )
    y_ign = y.clone()
    y_ign[:, 4:] = 255
    close(
        LF.dice_loss(x, y_ign, smooth=0.0, ignore_index=255),
        KL.dice_loss(x, y_ign, average="macro", eps=0.0, ignore_index=255),
    )


def test_kornia_tversky_and_lovasz() -> None:
    x, y = _data(21)
    for a, b in ((0.5, 0.5), (0.3, 0.7)):
        close(
            LF.tversky_loss(x, y, alpha=a, beta=b, smooth=0.0),
            KL.tversky_loss(x, y, alpha=a, beta=b, eps=0.0),
        )
    y_ign = y.clone()
    y_ign[:, 4:] = 255
    close(
        LF.tversky_loss(x, y_ign, alpha=0.3, beta=0.7, smooth=0.0, ignore_index=255),
        KL.tversky_loss(x, y_ign, alpha=0.3, beta=0.7, eps=0.0, ignore_index=255),
    )
    # Lovász-softmax: kornia scores every class per image, like losskit; its class weight divides by C
    w = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=F64)
    close(LF.lovasz_loss(x, y), KL.lovasz_softmax_loss(x, y))
    close(LF.lovasz_loss(x, y, weight=w, reduction="none").mean(), KL.lovasz_softmax_loss(x, y, weight=w))
    y[y == 3] = 0  # an absent class enters both with its largest probability
    close(LF.lovasz_loss(x, y), KL.lovasz_softmax_loss(x, y))
    xb, yb = x[:, :1], (y > 1).long()
    close(LF.lovasz_loss(xb, yb), KL.lovasz_hinge_loss(xb, yb))
