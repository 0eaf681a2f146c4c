"""Independent float64 NumPy references for losskit's embedding losses (SPEC §5).

Written from the formulas in SPEC.md and the papers, not from the torch implementation: explicit
per-sample loops, the softmax denominators summed term by term (after subtracting the row maximum).

Conventions (as for every family): ``reduction="none"`` returns ``weight * loss`` per sample;
``"sum"`` returns ``sum(weight * loss)``; ``"mean"`` returns ``sum(weight * loss) / sum(normaliser)``
where the normaliser is the weight (ones when None), restricted to anchors that have a positive for the
supervised contrastive loss. A zero normaliser gives ``"mean" == 0.0``.
"""

from __future__ import annotations

import math

import numpy as np

_REDUCTIONS = ("none", "mean", "sum")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _reduce(loss, reduction, weight=None, normaliser=None):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}")
    loss = _f64(loss)
    w = np.ones_like(loss) if weight is None else _f64(weight) * np.ones_like(loss)
    values = w * loss
    if reduction == "none":
        return values
    total = float(np.sum(values))
    if reduction == "sum":
        return total
    denom = float(np.sum(w if normaliser is None else _f64(normaliser) * w))
    return total / denom if denom != 0.0 else 0.0


def _lse(values):
    """log(sum(exp(v))) of a 1-D sequence, with the maximum subtracted first."""
    v = _f64(values)
    m = float(np.max(v))
    return m + math.log(float(np.sum(np.exp(v - m))))


def _unit(v):
    v = _f64(v)
    n = math.sqrt(float(np.dot(v, v)))
    return v / max(n, 1e-12)


def _cos(u, v):
    return float(np.dot(_unit(u), _unit(v)))


def _dist(u, v, p=2.0):
    d = np.abs(_f64(u) - _f64(v))
    if math.isinf(p):
        return float(np.max(d)) if d.size else 0.0
    return float(np.sum(d**p) ** (1.0 / p))


# ---------------------------------------------------------------------------------------------------------


def contrastive_loss(x1, x2, target, *, margin=1.0, distance="euclidean", weight=None, reduction="mean"):
    """Hadsell et al. with ½ factors; target 1 = similar pair: Y·½D² + (1-Y)·½·max(0, m-D)²."""
    x1, x2, y = _f64(x1), _f64(x2), _f64(target)
    out = []
    for i in range(x1.shape[0]):
        if distance == "euclidean":
            d = _dist(x1[i], x2[i])
        elif distance == "cosine":
            d = 1.0 - _cos(x1[i], x2[i])
        else:
            raise ValueError(distance)
        out.append(y[i] * 0.5 * d * d + (1.0 - y[i]) * 0.5 * max(0.0, margin - d) ** 2)
    return _reduce_nz(out, reduction, weight)


def triplet_loss(
    anchor,
    positive,
    negative,
    *,
    margin=1.0,
    p=2.0,
    swap=False,
    squared=False,
    distance="euclidean",
    weight=None,
    reduction="mean",
):
    """FaceNet: max(0, d(a,p) - d(a,n) + m), exact p-norm distances (or 1 - cos); swap: min(d(a,n), d(p,n))."""
    a, pos, neg = _f64(anchor), _f64(positive), _f64(negative)

    def d(u, v):
        r = 1.0 - _cos(u, v) if distance == "cosine" else _dist(u, v, p)
        return r * r if squared else r

    out = []
    for i in range(a.shape[0]):
        d_an = d(a[i], neg[i])
        if swap:
            d_an = min(d_an, d(pos[i], neg[i]))
        out.append(max(0.0, d(a[i], pos[i]) - d_an + margin))
    return _reduce_nz(out, reduction, weight)


def _reduce_nz(loss, reduction, weight):
    """_reduce plus "mean_nonzero": sum(w l) over all / sum(w) over the entries with l > 0 (0 if none)."""
    if reduction != "mean_nonzero":
        return _reduce(loss, reduction, weight)
    loss = _f64(loss)
    w = np.ones_like(loss) if weight is None else _f64(weight)
    denom = float(np.sum(w[loss > 0]))
    return float(np.sum(w * loss)) / denom if denom > 0 else 0.0


