"""Independent float64 NumPy references for losskit's segmentation (overlap) losses.

Written from SPEC.md section 4 and the papers, not from the torch implementation: every score is computed
from the list of counted pixels of one (sample, class) group (or one class over the batch), with ignored
and masked pixels *removed* (boolean indexing) rather than zeroed, and the Lovász loss follows Berman et
al.'s Algorithm 1 on those pixels. Only NumPy is used; loops make the grouping explicit.

Conventions shared with the library (SPEC §0 / §4)
--------------------------------------------------
* ``input`` (N, C, *spatial); softmax over C, or a sigmoid per channel when ``multilabel`` or C = 1;
  ``input_type`` "probs" / "log_probs" skip the activation.
* ``target``: integer class indices (N, *spatial) (labels 0 / 1 when C = 1) or dense (N, C, *spatial).
* ``"none"`` returns ``weight * loss`` for the (N, C') matrix, or (C',) with ``per_image=False``;
  ``"sum"`` its sum and ``"mean"`` ``sum(weight * loss) / sum(weight)`` over its entries (weight 1 when
  None; 0 for an empty matrix). ``"mean"`` and ``"sum"`` return Python floats.
* An empty ratio ``0 / 0`` (only possible with ``smooth=0``) counts as a perfect score.
"""

from __future__ import annotations

import math

import numpy as np

EPS = float(np.finfo(np.float64).eps)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    # exp(-|x|) never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _probabilities(x, input_type, sigmoid):
    x = _f64(x)
    if input_type == "probs":
        return x
    if input_type == "log_probs":
        return np.exp(x)
    return _sigmoid(x) if sigmoid else _softmax(x, axis=1)


def _groups(input, target, *, input_type, multilabel, include_background, ignore_index, mask):
    """Flatten to pixels: (input (N, C, P), dense target (N, C, P), kept pixels (N, P), first class, sigmoid)."""
    x = _f64(input)
    n, c = x.shape[:2]
    sigmoid = bool(multilabel) or c == 1
    x = x.reshape(n, c, -1)
    t = np.asarray(target)
    keep = np.ones((n, x.shape[2]), dtype=bool)
    if np.ndim(target) == np.ndim(input) - 1:  # class indices: the input's shape without C
        t = t.reshape(n, -1)
        if ignore_index is not None:
            keep &= t != ignore_index
        gt = np.zeros_like(x)
        for k in range(c):
            label = 1 if c == 1 else k
            gt[:, k] = (t == label).astype(np.float64)
    else:
        gt = _f64(t).reshape(n, c, -1)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool).reshape(n, -1)
    first = 0 if include_background or c == 1 else 1
    return x, gt, keep, first, sigmoid


def _reduce(values, reduction, weight):
    values = _f64(values)
    w = np.ones(values.shape[-1]) if weight is None else _f64(weight)
    wb = np.broadcast_to(w, values.shape)
    if reduction == "none":
        return wb * values
    total = float((wb * values).sum())
    if reduction == "sum":
        return total
    denom = float(wb.sum())
    return 0.0 if denom == 0.0 else total / denom


def _ratio(num, den):
    return 1.0 if den == 0.0 else num / den


def _class_sums(input, target, *, per_image, squared=False, **opts):
    """(TP, Σp, Σg) arrays of shape (N, C') or (C',), from the kept pixels of each group."""
    x, gt, keep, first, sigmoid = _groups(input, target, **opts)
    p = _probabilities(x, opts["input_type"], sigmoid)
    n, c = p.shape[:2]
    classes = range(first, c)
    if per_image:
        out = np.zeros((3, n, c - first))
        for i in range(n):
            for j, k in enumerate(classes):
                pk, gk = p[i, k][keep[i]], gt[i, k][keep[i]]
                out[:, i, j] = _sums(pk, gk, squared)
    else:
        out = np.zeros((3, c - first))
        for j, k in enumerate(classes):
            pk = np.concatenate([p[i, k][keep[i]] for i in range(n)]) if n else np.zeros(0)
            gk = np.concatenate([gt[i, k][keep[i]] for i in range(n)]) if n else np.zeros(0)
            out[:, j] = _sums(pk, gk, squared)
    return out[0], out[1], out[2], first


def _sums(p, g, squared):
    """(TP, Σp, Σg) of one group.

    TP is Wang et al.'s soft-label intersection (|p|₁ + |g|₁ - |p - g|₁) / 2 (Dice semimetric losses,
    MICCAI 2023, arXiv 2303.16296, eq. for the DML): equal to Σ p g when g is binary, and the one that makes
    every score 1 exactly at p = g for soft g. The squared (L2) sums keep Σ p g, which equals
    (|p|² + |g|² - |p - g|²) / 2 for every g.
    """
    if squared:
        return float(np.sum(p * g)), float(np.sum(p * p)), float(np.sum(g * g))
    sp, sg = float(np.sum(p)), float(np.sum(g))
    return 0.5 * (sp + sg - float(np.sum(np.abs(p - g)))), sp, sg


