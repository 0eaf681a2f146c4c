"""`losskit plot`: a loss and its gradient as functions of the prediction, for several parameter values.

Each loss has a :class:`PlotSpec` saying what is on the x-axis (a logit, a residual, a box offset and
scale, a predicted foreground fraction, an embedding angle) and which option is swept. The curves are
computed with losskit itself and autograd, so the plots show exactly what the library computes.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from losskit import registry

D = torch.float64


@dataclass
class PlotSpec:
    """How to plot one loss: a curve family ``x -> loss(x)`` per value of ``sweep``."""

    kind: str
    sweep: str | None = None
    values: Sequence[Any] = ()
    fixed: dict[str, Any] = field(default_factory=dict)


# x-axis builders: each returns (x grid, label, callable(fn, x, kwargs) -> per-point loss)
Curve = Callable[[Callable[..., Tensor], Tensor, dict[str, Any]], Tensor]


def _binary(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    target = kw.pop("_target", 1.0)
    if fn.__name__ == "multilabel_soft_margin_loss":  # (N, C) input: one class per row
        return fn(x[:, None], torch.full_like(x, target)[:, None], reduction="none", **kw)
    return fn(x, torch.full_like(x, target), reduction="none", **kw)


def _pm_dissimilar(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # torch's ±1-label losses at y = -1: margin ranking of (x, 0), hinge embedding of the distance x
    y = -torch.ones_like(x, dtype=torch.long)
    if fn.__name__ == "margin_ranking_loss":
        return fn(x, torch.zeros_like(x), y, reduction="none", **kw)
    return fn(x, y, reduction="none", **kw)


def _margin(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    return fn(x, torch.ones_like(x, dtype=torch.long), reduction="none", **kw)


def _multiclass(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    z = torch.zeros(len(x), 3, dtype=D)
    z = z.index_put((torch.arange(len(x)), torch.zeros(len(x), dtype=torch.long)), x)
    return fn(z, torch.zeros(len(x), dtype=torch.long), reduction="none", **kw)


def _long_tail(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # 3 classes, the true class 0 has logit x, the other two 0; the class counts (or priors) are (1, 10, 100)
    # -- the true class is the rarest -- unless set (a list from a recipe or `--param class_counts=100,10,1`)
    key = "class_priors" if "class_priors" in inspect.signature(fn).parameters else "class_counts"
    kw[key] = torch.as_tensor(kw.get(key, [1.0, 10.0, 100.0]), dtype=D)
    return _multiclass(fn, x, kw)


def _distribution(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    z = torch.stack([x, torch.zeros_like(x), torch.zeros_like(x)], 1)
    if fn.__name__ == "entropy":
        return fn(z, reduction="none", **kw)
    target = torch.tensor([[0.7, 0.2, 0.1]], dtype=D).expand(len(x), 3)
    return fn(z, target, reduction="none", **kw)


def _dfl(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    z = torch.zeros(len(x), 5, dtype=D)
    z = torch.cat([z[:, :2], x[:, None], z[:, 3:]], 1)
    return fn(z, torch.full((len(x),), 2.3, dtype=D), reduction="none", **kw)


def _ctc(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # 4 frames, classes {blank, a, b}; the logit of the right label at every frame is x
    n = len(x)
    z = torch.zeros(4, n, 3, dtype=D)
    right = torch.tensor([1, 1, 2, 2])
    z = z + torch.nn.functional.one_hot(right, 3).to(D)[:, None, :] * x[None, :, None]
    tgt = torch.tensor([[1, 2]]).expand(n, 2)
    return fn(z, tgt, [4] * n, [2] * n, input_type="logits", reduction="none", **kw)


def _residual(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    extra = dict(kw)
    if fn.__name__ == "gaussian_nll_loss" and "var" not in extra and "log_var" not in extra:
        extra["var"] = torch.ones_like(x)
    if fn.__name__ == "laplace_nll_loss" and "scale" not in extra and "log_scale" not in extra:
        extra["scale"] = torch.ones_like(x)
    return fn(x, torch.zeros_like(x), reduction="none", **extra)


def _log_mean(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # count / non-negative targets: the x-axis is the predicted log-mean, the observed value is 2
    return fn(x, torch.full_like(x, 2.0), reduction="none", **kw)


def _forecast(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # a point forecast x of the actual value 1; MASE scales by the naive errors of the history
    # (0, 2, 1, 3, 2, 4): s = 1.6 at lag 1, 1 at lag 2
    one = torch.ones_like(x)
    if fn.__name__ == "mase_loss":
        history = torch.tensor([[0.0, 2.0, 1.0, 3.0, 2.0, 4.0]], dtype=D).expand(len(x), 6)
        return fn(x[:, None], one[:, None], history=history, reduction="none", **kw)[:, 0]
    return fn(x, one, reduction="none", **kw)


def _ensemble(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # a 5-member ensemble with members at x + (-1, -0.5, 0, 0.5, 1); the observation is 0
    spread = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=D)
    return fn(x[:, None] + spread, torch.zeros_like(x), reduction="none", **kw)


def _keypoint(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # a 100 x 100 px person with COCO's 17 keypoints at the target; the first keypoint (nose) is moved by x px
    n = len(x)
    target = torch.zeros(n, 17, 2, dtype=D)
    zero = torch.zeros(n, dtype=torch.long)
    shift = torch.zeros(n, 17, 2, dtype=D).index_put((torch.arange(n), zero, zero), x)
    return fn(target + shift, target, area=torch.full((n,), 1e4, dtype=D), reduction="none", **kw)


def _box_offset(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # a unit target box at the origin; the predicted unit box is shifted horizontally by x
    n = len(x)
    target = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=D).expand(n, 4)
    zero = torch.zeros_like(x)
    pred = torch.stack([x, zero, x + 1.0, zero + 1.0], 1)
    return fn(pred, target, reduction="none", **kw)


def _box_scale(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # concentric boxes: the predicted box's side is 2^x times the target's
    n = len(x)
    target = torch.tensor([[-0.5, -0.5, 0.5, 0.5]], dtype=D).expand(n, 4)
    half = 0.5 * torch.pow(2.0, x)
    pred = torch.stack([-half, -half, half, half], 1)
    return fn(pred, target, reduction="none", **kw)


def _overlap(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # 1-D "image" of 100 pixels, 20 % foreground; the prediction covers a fraction x of the image from the
    # left (a soft edge), so x = 0.2 is the perfect prediction
    n, pixels = len(x), 100
    pos = torch.arange(pixels, dtype=D)[None, :] + 0.5
    probs = torch.sigmoid(2.0 * (x[:, None] * pixels - pos))
    target = (pos < 20).to(D).expand(n, pixels)
    inp = probs[:, None, :]
    out = fn(inp, target[:, None, :], input_type="probs", multilabel=True, reduction="none", **kw)
    return out.reshape(n, -1).mean(1)


def _contour(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # 2-D image 5 x 100: the target is a 3-pixel-thick bar over the first 20 columns; the prediction covers
    # a fraction x of the bar's rows from the left (a soft edge), so x = 0.2 is the perfect prediction. The
    # boundary loss is given the bar's signed distance map.
    from losskit.functional.boundary import signed_distance_map

    n, rows, cols = len(x), 5, 100
    pos = torch.arange(cols, dtype=D)[None, :] + 0.5
    band = torch.zeros(rows, 1, dtype=D)
    band[1:4] = 1.0
    probs = band[None] * torch.sigmoid(2.0 * (x[:, None] * cols - pos))[:, None, :]
    target = band * (pos < 20).to(D)
    inp = probs[:, None]
    tgt = target.expand(n, 1, rows, cols)
    if fn.__name__ == "boundary_loss":
        tgt = signed_distance_map(tgt.contiguous()).to(D)
    out = fn(inp, tgt, input_type="probs", multilabel=True, reduction="none", **kw)
    return out.reshape(n, -1).mean(1)


def _pair_angle(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # two unit vectors at angle x: distance-based losses see D = 2 sin(x / 2), similarity losses cos x
    name = fn.__name__
    anchor = torch.tensor([1.0, 0.0], dtype=D).expand(len(x), 2)
    other = torch.stack([torch.cos(x), torch.sin(x)], 1)
    if name == "center_loss":  # the feature at angle x, its class centre at (1, 0)
        return fn(other, torch.zeros(len(x), dtype=torch.long), centers=anchor[:1], reduction="none", **kw)
    if name in ("contrastive_loss", "cosine_embedding_loss"):
        return fn(anchor, other, torch.ones(len(x), dtype=D), reduction="none", **kw)
    if name == "triplet_loss":
        negative = torch.tensor([0.0, 1.0], dtype=D).expand(len(x), 2)
        return fn(anchor, other, negative, reduction="none", **kw)
    # in-batch softmax losses: a batch of 4 pairs on the circle; pair 0's positive is rotated by x
    out = []
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=D)
    for angle in x:
        rot = torch.stack([torch.cos(angle), torch.sin(angle)])
        keys = base.clone()
        keys = torch.cat([rot[None], keys[1:]], 0)
        if name == "supervised_contrastive_loss":
            feats = torch.cat([base, keys], 0)
            labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
            out.append(fn(feats, labels, reduction="mean", **kw))
        elif name == "clip_loss":
            out.append(fn(base, keys, reduction="mean", **{"logit_scale": math.log(10.0), **kw}))
        elif name == "siglip_loss":
            out.append(fn(base, keys, reduction="mean", **{"logit_scale": math.log(10.0), **kw}))
        else:
            out.append(fn(base, keys, reduction="mean", **kw))
    return torch.stack(out)


def _class_angle(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # a unit embedding at angle x from its class centre / proxy / positive at (1, 0); the other classes
    # at 90° and 180° from that centre
    name = fn.__name__
    emb = torch.stack([torch.cos(x), torch.sin(x)], 1)
    centres = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=D)
    labels = torch.zeros(len(x), dtype=torch.long)
    if name in ("arcface_loss", "cosface_loss", "sphereface_loss"):
        return fn(emb, centres, labels, reduction="none", **kw)
    out = []
    for i in range(len(x)):
        if name == "proxy_anchor_loss":  # one embedding of class 0 against the three proxies
            out.append(fn(emb[i : i + 1], centres, labels[:1], reduction="mean", **kw))
        else:  # pair losses: anchor 0's loss, its positive at angle x, its negatives at 90° and 180°
            batch = torch.cat([centres[:1], emb[i : i + 1], centres[1:]], 0)
            pair_labels = torch.tensor([0, 0, 1, 2])
            out.append(fn(batch, pair_labels, reduction="none", **kw)[0])
    return torch.stack(out)


def _multibin(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # two periodic bins (centres 0 and π); the target angle is 0.5 rad; bin 0's predicted residual points at
    # angle x, so x = 0.5 is the perfect residual; bin logits favour bin 0
    from losskit.functional.multibin import MultiBinCodec

    n = len(x)
    codec = kw.pop("codec", None) or MultiBinCodec(2, overlap=0.3)
    logits = torch.tensor([[1.0, 0.0]], dtype=D).expand(n, 2)
    res0 = torch.stack([torch.cos(x), torch.sin(x)], 1)
    res1 = torch.tensor([[1.0, 0.0]], dtype=D).expand(n, 2)
    residuals = torch.stack([res0, res1], 1)
    return fn(logits, residuals, torch.full((n,), 0.5, dtype=D), codec=codec, reduction="none", **kw)


def _distill(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # one token, vocabulary of 3: the student's logit of token 0 is x (others 0), the teacher's logits are
    # (2, 0, 0), so the student matches the teacher at x = 2
    z = torch.stack([x, torch.zeros_like(x), torch.zeros_like(x)], 1)
    teacher = torch.tensor([[2.0, 0.0, 0.0]], dtype=D).expand(len(x), 3)
    return fn(z, teacher, reduction="none", **kw)


def _preference(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # the x-axis is the margin each loss is a function of; the other inputs are held at fixed values
    name, zero = fn.__name__, torch.zeros_like(x)
    if name == "dpo_loss":  # policy log-ratio of the chosen answer x, everything else at the reference
        return fn(x - 10.0, zero - 12.0, zero - 10.0, zero - 12.0, reduction="none", **kw)
    if name == "simpo_loss":  # average log-probs: chosen -1 + x, rejected -1
        return fn(x - 1.0, zero - 1.0, reduction="none", **kw)
    if name == "orpo_loss":  # average log-prob of the chosen answer x, rejected ln 0.25
        return fn(x, zero + math.log(0.25), reduction="none", **kw)
    if name == "kto_loss":  # a desirable example with log-ratio x, reference point 0
        return fn(x - 10.0, zero - 10.0, torch.ones_like(x, dtype=torch.bool), reduction="none", **kw)
    raise ValueError(f"plot: no preference recipe for {name!r}")


def _lm_head(fn: Callable[..., Tensor], x: Tensor, kw: dict[str, Any]) -> Tensor:
    # a one-dimensional hidden state x through a 3-entry head with rows [1], [0], [0]: logits [x, 0, 0];
    # cross-entropy targets entry 0, distillation uses a teacher with logits [2, 0, 0]
    hidden = x[:, None]
    weight = torch.tensor([[1.0], [0.0], [0.0]], dtype=D)
    if fn.__name__ == "linear_distillation_loss":
        teacher = torch.tensor([[2.0, 0.0, 0.0]], dtype=D).expand(len(x), 3)
        return fn(hidden, weight, teacher, reduction="none", **kw)
    return fn(hidden, weight, torch.zeros(len(x), dtype=torch.long), reduction="none", **kw)


KINDS: dict[str, tuple[tuple[float, float], str, Curve]] = {
    "binary": ((-6.0, 6.0), "logit x (target y = 1)", _binary),
    "margin": ((-3.0, 3.0), "score f (label y = +1)", _margin),
    "multiclass": ((-6.0, 6.0), "logit of the true class (other two logits 0)", _multiclass),
    "long_tail": (
        (-6.0, 6.0),
        "true-class logit (others 0); class counts (1, 10, 100) or as labelled",
        _long_tail,
    ),
    "distribution": ((-6.0, 6.0), "logit of class 0 (others 0); target [.7, .2, .1]", _distribution),
    "dfl": ((-4.0, 8.0), "logit of bin 2 (target 2.3)", _dfl),
    "ctc": ((-4.0, 8.0), 'logit of the right label at each of 4 frames ("ab")', _ctc),
    "residual": ((-3.0, 3.0), "residual (prediction - target)", _residual),
    "log_mean": ((-3.0, 4.0), "predicted log-mean η = log μ (observed y = 2)", _log_mean),
    "forecast": ((-1.0, 4.0), "point forecast ŷ (actual y = 1; MASE's history 0, 2, 1, 3, 2, 4)", _forecast),
    "ensemble": ((-3.0, 3.0), "ensemble shift (5 members at ±1 around it; target 0)", _ensemble),
    "keypoint": ((-30.0, 30.0), "nose keypoint offset in px (100 × 100 person)", _keypoint),
    "box_offset": ((-2.5, 2.5), "horizontal offset of a unit box (target at 0)", _box_offset),
    "box_scale": ((-3.0, 3.0), "log2 of predicted / target side (concentric boxes)", _box_scale),
    "overlap": ((0.0, 1.0), "predicted foreground fraction (target fraction 0.2)", _overlap),
    "pair_angle": ((0.0, math.pi), "angle between the positive pair (radians)", _pair_angle),
    "class_angle": (
        (0.0, math.pi),
        "angle θ to its centre / proxy / positive (others at 90°, 180°)",
        _class_angle,
    ),
    "contour": ((0.0, 1.0), "predicted length of a 3-pixel bar (target 0.2 of a 5 x 100 image)", _contour),
    "multibin": ((-math.pi, math.pi), "angle of bin 0's predicted residual (target 0.5 rad)", _multibin),
    "distill": ((-6.0, 8.0), "student logit of token 0 (others 0); teacher logits (2, 0, 0)", _distill),
    "dpo": ((-60.0, 60.0), "log-ratio margin h (chosen up by h, rejected at the reference)", _preference),
    "simpo": ((-3.0, 3.0), "average log-prob margin (chosen − rejected)", _preference),
    "orpo": ((-5.0, -0.02), "average log-prob of the chosen answer (rejected ln 0.25)", _preference),
    "kto": ((-60.0, 60.0), "log-ratio r of a desirable example (z0 = 0)", _preference),
    "pm_dissimilar": (
        (-1.0, 3.0),
        "x1 - x2 (ranking) or distance d (hinge embedding), label y = -1",
        _pm_dissimilar,
    ),
    "lm_head": (
        (-8.0, 8.0),
        "student logit of entry 0 (others 0; CE target 0, teacher logits [2, 0, 0])",
        _lm_head,
    ),
}

# per-loss plot recipes; a loss not listed falls back on its family's default
SPECS: dict[str, PlotSpec] = {
    "binary_cross_entropy": PlotSpec("binary", "pos_weight", [None]),
    "balanced_cross_entropy": PlotSpec("binary", "alpha", [0.25, 0.5, 0.75]),
    "sigmoid_focal_loss": PlotSpec("binary", "gamma", [0.0, 0.5, 1.0, 2.0, 5.0]),
    "quality_focal_loss": PlotSpec("binary", "beta", [0.0, 1.0, 2.0, 3.0], {"_target": 0.8}),
    "varifocal_loss": PlotSpec("binary", "gamma", [0.0, 1.0, 2.0], {"_target": 0.0}),
    "cross_entropy": PlotSpec("multiclass", "label_smoothing", [0.0, 0.1, 0.3]),
    "softmax_focal_loss": PlotSpec("multiclass", "gamma", [0.0, 0.5, 1.0, 2.0, 5.0]),
    "multiclass_hinge_loss": PlotSpec("multiclass", "variant", ["crammer_singer", "weston_watkins"]),
    "brier_score": PlotSpec("multiclass"),
    "asymmetric_loss": PlotSpec("binary", "gamma_neg", [0.0, 1.0, 4.0], {"_target": 0.0}),
    "poly_loss": PlotSpec("multiclass", "epsilon", [-1.0, 0.0, 1.0, 2.0]),
    "balanced_softmax_loss": PlotSpec("long_tail", "class_counts", [[1, 1, 1], [1, 10, 100], [100, 10, 1]]),
    "logit_adjusted_cross_entropy": PlotSpec("long_tail", "tau", [0.0, 0.5, 1.0, 2.0]),
    "ldam_loss": PlotSpec("long_tail", "max_margin", [0.0, 0.5, 1.0], {"scale": 1.0}),
    "seesaw_loss": PlotSpec("long_tail", "class_counts", [[1, 1, 1], [10, 1, 1], [100, 1, 1]]),
    "kl_divergence": PlotSpec("distribution"),
    "entropy": PlotSpec("distribution", "base", [None, 2.0]),
    "distribution_focal_loss": PlotSpec("dfl"),
    "hinge_loss": PlotSpec("margin", "squared", [False, True]),
    "perceptron_loss": PlotSpec("margin"),
    "exponential_loss": PlotSpec("margin"),
    "zero_one_loss": PlotSpec("margin"),
    "ctc_loss": PlotSpec("ctc"),
    "l1_loss": PlotSpec("residual"),
    "mse_loss": PlotSpec("residual"),
    "smooth_l1_loss": PlotSpec("residual", "beta", [0.5, 1.0, 2.0]),
    "huber_loss": PlotSpec("residual", "delta", [0.5, 1.0, 2.0]),
    "quantile_loss": PlotSpec("residual", "quantiles", [0.1, 0.5, 0.9]),
    "log_cosh_loss": PlotSpec("residual"),
    "gaussian_nll_loss": PlotSpec("residual", "full", [False, True]),
    "laplace_nll_loss": PlotSpec("residual"),
    "charbonnier_loss": PlotSpec("residual", "eps", [0.1, 0.5, 1.0]),
    "cauchy_loss": PlotSpec("residual", "scale", [0.5, 1.0, 2.0]),
    "welsch_loss": PlotSpec("residual", "scale", [0.5, 1.0, 2.0]),
    "barron_loss": PlotSpec("residual", "alpha", [2.0, 1.0, 0.0, -2.0, -math.inf]),
    "tweedie_loss": PlotSpec("log_mean", "power", [1.1, 1.5, 1.9]),
    "negative_binomial_nll_loss": PlotSpec("log_mean", "total_count", [0.5, 2.0, 20.0]),
    "student_t_nll_loss": PlotSpec("residual", "df", [1.0, 3.0, 30.0], {"scale": 1.0}),
    "crps_gaussian_loss": PlotSpec("residual", "scale", [0.5, 1.0, 2.0]),
    "crps_ensemble_loss": PlotSpec("ensemble", "fair", [False, True]),
    "mape_loss": PlotSpec("forecast"),
    "smape_loss": PlotSpec("forecast"),
    "mase_loss": PlotSpec("forecast", "seasonality", [1, 2]),
    "gaussian_focal_loss": PlotSpec("binary", "alpha", [0.0, 1.0, 2.0]),
    "balanced_l1_loss": PlotSpec("residual", "beta", [0.5, 1.0, 2.0]),
    "wing_loss": PlotSpec("residual", "epsilon", [0.5, 1.0, 2.0], {"omega": 2.0}),
    "adaptive_wing_loss": PlotSpec("residual", "theta", [0.25, 0.5, 1.0]),
    "ghm_c_loss": PlotSpec("binary", "bins", [1, 10, 30]),
    "oks_loss": PlotSpec("keypoint"),
    "iou_loss": PlotSpec("box_offset", "mode", ["linear", "log", "square"]),
    "alpha_iou_loss": PlotSpec("box_offset", "alpha", [1.0, 2.0, 3.0]),
    "focal_eiou_loss": PlotSpec("box_offset"),
    "tversky_loss": PlotSpec("overlap", "alpha", [0.3, 0.5, 0.7]),
    "focal_tversky_loss": PlotSpec("overlap", "gamma", [0.5, 0.75, 1.0]),
    "dice_loss": PlotSpec("overlap", "squared", [False, True]),
    "multibin_loss": PlotSpec("multibin", "loc_weight", [0.5, 1.0, 2.0]),
    "contrastive_loss": PlotSpec("pair_angle", "margin", [0.5, 1.0, 1.5]),
    "triplet_loss": PlotSpec("pair_angle", "margin", [0.2, 0.5, 1.0]),
    "info_nce_loss": PlotSpec("pair_angle", "temperature", [0.1, 0.5, 1.0]),
    "nt_xent_loss": PlotSpec("pair_angle", "temperature", [0.1, 0.5, 1.0]),
    "supervised_contrastive_loss": PlotSpec("pair_angle", "temperature", [0.1, 0.5, 1.0]),
    "clip_loss": PlotSpec("pair_angle"),
    "distillation_kl_loss": PlotSpec("distill", "temperature", [1.0, 2.0, 4.0]),
    "jsd_loss": PlotSpec("distill", "beta", [0.0, 0.1, 0.5, 0.9, 1.0]),
    "dpo_loss": PlotSpec("dpo", "beta", [0.05, 0.1, 0.5]),
    "simpo_loss": PlotSpec("simpo", "gamma", [0.0, 0.5, 1.0, 2.0]),
    "orpo_loss": PlotSpec("orpo", "beta", [0.1, 0.5, 1.0]),
    "kto_loss": PlotSpec("kto", "beta", [0.05, 0.1, 0.5]),
    "siglip_loss": PlotSpec("pair_angle", "logit_bias", [-10.0, -5.0, 0.0]),
    "cosine_embedding_loss": PlotSpec("pair_angle"),
    "margin_ranking_loss": PlotSpec("pm_dissimilar", "margin", [0.0, 0.5, 1.0]),
    "hinge_embedding_loss": PlotSpec("pm_dissimilar", "margin", [0.5, 1.0, 2.0]),
    "poisson_nll_loss": PlotSpec("residual", "log_input", [True]),
    "center_loss": PlotSpec("pair_angle"),
    "ohem_cross_entropy": PlotSpec("multiclass", "threshold", [0.5, 0.7, 0.9], {"min_kept": 0}),
    "linear_cross_entropy": PlotSpec("lm_head", "softcap", [None, 2.0, 4.0]),
    "linear_distillation_loss": PlotSpec("lm_head", "temperature", [1.0, 2.0, 4.0]),
    "boundary_loss": PlotSpec("contour"),
    "hausdorff_dt_loss": PlotSpec("contour", "alpha", [1.0, 2.0, 3.0]),
    "cldice_loss": PlotSpec("contour", "iterations", [1, 3, 5]),
    "arcface_loss": PlotSpec("class_angle", "margin", [0.0, 0.2, 0.5], {"scale": 8.0}),
    "cosface_loss": PlotSpec("class_angle", "margin", [0.0, 0.2, 0.35], {"scale": 8.0}),
    "sphereface_loss": PlotSpec("class_angle", "margin", [1, 2, 4], {"scale": 4.0}),
    "multi_similarity_loss": PlotSpec("class_angle", "epsilon", [0.0, 0.1, 0.5]),
    "circle_loss": PlotSpec("class_angle", "m", [0.1, 0.25, 0.4], {"gamma": 16.0}),
    "proxy_anchor_loss": PlotSpec("class_angle", "delta", [0.0, 0.1, 0.3], {"alpha": 8.0}),
}
FAMILY_DEFAULT = {
    "boxes": "box_offset",
    "segmentation": "overlap",
    "regression": "residual",
    "robust": "residual",
    "forecasting": "residual",
    "detection": "residual",
    "embedding": "pair_angle",
    "classification": "binary",
    "boundary": "contour",
    "margin_heads": "class_angle",
}


def resolve(name: str) -> tuple[Callable[..., Tensor], PlotSpec]:
    """The functional loss behind a registry name, and its plot recipe."""
    cls = registry.resolve(name, "plot")
    fn: Callable[..., Tensor] = cls.function  # type: ignore[attr-defined]
    spec = SPECS.get(fn.__name__)
    if spec is None:
        family = registry.family(registry.canonical_name(cls))
        if family not in FAMILY_DEFAULT:
            raise ValueError(f"plot: no plot recipe for {name!r} (family {family!r})")
        spec = PlotSpec(FAMILY_DEFAULT[family])
    return fn, spec


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """Parse ``k=v`` pairs; values are read as None/bool/int/float when they look like one."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"plot: --param must look like key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = _literal(v.strip())
    return out


