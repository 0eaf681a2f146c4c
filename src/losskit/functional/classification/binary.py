r"""Binary / multi-label (elementwise) losses: BCE, balanced CE, the focal family, multi-label soft margin.

Conventions as in :mod:`losskit.functional.classification` (SPEC §0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import checks, fastpath
from losskit._core.logspace import logaddexp
from losskit._core.options import NONNEGATIVE, Number, OneOf, declare
from losskit.functional._common import (
    INPUT_TYPES,
    binary_log_probs,
    check_input_type,
    check_mask,
    finish,
    prepare,
)
from losskit.kernels.focal import SigmoidFocal, SigmoidFocalSum, flat_view

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


__all__ = [
    "balanced_cross_entropy",
    "binary_cross_entropy",
    "distribution_focal_loss",
    "multilabel_soft_margin_loss",
    "quality_focal_loss",
    "sigmoid_focal_loss",
    "varifocal_loss",
]


# --------------------------------------------------------------------------------------------------
# binary / multi-label (elementwise) losses


# the multi-class loss a user most likely meant when handing class indices to a binary one
_MULTICLASS_PEER = {"sigmoid_focal_loss": "softmax_focal_loss"}


def _reject_class_indices(fn: str, input: Tensor, target: Tensor) -> None:
    """A binary / multi-label loss given ``(N, C, ...)`` logits and ``(N, ...)`` integer class indices.

    That is the multi-class calling convention; rather than a bare shape error (or a silent guess), name
    the multi-class loss and the one-hot alternative.
    """
    if (
        input.dim() >= 2
        and input.shape[1] > 1
        and target.dtype != torch.bool
        and tuple(target.shape) == (tuple(input.shape[:1]) + tuple(input.shape[2:]))
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
    fn: str,
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    *,
    soft_ok: bool = True,
    check_range: bool = True,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Validate and upcast; ``check_range=False``: the caller checks the target's [0, 1] range itself."""
    checks.check_float(fn, "input", input)
    checks.check_tensor(fn, "target", target)
    if not target.is_floating_point() and not target.is_complex():
        _reject_class_indices(fn, input, target)
        half = input.dtype in (torch.float16, torch.bfloat16)
        target = target.to(torch.float32 if half else input.dtype)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape)")
    if soft_ok and check_range:
        checks.check_probabilities(fn, "target", target)
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    return x, y, w


def _sigmoid_focal_traced(x: Tensor, y: Tensor, alpha: float | None, gamma: float) -> Tensor:
    """Sigmoid focal of logits for ``torch.compile``: σ(x), σ(-x) and BCE from one ``e = exp(-|x|)``.

    Inductor fuses it, and autograd's derivative of it, into one loop each way; the log-space plain
    formula costs several transcendental functions per element instead. The branch on the sign of ``x``
    is taken by ``torch.where`` on both the exponent and the ReLU, so the derivative at ``x = 0`` is that
    of one smooth branch. For γ ≥ 1 (or 0) every factor's derivative is bounded.
    """
    pos = x >= 0
    e = torch.exp(torch.where(pos, -x, x))
    s = 1.0 / (1.0 + e)
    p, q = torch.where(pos, s, e * s), torch.where(pos, e * s, s)  # σ(x), σ(-x), neither from 1 - the other
    loss = torch.where(pos, x, torch.zeros_like(x)) - x * y + torch.log1p(e)  # BCE with logits
    if gamma != 0.0:
        u = torch.lerp(p, q, y)  # 1 - p_t
        loss = loss * (u * u if gamma == 2.0 else u.pow(gamma))
    if alpha is not None:
        loss = loss * ((1.0 - alpha) + (2.0 * alpha - 1.0) * y)
    return loss


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
        input_type: {input_type}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

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
    target, weight = _binary_extras(
        fn, input, target, weight, label_smoothing=label_smoothing, ignore_index=ignore_index, mask=mask
    )
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
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


@declare(
    alpha=Number(low=0.0, high=1.0, optional=True),
    gamma=NONNEGATIVE,
    label_smoothing=Number(low=0.0, high=1.0),
    input_type=OneOf(INPUT_TYPES),
)
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
        normalizer: {normalizer}
        process_group: {process_group}

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
    target, weight = _binary_extras(
        fn, input, target, weight, label_smoothing=label_smoothing, ignore_index=ignore_index, mask=mask
    )
    fused = input_type == "logits" and pos_weight is None and fastpath.applies()
    fused = fused and isinstance(target, Tensor) and not target.requires_grad
    # mean / sum with no weight or one of the input's layout: the kernel reduces as it goes and checks the
    # target's range on each chunk while it is in cache (no separate pass over the target)
    summed = fused and reduction != "none" and _flat_weight_ok(weight, input)
    x, y, w = _binary_setup(fn, input, target, weight, check_range=not summed)
    if summed:
        wf = None if w is None else flat_view(w, x.shape)
        total, ext = SigmoidFocalSum.apply(x, y, wf, a, g, checks.values_checked(y))
        if ext.numel():
            lo, hi = ext.tolist()
            if not (lo >= 0.0 and hi <= 1.0):  # also False for a NaN
                checks.check_probabilities(fn, "target", y)
        n = x.numel()
        if w is None:
            den = total.new_tensor(float(n))
        elif w.numel() == 1:
            den = w.detach().reshape(()).to(total.dtype) * n
        else:
            den = w
        return finish(
            fn,
            total,
            reduction,
            denominator=den,
            normalizer=normalizer,
            process_group=process_group,
            inputs={"input": input, "target": target},
        )
    pw = _pos_weight(fn, pos_weight, x)
    closed = input_type == "logits" and not y.requires_grad and pw is None
    if fused or (closed and fastpath.compiling() and (g == 0.0 or g >= 1.0)):
        # eager: fused kernel, the loss written chunk by chunk, closed-form backward, saves only (x, y);
        # compiled: a closed form inductor fuses (γ < 1 keeps the plain formula: u^(γ-1) at u = 0)
        loss = SigmoidFocal.apply(x, y, a, g) if fused else _sigmoid_focal_traced(x, y, a, g)
        return finish(
            fn,
            loss,
            reduction,
            w,
            normalizer=normalizer,
            process_group=process_group,
            inputs={"input": input, "target": target},
        )
    logp, log1mp = binary_log_probs(fn, x, input_type)
    loss = _bce_terms(logp, log1mp, y) if pw is None else -(pw * y * logp + (1.0 - y) * log1mp)
    if g != 0.0:
        loss = loss * torch.exp(g * _log_one_minus_pt(logp, log1mp, y))
    if a is not None:
        loss = (a * y + (1.0 - a) * (1.0 - y)) * loss
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
        lo, hi = (float(v) for v in torch.aminmax(target))  # one pass for both ends
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
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
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
        weight: {weight_per_sample}
        input_type: {input_type}
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


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


def _flat_weight_ok(weight: Any, input: Any) -> bool:
    """Whether the fused reduction takes ``weight`` as it is: None, one value, or input-shaped contiguous."""
    if weight is None:
        return True
    if not isinstance(weight, Tensor) or not isinstance(input, Tensor) or weight.requires_grad:
        return False
    if weight.numel() == 1:
        return weight.dim() <= input.dim()
    return tuple(weight.shape) == tuple(input.shape) and weight.is_contiguous()


def _pos_weight(fn: str, pos_weight: Tensor | None, x: Tensor) -> Tensor | None:
    if pos_weight is None:
        return None
    checks.check_weight(fn, pos_weight, tuple(x.shape), name="pos_weight")
    checks.check_same_device(fn, input=x, pos_weight=pos_weight)
    return pos_weight.to(x.dtype)
