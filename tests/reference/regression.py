"""Independent float64 NumPy references for the regression family, the multi-bin loss and the penalties.

Written from the formulas of SPEC.md §2, §2.1 and §2.2, never from losskit's code. Only NumPy (and the
standard library) is used; loops appear where they make a formula obvious (the multi-bin reference works
sample by sample).

Reduction convention (as tests/reference/classification.py): ``"none"`` returns ``weight * loss``;
``"sum"`` the sum of that; ``"mean"`` divides the sum by the weight broadcast to the loss's shape (the
element count without a weight), and an empty input gives ``0.0``.
"""

from __future__ import annotations

import math

import numpy as np

_REDUCTIONS = ("none", "mean", "sum")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _reduce(loss, weight, reduction):
    assert reduction in _REDUCTIONS
    loss = _f64(loss)
    w = np.ones_like(loss) if weight is None else np.broadcast_to(_f64(weight), loss.shape)
    values = w * loss
    if reduction == "none":
        return values
    if reduction == "sum":
        return float(values.sum())
    denom = float(w.sum())
    return 0.0 if denom == 0.0 else float(values.sum()) / denom


# ---------------------------------------------------------------------------------------------------------
# elementwise losses of SPEC §2


def l1_loss(input, target, *, weight=None, reduction="mean"):
    """|x - y|."""
    return _reduce(np.abs(_f64(input) - _f64(target)), weight, reduction)


def mse_loss(input, target, *, weight=None, reduction="mean"):
    """(x - y)^2."""
    return _reduce((_f64(input) - _f64(target)) ** 2, weight, reduction)


def smooth_l1_loss(input, target, *, beta=1.0, weight=None, reduction="mean"):
    """0.5 x^2 / beta if |x| < beta else |x| - 0.5 beta (beta = 0: |x|)."""
    a = np.abs(_f64(input) - _f64(target))
    if beta == 0:
        loss = a
    else:
        loss = np.where(a < beta, 0.5 * a**2 / beta, a - 0.5 * beta)
    return _reduce(loss, weight, reduction)


def huber_loss(input, target, *, delta=1.0, weight=None, reduction="mean"):
    """0.5 x^2 if |x| <= delta else delta (|x| - 0.5 delta)."""
    a = np.abs(_f64(input) - _f64(target))
    loss = np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))
    return _reduce(loss, weight, reduction)


def pinball(u, tau):
    """rho_tau(u) = u (tau - 1[u < 0]) for the residual u = y - y_hat."""
    u = _f64(u)
    return u * (tau - (u < 0).astype(np.float64))


def quantile_loss(input, target, *, quantiles=0.5, crossing_penalty=0.0, weight=None, reduction="mean"):
    """Pinball loss; a sequence of Q levels compares target[..., None] with input[..., q] for each q.

    crossing_penalty=λ adds λ max(0, input[..., q] - input[..., q + 1]) to entry q for q < Q - 1 (the
    ReLU non-crossing penalty of Tang, Shen, Lin & Huang 2022 over adjacent levels), written as a loop.
    """
    x, y = _f64(input), _f64(target)
    if isinstance(quantiles, (int, float)):
        loss = pinball(y - x, float(quantiles))
    else:
        loss = np.empty_like(x)
        for q, tau in enumerate(quantiles):
            loss[..., q] = pinball(y - x[..., q], float(tau))
            if q + 1 < len(quantiles):
                loss[..., q] += float(crossing_penalty) * np.maximum(x[..., q] - x[..., q + 1], 0.0)
    return _reduce(loss, weight, reduction)


def log_cosh_loss(input, target, *, weight=None, reduction="mean"):
    """log cosh(x) = |x| + log1p(exp(-2|x|)) - log 2 (cosh itself overflows beyond |x| ~ 710)."""
    a = np.abs(_f64(input) - _f64(target))
    return _reduce(a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0), weight, reduction)


def gaussian_nll_loss(
    input, target, *, var=None, log_var=None, full=False, eps=1e-6, weight=None, reduction="mean"
):
    """0.5 [log s2 + r^2 / s2] (+ 0.5 log 2 pi), s2 = max(var, eps) or max(exp(log_var), eps)."""
    assert (var is None) != (log_var is None)
    r = _f64(input) - _f64(target)
    s2 = _f64(var) if var is not None else np.exp(_f64(log_var))
    s2 = np.maximum(s2, eps)
    loss = 0.5 * (np.log(s2) + r**2 / s2)
    if full:
        loss = loss + 0.5 * math.log(2.0 * math.pi)
    return _reduce(np.broadcast_to(loss, r.shape), weight, reduction)


def laplace_nll_loss(
    input, target, *, scale=None, log_scale=None, full=True, eps=1e-6, weight=None, reduction="mean"
):
    """|r| / b + log(2 b) (log b if not full), b = max(scale, eps) or max(exp(log_scale), eps)."""
    assert (scale is None) != (log_scale is None)
    r = _f64(input) - _f64(target)
    b = _f64(scale) if scale is not None else np.exp(_f64(log_scale))
    b = np.maximum(b, eps)
    loss = np.abs(r) / b + np.log(b) + (math.log(2.0) if full else 0.0)
    return _reduce(np.broadcast_to(loss, r.shape), weight, reduction)


