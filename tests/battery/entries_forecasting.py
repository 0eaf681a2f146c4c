"""Battery entries for the forecasting family: Tweedie, negative binomial, Student-t, Gaussian and ensemble CRPS."""

from __future__ import annotations

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.battery.entries_regression import D, N, _elementwise_errors, _randn, _xy
from tests.reference import forecasting as R


def _counts(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    y = rng.poisson(rng.gamma(1.0, 3.0, size=shape)).astype(np.float64)
    y.flat[0] = 0.0
    return t64(y)


def _count_errors(fn: str, **kw) -> list[ErrorCase]:
    x, y = _randn(N, seed=31), _randn(N, seed=32).abs().round()
    return [
        ErrorCase((x[:, None], y), kw, ValueError, rf"^{fn}: target must have shape \(6, 1\)", "N1-vs-N"),
        ErrorCase((x, y[:3]), kw, ValueError, rf"^{fn}: target must have shape \(6,\)", "length"),
        ErrorCase(
            (x.long(), y), kw, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase((x, [1.0] * N), kw, TypeError, rf"^{fn}: target must be a torch.Tensor", "list-target"),
        ErrorCase((x, y > 0), kw, TypeError, rf"^{fn}: target must be a real", "bool-target"),
        ErrorCase((x, y - 5.0), kw, ValueError, rf"^{fn}: target must be non-negative", "negative-target"),
        ErrorCase(
            (x, y),
            {**kw, "weight": torch.ones(2, N)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight-big",
        ),
        ErrorCase(
            (x, y),
            {**kw, "weight": -torch.ones(N)},
            ValueError,
            rf"^{fn}: weight must be non-negative",
            "weight-neg",
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y), kw, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
        ErrorCase(
            (x, y),
            {**kw, "reduction": "batchmean"},
            ValueError,
            rf"^{fn}: reduction must be one of",
            "reduction",
        ),
    ]


def _empty(**kw):
    return lambda: Sample(
        (torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, D, dtype=torch.float64)), kw
    )


# --- Tweedie ------------------------------------------------------------------------------------------


def _tweedie_samples() -> list[Sample]:
    rng = rng_for("tweedie")
    eta = t64(rng.normal(size=(N, D)))
    y = _counts(rng, N, D)
    w = t64(rng.uniform(0.1, 2.0, size=(N, D)))
    return [
        Sample((eta, y), {}, "basic"),
        Sample((eta, y), {"power": 1.1}, "p1.1"),
        Sample((eta, y), {"power": 1.9}, "p1.9"),
        Sample((eta, y), {"form": "nll"}, "nll"),
        Sample((eta, y), {"power": 1.3, "form": "nll"}, "nll-p1.3"),
        Sample((eta, y), {"weight": w}, "weight", plain=False),
        Sample((eta, y.long()), {}, "int-target"),
        Sample((eta * 3.0, y * 0.0), {}, "all-zero-targets"),
        Sample((eta[:, 0], y[:, 0]), {}, "1d"),
        Sample((eta[:1, :1], y[:1, :1]), {"power": 1.7}, "batch-of-one"),
    ]


def _tweedie_errors() -> list[ErrorCase]:
    fn = "tweedie_loss"
    x, y = _randn(N, seed=33), _randn(N, seed=34).abs()
    return [
        *_count_errors(fn),
        ErrorCase((x, y), {"power": 1.0}, ValueError, rf"^{fn}: power must be in \(1, 2\), got 1.0", "p1"),
        ErrorCase((x, y), {"power": 2}, ValueError, rf"^{fn}: power must be in \(1, 2\), got 2", "p2"),
        ErrorCase((x, y), {"power": "1.5"}, TypeError, rf"^{fn}: power must be a number", "p-str"),
        ErrorCase(
            (x, y),
            {"form": "half_deviance"},
            ValueError,
            rf"^{fn}: form must be one of \('deviance', 'nll'\)",
            "form",
        ),
    ]


def _tweedie_extremes() -> list[Sample]:
    eta = t64([[50.0, -50.0, 0.0, 30.0], [-50.0, 50.0, 1e-300, -30.0]])
    y = t64([[0.0, 0.0, 1e6, 1e6], [1e6, 1e6, 0.0, 3.0]])
    return [
        Sample((eta, y), {"power": p, "form": f}, f"p{p}-{f}")
        for p in (1.01, 1.5, 1.99)
        for f in ("deviance", "nll")
    ]


def _tweedie_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 4)))
    eta = t64(np.clip(rng.normal(size=shape) * scale, -30.0, 30.0))  # μ = e^η must stay representable
    y = t64(rng.poisson(3.0, size=shape) * rng.uniform(0, min(scale, 1e3)))
    return Sample(
        (eta, y), {"power": float(rng.uniform(1.01, 1.99)), "form": str(rng.choice(["deviance", "nll"]))}
    )


