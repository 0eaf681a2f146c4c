r"""Margin-softmax heads for recognition, and the pair- and proxy-based metric-learning losses.

**Heads** (:func:`arcface_loss`, :func:`cosface_loss`, :func:`sphereface_loss`) are a classifier whose logits
are cosines between an embedding and the ``C`` class centres (the rows of the head's ``weight``), with a
margin applied to the true class before a softmax cross-entropy. They take
``(embeddings, weight, labels)``: embeddings ``(N, D)``, centres ``(C, D)`` (``(C·K, D)`` with ``K``
sub-centres per class, class ``c`` owning rows ``c·K .. c·K + K - 1``) and class indices ``(N,)`` of any
integer dtype. With :math:`\cos\theta_j = \hat x^\top \hat w_j` (both L2-normalised) the true class's
logit is

=================  ============================================================  =====================
head               true-class logit (other classes: :math:`s\cos\theta_j`)     paper
=================  ============================================================  =====================
ArcFace            :math:`s\cos(\theta_y + m)`                                   Deng et al. 2019
CosFace            :math:`s(\cos\theta_y - m)`                                   Wang et al. 2018
SphereFace         :math:`s\lVert x\rVert\,\psi(\theta_y)` (others                 Liu et al. 2017
                   :math:`s\lVert x\rVert\cos\theta_j`), :math:`\psi(\theta) =
                   (-1)^k\cos(m\theta) - 2k`
=================  ============================================================  =====================

Margins are in **radians** (ArcFace) or cosine units (CosFace); SphereFace's margin is the integer angle
multiplier. pytorch-metric-learning's ``ArcFaceLoss`` takes its margin in degrees and stores the centres
transposed, ``(D, C)``: ``arcface_loss(x, W, y, margin=m)`` equals
``ArcFaceLoss(C, D, margin=math.degrees(m))`` with ``W = loss.W.T``.

**Pair losses** (:func:`multi_similarity_loss`, :func:`circle_loss`) take ``(embeddings, labels)`` and
compare every pair of the batch through the cosine similarity :math:`S_{ij} = \hat x_i^\top \hat x_j`:
pairs of the same label (``i != j``) are positives, pairs of different labels negatives. They return one
value per anchor. **Proxy-Anchor** (:func:`proxy_anchor_loss`) takes ``(embeddings, proxies, labels)``,
one learnable proxy per class, and returns one value per proxy. :func:`mine_triplets` picks
``(anchor, positive, negative)`` index triples from labels for :func:`losskit.functional.triplet_loss`.

Shared conventions (SPEC §0): ``reduction`` is ``"none" | "mean" | "sum"``; ``sample_weight`` (heads) and
``weight`` (pair and proxy losses) are non-negative weights of the values ``"none"`` returns; an empty
batch gives 0 with a working backward; float16 / bfloat16 are computed and returned in float32; every
loss compiles with ``torch.compile(fullgraph=True)`` (the triplet miner returns data-dependent sizes and
does not).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from losskit import distributed as LD
from losskit._core import checks
from losskit.functional._common import finish, prepare
from losskit.functional.embedding import _check_bool, _check_embeddings, _normalize

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "arcface_loss",
    "circle_loss",
    "cosface_loss",
    "mine_triplets",
    "multi_similarity_loss",
    "proxy_anchor_loss",
    "sphereface_loss",
]

TRIPLET_STRATEGIES = ("batch_hard", "semi_hard", "all")
DISTANCES = ("euclidean", "cosine")


# --------------------------------------------------------------------------------------------------
# validation


def _check_labels(fn: str, labels: object, n: int, num_classes: int | None) -> Tensor:
    """Class indices ``(N,)`` of any integer dtype, as int64; in ``[0, num_classes)`` when that is given."""
    y = checks.check_index_target(fn, "labels", labels)
    checks.check_shape(fn, "labels", y, (n,), "(one class index per embedding)")
    if num_classes is not None:
        checks.check_labels(fn, "labels", y, num_classes)
    return y


def _check_centres(fn: str, name: str, weight: object, x: Tensor, sub_centers: int = 1) -> int:
    """The ``(C·K, D)`` class-centre matrix; returns C."""
    w = checks.check_float(fn, name, weight)
    d = int(x.shape[1])
    what = "(C·K, D): K sub-centres per class" if sub_centers > 1 else "(C, D): one centre per class"
    if w.dim() != 2 or int(w.shape[1]) != d or int(w.shape[0]) % sub_centers or w.shape[0] == 0:
        k = f"C·{sub_centers}" if sub_centers > 1 else "C"
        raise ValueError(
            f"{fn}: {name} must have shape ({k}, {d}) {what}, matching the embeddings' size D = {d}, got "
            f"{checks.fmt_shape(w.shape)}"
        )
    return int(w.shape[0]) // sub_centers


def _positive(fn: str, name: str, value: object) -> float:
    v = checks.check_number(fn, name, value, low=0.0, low_open=True, high=math.inf, high_open=True)
    return v


def _finite(fn: str, name: str, value: object, low: float | None = None) -> float:
    v = checks.check_number(fn, name, value, low=low, high=math.inf, high_open=True)
    if math.isinf(v):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return v


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + e^x)``; torch's default switches to ``x`` above 20, dropping up to 2e-9: here above 40."""
    return torch.nn.functional.softplus(x, threshold=40.0)


def _masked_lse(z: Tensor, keep: Tensor) -> Tensor:
    """``log Σ_{keep} exp z`` per row; the dtype's lowest number (not -inf) for a row that keeps nothing.

    Dropped entries are filled with that finite number rather than -inf, so no row's backward meets
    ``exp(-inf - (-inf))``.
    """
    return torch.logsumexp(z.masked_fill(~keep, torch.finfo(z.dtype).min), dim=1)


