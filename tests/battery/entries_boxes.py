"""Battery entries for the bounding-box family (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import boxes as R

N = 6
FORMATS = ("xyxy", "xywh", "cxcywh", "ltrb")


# ---------------------------------------------------------------------------------------------------
# box generators (numpy, float64, xyxy first and converted after)


def _pairs_xyxy(
    rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0, jitter: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Target boxes and predictions near them (mostly overlapping, in general position)."""
    c = rng.uniform(0.0, 10.0, size=(*shape, 2))
    wh = rng.uniform(0.5, 4.0, size=(*shape, 2))
    pc = c + rng.normal(0.0, jitter, size=(*shape, 2))
    pwh = wh * np.exp(rng.normal(0.0, 0.4, size=(*shape, 2)))
    g = np.concatenate([c - wh / 2, c + wh / 2], axis=-1) * scale
    p = np.concatenate([pc - pwh / 2, pc + pwh / 2], axis=-1) * scale
    return p, g


def _to_format(b: np.ndarray, fmt: str, point: np.ndarray | None = None) -> np.ndarray:
    if fmt == "ltrb":  # distances from a shared point
        assert point is not None
        return np.concatenate([point - b[..., :2], b[..., 2:] - point], axis=-1)
    return R.box_convert(b, "xyxy", fmt)


def _pair(
    rng: np.random.Generator, fmt: str, shape: tuple[int, ...] = (N,), **kw: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    p, g = _pairs_xyxy(rng, shape, **kw)
    point = (g[..., :2] + g[..., 2:]) / 2 + rng.uniform(-0.2, 0.2, size=(*shape, 2))
    return t64(_to_format(p, fmt, point)), t64(_to_format(g, fmt, point))


def _generic_samples(
    name: str, options: list[dict[str, Any]], no_grad: Callable[[dict], bool]
) -> list[Sample]:
    """Every format, a weight, leading dimensions, batch of one, no overlap, containment, and the options."""
    rng = rng_for(name)
    out: list[Sample] = []

    def add(args: tuple, kw: dict, tag: str, plain: bool = True) -> None:
        out.append(Sample(args, kw, tag, plain=plain, grad=not no_grad(kw)))

    p, g = _pair(rng, "xyxy")
    add((p, g), {}, "xyxy")
    for fmt in FORMATS[1:]:
        add(_pair(rng, fmt), {"box_format": fmt}, fmt)
    add((p, g), {"weight": t64(rng.uniform(0.1, 2.0, size=N))}, "weight", plain=False)
    add(
        _pair(rng, "xyxy", (2, 3)),
        {"weight": t64(rng.uniform(0.1, 2.0, size=3))},
        "weight-broadcast",
        plain=False,
    )
    add(_pair(rng, "cxcywh", (2, 3)), {"box_format": "cxcywh"}, "leading-dims")
    add((p[:1], g[:1]), {}, "batch-of-one")
    add((p[0], g[0]), {}, "single-box-0d")
    far = g.clone()
    far[:, [0, 2]] += 25.0
    add((p, far), {}, "no-overlap")
    inner = torch.cat(
        [(g[:, :2] * 3 + g[:, 2:]) / 4, (g[:, :2] + g[:, 2:] * 3) / 4 + 0.01 * t64(rng.uniform(size=(N, 2)))],
        dim=1,
    )
    add((inner, g), {}, "pred-inside-target")
    add(_pair(rng, "xyxy", scale=1e-2), {}, "small-scale")
    for kw in options:
        tag = "-".join(f"{k}{v}" for k, v in kw.items())
        add((p, g), dict(kw), tag)
        add(_pair(rng, "xywh"), {**kw, "box_format": "xywh"}, f"{tag}-xywh")
    return out


def _extremes(options: list[dict[str, Any]]) -> list[Sample]:
    """Degenerate geometry (SPEC §3 decisions): finite values and gradients everywhere."""
    cases = {
        "zero-width-pred": ([1.0, 1.0, 1.0, 3.0], [0.0, 0.0, 2.0, 4.0]),
        "zero-height-pred": ([1.0, 2.0, 4.0, 2.0], [2.0, 0.0, 5.0, 4.0]),
        "zero-height-both": ([1.0, 2.0, 4.0, 2.0], [0.0, 3.0, 5.0, 3.0]),
        "point-in-target": ([2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0]),
        "identical": ([1.0, 1.0, 4.0, 3.0], [1.0, 1.0, 4.0, 3.0]),
        "identical-points": ([2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]),
        "distinct-points": ([0.0, 0.0, 0.0, 0.0], [3.0, 4.0, 3.0, 4.0]),
        "inverted-pred": ([4.0, 3.0, 1.0, 1.0], [2.0, 0.0, 5.0, 4.0]),
        "inverted-pred-x-only": ([4.0, 1.0, 1.0, 3.0], [2.0, 0.0, 5.0, 4.0]),
        "far-apart": ([1e6, 1e6, 1e6 + 1.0, 1e6 + 2.0], [0.0, 0.0, 1.0, 1.0]),
        "huge-boxes": ([-3e4, -2e4, 5e4, 4e4], [-1e4, -3e4, 6e4, 2e4]),
        "tiny-boxes": ([1e-6, 1e-6, 4e-6, 3e-6], [2e-6, 0.0, 5e-6, 4e-6]),
        "same-centre": ([0.0, 0.0, 4.0, 2.0], [1.0, -1.0, 3.0, 3.0]),
        "aligned-centres-x": ([0.0, 0.0, 2.0, 2.0], [5.0, 0.0, 7.0, 2.0]),
        "zero-area-target": ([1.0, 1.0, 4.0, 3.0], [2.0, 2.0, 2.0, 5.0]),
        "touching": ([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0]),
    }
    # one sample per case with the default options; every case in one batch for each option set (each row is
    # independent, and batch-normalised losses then also see mixed degenerate boxes together)
    out = [Sample((t64([p]), t64([g])), {}, name) for name, (p, g) in cases.items()]
    ps, gs = zip(*cases.values())
    for kw in [{}, *options]:
        tag = "-".join(f"{k}{v}" for k, v in kw.items())
        out.append(Sample((t64(ps), t64(gs)), dict(kw), f"all-together{'-' + tag if tag else ''}"))
    # the other formats: negative and zero sizes
    out += [
        Sample(
            (
                t64([[2.0, 2.0, -1.0, 3.0], [1.0, 1.0, 0.0, 0.0]]),
                t64([[2.0, 2.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0]]),
            ),
            {"box_format": "cxcywh"},
            "cxcywh-negative-zero",
        ),
        Sample(
            (
                t64([[2.0, 2.0, 0.0, 3.0], [1.0, 1.0, -2.0, -1.0]]),
                t64([[2.0, 2.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0]]),
            ),
            {"box_format": "xywh"},
            "xywh-negative-zero",
        ),
        Sample(
            (
                t64([[0.0, 0.0, 0.0, 0.0], [-2.0, 1.0, 1.0, 3.0]]),
                t64([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 1.0]]),
            ),
            {"box_format": "ltrb"},
            "ltrb-point-inverted",
        ),
    ]
    return out


