r"""Embedding (metric-learning) losses: contrastive, triplet, InfoNCE, NT-Xent, SupCon and CLIP (SPEC §5).

These losses take embeddings rather than ``(input, target)`` pairs: every embedding argument is a
``(N, D)`` float tensor whose rows are the samples. Conventions shared with the rest of losskit
(SPEC §0): ``reduction`` is ``"none" | "mean" | "sum"``; ``weight`` is a per-sample ``(N,)`` weight and
``"mean"`` divides by the sum of weights; an empty batch gives 0 with a working backward; float16 and
bfloat16 inputs are computed and returned in float32.

Numerics. Every similarity-softmax loss (:func:`info_nce_loss`, :func:`nt_xent_loss`,
:func:`supervised_contrastive_loss`, :func:`clip_loss`) is evaluated in log space with ``logsumexp``;
no similarity is exponentiated on its own. Cosine similarities divided by a temperature of 0.005 are
logits in [-200, 200], far past float32's ``exp`` overflow at 88.7, and the losses stay finite there
(MONAI's ``ContrastiveLoss``, which divides exponentials, returns NaN at such temperatures). Distances
at zero (identical embeddings) have finite gradients: the Euclidean norm's derivative is taken as 0 at
the origin, where its direction is undefined.

Across ranks. Every loss here takes ``process_group=None``. With a ``torch.distributed`` group, the loss is
that of the union of all ranks' batches (concatenated in rank order): ``"mean"`` and ``"sum"`` give the
same value on every rank, and each rank's embeddings receive ``W`` times their full-batch gradient
(``W`` = world size), which DistributedDataParallel's gradient averaging turns into exactly the
single-process gradient (see :mod:`losskit.distributed`). ``"none"`` returns this rank's ``n`` values,
each computed against the whole batch, as ``"none"`` does for every losskit loss across ranks. The softmax
losses take ``local_loss``: ``False`` (default) gathers every embedding and each rank evaluates the whole
``G × G`` similarity matrix (``G`` = global batch); ``True`` evaluates only this rank's ``n × G`` rows
(local anchors against every rank's candidates) and sums them across ranks with one two-number
all-reduce. Both give the same value and gradients; ``local_loss=True`` needs ``O(n·G)`` memory per rank
instead of ``O(G²)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit import distributed as LD
from losskit._core import checks
from losskit._core.options import OneOf, declare
from losskit._core.reduction import check_normalizer
from losskit.functional._common import finish, prepare

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "clip_loss",
    "contrastive_loss",
    "info_nce_loss",
    "nt_xent_loss",
    "siglip_loss",
    "supervised_contrastive_loss",
    "triplet_loss",
]

DISTANCES = ("euclidean", "cosine")

# rows shorter than this are treated as zero when normalising (cosine of a zero vector is 0)
_NORM_EPS = 1e-12
# exp(logit_scale) is clamped at 100 (CLIP): logit_scale itself at ln 100
_MAX_LOG_SCALE = math.log(100.0)


# --------------------------------------------------------------------------------------------------
# validation helpers


def _check_embeddings(fn: str, name: str, x: object, what: str = "(N, D)") -> Tensor:
    t = checks.check_float(fn, name, x)
    if t.dim() != 2:
        raise ValueError(
            f"{fn}: {name} must have shape {what}, one embedding per row, got {checks.fmt_shape(t.shape)}"
        )
    return t


def _check_like(fn: str, name: str, x: object, ref: Tensor, ref_name: str) -> Tensor:
    t = checks.check_float(fn, name, x)
    checks.check_shape(fn, name, t, tuple(ref.shape), f"(the shape of {ref_name})")
    return t


def _check_temperature(fn: str, temperature: float) -> float:
    return checks.check_number(fn, "temperature", temperature, low=0.0, low_open=True)


_check_bool = checks.check_flag  # the shared vocabulary; the old name kept for modules that import it


def _check_margin(fn: str, margin: float) -> float:
    m = checks.check_number(fn, "margin", margin, low=0.0)
    if math.isinf(m):
        raise ValueError(f"{fn}: margin must be finite, got {margin!r}")
    return m


def _check_sample_weight(fn: str, weight: Tensor | None, n: int) -> None:
    checks.check_weight(fn, weight, (n,))


# --------------------------------------------------------------------------------------------------
# numeric helpers


def _normalize(x: Tensor) -> Tensor:
    """Rows scaled to unit L2 norm; a zero row stays zero (its cosine with anything is 0)."""
    return F.normalize(x, p=2.0, dim=-1, eps=_NORM_EPS)


def _pnorm(diff: Tensor, p: float) -> Tensor:
    """Row-wise ``‖diff‖_p``, exact (no eps added), with gradient 0 at a zero row instead of NaN."""
    # torch's norm backward masks the origin (0 instead of 0/0); a plain sqrt(sum(d**2)) would give NaN
    return torch.linalg.vector_norm(diff, ord=p, dim=-1)


def _sq_pnorm(diff: Tensor, p: float) -> Tensor:
    """Row-wise ``‖diff‖_p²``; for p = 2 the plain sum of squares (smooth everywhere)."""
    if p == 2.0:
        return (diff * diff).sum(-1)
    d = _pnorm(diff, p)
    return d * d


def _softmax_terms(logits: Tensor, positive: Tensor) -> Tensor:
    """``logsumexp(logits) - positive`` per row: the cross-entropy of the positive logit."""
    return torch.logsumexp(logits, dim=-1) - positive


def _as_float_target(fn: str, target: object, n: int, dtype: torch.dtype) -> Tensor:
    t = checks.check_tensor(fn, "target", target)
    checks.check_shape(fn, "target", t, (n,), "(one 0/1 label per pair)")
    if t.is_floating_point():
        checks.check_probabilities(fn, "target", t)
        return t.to(dtype)
    if t.is_complex():
        raise TypeError(f"{fn}: target must be a bool, integer or float tensor of 0/1 labels, got {t.dtype}")
    if t.numel() and t.dtype != torch.bool and checks.values_checked(t):
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi > 1:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{fn}: target must hold 0/1 labels (1 = similar pair), got a value {bad}")
    return t.to(dtype)


def _check_scalar_param(fn: str, name: str, value: object) -> tuple[Tensor | None, float]:
    """A float or one-element float tensor (possibly learnable): ``(tensor, 0.0)`` or ``(None, float)``."""
    if isinstance(value, Tensor):
        checks.check_float(fn, name, value)
        if value.numel() != 1:
            raise ValueError(
                f"{fn}: {name} must be a number or a one-element tensor, got shape "
                f"{checks.fmt_shape(value.shape)}"
            )
        return value, 0.0
    v = checks.check_number(fn, name, value)
    if math.isinf(v):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return None, v


# --------------------------------------------------------------------------------------------------
# across ranks


def _group(fn: str, process_group: Any, device: torch.device, **facts: int) -> Any:
    """Resolve ``process_group``; under full checks, verify that every rank passed the same ``facts``."""
    group = LD.resolve_group(fn, process_group)
    LD.check_consistent(fn, group, device, **facts)
    return group


def _gather(x: Tensor | None, group: Any, sizes: list[int]) -> Tensor | None:
    """Every rank's rows of ``x`` in rank order (gradient routed back to the owners); None stays None."""
    return None if x is None else LD.all_gather(x, group, sizes=sizes)


def _finish_gathered(
    fn: str,
    values: Tensor,
    reduction: str,
    weight: Tensor | None,
    group: Any,
    sizes: list[int],
    *,
    has_pos: Tensor | None = None,
    avg_factor: float | Tensor | None = None,
    inputs: dict[str, Tensor | None],
) -> Tensor:
    """Reduce the whole batch's per-sample loss, computed on every rank (``local_loss=False``).

    ``weight`` is this rank's; ``"none"`` returns this rank's rows, the reductions those of all ``G``.
    ``avg_factor`` is the public ``normalizer`` (the global count: the values are already global).
    """
    if reduction == "none":
        offset = LD.rank_offset(sizes, group)
        mine = values[offset : offset + sizes[LD.rank(group)]]
        return finish(fn, mine, "none", weight, inputs=inputs)
    w_all = _gather(weight, group, sizes)
    normalizer = None if has_pos is None else (has_pos if w_all is None else has_pos * w_all)
    return finish(fn, values, reduction, w_all, denominator=normalizer, normalizer=avg_factor, inputs=inputs)


def _reduce_across(
    fn: str,
    values: Tensor,
    reduction: str,
    weight: Tensor | None,
    group: Any,
    sizes: list[int] | None = None,
    *,
    normalizer: Tensor | None = None,
    avg_factor: float | Tensor | None = None,
    inputs: dict[str, Tensor | None],
) -> Tensor:
    """Reduce this rank's rows of the global per-sample loss into the loss of the whole multi-rank batch.

    ``"none"`` returns the (weighted) local rows, as every losskit loss does across ranks; ``"sum"`` /
    ``"mean"`` all-reduce two numbers, the local ``Σ w·ℓ`` and the local normaliser (``Σ w``, or the
    sample count). The all-reduce is differentiable, so the value is the same on every rank and each
    rank's inputs receive ``W`` times their gradient. ``avg_factor`` (the public ``normalizer``, a global
    count) replaces the all-reduced denominator of ``"mean"`` (the same two numbers are all-reduced, so
    every rank issues the same collective).
    """
    vals = values if weight is None else values * weight
    if reduction == "none":
        return finish(fn, vals, "none", inputs=inputs)
    if normalizer is None:
        normalizer = weight
    count = vals.new_tensor(float(vals.numel())) if normalizer is None else normalizer.sum().to(vals.dtype)
    total, denom = LD.all_reduce_sum(torch.stack([vals.sum(), count]), group).unbind()
    if reduction == "sum":
        out = total
    elif avg_factor is not None:
        out = total / (avg_factor.to(total.dtype) if isinstance(avg_factor, Tensor) else float(avg_factor))
    else:
        out = total / torch.where(denom == 0, torch.ones_like(denom), denom)
    return checks.check_finite_result(fn, out, **inputs)


