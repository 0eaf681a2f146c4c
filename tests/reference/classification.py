"""Independent float64 NumPy references for losskit's classification losses.

Written from the formulas in SPEC.md (sections 0 and 1), not from the torch implementation.
Only NumPy is used. Clarity is preferred over speed: loops appear where they make a formula obvious
(the CTC reference is Graves' alpha recursion, written out in log space).

Shared conventions
------------------
* ``reduction="none"`` returns ``weight * loss`` (weight 1 when None) as a float64 array;
  ``"sum"`` returns ``sum(weight * loss)``; ``"mean"`` returns ``sum(weight * loss) / sum(normaliser)``,
  where the normaliser is the weight broadcast to the unreduced shape (ones when None) unless a function
  says otherwise. A zero normaliser (empty input, everything ignored) gives ``"mean" == 0.0``.
  ``"mean"`` and ``"sum"`` return Python floats.
* Probability inputs are clipped to ``[EPS, 1 - EPS]`` (``EPS`` = float64 machine epsilon) before a log.
* ``base`` divides a loss measured in nats by ``ln(base)``.
"""

from __future__ import annotations

import math

import numpy as np

EPS = float(np.finfo(np.float64).eps)
LOG_EPS = math.log(EPS)
LOG_1M_EPS = math.log1p(-EPS)

_INPUT_TYPES = ("logits", "probs", "log_probs")
_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------------------------------------
# numeric helpers


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _is_index_target(target) -> bool:
    return np.issubdtype(np.asarray(target).dtype, np.integer)


def logsumexp(x, axis):
    """log(sum(exp(x))) along ``axis`` (keepdims), with the max subtracted first."""
    x = _f64(x)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # an all -inf slice stays -inf instead of becoming NaN
    with np.errstate(divide="ignore"):
        return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def log_softmax(x, axis):
    """z_i - m - log sum_j exp(z_j - m)."""
    x = _f64(x)
    return x - logsumexp(x, axis)


def softmax(x, axis):
    return np.exp(log_softmax(x, axis))


def log_sigmoid(x):
    """log(1 / (1 + exp(-x))) = min(x, 0) - log1p(exp(-|x|)); finite for every finite x."""
    x = _f64(x)
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def sigmoid(x):
    return np.exp(log_sigmoid(x))


def log1mexp(a):
    """log(1 - exp(a)) for a <= 0 (Maechler's two-branch formula)."""
    a = _f64(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > -math.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def _xlogy(x, logy):
    """x * logy with 0 * anything = 0 (so 0 * log 0 = 0 and 0 * -inf = 0)."""
    x = _f64(x)
    logy = _f64(logy)
    with np.errstate(invalid="ignore"):
        return np.where(x == 0, 0.0, x * logy)


def _scale_base(loss, base):
    if base is None:
        return loss
    return loss / math.log(base)


def _reduce(loss, reduction, weight=None):
    """The shared rule: none -> w*l, sum -> sum(w*l), mean -> sum(w*l) / sum(w) (0.0 if sum(w) == 0)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}")
    loss = _f64(loss)
    w = np.ones_like(loss) if weight is None else np.broadcast_to(_f64(weight), loss.shape)
    wl = w * loss
    if reduction == "none":
        return wl
    if reduction == "sum":
        return float(np.sum(wl))
    total_w = float(np.sum(w))
    if total_w == 0.0:
        return 0.0
    return float(np.sum(wl) / total_w)


def _reduce_with_normaliser(loss, normaliser, reduction):
    """none -> loss, sum -> sum(loss), mean -> sum(loss) / sum(normaliser) (0.0 if that is 0)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}")
    loss = _f64(loss)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return float(np.sum(loss))
    total = float(np.sum(normaliser))
    if total == 0.0:
        return 0.0
    return float(np.sum(loss) / total)


# ---------------------------------------------------------------------------------------------------------
# turning inputs into log-probabilities


