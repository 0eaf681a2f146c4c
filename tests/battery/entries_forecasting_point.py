"""Battery entries for the point-forecast errors MAPE, sMAPE and MASE."""

from __future__ import annotations

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
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
from tests.reference import forecasting_point as R


def _mase_samples() -> list[Sample]:
    rng = rng_for("mase_loss")
    x, y = t64(rng.normal(size=(N, 4))), t64(rng.normal(size=(N, 4)))
    h = t64(rng.normal(size=(N, 10)).cumsum(1))
    s = t64(rng.uniform(0.5, 2.0, size=(N, 1)))
    x3, y3, h3 = (
        t64(rng.normal(size=(2, 3, 5))),
        t64(rng.normal(size=(2, 3, 5))),
        t64(rng.normal(size=(2, 3, 8))),
    )
    return [
        Sample((x, y), {"history": h}, "history"),
        Sample((x, y), {"history": h, "seasonality": 3}, "seasonal"),
        Sample((x, y), {"scale": s}, "scale"),
        Sample((x, y), {"scale": s, "weight": t64(rng.uniform(0.1, 2, size=(N, 4)))}, "weight", plain=False),
        Sample((x3, y3), {"history": h3}, "3d"),
        Sample((x[:1], y[:1]), {"history": h[:1]}, "batch-of-one"),
    ]


def _mase_errors() -> list[ErrorCase]:
    f = "^mase_loss:"
    x, y = _randn(N, 4, seed=1), _randn(N, 4, seed=2)
    h = _randn(N, 10, seed=3)
    return [
        ErrorCase((x, y), {}, ValueError, f + r" pass exactly one of scale= .*got neither", "neither"),
        ErrorCase((x, y), {"history": h, "scale": torch.ones(N, 1)}, ValueError, f + r" .*got both", "both"),
        ErrorCase(
            (x, y), {"history": h[:3]}, ValueError, f + r" history must have shape \(6, T\)", "history-shape"
        ),
        ErrorCase(
            (x, y),
            {"history": h[:, :2], "seasonality": 2},
            ValueError,
            f + r" history must hold more than seasonality=2 values",
            "history-short",
        ),
        ErrorCase(
            (x, y), {"history": h, "seasonality": 0}, ValueError, f + r" seasonality must be >= 1", "m0"
        ),
        ErrorCase(
            (x, y),
            {"history": h, "seasonality": 1.0},
            TypeError,
            f + r" seasonality must be an int",
            "m-float",
        ),
        ErrorCase(
            (x, y),
            {"scale": torch.ones(3, 1)},
            ValueError,
            f + r" scale must have the input's shape",
            "scale-shape",
        ),
        ErrorCase(
            (x, y), {"scale": -torch.ones(N, 1)}, ValueError, f + r" scale must be non-negative", "scale-neg"
        ),
        ErrorCase(
            (x, y), {"history": h.long()}, TypeError, f + r" history must be a floating-point tensor", "h-int"
        ),
        ErrorCase(
            (x, y), {"history": h, "reduction": "avg"}, ValueError, f + r" reduction must be one of", "red"
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y),
            {"history": h},
            ValueError,
            f + r" input contains NaN",
            "nan",
        ),
    ]


def _mase_random(rng: np.random.Generator, scale: float) -> Sample:
    n, hz, t = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(3, 9))
    return Sample(
        (t64(rng.normal(size=(n, hz)) * scale), t64(rng.normal(size=(n, hz)) * scale)),
        {"history": t64(rng.normal(size=(n, t)) * scale)},
    )


def _pct(name: str, module, reference) -> LossEntry:
    return LossEntry(
        name,
        getattr(LF, name),
        module,
        reference,
        lambda: _elementwise_samples(name, [{"eps": 1e-3}]),
        errors=lambda: (
            _elementwise_errors(name)
            + _option_errors(
                name,
                [
                    ({"eps": 0.0}, ValueError, r"eps must be in \(0, inf\)"),
                    ({"eps": "1"}, TypeError, "eps must be a number"),
                ],
            )
        ),
        extremes=lambda: _elementwise_extremes([{"eps": 1e-3}]),
        random=_elementwise_random(lambda rng: {}),
        empty=_elementwise_empty,
    )


ENTRIES = [
    _pct("mape_loss", losskit.MAPELoss, R.mape_loss),
    _pct("smape_loss", losskit.SMAPELoss, R.smape_loss),
    LossEntry(
        "mase_loss",
        LF.mase_loss,
        losskit.MASELoss,
        R.mase_loss,
        _mase_samples,
        errors=_mase_errors,
        extremes=lambda: [
            Sample(
                (t64([[1e4, -1e4]]), t64([[-1e4, 0.0]])),
                {"history": t64([[1.0, 1.0, 1.0]])},
                "constant-history",
            )
        ],
        random=_mase_random,
        batch_equivariant=False,  # history= is a keyword, not permuted
        nograd_kwargs=("history",),  # the scale computed from history is detached (mase_loss's docstring)
        empty=lambda: Sample(
            (torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64)),
            {"history": torch.zeros(0, 5, dtype=torch.float64)},
        ),
    ),
]
