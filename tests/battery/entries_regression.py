"""Battery entries for the regression family (SPEC §2) and the multi-bin loss (SPEC §2.1)."""

from __future__ import annotations

import math

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import regression as R

N, D = 6, 3


def _xy(rng: np.random.Generator, *shape: int, scale: float = 2.0, gap: float = 0.05):
    """Prediction and target with |x - y| >= gap everywhere (gradcheck stays off the kink of |.| at 0)."""
    x = rng.normal(size=shape) * scale
    y = rng.normal(size=shape) * scale
    d = x - y
    x = np.where(np.abs(d) < gap, y + np.where(d < 0, -gap, gap) * 2, x)
    return t64(x), t64(y)


# ---------------------------------------------------------------------------------------------------
# elementwise losses: l1, mse, smooth_l1, huber, log_cosh share a sample builder


def _elementwise_samples(name: str, variants: list[dict]) -> list[Sample]:
    rng = rng_for(name)
    x, y = _xy(rng, N, D)
    x1, y1 = _xy(rng, N)
    x4, y4 = _xy(rng, 2, 3, 2, 2)
    w = t64(rng.uniform(0.1, 2.0, size=(N, D)))
    wf = t64(rng.uniform(0.1, 2.0, size=(D,)))
    out = [
        Sample((x, y), {}, "basic"),
        Sample((x, y), {"weight": w}, "weight", plain=False),
        Sample((x, y), {"weight": wf}, "weight-per-feature", plain=False),
        # a zero weight is the edge of its domain (weights are >= 0): no gradcheck w.r.t. it
        Sample((x, y), {"weight": wf * 0.0}, "weight-all-zero", plain=False, kwarg_grad=False),
        Sample((x1, y1), {}, "1d"),
        Sample((x4, y4), {}, "4d"),
        Sample((x1[:1], y1[:1]), {}, "batch-of-one"),
        Sample((t64(3.0), t64(-0.5)), {}, "0d"),
    ]
    for kw in variants:
        out.append(Sample((x, y), dict(kw), "-".join(f"{k}{v}" for k, v in kw.items())))
        out.append(
            Sample((x * 0.2, y * 0.2), dict(kw), "small-" + "-".join(f"{k}{v}" for k, v in kw.items()))
        )
    return out


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _elementwise_errors(fn: str) -> list[ErrorCase]:
    x, y = _randn(N, seed=1), _randn(N, seed=2)
    return [
        ErrorCase((x[:, None], y), {}, ValueError, rf"^{fn}: target must have shape \(6, 1\)", "N1-vs-N"),
        ErrorCase((x, y[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "N-vs-N1"),
        ErrorCase((x, y[:3]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "length"),
        ErrorCase(
            (x.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase(
            (x, y.long()), {}, TypeError, rf"^{fn}: target must be a floating-point tensor", "int-target"
        ),
        ErrorCase((x, [1.0] * N), {}, TypeError, rf"^{fn}: target must be a torch.Tensor", "list-target"),
        ErrorCase(
            (x, y),
            {"weight": torch.ones(2, N)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight-big",
        ),
        ErrorCase(
            (x, y),
            {"weight": -torch.ones(N)},
            ValueError,
            rf"^{fn}: weight must be non-negative",
            "weight-neg",
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


def _elementwise_extremes(variants: list[dict]) -> list[Sample]:
    x = t64([[1e4, -1e4, 0.0, 1e4], [3.0, -1e4, 1e-300, 0.0]])
    y = t64([[-1e4, 1e4, 0.0, 1e4], [3.0, 1e4, 0.0, -1e-300]])
    out = [Sample((x, y), {}, "huge-and-equal")]
    for kw in variants:
        out.append(Sample((x, y), dict(kw), "huge-" + "-".join(f"{k}{v}" for k, v in kw.items())))
    return out


def _elementwise_random(kw_fn):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        shape = (int(rng.integers(1, 9)), int(rng.integers(1, 4)))
        return Sample((t64(rng.normal(size=shape) * scale), t64(rng.normal(size=shape) * scale)), kw_fn(rng))

    return make


def _elementwise_empty() -> Sample:
    return Sample((torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, D, dtype=torch.float64)), {})


def _no_options(rng: np.random.Generator) -> dict:
    return {}


def _option_errors(fn: str, cases: list[tuple[dict, type, str]]) -> list[ErrorCase]:
    x, y = _randn(N, seed=3), _randn(N, seed=4)
    return [
        ErrorCase((x, y), kw, err, rf"^{fn}: {pat}", f"option-{i}") for i, (kw, err, pat) in enumerate(cases)
    ]


# ---------------------------------------------------------------------------------------------------
# quantile


def _crossed(xq: torch.Tensor) -> torch.Tensor:
    """Quantile predictions with some adjacent pairs inverted, none within 0.05 of a tie."""
    out = xq.clone()
    out[::2] = out[::2].flip(-1)
    gaps = out[..., 1:] - out[..., :-1]
    bump = torch.where(gaps.abs() < 0.05, 0.1, 0.0)
    out[..., 1:] = out[..., 1:] + bump.cumsum(-1)
    return out


def _quantile_samples() -> list[Sample]:
    rng = rng_for("quantile")
    x, y = _xy(rng, N, D)
    levels = [0.1, 0.5, 0.9]
    xq, yq = _xy(rng, N, 3)  # yq only sets the scale; the target is (N,)
    yt = yq[:, 0].contiguous()
    xq = torch.where((xq - yt[:, None]).abs() < 0.05, xq + 0.2, xq)
    x3, y3 = _xy(rng, 2, 4, 5)
    x3q = torch.stack([x3 - 0.7, x3, x3 + 0.9], dim=-1)
    return [
        Sample((x, y), {}, "median"),
        Sample((x, y), {"quantiles": 0.9}, "tau0.9"),
        Sample(
            (x, y),
            {"quantiles": 0.05, "weight": t64(rng.uniform(0.1, 2, size=(N, D)))},
            "tau-weight",
            plain=False,
        ),
        Sample((xq, yt), {"quantiles": levels}, "three-levels"),
        Sample(
            (xq, yt),
            {"quantiles": tuple(levels), "weight": t64([0.5, 1.0, 2.0])},
            "level-weight",
            plain=False,
        ),
        Sample(
            (xq, yt),
            {"quantiles": levels, "weight": t64(rng.uniform(0.1, 2, size=(N, 1)))},
            "per-sample-weight",
            plain=False,
        ),
        Sample((xq[:, :1], yt), {"quantiles": [0.3]}, "one-level-sequence"),
        Sample((x3q, y3), {"quantiles": [0.25, 0.5, 0.75]}, "3d-levels"),
        # crossing penalty: xq is unsorted along its level dimension in places, x3q is monotone (penalty 0);
        # the crossed gaps stay >= 0.05 away from the hinge's kink for gradcheck
        Sample((_crossed(xq), yt), {"quantiles": levels, "crossing_penalty": 0.7}, "crossing"),
        Sample(
            (_crossed(xq), yt),
            {"quantiles": levels, "crossing_penalty": 2.0, "weight": t64([0.5, 1.0, 2.0])},
            "crossing-level-weight",
            plain=False,
        ),
        Sample((x3q, y3), {"quantiles": [0.25, 0.5, 0.75], "crossing_penalty": 1.0}, "crossing-monotone"),
        Sample((x[:1, :1], y[:1, :1]), {"quantiles": 0.7}, "batch-of-one"),
    ]


def _quantile_errors() -> list[ErrorCase]:
    fn = "quantile_loss"
    x, y = _randn(N, 3, seed=5), _randn(N, seed=6)
    return [
        *_elementwise_errors(fn),
        ErrorCase(
            (x, y),
            {"quantiles": [0.1, 0.5, 0.9, 0.95]},
            ValueError,
            rf"^{fn}: input must have shape \(6, 4\) \(the target's shape plus a trailing dimension of 4",
            "levels-vs-dim",
        ),
        ErrorCase(
            (x[:, 0], y),
            {"quantiles": [0.5]},
            ValueError,
            rf"^{fn}: input must have shape \(6, 1\)",
            "sequence-needs-dim",
        ),
        ErrorCase(
            (x, y[:, None]),
            {"quantiles": [0.1, 0.5, 0.9]},
            ValueError,
            rf"^{fn}: input must have shape "
            r"\(6, 1, 3\)",
            "target-with-dim",
        ),
        ErrorCase(
            (y, y), {"quantiles": 1.0}, ValueError, rf"^{fn}: quantiles must be in \(0, 1\), got 1.0", "tau1"
        ),
        ErrorCase(
            (y, y), {"quantiles": 0}, ValueError, rf"^{fn}: quantiles must be in \(0, 1\), got 0", "tau0"
        ),
        ErrorCase(
            (x, y),
            {"quantiles": [0.1, 1.5, 0.9]},
            ValueError,
            rf"^{fn}: quantiles\[1\] must be in \(0, 1\)",
            "level-out",
        ),
        ErrorCase(
            (x, y), {"quantiles": []}, ValueError, rf"^{fn}: quantiles must hold at least one level", "empty"
        ),
        ErrorCase(
            (x, y),
            {"quantiles": [0.9, 0.1, 0.5], "crossing_penalty": 1.0},
            ValueError,
            rf"^{fn}: crossing_penalty needs the quantiles in strictly increasing order .*got \[0.9, 0.1, 0.5\]",
            "crossing-unsorted",
        ),
        ErrorCase(
            (x, y),
            {"quantiles": [0.1, 0.1, 0.9], "crossing_penalty": 1.0},
            ValueError,
            rf"^{fn}: crossing_penalty needs the quantiles in strictly increasing order",
            "crossing-tied",
        ),
        ErrorCase(
            (y, y),
            {"quantiles": 0.5, "crossing_penalty": 1.0},
            ValueError,
            rf"^{fn}: crossing_penalty needs a sequence of at least two quantile levels .*got quantiles=0.5",
            "crossing-one-level",
        ),
        ErrorCase(
            (x, y),
            {"quantiles": [0.1, 0.5, 0.9], "crossing_penalty": -1.0},
            ValueError,
            rf"^{fn}: crossing_penalty must be in \[0, inf\), got -1.0",
            "crossing-negative",
        ),
        ErrorCase(
            (x, y),
            {"quantiles": [0.1, 0.5, 0.9], "crossing_penalty": "1"},
            TypeError,
            rf"^{fn}: crossing_penalty must be a number",
            "crossing-type",
        ),
        ErrorCase(
            (y, y),
            {"quantiles": "0.5"},
            TypeError,
            rf"^{fn}: quantiles must be a number or a sequence",
            "str",
        ),
        ErrorCase(
            (x, y),
            {"quantiles": torch.tensor([0.1, 0.5, 0.9])},
            TypeError,
            rf"^{fn}: quantiles must be a number or a sequence",
            "tensor-levels",
        ),
        ErrorCase(
            (x, y),
            {"quantiles": [0.1, "a", 0.9]},
            TypeError,
            rf"^{fn}: quantiles\[1\] must be a number",
            "level-type",
        ),
    ]


def _quantile_random(rng: np.random.Generator, scale: float) -> Sample:
    n = int(rng.integers(1, 9))
    if rng.uniform() < 0.5:
        return Sample(
            (t64(rng.normal(size=n) * scale), t64(rng.normal(size=n) * scale)),
            {"quantiles": float(rng.uniform(0.01, 0.99))},
        )
    q = int(rng.integers(1, 5))
    levels = sorted(float(v) for v in rng.uniform(0.01, 0.99, size=q))
    kw: dict = {"quantiles": levels}
    if q >= 2 and len(set(levels)) == q and rng.uniform() < 0.5:
        kw["crossing_penalty"] = float(rng.uniform(0.0, 3.0))
    return Sample((t64(rng.normal(size=(n, q)) * scale), t64(rng.normal(size=n) * scale)), kw)


# ---------------------------------------------------------------------------------------------------
# Gaussian and Laplace NLL: the spread is a keyword option (var / log_var, scale / log_scale)


def _nll_samples(name: str, lin: str, log: str, extra: dict) -> list[Sample]:
    rng = rng_for(name)
    x, y = _xy(rng, N, D)
    v = t64(rng.uniform(0.2, 3.0, size=(N, D)))
    vf = t64(rng.uniform(0.2, 3.0, size=(D,)))
    vs = t64(rng.uniform(0.2, 3.0, size=(N, 1)))
    tiny = v.clone()
    tiny[0, :] = 1e-9  # below eps: clamped to eps in value
    w = t64(rng.uniform(0.1, 2.0, size=(N, D)))
    x1, y1 = _xy(rng, N)
    return [
        Sample((x, y), {lin: v}, lin),
        Sample((x, y), {log: v.log()}, log),
        Sample((x, y), {lin: v, "full": not extra["full"]}, f"{lin}-full{not extra['full']}"),
        Sample((x, y), {log: vf.log(), "full": True}, f"{log}-per-feature"),
        Sample((x, y), {lin: vs}, f"{lin}-per-sample"),
        Sample((x, y), {lin: 0.7}, f"{lin}-number"),
        # clamped to eps: a kink in the variance / scale, so gradcheck stays with the positional tensors
        Sample((x, y), {lin: tiny}, f"{lin}-below-eps", kwarg_grad=False),
        Sample((x, y), {log: tiny.log(), "eps": 1e-4}, f"{log}-below-eps", kwarg_grad=False),
        Sample((x, y), {lin: v, "weight": w}, "weight", plain=False),
        Sample((x1, y1), {lin: t64(1.3)}, "1d-scalar-tensor"),
        Sample((x1[:1], y1[:1]), {log: t64([0.4])}, "batch-of-one"),
    ]


def _nll_errors(fn: str, lin: str, log: str) -> list[ErrorCase]:
    x, y = _randn(N, D, seed=7), _randn(N, D, seed=8)
    v = torch.rand(N, D, generator=torch.Generator().manual_seed(9)) + 0.1
    base = [e for e in _elementwise_errors(fn) if e.name not in ("nan", "inf")]
    for e in base:
        e.kwargs = {lin: torch.ones(()), **e.kwargs}
    return [
        *base,
        ErrorCase(
            (x, y), {}, ValueError, rf"^{fn}: give exactly one of {lin}= or {log}=, got neither", "neither"
        ),
        ErrorCase(
            (x, y),
            {lin: v, log: v.log()},
            ValueError,
            rf"^{fn}: give exactly one of {lin}= or {log}=, got both",
            "both",
        ),
        ErrorCase(
            (x, y),
            {lin: v.index_fill(0, torch.tensor([2]), -0.1)},
            ValueError,
            rf"^{fn}: {lin} must be non-negative",
            "negative",
        ),
        ErrorCase((x, y), {lin: -1.0}, ValueError, rf"^{fn}: {lin} must be non-negative", "negative-number"),
        ErrorCase(
            (x, y),
            {lin: torch.ones(N)},
            ValueError,
            rf"^{fn}: {lin} must have the input's shape \(6, 3\)",
            "per-sample-without-unsqueeze",
        ),
        ErrorCase(
            (x, y),
            {log: torch.ones(2, N, D)},
            ValueError,
            rf"^{fn}: {log} must have the input's shape",
            "bigger",
        ),
        ErrorCase(
            (x, y),
            {lin: torch.ones(N, D, dtype=torch.long)},
            TypeError,
            rf"^{fn}: {lin} must be a floating-point tensor",
            "int",
        ),
        ErrorCase((x, y), {lin: "1"}, TypeError, rf"^{fn}: {lin} must be a tensor or a number", "str"),
        ErrorCase((x, y), {lin: v, "eps": 0.0}, ValueError, rf"^{fn}: eps must be in \(0, inf\)", "eps"),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y),
            {lin: v},
            ValueError,
            rf"^{fn}: input contains NaN",
            "nan",
        ),
        ErrorCase(
            (x, y),
            {log: v.masked_fill(v > 0.5, float("inf"))},
            ValueError,
            rf"^{fn}: {log} contains inf",
            "inf-log",
        ),
    ]


def _nll_extremes(lin: str, log: str) -> list[Sample]:
    x = t64([[1e4, -1e4, 0.0, 1e4]])
    y = t64([[-1e4, 1e4, 0.0, 1e4]])
    return [
        Sample((x, y), {lin: t64([[1e-30, 0.0, 0.0, 1e30]])}, f"{lin}-zero-and-huge"),
        Sample((x, y), {log: t64([[-1e4, 1e4, -1e4, 0.0]])}, f"{log}-huge"),
        Sample((x, y), {lin: 0.0}, f"{lin}-number-zero"),
    ]


def _nll_random(lin: str, log: str):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        shape = (int(rng.integers(1, 9)), int(rng.integers(1, 4)))
        x, y = t64(rng.normal(size=shape) * scale), t64(rng.normal(size=shape) * scale)
        s = rng.normal(size=shape[-1:]) * 3.0  # per-feature, so permuting the batch keeps it aligned
        if rng.uniform() < 0.5:
            return Sample((x, y), {log: t64(s)})
        return Sample((x, y), {lin: t64(np.exp(s))})

    return make


def _nll_empty(lin: str):
    return lambda: Sample(
        (torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, D, dtype=torch.float64)),
        {lin: torch.ones(D, dtype=torch.float64)},
    )


# ---------------------------------------------------------------------------------------------------
# multi-bin


def _angles(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return t64(rng.uniform(-math.pi, math.pi, size=shape))


def _multibin_samples() -> list[Sample]:
    rng = rng_for("multibin")
    spec = LF.MultiBinCodec(2, overlap=0.3)
    four = LF.MultiBinCodec(4, overlap=0.2)
    axis = LF.MultiBinCodec(3, overlap=0.1, period=math.pi)
    bounded = LF.MultiBinCodec(2, overlap=0.5, period=None, range=(-2.0, 2.0))
    five = LF.MultiBinCodec(5, overlap=0.05, period=None, range=(0.0, 10.0))

    def pred(codec, *batch):
        z = t64(rng.normal(size=(*batch, codec.num_bins)) * 1.5)
        r = t64(rng.normal(size=(*batch, *codec.residual_shape)))
        return z, r

    z, r = pred(spec, N)
    theta = _angles(rng, N)
    theta[0], theta[1], theta[2] = 1.5, -math.pi, math.pi - 1e-9  # SPEC angle, both sides of the wrap
    z4, r4 = pred(four, 2, 3)
    za, ra = pred(axis, N)
    zb, rb = pred(bounded, N)
    yb = t64(rng.uniform(-2.0, 2.0, size=N))
    yb[0], yb[1], yb[2] = -2.0, 2.0, 0.0
    z5, r5 = pred(five, N)
    y5 = t64(rng.uniform(0.0, 10.0, size=N))
    w = t64(rng.uniform(0.1, 2.0, size=N))
    return [
        Sample((z, r, theta), {"codec": spec}, "angle-2-bins"),
        Sample((z4, r4, _angles(rng, 2, 3) * 3.0), {"codec": four, "loc_weight": 2.0}, "angle-4-bins-2d"),
        Sample((za, ra, _angles(rng, N) / 2.0), {"codec": axis}, "axis-period-pi"),
        Sample((z, r, theta), {"codec": spec, "weight": w}, "weight", plain=False),
        Sample((zb, rb, yb), {"codec": bounded}, "bounded"),
        Sample((zb, rb * 0.1, yb), {"codec": bounded, "beta": 0.05, "loc_weight": 0.5}, "bounded-beta"),
        Sample((z5, r5, y5), {"codec": five}, "bounded-5-bins"),
        Sample((z[:1], r[:1], theta[:1]), {"codec": spec}, "batch-of-one"),
    ]


def _multibin_errors() -> list[ErrorCase]:
    fn = "multibin_loss"
    c = LF.MultiBinCodec(2)
    b = LF.MultiBinCodec(2, period=None, range=(0.0, 1.0))
    z, r = _randn(N, 2, seed=10), _randn(N, 2, 2, seed=11)
    t = torch.rand(N, generator=torch.Generator().manual_seed(12))
    return [
        ErrorCase((z, r, t), {"codec": 2}, TypeError, rf"^{fn}: codec must be a MultiBinCodec", "codec"),
        ErrorCase(
            (z[:, :1], r, t),
            {"codec": c},
            ValueError,
            rf"^{fn}: bin_logits must have shape \(\*, 2\)",
            "bins",
        ),
        ErrorCase(
            (z, r[..., 0], t),
            {"codec": c},
            ValueError,
            rf"^{fn}: residuals must have shape \(6, 2, 2\)",
            "periodic-residuals",
        ),
        ErrorCase(
            (z, r, t),
            {"codec": b},
            ValueError,
            rf"^{fn}: residuals must have shape \(6, 2\)",
            "bounded-residuals",
        ),
        ErrorCase(
            (z, r, t[:, None]), {"codec": c}, ValueError, rf"^{fn}: target must have shape \(6,\)", "target"
        ),
        ErrorCase(
            (z, r[..., 0], t + 1.5),
            {"codec": b},
            ValueError,
            rf"^{fn}: target must lie in the codec's range \[0, 1\]",
            "range",
        ),
        ErrorCase(
            (z, r, t.long()), {"codec": c}, TypeError, rf"^{fn}: target must be a floating-point", "int"
        ),
        ErrorCase(
            (z, r, t), {"codec": c, "loc_weight": -1.0}, ValueError, rf"^{fn}: loc_weight must be in", "w"
        ),
        ErrorCase(
            (z, torch.full_like(r, float("nan")), t),
            {"codec": c},
            ValueError,
            rf"^{fn}: residuals contains NaN",
            "nan",
        ),
        ErrorCase(
            (z, r, t),
            {"codec": c, "weight": torch.ones(N, 2)},
            ValueError,
            rf"^{fn}: weight must have",
            "weight",
        ),
    ]


def _multibin_extremes() -> list[Sample]:
    c = LF.MultiBinCodec(2, overlap=0.3)
    b = LF.MultiBinCodec(3, overlap=0.2, period=None, range=(-1.0, 1.0))
    z = t64([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0], [1e4, 1e4]])
    r = t64(
        [
            [[0.0, 0.0], [1e4, -1e4]],
            [[1e-300, 0.0], [0.0, 0.0]],
            [[1.0, 0.0], [-1.0, 0.0]],
            [[1e4, 1e4], [0, 1]],
        ]
    )
    theta = t64([math.pi, -math.pi, 1e4, 0.0])
    zb = t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, 0.0], [1e4, 1e4, 1e4]])
    rb = t64([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 0.0, 1e4], [1.0, 2.0, 3.0]])
    yb = t64([-1.0, 1.0, 1.0 / 3.0, 0.0])
    return [
        Sample((z, r, theta), {"codec": c}, "periodic-saturated-zero-vectors"),
        Sample((zb, rb, yb), {"codec": b}, "bounded-saturated-edges"),
    ]