def _multiclass_log_probs(input, input_type, axis):
    """Log-probabilities over ``axis`` for a multi-class input."""
    x = _f64(input)
    if input_type == "logits":
        return log_softmax(x, axis)
    if input_type == "probs":
        return np.log(np.clip(x, EPS, 1.0 - EPS))
    if input_type == "log_probs":
        return x
    raise ValueError(f"unknown input_type {input_type!r}")


def _binary_log_probs(input, input_type):
    """(log p, log(1 - p)) for a binary input."""
    x = _f64(input)
    if input_type == "logits":
        return log_sigmoid(x), log_sigmoid(-x)
    if input_type == "probs":
        p = np.clip(x, EPS, 1.0 - EPS)
        return np.log(p), np.log1p(-p)
    if input_type == "log_probs":
        lp = np.clip(x, LOG_EPS, LOG_1M_EPS)
        return lp, log1mexp(lp)
    raise ValueError(f"unknown input_type {input_type!r}")


def _bce_from_logs(logp, log1mp, y, pos_weight=1.0):
    """-[pw * y * log p + (1 - y) * log(1 - p)] elementwise."""
    y = _f64(y)
    return -(_f64(pos_weight) * _xlogy(y, logp) + _xlogy(1.0 - y, log1mp))


def _one_hot(index, num_classes):
    """One-hot along a new LAST axis."""
    index = np.asarray(index)
    return (index[..., None] == np.arange(num_classes)).astype(np.float64)


def _prepare_multiclass(input, target, *, weight, ignore_index, input_type, dim, mask):
    """Common part of cross_entropy and softmax_focal_loss.

    Returns (logp, q, keep, w) with the class axis moved LAST:
      logp: log-probabilities (..., C)
      q:    unsmoothed target distribution (..., C); zero at ignored positions
      keep: float array (...) with 1 = position counts, 0 = ignored
      w:    class weights (C,)
    """
    x = _f64(input)
    if x.ndim < 1:
        raise ValueError("input needs a class axis")
    axis = dim % x.ndim
    logp = np.moveaxis(_multiclass_log_probs(x, input_type, axis), axis, -1)
    num_classes = logp.shape[-1]
    spatial_shape = logp.shape[:-1]

    if _is_index_target(target):
        t = np.asarray(target).astype(np.int64)
        if t.shape != spatial_shape:
            raise ValueError(f"index target shape {t.shape} != input shape without dim {spatial_shape}")
        keep_bool = t != ignore_index
        if np.any((t[keep_bool] < 0) | (t[keep_bool] >= num_classes)):
            raise ValueError("class index out of range")
        safe = np.where(keep_bool, t, 0)
        q = _one_hot(safe, num_classes)
        if mask is not None:
            keep_bool = keep_bool & np.broadcast_to(np.asarray(mask, dtype=bool), spatial_shape)
    else:
        tq = _f64(target)
        if tq.shape != x.shape:
            raise ValueError(f"probability target shape {tq.shape} != input shape {x.shape}")
        q = np.moveaxis(tq, axis, -1)
        if mask is None:
            keep_bool = np.ones(spatial_shape, dtype=bool)
        else:
            keep_bool = np.broadcast_to(np.asarray(mask, dtype=bool), spatial_shape)

    keep = keep_bool.astype(np.float64)
    q = q * keep[..., None]
    w = np.ones(num_classes) if weight is None else _f64(weight).reshape(num_classes)
    return logp, q, keep, w


def _smooth(q, keep, label_smoothing):
    """q' = (1 - eps) q + eps / C at kept positions; 0 at ignored positions."""
    num_classes = q.shape[-1]
    return ((1.0 - label_smoothing) * q + label_smoothing / num_classes) * keep[..., None]


# ---------------------------------------------------------------------------------------------------------
# 1. cross-entropy family


