"""Battery entries for the margin-head family: ArcFace, CosFace, SphereFace, Multi-Similarity, Circle, Proxy-Anchor.

The heads and Proxy-Anchor take their centres / proxies as the second positional argument while their
Modules own them, so Module parity and copies are tested in tests/test_margin_values.py
(``module=None`` here; listed in OWN_TESTS of tests/test_battery_inputs.py). Batches have N = 6 embeddings of size D = 3 and C = 4 classes (C != N, so the
batch-permutation property never permutes the centres).
"""

from __future__ import annotations

import math

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import margin_heads as R

N, D, C = 6, 3, 4
LABELS = torch.tensor([0, 1, 2, 0, 1, 3])
PAIR_LABELS = torch.tensor(
    [0, 1, 0, 2, 1, 2]
)  # every class twice: every anchor has a positive and a negative
LONG = torch.long


def _emb(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _w(rng: np.random.Generator, n: int = N) -> torch.Tensor:
    return t64(rng.uniform(0.2, 2.0, size=n))


def _empty_head() -> Sample:
    return Sample(
        (
            torch.zeros(0, D, dtype=torch.float64),
            torch.randn(C, D, dtype=torch.float64),
            torch.zeros(0, dtype=LONG),
        ),
        {},
    )


# ---------------------------------------------------------------------------------------------------
# heads


def _head_samples(name: str, variants: list[dict]) -> list[Sample]:
    rng = rng_for(name)
    x, w = _emb(rng, N, D, scale=2.0), _emb(rng, C, D)
    out = [
        Sample((x, w, LABELS), {}, "default"),
        Sample((x, w, LABELS), {"sample_weight": _w(rng)}, "sample-weight", plain=False),
        Sample((x[:1], w, LABELS[:1]), {}, "batch-of-one"),
        Sample((x, w[:1], torch.zeros(N, dtype=LONG)), {}, "one-class"),
    ]
    for kw in variants:
        extra = kw.pop("_rows", None)
        ww = _emb(rng, extra, D) if extra else w
        out.append(Sample((x, ww, LABELS), kw, "-".join(f"{k}={v}" for k, v in kw.items())))
    return out


def _head_extremes(name: str, variants: list[dict]) -> list[Sample]:
    w = t64([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 1.0, 0.0]])
    x = t64(
        [
            [1.0, 0.0, 0.0],  # on its centre: cos = 1, where sqrt(1 - cos²) has an infinite slope
            [0.0, -3.0, 0.0],  # opposite its centre: cos = -1
            [0.0, 0.0, 0.0],  # zero embedding: cosine 0 with everything
            [1e4, -1e4, 1e4],  # huge
            [1e-30, 0.0, 0.0],  # tiny
            [0.3, -0.2, 5.0],
        ]
    )
    y = torch.tensor([0, 1, 2, 3, 0, 2])
    zero_row = w.clone()
    zero_row[3] = 0.0
    out = [Sample((x, w, y), {}, "on-opposite-zero-huge"), Sample((x, zero_row, y), {}, "zero-centre")]
    out += [Sample((x, w, y), dict(kw), f"extreme-{i}") for i, kw in enumerate(variants)]
    return out


def _head_random(rng: np.random.Generator, scale: float) -> Sample:
    return Sample((_emb(rng, 5, 2, scale=scale), _emb(rng, 3, 2), torch.as_tensor(rng.integers(0, 3, 5))), {})


def _head_errors(fn: str, options: list[tuple[dict, type[Exception], str]]) -> list[ErrorCase]:
    x, w = torch.randn(N, D, dtype=torch.float64), torch.randn(C, D, dtype=torch.float64)
    y = LABELS
    cases = [
        ErrorCase(
            (x, w[:, :2], y),
            {},
            ValueError,
            rf"^{fn}: weight must have shape \(C, 3\) .*got \(4, 2\)",
            "weight-width",
        ),
        ErrorCase((x, w[0], y), {}, ValueError, rf"^{fn}: weight must have shape", "weight-1d"),
        ErrorCase((x[0], w, y), {}, ValueError, rf"^{fn}: embeddings must have shape \(N, D\)", "emb-1d"),
        ErrorCase(
            (x, w, y + 4),
            {},
            ValueError,
            rf"^{fn}: labels holds class index \d+, expected indices in \[0, 3\]",
            "label-range",
        ),
        ErrorCase((x, w, y - 1), {}, ValueError, rf"^{fn}: labels holds class index -1", "label-negative"),
        ErrorCase(
            (x, w, y.double()), {}, TypeError, rf"^{fn}: labels must be an integer tensor", "label-float"
        ),
        ErrorCase(
            (x, w, y[:, None]), {}, ValueError, rf"^{fn}: labels must have shape \(6,\)", "label-shape"
        ),
        ErrorCase(
            (x, w.long(), y), {}, TypeError, rf"^{fn}: weight must be a floating-point tensor", "weight-int"
        ),
        ErrorCase(
            (x, w, y),
            {"sample_weight": torch.ones(N, 1, dtype=torch.float64)},
            ValueError,
            rf"^{fn}: sample_weight must have the loss's unreduced shape \(6,\)",
            "sample-weight-shape",
        ),
        ErrorCase(
            (x, w, y),
            {"sample_weight": -torch.ones(N, dtype=torch.float64)},
            ValueError,
            rf"^{fn}: sample_weight must be non-negative",
            "sample-weight-negative",
        ),
        ErrorCase(
            (x, w, y), {"scale": 0.0}, ValueError, rf"^{fn}: scale must be in \(0, inf\), got 0.0", "scale0"
        ),
        ErrorCase((x, w, y), {"scale": "64"}, TypeError, rf"^{fn}: scale must be a number", "scale-str"),
    ]
    cases += [
        ErrorCase((x, w, y), kw, err, rf"^{fn}: {msg}", f"opt-{i}")
        for i, (kw, err, msg) in enumerate(options)
    ]
    return cases


