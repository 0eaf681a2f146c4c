"""Independent float64 references for MAPE, sMAPE and MASE (Hyndman & Koehler 2006; Makridakis & Hibon
2000), written from the definitions with NumPy; reduction as tests/reference/regression.py."""

from __future__ import annotations

import numpy as np

from tests.reference.regression import _f64, _reduce

EPS = float(np.finfo(np.float64).eps)


def mape_loss(input, target, *, eps=EPS, weight=None, reduction="mean"):
    y, f = _f64(target), _f64(input)
    return _reduce(np.abs(y - f) / np.maximum(np.abs(y), eps), weight, reduction)


def smape_loss(input, target, *, eps=EPS, weight=None, reduction="mean"):
    y, f = _f64(target), _f64(input)
    return _reduce(2.0 * np.abs(y - f) / np.maximum(np.abs(y) + np.abs(f), eps), weight, reduction)


def mase_loss(
    input, target, *, scale=None, history=None, seasonality=1, eps=EPS, weight=None, reduction="mean"
):
    y, f = _f64(target), _f64(input)
    if history is not None:
        h = _f64(history)
        flat = h.reshape(-1, h.shape[-1])
        s = np.array(
            [
                np.mean([abs(row[j] - row[j - seasonality]) for j in range(seasonality, len(row))])
                for row in flat
            ]
        ).reshape(*h.shape[:-1], 1)
    else:
        s = _f64(scale)
    return _reduce(np.abs(y - f) / np.maximum(s, eps), weight, reduction)
