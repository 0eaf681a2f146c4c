r"""Regression losses: L1, MSE, smooth L1, Huber, quantile (pinball), log-cosh, Gaussian and Laplace NLL.

Shared conventions (SPEC §0, §2): ``input`` is the prediction and ``target`` the observed value; both are
floating-point tensors of **exactly** the same shape. A ``(N, 1)`` prediction against a ``(N,)`` target
is a ``ValueError`` (torch only warns and then broadcasts the pair into an ``(N, N)`` matrix, a classic
silent bug). ``reduction="none"`` returns one value per element; ``weight`` multiplies the elementwise
loss and may broadcast into the loss's shape (never enlarge it); the weighted mean is ``Σ w ℓ / Σ w``.
float16/bfloat16 inputs are computed and returned in float32. An empty batch gives 0 with a working
backward.

Which one to pick (note 003 swaps the pros and cons of the first two, the ones below are right):

* **MSE** (L2) is smooth everywhere, its gradient ``2(ŷ - y)`` is proportional to the error, and it is
  *sensitive* to outliers (one error of 10 weighs as much as a hundred errors of 1). Its minimiser is the
  conditional mean: a Gaussian likelihood.
* **MAE** (L1) is *robust* to outliers (gradient ±1 whatever the error) but has a kink at 0 and a gradient
  that does not shrink near the optimum. Its minimiser is the conditional median: a Laplace likelihood.
* smooth L1 / Huber are quadratic near 0 and linear in the tails; quantile loss targets any quantile;
  log-cosh behaves like ``x²/2`` near 0 and ``|x| - log 2`` far away, smooth everywhere.
* All of them assume one mode. For a target with several modes (or an angle) see
  :func:`losskit.functional.multibin_loss`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import checks
from losskit._core.checks import fmt_shape
from losskit._core.dtypes import compute_dtype
from losskit.functional._common import finish, prepare

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "l1_loss",
    "laplace_nll_loss",
    "log_cosh_loss",
    "mse_loss",
    "quantile_loss",
    "smooth_l1_loss",
]

_LOG_2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------------
# shared helpers


def _check_pair(fn: str, input: Tensor, target: Tensor, weight: Tensor | None) -> None:
    """Validate an (input, target) pair of identical shapes and an elementwise weight."""
    checks.check_float(fn, "input", input)
    checks.check_float(fn, "target", target)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape; no broadcasting)")
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)


def _pair(
    fn: str, input: Tensor, target: Tensor, weight: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Validate an (input, target) pair of identical shapes and upcast it; return ``(x, y, w)``."""
    _check_pair(fn, input, target, weight)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    return x, y, w


def _check_into(fn: str, name: str, x: Tensor, shape: tuple[int, ...], what: str) -> None:
    """Raise ValueError unless ``x`` broadcasts *into* ``shape`` without enlarging it."""
    try:
        out = tuple(torch.broadcast_shapes(tuple(x.shape), shape))
    except RuntimeError:
        out = None
    if out != shape:
        raise ValueError(
            f"{fn}: {name} must have the input's shape {fmt_shape(shape)} or one that broadcasts to it "
            f"{what}, got {fmt_shape(x.shape)}"
        )


def _spread(
    fn: str,
    input: Tensor,
    value: Tensor | float | None,
    log_value: Tensor | float | None,
    names: tuple[str, str],
) -> tuple[Tensor, bool]:
    """Validate the exclusive pair ``var``/``log_var`` (or ``scale``/``log_scale``); return it, is-log."""
    name, log_name = names
    if (value is None) == (log_value is None):
        got = "both" if value is not None else "neither"
        raise ValueError(f"{fn}: give exactly one of {name}= or {log_name}=, got {got}")
    is_log = value is None
    chosen = log_value if is_log else value
    label = log_name if is_log else name
    if isinstance(chosen, bool) or not isinstance(chosen, (Tensor, int, float)):
        raise TypeError(f"{fn}: {label} must be a tensor or a number, got {type(chosen).__name__}")
    if not isinstance(chosen, Tensor):
        v = float(chosen)
        if not is_log and not v >= 0.0:
            raise ValueError(f"{fn}: {label} must be non-negative, got {chosen!r}")
        # in the dtype the loss computes in: a half-precision input must not round (or overflow) the number
        return torch.full((), v, dtype=compute_dtype(input), device=input.device), is_log
    checks.check_float(fn, label, chosen)
    _check_into(fn, label, chosen, tuple(input.shape), "(e.g. (D,) per feature, or var[:, None] per sample)")
    checks.check_finite(fn, label, chosen)
    if not is_log and chosen.numel() and checks.values_checked(chosen):
        lo = float(chosen.detach().min())
        if not lo >= 0.0:
            raise ValueError(f"{fn}: {label} must be non-negative, got a minimum of {lo:.4g}")
    return chosen, is_log