_REDUCTION_CODE = {"none": 0, "mean": 1, "sum": 2, "mean_nonzero": 3}
_PML_REDUCTIONS = tuple(_REDUCTION_CODE)  # "mean_nonzero": pytorch-metric-learning's AvgNonZeroReducer


# --------------------------------------------------------------------------------------------------
# pair and triplet losses


@declare(reduction=OneOf(_PML_REDUCTIONS))
def contrastive_loss(
    x1: Tensor,
    x2: Tensor,
    target: Tensor,
    *,
    margin: float = 1.0,
    distance: str = "euclidean",
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
) -> Tensor:
    r"""Contrastive loss for pairs of embeddings (Hadsell, Chopra & LeCun 2006).

    .. math::
        \ell = Y\,\tfrac12 D^2 + (1 - Y)\,\tfrac12 \max(0,\, m - D)^2,
        \qquad D = \lVert x_1 - x_2 \rVert_2

    Similar pairs are pulled together, dissimilar pairs pushed apart until they are ``margin`` away.

    **Label convention: target 1 = similar pair.** This is the convention of the user's note 001 and of
    most code; the paper writes :math:`Y = 0` for similar pairs, so its :math:`Y` is ``1 - target``.
    The ½ factors are the paper's (note 001 drops them, which doubles the loss).

    Args:
        x1: embeddings ``(N, D)``.
        x2: embeddings ``(N, D)``, row ``i`` paired with row ``i`` of ``x1``.
        target: ``(N,)`` labels, 1 for a similar pair and 0 for a dissimilar one (bool, integer, or float in
            [0, 1], which interpolates the two terms).
        margin: ``m >= 0``, the distance beyond which dissimilar pairs cost nothing. Default 1. With
            ``distance="cosine"`` distances lie in [0, 2], so a margin around 0.5 is typical.
        distance: ``"euclidean"`` (default, the paper's :math:`D`) or ``"cosine"``
            (:math:`D = 1 - \cos(x_1, x_2)`, scale-invariant).
        weight: {weight_per_pair}
        reduction: ``"none"`` (``(N,)``), ``"mean"``, ``"sum"`` or ``"mean_nonzero"`` (the mean over the
            pairs whose loss is > 0: pytorch-metric-learning's ``AvgNonZeroReducer``; 0 when none is).
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the
            reduction runs over every rank's pairs (``"mean"`` divides by the global weight sum), the same
            value on every rank; ``"none"`` returns this rank's values (no communication).

    Returns:
        The loss; per pair ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: shapes that differ (no broadcasting), labels outside {0, 1} / [0, 1], a negative margin,
            an unknown ``distance``, NaN/inf inputs (value checks: see :func:`losskit.set_checks`).
        TypeError: non-tensor or non-float embeddings.

    Note:
        The similar-pair term is computed as ``½ Σ (x1 - x2)²`` (smooth everywhere). At ``D = 0`` a
        dissimilar pair has no preferred direction to move apart; its gradient there is 0 (finite), not
        the NaN of ``d/dx sqrt(x)`` at 0.

        pytorch-metric-learning's ``ContrastiveLoss`` uses non-squared hinge terms:
        ``max(0, D - pos_margin)`` and ``max(0, neg_margin - D)``; with ``pos_margin=0`` each of its
        per-pair values is ``sqrt(2 ℓ)`` of losskit's.

    References:
        Hadsell, Chopra, LeCun, *Dimensionality Reduction by Learning an Invariant Mapping*, CVPR 2006.

    Example:
        Two points 0.8 apart with margin 1: a similar pair costs ½·0.8² = 0.32, a dissimilar one
        ½·(1 - 0.8)² = 0.02.

        >>> import torch
        >>> from losskit.functional import contrastive_loss
        >>> x1 = torch.tensor([[0.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
        >>> x2 = torch.tensor([[0.8, 0.0], [0.0, 0.8]], dtype=torch.float64)
        >>> contrastive_loss(x1, x2, torch.tensor([1, 0]), reduction="none")
        tensor([0.3200, 0.0200], dtype=torch.float64)
    """
    fn = "contrastive_loss"
    check_normalizer(fn, normalizer, reduction)
    _check_reduction_nz(fn, reduction)
    m = _check_margin(fn, margin)
    checks.check_option(fn, "distance", distance, DISTANCES)
    _check_embeddings(fn, "x1", x1)
    _check_like(fn, "x2", x2, x1, "x1")
    n = int(x1.shape[0])
    checks.check_tensor(fn, "target", target)
    _check_sample_weight(fn, weight, n)
    checks.check_same_device(fn, x1=x1, x2=x2, target=target, weight=weight)
    dtype, (a, b, w) = prepare(fn, x1, x2, weight)
    assert a is not None and b is not None
    y = _as_float_target(fn, target, n, dtype)
    group = _group(
        fn,
        process_group,
        x1.device,
        width=int(x1.shape[1]),
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        distance=DISTANCES.index(distance),
    )

    if distance == "euclidean":
        diff = a - b
        d_sq = (diff * diff).sum(-1)
        d = _pnorm(diff, 2.0)
    else:
        d = 1.0 - (_normalize(a) * _normalize(b)).sum(-1)
        d_sq = d * d
    hinge = torch.clamp(m - d, min=0.0)
    loss = 0.5 * (y * d_sq + (1.0 - y) * hinge * hinge)
    inputs: dict[str, Tensor | None] = {"x1": x1, "x2": x2, "target": target}
    if group is not None:
        if reduction == "mean_nonzero":
            active = (loss.detach() > 0).to(loss.dtype)
            nz = active if w is None else active * w
            return _reduce_across(fn, loss, "mean", w, group, normalizer=nz, inputs=inputs)
        return _reduce_across(fn, loss, reduction, w, group, avg_factor=normalizer, inputs=inputs)
    return _finish_nz(fn, loss, reduction, w, avg_factor=normalizer, inputs=inputs)