def _multibin_random(rng: np.random.Generator, scale: float) -> Sample:
    n, k = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    if rng.uniform() < 0.5:
        codec = LF.MultiBinCodec(k, overlap=float(rng.uniform(0, 0.9)) * 2 * math.pi / k)
        t = t64(rng.uniform(-10.0, 10.0, size=n))
    else:
        codec = LF.MultiBinCodec(k, overlap=0.1, period=None, range=(-3.0, 5.0))
        t = t64(rng.uniform(-3.0, 5.0, size=n))
    z = t64(rng.normal(size=(n, k)) * scale)
    r = t64(rng.normal(size=(n, *codec.residual_shape)) * scale)
    return Sample((z, r, t), {"codec": codec, "loc_weight": float(rng.uniform(0, 3))})


def _multibin_empty() -> Sample:
    c = LF.MultiBinCodec(2)
    return Sample(
        (
            torch.zeros(0, 2, dtype=torch.float64),
            torch.zeros(0, 2, 2, dtype=torch.float64),
            torch.zeros(0, dtype=torch.float64),
        ),
        {"codec": c},
    )


# ---------------------------------------------------------------------------------------------------


def _entry(
    name, module, reference, variants, option_errors, extremes_variants, random_kw=_no_options, **flags
):
    fn = getattr(LF, name)
    return LossEntry(
        name,
        fn,
        module,
        reference,
        lambda: _elementwise_samples(name, variants),
        errors=lambda: _elementwise_errors(name) + _option_errors(name, option_errors),
        extremes=lambda: _elementwise_extremes(extremes_variants),
        random=_elementwise_random(random_kw),
        empty=_elementwise_empty,
        grad_args=(0, 1),
        **flags,
    )