def _nr_dr(smooth, smooth_nr, smooth_dr):
    """MONAI's split smoothing: each of smooth_nr / smooth_dr falls back to smooth."""
    return (smooth if smooth_nr is None else smooth_nr), (smooth if smooth_dr is None else smooth_dr)


def _loss_of(score, log_loss):
    """1 - score, or smp's -log(score) (score floored at the smallest normal float64)."""
    return -np.log(max(score, np.finfo(np.float64).tiny)) if log_loss else 1.0 - score


def _class_weight(weight, first):
    return None if weight is None else _f64(weight)[first:]


def _common(kwargs):
    opts = {
        "input_type": kwargs.pop("input_type", "logits"),
        "multilabel": kwargs.pop("multilabel", False),
        "include_background": kwargs.pop("include_background", True),
        "ignore_index": kwargs.pop("ignore_index", None),
        "mask": kwargs.pop("mask", None),
    }
    return opts


# ---------------------------------------------------------------------------------------------------------
# ratio losses


def dice_loss(
    input,
    target,
    *,
    weight=None,
    smooth=1e-5,
    per_image=True,
    squared=False,
    reduction="mean",
    smooth_nr=None,
    smooth_dr=None,
    log_loss=False,
    **kwargs,
):
    """1 - (2 TP + s_nr) / (Σp + Σg + s_dr) (V-Net: Σp² + Σg² when squared; -log(score) with log_loss)."""
    opts = _common(kwargs)
    nr, dr = _nr_dr(smooth, smooth_nr, smooth_dr)
    tp, sp, sg, first = _class_sums(input, target, per_image=per_image, squared=squared, **opts)
    loss = np.vectorize(lambda a, b, c: _loss_of(_ratio(2 * a + nr, b + c + dr), log_loss))(tp, sp, sg)
    return _reduce(loss, reduction, _class_weight(weight, first))


def jaccard_loss(
    input,
    target,
    *,
    weight=None,
    smooth=1e-5,
    per_image=True,
    reduction="mean",
    squared=False,
    smooth_nr=None,
    smooth_dr=None,
    log_loss=False,
    **kwargs,
):
    """1 - (TP + s_nr) / (Σp + Σg - TP + s_dr) (Σp², Σg² and TP = Σpg when squared)."""
    opts = _common(kwargs)
    nr, dr = _nr_dr(smooth, smooth_nr, smooth_dr)
    tp, sp, sg, first = _class_sums(input, target, per_image=per_image, squared=squared, **opts)
    loss = np.vectorize(lambda a, b, c: _loss_of(_ratio(a + nr, b + c - a + dr), log_loss))(tp, sp, sg)
    return _reduce(loss, reduction, _class_weight(weight, first))


def _tversky(tp, sp, sg, alpha, beta, nr, dr):
    fp = sp - tp  # Σ p (1 - g) for binary g; Wang et al.'s soft FP with the soft TP
    fn = sg - tp  # Σ (1 - p) g for binary g
    return _ratio(tp + nr, tp + alpha * fp + beta * fn + dr)


def tversky_loss(
    input,
    target,
    *,
    alpha=0.5,
    beta=0.5,
    weight=None,
    smooth=1e-5,
    per_image=True,
    reduction="mean",
    smooth_nr=None,
    smooth_dr=None,
    log_loss=False,
    **kwargs,
):
    """1 - (TP + s) / (TP + α FP + β FN + s), α on false positives, β on false negatives."""
    opts = _common(kwargs)
    nr, dr = _nr_dr(smooth, smooth_nr, smooth_dr)
    tp, sp, sg, first = _class_sums(input, target, per_image=per_image, **opts)
    loss = np.vectorize(lambda a, b, c: _loss_of(_tversky(a, b, c, alpha, beta, nr, dr), log_loss))(
        tp, sp, sg
    )
    return _reduce(loss, reduction, _class_weight(weight, first))


def focal_tversky_loss(
    input,
    target,
    *,
    alpha=0.5,
    beta=0.5,
    gamma=0.75,
    weight=None,
    smooth=1e-5,
    per_image=True,
    reduction="mean",
    smooth_nr=None,
    smooth_dr=None,
    **kwargs,
):
    """(1 - T)^γ per (sample, class)."""
    opts = _common(kwargs)
    nr, dr = _nr_dr(smooth, smooth_nr, smooth_dr)
    tp, sp, sg, first = _class_sums(input, target, per_image=per_image, **opts)
    loss = np.vectorize(lambda a, b, c: max(0.0, 1.0 - _tversky(a, b, c, alpha, beta, nr, dr)) ** gamma)(
        tp, sp, sg
    )
    return _reduce(loss, reduction, _class_weight(weight, first))


