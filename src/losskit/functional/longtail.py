r"""Multi-label and long-tail classification: ASL, Poly-1, balanced softmax, logit adjustment, LDAM, Seesaw.

Two groups. **Multi-label**: :func:`asymmetric_loss` (ASL) is an elementwise sigmoid loss over independent
labels, with the input's shape for the target, like :func:`losskit.binary_cross_entropy`. **Multi-class**:
the other five are cross-entropy on a softmax whose logits are adjusted for the class frequencies (balanced
softmax, logit adjustment), given a margin (LDAM), re-weighted per class pair (Seesaw), or given a
polynomial correction (Poly-1).

Shared conventions (SPEC §0, as :func:`losskit.cross_entropy`): the class dimension is ``dim=1``;
class-index targets (any integer dtype, the input's shape without ``dim``) and, where the loss allows it,
probability targets (float, the input's shape); a per-class ``weight`` ``(C,)`` whose ``"mean"`` divides by
the summed weight of the samples' classes; ``ignore_index`` (default ``-100``) skips a sample; an empty or
fully ignored batch gives 0 with a working backward; float16/bfloat16 are computed and returned in
float32. Class counts and priors are ``(C,)`` tensors (integer or floating).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import checks
from losskit._core.logspace import logaddexp
from losskit._core.options import NONNEGATIVE, Number, OneOf, declare
from losskit.functional._common import (
    INPUT_TYPES,
    binary_log_probs,
    check_class_input,
    check_input_type,
    check_multiclass_target,
    class_log1m_probs,
    class_log_probs,
    class_view,
    finish,
    prepare,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "asymmetric_loss",
    "balanced_softmax_loss",
    "ldam_loss",
    "logit_adjusted_cross_entropy",
    "poly_loss",
    "seesaw_loss",
]


# --------------------------------------------------------------------------------------------------
# shared helpers


def _class_stat(fn: str, name: str, x: Any, num_classes: int, *, positive: bool) -> Tensor:
    """Validate a ``(C,)`` tensor of class counts or priors (integer or floating; values > 0 or >= 0)."""
    checks.check_tensor(fn, name, x)
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{fn}: {name} must be a real (integer or floating) tensor, got dtype {x.dtype}")
    checks.check_shape(fn, name, x, (num_classes,), "(one value per class)")
    if x.numel() and checks.values_checked(x):
        xd = x.detach()
        if xd.is_floating_point():
            checks.check_finite(fn, name, xd)
        lo = float(xd.min())
        if lo < 0 or (positive and lo <= 0):
            need = "> 0" if positive else ">= 0"
            raise ValueError(f"{fn}: {name} must be {need} for every class, got a minimum of {lo:.4g}")
    return x


def _multiclass_setup(
    fn: str,
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    dim: int,
    *,
    index_only: bool,
    extra: dict[str, Tensor | None] | None = None,
) -> tuple[int, int, bool, Tensor, Tensor, Tensor | None]:
    """Validate a multi-class call; return ``(dim, C, is_index, target, input, weight)`` upcast."""
    d, C = check_class_input(fn, input, dim)
    checks.check_ignore_index(fn, ignore_index)
    checks.check_class_weight(fn, weight, C)
    checks.check_tensor(fn, "target", target)
    if index_only and (target.is_floating_point() or target.is_complex()):
        raise TypeError(
            f"{fn}: target must be an integer tensor of class indices (the loss needs each sample's class), "
            f"got dtype {target.dtype}"
        )
    is_index, target = check_multiclass_target(fn, input, target, d, C, ignore_index)
    checks.check_same_device(fn, input=input, target=target, weight=weight, **(extra or {}))
    _, (x, tgt, w) = prepare(fn, input, target, weight)
    assert x is not None and tgt is not None
    return d, C, is_index, tgt, x, w


def _ce(
    z: Tensor,
    tgt: Tensor,
    is_index: bool,
    w: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    d: int,
) -> tuple[Tensor, Tensor]:
    """Per-sample cross-entropy of (adjusted) logits ``z`` and the mean's denominator, as cross_entropy.

    Index targets: ``-Σ_k w_k q'_k log softmax(z)_k`` with ``q'`` the smoothed one-hot, 0 where ignored;
    the denominator is ``w_y`` (0 where ignored). Probability targets: the same sum with ``q' = (1-ε) q +
    ε/C`` and the denominator ``Σ_k w_k q_k``.
    """
    if is_index:
        valid = tgt != ignore_index
        safe = torch.where(valid, tgt, torch.zeros_like(tgt))
        zz = z if d == 1 else z.movedim(d, 1)
        loss = F.cross_entropy(
            zz, tgt, weight=w, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction="none"
        )
        norm = valid.to(loss.dtype) if w is None else w[safe] * valid.to(loss.dtype)
        return loss, norm
    C = z.shape[d]
    logp = torch.log_softmax(z, dim=d)
    q = tgt
    qs = q if label_smoothing == 0.0 else (1.0 - label_smoothing) * q + label_smoothing / C
    term = qs * logp
    if w is not None:
        term = term * class_view(w, z.dim(), d)
    loss = -term.sum(d)
    norm = q.sum(d) if w is None else (q * class_view(w, z.dim(), d)).sum(d)
    return loss, norm


def _finish_multiclass(
    fn: str,
    loss: Tensor,
    norm: Tensor,
    reduction: str,
    normalizer: Any,
    process_group: Any,
    classes: int,
    input: Tensor,
    target: Tensor,
    **more: Tensor | None,
) -> Tensor:
    """Reduce per-sample losses over the samples' class weights (across ranks: C must agree)."""
    return finish(
        fn,
        loss,
        reduction,
        denominator=norm,
        normalizer=normalizer,
        process_group=process_group,
        facts={"classes": classes},
        inputs={"input": input, "target": target, **more},
    )


