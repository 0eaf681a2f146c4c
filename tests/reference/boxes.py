"""Independent float64 references for losskit's box utilities and IoU-family losses (SPEC §3).

Written from the formulas in SPEC.md §3 and the papers, not from the torch implementation: every box pair
is handled one at a time with the ``math`` module (corners as points, ``math.atan`` of the ratio, the
SIoU angle cost in the paper's trigonometric form), which keeps each formula readable next to its source.
Only NumPy and ``math`` are used; the batteries are small, so clarity wins over speed.

Conventions (SPEC §3 and losskit's documented decisions):

* ``IoU = I / (U + eps)``, ``eps = 1e-7``; each ratio has ``eps`` in its denominator.
* Widths and heights are clamped at 0: an inverted ``"xyxy"`` (or ``"ltrb"``) box becomes the point box at
  its centre, an ``"xywh"`` box keeps its top-left corner, a ``"cxcywh"`` box keeps its centre.
* ``"ltrb"`` boxes are distances ``(l, t, r, b)`` from a shared point, taken as the origin.
* ``reduction``: ``"none"`` gives ``weight * loss`` per box, ``"sum"`` its sum, ``"mean"`` the sum divided
  by the summed (broadcast) weight, or by the number of boxes without a weight; empty → 0.0.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-7


# ---------------------------------------------------------------------------------------------------------
# one box, one pair


def corners(box, fmt: str) -> tuple[float, float, float, float]:
    """Canonical ``(x1, y1, x2, y2)`` of one box (width and height clamped at 0)."""
    a, b, c, d = (float(v) for v in box)
    if fmt == "ltrb":
        a, b = -a, -b
        fmt = "xyxy"
    if fmt == "xyxy":
        if c < a:
            a = c = (a + c) / 2.0
        if d < b:
            b = d = (b + d) / 2.0
        return a, b, c, d
    w, h = max(c, 0.0), max(d, 0.0)
    if fmt == "xywh":
        return a, b, a + w, b + h
    if fmt == "cxcywh":
        return a - w / 2.0, b - h / 2.0, a + w / 2.0, b + h / 2.0
    raise ValueError(fmt)


class Pair:
    """Every geometric quantity of one (prediction, target) pair, straight from the definitions."""

    def __init__(self, p, g, fmt: str = "xyxy", eps: float = EPS) -> None:
        self.eps = eps
        self.p = px1, py1, px2, py2 = corners(p, fmt)
        self.g = gx1, gy1, gx2, gy2 = corners(g, fmt)
        self.w, self.h = px2 - px1, py2 - py1
        self.wg, self.hg = gx2 - gx1, gy2 - gy1
        iw = max(0.0, min(px2, gx2) - max(px1, gx1))
        ih = max(0.0, min(py2, gy2) - max(py1, gy1))
        self.inter = iw * ih
        self.union = self.w * self.h + self.wg * self.hg - self.inter
        self.iou = self.inter / (self.union + eps)
        self.cw = max(px2, gx2) - min(px1, gx1)
        self.ch = max(py2, gy2) - min(py1, gy1)
        self.c2 = self.cw**2 + self.ch**2
        self.centre_p = ((px1 + px2) / 2.0, (py1 + py2) / 2.0)
        self.centre_g = ((gx1 + gx2) / 2.0, (gy1 + gy2) / 2.0)
        self.rho2 = (self.centre_p[0] - self.centre_g[0]) ** 2 + (self.centre_p[1] - self.centre_g[1]) ** 2

    # penalties -------------------------------------------------------------------------------------
    def giou_penalty(self) -> float:
        area_c = self.cw * self.ch
        return (area_c - self.union) / (area_c + self.eps)

    def diou_penalty(self) -> float:
        return self.rho2 / (self.c2 + self.eps)

    def v(self) -> float:
        e = self.eps
        return 4.0 / math.pi**2 * (math.atan(self.wg / (self.hg + e)) - math.atan(self.w / (self.h + e))) ** 2

    def ciou_alpha(self, rule: str = "aaai") -> float:
        if rule == "tcyb" and self.iou < 0.5:
            return 0.0
        v = self.v()
        return v / ((1.0 - self.iou) + v + self.eps)

    # similarities -----------------------------------------------------------------------------------
    def measure(self, kind: str) -> float:
        if kind == "iou":
            return self.iou
        if kind == "giou":
            return self.iou - self.giou_penalty()
        if kind == "diou":
            return self.iou - self.diou_penalty()
        if kind == "ciou":
            return self.iou - self.diou_penalty() - self.ciou_alpha() * self.v()
        raise ValueError(kind)


# ---------------------------------------------------------------------------------------------------------
# helpers


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _pairs(input, target, fmt: str, eps: float) -> tuple[list[Pair], tuple[int, ...]]:
    x, y = _f64(input), _f64(target)
    assert x.shape == y.shape and x.shape[-1] == 4
    shape = x.shape[:-1]
    flat_x, flat_y = x.reshape(-1, 4), y.reshape(-1, 4)
    return [Pair(a, b, fmt, eps) for a, b in zip(flat_x, flat_y)], shape


def _reduce(loss, reduction: str, weight=None):
    loss = _f64(loss)
    w = np.ones_like(loss) if weight is None else np.broadcast_to(_f64(weight), loss.shape)
    weighted = w * loss
    if reduction == "none":
        return weighted
    total = float(weighted.sum())
    if reduction == "sum":
        return total
    denom = float(w.sum())
    return total / denom if denom != 0 else 0.0


def _per_box(fn, input, target, box_format, eps):
    pairs, shape = _pairs(input, target, box_format, eps)
    return np.array([fn(q) for q in pairs], dtype=np.float64).reshape(shape)


# ---------------------------------------------------------------------------------------------------------
# utilities


def box_convert(boxes, in_format: str, out_format: str):
    b = _f64(boxes)
    a, c, e, f = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    if in_format == "xyxy":
        x1, y1, x2, y2 = a, c, e, f
    elif in_format == "xywh":
        x1, y1, x2, y2 = a, c, a + e, c + f
    else:
        x1, y1, x2, y2 = a - e / 2, c - f / 2, a + e / 2, c + f / 2
    if out_format == "xyxy":
        out = (x1, y1, x2, y2)
    elif out_format == "xywh":
        out = (x1, y1, x2 - x1, y2 - y1)
    else:
        out = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return np.stack(out, axis=-1)


def box_area(boxes, *, box_format: str = "xyxy"):
    b = _f64(boxes)
    flat = b.reshape(-1, 4)
    out = []
    for box in flat:
        x1, y1, x2, y2 = corners(box, box_format)
        out.append((x2 - x1) * (y2 - y1))
    return np.array(out).reshape(b.shape[:-1])


def box_iou(boxes1, boxes2, *, kind: str = "iou", box_format: str = "xyxy", eps: float = EPS):
    return _per_box(lambda q: q.measure(kind), boxes1, boxes2, box_format, eps)


def pairwise_box_iou(boxes1, boxes2, *, kind: str = "iou", box_format: str = "xyxy", eps: float = EPS):
    a, b = _f64(boxes1), _f64(boxes2)
    lead = a.shape[:-2]
    fa, fb = a.reshape(-1, a.shape[-2], 4), b.reshape(-1, b.shape[-2], 4)
    out = np.empty((fa.shape[0], fa.shape[1], fb.shape[1]))
    for k in range(fa.shape[0]):
        for i in range(fa.shape[1]):
            for j in range(fb.shape[1]):
                out[k, i, j] = Pair(fa[k, i], fb[k, j], box_format, eps).measure(kind)
    return out.reshape(*lead, a.shape[-2], b.shape[-2])


# ---------------------------------------------------------------------------------------------------------
# losses


def iou_loss(
    input, target, *, mode="linear", smooth=0.0, box_format="xyxy", eps=EPS, weight=None, reduction="mean"
):
    def one(q: Pair) -> float:
        iou = (q.inter + smooth) / (q.union + smooth + eps) if smooth else q.iou
        if mode == "linear":
            return 1.0 - iou
        if mode == "square":
            return 1.0 - iou**2
        return -math.log(max(iou, eps))

    return _reduce(_per_box(one, input, target, box_format, eps), reduction, weight)


def giou_loss(input, target, *, box_format="xyxy", eps=EPS, weight=None, reduction="mean"):
    return _reduce(
        _per_box(lambda q: 1.0 - q.measure("giou"), input, target, box_format, eps), reduction, weight
    )


def diou_loss(input, target, *, box_format="xyxy", eps=EPS, weight=None, reduction="mean"):
    return _reduce(
        _per_box(lambda q: 1.0 - q.measure("diou"), input, target, box_format, eps), reduction, weight
    )


def ciou_loss(
    input,
    target,
    *,
    alpha_rule="aaai",
    detach_alpha=True,
    box_format="xyxy",
    eps=EPS,
    weight=None,
    reduction="mean",
):
    # detach_alpha changes gradients only, never the value
    def one(q: Pair) -> float:
        return 1.0 - q.iou + q.diou_penalty() + q.ciou_alpha(alpha_rule) * q.v()

    return _reduce(_per_box(one, input, target, box_format, eps), reduction, weight)


def _eiou(q: Pair) -> float:
    e = q.eps
    return (
        1.0 - q.iou + q.diou_penalty() + (q.w - q.wg) ** 2 / (q.cw**2 + e) + (q.h - q.hg) ** 2 / (q.ch**2 + e)
    )


def eiou_loss(input, target, *, box_format="xyxy", eps=EPS, weight=None, reduction="mean"):
    return _reduce(_per_box(_eiou, input, target, box_format, eps), reduction, weight)


def focal_eiou_loss(
    input, target, *, gamma=0.5, detach_weight=True, box_format="xyxy", eps=EPS, weight=None, reduction="mean"
):
    """none_i = w_i IoU_i^γ L_i / m, m = Σ w IoU^γ / Σ w, so mean = Σ w IoU^γ L / Σ w IoU^γ (SPEC §3)."""
    pairs, shape = _pairs(input, target, box_format, eps)
    loss = np.array([_eiou(q) for q in pairs]).reshape(shape)
    iou = np.array([q.iou for q in pairs]).reshape(shape)
    factor = np.ones_like(iou) if gamma == 0 else iou**gamma
    w = np.ones_like(loss) if weight is None else np.broadcast_to(_f64(weight), loss.shape)
    m = float((w * factor).sum() / w.sum()) if w.sum() > 0 else 0.0
    terms = factor * loss / (m if m > 0 else 1.0)
    return _reduce(terms, reduction, weight)


def cdiou_loss(input, target, *, lambda_=1.0, box_format="xyxy", eps=EPS, weight=None, reduction="mean"):
    def one(q: Pair) -> float:
        px1, py1, px2, py2 = q.p
        gx1, gy1, gx2, gy2 = q.g
        a, b, c, d = (px1, py1), (px2, py1), (px2, py2), (px1, py2)  # predicted corners, clockwise
        e, f, g, h = (gx1, gy1), (gx2, gy1), (gx2, gy2), (gx1, gy2)  # target corners, same order
        total = math.dist(a, e) + math.dist(b, f) + math.dist(c, g) + math.dist(d, h)
        wy = math.hypot(q.cw, q.ch)  # diagonal of the enclosing box
        return 1.0 - q.iou + lambda_ * total / (4.0 * wy + eps)

    return _reduce(_per_box(one, input, target, box_format, eps), reduction, weight)


def siou_loss(input, target, *, theta=4.0, box_format="xyxy", eps=EPS, weight=None, reduction="mean"):
    """Gevorgyan 2022, eqs. for Λ, Δ, Ω; the angle in the paper's trigonometric form."""

    def one(q: Pair) -> float:
        (bx, by), (gx, gy) = q.centre_p, q.centre_g
        c_w, c_h = gx - bx, gy - by  # the paper's centre offsets (angle cost)
        sigma = math.hypot(c_w, c_h)
        if sigma > 0:
            x = abs(c_h) / sigma  # sin(alpha)
            angle = 1.0 - 2.0 * math.sin(math.asin(min(x, 1.0)) - math.pi / 4.0) ** 2
        else:
            angle = 0.0
        gamma = 2.0 - angle
        rho_x = c_w**2 / (q.cw**2 + eps)  # distance cost uses the enclosing box
        rho_y = c_h**2 / (q.ch**2 + eps)
        distance = (1.0 - math.exp(-gamma * rho_x)) + (1.0 - math.exp(-gamma * rho_y))
        om_w = abs(q.w - q.wg) / (max(q.w, q.wg) + eps)
        om_h = abs(q.h - q.hg) / (max(q.h, q.hg) + eps)
        shape = (1.0 - math.exp(-om_w)) ** theta + (1.0 - math.exp(-om_h)) ** theta
        return 1.0 - q.iou + (distance + shape) / 2.0

    return _reduce(_per_box(one, input, target, box_format, eps), reduction, weight)


def alpha_iou_loss(
    input,
    target,
    *,
    alpha=3.0,
    kind="iou",
    detach_beta=True,
    box_format="xyxy",
    eps=EPS,
    weight=None,
    reduction="mean",
):
    """He et al. 2021: 1 - IoU^α + R^α (α-CIoU: (ρ²/c²)^α + (βv)^α)."""

    def one(q: Pair) -> float:
        out = 1.0 - q.iou**alpha
        if kind == "giou":
            out += max(q.giou_penalty(), 0.0) ** alpha
        elif kind in ("diou", "ciou"):
            out += q.diou_penalty() ** alpha
            if kind == "ciou":
                out += (q.ciou_alpha() * q.v()) ** alpha
        return out

    return _reduce(_per_box(one, input, target, box_format, eps), reduction, weight)
