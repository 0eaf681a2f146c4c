"""Independent float64 references for the boundary-aware segmentation losses.

Written from the papers, not from losskit's code:

* distances come from ``scipy.ndimage.distance_transform_edt`` (not losskit's min-plus transform), one
  (sample, class) slice at a time;
* boundary loss: Kervadec et al. (MIDL 2019, arXiv 1812.07032) eq. 5, the mean of ``phi * s``;
* HD-DT loss: Karimi & Salcudean (TMI 2020, arXiv 1904.10030) eq. 8, ``mean((p - q)^2 (d_p^a + d_q^a))``
  with the unsigned distance to the contour measured from both sides of it;
* soft skeleton: Shit et al. (CVPR 2021, arXiv 2003.07311) Algorithm 1, with erosion and dilation written as
  explicit loops over the neighbour offsets of a padded array (no pooling), and clDice eq. 1-3.

Reductions, activations and targets follow tests/reference/segmentation.py.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

from tests.reference.segmentation import _f64, _probabilities, _reduce


def _dense(input, target):
    """(probability-space input is separate) dense target (N, C, *spatial) from indices or masks."""
    x = _f64(input)
    c = x.shape[1]
    t = np.asarray(target)
    if t.ndim == x.ndim - 1:
        return np.stack([(t == (1 if c == 1 else k)).astype(np.float64) for k in range(c)], axis=1)
    return _f64(t)


def edt_signed(mask):
    """Signed distance (negative inside) of one boolean array; 0 when it is all inside or all outside."""
    mask = np.asarray(mask, dtype=bool)
    if mask.all() or not mask.any():
        return np.zeros(mask.shape)
    return ndimage.distance_transform_edt(~mask) * (~mask) - ndimage.distance_transform_edt(mask) * mask


def signed_distance_map(target, *, num_classes=None, spacing=None):
    """(N, C, *spatial) signed distance maps of index (with num_classes) or mask targets."""
    t = np.asarray(target)
    if num_classes is not None:
        t = np.stack([t == k for k in range(num_classes)], axis=1)
    out = np.zeros(t.shape)
    for i, j in itertools.product(range(t.shape[0]), range(t.shape[1])):
        m = t[i, j].astype(bool)
        if m.all() or not m.any():
            continue
        out[i, j] = (
            ndimage.distance_transform_edt(~m, sampling=spacing) * (~m)
            - ndimage.distance_transform_edt(m, sampling=spacing) * m
        )
    return out


def boundary_loss(
    input,
    target,
    *,
    input_type="logits",
    multilabel=False,
    include_background=True,
    weight=None,
    reduction="mean",
):
    x = _f64(input)
    n, c = x.shape[:2]
    p = _probabilities(x, input_type, bool(multilabel) or c == 1)
    first = 0 if include_background or c == 1 else 1
    phi = _f64(target)
    values = np.zeros((n, c - first))
    for i in range(n):
        for j, k in enumerate(range(first, c)):
            values[i, j] = float(np.mean(phi[i, k] * p[i, k]))
    return _reduce(values, reduction, None if weight is None else _f64(weight)[first:])


def hausdorff_dt_loss(
    input,
    target,
    *,
    alpha=2.0,
    input_type="logits",
    multilabel=False,
    include_background=True,
    weight=None,
    per_image=True,
    reduction="mean",
):
    x = _f64(input)
    n, c = x.shape[:2]
    p = _probabilities(x, input_type, bool(multilabel) or c == 1)
    g = _dense(input, target)
    first = 0 if include_background or c == 1 else 1
    err = np.zeros_like(p)
    for i in range(n):
        for k in range(first, c):
            dp = np.abs(edt_signed(p[i, k] > 0.5))
            dg = np.abs(edt_signed(g[i, k] > 0.5))
            err[i, k] = (p[i, k] - g[i, k]) ** 2 * (dp**alpha + dg**alpha)
    err = err[:, first:]
    axes = tuple(range(2, err.ndim))
    values = err.mean(axis=axes) if per_image else (err.mean(axis=(0, *axes)) if n else np.zeros(c - first))
    return _reduce(values, reduction, None if weight is None else _f64(weight)[first:])


def _neighbour_extreme(img, offsets, op, fill):
    """op over ``img`` shifted by each offset, out-of-image neighbours replaced by ``fill`` (ignored)."""
    pad = np.pad(img, 1, constant_values=fill)
    out = None
    for off in offsets:
        sl = tuple(slice(1 + o, 1 + o + s) for o, s in zip(off, img.shape))
        v = pad[sl]
        out = v if out is None else op(out, v)
    return out


def _erode(img):
    k = img.ndim
    cross = [tuple(0 for _ in range(k))]
    for axis in range(k):
        for d in (-1, 1):
            cross.append(tuple(d if a == axis else 0 for a in range(k)))
    return _neighbour_extreme(img, cross, np.minimum, np.inf)


def _dilate(img):
    square = list(itertools.product((-1, 0, 1), repeat=img.ndim))
    return _neighbour_extreme(img, square, np.maximum, -np.inf)


def soft_skeleton(img, iterations=3):
    """Algorithm 1 of Shit et al. on one spatial array."""
    img = _f64(img)
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    skel = relu(img - _dilate(_erode(img)))
    for _ in range(iterations):
        img = _erode(img)
        delta = relu(img - _dilate(_erode(img)))
        skel = skel + relu(delta - skel * delta)
    return skel


def _r(num, den):
    return 1.0 if den == 0.0 else num / den


def cldice_loss(
    input,
    target,
    *,
    iterations=3,
    smooth=1.0,
    input_type="logits",
    multilabel=False,
    include_background=True,
    weight=None,
    per_image=True,
    reduction="mean",
):
    x = _f64(input)
    n, c = x.shape[:2]
    p = _probabilities(x, input_type, bool(multilabel) or c == 1)
    g = _dense(input, target)
    first = 0 if include_background or c == 1 else 1
    sums = np.zeros((4, n, c - first))
    for i in range(n):
        for j, k in enumerate(range(first, c)):
            sp, sg = soft_skeleton(p[i, k], iterations), soft_skeleton(g[i, k], iterations)
            sums[:, i, j] = [(sp * g[i, k]).sum(), sp.sum(), (sg * p[i, k]).sum(), sg.sum()]
    if not per_image:
        sums = sums.sum(axis=1)

    def score(s):
        prec = _r(s[0] + smooth, s[1] + smooth)
        sens = _r(s[2] + smooth, s[3] + smooth)
        return 1.0 - (0.0 if prec + sens == 0 else 2.0 * prec * sens / (prec + sens))

    values = np.vectorize(lambda *s: score(s))(*sums) if sums[0].size else np.zeros(sums.shape[1:])
    return _reduce(values, reduction, None if weight is None else _f64(weight)[first:])