ENTRIES = [
    _entry("l1_loss", losskit.L1Loss, R.l1_loss, [], [], []),
    _entry("mse_loss", losskit.MSELoss, R.mse_loss, [], [], []),
    _entry(
        "smooth_l1_loss",
        losskit.SmoothL1Loss,
        R.smooth_l1_loss,
        [{"beta": 1 / 9}, {"beta": 0.0}, {"beta": 3.0}],
        [
            ({"beta": -0.1}, ValueError, r"beta must be in \[0, inf\)"),
            ({"beta": "1"}, TypeError, "beta must be a number"),
        ],
        [{"beta": 0.0}, {"beta": 1e-3}],
        random_kw=lambda rng: {"beta": float(rng.choice([0.0, 1 / 9, 1.0, 5.0]))},
    ),
    _entry(
        "huber_loss",
        losskit.HuberLoss,
        R.huber_loss,
        [{"delta": 0.3}, {"delta": 2.0}],
        [
            ({"delta": 0.0}, ValueError, r"delta must be in \(0, inf\)"),
            ({"delta": True}, TypeError, "delta must be a number"),
        ],
        [{"delta": 1e-3}, {"delta": 1e3}],
        random_kw=lambda rng: {"delta": float(rng.choice([0.1, 1.0, 5.0]))},
    ),
    _entry("log_cosh_loss", losskit.LogCoshLoss, R.log_cosh_loss, [], [], []),
    LossEntry(
        "quantile_loss",
        LF.quantile_loss,
        losskit.QuantileLoss,
        R.quantile_loss,
        _quantile_samples,
        errors=_quantile_errors,
        extremes=lambda: _elementwise_extremes([{"quantiles": 0.01}, {"quantiles": 0.99}]),
        random=_quantile_random,
        empty=_elementwise_empty,
        grad_args=(0, 1),
    ),
    LossEntry(
        "gaussian_nll_loss",
        LF.gaussian_nll_loss,
        losskit.GaussianNLLLoss,
        R.gaussian_nll_loss,
        lambda: _nll_samples("gaussian_nll", "var", "log_var", {"full": False}),
        errors=lambda: _nll_errors("gaussian_nll_loss", "var", "log_var"),
        extremes=lambda: _nll_extremes("var", "log_var"),
        random=_nll_random("var", "log_var"),
        empty=_nll_empty("var"),
        grad_args=(0, 1),
        nonnegative=False,
    ),
    LossEntry(
        "laplace_nll_loss",
        LF.laplace_nll_loss,
        losskit.LaplaceNLLLoss,
        R.laplace_nll_loss,
        lambda: _nll_samples("laplace_nll", "scale", "log_scale", {"full": True}),
        errors=lambda: _nll_errors("laplace_nll_loss", "scale", "log_scale"),
        extremes=lambda: _nll_extremes("scale", "log_scale"),
        random=_nll_random("scale", "log_scale"),
        empty=_nll_empty("scale"),
        grad_args=(0, 1),
        nonnegative=False,
    ),
    LossEntry(
        "multibin_loss",
        LF.multibin_loss,
        losskit.MultiBinLoss,
        R.multibin_loss,
        _multibin_samples,
        errors=_multibin_errors,
        extremes=_multibin_extremes,
        random=_multibin_random,
        empty=_multibin_empty,
        grad_args=(0, 1),
    ),
]


