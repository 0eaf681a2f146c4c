"""Hand-derived values for the forecasting family: Tweedie, negative binomial, Student-t, CRPS, MAPE,
sMAPE, MASE, and the non-crossing penalty of quantile_loss (multi-level quantile forecasts).

Every expected number is derived in the comment next to it (or is a limit / integral of the definition);
none is copied from losskit's output.
"""

from __future__ import annotations

import math

import pytest
import torch

import losskit
import losskit.functional as LF

F64 = torch.float64


def t(*values):
    return torch.tensor(values, dtype=F64)


def test_tweedie_hand_values():
    # p = 1.5, μ = 4 (η = log 4), y = 1: a = 1 - p = -1/2, b = 2 - p = 1/2
    # D = 2 [y^b / (a b) - y μ^a / a + μ^b / b] = 2 [1/(-1/4) + (1/2)/(1/2) + 2/(1/2)] = 2 (-4 + 1 + 4) = 2
    eta, y = t(math.log(4.0)), t(1.0)
    assert LF.tweedie_loss(eta, y, power=1.5).item() == pytest.approx(2.0, abs=1e-14)
    # the NLL form drops y^b / (a b) and the factor 2: 1 + 4 = 5
    assert LF.tweedie_loss(eta, y, power=1.5, form="nll").item() == pytest.approx(5.0, abs=1e-14)
    # a zero target: D = 2 μ^b / b = 2 * 2 / (1/2) = 8
    assert LF.tweedie_loss(eta, t(0.0), power=1.5).item() == pytest.approx(8.0, abs=1e-14)


def test_tweedie_deviance_is_zero_at_the_target_and_tends_to_poisson():
    y = t(0.5, 1.0, 3.0, 10.0)
    for p in (1.1, 1.5, 1.9):
        d = LF.tweedie_loss(y.log(), y, power=p, reduction="none")
        assert torch.allclose(d, torch.zeros_like(d), atol=1e-12)
        assert bool((LF.tweedie_loss(y.log() + 0.3, y, power=p, reduction="none") > 0).all())
    # p -> 1: the Poisson deviance 2 [y log(y/μ) - y + μ]; the error is O(p - 1)
    mu = t(2.0, 0.5, 4.0, 7.0)
    poisson = 2.0 * (y * torch.log(y / mu) - y + mu)
    torch.testing.assert_close(
        LF.tweedie_loss(mu.log(), y, power=1.0 + 1e-7, reduction="none"), poisson, rtol=1e-5, atol=1e-6
    )


def test_negative_binomial_hand_values():
    # μ = 1 (η = 0), r = 1 is the geometric distribution p(y) = (1/2)^(y+1): y = 0 -> log 2, y = 2 -> log 8
    eta = t(0.0, 0.0)
    got = LF.negative_binomial_nll_loss(eta, t(0.0, 2.0), total_count=1.0, reduction="none")
    torch.testing.assert_close(got, t(math.log(2.0), math.log(8.0)))
    # the same through the dispersion α = 1/r, and through the mean itself
    torch.testing.assert_close(
        LF.negative_binomial_nll_loss(eta, t(0.0, 2.0), dispersion=1.0, reduction="none"), got
    )
    torch.testing.assert_close(
        LF.negative_binomial_nll_loss(
            eta.exp(), t(0.0, 2.0), total_count=1.0, log_input=False, reduction="none"
        ),
        got,
    )


def test_negative_binomial_poisson_limit():
    # r -> ∞: the Poisson NLL μ - y log μ + log y!, with an O((y - μ)²/r) error (about 1e-6 at r = 1e7 here;
    # the Gamma terms cancel to about 1e-16 · r lgamma(r), 3e-8 at r = 1e7)
    eta, y = t(-1.0, 0.5, 2.0), t(0.0, 3.0, 12.0)
    mu = eta.exp()
    poisson = mu - y * eta + torch.lgamma(y + 1.0)
    torch.testing.assert_close(
        LF.negative_binomial_nll_loss(eta, y, total_count=1e7, reduction="none"), poisson, rtol=0, atol=1e-5
    )
    # and the gradient in η is μ - y there (the Poisson score), computed without cancellation
    e = eta.clone().requires_grad_(True)
    LF.negative_binomial_nll_loss(e, y, dispersion=1e-12, reduction="sum").backward()
    torch.testing.assert_close(e.grad, mu - y, rtol=1e-9, atol=1e-9)


