"""Battery entries for the segmentation (overlap) family (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import segmentation as R

N, C, H, W = 2, 3, 3, 4
IGNORE = 255


def _logits(rng: np.random.Generator, *shape: int, scale: float = 2.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _labels(rng: np.random.Generator, *shape: int, classes: int = C) -> torch.Tensor:
    return torch.as_tensor(rng.integers(0, classes, size=shape), dtype=torch.long)


def _one_hot(y: torch.Tensor, classes: int = C) -> torch.Tensor:
    return torch.nn.functional.one_hot(y, classes).movedim(-1, 1).to(torch.float64)


def _simplex(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    a = rng.gamma(1.0, size=shape)
    return t64(a / a.sum(axis=1, keepdims=True))


def _samples(name: str, *, ratio: bool = True) -> list[Sample]:
    """Samples every overlap loss shares; ``ratio=False`` drops the ``smooth`` options (Lovász)."""
    rng = rng_for(name)
    x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
    w = t64(rng.uniform(0.2, 2.0, size=C))
    y_ign = y.clone()
    y_ign[0, 0, :3] = IGNORE
    y_ign[1, 2, 1] = IGNORE
    mask = torch.as_tensor(rng.uniform(size=(N, H, W)) > 0.3)
    multi_hot = t64(rng.integers(0, 2, size=(N, C, H, W)))
    x3, y3 = _logits(rng, 2, C, 2, 3, 2), _labels(rng, 2, 2, 3, 2)
    xb, yb = _logits(rng, N, 1, H, W), _labels(rng, N, H, W, classes=2)
    soft_b = t64(rng.uniform(size=(N, 1, H, W)))
    probs = torch.softmax(x, 1)
    # gradcheck runs on the samples that exercise a distinct code path (grad=True); the others reuse them
    out = [
        Sample((x, y), {}, "index"),
        Sample((x, y), {"weight": w}, "class-weight", plain=False, grad=False),
        Sample((x, y_ign), {"ignore_index": IGNORE}, "ignore", grad=False),
        Sample(
            (x, y_ign),
            {"ignore_index": IGNORE, "weight": w, "include_background": False},
            "ignore-weight-no-background",
            plain=False,
        ),
        Sample((x, _one_hot(y)), {}, "one-hot", grad=False),
        Sample((x, _one_hot(y)), {"mask": mask}, "one-hot-mask"),
        Sample((x, _simplex(rng, N, C, H, W)), {}, "soft-target"),
        Sample((x, y), {"per_image": False}, "batch", grad=False),
        Sample(
            (x, y_ign),
            {"per_image": False, "ignore_index": IGNORE, "weight": w},
            "batch-ignore-weight",
            plain=False,
        ),
        Sample((x, multi_hot), {"multilabel": True}, "multilabel", grad=False),
        Sample((x, y_ign), {"multilabel": True, "ignore_index": IGNORE}, "multilabel-index"),
        Sample((xb, yb), {}, "binary-index"),
        Sample((xb, soft_b), {"mask": mask, "per_image": False}, "binary-soft-mask-batch"),
        Sample((x3, y3), {}, "3d"),
        Sample((probs, y), {"input_type": "probs"}, "probs", grad=False),
        Sample((torch.log_softmax(x, 1), y), {"input_type": "log_probs"}, "log-probs"),
        Sample((x[:1], y[:1]), {}, "batch-of-one", grad=False),
    ]
    if ratio:
        out += [
            Sample((x, y), {"smooth": 0.0}, "smooth0", grad=False),
            Sample((x, y_ign), {"smooth": 1.0, "ignore_index": IGNORE}, "smooth1"),
        ]
    return out


def _extremes(name: str, *, ratio: bool = True, **kw: Any) -> list[Sample]:
    """Saturated logits, exact 0 / 1 probabilities, empty masks, all pixels ignored, batch of one."""
    y = torch.tensor([[[0, 1, 2, 2], [1, 1, 0, 2]]])  # (1, 2, 4)
    right = (_one_hot(y) * 2.0 - 1.0) * 1e4  # the correct class at +1e4, the others at -1e4
    wrong = right.roll(1, dims=1)
    empty_t = torch.zeros(1, 2, 4, dtype=torch.long)  # binary: no foreground
    bg_logit = torch.full((1, 1, 2, 4), -1e4, dtype=torch.float64)  # empty prediction
    fg_logit = torch.full((1, 1, 2, 4), 30.0, dtype=torch.float64)  # confident, non-empty prediction
    out = [
        Sample((right, y), dict(kw), "saturated-right"),
        Sample((wrong, y), dict(kw), "saturated-wrong"),
        Sample((right, y), {**kw, "per_image": False, "include_background": False}, "saturated-batch"),
        Sample((_one_hot(y), y), {**kw, "input_type": "probs"}, "probs-exact-0-1"),
        Sample((_one_hot(y).roll(1, dims=1), y), {**kw, "input_type": "probs"}, "probs-exact-wrong"),
        Sample((bg_logit, empty_t), dict(kw), "empty-target-empty-prediction"),
        Sample((fg_logit, empty_t), dict(kw), "empty-target-full-prediction"),
        Sample((right, torch.full_like(y, IGNORE)), {**kw, "ignore_index": IGNORE}, "all-ignored"),
        Sample((right, _one_hot(y)), {**kw, "mask": torch.zeros(1, 2, 4, dtype=torch.bool)}, "all-masked"),
        Sample((right, y), {**kw, "multilabel": True}, "saturated-multilabel"),
    ]
    if ratio:
        out += [
            Sample((bg_logit, empty_t), {**kw, "smooth": 0.0}, "empty-empty-smooth0"),
            Sample(
                (right, torch.full_like(y, IGNORE)),
                {**kw, "ignore_index": IGNORE, "smooth": 0.0},
                "all-ignored-smooth0",
            ),
        ]
    return out


def _errors(fn: Callable[..., torch.Tensor], name: str) -> list[ErrorCase]:
    x, y = torch.randn(N, C, H, W), torch.randint(0, C, (N, H, W))
    f = rf"^{name}:"
    out = [
        ErrorCase(
            (x, y[:, None]),
            {},
            ValueError,
            f + r" target must have shape \(2, 3, 4\) for class indices or "
            r"\(2, 3, 3, 4\).*target.squeeze\(1\)",
            "index-with-channel",
        ),
        ErrorCase((x, y[:, :2]), {}, ValueError, f + r" target must have shape \(2, 3, 4\)", "index-shape"),
        ErrorCase(
            (x, torch.rand(N, C, H, W + 1)),
            {},
            ValueError,
            f + r" target must have shape \(2, 3, 3, 4\)",
            "dense-shape",
        ),
        ErrorCase((x, y.float()), {}, TypeError, f + r" target must be an integer tensor", "float-index"),
        ErrorCase(
            (x, torch.full((N, H, W), C)), {}, ValueError, f + r" target holds class index 3", "label-hi"
        ),
        ErrorCase(
            (x[:, :1], torch.full((N, H, W), 2)),
            {},
            ValueError,
            f + r" target holds class index 2, expected indices in \[0, 1\]",
            "binary-label",
        ),
        ErrorCase(
            (x, torch.rand(N, C, H, W) * 2), {}, ValueError, f + r" target must hold probabilities", "dense>1"
        ),
        ErrorCase((x.long(), y), {}, TypeError, f + r" input must be a floating-point tensor", "int-input"),
        ErrorCase(
            (x[:, :, 0, 0], y[:, 0, 0]),
            {},
            ValueError,
            f + r" input must have shape \(N, C, \*spatial\)",
            "no-spatial",
        ),
        ErrorCase((x, "y"), {}, TypeError, f + r" target must be a torch.Tensor", "str-target"),
        ErrorCase(
            (x, y), {"input_type": "prob"}, ValueError, f + r" input_type must be one of", "input_type"
        ),
        ErrorCase(
            (x.abs() + 1, y),
            {"input_type": "probs"},
            ValueError,
            f + r" input must hold probabilities",
            "probs>1",
        ),
        ErrorCase(
            (x, y), {"weight": torch.ones(C + 1)}, ValueError, f + r" weight must have shape \(3,\)", "weight"
        ),
        ErrorCase(
            (x, y), {"weight": -torch.ones(C)}, ValueError, f + r" weight must be non-negative", "weight<0"
        ),
        ErrorCase(
            (x, _one_hot(y).float()),
            {"ignore_index": 0},
            ValueError,
            f + r" ignore_index applies to class-index targets",
            "ignore-dense",
        ),
        ErrorCase(
            (x, y),
            {"ignore_index": 1.5},
            TypeError,
            f + r" ignore_index must be an int or None",
            "ignore-float",
        ),
        ErrorCase(
            (x, y), {"mask": torch.ones(N, H, W)}, TypeError, f + r" mask must be a bool tensor", "mask-dtype"
        ),
        ErrorCase(
            (x, y),
            {"mask": torch.ones(N, 1, H, W, dtype=torch.bool)},
            ValueError,
            f + r" mask must have shape \(2, 3, 4\)",
            "mask-shape",
        ),
        ErrorCase((x, y), {"multilabel": 1}, TypeError, f + r" multilabel must be a bool", "multilabel"),
        ErrorCase((x, y), {"per_image": "yes"}, TypeError, f + r" per_image must be a bool", "per_image"),
        ErrorCase(
            (x.masked_fill(x > 0.5, float("nan")), y), {}, ValueError, f + r" input contains NaN", "nan"
        ),
        ErrorCase(
            (x, y), {"reduction": "batchmean"}, ValueError, f + r" reduction must be one of", "reduction"
        ),
    ]
    if name != "lovasz_loss":
        out.append(
            ErrorCase((x, y), {"smooth": -1.0}, ValueError, f + r" smooth must be in \[0, inf\)", "smooth")
        )
    return out


def _random(**fixed: Any) -> Callable[[np.random.Generator, float], Sample]:
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n, c = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        spatial = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 4))))
        x = t64(rng.normal(size=(n, c, *spatial)) * scale)
        y = torch.as_tensor(rng.integers(0, max(c, 2), size=(n, *spatial)))
        kw: dict[str, Any] = {"multilabel": bool(rng.uniform() < 0.3), **fixed}
        if rng.uniform() < 0.3:
            y = torch.where(torch.as_tensor(rng.uniform(size=y.shape) < 0.3), IGNORE, y)
            kw["ignore_index"] = IGNORE
        return Sample((x, y), kw)

    return make


def _empty() -> Sample:
    return Sample((torch.zeros(0, C, H, W, dtype=torch.float64), torch.zeros(0, H, W, dtype=torch.long)), {})


def _entry(
    name: str,
    fn: Callable[..., torch.Tensor],
    module: type[torch.nn.Module],
    reference: Callable[..., Any],
    own: list[tuple[dict[str, Any], str]],
    *,
    ratio: bool = True,
    **random_fixed: Any,
) -> LossEntry:
    """One entry: the shared samples with the loss's default options, plus ``own`` option variants."""

    def samples() -> list[Sample]:
        base = _samples(name, ratio=ratio)
        rng = rng_for(name, 1)
        x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
        extra = [Sample((x, y), kw, tag) for kw, tag in own]
        return base[:1] + extra + base[1:]

    return LossEntry(
        name=name,
        fn=fn,
        module=module,
        reference=reference,
        samples=samples,
        errors=lambda: _errors(fn, fn.__name__),
        extremes=lambda: _extremes(name, ratio=ratio),
        random=_random(**random_fixed),
        empty=_empty,
        index_args=(1,),
    )


