"""Private geometry shared by the box utilities and the IoU-family losses (SPEC §3).

Every quantity is computed on broadcastable coordinate tensors, so the aligned ``(..., 4)`` vs ``(..., 4)``
forms and the pairwise ``(..., N, 1)`` vs ``(..., 1, M)`` forms share one implementation.

Conventions, fixed here once:

* boxes are canonicalised to corners ``(x1, y1, x2, y2)`` with ``x2 >= x1`` and ``y2 >= y1``: a negative
  width or height is clamped to 0 (an inverted box is the zero-area box at its centre for ``"xyxy"`` and
  ``"ltrb"``, and at its anchor point, the corner or the centre, for ``"xywh"`` / ``"cxcywh"``);
* every ratio carries ``eps`` in its denominator (``I / (U + eps)``, ``ρ² / (c² + eps)``, ...), so two
  degenerate boxes give a finite value; square roots and powers whose derivative is unbounded at 0 use
  the "double where" so that the gradient there is the sub-gradient 0 instead of NaN.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

FORMATS = ("xyxy", "xywh", "cxcywh")
LOSS_FORMATS = (*FORMATS, "ltrb")
KINDS = ("iou", "giou", "diou", "ciou")
EPS = 1e-7
_FOUR_OVER_PI2 = 4.0 / math.pi**2


class Box(NamedTuple):
    """Canonical corners and the (non-negative) width and height of a set of boxes."""

    x1: Tensor
    y1: Tensor
    x2: Tensor
    y2: Tensor
    w: Tensor
    h: Tensor

    def expand(self, dim: int) -> Box:
        """Insert a size-1 dimension at ``dim`` in every field (for pairwise broadcasting)."""
        return Box(*(t.unsqueeze(dim) for t in self))


def as_box(boxes: Tensor, fmt: str) -> Box:
    """Canonical corners of ``boxes`` (``(..., 4)`` in ``fmt``), widths and heights clamped at 0."""
    a, b, c, d = boxes.unbind(-1)
    if fmt in ("xyxy", "ltrb"):
        if fmt == "ltrb":  # distances (l, t, r, b) from a shared point, placed at the origin
            a, b = -a, -b
        # An inverted box collapses to its centre; a valid one is returned bit-exactly (the shift is 0).
        # relu has gradient 0 at 0, so a zero-width box gets the gradient of the valid side (it can grow).
        sx, sy = torch.relu(a - c) * 0.5, torch.relu(b - d) * 0.5
        x1, y1, x2, y2 = a - sx, b - sy, c + sx, d + sy
        return Box(x1, y1, x2, y2, x2 - x1, y2 - y1)
    w, h = nonneg(c), nonneg(d)
    if fmt == "xywh":
        return Box(a, b, a + w, b + h, w, h)
    hw, hh = w * 0.5, h * 0.5
    return Box(a - hw, b - hh, a + hw, b + hh, w, h)


def raw_xyxy(boxes: Tensor, fmt: str) -> Tensor:
    """``(..., 4)`` corners ``(x1, y1, x2, y2)`` for the fused kernel.

    Sizes of ``xywh`` / ``cxcywh`` boxes are clamped at 0; ``xyxy`` and ``ltrb`` corners are left as they
    are (the kernel canonicalises inverted corners itself).
    """
    lo, hi = boxes[..., :2], boxes[..., 2:]
    if fmt == "xyxy":
        return boxes
    if fmt == "ltrb":
        return torch.cat((-lo, hi), dim=-1)
    size = nonneg(hi)
    if fmt == "xywh":
        return torch.cat((lo, lo + size), dim=-1)
    half = size * 0.5
    return torch.cat((lo - half, lo + half), dim=-1)


def nonneg(x: Tensor) -> Tensor:
    """``max(x, 0)`` whose gradient at exactly 0 is 1, the derivative from the valid side.

    ``clamp(min=0)`` and ``relu`` pass no gradient at 0, so a zero-width box (or a zero-height intersection)
    would get no signal to grow; here it gets the one-sided derivative of the box it can become.
    """
    return torch.where(x >= 0, x, torch.zeros_like(x))


def safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x >= 0`` whose gradient at 0 is 0 (not inf / NaN)."""
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def safe_pow(x: Tensor, p: float) -> Tensor:
    """``x ** p`` for ``x >= 0``, ``p > 0``; value and gradient 0 at ``x = 0`` (finite for ``p < 1``)."""
    if p == 1.0:
        return x
    pos = x > 0
    return torch.where(pos, torch.where(pos, x, torch.ones_like(x)).pow(p), torch.zeros_like(x))