def cross_entropy(
    input,
    target,
    *,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    input_type="logits",
    dim=1,
    base=None,
    mask=None,
    reduction="mean",
):
    """loss = -sum_k w_k q'_k log p_k per position; mean divides by sum over positions of sum_k w_k q_k."""
    logp, q, keep, w = _prepare_multiclass(
        input, target, weight=weight, ignore_index=ignore_index, input_type=input_type, dim=dim, mask=mask
    )
    q_smooth = _smooth(q, keep, label_smoothing)
    loss = 0.0 - np.sum(w * _xlogy(q_smooth, logp), axis=-1)  # 0.0 - x: ignored rows are +0.0
    loss = _scale_base(loss, base)
    normaliser = np.sum(w * q, axis=-1)  # unsmoothed: w_y for an index target, 0 where ignored
    return _reduce_with_normaliser(loss, normaliser, reduction)


def _binary_extras(input, target, weight, label_smoothing=0.0, ignore_index=None, mask=None):
    """Ignored / masked elements get weight 0 (and target 0); smoothing maps y to y (1 - e) + e / 2."""
    y = _f64(target).copy()
    shape = np.shape(input)
    w = np.ones(shape) if weight is None else np.broadcast_to(_f64(weight), shape).copy()
    if ignore_index is not None:
        ignored = np.asarray(target) == ignore_index
        y[ignored] = 0.0
        w[ignored] = 0.0
    if mask is not None:
        w = w * np.asarray(mask, dtype=np.float64)
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    plain = weight is None and ignore_index is None and mask is None
    return y, (None if plain else w)


def binary_cross_entropy(
    input,
    target,
    *,
    weight=None,
    pos_weight=None,
    label_smoothing=0.0,
    ignore_index=None,
    mask=None,
    input_type="logits",
    reduction="mean",
):
    """l = -[pw * y * log p + (1 - y) * log(1 - p)] elementwise."""
    target, weight = _binary_extras(input, target, weight, label_smoothing, ignore_index, mask)
    logp, log1mp = _binary_log_probs(input, input_type)
    pw = 1.0 if pos_weight is None else _f64(pos_weight)
    loss = _bce_from_logs(logp, log1mp, target, pw)
    loss = np.broadcast_to(loss, np.broadcast_shapes(np.shape(input), np.shape(loss)))
    return _reduce(loss, reduction, weight)


def _alpha_t(y, alpha):
    y = _f64(y)
    if alpha is None:
        return np.ones_like(y)
    return alpha * y + (1.0 - alpha) * (1.0 - y)


def balanced_cross_entropy(input, target, *, alpha=0.75, weight=None, input_type="logits", reduction="mean"):
    """l = alpha_t * BCE, alpha_t = alpha * y + (1 - alpha) * (1 - y); alpha = 0.75 is Lin et al.'s Table 1a best."""
    logp, log1mp = _binary_log_probs(input, input_type)
    y = _f64(target)
    loss = _alpha_t(y, alpha) * _bce_from_logs(logp, log1mp, y)
    return _reduce(loss, reduction, weight)


def sigmoid_focal_loss(
    input,
    target,
    *,
    alpha=0.25,
    gamma=2.0,
    weight=None,
    pos_weight=None,
    label_smoothing=0.0,
    ignore_index=None,
    mask=None,
    input_type="logits",
    reduction="mean",
):
    """l = alpha_t (1 - p_t)^gamma BCE_pw(p, y), p_t = y p + (1 - y)(1 - p); pos_weight scales -y log p."""
    target, weight = _binary_extras(input, target, weight, label_smoothing, ignore_index, mask)
    logp, log1mp = _binary_log_probs(input, input_type)
    y = _f64(target)
    p = np.exp(logp)
    one_minus_p = np.exp(log1mp)
    one_minus_p_t = y * one_minus_p + (1.0 - y) * p  # = 1 - p_t, without cancellation
    pw = 1.0 if pos_weight is None else _f64(pos_weight)
    loss = _alpha_t(y, alpha) * one_minus_p_t**gamma * _bce_from_logs(logp, log1mp, y, pw)
    return _reduce(loss, reduction, weight)


