"""Independent float64 references for the IoU, GIoU and DIoU losses of axis-aligned 3-D boxes.

Written from the papers' definitions with volumes for areas (Rezatofighi et al. CVPR 2019, eq. for GIoU;
Zheng et al. AAAI 2020 for DIoU: squared centre distance over the squared diagonal of the enclosing box),
one box pair at a time with plain Python floats. Conventions as tests/reference/boxes.py: ``eps`` in each
denominator; an inverted ``"xyzxyz"`` extent collapses to its centre, a negative ``"cxcyczwhd"`` size to 0.
"""

from __future__ import annotations

import math

import numpy as np

from tests.reference.boxes import EPS, _reduce


def corners3(box, fmt):
    """((x1, y1, z1), (x2, y2, z2)) of one box."""
    v = [float(t) for t in box]
    lo, hi = [], []
    for k in range(3):
        if fmt == "xyzxyz":
            a, b = v[k], v[k + 3]
            if b < a:
                a = b = (a + b) / 2.0
        else:
            size = max(v[k + 3], 0.0)
            a, b = v[k] - size / 2.0, v[k] + size / 2.0
        lo.append(a)
        hi.append(b)
    return lo, hi


def _one(kind, pb, gb, fmt, eps):
    (pl, ph), (gl, gh) = corners3(pb, fmt), corners3(gb, fmt)
    vol = lambda lo, hi: math.prod(h - lo_ for lo_, h in zip(lo, hi))  # noqa: E731
    inter = math.prod(max(min(ph[k], gh[k]) - max(pl[k], gl[k]), 0.0) for k in range(3))
    union = vol(pl, ph) + vol(gl, gh) - inter
    iou = inter / (union + eps)
    if kind == "iou":
        return iou, inter, union
    enc = [max(ph[k], gh[k]) - min(pl[k], gl[k]) for k in range(3)]
    if kind == "giou":
        c = math.prod(enc)
        return iou - (c - union) / (c + eps), inter, union
    rho2 = sum(((pl[k] + ph[k]) / 2 - (gl[k] + gh[k]) / 2) ** 2 for k in range(3))
    return iou - rho2 / (sum(e * e for e in enc) + eps), inter, union


def _per_box(f, input, target):
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    assert x.shape == y.shape and x.shape[-1] == 6
    out = [f(a, b) for a, b in zip(x.reshape(-1, 6), y.reshape(-1, 6))]
    return np.array(out, dtype=np.float64).reshape(x.shape[:-1])


def iou_loss(
    input, target, *, mode="linear", smooth=0.0, box_format="xyzxyz", eps=EPS, weight=None, reduction="mean"
):
    def f(a, b):
        iou, inter, union = _one("iou", a, b, box_format, eps)
        if smooth:
            iou = (inter + smooth) / (union + smooth + eps)
        if mode == "linear":
            return 1.0 - iou
        if mode == "square":
            return 1.0 - iou**2
        return -math.log(max(iou, eps))

    return _reduce(_per_box(f, input, target), reduction, weight)


def giou_loss(input, target, *, box_format="xyzxyz", eps=EPS, weight=None, reduction="mean"):
    return _reduce(
        _per_box(lambda a, b: 1.0 - _one("giou", a, b, box_format, eps)[0], input, target), reduction, weight
    )


def diou_loss(input, target, *, box_format="xyzxyz", eps=EPS, weight=None, reduction="mean"):
    return _reduce(
        _per_box(lambda a, b: 1.0 - _one("diou", a, b, box_format, eps)[0], input, target), reduction, weight
    )