class Overlap(NamedTuple):
    inter: Tensor
    union: Tensor
    iou: Tensor


def overlap(p: Box, g: Box, eps: float) -> Overlap:
    """Intersection ``I``, union ``U`` and ``IoU = I / (U + eps)``."""
    iw = nonneg(torch.minimum(p.x2, g.x2) - torch.maximum(p.x1, g.x1))
    ih = nonneg(torch.minimum(p.y2, g.y2) - torch.maximum(p.y1, g.y1))
    inter = iw * ih
    union = p.w * p.h + g.w * g.h - inter
    return Overlap(inter, union, inter / (union + eps))


def enclosing(p: Box, g: Box) -> tuple[Tensor, Tensor]:
    """Width and height of the smallest box enclosing both (never negative for canonical boxes)."""
    cw = torch.maximum(p.x2, g.x2) - torch.minimum(p.x1, g.x1)
    ch = torch.maximum(p.y2, g.y2) - torch.minimum(p.y1, g.y1)
    return cw, ch


def centre_offset(p: Box, g: Box) -> tuple[Tensor, Tensor]:
    """Offset of the centres, prediction minus target: ``(dx, dy)``."""
    return ((p.x1 + p.x2) - (g.x1 + g.x2)) * 0.5, ((p.y1 + p.y2) - (g.y1 + g.y2)) * 0.5


def giou_penalty(ov: Overlap, cw: Tensor, ch: Tensor, eps: float) -> Tensor:
    """GIoU's penalty ``|C - (A ∪ B)| / |C| = (|C| - U) / (|C| + eps)``."""
    area_c = cw * ch
    return (area_c - ov.union) / (area_c + eps)


def diou_penalty(p: Box, g: Box, cw: Tensor, ch: Tensor, eps: float) -> Tensor:
    """``ρ² / (c² + eps)``: squared centre distance over the enclosing box's squared diagonal."""
    dx, dy = centre_offset(p, g)
    return (dx * dx + dy * dy) / (cw * cw + ch * ch + eps)


def aspect_v(p: Box, g: Box, eps: float) -> Tensor:
    """CIoU's aspect-ratio term ``v = 4/π² (atan(wᵍ/hᵍ) - atan(w/h))²`` with ``eps`` added to the heights."""
    # h + eps > 0, so the quotient is finite (atan2 would do the same and is several times slower on CPU)
    d = torch.atan(g.w / (g.h + eps)) - torch.atan(p.w / (p.h + eps))
    return _FOUR_OVER_PI2 * d * d


def ciou_alpha(iou: Tensor, v: Tensor, eps: float, rule: str, detach: bool) -> Tensor:
    """CIoU's trade-off ``α = v / ((1 - IoU) + v + eps)``, zero below IoU 0.5 for the journal rule."""
    if detach:
        iou, v = iou.detach(), v.detach()
    alpha = v / ((1.0 - iou) + v + eps)
    if rule == "tcyb":
        alpha = torch.where(iou >= 0.5, alpha, torch.zeros_like(alpha))
    return alpha


def measure(
    kind: str, p: Box, g: Box, eps: float, *, alpha_rule: str = "aaai", detach_alpha: bool = True
) -> Tensor:
    """IoU, GIoU, DIoU or CIoU (the similarity, not the loss) of broadcastable boxes."""
    ov = overlap(p, g, eps)
    if kind == "iou":
        return ov.iou
    cw, ch = enclosing(p, g)
    if kind == "giou":
        return ov.iou - giou_penalty(ov, cw, ch, eps)
    diou = ov.iou - diou_penalty(p, g, cw, ch, eps)
    if kind == "diou":
        return diou
    v = aspect_v(p, g, eps)
    return diou - ciou_alpha(ov.iou, v, eps, alpha_rule, detach_alpha) * v


PAIRWISE_CPU_CHUNK = 1 << 22
"""Entries of the ``(N, M)`` matrix computed at once by :func:`measure_pairwise` on the CPU. Rule: few
blocks. On a busy 2-thread machine every op pays a thread hand-off that can cost milliseconds, and the
block count multiplies the ops (about fifteen per block): at 4096 x 4096, 2**16 (256 blocks) and 2**18
(64) gave medians 2-10x above their minimum, 2**22 (4 blocks) stayed near torchvision's or below. The
four block-sized buffers (16 MiB each in float32) are a quarter of the result each at that size."""
PAIRWISE_DEVICE_CHUNK = 1 << 22
"""The same on other devices: one launch per op fills a GPU; the temporaries stay bounded (16 MiB each)."""