def _clamp_through(x: Tensor, low: float) -> Tensor:
    """``max(x, low)`` in value with the gradient of the identity (torch's ``gaussian_nll_loss`` clamp)."""
    return x.clamp_min(low).detach() + (x - x.detach())


# --------------------------------------------------------------------------------------------------
# the absolute and squared errors


def l1_loss(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Absolute error (MAE when averaged), the negative log-likelihood of a Laplace model up to constants.

    .. math::
        \ell(\hat y, y) = |\hat y - y|

    Robust to outliers (every error pulls with the same force) but with a kink at 0; its minimiser over a
    set of targets is their median.

    Args:
        input: predictions, any shape.
        target: targets, **exactly** the input's shape (``(N, 1)`` against ``(N,)`` is an error).
        weight: {weight}
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise with the input's shape for ``reduction="none"``, else a 0-d tensor.

    Raises:
        ValueError: on a shape mismatch (no broadcasting), a bad weight, an unknown reduction, or NaN/inf
            inputs (value checks: see :func:`losskit.set_checks`).
        TypeError: on non-tensor or non-floating arguments.

    References:
        Laplace, *Mémoire sur la probabilité des causes par les événements*, 1774 (least absolute deviations).

    Example:
        >>> import torch
        >>> from losskit.functional import l1_loss
        >>> y = torch.tensor([1.5, -0.5, 2.0], dtype=torch.float64)
        >>> y_hat = torch.tensor([1.0, 0.0, 3.5], dtype=torch.float64)
        >>> print(f"{l1_loss(y_hat, y).item():.9f}")
        0.833333333
    """
    fn = "l1_loss"
    checks.check_reduction(fn, reduction)
    x, y, w = _pair(fn, input, target, weight)
    return finish(
        fn,
        (x - y).abs(),
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def mse_loss(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Squared error (MSE when averaged), the negative log-likelihood of a unit-variance Gaussian (+ const).

    .. math::
        \ell(\hat y, y) = (\hat y - y)^2

    Smooth, with a gradient ``2(ŷ - y)`` proportional to the error, and sensitive to outliers; its minimiser
    over a set of targets is their mean (95 % of targets at 1000 and 5 % at 10 give 950.5, not 10).

    Args:
        input: predictions, any shape.
        target: targets, **exactly** the input's shape (``(N, 1)`` against ``(N,)`` is an error).
        weight: {weight}
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``, else a 0-d tensor.

    Raises:
        ValueError: on a shape mismatch (no broadcasting), a bad weight, an unknown reduction, or NaN/inf
            inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Gauss, *Theoria motus corporum coelestium*, 1809 (least squares).

    Example:
        >>> import torch
        >>> from losskit.functional import mse_loss
        >>> y = torch.tensor([1.5, -0.5, 2.0], dtype=torch.float64)
        >>> y_hat = torch.tensor([1.0, 0.0, 3.5], dtype=torch.float64)
        >>> print(f"{mse_loss(y_hat, y).item():.9f}")
        0.916666667
    """
    fn = "mse_loss"
    checks.check_reduction(fn, reduction)
    x, y, w = _pair(fn, input, target, weight)
    # torch's fused elementwise kernel saves only its inputs for backward (shapes are already checked)
    values = F.mse_loss(x, y, reduction="none")
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    *,
    beta: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Smooth L1 loss (Fast R-CNN): quadratic below ``beta``, absolute error above.

    .. math::
        \ell(x) = \begin{cases} 0.5\,x^2/\beta & |x| < \beta \\ |x| - 0.5\,\beta & \text{otherwise}
        \end{cases}, \qquad x = \hat y - y

    Its gradient is ``x/β`` near 0 and ±1 in the tails, so it never exceeds 1: the outlier robustness of
    L1 without the kink. ``beta=0`` is exactly :func:`l1_loss`. It relates to Huber by
    ``huber_loss(delta=δ) = δ · smooth_l1_loss(beta=δ)``. Same convention as ``torch.nn.SmoothL1Loss``.

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        beta: the switch point β >= 0. Default 1.0 (torch); detectors regress normalised box offsets with
            β = 1/9.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, ``beta < 0``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Girshick, *Fast R-CNN*, ICCV 2015 (arXiv 1504.08083).

    Example:
        >>> import torch
        >>> from losskit.functional import smooth_l1_loss
        >>> x = torch.tensor([0.5], dtype=torch.float64)
        >>> print(f"{smooth_l1_loss(x, torch.zeros_like(x), beta=1 / 9).item():.9f}")
        0.444444444
    """
    fn = "smooth_l1_loss"
    checks.check_reduction(fn, reduction)
    b = checks.check_number(fn, "beta", beta, low=0.0)
    x, y, w = _pair(fn, input, target, weight)
    # torch's fused kernel computes this exact formula (beta = 0 included) and saves only its inputs
    values = F.smooth_l1_loss(x, y, reduction="none", beta=b)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def huber_loss(
    input: Tensor,
    target: Tensor,
    *,
    delta: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Huber loss: quadratic within ``delta`` of the target, linear outside.

    .. math::
        \ell(x) = \begin{cases} 0.5\,x^2 & |x| \le \delta \\ \delta\,(|x| - 0.5\,\delta) & \text{otherwise}
        \end{cases}, \qquad x = \hat y - y

    Linear on :math:`(-\infty, -\delta) \cup (\delta, \infty)`, where the gradient is ``±δ``.
    ``huber_loss(delta=δ) = δ · smooth_l1_loss(beta=δ)``: the two differ by the factor δ only, so they
    coincide at δ = 1. Same convention as ``torch.nn.HuberLoss``.

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        delta: the switch point δ > 0. Default 1.0.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, ``delta <= 0``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Huber, *Robust Estimation of a Location Parameter*, Annals of Mathematical Statistics 35(1), 1964.

    Example:
        >>> import torch
        >>> from losskit.functional import huber_loss
        >>> x = torch.tensor([3.0], dtype=torch.float64)
        >>> print(f"{huber_loss(x, torch.zeros_like(x), delta=2.0).item():.9f}")
        4.000000000
    """
    fn = "huber_loss"
    checks.check_reduction(fn, reduction)
    dl = checks.check_number(fn, "delta", delta, low=0.0, low_open=True)
    x, y, w = _pair(fn, input, target, weight)
    # δ · smooth_l1(β=δ), not F.huber_loss: huber_loss_backward has no forward-mode derivative, so
    # torch.func.hessian / jvp(grad(f)) would fail on it (smooth_l1's has one)
    values = dl * F.smooth_l1_loss(x, y, reduction="none", beta=dl)
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
# quantile and log-cosh


def _levels(fn: str, quantiles: float | Sequence[float]) -> tuple[list[float], bool]:
    """Validate ``quantiles``; return the levels and whether a trailing quantile dimension is expected."""
    if isinstance(quantiles, (int, float)) and not isinstance(quantiles, bool):
        tau = checks.check_number(
            fn, "quantiles", quantiles, low=0.0, high=1.0, low_open=True, high_open=True
        )
        return [tau], False
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, Sequence):
        raise TypeError(
            f"{fn}: quantiles must be a number or a sequence of numbers (a list or tuple), "
            f"got {type(quantiles).__name__}"
        )
    if len(quantiles) == 0:
        raise ValueError(f"{fn}: quantiles must hold at least one level, got an empty sequence")
    out = []
    for i, q in enumerate(quantiles):
        out.append(
            checks.check_number(fn, f"quantiles[{i}]", q, low=0.0, high=1.0, low_open=True, high_open=True)
        )
    return out, True