@declare(reduction=OneOf(_PML_REDUCTIONS))
def triplet_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    swap: bool = False,
    squared: bool = False,
    distance: str = "euclidean",
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
) -> Tensor:
    r"""Triplet margin loss (FaceNet): the positive must be nearer the anchor than the negative by ``margin``.

    .. math::
        \ell = \max\bigl(0,\; d(a, p) - d(a, n) + m\bigr), \qquad d(u, v) = \lVert u - v \rVert_p

    With ``swap=True`` (Balntas et al. 2016) :math:`d(a, n)` is replaced by
    :math:`\min(d(a, n), d(p, n))`, the harder of the two negatives distances. With ``squared=True``
    :math:`d` is the squared distance :math:`\lVert u - v\rVert_p^2`, as in the FaceNet paper.

    Args:
        anchor: embeddings ``(N, D)``.
        positive: ``(N, D)``, same identity as the anchor.
        negative: ``(N, D)``, another identity.
        margin: ``m >= 0``. Default 1.
        p: the norm's order, ``p >= 1`` (``float("inf")`` allowed). Default 2.
        swap: use the distance swap. Default False.
        squared: use squared distances. Default False.
        distance: ``"euclidean"`` (default: the p-norm above) or ``"cosine"``, :math:`d = 1 - \cos(u, v)`
            (scale-invariant; ``p`` must stay 2). The latter is pytorch-metric-learning's
            ``TripletMarginLoss(distance=CosineSimilarity())``: its violation :math:`s_{an} - s_{ap} + m`
            equals :math:`d_{ap} - d_{an} + m`. With cosine distances in [0, 2], margins of 0.05 to 0.5
            are usual.
        weight: per-triplet weight ``(N,)``; ``"mean"`` divides by its sum.
        reduction: ``"none"`` (``(N,)``), ``"mean"``, ``"sum"`` or ``"mean_nonzero"`` (the mean over the
            triplets that violate the margin, pytorch-metric-learning's default ``AvgNonZeroReducer``;
            0 when none does).
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the
            reduction runs over every rank's triplets (``"mean"`` divides by the global weight sum), the same
            value on every rank; ``"none"`` returns this rank's values (no communication).

    Returns:
        The loss; per triplet ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: shapes that differ, a negative margin, ``p < 1``, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings, non-bool ``swap`` / ``squared``.

    Note:
        Distances are exact. ``torch.nn.functional.triplet_margin_loss`` adds ``eps=1e-6`` to the
        *difference vector* before the norm (``‖a - p + eps‖``), which shifts every distance by up to
        ``eps·D^{1/p}`` and is not symmetric in its arguments; losskit equals torch with ``eps=0``.
        At a zero distance the gradient of the norm is taken as 0 (finite).

    References:
        Schroff, Kalenichenko, Philbin, *FaceNet: A Unified Embedding for Face Recognition and Clustering*,
        CVPR 2015 (arXiv 1503.03832). Balntas, Riba, Ponsa, Mikolajczyk, *Learning local feature descriptors
        with triplets and shallow convolutional neural networks*, BMVC 2016 (the swap).

    Example:
        Anchor at the origin, positive at (0.5, 0.5), negative at (1, 0), margin 1:
        ``max(0, 0.7071 - 1 + 1) = 0.707106781``.

        >>> import torch
        >>> from losskit.functional import triplet_loss
        >>> a = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
        >>> p = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
        >>> n = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
        >>> print(f"{triplet_loss(a, p, n).item():.9f}")
        0.707106781
    """
    fn = "triplet_loss"
    check_normalizer(fn, normalizer, reduction)
    _check_reduction_nz(fn, reduction)
    m = _check_margin(fn, margin)
    order = checks.check_number(fn, "p", p, low=1.0)
    checks.check_option(fn, "distance", distance, DISTANCES)
    if distance == "cosine" and order != 2.0:
        raise ValueError(f"{fn}: p applies to distance='euclidean', got p={p!r} with distance='cosine'")
    checks.check_flag(fn, "swap", swap)
    checks.check_flag(fn, "squared", squared)
    _check_embeddings(fn, "anchor", anchor)
    _check_like(fn, "positive", positive, anchor, "anchor")
    _check_like(fn, "negative", negative, anchor, "anchor")
    n = int(anchor.shape[0])
    _check_sample_weight(fn, weight, n)
    checks.check_same_device(fn, anchor=anchor, positive=positive, negative=negative, weight=weight)
    # an infinitely far negative gives loss 0 (the hinge hides it) and a NaN gradient (inf / inf)
    checks.check_finite(fn, "negative", negative)
    group = _group(
        fn,
        process_group,
        anchor.device,
        width=int(anchor.shape[1]),
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        swap=int(swap),
        squared=int(squared),
    )
    _, (a, pos, neg, w) = prepare(fn, anchor, positive, negative, weight)
    assert a is not None and pos is not None and neg is not None

    def dist(u: Tensor, v: Tensor) -> Tensor:
        if distance == "cosine":
            d = 1.0 - (_normalize(u) * _normalize(v)).sum(-1)
            return d * d if squared else d
        return _sq_pnorm(u - v, order) if squared else _pnorm(u - v, order)

    d_ap = dist(a, pos)
    d_an = dist(a, neg)
    if swap:
        d_an = torch.minimum(d_an, dist(pos, neg))
    loss = torch.clamp(d_ap - d_an + m, min=0.0)
    inputs: dict[str, Tensor | None] = {"anchor": anchor, "positive": positive, "negative": negative}
    if group is not None:
        if reduction == "mean_nonzero":
            active = (loss.detach() > 0).to(loss.dtype)
            nz = active if w is None else active * w
            return _reduce_across(fn, loss, "mean", w, group, normalizer=nz, inputs=inputs)
        return _reduce_across(fn, loss, reduction, w, group, avg_factor=normalizer, inputs=inputs)
    return _finish_nz(fn, loss, reduction, w, avg_factor=normalizer, inputs=inputs)


# --------------------------------------------------------------------------------------------------
# similarity-softmax losses


def info_nce_loss(
    query: Tensor,
    key: Tensor,
    *,
    negatives: Tensor | None = None,
    temperature: float = 0.1,
    normalize: bool = True,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    local_loss: bool = False,
) -> Tensor:
    r"""InfoNCE: classify each query's positive key among in-batch (and optional extra) negatives.

    .. math::
        \ell_i = -\log \frac{\exp(s(q_i, k_i)/\tau)}
            {\sum_{j=1}^{N} \exp(s(q_i, k_j)/\tau) + \sum_{m} \exp(s(q_i, n_m)/\tau)}

    Row ``i`` of ``key`` is the positive for row ``i`` of ``query``; every other row of ``key`` and every
    row of ``negatives`` is a negative. :math:`s` is the cosine similarity (``normalize=True``) or the dot
    product. This is cross-entropy over the logits ``[q_i·k_1, …, q_i·k_N, q_i·n_1, …] / τ`` with target
    ``i``, computed with ``logsumexp``.

    Args:
        query: ``(N, D)``.
        key: ``(N, D)``, the positives.
        negatives: optional extra negatives, ``(M, D)`` shared by every query, or ``(N, M, D)`` with ``M``
            negatives of its own for each query.
        temperature: τ > 0. Default 0.1. Smaller values sharpen the softmax; any τ > 0 gives finite values
            (at τ = 0.005 cosine logits reach ±200, with no overflow).
        normalize: L2-normalise the embeddings first (cosine similarity). Default True.
        weight: per-query weight ``(N,)``; ``"mean"`` divides by its sum.
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the loss of
            every rank's batch concatenated in rank order, each query's negatives being every rank's keys (and
            shared ``negatives``; per-query negatives stay with their query). The reduced value is the same on
            every rank; ``"none"`` returns this rank's ``n`` values, each computed against the whole batch
            (their concatenation in rank order is the single-process ``"none"``).
        local_loss: with a ``process_group``, how it is evaluated (the value and gradients are the same):
            ``False`` (default) gathers everything and every rank computes the whole ``G × G`` matrix;
            ``True`` computes only this rank's anchors against all candidates (``n × G`` memory, open_clip's
            ``local_loss``) and sums the rows across ranks. Ignored when ``process_group`` is None.

    Returns:
        The loss; per query ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: shapes that disagree, τ <= 0, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings, non-bool ``normalize``.

    References:
        van den Oord, Li, Vinyals, *Representation Learning with Contrastive Predictive Coding*, 2018
        (arXiv 1807.03748).

    Example:
        Two orthogonal unit queries, each its own key, τ = 1: the positive logit is 1 and the negative 0,
        so :math:`\ell = \log(e^1 + e^0) - 1 = \log(1 + e^{-1}) = 0.313261687`.

        >>> import torch
        >>> from losskit.functional import info_nce_loss
        >>> q = torch.eye(2, dtype=torch.float64)
        >>> print(f"{info_nce_loss(q, q.clone(), temperature=1.0).item():.9f}")
        0.313261687
    """
    fn = "info_nce_loss"
    check_normalizer(fn, normalizer, reduction)
    checks.check_reduction(fn, reduction)
    tau = _check_temperature(fn, temperature)
    checks.check_flag(fn, "normalize", normalize)
    _check_embeddings(fn, "query", query)
    _check_like(fn, "key", key, query, "query")
    n, dim = (int(s) for s in query.shape)
    if negatives is not None:
        checks.check_float(fn, "negatives", negatives)
        ok = (negatives.dim() == 2 and int(negatives.shape[1]) == dim) or (
            negatives.dim() == 3 and int(negatives.shape[0]) == n and int(negatives.shape[2]) == dim
        )
        if not ok:
            raise ValueError(
                f"{fn}: negatives must have shape (M, {dim}) (shared) or ({n}, M, {dim}) (per query), got "
                f"{checks.fmt_shape(negatives.shape)}"
            )
    _check_sample_weight(fn, weight, n)
    checks.check_flag(fn, "local_loss", local_loss)
    checks.check_same_device(fn, query=query, key=key, negatives=negatives, weight=weight)
    # 0: no extra negatives, 1: shared (M, D), 2: per query (N, M, D) with M negatives each
    neg_kind = 0 if negatives is None else negatives.dim() - 1
    per_query = int(negatives.shape[1]) if negatives is not None and neg_kind == 2 else 0
    group = _group(
        fn,
        process_group,
        query.device,
        width=dim,
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        negatives=neg_kind,
        local_loss=int(local_loss),
        per_query_negatives=per_query,
    )
    _, (q, k, neg, w) = prepare(fn, query, key, negatives, weight)
    assert q is not None and k is not None
    if normalize:
        q, k = _normalize(q), _normalize(k)
        neg = None if neg is None else _normalize(neg)
    inputs: dict[str, Tensor | None] = {"query": query, "key": key, "negatives": negatives}
    if group is None:
        return finish(
            fn, _info_nce_rows(q, k, neg, None, tau, 0), reduction, w, normalizer=normalizer, inputs=inputs
        )
    sizes = LD.gather_sizes(n, group, query.device)
    shared = None
    if neg is not None and neg_kind == 1:
        shared = _gather(neg, group, LD.gather_sizes(int(neg.shape[0]), group, query.device))
    if not local_loss:
        own = _gather(neg, group, sizes) if neg_kind == 2 else None
        qk = LD.all_gather(torch.cat([q, k], dim=1), group, sizes=sizes)
        loss = _info_nce_rows(qk[:, :dim], qk[:, dim:], shared, own, tau, 0)
        return _finish_gathered(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)
    k_all = LD.all_gather(k, group, sizes=sizes)
    loss = _info_nce_rows(q, k_all, shared, neg if neg_kind == 2 else None, tau, LD.rank_offset(sizes, group))
    return _reduce_across(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)


