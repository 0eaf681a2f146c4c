"""Independent float64 NumPy references for the multi-label / long-tail family.

Written from the papers' formulas, not from losskit's code, and in a different form where one exists:

* ASL (Ridnik et al. 2021, eq. 1-5): the probabilities themselves, ``p = 1 / (1 + e^-x)``,
  ``p_m = max(p - m, 0)``, and logs of probabilities (no log-space tricks); inputs stay moderate.
* Poly-1 (Leng et al. 2022, eq. 3 and 5): ``CE + eps (1 - Pt)`` with ``Pt = sum(q' * softmax)``.
* balanced softmax (Ren et al. 2020, eq. 4): ``n_y e^{z_y} / sum_j n_j e^{z_j}`` as a ratio.
* logit adjustment (Menon et al. 2021, eq. 10): ``e^{z_y + tau log pi_y} / sum_j e^{z_j + tau log pi_j}``.
* LDAM (Cao et al. 2019, eq. 13): ``Delta_j = C / n_j^{1/4}``, the margin subtracted from the true logit.
* Seesaw (Wang et al. 2021, eq. 1-5): the matrices M and C built entry by entry from count and
  probability *ratios*, one sample at a time.

Reductions follow SPEC §0 (as tests/reference/classification.py): multi-class losses divide ``"mean"`` by the
summed class weight of the non-ignored samples (``sum_k w_k q_k`` for probability targets); ASL is
elementwise and divides by the summed elementwise weight. ``"mean"`` / ``"sum"`` return Python floats.
"""

from __future__ import annotations

import math

import numpy as np


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _reduce(loss, normaliser, reduction):
    loss = _f64(loss)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return float(np.sum(loss))
    if reduction != "mean":
        raise ValueError(reduction)
    total = float(np.sum(normaliser))
    return 0.0 if total == 0.0 else float(np.sum(loss) / total)


def _softmax(z):
    """softmax over the last axis (max subtracted)."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _rows(input, target, dim, weight, ignore_index):
    """Class axis last, flattened: (z (M, C), target rows, is_index, w (C,), spatial shape)."""
    z = np.moveaxis(_f64(input), dim % np.ndim(input), -1)
    C = z.shape[-1]
    spatial = z.shape[:-1]
    w = np.ones(C) if weight is None else _f64(weight)
    is_index = np.issubdtype(np.asarray(target).dtype, np.integer)
    if is_index:
        t = np.asarray(target).astype(np.int64).reshape(-1)
    else:
        t = np.moveaxis(_f64(target), dim % np.ndim(input), -1).reshape(-1, C)
    return z.reshape(-1, C), t, is_index, w, spatial


def _soft_ce(probs_row, q_row, w):
    """-sum_k w_k q_k log p_k."""
    out = 0.0
    for k in range(len(q_row)):
        if q_row[k] != 0.0:
            out -= w[k] * q_row[k] * math.log(probs_row[k])
    return out


def _multiclass(input, target, *, dim, weight, ignore_index, label_smoothing, probs_of_row, reduction):
    """Shared driver: ``probs_of_row(z_row, y_or_None)`` gives the (adjusted) class probabilities of a row."""
    z, t, is_index, w, spatial = _rows(input, target, dim, weight, ignore_index)
    C = z.shape[-1]
    loss = np.zeros(len(z))
    norm = np.zeros(len(z))
    for i in range(len(z)):
        if is_index:
            if t[i] == ignore_index:
                continue
            q = np.zeros(C)
            q[t[i]] = 1.0
            probs = probs_of_row(z[i], int(t[i]))
        else:
            q = t[i]
            probs = probs_of_row(z[i], None)
        qs = (1.0 - label_smoothing) * q + label_smoothing / C
        loss[i] = _soft_ce(probs, qs, w)
        norm[i] = float(np.sum(w * q))
    return _reduce(loss.reshape(spatial), norm, reduction)


# ---------------------------------------------------------------------------------------------------------
# ASL


def asymmetric_loss(
    input,
    target,
    *,
    gamma_pos=0.0,
    gamma_neg=4.0,
    clip=0.05,
    detach_focal_weight=False,
    label_smoothing=0.0,
    ignore_index=None,
    input_type="logits",
    weight=None,
    reduction="mean",
):
    """L+ = (1-p)^g+ log(p) for positives, L- = p_m^g- log(1-p_m) for negatives; soft y mixes them linearly."""
    x = _f64(input)
    if input_type == "logits":
        p = 1.0 / (1.0 + np.exp(-x))
    elif input_type == "probs":
        p = x
    else:
        p = np.exp(x)
    y = _f64(target).copy()
    w = np.ones(x.shape) if weight is None else np.broadcast_to(_f64(weight), x.shape).copy()
    if ignore_index is not None:
        ignored = np.asarray(target) == ignore_index
        y[ignored] = 0.0
        w[ignored] = 0.0
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    pm = np.maximum(p - clip, 0.0)
    pos = (1.0 - p) ** gamma_pos * np.log(p)
    neg = pm**gamma_neg * np.log(1.0 - pm)
    loss = -(y * pos + (1.0 - y) * neg)
    return _reduce(w * loss, w, reduction)


# ---------------------------------------------------------------------------------------------------------
# Poly-1


def poly_loss(
    input,
    target,
    *,
    epsilon=1.0,
    gamma=0.0,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    input_type="logits",
    dim=1,
    reduction="mean",
):
    """FL_gamma(q') + eps * (sum_k w_k q'_k) * (1 - Pt)^(gamma+1), Pt = sum_k q'_k p_k (p = softmax)."""
    z, t, is_index, w, spatial = _rows(input, target, dim, weight, ignore_index)
    C = z.shape[-1]
    loss = np.zeros(len(z))
    norm = np.zeros(len(z))
    for i in range(len(z)):
        if input_type == "logits":
            p = _softmax(z[i])
        elif input_type == "probs":
            p = z[i]
        else:
            p = np.exp(z[i])
        if is_index:
            if t[i] == ignore_index:
                continue
            q = np.zeros(C)
            q[t[i]] = 1.0
        else:
            q = t[i]
        qs = (1.0 - label_smoothing) * q + label_smoothing / C
        focal = -sum(w[k] * qs[k] * (1.0 - p[k]) ** gamma * math.log(p[k]) for k in range(C) if qs[k] != 0.0)
        pt = float(np.sum(qs * p))
        loss[i] = focal + epsilon * float(np.sum(w * qs)) * (float(np.sum(qs)) - pt) ** (gamma + 1.0)
        norm[i] = float(np.sum(w * q))
    return _reduce(loss.reshape(spatial), norm, reduction)


