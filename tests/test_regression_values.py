"""Hand-derived values for the regression family, SPEC §2's worked examples, and its shape decision.

Every expected number is either a SPEC worked example (quoted to the digits SPEC gives) or derived in the
comment next to it; none is copied from losskit's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import losskit
import losskit.functional as LF
from tests.reference import regression as R

F64 = torch.float64


def t(*values, dtype=F64):
    return torch.tensor(values, dtype=dtype)


def val(x: torch.Tensor) -> float:
    return float(x.detach())


# ---------------------------------------------------------------------------------------------------------
# SPEC §2 worked examples

Y = t(1.5, -0.5, 2.0)
Y_HAT = t(1.0, 0.0, 3.5)


def test_l1_mse_spec_example():
    # errors 0.5, 0.5, 1.5: MAE = 2.5 / 3, MSE = (0.25 + 0.25 + 2.25) / 3 = 2.75 / 3
    assert val(LF.l1_loss(Y_HAT, Y)) == pytest.approx(0.833333333, abs=1e-9)
    assert val(LF.mse_loss(Y_HAT, Y)) == pytest.approx(0.916666667, abs=1e-9)
    assert val(LF.l1_loss(Y_HAT, Y, reduction="sum")) == pytest.approx(2.5, abs=1e-12)
    assert val(LF.mse_loss(Y_HAT, Y, reduction="sum")) == pytest.approx(2.75, abs=1e-12)


def test_weighted_mean_divides_by_the_weights():
    # w = [1, 0, 3]: L1 = (1*0.5 + 0*0.5 + 3*1.5) / (1 + 0 + 3) = 5 / 4
    assert val(LF.l1_loss(Y_HAT, Y, weight=t(1.0, 0.0, 3.0))) == pytest.approx(1.25, abs=1e-12)
    # all weights zero: 0, not NaN, and backward still works
    x = Y_HAT.clone().requires_grad_(True)
    out = LF.mse_loss(x, Y, weight=t(0.0, 0.0, 0.0))
    out.backward()
    assert val(out) == 0.0 and torch.equal(x.grad, torch.zeros(3, dtype=F64))


def test_smooth_l1_spec_example_and_both_branches():
    # beta = 1/9, x = 0.5 >= beta: |x| - beta/2 = 0.5 - 1/18 = 0.444444444
    assert val(LF.smooth_l1_loss(t(0.5), t(0.0), beta=1 / 9)) == pytest.approx(0.444444444, abs=1e-9)
    # x = 0.1 < beta: 0.5 x^2 / beta = 0.5 * 0.01 * 9 = 0.045
    assert val(LF.smooth_l1_loss(t(0.1), t(0.0), beta=1 / 9)) == pytest.approx(0.045, abs=1e-12)
    # beta = 0 is L1 exactly
    x, y = torch.randn(20, dtype=F64), torch.randn(20, dtype=F64)
    torch.testing.assert_close(LF.smooth_l1_loss(x, y, beta=0.0), LF.l1_loss(x, y))


def test_huber_spec_example_and_both_branches():
    # delta = 2, x = 3 > delta: delta (|x| - delta/2) = 2 * (3 - 1) = 4
    assert val(LF.huber_loss(t(3.0), t(0.0), delta=2.0)) == pytest.approx(4.0, abs=1e-12)
    # x = -1.5 inside: 0.5 x^2 = 1.125 ; the gradient outside is ±delta (linear on both tails)
    assert val(LF.huber_loss(t(-1.5), t(0.0), delta=2.0)) == pytest.approx(1.125, abs=1e-12)
    x = t(-5.0, 5.0).requires_grad_(True)
    LF.huber_loss(x, t(0.0, 0.0), delta=2.0, reduction="sum").backward()
    torch.testing.assert_close(x.grad, t(-2.0, 2.0))


@pytest.mark.parametrize("delta", [0.1, 0.5, 1.0, 2.0, 7.0])
def test_huber_is_delta_times_smooth_l1(delta):
    x, y = torch.randn(50, dtype=F64) * 3, torch.randn(50, dtype=F64)
    torch.testing.assert_close(
        LF.huber_loss(x, y, delta=delta, reduction="none"),
        delta * LF.smooth_l1_loss(x, y, beta=delta, reduction="none"),
    )


def test_quantile_spec_example():
    # tau = 0.9, y = 10: y_hat = 8 under-predicts, u = 2 -> 0.9 * 2 = 1.8; y_hat = 12, u = -2 -> 0.1 * 2 = 0.2
    out = LF.quantile_loss(t(8.0, 12.0), t(10.0, 10.0), quantiles=0.9, reduction="none")
    torch.testing.assert_close(out, t(1.8, 0.2))


def test_quantile_median_is_half_the_mae():
    # rho_0.5(u) = |u| / 2 (SPEC: the note's "equals MAE" is off by 1/2)
    x, y = torch.randn(40, dtype=F64), torch.randn(40, dtype=F64)
    torch.testing.assert_close(LF.quantile_loss(x, y), 0.5 * LF.l1_loss(x, y))


def test_quantile_levels_on_a_trailing_dimension():
    # the sequence form equals the scalar form applied to each slice input[..., q]
    rng = np.random.default_rng(3)
    levels = [0.05, 0.5, 0.8, 0.95]
    x = torch.as_tensor(rng.normal(size=(5, 2, 4)))
    y = torch.as_tensor(rng.normal(size=(5, 2)))
    out = LF.quantile_loss(x, y, quantiles=levels, reduction="none")
    assert out.shape == (5, 2, 4)
    for q, tau in enumerate(levels):
        torch.testing.assert_close(
            out[..., q], LF.quantile_loss(x[..., q], y, quantiles=tau, reduction="none")
        )
    # "mean" averages over samples and levels alike
    torch.testing.assert_close(LF.quantile_loss(x, y, quantiles=levels), out.mean())


def test_log_cosh_spec_example_and_stability():
    # log cosh 2 = log(3.76219569) = 1.32500275 ; log cosh 50 = 50 - log 2 + log1p(e^-100) = 49.3068528
    out = LF.log_cosh_loss(t(2.0, 50.0), t(0.0, 0.0), reduction="none")
    np.testing.assert_allclose(out.numpy(), [1.32500275, 49.3068528], rtol=1e-8)  # SPEC's 9 digits
    # |x| = 1e4: log cosh x = 1e4 - log 2 exactly in floating point; the naive log(cosh(x)) is inf
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([1e4, -1e4], dtype=dtype, requires_grad=True)
        out = LF.log_cosh_loss(x, torch.zeros(2, dtype=dtype), reduction="none")
        np.testing.assert_allclose(out.detach().numpy(), [1e4 - math.log(2)] * 2, rtol=1e-6)
        out.sum().backward()  # d/dx log cosh x = tanh x = ±1
        np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0])
        assert torch.isinf(torch.log(torch.cosh(x.detach()))).all()


def test_log_cosh_gradient_is_tanh():
    x = torch.linspace(-30, 30, 121, dtype=F64).requires_grad_(True)
    LF.log_cosh_loss(x, torch.zeros_like(x), reduction="sum").backward()
    torch.testing.assert_close(x.grad, torch.tanh(x.detach()))


def test_gaussian_nll_spec_example():
    # 0.5 [log 0.25 + 0.25 / 0.25] = 0.5 (1 - 1.386294361) = -0.193147181 ; full adds 0.5 log 2 pi = 0.918938533
    mu, y, v = t(0.5), t(1.0), t(0.25)
    assert val(LF.gaussian_nll_loss(mu, y, var=v)) == pytest.approx(-0.193147181, abs=1e-9)
    assert val(LF.gaussian_nll_loss(mu, y, var=v, full=True)) == pytest.approx(0.725791353, abs=1e-9)
    assert val(LF.gaussian_nll_loss(mu, y, log_var=v.log())) == pytest.approx(-0.193147181, abs=1e-9)
    assert val(LF.gaussian_nll_loss(mu, y, var=0.25)) == pytest.approx(-0.193147181, abs=1e-9)


def test_laplace_nll_spec_example():
    # |r| / b + log 2b = 0.5 / 0.8 + log 1.6 = 0.625 + 0.470003629 = 1.095003629 ; full=False drops log 2
    mu, y, b = t(0.5), t(1.0), t(0.8)
    assert val(LF.laplace_nll_loss(mu, y, scale=b)) == pytest.approx(1.095003629, abs=1e-9)
    assert val(LF.laplace_nll_loss(mu, y, log_scale=b.log())) == pytest.approx(1.095003629, abs=1e-9)
    assert val(LF.laplace_nll_loss(mu, y, scale=b, full=False)) == pytest.approx(
        1.095003629 - math.log(2), abs=1e-9
    )


# ---------------------------------------------------------------------------------------------------------
# the variance / scale parametrisations


@pytest.mark.parametrize(
    ("fn", "lin", "log"),
    [
        (LF.gaussian_nll_loss, "var", "log_var"),
        (LF.laplace_nll_loss, "scale", "log_scale"),
    ],
)
def test_linear_and_log_spread_agree_in_value_and_gradient(fn, lin, log):
    rng = np.random.default_rng(0)
    x, y = torch.as_tensor(rng.normal(size=(7, 3))), torch.as_tensor(rng.normal(size=(7, 3)))
    s = torch.as_tensor(rng.normal(size=(7, 3)) * 4.0)  # includes log-spreads below log(eps) = -13.8
    s[0, 0] = -20.0
    s_log = s.clone().requires_grad_(True)
    v = s.exp().requires_grad_(True)
    a = fn(x, y, **{log: s_log}, reduction="none")
    b = fn(x, y, **{lin: v}, reduction="none")
    torch.testing.assert_close(a, b)
    a.sum().backward()
    b.sum().backward()
    # chain rule d/ds = d/dv * v where the clamp is inactive; where it is active both gradients are taken at
    # the clamp (straight through), so d/ds = d/dv * eps
    eps = 1e-6
    torch.testing.assert_close(s_log.grad, v.grad * v.detach().clamp_min(eps))
    assert bool((v.detach() < eps).any())


@pytest.mark.parametrize(
    ("fn", "lin", "log"),
    [
        (LF.gaussian_nll_loss, "var", "log_var"),
        (LF.laplace_nll_loss, "scale", "log_scale"),
    ],
)
def test_gradcheck_with_respect_to_the_spread(fn, lin, log):
    rng = np.random.default_rng(1)
    x, y = torch.as_tensor(rng.normal(size=(4, 2))), torch.as_tensor(rng.normal(size=(4, 2)))
    x = torch.where((x - y).abs() < 0.05, x + 0.3, x)  # away from the kink of |r| (Laplace)
    v = torch.as_tensor(rng.uniform(0.3, 2.0, size=(4, 2))).requires_grad_(True)
    s = torch.as_tensor(rng.normal(size=(2,))).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda xx, vv: fn(xx, y, **{lin: vv}, reduction="none"), (x.clone().requires_grad_(True), v)
    )
    assert torch.autograd.gradcheck(
        lambda xx, ss: fn(xx, y, **{log: ss}, reduction="none"), (x.clone().requires_grad_(True), s)
    )


def test_variance_clamp_is_value_only():
    # var = 1e-9 < eps = 1e-6: the value uses eps, 0.5 (log 1e-6 + r^2 / 1e-6) ; the gradient with respect to
    # var is the one at eps, 0.5 (1/eps - r^2/eps^2) (straight through the clamp, as torch does)
    r, eps = 1e-3, 1e-6
    v = t(1e-9).requires_grad_(True)
    out = LF.gaussian_nll_loss(t(r), t(0.0), var=v)
    assert val(out) == pytest.approx(0.5 * (math.log(eps) + r * r / eps), rel=1e-12)
    out.backward()
    assert float(v.grad) == pytest.approx(0.5 * (1 / eps - r * r / eps**2), rel=1e-9)


def test_gaussian_log_var_extremes_are_finite():
    x = t(1e4, -1e4, 0.0).requires_grad_(True)
    s = t(-1e4, 1e4, -50.0).requires_grad_(True)
    out = LF.gaussian_nll_loss(x, torch.zeros(3, dtype=F64), log_var=s, reduction="sum")
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all() and torch.isfinite(s.grad).all()


# ---------------------------------------------------------------------------------------------------------
# minimisers: which statistic each loss estimates (a grid search over a constant prediction)


def _argmin_constant(loss, y: torch.Tensor, grid: torch.Tensor, **kw) -> float:
    values = torch.stack([loss(torch.full_like(y, float(c)), y, **kw) for c in grid])
    return float(grid[values.argmin()])


def test_mse_estimates_the_mean_l1_the_median_quantile_the_quantile():
    # SPEC §6.3: 95 % of targets at 1000 and 5 % at 10 -> the MSE-optimal constant is the mean 950.5
    y = torch.cat([torch.full((95,), 1000.0, dtype=F64), torch.full((5,), 10.0, dtype=F64)])
    grid = torch.arange(0.0, 1001.0, 0.5, dtype=F64)
    assert _argmin_constant(LF.mse_loss, y, grid) == pytest.approx(950.5)
    assert _argmin_constant(LF.l1_loss, y, grid) == pytest.approx(1000.0)
    # tau = 0.03 sits below the 5 % mass at 10: the 3 % quantile is 10
    assert _argmin_constant(LF.quantile_loss, y, grid, quantiles=0.03) == pytest.approx(10.0)


# ---------------------------------------------------------------------------------------------------------
# SPEC decision: input and target shapes must match exactly

ALL = [
    (LF.l1_loss, {}),
    (LF.mse_loss, {}),
    (LF.smooth_l1_loss, {}),
    (LF.huber_loss, {}),
    (LF.quantile_loss, {}),
    (LF.log_cosh_loss, {}),
    (LF.gaussian_nll_loss, {"var": 1.0}),
    (LF.laplace_nll_loss, {"scale": 1.0}),
]


@pytest.mark.parametrize(("fn", "kw"), ALL, ids=[f.__name__ for f, _ in ALL])
def test_n1_against_n_is_an_error_not_a_broadcast(fn, kw):
    x, y = torch.randn(8, 1), torch.randn(8)
    with pytest.raises(
        ValueError, match=rf"^{fn.__name__}: target must have shape \(8, 1\) \(the input's shape"
    ):
        fn(x, y, **kw)
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: target must have shape \(8,\)"):
        fn(y, x, **kw)


def test_modules_and_registry():
    assert losskit.get("mae").__class__ is losskit.L1Loss
    assert isinstance(losskit.get("pinball", quantiles=[0.1, 0.9]), losskit.QuantileLoss)
    for name in ("l1", "mse", "smooth_l1", "huber", "quantile", "log_cosh", "gaussian_nll", "laplace_nll"):
        assert name in losskit.available()
    # the predicted variance is passed at call time and overrides nothing stored
    mu, y, v = torch.randn(5, dtype=F64), torch.randn(5, dtype=F64), torch.rand(5, dtype=F64) + 0.5
    torch.testing.assert_close(
        losskit.GaussianNLLLoss(full=True)(mu, y, var=v), LF.gaussian_nll_loss(mu, y, var=v, full=True)
    )
    with pytest.raises(TypeError, match="unknown option"):
        losskit.HuberLoss(beta=1.0)


def test_half_precision_returns_float32_and_matches_the_reference():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(64,)) * 100, rng.normal(size=(64,)) * 100
    xh, yh = torch.tensor(x, dtype=torch.float16), torch.tensor(y, dtype=torch.float16)
    out = LF.mse_loss(xh, yh)  # squares up to ~1e5 overflow float16 (max 65504) but not float32
    assert out.dtype == torch.float32 and torch.isfinite(out)
    want = R.mse_loss(xh.double().numpy(), yh.double().numpy())
    assert float(out) == pytest.approx(want, rel=1e-5)


# ---------------------------------------------------------------------------------------------------------
# the float64 reference itself reproduces SPEC's worked examples (it anchors the battery's comparisons)


def test_reference_reproduces_spec_examples():
    y, y_hat = [1.5, -0.5, 2.0], [1.0, 0.0, 3.5]
    assert R.l1_loss(y_hat, y) == pytest.approx(0.833333333, abs=1e-9)
    assert R.mse_loss(y_hat, y) == pytest.approx(0.916666667, abs=1e-9)
    assert R.smooth_l1_loss([0.5], [0.0], beta=1 / 9) == pytest.approx(0.444444444, abs=1e-9)
    assert R.huber_loss([3.0], [0.0], delta=2.0) == pytest.approx(4.0)
    np.testing.assert_allclose(
        R.quantile_loss([8.0, 12.0], [10.0, 10.0], quantiles=0.9, reduction="none"), [1.8, 0.2]
    )
    np.testing.assert_allclose(
        R.log_cosh_loss([2.0, 50.0], [0.0, 0.0], reduction="none"), [1.32500275, 49.3068528], rtol=1e-8
    )
    assert R.gaussian_nll_loss([0.5], [1.0], var=[0.25]) == pytest.approx(-0.193147181, abs=1e-9)
    assert R.gaussian_nll_loss([0.5], [1.0], var=[0.25], full=True) == pytest.approx(0.725791353, abs=1e-9)
    assert R.laplace_nll_loss([0.5], [1.0], scale=[0.8]) == pytest.approx(1.095003629, abs=1e-9)
    codec = LF.MultiBinCodec(2, overlap=0.3)
    z, r = [[0.3, 0.1]], [[[0.1, 0.9], [0.2, -0.9]]]
    assert R.multibin_loss(z, r, [1.5], codec=codec, loc_weight=0.0) == pytest.approx(0.598138869, abs=1e-9)
    assert R.multibin_loss(z, r, [1.5], codec=codec) == pytest.approx(0.598138869 + 0.021198848, abs=1e-9)
    assert float(R.multibin_decode(z, r, codec=codec)[0]) == pytest.approx(1.46013911, abs=1e-8)
