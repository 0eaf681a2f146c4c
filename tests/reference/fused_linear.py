"""Float64 NumPy references for the fused-head losses, written from the formulas (not from the kernel).

``linear_cross_entropy``: logits ``u = h Wᵀ + b``, soft-capped ``z = c·tanh(u / c)``, ``L = logsumexp(z)``;
per token ``w_y[(1-ε)(L - z_y) + ζ L²] + (ε/V) Σ_c w_c (L - z_c)`` (0 for ignored tokens); ``"mean"`` divides
by ``Σ w_y`` over non-ignored tokens (or the given normaliser), 0 when that is 0.

``linear_distillation_loss``: ``T² KL(p ‖ q)`` (forward) or ``T² KL(q ‖ p)`` (reverse) with
``p = softmax(teacher / T)``, ``q = softmax(student / T)``; ``"mean"`` over non-ignored tokens.
"""

from __future__ import annotations

import numpy as np


def _lse(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    return z - _lse(z)[:, None]


def linear_cross_entropy(
    hidden,
    weight,
    target,
    *,
    bias=None,
    ignore_index=-100,
    label_smoothing=0.0,
    z_loss=0.0,
    softcap=None,
    class_weight=None,
    reduction="mean",
    normalizer=None,
):
    h = np.asarray(hidden, dtype=np.float64).reshape(-1, np.shape(hidden)[-1])
    w = np.asarray(weight, dtype=np.float64)
    t = np.asarray(target).reshape(-1)
    v = w.shape[0]
    u = h @ w.T + (0.0 if bias is None else np.asarray(bias, dtype=np.float64))
    z = softcap * np.tanh(u / softcap) if softcap is not None else u
    lse = _lse(z)
    cw = np.ones(v) if class_weight is None else np.asarray(class_weight, dtype=np.float64)
    losses = np.zeros(len(t))
    denom = 0.0
    eps = label_smoothing
    for i, y in enumerate(t):
        if y == ignore_index:
            continue
        ce = lse[i] - z[i, y]
        smooth = np.sum(cw * (lse[i] - z[i]))
        losses[i] = cw[y] * ((1 - eps) * ce + z_loss * lse[i] ** 2) + eps / v * smooth
        denom += cw[y]
    if reduction == "none":
        return losses.reshape(np.shape(target)), lse.reshape(np.shape(target))
    if reduction == "sum":
        return float(losses.sum()), lse
    if normalizer is not None:
        denom = float(normalizer)
    return (float(losses.sum() / denom) if denom != 0 else 0.0), lse


def linear_distillation_loss(
    hidden,
    weight,
    teacher,
    *,
    bias=None,
    temperature=1.0,
    direction="forward",
    target=None,
    ignore_index=-100,
    reduction="mean",
):
    h = np.asarray(hidden, dtype=np.float64).reshape(-1, np.shape(hidden)[-1])
    w = np.asarray(weight, dtype=np.float64)
    te = np.asarray(teacher, dtype=np.float64).reshape(h.shape[0], -1)
    s = h @ w.T + (0.0 if bias is None else np.asarray(bias, dtype=np.float64))
    logq = _log_softmax(s / temperature)
    logp = _log_softmax(te / temperature)
    if direction == "forward":
        kl = (np.exp(logp) * (logp - logq)).sum(axis=1)
    else:
        kl = (np.exp(logq) * (logq - logp)).sum(axis=1)
    kl = kl * temperature**2
    keep = np.ones(h.shape[0], bool) if target is None else (np.asarray(target).reshape(-1) != ignore_index)
    kl = np.where(keep, kl, 0.0)
    if reduction == "none":
        return kl.reshape(np.shape(hidden)[:-1])
    if reduction == "sum":
        return float(kl.sum())
    return float(kl.sum() / keep.sum()) if keep.sum() else 0.0