# --- negative binomial ------------------------------------------------------------------------------------


def _nb_samples() -> list[Sample]:
    rng = rng_for("negative_binomial")
    eta = t64(rng.normal(size=(N, D)) * 1.5)
    y = _counts(rng, N, D)
    r = t64(rng.uniform(0.3, 8.0, size=(N, D)))
    mu0 = eta.exp()
    mu0[0, 0] = 0.0  # a zero mean against a zero count: clamped at eps, finite
    return [
        Sample((eta, y), {"total_count": 2.0}, "r-number"),
        Sample((eta, y), {"total_count": r}, "r-tensor"),
        Sample((eta, y), {"total_count": t64([0.5, 1.0, 20.0])}, "r-per-feature"),
        Sample((eta, y), {"dispersion": 0.4}, "alpha-number"),
        Sample((eta, y), {"dispersion": 1.0 / r}, "alpha-tensor"),
        Sample((eta, y), {"dispersion": 1e-6}, "near-poisson"),
        Sample((eta.exp(), y), {"total_count": r, "log_input": False}, "mean-input"),
        Sample((mu0, y), {"total_count": 3.0, "log_input": False}, "zero-mean", grad=False),
        Sample((eta, y.long()), {"total_count": r}, "int-target"),
        Sample(
            (eta, y),
            {"total_count": r, "weight": t64(rng.uniform(0.1, 2, size=(N, 1)))},
            "weight",
            plain=False,
        ),
        Sample((eta[:1, :1], y[:1, :1]), {"total_count": 1.0}, "batch-of-one"),
    ]


def _nb_errors() -> list[ErrorCase]:
    fn = "negative_binomial_nll_loss"
    x, y = _randn(N, D, seed=35), _randn(N, D, seed=36).abs().round()
    return [
        *_count_errors(fn, total_count=1.0),
        ErrorCase(
            (x, y),
            {},
            ValueError,
            rf"^{fn}: give exactly one of total_count= or dispersion=, got neither",
            "neither",
        ),
        ErrorCase(
            (x, y),
            {"total_count": 1.0, "dispersion": 1.0},
            ValueError,
            rf"^{fn}: give exactly one.*got both",
            "both",
        ),
        ErrorCase(
            (x, y), {"total_count": 0.0}, ValueError, rf"^{fn}: total_count must be in \(0, inf\)", "r0"
        ),
        ErrorCase(
            (x, y),
            {"dispersion": -torch.ones(D)},
            ValueError,
            rf"^{fn}: dispersion must be positive",
            "a-neg",
        ),
        ErrorCase(
            (x, y),
            {"total_count": torch.ones(N)},
            ValueError,
            rf"^{fn}: total_count must have the input's shape \(6, 3\)",
            "r-shape",
        ),
        ErrorCase(
            (x, y),
            {"total_count": "2"},
            TypeError,
            rf"^{fn}: total_count must be a positive number or a tensor",
            "r-str",
        ),
        ErrorCase(
            (x, y),
            {"total_count": 1.0, "log_input": 0},
            TypeError,
            rf"^{fn}: log_input must be a bool",
            "log-input",
        ),
        ErrorCase(
            (x, y),
            {"total_count": 1.0, "log_input": False},
            ValueError,
            rf"^{fn}: input must hold means >= 0 with log_input=False",
            "negative-mean",
        ),
    ]