ENTRIES = [
    _entry(
        "dice_loss",
        LF.dice_loss,
        losskit.DiceLoss,
        R.dice_loss,
        [({"squared": True}, "squared"), ({"squared": True, "per_image": False}, "squared-batch")],
    ),
    _entry("jaccard_loss", LF.jaccard_loss, losskit.JaccardLoss, R.jaccard_loss, []),
    _entry(
        "tversky_loss",
        LF.tversky_loss,
        losskit.TverskyLoss,
        R.tversky_loss,
        [
            ({"alpha": 0.3, "beta": 0.7}, "a0.3-b0.7"),
            ({"alpha": 1.0, "beta": 1.0}, "jaccard-limit"),
            ({"alpha": 0.0, "beta": 2.0, "per_image": False}, "a0-b2-batch"),
        ],
    ),
    _entry(
        "focal_tversky_loss",
        LF.focal_tversky_loss,
        losskit.FocalTverskyLoss,
        R.focal_tversky_loss,
        [
            ({"alpha": 0.3, "beta": 0.7, "gamma": 0.75}, "abraham"),
            ({"gamma": 2.0}, "gamma2"),
            ({"gamma": 0.5, "per_image": False}, "gamma0.5-batch"),
        ],
        gamma=0.75,
    ),
    _entry(
        "generalized_dice_loss",
        LF.generalized_dice_loss,
        losskit.GeneralizedDiceLoss,
        R.generalized_dice_loss,
        [
            ({"weighting": "simple"}, "simple"),
            ({"weighting": "uniform"}, "uniform"),
            ({"weighting": "square", "per_image": False}, "square-batch"),
        ],
    ),
    _entry("lovasz_loss", LF.lovasz_loss, losskit.LovaszLoss, R.lovasz_loss, [], ratio=False),
]


