r"""Boundary-aware segmentation losses: boundary loss, Hausdorff distance-transform loss, soft clDice.

Overlap losses (:mod:`losskit.functional.segmentation`) count pixels; these weigh them by where they lie.
Each is usually added to a Dice or cross-entropy term, not used alone:

* :func:`boundary_loss` (Kervadec et al.) integrates the predicted probabilities against the target's
  **signed distance map** :math:`\phi` (negative inside the object, positive outside), so a false positive
  costs its distance to the object and a true positive earns its depth inside it. :math:`\phi` depends only
  on the target: compute it once per sample at data time with :func:`signed_distance_map`.
* :func:`hausdorff_dt_loss` (Karimi & Salcudean) weights the squared error by the distance maps of the
  target and of the (thresholded) prediction, a differentiable surrogate of the Hausdorff distance.
* :func:`cldice_loss` (Shit et al.) compares the soft skeletons of prediction and target: it rewards
  keeping thin tubular structures (vessels, roads, neurons) connected.
* :class:`losskit.nn.DeepSupervision` applies any of these (or any loss) to the outputs of several decoder
  scales, nnU-Net style.

Shared conventions (those of the segmentation family, SPEC §4): ``input`` is ``(N, C, *spatial)`` logits
(softmax over ``C``; a per-channel sigmoid with ``multilabel=True`` or ``C = 1``), or probabilities with
``input_type="probs"``; segmentation targets are class indices ``(N, *spatial)`` of any integer dtype or
dense ``(N, C, *spatial)`` masks; ``reduction="none"`` returns the ``(N, C)`` matrix (one column fewer
with ``include_background=False``, ``(C,)`` with ``per_image=False``), multiplied by the per-class
``weight``. float16 / bfloat16 are computed in float32.

Distance maps are exact Euclidean distance transforms computed in torch (:func:`distance_transform`, a
separable min-plus transform: no SciPy needed, runs on the input's device; equal to
``scipy.ndimage.distance_transform_edt``), under ``no_grad``: they are constants of the loss, as in the
papers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks
from losskit._core.dtypes import compute_dtype, upcast
from losskit.functional._common import finish
from losskit.functional.segmentation import (
    _check_head_options,
    _check_options,
    _check_scores,
    _Overlap,
    _prepare,
    _ratio,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "boundary_loss",
    "cldice_loss",
    "distance_transform",
    "hausdorff_dt_loss",
    "signed_distance_map",
    "soft_skeleton",
]

# rows x L x L elements of the min-plus step held at once (64 MiB of float32)
_EDT_CHUNK = 1 << 24


# --------------------------------------------------------------------------------------------------
# distance transforms


def _check_spacing(fn: str, spacing: float | Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, (int, float)) and not isinstance(spacing, bool):
        values: tuple[float, ...] = (float(spacing),) * ndim
    elif isinstance(spacing, (list, tuple)):
        if len(spacing) != ndim:
            raise ValueError(
                f"{fn}: spacing must have one entry per spatial dimension ({ndim}), got {len(spacing)}: "
                f"{tuple(spacing)!r}"
            )
        values = tuple(checks.check_number(fn, "spacing", s) for s in spacing)
    else:
        raise TypeError(
            f"{fn}: spacing must be a number, a sequence of numbers or None, got {type(spacing).__name__}"
        )
    for s in values:
        checks.check_number(fn, "spacing", s, low=0.0, low_open=True, high=float("inf"), high_open=True)
    return values


def _min_plus(g: Tensor, axis: int, step: float) -> Tensor:
    r"""``out[..., x, ...] = min_y g[..., y, ...] + (step·(x - y))²`` along ``axis`` (one separable pass)."""
    g = g.movedim(axis, -1)
    shape = g.shape
    length = int(shape[-1])
    pos = torch.arange(length, device=g.device, dtype=g.dtype) * step
    cost = (pos[:, None] - pos[None, :]) ** 2  # (x, y)
    rows = g.reshape(-1, length)
    per = max(1, _EDT_CHUNK // max(1, length * length))
    parts = [(r[:, None, :] + cost).amin(-1) for r in rows.split(per)] if rows.shape[0] else [rows]
    return torch.cat(parts).reshape(shape).movedim(-1, axis)


def _edt(sites: Tensor, ndim: int, spacing: tuple[float, ...], dtype: torch.dtype) -> Tensor:
    """Euclidean distance of every element to the nearest True of ``sites`` over the last ``ndim`` dims.

    inf where a (leading-index) slice has no site at all.
    """
    g = torch.where(
        sites,
        torch.zeros((), dtype=dtype, device=sites.device),
        torch.full((), float("inf"), dtype=dtype, device=sites.device),
    )
    for k in range(ndim):
        axis = sites.dim() - ndim + k
        g = _min_plus(g, axis, spacing[k])
    return g.sqrt()


def distance_transform(
    mask: Tensor, *, spatial_dims: int | None = None, spacing: float | Sequence[float] | None = None
) -> Tensor:
    r"""Exact Euclidean distance transform: each True element's distance to the nearest False one.

    .. math::
        d(q) = \min_{r:\ \text{mask}(r) = 0} \lVert (q - r) \odot \text{spacing} \rVert_2
        \quad (\text{mask}(q) = 1), \qquad d(q) = 0 \quad (\text{mask}(q) = 0)

    computed over the last ``spatial_dims`` dimensions, independently for every index of the leading
    ones; equal to ``scipy.ndimage.distance_transform_edt(mask, sampling=spacing)`` on each slice. A slice
    with no False element has no defined distance and gets 0 (MONAI's convention for its distance fields).
    The transform is separable (a min-plus pass per axis, Felzenszwalb & Huttenlocher 2012), computed in
    torch on the mask's device in float32 (float64 for a float64 mask); no gradient flows through it.

    Args:
        mask: a bool, integer or floating tensor; nonzero = inside.
        spatial_dims: how many trailing dimensions are spatial. Default: all of them.
        spacing: the voxel size, one number or one per spatial dimension (anisotropic CT / MR). Default 1.

    Returns:
        Distances with the mask's shape (float32, or float64 for a float64 mask).

    Raises:
        ValueError: on ``spatial_dims`` out of range, a bad spacing.
        TypeError: on a non-tensor mask.

    References:
        Felzenszwalb and Huttenlocher, *Distance Transforms of Sampled Functions*, Theory of Computing 8,
        2012.

    Example:
        >>> import torch
        >>> from losskit.functional import distance_transform
        >>> m = torch.tensor([[0, 1, 1, 1, 0, 0]], dtype=torch.bool)
        >>> distance_transform(m)
        tensor([[0., 1., 2., 1., 0., 0.]])
    """
    fn = "distance_transform"
    checks.check_tensor(fn, "mask", mask)
    k = _check_spatial_dims(fn, mask, spatial_dims)
    sp = _check_spacing(fn, spacing, k)
    dtype = torch.float64 if mask.dtype == torch.float64 else torch.float32
    with torch.no_grad():
        inside = mask.detach() != 0
        d = _edt(~inside, k, sp, dtype)
        return torch.where(torch.isinf(d), torch.zeros_like(d), d)


def _check_spatial_dims(fn: str, x: Tensor, spatial_dims: int | None, leading: int = 0) -> int:
    if spatial_dims is None:
        k = x.dim() - leading
    else:
        if isinstance(spatial_dims, bool) or not isinstance(spatial_dims, int):
            raise TypeError(f"{fn}: spatial_dims must be an int or None, got {spatial_dims!r}")
        k = spatial_dims
    if not 1 <= k <= x.dim() - leading:
        raise ValueError(
            f"{fn}: spatial_dims must be between 1 and {x.dim() - leading} for a tensor of shape "
            f"{checks.fmt_shape(x.shape)}, got {k}"
        )
    return k


def _signed(inside: Tensor, k: int, sp: tuple[float, ...], dtype: torch.dtype) -> Tensor:
    """Signed distance (negative inside) of a bool mask; 0 where the slice is all inside or all outside."""
    d_out = _edt(inside, k, sp, dtype)  # outside: distance to the object
    d_in = _edt(~inside, k, sp, dtype)  # inside: distance to the background
    phi = torch.where(inside, -d_in, d_out)
    return torch.where(torch.isinf(phi), torch.zeros_like(phi), phi)


def signed_distance_map(
    target: Tensor,
    *,
    num_classes: int | None = None,
    spatial_dims: int | None = None,
    spacing: float | Sequence[float] | None = None,
) -> Tensor:
    r"""Signed distance map of a segmentation, the target of :func:`boundary_loss`.

    .. math::
        \phi_G(q) = \begin{cases} -\,d(q, \Omega \setminus G) & q \in G \\
        \phantom{-}\,d(q, G) & q \notin G \end{cases}

    with :math:`d(q, A)` the Euclidean distance from :math:`q` to the nearest element of :math:`A`
    (scaled by ``spacing``): negative inside the object, positive outside, :math:`\pm 1` on the pixels
    either side of the contour. A class absent from the image (or filling it) has no contour; its map is 0,
    so it adds nothing to the boundary loss (Kervadec et al.'s convention). Kervadec et al.'s code
    subtracts 1 inside (:math:`-(d - 1)`), putting 0 on the inner contour; the two differ by the object's
    area times a constant, which does not change the gradient's direction inside the object.

    Compute it at data time (in the ``Dataset``, once per sample), not in the training step: it is a
    function of the target only. Computed in torch (see :func:`distance_transform`); equal to
    ``distance_transform_edt(~g) * ~g - distance_transform_edt(g) * g`` from ``scipy.ndimage``.

    Args:
        target: class indices ``(N, *spatial)`` (any integer dtype) with ``num_classes``, or binary masks
            ``(N, C, *spatial)`` (bool, integer 0 / 1 or float 0 / 1) without it.
        num_classes: C for a class-index target: the map then has one channel per class, ``(N, C,
            *spatial)``. None (default) for a mask target, whose channels are kept.
        spatial_dims: how many trailing dimensions are spatial. Default: all but the first (index target)
            or the first two (mask target); pass it for a single unbatched sample.
        spacing: voxel size, one number or one per spatial dimension. Default 1.

    Returns:
        float32 map (float64 for a float64 target) of shape ``(N, C, *spatial)``.

    Raises:
        ValueError: on a class index outside ``[0, num_classes)``, a mask that is not 0 / 1, a bad
            ``spatial_dims`` or ``spacing``.
        TypeError: on a non-tensor, a float target with ``num_classes``, a bad ``num_classes``.

    References:
        Kervadec, Bouchtiba, Desrosiers, Granger, Dolz, Ben Ayed, *Boundary loss for highly unbalanced
        segmentation*, MIDL 2019 / Medical Image Analysis 67, 2021 (arXiv 1812.07032).

    Example:
        >>> import torch
        >>> from losskit.functional import signed_distance_map
        >>> g = torch.tensor([[0, 0, 1, 1, 1, 0]])  # (N, W) labels
        >>> signed_distance_map(g, num_classes=2)[:, 1]
        tensor([[ 2.,  1., -1., -2., -1.,  1.]])
    """
    fn = "signed_distance_map"
    checks.check_tensor(fn, "target", target)
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise TypeError(f"{fn}: num_classes must be a positive int or None, got {num_classes!r}")
        labels = checks.check_index_target(fn, "target", target)
        k = _check_spatial_dims(fn, labels, spatial_dims if spatial_dims is not None else labels.dim() - 1)
        checks.check_labels(fn, "target", labels, num_classes, None)
        classes = torch.arange(num_classes, device=labels.device).view(-1, *([1] * k))
        inside = labels.unsqueeze(-k - 1) == classes
        dtype = torch.float32
    else:
        k = _check_spatial_dims(fn, target, spatial_dims if spatial_dims is not None else target.dim() - 2)
        if target.is_complex():
            raise TypeError(f"{fn}: target must be a real tensor, got dtype {target.dtype}")
        if target.dtype != torch.bool and target.numel() and checks.values_checked(target):
            t = target.detach()
            if not bool(((t == 0) | (t == 1)).all()):
                raise ValueError(
                    f"{fn}: target must be a 0 / 1 mask without num_classes (pass num_classes=C for class "
                    "indices), got values other than 0 and 1"
                )
        inside = target.detach() != 0
        dtype = torch.float64 if target.dtype == torch.float64 else torch.float32
    sp = _check_spacing(fn, spacing, k)
    with torch.no_grad():
        return _signed(inside, k, sp, dtype)


def _unsigned_field(inside: Tensor, k: int, dtype: torch.dtype) -> Tensor:
    """Distance to the contour from both sides (MONAI's ``fg_dist + bg_dist``); 0 without a contour."""
    return _signed(inside, k, (1.0,) * k, dtype).abs()


# --------------------------------------------------------------------------------------------------
# boundary loss


def boundary_loss(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Boundary loss (Kervadec et al.): the predicted probabilities integrated against a signed distance map.

    .. math::
        \ell_{nc} = \frac{1}{|\Omega|} \sum_{q \in \Omega} \phi_{G_{nc}}(q)\, s_{nc}(q)

    with :math:`s` the predicted probability of class :math:`c` and :math:`\phi_G` the target's signed
    distance map (:func:`signed_distance_map`: negative inside the object, positive outside). It is the
    paper's differentiable form of the distance between the predicted and true contours, up to a constant
    that does not depend on the prediction; it is minimised by predicting exactly the object (where it is
    :math:`-\frac{1}{|\Omega|}\sum_{q \in G} |\phi(q)|`, negative). Kervadec et al. add it to a regional loss
    with a weight :math:`\alpha` raised from 0.01 over training: ``(1 - a) * dice + a * boundary``; on its own
    from the start it drives the prediction to empty (all :math:`\phi > 0` pixels want 0) before the
    inside pixels catch up.

    Args:
        input: logits ``(N, C, *spatial)`` (or probabilities with ``input_type="probs"``).
        target: the signed distance map ``(N, C, *spatial)`` of the target, a float tensor, e.g.
            ``signed_distance_map(labels, num_classes=C)`` computed in the data pipeline.
        input_type: ``"logits"`` (default) or ``"probs"`` (``"log_probs"`` is exponentiated).
        multilabel: per-channel sigmoid instead of a softmax over ``C``. ``C = 1`` always uses the sigmoid.
        include_background: ``False`` leaves channel 0 out (the paper applies the loss to the foreground
            classes only; with a softmax, channel 0's map is nearly the negative of the others').
        weight: per-class weight ``(C,)``; ``"mean"`` divides by the summed weights.
        reduction: ``"none"`` (the ``(N, C)`` matrix), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; 0-d unless ``reduction="none"``. Can be negative.

    Raises:
        ValueError: on a target of another shape than the input, probabilities outside [0, 1], bad options,
            NaN / inf.
        TypeError: on non-tensors, an integer input or target (pass the distance map, not the labels).

    References:
        Kervadec, Bouchtiba, Desrosiers, Granger, Dolz, Ben Ayed, *Boundary loss for highly unbalanced
        segmentation*, MIDL 2019 / Medical Image Analysis 67, 2021 (arXiv 1812.07032).

    Example:
        One row of 4 pixels, object at pixels 1-2: :math:`\phi = [1, -1, -1, 1]`; predicting
        :math:`s = [0.5, 1, 0.5, 0]` gives :math:`(0.5 - 1 - 0.5 + 0)/4 = -0.25`.

        >>> import torch
        >>> from losskit.functional import boundary_loss, signed_distance_map
        >>> phi = signed_distance_map(torch.tensor([[0, 1, 1, 0]]), num_classes=2).double()[:, 1:]
        >>> s = torch.tensor([[[0.5, 1.0, 0.5, 0.0]]], dtype=torch.float64)
        >>> boundary_loss(s, phi, input_type="probs")
        tensor(-0.2500, dtype=torch.float64)
    """
    fn = "boundary_loss"
    _check_head_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        reduction=reduction,
    )
    _check_scores(fn, input)
    checks.check_tensor(fn, "target", target)
    if not target.is_floating_point():
        raise TypeError(
            f"{fn}: target must be a floating-point signed distance map of the input's shape, got dtype "
            f"{target.dtype}; compute it from the labels with signed_distance_map(labels, num_classes=C)"
        )
    checks.check_shape(fn, "target", target, tuple(input.shape), "(a signed distance map per class)")
    checks.check_class_weight(fn, weight, int(input.shape[1]))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    checks.check_finite(fn, "target", target)
    n, c = int(input.shape[0]), int(input.shape[1])
    dtype = compute_dtype(input, target, weight)
    size = math.prod(tuple(int(d) for d in input.shape[2:]))
    x = upcast(input, dtype).reshape(n, c, size)
    phi = upcast(target, dtype).reshape(n, c, size)
    o = _Overlap(x, input_type, multilabel or c == 1, None, None, None, None, 0)
    p = o.probs(fn)
    first = 0 if include_background or c == 1 else 1
    values = (p * phi)[:, first:].mean(-1) if x.shape[-1] else x.new_zeros(n, c - first)
    w = None if weight is None else upcast(weight, dtype)[first:]
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# Hausdorff distance-transform loss


def _segmentation(
    fn: str,
    input: Tensor,
    target: Tensor,
    *,
    input_type: str,
    multilabel: bool,
    include_background: bool,
    weight: Tensor | None,
    per_image: bool,
    reduction: str,
) -> tuple[Tensor, Tensor, _Overlap, tuple[int, ...]]:
    """Validated probabilities and dense target, both ``(N, C', *spatial)`` (background dropped)."""
    _check_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=None,
        per_image=per_image,
        reduction=reduction,
    )
    # min / max pooling and thresholds can hide a NaN from the result: check the input itself
    if isinstance(input, Tensor):
        checks.check_finite(fn, "input", input)
    o = _prepare(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=None,
        weight=weight,
        mask=None,
    )
    spatial = tuple(int(s) for s in input.shape[2:])
    n, c = int(input.shape[0]), int(input.shape[1])
    p = o.probs(fn)[:, o.first :].reshape(n, c - o.first, *spatial)
    g = o.target_dense(c)[:, o.first :].reshape(n, c - o.first, *spatial)
    return p, g, o, spatial


def _check_ranks(fn: str, group: Any, p: Tensor, per_image: bool) -> None:
    """Under ``set_checks("full")``: the ranks agree on classes and spatial rank (one small all-reduce)."""
    dist_.check_consistent(
        fn, group, p.device, classes=int(p.shape[1]), spatial_dims=p.dim() - 2, per_image=int(per_image)
    )


def hausdorff_dt_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 2.0,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    weight: Tensor | None = None,
    per_image: bool = True,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Hausdorff distance loss from distance transforms (Karimi & Salcudean's HD-DT loss).

    .. math::
        \ell_{nc} = \frac{1}{|\Omega|} \sum_{q \in \Omega} \big(p(q) - g(q)\big)^2
        \big(d_p(q)^\alpha + d_g(q)^\alpha\big)

    with :math:`p` the predicted probability of class :math:`c`, :math:`g` its target, :math:`d_g` the
    distance of each pixel to the target's contour and :math:`d_p` that of the prediction thresholded at
    0.5 (both computed from inside and outside, 0 when the mask has no contour, i.e. is empty or full; both
    constants of the loss, as in the paper). An error far from both contours costs the most: the loss
    penalises exactly what raises the Hausdorff distance. The distance maps are recomputed every call
    (exact, in torch, on the input's device: :func:`distance_transform`).

    Args:
        input: logits ``(N, C, *spatial)``, any number of spatial dimensions (or probabilities).
        target: class indices ``(N, *spatial)`` (any integer dtype; 0 / 1 for ``C = 1``) or masks
            ``(N, C, *spatial)``; a soft mask enters the squared error as is and its contour is that of
            ``g > 0.5``.
        alpha: :math:`\alpha \ge 0`, the exponent of the distances. Default 2.0 (the paper's and MONAI's);
            larger puts more weight on the largest errors.
        input_type: {input_type}
        multilabel: per-channel sigmoid instead of a softmax over ``C``.
        include_background: ``False`` leaves channel 0 out (MONAI's default is False; losskit keeps its
            family's default).
        weight: per-class weight ``(C,)``.
        per_image: ``True`` (default) one value per (sample, class); ``False`` averages over the batch
            too, one value per class (MONAI's ``batch=True``).
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; 0-d unless ``reduction="none"``. Non-negative, 0 at a perfect hard prediction.

    Raises:
        ValueError: on a target shape that matches neither form, labels out of range, probabilities outside
            [0, 1], ``alpha < 0``, bad options, NaN / inf.
        TypeError: on non-tensors, an integer input, a float index target, non-bool flags.

    Note:
        Equals MONAI's ``HausdorffDTLoss(alpha, include_background, batch=not per_image)`` given the same
        probabilities and a one-hot target (MONAI casts its distance fields to float32).

    References:
        Karimi and Salcudean, *Reducing the Hausdorff Distance in Medical Image Segmentation with
        Convolutional Neural Networks*, IEEE TMI 39(2), 2020 (arXiv 1904.10030).

    Example:
        Target pixels ``[0, 1, 1, 0, 0]``: :math:`d_g = [1, 1, 1, 1, 2]`. Predicting ``[0, 1, 1, 0, 1]``
        (hard): :math:`d_p = [1, 1, 1, 1, 1]`; only the last pixel is wrong,
        :math:`(1)^2 (1^2 + 2^2) / 5 = 1`.

        >>> import torch
        >>> from losskit.functional import hausdorff_dt_loss
        >>> p = torch.tensor([[[0.0, 1.0, 1.0, 0.0, 1.0]]], dtype=torch.float64)
        >>> hausdorff_dt_loss(p, torch.tensor([[0, 1, 1, 0, 0]]), input_type="probs")
        tensor(1., dtype=torch.float64)
    """
    fn = "hausdorff_dt_loss"
    a = checks.check_number(fn, "alpha", alpha, low=0.0, high=float("inf"), high_open=True)
    p, g, o, spatial = _segmentation(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        weight=weight,
        per_image=per_image,
        reduction=reduction,
    )
    k = len(spatial)
    with torch.no_grad():
        dp = _unsigned_field(p.detach() > 0.5, k, p.dtype)
        dg = _unsigned_field(g.detach() > 0.5, k, p.dtype)
        dist = dp**a + dg**a
    err = (p - g) ** 2 * dist
    dims = tuple(range(2, 2 + k))
    pixels = math.prod(spatial)
    # sums divided by counts (not mean()): an empty batch gives 0 with a working backward, never 0 / 0
    group = dist_.resolve_group(fn, process_group)
    if per_image:
        values = err.sum(dims) / max(pixels, 1)
    elif group is None:
        values = err.sum((0, *dims)) / max(pixels * int(p.shape[0]), 1)
    else:  # the batch's per-class means over every rank's pixels (C sums and one count, all-reduced)
        _check_ranks(fn, group, p, per_image)
        count = err.new_full((1,), float(pixels * int(p.shape[0])))
        both = dist_.all_reduce_sum(torch.cat([err.sum((0, *dims)), count]), group)
        values = both[:-1] / both[-1].clamp_min(1.0)
    return finish(
        fn,
        values,
        reduction,
        o.weight,
        normalizer=normalizer,
        process_group=group if per_image else None,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# soft clDice


def _erode(x: Tensor, k: int) -> Tensor:
    """Soft erosion: the minimum over the cross-shaped neighbourhood (4- / 6-connected), inside the image."""
    pool = F.max_pool2d if k == 2 else F.max_pool3d
    out = None
    for axis in range(k):
        size = [1] * k
        pad = [0] * k
        size[axis], pad[axis] = 3, 1
        m = -pool(-x, tuple(size), 1, tuple(pad))
        out = m if out is None else torch.minimum(out, m)
    assert out is not None
    return out


def _dilate(x: Tensor, k: int) -> Tensor:
    """Soft dilation: the maximum over the 3×3 (3×3×3) square neighbourhood, inside the image."""
    return (F.max_pool2d if k == 2 else F.max_pool3d)(x, 3, 1, 1)


def _skeleton(x: Tensor, iterations: int, k: int) -> Tensor:
    """Soft skeleton (Shit et al., Algorithm 1) of ``(B, C, *spatial)`` maps in [0, 1]."""
    skel = torch.relu(x - _dilate(_erode(x, k), k))
    for _ in range(iterations):
        x = _erode(x, k)
        delta = torch.relu(x - _dilate(_erode(x, k), k))
        skel = skel + torch.relu(delta - skel * delta)
    return skel


def _check_iterations(fn: str, iterations: int) -> int:
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise TypeError(f"{fn}: iterations must be an int, got {type(iterations).__name__}")
    if iterations < 0:
        raise ValueError(f"{fn}: iterations must be >= 0, got {iterations}")
    return iterations


def _check_2d_or_3d(fn: str, input: Tensor) -> None:
    if input.dim() not in (4, 5):
        raise ValueError(
            f"{fn}: input must have shape (N, C, H, W) or (N, C, D, H, W), got "
            f"{checks.fmt_shape(input.shape)}"
        )


def soft_skeleton(input: Tensor, *, iterations: int = 3) -> Tensor:
    r"""Soft skeleton of probability maps by iterated min / max pooling (Shit et al., Algorithm 1).

    With soft erosion :math:`\ominus` (minimum over the 4- / 6-connected cross) and dilation :math:`\oplus`
    (maximum over the 3×3 / 3×3×3 square), the opening :math:`o(I) = (I \ominus) \oplus` and
    :math:`I_0 = I`, :math:`I_{j+1} = I_j \ominus`:

    .. math::
        S_0 = \operatorname{relu}(I_0 - o(I_0)), \qquad
        S_{j+1} = S_j + \operatorname{relu}(\delta_j - S_j \delta_j),\quad
        \delta_j = \operatorname{relu}(I_{j+1} - o(I_{j+1}))

    for ``iterations`` steps; the neighbourhoods stop at the image border. Differentiable almost
    everywhere (max-pooling and relu).

    Args:
        input: ``(N, C, H, W)`` or ``(N, C, D, H, W)`` values in [0, 1].
        iterations: k, the number of erosions; it should exceed the half-width of the thickest structure
            in pixels. Default 3 (the paper's and MONAI's).

    Returns:
        The soft skeleton, the input's shape.

    Raises:
        ValueError: on an input that is not 4-D or 5-D, ``iterations < 0``.
        TypeError: on a non-floating input, a non-int ``iterations``.

    References:
        Shit, Paetzold, Sekuboyina, Ezhov, Unger, Zhylka, Pluim, Bauer, Menze, *clDice — a Novel
        Topology-Preserving Loss Function for Tubular Structure Segmentation*, CVPR 2021 (arXiv 2003.07311).

    Example:
        >>> import torch
        >>> from losskit.functional import soft_skeleton
        >>> bar = torch.zeros(1, 1, 5, 9)
        >>> bar[..., 1:4, 1:8] = 1.0  # a 3 x 7 bar: one erosion leaves its middle row, columns 2-6
        >>> soft_skeleton(bar)[0, 0, 2]
        tensor([0., 0., 1., 1., 1., 1., 1., 0., 0.])
    """
    fn = "soft_skeleton"
    checks.check_float(fn, "input", input)
    _check_iterations(fn, iterations)
    _check_2d_or_3d(fn, input)
    return _skeleton(input, iterations, input.dim() - 2)


def cldice_loss(
    input: Tensor,
    target: Tensor,
    *,
    iterations: int = 3,
    smooth: float = 1.0,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    weight: Tensor | None = None,
    per_image: bool = True,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Soft clDice loss (Shit et al.): Dice of each mask with the other's soft skeleton.

    .. math::
        T_{prec} = \frac{\sum S_p\, g + s}{\sum S_p + s}, \qquad
        T_{sens} = \frac{\sum S_g\, p + s}{\sum S_g + s}, \qquad
        \ell_{nc} = 1 - \frac{2\, T_{prec}\, T_{sens}}{T_{prec} + T_{sens}}

    with :math:`p` the predicted probabilities of class :math:`c`, :math:`g` its target, :math:`S_p`,
    :math:`S_g` their soft skeletons (:func:`soft_skeleton`, ``iterations`` steps; the target's is a
    constant) and the sums over the pixels of sample :math:`n` (and the batch with ``per_image=False``).
    :math:`T_{prec}` is the fraction of the predicted skeleton inside the target, :math:`T_{sens}` that of the
    target's skeleton covered by the prediction: a gap in a predicted vessel breaks the latter even when
    it costs Dice almost nothing. The paper trains with ``(1 - a) * dice + a * cldice``. An empty score
    (``smooth=0``, no skeleton) counts as perfect.

    Args:
        input: logits ``(N, C, H, W)`` or ``(N, C, D, H, W)`` (or probabilities).
        target: class indices ``(N, *spatial)`` (any integer dtype) or masks ``(N, C, *spatial)``.
        iterations: erosion steps of the soft skeleton; at least the half-width of the thickest structure.
            Default 3.
        smooth: :math:`s \ge 0` in both ratios. Default 1.0 (the paper's code and MONAI).
        input_type: {input_type}
        multilabel: per-channel sigmoid instead of a softmax over ``C``.
        include_background: ``False`` leaves channel 0 out (usual: the background's skeleton is
            meaningless).
        weight: per-class weight ``(C,)``.
        per_image: ``True`` (default) one score per (sample, class); ``False`` pools the batch.
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss in [0, 1]; 0-d unless ``reduction="none"``.

    Raises:
        ValueError: on an input that is not 2-D or 3-D, a target that matches neither form, labels out of
            range, probabilities outside [0, 1], ``iterations < 0``, ``smooth < 0``, NaN / inf.
        TypeError: on non-tensors, an integer input, a float index target, non-bool flags.

    Note:
        MONAI's ``SoftclDiceLoss`` sums over all its (foreground) channels at once and adds ``smooth``
        (1e-4) to the harmonic mean's denominator; with one foreground channel and ``smooth`` → 0 it
        equals this loss with ``include_background=False`` (tests/test_boundary_peers.py).

    References:
        Shit, Paetzold, Sekuboyina, Ezhov, Unger, Zhylka, Pluim, Bauer, Menze, *clDice — a Novel
        Topology-Preserving Loss Function for Tubular Structure Segmentation*, CVPR 2021 (arXiv 2003.07311).

    Example:
        A prediction equal to a hard target scores perfectly:

        >>> import torch
        >>> from losskit.functional import cldice_loss
        >>> g = torch.zeros(1, 5, 7, dtype=torch.long)
        >>> g[:, 1:4, 1:6] = 1
        >>> p = g.unsqueeze(1).double()
        >>> cldice_loss(p, g, input_type="probs", smooth=0.0)
        tensor(0., dtype=torch.float64)
    """
    fn = "cldice_loss"
    _check_iterations(fn, iterations)
    s = checks.check_number(fn, "smooth", smooth, low=0.0)
    checks.check_tensor(fn, "input", input)
    _check_2d_or_3d(fn, input)
    p, g, o, spatial = _segmentation(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        weight=weight,
        per_image=per_image,
        reduction=reduction,
    )
    k = len(spatial)
    n, c = int(p.shape[0]), int(p.shape[1])
    size = math.prod(spatial)
    sp = _skeleton(p, iterations, k).reshape(n, c, size)
    with torch.no_grad():
        sg = _skeleton(g.detach(), iterations, k).reshape(n, c, size)
    pf, gf = p.reshape(n, c, size), g.reshape(n, c, size)
    sums = torch.stack([(sp * gf).sum(-1), sp.sum(-1), (sg * pf).sum(-1), sg.sum(-1)])
    group = dist_.resolve_group(fn, process_group)
    if not per_image:
        sums = sums.sum(1)
        if group is not None:  # the batch's four sums per class over every rank's images (4·C numbers)
            _check_ranks(fn, group, p, per_image)
            sums = dist_.all_reduce_sum(sums, group)
    prec = _ratio(sums[0] + s, sums[1] + s)
    sens = _ratio(sums[2] + s, sums[3] + s)
    total = prec + sens
    safe = torch.where(total > 0, total, torch.ones_like(total))
    values = 1.0 - torch.where(total > 0, 2.0 * prec * sens / safe, torch.zeros_like(total))
    return finish(
        fn,
        values,
        reduction,
        o.weight,
        normalizer=normalizer,
        process_group=group if per_image else None,
        inputs={"input": input, "target": target},
    )