def _nb_extremes() -> list[Sample]:
    eta = t64([[1e4, -1e4, 0.0, 300.0], [-1e4, 1e4, 1e-300, -300.0]])
    y = t64([[0.0, 0.0, 1e6, 1e6], [1e6, 1e6, 0.0, 3.0]])
    return [Sample((eta, y), {"total_count": r}, f"r{r}") for r in (1e-3, 1.0, 1e6)] + [
        Sample((eta.clamp(-300, 300).exp() * 0, y), {"total_count": 1.0, "log_input": False}, "zero-means"),
    ]


def _nb_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 4)))
    eta = t64(rng.normal(size=shape) * scale)
    y = t64(rng.poisson(3.0, size=shape) * rng.integers(1, 50))
    key = str(rng.choice(["total_count", "dispersion"]))
    return Sample((eta, y), {key: t64(rng.uniform(0.05, 20.0, size=shape[-1:]))})


# --- Student-t and Gaussian CRPS: a location-scale pair ----------------------------------------------------


def _ls_samples(name: str, extra: dict) -> list[Sample]:
    rng = rng_for(name)
    x, y = _xy(rng, N, D)
    s = t64(rng.uniform(0.2, 3.0, size=(N, D)))
    tiny = s.clone()
    tiny[0, :] = 1e-9
    w = t64(rng.uniform(0.1, 2.0, size=(N, D)))
    out = [
        Sample((x, y), {"scale": s, **extra}, "scale"),
        Sample((x, y), {"log_scale": s.log(), **extra}, "log_scale"),
        Sample((x, y), {"scale": t64([0.5, 1.0, 2.0]), **extra}, "scale-per-feature"),
        Sample((x, y), {"scale": 0.7, **extra}, "scale-number"),
        # clamped to eps: a kink in the scale, so gradcheck stays with the positional tensors
        Sample((x, y), {"scale": tiny, **extra}, "below-eps", kwarg_grad=False),
        Sample((x, y), {"log_scale": tiny.log(), "eps": 1e-3, **extra}, "log-below-eps", kwarg_grad=False),
        Sample((x, y), {"scale": s, "weight": w, **extra}, "weight", plain=False),
        Sample((x[:1, :1], y[:1, :1]), {"scale": t64([[0.4]]), **extra}, "batch-of-one"),
    ]
    return out


def _ls_errors(fn: str, extra: dict) -> list[ErrorCase]:
    x, y = _randn(N, D, seed=37), _randn(N, D, seed=38)
    v = torch.rand(N, D, generator=torch.Generator().manual_seed(39)) + 0.1
    base = [e for e in _elementwise_errors(fn) if e.name not in ("nan", "inf")]
    for e in base:
        e.kwargs = {"scale": torch.ones(()), **extra, **e.kwargs}
    return [
        *base,
        ErrorCase(
            (x, y),
            dict(extra),
            ValueError,
            rf"^{fn}: give exactly one of scale= or log_scale=, got neither",
            "neither",
        ),
        ErrorCase(
            (x, y),
            {"scale": v, "log_scale": v, **extra},
            ValueError,
            rf"^{fn}: give exactly one.*got both",
            "both",
        ),
        ErrorCase(
            (x, y), {"scale": -v, **extra}, ValueError, rf"^{fn}: scale must be non-negative", "negative"
        ),
        ErrorCase(
            (x, y),
            {"scale": torch.ones(N), **extra},
            ValueError,
            rf"^{fn}: scale must have the input's shape \(6, 3\)",
            "scale-shape",
        ),
        ErrorCase(
            (x, y), {"scale": v, "eps": 0.0, **extra}, ValueError, rf"^{fn}: eps must be in \(0, inf\)", "eps"
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y),
            {"scale": v, **extra},
            ValueError,
            rf"^{fn}: input contains NaN",
            "nan",
        ),
    ]


def _ls_extremes(extra: dict, log_hi: float) -> list[Sample]:
    # log_hi: the largest log-scale tried (the Gaussian CRPS is linear in σ = e^s: e^1e4 overflows float64,
    # e^89 float32, and the extremes also run in float32)
    x = t64([[1e4, -1e4, 0.0, 1e4]])
    y = t64([[-1e4, 1e4, 0.0, 1e4]])
    return [
        Sample((x, y), {"scale": t64([[1e-30, 0.0, 0.0, 1e30]]), **extra}, "scale-zero-and-huge"),
        Sample((x, y), {"log_scale": t64([[-1e4, log_hi, -1e4, 0.0]]), **extra}, "log-scale-huge"),
    ]


