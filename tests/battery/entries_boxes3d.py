"""Battery entries for the IoU, GIoU and DIoU losses of axis-aligned 3-D boxes (``box_format="xyzxyz"`` /
``"cxcyczwhd"``); the 2-D entries are in entries_boxes.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import boxes3d as R

N = 6
FORMATS = ("xyzxyz", "cxcyczwhd")


def _pairs(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0, jitter: float = 1.0):
    c = rng.uniform(0.0, 10.0, size=(*shape, 3))
    size = rng.uniform(0.5, 4.0, size=(*shape, 3))
    pc = c + rng.normal(0.0, jitter, size=(*shape, 3))
    psize = size * np.exp(rng.normal(0.0, 0.4, size=(*shape, 3)))
    g = np.concatenate([c - size / 2, c + size / 2], -1) * scale
    p = np.concatenate([pc - psize / 2, pc + psize / 2], -1) * scale
    return p, g


def _fmt(b: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "xyzxyz":
        return b
    return np.concatenate([(b[..., :3] + b[..., 3:]) / 2, b[..., 3:] - b[..., :3]], -1)


def _pair(rng, fmt, shape=(N,), **kw):
    p, g = _pairs(rng, shape, **kw)
    return t64(_fmt(p, fmt)), t64(_fmt(g, fmt))


def _samples(name: str, options: list[dict[str, Any]]) -> list[Sample]:
    rng = rng_for(name + "-3d")
    p, g = _pair(rng, "xyzxyz")
    far = g.clone()
    far[:, [0, 3]] += 30.0
    inner = torch.cat([(g[:, :3] * 3 + g[:, 3:]) / 4, (g[:, :3] + g[:, 3:] * 3) / 4], 1)
    out = [
        Sample((p, g), {"box_format": "xyzxyz"}, "xyzxyz"),
        Sample(_pair(rng, "cxcyczwhd"), {"box_format": "cxcyczwhd"}, "cxcyczwhd"),
        Sample(
            (p, g),
            {"box_format": "xyzxyz", "weight": t64(rng.uniform(0.1, 2.0, size=N))},
            "weight",
            plain=False,
        ),
        Sample(_pair(rng, "cxcyczwhd", (2, 3)), {"box_format": "cxcyczwhd"}, "leading-dims"),
        Sample((p[:1], g[:1]), {"box_format": "xyzxyz"}, "batch-of-one"),
        Sample((p, far), {"box_format": "xyzxyz"}, "no-overlap"),
        Sample((inner, g), {"box_format": "xyzxyz"}, "pred-inside-target"),
        Sample(_pair(rng, "xyzxyz", scale=1e-2), {"box_format": "xyzxyz"}, "small-scale"),
    ]
    for kw in options:
        tag = "-".join(f"{k}{v}" for k, v in kw.items())
        out.append(Sample((p, g), {"box_format": "xyzxyz", **kw}, tag))
        out.append(Sample(_pair(rng, "cxcyczwhd"), {"box_format": "cxcyczwhd", **kw}, f"{tag}-c"))
    return out


def _extremes(options: list[dict[str, Any]]) -> list[Sample]:
    cases = {
        "zero-depth-pred": ([1.0, 1.0, 2.0, 3.0, 3.0, 2.0], [0.0, 0.0, 0.0, 4.0, 4.0, 4.0]),
        "point-in-target": ([2.0, 2.0, 2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 4.0, 4.0, 4.0]),
        "identical": ([1.0, 1.0, 1.0, 4.0, 3.0, 2.0], [1.0, 1.0, 1.0, 4.0, 3.0, 2.0]),
        "identical-points": ([2.0] * 6, [2.0] * 6),
        "inverted-pred": ([4.0, 3.0, 2.0, 1.0, 1.0, 1.0], [2.0, 0.0, 0.0, 5.0, 4.0, 3.0]),
        "far-apart": ([1e6, 1e6, 1e6, 1e6 + 1, 1e6 + 2, 1e6 + 1], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
        "tiny": ([1e-6, 1e-6, 1e-6, 4e-6, 3e-6, 2e-6], [2e-6, 0.0, 0.0, 5e-6, 4e-6, 3e-6]),
        "touching": ([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]),
    }
    out = [Sample((t64([p]), t64([g])), {"box_format": "xyzxyz"}, k) for k, (p, g) in cases.items()]
    ps, gs = zip(*cases.values())
    for kw in [{}, *options]:
        out.append(Sample((t64(ps), t64(gs)), {"box_format": "xyzxyz", **kw}, "all-together" + str(kw)))
    out.append(
        Sample(
            (t64([[1.0, 1.0, 1.0, -2.0, 0.0, 1.0]]), t64([[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]])),
            {"box_format": "cxcyczwhd"},
            "negative-size-pred",
        )
    )
    return out


def _errors(fn: str, extra: list[ErrorCase]) -> list[ErrorCase]:
    rng = np.random.default_rng(0)
    p, g = _pair(rng, "xyzxyz")
    p, g = p.float(), g.float()
    bad = g.clone()
    bad[1, 4] = bad[1, 1] - 1.0
    nan = p.clone()
    nan[0, 2] = float("nan")
    kw = {"box_format": "xyzxyz"}
    return [
        ErrorCase(
            (p[:, :4], g[:, :4]),
            kw,
            ValueError,
            rf"^{fn}: input must have shape \(\.\.\., 6\) with one xyzxyz",
            "last-dim",
        ),
        ErrorCase(
            (p, g),
            {},
            ValueError,
            rf"^{fn}: input must have shape \(\.\.\., 4\).*box_format='xyzxyz'",
            "6-with-2d-format",
        ),
        ErrorCase((p, g[:3]), kw, ValueError, rf"^{fn}: target must have shape \(6, 6\)", "target-short"),
        ErrorCase(
            (p.long(), g), kw, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase((p, g.bool()), kw, TypeError, rf"^{fn}: target must be a real", "bool-target"),
        ErrorCase(
            (p, bad),
            kw,
            ValueError,
            rf"^{fn}: target must hold xyzxyz boxes with non-negative sizes",
            "inverted-target",
        ),
        ErrorCase(
            (p, g),
            {**kw, "weight": torch.ones(N + 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase((nan, g), kw, ValueError, rf"^{fn}: input contains NaN", "nan"),
        ErrorCase((p, g), {**kw, "eps": -1.0}, ValueError, rf"^{fn}: eps must be in \[0, inf\)", "eps"),
        *extra,
    ]


def _random(options: Callable[[np.random.Generator], dict[str, Any]]):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n = int(rng.integers(1, 9))
        fmt = str(rng.choice(FORMATS))
        p, g = _pairs(rng, (n,), scale=scale, jitter=float(rng.choice([0.3, 1.0, 5.0])))
        k = rng.uniform(size=n)
        p[k < 0.2, 3] = p[k < 0.2, 0]  # zero-width predictions
        p[(k >= 0.2) & (k < 0.3)] = p[(k >= 0.2) & (k < 0.3)][:, [3, 4, 5, 0, 1, 2]]  # inverted
        return Sample((t64(_fmt(p, fmt)), t64(_fmt(g, fmt))), {"box_format": fmt, **options(rng)})

    return make


def _entry(name, fn, module, reference, options, errors=(), random_options=lambda rng: {}):
    return LossEntry(
        f"{name}_3d",
        fn,
        module,
        reference,
        lambda: _samples(name, options),
        errors=lambda: _errors(name, list(errors)),
        extremes=lambda: _extremes(options),
        random=_random(random_options),
        empty=lambda: Sample(
            (torch.zeros(0, 6, dtype=torch.float64), torch.zeros(0, 6, dtype=torch.float64)),
            {"box_format": "xyzxyz"},
        ),
    )


def _box() -> torch.Tensor:
    return torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0, 2.0]])


ENTRIES = [
    _entry(
        "iou_loss",
        LF.iou_loss,
        losskit.IoULoss,
        R.iou_loss,
        [{"mode": "log"}, {"mode": "square"}, {"smooth": 1.0}],
        [
            ErrorCase(
                (_box(), _box()),
                {"box_format": "xyzxyz", "mode": "ln"},
                ValueError,
                r"^iou_loss: mode must be one of",
                "mode",
            )
        ],
        lambda rng: {"mode": str(rng.choice(["linear", "log", "square"]))},
    ),
    _entry("giou_loss", LF.giou_loss, losskit.GIoULoss, R.giou_loss, []),
    _entry("diou_loss", LF.diou_loss, losskit.DIoULoss, R.diou_loss, []),
]