def quantile_loss(
    input: Tensor,
    target: Tensor,
    *,
    quantiles: float | Sequence[float] = 0.5,
    crossing_penalty: float = 0.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Quantile (pinball) loss, for one quantile level or several at once, optionally penalising crossings.

    .. math::
        \rho_\tau(u) = u\,(\tau - \mathbb{1}[u < 0]) = \max(\tau u,\ (\tau - 1) u), \qquad u = y - \hat y

    Under-predicting (``u > 0``) costs τ per unit, over-predicting 1 - τ, so the minimiser is the
    τ-quantile of the target. τ = 0.5 gives **half** the absolute error (not the MAE itself).
    The mean equals scikit-learn's ``mean_pinball_loss(target, input, alpha=τ)``.

    Shapes:
        * ``quantiles`` a number τ: ``input`` and ``target`` have exactly the same shape.
        * ``quantiles`` a sequence of Q levels: ``input`` has shape ``target.shape + (Q,)`` (one prediction
          per level on a trailing dimension) and ``target`` has the input's shape without that last
          dimension; the target is compared with each of the Q predictions. ``reduction="none"`` then
          returns the input's shape ``(..., Q)`` and ``"mean"`` averages over levels too. Even with a
          single level given as a sequence (``[0.9]``) the trailing dimension (of size 1) is expected.

    Crossing penalty:
        Quantiles fitted level by level can cross (a predicted 0.9-quantile below the 0.5-quantile).
        With ``crossing_penalty=λ > 0`` and levels :math:`\tau_1 < \dots < \tau_Q` (strictly increasing,
        at least two), each adjacent pair of predictions adds a hinge on its inversion,

        .. math::
            \ell_j = \rho_{\tau_j}(y - \hat q_j) + \lambda\,\max(0,\ \hat q_j - \hat q_{j+1})
            \quad (j < Q), \qquad \ell_Q = \rho_{\tau_Q}(y - \hat q_Q)

        the rectified-linear non-crossing penalty of Tang, Shen, Lin and Huang, applied to every adjacent
        pair (zero exactly when the predictions are non-decreasing in τ). The penalty of pair
        (j, j+1) is charged to entry j, so weights, ``normalizer`` and ``process_group`` apply to it as to the
        pinball terms: ``"mean"`` is :math:`\frac{1}{NQ}\sum_n [\sum_j \rho_{\tau_j} + \lambda \sum_j
        \max(0, \hat q_j - \hat q_{j+1})]`. A crossed pair gets the gradient ±λ (the lower level pushed
        down, the upper one up), against pinball gradients of at most max(τ, 1 - τ) per entry; as an exact
        penalty, a large enough λ (of order 1 and up) leaves no crossing at the minimiser.

    Args:
        input: predictions (see Shapes).
        target: targets (see Shapes).
        quantiles: a level τ in (0, 1) or a list/tuple of levels, each in (0, 1). Default 0.5 (median).
        crossing_penalty: λ >= 0, the weight of the non-crossing hinge (see Crossing penalty). Default 0
            (off). Needs a strictly increasing sequence of at least two levels.
        weight: elementwise weight broadcastable into the loss's shape (the input's shape): a ``(Q,)``
            weight weighs the levels; a per-sample weight of the target's shape needs ``weight[..., None]``.
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise with the input's shape for ``reduction="none"``.

    Raises:
        ValueError: on shapes that do not match as above, levels outside (0, 1), an empty level list, a
            negative ``crossing_penalty`` or one given with unsorted levels or a single level, a bad weight or
            reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments, or levels that are not numbers.

    References:
        Koenker and Bassett, *Regression Quantiles*, Econometrica 46(1), 1978. Tang, Shen, Lin and Huang,
        *Nonparametric Quantile Regression: Non-Crossing Constraints and Conformal Prediction*, 2022
        (arXiv 2210.10161), the ReLU non-crossing penalty.

    Example:
        >>> import torch
        >>> from losskit.functional import quantile_loss
        >>> y = torch.tensor([10.0, 10.0], dtype=torch.float64)
        >>> y_hat = torch.tensor([8.0, 12.0], dtype=torch.float64)
        >>> quantile_loss(y_hat, y, quantiles=0.9, reduction="none")
        tensor([1.8000, 0.2000], dtype=torch.float64)

        Three levels at once, with a trailing quantile dimension:

        >>> y_hat3 = torch.tensor([[8.0, 10.0, 12.0]], dtype=torch.float64)
        >>> quantile_loss(y_hat3, y[:1], quantiles=[0.1, 0.5, 0.9], reduction="none")
        tensor([[0.2000, 0.0000, 0.2000]], dtype=torch.float64)

        Crossed predictions (the 0.5-quantile above the 0.9-quantile by 3) pay λ · 3 on the 0.5 entry:

        >>> y_hat_x = torch.tensor([[8.0, 13.0, 10.0]], dtype=torch.float64)
        >>> quantile_loss(y_hat_x, y[:1], quantiles=[0.1, 0.5, 0.9], crossing_penalty=1.0, reduction="none")
        tensor([[0.2000, 4.5000, 0.0000]], dtype=torch.float64)
    """
    fn = "quantile_loss"
    checks.check_reduction(fn, reduction)
    levels, trailing = _levels(fn, quantiles)
    lam = checks.check_number(
        fn, "crossing_penalty", crossing_penalty, low=0.0, high=math.inf, high_open=True
    )
    if lam > 0.0:
        if not trailing or len(levels) < 2:
            raise ValueError(
                f"{fn}: crossing_penalty needs a sequence of at least two quantile levels (a "
                f"trailing quantile dimension), got quantiles={quantiles!r}"
            )
        if any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError(
                f"{fn}: crossing_penalty needs the quantiles in strictly increasing order (sort "
                f"the levels and the input's last dimension together), got {levels!r}"
            )
    checks.check_float(fn, "input", input)
    checks.check_float(fn, "target", target)
    if trailing:
        q = len(levels)
        want = (*tuple(target.shape), q)
        checks.check_shape(
            fn, "input", input, want, f"(the target's shape plus a trailing dimension of {q} quantile levels)"
        )
    else:
        checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape; no broadcasting)")
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    if trailing:
        tau = torch.tensor(levels, dtype=x.dtype, device=x.device)
        u = y.unsqueeze(-1) - x
    else:
        tau = torch.full((), levels[0], dtype=x.dtype, device=x.device)
        u = y - x
    values = torch.maximum(tau * u, (tau - 1.0) * u)
    if lam > 0.0:
        # the inversion of pair (j, j+1), charged to entry j; the last level has no pair above it
        crossing = torch.relu(x[..., :-1] - x[..., 1:])
        values = values + lam * F.pad(crossing, (0, 1))
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def log_cosh_loss(
    input: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Log-cosh loss: ``x²/2`` near 0, ``|x| - log 2`` far away, smooth everywhere.

    .. math::
        \ell(x) = \log\cosh(x) = |x| + \operatorname{log1p}\!\left(e^{-2|x|}\right) - \log 2,
        \qquad x = \hat y - y

    The gradient is ``tanh(x)``: bounded by 1 like L1 and Huber, but infinitely differentiable.

    Note:
        ``log(cosh(x))`` overflows for ``|x| > 710`` in float64 (``|x| > 89`` in float32); the rewritten form
        above never forms ``cosh`` and is exact and finite for every finite ``x`` (``|x| = 1e4`` gives
        ``1e4 - log 2``).

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Saleh and Saleh, *Statistical Properties of the log-cosh Loss Function Used in Machine Learning*,
        arXiv 2208.04564 (2022).

    Example:
        >>> import torch
        >>> from losskit.functional import log_cosh_loss
        >>> x = torch.tensor([2.0, 50.0], dtype=torch.float64)
        >>> log_cosh_loss(x, torch.zeros_like(x), reduction="none")
        tensor([ 1.3250, 49.3069], dtype=torch.float64)
    """
    fn = "log_cosh_loss"
    checks.check_reduction(fn, reduction)
    x, y, w = _pair(fn, input, target, weight)
    a = (x - y).abs()
    # softplus(z) = log1p(exp(z)), used only at z = -2|x| <= 0, where it is exact and cannot overflow
    values = a + F.softplus(-2.0 * a) - _LOG_2
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
# likelihoods with a predicted spread


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    *,
    var: Tensor | float | None = None,
    log_var: Tensor | float | None = None,
    full: bool = False,
    eps: float = 1e-6,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Gaussian negative log-likelihood with a predicted variance (heteroscedastic regression).

    .. math::
        \ell = \tfrac12\left[\log\sigma^2 + \frac{(y - \mu)^2}{\sigma^2}\right]
               \;\left(+\ \tfrac12\log 2\pi \text{ if full}\right)

    with the mean μ = ``input`` and the variance σ² given either directly (``var=``) or as its logarithm
    (``log_var=``, the parametrisation of Kendall and Gal: unconstrained and better conditioned). Exactly
    one of the two must be given. The value can be negative.

    Note:
        The variance is clamped from below at ``eps`` in value only: the gradient passes through the clamp
        as if it were not there (this is what ``torch.nn.functional.gaussian_nll_loss`` does, which keeps a
        learning signal for a variance that fell below ``eps``). With ``log_var`` the same clamp is applied
        at ``log(eps)``, so ``var=exp(s)`` and ``log_var=s`` always give the same value (and, by the chain
        rule, the same gradient where the clamp is inactive), and the loss stays finite for any finite
        ``log_var`` (``(y - μ)² e^{-s}`` is computed directly).

    Args:
        input: predicted means μ, any shape.
        target: targets, exactly the input's shape.
        var: predicted variances σ² >= 0 (a tensor that broadcasts into the input's shape, or a number).
            For a per-sample variance of an ``(N, D)`` input pass ``var[:, None]`` (torch guesses this
            from the shape; losskit broadcasts by the usual rules only).
        log_var: predicted log-variances log σ², same shapes as ``var``.
        full: add the constant ``½ log 2π``. Default False (torch).
        eps: lower clamp of the variance. Default 1e-6 (torch).
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: if both or neither of ``var``/``log_var`` are given, on a negative variance, shapes that
            do not broadcast into the input's, ``eps <= 0``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Nix and Weigend, *Estimating the Mean and Variance of the Target Probability Distribution*,
        ICNN 1994. Kendall and Gal, *What Uncertainties Do We Need in Bayesian Deep Learning for Computer
        Vision?*, NeurIPS 2017 (arXiv 1703.04977).

    Example:
        >>> import torch
        >>> from losskit.functional import gaussian_nll_loss
        >>> mu, y = torch.tensor([0.5], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
        >>> var = torch.tensor([0.25], dtype=torch.float64)
        >>> print(f"{gaussian_nll_loss(mu, y, var=var).item():.9f}")
        -0.193147181
        >>> print(f"{gaussian_nll_loss(mu, y, log_var=var.log(), full=True).item():.9f}")
        0.725791353
    """
    fn = "gaussian_nll_loss"
    checks.check_reduction(fn, reduction)
    checks.check_flag(fn, "full", full)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    _check_pair(fn, input, target, weight)
    spread, is_log = _spread(fn, input, var, log_var, ("var", "log_var"))
    name = "log_var" if is_log else "var"
    checks.check_same_device(fn, input=input, **{name: spread})
    _, (x, y, w, s) = prepare(fn, input, target, weight, spread)
    assert x is not None and y is not None and s is not None
    d = x - y
    if is_log:
        s = _clamp_through(s, math.log(e))
        values = 0.5 * (s + d * d * torch.exp(-s))
    else:
        s = _clamp_through(s, e)
        values = 0.5 * (torch.log(s) + d * d / s)
    if full:
        values = values + _HALF_LOG_2PI
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target, name: spread},
    )


def laplace_nll_loss(
    input: Tensor,
    target: Tensor,
    *,
    scale: Tensor | float | None = None,
    log_scale: Tensor | float | None = None,
    full: bool = True,
    eps: float = 1e-6,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Laplace negative log-likelihood with a predicted scale (robust heteroscedastic regression).

    .. math::
        \ell = \frac{|y - \mu|}{b} + \log(2b) \qquad (\log b \text{ instead of } \log 2b \text{ if not full})

    with the location μ = ``input`` and the scale b given directly (``scale=``) or as ``log_scale=``;
    exactly one of the two must be given. With a fixed b it is L1 up to constants; the log-likelihood of N
    samples carries ``-N log 2`` (note 003 writes ``-N/2``). The value can be negative.

    Note:
        As in :func:`gaussian_nll_loss`, the scale is clamped from below at ``eps`` (``log_scale`` at
        ``log(eps)``) in value only, with the gradient passed through unchanged.

    Args:
        input: predicted locations μ, any shape.
        target: targets, exactly the input's shape.
        scale: predicted scales b >= 0 (a tensor that broadcasts into the input's shape, or a number).
        log_scale: predicted log b, same shapes.
        full: include the ``log 2`` of the normaliser. Default True (the exact negative log-density).
        eps: lower clamp of the scale. Default 1e-6.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: if both or neither of ``scale``/``log_scale`` are given, on a negative scale, shapes
            that do not broadcast into the input's, ``eps <= 0``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Kendall and Gal, *What Uncertainties Do We Need in Bayesian Deep Learning for Computer Vision?*,
        NeurIPS 2017 (arXiv 1703.04977), which uses the Laplace likelihood for depth regression.

    Example:
        >>> import torch
        >>> from losskit.functional import laplace_nll_loss
        >>> mu, y = torch.tensor([0.5], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
        >>> print(f"{laplace_nll_loss(mu, y, scale=torch.tensor([0.8], dtype=torch.float64)).item():.9f}")
        1.095003629
    """
    fn = "laplace_nll_loss"
    checks.check_reduction(fn, reduction)
    checks.check_flag(fn, "full", full)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    _check_pair(fn, input, target, weight)
    spread, is_log = _spread(fn, input, scale, log_scale, ("scale", "log_scale"))
    name = "log_scale" if is_log else "scale"
    checks.check_same_device(fn, input=input, **{name: spread})
    _, (x, y, w, s) = prepare(fn, input, target, weight, spread)
    assert x is not None and y is not None and s is not None
    a = (x - y).abs()
    if is_log:
        s = _clamp_through(s, math.log(e))
        values = a * torch.exp(-s) + s
    else:
        s = _clamp_through(s, e)
        values = a / s + torch.log(s)
    if full:
        values = values + _LOG_2
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target, name: spread},
    )