def _literal(v: str) -> Any:
    if v in ("None", "none"):
        return None
    if v in ("True", "true", "False", "false"):
        return v.lower() == "true"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    if "," in v:
        return [_literal(p) for p in v.split(",")]
    return v


def options_of(fn: Callable[..., Tensor]) -> list[str]:
    """The options ``--param`` may set: the function's keyword-only parameters but ``reduction``."""
    params = inspect.signature(fn).parameters
    return [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and k != "reduction"]


def check_params(fn: Callable[..., Tensor], params: dict[str, Any]) -> None:
    """Reject option names ``fn`` does not take, suggesting the closest one."""
    allowed = options_of(fn)
    for key in params:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            hint = f" did you mean {close[0]}?" if close else ""
            raise ValueError(
                f"plot: {fn.__name__} has no option {key!r};{hint} its options: {', '.join(allowed)}"
            )


def curves(
    name: str, params: dict[str, Any] | None = None, points: int = 241, sweep: bool = True
) -> dict[str, Any]:
    """Compute the curves: ``{"name", "panels": [{"kind", "x", "xlabel", "series": [(label, loss, grad)]}]}``.

    ``sweep=False`` draws the defaults only (one curve per panel), as ``--compare`` does.
    """
    fn, spec = resolve(name)
    params = dict(params or {})
    check_params(fn, params)
    kinds = [spec.kind] + (["box_scale"] if spec.kind == "box_offset" else [])
    sweeping = sweep and bool(spec.sweep) and spec.sweep not in params
    sweep_values: Sequence[Any] = spec.values if sweeping else [None]
    panels = []
    for kind in kinds:
        (lo, hi), xlabel, curve = KINDS[kind]
        x = torch.linspace(lo, hi, points, dtype=D)
        if kind in ("overlap", "contour"):
            x = x.clamp(0.005, 0.995)
        series = []
        for value in sweep_values:
            kw = {**spec.fixed, **params}
            label = "default"
            if sweeping and value is not None and spec.sweep:
                kw[spec.sweep] = value
                label = f"{spec.sweep}={value}"
            elif sweeping:
                label = f"{spec.sweep}=default"
            xg = x.clone().requires_grad_(True)
            loss = curve(fn, xg, dict(kw))
            differentiable = loss.requires_grad
            grad = torch.autograd.grad(loss.sum(), xg)[0] if differentiable else torch.zeros_like(x)
            series.append((label, loss.detach(), grad.detach()))
        panels.append({"kind": kind, "x": x, "xlabel": xlabel, "series": series})
    return {"name": fn.__name__, "panels": panels}