def generalized_dice_loss(
    input,
    target,
    *,
    weighting="square",
    weight=None,
    smooth=1e-5,
    per_image=True,
    reduction="mean",
    smooth_nr=None,
    smooth_dr=None,
    **kwargs,
):
    """Sudre et al.: 1 - (2 Σ_c w_c TP_c + s) / (Σ_c w_c (Σp + Σg)_c + s), w_c = 1 / V_c²; an absent class
    takes the largest finite weight of its row (all absent: all weights 0)."""
    opts = _common(kwargs)
    nr, dr = _nr_dr(smooth, smooth_nr, smooth_dr)
    tp, sp, sg, first = _class_sums(input, target, per_image=per_image, **opts)
    cw = _class_weight(weight, first)
    rows = [(tp, sp, sg)] if not per_image else [(tp[i], sp[i], sg[i]) for i in range(tp.shape[0])]
    losses = []
    for a, b, vol in rows:
        w = np.zeros_like(vol)
        finite = []
        for k, v in enumerate(vol):
            if v > 0:
                w[k] = {"square": 1.0 / v**2, "simple": 1.0 / v, "uniform": 1.0}[weighting]
                finite.append(w[k])
        top = max(finite) if finite else 0.0
        w = np.where(vol > 0, w, top)
        if cw is not None:
            w = w * cw
        losses.append(1.0 - _ratio(2.0 * float(np.sum(w * a)) + nr, float(np.sum(w * (b + vol))) + dr))
    values = np.asarray(losses) if per_image else np.asarray(losses[0])
    if reduction == "none":
        return values
    if reduction == "sum":
        return float(values.sum())
    return float(values.mean()) if values.size else 0.0


# ---------------------------------------------------------------------------------------------------------
# Lovász (Berman, Rannen Triki, Blaschko, CVPR 2018, Algorithm 1)


def lovasz_grad(gt_sorted):
    """Jaccard-loss increments along labels sorted by decreasing error."""
    gt_sorted = _f64(gt_sorted)
    if gt_sorted.size == 0:
        return gt_sorted
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jaccard = 1.0 - intersection / union
    out = jaccard.copy()
    out[1:] = jaccard[1:] - jaccard[:-1]
    return out


def lovasz_flat(errors, labels):
    """Σ relu(e_sorted) · Δ J (errors of the counted pixels only)."""
    errors, labels = _f64(errors), _f64(labels)
    if errors.size == 0:
        return 0.0
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[order], 0.0), lovasz_grad(labels[order])))


def lovasz_loss(input, target, *, weight=None, per_image=True, reduction="mean", **kwargs):
    """Hinge errors 1 - z (2g - 1) on logits (C = 1 or multilabel) or |g - p| on softmax probabilities."""
    opts = _common(kwargs)
    x, gt, keep, first, sigmoid = _groups(input, target, **opts)
    if sigmoid:
        if opts["input_type"] == "logits":
            z = x
        else:
            p = np.clip(np.exp(x) if opts["input_type"] == "log_probs" else x, EPS, 1.0 - EPS)
            z = np.log(p) - np.log1p(-p)
        errors = 1.0 - z * (2.0 * gt - 1.0)
    else:
        errors = np.abs(gt - _probabilities(x, opts["input_type"], False))
    n, c = x.shape[:2]
    if per_image:
        loss = np.zeros((n, c - first))
        for i in range(n):
            for j, k in enumerate(range(first, c)):
                loss[i, j] = lovasz_flat(errors[i, k][keep[i]], gt[i, k][keep[i]])
    else:
        loss = np.zeros(c - first)
        for j, k in enumerate(range(first, c)):
            e = np.concatenate([errors[i, k][keep[i]] for i in range(n)]) if n else np.zeros(0)
            g = np.concatenate([gt[i, k][keep[i]] for i in range(n)]) if n else np.zeros(0)
            loss[j] = lovasz_flat(e, g)
    return _reduce(loss, reduction, _class_weight(weight, first))


# ---------------------------------------------------------------------------------------------------------
# Matthews correlation coefficient


def mcc_loss(input, target, *, weight=None, eps=1e-5, per_image=True, reduction="mean", **kwargs):
    """1 - (TP·TN - FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)), each count + eps, over the kept pixels."""
    opts = _common(kwargs)
    x, gt, keep, first, sigmoid = _groups(input, target, **opts)
    p = _probabilities(x, opts["input_type"], sigmoid)
    n, c = p.shape[:2]

    def one(pk, gk):
        tp, sp, sg = _sums(pk, gk, False)
        fp, fn = max(sp - tp, 0.0), max(sg - tp, 0.0)
        tn = max(pk.size - tp - fp - fn, 0.0)
        tp, fp, fn, tn = tp + eps, fp + eps, fn + eps, tn + eps
        return 1.0 - (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))

    if per_image:
        loss = np.array(
            [[one(p[i, k][keep[i]], gt[i, k][keep[i]]) for k in range(first, c)] for i in range(n)]
        )
        loss = loss.reshape(n, c - first)
    else:
        loss = np.array(
            [
                one(
                    np.concatenate([p[i, k][keep[i]] for i in range(n)]) if n else np.zeros(0),
                    np.concatenate([gt[i, k][keep[i]] for i in range(n)]) if n else np.zeros(0),
                )
                for k in range(first, c)
            ]
        )
    return _reduce(loss, reduction, _class_weight(weight, first))