def _info_nce_rows(
    q: Tensor, k: Tensor, shared: Tensor | None, own: Tensor | None, tau: float, offset: int
) -> Tensor:
    """InfoNCE of the queries ``q`` (rows ``offset…`` of the batch) against all keys ``k``.

    ``shared`` negatives ``(M, D)`` are appended for every query, or ``own`` ``(n, M, D)`` per query.
    Locally ``offset = 0`` and ``k`` has the rows of ``q``; the positive of query ``i`` is key ``offset + i``.
    """
    neg = shared if shared is not None else own
    q = q / tau  # scaling the (n, D) queries, not the (n, G) logits, saves a matrix-sized temporary
    logits = q @ k.transpose(0, 1)
    positive = logits.diagonal(offset)
    if neg is not None:
        extra = q @ neg.transpose(0, 1) if neg.dim() == 2 else torch.einsum("nd,nmd->nm", q, neg)
        logits = torch.cat([logits, extra], dim=1)
    return _softmax_terms(logits, positive)


def nt_xent_loss(
    z1: Tensor,
    z2: Tensor,
    *,
    temperature: float = 0.5,
    normalize: bool = True,
    labels: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    local_loss: bool = False,
) -> Tensor:
    r"""NT-Xent, SimCLR's normalised-temperature cross-entropy over two views of a batch.

    The ``2N`` embeddings :math:`z = [z^{(1)}; z^{(2)}]` form a similarity matrix
    :math:`s_{ab} = \cos(z_a, z_b)/\tau` with the diagonal masked out. Anchor ``a``'s positive is the other
    view of the same sample, :math:`p(a) = a \pm N`, and every other embedding is a negative:

    .. math::
        \ell_a = -\log \frac{\exp(s_{a,p(a)})}{\sum_{b \ne a} \exp(s_{ab})},
        \qquad \ell^{\text{pair}}_i = \tfrac12\bigl(\ell_i + \ell_{i+N}\bigr)

    SimCLR's loss is the mean of :math:`\ell_a` over all ``2N`` anchors, which is the ``"mean"`` of the
    ``N`` per-pair values.

    Args:
        z1: first view ``(N, D)``.
        z2: second view ``(N, D)``; row ``i`` is the positive of row ``i`` of ``z1``.
        temperature: τ > 0. Default 0.5 (the usual SimCLR value for small batches; 0.1 for large ones).
        normalize: L2-normalise first (cosine similarity, as in SimCLR). Default True.
        labels: optional class labels ``(N,)`` of the pairs (both views share them): **several positives
            per anchor**, with pytorch-metric-learning's ``NTXentLoss(...)(embeddings, labels)`` definition.
            Every embedding with the anchor's label is a positive :math:`p \in P(a)`, every other label a
            negative, and each (anchor, positive) pair is one term
            :math:`\ell_{ap} = -\log \frac{e^{s_{ap}}}{e^{s_{ap}} + \sum_{n \in N(a)} e^{s_{an}}}` (the other
            positives are not in the denominator). ``"mean"`` averages all terms (pml's
            ``MeanReducer``), ``"none"`` gives each pair the mean of its two anchors' terms and ``"sum"``
            adds those. This differs from SupCon
            (:func:`supervised_contrastive_loss`), which averages the log-probabilities of all positives
            inside one softmax whose denominator holds every other embedding. Default None (each sample
            its own class: SimCLR).
        weight: {weight_per_pair}
        reduction: ``"none"`` (``(N,)``, each pair's two anchors averaged), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the loss of
            every rank's batch concatenated in rank order, every view of every rank being a negative. The
            reduced value is the same on every rank; ``"none"`` returns this rank's ``n`` values, each
            computed against the whole batch (their concatenation in rank order is the single-process
            ``"none"``).
        local_loss: with a ``process_group``, how it is evaluated (the value and gradients are the same):
            ``False`` (default) gathers everything and every rank computes the whole ``2G × 2G`` matrix;
            ``True`` computes only this rank's anchors against all candidates (``2n × 2G`` memory, open_clip's
            ``local_loss``) and sums the rows across ranks. Ignored when ``process_group`` is None.

    Returns:
        The loss; per pair ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: shapes that differ, τ <= 0, NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings.

    Note:
        Computed with ``logsumexp`` over each row of the masked matrix: finite at any τ > 0. MONAI's
        ``ContrastiveLoss`` (the same quantity) divides exponentials and is NaN in float32 once
        ``1/τ`` passes ~88 (τ ≈ 0.011). pytorch-metric-learning's ``NTXentLoss`` with labels
        ``[0..N-1, 0..N-1]`` gives the same value but materialises one row per (positive, negative) pair.

    References:
        Chen, Kornblith, Norouzi, Hinton, *A Simple Framework for Contrastive Learning of Visual
        Representations*, ICML 2020 (arXiv 2002.05709).

    Example:
        >>> import torch
        >>> from losskit.functional import nt_xent_loss
        >>> z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
        >>> z2 = torch.tensor([[0.8, 0.6], [-0.6, 0.8]], dtype=torch.float64)
        >>> print(f"{nt_xent_loss(z1, z2, temperature=0.5).item():.9f}")
        0.430190277
    """
    fn = "nt_xent_loss"
    check_normalizer(fn, normalizer, reduction)
    checks.check_reduction(fn, reduction)
    tau = _check_temperature(fn, temperature)
    checks.check_flag(fn, "normalize", normalize)
    _check_embeddings(fn, "z1", z1)
    _check_like(fn, "z2", z2, z1, "z1")
    n = int(z1.shape[0])
    _check_sample_weight(fn, weight, n)
    checks.check_flag(fn, "local_loss", local_loss)
    if labels is not None:
        labels = checks.check_index_target(fn, "labels", labels)
        checks.check_shape(fn, "labels", labels, (n,), "(one class label per pair)")
    checks.check_same_device(fn, z1=z1, z2=z2, weight=weight, labels=labels)
    dim = int(z1.shape[1])
    group = _group(
        fn,
        process_group,
        z1.device,
        width=dim,
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        local_loss=int(local_loss),
    )
    if labels is not None and group is not None:
        raise ValueError(
            f"{fn}: labels (several positives per anchor) are not supported with a process_group; "
            "use supervised_contrastive_loss(..., process_group=...) for labelled batches across ranks"
        )
    _, (a, b, w) = prepare(fn, z1, z2, weight)
    assert a is not None and b is not None
    if normalize:
        a, b = _normalize(a), _normalize(b)
    inputs: dict[str, Tensor | None] = {"z1": z1, "z2": z2}
    if group is None:
        if labels is not None:
            z = torch.cat([a, b], dim=0)
            # 1/τ applied to the (2N, D) factor: the (2N, 2N) matrix is allocated once
            sim = (z / tau) @ z.transpose(0, 1)
            return _nt_xent_labelled(fn, sim, labels, n, reduction, w, avg_factor=normalizer, inputs=inputs)
        return finish(
            fn, _nt_xent_rows(a, b, a, b, tau, 0), reduction, w, normalizer=normalizer, inputs=inputs
        )
    sizes = LD.gather_sizes(n, group, z1.device)
    ab = LD.all_gather(torch.cat([a, b], dim=1), group, sizes=sizes)
    a_all, b_all = ab[:, :dim], ab[:, dim:]
    if not local_loss:
        loss = _nt_xent_rows(a_all, b_all, a_all, b_all, tau, 0)
        return _finish_gathered(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)
    loss = _nt_xent_rows(a, b, a_all, b_all, tau, LD.rank_offset(sizes, group))
    return _reduce_across(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)


def _nt_xent_rows(a: Tensor, b: Tensor, a_all: Tensor, b_all: Tensor, tau: float, offset: int) -> Tensor:
    """Per-pair NT-Xent of the pairs ``(a_i, b_i)`` (rows ``offset…`` of the batch ``(a_all, b_all)``).

    The ``2n`` anchors ``[a; b]`` are compared with the ``2G`` candidates ``[a_all; b_all]``: anchor ``a_i``
    sits at column ``offset + i`` (masked) and its positive at ``G + offset + i``; for ``b_i`` the two swap.
    """
    n, g = int(a.shape[0]), int(a_all.shape[0])
    anchors = torch.cat([a, b], dim=0)
    # 1/τ applied to the (2n, D) factor: the (2n, 2G) matrix is allocated once
    sim = (anchors / tau) @ torch.cat([a_all, b_all], dim=0).transpose(0, 1)
    top, bottom = sim[:n], sim[n:]
    # the positives, read before self-similarity is masked
    pos = torch.cat([top.diagonal(g + offset), bottom.diagonal(offset)])
    # mask self-similarity in place: no boolean mask of the matrix's size, and masked entries get no gradient
    top.diagonal(offset).fill_(float("-inf"))
    bottom.diagonal(g + offset).fill_(float("-inf"))
    per_anchor = torch.logsumexp(sim, dim=1) - pos
    return 0.5 * (per_anchor[:n] + per_anchor[n:])


