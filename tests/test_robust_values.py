"""Hand-derived values for the robust regression family, Barron's special cases and its adaptive Module.

Every expected number is derived in the comment next to it (or is an exact closed form); none is copied
from losskit's output.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy.special import k1

import losskit
import losskit.functional as LF

F64 = torch.float64


def t(*values):
    return torch.tensor(values, dtype=F64)


X3, ZERO = t(3.0), t(0.0)


def test_charbonnier_pythagorean_values():
    # sqrt(3^2 + 4^2) = 5 (a 3-4-5 triangle); at a perfect prediction the value is eps itself
    assert LF.charbonnier_loss(X3, ZERO, eps=4.0).item() == pytest.approx(5.0, abs=1e-15)
    assert LF.charbonnier_loss(ZERO, ZERO, eps=4.0).item() == pytest.approx(4.0, abs=1e-15)
    # far from 0 it is |x| + eps^2 / (2|x|) + O(eps^4): x = 1e3, eps = 1 -> 1000.0005 - 1.25e-10
    big = LF.charbonnier_loss(t(1e3), ZERO, eps=1.0).item()
    assert big == pytest.approx(1000.0005 - 1.25e-10, abs=1e-11)


def test_cauchy_and_welsch_values():
    # cauchy: log(1 + 0.5 (x/c)^2) with x = 2, c = sqrt 2 -> log(1 + 1) = log 2
    assert LF.cauchy_loss(t(2.0), ZERO, scale=math.sqrt(2.0)).item() == pytest.approx(
        math.log(2.0), abs=1e-15
    )
    # welsch: 1 - exp(-0.5 (x/c)^2) with (x/c)^2 = 2 log 2 -> 1 - 1/2
    x = t(3.0 * math.sqrt(2.0 * math.log(2.0)))
    assert LF.welsch_loss(x, ZERO, scale=3.0).item() == pytest.approx(0.5, abs=1e-15)
    # tiny residual: 1 - exp(-z/2) ~ z/2 = 5e-21 (computing 1 - exp would give exactly 0)
    assert LF.welsch_loss(t(1e-10), ZERO).item() == pytest.approx(5e-21, rel=1e-12)


@pytest.mark.parametrize(
    ("alpha", "want"),
    [
        (2.0, 4.5),  # 0.5 * 9
        (1.0, math.sqrt(10.0) - 1.0),  # sqrt(9 + 1) - 1
        (0.0, math.log(5.5)),  # log(0.5 * 9 + 1)
        (-2.0, 18.0 / 13.0),  # b = 4: (4/-2) * ((9/4 + 1)^-1 - 1) = -2 * (4/13 - 1) = 18/13
        (-math.inf, 1.0 - math.exp(-4.5)),
        (4.0, 14.625),  # b = 2: (2/4) * ((9/2 + 1)^2 - 1) = 0.5 * 29.25
        (math.inf, math.expm1(4.5)),
    ],
)
def test_barron_special_cases_at_x_3(alpha, want):
    assert LF.barron_loss(X3, ZERO, alpha=alpha).item() == pytest.approx(want, rel=1e-14)
    # a tensor α gives the same (the exact α = 0, 2 branches and the general form elsewhere)
    if math.isfinite(alpha):
        assert LF.barron_loss(X3, ZERO, alpha=t(alpha)).item() == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_barron_is_continuous_at_the_special_points(as_tensor):
    def rho(a):
        return LF.barron_loss(X3, ZERO, alpha=t(a) if as_tensor else a).item()

    for a0, want in ((2.0, 4.5), (0.0, math.log(5.5))):
        for d in (1e-7, -1e-7, 1e-12, -1e-12):
            assert rho(a0 + d) == pytest.approx(want, rel=2e-6)
    # α -> -inf tends to Welsch: ρ(-1e6) differs from 1 - e^{-4.5} by O(1/|α|)
    assert rho(-1e6) == pytest.approx(1.0 - math.exp(-4.5), rel=1e-5)


def test_barron_contains_the_other_losses():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 3, generator=g, dtype=F64) * 3, torch.randn(40, 3, generator=g, dtype=F64)
    c = t(0.5, 1.0, 2.0)
    # Charbonnier minus eps is eps * ρ(x, 1, eps): sqrt(x² + ε²) - ε = ε (sqrt((x/ε)² + 1) - 1)
    eps = 0.3
    torch.testing.assert_close(
        LF.charbonnier_loss(x, y, eps=eps, reduction="none") - eps,
        eps * LF.barron_loss(x, y, alpha=1.0, scale=eps, reduction="none"),
    )
    torch.testing.assert_close(
        LF.cauchy_loss(x, y, scale=c, reduction="none"),
        LF.barron_loss(x, y, alpha=0.0, scale=c, reduction="none"),
    )
    torch.testing.assert_close(
        LF.welsch_loss(x, y, scale=c, reduction="none"),
        LF.barron_loss(x, y, alpha=-math.inf, scale=c, reduction="none"),
    )
    # α = 2 is half the squared error in units of c
    torch.testing.assert_close(
        LF.barron_loss(x, y, alpha=2.0, scale=c, reduction="none"), 0.5 * ((x - y) / c) ** 2
    )


def test_barron_is_nonnegative_and_increasing_in_alpha():
    # Barron 2019 §2: ρ >= 0 and ρ is monotonically non-decreasing in α
    x = torch.linspace(-20, 20, 201, dtype=F64)
    alphas = [-math.inf, -100.0, -2.0, -0.5, 0.0, 0.3, 1.0, 1.5, 2.0, 2.5]
    rows = torch.stack([LF.barron_loss(x, x * 0, alpha=a, reduction="none") for a in alphas])
    assert bool((rows >= 0).all())
    assert bool((rows[1:] - rows[:-1] >= -1e-12).all())


def test_log_partition_closed_forms():
    # Z(2) = ∫ e^{-x²/2} = sqrt(2π); Z(0) = ∫ 1/(1 + x²/2) = sqrt(2) π;
    # Z(1) = ∫ e^{1 - sqrt(x² + 1)} dx = e · 2 K_1(1) (the integral representation of the Bessel function K_1)
    assert LF.barron_log_partition(2.0).item() == pytest.approx(0.5 * math.log(2 * math.pi), abs=1e-13)
    assert LF.barron_log_partition(0.0).item() == pytest.approx(math.log(math.sqrt(2.0) * math.pi), abs=1e-13)
    assert LF.barron_log_partition(1.0).item() == pytest.approx(math.log(2 * math.e * k1(1.0)), abs=1e-13)
    a = t(0.0, 1.0, 2.0).requires_grad_(True)
    out = LF.barron_log_partition(a)
    out.sum().backward()
    assert out.shape == (3,) and bool(torch.isfinite(a.grad).all())
    # log Z grows with α in (0, 2)? No: ρ grows with α so Z shrinks: Z(0) > Z(1) > Z(2)
    assert out[0] > out[1] > out[2]
    with pytest.raises(ValueError, match=r"^barron_log_partition: alpha must be in \[0, inf\)"):
        LF.barron_log_partition(-0.5)


@pytest.mark.parametrize(("alpha", "scale"), [(1.5, 0.7), (0.6, 2.0), (2.0, 1.3)])
def test_nll_is_a_normalised_density(alpha, scale):
    # ∫ exp(-nll(x)) dx = 1: trapezoid rule on [-L, L] (α >= 0.6 has light enough tails for L = 4000 c)
    x = torch.linspace(-4000 * scale, 4000 * scale, 800_001, dtype=F64)
    dens = torch.exp(-LF.barron_loss(x, x * 0, alpha=alpha, scale=scale, nll=True, reduction="none"))
    mass = torch.trapezoid(dens, x).item()
    assert mass == pytest.approx(1.0, abs=2e-4 if alpha < 1 else 1e-8)


def test_gradients_in_alpha_and_scale():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(5, 3, generator=g, dtype=F64) * 2, torch.randn(5, 3, generator=g, dtype=F64)
    a = t(0.4, 1.3, -3.0).requires_grad_(True)
    c = t(0.6, 1.0, 2.5).requires_grad_(True)

    def f(a_, c_):
        return LF.barron_loss(x, y, alpha=a_, scale=c_, reduction="none")

    assert torch.autograd.gradcheck(f, (a, c))

    def f_nll(a_, c_):
        return LF.barron_loss(x[:2], y[:2], alpha=a_.abs(), scale=c_, nll=True, reduction="none")

    assert torch.autograd.gradcheck(f_nll, (a, c))


def test_compiles_with_a_tensor_alpha_and_the_nll():
    x, y = torch.randn(4, 3, dtype=F64), torch.randn(4, 3, dtype=F64)
    a, c = t(0.0, 1.0, 2.0), t(1.0, 2.0, 0.5)
    torch._dynamo.reset()
    compiled = torch.compile(LF.barron_loss, fullgraph=True, backend="aot_eager")
    for nll in (False, True):
        torch.testing.assert_close(
            compiled(x, y, alpha=a, scale=c, nll=nll), LF.barron_loss(x, y, alpha=a, scale=c, nll=nll)
        )


# --- the adaptive Module -----------------------------------------------------------------------------------


def test_module_initial_values_and_bounded_parametrisation():
    crit = losskit.BarronLoss()
    assert float(crit.alpha.detach()) == pytest.approx(1.0, abs=1e-7) and float(
        crit.scale.detach()
    ) == pytest.approx(1.0, abs=1e-7)
    assert {n for n, _ in crit.named_parameters()} == {"latent_alpha", "latent_scale"}
    with torch.no_grad():
        crit.latent_alpha.fill_(-60.0)
        crit.latent_scale.fill_(-60.0)
    assert float(crit.alpha.detach()) == pytest.approx(0.001, rel=1e-5) and float(
        crit.scale.detach()
    ) == pytest.approx(1e-5, rel=1e-5)
    with torch.no_grad():
        crit.latent_alpha.fill_(60.0)
    assert float(crit.alpha.detach()) == pytest.approx(1.999, rel=1e-6)
    per = losskit.BarronLoss(alpha=0.5, scale=2.0, num_features=3, alpha_range=(0.0, 3.0))
    assert per.alpha.shape == (3,) and torch.allclose(per.alpha, torch.full((3,), 0.5))
    assert torch.allclose(per.scale, torch.full((3,), 2.0))


def test_module_equals_the_function():
    x, y = torch.randn(6, 3, dtype=F64), torch.randn(6, 3, dtype=F64)
    fixed = losskit.BarronLoss(alpha=0.0, scale=0.5, learn_alpha=False, learn_scale=False, reduction="sum")
    assert not list(fixed.parameters())
    torch.testing.assert_close(
        fixed(x, y),
        LF.barron_loss(x, y, alpha=0.0, scale=0.5, reduction="sum").float().to(F64),
        rtol=1e-6,
        atol=1e-6,
    )
    learned = losskit.BarronLoss(num_features=3)
    torch.testing.assert_close(
        learned(x, y), LF.barron_loss(x, y, alpha=learned.alpha, scale=learned.scale, nll=True)
    )
    assert isinstance(losskit.get("barron"), losskit.BarronLoss)
    assert isinstance(losskit.get("adaptive_robust", learn_scale=False), losskit.BarronLoss)


def _fit(r: torch.Tensor) -> losskit.BarronLoss:
    crit = losskit.BarronLoss()
    opt = torch.optim.Adam(crit.parameters(), lr=0.1)
    for _ in range(120):
        opt.zero_grad()
        crit(r, torch.zeros_like(r)).backward()
        opt.step()
    return crit


def test_module_learns_the_noise_shape():
    # maximum likelihood over (α, c): Gaussian residuals (σ = 2) push α to the top of its range (L2 is the
    # Gaussian NLL) and c towards σ; Cauchy residuals (ρ at α = 0 is the Cauchy NLL, c = 1/√2 for unit
    # scale) push α towards 0
    g = torch.Generator().manual_seed(3)
    gauss = _fit(torch.randn(1000, generator=g) * 2.0)
    cauchy = _fit(torch.tan(math.pi * (torch.rand(1000, generator=g) - 0.5)))
    assert float(gauss.alpha.detach()) > 1.7 and 1.6 < float(gauss.scale.detach()) < 2.2
    assert float(cauchy.alpha.detach()) < 0.4 and 0.5 < float(cauchy.scale.detach()) < 1.1


def test_module_bad_options():
    with pytest.raises(ValueError, match=r"^BarronLoss: alpha must be in \(0.001, 1.999\), got 2.5"):
        losskit.BarronLoss(alpha=2.5)
    with pytest.raises(ValueError, match=r"^BarronLoss: alpha_range\[1\] must be in \(1, inf\)"):
        losskit.BarronLoss(alpha_range=(1.0, 0.5))
    with pytest.raises(ValueError, match=r"^BarronLoss: num_features must be None or a positive int"):
        losskit.BarronLoss(num_features=0)
    with pytest.raises(TypeError, match=r"^BarronLoss: learn_alpha must be a bool"):
        losskit.BarronLoss(learn_alpha="yes")
    with pytest.raises(ValueError, match=r"^BarronLoss: reduction must be one of"):
        losskit.BarronLoss(reduction="batchmean")