def _ls_random(extra_fn):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        shape = (int(rng.integers(1, 9)), int(rng.integers(1, 4)))
        x, y = t64(rng.normal(size=shape) * scale), t64(rng.normal(size=shape) * scale)
        s = rng.normal(size=shape[-1:]) * 3.0
        kw = {"log_scale": t64(s)} if rng.uniform() < 0.5 else {"scale": t64(np.exp(s))}
        return Sample((x, y), {**kw, **extra_fn(rng)})

    return make


def _student_samples() -> list[Sample]:
    out = _ls_samples("student_t", {"df": 3.0})
    rng = rng_for("student_t", 1)
    x, y = _xy(rng, N, D)
    out += [
        Sample((x, y), {"scale": 1.3, "df": 1.0}, "cauchy"),
        Sample((x, y), {"scale": 0.8, "df": 1e6}, "near-gaussian"),
        Sample((x, y), {"log_scale": 0.2, "df": t64(rng.uniform(0.5, 30, size=(N, D)))}, "df-tensor"),
        Sample((x, y), {"scale": 2.0, "df": t64([0.3, 2.0, 7.0])}, "df-per-feature"),
    ]
    return out


def _student_errors() -> list[ErrorCase]:
    fn = "student_t_nll_loss"
    x, y = _randn(N, D, seed=40), _randn(N, D, seed=41)
    return [
        *_ls_errors(fn, {"df": 3.0}),
        ErrorCase((x, y), {"scale": 1.0, "df": 0.0}, ValueError, rf"^{fn}: df must be in \(0, inf\)", "df0"),
        ErrorCase(
            (x, y), {"scale": 1.0, "df": -torch.ones(D)}, ValueError, rf"^{fn}: df must be positive", "df-neg"
        ),
        ErrorCase(
            (x, y),
            {"scale": 1.0, "df": torch.ones(N)},
            ValueError,
            rf"^{fn}: df must have the input's shape",
            "df-shape",
        ),
        ErrorCase(
            (x, y), {"scale": 1.0}, TypeError, r"missing 1 required keyword-only argument: 'df'", "df-missing"
        ),
    ]


# --- ensemble CRPS -------------------------------------------------------------------------------------------


def _ens_samples() -> list[Sample]:
    rng = rng_for("crps_ensemble")
    x = t64(rng.normal(size=(N, 5)) * 2.0)
    y = t64(rng.normal(size=N) * 2.0)
    x3 = t64(rng.normal(size=(2, 3, 4)))
    y3 = t64(rng.normal(size=(2, 3)))
    w = t64(rng.uniform(0.1, 2.0, size=N))
    return [
        Sample((x, y), {}, "M5"),
        Sample((x, y), {"fair": True}, "M5-fair"),
        Sample((x[:, :1], y), {}, "M1"),
        Sample((x[:, :2], y), {"fair": True}, "M2-fair"),
        Sample((x3, y3), {}, "3d"),
        Sample(
            (x3, y3),
            {"fair": True, "weight": t64(rng.uniform(0.1, 2.0, size=(3,)))},
            "3d-fair-weight",
            plain=False,
        ),
        Sample((x, y), {"weight": w}, "weight", plain=False),
        Sample((x[:1], y[:1]), {}, "batch-of-one"),
        Sample((t64([1.0, -2.0, 0.5]), t64(0.25)), {"fair": True}, "0d-target"),
    ]