# ---------------------------------------------------------------------------------------------------
# poisson_nll_loss (torch.nn's PoissonNLLLoss, issue 13)


def _poisson_samples() -> list[Sample]:
    rng = rng_for("poisson_nll")
    x = t64(rng.normal(size=(N, D)))
    y = t64(rng.poisson(2.0, size=(N, D)).astype(float))
    rate = t64(rng.uniform(0.2, 4.0, size=(N, D)))
    return [
        Sample((x, y), {}, "log-input"),
        Sample((x, y), {"full": True}, "full"),
        Sample((rate, y), {"log_input": False}, "rate"),
        Sample((rate, y + 0.5), {"log_input": False, "full": True, "eps": 1e-3}, "rate-full"),
        Sample((x, y), {"weight": t64(rng.uniform(0.2, 2.0, size=(D,)))}, "weight", plain=False),
        Sample((x[:1, :1], y[:1, :1]), {}, "batch-of-one"),
    ]


def _poisson_errors() -> list[ErrorCase]:
    fn = "poisson_nll_loss"
    x, y = torch.randn(N, D), torch.rand(N, D) * 3
    return [
        ErrorCase((x, y[:, :2]), {}, ValueError, rf"^{fn}: target must have shape \(6, 3\)", "shape"),
        ErrorCase(
            (x, -y - 1), {}, ValueError, rf"^{fn}: target must hold non-negative counts", "negative-count"
        ),
        ErrorCase(
            (x - 5, y),
            {"log_input": False},
            ValueError,
            rf"^{fn}: input must hold non-negative rates",
            "negative-rate",
        ),
        ErrorCase((x, y), {"eps": 0.0}, ValueError, rf"^{fn}: eps must be in \(0, inf\)", "eps"),
        ErrorCase((x, y), {"full": 1}, TypeError, rf"^{fn}: full must be a bool", "full"),
        ErrorCase(
            (x, y.long()), {}, TypeError, rf"^{fn}: target must be a floating-point tensor", "int-target"
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y), {}, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
    ]


def _poisson_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
    x = t64(np.clip(rng.normal(size=shape) * scale, -30.0, 30.0))
    return Sample((x, t64(rng.poisson(3.0, size=shape).astype(float))), {"full": bool(rng.uniform() < 0.5)})


ENTRIES += [
    LossEntry(
        "poisson_nll_loss",
        LF.poisson_nll_loss,
        losskit.PoissonNLLLoss,
        R.poisson_nll_loss,
        _poisson_samples,
        errors=_poisson_errors,
        extremes=lambda: [
            Sample((t64([[-1e4, 30.0, 0.0]]), t64([[0.0, 5.0, 1e4]])), {}, "wide"),
            Sample((t64([[0.0, 1e-30, 5.0]]), t64([[0.0, 3.0, 0.0]])), {"log_input": False}, "rate-0"),
        ],
        random=_poisson_random,
        nonnegative=False,
        empty=lambda: Sample((t64(np.zeros((0, D))), t64(np.zeros((0, D)))), {}),
    ),
]
