r"""Classification losses: cross-entropy family, focal family, divergences, margin losses and CTC.

Shared conventions (SPEC §0): the class dimension is ``dim=1``; ``input_type`` is ``"logits"`` (default,
always handled in log space), ``"probs"`` (clamped to ``[eps, 1-eps]`` before the log) or ``"log_probs"``;
targets are class indices (integer, input's shape without ``dim``) or probabilities (float, input's
shape); ``reduction`` is ``"none" | "mean" | "sum"``, weighted means divide by the sum of weights, and an
empty or fully ignored batch gives 0 with a working backward. float16/bfloat16 inputs are computed and
returned in float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks, fastpath
from losskit._core.logspace import logaddexp
from losskit._core.options import NONNEGATIVE, Integer, Number, OneOf, declare
from losskit.functional._common import (
    INPUT_TYPES,
    binary_log_probs,
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
from losskit.kernels.focal import SigmoidFocal, SoftmaxFocalIndex

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "balanced_cross_entropy",
    "binary_cross_entropy",
    "brier_score",
    "cross_entropy",
    "ctc_loss",
    "distribution_focal_loss",
    "entropy",
    "exponential_loss",
    "hinge_loss",
    "kl_divergence",
    "multiclass_hinge_loss",
    "perceptron_loss",
    "quality_focal_loss",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
    "varifocal_loss",
    "zero_one_loss",
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
                x, tgt, weight=cw, ignore_index=ignore_index, label_smoothing=label_smoothing,
                reduction="none",
            )
        elif (
            input_type == "logits" and label_smoothing == 0.0 and fastpath.applies()
            and not (cw is not None and cw.requires_grad)
        ):
            # fused kernel: one log-softmax forward, closed-form backward, saves only the logits
            coef = valid.to(x.dtype) if cw is None else cw[safe_t] * valid.to(x.dtype)
            loss, _ = SoftmaxFocalIndex.apply(x, safe_t, coef, float(gamma), d)
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
        input_type: ``"logits"`` (default), ``"probs"`` or ``"log_probs"``.
        dim: the class dimension. Default 1.
        base: logarithm base; ``None`` (nats) or 2 (bits).
        mask: optional bool ``(N, *)``, True = keep; the way to ignore samples with probability targets.
        reduction: ``"none"`` (per sample, ``(N, *)``), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
        fn, input, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
        input_type=input_type, dim=dim, mask=mask,
    )
    loss = to_base(loss, base)
    return finish(fn, loss, reduction, denominator=norm, normalizer=normalizer, process_group=process_group,
                  facts={"classes": int(input.shape[dim])}, inputs={"input": input, "target": target})


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
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
        fn, input, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
        input_type=input_type, dim=dim, mask=mask, alpha=alpha, gamma=gamma,
    )
    return finish(fn, loss, reduction, denominator=norm, normalizer=normalizer, process_group=process_group,
                  facts={"classes": int(input.shape[dim])}, inputs={"input": input, "target": target})


# --------------------------------------------------------------------------------------------------
# binary / multi-label (elementwise) losses


# the multi-class loss a user most likely meant when handing class indices to a binary one
_MULTICLASS_PEER = {"sigmoid_focal_loss": "softmax_focal_loss"}


def _reject_class_indices(fn: str, input: Tensor, target: Tensor) -> None:
    """A binary / multi-label loss given ``(N, C, ...)`` logits and ``(N, ...)`` integer class indices.

    That is the multi-class calling convention; rather than a bare shape error (or a silent guess), name
    the multi-class loss and the one-hot alternative.
    """
    if input.dim() >= 2 and input.shape[1] > 1 and target.dtype != torch.bool and tuple(target.shape) == (
        tuple(input.shape[:1]) + tuple(input.shape[2:])
    ):
        peer = _MULTICLASS_PEER.get(fn, "cross_entropy")
        raise ValueError(
            f"{fn}: target of shape {checks.fmt_shape(target.shape)} looks like class indices for "
            f"{checks.fmt_shape(input.shape)} logits, but {fn} is a binary / multi-label loss whose target "
            f"has the input's shape; for multi-class input use losskit.{peer} "
            f"(losskit.get({peer.removesuffix('_loss')!r})), or pass a one-hot target "
            f"(torch.nn.functional.one_hot(target, {input.shape[1]}).movedim(-1, 1).float())"
        )


def _binary_setup(
    fn: str, input: Tensor, target: Tensor, weight: Tensor | None, *, soft_ok: bool = True
) -> tuple[Tensor, Tensor, Tensor | None]:
    checks.check_float(fn, "input", input)
    checks.check_tensor(fn, "target", target)
    if not target.is_floating_point() and not target.is_complex():
        _reject_class_indices(fn, input, target)
        half = input.dtype in (torch.float16, torch.bfloat16)
        target = target.to(torch.float32 if half else input.dtype)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape)")
    if soft_ok:
        checks.check_probabilities(fn, "target", target)
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    return x, y, w


def _bce_terms(logp: Tensor, log1mp: Tensor, y: Tensor) -> Tensor:
    return -(y * logp + (1.0 - y) * log1mp)


def _log_one_minus_pt(logp: Tensor, log1mp: Tensor, y: Tensor) -> Tensor:
    """``log(1 - p_t)`` with ``1 - p_t = y(1-p) + (1-y)p``, in log space (soft targets allowed)."""
    tiny = torch.finfo(y.dtype).tiny
    # clamping y away from 0/1 by `tiny` changes the value by < tiny and keeps d/dy finite
    # logspace.logaddexp: torch.logaddexp's second derivative is NaN for arguments ~700 apart (hard labels)
    return logaddexp(torch.log(y.clamp_min(tiny)) + log1mp, torch.log((1.0 - y).clamp_min(tiny)) + logp)


@declare(label_smoothing=Number(low=0.0, high=1.0), input_type=OneOf(INPUT_TYPES))
def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    mask: Tensor | None = None,
    input_type: str = "logits",
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Binary cross-entropy, elementwise (binary and multi-label classification).

    .. math::
        \ell = -\left[w_+\, y \log p + (1 - y)\log(1 - p)\right],\qquad p = \sigma(x)

    From logits it is evaluated as :math:`\max(x, 0) - x y + \log(1 + e^{-|x|})` (no overflow).

    Args:
        input: logits of any shape (or probabilities / log-probabilities, see ``input_type``).
        target: same shape, values in [0, 1] (soft targets allowed); int/bool targets are converted.
        weight: elementwise weight broadcastable to the input's shape. ``"mean"`` is ``Σ w ℓ / Σ w``
            (torch's ``weight`` rescales but still divides by the element count).
        pos_weight: multiplies the positive term, broadcast over the last dimension(s) like torch
            (e.g. ``(C,)`` for ``(N, C)``); ``n_neg / n_pos`` balances a rare positive class.
        label_smoothing: ε in [0, 1]: the target becomes :math:`y(1 - ε) + ε/2` (the two-class case of
            :func:`cross_entropy`'s smoothing). segmentation-models-pytorch's ``smooth_factor=s`` is
            ``label_smoothing=2s``. Default 0.
        ignore_index: target value whose elements are left out of the loss and of the mean's denominator
            (e.g. -100 or 255), as smp's binary ``FocalLoss(ignore_index=)`` does; smp's
            ``SoftBCEWithLogitsLoss`` and kornia keep ignored elements in the denominator: their mean is
            losskit's ``"sum"`` divided by the element count. Default None.
        mask: bool tensor of the input's shape, True = keep; elements where it is False are left out like
            ignored ones. Default None.
        input_type: ``"logits"`` (default), ``"probs"`` or ``"log_probs"``.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: shape mismatch (no broadcasting), targets or probabilities outside [0, 1], NaN/inf.
        TypeError: non-tensor or non-float input.

    Example:
        >>> import math, torch
        >>> from losskit.functional import binary_cross_entropy
        >>> x = torch.tensor([math.log(4.0)] * 2, dtype=torch.float64)  # p = 0.8
        >>> binary_cross_entropy(x, torch.tensor([1.0, 0.0], dtype=torch.float64), reduction="none")
        tensor([0.2231, 1.6094], dtype=torch.float64)
    """
    fn = "binary_cross_entropy"
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    target, weight = _binary_extras(fn, input, target, weight, label_smoothing=label_smoothing,
                                    ignore_index=ignore_index, mask=mask)
    x, y, w = _binary_setup(fn, input, target, weight)
    pw = None
    if pos_weight is not None:
        checks.check_weight(fn, pos_weight, tuple(input.shape), name="pos_weight")
        pw = pos_weight.to(x.dtype)
    if input_type == "logits":
        loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none")
    else:
        logp, log1mp = binary_log_probs(fn, x, input_type)
        pos = y * logp if pw is None else pw * y * logp
        loss = -(pos + (1.0 - y) * log1mp)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