def _absent_class_samples() -> list[Sample]:
    """Generalized Dice where class 1 is absent from sample 0 (weight = max finite weight of that sample)."""
    rng = rng_for("generalized_dice_loss", 2)
    x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
    y[0][y[0] == 1] = 2
    y_all0 = torch.zeros_like(y)
    return [
        Sample((x, y), {}, "absent-class"),
        Sample((x, y), {"per_image": False}, "absent-class-batch"),
        Sample((x, y_all0), {"include_background": False}, "all-foreground-absent"),
    ]


def _lovasz_extra_samples() -> list[Sample]:
    """Hinge variant with probability inputs (converted to logits) and 3-D multi-label volumes."""
    rng = rng_for("lovasz_loss", 2)
    xb, yb = _logits(rng, N, 1, H, W), _labels(rng, N, H, W, classes=2)
    x3 = _logits(rng, 2, 2, 3, 3, 2)
    y3 = t64(rng.integers(0, 2, size=(2, 2, 3, 3, 2)))
    return [
        Sample((torch.sigmoid(xb), yb), {"input_type": "probs"}, "hinge-probs"),
        Sample((x3, y3), {"multilabel": True, "per_image": False}, "hinge-3d-multilabel-batch"),
    ]


def _extend(entry: LossEntry, more: Callable[[], list[Sample]]) -> None:
    original = entry.samples
    entry.samples = lambda: original() + more()


