"""Conformance of the regression family with torch.nn.functional and scikit-learn, conventions mapped.

Mappings (documented in the functions' docstrings):

* torch ``l1_loss``, ``mse_loss``, ``smooth_l1_loss(beta)``, ``huber_loss(delta)``: same formulas and
  argument meanings; ``huber(δ) = δ · smooth_l1(β=δ)`` holds for both libraries.
* torch ``gaussian_nll_loss(input, target, var, full, eps)``: same clamp (value only, gradient straight
  through); torch's "one dimension fewer" homoscedastic ``var`` of shape ``(N,)`` for an ``(N, D)`` input is
  ``var[:, None]`` in losskit (plain broadcasting only).
* **Decision pinned:** torch broadcasts an ``(N, 1)`` input against an ``(N,)`` target into ``(N, N)`` with a
  warning; losskit raises ``ValueError``.
* scikit-learn ``mean_absolute_error`` / ``mean_squared_error`` / ``mean_pinball_loss(alpha=τ)`` take
  ``(y_true, y_pred)`` (target first). ``multioutput="uniform_average"`` on ``(N, D)`` equals losskit's
  ``"mean"``; ``"raw_values"`` equals ``reduction="none"`` averaged over dim 0; ``sample_weight`` of shape
  ``(N,)`` equals losskit's ``weight[:, None]``. Several quantile levels: sklearn is called once per level.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from sklearn.metrics import mean_absolute_error, mean_pinball_loss, mean_squared_error

import losskit.functional as LF

F64 = torch.float64
RNG = np.random.default_rng(20240611)


def _data(*shape, scale=2.0):
    return (torch.as_tensor(RNG.normal(size=shape) * scale), torch.as_tensor(RNG.normal(size=shape) * scale))


def _both(ours, theirs, x, y, reduction):
    """Values and input gradients of two callables on the same inputs."""
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    a, b = ours(xa, y, reduction), theirs(xb, y, reduction)
    torch.testing.assert_close(a, b)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)


# ---------------------------------------------------------------------------------------------------------
# torch


PAIRS = {
    "l1": (lambda x, y, r: LF.l1_loss(x, y, reduction=r), lambda x, y, r: TF.l1_loss(x, y, reduction=r)),
    "mse": (lambda x, y, r: LF.mse_loss(x, y, reduction=r), lambda x, y, r: TF.mse_loss(x, y, reduction=r)),
    "smooth_l1-1": (
        lambda x, y, r: LF.smooth_l1_loss(x, y, reduction=r),
        lambda x, y, r: TF.smooth_l1_loss(x, y, reduction=r),
    ),
    "smooth_l1-1/9": (
        lambda x, y, r: LF.smooth_l1_loss(x, y, beta=1 / 9, reduction=r),
        lambda x, y, r: TF.smooth_l1_loss(x, y, beta=1 / 9, reduction=r),
    ),
    "smooth_l1-0": (
        lambda x, y, r: LF.smooth_l1_loss(x, y, beta=0.0, reduction=r),
        lambda x, y, r: TF.smooth_l1_loss(x, y, beta=0.0, reduction=r),
    ),
    "huber-1": (
        lambda x, y, r: LF.huber_loss(x, y, reduction=r),
        lambda x, y, r: TF.huber_loss(x, y, reduction=r),
    ),
    "huber-2.5": (
        lambda x, y, r: LF.huber_loss(x, y, delta=2.5, reduction=r),
        lambda x, y, r: TF.huber_loss(x, y, delta=2.5, reduction=r),
    ),
}


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_equals_torch(name, reduction):
    ours, theirs = PAIRS[name]
    x, y = _data(7, 5)
    _both(ours, theirs, x, y, reduction)


@pytest.mark.parametrize("delta", [0.25, 1.0, 3.0])
def test_torch_huber_vs_smooth_l1_factor(delta):
    # torch's convention, the same as losskit's: HuberLoss(delta) = delta * SmoothL1Loss(beta=delta)
    x, y = _data(50)
    torch.testing.assert_close(TF.huber_loss(x, y, delta=delta), delta * TF.smooth_l1_loss(x, y, beta=delta))
    torch.testing.assert_close(LF.huber_loss(x, y, delta=delta), TF.huber_loss(x, y, delta=delta))
    torch.testing.assert_close(LF.smooth_l1_loss(x, y, beta=delta), TF.smooth_l1_loss(x, y, beta=delta))


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_gaussian_nll_equals_torch(full, reduction):
    x, y = _data(6, 4)
    v = torch.as_tensor(RNG.uniform(0.1, 3.0, size=(6, 4)))
    v[0, :2] = 1e-9  # below eps: both clamp in value only and pass the gradient straight through
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    va, vb = v.clone().requires_grad_(True), v.clone().requires_grad_(True)
    a = LF.gaussian_nll_loss(xa, y, var=va, full=full, reduction=reduction)
    b = TF.gaussian_nll_loss(xb, y, vb, full=full, reduction=reduction)
    torch.testing.assert_close(a, b)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(va.grad, vb.grad)


def test_gaussian_nll_homoscedastic_var_mapping():
    # torch accepts var of shape (N,) for input (N, D) ("one dimension fewer"); losskit takes var[:, None]
    x, y = _data(5, 3)
    v = torch.as_tensor(RNG.uniform(0.5, 2.0, size=5))
    torch.testing.assert_close(LF.gaussian_nll_loss(x, y, var=v[:, None]), TF.gaussian_nll_loss(x, y, v))
    with pytest.raises(ValueError, match=r"^gaussian_nll_loss: var must have the input's shape \(5, 3\)"):
        LF.gaussian_nll_loss(x, y, var=v)
    # a log-variance gives the same as torch on exp(log_var)
    s = torch.as_tensor(RNG.normal(size=(5, 3)))
    torch.testing.assert_close(
        LF.gaussian_nll_loss(x, y, log_var=s, full=True), TF.gaussian_nll_loss(x, y, s.exp(), full=True)
    )


@pytest.mark.parametrize("fn", [LF.l1_loss, LF.mse_loss, LF.smooth_l1_loss, LF.huber_loss])
def test_decision_no_silent_broadcast_unlike_torch(fn):
    x = torch.zeros(4, 1, dtype=F64)
    y = torch.arange(4, dtype=F64)
    peer = getattr(TF, fn.__name__)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broadcast = peer(x, y, reduction="none")
    # torch only warns and then compares every prediction with every target: an (N, N) matrix
    assert broadcast.shape == (4, 4)
    assert any("different to the input size" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: target must have shape \(4, 1\)"):
        fn(x, y)
    # the intended pairing, after squeezing, agrees with torch
    torch.testing.assert_close(fn(x.squeeze(1), y), peer(x.squeeze(1), y))


# ---------------------------------------------------------------------------------------------------------
# scikit-learn


@pytest.mark.parametrize(
    ("ours", "theirs"), [(LF.l1_loss, mean_absolute_error), (LF.mse_loss, mean_squared_error)]
)
def test_equals_sklearn_with_multioutput_and_sample_weight(ours, theirs):
    x, y = _data(40, 3)
    yn, xn = y.numpy(), x.numpy()
    w = RNG.uniform(0.1, 3.0, size=40)
    # sklearn takes (y_true, y_pred)
    assert float(ours(x[:, 0], y[:, 0])) == pytest.approx(theirs(yn[:, 0], xn[:, 0]), rel=1e-12)
    # multioutput="uniform_average": the mean over outputs of per-output means = losskit's overall mean
    assert float(ours(x, y)) == pytest.approx(theirs(yn, xn, multioutput="uniform_average"), rel=1e-12)
    # multioutput="raw_values": per-output means = reduction "none" averaged over the samples
    np.testing.assert_allclose(
        ours(x, y, reduction="none").mean(0).numpy(), theirs(yn, xn, multioutput="raw_values"), rtol=1e-12
    )
    # sample_weight (N,) = losskit's weight[:, None] broadcast over outputs (mean divides by sum of weights)
    wt = torch.as_tensor(w)
    assert float(ours(x, y, weight=wt[:, None])) == pytest.approx(theirs(yn, xn, sample_weight=w), rel=1e-12)
    # explicit per-output weights = sklearn's multioutput weights on the raw per-output values
    ow = np.array([0.2, 0.5, 0.3])
    per_output = (ours(x, y, reduction="none").mean(0) * torch.as_tensor(ow)).sum() / ow.sum()
    assert float(per_output) == pytest.approx(theirs(yn, xn, multioutput=ow), rel=1e-12)


@pytest.mark.parametrize("tau", [0.05, 0.3, 0.5, 0.9])
def test_quantile_equals_sklearn_mean_pinball_loss(tau):
    x, y = _data(60)
    w = RNG.uniform(0.1, 3.0, size=60)
    assert float(LF.quantile_loss(x, y, quantiles=tau)) == pytest.approx(
        mean_pinball_loss(y.numpy(), x.numpy(), alpha=tau), rel=1e-12
    )
    assert float(LF.quantile_loss(x, y, quantiles=tau, weight=torch.as_tensor(w))) == pytest.approx(
        mean_pinball_loss(y.numpy(), x.numpy(), alpha=tau, sample_weight=w), rel=1e-12
    )
    # several outputs, one level: uniform_average and raw_values
    x2, y2 = _data(30, 4)
    assert float(LF.quantile_loss(x2, y2, quantiles=tau)) == pytest.approx(
        mean_pinball_loss(y2.numpy(), x2.numpy(), alpha=tau), rel=1e-12
    )
    np.testing.assert_allclose(
        LF.quantile_loss(x2, y2, quantiles=tau, reduction="none").mean(0).numpy(),
        mean_pinball_loss(y2.numpy(), x2.numpy(), alpha=tau, multioutput="raw_values"),
        rtol=1e-12,
    )


def test_quantile_levels_equal_sklearn_level_by_level():
    # losskit's trailing quantile dimension: one sklearn call per level; "mean" = the average over levels
    levels = [0.1, 0.5, 0.9]
    x, _ = _data(50, 3)
    y = torch.as_tensor(RNG.normal(size=50))
    per_level = [mean_pinball_loss(y.numpy(), x[:, q].numpy(), alpha=tau) for q, tau in enumerate(levels)]
    np.testing.assert_allclose(
        LF.quantile_loss(x, y, quantiles=levels, reduction="none").mean(0).numpy(), per_level, rtol=1e-12
    )
    assert float(LF.quantile_loss(x, y, quantiles=levels)) == pytest.approx(np.mean(per_level), rel=1e-12)