def _sim(u, v, normalize):
    return _cos(u, v) if normalize else float(np.dot(u, v))


def info_nce_loss(
    query, key, *, negatives=None, temperature=0.1, normalize=True, weight=None, reduction="mean"
):
    """-log softmax of the positive key among all keys and the extra negatives (shared or per query)."""
    q, k = _f64(query), _f64(key)
    n = q.shape[0]
    neg = None if negatives is None else _f64(negatives)
    out = []
    for i in range(n):
        logits = [_sim(q[i], k[j], normalize) / temperature for j in range(n)]
        if neg is not None:
            rows = neg if neg.ndim == 2 else neg[i]
            logits += [_sim(q[i], r, normalize) / temperature for r in rows]
        out.append(_lse(logits) - logits[i])
    return _reduce(out, reduction, weight)


def nt_xent_loss(z1, z2, *, temperature=0.5, normalize=True, labels=None, weight=None, reduction="mean"):
    """SimCLR over the 2N views (anchor a's positive is a ± N, self excluded); per pair the mean of both."""
    z = np.concatenate([_f64(z1), _f64(z2)], axis=0)
    n2 = z.shape[0]
    n = n2 // 2
    if labels is not None:
        return _nt_xent_labelled(
            z, np.concatenate([np.asarray(labels)] * 2), temperature, normalize, weight, reduction
        )
    per_anchor = []
    for a in range(n2):
        pos = (a + n) % n2
        logits = [_sim(z[a], z[b], normalize) / temperature for b in range(n2) if b != a]
        per_anchor.append(_lse(logits) - _sim(z[a], z[pos], normalize) / temperature)
    out = [0.5 * (per_anchor[i] + per_anchor[i + n]) for i in range(n)]
    return _reduce(out, reduction, weight)


def supervised_contrastive_loss(
    features, labels, *, temperature=0.1, normalize=True, weight=None, reduction="mean"
):
    """Khosla et al. L_out: -1/|P(i)| Σ_p log(exp(s_ip/τ) / Σ_{a≠i} exp(s_ia/τ)); no positive → excluded."""
    f = _f64(features)
    y = np.asarray(labels)
    n = f.shape[0]
    out, has_pos = [], []
    for i in range(n):
        others = [a for a in range(n) if a != i]
        positives = [p for p in others if y[p] == y[i]]
        if not positives:
            out.append(0.0)
            has_pos.append(0.0)
            continue
        denom = _lse([_sim(f[i], f[a], normalize) / temperature for a in others])
        terms = [_sim(f[i], f[p], normalize) / temperature - denom for p in positives]
        out.append(-sum(terms) / len(positives))
        has_pos.append(1.0)
    return _reduce(out, reduction, weight, normaliser=np.asarray(has_pos, dtype=np.float64))


def clip_loss(image_embeds, text_embeds, *, logit_scale, weight=None, reduction="mean"):
    """Radford et al.: logits t·cos(u_i, v_j), t = min(exp(logit_scale), 100); mean of both CE directions."""
    u, v = _f64(image_embeds), _f64(text_embeds)
    t = min(math.exp(min(float(np.asarray(logit_scale)), 50.0)), 100.0)
    n = u.shape[0]
    L = np.array([[t * _cos(u[i], v[j]) for j in range(n)] for i in range(n)]).reshape(n, n)
    out = []
    for i in range(n):
        img = _lse(L[i, :]) - L[i, i]
        txt = _lse(L[:, i]) - L[i, i]
        out.append(0.5 * (img + txt))
    return _reduce(out, reduction, weight)


