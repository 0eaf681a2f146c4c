r"""Multi-class (softmax) cross-entropy family: cross-entropy, softmax focal loss, OHEM cross-entropy.

Conventions as in :mod:`losskit.functional.classification` (SPEC §0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks, fastpath
from losskit._core.options import NONNEGATIVE, Integer, Number, OneOf, declare
from losskit.functional._common import (
    INPUT_TYPES,
    check_base,
    check_class_input,
    check_input_type,
    check_mask,
    check_multiclass_target,
    class_log1m_probs,
    class_log_probs,
    class_view,
    finish,
    prepare,
    to_base,
)
from losskit.kernels.focal import SoftmaxFocalIndex

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


__all__ = [
    "cross_entropy",
    "ohem_cross_entropy",
    "softmax_focal_loss",
]


# --------------------------------------------------------------------------------------------------
# multi-class cross-entropy and softmax focal loss share the target handling below


def _multiclass_terms(
    fn: str,
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    input_type: str,
    dim: int,
    mask: Tensor | None,
    alpha: float | Tensor | None = None,
    gamma: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """Per-sample loss ``-Σ_k w_k α_k q'_k (1-p_k)^γ log p_k`` and its mean normaliser ``Σ_k w_k q_k``."""
    d, C = check_class_input(fn, input, dim)
    check_input_type(fn, input_type)
    checks.check_ignore_index(fn, ignore_index)
    checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    checks.check_nonnegative(fn, "gamma", gamma)
    checks.check_class_weight(fn, weight, C)
    is_index, target = check_multiclass_target(fn, input, target, d, C, ignore_index)
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    check_mask(fn, mask, sample_shape)
    alpha_vec: Tensor | None = None
    alpha_scalar = 1.0
    if isinstance(alpha, Tensor):
        checks.check_class_weight(fn, alpha, C, name="alpha")
        alpha_vec = alpha
    elif alpha is not None:
        alpha_scalar = checks.check_number(fn, "alpha", alpha, low=0.0)
    checks.check_same_device(fn, input=input, target=target, weight=weight, mask=mask, alpha=alpha_vec)

    _, (x, tgt, w, av) = prepare(fn, input, target, weight, alpha_vec)
    assert x is not None and tgt is not None
    nd = x.dim()

    # effective class weight: w_k * α_k (the normaliser uses w_k alone)
    cw = w
    if av is not None:
        cw = av if cw is None else cw * av

    if is_index:
        valid = tgt != ignore_index
        if mask is not None:
            valid = valid & mask
        safe_t = torch.where(valid, tgt, torch.zeros_like(tgt))
        plain_ce = input_type == "logits" and gamma == 0.0 and mask is None
        if plain_ce and d == 1:
            # the common case: torch's fused log-softmax + NLL (+ smoothing) with the weight w·α
            loss = F.cross_entropy(
                x,
                tgt,
                weight=cw,
                ignore_index=ignore_index,
                label_smoothing=label_smoothing,
                reduction="none",
            )
        elif (
            input_type == "logits"
            and label_smoothing == 0.0
            and not (cw is not None and cw.requires_grad)
            and (fastpath.applies() or (fastpath.compiling() and (gamma == 0.0 or gamma >= 1.0)))
        ):
            coef = valid.to(x.dtype) if cw is None else cw[safe_t] * valid.to(x.dtype)
            if fastpath.applies():
                # fused kernel: one log-softmax forward, closed-form backward, saves only the logits
                loss, _ = SoftmaxFocalIndex.apply(x, safe_t, coef, float(gamma), d)
            else:
                # compiled: the focal factor of the target's log-probability only, which inductor fuses
                # (the plain formula below weights every class; γ < 1 keeps it: u^(γ-1) at u = 0)
                lp = torch.log_softmax(x, d).gather(d, safe_t.unsqueeze(d)).squeeze(d)
                u = -torch.expm1(lp)
                loss = -coef * lp if gamma == 0.0 else -coef * (u * u if gamma == 2.0 else u.pow(gamma)) * lp
        else:
            logp = class_log_probs(fn, x, input_type, d)
            if gamma != 0.0:
                logp_mod = logp * torch.exp(gamma * class_log1m_probs(fn, x, logp, input_type, d))
            else:
                logp_mod = logp
            weighted = logp_mod if cw is None else logp_mod * class_view(cw, nd, d)
            nll = -weighted.gather(d, safe_t.unsqueeze(d)).squeeze(d)
            if label_smoothing > 0.0:
                smooth = -weighted.sum(d) / C
                loss = (1.0 - label_smoothing) * nll + label_smoothing * smooth
            else:
                loss = nll
            loss = torch.where(valid, loss, torch.zeros_like(loss))
        if w is None:
            norm = valid.to(loss.dtype)
        else:
            norm = w[safe_t] * valid.to(loss.dtype)
        return loss * alpha_scalar, norm

    # probability / one-hot targets
    logp = class_log_probs(fn, x, input_type, d)
    q = tgt
    q_s = q if label_smoothing == 0.0 else (1.0 - label_smoothing) * q + label_smoothing / C
    term = q_s * logp
    if gamma != 0.0:
        term = term * torch.exp(gamma * class_log1m_probs(fn, x, logp, input_type, d))
    if cw is not None:
        term = term * class_view(cw, nd, d)
    loss = -term.sum(d)
    norm = q.sum(d) if w is None else (q * class_view(w, nd, d)).sum(d)
    if mask is not None:
        loss = torch.where(mask, loss, torch.zeros_like(loss))
        norm = norm * mask.to(norm.dtype)
    return loss * alpha_scalar, norm