def supervised_contrastive_loss(
    features: Tensor,
    labels: Tensor,
    *,
    temperature: float = 0.1,
    normalize: bool = True,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    local_loss: bool = False,
) -> Tensor:
    r"""Supervised contrastive loss :math:`\mathcal{L}^{sup}_{out}` (Khosla et al. 2020).

    Every sample with the same label is a positive of the anchor; all other samples are in the
    denominator:

    .. math::
        \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)}
            \log \frac{\exp(s_{ip}/\tau)}{\sum_{a \ne i} \exp(s_{ia}/\tau)},
        \qquad P(i) = \{p \ne i : y_p = y_i\}

    with :math:`s` the cosine similarity. An anchor whose label occurs once in the batch has no positive:
    its loss is 0 and it is **excluded from the mean** (the reference implementation divides 0 by 0 and
    returns NaN). With multiple views, concatenate them along the batch and repeat the labels.

    Args:
        features: ``(N, D)``.
        labels: ``(N,)`` integer class labels (any values; only equality matters).
        temperature: τ > 0. Default 0.1 (the paper uses 0.1).
        normalize: L2-normalise first (cosine similarity). Default True.
        weight: per-anchor weight ``(N,)``; ``"mean"`` divides by the weight of the anchors that have a
            positive.
        reduction: ``"none"`` (``(N,)``, 0 for anchors without a positive), ``"mean"`` (over anchors with a
            positive; 0 when there is none) or ``"sum"``.
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the loss of
            every rank's batch concatenated in rank order, positives and negatives coming from every rank
            (labels are gathered too). The reduced value is the same on every rank; ``"none"`` returns this
            rank's ``n`` values, each computed against the whole batch (their concatenation in rank order is
            the single-process ``"none"``).
        local_loss: with a ``process_group``, how it is evaluated (the value and gradients are the same):
            ``False`` (default) gathers everything and every rank computes the whole ``G × G`` matrix;
            ``True`` computes only this rank's anchors against all candidates (``n × G`` memory, open_clip's
            ``local_loss``) and sums the rows across ranks. Ignored when ``process_group`` is None.

    Returns:
        The loss; per anchor ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: a ``labels`` shape other than ``(N,)``, τ <= 0, NaN/inf inputs.
        TypeError: non-float features or non-integer labels.

    Note:
        This is the paper's :math:`\mathcal{L}_{out}` (the average over positives outside the log), the
        variant the paper recommends. The reference code also multiplies by ``τ / 0.07``
        (``base_temperature``); losskit does not (neither does pytorch-metric-learning's ``SupConLoss``).

    References:
        Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu, Krishnan, *Supervised Contrastive
        Learning*, NeurIPS 2020 (arXiv 2004.11362), Eq. 2.

    Example:
        The anchor labelled 1 has no positive and is left out of the mean of the other three:

        >>> import torch
        >>> from losskit.functional import supervised_contrastive_loss
        >>> z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]], dtype=torch.float64)
        >>> labels = torch.tensor([0, 0, 1, 0])
        >>> print(f"{supervised_contrastive_loss(z, labels, temperature=0.5).item():.8f}")
        1.83121268
    """
    fn = "supervised_contrastive_loss"
    check_normalizer(fn, normalizer, reduction)
    checks.check_reduction(fn, reduction)
    tau = _check_temperature(fn, temperature)
    checks.check_flag(fn, "normalize", normalize)
    _check_embeddings(fn, "features", features)
    n = int(features.shape[0])
    labels = checks.check_index_target(fn, "labels", labels)
    checks.check_shape(fn, "labels", labels, (n,), "(one class label per row of features)")
    _check_sample_weight(fn, weight, n)
    checks.check_flag(fn, "local_loss", local_loss)
    checks.check_same_device(fn, features=features, labels=labels, weight=weight)
    group = _group(
        fn,
        process_group,
        features.device,
        width=int(features.shape[1]),
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        local_loss=int(local_loss),
    )
    _, (f, w) = prepare(fn, features, weight)
    assert f is not None
    if normalize:
        f = _normalize(f)
    inputs: dict[str, Tensor | None] = {"features": features}
    if group is None:
        loss, has_pos = _supcon_rows(f, labels, f, labels, tau, 0)
        denom = has_pos if w is None else has_pos * w
        return finish(fn, loss, reduction, w, denominator=denom, normalizer=normalizer, inputs=inputs)
    sizes = LD.gather_sizes(n, group, features.device)
    f_all = LD.all_gather(f, group, sizes=sizes)
    labels_all = LD.all_gather(labels, group, sizes=sizes)
    if not local_loss:
        loss, has_pos = _supcon_rows(f_all, labels_all, f_all, labels_all, tau, 0)
        return _finish_gathered(
            fn, loss, reduction, w, group, sizes, has_pos=has_pos, avg_factor=normalizer, inputs=inputs
        )
    loss, has_pos = _supcon_rows(f, labels, f_all, labels_all, tau, LD.rank_offset(sizes, group))
    return _reduce_across(
        fn,
        loss,
        reduction,
        w,
        group,
        sizes,
        normalizer=has_pos if w is None else has_pos * w,
        avg_factor=normalizer,
        inputs=inputs,
    )