def _nonneg_(x: Tensor) -> Tensor:
    """:func:`nonneg` in place (no gradient): ``x`` where ``x >= 0``, else 0 (NaN included, as there)."""
    return torch.where(x >= 0, x, x.new_zeros(()), out=x)


def _pairwise_block(kind: str, p: Box, g: Box, eps: float, out: Tensor) -> None:
    """:func:`measure` of ``p`` ``(..., r, 1)`` against ``g`` ``(..., 1, M)`` written into ``out``.

    The same ops in the same order as :func:`overlap`, :func:`enclosing`, :func:`centre_offset`,
    :func:`giou_penalty`, :func:`diou_penalty`, :func:`aspect_v` and :func:`ciou_alpha` (hence the same
    bits), each pairwise product written into ``out`` or into a block-sized buffer in place.
    """
    inter = torch.minimum(p.x2, g.x2, out=out)
    inter.sub_(torch.maximum(p.x1, g.x1))
    _nonneg_(inter)
    t = torch.minimum(p.y2, g.y2)
    t.sub_(torch.maximum(p.y1, g.y1))
    inter.mul_(_nonneg_(t))  # I = iw · ih
    union = torch.add(p.w * p.h, g.w * g.h, out=t).sub_(inter)
    if kind == "iou":
        out.div_(union.add_(eps))
        return
    out.div_(torch.add(union, eps))  # IoU
    cw = torch.maximum(p.x2, g.x2).sub_(torch.minimum(p.x1, g.x1))
    ch = torch.maximum(p.y2, g.y2).sub_(torch.minimum(p.y1, g.y1))
    if kind == "giou":
        area_c = cw.mul_(ch)
        penalty = torch.sub(area_c, union, out=ch).div_(area_c.add_(eps))
        out.sub_(penalty)
        return
    iou = union.copy_(out) if kind == "ciou" else None  # the union is no longer needed
    c2 = cw.mul_(cw).add_(ch.mul_(ch)).add_(eps)
    dx = torch.sub(p.x1 + p.x2, g.x1 + g.x2, out=ch).mul_(0.5)
    rho2 = dx.mul_(dx)
    dy = torch.sub(p.y1 + p.y2, g.y1 + g.y2).mul_(0.5)
    rho2.add_(dy.mul_(dy))
    out.sub_(rho2.div_(c2))  # DIoU
    if iou is None:
        return
    d = torch.sub(torch.atan(g.w / (g.h + eps)), torch.atan(p.w / (p.h + eps)), out=c2)
    v = torch.mul(d, _FOUR_OVER_PI2, out=dy).mul_(d)
    alpha = iou.neg_().add_(1.0).add_(v).add_(eps)  # (1 - IoU) + v + ε
    alpha = torch.div(v, alpha, out=alpha)
    out.sub_(alpha.mul_(v))


def measure_pairwise(kind: str, p: Box, g: Box, eps: float) -> Tensor:
    """:func:`measure` of ``p`` ``(..., N, 1)`` against ``g`` ``(..., 1, M)``, ``(..., N, M)``, no autograd.

    The result is the one full-size tensor: it is computed block by block (rows of ``N``, about
    :data:`PAIRWISE_CPU_CHUNK` entries each) with every intermediate either written into the block of the
    result or into a few block-sized buffers updated in place, where :func:`measure` makes some ten
    ``(N, M)`` tensors (three to five alive at once). Only for inputs that need no gradient.
    """
    shape = torch.broadcast_shapes(p.x1.shape, g.x1.shape)
    out = p.x1.new_empty(shape)
    n, m = int(shape[-2]), int(shape[-1])
    lead = max(1, out.numel() // max(1, n * m))
    chunk = PAIRWISE_CPU_CHUNK if out.device.type == "cpu" else PAIRWISE_DEVICE_CHUNK
    rows = max(1, chunk // max(1, lead * m))
    for r0 in range(0, n, rows):
        sl = slice(r0, min(r0 + rows, n))
        _pairwise_block(kind, Box(*(t[..., sl, :] for t in p)), g, eps, out[..., sl, :])
    return out
