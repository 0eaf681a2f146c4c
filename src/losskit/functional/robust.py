r"""Robust regression losses: Charbonnier, Cauchy (Lorentzian), Welsch, and Barron's general adaptive loss.

All four are functions of the residual :math:`x = \hat y - y` that grow like :math:`x^2` near 0 and more
slowly far away, so outliers pull less than under MSE. Barron's loss :math:`\rho(x, \alpha, c)` contains the
other three as special cases of its shape parameter α (with a scale c):

===============  ================================  ==========================================
α                :math:`\rho(x, \alpha, c)`         also known as
===============  ================================  ==========================================
2                :math:`\tfrac12 (x/c)^2`            L2 / MSE (halved)
1                :math:`\sqrt{(x/c)^2 + 1} - 1`      pseudo-Huber, Charbonnier, L1-L2
0                :math:`\log(\tfrac12 (x/c)^2 + 1)`  Cauchy / Lorentzian
-2               :math:`2 (x/c)^2 / ((x/c)^2 + 4)`   Geman-McClure
:math:`-\infty`  :math:`1 - e^{-\frac12 (x/c)^2}`   Welsch / Leclerc
===============  ================================  ==========================================

Shared conventions (those of :mod:`losskit.functional.regression`): ``input`` and ``target`` are
floating-point tensors of exactly the same shape (no broadcasting between them); ``reduction="none"``
returns one value per element; ``weight`` broadcasts into the input's shape; float16/bfloat16 are computed
and returned in float32; an empty batch gives 0 with a working backward.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from losskit._core import checks
from losskit.functional._common import finish, prepare
from losskit.functional.regression import _check_into, _check_pair

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = ["barron_log_partition", "barron_loss", "cauchy_loss", "charbonnier_loss", "welsch_loss"]


def _scaled_square(
    fn: str, input: Tensor, target: Tensor, scale: Tensor | float, weight: Tensor | None
) -> tuple[Tensor, Tensor | None, Tensor | float]:
    """``((input - target) / scale)²`` upcast, the weight, and the (upcast) scale."""
    _check_pair(fn, input, target, weight)
    c = checks.check_positive_parameter(fn, "scale", scale, input, "(e.g. (D,) per feature)")
    _, (x, y, w, ct) = prepare(fn, input, target, weight, c if isinstance(c, Tensor) else None)
    assert x is not None and y is not None
    cs: Tensor | float = c if ct is None else ct
    r = (x - y) / cs
    return r * r, w, cs


def charbonnier_loss(
    input: Tensor,
    target: Tensor,
    *,
    eps: float = 1e-3,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Charbonnier loss, a smooth L1: sqrt(x² + ε²).

    .. math::
        \ell(\hat y, y) = \sqrt{(\hat y - y)^2 + \varepsilon^2}

    Behaves like :math:`|x|` for :math:`|x| \gg \varepsilon` and like
    :math:`\varepsilon + x^2 / (2\varepsilon)` near 0, so its gradient :math:`x / \sqrt{x^2 + \varepsilon^2}`
    is bounded by 1 and continuous. This is the form used for image restoration (LapSRN, EDVR); its
    minimum, at a perfect prediction, is ε rather than 0. The zero-based variant is
    :math:`\ell - \varepsilon = \varepsilon\,\rho(x, 1, \varepsilon)`, Barron's loss at α = 1 and c = ε;
    kornia's ``charbonnier_loss`` is that variant at ε = 1.

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        eps: ε > 0, the width of the quadratic bowl in the target's units. Default 1e-3 (LapSRN, for
            intensities in [0, 1]); raise it for targets on larger scales.
        weight: {weight}
        reduction: {reduction_elementwise}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise with the input's shape for ``reduction="none"``, else a 0-d tensor.

    Raises:
        ValueError: on a shape mismatch (no broadcasting), ``eps <= 0``, a bad weight or reduction, NaN/inf
            inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Charbonnier, Blanc-Féraud, Aubert and Barlaud, *Two Deterministic Half-Quadratic Regularization
        Algorithms for Computed Imaging*, ICIP 1994. Lai, Huang, Ahuja and Yang, *Deep Laplacian Pyramid
        Networks for Fast and Accurate Super-Resolution*, CVPR 2017 (arXiv 1704.03915).

    Example:
        >>> import torch
        >>> from losskit.functional import charbonnier_loss
        >>> x = torch.tensor([0.0, 3.0], dtype=torch.float64)
        >>> charbonnier_loss(x, torch.zeros_like(x), eps=4.0, reduction="none")
        tensor([4., 5.], dtype=torch.float64)
    """
    fn = "charbonnier_loss"
    checks.check_reduction(fn, reduction)
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True, high=math.inf, high_open=True)
    _check_pair(fn, input, target, weight)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    # hypot(x, ε) never squares x, so it cannot overflow for any finite residual
    values = torch.hypot(x - y, torch.full_like(x, e))
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def cauchy_loss(
    input: Tensor,
    target: Tensor,
    *,
    scale: Tensor | float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Cauchy (Lorentzian) loss, Barron's loss at α = 0.

    .. math::
        \ell(\hat y, y) = \log\!\left(\tfrac12 \left(\frac{\hat y - y}{c}\right)^2 + 1\right)

    Quadratic (:math:`x^2 / 2c^2`) near 0 and logarithmic far away: its gradient
    :math:`2x / (x^2 + 2c^2)` peaks at :math:`|x| = \sqrt2\,c` and then decays, so far outliers pull less
    and less (the loss is not convex beyond :math:`\sqrt2\,c`). It is the negative log-likelihood of a
    Student-t with one degree of freedom (a Cauchy distribution of scale :math:`\sqrt2\,c`), up to constants.
    Equals kornia's ``cauchy_loss(input / c, target / c)``.

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        scale: c > 0, the residual at which the loss turns from quadratic to logarithmic, in the target's
            units: a number, or a tensor that broadcasts into the input's shape. Default 1.0.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, a scale that is not positive or does not broadcast into the
            input's shape, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Black and Anandan, *The Robust Estimation of Multiple Motions: Parametric and Piecewise-Smooth Flow
        Fields*, CVIU 63(1), 1996. Barron, *A General and Adaptive Robust Loss Function*, CVPR 2019
        (arXiv 1701.03077).

    Example:
        >>> import torch, math
        >>> from losskit.functional import cauchy_loss
        >>> x = torch.tensor([2.0], dtype=torch.float64)
        >>> print(f"{cauchy_loss(x, torch.zeros_like(x), scale=math.sqrt(2.0)).item():.9f}")  # log 2
        0.693147181
    """
    fn = "cauchy_loss"
    checks.check_reduction(fn, reduction)
    z, w, _ = _scaled_square(fn, input, target, scale, weight)
    return finish(
        fn,
        torch.log1p(0.5 * z),
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def welsch_loss(
    input: Tensor,
    target: Tensor,
    *,
    scale: Tensor | float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Welsch (Leclerc) loss, Barron's loss as α → −∞: bounded by 1, outliers are ignored.

    .. math::
        \ell(\hat y, y) = 1 - \exp\!\left(-\tfrac12 \left(\frac{\hat y - y}{c}\right)^2\right)

    An inverted Gaussian: quadratic near 0, saturating at 1, with gradient
    :math:`(x/c^2)\,e^{-x^2/2c^2}` that vanishes for :math:`|x| \gg c`. Strongly robust but not convex;
    start from a reasonable fit (or a large c). Equals kornia's ``welsch_loss(input / c, target / c)``.

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        scale: c > 0, the residual scale, a number or a tensor that broadcasts into the input's shape.
            Default 1.0.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, a scale that is not positive or does not broadcast, a bad weight
            or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Dennis and Welsch, *Techniques for Nonlinear Least Squares and Robust Regression*, Communications in
        Statistics — Simulation and Computation 7(4), 1978. Leclerc, *Constructing Simple Stable
        Descriptions for Image Partitioning*, IJCV 3, 1989.

    Example:
        >>> import torch, math
        >>> from losskit.functional import welsch_loss
        >>> x = torch.tensor([math.sqrt(2.0 * math.log(2.0))], dtype=torch.float64)
        >>> print(f"{welsch_loss(x, torch.zeros_like(x)).item():.9f}")  # 1 - e^{-log 2}
        0.500000000
    """
    fn = "welsch_loss"
    checks.check_reduction(fn, reduction)
    # the loss is bounded, so an inf residual would give a finite 1 with a NaN gradient (inf · e^{-inf}):
    # a non-finite input or target is an error, as for every other loss
    checks.check_finite(fn, "input", input if isinstance(input, Tensor) else None)
    checks.check_finite(fn, "target", target if isinstance(target, Tensor) else None)
    z, w, _ = _scaled_square(fn, input, target, scale, weight)
    # -expm1 keeps the tiny values near a perfect prediction exact (1 - exp would round them to 0)
    return finish(
        fn,
        -torch.expm1(-0.5 * z),
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# Barron's general loss


def _rho(z: Tensor, alpha: Tensor | float) -> Tensor:
    r"""Barron's :math:`\rho` of the squared scaled residual ``z = (x/c)²`` for shape ``alpha``.

    A float α picks its branch in Python (the special cases exactly); a tensor α is evaluated with the
    stable general form and ``where`` selects the exact α = 0 and α = 2 expressions, every branch being
    finite (and with finite gradients) wherever it is not selected.
    """
    if not isinstance(alpha, Tensor):
        if alpha == 2.0:
            return 0.5 * z
        if alpha == 0.0:
            return torch.log1p(0.5 * z)
        if alpha == -math.inf:
            return -torch.expm1(-0.5 * z)
        if alpha == math.inf:
            return torch.expm1(0.5 * z)
        bf = abs(alpha - 2.0)
        return (bf / alpha) * torch.expm1(0.5 * alpha * torch.log1p(z / bf))
    tiny = torch.finfo(z.dtype).eps
    a = alpha.to(z.dtype)
    # |α - 2| and α kept away from 0 by machine epsilon (sign preserved): the general form is then finite
    # at and around the special points, where its limit is the exact expression selected below
    b = (a - 2.0).abs().clamp_min(tiny)
    a_safe = torch.where(a >= 0, a.clamp_min(tiny), a.clamp_max(-tiny))
    general = (b / a_safe) * torch.expm1(0.5 * a_safe * torch.log1p(z / b))
    out = torch.where(a == 0, torch.log1p(0.5 * z), general)
    return torch.where(a == 2, 0.5 * z, out)


_GL_CACHE: dict[tuple[int, torch.dtype, torch.device], tuple[Tensor, Tensor]] = {}
_GL_NODES = 512


def _gauss_legendre(n: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """Gauss-Legendre nodes and weights on [-1, 1], computed once in float64 and cached.

    Newton's method on the Legendre polynomial P_n from the asymptotic guesses cos(π(k - 1/4)/(n + 1/2))
    (all roots at once; the three-term recurrence gives P_n and P_n'); converged to machine precision in
    a few steps. Built outside any graph being traced.
    """
    key = (n, dtype, device)
    if key not in _GL_CACHE:
        k = torch.arange(1, n + 1, dtype=torch.float64)
        x = torch.cos(math.pi * (k - 0.25) / (n + 0.5))
        dp = torch.ones_like(x)
        for _ in range(100):
            p0, p1 = torch.ones_like(x), x
            for j in range(2, n + 1):
                p0, p1 = p1, ((2 * j - 1) * x * p1 - (j - 1) * p0) / j
            dp = n * (x * p1 - p0) / (x * x - 1.0)
            step = p1 / dp
            x = x - step
            if float(step.abs().max()) < 1e-15:
                break
        weights = 2.0 / ((1.0 - x * x) * dp * dp)
        _GL_CACHE[key] = (x.to(dtype=dtype, device=device), weights.to(dtype=dtype, device=device))
    return _GL_CACHE[key]


def barron_log_partition(alpha: Tensor | float) -> Tensor:
    r"""Logarithm of the normaliser of Barron's distribution, :math:`\log Z(\alpha)` for α >= 0.

    .. math::
        Z(\alpha) = \int_{-\infty}^{\infty} e^{-\rho(x, \alpha, 1)}\,dx, \qquad
        p(x \mid \mu, \alpha, c) = \frac{1}{c\,Z(\alpha)}\, e^{-\rho(x - \mu, \alpha, c)}

    Computed by 512-point Gauss-Legendre quadrature after the substitution :math:`x = \sqrt2 \tan\theta`,
    under which the integrand :math:`\sqrt2\,e^{-\rho}\sec^2\theta` is bounded by :math:`\sqrt2` for every
    α >= 0 (ρ grows with α and ρ(x, 0, 1) = log(1 + x²/2)). Differentiable in α. Exact values:
    :math:`Z(2) = \sqrt{2\pi}`, :math:`Z(0) = \sqrt2\,\pi`, :math:`Z(1) = 2e\,K_1(1)`.

    Args:
        alpha: the shape α >= 0 (finite): a number or a tensor of any shape.

    Returns:
        :math:`\log Z(\alpha)` with α's shape, in α's floating dtype (float64 for a number; half precision
        is computed in float32).

    Raises:
        ValueError: for α < 0 (ρ is bounded there, so :math:`e^{-\rho}` is not integrable) or not finite.
        TypeError: for an α that is neither a number nor a floating-point tensor.

    References:
        Barron, *A General and Adaptive Robust Loss Function*, CVPR 2019 (arXiv 1701.03077), Section 2.

    Example:
        >>> import math
        >>> from losskit.functional import barron_log_partition
        >>> print(f"{barron_log_partition(2.0).item():.9f}  {0.5 * math.log(2 * math.pi):.9f}")
        0.918938533  0.918938533
    """
    fn = "barron_log_partition"
    if isinstance(alpha, Tensor):
        checks.check_float(fn, "alpha", alpha)
        a = alpha if alpha.dtype in (torch.float32, torch.float64) else alpha.float()
        if a.numel() and checks.values_checked(a):
            lo, hi = float(a.detach().min()), float(a.detach().max())
            if not (lo >= 0.0 and math.isfinite(hi)):
                raise ValueError(f"{fn}: alpha must be finite and >= 0, got values in [{lo:.4g}, {hi:.4g}]")
    else:
        checks.check_number(fn, "alpha", alpha, low=0.0, high=math.inf, high_open=True)
        a = torch.tensor(float(alpha), dtype=torch.float64)
    return _log_partition(a)


def _log_partition(a: Tensor) -> Tensor:
    """:func:`barron_log_partition` without the checks, in ``a``'s dtype and on its device."""
    nodes, weights = _gauss_legendre(_GL_NODES, a.dtype, a.device)
    theta = nodes * (0.5 * math.pi)
    x2 = 2.0 * torch.tan(theta) ** 2
    sec2 = 1.0 + 0.5 * x2
    rho = _rho(x2, a[..., None])
    # ∫ e^{-ρ(x)} dx = ∫ √2 e^{-ρ(√2 tan θ)} sec²θ dθ over (-π/2, π/2); log-sum-exp keeps it in log space
    log_terms = -rho + torch.log(sec2) + torch.log(weights)
    return torch.logsumexp(log_terms, dim=-1) + math.log(math.sqrt(2.0) * 0.5 * math.pi)


def _check_alpha(fn: str, alpha: Tensor | float, input: Tensor, nll: bool) -> Tensor | float:
    if isinstance(alpha, Tensor):
        checks.check_float(fn, "alpha", alpha)
        _check_into(fn, "alpha", alpha, tuple(input.shape), "(e.g. (D,) for one shape per feature)")
        checks.check_same_device(fn, input=input, alpha=alpha)
        if alpha.numel() and checks.values_checked(alpha) and bool(torch.isnan(alpha.detach()).any()):
            checks.check_finite(fn, "alpha", alpha)  # a NaN is named as such; an inf gets the message below
        if alpha.numel() and checks.values_checked(alpha):
            lo, hi = float(alpha.detach().min()), float(alpha.detach().max())
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(
                    f"{fn}: a tensor alpha must be finite (pass alpha=float('-inf') as a number for Welsch), "
                    f"got values in [{lo:.4g}, {hi:.4g}]"
                )
            if nll and lo < 0.0:
                raise ValueError(
                    f"{fn}: nll=True needs alpha >= 0 (the density is not normalisable below), "
                    f"got a minimum of {lo:.4g}"
                )
        return alpha
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise TypeError(f"{fn}: alpha must be a number or a tensor, got {type(alpha).__name__}")
    a = float(alpha)
    if a != a:
        raise ValueError(f"{fn}: alpha must be a number in [-inf, inf], got {alpha!r}")
    if nll and not (0.0 <= a < math.inf):
        raise ValueError(
            f"{fn}: nll=True needs a finite alpha >= 0 (the density is not normalisable "
            f"otherwise), got {alpha!r}"
        )
    return a


def barron_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: Tensor | float = 1.0,
    scale: Tensor | float = 1.0,
    nll: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Barron's general robust loss :math:`\rho(x, \alpha, c)`, one shape parameter for a family of losses.

    .. math::
        \rho(x, \alpha, c) = \frac{|\alpha - 2|}{\alpha}
        \left[\left(\frac{(x/c)^2}{|\alpha - 2|} + 1\right)^{\alpha/2} - 1\right], \qquad x = \hat y - y

    with its limits taken exactly at α = 2 (:math:`\tfrac12 (x/c)^2`), α = 0
    (:math:`\log(\tfrac12 (x/c)^2 + 1)`), α = −∞ (:math:`1 - e^{-\frac12 (x/c)^2}`) and α = +∞
    (:math:`e^{\frac12 (x/c)^2} - 1`); α = 1 is the pseudo-Huber / Charbonnier loss
    :math:`\sqrt{(x/c)^2 + 1} - 1` and α = −2 Geman-McClure. Smaller α is more robust: the gradient is
    bounded for α <= 1 and decays to 0 for α < 1. Every α gives :math:`\rho \approx \tfrac12 (x/c)^2` near 0.

    With ``nll=True`` the value is the negative log-likelihood of the paper's distribution,
    :math:`\rho(x, \alpha, c) + \log c + \log Z(\alpha)` (see :func:`barron_log_partition`), which is what
    makes α and c *learnable*: minimising ρ alone over α always drives α down and c up, while the NLL
    trades robustness for the cost of a wider density. :class:`losskit.BarronLoss` holds α and c as
    bounded parameters and uses this mode.

    Note:
        The general form is evaluated as :math:`\frac{b}{\alpha}\,\operatorname{expm1}\!\left(\tfrac\alpha2
        \operatorname{log1p}(z / b)\right)` with :math:`z = (x/c)^2` and :math:`b = |\alpha - 2|`, both
        kept at least machine epsilon away from 0, so it is accurate and finite right up to the special
        points. A tensor α is evaluated that way everywhere and the exact α = 0 and α = 2 expressions are
        selected where α equals them; the value is continuous in α there, but the gradient with respect to
        α at exactly 0 or 2 is that of the exact expression (zero), not the one-sided limit. Values
        overflow for α > 2 and large :math:`|x/c|` (the loss grows like :math:`|x/c|^\alpha`).

    Args:
        input: predictions, any shape.
        target: targets, exactly the input's shape.
        alpha: the shape α, a number in [−∞, ∞] or a finite tensor that broadcasts into the input's shape
            (a ``(D,)`` tensor: one shape per feature, as the paper's adaptive loss). Default 1.0
            (pseudo-Huber). With ``nll=True`` α must be >= 0 and finite.
        scale: c > 0, the width of the quadratic bowl in the target's units: a number or a tensor that
            broadcasts into the input's shape. Default 1.0.
        nll: return the negative log-likelihood :math:`\rho + \log c + \log Z(\alpha)` instead of ρ (can
            be negative). Default False.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, an α or c tensor that does not broadcast into the input's shape,
            a NaN or (as a tensor) infinite α, c <= 0, α < 0 with ``nll=True``, a bad weight or reduction,
            NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments, or α / c that are neither numbers nor tensors.

    References:
        Barron, *A General and Adaptive Robust Loss Function*, CVPR 2019 (arXiv 1701.03077).

    Example:
        >>> import torch
        >>> from losskit.functional import barron_loss
        >>> x = torch.tensor([3.0], dtype=torch.float64)
        >>> y = torch.zeros_like(x)
        >>> [round(barron_loss(x, y, alpha=a).item(), 6) for a in (2.0, 1.0, 0.0, -2.0, float("-inf"))]
        [4.5, 2.162278, 1.704748, 1.384615, 0.988891]
    """
    fn = "barron_loss"
    checks.check_reduction(fn, reduction)
    checks.check_flag(fn, "nll", nll)
    a = _check_alpha(fn, alpha, input, nll)
    z, w, c = _scaled_square(fn, input, target, scale, weight)
    at: Tensor | float = a.to(z.dtype) if isinstance(a, Tensor) else a
    values = _rho(z, at)
    if nll:
        log_c = torch.log(c) if isinstance(c, Tensor) else math.log(c)
        a_t = at if isinstance(at, Tensor) else torch.full((), at, dtype=z.dtype, device=z.device)
        log_z = _log_partition(a_t)
        values = values + log_c + log_z
    extra = {"alpha": a if isinstance(a, Tensor) else None, "scale": c if isinstance(c, Tensor) else None}
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target, **extra},
    )