def plot_loss(name: str, out: str | Path, params: dict[str, Any] | None = None) -> Path:
    """Plot a loss and its gradient to ``out`` (PNG or SVG by extension) and return the path.

    Args:
        name: any registry name (``"focal"``, ``"sigmoid_focal_loss"``, ``"SigmoidFocalLoss"``).
        out: output file; ``.png`` or ``.svg``.
        params: fixed keyword options (``{"gamma": 1.0}``); a fixed option replaces the default sweep.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"plot: out must end in .png or .svg, got {out.name!r}")
    data = curves(name, params)
    panels = data["panels"]
    fig, axes = plt.subplots(2, len(panels), figsize=(5.2 * len(panels), 6.4), squeeze=False, sharex="col")
    for col, panel in enumerate(panels):
        ax_l, ax_g = axes[0][col], axes[1][col]
        for label, loss, grad in panel["series"]:
            ax_l.plot(panel["x"].numpy(), loss.numpy(), label=label)
            ax_g.plot(panel["x"].numpy(), grad.numpy(), label=label)
        ax_l.set_ylabel("loss")
        ax_g.set_ylabel("d loss / d x")
        ax_g.set_xlabel(panel["xlabel"])
        for ax in (ax_l, ax_g):
            ax.grid(True, alpha=0.3)
            ax.axhline(0.0, color="black", linewidth=0.6)
        if len(panel["series"]) > 1:
            ax_l.legend(fontsize=8)
    fig.suptitle(f"losskit.{data['name']}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def compare_losses(names: Sequence[str], out: str | Path, params: dict[str, Any] | None = None) -> Path:
    """Plot several losses (their defaults, plus ``params`` where a loss takes them) on the same axes.

    Args:
        names: two or more registry names whose curves share an x axis (e.g. ``["mse", "l1", "huber"]``).
        out: output file; ``.png`` or ``.svg``.
        params: options applied to every loss that takes them (``{"delta": 2.0}``).

    Returns:
        The path written.

    Raises:
        ValueError: for fewer than two names, losses plotted against different quantities, or an option
            none of the losses takes.
    """
    out = Path(out)
    if len(names) < 2:
        raise ValueError(f"plot --compare: needs at least two losses, got {list(names)}")
    if out.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"plot: out must end in .png or .svg, got {out.name!r}")
    params = dict(params or {})
    fns = [resolve(n)[0] for n in names]
    for key in params:
        if not any(key in options_of(fn) for fn in fns):
            check_params(fns[0], {key: params[key]})  # raises with a suggestion
    data = [
        curves(n, {k: v for k, v in params.items() if k in options_of(fn)}, sweep=False)
        for n, fn in zip(names, fns)
    ]
    kinds = {d["name"]: d["panels"][0]["xlabel"] for d in data}
    if len({d["panels"][0]["kind"] for d in data}) > 1:
        listing = "; ".join(f"{k} against {v!r}" for k, v in kinds.items())
        raise ValueError(f"plot --compare: these losses are plotted against different quantities ({listing})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_panels = len(data[0]["panels"])
    fig, axes = plt.subplots(2, n_panels, figsize=(5.2 * n_panels, 6.4), squeeze=False, sharex="col")
    for col in range(n_panels):
        ax_l, ax_g = axes[0][col], axes[1][col]
        for d in data:
            panel = d["panels"][col]
            _, loss, grad = panel["series"][0]
            ax_l.plot(panel["x"].numpy(), loss.numpy(), label=d["name"])
            ax_g.plot(panel["x"].numpy(), grad.numpy(), label=d["name"])
        ax_l.set_ylabel("loss")
        ax_g.set_ylabel("d loss / d x")
        ax_g.set_xlabel(data[0]["panels"][col]["xlabel"])
        for ax in (ax_l, ax_g):
            ax.grid(True, alpha=0.3)
            ax.axhline(0.0, color="black", linewidth=0.6)
        ax_l.legend(fontsize=8, loc="best")
    fig.suptitle(" vs ".join(d["name"] for d in data) + (f" ({params})" if params else ""))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