# ---------------------------------------------------------------------------------------------------------
# multi-bin (SPEC §2.1), written sample by sample from the codec's configuration


def _wrap(a, period):
    """a modulo period, in [-period/2, period/2)."""
    return (a + period / 2.0) % period - period / 2.0


class Bins:
    """The bin geometry of SPEC §2.1 from a codec's configuration (num_bins, overlap, period, range)."""

    def __init__(self, num_bins, overlap, period=None, range_=None):
        self.n = int(num_bins)
        self.overlap = float(overlap)
        self.period = None if period is None else float(period)
        self.range = None if range_ is None else (float(range_[0]), float(range_[1]))
        if self.period is not None:
            self.width = self.period / self.n
            self.centers = np.arange(self.n) * self.width
        else:
            lo, hi = self.range
            self.width = (hi - lo) / self.n
            self.centers = lo + (np.arange(self.n) + 0.5) * self.width
        self.half = self.width / 2.0 + self.overlap / 2.0

    @classmethod
    def of(cls, codec):
        return cls(codec.num_bins, codec.overlap, codec.period, codec.range)

    def encode_one(self, t):
        """(nearest covering bin, covering mask, residual targets) of one scalar target."""
        t = float(t)
        if self.period is not None:
            d = np.array([_wrap(t - c, self.period) for c in self.centers])
        else:
            d = t - self.centers
        dist = np.abs(d)
        best = int(np.argmin(dist))
        mask = dist <= self.half
        mask[best] = True
        if self.period is not None:
            phi = 2.0 * math.pi * d / self.period
            res = np.stack([np.cos(phi), np.sin(phi)], axis=-1)
        else:
            res = d / self.width
        return best, mask, res

    def decode_one(self, logits, residuals):
        i = int(np.argmax(logits))
        if self.period is not None:
            c, s = residuals[i]
            return _wrap(self.centers[i] + math.atan2(s, c) * self.period / (2.0 * math.pi), self.period)
        return self.centers[i] + self.width * residuals[i]


def multibin_encode(target, *, codec):
    bins = Bins.of(codec)
    flat = _f64(target).reshape(-1)
    out = [bins.encode_one(t) for t in flat]
    shape = _f64(target).shape
    best = np.array([o[0] for o in out], dtype=np.int64).reshape(shape)
    mask = np.array([o[1] for o in out], dtype=bool).reshape((*shape, bins.n))
    res = np.array([o[2] for o in out]).reshape((*shape, *np.shape(out[0][2]))) if out else None
    return best, mask, res


def multibin_decode(bin_logits, residuals, *, codec):
    bins = Bins.of(codec)
    z = _f64(bin_logits)
    r = _f64(residuals)
    shape = z.shape[:-1]
    zf = z.reshape(-1, bins.n)
    rf = r.reshape((-1, *r.shape[len(shape) :]))
    return np.array([bins.decode_one(zi, ri) for zi, ri in zip(zf, rf)]).reshape(shape)


def multibin_loss(
    bin_logits, residuals, target, *, codec, loc_weight=1.0, beta=1.0, weight=None, reduction="mean"
):
    """CE(logits, nearest covering bin) + w * mean over covering bins of the localisation term."""
    bins = Bins.of(codec)
    z = _f64(bin_logits)
    r = _f64(residuals)
    y = _f64(target)
    shape = y.shape
    zf, yf = z.reshape(-1, bins.n), y.reshape(-1)
    rf = r.reshape((-1, *r.shape[len(shape) :]))
    losses = []
    for zi, ri, ti in zip(zf, rf, yf):
        best, mask, res = bins.encode_one(ti)
        m = zi.max()
        log_softmax = zi - m - math.log(np.exp(zi - m).sum())
        conf = -log_softmax[best]
        terms = []
        for k in range(bins.n):
            if not mask[k]:
                continue
            if bins.period is not None:
                # 1 - cos(theta* - c_k - dtheta_k), with dtheta_k the angle of the predicted pair
                dtheta = math.atan2(ri[k][1], ri[k][0])
                phi_star = math.atan2(res[k][1], res[k][0])
                terms.append(1.0 - math.cos(phi_star - dtheta))
            else:
                a = abs(ri[k] - res[k])
                terms.append(a if beta == 0 else (0.5 * a * a / beta if a < beta else a - 0.5 * beta))
        losses.append(conf + loc_weight * float(np.mean(terms)))
    return _reduce(np.array(losses).reshape(shape), weight, reduction)


# ---------------------------------------------------------------------------------------------------------
# penalties (SPEC §2.2): no factor 1/2


def l1_penalty(params):
    return float(sum(np.abs(_f64(p)).sum() for p in params))


def l2_penalty(params):
    return float(sum((_f64(p) ** 2).sum() for p in params))


def poisson_nll_loss(input, target, *, log_input=True, full=False, eps=1e-8, weight=None, reduction="mean"):
    """λ - y log λ (λ = e^x, or λ = x with log(x + eps)), + Stirling y log y - y + ½ log(2π y) for y > 1."""
    x, y = _f64(input), _f64(target)
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        st = np.zeros_like(y)
        big = y > 1
        st[big] = y[big] * np.log(y[big]) - y[big] + 0.5 * np.log(2.0 * math.pi * y[big])
        loss = loss + st
    return _reduce(loss, weight, reduction)
