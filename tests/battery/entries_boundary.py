"""Battery entries for the boundary-aware segmentation family: boundary, Hausdorff DT, soft clDice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import boundary as R

N, C, H, W = 2, 3, 5, 6


def _logits(rng: np.random.Generator, *shape: int, scale: float = 2.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _labels(rng: np.random.Generator, *shape: int, classes: int = C) -> torch.Tensor:
    return torch.as_tensor(rng.integers(0, classes, size=shape), dtype=torch.long)


def _sdm(y: torch.Tensor, classes: int = C) -> torch.Tensor:
    # the target of the boundary loss, from scipy (the reference), never from the code under test
    return t64(R.signed_distance_map(y.numpy(), num_classes=classes))


def _one_hot(y: torch.Tensor, classes: int = C) -> torch.Tensor:
    return torch.nn.functional.one_hot(y, classes).movedim(-1, 1).to(torch.float64)


# boundary loss -------------------------------------------------------------------------------------------
def _boundary_samples() -> list[Sample]:
    rng = rng_for("boundary_loss")
    x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
    w = t64(rng.uniform(0.2, 2.0, size=C))
    x3, y3 = _logits(rng, 2, 2, 3, 4, 3), _labels(rng, 2, 3, 4, 3, classes=2)
    xb, yb = _logits(rng, N, 1, H, W), _labels(rng, N, H, W, classes=2)
    return [
        Sample((x, _sdm(y)), {}, "2d"),
        Sample((x, _sdm(y)), {"include_background": False}, "no-background"),
        Sample((x, _sdm(y)), {"weight": w}, "class-weight", plain=False, grad=False),
        Sample((x, _sdm(y)), {"multilabel": True}, "multilabel"),
        Sample((xb, _sdm(yb, 2)[:, 1:]), {}, "binary"),
        Sample((x3, _sdm(y3, 2)), {}, "3d"),
        Sample((torch.softmax(x, 1), _sdm(y)), {"input_type": "probs"}, "probs", grad=False),
        Sample((x[:1], _sdm(y[:1])), {}, "batch-of-one", grad=False),
    ]


def _boundary_extremes() -> list[Sample]:
    y = torch.tensor([[[0, 1, 2, 2], [1, 1, 0, 2]]])
    right = (_one_hot(y) * 2.0 - 1.0) * 1e4
    empty = torch.zeros(1, 2, 4, dtype=torch.long)
    return [
        Sample((right, _sdm(y)), {}, "saturated-right"),
        Sample((right.roll(1, dims=1), _sdm(y)), {}, "saturated-wrong"),
        Sample((_one_hot(y), _sdm(y)), {"input_type": "probs"}, "probs-exact-0-1"),
        Sample(
            (torch.full((1, 1, 2, 4), 30.0, dtype=torch.float64), _sdm(empty, 2)[:, 1:]), {}, "empty-target"
        ),
    ]


def _boundary_errors() -> list[ErrorCase]:
    f = r"^boundary_loss:"
    x, y = torch.randn(N, C, H, W), torch.randint(0, C, (N, H, W))
    phi = torch.randn(N, C, H, W)
    return [
        ErrorCase(
            (x, y),
            {},
            TypeError,
            f + r" target must be a floating-point signed distance map.*"
            r"signed_distance_map\(labels, num_classes=C\)",
            "labels-as-target",
        ),
        ErrorCase((x, phi[:, :2]), {}, ValueError, f + r" target must have shape \(2, 3, 5, 6\)", "shape"),
        ErrorCase((x.long(), phi), {}, TypeError, f + r" input must be a floating-point tensor", "int-input"),
        ErrorCase(
            (x[:, :, 0, 0], phi[:, :, 0, 0]),
            {},
            ValueError,
            f + r" input must have shape \(N, C, \*spatial\)",
            "no-spatial",
        ),
        ErrorCase(
            (x, phi),
            {"weight": torch.ones(C + 1)},
            ValueError,
            f + r" weight must have shape \(3,\)",
            "weight",
        ),
        ErrorCase(
            (x, phi), {"input_type": "prob"}, ValueError, f + r" input_type must be one of", "input_type"
        ),
        ErrorCase(
            (x.abs() + 1, phi),
            {"input_type": "probs"},
            ValueError,
            f + r" input must hold probabilities",
            "probs>1",
        ),
        ErrorCase((x, phi), {"multilabel": 1}, TypeError, f + r" multilabel must be a bool", "multilabel"),
        ErrorCase(
            (x, phi.masked_fill(phi > 1, float("nan"))),
            {},
            ValueError,
            f + r" target contains NaN",
            "nan-target",
        ),
    ]


def _boundary_random(rng: np.random.Generator, scale: float) -> Sample:
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    spatial = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 4))))
    y = torch.as_tensor(rng.integers(0, max(c, 2), size=(n, *spatial)))
    phi = _sdm(y, max(c, 2))[:, -c:]
    return Sample(
        (t64(rng.normal(size=(n, c, *spatial)) * scale), phi), {"multilabel": bool(rng.uniform() < 0.3)}
    )


# Hausdorff DT / clDice: segmentation targets ------------------------------------------------------------
def _seg_samples(name: str, own: list[tuple[dict[str, Any], str]], three_d: tuple[int, ...]) -> list[Sample]:
    rng = rng_for(name)
    x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
    w = t64(rng.uniform(0.2, 2.0, size=C))
    x3, y3 = _logits(rng, 2, 2, *three_d), _labels(rng, 2, *three_d, classes=2)
    xb, yb = _logits(rng, N, 1, H, W), _labels(rng, N, H, W, classes=2)
    soft = t64(rng.uniform(size=(N, 1, H, W)))
    out = [
        Sample((x, y), {}, "index"),
        *[Sample((x, y), kw, tag) for kw, tag in own],
        Sample((x, y), {"include_background": False}, "no-background"),
        Sample((x, y), {"weight": w}, "class-weight", plain=False, grad=False),
        Sample((x, _one_hot(y)), {}, "one-hot", grad=False),
        Sample((x, y), {"per_image": False}, "batch"),
        Sample(
            (x, y),
            {"per_image": False, "weight": w, "include_background": False},
            "batch-weight",
            plain=False,
            grad=False,
        ),
        Sample((x, _one_hot(y)), {"multilabel": True}, "multilabel"),
        Sample((xb, yb), {}, "binary-index"),
        Sample((xb, soft), {}, "binary-soft"),
        Sample((x3, y3), {}, "3d"),
        Sample((torch.softmax(x, 1), y), {"input_type": "probs"}, "probs", grad=False),
        Sample((torch.log_softmax(x, 1), y), {"input_type": "log_probs"}, "log-probs", grad=False),
        Sample((x[:1], y[:1]), {}, "batch-of-one", grad=False),
    ]
    return out


def _seg_extremes(**kw: Any) -> list[Sample]:
    y = torch.tensor([[[0, 1, 2, 2], [1, 1, 0, 2], [2, 2, 2, 0]]])  # (1, 3, 4)
    right = (_one_hot(y) * 2.0 - 1.0) * 1e4
    empty = torch.zeros(1, 3, 4, dtype=torch.long)
    full = torch.ones(1, 3, 4, dtype=torch.long)
    bg = torch.full((1, 1, 3, 4), -1e4, dtype=torch.float64)
    fg = torch.full((1, 1, 3, 4), 30.0, dtype=torch.float64)
    return [
        Sample((right, y), dict(kw), "saturated-right"),
        Sample((right.roll(1, dims=1), y), dict(kw), "saturated-wrong"),
        Sample((_one_hot(y), y), {**kw, "input_type": "probs"}, "probs-exact-0-1"),
        Sample((bg, empty), dict(kw), "empty-target-empty-prediction"),
        Sample((fg, empty), dict(kw), "empty-target-full-prediction"),
        Sample((bg, full), dict(kw), "full-target-empty-prediction"),
        Sample((right, y), {**kw, "per_image": False, "include_background": False}, "saturated-batch"),
    ]


def _seg_errors(name: str, extra: list[ErrorCase]) -> list[ErrorCase]:
    f = rf"^{name}:"
    x, y = torch.randn(N, C, H, W), torch.randint(0, C, (N, H, W))
    return [
        ErrorCase(
            (x, y[:, None]),
            {},
            ValueError,
            f + r" target must have shape \(2, 5, 6\) for class indices",
            "index-with-channel",
        ),
        ErrorCase(
            (x, torch.rand(N, C, H, W + 1)),
            {},
            ValueError,
            f + r" target must have shape \(2, 3, 5, 6\)",
            "dense-shape",
        ),
        ErrorCase((x, y.float()), {}, TypeError, f + r" target must be an integer tensor", "float-index"),
        ErrorCase(
            (x, torch.full((N, H, W), C)), {}, ValueError, f + r" target holds class index 3", "label-hi"
        ),
        ErrorCase(
            (x, torch.rand(N, C, H, W) * 2), {}, ValueError, f + r" target must hold probabilities", "dense>1"
        ),
        ErrorCase((x.long(), y), {}, TypeError, f + r" input must be a floating-point tensor", "int-input"),
        ErrorCase((x, "y"), {}, TypeError, f + r" target must be a torch.Tensor", "str-target"),
        ErrorCase(
            (x, y), {"input_type": "prob"}, ValueError, f + r" input_type must be one of", "input_type"
        ),
        ErrorCase(
            (x, y), {"weight": torch.ones(C + 1)}, ValueError, f + r" weight must have shape \(3,\)", "weight"
        ),
        ErrorCase((x, y), {"per_image": "yes"}, TypeError, f + r" per_image must be a bool", "per_image"),
        ErrorCase(
            (x.masked_fill(x > 0.5, float("nan")), y), {}, ValueError, f + r" input contains NaN", "nan"
        ),
        *extra,
    ]


def _seg_random(spatial_dims: tuple[int, ...]) -> Callable[[np.random.Generator, float], Sample]:
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        spatial = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.choice(spatial_dims))))
        x = t64(rng.normal(size=(n, c, *spatial)) * scale)
        y = torch.as_tensor(rng.integers(0, max(c, 2), size=(n, *spatial)))
        return Sample((x, y), {"multilabel": bool(rng.uniform() < 0.3)})

    return make


def _seg_empty() -> Sample:
    return Sample((torch.zeros(0, C, H, W, dtype=torch.float64), torch.zeros(0, H, W, dtype=torch.long)), {})


def _x() -> torch.Tensor:
    return torch.randn(N, C, H, W)


def _y() -> torch.Tensor:
    return torch.randint(0, C, (N, H, W))


ENTRIES = [
    LossEntry(
        "boundary_loss",
        LF.boundary_loss,
        losskit.BoundaryLoss,
        R.boundary_loss,
        _boundary_samples,
        errors=_boundary_errors,
        extremes=_boundary_extremes,
        random=_boundary_random,
        empty=lambda: Sample(
            (torch.zeros(0, C, H, W, dtype=torch.float64), torch.zeros(0, C, H, W, dtype=torch.float64)), {}
        ),
        nonnegative=False,
    ),
    LossEntry(
        "hausdorff_dt_loss",
        LF.hausdorff_dt_loss,
        losskit.HausdorffDTLoss,
        R.hausdorff_dt_loss,
        lambda: _seg_samples(
            "hausdorff_dt_loss",
            [({"alpha": 1.0}, "alpha1"), ({"alpha": 0.0}, "alpha0"), ({"alpha": 3.5}, "alpha3.5")],
            (3, 4, 3),
        ),
        errors=lambda: _seg_errors(
            "hausdorff_dt_loss",
            [
                ErrorCase(
                    (_x(), _y()),
                    {"alpha": -1.0},
                    ValueError,
                    r"^hausdorff_dt_loss: alpha must be in \[0, inf\)",
                    "alpha<0",
                ),
                ErrorCase(
                    (_x(), _y()),
                    {"alpha": "2"},
                    TypeError,
                    r"^hausdorff_dt_loss: alpha must be a number",
                    "alpha-str",
                ),
            ],
        ),
        extremes=_seg_extremes,
        random=_seg_random((1, 2, 3)),
        empty=_seg_empty,
        index_args=(1,),
        gradcheck_fast=True,  # a distance transform per forward: the full Jacobian took minutes
    ),
    LossEntry(
        "cldice_loss",
        LF.cldice_loss,
        losskit.ClDiceLoss,
        R.cldice_loss,
        lambda: _seg_samples(
            "cldice_loss",
            [
                ({"iterations": 0}, "k0"),
                ({"iterations": 5, "smooth": 0.1}, "k5"),
                ({"smooth": 0.0}, "smooth0"),
            ],
            (4, 5, 4),
        ),
        errors=lambda: _seg_errors(
            "cldice_loss",
            [
                ErrorCase(
                    (_x(), _y()),
                    {"iterations": -1},
                    ValueError,
                    r"^cldice_loss: iterations must be >= 0",
                    "iterations<0",
                ),
                ErrorCase(
                    (_x(), _y()),
                    {"iterations": 2.0},
                    TypeError,
                    r"^cldice_loss: iterations must be an int",
                    "iterations-float",
                ),
                ErrorCase(
                    (_x(), _y()),
                    {"smooth": -1.0},
                    ValueError,
                    r"^cldice_loss: smooth must be in \[0, inf\)",
                    "smooth<0",
                ),
                ErrorCase(
                    (_x()[..., 0], _y()[..., 0]),
                    {},
                    ValueError,
                    r"^cldice_loss: input must have shape \(N, C, H, W\) or \(N, C, D, H, W\)",
                    "1d",
                ),
            ],
        ),
        extremes=_seg_extremes,
        random=_seg_random((2, 3)),
        empty=_seg_empty,
        index_args=(1,),
        gradcheck_fast=True,  # soft skeletons of both masks per forward: the full Jacobian took minutes
    ),
]