# ---------------------------------------------------------------------------------------------------------
# logit adjustment


def balanced_softmax_loss(
    input,
    target,
    *,
    class_counts,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    dim=1,
    reduction="mean",
):
    """phi_j = n_j e^{z_j} / sum_i n_i e^{z_i} (Ren et al., eq. 4); the loss is -sum q' log phi."""
    n = _f64(class_counts)

    def probs(zr, _y):
        m = np.max(zr)
        num = n * np.exp(zr - m)
        return num / np.sum(num)

    return _multiclass(
        input,
        target,
        dim=dim,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        probs_of_row=probs,
        reduction=reduction,
    )


def logit_adjusted_cross_entropy(
    input,
    target,
    *,
    class_priors,
    tau=1.0,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    dim=1,
    reduction="mean",
):
    """softmax(z_j + tau log pi_j) (Menon et al., eq. 10), with pi normalised to sum to 1."""
    pi = _f64(class_priors) / float(np.sum(class_priors))

    def probs(zr, _y):
        return _softmax(zr + tau * np.log(pi))

    return _multiclass(
        input,
        target,
        dim=dim,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        probs_of_row=probs,
        reduction=reduction,
    )


# ---------------------------------------------------------------------------------------------------------
# LDAM


def ldam_margins(class_counts, max_margin):
    """Delta_j = C / n_j^{1/4} with C such that max_j Delta_j = max_margin."""
    n = _f64(class_counts)
    const = max_margin * float(np.min(n)) ** 0.25  # the rarest class gets max_margin
    return const / n**0.25


def ldam_loss(
    input,
    target,
    *,
    class_counts,
    max_margin=0.5,
    scale=30.0,
    weight=None,
    ignore_index=-100,
    dim=1,
    reduction="mean",
):
    """-log e^{s(z_y - D_y)} / (e^{s(z_y - D_y)} + sum_{j != y} e^{s z_j}) (Cao et al., eq. 13)."""
    delta = ldam_margins(class_counts, max_margin)

    def probs(zr, y):
        a = scale * zr.copy()
        a[y] = scale * (zr[y] - delta[y])
        return _softmax(a)

    return _multiclass(
        input,
        target,
        dim=dim,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=0.0,
        probs_of_row=probs,
        reduction=reduction,
    )


# ---------------------------------------------------------------------------------------------------------
# Seesaw


def seesaw_factors(z_row, y, counts, p, q):
    """S_{y j} = M_{y j} C_{y j} for one sample (Wang et al., eq. 3-5); counts below 1 count as 1."""
    n = np.maximum(_f64(counts), 1.0)
    sigma = _softmax(z_row)
    C = len(z_row)
    s = np.ones(C)
    for j in range(C):
        if j == y:
            continue
        m = (n[j] / n[y]) ** p if n[y] > n[j] else 1.0
        c = (sigma[j] / sigma[y]) ** q if sigma[j] > sigma[y] else 1.0
        s[j] = m * c
    return s


def seesaw_loss(
    input, target, *, class_counts, p=0.8, q=2.0, weight=None, ignore_index=-100, dim=1, reduction="mean"
):
    """sigma_hat_y = e^{z_y} / (e^{z_y} + sum_{j != y} S_{yj} e^{z_j}); loss = -w_y log sigma_hat_y."""

    def probs(zr, y):
        s = seesaw_factors(zr, y, class_counts, p, q)
        e = np.exp(zr - np.max(zr))
        out = np.full(len(zr), np.nan)  # only the true class's entry is read
        out[y] = e[y] / (e[y] + float(np.sum(np.delete(s * e, y))))
        return out

    return _multiclass(
        input,
        target,
        dim=dim,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=0.0,
        probs_of_row=probs,
        reduction=reduction,
    )
