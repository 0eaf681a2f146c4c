"""Independent float64 references for the dense detection family, written from the papers.

Gaussian focal: CornerNet (Law & Deng 2018) eq. 1 on probabilities; balanced L1: Libra R-CNN (Pang et al.
2019) eq. 5-6 with the switch point β; Wing: Feng et al. 2018 eq. 5; adaptive Wing: Wang et al. 2019 eq. 8;
GHM-C: Li et al. 2019 §3 with mmdet's bin edges (i/bins, the last moved up by 1e-6) and an explicit loop
over the bins; OKS: the COCO object keypoint similarity with κ = 2σ. Elementwise formulas on NumPy arrays
(numpy's log1p/exp only), loops where they make the definition visible. Reduction as
tests/reference/regression.py.
"""

from __future__ import annotations

import math

import numpy as np

from tests.reference.regression import _f64, _reduce

COCO_SIGMAS = np.array(
    [
        0.026,
        0.025,
        0.025,
        0.035,
        0.035,
        0.079,
        0.079,
        0.072,
        0.072,
        0.062,
        0.062,
        0.107,
        0.107,
        0.087,
        0.087,
        0.089,
        0.089,
    ]
)


def _probs(x, input_type):
    x = _f64(x)
    if input_type == "logits":
        return 1.0 / (1.0 + np.exp(-x))
    if input_type == "log_probs":
        return np.exp(x)
    return x


def gaussian_focal_loss(
    input, target, *, alpha=2.0, beta=4.0, input_type="logits", weight=None, normalizer=None, reduction="mean"
):
    """pos (y == 1): -(1-p)^a log p; neg: -(1-y)^b p^a log(1-p); mean / max(sum(normalizer), 1)."""
    p, y = _probs(input, input_type), _f64(target)
    if input_type == "logits":  # log p and log(1 - p) of a logit, without rounding p first
        x = _f64(input)
        log_p, log_q = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)
    else:
        eps = np.finfo(np.float64).eps
        pc = np.clip(p, eps, 1 - eps)
        log_p, log_q = np.log(pc), np.log1p(-pc)
        p = pc
    loss = np.where(y == 1, -((1 - p) ** alpha) * log_p, -((1 - y) ** beta) * p**alpha * log_q)
    if normalizer is not None and reduction == "mean":
        w = np.ones_like(loss) if weight is None else np.broadcast_to(_f64(weight), loss.shape)
        return float((w * loss).sum()) / max(float(_f64(normalizer).sum()), 1.0)
    return _reduce(loss, weight, reduction)


def balanced_l1_loss(input, target, *, alpha=0.5, gamma=1.5, beta=1.0, weight=None, reduction="mean"):
    """beta * L1(|x| / beta), L1 the paper's loss at switch point 1: a/b (bu + 1) ln(bu + 1) - au below 1,
    g u + g/b - a above; b = e^{g/a} - 1."""
    u = np.abs(_f64(input) - _f64(target)) / beta
    b = math.exp(gamma / alpha) - 1.0
    paper = np.where(
        u < 1, alpha / b * (b * u + 1) * np.log(b * u + 1) - alpha * u, gamma * u + gamma / b - alpha
    )
    loss = beta * paper
    return _reduce(loss, weight, reduction)


def wing_loss(input, target, *, omega=10.0, epsilon=2.0, weight=None, reduction="mean"):
    """w ln(1 + |x|/e) below w, |x| - C above, C = w - w ln(1 + w/e)."""
    x = np.abs(_f64(input) - _f64(target))
    c = omega - omega * math.log(1 + omega / epsilon)
    loss = np.where(x < omega, omega * np.log(1 + x / epsilon), x - c)
    return _reduce(loss, weight, reduction)


def adaptive_wing_loss(
    input, target, *, omega=14.0, theta=0.5, epsilon=1.0, alpha=2.1, weight=None, reduction="mean"
):
    """w ln(1 + |d/e|^(a-y)) below theta, A|d| - C above (eq. 8 of Wang et al.)."""
    yh, y = _f64(input), _f64(target)
    d = np.abs(y - yh)
    q = alpha - y
    big_a = omega * (1 / (1 + (theta / epsilon) ** q)) * q * (theta / epsilon) ** (q - 1) * (1 / epsilon)
    big_c = theta * big_a - omega * np.log(1 + (theta / epsilon) ** q)
    loss = np.where(d < theta, omega * np.log(1 + (d / epsilon) ** q), big_a * d - big_c)
    return _reduce(loss, weight, reduction)


def ghm_c_loss(input, target, *, bins=10, bin_counts=None, weight=None, reduction="mean"):
    """beta_i BCE_i with beta_i = N / (n R(g_i)); N valid elements, n non-empty bins, R the bin's count."""
    x, y = _f64(input), _f64(target)
    p = 1.0 / (1.0 + np.exp(-x))
    g = np.abs(p - y)
    valid = np.ones_like(g, dtype=bool) if weight is None else np.broadcast_to(_f64(weight) > 0, g.shape)
    edges = [i / bins for i in range(bins + 1)]
    edges[-1] += 1e-6
    total = float(valid.sum())
    beta = np.zeros_like(g)
    nonempty = 0
    for i in range(bins):
        in_bin = (g >= edges[i]) & (g < edges[i + 1]) & valid
        count = int(in_bin.sum())
        if count > 0:
            r = count if bin_counts is None else float(_f64(bin_counts)[i])
            beta[(g >= edges[i]) & (g < edges[i + 1])] = total / r
            nonempty += 1
    if nonempty > 0:
        beta = beta / nonempty
    bce = np.logaddexp(0.0, x) - x * y
    return _reduce(beta * bce, weight, reduction)


def oks_loss(input, target, *, area, visibility=None, sigmas=None, eps=1e-9, weight=None, reduction="mean"):
    """1 - sum_k exp(-d_k^2 / (2 s^2 (2 sigma_k)^2)) [v_k > 0] / sum_k [v_k > 0], per instance (0 if none)."""
    x, y, a = _f64(input), _f64(target), _f64(area)
    n, k = x.shape[0], x.shape[1]
    sig = COCO_SIGMAS if sigmas is None else _f64(sigmas)
    vis = np.ones((n, k)) if visibility is None else (_f64(visibility) > 0).astype(np.float64)
    out = np.zeros(n)
    for i in range(n):
        num, den = 0.0, 0.0
        for j in range(k):
            if vis[i, j] > 0:
                d2 = float(((x[i, j] - y[i, j]) ** 2).sum())
                num += math.exp(-d2 / (2 * (a[i] + eps) * (2 * sig[j]) ** 2))
                den += 1
        out[i] = 1 - num / den if den > 0 else 0.0
    return _reduce(out, weight, reduction)
