r"""Margin losses (labels ±1, or 0/1 mapped to ±1): hinge, multi-class hinge, perceptron, exponential, 0-1.

Conventions as in :mod:`losskit.functional.classification` (SPEC §0).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from losskit._core import checks
from losskit._core.options import Number, OneOf, declare
from losskit.functional._common import (
    finish,
    prepare,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


__all__ = [
    "exponential_loss",
    "hinge_loss",
    "multiclass_hinge_loss",
    "perceptron_loss",
    "zero_one_loss",
]


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
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn, loss, reduction, w, normalizer=normalizer, process_group=process_group, inputs={"input": input}
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn,
        torch.clamp(-m, min=0.0),
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input},
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn, loss, reduction, w, normalizer=normalizer, process_group=process_group, inputs={"input": input}
    )


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
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn,
        loss,
        reduction,
        None if w is None else w.detach(),
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input},
    )


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
        reduction: {reduction_per_sample}
        normalizer: {normalizer}
        process_group: {process_group}

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
    return finish(
        fn, loss, reduction, w, normalizer=normalizer, process_group=process_group, inputs={"input": input}
    )