def softmax_focal_loss(
    input,
    target,
    *,
    alpha=None,
    gamma=2.0,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    input_type="logits",
    dim=1,
    mask=None,
    reduction="mean",
):
    """loss = -sum_k w_k a_k q'_k (1 - p_k)^gamma log p_k; normaliser as for cross_entropy."""
    logp, q, keep, w = _prepare_multiclass(
        input, target, weight=weight, ignore_index=ignore_index, input_type=input_type, dim=dim, mask=mask
    )
    num_classes = logp.shape[-1]
    if alpha is None:
        a = np.ones(num_classes)
    elif np.ndim(alpha) == 0:
        a = np.full(num_classes, float(alpha))
    else:
        a = _f64(alpha).reshape(num_classes)
    q_smooth = _smooth(q, keep, label_smoothing)
    one_minus_p = -np.expm1(logp)  # 1 - p_k
    modulator = one_minus_p**gamma
    loss = 0.0 - np.sum(w * a * modulator * _xlogy(q_smooth, logp), axis=-1)
    normaliser = np.sum(w * q, axis=-1)
    return _reduce_with_normaliser(loss, normaliser, reduction)


def quality_focal_loss(
    input,
    target,
    *,
    beta=2.0,
    weight=None,
    ignore_index=None,
    mask=None,
    input_type="logits",
    reduction="mean",
):
    """l = |y - sigma|^beta * BCE(sigma, y) (Li et al., Generalized Focal Loss)."""
    target, weight = _binary_extras(input, target, weight, 0.0, ignore_index, mask)
    logp, log1mp = _binary_log_probs(input, input_type)
    y = _f64(target)
    s = np.exp(logp)
    loss = np.abs(y - s) ** beta * _bce_from_logs(logp, log1mp, y)
    return _reduce(loss, reduction, weight)


def distribution_focal_loss(input, target, *, weight=None, reduction="mean"):
    """l = -[(y_r - y) log S_{y_l} + (y - y_l) log S_{y_r}], S = softmax over the n + 1 bins."""
    x = _f64(input)
    y = _f64(target).copy()
    n_samples, n_bins = x.shape
    n = n_bins - 1
    logS = log_softmax(x, axis=1)
    loss = np.zeros(n_samples)
    for i in range(n_samples):
        yi = y[i]
        if yi >= n:
            yi = n - 1e-3
        yl = math.floor(yi)
        yr = yl + 1
        loss[i] = -((yr - yi) * logS[i, yl] + (yi - yl) * logS[i, yr])
    return _reduce(loss, reduction, weight)


def varifocal_loss(
    input, target, *, alpha=0.75, gamma=2.0, weight=None, ignore_index=None, mask=None, reduction="mean"
):
    """q > 0: -q[q log p + (1 - q) log(1 - p)];  q == 0: -alpha p^gamma log(1 - p)."""
    target, weight = _binary_extras(input, target, weight, 0.0, ignore_index, mask)
    logp = log_sigmoid(input)
    log1mp = log_sigmoid(-_f64(input))
    q = _f64(target)
    positive = -q * (_xlogy(q, logp) + _xlogy(1.0 - q, log1mp))
    negative = -alpha * np.exp(gamma * logp) * log1mp
    loss = np.where(q > 0, positive, negative)
    return _reduce(loss, reduction, weight)


# ---------------------------------------------------------------------------------------------------------
# 2. distributions: KL, entropy, Brier


def kl_divergence(
    input,
    target,
    *,
    input_type="logits",
    target_type="probs",
    dim=1,
    base=None,
    weight=None,
    reduction="mean",
):
    """D(p || q) = sum_k p_k (log p_k - log q_k) over dim; p = target, q = prediction; 0 log 0 = 0."""
    x = _f64(input)
    axis = dim % x.ndim
    logq = _multiclass_log_probs(x, input_type, axis)
    t = _f64(target)
    if target_type == "probs":
        p = t
        with np.errstate(divide="ignore"):
            logp = np.log(p)
    elif target_type == "log_probs":
        p, logp = np.exp(t), t
    elif target_type == "logits":
        logp = log_softmax(t, axis)
        p = np.exp(logp)
    else:
        raise ValueError(f"unknown target_type {target_type!r}")
    with np.errstate(invalid="ignore"):
        terms = np.where(p == 0, 0.0, p * (logp - logq))
    loss = _scale_base(np.sum(terms, axis=axis), base)
    return _reduce(loss, reduction, weight)


