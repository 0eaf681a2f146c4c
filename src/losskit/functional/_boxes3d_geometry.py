"""Private geometry of axis-aligned 3-D boxes for the IoU, GIoU and DIoU losses.

Kept apart from the 2-D geometry (:mod:`losskit.functional._boxes_geometry` and the fused kernels), whose
code paths are tuned for speed: 3-D boxes go through plain tensor algebra and autograd. The conventions
are the 2-D ones, one axis more:

* ``"xyzxyz"``: corners ``(x1, y1, z1, x2, y2, z2)``; an inverted extent collapses to its centre (the
  zero-size box there); ``"cxcyczwhd"``: centre and sizes ``(cx, cy, cz, w, h, d)``, negative sizes
  clamped to 0 (the box keeps its centre);
* every ratio carries ``eps`` in its denominator: ``I / (U + eps)``, ``(|C| - U) / (|C| + eps)``,
  ``ρ² / (c² + eps)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from losskit.functional._boxes_geometry import nonneg

FORMATS_3D = ("xyzxyz", "cxcyczwhd")


class Box3(NamedTuple):
    """Canonical low and high corners ``(..., 3)`` and the non-negative sizes ``(..., 3)``."""

    lo: Tensor
    hi: Tensor
    size: Tensor


def as_box3(boxes: Tensor, fmt: str) -> Box3:
    """Canonical corners of ``(..., 6)`` boxes in ``fmt``."""
    a, b = boxes[..., :3], boxes[..., 3:]
    if fmt == "xyzxyz":
        # relu: a valid box comes back bit-exactly (shift 0); an inverted extent collapses to its centre
        shift = torch.relu(a - b) * 0.5
        lo, hi = a - shift, b + shift
        return Box3(lo, hi, hi - lo)
    size = nonneg(b)
    half = size * 0.5
    return Box3(a - half, a + half, size)


def _prod(t: Tensor) -> Tensor:
    x, y, z = t.unbind(-1)
    return x * y * z


def measure3(kind: str, p: Box3, g: Box3, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(similarity, I, U)`` for ``kind`` in iou / giou / diou (the similarity, not the loss)."""
    inter = _prod(nonneg(torch.minimum(p.hi, g.hi) - torch.maximum(p.lo, g.lo)))
    union = _prod(p.size) + _prod(g.size) - inter
    iou = inter / (union + eps)
    if kind == "iou":
        return iou, inter, union
    enclosing = torch.maximum(p.hi, g.hi) - torch.minimum(p.lo, g.lo)
    if kind == "giou":
        vol_c = _prod(enclosing)
        return iou - (vol_c - union) / (vol_c + eps), inter, union
    offset = (p.lo + p.hi - g.lo - g.hi) * 0.5
    rho2 = (offset * offset).sum(-1)
    c2 = (enclosing * enclosing).sum(-1)
    return iou - rho2 / (c2 + eps), inter, union
