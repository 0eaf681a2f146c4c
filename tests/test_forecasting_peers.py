"""The forecasting family against scikit-learn and torch.distributions, conventions mapped.

Mappings:

* scikit-learn ``mean_tweedie_deviance(y_true, y_pred, power=p, sample_weight=w)`` takes the mean μ and the
  target first: it equals ``tweedie_loss(log μ, y, power=p, form="deviance", weight=w)`` ("mean").
  ``form="nll"`` (XGBoost's / LightGBM's objective) is half the deviance minus ``y^{2-p}/((1-p)(2-p))``.
* ``torch.distributions.NegativeBinomial(total_count=r, logits=log μ - log r).log_prob(y)`` is the negated
  ``negative_binomial_nll_loss(log μ, y, total_count=r)`` (torch's ``probs`` is μ / (r + μ)).
* ``torch.distributions.StudentT(df, loc, scale).log_prob(y)`` is the negated ``student_t_nll_loss``.
* scikit-learn ``mean_absolute_percentage_error(y_true, y_pred, sample_weight=w)`` (a fraction, not a
  percentage; ε = float64's machine epsilon floors |y_true|) is ``mape_loss(y_pred, y_true, weight=w)``
  ("mean"); for ``(N, D)`` data its ``multioutput="uniform_average"`` is ``weight=w[:, None]`` and
  ``"raw_values"`` the per-column means. Targets of exactly 0 take sklearn's ε, the same default here.
  sMAPE and MASE have no installed peer (sktime / darts are not dependencies): hand values in
  tests/test_forecasting_values.py.
* CRPS: no peer is installed (properscoring and scoringrules are not dependencies); the Gaussian form is
  checked against the integral of its definition and the ensemble form against the double sum
  (tests/reference/forecasting.py) and against the Gaussian form (tests/test_forecasting_values.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_absolute_percentage_error, mean_tweedie_deviance

import losskit.functional as LF

F64 = torch.float64
RNG = np.random.default_rng(20261203)


@pytest.mark.parametrize("power", [1.05, 1.3, 1.5, 1.8, 1.99])
def test_tweedie_deviance_equals_sklearn(power):
    eta = torch.as_tensor(RNG.normal(size=200))
    y = torch.as_tensor(RNG.poisson(RNG.gamma(1.0, 2.0, size=200)).astype(np.float64))
    w = torch.as_tensor(RNG.uniform(0.1, 2.0, size=200))
    want = mean_tweedie_deviance(y.numpy(), eta.exp().numpy(), power=power)
    assert LF.tweedie_loss(eta, y, power=power).item() == pytest.approx(want, rel=1e-12)
    want_w = mean_tweedie_deviance(y.numpy(), eta.exp().numpy(), power=power, sample_weight=w.numpy())
    assert LF.tweedie_loss(eta, y, power=power, weight=w).item() == pytest.approx(want_w, rel=1e-12)
    # the NLL form is half the deviance minus a target-only term
    const = (y ** (2 - power) / ((1 - power) * (2 - power))).mean().item()
    assert LF.tweedie_loss(eta, y, power=power, form="nll").item() == pytest.approx(
        0.5 * want - const, rel=1e-10, abs=1e-10
    )


@pytest.mark.parametrize("r", [0.3, 1.0, 7.5])
def test_negative_binomial_equals_torch_distributions(r):
    eta = torch.as_tensor(RNG.normal(size=(20, 3)) * 1.5)
    y = torch.as_tensor(RNG.poisson(3.0, size=(20, 3)).astype(np.float64))
    ea, eb = eta.clone().requires_grad_(True), eta.clone().requires_grad_(True)
    ours = LF.negative_binomial_nll_loss(ea, y, total_count=r, reduction="none")
    theirs = -torch.distributions.NegativeBinomial(
        total_count=torch.tensor(r, dtype=F64), logits=eb - math.log(r)
    ).log_prob(y)
    torch.testing.assert_close(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    torch.testing.assert_close(ea.grad, eb.grad)
    # a per-element total count, given as the dispersion 1/r
    rr = torch.as_tensor(RNG.uniform(0.2, 10.0, size=(20, 3)))
    torch.testing.assert_close(
        LF.negative_binomial_nll_loss(eta, y, dispersion=1.0 / rr, reduction="none"),
        -torch.distributions.NegativeBinomial(total_count=rr, logits=eta - rr.log()).log_prob(y),
    )


@pytest.mark.parametrize("df", [0.7, 3.0, 40.0])
def test_student_t_equals_torch_distributions(df):
    mu, y = torch.as_tensor(RNG.normal(size=(15, 2)) * 2), torch.as_tensor(RNG.normal(size=(15, 2)) * 2)
    s = torch.as_tensor(RNG.uniform(0.2, 3.0, size=(15, 2)))
    nu = torch.full((15, 2), df, dtype=F64)
    ma, mb = mu.clone().requires_grad_(True), mu.clone().requires_grad_(True)
    sa, sb = s.clone().requires_grad_(True), s.clone().requires_grad_(True)
    na, nb = nu.clone().requires_grad_(True), nu.clone().requires_grad_(True)
    ours = LF.student_t_nll_loss(ma, y, df=na, scale=sa, reduction="none")
    theirs = -torch.distributions.StudentT(nb, mb, sb).log_prob(y)
    torch.testing.assert_close(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in ((ma, mb), (sa, sb), (na, nb)):
        torch.testing.assert_close(a.grad, b.grad)
    torch.testing.assert_close(
        LF.student_t_nll_loss(mu, y, df=df, log_scale=s.log(), reduction="none"), theirs.detach()
    )


def test_mape_equals_sklearn():
    y = torch.as_tensor(RNG.normal(size=300) * 3.0)
    y[:5] = 0.0  # sklearn floors |y| at float64's eps, as mape_loss's default eps
    y[5:8] = 1e-300
    f = torch.as_tensor(RNG.normal(size=300) * 3.0)
    f[0] = 0.0  # 0 / eps = 0 for an exact forecast of a zero
    w = torch.as_tensor(RNG.uniform(0.1, 2.0, size=300))
    assert LF.mape_loss(f, y).item() == pytest.approx(
        mean_absolute_percentage_error(y.numpy(), f.numpy()), rel=1e-12
    )
    want_w = mean_absolute_percentage_error(y.numpy(), f.numpy(), sample_weight=w.numpy())
    assert LF.mape_loss(f, y, weight=w).item() == pytest.approx(want_w, rel=1e-12)
    # another eps: sklearn's formula with that floor written out
    want_eps = np.mean(np.abs(f.numpy() - y.numpy()) / np.maximum(np.abs(y.numpy()), 0.5))
    assert LF.mape_loss(f, y, eps=0.5).item() == pytest.approx(want_eps, rel=1e-12)


def test_mape_equals_sklearn_multioutput():
    y = torch.as_tensor(RNG.uniform(0.5, 5.0, size=(40, 3)) * RNG.choice([-1.0, 1.0], size=(40, 3)))
    f = torch.as_tensor(RNG.normal(size=(40, 3)) * 4.0)
    w = torch.as_tensor(RNG.uniform(0.1, 2.0, size=40))
    want = mean_absolute_percentage_error(y.numpy(), f.numpy(), sample_weight=w.numpy())
    assert LF.mape_loss(f, y, weight=w[:, None]).item() == pytest.approx(want, rel=1e-12)
    raw = mean_absolute_percentage_error(y.numpy(), f.numpy(), multioutput="raw_values")
    np.testing.assert_allclose(LF.mape_loss(f, y, reduction="none").mean(0).numpy(), raw, rtol=1e-12)