# --------------------------------------------------------------------------------------------------
# Poisson negative log-likelihood (torch.nn's PoissonNLLLoss, issue 13)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Poisson negative log-likelihood of counts under a predicted rate (torch's ``PoissonNLLLoss``).

    .. math::
        \ell = \lambda - y \log\lambda \;(+\ \log y!)
        \quad\text{with}\quad
        \lambda = e^{x}\ (\texttt{log\_input=True}) \quad\text{or}\quad
        \lambda = x,\ \log\lambda := \log(x + \epsilon)

    The constant :math:`\log y!` is dropped by default; ``full=True`` adds its Stirling approximation
    :math:`y\log y - y + \tfrac12\log(2\pi y)` for :math:`y > 1` (0 for :math:`y \le 1`), as torch does.

    Args:
        input: the log-rate :math:`x` (default) or the rate :math:`\lambda \ge 0` with ``log_input=False``.
        target: counts :math:`y \ge 0`, the shape of ``input`` (float; integers need not be whole).
        log_input: ``True`` (default) reads ``input`` as :math:`\log\lambda`, which keeps the rate positive
            without a clamp and is the stable choice for a network output.
        full: add the Stirling term. Default False (it has no gradient with respect to ``input``).
        eps: added to :math:`\lambda` inside the log when ``log_input=False``. Default 1e-8 (torch's).
        weight: elementwise weight broadcastable to the loss; ``"mean"`` divides by its sum.
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss. Same values as ``torch.nn.functional.poisson_nll_loss`` for every reduction.

    Raises:
        ValueError: shapes that differ, ``eps <= 0``, negative counts, negative rates with
            ``log_input=False``, NaN/inf inputs (value checks: see :func:`losskit.set_checks`).
        TypeError: non-tensor or non-float tensors, non-bool flags.

    References:
        PyTorch ``torch.nn.PoissonNLLLoss``; McCullagh, Nelder, *Generalized Linear Models*, 2nd ed., 1989
        (the Poisson log-likelihood with the log link).

    Example:
        Rate :math:`\lambda = e^0 = 1` and count 2: :math:`1 - 2 \cdot 0 = 1`; with ``full=True``
        :math:`+\ 2\ln 2 - 2 + \tfrac12\ln(4\pi) = 0.6518`:

        >>> import torch
        >>> from losskit.functional import poisson_nll_loss
        >>> x, y = torch.tensor([0.0], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
        >>> print(f"{poisson_nll_loss(x, y).item():.4f} {poisson_nll_loss(x, y, full=True).item():.4f}")
        1.0000 1.6518
    """
    fn = "poisson_nll_loss"
    checks.check_reduction(fn, reduction)
    checks.check_flag(fn, "log_input", log_input)
    checks.check_flag(fn, "full", full)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    x, y, w = _pair(fn, input, target, weight)
    for name, t, ok in (("target", y, True), ("input", x, not log_input)):
        if ok and t.numel() and checks.values_checked(t) and bool((t < 0).any()):
            what = "counts" if name == "target" else "rates (log_input=False)"
            low = float(t.min())
            raise ValueError(f"{fn}: {name} must hold non-negative {what}, got a minimum of {low:.4g}")
    if log_input:
        values = torch.exp(x) - y * x
    else:
        values = x - y * torch.log(x + e)
    if full:
        safe = torch.where(y > 1, y, torch.ones_like(y))
        stirling = safe * torch.log(safe) - safe + 0.5 * torch.log(2.0 * math.pi * safe)
        values = values + torch.where(y > 1, stirling, torch.zeros_like(y))
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


__all__ += ["poisson_nll_loss"]