# --------------------------------------------------------------------------------------------------
# margin-softmax heads


def _head_cosines(
    fn: str,
    embeddings: Tensor,
    weight: Tensor,
    labels: object,
    sub_centers: int,
    sample_weight: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """Validate a head's arguments; ``(x, cos (N, C), labels, sample_weight)`` in the compute dtype."""
    _check_embeddings(fn, "embeddings", embeddings)
    num_classes = _check_centres(fn, "weight", weight, embeddings, sub_centers)
    n = int(embeddings.shape[0])
    y = _check_labels(fn, labels, n, num_classes)
    checks.check_weight(fn, sample_weight, (n,), name="sample_weight")
    checks.check_same_device(fn, embeddings=embeddings, weight=weight, labels=y, sample_weight=sample_weight)
    _, (x, w, sw) = prepare(fn, embeddings, weight, sample_weight)
    assert x is not None and w is not None
    cos = _normalize(x) @ _normalize(w).T
    if sub_centers > 1:  # Sub-center ArcFace: a class's cosine is that of its nearest sub-centre
        cos = cos.reshape(n, num_classes, sub_centers).amax(dim=-1)
    return x, cos, y, sw


def _softmax_with_target(logits: Tensor, target_logit: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of ``logits`` (N, C) whose true-class entry is replaced by ``target_logit`` (N,).

    Written as ``log(1 + Σ_{j≠y} e^{z_j - z_y})`` = softplus(lse_{j≠y} z_j - z_y), which keeps the tiny
    losses of well-separated samples (``lse(z) - z_y`` would round them to 0).
    """
    is_y = torch.nn.functional.one_hot(labels, logits.shape[1]).to(torch.bool)
    others = _masked_lse(logits, ~is_y)
    return _softplus(others - target_logit)


def _sine(c: Tensor) -> Tensor:
    """``sqrt(1 - c²)`` for a cosine ``c``, floored at the square root of the dtype's epsilon.

    The floor keeps the gradient finite at ``c = ±1`` (an embedding on its centre), where the exact
    derivative of the square root is infinite; it only changes angles below the dtype's cosine resolution.
    """
    eps = torch.finfo(c.dtype).eps
    return torch.sqrt((1.0 - c * c).clamp_min(eps))


def arcface_loss(
    embeddings: Tensor,
    weight: Tensor,
    labels: Tensor,
    *,
    scale: float = 64.0,
    margin: float = 0.5,
    sub_centers: int = 1,
    easy_margin: bool = False,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""ArcFace (additive angular margin) loss, with optional sub-centres (Sub-center ArcFace).

    .. math::
        \ell_i = -\log \frac{e^{s\,\phi(\theta_{y_i})}}
                 {e^{s\,\phi(\theta_{y_i})} + \sum_{j \neq y_i} e^{s \cos\theta_j}},
        \qquad \cos\theta_j = \frac{x_i^\top w_j}{\lVert x_i\rVert\,\lVert w_j\rVert}

    with :math:`\phi(\theta) = \cos(\theta + m)` while :math:`\theta + m \le \pi` and the paper's linear
    continuation :math:`\phi(\theta) = \cos\theta - m \sin m` beyond (where :math:`\cos(\theta + m)`
    would turn back up and reward a worse angle): the "threshold" fallback of the paper's code, used by
    insightface and pytorch-metric-learning. ``easy_margin=True`` applies the margin only where
    :math:`\cos\theta > 0` (:math:`\phi = \cos\theta` otherwise), the paper's other variant.

    With ``sub_centers=K`` each class has K centres and :math:`\cos\theta_j` is the largest cosine with
    class j's centres (Deng et al. 2020): noisy samples gather at non-dominant sub-centres instead of
    pulling the main one.

    Args:
        embeddings: ``(N, D)`` features (normalised inside; their norm does not matter).
        weight: the class centres ``(C·K, D)``, class c owning rows ``c·K`` to ``c·K + K - 1``
            (normalised inside; gradients flow to it). :class:`losskit.nn.ArcFaceLoss` holds it.
        labels: {labels}
        scale: s > 0, the radius of the hypersphere the logits live on. Default 64 (the paper's).
        margin: m in radians, ``0 <= m < π``. Default 0.5 (28.6°, the paper's). pytorch-metric-learning
            takes degrees.
        sub_centers: K >= 1 centres per class. Default 1 (plain ArcFace); the paper suggests 3.
        easy_margin: apply the margin only to positive cosines instead of the threshold fallback.
            Default False.
        sample_weight: {weight_per_sample}
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}
            Every rank must hold the same centres (DDP replicates them); each sample only meets the centres.

    Returns:
        The loss; per sample for ``reduction="none"``.

    Raises:
        ValueError: embeddings that are not ``(N, D)``, a weight whose rows are not D wide or whose count is
            not a multiple of ``sub_centers``, labels of the wrong shape or out of range, an out-of-range
            option, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings / weight, float or bool labels, a non-int
            ``sub_centers``, a non-bool ``easy_margin``.

    Note:
        :math:`\cos(\theta + m)` is computed as :math:`\cos\theta\cos m - \sin\theta \sin m` with
        :math:`\sin\theta = \sqrt{1 - \cos^2\theta}` floored at :math:`\sqrt{\varepsilon}` of the dtype, so
        an embedding exactly on its centre (or opposite it) has a finite gradient. A zero embedding or
        centre has cosine 0 with everything.

    References:
        Deng, Guo, Xue, Zafeiriou, *ArcFace: Additive Angular Margin Loss for Deep Face Recognition*, CVPR
        2019 (arXiv 1801.07698). Deng, Guo, Liu, Xue, Zafeiriou, *Sub-center ArcFace: Boosting Face
        Recognition by Large-Scale Noisy Web Faces*, ECCV 2020.

    Example:
        The embedding (1, 0) is 60° from its centre and 90° from the other class: with a 30° margin both
        logits are :math:`s\cos 90° = 0`, so the loss is log 2 whatever the scale.

        >>> import math, torch
        >>> from losskit.functional import arcface_loss
        >>> x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
        >>> w = torch.tensor([[0.5, math.sqrt(0.75)], [0.0, 1.0]], dtype=torch.float64)
        >>> print(f"{arcface_loss(x, w, torch.tensor([0]), margin=math.pi / 6).item():.9f}")
        0.693147181
    """
    fn = "arcface_loss"
    checks.check_reduction(fn, reduction)
    s = _positive(fn, "scale", scale)
    m = checks.check_number(fn, "margin", margin, low=0.0, high=math.pi, high_open=True)
    k = _check_sub_centers(fn, sub_centers)
    _check_bool(fn, "easy_margin", easy_margin)
    _, cos, y, sw = _head_cosines(fn, embeddings, weight, labels, k, sample_weight)
    c = cos.gather(1, y[:, None]).squeeze(1)
    phi = c * math.cos(m) - _sine(c) * math.sin(m)
    if easy_margin:
        phi = torch.where(c > 0, phi, c)
    else:  # θ + m > π  <=>  cos θ < cos(π - m): continue linearly, keeping φ decreasing in θ
        phi = torch.where(c >= math.cos(math.pi - m), phi, c - m * math.sin(m))
    loss = _softmax_with_target(s * cos, s * phi, y)
    return finish(
        fn,
        loss,
        reduction,
        sw,
        normalizer=normalizer,
        process_group=process_group,
        facts={"classes": int(cos.shape[1])},
        inputs={"embeddings": embeddings, "weight": weight},
    )


def _check_sub_centers(fn: str, sub_centers: object) -> int:
    if isinstance(sub_centers, bool) or not isinstance(sub_centers, int):
        raise TypeError(f"{fn}: sub_centers must be a positive int, got {type(sub_centers).__name__}")
    if sub_centers < 1:
        raise ValueError(f"{fn}: sub_centers must be a positive int (1 = plain ArcFace), got {sub_centers}")
    return sub_centers


def cosface_loss(
    embeddings: Tensor,
    weight: Tensor,
    labels: Tensor,
    *,
    scale: float = 64.0,
    margin: float = 0.35,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""CosFace (large margin cosine, additive cosine margin) loss.

    .. math::
        \ell_i = -\log \frac{e^{s(\cos\theta_{y_i} - m)}}
                 {e^{s(\cos\theta_{y_i} - m)} + \sum_{j \neq y_i} e^{s \cos\theta_j}}

    The margin is subtracted from the true class's cosine of the normalised embedding and centre, so the
    decision boundary between classes i and j is :math:`\cos\theta_i - \cos\theta_j = m` in cosine space.

    Args:
        embeddings: ``(N, D)`` features (normalised inside).
        weight: the class centres ``(C, D)`` (normalised inside). :class:`losskit.nn.CosFaceLoss` holds it.
        labels: {labels}
        scale: s > 0. Default 64 (the paper's).
        margin: m >= 0 in cosine units (finite). Default 0.35 (the paper's).
        sample_weight: {weight_per_sample}
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}
            Every rank must hold the same centres (DDP replicates them); each sample only meets the centres.

    Returns:
        The loss; per sample for ``reduction="none"``.

    Raises:
        ValueError: wrong shapes, labels out of range, out-of-range options, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings / weight, float or bool labels.

    References:
        Wang, Wang, Zhou, Ji, Gong, Zhou, Li, Liu, *CosFace: Large Margin Cosine Loss for Deep Face
        Recognition*, CVPR 2018 (arXiv 1801.09414). Wang, Cheng, Liu, Liu, *Additive Margin Softmax for
        Face Verification*, IEEE SPL 2018 (the same loss, AM-Softmax).

    Example:
        The embedding sits on its centre and is orthogonal to the other: logits
        :math:`64 (1 - 0.35) = 41.6` and 0, a loss of :math:`\log(1 + e^{-41.6})`.

        >>> import math, torch
        >>> from losskit.functional import cosface_loss
        >>> x = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
        >>> w = torch.eye(2, dtype=torch.float64)
        >>> print(f"{cosface_loss(x, w, torch.tensor([0])).item():.6e}  {math.log1p(math.exp(-41.6)):.6e}")
        8.577279e-19  8.577279e-19
    """
    fn = "cosface_loss"
    checks.check_reduction(fn, reduction)
    s = _positive(fn, "scale", scale)
    m = _finite(fn, "margin", margin, low=0.0)
    _, cos, y, sw = _head_cosines(fn, embeddings, weight, labels, 1, sample_weight)
    c = cos.gather(1, y[:, None]).squeeze(1)
    loss = _softmax_with_target(s * cos, s * (c - m), y)
    return finish(
        fn,
        loss,
        reduction,
        sw,
        normalizer=normalizer,
        process_group=process_group,
        facts={"classes": int(cos.shape[1])},
        inputs={"embeddings": embeddings, "weight": weight},
    )


def _chebyshev(c: Tensor, m: int) -> Tensor:
    """``cos(m θ)`` from ``c = cos θ``: the Chebyshev polynomial T_m(c) by its three-term recurrence."""
    t0, t1 = torch.ones_like(c), c
    if m == 0:
        return t0
    for _ in range(m - 1):
        t0, t1 = t1, 2.0 * c * t1 - t0
    return t1


def sphereface_loss(
    embeddings: Tensor,
    weight: Tensor,
    labels: Tensor,
    *,
    margin: int = 4,
    scale: float = 1.0,
    blend: float = 0.0,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""SphereFace (A-Softmax, multiplicative angular margin) loss.

    .. math::
        \ell_i = -\log \frac{e^{s\lVert x_i\rVert f(\theta_{y_i})}}
                 {e^{s\lVert x_i\rVert f(\theta_{y_i})}
                  + \sum_{j \neq y_i} e^{s\lVert x_i\rVert\cos\theta_j}},
        \qquad
        \psi(\theta) = (-1)^k \cos(m\theta) - 2k,
        \ \ \theta \in \Bigl[\tfrac{k\pi}{m}, \tfrac{(k+1)\pi}{m}\Bigr]

    with :math:`f = (\lambda\cos\theta + \psi(\theta)) / (1 + \lambda)` (λ = ``blend``, 0 by default:
    :math:`f = \psi`). Only the centres are normalised: the embedding's norm stays in the logits, as in
    the paper. ψ is the monotone extension of :math:`\cos(m\theta)` to :math:`[0, \pi]`, falling from 1 to
    :math:`1 - 2m`. ``blend`` is the paper's training schedule: start with a large λ (close to plain
    normalised-weight softmax) and anneal it towards 0 (the paper's code stops at 5).

    Args:
        embeddings: ``(N, D)`` features; their norm scales the logits.
        weight: the class centres ``(C, D)`` (normalised inside). :class:`losskit.nn.SphereFaceLoss` holds it.
        labels: {labels}
        margin: the integer angle multiplier m >= 1. Default 4 (the paper's); 1 is the normalised-weight
            softmax of the paper's ablation.
        scale: s > 0 multiplying every logit. Default 1 (the paper has none; pytorch-metric-learning's
            ``SphereFaceLoss(scale=...)``).
        blend: λ >= 0 (finite). Default 0.
        sample_weight: {weight_per_sample}
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}
            Every rank must hold the same centres (DDP replicates them); each sample only meets the centres.

    Returns:
        The loss; per sample for ``reduction="none"``.

    Raises:
        ValueError: wrong shapes, labels out of range, ``margin < 1``, out-of-range options, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings / weight, float or bool labels, a non-int margin.

    Note:
        :math:`\cos(m\theta)` is the Chebyshev polynomial :math:`T_m(\cos\theta)` (no ``acos``, smooth at
        :math:`\theta = 0`), and k counts the points :math:`\cos(j\pi/m)`, j = 1..m, that
        :math:`\cos\theta` does not exceed: :math:`k = \lfloor m\theta/\pi \rfloor`. A zero embedding has
        logits 0 (loss log C) and a finite gradient.

    References:
        Liu, Wen, Yu, Li, Raj, Song, *SphereFace: Deep Hypersphere Embedding for Face Recognition*, CVPR
        2017 (arXiv 1704.08063).

    Example:
        The embedding (2, 0) is 60° from its centre: k = ⌊4/3⌋ = 1, ψ = −cos 240° − 2 = −1.5, so the true
        logit is 2·(−1.5) = −3 against 0 for an orthogonal class: a loss of log(1 + e³).

        >>> import math, torch
        >>> from losskit.functional import sphereface_loss
        >>> x = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
        >>> w = torch.tensor([[0.5, math.sqrt(0.75)], [0.0, 1.0]], dtype=torch.float64)
        >>> print(f"{sphereface_loss(x, w, torch.tensor([0])).item():.9f}  {math.log1p(math.exp(3)):.9f}")
        3.048587352  3.048587352
    """
    fn = "sphereface_loss"
    checks.check_reduction(fn, reduction)
    if isinstance(margin, bool) or not isinstance(margin, int):
        kind = type(margin).__name__
        raise TypeError(f"{fn}: margin must be an int (the angle multiplier, e.g. 4), got {kind}")
    if margin < 1:
        raise ValueError(f"{fn}: margin must be an int >= 1 (the angle multiplier), got {margin}")
    s = _positive(fn, "scale", scale)
    lam = _finite(fn, "blend", blend, low=0.0)
    x, cos, y, sw = _head_cosines(fn, embeddings, weight, labels, 1, sample_weight)
    norm = torch.linalg.vector_norm(x, dim=1)  # gradient 0 at a zero row (torch masks the origin)
    c = cos.gather(1, y[:, None]).squeeze(1)
    # k = ⌊mθ/π⌋ = #{j in 1..m : cos θ <= cos(jπ/m)}; piecewise constant, so no gradient is lost
    bounds = torch.cos(torch.arange(1, margin + 1, dtype=c.dtype, device=c.device) * (math.pi / margin))
    k = (c[:, None] <= bounds).sum(1).to(c.dtype)
    sign = 1.0 - 2.0 * torch.remainder(k, 2.0)
    psi = sign * _chebyshev(c, margin) - 2.0 * k
    f = (lam * c + psi) / (1.0 + lam)
    loss = _softmax_with_target(s * norm[:, None] * cos, s * norm * f, y)
    return finish(
        fn,
        loss,
        reduction,
        sw,
        normalizer=normalizer,
        process_group=process_group,
        facts={"classes": int(cos.shape[1])},
        inputs={"embeddings": embeddings, "weight": weight},
    )


# --------------------------------------------------------------------------------------------------
# pair-based losses


def _pair_setup(
    fn: str, embeddings: Tensor, labels: object, weight: Tensor | None, process_group: Any
) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Any]:
    """Validate a pair loss's arguments; ``(S (N, G), positives, negatives, weight, group)``.

    The rows are this rank's anchors, the columns the candidates: this rank's embeddings, or with a
    ``process_group`` every rank's (gathered with their gradient, in rank order), so ``G`` is the global
    batch size; an anchor is never its own positive.
    """
    _check_embeddings(fn, "embeddings", embeddings)
    n = int(embeddings.shape[0])
    y = _check_labels(fn, labels, n, None)
    checks.check_weight(fn, weight, (n,))
    checks.check_same_device(fn, embeddings=embeddings, labels=y, weight=weight)
    # mining compares similarities: a NaN embedding could drop out of every pair and hide
    checks.check_finite(fn, "embeddings", embeddings)
    group = LD.resolve_group(fn, process_group)
    _, (x, w) = prepare(fn, embeddings, weight)
    assert x is not None
    u = _normalize(x)
    u_all, y_all, offset = u, y, 0
    if group is not None:
        # before the gather: ranks with other widths would fail inside the collective
        LD.check_consistent(fn, group, u.device, width=int(u.shape[1]))
        sizes = LD.gather_sizes(n, group, u.device)
        u_all = LD.all_gather(u, group, sizes=sizes)
        y_all = LD.all_gather(y, group, sizes=sizes)
        offset = LD.rank_offset(sizes, group)
    sim = u @ u_all.T
    same = y[:, None] == y_all[None, :]
    cols = torch.arange(int(u_all.shape[0]), device=sim.device)
    me = (torch.arange(n, device=sim.device) + offset)[:, None] == cols[None, :]
    return sim, same & ~me, ~same, w, group


def _log1p_sum_exp(z: Tensor, keep: Tensor) -> Tensor:
    """``log(1 + Σ_{keep} exp z)`` per row, as softplus of the masked log-sum-exp (accurate when tiny).

    A row that keeps nothing gives softplus(lowest float) = 0, with finite gradients.
    """
    return _softplus(_masked_lse(z, keep))


def multi_similarity_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    epsilon: float | None = 0.1,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Multi-Similarity loss (Wang et al. 2019) with its pair mining.

    .. math::
        \ell_i = \frac{1}{\alpha} \log\Bigl[1 + \sum_{k \in \mathcal P_i} e^{-\alpha (S_{ik} - \lambda)}\Bigr]
               + \frac{1}{\beta} \log\Bigl[1 + \sum_{k \in \mathcal N_i} e^{\beta (S_{ik} - \lambda)}\Bigr]

    over the mined pairs of anchor i (λ = ``base``, ε = ``epsilon``): a negative pair is kept if
    :math:`S_{ik} + \varepsilon > \min_{y_j = y_i,\, j \ne i} S_{ij}` (harder than the anchor's hardest
    positive), a positive pair if :math:`S_{ik} - \varepsilon < \max_{y_j \ne y_i} S_{ij}`. An anchor without
    positives (or negatives) mines nothing: its empty sums give 0, and it counts in the mean
    (the paper's :math:`\frac{1}{m}\sum_i`). The mining picks pairs and carries no gradient.

    ``epsilon=None`` uses every pair (no mining): pytorch-metric-learning's ``MultiSimilarityLoss``
    without a miner; with ``epsilon`` it equals that loss fed by ``MultiSimilarityMiner(epsilon)``.

    Args:
        embeddings: ``(N, D)`` (normalised inside; similarities are cosines).
        labels: ``(N,)`` class labels, any integer dtype (any values: only equality matters).
        alpha: α > 0, the positive pairs' scale. Default 2 (the paper's).
        beta: β > 0, the negative pairs' scale. Default 50 (the paper's).
        base: λ, the similarity margin both terms are measured from (finite). Default 0.5
            (pytorch-metric-learning's and the authors' code; the paper's Table 1 uses 1).
        epsilon: ε >= 0, the mining margin, or None for all pairs. Default 0.1 (the paper's).
        weight: per-anchor weight ``(N,)``; ``"mean"`` divides by its sum.
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}
            Each rank's anchors are compared with every rank's embeddings (gathered with their gradient, so an
            anchor's positives and negatives come from the whole batch), then the per-anchor values are
            reduced over all ranks: the value and gradients are those of one process on the concatenated
            batch. ``"none"`` returns this rank's anchors.

    Returns:
        The loss; per anchor for ``reduction="none"``.

    Raises:
        ValueError: embeddings that are not ``(N, D)``, labels not ``(N,)``, out-of-range options,
            NaN/inf embeddings.
        TypeError: non-tensor or non-float embeddings, float or bool labels.

    Note:
        The authors' code skips anchors that mine no positive or no negative pair entirely (those keep
        the other half in the paper's formula and here); the two agree whenever every anchor mines both.

    References:
        Wang, Han, Huang, Dong, Scott, *Multi-Similarity Loss with General Pair Weighting for Deep Metric
        Learning*, CVPR 2019 (arXiv 1904.06627).

    Example:
        Two classes, each two copies of a unit vector, the classes orthogonal: the positive has similarity
        1 (mined if 1 - 0.1 < 0: no) and the negatives 0 (mined if 0 + 0.1 > 1: no). Nothing is mined,
        the loss is 0; without mining every anchor pays
        :math:`\tfrac12\log(1 + e^{-1}) + \tfrac{1}{50}\log(1 + 2e^{-25})`.

        >>> import math, torch
        >>> from losskit.functional import multi_similarity_loss
        >>> x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> print(f"{multi_similarity_loss(x, y).item():.6f}")
        0.000000
        >>> want = 0.5 * math.log1p(math.exp(-1.0)) + math.log1p(2 * math.exp(-25.0)) / 50
        >>> print(f"{multi_similarity_loss(x, y, epsilon=None).item():.9f}  {want:.9f}")
        0.156630844  0.156630844
    """
    fn = "multi_similarity_loss"
    checks.check_reduction(fn, reduction)
    a = _positive(fn, "alpha", alpha)
    b = _positive(fn, "beta", beta)
    lam = _finite(fn, "base", base)
    eps = None if epsilon is None else _finite(fn, "epsilon", epsilon, low=0.0)
    sim, pos, neg, w, group = _pair_setup(fn, embeddings, labels, weight, process_group)
    if eps is not None:
        s = sim.detach()
        big = torch.finfo(s.dtype).max
        pad = s.new_full((s.shape[0], 1), big)  # sentinel column: rows without positives, an empty batch
        hardest_pos = torch.cat([s.masked_fill(~pos, big), pad], 1).amin(1, keepdim=True)  # keeps no negative
        hardest_neg = torch.cat([s.masked_fill(~neg, -big), -pad], 1).amax(1, keepdim=True)
        neg = neg & (s + eps > hardest_pos)
        pos = pos & (s - eps < hardest_neg)
    loss = _log1p_sum_exp(-a * (sim - lam), pos) / a + _log1p_sum_exp(b * (sim - lam), neg) / b
    return finish(
        fn, loss, reduction, w, normalizer=normalizer, process_group=group, inputs={"embeddings": embeddings}
    )


def circle_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    m: float = 0.4,
    gamma: float = 80.0,
    detach_weights: bool = True,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Circle loss (Sun et al. 2020), pair-based form: every other sample of the batch is a pair.

    .. math::
        \ell_i = \log\Bigl[1 + \sum_{n} e^{\gamma \alpha_n (s_n - \Delta_n)}
                              \sum_{p} e^{-\gamma \alpha_p (s_p - \Delta_p)}\Bigr],
        \qquad \alpha_p = [1 + m - s_p]_+,\ \alpha_n = [s_n + m]_+,\ \Delta_p = 1 - m,\ \Delta_n = m

    over anchor i's positive similarities :math:`s_p` and negative ones :math:`s_n` (cosines). The
    self-paced weights α grow with a similarity's distance from its optimum (1 + m for positives, −m for
    negatives), so each similarity is pushed at its own pace and the decision boundary
    :math:`(s_n - 0)^2 + (s_p - 1)^2 = 2m^2` is a circle. As in the paper (and its code), the α are
    treated as constants in the backward pass (``detach_weights=True``).

    Anchors with no positive or no negative get 0 and are left out of the mean (``"mean"`` divides by
    the number, or weight, of the anchors that have both): pytorch-metric-learning's ``CircleLoss``.

    Args:
        embeddings: ``(N, D)`` (normalised inside).
        labels: ``(N,)`` class labels, any integer dtype.
        m: the relaxation margin, finite. Default 0.4 (the paper's fine-grained retrieval setting and
            pytorch-metric-learning's; 0.25 for face recognition and re-identification).
        gamma: the scale γ > 0. Default 80 (with m = 0.4; the paper uses 256 for faces, 128 for re-id).
        detach_weights: stop the gradient through α (the paper's choice). False differentiates α too
            (the gradient of the value as written).
        weight: per-anchor weight ``(N,)``.
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}
            Each rank's anchors are compared with every rank's embeddings (gathered with their gradient, so an
            anchor's positives and negatives come from the whole batch), then the per-anchor values are
            reduced over all ranks: the value and gradients are those of one process on the concatenated
            batch. ``"none"`` returns this rank's anchors.

    Returns:
        The loss; per anchor for ``reduction="none"``.

    Raises:
        ValueError: embeddings that are not ``(N, D)``, labels not ``(N,)``, out-of-range options,
            NaN/inf embeddings.
        TypeError: non-tensor or non-float embeddings, float or bool labels, a non-bool
            ``detach_weights``.

    References:
        Sun, Cheng, Zhang, Zhang, Zheng, Wang, Wei, *Circle Loss: A Unified Perspective of Pair Similarity
        Optimization*, CVPR 2020 (arXiv 2002.10857).

    Example:
        Anchor, positive and negative pairwise at 90°: :math:`s_p = s_n = 0`, α_p = 1.4, α_n = 0.4, so
        :math:`\ell = \log(1 + e^{80 \cdot 0.4 \cdot (-0.4)} e^{80 \cdot 1.4 \cdot 0.6})`.

        >>> import math, torch
        >>> from losskit.functional import circle_loss
        >>> x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
        >>> out = circle_loss(x, torch.tensor([0, 0, 1]), reduction="none")
        >>> print(f"{out[0].item():.4f}  {math.log1p(math.exp(-12.8 + 67.2)):.4f}")
        54.4000  54.4000
    """
    fn = "circle_loss"
    checks.check_reduction(fn, reduction)
    mm = _finite(fn, "m", m)
    g = _positive(fn, "gamma", gamma)
    _check_bool(fn, "detach_weights", detach_weights)
    sim, pos, neg, w, group = _pair_setup(fn, embeddings, labels, weight, process_group)
    sa = sim.detach() if detach_weights else sim
    zp = -g * torch.relu(1.0 + mm - sa) * (sim - (1.0 - mm))
    zn = g * torch.relu(sa + mm) * (sim - mm)
    valid = pos.any(1) & neg.any(1)
    # log(1 + Σ_n e^{zn} Σ_p e^{zp}) = softplus(lse_p + lse_n); an anchor lacking either set gives 0
    loss = _softplus(_masked_lse(zp, pos) + _masked_lse(zn, neg))
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    v = valid.to(loss.dtype)
    denom = None if reduction != "mean" else (v if w is None else v * w)
    return finish(
        fn,
        loss,
        reduction,
        w,
        denominator=denom,
        normalizer=normalizer,
        process_group=group,
        inputs={"embeddings": embeddings},
    )


# --------------------------------------------------------------------------------------------------
# proxy-based


def proxy_anchor_loss(
    embeddings: Tensor,
    proxies: Tensor,
    labels: Tensor,
    *,
    alpha: float = 32.0,
    delta: float = 0.1,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Proxy-Anchor loss (Kim et al. 2020): each class proxy is an anchor against the whole batch.

    .. math::
        \ell = \frac{1}{|P^+|} \sum_{p \in P^+}
                   \log\Bigl[1 + \sum_{x \in X_p^+} e^{-\alpha (s(x, p) - \delta)}\Bigr]
             + \frac{1}{|P|} \sum_{p \in P}
                   \log\Bigl[1 + \sum_{x \in X_p^-} e^{\alpha (s(x, p) + \delta)}\Bigr]

    with :math:`s` the cosine similarity, P the C proxies, :math:`P^+` those with at least one embedding of
    their class in the batch, and :math:`X_p^\pm` the batch's embeddings of (not of) proxy p's class.

    The loss is a sum over proxies, not samples: ``reduction="none"`` returns the ``(C,)`` per-proxy terms
    :math:`h_p^+ + h_p^-` (the two logarithms), ``"sum"`` their sum, and ``"mean"`` the paper's loss
    above (each half divided by its own count, so it is not ``none.mean()``). A per-proxy ``weight``
    ``(C,)`` multiplies both halves and replaces the counts by weight sums.

    Args:
        embeddings: ``(N, D)`` (normalised inside).
        proxies: ``(C, D)``, one per class (normalised inside; gradients flow to it).
            :class:`losskit.nn.ProxyAnchorLoss` holds them.
        labels: {labels}
        alpha: the scale α > 0. Default 32 (the paper's).
        delta: the margin δ (finite). Default 0.1 (the paper's).
        weight: per-proxy (per-class) weight ``(C,)``.
        reduction: ``"none"`` (``(C,)``), ``"mean"`` (the paper's) or ``"sum"``.
        normalizer: with ``reduction="mean"``, replaces both halves' counts by one number or 0-d tensor
            > 0: the loss is then ``"sum"`` divided by it. Default None.
        process_group: {process_group}
            Every rank must hold the same proxies (DDP replicates them). Each rank's per-proxy log-sum-exps
            over its own embeddings (``2·C`` numbers) are gathered with their gradient and combined, and
            :math:`P^+` counts the proxies with a positive on any rank, so ``"none"`` (the ``(C,)`` terms),
            ``"sum"`` and ``"mean"`` are those of one process on the concatenated batch, on every rank.

    Returns:
        The loss; per proxy for ``reduction="none"``.

    Raises:
        ValueError: wrong shapes, labels out of range, out-of-range options, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings / proxies, float or bool labels.

    References:
        Kim, Kim, Cho, Kwak, *Proxy Anchor Loss for Deep Metric Learning*, CVPR 2020 (arXiv 2003.13911).

    Example:
        One embedding on proxy 0, orthogonal to proxy 1: :math:`P^+ = \{0\}`,
        :math:`\ell = \log(1 + e^{-32 \cdot 0.9}) + \tfrac12 \log(1 + e^{32 \cdot 0.1})`.

        >>> import math, torch
        >>> from losskit.functional import proxy_anchor_loss
        >>> x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
        >>> want = math.log1p(math.exp(-28.8)) + 0.5 * math.log1p(math.exp(3.2))
        >>> print(f"{proxy_anchor_loss(x, torch.eye(2, dtype=torch.float64), torch.tensor([0])).item():.9f}"
        ...       f"  {want:.9f}")
        1.619976667  1.619976667
    """
    fn = "proxy_anchor_loss"
    checks.check_reduction(fn, reduction)
    a = _positive(fn, "alpha", alpha)
    d = _finite(fn, "delta", delta)
    _check_embeddings(fn, "embeddings", embeddings)
    num_classes = _check_centres(fn, "proxies", proxies, embeddings)
    n = int(embeddings.shape[0])
    y = _check_labels(fn, labels, n, num_classes)
    checks.check_weight(fn, weight, (num_classes,))
    checks.check_same_device(fn, embeddings=embeddings, proxies=proxies, labels=y, weight=weight)
    group = LD.resolve_group(fn, process_group)
    _, (x, pr, w) = prepare(fn, embeddings, proxies, weight)
    assert x is not None and pr is not None
    cos = _normalize(pr) @ _normalize(x).T  # (C, N): proxies as anchors
    is_pos = torch.nn.functional.one_hot(y, num_classes).T.to(torch.bool)
    lse_pos = _masked_lse(-a * (cos - d), is_pos)
    lse_neg = _masked_lse(a * (cos + d), ~is_pos)
    has_pos = is_pos.any(1).to(lse_pos.dtype)
    if group is not None:
        # the batch's sums over embeddings are sums over ranks: gather the local log-sum-exps (an empty
        # rank's are -inf, floored at the lowest float) and combine them
        LD.check_consistent(
            fn,
            group,
            x.device,
            classes=num_classes,
            width=int(x.shape[1]),
            reduction=("none", "mean", "sum").index(reduction),
            normalizer_given=int(normalizer is not None),
        )
        low = torch.finfo(lse_pos.dtype).min
        local = torch.stack([lse_pos, lse_neg]).clamp_min(low)[None]
        both = torch.logsumexp(LD.all_gather(local, group, sizes=[1] * LD.world_size(group)), dim=0)
        lse_pos, lse_neg = both[0], both[1]
        with torch.no_grad():
            has_pos = (LD.all_reduce_sum(has_pos, group) > 0).to(lse_pos.dtype)
    h_pos = _softplus(lse_pos)
    h_neg = _softplus(lse_neg)
    inputs: dict[str, Tensor | None] = {"embeddings": embeddings, "proxies": proxies}
    # the values below are already those of the whole (multi-rank) batch: reduce them locally
    if reduction != "mean" or normalizer is not None:
        return finish(fn, h_pos + h_neg, reduction, w, normalizer=normalizer, inputs=inputs)
    ones = torch.ones_like(h_pos)
    count_pos = (has_pos if w is None else has_pos * w).sum()
    count_all = (ones if w is None else w).sum()
    one = torch.ones_like(count_pos)
    pos_part = finish(fn, h_pos, "sum", w, inputs=inputs) / torch.where(count_pos > 0, count_pos, one)
    neg_part = finish(fn, h_neg, "sum", w, inputs=inputs) / torch.where(count_all > 0, count_all, one)
    return pos_part + neg_part


# --------------------------------------------------------------------------------------------------
# triplet mining


def mine_triplets(
    embeddings: Tensor,
    labels: Tensor,
    *,
    strategy: str = "batch_hard",
    margin: float = 1.0,
    p: float = 2.0,
    squared: bool = False,
    distance: str = "euclidean",
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Pick ``(anchor, positive, negative)`` index triples from a labelled batch, for :func:`triplet_loss`.

    Distances are those :func:`losskit.functional.triplet_loss` uses with the same ``p``, ``squared`` and
    ``distance`` (pass the same values to both). For a valid triple, ``labels[a] == labels[p]``,
    ``a != p`` and ``labels[n] != labels[a]``; with :math:`d_{ap}, d_{an}` its two distances:

    * ``"batch_hard"`` (Hermans et al. 2017): one triple per anchor that has a positive and a negative,
      its farthest positive and its nearest negative (the first index on ties), in anchor order.
    * ``"semi_hard"`` (Schroff et al. 2015): every valid triple whose negative is farther than the
      positive but inside the margin, :math:`0 < d_{an} - d_{ap} \le m` (pytorch-metric-learning's
      ``TripletMarginMiner(type_of_triplets="semihard")``).
    * ``"all"``: every valid triple (Hermans et al.'s "batch all"; combine with triplet_loss's
      ``reduction="mean_nonzero"`` for their average over the active triples).

    Triples come in lexicographic ``(a, p, n)`` order for ``"semi_hard"`` and ``"all"``. The mining reads
    no gradient; feed the rows to the loss::

        a, p, n = mine_triplets(emb, labels, strategy="semi_hard", margin=0.2)
        loss = triplet_loss(emb[a], emb[p], emb[n], margin=0.2)

    Args:
        embeddings: ``(N, D)``.
        labels: ``(N,)`` class labels, any integer dtype.
        strategy: ``"batch_hard"`` (default), ``"semi_hard"`` or ``"all"``.
        margin: m >= 0 for ``"semi_hard"`` (the loss's margin). Default 1, triplet_loss's default.
        p: the norm's order (>= 1) for ``distance="euclidean"``. Default 2.
        squared: squared distances, as triplet_loss's ``squared``. Default False.
        distance: ``"euclidean"`` or ``"cosine"`` (:math:`1 - \cos`), as triplet_loss's ``distance``.

    Returns:
        Three int64 tensors ``(T,)``: anchor, positive and negative indices (T = 0 when no triple exists).
        The number of triples depends on the data, so the miner is not traced by ``torch.compile``
        (``fullgraph=True``); the loss on the mined rows is.

    Raises:
        ValueError: embeddings that are not ``(N, D)``, labels not ``(N,)``, an unknown strategy or
            distance, out-of-range options, NaN embeddings.
        TypeError: non-tensor or non-float embeddings, float or bool labels.

    References:
        Hermans, Beyer, Leibe, *In Defense of the Triplet Loss for Person Re-Identification*, arXiv
        1703.07737 (2017). Schroff, Kalenichenko, Philbin, *FaceNet: A Unified Embedding for Face
        Recognition and Clustering*, CVPR 2015 (arXiv 1503.03832).

    Example:
        Two classes on a line: anchor 0's farthest positive is 1 and nearest negative 2.

        >>> import torch
        >>> from losskit.functional import mine_triplets
        >>> x = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
        >>> a, p, n = mine_triplets(x, torch.tensor([0, 0, 1, 1]))
        >>> a.tolist(), p.tolist(), n.tolist()
        ([0, 1, 2, 3], [1, 0, 3, 2], [2, 2, 1, 1])
    """
    fn = "mine_triplets"
    checks.check_option(fn, "strategy", strategy, TRIPLET_STRATEGIES)
    checks.check_option(fn, "distance", distance, DISTANCES)
    mg = _finite(fn, "margin", margin, low=0.0)
    order = checks.check_number(fn, "p", p, low=1.0)
    if distance == "cosine" and order != 2.0:
        raise ValueError(f"{fn}: p applies to distance='euclidean', got p={p!r} with distance='cosine'")
    _check_bool(fn, "squared", squared)
    _check_embeddings(fn, "embeddings", embeddings)
    n = int(embeddings.shape[0])
    y = _check_labels(fn, labels, n, None)
    checks.check_same_device(fn, embeddings=embeddings, labels=y)
    checks.check_finite(fn, "embeddings", embeddings)
    with torch.no_grad():
        _, (x,) = prepare(fn, embeddings)
        assert x is not None
        if distance == "cosine":
            u = _normalize(x)
            dist = 1.0 - u @ u.T
            dist = dist * dist if squared else dist
        else:  # exact pairwise norms (no Gram-matrix shortcut), the distances triplet_loss computes
            dist = torch.cdist(x, x, p=order, compute_mode="donot_use_mm_for_euclid_dist")
            dist = dist * dist if squared else dist
        same = y[:, None] == y[None, :]
        eye = torch.eye(n, dtype=torch.bool, device=x.device)
        pos, neg = same & ~eye, ~same
        if strategy == "batch_hard":
            anchors = torch.nonzero(pos.any(1) & neg.any(1)).squeeze(1)
            far = dist.masked_fill(~pos, -math.inf).argmax(1)
            near = dist.masked_fill(~neg, math.inf).argmin(1)
            return anchors, far[anchors], near[anchors]
        keep = pos[:, :, None] & neg[:, None, :]
        if strategy == "semi_hard":
            gap = dist[:, None, :] - dist[:, :, None]  # d_an - d_ap, indexed [a, p, n]
            keep = keep & (gap > 0) & (gap <= mg)
        a_idx, p_idx, n_idx = torch.nonzero(keep, as_tuple=True)
        return a_idx, p_idx, n_idx