@declare(label_smoothing=Number(low=0.0, high=1.0), input_type=OneOf(INPUT_TYPES))
def cross_entropy(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    input_type: str = "logits",
    dim: int = 1,
    base: float | None = None,
    mask: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Cross-entropy between predicted class distributions and class-index or probability targets.

    .. math::
        \ell(z, y) = -\log \operatorname{softmax}(z)_y, \qquad
        \ell(z, q) = -\sum_k w_k\, q'_k \log \operatorname{softmax}(z)_k,
        \quad q' = (1-\varepsilon)\,q + \varepsilon / C

    Index targets are the notes' *sparse categorical* CE, probability / one-hot targets the *categorical*
    CE; ``input_type="log_probs"`` is the NLL loss (``CrossEntropy = NLL(LogSoftmax)``). The gradient with
    respect to the logits is ``softmax(z) - q'`` (times the class weight).

    Args:
        input: logits ``(N, C, *)`` (or probabilities / log-probabilities, see ``input_type``).
        target: class indices ``(N, *)`` (any integer dtype) or probabilities ``(N, C, *)`` (float).
        weight: per-class weight ``(C,)``. ``"mean"`` divides by the summed weight of the samples, and for
            probability targets the weight of a sample is ``Σ_k w_k q_k`` — so a one-hot target gives
            exactly the value of the equivalent index target (torch divides soft targets by N instead).
        ignore_index: index-target value to skip (loss 0, excluded from the mean). Default ``-100``.
        label_smoothing: ε in [0, 1] (Szegedy et al. 2016); 0.1 is the usual choice.
        input_type: {input_type}
        dim: {dim}
        base: logarithm base; ``None`` (nats) or 2 (bits).
        mask: optional bool ``(N, *)``, True = keep; the way to ignore samples with probability targets.
        reduction: ``"none"`` (per sample, ``(N, *)``), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; a 0-d tensor unless ``reduction="none"``. An empty or fully ignored batch gives 0
        (torch gives NaN).

    Raises:
        ValueError: on a target shape that does not match, labels out of range, probabilities outside
            [0, 1], an unknown option, or NaN/inf inputs (value checks: see :func:`losskit.set_checks`).
        TypeError: on non-tensor arguments or wrong dtypes.

    References:
        Szegedy et al., *Rethinking the Inception Architecture for Computer Vision*, CVPR 2016
        (arXiv 1512.00567) for label smoothing.

    Example:
        >>> import torch
        >>> from losskit.functional import cross_entropy
        >>> z = torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64)
        >>> print(f"{cross_entropy(z, torch.tensor([0])).item():.9f}")
        0.417030016
        >>> print(f"{cross_entropy(z, torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)).item():.9f}")
        0.807030016
        >>> print(f"{cross_entropy(z, torch.tensor([0]), label_smoothing=0.1).item():.9f}")
        0.513696683

        The notes' example, probabilities [0.1, 0.2, 0.7] with true class 2, in nats and in bits:

        >>> p = torch.tensor([[0.1, 0.2, 0.7]], dtype=torch.float64)
        >>> print(f"{cross_entropy(p, torch.tensor([2]), input_type='probs').item():.9f}")
        0.356674944
        >>> print(f"{cross_entropy(p, torch.tensor([2]), input_type='probs', base=2).item():.9f}")
        0.514573173
    """
    fn = "cross_entropy"
    checks.check_reduction(fn, reduction)
    check_base(fn, base)
    loss, norm = _multiclass_terms(
        fn,
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        input_type=input_type,
        dim=dim,
        mask=mask,
    )
    loss = to_base(loss, base)
    return finish(
        fn,
        loss,
        reduction,
        denominator=norm,
        normalizer=normalizer,
        process_group=process_group,
        facts={"classes": int(input.shape[dim])},
        inputs={"input": input, "target": target},
    )


@declare(gamma=NONNEGATIVE, label_smoothing=Number(low=0.0, high=1.0), input_type=OneOf(INPUT_TYPES))
def softmax_focal_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float | Tensor | None = None,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    input_type: str = "logits",
    dim: int = 1,
    mask: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Multi-class focal loss on a softmax.

    .. math::
        \ell = -\sum_k \alpha_k\, q'_k\, (1 - p_k)^{\gamma} \log p_k,
        \qquad p = \operatorname{softmax}(z)

    which for an index target ``y`` is :math:`-\alpha_y (1-p_y)^\gamma \log p_y`. ``gamma=0`` with
    ``alpha=None`` is exactly :func:`cross_entropy` (weights, smoothing and ignore handling included).

    Args:
        input: logits ``(N, C, *)`` with ``C >= 2`` (or probabilities / log-probabilities).
        target: class indices ``(N, *)`` or probabilities ``(N, C, *)``.
        alpha: ``None`` (no weighting), a float (a uniform multiplier) or a ``(C,)`` tensor of per-class
            weights. There is no hidden background rule: kornia and MONAI turn a scalar ``a`` into
            ``1 - a`` for class 0; to get theirs pass ``alpha=torch.tensor([1 - a, a, a, ...])``.
        gamma: focusing parameter γ >= 0; 2 is the paper's best setting.
        weight: per-class weight ``(C,)`` that also defines the mean's denominator, as in cross-entropy.
        ignore_index, label_smoothing, input_type, dim, mask, reduction: as in :func:`cross_entropy`.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`cross_entropy`; also for ``gamma < 0`` or a bad ``alpha``.

    Note:
        ``(1 - p_k)^γ`` is computed as ``exp(γ · log(1 - p_k))``, with ``log(1 - p_k)`` taken as the
        log-sum-exp of the other classes for the most likely class; values and gradients stay finite for
        every γ >= 0 even when the logits saturate (computing ``p_t = exp(-CE)`` first, as many
        implementations do, gives NaN gradients for γ < 1 there).
        segmentation-models-pytorch's "multiclass" focal loss is one-vs-rest sigmoid focal: use
        :func:`sigmoid_focal_loss` on one-hot targets for that.

    References:
        Lin, Goyal, Girshick, He, Dollár, *Focal Loss for Dense Object Detection*, ICCV 2017
        (arXiv 1708.02002).

    Example:
        >>> import torch
        >>> from losskit.functional import softmax_focal_loss
        >>> z = torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64)
        >>> print(f"{softmax_focal_loss(z, torch.tensor([0])).item():.10f}")
        0.0484923434
    """
    fn = "softmax_focal_loss"
    checks.check_reduction(fn, reduction)
    checks.check_float(fn, "input", input)
    if input.dim() >= 2 and isinstance(dim, int) and -input.dim() <= dim < input.dim():
        if input.shape[dim] < 2:
            raise ValueError(f"{fn}: input needs at least 2 classes on dim {dim}, got {input.shape[dim]}")
    loss, norm = _multiclass_terms(
        fn,
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        input_type=input_type,
        dim=dim,
        mask=mask,
        alpha=alpha,
        gamma=gamma,
    )
    return finish(
        fn,
        loss,
        reduction,
        denominator=norm,
        normalizer=normalizer,
        process_group=process_group,
        facts={"classes": int(input.shape[dim])},
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# online hard example mining for dense cross-entropy (issue 13)


@declare(
    threshold=Number(low=0.0, high=1.0, low_open=True), min_kept=Integer(low=0), input_type=OneOf(INPUT_TYPES)
)
def ohem_cross_entropy(
    input: Tensor,
    target: Tensor,
    *,
    threshold: float = 0.7,
    min_kept: int = 100000,
    top_k: float | None = None,
    ignore_index: int = -100,
    weight: Tensor | None = None,
    input_type: str = "logits",
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Cross-entropy over the hardest pixels only: OHEM (threshold + ``min_kept``) or top-k % (nnU-Net).

    With :math:`\ell_i = -w_{y_i}\log p_{i, y_i}` the per-pixel cross-entropy, the loss averages
    :math:`\ell_i` over a selected set :math:`S`:

    * **OHEM** (``top_k=None``, the default; HRNet / mmsegmentation's ``OhemCrossEntropy`` and
      ``OHEMPixelSampler``): sort the counted pixels' true-class probabilities :math:`p_{(1)} \le p_{(2)}
      \le \dots \le p_{(M)}`; :math:`t = \max(\texttt{threshold},\ p_{(\min(\texttt{min\_kept}, M-1)+1)})`
      and :math:`S = \{i : p_{i, y_i} < t\}`. Pixels the model is already sure of (probability above
      ``threshold``) drop out unless fewer than ``min_kept`` pixels are hard, in which case the
      ``min_kept`` hardest are kept.
    * **Top-k** (``top_k=k``, nnU-Net's ``TopKLoss(k)``): :math:`S` is the
      :math:`\lfloor P k / 100 \rfloor` largest per-pixel losses among all :math:`P` pixels of the batch
      (ignored pixels take part with loss 0, as in nnU-Net; at least one pixel is kept). Ties at the
      boundary are broken by position: every pixel whose loss exceeds the :math:`\lfloor P k / 100
      \rfloor`-th largest, then the first (in the batch's flattened order) of those equal to it.

    The selection is not differentiated (it is a choice of pixels); the gradient flows through the
    selected :math:`\ell_i`.

    **Across ranks** (``process_group``): the selection is that of the union of every rank's pixels, so
    the loss is exactly the one-process loss of the concatenated batch (the same on every rank; each
    rank's gradient is ``W`` times the full-batch gradient of its pixels, which DDP averages back). The
    global cut is found from detached values only: OHEM all-reduces two counts (valid pixels, pixels
    under ``threshold``); only when ``min_kept`` binds does each rank all-gather its
    :math:`\min(\texttt{min\_kept}+1, M_r)` smallest probabilities. Top-k all-gathers each rank's
    :math:`\min(K, P_r)` largest losses (:math:`K` the global number kept) and two counts per rank (for
    the ties, taken in rank order). At most one float per pixel of the rank, no gradient; then the
    usual 2-number all-reduce of the mean.

    Args:
        input: logits ``(N, C, *spatial)`` (or probabilities / log-probabilities, see ``input_type``).
        target: class indices ``(N, *spatial)``.
        threshold: OHEM's probability threshold in (0, 1]. Default 0.7 (HRNet / mmseg).
        min_kept: OHEM's minimum number of kept pixels for the whole batch, >= 0. Default 100000 (HRNet's;
            mmseg's ``min_kept`` is per image: pass ``min_kept * N``).
        top_k: percentage in (0, 100] for the top-k mode; None (default) for OHEM. nnU-Net uses 10.
        ignore_index: target value left out (of the OHEM ranking, and with loss 0 in top-k). Default -100.
        weight: per-class weight ``(C,)`` multiplying each pixel's loss (``CrossEntropyLoss(weight=...,
            reduction="none")`` as HRNet does); ``"mean"`` stays the plain mean over the selected pixels.
        input_type: {input_type}
        reduction: ``"none"`` (the target's shape, unselected pixels 0), ``"mean"`` (over the selected
            pixels; 0 when none is) or ``"sum"``.
        normalizer: replaces the number of selected pixels as the denominator of ``reduction="mean"`` (a
            number or 0-d tensor > 0, mmdet's ``avg_factor``). Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the pixels are
            selected and averaged over the union of every rank's batch (see above and
            docs/distributed.md); ``"none"`` returns this rank's pixels of that global selection.

    Returns:
        The loss.

    Raises:
        ValueError: bad shapes, labels out of range, a threshold outside (0, 1], a negative ``min_kept``,
            ``top_k`` outside (0, 100], NaN/inf inputs.
        TypeError: non-tensor / integer input, a float target, a non-int ``min_kept``.

    References:
        Shrivastava, Gupta, Girshick, *Training Region-based Object Detectors with Online Hard Example
        Mining*, CVPR 2016 (arXiv 1604.03540); Wang et al., *Deep High-Resolution Representation Learning
        for Visual Recognition* (HRNet), TPAMI 2020 (arXiv 1908.07919); Isensee et al., *nnU-Net*, Nature
        Methods 2021 (arXiv 1809.10486), TopK loss.

    Example:
        Four pixels whose true-class probabilities are 0.9, 0.6, 0.3 and 0.8: with threshold 0.7 and
        ``min_kept=1`` the pixels at 0.6 and 0.3 are kept, :math:`(-\ln 0.6 - \ln 0.3)/2`:

        >>> import math, torch
        >>> from losskit.functional import ohem_cross_entropy
        >>> p1 = torch.tensor([0.9, 0.6, 0.3, 0.8], dtype=torch.float64)
        >>> x = torch.stack([torch.zeros(4, dtype=torch.float64), torch.log(p1 / (1 - p1))])[None]
        >>> y = torch.ones(1, 4, dtype=torch.long)
        >>> print(f"{ohem_cross_entropy(x, y, threshold=0.7, min_kept=1).item():.9f}")
        0.857399214
    """
    fn = "ohem_cross_entropy"
    checks.check_reduction(fn, reduction)
    th = checks.check_number(fn, "threshold", threshold, low=0.0, high=1.0, low_open=True)
    checks.check_integer(fn, "min_kept", min_kept, low=0)
    k = None if top_k is None else checks.check_number(fn, "top_k", top_k, low=0.0, high=100.0, low_open=True)
    checks.check_ignore_index(fn, ignore_index)
    _, c = check_class_input(fn, input, 1)
    # a NaN logit would be silently ranked (and dropped or kept) by the hard-example selection
    checks.check_finite(fn, "input", input)
    target = checks.check_index_target(fn, "target", target)
    shape = (int(input.shape[0]), *(int(s) for s in input.shape[2:]))
    checks.check_shape(fn, "target", target, shape, "(class indices: input's shape without C)")
    checks.check_labels(fn, "target", target, c, ignore_index)
    checks.check_class_weight(fn, weight, c)
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, w) = prepare(fn, input, weight)
    assert x is not None
    logp_all = class_log_probs(fn, x, input_type, 1)
    valid = target != ignore_index
    t = torch.where(valid, target, torch.zeros_like(target))
    logp = logp_all.gather(1, t.unsqueeze(1)).squeeze(1)
    loss = -logp if w is None else -logp * w[t]
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    group = dist_.resolve_group(fn, process_group)
    if group is not None:
        # every rank must take part in the same selection collectives: compare the options first
        option = th if k is None else k
        dist_.check_consistent(
            fn,
            group,
            x.device,
            classes=c,
            top_k_mode=int(k is not None),
            min_kept=min_kept if k is None else 0,
            option_x1e9=round(option * 1e9),
        )
    with torch.no_grad():
        if k is not None:
            chosen = _topk_selection(loss.detach().reshape(-1), k, group)
        else:
            p = torch.exp(logp.detach()).reshape(-1)
            chosen = _ohem_selection(p, valid.reshape(-1), th, min_kept, group)
    chosen = chosen.reshape(loss.shape)
    picked = torch.where(chosen, loss, torch.zeros_like(loss))
    return finish(
        fn,
        picked,
        reduction,
        denominator=chosen.to(loss.dtype),
        normalizer=normalizer,
        process_group=group,
        inputs={"input": input},
    )


def _ohem_selection(p: Tensor, v: Tensor, th: float, min_kept: int, group: ProcessGroup | None) -> Tensor:
    """OHEM's kept pixels: valid and ``p < max(th, p_(min(min_kept, M-1)+1))``, over every rank's pixels."""
    if group is None:
        # one process: a sort, no device synchronisation
        ranked = torch.sort(torch.where(v, p, torch.full_like(p, 2.0))).values  # ignored pixels sort last
        m = v.sum()
        pos = torch.minimum(torch.full_like(m, min_kept), (m - 1).clamp_min(0))
        kth = ranked.gather(0, pos.reshape(1)) if ranked.numel() else p.new_zeros(1)
        return v & (p < torch.clamp(kth, min=th))
    # Across ranks. If more than pos = min(min_kept, M-1) valid pixels of the union are under th, the
    # (pos+1)-th smallest p is under th too and the cut is th: two counts decide it. Otherwise that p is
    # among the pos+1 smallest of its own rank: gather those (detached) and read it off.
    pv = p[v]
    counts = dist_.all_reduce_sum(torch.stack([v.sum(), (pv < th).sum()]), group)
    n_valid, n_below = (int(n) for n in counts.tolist())
    at = min(min_kept, max(n_valid - 1, 0))
    if n_valid == 0:
        return torch.zeros_like(v)
    if n_below > at:
        return v & (p < th)
    mine = torch.topk(pv, min(at + 1, int(pv.numel())), largest=False).values
    cut = torch.sort(dist_.all_gather(mine, group)).values[at]
    return v & (p < torch.clamp(cut, min=th))


def _topk_selection(flat: Tensor, k: float, group: ProcessGroup | None) -> Tensor:
    """The ``floor(P k / 100)`` largest losses of every rank's ``P`` pixels (at least 1); ties by position."""
    sizes = dist_.gather_sizes(int(flat.numel()), group, flat.device)
    total = sum(sizes)
    n_keep = max(1, int(total * k / 100.0)) if total else 0
    if n_keep == 0:
        return torch.zeros_like(flat, dtype=torch.bool)
    # the n_keep-th largest of the union is among the n_keep largest of its own rank
    mine = torch.topk(flat, min(n_keep, int(flat.numel()))).values
    kth = mine[-1] if group is None else torch.topk(dist_.all_gather(mine, group), n_keep).values[-1]
    above = flat > kth
    tie = flat == kth
    # every loss above the cut, then the first ties in (rank, position) order up to n_keep in all
    w = len(sizes)
    stats = torch.stack([above.sum(), tie.sum()]).reshape(1, 2)
    stats = dist_.all_gather(stats, group, sizes=[1] * w) if group is not None else stats
    me = dist_.rank(group) if group is not None else 0
    room = n_keep - stats[:, 0].sum() - stats[:me, 1].sum()
    return above | (tie & (torch.cumsum(tie, 0) <= room))