def entropy(input, *, input_type="logits", dim=1, base=None, weight=None, reduction="mean"):
    """H(p) = -sum_k p_k log p_k over dim (0 log 0 = 0)."""
    x = _f64(input)
    axis = dim % x.ndim
    if input_type == "logits":
        logp = log_softmax(x, axis)
        p = np.exp(logp)
    elif input_type == "probs":
        p = x
        logp = np.log(np.clip(x, EPS, 1.0 - EPS))
    elif input_type == "log_probs":
        logp = x
        p = np.exp(x)
    else:
        raise ValueError(f"unknown input_type {input_type!r}")
    loss = _scale_base(-np.sum(_xlogy(p, logp), axis=axis), base)
    return _reduce(loss, reduction, weight)


def brier_score(input, target, *, input_type="logits", dim=1, weight=None, reduction="mean"):
    """BS = sum_k (p_k - y_k)^2 over dim; probs are used as given (no clipping)."""
    x = _f64(input)
    axis = dim % x.ndim
    if input_type == "logits":
        p = softmax(x, axis)
    elif input_type == "probs":
        p = x
    elif input_type == "log_probs":
        p = np.exp(x)
    else:
        raise ValueError(f"unknown input_type {input_type!r}")
    p = np.moveaxis(p, axis, -1)
    if _is_index_target(target):
        y = _one_hot(np.asarray(target), p.shape[-1])
    else:
        y = np.moveaxis(_f64(target), axis, -1)
    loss = np.sum((p - y) ** 2, axis=-1)
    return _reduce(loss, reduction, weight)


# ---------------------------------------------------------------------------------------------------------
# 3. margin losses


def _signed_target(target):
    """{0, 1} or {-1, +1} -> {-1, +1} (0 means -1)."""
    y = _f64(target)
    if not np.all(np.isin(y, (-1.0, 0.0, 1.0))):
        raise ValueError("binary margin targets must be in {-1, +1} or {0, 1}")
    return np.where(y == 0, -1.0, y)


def hinge_loss(input, target, *, margin=1.0, squared=False, weight=None, reduction="mean"):
    """max(0, margin - y f), optionally squared."""
    m = _signed_target(target) * _f64(input)
    loss = np.maximum(0.0, margin - m)
    if squared:
        loss = loss**2
    return _reduce(loss, reduction, weight)


def perceptron_loss(input, target, *, weight=None, reduction="mean"):
    """max(0, -y f)."""
    m = _signed_target(target) * _f64(input)
    return _reduce(np.maximum(0.0, -m), reduction, weight)


def exponential_loss(input, target, *, max_exponent=50.0, weight=None, reduction="mean"):
    """exp(u), u = -y f, for u <= a; e^a (1 + log(1 + u - a)) past a = max_exponent (None: exp everywhere)."""
    u = -_signed_target(target) * _f64(input)
    with np.errstate(over="ignore"):
        if max_exponent is None:
            return _reduce(np.exp(u), reduction, weight)
        a = float(max_exponent)
        values = np.where(
            u <= a, np.exp(np.minimum(u, a)), np.exp(a) * (1.0 + np.log1p(np.maximum(u - a, 0.0)))
        )
    return _reduce(values, reduction, weight)


def zero_one_loss(input, target, *, weight=None, reduction="mean"):
    """1 if y f <= 0 else 0."""
    m = _signed_target(target) * _f64(input)
    return _reduce((m <= 0).astype(np.float64), reduction, weight)


