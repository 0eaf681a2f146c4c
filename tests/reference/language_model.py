"""Independent float64 NumPy references for losskit's language-model losses.

Written from the papers' formulas (Hinton et al. 2015; GKD, Agarwal et al. 2024, with TRL's end points;
DPO, Rafailov et al. 2023; IPO, Azar et al. 2024; cDPO, Mitchell 2023; SimPO, Meng et al. 2024;
ORPO, Hong et al. 2024; KTO, Ethayarajh et al. 2024), not from the torch implementation. Probabilities are
formed explicitly (softmax, then ``m = β p + (1 - β) q``, then logs), the odds of ORPO as ``P / (1 - P)``,
and sequence log-likelihoods with a Python loop over positions.

Reduction rule (shared): ``"none"`` returns ``w * l`` with ignored tokens at 0; ``"sum"`` is its sum;
``"mean"`` divides that sum by the sum over kept tokens of the weight (the count of kept tokens without a
weight), or by ``normalizer`` when one is given; a zero denominator gives 0.0.
"""

from __future__ import annotations

import math

import numpy as np

EPS = float(np.finfo(np.float64).eps)
_REDUCTIONS = ("none", "mean", "sum")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _log_softmax(x, axis):
    x = _f64(x)
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def _reduce_tokens(loss, reduction, *, keep=None, weight=None, normalizer=None):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}")
    loss = _f64(loss)
    keep_f = np.ones_like(loss) if keep is None else np.asarray(keep, dtype=np.float64)
    w = np.ones_like(loss) if weight is None else np.broadcast_to(_f64(weight), loss.shape)
    values = np.where(keep_f > 0, loss, 0.0) * w
    if reduction == "none":
        return values
    if reduction == "sum":
        return float(np.sum(values))
    denom = float(np.sum(keep_f * w)) if normalizer is None else float(np.sum(_f64(normalizer)))
    return 0.0 if denom == 0.0 else float(np.sum(values) / denom)


def _keep(labels, ignore_index):
    return None if labels is None else np.asarray(labels) != ignore_index


def _dist(x, kind, axis, temperature):
    """(probabilities, log-probabilities) over ``axis``."""
    x = _f64(x)
    if kind == "logits":
        lp = _log_softmax(x / temperature, axis)
        return np.exp(lp), lp
    if kind == "probs":
        p = np.clip(x, EPS, 1.0 - EPS)
        return p, np.log(p)
    if kind == "log_probs":
        return np.exp(x), x
    raise ValueError(f"unknown distribution type {kind!r}")


def _kl(p, logp, logq, axis):
    """sum_v p_v (log p_v - log q_v), with 0 log 0 = 0."""
    return np.sum(np.where(p == 0.0, 0.0, p * (logp - logq)), axis=axis)


def distillation_kl_loss(
    student_logits,
    teacher_logits,
    *,
    temperature=1.0,
    direction="forward",
    dim=-1,
    labels=None,
    ignore_index=-100,
    weight=None,
    normalizer=None,
    reduction="mean",
):
    """T^2 KL(p_T || p_S) (forward) or T^2 KL(p_S || p_T) (reverse) per token, p = softmax(z / T)."""
    s = _f64(student_logits)
    axis = dim % s.ndim
    ps, lps = _dist(s, "logits", axis, temperature)
    pt, lpt = _dist(teacher_logits, "logits", axis, temperature)
    if direction == "forward":
        kl = _kl(pt, lpt, lps, axis)
    elif direction == "reverse":
        kl = _kl(ps, lps, lpt, axis)
    else:
        raise ValueError(direction)
    return _reduce_tokens(
        temperature**2 * kl, reduction, keep=_keep(labels, ignore_index), weight=weight, normalizer=normalizer
    )


def jsd_loss(
    input,
    target,
    *,
    beta=0.5,
    input_type="logits",
    target_type=None,
    temperature=1.0,
    dim=-1,
    labels=None,
    ignore_index=-100,
    weight=None,
    normalizer=None,
    reduction="mean",
):
    """beta KL(P || M) + (1 - beta) KL(Q || M), M = beta P + (1 - beta) Q; KL(P||Q) at 0, KL(Q||P) at 1.

    P is the target's distribution, Q the input's (TRL's generalized_jsd_loss / Liger's LigerJSD).
    """
    x = _f64(input)
    axis = dim % x.ndim
    q, logq = _dist(x, input_type, axis, temperature)
    p, logp = _dist(target, input_type if target_type is None else target_type, axis, temperature)
    if beta == 0.0:
        loss = _kl(p, logp, logq, axis)
    elif beta == 1.0:
        loss = _kl(q, logq, logp, axis)
    else:
        m = beta * p + (1.0 - beta) * q
        logm = np.log(m)
        loss = beta * _kl(p, logp, logm, axis) + (1.0 - beta) * _kl(q, logq, logm, axis)
    return _reduce_tokens(
        loss, reduction, keep=_keep(labels, ignore_index), weight=weight, normalizer=normalizer
    )