def test_negative_binomial_gradient_in_the_total_count():
    eta, y = t(0.3, -0.5, 1.2), t(1.0, 0.0, 6.0)
    r = t(0.7, 2.0, 5.0).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda r_: LF.negative_binomial_nll_loss(eta, y, total_count=r_, reduction="none"), (r,)
    )


def test_student_t_hand_values():
    # ν = 1 is the Cauchy density 1 / (π σ (1 + z²)): at z = 1, σ = 1, -log p = log(2π)
    assert LF.student_t_nll_loss(t(0.0), t(1.0), df=1.0, scale=1.0).item() == pytest.approx(
        math.log(2 * math.pi), abs=1e-14
    )
    # ν = 2, z = 0, σ = 2: p(0) = Γ(3/2) / (Γ(1) sqrt(2π) σ) = (√π/2) / (√(2π) · 2) = 1/(4√2) -> log(4√2)
    assert LF.student_t_nll_loss(t(0.0), t(0.0), df=2.0, log_scale=math.log(2.0)).item() == pytest.approx(
        math.log(4.0 * math.sqrt(2.0)), abs=1e-14
    )
    # ν -> ∞ tends to the Gaussian NLL ½ log(2π σ²) + z²/2 (error O(1/ν))
    gauss = 0.5 * math.log(2 * math.pi * 0.25) + 0.5 * (1.5 / 0.5) ** 2
    assert LF.student_t_nll_loss(t(0.0), t(1.5), df=1e8, scale=0.5).item() == pytest.approx(gauss, rel=1e-6)


def test_crps_gaussian_hand_values_and_limits():
    # z = 0: σ (2 φ(0) - 1/√π) = σ (√2 - 1)/√π
    assert LF.crps_gaussian_loss(t(0.0), t(0.0), scale=3.0).item() == pytest.approx(
        3.0 * (math.sqrt(2.0) - 1.0) / math.sqrt(math.pi), abs=1e-14
    )
    # σ -> 0 is the absolute error
    # (with the default eps = 1e-6 the clamped σ leaves 2.5 - 1e-6/√π)
    assert LF.crps_gaussian_loss(t(1.0), t(-1.5), scale=1e-12, eps=1e-14).item() == pytest.approx(
        2.5, abs=1e-12
    )
    assert LF.crps_gaussian_loss(t(1.0), t(-1.5), scale=1e-12).item() == pytest.approx(
        2.5 - 1e-6 / math.sqrt(math.pi), abs=1e-12
    )


@pytest.mark.parametrize(("mu", "sigma", "y"), [(0.0, 1.0, 0.3), (2.0, 0.5, -1.0), (-1.0, 3.0, 4.0)])
def test_crps_gaussian_equals_the_integral_of_its_definition(mu, sigma, y):
    # CRPS(F, y) = ∫_{-∞}^{y} F(x)² dx + ∫_{y}^{∞} (1 - F(x))² dx, each by the trapezoid rule on a fine grid
    # reaching 12σ past the mean (the tails left out are below e^-70)
    left = torch.linspace(min(mu, y) - 12 * sigma, y, 200_001, dtype=F64)
    right = torch.linspace(y, max(mu, y) + 12 * sigma, 200_001, dtype=F64)
    want = (
        torch.trapezoid(torch.special.ndtr((left - mu) / sigma) ** 2, left)
        + torch.trapezoid(torch.special.ndtr(-(right - mu) / sigma) ** 2, right)
    ).item()
    assert LF.crps_gaussian_loss(t(mu), t(y), scale=sigma).item() == pytest.approx(want, abs=1e-6)


