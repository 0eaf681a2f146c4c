"""Independent float64 references for the robust regression family (Charbonnier, Cauchy, Welsch, Barron).

Written from the formulas of the papers (Barron, CVPR 2019, arXiv 1701.03077, eq. 1 and its limits), never
from losskit's code: ρ is evaluated in its textbook form (in 40-digit arithmetic) ``|α-2|/α · ((z/|α-2| + 1)^{α/2} - 1)``, not in
the expm1/log1p form losskit uses. The log-partition of Barron's distribution is the integral of its
definition computed with scipy's adaptive quadrature (QUADPACK), independent of losskit's Gauss-Legendre
rule. Reduction as tests/reference/regression.py.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy.integrate import quad

from tests.reference.regression import _f64, _reduce


def charbonnier_loss(input, target, *, eps=1e-3, weight=None, reduction="mean"):
    """sqrt(x^2 + eps^2)."""
    x = _f64(input) - _f64(target)
    return _reduce(np.sqrt(x * x + eps * eps), weight, reduction)


def cauchy_loss(input, target, *, scale=1.0, weight=None, reduction="mean"):
    """log(0.5 (x/c)^2 + 1)."""
    z = ((_f64(input) - _f64(target)) / _f64(scale)) ** 2
    return _reduce(np.log(0.5 * z + 1.0), weight, reduction)


def welsch_loss(input, target, *, scale=1.0, weight=None, reduction="mean"):
    """1 - exp(-0.5 (x/c)^2)."""
    z = ((_f64(input) - _f64(target)) / _f64(scale)) ** 2
    return _reduce(1.0 - np.exp(-0.5 * z), weight, reduction)


def rho(z, alpha):
    """Barron's rho of a scalar z = (x/c)^2 for a scalar alpha (eq. 1, limits at 2, 0 and +-inf).

    Evaluated in 40-digit arithmetic (mpmath): the textbook form cancels catastrophically in float64 for α
    near 0 (``(1 + z/b)^{α/2} - 1`` with α = 1e-9 keeps only 7 digits).
    """
    with mpmath.workdps(40):
        z = mpmath.mpf(float(z))
        a = float(alpha)
        if a == 2.0:
            return float(z / 2)
        if a == 0.0:
            return float(mpmath.log(z / 2 + 1))
        if a == -math.inf:
            return float(1 - mpmath.exp(-z / 2))
        if a == math.inf:
            return float(mpmath.exp(z / 2) - 1)
        am = mpmath.mpf(a)
        b = abs(am - 2)
        return float(b / am * ((z / b + 1) ** (am / 2) - 1))


def _rho64(z, a):
    """rho in float64 for the quadrature (α away from 0 there, where the textbook form is accurate)."""
    if a == 2.0:
        return 0.5 * z
    if a == 0.0:
        return math.log1p(0.5 * z)
    b = abs(a - 2.0)
    return b / a * ((z / b + 1.0) ** (a / 2.0) - 1.0)


def log_partition(alpha):
    """log of the integral of exp(-rho(x, alpha, 1)) over the real line (alpha >= 0)."""
    a = float(alpha)
    value, _ = quad(lambda x: math.exp(-_rho64(x * x, a)), 0.0, math.inf, limit=400, epsabs=0.0, epsrel=1e-13)
    return math.log(2.0 * value)


def barron_loss(input, target, *, alpha=1.0, scale=1.0, nll=False, weight=None, reduction="mean"):
    """rho(x, alpha, c) elementwise (alpha and c broadcast into the input), + log c + log Z if nll."""
    x = _f64(input) - _f64(target)
    c = np.broadcast_to(_f64(scale), x.shape)
    a = np.broadcast_to(_f64(alpha), x.shape)
    z = (x / c) ** 2
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        v = float(rho(z[idx], a[idx]))
        if nll:
            v += math.log(c[idx]) + log_partition(a[idx])
        out[idx] = v
    return _reduce(out, weight, reduction)