def _supcon_rows(
    f: Tensor, labels: Tensor, f_all: Tensor, labels_all: Tensor, tau: float, offset: int
) -> tuple[Tensor, Tensor]:
    """SupCon of the anchors ``f`` (rows ``offset…`` of ``f_all``) and whether each has a positive."""
    sim = (f / tau) @ f_all.transpose(0, 1)
    sim.diagonal(offset).fill_(float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positive = labels[:, None] == labels_all[None, :]
    positive.diagonal(offset).fill_(False)
    n_pos = positive.sum(dim=1).to(f.dtype)
    # where(), not a product: the masked diagonal holds -inf and 0 * -inf would be NaN
    pos_sum = torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    loss = -pos_sum / n_pos.clamp(min=1.0)
    return loss, (n_pos > 0).to(f.dtype)


def clip_loss(
    image_embeds: Tensor,
    text_embeds: Tensor,
    *,
    logit_scale: float | Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    local_loss: bool = False,
) -> Tensor:
    r"""CLIP's symmetric contrastive loss over an image-text similarity matrix (Radford et al. 2021).

    With :math:`\hat u, \hat v` the L2-normalised image and text embeddings and
    :math:`t = \min(e^{\text{logit\_scale}}, 100)`, the logits are :math:`L_{ij} = t\,\hat u_i \cdot \hat v_j`
    and image ``i`` matches text ``i``:

    .. math::
        \ell_i = \tfrac12\Bigl(
            \underbrace{\operatorname{logsumexp}_j L_{ij} - L_{ii}}_{\text{image}\to\text{text}}
            + \underbrace{\operatorname{logsumexp}_j L_{ji} - L_{ii}}_{\text{text}\to\text{image}}\Bigr)

    The ``"mean"`` over pairs is CLIP's ``(CE(L, arange) + CE(Lᵀ, arange)) / 2``.

    Args:
        image_embeds: ``(N, D)``.
        text_embeds: ``(N, D)``, row ``i`` describing image ``i``.
        logit_scale: the **log** of the inverse temperature, a float or a 0-d (or one-element) tensor
            that may require grad (learnable, as in CLIP, which initialises it at ``ln(1/0.07) ≈ 2.659``).
            The scale ``exp(logit_scale)`` is clamped at 100 (CLIP's clip at ``ln 100``); beyond that the
            gradient with respect to ``logit_scale`` is 0. :class:`losskit.nn.ClipLoss` holds it as a
            parameter.
        weight: {weight_per_pair}
        reduction: ``"none"`` (``(N,)``, the two directions averaged per pair), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the loss of
            every rank's batch concatenated in rank order, every rank's texts competing for each image and
            every rank's images for each text. The reduced value is the same on every rank; ``"none"`` returns
            this rank's ``n`` values, each computed against the whole batch (their concatenation in rank order
            is the single-process ``"none"``).
        local_loss: with a ``process_group``, how it is evaluated (the value and gradients are the same):
            ``False`` (default) gathers everything and every rank computes the whole ``G × G`` matrix;
            ``True`` computes only this rank's anchors against all candidates (two ``n × G`` memory,
            open_clip's ``local_loss``) and sums the rows across ranks. Ignored when ``process_group`` is
            None.

    Returns:
        The loss; per pair ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: shapes that differ, a ``logit_scale`` tensor with more than one element, a non-finite
            float ``logit_scale``, NaN/inf inputs.
        TypeError: non-float embeddings, a ``logit_scale`` that is neither a number nor a float tensor.

    References:
        Radford et al., *Learning Transferable Visual Models From Natural Language Supervision*, ICML 2021
        (arXiv 2103.00020), Figure 3.

    Example:
        Two orthogonal matched pairs at scale 1 (``logit_scale = 0``): each direction is a softmax over
        logits (1, 0), so :math:`\ell = \log(1 + e^{-1}) = 0.313261687`.

        >>> import torch
        >>> from losskit.functional import clip_loss
        >>> u = torch.eye(2, dtype=torch.float64)
        >>> print(f"{clip_loss(u, u.clone(), logit_scale=0.0).item():.9f}")
        0.313261687
    """
    fn = "clip_loss"
    check_normalizer(fn, normalizer, reduction)
    checks.check_reduction(fn, reduction)
    scale_t, ls = _check_scalar_param(fn, "logit_scale", logit_scale)
    _check_embeddings(fn, "image_embeds", image_embeds)
    _check_like(fn, "text_embeds", text_embeds, image_embeds, "image_embeds")
    n, dim = (int(x) for x in image_embeds.shape)
    _check_sample_weight(fn, weight, n)
    checks.check_flag(fn, "local_loss", local_loss)
    checks.check_same_device(
        fn, image_embeds=image_embeds, text_embeds=text_embeds, weight=weight, logit_scale=scale_t
    )
    group = _group(
        fn,
        process_group,
        image_embeds.device,
        width=dim,
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        local_loss=int(local_loss),
    )
    _, (u, v, w, s) = prepare(fn, image_embeds, text_embeds, weight, scale_t)
    assert u is not None and v is not None
    # the clamp acts on the log scale: same value and gradient as min(exp(.), 100), never overflows
    scale: Tensor | float
    if s is not None:
        scale = torch.exp(torch.clamp(s.reshape(()), max=_MAX_LOG_SCALE))
    else:
        scale = math.exp(min(ls, _MAX_LOG_SCALE))
    u, v = _normalize(u), _normalize(v)
    inputs: dict[str, Tensor | None] = {
        "image_embeds": image_embeds,
        "text_embeds": text_embeds,
        "logit_scale": scale_t,
    }
    if group is None:
        return finish(fn, _clip_full(u, v, scale), reduction, w, normalizer=normalizer, inputs=inputs)
    sizes = LD.gather_sizes(n, group, image_embeds.device)
    uv = LD.all_gather(torch.cat([u, v], dim=1), group, sizes=sizes)
    u_all, v_all = uv[:, :dim], uv[:, dim:]
    if not local_loss:
        loss = _clip_full(u_all, v_all, scale)
        return _finish_gathered(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)
    offset = LD.rank_offset(sizes, group)
    # this rank's rows of the G x G logits (image -> text) and of its transpose (text -> image)
    per_image = (u * scale) @ v_all.transpose(0, 1)
    per_text = (v * scale) @ u_all.transpose(0, 1)
    loss = 0.5 * (
        _softmax_terms(per_image, per_image.diagonal(offset))
        + _softmax_terms(per_text, per_text.diagonal(offset))
    )
    return _reduce_across(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)


def _clip_full(u: Tensor, v: Tensor, scale: Tensor | float) -> Tensor:
    """Per-pair CLIP loss of normalised ``u``, ``v`` from one ``N × N`` logit matrix."""
    logits = (u * scale) @ v.transpose(0, 1)
    diag = logits.diagonal()
    return 0.5 * ((torch.logsumexp(logits, dim=1) - diag) + (torch.logsumexp(logits, dim=0) - diag))


def siglip_loss(
    image_embeds: Tensor,
    text_embeds: Tensor,
    *,
    logit_scale: float | Tensor,
    logit_bias: float | Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    ring: bool = False,
) -> Tensor:
    r"""SigLIP's pairwise sigmoid loss: each image-text pair is a binary classification (Zhai et al. 2023).

    With :math:`x_i, y_j` the L2-normalised image and text embeddings, :math:`t = e^{\text{logit\_scale}}`
    and :math:`b` = ``logit_bias``, every pair gets the logit :math:`s_{ij} = t\, x_i \cdot y_j + b` and the
    label :math:`z_{ij} = 1` if ``i = j`` (a matching pair) else :math:`-1`:

    .. math::
        \ell_i = -\sum_{j=1}^{|B|} \log \sigma\bigl(z_{ij}\,(t\, x_i \cdot y_j + b)\bigr),
        \qquad \mathcal{L} = \frac{1}{|B|} \sum_{i=1}^{|B|} \ell_i

    There is no softmax: no pair's term depends on another's, so the loss needs no normalisation over
    the batch. :math:`\mathcal{L}` (the ``"mean"``) is the paper's loss, the sum over all :math:`|B|^2`
    pairs divided by the number of images, as in its Algorithm 1 (``logits = t·zimg·ztxtᵀ + b``,
    ``-sum(log_sigmoid(labels·logits)) / n``) and open_clip's ``SigLipLoss``. The paper initialises
    :math:`t' = \log 10` and :math:`b = -10` (:class:`losskit.nn.SigLIPLoss` holds both as parameters):
    with :math:`|B|` negatives per positive, a strongly negative bias keeps the first steps from being
    spent on pushing the many negatives down.

    Args:
        image_embeds: ``(N, D)``; normalised here (as in the paper), so any scale works.
        text_embeds: ``(N, D)``, row ``i`` describing image ``i``.
        logit_scale: :math:`t'`, the **log** of the scale :math:`t = e^{t'}`; a float or a one-element float
            tensor that may require grad. Not clamped (the paper does not clamp it; open_clip's training loop
            clips it to ``[0, ln 100]`` after each step); keep it below about 80 in float32.
        logit_bias: :math:`b`, a float or a one-element float tensor that may require grad.
        weight: per-image weight ``(N,)`` multiplying :math:`\ell_i`; ``"mean"`` divides by its sum.
        reduction: ``"none"`` (``(N,)``, :math:`\ell_i` per image), ``"mean"`` (:math:`\mathcal{L}`) or
            ``"sum"``.
        normalizer: {normalizer}
            Here it counts anchors (with a ``process_group``, those of every rank).
        process_group: None (default: this process's batch only) or a ``torch.distributed`` group: the loss of
            every rank's pairs concatenated in rank order, the same value on every rank (``"none"`` returns
            this rank's ``n`` per-image values). Each rank compares its ``n`` images with the gathered ``G``
            texts (``n × G`` memory: the paper's all-gather form) and the row sums are added across ranks with
            one two-number all-reduce. Each rank's embeddings receive ``W`` times their full-batch gradient
            (DDP's averaging makes it exact); keep the learnable scale and bias inside the DDP-wrapped module,
            as open_clip does, so their gradients are averaged too.
        ring: with a ``process_group``, use the paper's chunked form instead of the all-gather: the text
            blocks travel round the ranks (``W - 1`` neighbour exchanges, each block padded to the largest
            rank's), so a rank holds one block of texts and ``n × max_r n_r`` logits at a time, never the
            ``G`` texts. Same value and gradients. Default False. Ignored without a group.

    Returns:
        The loss; per image ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: shapes that differ, a ``logit_scale`` / ``logit_bias`` tensor with more than one
            element or a non-finite float one, NaN/inf inputs.
        TypeError: non-float embeddings, a ``logit_scale`` / ``logit_bias`` that is neither a number nor a
            float tensor.

    Note:
        Each term is :func:`torch.nn.functional.logsigmoid` of the signed logit, finite for any finite
        logit: at :math:`s = \pm 10^4` the terms are 0 or :math:`10^4`, never ``inf`` or NaN, and no term
        is formed by cancellation (:math:`\log\sigma(s) - \log\sigma(-s)` would lose the small one).

    References:
        Zhai, Mustafa, Kolesnikov, Beyer, *Sigmoid Loss for Language Image Pre-Training*, ICCV 2023
        (arXiv 2303.15343), Eq. 1 and Algorithm 1.

    Example:
        Two perfectly aligned, orthogonal pairs at the paper's initialisation :math:`t = 10, b = -10`:
        each positive logit is :math:`10 - 10 = 0` and each negative :math:`0 - 10 = -10`, so
        :math:`\ell_i = \log 2 + \log(1 + e^{-10}) = 0.693192579`. At initialisation a match is judged
        at even odds while the prior for a random pair is :math:`\sigma(-10) \approx 4.5 \cdot 10^{-5}`.

        >>> import math, torch
        >>> from losskit.functional import siglip_loss
        >>> u = torch.eye(2, dtype=torch.float64)
        >>> print(f"{siglip_loss(u, u.clone(), logit_scale=math.log(10.0), logit_bias=-10.0).item():.9f}")
        0.693192579
    """
    fn = "siglip_loss"
    check_normalizer(fn, normalizer, reduction)
    checks.check_reduction(fn, reduction)
    scale_t, ls = _check_scalar_param(fn, "logit_scale", logit_scale)
    bias_t, bias_f = _check_scalar_param(fn, "logit_bias", logit_bias)
    _check_embeddings(fn, "image_embeds", image_embeds)
    _check_like(fn, "text_embeds", text_embeds, image_embeds, "image_embeds")
    n = int(image_embeds.shape[0])
    _check_sample_weight(fn, weight, n)
    checks.check_flag(fn, "ring", ring)
    checks.check_same_device(
        fn,
        image_embeds=image_embeds,
        text_embeds=text_embeds,
        weight=weight,
        logit_scale=scale_t,
        logit_bias=bias_t,
    )
    group = _group(
        fn,
        process_group,
        image_embeds.device,
        width=int(image_embeds.shape[1]),
        reduction=_REDUCTION_CODE[reduction],
        weighted=int(weight is not None),
        ring=int(ring),
    )
    _, (u, v, w, s, bt) = prepare(fn, image_embeds, text_embeds, weight, scale_t, bias_t)
    assert u is not None and v is not None
    scale: Tensor | float
    if s is not None:
        scale = torch.exp(s.reshape(()))
    else:
        scale = math.exp(ls) if ls < 700.0 else math.inf  # math.exp raises past ~709; torch.exp gives inf
    bias: Tensor | float = bt.reshape(()) if bt is not None else bias_f
    u, v = _normalize(u), _normalize(v)
    inputs: dict[str, Tensor | None] = {
        "image_embeds": image_embeds,
        "text_embeds": text_embeds,
        "logit_scale": scale_t,
        "logit_bias": bias_t,
    }
    if group is None:
        return finish(
            fn, _siglip_rows(u, v, scale, bias, 0), reduction, w, normalizer=normalizer, inputs=inputs
        )
    sizes = LD.gather_sizes(n, group, image_embeds.device)
    if ring:
        loss = _siglip_ring(u, v, scale, bias, group, sizes)
    else:
        v_all = LD.all_gather(v, group, sizes=sizes)
        loss = _siglip_rows(u, v_all, scale, bias, LD.rank_offset(sizes, group))
    return _reduce_across(fn, loss, reduction, w, group, sizes, avg_factor=normalizer, inputs=inputs)


def _siglip_ring(
    u: Tensor, v: Tensor, scale: Tensor | float, bias: Tensor | float, group: Any, sizes: list[int]
) -> Tensor:
    """Per-image SigLIP loss against every rank's texts, the text blocks passed round the ring."""
    world, me, most = len(sizes), LD.rank(group), max(sizes)
    n = int(u.shape[0])
    # this rank's own block first: the matching pairs are on its diagonal
    rows = _siglip_rows(u, v, scale, bias, 0)
    if most == 0:
        return rows
    block = torch.cat([v, v.new_zeros((most - n, int(v.shape[1])))]) if n < most else v
    for step in range(1, world):
        block = LD.ring_pass(block, group)  # now the block of rank (me - step)
        texts = block[: sizes[(me - step) % world]]
        logits = (u * scale) @ texts.transpose(0, 1) + bias
        rows = rows - F.logsigmoid(-logits).sum(dim=1)  # other ranks' texts are all negatives
    return rows


def _siglip_rows(
    u: Tensor, v_all: Tensor, scale: Tensor | float, bias: Tensor | float, offset: int
) -> Tensor:
    """Per-image SigLIP loss of the images ``u`` (rows ``offset…`` of the batch) against all texts."""
    logits = (u * scale) @ v_all.transpose(0, 1) + bias
    # z_ij * s_ij: negated everywhere except on the matching pairs (diagonal shifted by the rank's offset)
    signed = torch.diagonal_scatter(-logits, logits.diagonal(offset), offset)
    return -F.logsigmoid(signed).sum(dim=1)


# --------------------------------------------------------------------------------------------------
# torch.nn's pairwise losses (labels +1 / -1): cosine embedding, margin ranking, hinge embedding

# added to each squared norm before the square root of the cosine (torch's value): a zero row has cosine 0
_COS_EPS = 1e-12


def _pm_one_target(fn: str, target: object, shape: tuple[int, ...], what: str, dtype: torch.dtype) -> Tensor:
    """Validate labels in {+1, -1} (bool: True = +1) of the given shape; return them as ``dtype``."""
    t = checks.check_tensor(fn, "target", target)
    checks.check_shape(fn, "target", t, shape, what)
    if t.is_complex():
        raise TypeError(f"{fn}: target must be a bool, integer or float tensor of ±1 labels, got {t.dtype}")
    if t.dtype == torch.bool:
        return t.to(dtype) * 2.0 - 1.0
    if t.numel() and checks.values_checked(t):
        bad = t[(t != 1) & (t != -1)]
        if bad.numel():
            raise ValueError(f"{fn}: target must hold labels +1 or -1, got a value {float(bad[0]):g}")
    return t.to(dtype)


def cosine_embedding_loss(
    x1: Tensor,
    x2: Tensor,
    target: Tensor,
    *,
    margin: float = 0.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Cosine embedding loss (torch's ``CosineEmbeddingLoss``): pull similar pairs to cosine 1.

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1\\ \max(0,\ \cos(x_1, x_2) - m) & y = -1\end{cases},
        \qquad
        \cos(u, v) = \frac{u \cdot v}{\sqrt{(\lVert u\rVert^2 + \epsilon)(\lVert v\rVert^2 + \epsilon)}}

    with :math:`\epsilon = 10^{-12}` so that a zero embedding has cosine 0 and a finite gradient.

    Args:
        x1: embeddings ``(N, D)``.
        x2: embeddings ``(N, D)``, row ``i`` paired with row ``i`` of ``x1``.
        target: ``(N,)`` labels, +1 for a similar pair and -1 for a dissimilar one (bool: True = +1).
        margin: :math:`m \in [-1, 1]`: dissimilar pairs cost nothing once their cosine is below it.
            Default 0 (torch's); 0 to 0.5 is the usual range.
        weight: {weight_per_pair}
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per pair for ``reduction="none"``. Same values as
        ``torch.nn.functional.cosine_embedding_loss`` for every reduction.

    Raises:
        ValueError: shapes that differ, labels other than ±1, a margin outside [-1, 1], NaN/inf inputs.
        TypeError: non-tensor or non-float embeddings.

    References:
        PyTorch ``torch.nn.CosineEmbeddingLoss`` (the definition); the hinge-on-cosine form of
        Hadsell, Chopra, LeCun, *Dimensionality Reduction by Learning an Invariant Mapping*, CVPR 2006.

    Example:
        Orthogonal vectors have cosine 0: a similar pair costs 1, a dissimilar one 0; at 60° (cosine
        0.5) with margin 0.2 a dissimilar pair costs 0.3.

        >>> import math, torch
        >>> from losskit.functional import cosine_embedding_loss
        >>> x1 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
        >>> x2 = torch.tensor([[0.0, 2.0], [0.0, 2.0], [0.5, math.sqrt(0.75)]], dtype=torch.float64)
        >>> cosine_embedding_loss(x1, x2, torch.tensor([1, -1, -1]), margin=0.2, reduction="none")
        tensor([1.0000, 0.0000, 0.3000], dtype=torch.float64)
    """
    fn = "cosine_embedding_loss"
    checks.check_reduction(fn, reduction)
    m = checks.check_number(fn, "margin", margin, low=-1.0, high=1.0)
    _check_embeddings(fn, "x1", x1)
    _check_like(fn, "x2", x2, x1, "x1")
    n = int(x1.shape[0])
    _check_sample_weight(fn, weight, n)
    checks.check_tensor(fn, "target", target)
    checks.check_same_device(fn, x1=x1, x2=x2, target=target, weight=weight)
    dtype, (a, b, w) = prepare(fn, x1, x2, weight)
    assert a is not None and b is not None
    y = _pm_one_target(fn, target, (n,), "(one +1 / -1 label per pair)", dtype)
    cos = (a * b).sum(-1) / torch.sqrt(((a * a).sum(-1) + _COS_EPS) * ((b * b).sum(-1) + _COS_EPS))
    loss = torch.where(y > 0, 1.0 - cos, torch.clamp(cos - m, min=0.0))
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"x1": x1, "x2": x2, "target": target},
    )


def _elementwise_pm(fn: str, names: tuple[str, ...], tensors: tuple[object, ...]) -> None:
    """Float tensors of one shape (no broadcasting)."""
    first = checks.check_float(fn, names[0], tensors[0])
    for name, t in zip(names[1:], tensors[1:]):
        checks.check_float(fn, name, t)
        checks.check_shape(fn, name, t, tuple(first.shape), f"(the shape of {names[0]})")  # type: ignore


def margin_ranking_loss(
    x1: Tensor,
    x2: Tensor,
    target: Tensor,
    *,
    margin: float = 0.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Margin ranking loss (torch's ``MarginRankingLoss``): ``x1`` should rank above ``x2`` when y = 1.

    .. math::
        \ell = \max\bigl(0,\ -y\,(x_1 - x_2) + m\bigr)

    Elementwise over scores of any shape; y = 1 asks for :math:`x_1 \ge x_2 + m`, y = -1 for
    :math:`x_2 \ge x_1 + m`.

    Args:
        x1: scores, any shape.
        x2: scores, the shape of ``x1``.
        target: labels +1 / -1 (bool: True = +1), the shape of ``x1``.
        margin: :math:`m`, the required gap. Default 0 (torch's); any real number.
        weight: elementwise weight broadcastable to the loss; ``"mean"`` divides by its sum.
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss. Same values as ``torch.nn.functional.margin_ranking_loss`` for every reduction.

    Raises:
        ValueError: shapes that differ, labels other than ±1, NaN/inf inputs.
        TypeError: non-tensor or non-float scores.

    References:
        PyTorch ``torch.nn.MarginRankingLoss``; Herbrich, Graepel, Obermayer, *Large Margin Rank Boundaries
        for Ordinal Regression*, 2000 (the pairwise hinge).

    Example:
        >>> import torch
        >>> from losskit.functional import margin_ranking_loss
        >>> x1, x2 = torch.tensor([2.0, 0.5, 1.0]), torch.tensor([1.0, 1.0, 1.0])
        >>> margin_ranking_loss(x1, x2, torch.tensor([1, 1, -1]), margin=0.5, reduction="none")
        tensor([0.0000, 1.0000, 0.5000])
    """
    fn = "margin_ranking_loss"
    checks.check_reduction(fn, reduction)
    m = checks.check_number(fn, "margin", margin)
    _elementwise_pm(fn, ("x1", "x2"), (x1, x2))
    shape = tuple(x1.shape)
    checks.check_weight(fn, weight, shape)
    checks.check_tensor(fn, "target", target)
    checks.check_same_device(fn, x1=x1, x2=x2, target=target, weight=weight)
    dtype, (a, b, w) = prepare(fn, x1, x2, weight)
    assert a is not None and b is not None
    y = _pm_one_target(fn, target, shape, "(the shape of x1)", dtype)
    loss = torch.clamp(m - y * (a - b), min=0.0)
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"x1": x1, "x2": x2, "target": target},
    )


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    *,
    margin: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Hinge embedding loss (torch's ``HingeEmbeddingLoss``): distances small for y = 1, above m for y = -1.

    .. math::
        \ell = \begin{cases} x & y = 1\\ \max(0,\ m - x) & y = -1\end{cases}

    ``input`` is usually a distance between two embeddings (e.g. the L1 distance), so similar pairs are
    pulled to 0 and dissimilar ones pushed past the margin. Elementwise, any shape.

    Args:
        input: distances (or any scores), any shape.
        target: labels +1 / -1 (bool: True = +1), the shape of ``input``.
        margin: :math:`m`. Default 1 (torch's).
        weight: elementwise weight broadcastable to the loss; ``"mean"`` divides by its sum.
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss. Same values as ``torch.nn.functional.hinge_embedding_loss`` for every reduction.

    Raises:
        ValueError: shapes that differ, labels other than ±1, NaN/inf inputs.
        TypeError: non-tensor or non-float input.

    References:
        PyTorch ``torch.nn.HingeEmbeddingLoss``; Mobahi, Collobert, Weston, *Deep Learning from Temporal
        Coherence in Video*, ICML 2009.

    Example:
        >>> import torch
        >>> from losskit.functional import hinge_embedding_loss
        >>> d = torch.tensor([0.3, 0.3, 1.5])
        >>> hinge_embedding_loss(d, torch.tensor([1, -1, -1]), reduction="none")
        tensor([0.3000, 0.7000, 0.0000])
    """
    fn = "hinge_embedding_loss"
    checks.check_reduction(fn, reduction)
    m = checks.check_number(fn, "margin", margin)
    checks.check_float(fn, "input", input)
    shape = tuple(input.shape)
    checks.check_weight(fn, weight, shape)
    checks.check_tensor(fn, "target", target)
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    dtype, (x, w) = prepare(fn, input, weight)
    assert x is not None
    y = _pm_one_target(fn, target, shape, "(the shape of input)", dtype)
    loss = torch.where(y > 0, x, torch.clamp(m - x, min=0.0))
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


__all__ += ["cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss"]


# --------------------------------------------------------------------------------------------------
# pytorch-metric-learning's AvgNonZeroReducer as reduction="mean_nonzero" (triplet and contrastive)


def _check_reduction_nz(fn: str, reduction: str) -> None:
    checks.check_option(fn, "reduction", reduction, _PML_REDUCTIONS)


def _finish_nz(
    fn: str,
    loss: Tensor,
    reduction: str,
    weight: Tensor | None,
    *,
    inputs: dict[str, Tensor | None],
    avg_factor: float | Tensor | None = None,
) -> Tensor:
    """``finish``, plus ``"mean_nonzero"``: ``Σ w ℓ / Σ_{ℓ > 0} w``, 0 (with a backward) when no ℓ is > 0."""
    if reduction != "mean_nonzero":
        return finish(fn, loss, reduction, weight, normalizer=avg_factor, inputs=inputs)
    active = (loss.detach() > 0).to(loss.dtype)
    w = active if weight is None else weight.to(loss.dtype) * active
    total = finish(fn, loss, "sum", weight, inputs=inputs)
    count = w.sum()
    return torch.where(count > 0, total / torch.where(count > 0, count, torch.ones_like(count)), 0.0 * total)


def _nt_xent_labelled(
    fn: str,
    sim: Tensor,
    labels: Tensor,
    n: int,
    reduction: str,
    w: Tensor | None,
    *,
    inputs: dict[str, Tensor | None],
    avg_factor: float | Tensor | None = None,
) -> Tensor:
    """NT-Xent with several positives per anchor (pml's definition) from the (2N, 2N) ``sim``."""
    lab = torch.cat([labels, labels])
    same = lab[:, None] == lab[None, :]
    eye = torch.eye(2 * n, dtype=torch.bool, device=sim.device)
    pos = same & ~eye
    neg_lse = torch.logsumexp(sim.masked_fill(same, float("-inf")), dim=1, keepdim=True)  # -inf: no negatives
    terms = torch.logaddexp(sim, neg_lse) - sim  # -log(e^{s_ap} / (e^{s_ap} + Σ_n e^{s_an})) for every b
    per_anchor = terms.masked_fill(~pos, 0.0).sum(1)  # Σ over the anchor's positives
    count = pos.sum(1).to(sim.dtype)  # >= 1: the other view is always a positive
    s_pair = per_anchor[:n] + per_anchor[n:]
    k_pair = count[:n] + count[n:]
    if reduction != "mean":  # "none": each pair's mean term; "sum": the sum of those
        return finish(fn, s_pair / k_pair, reduction, w, inputs=inputs)
    # "mean": every (anchor, positive) term counts once (pml's MeanReducer), weighted by its pair's weight
    total = finish(fn, s_pair, "sum", w, inputs=inputs)
    if avg_factor is not None:  # the caller's count of (anchor, positive) terms
        return total / (avg_factor.to(total.dtype) if isinstance(avg_factor, Tensor) else float(avg_factor))
    return total / (k_pair if w is None else w * k_pair).sum().clamp_min(torch.finfo(sim.dtype).tiny)


# --------------------------------------------------------------------------------------------------
# center loss (Wen et al. 2016)


def center_loss(
    input: Tensor,
    target: Tensor,
    *,
    centers: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Center loss (Wen et al. 2016): pull each feature towards the centre of its class.

    .. math::
        \ell_i = \tfrac12 \lVert x_i - c_{y_i} \rVert_2^2

    Used beside a softmax cross-entropy (``CrossEntropyLoss() + λ · CenterLoss(C, D)``, λ around 0.003 to
    0.01 in the paper) to make deep features compact within a class while the cross-entropy keeps them
    separable. :class:`losskit.nn.CenterLoss` holds the centres as a learnable ``nn.Parameter``.

    Args:
        input: features ``(N, D)``.
        target: class indices ``(N,)`` in ``[0, K)``.
        centers: the class centres ``(K, D)`` (a parameter or a tensor; gradients flow to it).
        weight: {weight_per_sample}
        reduction: ``"none"`` (``(N,)``), ``"mean"`` (default: the paper's :math:`\frac{1}{2}\sum_i`
            divided by the batch size, as common implementations do) or ``"sum"`` (the paper's
            :math:`L_C`).
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample for ``reduction="none"``.

    Raises:
        ValueError: a non-2-D input or centres, a feature size that differs, labels out of range,
            NaN/inf inputs.
        TypeError: non-tensor or non-float input / centres, a float target.

    Note:
        With autograd the centre :math:`c_j` receives :math:`\sum_{i: y_i = j} (c_j - x_i)` (divided by
        N for ``"mean"``), so an SGD step on the centres is the paper's update up to its normalisation:
        Wen et al. use :math:`\Delta c_j = \sum_{i: y_i = j}(c_j - x_i) / (1 + n_j)` with a separate rate
        α. Give the centres their own parameter group (its learning rate plays α) to tune them apart.

    References:
        Wen, Zhang, Li, Qiao, *A Discriminative Feature Learning Approach for Deep Face Recognition*,
        ECCV 2016.

    Example:
        Features (1, 1) and (3, 0) of classes 0 and 1 with centres (0, 0) and (3, 2): ½·2 = 1 and ½·4 = 2.

        >>> import torch
        >>> from losskit.functional import center_loss
        >>> x = torch.tensor([[1.0, 1.0], [3.0, 0.0]])
        >>> c = torch.tensor([[0.0, 0.0], [3.0, 2.0]])
        >>> center_loss(x, torch.tensor([0, 1]), centers=c, reduction="none")
        tensor([1., 2.])
    """
    fn = "center_loss"
    checks.check_reduction(fn, reduction)
    _check_embeddings(fn, "input", input)
    c = checks.check_float(fn, "centers", centers)
    if c.dim() != 2 or c.shape[1] != input.shape[1]:
        raise ValueError(
            f"{fn}: centers must have shape (K, {int(input.shape[1])}) (one centre per class, the features' "
            f"size), got {checks.fmt_shape(c.shape)}"
        )
    n = int(input.shape[0])
    target = checks.check_index_target(fn, "target", target)
    checks.check_shape(fn, "target", target, (n,), "(one class index per feature)")
    checks.check_labels(fn, "target", target, int(c.shape[0]))
    _check_sample_weight(fn, weight, n)
    checks.check_same_device(fn, input=input, target=target, centers=centers, weight=weight)
    _, (x, cc, w) = prepare(fn, input, centers, weight)
    assert x is not None and cc is not None
    diff = x - cc.index_select(0, target)
    loss = 0.5 * (diff * diff).sum(-1)
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "centers": centers},
    )


__all__ += ["center_loss"]
