"""Battery entries for the robust regression family: Charbonnier, Cauchy, Welsch, Barron."""

from __future__ import annotations

import math

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, t64
from tests.battery.entries_regression import (
    N,
    _elementwise_empty,
    _elementwise_errors,
    _elementwise_extremes,
    _elementwise_random,
    _elementwise_samples,
    _option_errors,
    _randn,
)
from tests.reference import robust as R

INF = math.inf
SCALE_D = t64([0.5, 1.0, 3.0])  # one scale per feature of the (N, 3) samples


def _base_errors(fn: str, drop_inf: bool = False) -> list[ErrorCase]:
    # Welsch (and Barron with α < 0) map an infinite residual to a finite value, so only NaN is caught
    return [e for e in _elementwise_errors(fn) if not (drop_inf and e.name == "inf")]


def _scale_errors(fn: str) -> list[ErrorCase]:
    x, y = _randn(N, 3, seed=21), _randn(N, 3, seed=22)
    return [
        ErrorCase(
            (x, y), {"scale": 0.0}, ValueError, rf"^{fn}: scale must be in \(0, inf\), got 0.0", "scale0"
        ),
        ErrorCase(
            (x, y), {"scale": -torch.ones(3)}, ValueError, rf"^{fn}: scale must be positive", "scale-neg"
        ),
        ErrorCase(
            (x, y),
            {"scale": torch.ones(N)},
            ValueError,
            rf"^{fn}: scale must have the input's shape \(6, 3\) or one that broadcasts",
            "scale-shape",
        ),
        ErrorCase(
            (x, y),
            {"scale": "1"},
            TypeError,
            rf"^{fn}: scale must be a positive number or a tensor",
            "scale-str",
        ),
        ErrorCase(
            (x, y),
            {"scale": torch.ones(3, dtype=torch.long)},
            TypeError,
            rf"^{fn}: scale must be a floating-point tensor",
            "scale-int",
        ),
    ]


def _scaled_random(rng: np.random.Generator) -> dict:
    return {"scale": float(rng.choice([0.1, 1.0, 4.0]))}


def _barron_random(rng: np.random.Generator) -> dict:
    kw: dict = {
        "alpha": float(rng.choice([2.0, 1.999, 1.0, 0.5, 0.0, 1e-9, -2.0, -50.0, -INF])),
        "scale": float(rng.choice([0.1, 1.0, 4.0])),
    }
    if rng.uniform() < 0.2:
        kw = {"alpha": float(rng.uniform(0.0, 2.0)), "nll": True}
    return kw


BARRON_VARIANTS = [
    {"alpha": 2.0},
    {"alpha": 0.0},
    {"alpha": -2.0},
    {"alpha": -INF},
    {"alpha": INF, "scale": 8.0},
    {"alpha": 0.5, "scale": 0.7},
    {"alpha": 1.999},
    {"alpha": 1e-9},
    {"alpha": 3.0, "scale": 4.0},
    {"alpha": -30.0},
    {"alpha": 1.0, "scale": SCALE_D},
    {"alpha": t64([0.0, 2.0, -1.5])},  # exact special points inside a tensor α
    {"alpha": t64([1e-12, 2.0 - 1e-12, 2.0 + 1e-12])},  # right next to them
    {"alpha": t64([0.5, 1.5, -1.5]), "scale": SCALE_D},  # away from them: gradcheck w.r.t. α and c
    {"alpha": t64([0.3, 1.0, 1.9]), "nll": True},
    {"alpha": 0.0, "scale": SCALE_D, "nll": True},
    {"alpha": 2.0, "scale": 2.0, "nll": True},
]