def test_crps_ensemble_hand_values():
    # x = (0, 2), y = 1: skill (1 + 1)/2 = 1; Σ_ij |x_i - x_j| = 4; 4/(2·4) = 0.5 -> 0.5; fair 4/(2·2·1) = 1 -> 0
    x, y = t(0.0, 2.0)[None], t(1.0)
    assert LF.crps_ensemble_loss(x, y).item() == pytest.approx(0.5, abs=1e-15)
    assert LF.crps_ensemble_loss(x, y, fair=True).item() == pytest.approx(0.0, abs=1e-15)
    # one member is the absolute error
    assert LF.crps_ensemble_loss(t(3.5)[None], t(1.0)).item() == pytest.approx(2.5, abs=1e-15)
    # x = (0, 1, 5), y = 2: skill (2 + 1 + 3)/3 = 2; pairs 2 (1 + 5 + 4) = 20; 20/18 -> 2 - 10/9 = 8/9
    assert LF.crps_ensemble_loss(t(5.0, 0.0, 1.0)[None], t(2.0)).item() == pytest.approx(8.0 / 9.0, abs=1e-15)


def test_crps_ensemble_of_gaussian_draws_estimates_the_gaussian_crps():
    # the fair estimator is unbiased: E over draws of the fair CRPS of M draws equals the CRPS of N(0, 1)
    g = torch.Generator().manual_seed(5)
    members = torch.randn(4000, 8, generator=g, dtype=F64)
    y = torch.full((4000,), 0.7, dtype=F64)
    fair = LF.crps_ensemble_loss(members, y, fair=True).item()
    exact = LF.crps_gaussian_loss(t(0.0), t(0.7), scale=1.0).item()
    assert fair == pytest.approx(exact, abs=0.01)
    # the plain (empirical) one is biased upwards by E|X - X'| / (2M) = (2/√π) / 16
    plain = LF.crps_ensemble_loss(members, y).item()
    assert plain - fair == pytest.approx(2.0 / math.sqrt(math.pi) / 16.0, abs=0.005)


def test_crps_ensemble_is_invariant_to_member_order():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(5, 7, generator=g, dtype=F64), torch.randn(5, generator=g, dtype=F64)
    perm = torch.randperm(7, generator=g)
    for fair in (False, True):
        torch.testing.assert_close(
            LF.crps_ensemble_loss(x[:, perm], y, fair=fair, reduction="none"),
            LF.crps_ensemble_loss(x, y, fair=fair, reduction="none"),
        )


def test_modules_take_call_time_parameters():
    mu, y = t(0.0, 1.0), t(1.0, 1.0)
    crit = losskit.StudentTNLLLoss(df=1.0)
    torch.testing.assert_close(crit(mu, y, scale=1.0), LF.student_t_nll_loss(mu, y, df=1.0, scale=1.0))
    assert isinstance(losskit.get("crps"), losskit.CRPSEnsembleLoss)
    assert isinstance(losskit.get("nb_nll", total_count=2.0), losskit.NegativeBinomialNLLLoss)


# --- point-forecast errors ----------------------------------------------------------------------------


def test_mape_hand_values():
    # |100 - 110| / 100 = 0.1; |50 - 45| / 50 = 0.1; |-4 - 2| / |-4| = 1.5 (the floor is on |y|)
    f, y = t(110.0, 45.0, 2.0), t(100.0, 50.0, -4.0)
    torch.testing.assert_close(LF.mape_loss(f, y, reduction="none"), t(0.1, 0.1, 1.5))
    # y = 0: |ŷ| / ε, finite; with eps = 0.5: 3 / 0.5 = 6
    assert LF.mape_loss(t(3.0), t(0.0), eps=0.5).item() == pytest.approx(6.0)
    assert LF.mape_loss(t(3.0), t(0.0)).item() == pytest.approx(3.0 / torch.finfo(F64).eps)