@declare(alpha=Number(low=0.0, high=1.0), input_type=OneOf(INPUT_TYPES))
def balanced_cross_entropy(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 0.75,
    weight: Tensor | None = None,
    input_type: str = "logits",
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""α-balanced binary cross-entropy, :math:`-\alpha_t \log p_t` (the RetinaNet baseline).

    :math:`\alpha_t = \alpha` for positives and :math:`1 - \alpha` for negatives; equals
    :func:`sigmoid_focal_loss` with ``gamma=0`` and the same ``alpha``.

    Args:
        input, target, weight, input_type, reduction: as in :func:`binary_cross_entropy`.
        alpha: weight of the positive class in [0, 1]. Default 0.75: in Lin et al. §5.1 (Table 1a) the
            α-balanced CE (γ = 0) is best at α = 0.75. The familiar 0.25 is the best α only *together
            with* γ = 2 (Table 1b: α is lowered as γ grows, because the focusing term already
            down-weights the many easy negatives); that is :func:`sigmoid_focal_loss`'s default. Pass
            ``alpha=0.25`` for the value of note 002 and of versions before this one.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`binary_cross_entropy`, and for α outside [0, 1].

    References:
        Lin et al., *Focal Loss for Dense Object Detection*, ICCV 2017 (arXiv 1708.02002), §3.1.

    Example:
        >>> import math, torch
        >>> from losskit.functional import balanced_cross_entropy
        >>> x = torch.tensor([math.log(4.0)] * 2, dtype=torch.float64)  # p = 0.8
        >>> balanced_cross_entropy(x, torch.tensor([1.0, 0.0], dtype=torch.float64), reduction="none")
        tensor([0.1674, 0.4024], dtype=torch.float64)
    """
    fn = "balanced_cross_entropy"
    checks.check_reduction(fn, reduction)
    a = checks.check_number(fn, "alpha", alpha, low=0.0, high=1.0)
    check_input_type(fn, input_type)
    x, y, w = _binary_setup(fn, input, target, weight)
    logp, log1mp = binary_log_probs(fn, x, input_type)
    loss = (a * y + (1.0 - a) * (1.0 - y)) * _bce_terms(logp, log1mp, y)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


@declare(alpha=Number(low=0.0, high=1.0, optional=True), gamma=NONNEGATIVE,
         label_smoothing=Number(low=0.0, high=1.0), input_type=OneOf(INPUT_TYPES))
def sigmoid_focal_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    mask: Tensor | None = None,
    input_type: str = "logits",
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Sigmoid focal loss (binary / multi-label, RetinaNet), elementwise.

    .. math::
        \ell = -\alpha_t (1 - p_t)^{\gamma} \log p_t,\qquad
        p_t = y\,p + (1-y)(1-p),\quad \alpha_t = \alpha y + (1-\alpha)(1-y)

    Down-weights easy examples so training focuses on the hard, rare ones; ``gamma=0, alpha=None`` is
    :func:`binary_cross_entropy`. Same values as ``torchvision.ops.sigmoid_focal_loss`` (whose default
    reduction is ``"none"``; losskit's is ``"mean"``).

    Args:
        input: logits of any shape (or probabilities / log-probabilities).
        target: same shape, in [0, 1] (soft targets allowed).
        alpha: positive-class weight in [0, 1], default 0.25; ``None`` disables the weighting.
        gamma: focusing parameter γ >= 0, default 2 (the paper's best; the notes' "0.2" is a typo).
        pos_weight: multiplies the positive cross-entropy term :math:`-y\log p` (kornia's
            ``binary_focal_loss_with_logits(pos_weight=)``; its ``(C,)`` acts along dim 1, so for inputs
            ``(B, C, H, W)`` pass ``pos_weight.view(C, 1, 1)``). Calls with it take the plain autograd
            path instead of the fused kernel. Default None.
        weight, label_smoothing, ignore_index, mask, input_type, reduction: as in
            :func:`binary_cross_entropy` (the smoothing and the ignored elements are applied to the target
            and weight before the fused kernel).
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`binary_cross_entropy`, and for bad α or γ.

    Note:
        The modulating factor is ``exp(γ · log(1 - p_t))`` with ``log(1 - p_t)`` from log-sigmoids, so
        values and gradients are finite for every γ >= 0 at saturated logits (torchvision and smp compute
        ``p_t`` first and return NaN gradients for γ < 1 there).

    References:
        Lin, Goyal, Girshick, He, Dollár, *Focal Loss for Dense Object Detection*, ICCV 2017
        (arXiv 1708.02002).

    Example:
        >>> import math, torch
        >>> from losskit.functional import sigmoid_focal_loss
        >>> x = torch.tensor([math.log(4.0)] * 2, dtype=torch.float64)  # p = 0.8
        >>> sigmoid_focal_loss(x, torch.tensor([1.0, 0.0], dtype=torch.float64), reduction="none")
        tensor([0.0022, 0.7725], dtype=torch.float64)
    """
    fn = "sigmoid_focal_loss"
    checks.check_reduction(fn, reduction)
    a = None if alpha is None else checks.check_number(fn, "alpha", alpha, low=0.0, high=1.0)
    g = checks.check_number(fn, "gamma", gamma, low=0.0)
    check_input_type(fn, input_type)
    target, weight = _binary_extras(fn, input, target, weight, label_smoothing=label_smoothing,
                                    ignore_index=ignore_index, mask=mask)
    x, y, w = _binary_setup(fn, input, target, weight)
    pw = _pos_weight(fn, pos_weight, x)
    if input_type == "logits" and not y.requires_grad and pw is None and fastpath.applies():
        # fused kernel: 9 elementwise passes forward, closed-form backward, saves only (x, y)
        loss = SigmoidFocal.apply(x, y, a, g)
        return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                      inputs={"input": input, "target": target})
    logp, log1mp = binary_log_probs(fn, x, input_type)
    loss = _bce_terms(logp, log1mp, y) if pw is None else -(pw * y * logp + (1.0 - y) * log1mp)
    if g != 0.0:
        loss = loss * torch.exp(g * _log_one_minus_pt(logp, log1mp, y))
    if a is not None:
        loss = (a * y + (1.0 - a) * (1.0 - y)) * loss
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