ARCFACE = [
    {"scale": 10.0, "margin": 0.3},
    {"margin": 0.0, "scale": 5.0},
    {"easy_margin": True, "scale": 8.0},
    {"margin": 1.3, "scale": 4.0},  # θ + m > π for some samples: the linear fallback
    {"margin": 1.3, "scale": 4.0, "easy_margin": True},
    {"sub_centers": 3, "scale": 10.0, "_rows": 3 * C},
    {"sub_centers": 2, "easy_margin": True, "_rows": 2 * C},
]
COSFACE = [{"scale": 10.0, "margin": 0.2}, {"margin": 0.0, "scale": 1.0}, {"margin": 1.5, "scale": 3.0}]
SPHEREFACE = [
    {"margin": 1},
    {"margin": 2, "scale": 2.0},
    {"margin": 3},
    {"margin": 4, "blend": 5.0},
    {"margin": 6, "scale": 0.5},
]


def _head_entry(name: str, variants: list[dict], extremes: list[dict], options, reference) -> LossEntry:
    fn = getattr(LF, name)
    return LossEntry(
        name,
        fn,
        None,
        reference,
        lambda: _head_samples(name, [dict(v) for v in variants]),
        errors=lambda: _head_errors(name, options),
        extremes=lambda: _head_extremes(name, extremes),
        random=_head_random,
        empty=_empty_head,
        grad_args=(0, 1),
        index_args=(2,),
    )


ENTRIES = [
    _head_entry(
        "arcface_loss",
        ARCFACE,
        [{"margin": 1.3}, {"easy_margin": True}, {"scale": 1e3}],
        [
            ({"margin": -0.1}, ValueError, r"margin must be in \[0, 3.14159\), got -0.1"),
            ({"margin": math.pi}, ValueError, r"margin must be in \[0, 3.14159\)"),
            (
                {"sub_centers": 0},
                ValueError,
                r"sub_centers must be a positive int \(1 = plain ArcFace\), got 0",
            ),
            ({"sub_centers": 3}, ValueError, r"weight must have shape \(C·3, 3\) \(C·K, D\)"),
            ({"sub_centers": 2.0}, TypeError, r"sub_centers must be a positive int, got float"),
            ({"easy_margin": 1}, TypeError, r"easy_margin must be a bool, got int"),
        ],
        R.arcface_loss,
    ),
    _head_entry(
        "cosface_loss",
        COSFACE,
        [{"margin": 1.0}, {"scale": 1e3}],
        [
            ({"margin": -0.1}, ValueError, r"margin must be in \[0, inf\), got -0.1"),
            ({"margin": math.inf}, ValueError, r"margin must be in \[0, inf\)"),
        ],
        R.cosface_loss,
    ),
    _head_entry(
        "sphereface_loss",
        SPHEREFACE,
        [{"margin": 1}, {"margin": 4, "blend": 5.0}, {"scale": 10.0}],
        [
            ({"margin": 0}, ValueError, r"margin must be an int >= 1 \(the angle multiplier\), got 0"),
            (
                {"margin": 4.0},
                TypeError,
                r"margin must be an int \(the angle multiplier, e.g. 4\), got float",
            ),
            ({"blend": -1.0}, ValueError, r"blend must be in \[0, inf\), got -1.0"),
        ],
        R.sphereface_loss,
    ),
]


# ---------------------------------------------------------------------------------------------------
# pair losses


def _pair_samples(name: str, variants: list[tuple[dict, bool]]) -> list[Sample]:
    rng = rng_for(name)
    x = _emb(rng, N, D, scale=2.0)
    out = [
        Sample((x, PAIR_LABELS), {}, "default"),
        Sample((x, PAIR_LABELS), {"weight": _w(rng)}, "weight", plain=False),
        Sample((x, LABELS), {}, "singleton-classes", plain=name != "circle_loss"),
        Sample((x, torch.arange(N)), {}, "no-positives", plain=name != "circle_loss"),
        Sample((x, torch.zeros(N, dtype=LONG)), {}, "no-negatives", plain=name != "circle_loss"),
        Sample((x[:1], PAIR_LABELS[:1]), {}, "batch-of-one", plain=name != "circle_loss"),
    ]
    for kw, grad in variants:
        out.append(Sample((x, PAIR_LABELS), kw, "-".join(f"{k}={v}" for k, v in kw.items()), grad=grad))
    return out


def _pair_extremes(variants: list[dict]) -> list[Sample]:
    x = t64(
        [
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],  # identical embeddings: similarity exactly 1
            [0.0, 0.0, 0.0],  # zero embedding
            [1e4, -1e4, 1e4],
            [-1e4, 1e4, -1e4],
            [1e-30, 0.0, 0.0],
        ]
    )
    out = [Sample((x, PAIR_LABELS), {}, "identical-zero-huge"), Sample((x, LABELS), {}, "singletons")]
    return out + [Sample((x, PAIR_LABELS), dict(kw), f"extreme-{i}") for i, kw in enumerate(variants)]


def _pair_random(rng: np.random.Generator, scale: float) -> Sample:
    return Sample((_emb(rng, 6, 3, scale=scale), torch.as_tensor(rng.integers(0, 3, 6))), {})


def _pair_errors(fn: str, options: list[tuple[dict, type[Exception], str]]) -> list[ErrorCase]:
    x = torch.randn(N, D, dtype=torch.float64)
    y = PAIR_LABELS
    cases = [
        ErrorCase((x[0], y), {}, ValueError, rf"^{fn}: embeddings must have shape \(N, D\)", "emb-1d"),
        ErrorCase((x, y[:4]), {}, ValueError, rf"^{fn}: labels must have shape \(6,\)", "label-shape"),
        ErrorCase((x, y.double()), {}, TypeError, rf"^{fn}: labels must be an integer tensor", "label-float"),
        ErrorCase(
            (x.long(), y), {}, TypeError, rf"^{fn}: embeddings must be a floating-point tensor", "emb-int"
        ),
        ErrorCase(
            (x, y),
            {"weight": torch.ones(N + 1, dtype=torch.float64)},
            ValueError,
            rf"^{fn}: weight must have the loss's unreduced shape \(6,\)",
            "weight-shape",
        ),
    ]
    cases += [
        ErrorCase((x, y), kw, err, rf"^{fn}: {msg}", f"opt-{i}") for i, (kw, err, msg) in enumerate(options)
    ]
    return cases


MS_VARIANTS = [
    ({"epsilon": None}, True),
    ({"epsilon": 0.0}, True),
    ({"epsilon": 0.5, "base": 0.2}, True),
    ({"alpha": 1.0, "beta": 10.0, "base": 0.0}, True),
    ({"epsilon": None, "beta": 100.0}, True),
]
# the paper's detached α: autograd is not the derivative of the value there, so gradcheck runs on
# detach_weights=False; the detached gradient is checked against pytorch-metric-learning's
CIRCLE_VARIANTS = [
    ({"detach_weights": False}, True),
    ({"m": 0.25, "gamma": 256.0}, False),
    ({"m": 0.25, "gamma": 2.0, "detach_weights": False}, True),
    ({"m": -0.1, "gamma": 10.0}, False),
]


def _circle_samples() -> list[Sample]:
    out = _pair_samples("circle_loss", CIRCLE_VARIANTS)
    for s in out:
        if s.kwargs.get("detach_weights", True) is not False:
            s.grad = False
    return out


ENTRIES += [
    LossEntry(
        "multi_similarity_loss",
        LF.multi_similarity_loss,
        losskit.MultiSimilarityLoss,
        R.multi_similarity_loss,
        lambda: _pair_samples("multi_similarity_loss", MS_VARIANTS),
        errors=lambda: _pair_errors(
            "multi_similarity_loss",
            [
                ({"alpha": 0.0}, ValueError, r"alpha must be in \(0, inf\), got 0.0"),
                ({"beta": -1.0}, ValueError, r"beta must be in \(0, inf\), got -1.0"),
                ({"base": math.inf}, ValueError, r"base must be in \(-inf, inf\), got inf"),
                ({"epsilon": -0.1}, ValueError, r"epsilon must be in \[0, inf\), got -0.1"),
                ({"epsilon": "0.1"}, TypeError, r"epsilon must be a number"),
            ],
        ),
        extremes=lambda: _pair_extremes([{"epsilon": None}, {"beta": 200.0, "epsilon": None}]),
        random=_pair_random,
        empty=lambda: Sample((torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, dtype=LONG)), {}),
        index_args=(1,),
    ),
    LossEntry(
        "circle_loss",
        LF.circle_loss,
        losskit.CircleLoss,
        R.circle_loss,
        _circle_samples,
        errors=lambda: _pair_errors(
            "circle_loss",
            [
                ({"gamma": 0.0}, ValueError, r"gamma must be in \(0, inf\), got 0.0"),
                ({"m": math.nan}, ValueError, r"m must be in"),
                ({"detach_weights": 0}, TypeError, r"detach_weights must be a bool, got int"),
            ],
        ),
        extremes=lambda: _pair_extremes([{"gamma": 1e3, "m": 0.25}, {"detach_weights": False}]),
        random=_pair_random,
        empty=lambda: Sample((torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, dtype=LONG)), {}),
        index_args=(1,),
    ),
]


# ---------------------------------------------------------------------------------------------------
# Proxy-Anchor


P = 5  # proxies: more than the batch's classes, so P+ is a strict subset of P


def _proxy_samples() -> list[Sample]:
    rng = rng_for("proxy_anchor")
    x, p = _emb(rng, N, D, scale=2.0), _emb(rng, P, D)
    all_present = torch.tensor([0, 1, 2, 3, 4, 0])
    out = [
        Sample((x, p, LABELS), {}, "default"),
        Sample((x, p, all_present), {}, "every-class-present"),
        Sample((x, p, LABELS), {"weight": _w(rng, P)}, "weight"),
        Sample((x, p, LABELS), {"alpha": 4.0, "delta": 0.3}, "alpha-delta"),
        Sample((x, p, LABELS), {"alpha": 64.0, "delta": -0.1}, "alpha64-negative-delta"),
        Sample((x[:1], p, LABELS[:1]), {}, "batch-of-one"),
        Sample((x, p[:1], torch.zeros(N, dtype=LONG)), {}, "one-proxy"),
    ]
    for s in out:
        s.plain = False  # "mean" is the paper's two averages, not none.mean()
    return out


def _proxy_errors() -> list[ErrorCase]:
    fn = "proxy_anchor_loss"
    x, p = torch.randn(N, D, dtype=torch.float64), torch.randn(P, D, dtype=torch.float64)
    y = LABELS
    return [
        ErrorCase(
            (x, p[:, :2], y), {}, ValueError, rf"^{fn}: proxies must have shape \(C, 3\)", "proxy-width"
        ),
        ErrorCase(
            (x, p, y + 2),
            {},
            ValueError,
            rf"^{fn}: labels holds class index 5, expected indices in \[0, 4\]",
            "label-range",
        ),
        ErrorCase(
            (x, p, y.float()), {}, TypeError, rf"^{fn}: labels must be an integer tensor", "label-float"
        ),
        ErrorCase(
            (x, p, y),
            {"weight": torch.ones(N, dtype=torch.float64)},
            ValueError,
            rf"^{fn}: weight must have the loss's unreduced shape \(5,\)",
            "weight-per-sample",
        ),
        ErrorCase((x, p, y), {"alpha": 0.0}, ValueError, rf"^{fn}: alpha must be in \(0, inf\)", "alpha0"),
        ErrorCase((x, p, y), {"delta": math.inf}, ValueError, rf"^{fn}: delta must be", "delta-inf"),
        ErrorCase((x[0], p, y), {}, ValueError, rf"^{fn}: embeddings must have shape \(N, D\)", "emb-1d"),
    ]


def _proxy_extremes() -> list[Sample]:
    p = t64([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.5, 0.5, 0.5]])
    x = t64(
        [
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [1e4, -1e4, 1e4],
            [1e-30, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
        ]
    )
    return [
        Sample((x, p, LABELS), {}, "on-zero-huge", plain=False),
        Sample((x, p, LABELS), {"alpha": 1e3}, "alpha-1e3", plain=False),
    ]


ENTRIES += [
    LossEntry(
        "proxy_anchor_loss",
        LF.proxy_anchor_loss,
        None,
        R.proxy_anchor_loss,
        _proxy_samples,
        errors=_proxy_errors,
        extremes=_proxy_extremes,
        random=lambda rng, scale: Sample(
            (_emb(rng, 6, 3, scale=scale), _emb(rng, 4, 3), torch.as_tensor(rng.integers(0, 4, 6))), {}
        ),
        empty=lambda: Sample(
            (
                torch.zeros(0, D, dtype=torch.float64),
                torch.randn(P, D, dtype=torch.float64),
                torch.zeros(0, dtype=LONG),
            ),
            {},
        ),
        grad_args=(0, 1),
        index_args=(2,),
        batch_equivariant=False,
    ),
]
