"""Battery entries for the language-model family: distillation (input = student logits, target = teacher)
and the preference losses (their positional tensors are per-sequence log-probabilities)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import language_model as R

B, T, V = 2, 3, 5
N = 5  # preference pairs


def _logits(rng: np.random.Generator, *shape: int, scale: float = 2.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _labels(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    y = torch.as_tensor(rng.integers(0, V, size=shape), dtype=torch.long)
    y.view(-1)[::3] = -100  # prompt / padding positions
    return y


def _simplex(rng: np.random.Generator, *shape: int, axis: int = -1) -> torch.Tensor:
    a = rng.gamma(1.0, size=shape) + 1e-3
    return t64(a / a.sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------------------------------
# distillation: distillation_kl_loss and jsd_loss


def _kd_samples() -> list[Sample]:
    rng = rng_for("distillation_kl")
    s, t = _logits(rng, B, T, V), _logits(rng, B, T, V)
    y = _labels(rng, B, T)
    w = t64(rng.uniform(0.2, 2.0, size=(B, T)))
    return [
        Sample((s, t), {}, "forward"),
        Sample((s, t), {"direction": "reverse"}, "reverse", grad=False),
        Sample((s, t), {"temperature": 2.0}, "temperature-2", grad=False),
        Sample((s, t), {"temperature": 0.5, "direction": "reverse"}, "reverse-temperature-0.5"),
        Sample((s, t), {"labels": y}, "ignore-index", plain=False, grad=False),
        Sample(
            (s, t),
            {"labels": y.masked_fill(y == -100, 7), "ignore_index": 7},
            "ignore-7",
            plain=False,
            grad=False,
        ),
        Sample((s, t), {"labels": y, "weight": w}, "labels-weight", plain=False),
        Sample((s[0], t[0]), {"temperature": 3.0}, "2d", grad=False),
        Sample((s.transpose(1, 2), t.transpose(1, 2)), {"dim": 1}, "vocab-dim-1", grad=False),
    ]


def _jsd_samples() -> list[Sample]:
    rng = rng_for("jsd")
    s, t = _logits(rng, B, T, V), _logits(rng, B, T, V)
    q, p = _simplex(rng, B * T, V), _simplex(rng, B * T, V)
    y = _labels(rng, B, T)
    maps_q, maps_p = _simplex(rng, B, 3, 4, 2, axis=1), _simplex(rng, B, 3, 4, 2, axis=1)
    return [
        Sample((s, t), {}, "beta-0.5"),
        Sample((s, t), {"beta": 0.1}, "beta-0.1", grad=False),
        Sample((s, t), {"beta": 0.9, "temperature": 2.0}, "beta-0.9-temperature", grad=False),
        Sample((s, t), {"beta": 0.0}, "beta-0-forward-kl"),
        Sample((s, t), {"beta": 1.0}, "beta-1-reverse-kl"),
        Sample((q, p), {"input_type": "probs"}, "probs"),
        Sample((q.log(), p.log()), {"input_type": "log_probs", "beta": 0.3}, "log-probs", grad=False),
        Sample((s[0], p[:T]), {"target_type": "probs", "beta": 0.7}, "logits-vs-probs"),
        Sample((s, t), {"labels": y}, "ignore-index", plain=False, grad=False),
        Sample(
            (s, t), {"labels": y, "weight": t64(rng.uniform(0.2, 2.0, size=(B, T)))}, "weight", plain=False
        ),
        Sample((maps_q, maps_p), {"input_type": "probs", "dim": 1}, "class-maps-dim-1", grad=False),
    ]


def _dist_extremes(kind: str) -> list[Sample]:
    big = t64([[[1e4, -1e4, 0.0, 5.0, -3.0], [-1e4, 1e4, 1e4, -3.0, 0.0]]])
    other = t64([[[-1e4, 1e4, 0.0, 0.0, 1e4], [1e4, -1e4, 0.0, 2.0, 1.0]]])
    all_ignored = torch.full((1, 2), -100)
    out = [
        Sample((big, other), {}, "saturated"),
        Sample((big, big), {}, "saturated-equal"),
        Sample((big, other), {"labels": all_ignored}, "all-ignored"),
        Sample((big[:, :1], other[:, :1]), {}, "batch-of-one"),
    ]
    if kind == "kd":
        out += [Sample((big, other), {"direction": "reverse", "temperature": 0.25}, "saturated-reverse-cold")]
    else:
        onehot = t64([[[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]]])
        out += [Sample((big, other), {"beta": b}, f"saturated-beta-{b}") for b in (0.0, 0.1, 0.9, 1.0)]
        out += [Sample((onehot, onehot.flip(-1)), {"input_type": "probs"}, "disjoint-one-hot-probs")]
    return out


def _kd_errors() -> list[ErrorCase]:
    fn = "distillation_kl_loss"
    s, t = torch.randn(B, T, V), torch.randn(B, T, V)
    return [
        ErrorCase(
            (s, t[..., :-1]),
            {},
            ValueError,
            rf"^{fn}: teacher_logits must have the vocabulary size of student_logits, V = 5 on dim -1, got 4",
            "vocab-mismatch",
        ),
        ErrorCase((s, t[:1]), {}, ValueError, rf"^{fn}: teacher_logits must have shape \(2, 3, 5\)", "shape"),
        ErrorCase(
            (s, t), {"temperature": 0.0}, ValueError, rf"^{fn}: temperature must be a positive finite", "t0"
        ),
        ErrorCase(
            (s, t), {"temperature": -2.0}, ValueError, rf"^{fn}: temperature must be a positive", "t-neg"
        ),
        ErrorCase((s, t), {"temperature": "2"}, TypeError, rf"^{fn}: temperature must be a number", "t-str"),
        ErrorCase(
            (s, t), {"direction": "both"}, ValueError, rf"^{fn}: direction must be one of", "direction"
        ),
        ErrorCase(
            (s, t),
            {"labels": torch.zeros(B, T)},
            TypeError,
            rf"^{fn}: labels must be an integer tensor",
            "float-labels",
        ),
        ErrorCase(
            (s, t),
            {"labels": torch.zeros(B, T, 1, dtype=torch.long)},
            ValueError,
            rf"^{fn}: labels must have shape \(2, 3\)",
            "labels-shape",
        ),
        ErrorCase((s, t), {"weight": torch.ones(B, T, V)}, ValueError, rf"^{fn}: weight must have", "weight"),
        ErrorCase(
            (s[0, 0], t[0, 0]), {}, ValueError, rf"^{fn}: student_logits must have shape \(N, V\)", "1d"
        ),
        ErrorCase(
            (s.long(), t), {}, TypeError, rf"^{fn}: student_logits must be a floating-point", "int-logits"
        ),
        ErrorCase(
            (s.masked_fill(s > 1, float("nan")), t),
            {},
            ValueError,
            rf"^{fn}: student_logits contains NaN",
            "nan",
        ),
        ErrorCase(
            (s, t), {"normalizer": 0.0}, ValueError, rf"^{fn}: normalizer must be in \(0, inf\)", "normalizer"
        ),
    ]


def _planted(x: torch.Tensor, value: float) -> torch.Tensor:
    """A copy of ``x`` with its first entry set to ``value``."""
    y = x.clone()
    y.view(-1)[0] = value
    return y


def _jsd_errors() -> list[ErrorCase]:
    fn = "jsd_loss"
    s, t = torch.randn(B, T, V), torch.randn(B, T, V)
    p = torch.softmax(t, -1)
    return [
        ErrorCase(
            (s, t[..., :3]), {}, ValueError, rf"^{fn}: target must have the vocabulary size of input", "vocab"
        ),
        ErrorCase((s, t), {"beta": 1.5}, ValueError, rf"^{fn}: beta must be in \[0, 1\], got 1.5", "beta"),
        ErrorCase((s, t), {"beta": -0.1}, ValueError, rf"^{fn}: beta must be in \[0, 1\]", "beta-neg"),
        ErrorCase(
            (p, p),
            {"input_type": "probs", "temperature": 2.0},
            ValueError,
            rf"^{fn}: temperature applies to logits only",
            "temperature-probs",
        ),
        ErrorCase((s, t), {"temperature": 0.0}, ValueError, rf"^{fn}: temperature must be a positive", "t0"),
        ErrorCase(
            (s, t), {"input_type": "logit"}, ValueError, rf"^{fn}: input_type must be one of", "input_type"
        ),
        ErrorCase(
            (s, t), {"target_type": "prob"}, ValueError, rf"^{fn}: target_type must be one of", "target_type"
        ),
        ErrorCase(
            (p * 3, p), {"input_type": "probs"}, ValueError, rf"^{fn}: input must hold probabilities", "probs"
        ),
        ErrorCase(
            (s, p),
            {"target_type": "log_probs"},
            ValueError,
            rf"^{fn}: target must hold log-probabilities",
            "log-probs",
        ),
        ErrorCase((s, t), {"dim": 3}, ValueError, rf"^{fn}: dim must index a dimension", "dim"),
        ErrorCase((s, _planted(t, float("inf"))), {}, ValueError, rf"^{fn}: target contains inf", "inf"),
    ]


def _dist_random(rng: np.random.Generator, scale: float) -> Sample:
    b, t, v = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(2, 7))
    return Sample((_logits(rng, b, t, v, scale=scale), _logits(rng, b, t, v, scale=scale)), {})


def _jsd_random(rng: np.random.Generator, scale: float) -> Sample:
    s = _dist_random(rng, scale)
    return Sample(s.args, {"beta": float(rng.choice([0.0, 0.2, 0.5, 0.8, 1.0]))})


def _dist_empty() -> Sample:
    return Sample((torch.zeros(0, V, dtype=torch.float64), torch.zeros(0, V, dtype=torch.float64)), {})


# ---------------------------------------------------------------------------------------------------
# preference losses


def _logps(rng: np.random.Generator, *shape: int, scale: float = 20.0) -> torch.Tensor:
    return t64(-rng.uniform(0.5, 1.0, size=shape) * scale)


def _dpo_samples() -> list[Sample]:
    rng = rng_for("dpo")
    pc, pr, rc, rr = (_logps(rng, N) for _ in range(4))
    args = (pc, pr, rc, rr)
    w = t64(rng.uniform(0.2, 2.0, size=N))
    return [
        Sample(args, {}, "sigmoid"),
        Sample(args, {"beta": 0.5}, "sigmoid-beta-0.5"),
        Sample(args, {"label_smoothing": 0.1}, "cdpo-0.1"),
        Sample(args, {"label_smoothing": 0.5}, "cdpo-0.5"),
        Sample(args, {"loss_type": "hinge", "beta": 0.05}, "hinge"),
        Sample(args, {"loss_type": "ipo", "beta": 0.1}, "ipo"),
        Sample(args, {"loss_type": "ipo", "beta": 2.0}, "ipo-beta-2"),
        Sample(args, {"weight": w}, "weight", plain=False),
        Sample(tuple(a[:1] for a in args), {}, "one-pair"),
    ]


def _dpo_extremes() -> list[Sample]:
    # log-ratios of ±1e4: chosen far above / below the reference
    pc, pr = t64([0.0, -1e4, -1e4]), t64([-1e4, 0.0, -1e4])
    rc, rr = t64([-1e4, 0.0, 0.0]), t64([0.0, -1e4, 0.0])
    out = [
        Sample((pc, pr, rc, rr), {"loss_type": lt}, f"log-ratio-1e4-{lt}")
        for lt in ("sigmoid", "hinge", "ipo")
    ]
    out.append(Sample((pc, pr, rc, rr), {"label_smoothing": 0.2, "beta": 10.0}, "cdpo-beta-10"))
    return out


def _pair_errors(fn: str, f_args: int) -> list[ErrorCase]:
    x = -torch.rand(4) * 10
    base = tuple(x.clone() for _ in range(f_args))
    first = "policy_chosen_logps"
    second = "policy_rejected_logps"
    bad_shape = (base[0], x[:, None], *base[2:])
    nan = (x.masked_fill(x < -5, float("nan")), *base[1:])
    return [
        ErrorCase(
            bad_shape,
            {},
            ValueError,
            rf"^{fn}: {second} must have shape \(4,\) \(the shape of {first}\), "
            r"got \(4, 1\)",
            "shape",
        ),
        ErrorCase((x.long(), *base[1:]), {}, TypeError, rf"^{fn}: {first} must be a floating-point", "int"),
        ErrorCase(base, {"beta": 0.0}, ValueError, rf"^{fn}: beta must be in \(0, inf\)", "beta-0"),
        ErrorCase(base, {"weight": torch.ones(3)}, ValueError, rf"^{fn}: weight must have", "weight"),
        ErrorCase(nan, {}, ValueError, rf"^{fn}: {first} contains NaN", "nan"),
        ErrorCase(base, {"return_rewards": 1}, TypeError, rf"^{fn}: return_rewards must be a bool", "flag"),
    ]


def _dpo_errors() -> list[ErrorCase]:
    fn = "dpo_loss"
    x = -torch.rand(4) * 10
    args = (x, x, x, x)
    return [
        *_pair_errors(fn, 4),
        ErrorCase(
            args, {"loss_type": "robust"}, ValueError, rf"^{fn}: loss_type must be one of", "loss_type"
        ),
        ErrorCase(
            args,
            {"label_smoothing": 0.6},
            ValueError,
            rf"^{fn}: label_smoothing must be in \[0, 0.5\]",
            "smoothing",
        ),
        ErrorCase(
            args,
            {"loss_type": "ipo", "label_smoothing": 0.1},
            ValueError,
            rf"^{fn}: label_smoothing applies to loss_type='sigmoid' only",
            "smoothing-ipo",
        ),
        ErrorCase(
            (x, x, x, x[:3]),
            {},
            ValueError,
            rf"^{fn}: reference_rejected_logps must have shape \(4,\)",
            "ref-shape",
        ),
    ]


def _dpo_random(rng: np.random.Generator, scale: float) -> Sample:
    n = int(rng.integers(1, 8))
    args = tuple(_logps(rng, n, scale=scale) for _ in range(4))
    lt = str(rng.choice(["sigmoid", "hinge", "ipo"]))
    return Sample(args, {"loss_type": lt, "beta": float(rng.choice([0.01, 0.1, 1.0]))})


def _simpo_samples() -> list[Sample]:
    rng = rng_for("simpo")
    c, r = _logps(rng, N, scale=2.0), _logps(rng, N, scale=2.0)
    return [
        Sample((c, r), {}, "default"),
        Sample((c, r), {"beta": 2.5, "gamma": 0.3}, "beta-2.5-gamma-0.3"),
        Sample((c, r), {"gamma": 0.0}, "no-margin"),
        Sample((c, r), {"label_smoothing": 0.2}, "smoothing"),
        Sample((c, r), {"beta": 0.1, "gamma": 0.5}, "trl-defaults"),
        Sample((c, r), {"weight": t64(rng.uniform(0.2, 2.0, size=N))}, "weight", plain=False),
    ]


def _simpo_errors() -> list[ErrorCase]:
    fn = "simpo_loss"
    x = -torch.rand(4)
    return [
        *_pair_errors(fn, 2),
        ErrorCase((x, x), {"gamma": -1.0}, ValueError, rf"^{fn}: gamma must be in \[0, inf\)", "gamma"),
        ErrorCase(
            (x, x), {"label_smoothing": 1.0}, ValueError, rf"^{fn}: label_smoothing must be in", "smoothing"
        ),
    ]


def _orpo_samples() -> list[Sample]:
    rng = rng_for("orpo")
    c, r = _logps(rng, N, scale=2.0), _logps(rng, N, scale=2.0)
    return [
        Sample((c, r), {}, "default"),
        Sample((c, r), {"beta": 0.5}, "lambda-0.5"),
        Sample((c, r), {"chosen_nll": t64(rng.uniform(0.5, 2.0, size=N))}, "per-pair-nll"),
        Sample((c, r), {"chosen_nll": t64(1.25)}, "batch-nll-0d"),
        Sample((t64([-1e-3, -0.05, -3.0]), t64([-2e-3, -4.0, -1e-4])), {}, "near-certain"),
        Sample((c, r), {"weight": t64(rng.uniform(0.2, 2.0, size=N))}, "weight", plain=False),
    ]


def _orpo_errors() -> list[ErrorCase]:
    fn = "orpo_loss"
    x = -torch.rand(4)
    return [
        *_pair_errors(fn, 2),
        ErrorCase(
            (x + 2, x), {}, ValueError, rf"^{fn}: policy_chosen_logps must hold log-probabilities", "pos"
        ),
        ErrorCase(
            (x, x + 2), {}, ValueError, rf"^{fn}: policy_rejected_logps must hold log-probabilities", "pos-r"
        ),
        ErrorCase(
            (x, x),
            {"chosen_nll": torch.ones(4, 1)},
            ValueError,
            rf"^{fn}: chosen_nll must have shape \(4,\)",
            "nll-shape",
        ),
    ]


def _orpo_extremes() -> list[Sample]:
    return [
        Sample((t64([0.0, -1e4, -1e-12]), t64([-1e4, 0.0, -1e-12])), {}, "certain-and-impossible"),
        Sample((t64([-1e4, -1e4]), t64([-1e4, -1e4])), {"beta": 10.0}, "both-impossible"),
    ]


def _kto_samples() -> list[Sample]:
    rng = rng_for("kto")
    p, r = _logps(rng, N), _logps(rng, N)
    d = torch.tensor([True, False, True, True, False])
    pk, rk = _logps(rng, 4), _logps(rng, 4)
    shift = t64(rng.uniform(1.0, 2.0, size=4))
    return [
        Sample((p, r, d), {}, "no-kl"),
        Sample((p, r, d), {"policy_kl_logps": rk + shift, "reference_kl_logps": rk}, "kl-positive"),
        Sample((p, r, d), {"policy_kl_logps": rk - shift, "reference_kl_logps": rk}, "kl-negative-clamped"),
        Sample((p, r, d), {"policy_kl_logps": pk, "reference_kl_logps": rk, "beta": 0.5}, "beta-0.5"),
        Sample((p, r, d), {"desirable_weight": 1.33, "undesirable_weight": 0.75}, "lambdas"),
        Sample((p, r, torch.zeros(N, dtype=torch.bool)), {}, "all-undesirable"),
        Sample((p, r, d), {"weight": t64(rng.uniform(0.2, 2.0, size=N))}, "weight", plain=False),
    ]


def _kto_errors() -> list[ErrorCase]:
    fn = "kto_loss"
    x = -torch.rand(4) * 10
    d = torch.tensor([True, False, True, False])
    return [
        ErrorCase((x, x[:2], d), {}, ValueError, rf"^{fn}: reference_logps must have shape \(4,\)", "shape"),
        ErrorCase((x, x, d.long()), {}, TypeError, rf"^{fn}: desirable must be a bool tensor", "flag-dtype"),
        ErrorCase((x, x, d[:3]), {}, ValueError, rf"^{fn}: desirable must have shape \(4,\)", "flag-shape"),
        ErrorCase(
            (x, x, d),
            {"policy_kl_logps": x},
            ValueError,
            rf"^{fn}: policy_kl_logps and reference_kl_logps go together",
            "one-kl",
        ),
        ErrorCase(
            (x, x, d),
            {"policy_kl_logps": x[:0], "reference_kl_logps": x[:0]},
            ValueError,
            rf"^{fn}: policy_kl_logps must have shape \(m,\) with m >= 1",
            "empty-kl",
        ),
        ErrorCase(
            (x, x, d),
            {"policy_kl_logps": x, "reference_kl_logps": x[:3]},
            ValueError,
            rf"^{fn}: reference_kl_logps must have shape \(4,\)",
            "kl-shape",
        ),
        ErrorCase((x, x, d), {"beta": -1.0}, ValueError, rf"^{fn}: beta must be in \(0, inf\)", "beta"),
        ErrorCase(
            (x, x, d), {"desirable_weight": 0.0}, ValueError, rf"^{fn}: desirable_weight must be in", "lam-d"
        ),
        ErrorCase(
            (x, x, d),
            {"undesirable_weight": -1.0},
            ValueError,
            rf"^{fn}: undesirable_weight must be",
            "lam-u",
        ),
        ErrorCase(
            (x.masked_fill(x < -5, float("inf")), x, d),
            {},
            ValueError,
            rf"^{fn}: policy_logps contains inf",
            "inf",
        ),
    ]


def _kto_extremes() -> list[Sample]:
    p, r = t64([0.0, -1e4, 0.0, -1e4]), t64([-1e4, 0.0, -1e4, 0.0])
    d = torch.tensor([True, True, False, False])
    return [
        Sample((p, r, d), {}, "log-ratio-1e4"),
        Sample(
            (p, r, d),
            {"policy_kl_logps": t64([0.0]), "reference_kl_logps": t64([-1e4]), "beta": 1.0},
            "kl-1e4",
        ),
    ]


def _kto_random(rng: np.random.Generator, scale: float) -> Sample:
    n = int(rng.integers(1, 8))
    d = torch.as_tensor(rng.integers(0, 2, size=n).astype(bool))
    return Sample(
        (_logps(rng, n, scale=scale), _logps(rng, n, scale=scale), d),
        {"policy_kl_logps": _logps(rng, 3, scale=scale), "reference_kl_logps": _logps(rng, 3, scale=scale)},
    )


def _two(rng: np.random.Generator, scale: float) -> Sample:
    n = int(rng.integers(1, 8))
    return Sample((_logps(rng, n, scale=scale), _logps(rng, n, scale=scale)), {})


def _empty(k: int) -> Callable[[], Sample]:
    return lambda: Sample(tuple(torch.zeros(0, dtype=torch.float64) for _ in range(k)), {})


ENTRIES = [
    LossEntry(
        "distillation_kl_loss",
        LF.distillation_kl_loss,
        losskit.DistillationKLLoss,
        R.distillation_kl_loss,
        _kd_samples,
        errors=_kd_errors,
        extremes=lambda: _dist_extremes("kd"),
        random=_dist_random,
        empty=_dist_empty,
        grad_args=(0, 1),
    ),
    LossEntry(
        "jsd_loss",
        LF.jsd_loss,
        losskit.JSDLoss,
        R.jsd_loss,
        _jsd_samples,
        errors=_jsd_errors,
        extremes=lambda: _dist_extremes("jsd"),
        random=_jsd_random,
        empty=_dist_empty,
        grad_args=(0, 1),
    ),
    LossEntry(
        "dpo_loss",
        LF.dpo_loss,
        losskit.DPOLoss,
        R.dpo_loss,
        _dpo_samples,
        errors=_dpo_errors,
        extremes=_dpo_extremes,
        random=_dpo_random,
        empty=_empty(4),
        grad_args=(0, 1, 2, 3),
    ),
    LossEntry(
        "simpo_loss",
        LF.simpo_loss,
        losskit.SimPOLoss,
        R.simpo_loss,
        _simpo_samples,
        errors=_simpo_errors,
        extremes=lambda: [Sample((t64([0.0, -1e4]), t64([-1e4, 0.0])), {"beta": 10.0}, "avg-logp-1e4")],
        random=_two,
        empty=_empty(2),
        grad_args=(0, 1),
    ),
    LossEntry(
        "orpo_loss",
        LF.orpo_loss,
        losskit.ORPOLoss,
        R.orpo_loss,
        _orpo_samples,
        errors=_orpo_errors,
        extremes=_orpo_extremes,
        random=_two,
        empty=_empty(2),
        grad_args=(0, 1),
    ),
    LossEntry(
        "kto_loss",
        LF.kto_loss,
        losskit.KTOLoss,
        R.kto_loss,
        _kto_samples,
        errors=_kto_errors,
        extremes=_kto_extremes,
        random=_kto_random,
        empty=lambda: Sample(
            (
                torch.zeros(0, dtype=torch.float64),
                torch.zeros(0, dtype=torch.float64),
                torch.zeros(0, dtype=torch.bool),
            ),
            {},
        ),
        grad_args=(0, 1),
        # the KL reference point z_0 is detached, as in the paper and TRL (see kto_loss's docstring)
        nograd_kwargs=("policy_kl_logps", "reference_kl_logps"),
    ),
]