@declare(beta=NONNEGATIVE, input_type=OneOf(INPUT_TYPES))
def quality_focal_loss(
    input: Tensor,
    target: Tensor,
    *,
    beta: float = 2.0,
    weight: Tensor | None = None,
    ignore_index: int | None = None,
    mask: Tensor | None = None,
    input_type: str = "logits",
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Quality Focal Loss (Generalized Focal Loss): focal weighting towards a soft IoU-quality target.

    .. math::
        \ell = -|y - \sigma|^{\beta}\left[(1-y)\log(1-\sigma) + y \log \sigma\right]

    ``y`` in [0, 1] is the localisation quality (IoU) for positives and 0 for negatives. The factor
    ``|y - σ|^β`` is part of the graph (not detached), as in the paper.

    Args:
        input: logits of any shape (or probabilities / log-probabilities).
        target: same shape, the quality score in [0, 1].
        beta: exponent β >= 0, default 2 (the paper's setting).
        weight, ignore_index, mask, input_type, reduction: as in :func:`binary_cross_entropy`. There is
            no ``label_smoothing`` or ``pos_weight``: the target is a quality score, not a label.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`binary_cross_entropy`, and for β < 0.

    Note:
        At ``σ = y`` the factor ``|y - σ|^β`` has sub-gradient 0 (for β < 1 the true derivative is
        unbounded there); elsewhere the gradient is exact.

    References:
        Li et al., *Generalized Focal Loss: Learning Qualified and Distributed Bounding Boxes for Dense
        Object Detection*, NeurIPS 2020 (arXiv 2006.04388).

    Example:
        >>> import math, torch
        >>> from losskit.functional import quality_focal_loss
        >>> x = torch.tensor([math.log(0.6 / 0.4), math.log(0.3 / 0.7)], dtype=torch.float64)
        >>> quality_focal_loss(x, torch.tensor([0.8, 0.0], dtype=torch.float64), reduction="none")
        tensor([0.0237, 0.0321], dtype=torch.float64)
    """
    fn = "quality_focal_loss"
    checks.check_reduction(fn, reduction)
    b = checks.check_number(fn, "beta", beta, low=0.0)
    check_input_type(fn, input_type)
    target, weight = _binary_extras(fn, input, target, weight, ignore_index=ignore_index, mask=mask)
    x, y, w = _binary_setup(fn, input, target, weight)
    logp, log1mp = binary_log_probs(fn, x, input_type)
    loss = _bce_terms(logp, log1mp, y)
    if b != 0.0:
        diff = (y - torch.exp(logp)).abs()
        at_zero = diff == 0
        safe = torch.where(at_zero, torch.ones_like(diff), diff)
        loss = loss * torch.where(at_zero, torch.zeros_like(diff), safe.pow(b))
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


@declare(alpha=NONNEGATIVE, gamma=NONNEGATIVE)
def varifocal_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 0.75,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    ignore_index: int | None = None,
    mask: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Varifocal loss (VarifocalNet): asymmetric focal weighting of an IoU-aware classification score.

    .. math::
        \ell = \begin{cases} -q\,[q \log p + (1-q)\log(1-p)] & q > 0\\
                             -\alpha\, p^{\gamma} \log(1-p) & q = 0 \end{cases},\qquad p = \sigma(x)

    Positives are weighted by their target quality ``q`` (not down-weighted); only negatives get the
    focal factor ``p^γ``.

    Args:
        input: logits of any shape.
        target: same shape, IoU-aware target ``q`` in [0, 1] (0 for negatives).
        alpha: negative weight α >= 0, default 0.75.
        gamma: focusing exponent γ >= 0 for negatives, default 2.
        weight, ignore_index, mask, reduction: as in :func:`binary_cross_entropy`. There is no
            ``label_smoothing`` (it would turn every negative, q = 0, into a positive) or ``pos_weight``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`binary_cross_entropy`.

    References:
        Zhang, Wang, Dayoub, Sünderhauf, *VarifocalNet: An IoU-aware Dense Object Detector*, CVPR 2021
        (arXiv 2008.13367).

    Example:
        >>> import math, torch
        >>> from losskit.functional import varifocal_loss
        >>> x = torch.tensor([math.log(0.6 / 0.4), math.log(0.3 / 0.7)], dtype=torch.float64)
        >>> varifocal_loss(x, torch.tensor([0.8, 0.0], dtype=torch.float64), reduction="none")
        tensor([0.4735, 0.0241], dtype=torch.float64)
    """
    fn = "varifocal_loss"
    checks.check_reduction(fn, reduction)
    a = checks.check_number(fn, "alpha", alpha, low=0.0)
    g = checks.check_number(fn, "gamma", gamma, low=0.0)
    target, weight = _binary_extras(fn, input, target, weight, ignore_index=ignore_index, mask=mask)
    x, y, w = _binary_setup(fn, input, target, weight)
    logp, log1mp = binary_log_probs(fn, x, "logits")
    focal = torch.where(y > 0, y, a * torch.exp(g * logp))
    loss = focal * _bce_terms(logp, log1mp, y)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


def distribution_focal_loss(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Distribution Focal Loss (Generalized Focal Loss): a discretised box-edge distribution.

    .. math::
        \ell = -\left[(y_{i+1} - y)\log S_i + (y - y_i)\log S_{i+1}\right],\qquad
        y_i = \lfloor y \rfloor,\ y_{i+1} = y_i + 1,\ S = \operatorname{softmax}(z)

    Pushes probability mass onto the two bins that bracket the continuous target. Its minimum is the
    entropy of the two-bin split, not 0.

    Args:
        input: logits over ``n + 1`` bins, shape ``(*, n + 1)`` (bins on the last dimension).
        target: continuous targets in ``[0, n]``, shape ``(*)``; a target equal to ``n`` is moved to
            ``n - 1e-3`` so that it has a right-hand bin.
        weight: per-target weight broadcastable to ``(*)``.
        reduction: ``"none"`` (per target), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; shape ``(*)`` for ``reduction="none"``.

    Raises:
        ValueError: shape mismatch, fewer than 2 bins, targets outside ``[0, n]``, NaN/inf.
        TypeError: non-float input or target.

    References:
        Li et al., *Generalized Focal Loss*, NeurIPS 2020 (arXiv 2006.04388).

    Example:
        >>> import torch
        >>> from losskit.functional import distribution_focal_loss
        >>> z = torch.tensor([[0.0, 1.0, 3.0, 2.0, 0.0]], dtype=torch.float64)
        >>> print(f"{distribution_focal_loss(z, torch.tensor([2.3], dtype=torch.float64)).item():.9f}")
        0.771745150
    """
    fn = "distribution_focal_loss"
    checks.check_reduction(fn, reduction)
    checks.check_float(fn, "input", input)
    checks.check_float(fn, "target", target)
    checks.check_ndim(fn, "input", input, 1, "(bins on the last dimension)")
    n = int(input.shape[-1]) - 1
    if n < 1:
        raise ValueError(f"{fn}: input needs at least 2 bins on its last dimension, got {n + 1}")
    checks.check_shape(fn, "target", target, tuple(input.shape[:-1]), "(input's shape without the bins)")
    checks.check_weight(fn, weight, tuple(target.shape))
    checks.check_finite(fn, "target", target)  # floor() of a NaN target is an out-of-range bin index
    if target.numel() and checks.values_checked(target):
        lo, hi = float(target.min()), float(target.max())
        if lo < 0 or hi > n:
            raise ValueError(f"{fn}: target must lie in [0, {n}] (the bin range), got [{lo:.4g}, {hi:.4g}]")
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    y = torch.where(y >= n, torch.full_like(y, n - 1e-3), y)
    left = y.floor().clamp(0, n - 1)
    idx = left.long().unsqueeze(-1)
    logp = torch.log_softmax(x, dim=-1)
    lp_left = logp.gather(-1, idx).squeeze(-1)
    lp_right = logp.gather(-1, idx + 1).squeeze(-1)
    loss = -((left + 1.0 - y) * lp_left + (y - left) * lp_right)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


# --------------------------------------------------------------------------------------------------
# distribution losses: KL, entropy, Brier


def kl_divergence(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    target_type: str = "probs",
    dim: int = 1,
    base: float | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Kullback–Leibler divergence :math:`D_{KL}(p \,\|\, q) = \sum_k p_k \log(p_k / q_k)`.

    ``p`` is the target distribution and ``q`` the prediction; ``0 · log 0 = 0``. Not a distance: it is
    not symmetric and fails the triangle inequality.

    Args:
        input: the predicted distribution ``(N, C, *)`` as logits (default), probabilities or log-probs.
        target: the target distribution, same shape, as probabilities (default), log-probabilities or
            logits (``target_type="logits"``: distillation from a teacher's logits).
        input_type: ``"logits"``, ``"probs"`` or ``"log_probs"``.
        target_type: ``"probs"``, ``"log_probs"`` or ``"logits"``.
        dim: the class dimension. Default 1.
        base: logarithm base (``None`` for nats, 2 for bits).
        weight: per-distribution weight broadcastable to ``(N, *)``.
        reduction: ``"none"`` gives one value per distribution ``(N, *)`` (summed over ``dim``);
            ``"mean"`` averages over distributions. There is no torch-style elementwise mean (torch's
            ``kl_div(reduction="mean")`` divides by N·C, a classic trap; its ``"batchmean"`` is losskit's
            ``"mean"`` for 2-D input).
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The divergence; ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: shape mismatch, bad probabilities, unknown types, NaN/inf.

    References:
        Kullback & Leibler, *On Information and Sufficiency*, Ann. Math. Statist. 1951.

    Example:
        >>> import torch
        >>> from losskit.functional import kl_divergence
        >>> q = torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64)
        >>> p = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
        >>> print(f"{kl_divergence(q, p, input_type='probs').item():.10f}")
        0.0851228260
        >>> print(f"{kl_divergence(q, p, input_type='probs', base=2).item():.9f}")
        0.122806279
    """
    fn = "kl_divergence"
    checks.check_reduction(fn, reduction)
    check_base(fn, base)
    check_input_type(fn, input_type)
    checks.check_option(fn, "target_type", target_type, ("probs", "log_probs", "logits"))
    d, _ = check_class_input(fn, input, dim)
    checks.check_float(fn, "target", target)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(a distribution like input)")
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    checks.check_weight(fn, weight, sample_shape)
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, t, w) = prepare(fn, input, target, weight)
    assert x is not None and t is not None
    logq = class_log_probs(fn, x, input_type, d)
    if target_type == "probs":
        checks.check_probabilities(fn, "target", t)
        p = t
        pos = p > 0
        # xlogy(p, p) - p * log q, with both products 0 where p == 0 (and safe inputs there for backward)
        logp = torch.log(torch.where(pos, p, torch.ones_like(p)))
        term = torch.where(pos, p * (logp - logq), torch.zeros_like(p))
    else:
        if target_type == "log_probs":
            checks.check_log_probabilities(fn, "target", t)
            logp = t
        else:
            logp = torch.log_softmax(t, dim=d)
        p = torch.exp(logp)
        term = torch.where(p > 0, p * (logp - logq), torch.zeros_like(p))
    loss = to_base(term.sum(d), base)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


def entropy(
    input: Tensor,
    *,
    input_type: str = "logits",
    dim: int = 1,
    base: float | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_k p_k \log p_k` of predicted distributions.

    From logits it is :math:`\operatorname{logsumexp}(z) - \sum_k \operatorname{softmax}(z)_k z_k`,
    evaluated as ``-Σ p · log_softmax(z)``. Used as a confidence penalty (add ``-β·H``) or to measure
    uncertainty. It has no target.

    Args:
        input: distributions ``(N, C, *)`` as logits (default), probabilities or log-probabilities.
        input_type: ``"logits"``, ``"probs"`` or ``"log_probs"``.
        dim: the class dimension. Default 1.
        base: logarithm base (``None`` nats, 2 bits).
        weight: per-distribution weight broadcastable to ``(N, *)``.
        reduction: ``"none"`` (``(N, *)``), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The entropy, in ``[0, log C]``.

    Raises:
        ValueError, TypeError: bad shapes, probabilities outside [0, 1], NaN/inf.

    References:
        Shannon, *A Mathematical Theory of Communication*, Bell Syst. Tech. J. 1948.

    Example:
        >>> import torch
        >>> from losskit.functional import entropy
        >>> p = torch.tensor([[0.75, 0.25]], dtype=torch.float64)
        >>> print(f"{entropy(p, input_type='probs', base=2).item():.9f}")
        0.811278124
        >>> print(f"{entropy(p, input_type='probs').item():.9f}")
        0.562335145
    """
    fn = "entropy"
    checks.check_reduction(fn, reduction)
    check_base(fn, base)
    check_input_type(fn, input_type)
    d, _ = check_class_input(fn, input, dim)
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    checks.check_weight(fn, weight, sample_shape)
    _, (x, w) = prepare(fn, input, weight)
    assert x is not None
    logp = class_log_probs(fn, x, input_type, d)
    p = x if input_type == "probs" else torch.exp(logp)
    loss = to_base(-(p * logp).sum(d), base)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


def brier_score(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    dim: int = 1,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Brier score :math:`\sum_k (p_k - y_k)^2`, summed over classes (range [0, 2]).

    A proper scoring rule: the note's "MSE on probabilities". scikit-learn's binary
    ``brier_score_loss`` scores only the positive class, which is half of this for two classes.

    Args:
        input: ``(N, C, *)`` logits (default), probabilities or log-probabilities.
        target: class indices ``(N, *)`` or probabilities ``(N, C, *)``.
        input_type: ``"logits"``, ``"probs"`` or ``"log_probs"``.
        dim: the class dimension. Default 1.
        weight: per-sample weight broadcastable to ``(N, *)``.
        reduction: ``"none"`` (``(N, *)``), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The score.

    Raises:
        ValueError, TypeError: bad shapes, labels out of range, bad probabilities, NaN/inf.

    References:
        Brier, *Verification of Forecasts Expressed in Terms of Probability*, Monthly Weather Review 1950.

    Example:
        Note 001's example (its 0.15 is an arithmetic slip: 0.2² + 0.1² + 0.1² = 0.06):

        >>> import torch
        >>> from losskit.functional import brier_score
        >>> p = torch.tensor([[0.8, 0.1, 0.1]], dtype=torch.float64)
        >>> print(f"{brier_score(p, torch.tensor([0]), input_type='probs').item():.6f}")
        0.060000
    """
    fn = "brier_score"
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    d, C = check_class_input(fn, input, dim)
    is_index, target = check_multiclass_target(fn, input, target, d, C, None)
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    checks.check_weight(fn, weight, sample_shape)
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, t, w) = prepare(fn, input, target, weight)
    assert x is not None and t is not None
    if input_type == "probs":
        checks.check_probabilities(fn, "input", x)
        p = x
    else:
        p = torch.exp(class_log_probs(fn, x, input_type, d))
    if is_index:
        onehot = torch.zeros_like(p).scatter(d, t.unsqueeze(d), 1.0)
    else:
        onehot = t
    loss = (p - onehot).square().sum(d)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


# --------------------------------------------------------------------------------------------------
# margin losses (labels ±1, or 0/1 mapped to ±1)


def _signed_target(fn: str, input: Tensor, target: Tensor) -> Tensor:
    checks.check_float(fn, "input", input)
    checks.check_tensor(fn, "target", target)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape)")
    if target.dtype == torch.bool:
        target = target.long()
    if target.numel() and checks.values_checked(target):
        vals = set(torch.unique(target).tolist())
        if not vals <= {-1, 0, 1}:
            bad = sorted(vals - {-1, 0, 1})[:3]
            raise ValueError(f"{fn}: target must hold labels in {{-1, +1}} or {{0, 1}}, got values {bad}")
        if {-1, 0} <= vals:
            raise ValueError(f"{fn}: target mixes the {{0, 1}} and {{-1, +1}} label conventions; use one")
    dtype = input.dtype if input.dtype not in (torch.float16, torch.bfloat16) else torch.float32
    t = target.to(dtype)
    return torch.where(t == 0, -torch.ones_like(t), t)


def _margin_setup(
    fn: str, input: Tensor, target: Tensor, weight: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    y = _signed_target(fn, input, target)
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, w) = prepare(fn, input, weight)
    assert x is not None
    return y.to(x.dtype) * x, w


@declare(margin=Number())
def hinge_loss(
    input: Tensor,
    target: Tensor,
    *,
    margin: float = 1.0,
    squared: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Binary hinge loss :math:`\max(0, \Delta - y f)` (SVM), or its square.

    Args:
        input: real-valued scores ``f``, any shape.
        target: labels in {-1, +1} or {0, 1} (0 is read as -1), same shape; other values are an error.
        margin: Δ, default 1.
        squared: use :math:`\max(0, \Delta - y f)^2` (smooth, L2-SVM).
        weight: elementwise weight broadcastable to the input's shape.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: labels outside the two conventions (or mixing them), shape mismatch, NaN/inf.
        TypeError: non-float input.

    References:
        Cortes & Vapnik, *Support-Vector Networks*, Machine Learning 1995.

    Example:
        >>> import torch
        >>> from losskit.functional import hinge_loss
        >>> f = torch.tensor([0.3, 0.3])
        >>> hinge_loss(f, torch.tensor([1, -1]), reduction="none")
        tensor([0.7000, 1.3000])
        >>> hinge_loss(f[:1], torch.tensor([1]), squared=True)
        tensor(0.4900)
    """
    fn = "hinge_loss"
    checks.check_reduction(fn, reduction)
    mg = checks.check_number(fn, "margin", margin)
    checks.check_flag(fn, "squared", squared)
    m, w = _margin_setup(fn, input, target, weight)
    loss = torch.clamp(mg - m, min=0.0)
    if squared:
        loss = loss.square()
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


def perceptron_loss(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Perceptron loss :math:`\max(0, -y f)`: zero for every correctly classified point.

    (Note 003's formula omits the label ``y``.)

    Args:
        input: real-valued scores, any shape.
        target: labels in {-1, +1} or {0, 1}.
        weight, reduction: as in :func:`hinge_loss`.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`hinge_loss`.

    References:
        Rosenblatt, *The Perceptron*, Psychological Review 1958.

    Example:
        >>> import torch
        >>> from losskit.functional import perceptron_loss
        >>> perceptron_loss(torch.tensor([-0.4, 0.5]), torch.tensor([1, 1]), reduction="none")
        tensor([0.4000, 0.0000])
    """
    fn = "perceptron_loss"
    checks.check_reduction(fn, reduction)
    m, w = _margin_setup(fn, input, target, weight)
    return finish(fn, torch.clamp(-m, min=0.0), reduction, w,
                  normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


def exponential_loss(
    input: Tensor,
    target: Tensor,
    *,
    max_exponent: float | None = 50.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Exponential loss :math:`e^{-y f}` (AdaBoost), continued logarithmically past ``max_exponent``.

    .. math::
        \ell(u) = \begin{cases} e^{u} & u \le a \\ e^{a}\left(1 + \log(1 + u - a)\right) & u > a
        \end{cases},\qquad u = -y f,\ a = \texttt{max\_exponent}

    Args:
        input: real-valued scores, any shape.
        target: labels in {-1, +1} or {0, 1}.
        max_exponent: :math:`a`, the value of the exponent :math:`u = -y f` past which the loss stops
            growing exponentially.
            Default 50: exact for every margin :math:`y f \ge -50` (a loss of :math:`5 \cdot 10^{21}`),
            finite beyond. ``None`` computes :math:`e^{-y f}` everywhere, which is ``inf`` past
            :math:`y f = -88.7` in float32 (:math:`-709.8` in float64).
        weight, reduction: as in :func:`hinge_loss`.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: as :func:`hinge_loss`, for a ``max_exponent`` outside ``[0, 700]``, and for NaN or
            inf scores (value checks: see :func:`losskit.set_checks`).
        TypeError: as :func:`hinge_loss`.

    Note:
        :math:`e^{-m}` overflows float32 for margins below -88.7, and a sum of a batch overflows well
        before that. Past :math:`u = a` the loss continues as :math:`e^{a}(1 + \log(1 + u - a))`: value and
        slope match at the join, it keeps increasing (slope :math:`e^{a}/(1 + u - a) > 0`), and it stays
        below :math:`e^{a}(1 + \log(3.4 \cdot 10^{38})) < 90\, e^{a}` for every finite float32 input, so
        with the default a float32 sum of :math:`7 \cdot 10^{14}` such terms is still finite. A linear
        continuation cannot promise that (its slope :math:`e^{a}` times a margin of :math:`10^{38}`
        overflows). For float32 keep ``max_exponent`` below 84 (:math:`90\, e^{84}` is float32's largest
        value).

    References:
        Friedman, Hastie, Tibshirani, *Additive Logistic Regression: a Statistical View of Boosting*,
        Ann. Statist. 2000.

    Example:
        >>> import torch
        >>> from losskit.functional import exponential_loss
        >>> f = torch.tensor([-0.4], dtype=torch.float64)
        >>> print(f"{exponential_loss(f, torch.tensor([1])).item():.8f}")
        1.49182470

        A margin of -1e4 in float32 (``exp(1e4)`` is ``inf``) gives :math:`e^{50}(1 + \log 9951)`:

        >>> out = exponential_loss(torch.tensor([-1e4]), torch.tensor([1]))
        >>> print(f"{out.item():.4e}")
        5.2912e+22
    """
    fn = "exponential_loss"
    checks.check_reduction(fn, reduction)
    a = None
    if max_exponent is not None:
        a = checks.check_number(fn, "max_exponent", max_exponent, low=0.0, high=700.0)
    m, w = _margin_setup(fn, input, target, weight)
    # exp(-inf) = 0 would hide an inf score (and its NaN gradient): reject non-finite scores up front
    checks.check_finite(fn, "input", input)
    u = -m
    if a is None:
        loss = torch.exp(u)
    else:
        over = u > a
        # each branch sees only the values it is selected for, so neither passes 0 * inf back
        inner = torch.exp(torch.where(over, torch.full_like(u, a), u))
        excess = torch.where(over, u - a, torch.zeros_like(u))
        loss = torch.where(over, math.exp(a) * (1.0 + torch.log1p(excess)), inner)
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


def zero_one_loss(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""0/1 loss :math:`\mathbb{1}[y f \le 0]`: the error rate. A metric, not trainable.

    It is piecewise constant, so the result carries no gradient (it is computed detached); a score of
    exactly 0 counts as an error.

    Args:
        input: real-valued scores, any shape.
        target: labels in {-1, +1} or {0, 1}.
        weight, reduction: as in :func:`hinge_loss`.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        A float tensor (mean = error rate) that does not require grad.

    Raises:
        ValueError, TypeError: as :func:`hinge_loss`; NaN or inf scores are a ValueError (value checks: see
            :func:`losskit.set_checks`), since the indicator would count them silently.

    Example:
        >>> import torch
        >>> from losskit.functional import zero_one_loss
        >>> zero_one_loss(torch.tensor([-0.4, 2.0, 0.5, -1.0]), torch.tensor([1, 1, 0, 0]))
        tensor(0.5000)
    """
    fn = "zero_one_loss"
    checks.check_reduction(fn, reduction)
    checks.check_float(fn, "input", input)
    # a comparison turns NaN into a count (NaN <= 0 is False): reject non-finite scores explicitly
    checks.check_finite(fn, "input", input)
    m, w = _margin_setup(fn, input.detach(), target, weight)
    loss = (m <= 0).to(m.dtype)
    return finish(fn, loss, reduction, None if w is None else w.detach(),
                  normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


@declare(margin=Number(), variant=OneOf(("crammer_singer", "weston_watkins")))
def multiclass_hinge_loss(
    input: Tensor,
    target: Tensor,
    *,
    variant: str = "crammer_singer",
    margin: float = 1.0,
    squared: bool = False,
    class_weight: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Multi-class hinge loss, Crammer–Singer or Weston–Watkins.

    .. math::
        \text{CS: } \max\!\big(0,\ \Delta + \max_{j \ne y} s_j - s_y\big) \qquad
        \text{WW: } \sum_{j \ne y} \max(0,\ \Delta + s_j - s_y)

    Weston–Watkins is *not* divided by the number of classes; torch's ``multi_margin_loss`` is WW / C.
    scikit-learn's multi-class ``hinge_loss`` is Crammer–Singer.

    Args:
        input: scores ``(N, C)``.
        target: class indices ``(N,)``.
        variant: ``"crammer_singer"`` (default) or ``"weston_watkins"``.
        margin: Δ, default 1.
        squared: square each hinge term.
        class_weight: per-class factor ``(C,)`` applied to each sample's loss by its target class,
            :math:`\ell_n \leftarrow v_{y_n}\ell_n` (torch's ``MultiMarginLoss(weight=...)``): part of the
            loss value, so ``"mean"`` still divides by N (or by the summed per-sample ``weight``), as torch
            does. ``multiclass_hinge_loss(..., variant="weston_watkins", class_weight=v) / C`` is
            ``MultiMarginLoss(weight=v)`` (``squared=True`` for ``p=2``). Default None.
        weight: per-sample weight ``(N,)``.
        reduction: ``"none"`` (``(N,)``), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss.

    Raises:
        ValueError, TypeError: bad shapes, labels out of range, unknown variant, NaN/inf.

    References:
        Crammer & Singer, *On the Algorithmic Implementation of Multiclass Kernel-based Vector Machines*,
        JMLR 2001. Weston & Watkins, *Support Vector Machines for Multi-Class Pattern Recognition*,
        ESANN 1999.

    Example:
        >>> import torch
        >>> from losskit.functional import multiclass_hinge_loss
        >>> s = torch.tensor([[3.2, 5.1, 4.0]])
        >>> multiclass_hinge_loss(s, torch.tensor([0]))
        tensor(2.9000)
        >>> multiclass_hinge_loss(s, torch.tensor([0]), variant="weston_watkins")
        tensor(4.7000)
    """
    fn = "multiclass_hinge_loss"
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "variant", variant, ("crammer_singer", "weston_watkins"))
    mg = checks.check_number(fn, "margin", margin)
    checks.check_flag(fn, "squared", squared)
    checks.check_float(fn, "input", input)
    if input.dim() != 2:
        raise ValueError(f"{fn}: input must have shape (N, C), got {checks.fmt_shape(input.shape)}")
    C = int(input.shape[1])
    target = checks.check_index_target(fn, "target", target)
    checks.check_shape(fn, "target", target, (int(input.shape[0]),), "(one class index per row)")
    checks.check_labels(fn, "target", target, C)
    checks.check_weight(fn, weight, (int(input.shape[0]),))
    checks.check_class_weight(fn, class_weight, C, name="class_weight")
    checks.check_same_device(fn, input=input, target=target, weight=weight, class_weight=class_weight)
    _, (x, w, cw) = prepare(fn, input, weight, class_weight)
    assert x is not None
    s_y = x.gather(1, target.unsqueeze(1))
    is_y = torch.zeros_like(x, dtype=torch.bool).scatter(1, target.unsqueeze(1), True)
    if variant == "crammer_singer":
        other = x.masked_fill(is_y, float("-inf")).amax(1, keepdim=True) if C > 1 else s_y - mg
        loss = torch.clamp(mg + other - s_y, min=0.0).squeeze(1)
        if squared:
            loss = loss.square()
    else:
        terms = torch.clamp(mg + x - s_y, min=0.0)
        if squared:
            terms = terms.square()
        loss = terms.masked_fill(is_y, 0.0).sum(1)
    if cw is not None:
        loss = loss * cw[target]
    return finish(fn, loss, reduction, w, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


# --------------------------------------------------------------------------------------------------
# CTC


def _as_lengths(fn: str, name: str, value: Tensor | Sequence[int], n: int) -> Tensor:
    if isinstance(value, Tensor):
        t = checks.check_index_target(fn, name, value)
    else:
        try:
            t = torch.as_tensor(list(value), dtype=torch.long)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{fn}: {name} must be an integer tensor or a sequence of ints, got {value!r}"
            ) from err
    checks.check_shape(fn, name, t, (n,), "(one length per sample)")
    return t


def ctc_loss(
    input: Tensor,
    target: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    *,
    blank: int = 0,
    input_type: str = "log_probs",
    batch_first: bool = False,
    zero_infinity: bool = False,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Connectionist Temporal Classification loss.

    .. math::
        \ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(l)} \prod_{t=1}^{T} y^{t}_{\pi_t}

    summed over every frame-level path ``π`` that collapses to the label sequence ``l`` (merge repeats,
    then drop blanks). The computation is delegated to ``torch.nn.functional.ctc_loss`` (cuDNN on GPU);
    losskit adds argument validation with clear messages, logits input, and reports infeasible samples.

    Args:
        input: ``(T, N, C)`` (or ``(N, T, C)`` with ``batch_first=True``) log-probabilities (default) or
            logits (``input_type="logits"``, a log-softmax over C is applied).
        target: padded labels ``(N, S)`` or the concatenation of all label sequences ``(Σ L_i,)``.
        input_lengths: ``(N,)`` frames used per sample, each ``<= T``.
        target_lengths: ``(N,)`` label-sequence lengths.
        blank: the blank class index. Default 0.
        input_type: ``"log_probs"`` (default, like torch) or ``"logits"``.
        batch_first: input is ``(N, T, C)``.
        zero_infinity: give infeasible samples loss 0 (and gradient 0) instead of raising.
        reduction: ``"none"`` (``(N,)``), ``"mean"`` (each loss divided by its target length, then
            averaged over the batch: torch's convention) or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss. An empty batch (``N = 0``) gives 0 with a working backward (torch raises).

    Note:
        Log-probabilities below ``log(tiny)`` of the compute dtype (-87.3 in float32, -708.4 in float64:
        the log of the smallest normal number, so the probability itself is not representable below it)
        are raised to it in value, with the gradient passed through unchanged. Ordinary inputs are not
        affected; saturated logits (±1e30) then give a large finite loss (at most ``T · 708`` in float64)
        and a finite gradient, where torch's backward would cancel terms of size 1e30 into NaN.

    Raises:
        ValueError: shapes and lengths that disagree, labels out of range or equal to ``blank``, and
            (when value checks run) samples whose input is too short for their labels
            (``T_i < L_i + repeats_i``) unless ``zero_infinity=True``.
        TypeError: wrong dtypes.

    References:
        Graves, Fernández, Gomez, Schmidhuber, *Connectionist Temporal Classification*, ICML 2006.

    Example:
        >>> import torch
        >>> from losskit.functional import ctc_loss
        >>> y = torch.tensor([[.5, .4, .1], [.6, .3, .1], [.2, .7, .1]], dtype=torch.float64)
        >>> lp = y.log().unsqueeze(1)  # (T=3, N=1, C=3); classes: blank, a, b
        >>> print(f"{ctc_loss(lp, torch.tensor([[1, 2]]), [3], [2], reduction='sum').item():.8f}")
        2.76462055
    """
    fn = "ctc_loss"
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "input_type", input_type, ("log_probs", "logits"))
    checks.check_integer(fn, "blank", blank)
    checks.check_flag(fn, "batch_first", batch_first)
    checks.check_flag(fn, "zero_infinity", zero_infinity)
    checks.check_float(fn, "input", input)
    if input.dim() != 3:
        layout = "(N, T, C)" if batch_first else "(T, N, C)"
        raise ValueError(f"{fn}: input must have shape {layout}, got {checks.fmt_shape(input.shape)}")
    x = input.transpose(0, 1) if batch_first else input
    T, N, C = (int(s) for s in x.shape)
    if not 0 <= blank < C:
        raise ValueError(f"{fn}: blank must be a class index in [0, {C - 1}], got {blank!r}")
    checks.check_int(fn, "target", target)
    if target.dtype != torch.int32:  # int32 stays: it is what torch's cuDNN CTC path takes
        target = checks.check_index_target(fn, "target", target)
    il = _as_lengths(fn, "input_lengths", input_lengths, N)
    tl = _as_lengths(fn, "target_lengths", target_lengths, N)
    if target.dim() == 2:
        if int(target.shape[0]) != N:
            raise ValueError(
                f"{fn}: padded target must have shape (N, S) with N = {N}, got "
                f"{checks.fmt_shape(target.shape)}"
            )
    elif target.dim() != 1:
        raise ValueError(
            f"{fn}: target must be padded (N, S) or concatenated (sum of lengths,), got "
            f"{checks.fmt_shape(target.shape)}"
        )
    if checks.values_checked(il, tl, target):
        _check_ctc_values(fn, target, il, tl, T, C, blank, zero_infinity)
    _, (xf,) = prepare(fn, x)
    assert xf is not None
    logp = torch.log_softmax(xf, dim=-1) if input_type == "logits" else xf
    if input_type == "log_probs":
        checks.check_log_probabilities(fn, "input", logp)
    if x.numel() == 0:
        # an empty batch (N = 0) or no frames (T = 0), where torch raises: a sample with no frames and
        # no labels has probability 1 (loss 0), one with labels is infeasible (inf, or 0 if zeroed)
        tl_d = tl.to(xf.device)
        infeasible = torch.full_like(tl_d, 0 if zero_infinity else 1, dtype=xf.dtype) * float("inf")
        per = torch.where(tl_d > 0, infeasible, torch.zeros_like(infeasible)) + logp.sum() * 0.0
    else:
        # log-probabilities are floored at log(tiny), the log of the dtype's smallest normal number, in
        # value only: torch's backward cancels terms of the size of the loss, which for logits of 1e30
        # gives inf - inf = NaN; below the floor a probability is not representable anyway
        floor = math.log(torch.finfo(logp.dtype).tiny)
        logp = logp.clamp_min(floor).detach() + (logp - logp.detach())
        per = F.ctc_loss(
            logp, target, il.to(x.device), tl.to(x.device), blank=blank, reduction="none",
            zero_infinity=zero_infinity,
        )
    if reduction == "mean":
        per = per / tl.to(per.device).clamp(min=1).to(per.dtype)
    return finish(fn, per, reduction, normalizer=normalizer, process_group=process_group,
                  inputs={"input": input})


def _check_ctc_values(
    fn: str, target: Tensor, il: Tensor, tl: Tensor, T: int, C: int, blank: int, zero_infinity: bool
) -> None:
    if il.numel() and (int(il.min()) < 0 or int(il.max()) > T):
        lo, hi = int(il.min()), int(il.max())
        raise ValueError(f"{fn}: input_lengths must lie in [0, T={T}], got [{lo}, {hi}]")
    if tl.numel() and int(tl.min()) < 0:
        raise ValueError(f"{fn}: target_lengths must be >= 0, got {int(tl.min())}")
    lengths = tl.tolist()
    if target.dim() == 2:
        S = int(target.shape[1])
        if lengths and max(lengths) > S:
            raise ValueError(
                f"{fn}: target_lengths reach {max(lengths)} but the padded target has only S = {S} columns"
            )
        seqs = [target[i, : lengths[i]] for i in range(len(lengths))]
    else:
        if int(target.numel()) != sum(lengths):
            raise ValueError(
                f"{fn}: concatenated target must have sum(target_lengths) = {sum(lengths)} labels, got "
                f"{int(target.numel())}"
            )
        seqs = list(torch.split(target, lengths)) if lengths else []
    infeasible = []
    for i, s in enumerate(seqs):
        if s.numel() == 0:
            continue
        lo, hi = int(s.min()), int(s.max())
        if lo < 0 or hi >= C:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{fn}: target of sample {i} holds label {bad}, expected labels in [0, {C - 1}]")
        if bool((s == blank).any()):
            raise ValueError(f"{fn}: target of sample {i} contains the blank label {blank}; labels must not")
        repeats = int((s[1:] == s[:-1]).sum()) if s.numel() > 1 else 0
        if int(il[i]) < s.numel() + repeats:
            infeasible.append((i, int(il[i]), s.numel() + repeats))
    if infeasible and not zero_infinity:
        desc = ", ".join(f"sample {i}: {t} frames < {need} needed" for i, t, need in infeasible[:5])
        raise ValueError(
            f"{fn}: input too short for its labels (each label needs a frame, repeated labels need a blank "
            f"between them): {desc}; pass zero_infinity=True to give such samples loss 0"
        )



# --------------------------------------------------------------------------------------------------
# torch.nn's multi-label soft margin loss (issue 13)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    *,
    class_weight: Tensor | None = None,
    weight: Tensor | None = None,
    input_type: str = "logits",
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Multi-label soft margin loss (torch's ``MultiLabelSoftMarginLoss``): the class-mean of the binary CE.

    .. math::
        \ell_n = -\frac{1}{C}\sum_{c=1}^{C} v_c\,\big[y_{nc}\log\sigma(x_{nc})
            + (1 - y_{nc})\log\sigma(-x_{nc})\big]

    One value per sample: :func:`binary_cross_entropy` of each class, scaled by the per-class
    ``class_weight`` :math:`v_c`, averaged over the :math:`C` classes (dividing by :math:`C`, not by
    :math:`\sum v`, as torch does).

    Args:
        input: logits ``(N, C)`` (or probabilities / log-probabilities, see ``input_type``).
        target: ``(N, C)`` multi-hot labels (bool, integer 0 / 1, or float in [0, 1] for soft labels).
        class_weight: per-class factor ``(C,)`` (torch's ``weight=``), default None (all 1).
        weight: per-sample weight ``(N,)``; ``"mean"`` divides by its sum.
        input_type: ``"logits"`` (default), ``"probs"`` or ``"log_probs"``.
        reduction: ``"none"`` (``(N,)``), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; one value per sample for ``reduction="none"``. Same values as
        ``torch.nn.functional.multilabel_soft_margin_loss`` for every reduction.

    Raises:
        ValueError: an input that is not 2-D, a target of another shape, labels outside [0, 1], a bad
            class weight, NaN/inf inputs.
        TypeError: non-tensor or integer input.

    References:
        PyTorch ``torch.nn.MultiLabelSoftMarginLoss`` (the definition: a one-vs-all logistic loss per class).

    Example:
        Logits 0 (p = 1/2) for both classes cost ln 2 each, whatever the labels:

        >>> import torch
        >>> from losskit.functional import multilabel_soft_margin_loss
        >>> x = torch.zeros(1, 2, dtype=torch.float64)
        >>> print(f"{multilabel_soft_margin_loss(x, torch.tensor([[1, 0]])).item():.9f}")
        0.693147181
    """
    fn = "multilabel_soft_margin_loss"
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    checks.check_float(fn, "input", input)
    if input.dim() != 2:
        raise ValueError(f"{fn}: input must have shape (N, C), got {checks.fmt_shape(input.shape)}")
    n, c = int(input.shape[0]), int(input.shape[1])
    checks.check_class_weight(fn, class_weight, c, name="class_weight")
    checks.check_weight(fn, weight, (n,))
    checks.check_same_device(fn, class_weight=class_weight, weight=weight, input=input)
    x, y, _ = _binary_setup(fn, input, target, None)
    _, (w, cw) = prepare(fn, weight, class_weight)
    logp, log1mp = binary_log_probs(fn, x, input_type)
    terms = _bce_terms(logp, log1mp, y)
    if cw is not None:
        terms = terms * cw.to(terms.dtype)
    loss = terms.sum(1) / max(c, 1)
    return finish(fn, loss, reduction, w,
                  normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})


__all__ += ["multilabel_soft_margin_loss"]


# --------------------------------------------------------------------------------------------------
# options of the binary losses that users bring from torch / kornia / smp (issue 13)


def _binary_extras(
    fn: str,
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Fold ``ignore_index`` / ``mask`` into the weight (0 = left out) and smooth the target.

    Runs before the usual validation, so an ignored value (e.g. -100) never reaches the [0, 1] check, and
    the loss itself (fused kernel or not) sees an ordinary target and weight.
    """
    ls = checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    checks.check_ignore_index(fn, ignore_index, optional=True)
    if ignore_index is None and mask is None and ls == 0.0:
        return target, weight
    checks.check_float(fn, "input", input)
    checks.check_tensor(fn, "target", target)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape)")
    checks.check_weight(fn, weight, tuple(input.shape))
    check_mask(fn, mask, tuple(input.shape))
    keep = mask
    if ignore_index is not None:
        ok = target != ignore_index
        target = torch.where(ok, target, torch.zeros_like(target))
        keep = ok if keep is None else keep & ok
    if ls != 0.0:
        if not target.is_floating_point():
            half = input.dtype in (torch.float16, torch.bfloat16)
            target = target.to(torch.float32 if half else input.dtype)
        target = target * (1.0 - ls) + 0.5 * ls
    if keep is not None:
        k = keep.to(torch.float32 if input.dtype in (torch.float16, torch.bfloat16) else input.dtype)
        weight = k if weight is None else weight * k
    return target, weight


def _pos_weight(fn: str, pos_weight: Tensor | None, x: Tensor) -> Tensor | None:
    if pos_weight is None:
        return None
    checks.check_weight(fn, pos_weight, tuple(x.shape), name="pos_weight")
    checks.check_same_device(fn, input=x, pos_weight=pos_weight)
    return pos_weight.to(x.dtype)


# --------------------------------------------------------------------------------------------------
# online hard example mining for dense cross-entropy (issue 13)


@declare(threshold=Number(low=0.0, high=1.0, low_open=True), min_kept=Integer(low=0),
         input_type=OneOf(INPUT_TYPES))
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
        input_type: ``"logits"`` (default), ``"probs"`` or ``"log_probs"``.
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
        dist_.check_consistent(fn, group, x.device, classes=c, top_k_mode=int(k is not None),
                               min_kept=min_kept if k is None else 0, option_x1e9=round(option * 1e9))
    with torch.no_grad():
        if k is not None:
            chosen = _topk_selection(loss.detach().reshape(-1), k, group)
        else:
            p = torch.exp(logp.detach()).reshape(-1)
            chosen = _ohem_selection(p, valid.reshape(-1), th, min_kept, group)
    chosen = chosen.reshape(loss.shape)
    picked = torch.where(chosen, loss, torch.zeros_like(loss))
    return finish(fn, picked, reduction, denominator=chosen.to(loss.dtype), normalizer=normalizer,
                  process_group=group, inputs={"input": input})


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


__all__ += ["ohem_cross_entropy"]