def siglip_loss(image_embeds, text_embeds, *, logit_scale, logit_bias, weight=None, reduction="mean"):
    """Zhai et al. 2023: ℓ_i = -Σ_j log σ(z_ij (t·cos(x_i, y_j) + b)), z_ii = 1, z_ij = -1; t = exp(logit_scale).

    log σ(s) = -log(1 + e^{-s}) is evaluated as min(s, 0) - log1p(e^{-|s|}), term by term.
    """
    u, v = _f64(image_embeds), _f64(text_embeds)
    t = math.exp(float(np.asarray(logit_scale).reshape(())))
    b = float(np.asarray(logit_bias).reshape(()))
    n = u.shape[0]
    out = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            z = 1.0 if i == j else -1.0
            s = z * (t * _cos(u[i], v[j]) + b)
            total -= min(s, 0.0) - math.log1p(math.exp(-abs(s)))
        out.append(total)
    return _reduce(out, reduction, weight)


# ---------------------------------------------------------------------------------------------------------
# torch.nn's pairwise losses (labels +1 / -1), written from the definitions in torch.nn's documentation


def _pm(target):
    t = np.asarray(target)
    return np.where(t.astype(bool), 1.0, -1.0) if t.dtype == bool else _f64(t)


def cosine_embedding_loss(x1, x2, target, *, margin=0.0, weight=None, reduction="mean"):
    """1 - cos for y = 1, max(0, cos - m) for y = -1; cos = u.v / sqrt((|u|² + 1e-12)(|v|² + 1e-12))."""
    a, b, y = _f64(x1), _f64(x2), _pm(target)
    out = []
    for i in range(a.shape[0]):
        cos = float(np.dot(a[i], b[i])) / math.sqrt(
            (float(np.dot(a[i], a[i])) + 1e-12) * (float(np.dot(b[i], b[i])) + 1e-12)
        )
        out.append(1.0 - cos if y[i] > 0 else max(0.0, cos - margin))
    return _reduce(np.asarray(out), reduction, weight)


def margin_ranking_loss(x1, x2, target, *, margin=0.0, weight=None, reduction="mean"):
    """max(0, -y (x1 - x2) + m) elementwise."""
    loss = np.maximum(0.0, -_pm(target) * (_f64(x1) - _f64(x2)) + margin)
    return _reduce(loss, reduction, weight)


def hinge_embedding_loss(input, target, *, margin=1.0, weight=None, reduction="mean"):
    """x for y = 1, max(0, m - x) for y = -1, elementwise."""
    x, y = _f64(input), _pm(target)
    loss = np.where(y > 0, x, np.maximum(0.0, margin - x))
    return _reduce(loss, reduction, weight)


def _nt_xent_labelled(z, lab, temperature, normalize, weight, reduction):
    """pml's NT-Xent with labels: one term -log(e^{s_ap} / (e^{s_ap} + Σ_{n: other label} e^{s_an})) per
    (anchor a, positive p != a with a's label); "mean" averages every term, "none" / "sum" each pair's mean."""
    n2 = z.shape[0]
    n = n2 // 2
    sums, counts = np.zeros(n2), np.zeros(n2)
    for a in range(n2):
        negs = [_sim(z[a], z[b], normalize) / temperature for b in range(n2) if lab[b] != lab[a]]
        for p in range(n2):
            if p == a or lab[p] != lab[a]:
                continue
            s_ap = _sim(z[a], z[p], normalize) / temperature
            sums[a] += _lse([s_ap, *negs]) - s_ap
            counts[a] += 1
    s_pair, k_pair = sums[:n] + sums[n:], counts[:n] + counts[n:]
    w = np.ones(n) if weight is None else _f64(weight)
    if reduction == "none":
        return w * s_pair / k_pair
    if reduction == "sum":
        return float(np.sum(w * s_pair / k_pair))
    denom = float(np.sum(w * k_pair))
    return float(np.sum(w * s_pair)) / denom if denom > 0 else 0.0


def center_loss(input, target, *, centers, weight=None, reduction="mean"):
    """Wen et al. 2016: ½ ||x_i - c_{y_i}||² per sample."""
    x, c, y = _f64(input), _f64(centers), np.asarray(target)
    out = [0.5 * float(np.sum((x[i] - c[y[i]]) ** 2)) for i in range(x.shape[0])]
    return _reduce(out, reduction, weight)