def _errors(fn: str, extra: list[ErrorCase]) -> list[ErrorCase]:
    p, g = torch.rand(N, 4), torch.rand(N, 4)
    g[:, 2:] += g[:, :2]
    p[:, 2:] += p[:, :2]
    bad_target = g.clone()
    bad_target[2, 2] = bad_target[2, 0] - 1.0
    nan = p.clone()
    nan[1, 1] = float("nan")
    inf_t = g.clone()
    inf_t[0, 3] = float("inf")
    return [
        ErrorCase(
            (p[:, :3], g[:, :3]), {}, ValueError, rf"^{fn}: input must have shape \(\.\.\., 4\)", "last-dim"
        ),
        ErrorCase((p, g[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6, 4\)", "target-N14"),
        ErrorCase((p, g[:3]), {}, ValueError, rf"^{fn}: target must have shape \(6, 4\)", "target-short"),
        ErrorCase(
            (p.long(), g), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase((p, "boxes"), {}, TypeError, rf"^{fn}: target must be a torch.Tensor", "str-target"),
        ErrorCase((p, g.bool()), {}, TypeError, rf"^{fn}: target must be a real", "bool-target"),
        ErrorCase(
            (p, g), {"box_format": "xyxy2"}, ValueError, rf"^{fn}: box_format must be one of", "box_format"
        ),
        ErrorCase(
            (p, g),
            {"weight": torch.ones(N + 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase(
            (p, g),
            {"weight": torch.ones(N, 4)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight-4",
        ),
        ErrorCase(
            (p, g),
            {"weight": -torch.ones(N)},
            ValueError,
            rf"^{fn}: weight must be non-negative",
            "weight-neg",
        ),
        ErrorCase(
            (p, bad_target),
            {},
            ValueError,
            rf"^{fn}: target must hold xyxy boxes with non-negative",
            "inverted",
        ),
        ErrorCase(
            (p, _negative_width(g)),
            {"box_format": "xywh"},
            ValueError,
            rf"^{fn}: target must hold xywh boxes",
            "xywh-negative",
        ),
        ErrorCase((nan, g), {}, ValueError, rf"^{fn}: input contains NaN", "nan"),
        ErrorCase((p, inf_t), {}, ValueError, rf"^{fn}: target contains inf", "inf-target"),
        ErrorCase((p, g), {"eps": -1.0}, ValueError, rf"^{fn}: eps must be in \[0, inf\)", "eps"),
        ErrorCase((p, g), {"eps": "small"}, TypeError, rf"^{fn}: eps must be a number", "eps-type"),
        ErrorCase((p, g), {"reduction": "avg"}, ValueError, rf"^{fn}: reduction must be one of", "reduction"),
        *extra,
    ]


def _negative_width(g: torch.Tensor) -> torch.Tensor:
    out = g.clone()
    out[0, 2] = -0.5
    return out


def _random(options: Callable[[np.random.Generator], dict[str, Any]]):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n = int(rng.integers(1, 9))
        fmt = str(rng.choice(FORMATS))
        p, g = _pairs_xyxy(rng, (n,), scale=scale, jitter=float(rng.choice([0.3, 1.0, 5.0])))
        # some degenerate predictions: zero width, inverted, a point
        k = rng.uniform(size=n)
        p[k < 0.15, 2] = p[k < 0.15, 0]
        p[(k >= 0.15) & (k < 0.3)] = p[(k >= 0.15) & (k < 0.3)][:, [2, 3, 0, 1]]
        p[(k >= 0.3) & (k < 0.4), 2:] = p[(k >= 0.3) & (k < 0.4), :2]
        if fmt == "ltrb":
            point = (g[:, :2] + g[:, 2:]) / 2
            pt, gt = (
                np.concatenate([point - p[:, :2], p[:, 2:] - point], 1),
                np.concatenate([point - g[:, :2], g[:, 2:] - point], 1),
            )
        else:
            pt, gt = R.box_convert(p, "xyxy", fmt), R.box_convert(g, "xyxy", fmt)
        return Sample((t64(pt), t64(gt)), {"box_format": fmt, **options(rng)})

    return make


def _empty() -> Sample:
    return Sample((torch.zeros(0, 4, dtype=torch.float64), torch.zeros(0, 4, dtype=torch.float64)), {})


def _never(kw: dict) -> bool:
    return False


def _entry(
    name: str,
    fn: Callable[..., torch.Tensor],
    module: type[torch.nn.Module],
    reference: Callable[..., Any],
    options: list[dict[str, Any]],
    extreme_options: list[dict[str, Any]],
    errors: list[ErrorCase] | None = None,
    random_options: Callable[[np.random.Generator], dict[str, Any]] = lambda rng: {},
    no_grad: Callable[[dict], bool] = _never,
    **flags: Any,
) -> LossEntry:
    return LossEntry(
        name,
        fn,
        module,
        reference,
        lambda: _generic_samples(name, options, no_grad),
        errors=lambda: _errors(name, errors or []),
        extremes=lambda: _extremes(extreme_options),
        random=_random(random_options),
        empty=_empty,
        **flags,
    )


def _opt_err(fn: str, kw: dict[str, Any], error: type[Exception], match: str, name: str) -> ErrorCase:
    p = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    return ErrorCase((p, p.clone()), kw, error, rf"^{fn}: {match}", name)


def _choice(rng: np.random.Generator, values: list) -> Any:
    return values[int(rng.integers(0, len(values)))]


ENTRIES = [
    _entry(
        "iou_loss",
        LF.iou_loss,
        losskit.IoULoss,
        R.iou_loss,
        [{"mode": "log"}, {"mode": "square"}, {"smooth": 1.0}, {"mode": "log", "smooth": 0.5}],
        [{"mode": "log"}, {"mode": "square"}, {"smooth": 1.0}],
        errors=[
            _opt_err("iou_loss", {"mode": "ln"}, ValueError, "mode must be one of", "mode"),
            _opt_err("iou_loss", {"smooth": -1.0}, ValueError, r"smooth must be in \[0, inf\)", "smooth"),
        ],
        random_options=lambda rng: {
            "mode": _choice(rng, ["linear", "log", "square"]),
            "smooth": _choice(rng, [0.0, 0.0, 1.0]),
        },
    ),
    _entry("giou_loss", LF.giou_loss, losskit.GIoULoss, R.giou_loss, [], []),
    _entry("diou_loss", LF.diou_loss, losskit.DIoULoss, R.diou_loss, [], []),
    _entry(
        "ciou_loss",
        LF.ciou_loss,
        losskit.CIoULoss,
        R.ciou_loss,
        [{"detach_alpha": False}, {"alpha_rule": "tcyb", "detach_alpha": False}, {"alpha_rule": "tcyb"}],
        [{"alpha_rule": "tcyb"}, {"detach_alpha": False}],
        errors=[
            _opt_err("ciou_loss", {"alpha_rule": "cvpr"}, ValueError, "alpha_rule must be one of", "rule")
        ],
        random_options=lambda rng: {
            "alpha_rule": _choice(rng, ["aaai", "tcyb"]),
            "detach_alpha": _choice(rng, [True, False]),
        },
        # α is a constant in the backward pass: gradcheck (numerical derivative of the value) needs it attached
        no_grad=lambda kw: kw.get("detach_alpha", True),
    ),
    _entry("eiou_loss", LF.eiou_loss, losskit.EIoULoss, R.eiou_loss, [], []),
    _entry(
        "focal_eiou_loss",
        LF.focal_eiou_loss,
        losskit.FocalEIoULoss,
        R.focal_eiou_loss,
        [{"detach_weight": False}, {"gamma": 0.0}, {"gamma": 2.0, "detach_weight": False}, {"gamma": 1.0}],
        [{"detach_weight": False}, {"gamma": 2.0}, {"gamma": 0.0}],
        errors=[
            _opt_err("focal_eiou_loss", {"gamma": -0.5}, ValueError, r"gamma must be in \[0, inf\)", "gamma")
        ],
        random_options=lambda rng: {
            "gamma": _choice(rng, [0.0, 0.5, 2.0]),
            "detach_weight": _choice(rng, [True, False]),
        },
        no_grad=lambda kw: kw.get("detach_weight", True) and kw.get("gamma", 0.5) != 0.0,
    ),
    _entry(
        "cdiou_loss",
        LF.cdiou_loss,
        losskit.CDIoULoss,
        R.cdiou_loss,
        [{"lambda_": 0.5}, {"lambda_": 3.0}],
        [{"lambda_": 2.0}],
        errors=[
            _opt_err("cdiou_loss", {"lambda_": -1.0}, ValueError, r"lambda_ must be in \[0, inf\)", "lambda")
        ],
        random_options=lambda rng: {"lambda_": _choice(rng, [0.0, 1.0, 2.0])},
    ),
    _entry(
        "siou_loss",
        LF.siou_loss,
        losskit.SIoULoss,
        R.siou_loss,
        [{"theta": 2.0}, {"theta": 6.0}, {"theta": 1.0}],
        [{"theta": 1.0}, {"theta": 2.0}],
        errors=[_opt_err("siou_loss", {"theta": 0.5}, ValueError, r"theta must be in \[1, inf\)", "theta")],
        random_options=lambda rng: {"theta": _choice(rng, [1.0, 4.0])},
    ),
    _entry(
        "alpha_iou_loss",
        LF.alpha_iou_loss,
        losskit.AlphaIoULoss,
        R.alpha_iou_loss,
        [
            {"kind": "giou"},
            {"kind": "diou"},
            {"kind": "ciou"},
            {"kind": "ciou", "detach_beta": False},
            {"alpha": 0.5, "kind": "giou"},
            {"alpha": 1.0, "kind": "diou"},
            {"alpha": 2.0, "kind": "ciou", "detach_beta": False},
        ],
        [
            {"kind": "giou", "alpha": 0.5},
            {"kind": "diou", "alpha": 0.5},
            {"kind": "ciou", "alpha": 0.5},
            {"kind": "ciou", "alpha": 3.0, "detach_beta": False},
        ],
        errors=[
            _opt_err("alpha_iou_loss", {"alpha": 0.0}, ValueError, r"alpha must be in \(0, inf\)", "alpha"),
            _opt_err("alpha_iou_loss", {"kind": "eiou"}, ValueError, "kind must be one of", "kind"),
        ],
        random_options=lambda rng: {
            "kind": _choice(rng, ["iou", "giou", "diou", "ciou"]),
            "alpha": _choice(rng, [0.5, 1.0, 3.0]),
        },
        no_grad=lambda kw: kw.get("kind") == "ciou" and kw.get("detach_beta", True),
    ),
]