_extend(ENTRIES[4], _absent_class_samples)
_extend(ENTRIES[5], _lovasz_extra_samples)


def _parity_samples(name: str) -> Callable[[], list[Sample]]:
    """The peer-parity options (issue 13): split smoothing, -log score, squared Jaccard, on index and soft targets."""

    def make() -> list[Sample]:
        rng = rng_for(name, 3)
        x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
        q = _simplex(rng, N, C, H, W)
        out = [
            Sample((x, y), {"smooth_nr": 0.2, "smooth_dr": 0.9}, "smooth-nr-dr"),
            Sample(
                (x, q), {"smooth_nr": 0.0, "smooth_dr": 0.5, "per_image": False}, "soft-smooth-nr-dr-batch"
            ),
            Sample((q, q), {"input_type": "probs"}, "soft-target-equals-input", grad=False),
        ]
        if name in ("dice_loss", "jaccard_loss", "tversky_loss"):
            out += [
                Sample((x, y), {"log_loss": True}, "log-loss"),
                Sample((x, q), {"log_loss": True, "smooth": 0.0}, "soft-log-loss"),
            ]
        if name == "jaccard_loss":
            out += [
                Sample((x, y), {"squared": True}, "squared"),
                Sample((x, q), {"squared": True, "per_image": False, "smooth_nr": 0.1}, "soft-squared-batch"),
            ]
        return out

    return make


for _entry_ in ENTRIES[:5]:
    _extend(_entry_, _parity_samples(_entry_.name))


def _mcc_samples() -> list[Sample]:
    rng = rng_for("mcc_loss", 4)
    x, y = _logits(rng, N, C, H, W), _labels(rng, N, H, W)
    return [
        Sample((x, y), {"eps": 0.5}, "eps0.5"),
        Sample((x, _simplex(rng, N, C, H, W)), {"eps": 1e-3, "per_image": False}, "soft-eps-batch"),
    ]


def _mcc_entry() -> LossEntry:
    e = _entry("mcc_loss", LF.mcc_loss, losskit.MCCLoss, R.mcc_loss, [], ratio=False)
    original = e.samples
    e.samples = lambda: original() + _mcc_samples()
    errors = e.errors
    eps_case = ErrorCase(
        (torch.randn(N, C, H, W), torch.randint(0, C, (N, H, W))),
        {"eps": 0.0},
        ValueError,
        r"^mcc_loss: eps must be in \(0, inf\)",
        "eps",
    )
    e.errors = lambda: [
        *(c for c in errors() if c.name != "smooth"),
        eps_case,
    ]  # mcc_loss has eps, not smooth
    return e


ENTRIES.append(_mcc_entry())