def _ens_errors() -> list[ErrorCase]:
    fn = "crps_ensemble_loss"
    x, y = _randn(N, 4, seed=42), _randn(N, seed=43)
    return [
        ErrorCase(
            (x, y[:3]),
            {},
            ValueError,
            rf"^{fn}: input must have shape target.shape \+ \(M,\) = \(3, 4\)",
            "batch",
        ),
        ErrorCase(
            (x[:, 0], y),
            {},
            ValueError,
            rf"^{fn}: input must have shape target.shape \+ \(M,\) = \(6, 6\)",
            "no-member-dim",
        ),
        ErrorCase((x.T, y), {}, ValueError, rf"^{fn}: input must have shape", "transposed"),
        ErrorCase(
            (x[:, :0], y),
            {},
            ValueError,
            rf"^{fn}: needs at least 1 member on the last dimension, got M = 0",
            "M0",
        ),
        ErrorCase(
            (x[:, :1], y),
            {"fair": True},
            ValueError,
            rf"^{fn}: fair=True needs at least 2 members",
            "fair-M1",
        ),
        ErrorCase((x, y), {"fair": 1}, TypeError, rf"^{fn}: fair must be a bool", "fair-type"),
        ErrorCase((x.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int"),
        ErrorCase(
            (x, y.long()), {}, TypeError, rf"^{fn}: target must be a floating-point tensor", "int-target"
        ),
        ErrorCase(
            (x, y),
            {"weight": torch.ones(N, 4)},
            ValueError,
            rf"^{fn}: weight must have the loss's unreduced "
            r"shape \(6,\)",
            "weight-per-member",
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y), {}, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
        ErrorCase(
            (x, y.masked_fill(y > 0, float("inf"))), {}, ValueError, rf"^{fn}: target contains inf", "inf"
        ),
        ErrorCase(
            (x, y), {"reduction": "batchmean"}, ValueError, rf"^{fn}: reduction must be one of", "reduction"
        ),
    ]


def _ens_extremes() -> list[Sample]:
    x = t64([[1e4, -1e4, 0.0], [3.0, 3.0, 3.0], [1e-300, 0.0, -1e-300]])
    y = t64([-1e4, 3.0, 0.0])
    return [Sample((x, y), {}, "huge-and-ties"), Sample((x, y), {"fair": True}, "huge-and-ties-fair")]


def _ens_random(rng: np.random.Generator, scale: float) -> Sample:
    n, m = int(rng.integers(1, 9)), int(rng.integers(2, 7))
    return Sample(
        (t64(rng.normal(size=(n, m)) * scale), t64(rng.normal(size=n) * scale)),
        {"fair": bool(rng.uniform() < 0.5)},
    )


ENTRIES = [
    LossEntry(
        "tweedie_loss",
        LF.tweedie_loss,
        losskit.TweedieLoss,
        R.tweedie_loss,
        _tweedie_samples,
        errors=_tweedie_errors,
        extremes=_tweedie_extremes,
        random=_tweedie_random,
        empty=_empty(),
        nonnegative=False,
    ),
    LossEntry(
        "negative_binomial_nll_loss",
        LF.negative_binomial_nll_loss,
        losskit.NegativeBinomialNLLLoss,
        R.negative_binomial_nll_loss,
        _nb_samples,
        errors=_nb_errors,
        extremes=_nb_extremes,
        random=_nb_random,
        empty=_empty(total_count=1.0),
    ),
    LossEntry(
        "student_t_nll_loss",
        LF.student_t_nll_loss,
        losskit.StudentTNLLLoss,
        R.student_t_nll_loss,
        _student_samples,
        errors=_student_errors,
        extremes=lambda: _ls_extremes({"df": 2.5}, 1e4),
        random=_ls_random(lambda rng: {"df": float(rng.uniform(0.5, 50.0))}),
        empty=_empty(scale=1.0, df=3.0),
        grad_args=(0, 1),
        nonnegative=False,
    ),
    LossEntry(
        "crps_gaussian_loss",
        LF.crps_gaussian_loss,
        losskit.CRPSGaussianLoss,
        R.crps_gaussian_loss,
        lambda: _ls_samples("crps_gaussian", {}),
        errors=lambda: _ls_errors("crps_gaussian_loss", {}),
        extremes=lambda: _ls_extremes({}, 80.0),
        random=_ls_random(lambda rng: {}),
        empty=_empty(scale=1.0),
        grad_args=(0, 1),
    ),
    LossEntry(
        "crps_ensemble_loss",
        LF.crps_ensemble_loss,
        losskit.CRPSEnsembleLoss,
        R.crps_ensemble_loss,
        _ens_samples,
        errors=_ens_errors,
        extremes=_ens_extremes,
        random=_ens_random,
        empty=lambda: Sample(
            (torch.zeros(0, 4, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)), {}
        ),
        grad_args=(0, 1),
    ),
]