# --------------------------------------------------------------------------------------------------
# asymmetric loss (multi-label)


@declare(
    gamma_pos=NONNEGATIVE,
    gamma_neg=NONNEGATIVE,
    clip=Number(low=0.0, high=1.0, high_open=True),
    label_smoothing=Number(low=0.0, high=1.0),
    input_type=OneOf(INPUT_TYPES),
)
def asymmetric_loss(
    input: Tensor,
    target: Tensor,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    detach_focal_weight: bool = False,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    input_type: str = "logits",
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Asymmetric loss (ASL) for multi-label classification: focusing and a probability margin on negatives.

    .. math::
        \ell = -\,y\,(1 - p)^{\gamma_+} \log p \;-\; (1 - y)\, p_m^{\gamma_-} \log(1 - p_m),
        \qquad p = \sigma(x), \quad p_m = \max(p - m, 0)

    Each label is an independent binary problem. Positives get a focal weight with :math:`\gamma_+`;
    negatives a stronger one (:math:`\gamma_- > \gamma_+`) and the *probability margin* (asymmetric clip)
    :math:`m`: a negative whose probability is below :math:`m` costs nothing, which discards the many
    easy negatives of a multi-label image and also rejects mislabelled negatives with a very high
    probability less harshly. :math:`\gamma_+ = \gamma_- = m = 0` is the binary cross-entropy.

    Args:
        input: logits of any shape, typically ``(N, C)`` (or probabilities / log-probabilities, see
            ``input_type``).
        target: multi-hot labels with the input's shape: float in [0, 1] (soft labels), integer 0 / 1.
        gamma_pos: :math:`\gamma_+ \ge 0`. Default 0 (the paper's setting; timm's default is 1).
        gamma_neg: :math:`\gamma_- \ge 0`. Default 4 (the paper's setting).
        clip: the probability margin :math:`m \in [0, 1)`. Default 0.05 (the paper's). 0 switches it off.
        detach_focal_weight: treat the focal weights :math:`(1-p)^{\gamma_+}`, :math:`p_m^{\gamma_-}` as
            constants in the backward pass (the reference code's ``disable_torch_grad_focal_loss``).
            Default False.
        label_smoothing: moves every label towards 1/2: :math:`y (1 - \varepsilon) + \varepsilon / 2`.
        ignore_index: a target value to leave out (weight 0), e.g. -1 for "not annotated". Default None.
        input_type: ``"logits"`` (default, handled in log space), ``"probs"`` or ``"log_probs"``.
        weight: elementwise weight broadcastable into the input's shape (e.g. per class ``(C,)``);
            ``"mean"`` divides by its sum.
        reduction: ``"none"`` (elementwise), ``"mean"`` (over every element) or ``"sum"`` (the paper's and
            the reference code's reduction). timm's ``"batchmean"`` is ``"sum"`` divided by N:
            ``normalizer=N``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a target of another shape (class indices included), labels outside [0, 1], a
            gamma < 0, a clip outside [0, 1), a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor arguments or an integer input.

    Note:
        Soft targets weigh the two terms by :math:`y` and :math:`1-y` (the expected ASL of a Bernoulli(y)
        label). timm instead blends the exponents (:math:`\gamma = \gamma_+ y + \gamma_-(1-y)`) inside one
        focal weight; the two agree for 0 / 1 labels. ``log(1 - p_m)`` is computed as
        :math:`\min(\operatorname{logaddexp}(\log\sigma(-x), \log m), 0)`, so no probability is clamped
        and large logits stay finite (the reference code clamps at 1e-8).

    References:
        Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter and Zelnik-Manor, *Asymmetric Loss For
        Multi-Label Classification*, ICCV 2021 (arXiv 2009.14119).

    Example:
        A negative label with logit 0 (p = 1/2, p_m = 0.45) and a positive one with logit 2:

        >>> import torch, math
        >>> from losskit.functional import asymmetric_loss
        >>> x = torch.tensor([[0.0, 2.0]], dtype=torch.float64)
        >>> y = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
        >>> out = asymmetric_loss(x, y, reduction="none")
        >>> print(f"{out[0, 0].item():.9f} {-0.45**4 * math.log(0.55):.9f}")
        0.024515054 0.024515054
        >>> print(f"{out[0, 1].item():.9f}")  # gamma_pos = 0: the BCE of a positive, softplus(-2)
        0.126928011
    """
    fn = "asymmetric_loss"
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    gp = checks.check_number(fn, "gamma_pos", gamma_pos, low=0.0)
    gn = checks.check_number(fn, "gamma_neg", gamma_neg, low=0.0)
    m = checks.check_number(fn, "clip", clip, low=0.0, high=1.0, high_open=True)
    ls = checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    checks.check_flag(fn, "detach_focal_weight", detach_focal_weight)
    checks.check_ignore_index(fn, ignore_index, optional=True)
    checks.check_float(fn, "input", input)
    checks.check_tensor(fn, "target", target)
    if target.dtype == torch.bool or target.is_complex():
        raise TypeError(
            f"{fn}: target must be a float or integer tensor of 0/1 labels, got dtype {target.dtype}"
        )
    if tuple(target.shape) != tuple(input.shape):
        hint = ""
        if input.dim() >= 2 and tuple(target.shape) == tuple(input.shape[:1]) + tuple(input.shape[2:]):
            hint = (
                "; ASL is multi-label: pass multi-hot targets "
                f"(torch.nn.functional.one_hot(target, {input.shape[1]}).float())"
            )
        raise ValueError(
            f"{fn}: target must have the input's shape {checks.fmt_shape(input.shape)}, got "
            f"{checks.fmt_shape(target.shape)}{hint}"
        )
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    keep: Tensor | None = None
    if ignore_index is not None:
        keep = target != ignore_index
        target = torch.where(keep, target, torch.zeros_like(target))
    if not target.is_floating_point():
        target = target.to(torch.float32 if input.dtype in (torch.float16, torch.bfloat16) else input.dtype)
    checks.check_probabilities(fn, "target", target)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    if keep is not None:
        k = keep.to(x.dtype)
        w = k if w is None else w * k
    if ls:
        y = y * (1.0 - ls) + 0.5 * ls

    logp, log1mp = binary_log_probs(fn, x, input_type)
    # positives: (1 - p)^γ+ · (-log p)
    w_pos = torch.exp(gp * log1mp) if gp else torch.ones_like(logp)
    # negatives: p_m^γ- · (-log(1 - p_m)); 1 - p_m = min(1 - p + m, 1)
    if m > 0.0:
        log1m_pm = torch.clamp(logaddexp(log1mp, torch.full_like(log1mp, math.log(m))), max=0.0)
        pm = (torch.exp(logp) - m).clamp_min(0.0)
        if gn:
            on = pm > 0
            w_neg = torch.where(on, torch.where(on, pm, torch.ones_like(pm)) ** gn, torch.zeros_like(pm))
        else:
            w_neg = torch.ones_like(pm)
    else:
        log1m_pm = log1mp
        w_neg = torch.exp(gn * logp) if gn else torch.ones_like(logp)
    if detach_focal_weight:
        w_pos, w_neg = w_pos.detach(), w_neg.detach()
    values = -(y * w_pos * logp + (1.0 - y) * w_neg * log1m_pm)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# Poly-1


@declare(
    epsilon=Number(low=-1.0),
    gamma=NONNEGATIVE,
    label_smoothing=Number(low=0.0, high=1.0),
    input_type=OneOf(INPUT_TYPES),
)
def poly_loss(
    input: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    gamma: float = 0.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    input_type: str = "logits",
    dim: int = 1,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Poly-1 loss: cross-entropy (or softmax focal loss) plus ε times the first polynomial term.

    .. math::
        \ell = -\log p_t + \varepsilon\,(1 - p_t) \quad (\gamma = 0), \qquad
        \ell = -(1 - p_t)^{\gamma} \log p_t + \varepsilon\,(1 - p_t)^{\gamma + 1} \quad (\gamma > 0)

    Leng et al. expand CE as :math:`\sum_{j \ge 1} (1-p_t)^j / j` and find that raising the weight of the
    leading term by ε is the one change that matters; ε > 0 pushes harder on examples that are already
    fairly confident. ε = 0 is :func:`losskit.cross_entropy` (γ = 0) or :func:`losskit.softmax_focal_loss`.

    For smoothed or probability targets :math:`q'`, the first term is :func:`losskit.softmax_focal_loss`
    of :math:`q'` and :math:`1 - p_t = \sum_k q'_k (1 - p_k)` (the paper's ``1 - Σ q' · softmax(z)`` for a
    target that sums to 1); a class weight multiplies the polynomial term by :math:`\sum_k w_k q'_k`
    (:math:`w_y` for a class index).

    Args:
        input: logits ``(N, C, *)`` (or probabilities / log-probabilities, see ``input_type``).
        target: class indices ``(N, *)`` (any integer dtype) or probabilities ``(N, C, *)``.
        epsilon: ε >= -1 (the loss stays >= 0 and decreasing in :math:`p_t`). Default 1 (the paper's
            ImageNet setting; it tunes ε per task, negative values for detection).
        gamma: focal exponent γ >= 0; 0 (default) is Poly-1 cross-entropy, γ > 0 Poly-1 focal loss.
        weight, ignore_index, label_smoothing, input_type, dim, reduction: as :func:`losskit.cross_entropy`.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError: as :func:`losskit.cross_entropy`; also for ε < -1 or γ < 0.
        TypeError: on non-tensor arguments or wrong dtypes.

    References:
        Leng, Tan, Liu, Cubuk, Shi, Cheng, Anguelov and Tan, *PolyLoss: A Polynomial Expansion Perspective
        of Classification Loss Functions*, ICLR 2022 (arXiv 2204.12511).

    Example:
        >>> import torch, math
        >>> from losskit.functional import poly_loss
        >>> z = torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64)
        >>> p = torch.softmax(z, 1)[0, 0].item()
        >>> print(f"{poly_loss(z, torch.tensor([0])).item():.9f} {-math.log(p) + (1 - p):.9f}")
        0.758028877 0.758028877
    """
    fn = "poly_loss"
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    eps_ = checks.check_number(fn, "epsilon", epsilon, low=-1.0)
    g = checks.check_number(fn, "gamma", gamma, low=0.0)
    ls = checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    d, C, is_index, tgt, x, w = _multiclass_setup(
        fn, input, target, weight, ignore_index, dim, index_only=False
    )
    logp = class_log_probs(fn, x, input_type, d)
    if is_index:
        valid = tgt != ignore_index
        safe = torch.where(valid, tgt, torch.zeros_like(tgt))
        onehot = F.one_hot(safe, C).movedim(-1, d).to(logp.dtype) * valid.unsqueeze(d).to(logp.dtype)
        q = onehot
        norm = valid.to(logp.dtype) if w is None else w[safe] * valid.to(logp.dtype)
        qs = q if ls == 0.0 else (1.0 - ls) * q + (ls / C) * valid.unsqueeze(d).to(logp.dtype)
    else:
        q = tgt
        norm = q.sum(d) if w is None else (q * class_view(w, x.dim(), d)).sum(d)
        qs = q if ls == 0.0 else (1.0 - ls) * q + ls / C
    qw = qs if w is None else qs * class_view(w, x.dim(), d)
    log1mp = class_log1m_probs(fn, x, logp, input_type, d)
    focal = logp if g == 0.0 else logp * torch.exp(g * log1mp)
    first = -(qw * focal).sum(d)
    one_minus_pt = (qs * torch.exp(log1mp)).sum(d)
    poly = qw.sum(d) * (one_minus_pt if g == 0.0 else one_minus_pt ** (g + 1.0))
    loss = first + eps_ * poly
    return _finish_multiclass(fn, loss, norm, reduction, normalizer, process_group, C, input, target)


# --------------------------------------------------------------------------------------------------
# logit adjustment: balanced softmax and logit-adjusted cross-entropy


@declare(label_smoothing=Number(low=0.0, high=1.0))
def balanced_softmax_loss(
    input: Tensor,
    target: Tensor,
    *,
    class_counts: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    dim: int = 1,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Balanced softmax cross-entropy: the softmax of the training (long-tailed) label distribution.

    .. math::
        \ell(z, y) = -\log \frac{n_y\, e^{z_y}}{\sum_j n_j\, e^{z_j}}
        = \mathrm{CE}(z + \log n,\; y)

    The model's logits :math:`z` are trained as the logits of a *balanced* classifier: the class counts
    :math:`n_j` of the training set are multiplied in only inside the loss, where they account for the
    label shift between the long-tailed training set and a balanced test set. At test time use :math:`z`
    unchanged. Uniform counts give :func:`losskit.cross_entropy`; it equals
    :func:`logit_adjusted_cross_entropy` with ``tau=1`` and the counts as priors.

    Args:
        input: logits ``(N, C, *)``.
        target: class indices ``(N, *)`` (any integer dtype) or probabilities ``(N, C, *)``.
        class_counts: ``(C,)`` training-set count of each class (integer or float, every count > 0; only
            ratios matter).
        weight, ignore_index, label_smoothing, dim, reduction: as :func:`losskit.cross_entropy`.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError: as :func:`losskit.cross_entropy`; also for counts of the wrong shape, or a count <= 0
            or NaN/inf (value checks).
        TypeError: on non-tensor arguments or wrong dtypes.

    References:
        Ren, Yu, Sheng, Ma, Zhao, Yi and Li, *Balanced Meta-Softmax for Long-Tailed Visual Recognition*,
        NeurIPS 2020 (arXiv 2007.10740).

    Example:
        >>> import torch
        >>> from losskit.functional import balanced_softmax_loss, cross_entropy
        >>> z = torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64)
        >>> n = torch.tensor([100, 10, 1])
        >>> print(f"{balanced_softmax_loss(z, torch.tensor([2]), class_counts=n).item():.9f}")
        6.542739180
        >>> bool(torch.isclose(balanced_softmax_loss(z, torch.tensor([2]), class_counts=torch.ones(3)),
        ...                    cross_entropy(z, torch.tensor([2]))))
        True
    """
    fn = "balanced_softmax_loss"
    checks.check_reduction(fn, reduction)
    ls = checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    d, C = check_class_input(fn, input, dim)
    _class_stat(fn, "class_counts", class_counts, C, positive=True)
    d, C, is_index, tgt, x, w = _multiclass_setup(
        fn, input, target, weight, ignore_index, dim, index_only=False, extra={"class_counts": class_counts}
    )
    log_n = torch.log(class_counts.to(x.dtype))
    loss, norm = _ce(x + class_view(log_n, x.dim(), d), tgt, is_index, w, ignore_index, ls, d)
    return _finish_multiclass(fn, loss, norm, reduction, normalizer, process_group, C, input, target)


@declare(
    tau=Number(low=-math.inf, high=math.inf, low_open=True, high_open=True),
    label_smoothing=Number(low=0.0, high=1.0),
)
def logit_adjusted_cross_entropy(
    input: Tensor,
    target: Tensor,
    *,
    class_priors: Tensor,
    tau: float = 1.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    dim: int = 1,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Logit-adjusted cross-entropy: CE of the logits shifted by τ times the log class priors.

    .. math::
        \ell(z, y) = -\log \frac{e^{z_y + \tau \log \pi_y}}{\sum_j e^{z_j + \tau \log \pi_j}}

    Menon et al. show this loss is Fisher-consistent for the *balanced* error (the mean of the per-class
    errors) at τ = 1: the rare classes get a larger margin, so the trained :math:`z` ranks the classes as
    a balanced classifier should. τ = 0 is :func:`losskit.cross_entropy`; τ = 1 with priors proportional
    to the counts is :func:`balanced_softmax_loss`. The paper's *post-hoc* variant instead trains with CE
    and predicts :math:`\arg\max_j z_j - \tau \log \pi_j`.

    Args:
        input: logits ``(N, C, *)``.
        target: class indices ``(N, *)`` (any integer dtype) or probabilities ``(N, C, *)``.
        class_priors: ``(C,)`` label frequencies :math:`\pi` of the training set, every value > 0. They need
            not sum to 1 (the loss only sees ratios), so class counts work as they are.
        tau: the temperature τ (a real number). Default 1 (the paper's consistent choice).
        weight, ignore_index, label_smoothing, dim, reduction: as :func:`losskit.cross_entropy`.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError: as :func:`losskit.cross_entropy`; also for priors of the wrong shape, a prior <= 0 or
            NaN/inf (value checks), a non-finite τ.
        TypeError: on non-tensor arguments or wrong dtypes.

    References:
        Menon, Jayasumana, Rawat, Jain, Veit and Kumar, *Long-tail learning via logit adjustment*,
        ICLR 2021 (arXiv 2007.07314).

    Example:
        >>> import torch
        >>> from losskit.functional import logit_adjusted_cross_entropy
        >>> z = torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64)
        >>> pi = torch.tensor([100.0, 10.0, 1.0], dtype=torch.float64) / 111  # = balanced softmax
        >>> print(f"{logit_adjusted_cross_entropy(z, torch.tensor([2]), class_priors=pi).item():.9f}")
        6.542739180
        >>> ce = logit_adjusted_cross_entropy(z, torch.tensor([2]), class_priors=pi, tau=0.0)
        >>> print(f"{ce.item():.9f}")
        2.317030016
    """
    fn = "logit_adjusted_cross_entropy"
    checks.check_reduction(fn, reduction)
    t = checks.check_number(fn, "tau", tau, low=-math.inf, high=math.inf, low_open=True, high_open=True)
    ls = checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    d, C = check_class_input(fn, input, dim)
    _class_stat(fn, "class_priors", class_priors, C, positive=True)
    d, C, is_index, tgt, x, w = _multiclass_setup(
        fn, input, target, weight, ignore_index, dim, index_only=False, extra={"class_priors": class_priors}
    )
    shift = t * torch.log(class_priors.to(x.dtype))
    loss, norm = _ce(x + class_view(shift, x.dim(), d), tgt, is_index, w, ignore_index, ls, d)
    return _finish_multiclass(fn, loss, norm, reduction, normalizer, process_group, C, input, target)


# --------------------------------------------------------------------------------------------------
# LDAM


def _ldam_margins(class_counts: Tensor, max_margin: float) -> Tensor:
    """LDAM's per-class margins ``max_margin * (n_min / n_j) ** (1/4)`` (largest for the rarest class)."""
    inv = class_counts.pow(-0.25)
    return inv * (max_margin / inv.max())


@declare(
    max_margin=Number(low=0.0, high=math.inf, high_open=True),
    scale=Number(low=0.0, low_open=True, high=math.inf, high_open=True),
)
def ldam_loss(
    input: Tensor,
    target: Tensor,
    *,
    class_counts: Tensor,
    max_margin: float = 0.5,
    scale: float = 30.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    dim: int = 1,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Label-distribution-aware margin (LDAM) loss: a softmax margin that grows as a class gets rarer.

    .. math::
        \ell(z, y) = -\log \frac{e^{s (z_y - \Delta_y)}}{e^{s (z_y - \Delta_y)} + \sum_{j \ne y} e^{s z_j}},
        \qquad \Delta_j = \frac{C}{n_j^{1/4}}

    with :math:`C` chosen so that the largest margin (the rarest class's) is ``max_margin``. Cao et al.
    derive the :math:`n_j^{-1/4}` rule from a generalisation bound on the balanced error. The logits are
    meant to be cosine similarities (normalised features and class weights) in [-1, 1], hence the scale
    :math:`s`. Zero margins give :func:`losskit.cross_entropy` of :math:`s z`. The paper pairs LDAM with
    deferred re-weighting (DRW): pass class weights as ``weight`` in the last epochs.

    Args:
        input: logits ``(N, C, *)``, usually cosines.
        target: class indices ``(N, *)`` (any integer dtype).
        class_counts: ``(C,)`` training-set count of each class, every count > 0.
        max_margin: the largest margin :math:`\Delta_{\max} \ge 0`. Default 0.5 (the paper's).
        scale: :math:`s > 0`. Default 30 (the reference code's, for cosine logits); use 1 for raw logits.
        weight, ignore_index, dim, reduction: as :func:`losskit.cross_entropy`.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError: as :func:`losskit.cross_entropy`; also for counts of the wrong shape, a count <= 0
            (value checks), max_margin < 0 or scale <= 0.
        TypeError: on non-tensor arguments, a floating target, or wrong dtypes.

    References:
        Cao, Wei, Gaidon, Arechiga and Ma, *Learning Imbalanced Datasets with Label-Distribution-Aware
        Margin Loss*, NeurIPS 2019 (arXiv 1906.07413).

    Example:
        The rarest class gets margin 0.5, a class 16 times as common half of it (16^{-1/4} = 1/2):

        >>> import torch, math
        >>> from losskit.functional import ldam_loss
        >>> z = torch.tensor([[0.5, 0.2]], dtype=torch.float64)
        >>> n = torch.tensor([1, 16])
        >>> got = ldam_loss(z, torch.tensor([1]), class_counts=n, scale=1.0).item()
        >>> want = -math.log(math.exp(0.2 - 0.25) / (math.exp(0.2 - 0.25) + math.exp(0.5)))
        >>> print(f"{got:.9f} {want:.9f}")
        1.005492481 1.005492481
    """
    fn = "ldam_loss"
    checks.check_reduction(fn, reduction)
    mm = checks.check_number(fn, "max_margin", max_margin, low=0.0, high=math.inf, high_open=True)
    s = checks.check_number(fn, "scale", scale, low=0.0, low_open=True, high=math.inf, high_open=True)
    d, C = check_class_input(fn, input, dim)
    _class_stat(fn, "class_counts", class_counts, C, positive=True)
    d, C, _, tgt, x, w = _multiclass_setup(
        fn, input, target, weight, ignore_index, dim, index_only=True, extra={"class_counts": class_counts}
    )
    delta = _ldam_margins(class_counts.to(x.dtype), mm)
    valid = tgt != ignore_index
    safe = torch.where(valid, tgt, torch.zeros_like(tgt))
    onehot = F.one_hot(safe, C).movedim(-1, d).to(x.dtype)
    z = s * (x - onehot * class_view(delta, x.dim(), d))
    loss, norm = _ce(z, tgt, True, w, ignore_index, 0.0, d)
    return _finish_multiclass(fn, loss, norm, reduction, normalizer, process_group, C, input, target)


# --------------------------------------------------------------------------------------------------
# Seesaw


@declare(p=Number(low=0.0, high=math.inf, high_open=True), q=Number(low=0.0, high=math.inf, high_open=True))
def seesaw_loss(
    input: Tensor,
    target: Tensor,
    *,
    class_counts: Tensor,
    p: float = 0.8,
    q: float = 2.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    dim: int = 1,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Seesaw loss: softmax CE with negative classes re-weighted by mitigation and compensation factors.

    .. math::
        \ell(z, y) = -\log \frac{e^{z_y}}{e^{z_y} + \sum_{j \ne y} S_{yj}\, e^{z_j}}, \qquad
        S_{ij} = M_{ij}\, C_{ij}

    .. math::
        M_{ij} = \begin{cases} 1 & N_i \le N_j \\ (N_j / N_i)^p & N_i > N_j \end{cases}, \qquad
        C_{ij} = \begin{cases} 1 & \sigma_j \le \sigma_i \\ (\sigma_j / \sigma_i)^q & \sigma_j > \sigma_i
        \end{cases}

    A sample of a frequent class :math:`i` punishes a rarer class :math:`j` less (mitigation, by the
    ratio of the accumulated counts :math:`N`); the reduction is undone when the rarer class is actually
    winning, :math:`\sigma_j > \sigma_i` with :math:`\sigma = \operatorname{softmax}(z)` (compensation),
    so false positives of the tail classes stay punished. :math:`S` is a constant in the backward pass
    (the paper's gradient, :math:`\partial \ell / \partial z_j = \hat\sigma_j` for :math:`j \ne y`).
    ``p = q = 0`` is :func:`losskit.cross_entropy`. The factors are computed in log space:
    :math:`\log S_{yj} = p \min(\log N_j - \log N_y, 0) + q \max(\log \sigma_j - \log \sigma_y, 0)`.

    This function is stateless: pass the counts. The paper accumulates them over training, which
    :class:`losskit.SeesawLoss` does in a buffer. The classification form only: mmdet's detection head
    (a background logit and an objectness branch) is not reproduced.

    Args:
        input: logits ``(N, C, *)``.
        target: class indices ``(N, *)`` (any integer dtype).
        class_counts: ``(C,)`` (accumulated) count :math:`N_j` of each class, >= 0; counts below 1 are
            taken as 1 (a class not seen yet), as the reference implementation does.
        p: mitigation exponent >= 0. Default 0.8 (the paper's).
        q: compensation exponent >= 0. Default 2 (the paper's).
        weight, ignore_index, dim, reduction: as :func:`losskit.cross_entropy`.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; per sample ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError: as :func:`losskit.cross_entropy`; also for counts of the wrong shape, a negative or
            NaN count (value checks), p or q < 0.
        TypeError: on non-tensor arguments, a floating target, or wrong dtypes.

    References:
        Wang, Zhang, Zang, Cao, Pang, Gong, Chen, Liu, Loy and Lin, *Seesaw Loss for Long-Tailed Instance
        Segmentation*, CVPR 2021 (arXiv 2008.10032).

    Example:
        A sample of the frequent class 0 (100 examples) against the rare class 1 (1 example): with
        p = 0.8 the rare class's logit counts 100^{-0.8} as much; it is not winning, so C = 1.

        >>> import torch, math
        >>> from losskit.functional import seesaw_loss
        >>> z = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
        >>> n = torch.tensor([100, 1])
        >>> got = seesaw_loss(z, torch.tensor([0]), class_counts=n).item()
        >>> want = -math.log(math.e / (math.e + 100**-0.8 * math.exp(0.5)))
        >>> print(f"{got:.9f} {want:.9f}")
        0.015120469 0.015120469
    """
    fn = "seesaw_loss"
    checks.check_reduction(fn, reduction)
    pp = checks.check_number(fn, "p", p, low=0.0, high=math.inf, high_open=True)
    qq = checks.check_number(fn, "q", q, low=0.0, high=math.inf, high_open=True)
    d, C = check_class_input(fn, input, dim)
    _class_stat(fn, "class_counts", class_counts, C, positive=False)
    d, C, _, tgt, x, w = _multiclass_setup(
        fn, input, target, weight, ignore_index, dim, index_only=True, extra={"class_counts": class_counts}
    )
    valid = tgt != ignore_index
    safe = torch.where(valid, tgt, torch.zeros_like(tgt)).unsqueeze(d)
    log_s = torch.zeros_like(x)
    with torch.no_grad():
        if pp:
            log_n = torch.log(class_counts.to(x.dtype).clamp_min(1.0))
            log_n = class_view(log_n, x.dim(), d)
            log_ny = log_n.expand_as(x).gather(d, safe)
            log_s = log_s + pp * (log_n - log_ny).clamp_max(0.0)
        if qq:
            logp = torch.log_softmax(x.detach(), dim=d)
            log_s = log_s + qq * (logp - logp.gather(d, safe)).clamp_min(0.0)
    loss, norm = _ce(x + log_s, tgt, True, w, ignore_index, 0.0, d)
    return _finish_multiclass(fn, loss, norm, reduction, normalizer, process_group, C, input, target)