def sequence_log_probs(logits, labels, *, ignore_index=-100, average=False):
    """sum over kept positions of log softmax(logits[t])[labels[t]] (mean over them with average=True)."""
    z = _f64(logits)
    y = np.asarray(labels)
    lead = z.shape[:-2]
    out = np.zeros(lead, dtype=np.float64)
    for idx in np.ndindex(*lead) if lead else [()]:
        total, count = 0.0, 0
        for t in range(z.shape[-2]):
            label = int(y[(*idx, t)])
            if label == ignore_index:
                continue
            row = z[(*idx, t)]
            total += float(row[label] - (np.max(row) + math.log(np.sum(np.exp(row - np.max(row))))))
            count += 1
        out[idx] = total / max(count, 1) if average else total
    return out


def _neg_log_sigmoid(u):
    """-log sigma(u) = log(1 + exp(-u))."""
    return np.logaddexp(0.0, -_f64(u))


def _reduce(values, reduction, weight=None):
    return _reduce_tokens(values, reduction, weight=weight)


def dpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    reference_chosen_logps,
    reference_rejected_logps,
    *,
    beta=0.1,
    loss_type="sigmoid",
    label_smoothing=0.0,
    return_rewards=False,
    weight=None,
    reduction="mean",
):
    """DPO (Eq. 7) with cDPO smoothing, hinge max(0, 1 - beta h), IPO (h - 1/(2 beta))^2 (Eq. 17)."""
    chosen = _f64(policy_chosen_logps) - _f64(reference_chosen_logps)
    rejected = _f64(policy_rejected_logps) - _f64(reference_rejected_logps)
    h = chosen - rejected
    if loss_type == "sigmoid":
        eps = label_smoothing
        values = (1.0 - eps) * _neg_log_sigmoid(beta * h) + eps * _neg_log_sigmoid(-beta * h)
    elif loss_type == "hinge":
        values = np.maximum(0.0, 1.0 - beta * h)
    elif loss_type == "ipo":
        values = (h - 1.0 / (2.0 * beta)) ** 2
    else:
        raise ValueError(loss_type)
    loss = _reduce(values, reduction, weight)
    if return_rewards:
        return loss, beta * chosen, beta * rejected
    return loss


def simpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    *,
    beta=2.0,
    gamma=1.0,
    label_smoothing=0.0,
    return_rewards=False,
    weight=None,
    reduction="mean",
):
    """-log sigma(beta (avg_w - avg_l) - gamma), smoothed like cDPO (the SimPO objective)."""
    c, r = _f64(policy_chosen_logps), _f64(policy_rejected_logps)
    u = beta * c - beta * r - gamma
    eps = label_smoothing
    values = (1.0 - eps) * _neg_log_sigmoid(u) + eps * _neg_log_sigmoid(-u)
    loss = _reduce(values, reduction, weight)
    if return_rewards:
        return loss, beta * c, beta * r
    return loss


def orpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    *,
    chosen_nll=None,
    beta=0.1,
    return_rewards=False,
    weight=None,
    reduction="mean",
):
    """NLL(y_w) - lambda log sigma(log(odds(P_w) / odds(P_l))), odds(P) = P / (1 - P), P = exp(avg log-prob)."""
    c, r = _f64(policy_chosen_logps), _f64(policy_rejected_logps)
    pw, pl = np.exp(c), np.exp(r)
    log_odds_ratio = np.log((pw / (1.0 - pw)) / (pl / (1.0 - pl)))
    sft = -c if chosen_nll is None else np.broadcast_to(_f64(chosen_nll), c.shape)
    values = sft + beta * _neg_log_sigmoid(log_odds_ratio)
    loss = _reduce(values, reduction, weight)
    if return_rewards:
        return loss, beta * c, beta * r
    return loss


def kto_loss(
    policy_logps,
    reference_logps,
    desirable,
    *,
    policy_kl_logps=None,
    reference_kl_logps=None,
    beta=0.1,
    desirable_weight=1.0,
    undesirable_weight=1.0,
    return_rewards=False,
    weight=None,
    reduction="mean",
):
    """lambda_y - v(x, y): lambda_D (1 - sigma(beta (r - z0))) or lambda_U (1 - sigma(beta (z0 - r))).

    z0 = max(0, mean(policy_kl_logps - reference_kl_logps)) (0 without KL inputs).
    """
    ratio = _f64(policy_logps) - _f64(reference_logps)
    if policy_kl_logps is None:
        z0 = 0.0
    else:
        z0 = max(0.0, float(np.mean(_f64(policy_kl_logps) - _f64(reference_kl_logps))))

    def sigma(u):
        return 1.0 / (1.0 + np.exp(-u))

    d = np.asarray(desirable, dtype=bool)
    values = np.where(
        d,
        desirable_weight * (1.0 - sigma(beta * (ratio - z0))),
        undesirable_weight * (1.0 - sigma(beta * (z0 - ratio))),
    )
    loss = _reduce(values, reduction, weight)
    if return_rewards:
        return loss, beta * ratio, z0
    return loss