def test_smape_hand_values_and_zero_over_zero():
    # 2 |50 - 150| / (50 + 150) = 1; 2 |7 - 0| / 7 = 2 (a zero forecast of a non-zero actual is the bound);
    # opposite signs: 2 |1 - (-3)| / (1 + 3) = 2; 2 |10 - 9| / 19 = 2/19
    f, y = t(150.0, 0.0, -3.0, 9.0), t(50.0, 7.0, 1.0, 10.0)
    torch.testing.assert_close(LF.smape_loss(f, y, reduction="none"), t(1.0, 2.0, 2.0, 2.0 / 19.0))
    # symmetric in forecast and actual
    torch.testing.assert_close(LF.smape_loss(y, f, reduction="none"), LF.smape_loss(f, y, reduction="none"))
    # y = ŷ = 0: 0/0 in the formula, 0 here, with a zero (not NaN) gradient
    z = t(0.0, 0.0).requires_grad_(True)
    out = LF.smape_loss(z, t(0.0, 0.0), reduction="none")
    assert out.tolist() == [0.0, 0.0]
    (g,) = torch.autograd.grad(out.sum(), z)
    assert g.tolist() == [0.0, 0.0]
    # both below ε: the denominator is ε, and the loss stays in [0, 2]: 2 * 1e-17 / eps(2.2e-16) ≈ 0.09
    tiny = LF.smape_loss(t(1e-17), t(0.0)).item()
    assert tiny == pytest.approx(2e-17 / torch.finfo(F64).eps) and 0.0 < tiny < 2.0


def test_mase_hand_values():
    # history [1, 3, 2, 4]: lag-1 naive errors |3-1|, |2-3|, |4-2| = 2, 1, 2 -> s = 5/3; errors 1 and 2 over a
    # horizon of 2 -> (1 + 2) / 2 / (5/3) = 0.9
    h = t(1.0, 3.0, 2.0, 4.0)[None]
    f, y = t(5.0, 2.0)[None], t(4.0, 4.0)[None]
    assert LF.mase_loss(f, y, history=h).item() == pytest.approx(0.9)
    torch.testing.assert_close(LF.mase_loss(f, y, history=h, reduction="none"), t(0.6, 1.2)[None])
    # seasonality 2: |2-1|, |4-3| = 1, 1 -> s = 1; the mean error 1.5 is the MASE
    assert LF.mase_loss(f, y, history=h, seasonality=2).item() == pytest.approx(1.5)
    # the same through a precomputed scale, one per series
    h2 = torch.stack([h[0], t(0.0, 10.0, 0.0, 10.0)])  # second series: s = 10
    f2, y2 = torch.cat([f, t(1.0, 1.0)[None]]), torch.cat([y, t(6.0, -4.0)[None]])
    want = t(0.6, 1.2, 0.5, 0.5)
    torch.testing.assert_close(LF.mase_loss(f2, y2, history=h2, reduction="none").flatten(), want)
    torch.testing.assert_close(
        LF.mase_loss(f2, y2, scale=t(5.0 / 3.0, 10.0)[:, None], reduction="none").flatten(), want
    )
    # a constant history: s = 0 is floored at eps, finite
    assert LF.mase_loss(t(1.0)[None], t(0.0)[None], history=t(2.0, 2.0, 2.0)[None], eps=0.25).item() == 4.0


def test_mase_scale_gets_no_gradient_from_the_history():
    h = t(1.0, 3.0, 2.0, 4.0)[None].requires_grad_(True)
    f = t(5.0)[None].requires_grad_(True)
    out = LF.mase_loss(f, t(4.0)[None], history=h)
    (gf,) = torch.autograd.grad(out, f)
    assert gf.item() == pytest.approx(0.6) and out.grad_fn is not None
    assert torch.autograd.grad(out, h, allow_unused=True)[0] is None


