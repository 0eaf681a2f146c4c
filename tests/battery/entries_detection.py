"""Battery entries for the dense detection family: Gaussian focal, balanced L1, Wing, adaptive Wing, GHM-C, OKS."""

from __future__ import annotations

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.battery.entries_regression import (
    D,
    N,
    _elementwise_empty,
    _elementwise_errors,
    _elementwise_extremes,
    _elementwise_random,
    _elementwise_samples,
    _option_errors,
    _randn,
)
from tests.reference import detection as R


def _heatmap(rng: np.random.Generator, n: int, c: int, h: int, w: int) -> torch.Tensor:
    """Gaussian bumps (σ = 1) around two random centres per map, exactly 1 at the centres."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((n, c, h, w))
    for i in range(n):
        for j in range(c):
            for _ in range(2):
                cy, cx = rng.integers(0, h), rng.integers(0, w)
                out[i, j] = np.maximum(out[i, j], np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0))
    return t64(out)


def _prob_errors(fn: str, **kw) -> list[ErrorCase]:
    """The elementwise errors, with the target checked as probabilities (inf is out of [0, 1])."""
    out = [e for e in _elementwise_errors(fn) if e.name != "inf"]
    for e in out:
        if e.name not in ("list-target", "int-target") and isinstance(e.args[1], torch.Tensor):
            e.args = (e.args[0], e.args[1].abs().clamp(0, 1))
        e.kwargs = {**kw, **e.kwargs}
    x = _randn(N, seed=51)
    out.append(
        ErrorCase(
            (x, x.abs() + 1.5),
            dict(kw),
            ValueError,
            rf"^{fn}: target must hold probabilities in "
            r"\[0, 1\]",
            "target-above-1",
        )
    )
    return out


# --- Gaussian focal --------------------------------------------------------------------------------------


def _gf_samples() -> list[Sample]:
    rng = rng_for("gaussian_focal")
    y = _heatmap(rng, 2, 2, 3, 3)
    z = t64(rng.normal(size=y.shape) * 2.0)
    p = torch.sigmoid(z)
    w = t64(rng.uniform(0.1, 2.0, size=(1, 2, 1, 1)))
    return [
        Sample((z, y), {}, "logits"),
        Sample((z, y), {"alpha": 1.0, "beta": 2.0}, "a1-b2"),
        Sample((z, y), {"alpha": 0.0, "beta": 0.0}, "a0-b0"),
        Sample((p, y), {"input_type": "probs"}, "probs"),
        Sample((p.log(), y), {"input_type": "log_probs", "alpha": 3.0}, "log_probs"),
        Sample((z, y), {"weight": w}, "weight-per-class", plain=False),
        Sample((z, y), {"normalizer": y == 1}, "per-object", plain=False),
        Sample((z, y * 0.9), {"normalizer": y * 0.9 == 1}, "no-objects", plain=False),
        Sample((z[:1, :1], y[:1, :1]), {}, "batch-of-one"),
        Sample((z.reshape(-1), y.reshape(-1)), {}, "flat"),
    ]


def _gf_errors() -> list[ErrorCase]:
    fn = "gaussian_focal_loss"
    x, y = _randn(N, seed=52), _randn(N, seed=53).abs().clamp(0, 1)
    return [
        *_prob_errors(fn),
        ErrorCase((x, y), {"alpha": -1.0}, ValueError, rf"^{fn}: alpha must be in \[0, inf\)", "alpha"),
        ErrorCase((x, y), {"beta": "4"}, TypeError, rf"^{fn}: beta must be a number", "beta"),
        ErrorCase(
            (x, y), {"input_type": "prob"}, ValueError, rf"^{fn}: input_type must be one of", "input-type"
        ),
        ErrorCase(
            (x.sigmoid() + 1.0, y),
            {"input_type": "probs"},
            ValueError,
            rf"^{fn}: input must hold probabilities",
            "probs-out",
        ),
        ErrorCase(
            (x, y), {"normalizer": [1.0]}, TypeError, rf"^{fn}: normalizer must be a torch.Tensor", "norm"
        ),
    ]


def _gf_extremes() -> list[Sample]:
    z = t64([[1e4, -1e4, 1e4, -1e4, 0.0, 1e4]])
    y = t64([[1.0, 1.0, 0.0, 0.0, 0.5, 0.999]])
    p = t64([[1.0, 0.0, 1.0, 0.0, 0.5, 1.0]])
    return [
        Sample((z, y), {}, "saturated-logits"),
        Sample((z, y), {"alpha": 0.5, "beta": 0.5}, "saturated-a0.5"),
        Sample((p, y), {"input_type": "probs"}, "probs-0-and-1"),
        Sample((z, y), {"normalizer": y == 1}, "normalized"),
    ]


def _gf_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 5)))
    y = rng.uniform(0, 1, size=shape)
    y[rng.uniform(size=shape) < 0.2] = 1.0
    return Sample(
        (t64(rng.normal(size=shape) * scale), t64(y)),
        {"alpha": float(rng.choice([0.0, 0.5, 2.0])), "beta": float(rng.choice([0.0, 1.0, 4.0]))},
    )


# --- adaptive Wing -----------------------------------------------------------------------------------------


def _awing_samples() -> list[Sample]:
    rng = rng_for("adaptive_wing")
    y = _heatmap(rng, 2, 2, 3, 3)
    x = y + t64(rng.normal(size=y.shape) * 0.4)
    d = x - y
    x = torch.where((d.abs() - 0.5).abs() < 0.02, x + 0.05, x)  # keep gradcheck off the switch point
    w = t64(rng.uniform(0.1, 2.0, size=y.shape))
    return [
        Sample((x, y), {}, "basic"),
        Sample((x, y), {"theta": 0.2, "omega": 5.0}, "theta0.2"),
        Sample((x, y), {"alpha": 3.0, "epsilon": 0.5}, "alpha3"),
        Sample((x, y), {"weight": w}, "weight", plain=False),
        Sample((x[:1, :1], y[:1, :1]), {}, "batch-of-one"),
    ]


def _awing_errors() -> list[ErrorCase]:
    fn = "adaptive_wing_loss"
    x, y = _randn(N, seed=54), _randn(N, seed=55).abs().clamp(0, 1)
    return [
        *_prob_errors(fn),
        ErrorCase((x, y), {"alpha": 2.0}, ValueError, rf"^{fn}: alpha must be in \(2, inf\)", "alpha"),
        ErrorCase((x, y), {"theta": 0.0}, ValueError, rf"^{fn}: theta must be in \(0, inf\)", "theta"),
        ErrorCase((x, y), {"omega": None}, TypeError, rf"^{fn}: omega must be a number", "omega"),
    ]


def _awing_extremes() -> list[Sample]:
    x = t64([[1e4, -1e4, 0.0, 1.0, 0.5, 1e-300]])
    y = t64([[0.0, 1.0, 0.0, 1.0, 0.0, 0.0]])
    return [Sample((x, y), {}, "huge-and-exact"), Sample((x, y), {"alpha": 2.001}, "alpha-near-2")]


def _awing_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 5)))
    y = rng.uniform(0, 1, size=shape)
    return Sample((t64(y + rng.normal(size=shape) * scale), t64(y)), {})


# --- GHM-C -----------------------------------------------------------------------------------------------


def _ghm_samples() -> list[Sample]:
    rng = rng_for("ghm_c")
    z = t64(rng.normal(size=(N, 4)) * 2.5)
    y = t64((rng.uniform(size=(N, 4)) < 0.3).astype(np.float64))
    mask = t64((rng.uniform(size=(N, 1)) < 0.7).astype(np.float64))
    mask[0] = 1.0
    return [
        Sample((z, y), {}, "basic"),
        Sample((z, y), {"bins": 1}, "one-bin"),
        Sample((z, y), {"bins": 30}, "bins30"),
        Sample((z, y), {"weight": mask}, "label-weight", plain=False, kwarg_grad=False),  # 0/1: at the edge
        Sample((z, y), {"bin_counts": t64(rng.uniform(1.0, 20.0, size=10))}, "running-counts"),
        Sample((z, t64(rng.uniform(size=(N, 4)))), {"bins": 5}, "soft-targets"),
        Sample((z[:1], y[:1]), {}, "batch-of-one"),
    ]


def _ghm_errors() -> list[ErrorCase]:
    fn = "ghm_c_loss"
    x, y = _randn(N, seed=56), (_randn(N, seed=57) > 0).double()
    return [
        *_prob_errors(fn),
        ErrorCase((x, y), {"bins": 0}, ValueError, rf"^{fn}: bins must be >= 1, got 0", "bins0"),
        ErrorCase((x, y), {"bins": 10.0}, TypeError, rf"^{fn}: bins must be an int", "bins-float"),
        ErrorCase(
            (x, y),
            {"bin_counts": torch.ones(5, dtype=torch.float64)},
            ValueError,
            rf"^{fn}: bin_counts must have shape \(10,\)",
            "counts-shape",
        ),
        ErrorCase(
            (x, y),
            {"bin_counts": torch.ones(10, dtype=torch.long)},
            TypeError,
            rf"^{fn}: bin_counts must be a floating-point tensor",
            "counts-int",
        ),
    ]


def _ghm_extremes() -> list[Sample]:
    z = t64([[1e4, -1e4, 1e4, -1e4], [0.0, 0.0, 1e4, 1e4]])
    y = t64([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]])
    return [Sample((z, y), {}, "saturated"), Sample((z, y), {"weight": t64([[0.0], [0.0]])}, "all-ignored")]


def _ghm_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 5)))
    y = (rng.uniform(size=shape) < 0.4).astype(np.float64)
    return Sample((t64(rng.normal(size=shape) * scale), t64(y)), {"bins": int(rng.integers(1, 31))})


# --- OKS ---------------------------------------------------------------------------------------------------


def _oks_samples() -> list[Sample]:
    rng = rng_for("oks")
    gt = t64(rng.uniform(0, 100, size=(N, 17, 2)))
    pred = gt + t64(rng.normal(size=(N, 17, 2)) * 3.0)
    area = t64(rng.uniform(200.0, 5000.0, size=N))
    vis = t64(rng.integers(0, 3, size=(N, 17)))
    vis[1] = 0.0  # an instance without visible keypoints: loss 0
    gt4, pred4 = gt[:, :4].contiguous(), pred[:, :4].contiguous()
    sig4 = [0.05, 0.1, 0.2, 0.08]
    return [
        # gradcheck on the (smaller) 4-keypoint and batch-of-one samples keeps the suite fast
        Sample((pred, gt), {"area": area}, "coco-all-visible", grad=False),
        Sample((pred, gt), {"area": area, "visibility": vis}, "coco-visibility", grad=False),
        Sample((pred, gt), {"area": area, "visibility": vis > 0}, "bool-visibility", grad=False),
        Sample((pred4, gt4), {"area": area * 0.01, "sigmas": sig4}, "k4-list-sigmas"),
        Sample(
            (pred4, gt4),
            {"area": area * 0.01, "sigmas": t64(sig4), "weight": t64(rng.uniform(0.1, 2, size=N))},
            "k4-tensor-sigmas-weight",
            plain=False,
        ),
        Sample((pred[:1], gt[:1]), {"area": area[:1]}, "batch-of-one"),
    ]


def _oks_errors() -> list[ErrorCase]:
    fn = "oks_loss"
    gt = torch.rand(N, 17, 2, generator=torch.Generator().manual_seed(58), dtype=torch.float64)
    area = torch.ones(N, dtype=torch.float64)
    return [
        ErrorCase(
            (gt[..., :1], gt[..., :1]),
            {"area": area},
            ValueError,
            rf"^{fn}: input must have shape \(N, K, 2\)",
            "one-coordinate",
        ),
        ErrorCase(
            (gt.reshape(N, 34), gt),
            {"area": area},
            ValueError,
            rf"^{fn}: input must have shape \(N, K, 2\)",
            "flat",
        ),
        ErrorCase(
            (gt, gt[:, :5]),
            {"area": area},
            ValueError,
            rf"^{fn}: target must have shape \(6, 17, 2\)",
            "target",
        ),
        ErrorCase(
            (gt, gt), {"area": area[:, None]}, ValueError, rf"^{fn}: area must have shape \(6,\)", "area"
        ),
        ErrorCase(
            (gt, gt),
            {"area": area, "visibility": torch.ones(N, 5)},
            ValueError,
            rf"^{fn}: visibility must have shape \(6, 17\)",
            "visibility",
        ),
        ErrorCase(
            (gt[:, :4], gt[:, :4]),
            {"area": area},
            ValueError,
            rf"^{fn}: sigmas defaults to COCO's 17 keypoints",
            "sigmas-missing",
        ),
        ErrorCase(
            (gt, gt),
            {"area": area, "sigmas": [0.1] * 5},
            ValueError,
            rf"^{fn}: sigmas must hold one value per keypoint \(17\), got 5",
            "sigmas-length",
        ),
        ErrorCase(
            (gt, gt),
            {"area": area, "sigmas": [0.0] * 17},
            ValueError,
            rf"^{fn}: sigmas\[0\] must be in",
            "sigmas-zero",
        ),
        ErrorCase(
            (gt, gt),
            {"area": area, "sigmas": "coco"},
            TypeError,
            rf"^{fn}: sigmas must be a sequence",
            "sigmas-str",
        ),
        ErrorCase(
            (gt, gt), {"area": -area}, ValueError, rf"^{fn}: area must be non-negative", "area-negative"
        ),
        ErrorCase(
            (gt, gt),
            {"area": area, "weight": torch.ones(N, 17)},
            ValueError,
            rf"^{fn}: weight must have",
            "weight",
        ),
        ErrorCase(
            (gt.masked_fill(gt > 0.5, float("nan")), gt),
            {"area": area},
            ValueError,
            rf"^{fn}: input contains NaN",
            "nan",
        ),
        ErrorCase(
            (gt.long(), gt), {"area": area}, TypeError, rf"^{fn}: input must be a floating-point", "int"
        ),
        ErrorCase(
            (gt, gt),
            {"area": area, "reduction": "batchmean"},
            ValueError,
            rf"^{fn}: reduction must be one of",
            "reduction",
        ),
    ]


def _oks_extremes() -> list[Sample]:
    gt = torch.zeros(3, 17, 2, dtype=torch.float64)
    pred = gt.clone()
    pred[0] = 1e4
    pred[2, :, 0] = 1e-300
    return [
        Sample((pred, gt), {"area": t64([1.0, 0.0, 0.0])}, "far-and-zero-area"),
        Sample(
            (pred, gt), {"area": t64([1e30, 1.0, 1e-30]), "visibility": torch.zeros(3, 17)}, "none-visible"
        ),
    ]


def _oks_random(rng: np.random.Generator, scale: float) -> Sample:
    n, k = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    gt = rng.uniform(-1, 1, size=(n, k, 2)) * scale
    pred = gt + rng.normal(size=(n, k, 2)) * scale * 0.1
    return Sample(
        (t64(pred), t64(gt)),
        {
            "area": t64(rng.uniform(0.1, 4.0, size=n) * scale * scale),
            "sigmas": [float(v) for v in rng.uniform(0.02, 0.2, size=k)],
        },
    )


def _reg_entry(name, module, reference, variants, option_errors, extremes, random_kw):
    return LossEntry(
        name,
        getattr(LF, name),
        module,
        reference,
        lambda: _elementwise_samples(name, variants),
        errors=lambda: _elementwise_errors(name) + _option_errors(name, option_errors),
        extremes=lambda: _elementwise_extremes(extremes),
        random=_elementwise_random(random_kw),
        empty=_elementwise_empty,
        grad_args=(0, 1),
    )


def _empty2() -> Sample:
    return Sample((torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, D, dtype=torch.float64)), {})


ENTRIES = [
    LossEntry(
        "gaussian_focal_loss",
        LF.gaussian_focal_loss,
        losskit.GaussianFocalLoss,
        R.gaussian_focal_loss,
        _gf_samples,
        errors=_gf_errors,
        extremes=_gf_extremes,
        random=_gf_random,
        empty=_empty2,
    ),
    _reg_entry(
        "balanced_l1_loss",
        losskit.BalancedL1Loss,
        R.balanced_l1_loss,
        [{"beta": 0.5}, {"alpha": 1.0, "gamma": 2.0}, {"beta": 5.0}],
        [
            ({"alpha": 0.0}, ValueError, r"alpha must be in \(0, inf\)"),
            ({"gamma": "1.5"}, TypeError, "gamma must be a number"),
            ({"beta": -1.0}, ValueError, r"beta must be in \(0, inf\)"),
        ],
        [{"beta": 1e-3}, {"alpha": 0.1, "gamma": 5.0}],
        lambda rng: {"beta": float(rng.choice([0.1, 1.0, 3.0]))},
    ),
    _reg_entry(
        "wing_loss",
        losskit.WingLoss,
        R.wing_loss,
        [{"omega": 1.0, "epsilon": 0.5}, {"omega": 15.0, "epsilon": 3.0}, {"omega": 0.3}],
        [
            ({"omega": 0.0}, ValueError, r"omega must be in \(0, inf\)"),
            ({"epsilon": -2.0}, ValueError, r"epsilon must be in \(0, inf\)"),
        ],
        [{"omega": 1e-3}, {"epsilon": 1e-6}],
        lambda rng: {"omega": float(rng.choice([0.5, 10.0])), "epsilon": float(rng.choice([0.1, 2.0]))},
    ),
    LossEntry(
        "adaptive_wing_loss",
        LF.adaptive_wing_loss,
        losskit.AdaptiveWingLoss,
        R.adaptive_wing_loss,
        _awing_samples,
        errors=_awing_errors,
        extremes=_awing_extremes,
        random=_awing_random,
        empty=_empty2,
    ),
    # the Module keeps a momentum state, so its parity with the function is tested in test_detection_values
    LossEntry(
        "ghm_c_loss",
        LF.ghm_c_loss,
        None,
        R.ghm_c_loss,
        _ghm_samples,
        errors=_ghm_errors,
        extremes=_ghm_extremes,
        random=_ghm_random,
        empty=_empty2,
        nograd_kwargs=("bin_counts",),
    ),  # running gradient-density statistics: state, not a parameter
    # area / visibility are keyword options indexed by the batch, so the generic permutation check (which
    # permutes positional tensors only) does not apply; test_detection_values checks it
    LossEntry(
        "oks_loss",
        LF.oks_loss,
        losskit.OKSLoss,
        R.oks_loss,
        _oks_samples,
        errors=_oks_errors,
        extremes=_oks_extremes,
        random=_oks_random,
        empty=lambda: Sample(
            (torch.zeros(0, 17, 2, dtype=torch.float64), torch.zeros(0, 17, 2, dtype=torch.float64)),
            {"area": torch.zeros(0, dtype=torch.float64)},
        ),
        batch_equivariant=False,
        sequence_kwargs=("sigmas",),
    ),
]
