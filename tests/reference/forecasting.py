"""Independent float64 references for the forecasting family, written from the formulas (no scipy).

Tweedie: the unit deviance of Jørgensen (1987) in μ = exp(η); negative binomial: the probability mass
function Γ(y + r) / (Γ(r) y!) · (r/(r+μ))^r · (μ/(r+μ))^y; Student-t: its density; Gaussian CRPS: the closed
form of Gneiting & Raftery (2007) with ``math.erf``; ensemble CRPS: the double sum over member pairs,
written out as loops (no sorting trick). Elementwise loops use ``math.lgamma`` / ``math.erf``.
Reduction as tests/reference/regression.py.
"""

from __future__ import annotations

import math

import numpy as np

from tests.reference.regression import _f64, _reduce


def _elementwise(f, *arrays):
    arrays = np.broadcast_arrays(*[_f64(a) for a in arrays])
    out = np.empty(arrays[0].shape)
    for idx in np.ndindex(out.shape):
        out[idx] = f(*(float(a[idx]) for a in arrays))
    return out


def tweedie_loss(input, target, *, power=1.5, form="deviance", weight=None, reduction="mean"):
    """2 [y^{2-p}/((1-p)(2-p)) - y mu^{1-p}/(1-p) + mu^{2-p}/(2-p)], mu = exp(input); nll: the mu terms."""
    p = float(power)

    def one(eta, y):
        mu = math.exp(eta)
        nll = -y * mu ** (1 - p) / (1 - p) + mu ** (2 - p) / (2 - p)
        if form == "nll":
            return nll
        return 2.0 * (y ** (2 - p) / ((1 - p) * (2 - p)) + nll)

    return _reduce(_elementwise(one, input, target), weight, reduction)


def negative_binomial_nll_loss(
    input,
    target,
    *,
    total_count=None,
    dispersion=None,
    log_input=True,
    eps=1e-8,
    weight=None,
    reduction="mean",
):
    """-log of the NB pmf with mean mu and total count r (= 1 / dispersion)."""
    r_arr = _f64(total_count) if total_count is not None else 1.0 / _f64(dispersion)

    def one(x, y, r):
        mu = math.exp(x) if log_input else max(x, eps)
        logpmf = (
            math.lgamma(y + r)
            - math.lgamma(r)
            - math.lgamma(y + 1.0)
            + r * math.log(r / (r + mu))
            + y * math.log(mu / (r + mu))
        )
        return -logpmf

    return _reduce(_elementwise(one, input, target, r_arr), weight, reduction)


def student_t_nll_loss(
    input, target, *, df, scale=None, log_scale=None, eps=1e-6, weight=None, reduction="mean"
):
    """-log of the Student-t density with location input, scale sigma, df nu."""
    s = (
        np.maximum(_f64(scale), eps)
        if scale is not None
        else np.exp(np.maximum(_f64(log_scale), math.log(eps)))
    )

    def one(mu, y, sigma, nu):
        z = (y - mu) / sigma
        logpdf = (
            math.lgamma((nu + 1) / 2)
            - math.lgamma(nu / 2)
            - 0.5 * math.log(nu * math.pi)
            - math.log(sigma)
            - (nu + 1) / 2 * math.log(1 + z * z / nu)
        )
        return -logpdf

    return _reduce(_elementwise(one, input, target, s, df), weight, reduction)


def crps_gaussian_loss(input, target, *, scale=None, log_scale=None, eps=1e-6, weight=None, reduction="mean"):
    """sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)], z = (y - mu)/sigma."""
    s = (
        np.maximum(_f64(scale), eps)
        if scale is not None
        else np.exp(np.maximum(_f64(log_scale), math.log(eps)))
    )

    def one(mu, y, sigma):
        z = (y - mu) / sigma
        cdf2m1 = math.erf(z / math.sqrt(2.0))
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return sigma * (z * cdf2m1 + 2.0 * pdf - 1.0 / math.sqrt(math.pi))

    return _reduce(_elementwise(one, input, target, s), weight, reduction)


def crps_ensemble_loss(input, target, *, fair=False, weight=None, reduction="mean"):
    """(1/M) sum_i |x_i - y| - sum_{i,j} |x_i - x_j| / (2 M^2)   (fair: / (2 M (M - 1)))."""
    x, y = _f64(input), _f64(target)
    m = x.shape[-1]
    out = np.empty(y.shape)
    for idx in np.ndindex(y.shape):
        members = [float(v) for v in x[idx]]
        skill = sum(abs(v - float(y[idx])) for v in members) / m
        pairs = sum(abs(a - b) for a in members for b in members)
        out[idx] = skill - pairs / (2.0 * m * (m - 1) if fair else 2.0 * m * m)
    return _reduce(out, weight, reduction)