def test_point_modules_and_registry():
    f, y, h = t(5.0, 2.0)[None], t(4.0, 4.0)[None], t(1.0, 3.0, 2.0, 4.0)[None]
    torch.testing.assert_close(
        losskit.get("mase", seasonality=2)(f, y, history=h), LF.mase_loss(f, y, history=h, seasonality=2)
    )
    torch.testing.assert_close(losskit.MAPELoss(eps=1e-3)(f, y), LF.mape_loss(f, y, eps=1e-3))
    assert isinstance(losskit.get("smape"), losskit.SMAPELoss)


# --- multi-level quantile forecasts: the non-crossing penalty --------------------------------------


LEVELS = [0.1, 0.5, 0.9]


def test_crossing_penalty_is_zero_for_monotone_predictions():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(50, 3, generator=g, dtype=F64).sort(-1).values
    q[0] = 0.25  # ties are not crossings
    y = torch.randn(50, generator=g, dtype=F64)
    plain = LF.quantile_loss(q, y, quantiles=LEVELS, reduction="none")
    for lam in (0.5, 10.0):
        torch.testing.assert_close(
            LF.quantile_loss(q, y, quantiles=LEVELS, crossing_penalty=lam, reduction="none"),
            plain,
            rtol=0,
            atol=0,
        )


def test_crossing_penalty_hand_values():
    # predictions (8, 13, 10) against y = 10: pinball 0.1*2, 0.5*3, 0 = (0.2, 1.5, 0); the pair (0.5, 0.9) is
    # crossed by 13 - 10 = 3, charged to the 0.5 entry: λ = 2 adds 6
    q, y = t(8.0, 13.0, 10.0)[None], t(10.0)
    torch.testing.assert_close(
        LF.quantile_loss(q, y, quantiles=LEVELS, crossing_penalty=2.0, reduction="none"),
        t(0.2, 7.5, 0.0)[None],
    )
    # fully reversed (12, 10, 8): pinball 0.9*2, 0, 0.9*2; crossings 2 and 2 -> mean (1.8 + 2 + 2 + 1.8) / 3 at λ = 1
    assert LF.quantile_loss(
        t(12.0, 10.0, 8.0)[None], y, quantiles=LEVELS, crossing_penalty=1.0
    ).item() == pytest.approx(7.6 / 3.0)
    # the penalty's gradient pushes the lower level down and the upper one up
    x = t(8.0, 13.0, 10.0)[None].requires_grad_(True)
    extra = LF.quantile_loss(
        x, y, quantiles=LEVELS, crossing_penalty=1.0, reduction="sum"
    ) - LF.quantile_loss(x, y, quantiles=LEVELS, reduction="sum")
    (g,) = torch.autograd.grad(extra, x)
    torch.testing.assert_close(g, t(0.0, 1.0, -1.0)[None])


def test_crossing_penalty_needs_sorted_levels():
    q, y = torch.zeros(4, 3, dtype=F64), torch.zeros(4, dtype=F64)
    with pytest.raises(
        ValueError,
        match=r"^quantile_loss: crossing_penalty needs the quantiles in strictly "
        r"increasing order .*got \[0.5, 0.1, 0.9\]",
    ):
        LF.quantile_loss(q, y, quantiles=[0.5, 0.1, 0.9], crossing_penalty=1.0)
    # without the penalty any order is fine, and the Module takes the option
    LF.quantile_loss(q, y, quantiles=[0.5, 0.1, 0.9])
    crit = losskit.QuantileLoss(quantiles=LEVELS, crossing_penalty=1.0)
    torch.testing.assert_close(
        crit(t(8.0, 13.0, 10.0)[None], t(10.0)), t(4.7 / 3.0)[0]
    )  # (0.2 + 1.5 + 3) / 3


