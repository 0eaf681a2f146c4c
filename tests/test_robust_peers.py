"""Robust regression losses against kornia and torch (torch.distributions), conventions mapped.

Mappings:

* kornia ``charbonnier_loss(a, b)`` is Barron's α = 1 at c = 1, ``sqrt((a-b)² + 1) - 1``; losskit's
  Charbonnier is ``sqrt(x² + ε²)``, so ``charbonnier_loss(x, y, eps=ε) = ε · (kornia(x/ε, y/ε) + 1)``.
* kornia ``cauchy_loss`` / ``welsch_loss`` / ``geman_mcclure_loss`` have no scale (c = 1): losskit's with
  scale c equal kornia's on ``x / c, y / c``; Geman-McClure is ``barron_loss(alpha=-2)``.
* ``barron_loss(nll=True)`` is a negative log-density: at α = 2 that of ``Normal(μ, c)`` and at α = 0 that of
  ``Cauchy(μ, √2 c)`` (ρ(x, 0, c) = log(1 + x²/(2c²)) and Z(0) = √2 π), so torch.distributions' ``log_prob``
  is a peer for the normaliser too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from kornia.losses import cauchy_loss, charbonnier_loss, geman_mcclure_loss, welsch_loss

import losskit.functional as LF

F64 = torch.float64
RNG = np.random.default_rng(20261202)


def _data(*shape, scale=3.0):
    return (torch.as_tensor(RNG.normal(size=shape) * scale), torch.as_tensor(RNG.normal(size=shape) * scale))


def _values_and_grads(ours, theirs, x, y):
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    a, b = ours(xa, y), theirs(xb, y)
    torch.testing.assert_close(a, b)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)


@pytest.mark.parametrize("eps", [1.0, 0.05, 4.0])
def test_charbonnier_equals_kornia(eps):
    x, y = _data(7, 5)
    _values_and_grads(
        lambda a, b: LF.charbonnier_loss(a, b, eps=eps, reduction="none"),
        lambda a, b: eps * (charbonnier_loss(a / eps, b / eps, reduction="none") + 1.0),
        x,
        y,
    )


@pytest.mark.parametrize("scale", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cauchy_welsch_geman_mcclure_equal_kornia(scale, reduction):
    x, y = _data(6, 4)
    for ours, theirs in (
        (
            lambda a, b: LF.cauchy_loss(a, b, scale=scale, reduction=reduction),
            lambda a, b: cauchy_loss(a / scale, b / scale, reduction=reduction),
        ),
        (
            lambda a, b: LF.welsch_loss(a, b, scale=scale, reduction=reduction),
            lambda a, b: welsch_loss(a / scale, b / scale, reduction=reduction),
        ),
        (
            lambda a, b: LF.barron_loss(a, b, alpha=-2.0, scale=scale, reduction=reduction),
            lambda a, b: geman_mcclure_loss(a / scale, b / scale, reduction=reduction),
        ),
        (
            lambda a, b: LF.barron_loss(a, b, alpha=1.0, scale=scale, reduction=reduction),
            lambda a, b: charbonnier_loss(a / scale, b / scale, reduction=reduction),
        ),
        (
            lambda a, b: LF.barron_loss(a, b, alpha=0.0, scale=scale, reduction=reduction),
            lambda a, b: cauchy_loss(a / scale, b / scale, reduction=reduction),
        ),
        (
            lambda a, b: LF.barron_loss(a, b, alpha=-math.inf, scale=scale, reduction=reduction),
            lambda a, b: welsch_loss(a / scale, b / scale, reduction=reduction),
        ),
    ):
        _values_and_grads(ours, theirs, x, y)


def test_barron_alpha_2_is_half_torch_mse_in_units_of_c():
    x, y = _data(5, 3)
    c = 0.7
    _values_and_grads(
        lambda a, b: LF.barron_loss(a, b, alpha=2.0, scale=c),
        lambda a, b: 0.5 * torch.nn.functional.mse_loss(a / c, b / c),
        x,
        y,
    )


@pytest.mark.parametrize("c", [0.4, 1.0, 3.0])
def test_barron_nll_equals_torch_distributions(c):
    mu, y = _data(50)
    normal = -torch.distributions.Normal(mu, c).log_prob(y)
    torch.testing.assert_close(LF.barron_loss(mu, y, alpha=2.0, scale=c, nll=True, reduction="none"), normal)
    cauchy = -torch.distributions.Cauchy(mu, math.sqrt(2.0) * c).log_prob(y)
    torch.testing.assert_close(LF.barron_loss(mu, y, alpha=0.0, scale=c, nll=True, reduction="none"), cauchy)
    # a tensor α and scale (one per element) go through the general form + quadrature: same numbers
    a = torch.zeros(50, dtype=F64)
    torch.testing.assert_close(
        LF.barron_loss(mu, y, alpha=a, scale=torch.full((50,), c, dtype=F64), nll=True, reduction="none"),
        cauchy,
    )
