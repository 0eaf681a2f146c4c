r"""Bounding boxes: formats, areas, aligned and pairwise IoU, and the IoU-family regression losses (SPEC §3).

Shared conventions:

* ``box_format`` is ``"xyxy"`` (default; corners), ``"xywh"`` (top-left corner, width, height) or
  ``"cxcywh"`` (centre, width, height); the losses, :func:`box_area` and :func:`box_iou` also take
  ``"ltrb"``, UnitBox's distances ``(l, t, r, b)`` from a point shared by the prediction and its target.
* Losses compare *aligned* pairs: ``input`` and ``target`` have the same shape ``(..., 4)`` and
  ``reduction="none"`` returns one value per box, shape ``(...)``. ``weight`` (per box) broadcasts into
  that shape; ``"mean"`` with a weight divides by the sum of the weights; an empty batch gives 0.
* ``IoU = I / (U + eps)`` with ``eps = 1e-7``, and every other ratio carries ``eps`` in its denominator
  the same way (``ρ²/(c² + eps)``, ``(|C| - U)/(|C| + eps)``, ...), as torchvision does.
* A predicted box with a negative width or height is a zero-area box, not a negative one: widths and
  heights are clamped at 0 (an inverted ``"xyxy"`` box becomes the point-sized box at its centre). Values
  and gradients are finite for zero-area, point, identical, inverted and far-apart boxes.
* Target boxes must be valid (non-negative width and height): an inverted target is almost always a
  ``box_format`` mix-up, so it raises a ``ValueError`` (on CPU, or everywhere with
  ``losskit.set_checks("full")``).
* float16/bfloat16 boxes are computed in float32 and the loss is returned in float32.
* ``iou_loss`` (linear), ``giou_loss``, ``diou_loss``, ``ciou_loss``, ``eiou_loss`` and the EIoU part of
  ``focal_eiou_loss`` run through a fused kernel (:mod:`losskit.kernels.boxes`) that computes the loss and
  its closed-form gradient together and saves one tensor; it gives first derivatives for the prediction.
  A target that requires a gradient (or CIoU with ``detach_alpha=False``) takes the plain formula.

Losses without overlap: the plain IoU loss is then ``1`` with gradient ``0`` (not ``0``); GIoU, DIoU,
CIoU, EIoU, CDIoU and SIoU add a penalty whose gradient pulls the boxes together.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks, fastpath
from losskit._core.dtypes import compute_dtype
from losskit._core.options import NONNEGATIVE, POSITIVE, Number, OneOf, declare
from losskit.functional import _boxes3d_geometry as geo3
from losskit.functional import _boxes_geometry as geo
from losskit.functional._boxes3d_geometry import FORMATS_3D
from losskit.functional._boxes_geometry import EPS, FORMATS, KINDS, LOSS_FORMATS, Box
from losskit.functional._common import finish
from losskit.kernels.boxes import iou_family_loss

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "alpha_iou_loss",
    "box_area",
    "box_convert",
    "box_iou",
    "cdiou_loss",
    "ciou_loss",
    "diou_loss",
    "eiou_loss",
    "focal_eiou_loss",
    "giou_loss",
    "iou_loss",
    "pairwise_box_iou",
    "siou_loss",
]

_IOU_MODES = ("linear", "log", "square")
_ALPHA_RULES = ("aaai", "tcyb")


# --------------------------------------------------------------------------------------------------
# validation and set-up


def _check_boxes(fn: str, name: str, x: Tensor, box_format: str, *, floating: bool) -> None:
    """A real tensor of ``(..., 4)`` boxes, ``(..., 6)`` for the 3-D formats (floating for predictions)."""
    coords = 6 if box_format in FORMATS_3D else 4
    if floating:
        checks.check_float(fn, name, x)
    else:
        checks.check_tensor(fn, name, x)
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(
                f"{fn}: {name} must be a real (floating or integer) tensor of boxes, got dtype {x.dtype}"
            )
    if x.dim() < 1 or x.shape[-1] != coords:
        six = coords == 4 and x.dim() > 0 and x.shape[-1] == 6
        hint = "; for 3-D boxes pass box_format='xyzxyz' or 'cxcyczwhd'" if six else ""
        raise ValueError(
            f"{fn}: {name} must have shape (..., {coords}) with one {box_format} box per row, "
            f"got {checks.fmt_shape(x.shape)}{hint}"
        )


def _nonfinite_error(fn: str, name: str, x: Tensor) -> ValueError:
    kind = "NaN" if bool(torch.isnan(x).any()) else "inf"
    return ValueError(f"{fn}: {name} contains {kind} values; losses need finite inputs")


def _check_finite(fn: str, name: str, x: Tensor) -> None:
    """Value check: an infinite coordinate can give a finite IoU but a NaN gradient, so refuse it early."""
    if x.numel() == 0 or not checks.values_checked(x):
        return
    # one reduction: NaN and inf always reach the sum; only an overflowing sum needs the elementwise test
    if bool(torch.isfinite(x.detach().sum())) or bool(torch.isfinite(x).all()):
        return
    raise _nonfinite_error(fn, name, x)


def _check_valid_boxes(fn: str, name: str, x: Tensor, box_format: str) -> None:
    """Value check: finite boxes with non-negative sizes (catches a wrong ``box_format``), 2-D or 3-D.

    Two passes for corner formats: any NaN or inf coordinate makes some size NaN or infinite, so the
    extremes of the sizes decide everything.
    """
    if x.numel() == 0 or not checks.values_checked(x):
        return
    x = x.detach()
    k = 3 if box_format in FORMATS_3D else 2
    lo, hi = x[..., :k], x[..., k:]
    if box_format in ("xyxy", "xyzxyz"):
        size = hi - lo
    elif box_format == "ltrb":
        size = lo + hi
    else:
        size = hi
        _check_finite(fn, name, lo if k == 2 else x)
    low, high = (float(v) for v in torch.aminmax(size))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise _nonfinite_error(fn, name, x)
    if low < 0:
        mins = [float(v) for v in size.reshape(-1, k).amin(0)]
        if k == 2:
            what, got = "width and height", f"a minimum width of {mins[0]:.4g} and height of {mins[1]:.4g}"
        else:
            what, got = "sizes", "minimum sizes of " + ", ".join(f"{m:.4g}" for m in mins)
        raise ValueError(
            f"{fn}: {name} must hold {box_format} boxes with non-negative {what} (is box_format right?), "
            f"got {got}"
        )


def _check_eps(fn: str, eps: float) -> float:
    return checks.check_number(fn, "eps", eps, low=0.0)


def _setup(
    fn: str,
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    box_format: str,
    eps: float,
    reduction: str,
    formats: tuple[str, ...] = LOSS_FORMATS,
    finite_in_result: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Validate a loss call; return the prediction, target and weight in the compute dtype.

    ``formats`` are the box formats the caller takes here: the 2-D ones, or ``FORMATS_3D`` in the 3-D
    branch of iou / giou / diou (``(..., 6)`` boxes, same checks one axis more).
    ``finite_in_result``: the caller's loss is non-finite whenever a prediction coordinate is (GIoU, DIoU,
    CIoU, EIoU: an infinite coordinate makes the enclosure or the centre distance infinite and its ratio
    NaN, for every box weight; tests/test_boxes_values.py), so the separate scan of the prediction is
    skipped and the final check of the reduced result (:func:`_finish`) names the input instead. Plain
    IoU keeps the scan: an infinite corner can leave its loss finite with a NaN gradient.
    """
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "box_format", box_format, formats)
    _check_eps(fn, eps)
    _check_boxes(fn, "input", input, box_format, floating=True)
    _check_boxes(fn, "target", target, box_format, floating=False)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(aligned pairs: the input's shape)")
    checks.check_weight(fn, weight, tuple(input.shape[:-1]))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    if not finite_in_result:
        _check_finite(fn, "input", input)
    _check_valid_boxes(fn, "target", target, box_format)
    dtype = compute_dtype(input, target, weight)
    x, y = input.to(dtype), target.to(dtype)
    w = None if weight is None else weight.to(dtype)
    return x, y, w


def _boxes(x: Tensor, y: Tensor, box_format: str) -> tuple[Box, Box]:
    return geo.as_box(x, box_format), geo.as_box(y, box_format)


def _plain_loss(
    kind: str, p: Box, g: Box, eps: float, alpha_rule: str = "aaai", detach_alpha: bool = True
) -> Tensor:
    """Per-box IoU / GIoU / DIoU / CIoU / EIoU loss from the plain formula (autograd does the backward)."""
    ov = geo.overlap(p, g, eps)
    if kind == "iou":
        return 1.0 - ov.iou
    cw, ch = geo.enclosing(p, g)
    if kind == "giou":
        return 1.0 - ov.iou + geo.giou_penalty(ov, cw, ch, eps)
    loss = 1.0 - ov.iou + geo.diou_penalty(p, g, cw, ch, eps)
    if kind == "ciou":
        v = geo.aspect_v(p, g, eps)
        loss = loss + geo.ciou_alpha(ov.iou, v, eps, alpha_rule, detach_alpha) * v
    elif kind == "eiou":
        dw, dh = p.w - g.w, p.h - g.h
        loss = loss + dw * dw / (cw * cw + eps) + dh * dh / (ch * ch + eps)
    return loss


def _family_loss(
    kind: str,
    x: Tensor,
    y: Tensor,
    box_format: str,
    eps: float,
    alpha_rule: str = "aaai",
    detach_alpha: bool = True,
) -> Tensor:
    """Per-box loss through the fused kernel (one saved tensor, closed-form gradient) where it applies.

    The kernel differentiates the prediction only; a target that needs a gradient, CIoU with an
    attached α, ``torch.func`` transforms and ``losskit.set_fast_paths(False)`` take the plain formula and
    autograd. Double backward through the kernel differentiates :func:`_plain_loss` (see
    :mod:`losskit.kernels.boxes`).
    """
    if detach_alpha and not (torch.is_grad_enabled() and y.requires_grad) and fastpath.applies():
        return iou_family_loss(
            kind, geo.raw_xyxy(x, box_format), geo.raw_xyxy(y, box_format), eps=eps, tcyb=alpha_rule == "tcyb"
        )
    p, g = _boxes(x, y, box_format)
    return _plain_loss(kind, p, g, eps, alpha_rule, detach_alpha)


def _finish(
    fn: str,
    values: Tensor,
    reduction: str,
    weight: Tensor | None,
    input: Tensor,
    target: Tensor,
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    return finish(
        fn,
        values,
        reduction,
        weight,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def _no_3d(fn: str, box_format: str, why: str) -> None:
    """A clear error for a loss without a 3-D form, before the generic box_format check."""
    if box_format in FORMATS_3D:
        raise ValueError(
            f"{fn}: box_format={box_format!r} (3-D boxes) is not supported: {why}; iou_loss, giou_loss and "
            "diou_loss take 3-D boxes"
        )


def _measure_3d(
    kind: str, x: Tensor, y: Tensor, box_format: str, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    return geo3.measure3(kind, geo3.as_box3(x, box_format), geo3.as_box3(y, box_format), eps)


def _utility_dtype(*tensors: Tensor) -> torch.dtype:
    """float16/bfloat16 → float32, integer → the default float dtype, float32/float64 unchanged."""
    return compute_dtype(*tensors)


# --------------------------------------------------------------------------------------------------
# utilities


def box_convert(boxes: Tensor, in_format: str, out_format: str) -> Tensor:
    r"""Convert boxes between the ``"xyxy"``, ``"xywh"`` and ``"cxcywh"`` formats.

    A pure change of coordinates (no clamping), so converting back returns the input up to rounding.
    Integer boxes are converted to the default float dtype (a centre can be a half-integer).

    Args:
        boxes: ``(..., 4)`` boxes in ``in_format``.
        in_format: ``"xyxy"`` (corners), ``"xywh"`` (top-left corner, width, height) or ``"cxcywh"``
            (centre, width, height).
        out_format: one of the same three names.

    Returns:
        ``(..., 4)`` boxes in ``out_format``, floating point.

    Raises:
        ValueError: for an unknown format or a last dimension other than 4.
        TypeError: for a non-tensor or a complex / bool tensor.

    Example:
        >>> import torch
        >>> from losskit.functional import box_convert
        >>> box_convert(torch.tensor([[1.0, 1.0, 4.0, 3.0]]), "xyxy", "cxcywh")
        tensor([[2.5000, 2.0000, 3.0000, 2.0000]])
    """
    fn = "box_convert"
    checks.check_option(fn, "in_format", in_format, FORMATS)
    checks.check_option(fn, "out_format", out_format, FORMATS)
    _check_boxes(fn, "boxes", boxes, in_format, floating=False)
    b = boxes.to(_utility_dtype(boxes)) if not boxes.is_floating_point() else boxes
    if in_format == out_format:
        return b.clone()
    a, c, e, f = b.unbind(-1)
    if in_format == "xywh":
        x1, y1, x2, y2 = a, c, a + e, c + f
    elif in_format == "cxcywh":
        x1, y1, x2, y2 = a - e * 0.5, c - f * 0.5, a + e * 0.5, c + f * 0.5
    else:
        x1, y1, x2, y2 = a, c, e, f
    if out_format == "xyxy":
        return torch.stack((x1, y1, x2, y2), dim=-1)
    if out_format == "xywh":
        return torch.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)
    return torch.stack(((x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1), dim=-1)


def box_area(boxes: Tensor, *, box_format: str = "xyxy") -> Tensor:
    r"""Area of each box, :math:`\max(w, 0)\cdot\max(h, 0)`.

    An inverted box (negative width or height) has area 0, the convention every loss here uses
    (torchvision's ``box_area`` returns a negative area for it).

    Args:
        boxes: ``(..., 4)`` boxes.
        box_format: {box_format}

    Returns:
        ``(...)`` areas; float16/bfloat16 and integer boxes give float32 / default-dtype areas.

    Raises:
        ValueError: for an unknown format or a last dimension other than 4.
        TypeError: for a non-tensor or a complex / bool tensor.

    Example:
        >>> import torch
        >>> from losskit.functional import box_area
        >>> box_area(torch.tensor([[1.0, 1.0, 4.0, 3.0], [2.0, 2.0, 1.0, 5.0]]))
        tensor([6., 0.])
    """
    fn = "box_area"
    checks.check_option(fn, "box_format", box_format, LOSS_FORMATS)
    _check_boxes(fn, "boxes", boxes, box_format, floating=False)
    b = geo.as_box(boxes.to(_utility_dtype(boxes)), box_format)
    return b.w * b.h


def _utility_pair(
    fn: str, boxes1: Tensor, boxes2: Tensor, kind: str, box_format: str, eps: float, formats: tuple[str, ...]
) -> tuple[Tensor, Tensor]:
    checks.check_option(fn, "kind", kind, KINDS)
    checks.check_option(fn, "box_format", box_format, formats)
    _check_eps(fn, eps)
    _check_boxes(fn, "boxes1", boxes1, box_format, floating=False)
    _check_boxes(fn, "boxes2", boxes2, box_format, floating=False)
    checks.check_same_device(fn, boxes1=boxes1, boxes2=boxes2)
    dtype = _utility_dtype(boxes1, boxes2)
    return boxes1.to(dtype), boxes2.to(dtype)


def box_iou(
    boxes1: Tensor, boxes2: Tensor, *, kind: str = "iou", box_format: str = "xyxy", eps: float = EPS
) -> Tensor:
    r"""Aligned IoU (or GIoU, DIoU, CIoU) of box pairs: ``boxes1[i]`` against ``boxes2[i]``.

    .. math::
        \mathrm{IoU} = \frac{I}{U + \epsilon},\quad
        \mathrm{GIoU} = \mathrm{IoU} - \frac{|C| - U}{|C| + \epsilon},\quad
        \mathrm{DIoU} = \mathrm{IoU} - \frac{\rho^2}{c^2 + \epsilon},\quad
        \mathrm{CIoU} = \mathrm{DIoU} - \alpha v

    with ``C`` the smallest enclosing box, ``c`` its diagonal, ``ρ`` the distance of the centres,
    ``v = 4/π² (atan(wᵍ/hᵍ) - atan(w/h))²`` and ``α = v / ((1 - IoU) + v + ε)`` (computed without gradient).
    For the ``N × M`` matrix of every pair use :func:`pairwise_box_iou`.

    Name mapping for torchvision users: ``torchvision.ops.box_iou(a, b)`` (every pair, ``(N, M)``) is
    ``losskit.pairwise_box_iou(a, b)``; ``torchvision.ops.box_iou(a, b).diagonal()`` is
    ``losskit.box_iou(a, b)``. Two ``(N, 4)`` and ``(M, 4)`` inputs with ``N != M`` raise an error naming
    :func:`pairwise_box_iou` (with ``N == M`` the aligned result is returned: the shapes cannot tell).

    Args:
        boxes1: ``(..., 4)`` boxes.
        boxes2: ``(..., 4)`` boxes, the same shape (no broadcasting).
        kind: ``"iou"`` (default), ``"giou"``, ``"diou"`` or ``"ciou"``.
        box_format: {box_format}
        eps: the ε of every denominator, default 1e-7 (as torchvision's losses).

    Returns:
        ``(...)`` values; IoU in [0, 1], GIoU in (-1, 1], DIoU and CIoU in (-1, 1].

    Raises:
        ValueError: for different shapes, a last dimension other than 4, or an unknown option.
        TypeError: for non-tensors or complex / bool tensors.

    Example:
        >>> import torch
        >>> from losskit.functional import box_iou
        >>> p, g = torch.tensor([1.0, 1.0, 4.0, 3.0]), torch.tensor([2.0, 0.0, 5.0, 4.0])
        >>> print(f"{box_iou(p, g).item():.6f} {box_iou(p, g, kind='giou').item():.6f}")
        0.285714 0.160714
    """
    fn = "box_iou"
    b1, b2 = _utility_pair(fn, boxes1, boxes2, kind, box_format, eps, LOSS_FORMATS)
    if boxes1.dim() == 2 and boxes2.dim() == 2 and boxes1.shape[0] != boxes2.shape[0]:
        n, m = boxes1.shape[0], boxes2.shape[0]
        raise ValueError(
            f"box_iou: boxes1 {checks.fmt_shape(boxes1.shape)} and boxes2 {checks.fmt_shape(boxes2.shape)} "
            f"differ in length; losskit.box_iou is the aligned IoU of matching rows (N boxes vs N boxes -> "
            f"(N,)). For torchvision.ops.box_iou's ({n}, {m}) matrix of every pair use "
            f"losskit.pairwise_box_iou"
        )
    checks.check_shape(fn, "boxes2", boxes2, tuple(boxes1.shape), "(aligned pairs: the shape of boxes1)")
    return geo.measure(kind, geo.as_box(b1, box_format), geo.as_box(b2, box_format), eps)


def pairwise_box_iou(
    boxes1: Tensor, boxes2: Tensor, *, kind: str = "iou", box_format: str = "xyxy", eps: float = EPS
) -> Tensor:
    r"""IoU (or GIoU, DIoU, CIoU) of every box in ``boxes1`` against every box in ``boxes2``.

    The matrix used for matching predictions to ground truth; each entry equals :func:`box_iou` of that
    pair (same formulas and ε). torchvision's ``box_iou`` has no ε (two zero-area boxes give NaN there,
    0 here); its ``generalized_box_iou`` likewise.

    Args:
        boxes1: ``(..., N, 4)`` boxes.
        boxes2: ``(..., M, 4)`` boxes with the same leading dimensions ``...``.
        kind: ``"iou"`` (default), ``"giou"``, ``"diou"`` or ``"ciou"``.
        box_format: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``.
        eps: the ε of every denominator, default 1e-7.

    Returns:
        ``(..., N, M)`` values.

    Raises:
        ValueError: for boxes without a box dimension, different leading dimensions, or an unknown option.
        TypeError: for non-tensors or complex / bool tensors.

    Example:
        >>> import torch
        >>> from losskit.functional import pairwise_box_iou
        >>> a = torch.tensor([[1.0, 1.0, 4.0, 3.0], [0.0, 0.0, 2.0, 2.0]])
        >>> pairwise_box_iou(a, torch.tensor([[2.0, 0.0, 5.0, 4.0]]))
        tensor([[0.2857],
                [0.0000]])
    """
    fn = "pairwise_box_iou"
    b1, b2 = _utility_pair(fn, boxes1, boxes2, kind, box_format, eps, FORMATS)
    for name, t in (("boxes1", boxes1), ("boxes2", boxes2)):
        checks.check_ndim(fn, name, t, 2, "(..., N, 4)")
    if tuple(boxes1.shape[:-2]) != tuple(boxes2.shape[:-2]):
        raise ValueError(
            f"{fn}: boxes2 must have the leading dimensions of boxes1 {checks.fmt_shape(boxes1.shape[:-2])}, "
            f"got {checks.fmt_shape(boxes2.shape[:-2])}"
        )
    p = geo.as_box(b1, box_format).expand(-1)  # (..., N, 1)
    g = geo.as_box(b2, box_format).expand(-2)  # (..., 1, M)
    if torch.is_grad_enabled() and (b1.requires_grad or b2.requires_grad):
        return geo.measure(kind, p, g, eps)
    if not fastpath.applies():  # incl. under torch.compile, which fuses the one-shot formula
        return geo.measure(kind, p, g, eps)
    # no gradient: the same values in blocks, in place, with the result the only (N, M) tensor
    return geo.measure_pairwise(kind, p, g, eps)


# --------------------------------------------------------------------------------------------------
# losses


@declare(
    box_format=OneOf(LOSS_FORMATS + FORMATS_3D), eps=NONNEGATIVE, mode=OneOf(_IOU_MODES), smooth=NONNEGATIVE
)
def iou_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "linear",
    smooth: float = 0.0,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""IoU loss: :math:`1 - \mathrm{IoU}`, UnitBox's :math:`-\ln \mathrm{IoU}` or :math:`1 - \mathrm{IoU}^2`.

    .. math::
        \mathrm{IoU}_s = \frac{I + s}{U + s + \epsilon},\qquad
        \ell = \begin{cases} 1 - \mathrm{IoU}_s & \text{linear} \\
                             -\ln \max(\mathrm{IoU}_s, \epsilon) & \text{log} \\
                             1 - \mathrm{IoU}_s^2 & \text{square} \end{cases}

    Scale invariant (for ``smooth=0``), but with no overlap the loss is flat (``1``, gradient 0): a
    prediction that misses its target does not learn from this loss. GIoU, DIoU and CIoU fix that.

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        mode: ``"linear"`` (default), ``"log"`` (UnitBox; IoU is clamped at ε before the log, so the loss
            is at most ``-ln ε = 16.12``) or ``"square"``.
        smooth: additive smoothing ``s >= 0`` in squared box units, as FCOS uses ``s = 1`` for pixel
            boxes; 0 (default) is the plain IoU. Smoothing is *not* scale invariant, and without overlap
            its gradient only shrinks the box (``(s)/(U + s)`` grows as ``U`` falls); it does not move
            the box towards its target.
        box_format: ``"xyxy"`` (default), ``"xywh"``, ``"cxcywh"``, or ``"ltrb"`` (UnitBox's distances
            ``(l, t, r, b)`` from one pixel: ``I = (min(l,lᵍ) + min(r,rᵍ))·(min(t,tᵍ) + min(b,bᵍ))``,
            ``X = (l + r)(t + b)``); for axis-aligned 3-D boxes ``(..., 6)``, ``"xyzxyz"`` (corners) or
            ``"cxcyczwhd"`` (centre and sizes): areas become volumes.
        eps: ε in the IoU's denominator, default 1e-7.
        weight: optional per-box weight ``(...)`` (or broadcastable into it).
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``, else a 0-d tensor.

    Raises:
        ValueError: for shapes that differ, a last dimension other than 4, an unknown option, a negative
            ``smooth``, inverted target boxes or NaN/inf inputs (value checks: :func:`losskit.set_checks`).
        TypeError: for non-tensors or a non-floating ``input``.

    References:
        Yu, Jiang, Wang, Cao, Huang, *UnitBox: An Advanced Object Detection Network*, ACM MM 2016
        (arXiv 1608.01471). Tian et al., *FCOS: Fully Convolutional One-Stage Object Detection*,
        ICCV 2019 (arXiv 1904.01355) for the smoothing.

    Example:
        >>> import torch
        >>> from losskit.functional import iou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> iou_loss(p, g).item()  # 1 - 4/14
        0.71428571
        >>> iou_loss(p, g, mode="log").item()  # -ln(4/14)
        1.25276297

        UnitBox's distance form, pred ``(3, 2, 4, 3)`` and target ``(4, 3, 2, 2)`` as ``(l, t, r, b)``:

        >>> pl = torch.tensor([3.0, 2.0, 4.0, 3.0], dtype=torch.float64)
        >>> gl = torch.tensor([4.0, 3.0, 2.0, 2.0], dtype=torch.float64)
        >>> iou_loss(pl, gl, mode="log", box_format="ltrb").item()  # IoU = 20/45
        0.81093022
    """
    fn = "iou_loss"
    checks.check_option(fn, "mode", mode, _IOU_MODES)
    s = checks.check_number(fn, "smooth", smooth, low=0.0)
    checks.check_option(fn, "box_format", box_format, LOSS_FORMATS + FORMATS_3D)
    if box_format in FORMATS_3D:
        x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, FORMATS_3D)
        iou3, inter3, union3 = _measure_3d("iou", x, y, box_format, eps)
        iou3 = iou3 if s == 0.0 else (inter3 + s) / (union3 + s + eps)
        if mode == "linear":
            loss3 = 1.0 - iou3
        elif mode == "square":
            loss3 = 1.0 - iou3 * iou3
        else:
            loss3 = -torch.log(iou3.clamp(min=max(eps, torch.finfo(iou3.dtype).tiny)))
        return _finish(fn, loss3, reduction, w, input, target, normalizer, process_group)
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction)
    if mode == "linear" and s == 0.0:
        return _finish(
            fn,
            _family_loss("iou", x, y, box_format, eps),
            reduction,
            w,
            input,
            target,
            normalizer,
            process_group,
        )
    ov = geo.overlap(*_boxes(x, y, box_format), eps)
    iou = ov.iou if s == 0.0 else (ov.inter + s) / (ov.union + s + eps)
    if mode == "linear":
        loss = 1.0 - iou
    elif mode == "square":
        loss = 1.0 - iou * iou
    else:
        loss = -torch.log(iou.clamp(min=max(eps, torch.finfo(iou.dtype).tiny)))
    return _finish(fn, loss, reduction, w, input, target, normalizer, process_group)


@declare(box_format=OneOf(LOSS_FORMATS + FORMATS_3D), eps=NONNEGATIVE)
def giou_loss(
    input: Tensor,
    target: Tensor,
    *,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Generalized IoU loss: :math:`1 - \mathrm{IoU} + \frac{|C \setminus (A \cup B)|}{|C|}`.

    .. math::
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{|C| - U}{|C| + \epsilon}

    ``C`` is the smallest box enclosing both. GIoU lies in (-1, 1], so the loss lies in [0, 2); without
    overlap the penalty still has a gradient (it shrinks the empty part of ``C``). Same values as
    ``torchvision.ops.generalized_box_iou_loss`` and MONAI's ``BoxGIoULoss`` for valid boxes.

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        box_format: {box_format}
            Also ``"xyzxyz"`` or ``"cxcyczwhd"`` for axis-aligned 3-D boxes ``(..., 6)`` (volumes and the
            enclosing box's 3-D diagonal; MONAI's ``box_giou`` for 3-D boxes).
        eps: ε of both denominators, default 1e-7.
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`.

    Note:
        Two identical point boxes (zero area) have IoU 0 by the ε convention and an empty enclosing box:
        the loss is 1 with gradient 0, as in torchvision.

    References:
        Rezatofighi, Tsoi, Gwak, Sadeghian, Reid, Savarese, *Generalized Intersection over Union: A Metric
        and a Loss for Bounding Box Regression*, CVPR 2019 (arXiv 1902.09630).

    Example:
        >>> import torch
        >>> from losskit.functional import giou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> giou_loss(p, g).item()  # 1 - 4/14 + (16 - 14)/16
        0.83928571
    """
    fn = "giou_loss"
    checks.check_option(fn, "box_format", box_format, LOSS_FORMATS + FORMATS_3D)
    if box_format in FORMATS_3D:
        x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, FORMATS_3D)
        return _finish(
            fn,
            1.0 - _measure_3d("giou", x, y, box_format, eps)[0],
            reduction,
            w,
            input,
            target,
            normalizer,
            process_group,
        )
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, finite_in_result=True)
    return _finish(
        fn,
        _family_loss("giou", x, y, box_format, eps),
        reduction,
        w,
        input,
        target,
        normalizer,
        process_group,
    )


@declare(box_format=OneOf(LOSS_FORMATS + FORMATS_3D), eps=NONNEGATIVE)
def diou_loss(
    input: Tensor,
    target: Tensor,
    *,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Distance-IoU loss: :math:`1 - \mathrm{IoU} + \rho^2 / c^2`.

    .. math::
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{\rho^2(\mathbf b, \mathbf b^{g})}{c^2 + \epsilon}

    ``ρ`` is the distance between the centres and ``c`` the diagonal of the smallest enclosing box. The
    penalty pulls the centres together directly, which converges much faster than GIoU (see
    :mod:`losskit.lab.diou_simulation`). Same values as ``torchvision.ops.distance_box_iou_loss``.

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        box_format: {box_format}
            Also ``"xyzxyz"`` or ``"cxcyczwhd"`` for axis-aligned 3-D boxes ``(..., 6)`` (volumes and the
            enclosing box's 3-D diagonal; MONAI's ``box_giou`` for 3-D boxes).
        eps: ε of both denominators, default 1e-7.
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`.

    References:
        Zheng, Wang, Liu, Li, Ye, Ren, *Distance-IoU Loss: Faster and Better Learning for Bounding Box
        Regression*, AAAI 2020 (arXiv 1911.08287).

    Example:
        >>> import torch
        >>> from losskit.functional import diou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> diou_loss(p, g).item()  # 1 - 4/14 + 1/32
        0.74553571
    """
    fn = "diou_loss"
    checks.check_option(fn, "box_format", box_format, LOSS_FORMATS + FORMATS_3D)
    if box_format in FORMATS_3D:
        x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, FORMATS_3D)
        return _finish(
            fn,
            1.0 - _measure_3d("diou", x, y, box_format, eps)[0],
            reduction,
            w,
            input,
            target,
            normalizer,
            process_group,
        )
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, finite_in_result=True)
    return _finish(
        fn,
        _family_loss("diou", x, y, box_format, eps),
        reduction,
        w,
        input,
        target,
        normalizer,
        process_group,
    )


@declare(box_format=OneOf(LOSS_FORMATS), eps=NONNEGATIVE, alpha_rule=OneOf(_ALPHA_RULES))
def ciou_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha_rule: str = "aaai",
    detach_alpha: bool = True,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Complete-IoU loss: DIoU plus an aspect-ratio term, :math:`1 - \mathrm{IoU} + \rho^2/c^2 + \alpha v`.

    .. math::
        v = \frac{4}{\pi^2}\left(\arctan\frac{w^{g}}{h^{g} + \epsilon}
            - \arctan\frac{w}{h + \epsilon}\right)^2,
        \qquad \alpha = \frac{v}{(1 - \mathrm{IoU}) + v + \epsilon}

    ``α`` is a trade-off weight treated as a constant in the backward pass (the paper's analysis, its
    authors' code, torchvision and ultralytics all do this): only ``v`` is differentiated.

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        alpha_rule: ``"aaai"`` (default, the AAAI 2020 paper) or ``"tcyb"`` (the journal version: α = 0
            when IoU < 0.5, so the aspect ratio only matters once the boxes overlap well).
        detach_alpha: True (default) treats α as a constant; False differentiates it too (for analysis).
        box_format: {box_format}
        eps: ε of the denominators and of the heights inside ``atan``, default 1e-7.
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`.

    Note:
        With ``ε`` in the heights, ``atan(w / (h + ε))`` is finite with a finite gradient for a zero-height
        box, where ``torchvision.ops.complete_box_iou_loss`` gives a NaN gradient (and a NaN value for a
        point box).

    References:
        Zheng, Wang, Liu, Li, Ye, Ren, *Distance-IoU Loss: Faster and Better Learning for Bounding Box
        Regression*, AAAI 2020 (arXiv 1911.08287). Zheng et al., *Enhancing Geometric Factors in Model
        Learning and Inference for Object Detection and Instance Segmentation*, IEEE Trans. Cybernetics
        2021 (arXiv 2005.03572) for ``alpha_rule="tcyb"``.

    Example:
        >>> import torch
        >>> from losskit.functional import ciou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> ciou_loss(p, g).item()
        0.74839638
        >>> ciou_loss(p, g, alpha_rule="tcyb").item()  # IoU < 0.5: α = 0, the DIoU loss
        0.74553571
    """
    fn = "ciou_loss"
    _no_3d(fn, box_format, "CIoU's aspect-ratio term v is defined for 2-D boxes only")
    checks.check_option(fn, "alpha_rule", alpha_rule, _ALPHA_RULES)
    checks.check_flag(fn, "detach_alpha", detach_alpha)
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, finite_in_result=True)
    loss = _family_loss("ciou", x, y, box_format, eps, alpha_rule, detach_alpha)
    return _finish(fn, loss, reduction, w, input, target, normalizer, process_group)


@declare(box_format=OneOf(LOSS_FORMATS), eps=NONNEGATIVE)
def eiou_loss(
    input: Tensor,
    target: Tensor,
    *,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Efficient-IoU loss: DIoU with CIoU's aspect term replaced by separate width and height terms.

    .. math::
        \ell = 1 - \mathrm{IoU} + \frac{\rho^2}{c^2 + \epsilon} + \frac{(w - w^{g})^2}{c_w^2 + \epsilon}
             + \frac{(h - h^{g})^2}{c_h^2 + \epsilon}

    ``c_w``, ``c_h`` are the width and height of the smallest enclosing box. Unlike CIoU's ``v``, which
    only sees the aspect ratio, the width and height errors are penalised directly.
    (mmdetection's ``EIoULoss`` is a different loss, Peng & Yu's "Extended IoU".)

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        box_format: {box_format}
        eps: ε of the denominators, default 1e-7.
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`.

    References:
        Zhang, Ren, Zhang, Jia, Wang, Tan, *Focal and Efficient IOU Loss for Accurate Bounding Box
        Regression*, Neurocomputing 2022 (arXiv 2101.08158).

    Example:
        >>> import torch
        >>> from losskit.functional import eiou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> eiou_loss(p, g).item()  # 1 - 4/14 + 1/32 + 0/16 + 4/16
        0.99553571
    """
    fn = "eiou_loss"
    _no_3d(fn, box_format, "EIoU's width and height terms have no agreed 3-D form")
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction, finite_in_result=True)
    return _finish(
        fn,
        _family_loss("eiou", x, y, box_format, eps),
        reduction,
        w,
        input,
        target,
        normalizer,
        process_group,
    )


@declare(box_format=OneOf(LOSS_FORMATS), eps=NONNEGATIVE, gamma=NONNEGATIVE)
def focal_eiou_loss(
    input: Tensor,
    target: Tensor,
    *,
    gamma: float = 0.5,
    detach_weight: bool = True,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Focal-EIoU loss: EIoU re-weighted by :math:`\mathrm{IoU}^\gamma`, normalised over the batch.

    .. math::
        L = \frac{\sum_i \mathrm{IoU}_i^{\gamma}\, \ell^{\mathrm{EIoU}}_i}{\sum_i \mathrm{IoU}_i^{\gamma}}

    The focal factor favours well-overlapping (high quality) boxes over the many poor ones; dividing by
    the summed factor (the paper's "weight sum per batch") keeps the loss on the scale of EIoU. "The
    batch" is every box of the call. The factor ``IoU^γ`` and its sum are constants in the backward pass
    by default (``detach_weight=True``).

    Reductions, chosen so that ``"mean" == none.mean()`` and ``"sum" == none.sum()``:
    ``"none"`` returns ``IoUᵢ^γ · ℓᵢ / m`` with ``m = mean_j IoU_j^γ``, the per-box terms re-weighted to
    average 1 over the batch; ``"mean"`` is :math:`L`; ``"sum"`` is ``N · L``. A per-box ``weight`` ``w``
    gives :math:`\sum w_i \mathrm{IoU}_i^\gamma \ell_i / \sum w_i \mathrm{IoU}_i^\gamma` for ``"mean"``.
    Because of the normalisation, each box's ``"none"`` value depends on the whole batch.

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        gamma: focusing exponent γ >= 0, default 0.5 (the paper's choice); γ = 0 is :func:`eiou_loss`.
        detach_weight: True (default) treats ``IoU^γ`` and its batch sum as constants (gradients flow
            only through EIoU); False differentiates them too. With a ``process_group`` the batch mean of
            ``IoU^γ`` is that of every rank's boxes (one more all-reduce of 2 numbers).
        box_format: {box_format}
        eps: ε of the denominators, default 1e-7.
        weight: {weight_per_box}
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``, as above.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`, and for γ < 0.

    Note:
        With γ > 0 a box without overlap has weight 0; a batch in which no box overlaps its target gives
        0 (with zero gradient): warm up with :func:`eiou_loss` if that can happen.

    References:
        Zhang, Ren, Zhang, Jia, Wang, Tan, *Focal and Efficient IOU Loss for Accurate Bounding Box
        Regression*, Neurocomputing 2022 (arXiv 2101.08158).

    Example:
        >>> import torch
        >>> from losskit.functional import focal_eiou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0], [0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0], [0.2, 0.1, 2.2, 2.3]], dtype=torch.float64)
        >>> focal_eiou_loss(p, g).item()
        0.59017451
    """
    fn = "focal_eiou_loss"
    _no_3d(fn, box_format, "EIoU's width and height terms have no agreed 3-D form")
    gam = checks.check_number(fn, "gamma", gamma, low=0.0)
    checks.check_flag(fn, "detach_weight", detach_weight)
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction)
    loss = _family_loss("eiou", x, y, box_format, eps)
    p, g = _boxes(x, y, box_format)
    if detach_weight:
        with torch.no_grad():
            iou = geo.overlap(p, g, eps).iou
    else:
        iou = geo.overlap(p, g, eps).iou
    factor = torch.ones_like(iou) if gam == 0.0 else geo.safe_pow(iou, gam)
    if w is None:
        num, den = (
            factor.sum(),
            torch.full((), float(factor.numel()), dtype=factor.dtype, device=factor.device),
        )
    else:
        wb = torch.broadcast_to(w, factor.shape)
        num, den = (factor * wb).sum(), wb.sum()
    group = dist_.resolve_group(fn, process_group)
    if group is not None:  # the mean of the factor is a batch statistic: that of every rank's boxes
        num, den = dist_.all_reduce_sum(torch.stack([num, den.to(num.dtype)]), group).unbind(0)
    # m = weighted mean of the factor; m = 0 (empty batch, zero weights, no overlap anywhere) gives 0 terms.
    m = num / torch.where(den > 0, den, torch.ones_like(den))
    values = factor * loss / torch.where(m > 0, m, torch.ones_like(m))
    return _finish(fn, values, reduction, w, input, target, normalizer, process_group)


@declare(box_format=OneOf(LOSS_FORMATS), eps=NONNEGATIVE, lambda_=NONNEGATIVE)
def cdiou_loss(
    input: Tensor,
    target: Tensor,
    *,
    lambda_: float = 1.0,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Control-Distance IoU loss: :math:`(1 - \mathrm{IoU}) + \lambda\, \mathrm{diou}`.

    .. math::
        \mathrm{diou} = \frac{\|A - E\| + \|B - F\| + \|C - G\| + \|D - H\|}{4\,\|W - Y\| + \epsilon}

    ``A, B, C, D`` are the predicted box's corners, ``E, F, G, H`` the target's matching corners and
    ``WY`` the diagonal of the smallest enclosing box: diou is the mean corner distance relative to that
    diagonal, in [0, 1]. This is the paper's formula, applied to the predictions (the authors' released
    code applies it between anchors and targets and uses a different diagonal).

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        lambda_: weight λ >= 0 of the distance term, default 1.
        box_format: {box_format}
        eps: ε of the denominators, default 1e-7.
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`, and for λ < 0.

    Note:
        A corner distance of exactly 0 has the sub-gradient 0 (the Euclidean norm is not differentiable
        there); values and gradients are finite for identical and degenerate boxes.

    References:
        Chen, Miao, *Control Distance IoU and Control Distance IoU Loss Function for Better Bounding Box
        Regression*, arXiv 2103.11696 (2021).

    Example:
        >>> import torch
        >>> from losskit.functional import cdiou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> cdiou_loss(p, g).item()  # 1 - 4/14 + (4·√2) / (4·√32)
        0.96428571
    """
    fn = "cdiou_loss"
    _no_3d(fn, box_format, "CDIoU's diagonal-vertex distances are defined for 2-D boxes only")
    lam = checks.check_number(fn, "lambda_", lambda_, low=0.0)
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction)
    p, g = _boxes(x, y, box_format)
    ov = geo.overlap(p, g, eps)
    cw, ch = geo.enclosing(p, g)
    dx1, dy1, dx2, dy2 = p.x1 - g.x1, p.y1 - g.y1, p.x2 - g.x2, p.y2 - g.y2
    ex1, ey1, ex2, ey2 = dx1 * dx1, dy1 * dy1, dx2 * dx2, dy2 * dy2
    corners = (
        geo.safe_sqrt(ex1 + ey1)
        + geo.safe_sqrt(ex2 + ey1)
        + geo.safe_sqrt(ex2 + ey2)
        + geo.safe_sqrt(ex1 + ey2)
    )
    diag = geo.safe_sqrt(cw * cw + ch * ch)
    loss = 1.0 - ov.iou + lam * corners / (4.0 * diag + eps)
    return _finish(fn, loss, reduction, w, input, target, normalizer, process_group)


@declare(box_format=OneOf(LOSS_FORMATS), eps=NONNEGATIVE, theta=Number(low=1.0))
def siou_loss(
    input: Tensor,
    target: Tensor,
    *,
    theta: float = 4.0,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""SCYLLA-IoU loss: IoU plus angle-aware distance and shape costs.

    .. math::
        \ell = 1 - \mathrm{IoU} + \frac{\Delta + \Omega}{2},\qquad
        \Delta = \sum_{t=x,y} \left(1 - e^{-(2-\Lambda)\rho_t}\right),\qquad
        \Omega = \sum_{t=w,h} \left(1 - e^{-\omega_t}\right)^{\theta}

    with the angle cost :math:`\Lambda = 1 - 2\sin^2(\arcsin(|d_y|/\sigma) - \pi/4) = 2|d_x d_y|/\sigma^2`
    (``d`` the offset of the centres, ``σ = ‖d‖``), :math:`\rho_x = d_x^2/c_w^2`,
    :math:`\rho_y = d_y^2/c_h^2` (``c_w, c_h`` of the smallest enclosing box) and
    :math:`\omega_w = |w - w^{g}|/\max(w, w^{g})`, :math:`\omega_h = |h - h^{g}|/\max(h, h^{g})`.
    ``Λ`` is 0 when the centres are aligned along an axis and 1 on a diagonal; the distance cost grows as
    the boxes move apart, as in the paper (mmdetection's ``SIoULoss`` flips the sign of that term by
    default, so its loss falls as the boxes separate; YOLOv6 follows the paper).

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        theta: shape-cost exponent θ >= 1, default 4 (the paper's range is 2 to 6; θ < 1 would make the
            gradient unbounded at a perfect shape).
        box_format: {box_format}
        eps: ε of the denominators (``c_w² + ε``, ``c_h² + ε``, ``max(w, wᵍ) + ε``), default 1e-7; the
            angle cost needs none (it is 0 when the centres coincide).
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`, and for θ < 1.

    References:
        Gevorgyan, *SIoU Loss: More Powerful Learning for Bounding Box Regression*, arXiv 2205.12740 (2022).

    Example:
        >>> import torch
        >>> from losskit.functional import siou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> siou_loss(p, g).item()
        0.78502159
        >>> siou_loss(p, torch.tensor([[2.0, 2.0, 5.0, 6.0]], dtype=torch.float64)).item()  # Λ = 0.8
        1.01045915
    """
    fn = "siou_loss"
    _no_3d(fn, box_format, "SIoU's angle cost is defined in the image plane only")
    th = checks.check_number(fn, "theta", theta, low=1.0)
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction)
    p, g = _boxes(x, y, box_format)
    ov = geo.overlap(p, g, eps)
    cw, ch = geo.enclosing(p, g)
    dx, dy = geo.centre_offset(p, g)
    dx2, dy2 = dx * dx, dy * dy
    # Λ = 2|sin α cos α| from the unit offset (dx, dy)/σ: scale free, and 0 with gradient 0 when σ = 0.
    sigma2 = dx2 + dy2
    moved = sigma2 > 0
    sigma = geo.safe_sqrt(sigma2)
    safe_sigma = torch.where(moved, sigma, torch.ones_like(sigma))
    angle = torch.where(moved, 2.0 * ((dx / safe_sigma) * (dy / safe_sigma)).abs(), torch.zeros_like(sigma))
    gam = 2.0 - angle
    distance = -torch.expm1(-gam * dx2 / (cw * cw + eps)) - torch.expm1(-gam * dy2 / (ch * ch + eps))
    om_w = (p.w - g.w).abs() / (torch.maximum(p.w, g.w) + eps)
    om_h = (p.h - g.h).abs() / (torch.maximum(p.h, g.h) + eps)
    shape = (-torch.expm1(-om_w)).pow(th) + (-torch.expm1(-om_h)).pow(th)
    loss = 1.0 - ov.iou + 0.5 * (distance + shape)
    return _finish(fn, loss, reduction, w, input, target, normalizer, process_group)


@declare(box_format=OneOf(LOSS_FORMATS), eps=NONNEGATIVE, alpha=POSITIVE, kind=OneOf(KINDS))
def alpha_iou_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 3.0,
    kind: str = "iou",
    detach_beta: bool = True,
    box_format: str = "xyxy",
    eps: float = EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Alpha-IoU loss: the IoU and its penalty raised to a power α.

    .. math::
        \ell = 1 - \mathrm{IoU}^{\alpha} + \mathcal R^{\alpha},\qquad
        \mathcal R = \begin{cases} 0 & \text{iou} \\ (|C| - U)/|C| & \text{giou} \\
        \rho^2/c^2 & \text{diou} \\ \rho^2/c^2 \text{ and } \beta v & \text{ciou} \end{cases}

    For ``kind="ciou"`` the penalty is ``(ρ²/c²)^α + (βv)^α`` with CIoU's ``v`` and trade-off
    ``β = v / ((1 - IoU) + v + ε)`` (a constant in the backward pass by default). α > 1 up-weights the loss
    and gradient of high-IoU boxes, which the paper finds improves accuracy at strict IoU thresholds;
    α = 1 gives back the plain IoU / GIoU / DIoU / CIoU losses.

    Args:
        input: predicted boxes ``(..., 4)``.
        target: target boxes, the same shape.
        alpha: the power α > 0, default 3 (the paper's recommendation).
        kind: ``"iou"`` (default), ``"giou"``, ``"diou"`` or ``"ciou"``.
        detach_beta: for ``kind="ciou"``, treat β as a constant (default True, as CIoU).
        box_format: {box_format}
        eps: ε of the denominators, default 1e-7.
        weight: {weight_per_box}
        reduction: {reduction_per_box}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; ``(...)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`iou_loss`, and for α <= 0 or an unknown ``kind``.

    Note:
        Powers are taken with value and gradient 0 at a base of 0 (for α < 1 the true derivative is
        unbounded there). The GIoU penalty is the non-negative ``(|C| - U)/|C|``, so every kind stays >= 0.

    References:
        He, Erfani, Ma, Bailey, Chi, Hua, *Alpha-IoU: A Family of Power Intersection over Union Losses for
        Bounding Box Regression*, NeurIPS 2021 (arXiv 2110.13675).

    Example:
        >>> import torch
        >>> from losskit.functional import alpha_iou_loss
        >>> p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
        >>> g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
        >>> alpha_iou_loss(p, g).item()  # 1 - (4/14)³
        0.97667638
    """
    fn = "alpha_iou_loss"
    _no_3d(fn, box_format, "its CIoU / DIoU variants are defined for 2-D boxes only")
    a = checks.check_number(fn, "alpha", alpha, low=0.0, low_open=True)
    checks.check_option(fn, "kind", kind, KINDS)
    checks.check_flag(fn, "detach_beta", detach_beta)
    x, y, w = _setup(fn, input, target, weight, box_format, eps, reduction)
    p, g = _boxes(x, y, box_format)
    ov = geo.overlap(p, g, eps)
    loss = 1.0 - geo.safe_pow(ov.iou, a)
    if kind != "iou":
        cw, ch = geo.enclosing(p, g)
        if kind == "giou":
            loss = loss + geo.safe_pow(geo.giou_penalty(ov, cw, ch, eps), a)
        else:
            loss = loss + geo.safe_pow(geo.diou_penalty(p, g, cw, ch, eps), a)
            if kind == "ciou":
                v = geo.aspect_v(p, g, eps)
                beta = geo.ciou_alpha(ov.iou, v, eps, "aaai", detach_beta)
                loss = loss + geo.safe_pow(beta * v, a)
    return _finish(fn, loss, reduction, w, input, target, normalizer, process_group)