def test_gradient_descent_with_the_crossing_penalty_removes_crossings():
    # a degree-5 polynomial per level fitted to 20 noisy points: the plain pinball fits cross (the toy is
    # checked to cross), the penalised ones do not, at a small cost in pinball loss
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-1.0, 1.0, 20, dtype=F64)
    y = torch.sin(3.0 * x) + 0.3 * torch.randn(20, generator=g, dtype=F64)
    feats = torch.stack([x**k for k in range(6)], 1)
    levels = [0.1, 0.3, 0.5, 0.7, 0.9]

    def fit(lam: float) -> torch.Tensor:
        w = torch.zeros(6, 5, dtype=F64, requires_grad=True)
        opt = torch.optim.Adam([w], lr=0.15)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / 200)
        for _ in range(200):
            opt.zero_grad()
            LF.quantile_loss(feats @ w, y, quantiles=levels, crossing_penalty=lam).backward()
            opt.step()
            sched.step()
        return (feats @ w).detach()

    plain, penalised = fit(0.0), fit(1.0)
    crossing = lambda q: torch.relu(q[:, :-1] - q[:, 1:])  # noqa: E731
    assert crossing(plain).sum() > 0.1 and int((crossing(plain) > 0).sum()) >= 3
    assert crossing(penalised).max() < 1e-6
    pin = [LF.quantile_loss(q, y, quantiles=levels).item() for q in (plain, penalised)]
    assert pin[0] < pin[1] < 1.2 * pin[0]


def _nb_nll_f64(mu: float, y: float, r: float) -> float:
    """-log NB(y; r, p = μ/(r+μ)) in float64 from the pmf Γ(y+r)/(Γ(r) y!) (r/(r+μ))^r (μ/(r+μ))^y."""
    return (
        -math.lgamma(y + r)
        + math.lgamma(r)
        + math.lgamma(y + 1.0)
        + r * math.log1p(mu / r)
        - y * (math.log(mu) - math.log(r + mu))
    )


def _t_nll_f64(x: float, y: float, sigma: float, v: float) -> float:
    """-log Student-t(y; x, σ, ν) in float64 from its density."""
    z = (y - x) / sigma
    return (
        -math.lgamma(0.5 * (v + 1.0))
        + math.lgamma(0.5 * v)
        + 0.5 * math.log(v * math.pi)
        + math.log(sigma)
        + 0.5 * (v + 1.0) * math.log1p(z * z / v)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_near_poisson_and_gaussian_limits_are_accurate_in_float32(dtype: torch.dtype) -> None:
    """Near the Poisson limit (r = 1e6) and the Gaussian one (ν = 1e6) the lgamma difference is taken by
    Stirling's series: the plain difference of two lgamma values ~1.3e7 lost every float32 digit (a loss of
    5.85 for 5.58), and ``df=1e6`` with a float16 input became an inf tensor (a ValueError)."""
    eta = torch.tensor([0.5, 1.5, -0.3, 2.0])
    y = torch.tensor([0.0, 7.0, 1.0, 3.0])
    for r in (1e6, 3e4):
        got = LF.negative_binomial_nll_loss(eta.to(dtype), y.to(dtype), total_count=r, reduction="none")
        want = [_nb_nll_f64(math.exp(float(e)), float(t), r) for e, t in zip(eta.to(dtype).double(), y)]
        torch.testing.assert_close(
            got.double(), torch.tensor(want, dtype=torch.float64), rtol=1e-4, atol=1e-4
        )
    x, t = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([0.5, -1.0, 3.0])
    for v in (1e6, 5e4):
        got = LF.student_t_nll_loss(x.to(dtype), t.to(dtype), scale=0.8, df=v, reduction="none")
        want = [
            _t_nll_f64(float(a), float(b), 0.8, v) for a, b in zip(x.to(dtype).double(), t.to(dtype).double())
        ]
        torch.testing.assert_close(
            got.double(), torch.tensor(want, dtype=torch.float64), rtol=1e-4, atol=1e-4
        )
