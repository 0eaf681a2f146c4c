r"""Forecasting and count losses: Tweedie, negative binomial, Student-t, CRPS; MAPE, sMAPE, MASE.

Most are proper scoring rules or negative log-likelihoods of a predictive distribution, for models that
forecast a distribution rather than a point: counts with over-dispersion (negative binomial),
zero-inflated non-negative totals such as sales or claims (Tweedie, 1 < p < 2), heavy-tailed reals
(Student-t), and any predictive distribution through the continuous ranked probability score (CRPS), in
closed form for a Gaussian and from samples for an ensemble. The point-forecast errors of the forecasting
competitions complete the family: the percentage errors MAPE and sMAPE and the scaled error MASE.
(Quantile forecasts, with an optional non-crossing penalty, are :func:`losskit.functional.quantile_loss`.)

Shared conventions (those of :mod:`losskit.functional.regression`): ``input`` (the predicted location or
log-mean) and ``target`` have exactly the same shape (the ensemble CRPS adds a trailing member dimension to
``input``); distribution parameters (``scale``, ``df``, ``total_count``, ...) are numbers or tensors that
broadcast into that shape; ``reduction="none"`` returns one value per element; ``weight`` broadcasts into
the loss's shape; float16/bfloat16 are computed and returned in float32; an empty batch gives 0 with a
working backward. Count targets may be integer or floating tensors.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import checks
from losskit._core.checks import fmt_shape
from losskit._core.dtypes import compute_dtype
from losskit.functional._common import finish, prepare
from losskit.functional.regression import _check_into, _check_pair, _clamp_through, _spread

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "crps_ensemble_loss",
    "crps_gaussian_loss",
    "mape_loss",
    "mase_loss",
    "negative_binomial_nll_loss",
    "smape_loss",
    "student_t_nll_loss",
    "tweedie_loss",
]

_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _count_pair(
    fn: str, input: Tensor, target: Tensor, weight: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Validate a float input and a non-negative (integer or float) target of the same shape; upcast."""
    checks.check_float(fn, "input", input)
    checks.check_tensor(fn, "target", target)
    if target.dtype == torch.bool or target.is_complex():
        raise TypeError(
            f"{fn}: target must be a real (integer or floating-point) tensor of counts, "
            f"got dtype {target.dtype}"
        )
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape; no broadcasting)")
    checks.check_weight(fn, weight, tuple(input.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    if target.is_floating_point():
        checks.check_finite(fn, "target", target)
    if target.numel() and checks.values_checked(target):
        lo = float(target.detach().min())
        if not lo >= 0.0:
            raise ValueError(f"{fn}: target must be non-negative, got a minimum of {lo:.4g}")
    dtype, (x, w) = prepare(fn, input, weight)
    assert x is not None
    return x, target.to(dtype), w


_PER = "(e.g. (D,) per feature, or a per-element tensor)"


def _as_tensor(value: Tensor | float, input: Tensor) -> Tensor:
    """A validated parameter as a tensor, a number as a 0-d tensor on the input's device.

    Made in the dtype the loss computes in: float32 for a half-precision input (``df=1e6`` is inf in float16).
    """
    if isinstance(value, Tensor):
        return value
    return torch.full((), value, dtype=compute_dtype(input), device=input.device)


# --------------------------------------------------------------------------------------------------
# Tweedie


def tweedie_loss(
    input: Tensor,
    target: Tensor,
    *,
    power: float = 1.5,
    form: str = "deviance",
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Tweedie loss for non-negative targets with exact zeros (compound Poisson-Gamma, 1 < p < 2).

    With the log link, ``input`` is :math:`\eta = \log\mu`, and

    .. math::
        D(y, \mu) = 2\left[\frac{y^{2-p}}{(1-p)(2-p)} - \frac{y\,\mu^{1-p}}{1-p}
        + \frac{\mu^{2-p}}{2-p}\right] \qquad (\texttt{form="deviance"})

    the unit deviance of the Tweedie family, >= 0 and 0 exactly at :math:`\mu = y`; or its
    :math:`\mu`-dependent part, the negative log-likelihood up to terms that depend on y only,

    .. math::
        \ell(y, \mu) = -\frac{y\,\mu^{1-p}}{1-p} + \frac{\mu^{2-p}}{2-p} = \tfrac12 D(y, \mu)
        - \frac{y^{2-p}}{(1-p)(2-p)} \qquad (\texttt{form="nll"})

    (the objective of XGBoost's and LightGBM's ``tweedie``, which can be negative). Both have the same
    minimiser :math:`\mu = y` and gradients that differ by the factor 2. The deviance's mean equals
    scikit-learn's ``mean_tweedie_deviance(target, exp(input), power=p)``.

    Note:
        The powers are computed as :math:`\mu^{k} = e^{k\eta}`, finite for :math:`|\eta| \lesssim 700/(2-p)`
        in float64 (:math:`88/(2-p)` in float32); beyond that the predicted mean itself is not representable.

    Args:
        input: predicted log-means :math:`\eta = \log\mu` (the log link), any shape.
        target: observed values y >= 0 (zeros allowed), exactly the input's shape; integer or float.
        power: the Tweedie power p in (1, 2). Default 1.5. Near 1 the model is Poisson-like (variance
            ∝ μ), near 2 Gamma-like (variance ∝ μ²).
        form: ``"deviance"`` (default; scikit-learn's convention) or ``"nll"`` (the boosting libraries').
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, a power outside (1, 2), an unknown form, a negative target, a bad
            weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor arguments or a non-floating input.

    References:
        Jørgensen, *Exponential Dispersion Models*, JRSS B 49(2), 1987. Zhou, Yang and Qian, *Tweedie
        Gradient Boosting for Extremely Unbalanced Zero-inflated Data*, Communications in Statistics 2022
        (arXiv 1811.10192).

    Example:
        >>> import torch, math
        >>> from losskit.functional import tweedie_loss
        >>> eta = torch.tensor([math.log(4.0)], dtype=torch.float64)
        >>> y = torch.tensor([1.0], dtype=torch.float64)
        >>> print(f"{tweedie_loss(eta, y, power=1.5).item():.9f}")  # 2 (1/(-1/4) + 2/2 + 2 * 2)
        2.000000000
    """
    fn = "tweedie_loss"
    checks.check_reduction(fn, reduction)
    p = checks.check_number(fn, "power", power, low=1.0, high=2.0, low_open=True, high_open=True)
    checks.check_option(fn, "form", form, ("deviance", "nll"))
    x, y, w = _count_pair(fn, input, target, weight)
    a, b = 1.0 - p, 2.0 - p
    values = -y * torch.exp(a * x) / a + torch.exp(b * x) / b
    if form == "deviance":
        values = 2.0 * (values + torch.pow(y, b) / (a * b))
    return finish(
        fn, values, reduction, w, normalizer=normalizer, process_group=process_group, inputs={"input": input}
    )


# --------------------------------------------------------------------------------------------------
# negative binomial


_STIRLING_FROM = 20.0


def _lgamma_shift(a: Tensor, b: Tensor | float) -> Tensor:
    r""":math:`\log\Gamma(a + b) - \log\Gamma(a)` for :math:`a > 0, b >= 0`, accurate when :math:`a` is large.

    The plain difference of two ``lgamma`` values cancels: for :math:`a = 10^6` each is about
    :math:`1.3 \cdot 10^7`, whose float32 spacing is 1, so the negative binomial near its Poisson limit and
    the Student-t near the Gaussian lost every digit. From :math:`a >= 20` Stirling's series is subtracted
    term by term, :math:`(a - \tfrac12)\,\mathrm{log1p}(b/a) + b \log(a + b) - b + c(a + b) - c(a)` with
    :math:`c(x) = \frac1{12x} - \frac1{360x^3} + \frac1{1260x^5}` (truncation error below
    :math:`10^{-12}`); each branch is evaluated on inputs moved into its own range, so the unselected one
    stays finite (and so do gradients through ``where``).
    """
    use_small = a < _STIRLING_FROM
    t = torch.full_like(a, _STIRLING_FROM)
    lo = torch.where(use_small, a, t)
    small = torch.lgamma(lo + b) - torch.lgamma(lo)
    hi = torch.where(use_small, t, a)

    def c(x: Tensor) -> Tensor:
        r = 1.0 / x
        r2 = r * r
        return r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 / 1260.0))

    large = (hi - 0.5) * torch.log1p(b / hi) + b * torch.log(hi + b) - b + (c(hi + b) - c(hi))
    return torch.where(use_small, small, large)


def negative_binomial_nll_loss(
    input: Tensor,
    target: Tensor,
    *,
    total_count: Tensor | float | None = None,
    dispersion: Tensor | float | None = None,
    log_input: bool = True,
    eps: float = 1e-8,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Negative log-likelihood of a negative binomial with a predicted mean, for over-dispersed counts.

    The distribution of mean μ and total count r (variance :math:`\mu + \mu^2/r`), or equivalently of
    dispersion :math:`\alpha = 1/r` (variance :math:`\mu + \alpha\mu^2`; α → 0 is Poisson):

    .. math::
        -\log p(y) = -\log\Gamma(y + r) + \log\Gamma(r) + \log\Gamma(y + 1)
        - r \log\frac{r}{r + \mu} - y \log\frac{\mu}{r + \mu}

    the exact negative log-probability (all constants included), as ``torch.distributions.NegativeBinomial``
    with ``total_count=r`` and ``logits = log μ - log r``. Non-integer targets are allowed (the same
    formula through the Gamma function).

    Note:
        With ``log_input=True`` the log-ratios are computed from :math:`\eta = \log\mu` as
        :math:`-\log\frac{r}{r+\mu} = \operatorname{softplus}(\eta - \log r)` and
        :math:`-\log\frac{\mu}{r+\mu} = \operatorname{softplus}(\log r - \eta)`, finite for every finite
        η and accurate in the Poisson limit of a huge r. With
        ``log_input=False`` the mean is clamped from below at ``eps`` in value only (the gradient passes
        through), so μ = 0 stays finite. For a huge total count the terms
        :math:`\log\Gamma(y + r) - \log\Gamma(r)` cancel to an absolute error of about
        :math:`10^{-16}\,r\log r` (3e-8 at r = 1e7 in float64): beyond r ≈ 1e9 use a Poisson likelihood.

    Args:
        input: predicted means: log μ (default, ``log_input=True``) or μ >= 0; any shape.
        target: observed counts y >= 0, exactly the input's shape; integer or float.
        total_count: r > 0, a number or a tensor broadcasting into the input's shape (e.g. predicted).
        dispersion: α = 1/r > 0 instead of ``total_count``; give exactly one of the two.
        log_input: whether ``input`` is log μ (True, default; unconstrained) or μ.
        eps: lower clamp of μ when ``log_input=False``. Default 1e-8.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: if both or neither of ``total_count``/``dispersion`` are given, on a parameter that is
            not positive or does not broadcast, a negative target (or mean with ``log_input=False``), a
            shape mismatch, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor arguments, a non-floating input, or a non-bool ``log_input``.

    References:
        Hilbe, *Negative Binomial Regression*, Cambridge University Press, 2nd ed. 2011. Salinas, Flunkert,
        Gasthaus and Januschowski, *DeepAR: Probabilistic Forecasting with Autoregressive Recurrent
        Networks*, International Journal of Forecasting 36(3), 2020 (arXiv 1704.04110).

    Example:
        >>> import torch, math
        >>> from losskit.functional import negative_binomial_nll_loss
        >>> eta, y = torch.tensor([0.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
        >>> print(f"{negative_binomial_nll_loss(eta, y, total_count=1.0).item():.9f}")  # -log(1/2)
        0.693147181
    """
    fn = "negative_binomial_nll_loss"
    checks.check_reduction(fn, reduction)
    checks.check_flag(fn, "log_input", log_input)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    if (total_count is None) == (dispersion is None):
        got = "both" if total_count is not None else "neither"
        raise ValueError(f"{fn}: give exactly one of total_count= or dispersion=, got {got}")
    name = "total_count" if total_count is not None else "dispersion"
    chosen = total_count if total_count is not None else dispersion
    assert chosen is not None
    x, y, w = _count_pair(fn, input, target, weight)
    param = _as_tensor(checks.check_positive_parameter(fn, name, chosen, input, _PER), input)
    if not log_input and x.numel() and checks.values_checked(x):
        lo = float(x.detach().min())
        if not lo >= 0.0:
            raise ValueError(
                f"{fn}: input must hold means >= 0 with log_input=False, got a minimum of {lo:.4g}"
            )
    prm = param.to(x.dtype)
    log_r = torch.log(prm) if name == "total_count" else -torch.log(prm)
    r = torch.exp(log_r)
    eta = x if log_input else torch.log(_clamp_through(x, e))
    # -log(r / (r + μ)) = softplus(η - log r) and -log(μ / (r + μ)) = softplus(log r - η): no cancellation
    # even when r is huge (the Poisson limit), where r · softplus(η - log r) → μ
    values = (
        -_lgamma_shift(r, y)
        + torch.lgamma(y + 1.0)
        + r * F.softplus(eta - log_r)
        + y * F.softplus(log_r - eta)
    )
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, name: param},
    )


# --------------------------------------------------------------------------------------------------
# Student-t


def student_t_nll_loss(
    input: Tensor,
    target: Tensor,
    *,
    df: Tensor | float,
    scale: Tensor | float | None = None,
    log_scale: Tensor | float | None = None,
    eps: float = 1e-6,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Negative log-likelihood of a Student-t with predicted location, scale and degrees of freedom.

    .. math::
        -\log p(y) = -\log\Gamma\!\left(\tfrac{\nu+1}{2}\right) + \log\Gamma\!\left(\tfrac\nu2\right)
        + \tfrac12\log(\nu\pi) + \log\sigma
        + \tfrac{\nu+1}{2}\log\!\left(1 + \frac{(y-\mu)^2}{\nu\sigma^2}\right)

    with μ = ``input``, σ = ``scale`` (or ``exp(log_scale)``) and ν = ``df``; the exact negative
    log-density, as ``torch.distributions.StudentT(df, loc, scale).log_prob``. Heavy tails make it robust
    to outliers while still learning the spread; ν → ∞ is the Gaussian NLL, ν = 1 the Cauchy. The value
    can be negative.

    Note:
        As in :func:`losskit.functional.gaussian_nll_loss`, the scale is clamped from below at ``eps``
        (``log_scale`` at ``log(eps)``) in value only, with the gradient passed through.

    Args:
        input: predicted locations μ, any shape.
        target: targets, exactly the input's shape.
        df: degrees of freedom ν > 0, a number or a tensor broadcasting into the input's shape (learnable
            when predicted, e.g. ``2 + softplus(h)``). Small ν is heavy-tailed; 3-5 is a common choice.
        scale: σ >= 0, a number or a tensor broadcasting into the input's shape.
        log_scale: log σ instead of ``scale``; give exactly one of the two.
        eps: lower clamp of σ. Default 1e-6.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: if both or neither of ``scale``/``log_scale`` are given, on df <= 0, a negative scale,
            shapes that do not broadcast, a shape mismatch, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Lange, Little and Taylor, *Robust Statistical Modeling Using the t Distribution*, JASA 84(408), 1989.

    Example:
        >>> import torch, math
        >>> from losskit.functional import student_t_nll_loss
        >>> mu, y = torch.tensor([0.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
        >>> print(f"{student_t_nll_loss(mu, y, df=1.0, scale=1.0).item():.9f}")  # Cauchy: log(2π)
        1.837877066
    """
    fn = "student_t_nll_loss"
    checks.check_reduction(fn, reduction)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    _check_pair(fn, input, target, weight)
    nu = _as_tensor(checks.check_positive_parameter(fn, "df", df, input, _PER), input)
    spread, is_log = _spread(fn, input, scale, log_scale, ("scale", "log_scale"))
    sname = "log_scale" if is_log else "scale"
    checks.check_same_device(fn, input=input, **{sname: spread})
    _, (x, y, w, s, v) = prepare(fn, input, target, weight, spread, nu)
    assert x is not None and y is not None and s is not None and v is not None
    log_sigma = _clamp_through(s, math.log(e)) if is_log else torch.log(_clamp_through(s, e))
    z = (y - x) * torch.exp(-log_sigma)
    values = (
        -_lgamma_shift(0.5 * v, 0.5)
        + 0.5 * torch.log(v * math.pi)
        + log_sigma
        + 0.5 * (v + 1.0) * torch.log1p(z * z / v)
    )
    inputs: dict[str, Tensor | None] = {"input": input, "target": target, sname: spread, "df": nu}
    return finish(fn, values, reduction, w, normalizer=normalizer, process_group=process_group, inputs=inputs)


# --------------------------------------------------------------------------------------------------
# CRPS


def crps_gaussian_loss(
    input: Tensor,
    target: Tensor,
    *,
    scale: Tensor | float | None = None,
    log_scale: Tensor | float | None = None,
    eps: float = 1e-6,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Continuous ranked probability score of a Gaussian forecast, in closed form.

    .. math::
        \operatorname{CRPS}(\mathcal N(\mu, \sigma^2), y) = \sigma\left[z\,(2\Phi(z) - 1) + 2\varphi(z)
        - \frac{1}{\sqrt\pi}\right], \qquad z = \frac{y - \mu}{\sigma}

    where CRPS(F, y) = ∫ (F(x) − 𝟙[x ≥ y])² dx. A proper scoring rule in the target's units: it reduces
    to the absolute error :math:`|y - \mu|` as σ → 0 and, unlike the NLL, does not blow up for a
    confident wrong forecast (it grows linearly). Non-negative.

    Note:
        :math:`2\Phi(z) - 1` is computed as :math:`\operatorname{erf}(z/\sqrt2)`, accurate in both tails;
        the scale is clamped from below at ``eps`` (``log_scale`` at ``log(eps)``) in value only.

    Args:
        input: predicted means μ, any shape.
        target: targets, exactly the input's shape.
        scale: σ >= 0 (standard deviation), a number or a tensor broadcasting into the input's shape.
        log_scale: log σ instead; give exactly one of the two.
        eps: lower clamp of σ. Default 1e-6.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: if both or neither of ``scale``/``log_scale`` are given, on a negative scale, shapes
            that do not broadcast, a shape mismatch, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Gneiting and Raftery, *Strictly Proper Scoring Rules, Prediction, and Estimation*, JASA 102(477),
        2007. Gneiting, Raftery, Westveld and Goldman, *Calibrated Probabilistic Forecasting Using Ensemble
        Model Output Statistics and Minimum CRPS Estimation*, Monthly Weather Review 133(5), 2005.

    Example:
        >>> import torch, math
        >>> from losskit.functional import crps_gaussian_loss
        >>> mu, y = torch.tensor([0.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
        >>> print(f"{crps_gaussian_loss(mu, y, scale=1.0).item():.9f}")  # (√2 - 1)/√π
        0.233694977
    """
    fn = "crps_gaussian_loss"
    checks.check_reduction(fn, reduction)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    _check_pair(fn, input, target, weight)
    spread, is_log = _spread(fn, input, scale, log_scale, ("scale", "log_scale"))
    sname = "log_scale" if is_log else "scale"
    checks.check_same_device(fn, input=input, **{sname: spread})
    _, (x, y, w, s) = prepare(fn, input, target, weight, spread)
    assert x is not None and y is not None and s is not None
    sigma = torch.exp(_clamp_through(s, math.log(e))) if is_log else _clamp_through(s, e)
    z = (y - x) / sigma
    pdf2 = 2.0 * _INV_SQRT_2PI * torch.exp(-0.5 * z * z)
    values = sigma * (z * torch.erf(z * _INV_SQRT_2) + pdf2 - _INV_SQRT_PI)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target, sname: spread},
    )


def crps_ensemble_loss(
    input: Tensor,
    target: Tensor,
    *,
    fair: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""CRPS of an ensemble (or a set of samples) forecast, members on the trailing dimension.

    The energy form of the CRPS of the empirical distribution of M members :math:`x_1, \dots, x_M`:

    .. math::
        \operatorname{CRPS}(x, y) = \frac1M \sum_i |x_i - y| - \frac{1}{2M^2} \sum_{i,j} |x_i - x_j|

    and, with ``fair=True``, the unbiased ("fair") estimator of the CRPS of the distribution the members
    are drawn from, whose spread term is divided by :math:`2M(M-1)` instead (Ferro 2014): an ensemble of M
    exchangeable draws then scores as well, in expectation, as the true distribution. Both are >= 0 (the
    triangle inequality). The pairwise sum is computed in :math:`O(M \log M)` from the sorted members,
    :math:`\sum_{i,j} |x_i - x_j| = 2 \sum_k (2k - M - 1)\, x_{(k)}`.

    Args:
        input: the members, shape ``target.shape + (M,)`` with M >= 1 (M >= 2 for ``fair=True``).
        target: the observations, the input's shape without its last dimension.
        fair: use the unbiased spread term :math:`1/(2M(M-1))`. Default False (the CRPS of the empirical
            distribution, e.g. properscoring's ``crps_ensemble``). Use True to compare ensembles of
            different sizes or to train a generative model with few samples.
        weight: weight broadcastable into the target's shape (one value per forecast).
        reduction: ``"none"`` (one value per forecast, the target's shape), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; with the target's shape for ``reduction="none"``.

    Raises:
        ValueError: if the input's shape is not the target's plus a member dimension, with no member (or
            one with ``fair=True``), on a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments, or a non-bool ``fair``.

    References:
        Gneiting and Raftery, *Strictly Proper Scoring Rules, Prediction, and Estimation*, JASA 102(477),
        2007 (the energy form). Ferro, *Fair Scores for Ensemble Forecasts*, QJRMS 140(683), 2014.

    Example:
        >>> import torch
        >>> from losskit.functional import crps_ensemble_loss
        >>> x = torch.tensor([[0.0, 2.0]], dtype=torch.float64)
        >>> y = torch.tensor([1.0], dtype=torch.float64)
        >>> crps_ensemble_loss(x, y).item(), crps_ensemble_loss(x, y, fair=True).item()  # 1 - 1/2, 1 - 1
        (0.5, 0.0)
    """
    fn = "crps_ensemble_loss"
    checks.check_reduction(fn, reduction)
    checks.check_flag(fn, "fair", fair)
    checks.check_float(fn, "input", input)
    checks.check_float(fn, "target", target)
    checks.check_ndim(fn, "input", input, 1, "(members on the last dimension)")
    m = int(input.shape[-1])
    want = (*tuple(target.shape), m)
    if tuple(input.shape) != want:
        raise ValueError(
            f"{fn}: input must have shape target.shape + (M,) = {fmt_shape(want)} with the ensemble members "
            f"on the last dimension, got {fmt_shape(input.shape)} for a target of shape "
            f"{fmt_shape(target.shape)}"
        )
    need = 2 if fair else 1
    if m < need:
        what = "fair=True needs at least 2 members" if fair else "needs at least 1 member"
        raise ValueError(f"{fn}: {what} on the last dimension, got M = {m}")
    checks.check_weight(fn, weight, tuple(target.shape))
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    skill = (x - y.unsqueeze(-1)).abs().mean(dim=-1)
    ordered = torch.sort(x, dim=-1).values
    k = torch.arange(1, m + 1, dtype=x.dtype, device=x.device)
    pair_sum = 2.0 * (ordered * (2.0 * k - m - 1.0)).sum(dim=-1)
    spread = pair_sum / (2.0 * m * (m - 1)) if fair else pair_sum / (2.0 * m * m)
    return finish(
        fn,
        skill - spread,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# percentage and scaled point-forecast errors (MAPE, sMAPE, MASE)

_F64_EPS = float(torch.finfo(torch.float64).eps)


def _point_pair(
    fn: str, input: Tensor, target: Tensor, weight: Tensor | None, eps: float
) -> tuple[Tensor, Tensor, Tensor | None, float]:
    """Validate ``eps`` and a float (input, target) pair of one shape, both finite; upcast."""
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True, high=math.inf, high_open=True)
    _check_pair(fn, input, target, weight)
    # the ratios below can turn a NaN or inf into a finite value (inf / inf, x / inf): check the arguments
    checks.check_finite(fn, "input", input)
    checks.check_finite(fn, "target", target)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    return x, y, w, e


def mape_loss(
    input: Tensor,
    target: Tensor,
    *,
    eps: float = _F64_EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Mean absolute percentage error (MAPE) as a loss, a fraction (multiply by 100 for percent).

    .. math::
        \ell(\hat y, y) = \frac{|y - \hat y|}{\max(|y|, \epsilon)}

    Scale-free, but asymmetric: for positive data an over-forecast can cost without bound, an
    under-forecast at most 1, so its minimiser is biased low (below the median). Undefined at
    :math:`y = 0`, where ε keeps it finite (and huge: :math:`|\hat y| / \epsilon`).

    With ``reduction="mean"`` it equals scikit-learn's ``mean_absolute_percentage_error(target, input)``,
    same ε (the machine epsilon of float64, 2.22e-16) and same fraction (not a percentage);
    ``sample_weight=w`` is ``weight=w`` for 1-d data and ``weight=w[:, None]`` for ``(N, D)`` data (whose
    ``multioutput="uniform_average"`` is the plain mean over all elements).

    Args:
        input: forecasts :math:`\hat y`, any shape.
        target: actual values :math:`y`, exactly the input's shape.
        eps: ε > 0, the floor of :math:`|y|`. Default 2.22e-16 (scikit-learn's).
        weight: {weight}
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise with the input's shape for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, ``eps <= 0``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Hyndman and Koehler, *Another look at measures of forecast accuracy*, International Journal of
        Forecasting 22(4), 2006.

    Example:
        >>> import torch
        >>> from losskit.functional import mape_loss
        >>> mape_loss(torch.tensor([110.0, 45.0]), torch.tensor([100.0, 50.0]), reduction="none")
        tensor([0.1000, 0.1000])
    """
    fn = "mape_loss"
    checks.check_reduction(fn, reduction)
    x, y, w, e = _point_pair(fn, input, target, weight, eps)
    values = (y - x).abs() / y.abs().clamp_min(e)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def smape_loss(
    input: Tensor,
    target: Tensor,
    *,
    eps: float = _F64_EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Symmetric mean absolute percentage error (sMAPE, the M4 competition's form) as a loss, in [0, 2].

    .. math::
        \ell(\hat y, y) = \frac{2\,|y - \hat y|}{\max(|y| + |\hat y|,\ \epsilon)}

    The absolute error over the mean of the absolute actual and forecast (multiply by 100 for the
    competitions' percentage). Symmetric in :math:`y` and :math:`\hat y` and bounded by 2, reached when
    one of them is 0 or they have opposite signs. The absolute values in the denominator are the M4
    form; the M3 form :math:`(y + \hat y)` can be negative or 0 for data that change sign. Despite its
    name it still penalises over- and under-forecasts of the same size differently.

    At :math:`y = \hat y = 0` the formula is 0/0; here the loss is 0 (a perfect forecast) with a zero
    gradient, never NaN: a denominator below ε is replaced by ε, and since :math:`|y - \hat y| \le |y| +
    |\hat y|` the loss stays within [0, 2] there.

    Args:
        input: forecasts :math:`\hat y`, any shape.
        target: actual values :math:`y`, exactly the input's shape.
        eps: ε > 0, the floor of the denominator. Default 2.22e-16.
        weight: {weight}
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise with the input's shape for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, ``eps <= 0``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Makridakis and Hibon, *The M3-Competition: results, conclusions and implications*, International
        Journal of Forecasting 16(4), 2000. Hyndman and Koehler, *Another look at measures of forecast
        accuracy*, International Journal of Forecasting 22(4), 2006. Makridakis, Spiliotis and
        Assimakopoulos, *The M4 Competition: 100,000 time series and 61 forecasting methods*,
        International Journal of Forecasting 36(1), 2020.

    Example:
        >>> import torch
        >>> from losskit.functional import smape_loss
        >>> smape_loss(torch.tensor([150.0, 0.0, 0.0]), torch.tensor([50.0, 0.0, 7.0]), reduction="none")
        tensor([1., 0., 2.])
    """
    fn = "smape_loss"
    checks.check_reduction(fn, reduction)
    x, y, w, e = _point_pair(fn, input, target, weight, eps)
    values = 2.0 * (y - x).abs() / (y.abs() + x.abs()).clamp_min(e)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def mase_loss(
    input: Tensor,
    target: Tensor,
    *,
    scale: Tensor | None = None,
    history: Tensor | None = None,
    seasonality: int = 1,
    eps: float = _F64_EPS,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Mean absolute scaled error (MASE): the error over the in-sample MAE of the (seasonal) naive forecast.

    .. math::
        \ell_t(\hat y, y) = \frac{|y_t - \hat y_t|}{\max(s, \epsilon)}, \qquad
        s = \frac{1}{T - m} \sum_{j=m+1}^{T} |h_j - h_{j-m}|

    Hyndman and Koehler's scaled error: :math:`h_1, \dots, h_T` is the series' in-sample history and
    :math:`s` the mean absolute error, on that history, of the naive forecast :math:`h_{j-m}` (m = 1:
    the last value; m = 12 for monthly data: the value a year before, the M4 competition's seasonal
    naive). The mean over the forecast horizon is the series' MASE: below 1 the forecast beats the
    in-sample naive one. Unlike MAPE it is defined for zeros in the data and symmetric in over- and
    under-forecasts; only a constant history (:math:`s = 0`) needs ε.

    Give either ``history`` (the scale is computed per series; no gradient flows into it) or ``scale``
    (precomputed, e.g. once per data set).

    Args:
        input: forecasts ``(..., H)``, the horizon on the last dimension.
        target: actual values, exactly the input's shape.
        scale: :math:`s >= 0` per series, broadcastable into the input's shape (e.g. ``(N, 1)``).
        history: in-sample values ``(..., T)``: the input's leading dimensions and ``T > seasonality``.
        seasonality: m >= 1, the lag of the naive forecast. Default 1.
        eps: ε > 0, the floor of the scale. Default 2.22e-16.
        weight: {weight}
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise with the input's shape for ``reduction="none"``.

    Raises:
        ValueError: on neither or both of ``scale`` and ``history``, a history with other leading
            dimensions or too short for the seasonality, a scale that does not broadcast or is negative,
            ``seasonality < 1``, a 0-d input, a shape mismatch, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments, a non-int seasonality.

    References:
        Hyndman and Koehler, *Another look at measures of forecast accuracy*, International Journal of
        Forecasting 22(4), 2006. Makridakis, Spiliotis and Assimakopoulos, *The M4 Competition: 100,000
        time series and 61 forecasting methods*, International Journal of Forecasting 36(1), 2020.

    Example:
        History ``[1, 3, 2, 4]``: naive errors 2, 1, 2, so :math:`s = 5/3`; a forecast off by 1 scores 0.6.

        >>> import torch
        >>> from losskit.functional import mase_loss
        >>> h = torch.tensor([[1.0, 3.0, 2.0, 4.0]], dtype=torch.float64)
        >>> f, y = torch.tensor([[5.0]], dtype=torch.float64), torch.tensor([[4.0]], dtype=torch.float64)
        >>> mase_loss(f, y, history=h)
        tensor(0.6000, dtype=torch.float64)
    """
    fn = "mase_loss"
    checks.check_reduction(fn, reduction)
    m = checks.check_integer(fn, "seasonality", seasonality, low=1)
    if (scale is None) == (history is None):
        got = "both" if scale is not None else "neither"
        raise ValueError(
            f"{fn}: pass exactly one of scale= (per series) and history= (in-sample values), got {got}"
        )
    x, y, w, e = _point_pair(fn, input, target, weight, eps)
    if x.dim() < 1:
        raise ValueError(
            f"{fn}: input must have shape (..., H) with the horizon last, got {fmt_shape(x.shape)}"
        )
    if history is not None:
        checks.check_float(fn, "history", history)
        lead = tuple(input.shape[:-1])
        if history.dim() != input.dim() or tuple(history.shape[:-1]) != lead:
            want = "(" + ", ".join([*(str(d) for d in lead), "T"]) + ")"
            raise ValueError(
                f"{fn}: history must have shape {want} (the input's leading dimensions, time "
                f"last), got {fmt_shape(history.shape)}"
            )
        if int(history.shape[-1]) <= m:
            raise ValueError(
                f"{fn}: history must hold more than seasonality={m} values per series, "
                f"got {int(history.shape[-1])}"
            )
        checks.check_same_device(fn, input=input, history=history)
        checks.check_finite(fn, "history", history)
        h = history.detach().to(x.dtype)
        s = (h[..., m:] - h[..., :-m]).abs().mean(-1, keepdim=True)
    else:
        assert scale is not None
        checks.check_float(fn, "scale", scale)
        _check_into(fn, "scale", scale, tuple(input.shape), "(e.g. (N, 1): one scale per series)")
        checks.check_same_device(fn, input=input, scale=scale)
        checks.check_finite(fn, "scale", scale)
        if scale.numel() and checks.values_checked(scale):
            lo = float(scale.detach().min())
            if lo < 0:
                raise ValueError(f"{fn}: scale must be non-negative, got a minimum of {lo:.4g}")
        s = scale.to(x.dtype)
    values = (y - x).abs() / s.clamp_min(e)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )
