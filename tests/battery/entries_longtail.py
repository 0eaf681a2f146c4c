"""Battery entries for the multi-label / long-tail family: ASL, Poly-1, balanced softmax, logit adjustment,
LDAM, Seesaw."""

from __future__ import annotations

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import longtail as R

N, C = 6, 4
COUNTS = torch.tensor([100, 20, 5, 1])  # class 0 is the head, class 3 the tail
COUNTS_F = t64([400.0, 37.5, 6.0, 2.0])
PRIORS = t64([0.6, 0.25, 0.1, 0.05])


def _logits(rng: np.random.Generator, *shape: int, scale: float = 2.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _labels(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.as_tensor(rng.integers(0, C, size=shape), dtype=torch.long)


def _simplex(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    a = rng.gamma(1.0, size=shape)
    return t64(a / a.sum(axis=1, keepdims=True))


# ---------------------------------------------------------------------------------------------------
# multi-class losses share their samples; `opts` are each loss's own options (counts, priors, ...)


def _multiclass_samples(
    name: str, variants: list[dict], *, soft: bool, smoothing: bool, probs: bool = False
) -> list[Sample]:
    rng = rng_for(name)
    z, y = _logits(rng, N, C), _labels(rng, N)
    w = t64(rng.uniform(0.2, 2.0, size=C))
    y_ign = y.clone()
    y_ign[[1, 4]] = -100
    z4, y4 = _logits(rng, 2, C, 3, 2), _labels(rng, 2, 3, 2)
    base = variants[0]
    out = [Sample((z, y), dict(kw), "index-" + "-".join(f"{k}" for k in kw)) for kw in variants]
    out += [
        Sample((z, y), {**base, "weight": w}, "class-weight", plain=False),
        Sample((z, y_ign), dict(base), "ignore", plain=False),
        Sample((z, y_ign), {**base, "weight": w}, "weight-ignore", plain=False),
        Sample((z4, y4), dict(base), "spatial"),
        Sample((z.t().contiguous(), y), {**base, "dim": 0}, "dim0"),
        Sample((z[:1], y[:1]), dict(base), "batch-of-one"),
    ]
    if smoothing:
        out += [
            Sample((z, y), {**base, "label_smoothing": 0.2}, "smoothing"),
            Sample(
                (z, y_ign), {**base, "weight": w, "label_smoothing": 0.1}, "weight-smooth-ignore", plain=False
            ),
        ]
    if soft:
        q = _simplex(rng, N, C)
        out += [
            Sample((z, q), dict(base), "prob-target", plain=False),
            Sample((z, q), {**base, "weight": w, "label_smoothing": 0.1}, "prob-weight-smooth", plain=False),
        ]
    if probs:
        p = _simplex(rng, N, C)
        out += [
            Sample((p, y), {**base, "input_type": "probs"}, "probs"),
            Sample((p.log(), y), {**base, "input_type": "log_probs"}, "log-probs"),
        ]
    return out


def _multiclass_extremes(opts: dict) -> list[Sample]:
    big = t64([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 1e4, -3.0], [1000.0, 1001.0, 1002.0, 0.0]])
    y = torch.tensor([0, 3, 2])
    return [
        Sample((big, y), dict(opts), "saturated"),
        Sample((big, torch.tensor([1, 0, 3])), dict(opts), "saturated-wrong"),
        Sample((big, torch.full((3,), -100)), dict(opts), "all-ignored"),
    ]


def _multiclass_errors(fn: str, opts: dict, *, soft: bool) -> list[ErrorCase]:
    z, y = torch.randn(N, C), torch.randint(0, C, (N,))
    out = [
        ErrorCase((z, y[:, None]), opts, ValueError, rf"^{fn}: target must have shape \(6,\)", "target-N1"),
        ErrorCase(
            (z, torch.full((N,), C)), opts, ValueError, rf"^{fn}: target holds class index 4", "label-hi"
        ),
        ErrorCase(
            (z, -2 * torch.ones(N, dtype=torch.long)),
            opts,
            ValueError,
            rf"^{fn}: target holds class index -2",
            "label-lo",
        ),
        ErrorCase(
            (z.long(), y), opts, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase(
            (z[0], y[0]), opts, ValueError, rf"^{fn}: input must have shape \(N, C, \.\.\.\)", "1d-input"
        ),
        ErrorCase(
            (z, y),
            {**opts, "weight": torch.ones(C + 1)},
            ValueError,
            rf"^{fn}: weight must have shape \(4,\)",
            "weight",
        ),
        ErrorCase(
            (z.masked_fill(z > 0.5, float("nan")), y), opts, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
        ErrorCase((z, "1"), opts, TypeError, rf"^{fn}: target must be a torch.Tensor", "str-target"),
        ErrorCase((z, y), {**opts, "dim": 3}, ValueError, rf"^{fn}: dim must index a dimension", "dim"),
        ErrorCase(
            (z, y), {**opts, "ignore_index": 0.5}, TypeError, rf"^{fn}: ignore_index must be an int", "ign"
        ),
        ErrorCase(
            (z, y), {**opts, "reduction": "avg"}, ValueError, rf"^{fn}: reduction must be one of", "reduction"
        ),
    ]
    if soft:
        out += [
            ErrorCase(
                (z, torch.rand(N, C) * 2),
                opts,
                ValueError,
                rf"^{fn}: target must hold probabilities",
                "soft>1",
            ),
            ErrorCase(
                (z, torch.rand(N, C + 1)),
                opts,
                ValueError,
                rf"^{fn}: target must have shape \(6, 4\)",
                "soft-shape",
            ),
        ]
    else:
        out.append(
            ErrorCase(
                (z, torch.softmax(z, 1)),
                opts,
                TypeError,
                rf"^{fn}: target must be an integer tensor of class indices",
                "float-target",
            )
        )
    return out


def _count_errors(fn: str, key: str, opts: dict) -> list[ErrorCase]:
    z, y = torch.randn(N, C), torch.randint(0, C, (N,))
    others = {k: v for k, v in opts.items() if k != key}
    return [
        ErrorCase(
            (z, y),
            {**others, key: torch.ones(C + 1)},
            ValueError,
            rf"^{fn}: {key} must have shape \(4,\) \(one value per class\), got \(5,\)",
            f"{key}-shape",
        ),
        ErrorCase(
            (z, y),
            {**others, key: torch.tensor([3.0, -1.0, 2.0, 1.0])},
            ValueError,
            rf"^{fn}: {key} must be (> 0|>= 0) for every class, got a minimum of -1",
            f"{key}-negative",
        ),
        ErrorCase(
            (z, y),
            {**others, key: torch.ones(C, dtype=torch.bool)},
            TypeError,
            rf"^{fn}: {key} must be a real \(integer or floating\) tensor, got dtype torch.bool",
            f"{key}-bool",
        ),
        ErrorCase(
            (z, y),
            {**others, key: [1, 2, 3, 4]},
            TypeError,
            rf"^{fn}: {key} must be a torch.Tensor, got list",
            f"{key}-list",
        ),
    ]


def _multiclass_random(opts_fn, soft: bool):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n, c = int(rng.integers(1, 9)), int(rng.integers(2, 7))
        z = t64(rng.normal(size=(n, c)) * scale)
        if soft and rng.uniform() < 0.3:
            a = rng.gamma(1.0, size=(n, c))
            y = t64(a / a.sum(1, keepdims=True))
        else:
            y = torch.as_tensor(rng.integers(0, c, size=n))
        counts = torch.as_tensor(rng.integers(1, 1000, size=c))
        return Sample((z, y), opts_fn(rng, counts))

    return make


def _empty(opts: dict):
    return lambda: Sample(
        (torch.zeros(0, C, dtype=torch.float64), torch.zeros(0, dtype=torch.long)), dict(opts)
    )


# ---------------------------------------------------------------------------------------------------
# ASL (elementwise, multi-label)


def _asl_samples() -> list[Sample]:
    rng = rng_for("asl")
    x = _logits(rng, N, 3)
    y = t64(rng.integers(0, 2, size=(N, 3)))
    ys = t64(rng.uniform(0, 1, size=(N, 3)))
    w = t64(rng.uniform(0.1, 2.0, size=(N, 3)))
    wc = t64(rng.uniform(0.1, 2.0, size=(3,)))
    p = t64(rng.uniform(0.06, 0.94, size=(N, 3)))
    y_ign = y.clone()
    y_ign[0, 0], y_ign[3, 2] = -1.0, -1.0
    return [
        Sample((x, y), {}, "defaults"),
        Sample((x, y), {"gamma_pos": 1.0, "gamma_neg": 4.0, "clip": 0.05}, "timm-defaults"),
        Sample((x, ys), {"gamma_pos": 0.5, "gamma_neg": 2.0}, "soft"),
        Sample((x, y), {"clip": 0.0, "gamma_neg": 3.0}, "no-clip"),
        Sample((x, y), {"gamma_pos": 0.0, "gamma_neg": 0.0, "clip": 0.0}, "bce"),
        Sample((x, y), {"gamma_neg": 0.0, "clip": 0.2}, "clip-only"),
        Sample((x, y), {"gamma_neg": 0.5, "clip": 0.1}, "gamma-half"),
        Sample((x, y), {"weight": w}, "weight", plain=False),
        Sample((x, y), {"weight": wc}, "class-weight", plain=False),
        Sample((x, y), {"label_smoothing": 0.1}, "smoothing"),
        Sample((x, y_ign), {"ignore_index": -1}, "ignore", plain=False),
        Sample((x, y), {"detach_focal_weight": True, "gamma_pos": 1.0}, "detached", grad=False),
        Sample((p, y), {"input_type": "probs"}, "probs"),
        Sample((p.log(), y), {"input_type": "log_probs", "gamma_pos": 1.0}, "log-probs"),
        Sample((x, y.long()), {}, "int-target", grad=True),
        Sample((_logits(rng, 2, 3, 4, 5), t64(rng.integers(0, 2, size=(2, 3, 4, 5)))), {}, "4d"),
        Sample((x[:1, :1], y[:1, :1]), {}, "batch-of-one"),
    ]


def _asl_errors() -> list[ErrorCase]:
    fn = "asymmetric_loss"
    x, y = torch.randn(N, 3), torch.randint(0, 2, (N, 3)).float()
    return [
        ErrorCase(
            (x, y[:, :2]),
            {},
            ValueError,
            rf"^{fn}: target must have the input's shape \(6, 3\), got \(6, 2\)",
            "shape",
        ),
        ErrorCase(
            (x, torch.randint(0, 3, (N,))),
            {},
            ValueError,
            rf"^{fn}: target must have .*ASL is multi-label",
            "class-indices",
        ),
        ErrorCase(
            (x, y * 3), {}, ValueError, rf"^{fn}: target must hold probabilities in \[0, 1\]", "target>1"
        ),
        ErrorCase((x, y.bool()), {}, TypeError, rf"^{fn}: target must be a float or integer tensor", "bool"),
        ErrorCase(
            (x.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase(
            (x, y), {"gamma_neg": -1.0}, ValueError, rf"^{fn}: gamma_neg must be in \[0, inf\)", "gamma_neg"
        ),
        ErrorCase((x, y), {"gamma_pos": "1"}, TypeError, rf"^{fn}: gamma_pos must be a number", "gamma_pos"),
        ErrorCase((x, y), {"clip": 1.0}, ValueError, rf"^{fn}: clip must be in \[0, 1\), got 1.0", "clip"),
        ErrorCase(
            (x, y),
            {"detach_focal_weight": 1},
            TypeError,
            rf"^{fn}: detach_focal_weight must be a bool",
            "det",
        ),
        ErrorCase(
            (x, y), {"ignore_index": 0.5}, TypeError, rf"^{fn}: ignore_index must be an int or None", "ign"
        ),
        ErrorCase(
            (x, y),
            {"weight": torch.ones(N + 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase(
            (x, y), {"input_type": "p"}, ValueError, rf"^{fn}: input_type must be one of", "input_type"
        ),
        ErrorCase(
            (x.abs() + 1, y),
            {"input_type": "probs"},
            ValueError,
            rf"^{fn}: input must hold probabilities",
            "probs",
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y), {}, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
        ErrorCase(
            (x, y), {"reduction": "batchmean"}, ValueError, rf"^{fn}: reduction must be one of", "reduction"
        ),
    ]


def _asl_extremes() -> list[Sample]:
    x = t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 30.0], [88.0, -88.0, -30.0]])
    y = t64([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    out = []
    for kw in ({}, {"gamma_pos": 1.0}, {"clip": 0.0, "gamma_neg": 0.5}, {"gamma_neg": 0.0, "clip": 0.0}):
        out += [Sample((x, y), kw, f"right-{kw}"), Sample((x, 1.0 - y), kw, f"wrong-{kw}")]
    probs = t64([[0.0, 1.0, 0.5]])
    out += [
        Sample((probs, t64([[0.0, 1.0, 1.0]])), {"input_type": "probs"}, "probs-0-1"),
        Sample((probs, t64([[1.0, 0.0, 1.0]])), {"input_type": "probs"}, "probs-0-1-wrong"),
    ]
    return out


def _asl_random(rng: np.random.Generator, scale: float) -> Sample:
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 5)))
    x = t64(rng.normal(size=shape) * scale)
    y = t64(rng.integers(0, 2, size=shape)) if rng.uniform() < 0.6 else t64(rng.uniform(size=shape))
    kw = {
        "gamma_pos": float(rng.choice([0.0, 1.0])),
        "gamma_neg": float(rng.choice([0.0, 0.5, 4.0])),
        "clip": float(rng.choice([0.0, 0.05, 0.3])),
    }
    return Sample((x, y), kw)


# ---------------------------------------------------------------------------------------------------
# option sets


BS = {"class_counts": COUNTS}
LA = {"class_priors": PRIORS}
LD = {"class_counts": COUNTS, "scale": 5.0}
SS = {"class_counts": COUNTS}


def _poly_samples() -> list[Sample]:
    out = _multiclass_samples(
        "poly",
        [
            {"epsilon": 1.0},
            {"epsilon": -1.0},
            {"epsilon": 0.0},
            {"epsilon": 2.0, "gamma": 2.0},
            {"epsilon": 1.0, "gamma": 0.5},
        ],
        soft=True,
        smoothing=True,
        probs=True,
    )
    rng = rng_for("poly", 1)
    z, q = _logits(rng, N, C), _simplex(rng, N, C)
    out.append(
        Sample(
            (z, q),
            {"epsilon": 1.5, "gamma": 2.0, "weight": t64(rng.uniform(0.2, 2, size=C))},
            "focal-prob-weight",
            plain=False,
        )
    )
    return out


def _seesaw_samples() -> list[Sample]:
    out = _multiclass_samples(
        "seesaw",
        [
            dict(SS),
            {**SS, "q": 0.0},
            {**SS, "p": 0.0},
            {**SS, "p": 2.0, "q": 1.0},
            {"class_counts": t64([0.0, 3.0, 3.0, 50.0]), "q": 0.0},
        ],
        soft=False,
        smoothing=False,
    )
    # the compensation factor is a constant in the backward pass (the paper's gradient), so gradcheck's finite
    # differences (which see it change) apply only where it is switched off (q = 0) or inactive (the true
    # class wins, so every factor is 1 near the point); tests/test_longtail_values.py checks the gradient
    for s in out:
        if s.kwargs.get("q", 2.0) != 0.0:
            s.grad = False
        # counts are clamped to >= 1 (an empty class counts as one): a kink at the sample's zero count
        if bool((s.kwargs["class_counts"] < 1).any()):
            s.kwarg_grad = False
    rng = rng_for("seesaw", 1)
    z, y = _logits(rng, N, C), _labels(rng, N)
    z[torch.arange(N), y] = z.max(1).values + 1.0
    out.append(Sample((z, y), dict(SS), "true-class-wins"))
    return out


def _seesaw_random(rng: np.random.Generator, counts: torch.Tensor) -> dict:
    return {"class_counts": counts, "p": float(rng.choice([0.0, 0.8])), "q": float(rng.choice([0.0, 2.0]))}


ENTRIES = [
    LossEntry(
        "asymmetric_loss",
        LF.asymmetric_loss,
        losskit.AsymmetricLoss,
        R.asymmetric_loss,
        _asl_samples,
        errors=_asl_errors,
        extremes=_asl_extremes,
        random=_asl_random,
        empty=lambda: Sample(
            (torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64)), {}
        ),
    ),
    LossEntry(
        "poly_loss",
        LF.poly_loss,
        losskit.PolyLoss,
        R.poly_loss,
        _poly_samples,
        errors=lambda: [
            *_multiclass_errors("poly_loss", {}, soft=True),
            ErrorCase(
                (torch.randn(N, C), torch.randint(0, C, (N,))),
                {"epsilon": -1.5},
                ValueError,
                r"^poly_loss: epsilon must be in \[-1, inf\)",
                "epsilon",
            ),
            ErrorCase(
                (torch.randn(N, C), torch.randint(0, C, (N,))),
                {"gamma": -0.5},
                ValueError,
                r"^poly_loss: gamma must be in \[0, inf\)",
                "gamma",
            ),
            ErrorCase(
                (torch.randn(N, C), torch.randint(0, C, (N,))),
                {"input_type": "prob"},
                ValueError,
                r"^poly_loss: input_type must be one of",
                "input_type",
            ),
        ],
        extremes=lambda: (
            _multiclass_extremes({})
            + _multiclass_extremes({"gamma": 0.5, "epsilon": -1.0})
            + [
                Sample(
                    (t64([[0.0, 1.0, 0.0, 0.0]] * 3), torch.tensor([0, 1, 2])),
                    {"input_type": "probs"},
                    "probs-0-1",
                )
            ]
        ),
        random=_multiclass_random(
            lambda rng, c: {
                "epsilon": float(rng.choice([-1.0, 0.0, 1.0, 5.0])),
                "gamma": float(rng.choice([0.0, 0.5, 2.0])),
            },
            True,
        ),
        empty=_empty({}),
        index_args=(1,),
    ),
    LossEntry(
        "balanced_softmax_loss",
        LF.balanced_softmax_loss,
        losskit.BalancedSoftmaxLoss,
        R.balanced_softmax_loss,
        lambda: _multiclass_samples(
            "balanced_softmax",
            [dict(BS), {"class_counts": COUNTS_F}, {"class_counts": torch.ones(C, dtype=torch.int32)}],
            soft=True,
            smoothing=True,
        ),
        errors=lambda: (
            _multiclass_errors("balanced_softmax_loss", BS, soft=True)
            + _count_errors("balanced_softmax_loss", "class_counts", BS)
            + [
                ErrorCase(
                    (torch.randn(N, C), torch.randint(0, C, (N,))),
                    {"class_counts": torch.tensor([3, 0, 1, 1])},
                    ValueError,
                    r"^balanced_softmax_loss: class_counts must be > 0 for every class",
                    "zero-count",
                )
            ]
        ),
        extremes=lambda: (
            _multiclass_extremes(BS) + _multiclass_extremes({"class_counts": t64([1e9, 1.0, 1.0, 1e-9])})
        ),
        random=_multiclass_random(lambda rng, c: {"class_counts": c}, True),
        empty=_empty(BS),
        index_args=(1,),
        # with class-index targets the class weight goes to torch's nll_loss, which (like torch's own
        # cross_entropy) is not differentiable in it and rejects a weight that requires grad
        nograd_kwargs=("weight",),
    ),
    LossEntry(
        "logit_adjusted_cross_entropy",
        LF.logit_adjusted_cross_entropy,
        losskit.LogitAdjustedCrossEntropyLoss,
        R.logit_adjusted_cross_entropy,
        lambda: _multiclass_samples(
            "logit_adjusted",
            [dict(LA), {**LA, "tau": 0.0}, {**LA, "tau": 2.0}, {"class_priors": COUNTS, "tau": -0.5}],
            soft=True,
            smoothing=True,
        ),
        errors=lambda: (
            _multiclass_errors("logit_adjusted_cross_entropy", LA, soft=True)
            + _count_errors("logit_adjusted_cross_entropy", "class_priors", LA)
            + [
                ErrorCase(
                    (torch.randn(N, C), torch.randint(0, C, (N,))),
                    {**LA, "tau": float("nan")},
                    ValueError,
                    r"^logit_adjusted_cross_entropy: tau must be in \(-inf, inf\)",
                    "tau-nan",
                )
            ]
        ),
        extremes=lambda: _multiclass_extremes({**LA, "tau": 3.0}),
        random=_multiclass_random(
            lambda rng, c: {"class_priors": c.double(), "tau": float(rng.choice([0.0, 1.0, 2.5]))}, True
        ),
        empty=_empty(LA),
        index_args=(1,),
        # with class-index targets the class weight goes to torch's nll_loss, which (like torch's own
        # cross_entropy) is not differentiable in it and rejects a weight that requires grad
        nograd_kwargs=("weight",),
    ),
    LossEntry(
        "ldam_loss",
        LF.ldam_loss,
        losskit.LDAMLoss,
        R.ldam_loss,
        lambda: _multiclass_samples(
            "ldam",
            [
                dict(LD),
                {"class_counts": COUNTS},
                {**LD, "max_margin": 0.0},
                {"class_counts": COUNTS_F, "max_margin": 1.0, "scale": 1.0},
            ],
            soft=False,
            smoothing=False,
        ),
        errors=lambda: (
            _multiclass_errors("ldam_loss", LD, soft=False)
            + _count_errors("ldam_loss", "class_counts", LD)
            + [
                ErrorCase(
                    (torch.randn(N, C), torch.randint(0, C, (N,))),
                    {**LD, "scale": 0.0},
                    ValueError,
                    r"^ldam_loss: scale must be in \(0, inf\)",
                    "scale",
                ),
                ErrorCase(
                    (torch.randn(N, C), torch.randint(0, C, (N,))),
                    {**LD, "max_margin": -0.1},
                    ValueError,
                    r"^ldam_loss: max_margin must be in \[0, inf\)",
                    "max_margin",
                ),
            ]
        ),
        extremes=lambda: _multiclass_extremes(LD) + _multiclass_extremes({"class_counts": COUNTS}),
        random=_multiclass_random(
            lambda rng, c: {"class_counts": c, "scale": float(rng.choice([1.0, 30.0]))}, False
        ),
        empty=_empty(LD),
        index_args=(1,),
        # with class-index targets the class weight goes to torch's nll_loss, which (like torch's own
        # cross_entropy) is not differentiable in it and rejects a weight that requires grad
        nograd_kwargs=("weight",),
    ),
    LossEntry(
        "seesaw_loss",
        LF.seesaw_loss,
        losskit.SeesawLoss,
        R.seesaw_loss,
        _seesaw_samples,
        errors=lambda: (
            _multiclass_errors("seesaw_loss", SS, soft=False)
            + _count_errors("seesaw_loss", "class_counts", SS)
            + [
                ErrorCase(
                    (torch.randn(N, C), torch.randint(0, C, (N,))),
                    {**SS, "p": -1.0},
                    ValueError,
                    r"^seesaw_loss: p must be in \[0, inf\)",
                    "p",
                ),
                ErrorCase(
                    (torch.randn(N, C), torch.randint(0, C, (N,))),
                    {**SS, "q": "2"},
                    TypeError,
                    r"^seesaw_loss: q must be a number",
                    "q",
                ),
            ]
        ),
        extremes=lambda: (
            _multiclass_extremes(SS)
            + _multiclass_extremes({"class_counts": torch.tensor([0, 10**9, 1, 0]), "p": 3.0, "q": 4.0})
        ),
        random=_multiclass_random(_seesaw_random, False),
        empty=_empty(SS),
        index_args=(1,),
    ),
]
