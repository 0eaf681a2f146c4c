r"""Probabilistic forecasting and count losses: Tweedie, negative binomial, Student-t, CRPS.

Each is a proper scoring rule or a negative log-likelihood of a predictive distribution, for models that
forecast a distribution rather than a point: counts with over-dispersion (negative binomial),
zero-inflated non-negative totals such as sales or claims (Tweedie, 1 < p < 2), heavy-tailed reals
(Student-t), and any predictive distribution through the continuous ranked probability score (CRPS), in
closed form for a Gaussian and from samples for an ensemble.

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
from losskit.functional._common import finish, prepare
from losskit.functional.regression import _check_into, _check_pair, _clamp_through, _spread

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "crps_ensemble_loss",
    "crps_gaussian_loss",
    "negative_binomial_nll_loss",
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
        raise TypeError(f"{fn}: target must be a real (integer or floating-point) tensor of counts, "
                        f"got dtype {target.dtype}")
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


def _parameter(fn: str, name: str, value: Tensor | float, input: Tensor, *, low_open: bool = True) -> Tensor:
    """A positive distribution parameter (number or tensor broadcasting into the input) as a tensor."""
    if isinstance(value, Tensor):
        checks.check_float(fn, name, value)
        _check_into(fn, name, value, tuple(input.shape), "(e.g. (D,) per feature, or a per-element tensor)")
        checks.check_same_device(fn, input=input, **{name: value})
        checks.check_finite(fn, name, value)
        if value.numel() and checks.values_checked(value):
            lo = float(value.detach().min())
            if not lo > 0.0:
                raise ValueError(f"{fn}: {name} must be positive, got a minimum of {lo:.4g}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {name} must be a positive number or a tensor, got {type(value).__name__}")
    v = checks.check_number(fn, name, value, low=0.0, low_open=low_open, high=math.inf, high_open=True)
    return torch.full((), v, dtype=input.dtype, device=input.device)


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
        weight: elementwise weight broadcastable into the input's shape.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
    return finish(fn, values, reduction, w,
                  normalizer=normalizer, process_group=process_group, inputs={"input": input})


# --------------------------------------------------------------------------------------------------
# negative binomial


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
        weight: elementwise weight broadcastable into the input's shape.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
    param = _parameter(fn, name, chosen, input)
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
        -torch.lgamma(y + r) + torch.lgamma(r) + torch.lgamma(y + 1.0)
        + r * F.softplus(eta - log_r) + y * F.softplus(log_r - eta)
    )
    return finish(fn, values, reduction, w,
                  normalizer=normalizer, process_group=process_group, inputs={"input": input, name: param})


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
        weight: elementwise weight broadcastable into the input's shape.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
    nu = _parameter(fn, "df", df, input)
    spread, is_log = _spread(fn, input, scale, log_scale, ("scale", "log_scale"))
    sname = "log_scale" if is_log else "scale"
    checks.check_same_device(fn, input=input, **{sname: spread})
    _, (x, y, w, s, v) = prepare(fn, input, target, weight, spread, nu)
    assert x is not None and y is not None and s is not None and v is not None
    log_sigma = _clamp_through(s, math.log(e)) if is_log else torch.log(_clamp_through(s, e))
    z = (y - x) * torch.exp(-log_sigma)
    values = (
        -torch.lgamma(0.5 * (v + 1.0)) + torch.lgamma(0.5 * v) + 0.5 * torch.log(v * math.pi) + log_sigma
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
        weight: elementwise weight broadcastable into the input's shape.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
    return finish(fn, values, reduction, w,
                  normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target, sname: spread})


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
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's batch, the same on every rank (see docs/distributed.md).

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
    return finish(fn, skill - spread, reduction, w,
                  normalizer=normalizer, process_group=process_group,
                  inputs={"input": input, "target": target})
