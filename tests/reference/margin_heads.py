"""Independent float64 NumPy references for the margin-head family, written from the papers.

Never from losskit's code: angles come from ``arccos`` (losskit never takes one), ``cos(θ + m)`` and
``cos(mθ)`` are evaluated directly, ``k = ⌊mθ/π⌋`` with ``floor``, and every set (positives, negatives,
mined pairs, triplets) is built by an explicit Python loop over the batch, as the papers state them:

* ArcFace: Deng et al., CVPR 2019, eq. 3 and the "θ + m > π" fallback ``cos θ - m sin m`` of its code;
  Sub-center ArcFace: Deng et al., ECCV 2020, eq. 1 (max over a class's sub-centres).
* CosFace: Wang et al., CVPR 2018, eq. 4.
* SphereFace: Liu et al., CVPR 2017, eq. 7 (ψ) and the λ-blend of its training code.
* Multi-Similarity: Wang et al., CVPR 2019, eq. 12 (mining) and eq. 15 (loss).
* Circle loss: Sun et al., CVPR 2020, eq. 4 (pair form) with α_p, α_n and Δ of eq. 5-6.
* Proxy-Anchor: Kim et al., CVPR 2020, eq. 4.

Reductions: ``"none"`` returns ``weight * value``, ``"sum"`` its sum, ``"mean"`` divides by the weight
(ones when None) of the values that count: every sample for the heads and Multi-Similarity, the anchors
that have a positive and a negative for Circle loss; Proxy-Anchor's mean is the paper's two averages.
"""

from __future__ import annotations

import math

import numpy as np


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _unit(x):
    x = _f64(x)
    n = np.sqrt((x * x).sum(-1, keepdims=True))
    return np.where(n > 1e-12, x / np.where(n > 0, n, 1.0), 0.0)


def _reduce(values, weight, reduction, counted=None):
    values = _f64(values)
    w = np.ones_like(values) if weight is None else _f64(weight)
    out = w * values
    if reduction == "none":
        return out
    if reduction == "sum":
        return float(out.sum())
    den = w if counted is None else w * _f64(counted)
    d = float(den.sum())
    return 0.0 if d == 0.0 else float(out.sum()) / d


def _ce(logits, y):
    """-log softmax(logits)[y], as log(1 + Σ_{j≠y} e^{z_j - z_y}) summed term by term."""
    others = [logits[j] - logits[y] for j in range(len(logits)) if j != y]
    if not others:
        return 0.0
    top = max(others)
    if top > 30.0:  # log(1 + Σ) = top + log(e^{-top} + Σ e^{r - top})
        return top + math.log(math.exp(-top) + sum(math.exp(r - top) for r in others))
    return math.log1p(sum(math.exp(r) for r in others))


def _class_cosines(x, w, sub_centers):
    xs, ws = _unit(x), _unit(w)
    c = xs @ ws.T
    n = c.shape[0]
    return c.reshape(n, -1, sub_centers).max(-1)


def arcface_loss(
    embeddings,
    weight,
    labels,
    *,
    scale=64.0,
    margin=0.5,
    sub_centers=1,
    easy_margin=False,
    sample_weight=None,
    reduction="mean",
):
    cos = _class_cosines(embeddings, weight, sub_centers)
    y = np.asarray(labels, dtype=np.int64)
    out = []
    for i in range(cos.shape[0]):
        c = float(cos[i, y[i]])
        theta = math.acos(min(1.0, max(-1.0, c)))
        if easy_margin:
            phi = math.cos(theta + margin) if c > 0 else c
        else:
            phi = math.cos(theta + margin) if theta + margin <= math.pi else c - margin * math.sin(margin)
        z = scale * cos[i].copy()
        z[y[i]] = scale * phi
        out.append(_ce(z, y[i]))
    return _reduce(out, sample_weight, reduction)


def cosface_loss(
    embeddings, weight, labels, *, scale=64.0, margin=0.35, sample_weight=None, reduction="mean"
):
    cos = _class_cosines(embeddings, weight, 1)
    y = np.asarray(labels, dtype=np.int64)
    out = []
    for i in range(cos.shape[0]):
        z = scale * cos[i].copy()
        z[y[i]] = scale * (cos[i, y[i]] - margin)
        out.append(_ce(z, y[i]))
    return _reduce(out, sample_weight, reduction)


def sphereface_psi(theta, m):
    """ψ(θ) = (-1)^k cos(mθ) - 2k for θ in [kπ/m, (k+1)π/m] (eq. 7)."""
    k = min(math.floor(m * theta / math.pi), m)
    return (-1.0) ** k * math.cos(m * theta) - 2.0 * k


def sphereface_loss(
    embeddings, weight, labels, *, margin=4, scale=1.0, blend=0.0, sample_weight=None, reduction="mean"
):
    x = _f64(embeddings)
    cos = _class_cosines(x, weight, 1)
    norms = np.sqrt((x * x).sum(-1))
    y = np.asarray(labels, dtype=np.int64)
    out = []
    for i in range(cos.shape[0]):
        c = float(cos[i, y[i]])
        theta = math.acos(min(1.0, max(-1.0, c)))
        f = (blend * c + sphereface_psi(theta, margin)) / (1.0 + blend)
        z = scale * norms[i] * cos[i]
        z[y[i]] = scale * norms[i] * f
        out.append(_ce(z, y[i]))
    return _reduce(out, sample_weight, reduction)


def _log1p_sum_exp(zs):
    if not zs:
        return 0.0
    top = max(zs)
    if top > 30.0:
        return top + math.log(math.exp(-top) + sum(math.exp(z - top) for z in zs))
    return math.log1p(sum(math.exp(z) for z in zs))


def _pairs(embeddings, labels):
    u = _unit(embeddings)
    s = u @ u.T
    y = [int(v) for v in np.asarray(labels).reshape(-1)]
    n = len(y)
    pos = [[k for k in range(n) if k != i and y[k] == y[i]] for i in range(n)]
    neg = [[k for k in range(n) if y[k] != y[i]] for i in range(n)]
    return s, pos, neg


def multi_similarity_loss(
    embeddings, labels, *, alpha=2.0, beta=50.0, base=0.5, epsilon=0.1, weight=None, reduction="mean"
):
    s, pos, neg = _pairs(embeddings, labels)
    out = []
    for i in range(len(pos)):
        p_set, n_set = pos[i], neg[i]
        if epsilon is not None:
            # eq. 12: a negative harder than the hardest positive (- ε), a positive harder than the
            # hardest negative (+ ε); an anchor without positives (negatives) keeps no negative (positive)
            min_pos = min((s[i, k] for k in pos[i]), default=math.inf)
            max_neg = max((s[i, k] for k in neg[i]), default=-math.inf)
            n_set = [k for k in neg[i] if s[i, k] + epsilon > min_pos]
            p_set = [k for k in pos[i] if s[i, k] - epsilon < max_neg]
        lp = _log1p_sum_exp([-alpha * (s[i, k] - base) for k in p_set]) / alpha
        ln = _log1p_sum_exp([beta * (s[i, k] - base) for k in n_set]) / beta
        out.append(lp + ln)
    return _reduce(out, weight, reduction)


def circle_loss(embeddings, labels, *, m=0.4, gamma=80.0, detach_weights=True, weight=None, reduction="mean"):
    s, pos, neg = _pairs(embeddings, labels)
    out, counted = [], []
    for i in range(len(pos)):
        if not pos[i] or not neg[i]:
            out.append(0.0)
            counted.append(0.0)
            continue
        zp = [-gamma * max(0.0, 1.0 + m - s[i, k]) * (s[i, k] - (1.0 - m)) for k in pos[i]]
        zn = [gamma * max(0.0, s[i, k] + m) * (s[i, k] - m) for k in neg[i]]
        # log(1 + Σ_n e^{zn} Σ_p e^{zp}) = log(1 + Σ_{(n, p)} e^{zn + zp})
        out.append(_log1p_sum_exp([a + b for a in zn for b in zp]))
        counted.append(1.0)
    return _reduce(out, weight, reduction, counted)


def proxy_anchor_loss(embeddings, proxies, labels, *, alpha=32.0, delta=0.1, weight=None, reduction="mean"):
    u, p = _unit(embeddings), _unit(proxies)
    s = u @ p.T  # (N, C)
    y = [int(v) for v in np.asarray(labels).reshape(-1)]
    c_count = p.shape[0]
    h_pos, h_neg, has_pos = [], [], []
    for c in range(c_count):
        xp = [i for i in range(len(y)) if y[i] == c]
        xn = [i for i in range(len(y)) if y[i] != c]
        h_pos.append(_log1p_sum_exp([-alpha * (s[i, c] - delta) for i in xp]))
        h_neg.append(_log1p_sum_exp([alpha * (s[i, c] + delta) for i in xn]))
        has_pos.append(1.0 if xp else 0.0)
    w = np.ones(c_count) if weight is None else _f64(weight)
    if reduction == "none":
        return w * (_f64(h_pos) + _f64(h_neg))
    if reduction == "sum":
        return float((w * (_f64(h_pos) + _f64(h_neg))).sum())
    dp, dn = float((w * _f64(has_pos)).sum()), float(w.sum())
    pos_part = float((w * _f64(h_pos)).sum()) / dp if dp else 0.0
    neg_part = float((w * _f64(h_neg)).sum()) / dn if dn else 0.0
    return pos_part + neg_part


def triplet_distances(embeddings, *, p=2.0, squared=False, distance="euclidean"):
    x = _f64(embeddings)
    n = x.shape[0]
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if distance == "cosine":
                v = 1.0 - float(_unit(x[i]) @ _unit(x[j]))
            else:
                diff = np.abs(x[i] - x[j])
                v = float(diff.max()) if p == math.inf else float((diff**p).sum() ** (1.0 / p))
            d[i, j] = v * v if squared else v
    return d


def mine_triplets(
    embeddings, labels, *, strategy="batch_hard", margin=1.0, p=2.0, squared=False, distance="euclidean"
):
    """Lists (a, p, n) of the triples: loops over the batch, lexicographic order."""
    d = triplet_distances(embeddings, p=p, squared=squared, distance=distance)
    y = [int(v) for v in np.asarray(labels).reshape(-1)]
    n = len(y)
    out = []
    if strategy == "batch_hard":
        for a in range(n):
            ps = [k for k in range(n) if k != a and y[k] == y[a]]
            ns = [k for k in range(n) if y[k] != y[a]]
            if ps and ns:
                far = max(ps, key=lambda k: (d[a, k], -k))  # the first of the farthest
                near = min(ns, key=lambda k: (d[a, k], k))
                out.append((a, far, near))
        return out
    for a in range(n):
        for q in range(n):
            if q == a or y[q] != y[a]:
                continue
            for k in range(n):
                if y[k] == y[a]:
                    continue
                gap = d[a, k] - d[a, q]
                if strategy == "all" or 0.0 < gap <= margin:
                    out.append((a, q, k))
    return out