def multiclass_hinge_loss(
    input,
    target,
    *,
    variant="crammer_singer",
    margin=1.0,
    squared=False,
    class_weight=None,
    weight=None,
    reduction="mean",
):
    """Crammer-Singer max(0, D + max_{j!=y} s_j - s_y) or Weston-Watkins sum_{j!=y} max(0, D + s_j - s_y).

    class_weight v (C,) scales sample i's loss by v[y_i] (torch's MultiMarginLoss(weight=)); the mean still
    divides by the per-sample weights (N when None)."""
    s = _f64(input)
    y = np.asarray(target).astype(np.int64)
    n_samples, n_classes = s.shape
    loss = np.zeros(n_samples)
    for i in range(n_samples):
        correct = s[i, y[i]]
        others = [s[i, j] for j in range(n_classes) if j != y[i]]
        if variant == "crammer_singer":
            if not others:
                term = 0.0
            else:
                term = max(0.0, margin + max(others) - correct)
                if squared:
                    term = term**2
            loss[i] = term
        elif variant == "weston_watkins":
            total = 0.0
            for sj in others:
                term = max(0.0, margin + sj - correct)
                if squared:
                    term = term**2
                total += term
            loss[i] = total
        else:
            raise ValueError(f"unknown variant {variant!r}")
        if class_weight is not None:
            loss[i] *= float(_f64(class_weight)[y[i]])
    return _reduce(loss, reduction, weight)


# ---------------------------------------------------------------------------------------------------------
# 4. CTC