def _barron_errors() -> list[ErrorCase]:
    fn = "barron_loss"
    x, y = _randn(N, 3, seed=23), _randn(N, 3, seed=24)
    return [
        *_base_errors(fn),
        *_scale_errors(fn),
        ErrorCase(
            (x, y),
            {"alpha": float("nan")},
            ValueError,
            rf"^{fn}: alpha must be a number in \[-inf, inf\]",
            "alpha-nan",
        ),
        ErrorCase(
            (x, y),
            {"alpha": t64([0.0, -INF, 1.0])},
            ValueError,
            rf"^{fn}: a tensor alpha must be finite",
            "alpha-tensor-inf",
        ),
        ErrorCase(
            (x, y),
            {"alpha": torch.ones(N)},
            ValueError,
            rf"^{fn}: alpha must have the input's shape",
            "alpha-shape",
        ),
        ErrorCase(
            (x, y), {"alpha": "1"}, TypeError, rf"^{fn}: alpha must be a number or a tensor", "alpha-str"
        ),
        ErrorCase(
            (x, y),
            {"alpha": -1.0, "nll": True},
            ValueError,
            rf"^{fn}: nll=True needs a finite alpha >= 0",
            "nll-negative",
        ),
        ErrorCase(
            (x, y),
            {"alpha": t64([0.5, -0.1, 1.0]), "nll": True},
            ValueError,
            rf"^{fn}: nll=True needs alpha >= 0",
            "nll-negative-tensor",
        ),
        ErrorCase((x, y), {"nll": 1}, TypeError, rf"^{fn}: nll must be a bool", "nll-type"),
    ]


def _samples(name: str, variants: list[dict]) -> list[Sample]:
    out = _elementwise_samples(name, variants)
    for s in out:
        # the NLL's quadrature makes gradcheck slow; one NLL sample (scalar α) keeps the gradient covered
        if s.kwargs.get("nll") and (
            s.name.startswith("small-")
            or isinstance(s.kwargs.get("alpha"), torch.Tensor)
            or isinstance(s.kwargs.get("scale"), torch.Tensor)
        ):
            s.grad = False
        # ρ is not differentiable in α at α = 0 and α = 2 (its α-derivative grows like log|α - 2| there)
        a = s.kwargs.get("alpha")
        if isinstance(a, torch.Tensor) and bool(((a.abs() < 1e-6) | ((a - 2).abs() < 1e-6)).any()):
            s.kwarg_grad = False
    return out


def _entry(name, module, reference, variants, errors, extremes, random_kw, **flags):
    fn = getattr(LF, name)
    return LossEntry(
        name,
        fn,
        module,
        reference,
        lambda: _samples(name, variants),
        errors=errors,
        extremes=lambda: _elementwise_extremes(extremes),
        random=_elementwise_random(random_kw),
        empty=_elementwise_empty,
        grad_args=(0, 1),
        **flags,
    )


ENTRIES = [
    _entry(
        "charbonnier_loss",
        losskit.CharbonnierLoss,
        R.charbonnier_loss,
        [{"eps": 1.0}, {"eps": 1e-6}, {"eps": 5.0}],
        lambda: (
            _base_errors("charbonnier_loss")
            + _option_errors(
                "charbonnier_loss",
                [
                    ({"eps": 0.0}, ValueError, r"eps must be in \(0, inf\), got 0.0"),
                    ({"eps": "1"}, TypeError, "eps must be a number"),
                ],
            )
        ),
        [{"eps": 1e-12}, {"eps": 1e3}],
        lambda rng: {"eps": float(rng.choice([1e-6, 1e-3, 1.0]))},
    ),
    _entry(
        "cauchy_loss",
        losskit.CauchyLoss,
        R.cauchy_loss,
        [{"scale": 0.3}, {"scale": 5.0}, {"scale": SCALE_D}],
        lambda: _base_errors("cauchy_loss") + _scale_errors("cauchy_loss"),
        [{"scale": 1e-3}, {"scale": 1e3}],
        _scaled_random,
    ),
    _entry(
        "welsch_loss",
        losskit.WelschLoss,
        R.welsch_loss,
        [{"scale": 0.3}, {"scale": 5.0}, {"scale": SCALE_D}],
        lambda: _base_errors("welsch_loss", drop_inf=True) + _scale_errors("welsch_loss"),
        [{"scale": 1e-3}, {"scale": 1e3}],
        _scaled_random,
    ),
    # the Module learns α and c (an NLL), so Module parity is tested in tests/test_robust_values.py
    _entry(
        "barron_loss",
        None,
        R.barron_loss,
        BARRON_VARIANTS,
        _barron_errors,
        [
            {"alpha": 2.0},
            {"alpha": 0.0},
            {"alpha": -INF},
            {"alpha": -2.0},
            {"alpha": 1e-9},
            {"alpha": t64([0.0, 2.0, 1e-12, -1.0])},
            {"alpha": 1.5, "nll": True},
        ],
        _barron_random,
        nonnegative=False,
    ),
]