def ctc_forward_log_likelihood(log_probs, labels, blank=0):
    """log sum over alignments of prod_t y_t[pi_t] (Graves et al. 2006), by the alpha recursion.

    log_probs: (T, C) log-probabilities of one sample (T = its input length).
    labels:    1-D sequence of label indices (no blanks).
    The extended sequence is l' = (blank, l_1, blank, l_2, ..., l_L, blank), |l'| = 2L + 1.
      alpha_0(0) = y_0[blank], alpha_0(1) = y_0[l_1], alpha_0(s) = 0 otherwise;
      alpha_t(s) = y_t[l'_s] * (alpha_{t-1}(s) + alpha_{t-1}(s-1)
                                + alpha_{t-1}(s-2) if l'_s != blank and l'_s != l'_{s-2});
      p(l | x) = alpha_{T-1}(|l'| - 1) + alpha_{T-1}(|l'| - 2).
    All of it in log space (products -> sums, sums -> logaddexp).
    """
    lp = _f64(log_probs)
    labels = [int(v) for v in labels]
    n_steps = lp.shape[0]
    n_labels = len(labels)
    if n_steps == 0:
        return 0.0 if n_labels == 0 else -math.inf  # the empty alignment produces only the empty label
    ext = [blank]
    for label in labels:
        ext += [label, blank]
    n_ext = len(ext)

    neg_inf = -math.inf
    alpha = [neg_inf] * n_ext
    alpha[0] = lp[0, blank]
    if n_ext > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, n_steps):
        new = [neg_inf] * n_ext
        for s in range(n_ext):
            acc = alpha[s]
            if s >= 1:
                acc = np.logaddexp(acc, alpha[s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                acc = np.logaddexp(acc, alpha[s - 2])
            new[s] = acc + lp[t, ext[s]]
        alpha = new
    if n_ext == 1:
        return float(alpha[0])
    return float(np.logaddexp(alpha[n_ext - 1], alpha[n_ext - 2]))


def ctc_loss(
    input,
    target,
    input_lengths,
    target_lengths,
    *,
    blank=0,
    input_type="log_probs",
    batch_first=False,
    zero_infinity=False,
    reduction="mean",
):
    """Per sample -log p(l | x); mean divides each by max(target_length, 1), then averages over the batch."""
    x = _f64(input)
    if batch_first:
        x = np.transpose(x, (1, 0, 2))  # -> (T, N, C)
    if input_type == "logits":
        x = log_softmax(x, axis=2)
    elif input_type != "log_probs":
        raise ValueError(f"unknown input_type {input_type!r}")
    n_batch = x.shape[1]
    input_lengths = np.asarray(input_lengths).astype(np.int64).reshape(n_batch)
    target_lengths = np.asarray(target_lengths).astype(np.int64).reshape(n_batch)
    tgt = np.asarray(target).astype(np.int64)

    offsets = np.concatenate([[0], np.cumsum(target_lengths)])
    losses = np.zeros(n_batch)
    for i in range(n_batch):
        length = int(target_lengths[i])
        if tgt.ndim == 2:  # padded (N, S)
            labels = tgt[i, :length]
        else:  # concatenated 1-D
            labels = tgt[offsets[i] : offsets[i] + length]
        ll = ctc_forward_log_likelihood(x[: int(input_lengths[i]), i, :], labels, blank=blank)
        loss = -ll
        if zero_infinity and math.isinf(loss):
            loss = 0.0
        losses[i] = loss

    if reduction == "none":
        return losses
    if reduction == "sum":
        return float(np.sum(losses))
    if reduction == "mean":
        if n_batch == 0:
            return 0.0
        return float(np.mean(losses / np.maximum(target_lengths, 1)))
    raise ValueError(f"unknown reduction {reduction!r}")


__all__ = [
    "EPS",
    "balanced_cross_entropy",
    "binary_cross_entropy",
    "brier_score",
    "cross_entropy",
    "ctc_forward_log_likelihood",
    "ctc_loss",
    "distribution_focal_loss",
    "entropy",
    "exponential_loss",
    "hinge_loss",
    "kl_divergence",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "multiclass_hinge_loss",
    "perceptron_loss",
    "quality_focal_loss",
    "sigmoid",
    "sigmoid_focal_loss",
    "softmax",
    "softmax_focal_loss",
    "varifocal_loss",
    "zero_one_loss",
]


def multilabel_soft_margin_loss(
    input, target, *, class_weight=None, weight=None, input_type="logits", reduction="mean"
):
    """l_n = (1/C) Σ_c v_c · BCE(x_nc, y_nc): torch's MultiLabelSoftMarginLoss, per sample."""
    logp, log1mp = _binary_log_probs(input, input_type)
    terms = _bce_from_logs(logp, log1mp, _f64(target))
    if class_weight is not None:
        terms = terms * _f64(class_weight)[None, :]
    c = terms.shape[1]
    loss = terms.sum(axis=1) / max(c, 1)
    return _reduce(loss, reduction, weight)


__all__ += ["multilabel_soft_margin_loss"]


def ohem_cross_entropy(
    input,
    target,
    *,
    threshold=0.7,
    min_kept=100000,
    top_k=None,
    ignore_index=-100,
    weight=None,
    input_type="logits",
    reduction="mean",
):
    """OHEM (HRNet / mmseg): keep counted pixels whose true-class p < max(threshold, p_sorted[min(k, M-1)]);
    top-k (nnU-Net): the floor(P k / 100) largest per-pixel losses (ignored pixels with loss 0). Mean over S."""
    x = _f64(input)
    t = np.asarray(target)
    if input_type == "logits":
        logp = log_softmax(x, axis=1)
    elif input_type == "probs":
        logp = np.log(np.clip(x, EPS, 1.0 - EPS))
    else:
        logp = np.clip(x, LOG_EPS, 0.0)
    valid = t != ignore_index
    tc = np.where(valid, t, 0)
    own = np.take_along_axis(logp, tc[:, None], axis=1)[:, 0]
    w = np.ones(x.shape[1]) if weight is None else _f64(weight)
    loss = np.where(valid, -own * w[tc], 0.0)
    flat = loss.reshape(-1)
    chosen = np.zeros(flat.shape, dtype=bool)
    if top_k is not None:
        n_keep = max(1, int(flat.size * top_k / 100.0)) if flat.size else 0
        chosen[np.argsort(-flat, kind="stable")[:n_keep]] = True
    else:
        p = np.exp(own).reshape(-1)
        v = valid.reshape(-1)
        ranked = np.sort(p[v])
        if ranked.size:
            cut = max(threshold, ranked[min(min_kept, ranked.size - 1)])
            chosen = v & (p < cut)
    picked = np.where(chosen, flat, 0.0).reshape(loss.shape)
    if reduction == "none":
        return picked
    if reduction == "sum":
        return float(picked.sum())
    return float(picked.sum() / chosen.sum()) if chosen.sum() else 0.0


__all__ += ["ohem_cross_entropy"]
