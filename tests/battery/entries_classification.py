"""Battery entries for the classification family (SPEC §1)."""

from __future__ import annotations

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import classification as R

N, C = 6, 4


def _logits(rng: np.random.Generator, *shape: int, scale: float = 2.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _labels(rng: np.random.Generator, *shape: int, classes: int = C) -> torch.Tensor:
    return torch.as_tensor(rng.integers(0, classes, size=shape), dtype=torch.long)


def _simplex(rng: np.random.Generator, *shape: int, axis: int = 1) -> torch.Tensor:
    a = rng.gamma(1.0, size=shape)
    return t64(a / a.sum(axis=axis, keepdims=True))


def _probs(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return t64(rng.uniform(0.02, 0.98, size=shape))


# ---------------------------------------------------------------------------------------------------
# multi-class: cross_entropy and softmax_focal_loss share their samples


def _multiclass_samples(name: str, focal: bool) -> list[Sample]:
    rng = rng_for(name)
    z, y = _logits(rng, N, C), _labels(rng, N)
    w = t64(rng.uniform(0.2, 2.0, size=C))
    y_ign = y.clone()
    y_ign[[1, 4]] = -100
    q = _simplex(rng, N, C)
    z4, y4 = _logits(rng, 2, C, 3, 2), _labels(rng, 2, 3, 2)
    p = _simplex(rng, N, C)
    mask = torch.tensor([True, False, True, True, False, True])
    extra = {"gamma": 2.0} if focal else {}
    out = [
        Sample((z, y), dict(extra), "index"),
        Sample((z, y), {**extra, "weight": w}, "class-weight", plain=False),
        Sample((z, y_ign), dict(extra), "ignore", plain=False),
        Sample(
            (z, y_ign), {**extra, "weight": w, "label_smoothing": 0.1}, "weight-smooth-ignore", plain=False
        ),
        Sample((z, y), {**extra, "label_smoothing": 0.2}, "smoothing"),
        Sample((z, q), dict(extra), "prob-target", plain=False),
        Sample((z, q), {**extra, "weight": w, "label_smoothing": 0.1}, "prob-weight-smooth", plain=False),
        Sample((z, q), {**extra, "mask": mask}, "prob-mask", plain=False),
        Sample((z4, y4), dict(extra), "spatial"),
        Sample((z.t().contiguous(), y), {**extra, "dim": 0}, "dim0"),
        Sample((p, y), {**extra, "input_type": "probs"}, "probs"),
        Sample((p.log(), y), {**extra, "input_type": "log_probs"}, "log-probs"),
        Sample((z[:1], y[:1]), dict(extra), "batch-of-one"),
    ]
    if focal:
        out += [
            Sample((z, y), {"gamma": 0.5, "alpha": 0.25}, "gamma-half-alpha"),
            Sample((z, y), {"gamma": 1.0, "alpha": w}, "alpha-vector"),
            Sample((z, q), {"gamma": 3.0, "alpha": w, "weight": w}, "prob-alpha-weight", plain=False),
        ]
    else:
        out += [Sample((z, y), {"base": 2.0}, "bits")]
    return out


def _multiclass_extremes(focal: bool) -> list[Sample]:
    big = t64([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 1e4, -3.0], [1000.0, 1001.0, 1002.0, 0.0]])
    y = torch.tensor([0, 0, 2])
    gammas = (0.0, 0.25, 0.5, 2.0) if focal else (None,)
    out = []
    for g in gammas:
        kw = {} if g is None else {"gamma": g}
        out += [
            Sample((big, y), kw, f"saturated-gamma{g}"),
            Sample((big, torch.full((3,), -100)), kw, f"all-ignored-gamma{g}"),
            Sample(
                (t64([[0.0, 1.0, 0.0, 0.0]] * 3), y), {**kw, "input_type": "probs"}, f"probs-0-1-gamma{g}"
            ),
        ]
    return out


def _multiclass_errors(fn: str, f) -> list[ErrorCase]:
    z, y = torch.randn(N, C), torch.randint(0, C, (N,))
    return [
        ErrorCase((z, y[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "target-N1"),
        ErrorCase(
            (z, torch.full((N,), C)), {}, ValueError, rf"^{fn}: target holds class index 4", "label-hi"
        ),
        ErrorCase(
            (z, -torch.ones(N, dtype=torch.long) * 2),
            {},
            ValueError,
            rf"^{fn}: target holds class index -2",
            "label-lo",
        ),
        ErrorCase(
            (z, torch.rand(N, C) * 2), {}, ValueError, rf"^{fn}: target must hold probabilities", "soft>1"
        ),
        ErrorCase(
            (z, torch.rand(N, C + 1)),
            {},
            ValueError,
            rf"^{fn}: target must have shape \(6, 4\)",
            "soft-shape",
        ),
        ErrorCase((z, y.float()), {}, ValueError, rf"^{fn}: target must have shape \(6, 4\)", "float-index"),
        ErrorCase(
            (z.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase(
            (z[0], y[0]), {}, ValueError, rf"^{fn}: input must have shape \(N, C, \.\.\.\)", "1d-input"
        ),
        ErrorCase(
            (z, y), {"input_type": "prob"}, ValueError, rf"^{fn}: input_type must be one of", "input_type"
        ),
        ErrorCase(
            (z, y),
            {"weight": torch.ones(C + 1)},
            ValueError,
            rf"^{fn}: weight must have shape \(4,\)",
            "weight",
        ),
        ErrorCase(
            (z, y), {"label_smoothing": 1.5}, ValueError, rf"^{fn}: label_smoothing must be in \[0, 1\]", "ls"
        ),
        ErrorCase(
            (z * 2, y), {"input_type": "probs"}, ValueError, rf"^{fn}: input must hold probabilities", "probs"
        ),
        ErrorCase(
            (z.abs(), y),
            {"input_type": "log_probs"},
            ValueError,
            rf"^{fn}: input must hold log-probabilities",
            "log-probs",
        ),
        ErrorCase(
            (z.masked_fill(z > 0.5, float("nan")), y), {}, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
        ErrorCase((z, "1"), {}, TypeError, rf"^{fn}: target must be a torch.Tensor", "str-target"),
        ErrorCase((z, y), {"dim": 3}, ValueError, rf"^{fn}: dim must index a dimension", "dim"),
    ]


def _multiclass_random(focal: bool):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n, c = int(rng.integers(1, 9)), int(rng.integers(2, 7))
        z = t64(rng.normal(size=(n, c)) * scale)
        y = torch.as_tensor(rng.integers(0, c, size=n))
        kw = {"gamma": float(rng.choice([0.0, 0.3, 1.0, 2.0, 5.0]))} if focal else {}
        kw["label_smoothing"] = float(rng.choice([0.0, 0.1]))
        return Sample((z, y), kw)

    return make


def _multiclass_empty() -> Sample:
    return Sample((torch.zeros(0, C, dtype=torch.float64), torch.zeros(0, dtype=torch.long)), {})


# ---------------------------------------------------------------------------------------------------
# binary / elementwise


def _binary_samples(name: str, extra_variants: list[dict], quality: bool = False) -> list[Sample]:
    rng = rng_for(name)
    x = _logits(rng, N, 3)
    y = t64(rng.integers(0, 2, size=(N, 3)))
    ys = t64(rng.uniform(0, 1, size=(N, 3)))
    if quality:  # quality-style targets: IoU in (0, 1] for positives, 0 for negatives
        y = t64(np.where(rng.uniform(size=(N, 3)) < 0.5, 0.0, rng.uniform(0.1, 1.0, size=(N, 3))))
    w = t64(rng.uniform(0.1, 2.0, size=(N, 3)))
    wc = t64(rng.uniform(0.1, 2.0, size=(3,)))
    p = _probs(rng, N, 3)
    out = [
        Sample((x, y), {}, "hard"),
        Sample((x, ys), {}, "soft"),
        Sample((x, y), {"weight": w}, "weight", plain=False),
        Sample((x, y), {"weight": wc}, "class-weight", plain=False),
        Sample((x[:1, :1], y[:1, :1]), {}, "batch-of-one"),
        Sample((_logits(rng, 2, 3, 4, 5), t64(rng.integers(0, 2, size=(2, 3, 4, 5)))), {}, "4d"),
    ]
    for kw in extra_variants:
        variant = dict(kw)
        if variant.get("input_type") == "probs":
            out.append(Sample((p, y), variant, "probs"))
        elif variant.get("input_type") == "log_probs":
            out.append(Sample((p.log(), y), variant, "log-probs"))
        else:
            out.append(Sample((x, ys), variant, "-".join(f"{k}{v}" for k, v in variant.items())))
    return out


def _binary_extremes(kw_list: list[dict]) -> list[Sample]:
    x = t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 30.0], [88.0, -88.0, -30.0]])
    y = t64([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    y_wrong = 1.0 - y
    out = []
    for kw in kw_list:
        tag = "-".join(f"{k}{v}" for k, v in kw.items())
        out += [Sample((x, y), kw, f"right-{tag}"), Sample((x, y_wrong), kw, f"wrong-{tag}")]
    probs = t64([[0.0, 1.0, 0.5]])
    out.append(Sample((probs, t64([[0.0, 1.0, 1.0]])), {"input_type": "probs"}, "probs-0-1"))
    out.append(Sample((probs, t64([[1.0, 0.0, 1.0]])), {"input_type": "probs"}, "probs-0-1-wrong"))
    return out


def _binary_errors(fn: str, probs_ok: bool = True) -> list[ErrorCase]:
    x, y = torch.randn(N), torch.randint(0, 2, (N,)).float()
    out = [
        ErrorCase((x[:, None], y), {}, ValueError, rf"^{fn}: target must have shape \(6, 1\)", "N1-vs-N"),
        ErrorCase(
            (x, y * 3), {}, ValueError, rf"^{fn}: target must hold probabilities in \[0, 1\]", "target>1"
        ),
        ErrorCase(
            (x.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase(
            (x, y),
            {"weight": torch.ones(N + 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase(
            (x, y),
            {"weight": torch.ones(2, N)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight-big",
        ),
        ErrorCase(
            (x.masked_fill(x > 0, float("nan")), y), {}, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
        ErrorCase((x, y), {"reduction": "avg"}, ValueError, rf"^{fn}: reduction must be one of", "reduction"),
    ]
    if probs_ok:
        out += [
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
        ]
    return out


def _binary_random(kw_fn):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        shape = (int(rng.integers(1, 9)), int(rng.integers(1, 4)))
        x = t64(rng.normal(size=shape) * scale)
        y = t64(rng.integers(0, 2, size=shape)) if rng.uniform() < 0.5 else t64(rng.uniform(size=shape))
        return Sample((x, y), kw_fn(rng))

    return make


def _binary_empty() -> Sample:
    return Sample((torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64)), {})


def _bce_samples() -> list[Sample]:
    out = _binary_samples("bce", [{"input_type": "probs"}, {"input_type": "log_probs"}])
    rng = rng_for("bce-pw")
    x, y = _logits(rng, N, 3), t64(rng.integers(0, 2, size=(N, 3)))
    out.append(Sample((x, y), {"pos_weight": t64([0.5, 2.0, 3.0])}, "pos-weight"))
    out.append(
        Sample(
            (_probs(rng, N, 3), y),
            {"pos_weight": t64([0.5, 2.0, 3.0]), "input_type": "probs"},
            "pos-weight-probs",
        )
    )
    return out


def _focal_samples() -> list[Sample]:
    variants = [
        {"gamma": 0.5},
        {"gamma": 0.0, "alpha": None},
        {"alpha": None, "gamma": 1.0},
        {"alpha": 0.75, "gamma": 3.0},
        {"input_type": "probs"},
        {"input_type": "log_probs"},
    ]
    return _binary_samples("sigmoid_focal", variants)


def _dfl_reference(x, y, *, reduction="mean", weight=None):
    """The SPEC reference takes (N, n+1); leading dimensions are flattened and restored."""
    flat_w = None if weight is None else np.broadcast_to(weight, y.shape).reshape(-1)
    out = R.distribution_focal_loss(
        x.reshape(-1, x.shape[-1]), y.reshape(-1), weight=flat_w, reduction=reduction
    )
    return np.reshape(out, y.shape) if reduction == "none" else out


def _dfl_samples() -> list[Sample]:
    rng = rng_for("dfl")
    z = _logits(rng, N, 8)
    y = t64(rng.uniform(0, 7, size=N))
    y[0], y[1] = 0.0, 7.0  # both ends of the range, 7 = n is moved to n - 1e-3
    w = t64(rng.uniform(0.1, 2, size=N))
    return [
        Sample((z, y), {}, "basic"),
        Sample((z, y), {"weight": w}, "weight", plain=False),
        Sample((_logits(rng, 2, 4, 17), t64(rng.uniform(0, 16, size=(2, 4)))), {}, "3d"),
        Sample((z[:1], y[:1]), {}, "batch-of-one"),
    ]


def _dfl_errors() -> list[ErrorCase]:
    fn = "distribution_focal_loss"
    z, y = torch.randn(N, 5), torch.rand(N) * 4
    return [
        ErrorCase((z, y[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "shape"),
        ErrorCase((z, y + 5), {}, ValueError, rf"^{fn}: target must lie in \[0, 4\]", "range"),
        ErrorCase((z[:, :1], y), {}, ValueError, rf"^{fn}: input needs at least 2 bins", "bins"),
        ErrorCase((z, y.long()), {}, TypeError, rf"^{fn}: target must be a floating-point tensor", "dtype"),
    ]


# ---------------------------------------------------------------------------------------------------
# distributions


def _kl_samples() -> list[Sample]:
    rng = rng_for("kl")
    z, p, q = _logits(rng, N, C), _simplex(rng, N, C), _simplex(rng, N, C)
    p0 = p.clone()
    p0[0, 1] = 0.0
    p0[0] /= p0[0].sum()
    teacher = _logits(rng, N, C)
    return [
        Sample((z, p), {}, "logits-probs"),
        Sample((z, p0), {}, "target-zero"),
        Sample((q, p), {"input_type": "probs"}, "probs-probs"),
        Sample((q.log(), p.log()), {"input_type": "log_probs", "target_type": "log_probs"}, "log-log"),
        Sample((z, teacher), {"target_type": "logits"}, "teacher-logits"),
        Sample((z, p), {"base": 2.0, "weight": t64(rng.uniform(0.1, 2, size=N))}, "bits-weight", plain=False),
        Sample((_logits(rng, 2, C, 3), _simplex(rng, 2, C, 3)), {}, "spatial"),
    ]


def _entropy_samples() -> list[Sample]:
    rng = rng_for("entropy")
    z, p = _logits(rng, N, C), _simplex(rng, N, C)
    p0 = p.clone()
    p0[0] = t64([1.0, 0.0, 0.0, 0.0])
    return [
        Sample((z,), {}, "logits"),
        Sample((p,), {"input_type": "probs"}, "probs"),
        Sample((p0,), {"input_type": "probs"}, "probs-onehot", grad=False),
        Sample((p.log(),), {"input_type": "log_probs", "base": 2.0}, "log-probs-bits"),
        Sample((z,), {"weight": t64(rng.uniform(0.1, 2, size=N))}, "weight", plain=False),
        Sample((_logits(rng, 2, C, 3),), {"dim": 1}, "spatial"),
    ]


def _brier_samples() -> list[Sample]:
    rng = rng_for("brier")
    z, y, p, q = _logits(rng, N, C), _labels(rng, N), _simplex(rng, N, C), _simplex(rng, N, C)
    return [
        Sample((z, y), {}, "logits-index"),
        Sample((p, y), {"input_type": "probs"}, "probs-index"),
        Sample((z, q), {}, "soft-target"),
        Sample((p.log(), y), {"input_type": "log_probs"}, "log-probs"),
        Sample((z, y), {"weight": t64(rng.uniform(0.1, 2, size=N))}, "weight", plain=False),
    ]


def _dist_extremes(entropy_like: bool) -> list[Sample]:
    big = t64([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 1e4, -3.0]])
    onehot = t64([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    if entropy_like:
        return [Sample((big,), {}, "saturated"), Sample((onehot,), {"input_type": "probs"}, "onehot-probs")]
    return [
        Sample((big, onehot), {}, "saturated"),
        Sample((onehot, onehot), {"input_type": "probs"}, "probs-0-1"),
        Sample((big, torch.tensor([0, 3]) if False else onehot), {}, "saturated-wrong"),
    ]


def _dist_errors(fn: str, has_target: bool) -> list[ErrorCase]:
    z = torch.randn(N, C)
    p = torch.softmax(torch.randn(N, C), 1)
    if not has_target:
        return [
            ErrorCase((z[0],), {}, ValueError, rf"^{fn}: input must have shape \(N, C, \.\.\.\)", "1d"),
            ErrorCase(
                (z * 3,),
                {"input_type": "probs"},
                ValueError,
                rf"^{fn}: input must hold probabilities",
                "probs",
            ),
            ErrorCase((z,), {"base": 1.0}, ValueError, rf"^{fn}: base must be positive and not 1", "base"),
            ErrorCase(
                (z.masked_fill(z > 0, float("inf")),), {}, ValueError, rf"^{fn}: input contains", "inf"
            ),
        ]
    return [
        ErrorCase((z, p[:, :2]), {}, ValueError, rf"^{fn}: target must have shape \(6, 4\)", "shape"),
        ErrorCase((z, p * 3), {}, ValueError, rf"^{fn}: target must hold probabilities", "range"),
        ErrorCase(
            (z, p), {"input_type": "logit"}, ValueError, rf"^{fn}: input_type must be one of", "input_type"
        ),
        ErrorCase(
            (z.masked_fill(z > 0, float("nan")), p), {}, ValueError, rf"^{fn}: input contains NaN", "nan"
        ),
    ]


def _dist_random(kind: str):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        n, c = int(rng.integers(1, 8)), int(rng.integers(2, 6))
        z = t64(rng.normal(size=(n, c)) * scale)
        if kind == "entropy":
            return Sample((z,), {})
        if kind == "brier":
            return Sample((z, torch.as_tensor(rng.integers(0, c, size=n))), {})
        return Sample((z, _simplex(rng, n, c)), {})

    return make


# ---------------------------------------------------------------------------------------------------
# margin losses


def _margin_samples(name: str, options: list[dict]) -> list[Sample]:
    rng = rng_for(name)
    f = t64(rng.normal(size=(N, 2)) * 1.5)
    f = torch.where(f.abs() < 0.05, f + 0.2, f)  # keep gradcheck away from kinks
    ypm = torch.as_tensor(rng.choice([-1, 1], size=(N, 2)))
    y01 = (ypm > 0).long()
    out = [
        Sample((f, ypm), {}, "pm1"),
        Sample((f, y01), {}, "01"),
        Sample((f, ypm.double()), {}, "pm1-float"),
        Sample((f, ypm), {"weight": t64(rng.uniform(0.1, 2, size=(N, 2)))}, "weight", plain=False),
    ]
    for kw in options:
        out.append(Sample((f, ypm), kw, "-".join(f"{k}{v}" for k, v in kw.items())))
    return out


def _margin_errors(fn: str) -> list[ErrorCase]:
    f = torch.randn(N)
    return [
        ErrorCase(
            (f, torch.tensor([0, 1, 2, 1, 0, 1])), {}, ValueError, rf"^{fn}: target must hold labels in", "2"
        ),
        ErrorCase((f, torch.tensor([0, 1, -1, 1, 0, 1])), {}, ValueError, rf"^{fn}: target mixes", "mixed"),
        ErrorCase(
            (f[:, None], torch.ones(N)), {}, ValueError, rf"^{fn}: target must have shape \(6, 1\)", "N1"
        ),
        ErrorCase((f.long(), torch.ones(N)), {}, TypeError, rf"^{fn}: input must be a floating-point", "int"),
    ]


def _margin_extremes() -> list[Sample]:
    f = t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 88.0]])
    return [Sample((f, torch.tensor([[1, 1, -1], [1, -1, -1]])), {}, "huge-margins")]


def _margin_random(kw: dict):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        shape = (int(rng.integers(1, 9)),)
        return Sample(
            (t64(rng.normal(size=shape) * scale), torch.as_tensor(rng.choice([-1, 1], size=shape))), dict(kw)
        )

    return make


def _margin_empty() -> Sample:
    return Sample((torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long)), {})


def _mc_hinge_samples() -> list[Sample]:
    rng = rng_for("mc_hinge")
    s = t64(rng.normal(size=(N, C)) * 2)
    y = _labels(rng, N)
    w = t64(rng.uniform(0.1, 2, size=N))
    out = []
    for variant in ("crammer_singer", "weston_watkins"):
        for sq in (False, True):
            out.append(Sample((s, y), {"variant": variant, "squared": sq}, f"{variant}-sq{sq}"))
        out.append(
            Sample((s, y), {"variant": variant, "margin": 0.5, "weight": w}, f"{variant}-w", plain=False)
        )
    return out


def _mc_hinge_errors() -> list[ErrorCase]:
    fn = "multiclass_hinge_loss"
    s, y = torch.randn(N, C), torch.randint(0, C, (N,))
    return [
        ErrorCase((s, y), {"variant": "ovr"}, ValueError, rf"^{fn}: variant must be one of", "variant"),
        ErrorCase((s, y + C), {}, ValueError, rf"^{fn}: target holds class index", "label"),
        ErrorCase((s[0], y[0]), {}, ValueError, rf"^{fn}: input must have shape \(N, C\)", "1d"),
        ErrorCase((s, y[:3]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "N"),
    ]


# ---------------------------------------------------------------------------------------------------
# CTC


def _ctc_case(rng: np.random.Generator, T: int, N_: int, C_: int, lengths: list[int], padded: bool = True):
    logp = torch.log_softmax(t64(rng.normal(size=(T, N_, C_))), dim=-1)
    seqs = []
    for L in lengths:
        seq = rng.integers(1, C_, size=L)
        seqs.append(seq)
    S = max(lengths) if lengths else 0
    if padded:
        tgt = torch.zeros(N_, max(S, 1), dtype=torch.long)
        for i, s in enumerate(seqs):
            tgt[i, : len(s)] = torch.as_tensor(s)
    else:
        tgt = torch.as_tensor(np.concatenate(seqs) if seqs else np.zeros(0), dtype=torch.long)
    il = torch.full((N_,), T, dtype=torch.long)
    il[-1] = T - 1
    return logp, tgt, il, torch.as_tensor(lengths, dtype=torch.long)


def _ctc_samples() -> list[Sample]:
    rng = rng_for("ctc")
    lp, tg, il, tl = _ctc_case(rng, 12, 3, 5, [3, 5, 0])
    lp2, tg2, il2, tl2 = _ctc_case(rng, 10, 2, 4, [2, 4], padded=False)
    logits = t64(rng.normal(size=(12, 3, 5)))
    return [
        # "mean" divides each loss by its target length first (torch's rule), so none.mean() differs.
        # torch's CTC backward is the gradient on the probability simplex (it assumes normalised
        # log-probabilities); gradcheck perturbs log-probs off the simplex, so it runs on the logits sample.
        Sample((lp, tg, il, tl), {}, "padded", plain=False, grad=False),
        Sample((lp2, tg2, il2, tl2), {}, "concatenated", plain=False, grad=False),
        Sample((logits, tg, il, tl), {"input_type": "logits"}, "logits", plain=False),
        Sample(
            (logits.transpose(0, 1).contiguous(), tg, il, tl),
            {"batch_first": True, "input_type": "logits"},
            "batch-first",
            plain=False,
        ),
        Sample(
            (torch.log_softmax(t64(rng.normal(size=(12, 3, 5))), -1), tg, il, tl),
            {"blank": 0},
            "blank0",
            plain=False,
            grad=False,
        ),
    ]


def _ctc_errors() -> list[ErrorCase]:
    fn = "ctc_loss"
    lp = torch.randn(6, 2, 4).log_softmax(-1)
    tg = torch.tensor([[1, 2, 3], [1, 1, 0]])
    return [
        ErrorCase(
            (lp, tg, [6, 6], [3, 2, 1]),
            {},
            ValueError,
            rf"^{fn}: target_lengths must have shape \(2,\)",
            "tl",
        ),
        ErrorCase(
            (lp, tg, [7, 6], [3, 2]), {}, ValueError, rf"^{fn}: input_lengths must lie in \[0, T=6\]", "il"
        ),
        ErrorCase((lp, tg, [6, 6], [4, 2]), {}, ValueError, rf"^{fn}: target_lengths reach 4", "S"),
        ErrorCase(
            (lp, torch.tensor([[1, 0, 3], [1, 1, 0]]), [6, 6], [3, 2]),
            {},
            ValueError,
            rf"^{fn}: target of sample 0 contains the blank",
            "blank",
        ),
        ErrorCase(
            (lp, torch.tensor([[1, 5, 3], [1, 1, 0]]), [6, 6], [3, 2]),
            {},
            ValueError,
            rf"^{fn}: target of sample 0 holds label 5",
            "range",
        ),
        ErrorCase(
            (lp, tg, [2, 6], [3, 2]),
            {},
            ValueError,
            rf"^{fn}: input too short for its labels \(.*sample 0",
            "infeasible",
        ),
        ErrorCase(
            (lp, torch.tensor([1, 2, 3]), [6, 6], [3, 2]),
            {},
            ValueError,
            rf"^{fn}: concatenated target must have sum\(target_lengths\) = 5",
            "concat",
        ),
        ErrorCase(
            (lp[0], tg, [6, 6], [3, 2]), {}, ValueError, rf"^{fn}: input must have shape \(T, N, C\)", "2d"
        ),
        ErrorCase(
            (lp, tg.float(), [6, 6], [3, 2]),
            {},
            TypeError,
            rf"^{fn}: target must be an integer tensor",
            "float",
        ),
        ErrorCase(
            (lp, tg, [6, 6], [3, 2]),
            {"blank": 4},
            ValueError,
            rf"^{fn}: blank must be a class index",
            "blank-idx",
        ),
    ]


def _ctc_extremes() -> list[Sample]:
    lp = torch.log_softmax(t64(np.full((5, 2, 3), -1e4)), -1)
    lp[:, :, 1] = 0.0
    lp = torch.log_softmax(lp * 1e4, -1)
    # logits of ±1e30: torch's backward cancels terms of that size (NaN) unless the log-probabilities are
    # floored; both signs in every frame, so the labelled paths run through probabilities of e^-2e30
    sign = torch.as_tensor(np.random.default_rng(15).choice([-1.0, 1.0], size=(6, 3, 4)))
    huge = sign * 1e30
    tg, il, tl = torch.tensor([[1, 2, 3], [3, 3, 0], [2, 0, 0]]), [6, 6, 5], [3, 2, 1]
    return [
        Sample((lp, torch.tensor([[1, 2], [1, 1]]), [5, 5], [2, 2]), {}, "saturated"),
        Sample(
            (lp, torch.tensor([[1, 2], [1, 1]]), [1, 5], [2, 2]), {"zero_infinity": True}, "infeasible-zeroed"
        ),
        Sample((huge, tg, il, tl), {"input_type": "logits"}, "logits-1e30"),
        Sample((torch.log_softmax(huge, -1), tg, il, tl), {}, "log-probs-from-1e30"),
        Sample(
            (huge.transpose(0, 1).contiguous(), tg, il, tl),
            {"input_type": "logits", "batch_first": True},
            "logits-1e30-batch-first",
        ),
    ]


def _ctc_empty() -> Sample:
    """N = 0: torch raises on the empty tensor; the library rule is 0 with a working backward."""
    empty = torch.zeros(0, dtype=torch.long)
    return Sample(
        (torch.zeros(7, 0, 5, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.long), empty, empty),
        {"input_type": "logits"},
    )


# ---------------------------------------------------------------------------------------------------

_binary_kw = lambda rng: {}  # noqa: E731


ENTRIES = [
    LossEntry(
        "cross_entropy",
        LF.cross_entropy,
        losskit.CrossEntropyLoss,
        R.cross_entropy,
        lambda: _multiclass_samples("ce", focal=False),
        errors=lambda: _multiclass_errors("cross_entropy", LF.cross_entropy),
        extremes=lambda: _multiclass_extremes(False),
        random=_multiclass_random(False),
        empty=_multiclass_empty,
        index_args=(1,),
        # with class-index targets the class weight goes to torch's nll_loss, which (like torch's own
        # cross_entropy) is not differentiable in it and rejects a weight that requires grad
        nograd_kwargs=("weight",),
    ),
    LossEntry(
        "softmax_focal_loss",
        LF.softmax_focal_loss,
        losskit.SoftmaxFocalLoss,
        R.softmax_focal_loss,
        lambda: _multiclass_samples("sfl", focal=True),
        errors=lambda: _multiclass_errors("softmax_focal_loss", LF.softmax_focal_loss),
        extremes=lambda: _multiclass_extremes(True),
        random=_multiclass_random(True),
        empty=_multiclass_empty,
        index_args=(1,),
    ),
    LossEntry(
        "binary_cross_entropy",
        LF.binary_cross_entropy,
        losskit.BinaryCrossEntropyLoss,
        R.binary_cross_entropy,
        _bce_samples,
        errors=lambda: _binary_errors("binary_cross_entropy"),
        extremes=lambda: _binary_extremes([{}]),
        random=_binary_random(_binary_kw),
        empty=_binary_empty,
        # pos_weight goes to torch's binary_cross_entropy_with_logits, which is not differentiable in it
        nograd_kwargs=("pos_weight",),
    ),
    LossEntry(
        "balanced_cross_entropy",
        LF.balanced_cross_entropy,
        losskit.BalancedCrossEntropyLoss,
        R.balanced_cross_entropy,
        lambda: _binary_samples(
            "balanced", [{"alpha": 0.9}, {"input_type": "probs"}, {"input_type": "log_probs"}]
        ),
        errors=lambda: _binary_errors("balanced_cross_entropy"),
        extremes=lambda: _binary_extremes([{}]),
        random=_binary_random(_binary_kw),
        empty=_binary_empty,
    ),
    LossEntry(
        "sigmoid_focal_loss",
        LF.sigmoid_focal_loss,
        losskit.SigmoidFocalLoss,
        R.sigmoid_focal_loss,
        _focal_samples,
        errors=lambda: _binary_errors("sigmoid_focal_loss"),
        extremes=lambda: _binary_extremes([{"gamma": g} for g in (0.0, 0.25, 0.5, 2.0)]),
        random=_binary_random(lambda rng: {"gamma": float(rng.choice([0.0, 0.3, 1.0, 2.0, 5.0]))}),
        empty=_binary_empty,
    ),
    LossEntry(
        "quality_focal_loss",
        LF.quality_focal_loss,
        losskit.QualityFocalLoss,
        R.quality_focal_loss,
        lambda: _binary_samples("qfl", [{"beta": 1.0}, {"beta": 3.0}, {"input_type": "probs"}], quality=True),
        errors=lambda: _binary_errors("quality_focal_loss"),
        extremes=lambda: _binary_extremes([{"beta": b} for b in (0.5, 2.0)]),
        random=_binary_random(lambda rng: {"beta": float(rng.choice([0.5, 1.0, 2.0]))}),
        empty=_binary_empty,
    ),
    LossEntry(
        "varifocal_loss",
        LF.varifocal_loss,
        losskit.VarifocalLoss,
        R.varifocal_loss,
        lambda: _binary_samples("vfl", [{"alpha": 0.5, "gamma": 1.0}], quality=True),
        errors=lambda: _binary_errors("varifocal_loss", probs_ok=False),
        extremes=lambda: [
            s for s in _binary_extremes([{"gamma": g} for g in (0.5, 2.0)]) if "probs" not in s.name
        ],
        random=_binary_random(_binary_kw),
        empty=_binary_empty,
    ),
    LossEntry(
        "distribution_focal_loss",
        LF.distribution_focal_loss,
        losskit.DistributionFocalLoss,
        _dfl_reference,
        _dfl_samples,
        errors=_dfl_errors,
        extremes=lambda: [Sample((t64([[1e4, -1e4, 0.0, 3.0]] * 2), t64([0.0, 3.0])), {}, "saturated")],
        random=lambda rng, scale: Sample(
            (t64(rng.normal(size=(4, 6)) * scale), t64(rng.uniform(0, 5, size=4))), {}
        ),
        empty=lambda: Sample(
            (torch.zeros(0, 5, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)), {}
        ),
    ),
    LossEntry(
        "kl_divergence",
        LF.kl_divergence,
        losskit.KLDivergenceLoss,
        R.kl_divergence,
        _kl_samples,
        errors=lambda: _dist_errors("kl_divergence", True),
        extremes=lambda: _dist_extremes(False),
        random=_dist_random("kl"),
        empty=lambda: Sample(
            (torch.zeros(0, C, dtype=torch.float64), torch.zeros(0, C, dtype=torch.float64)), {}
        ),
    ),
    LossEntry(
        "entropy",
        LF.entropy,
        losskit.EntropyLoss,
        R.entropy,
        _entropy_samples,
        errors=lambda: _dist_errors("entropy", False),
        extremes=lambda: _dist_extremes(True),
        random=_dist_random("entropy"),
        empty=lambda: Sample((torch.zeros(0, C, dtype=torch.float64),), {}),
    ),
    LossEntry(
        "brier_score",
        LF.brier_score,
        losskit.BrierScoreLoss,
        R.brier_score,
        _brier_samples,
        errors=lambda: (
            _dist_errors("brier_score", True)[:1] + _multiclass_errors("brier_score", LF.brier_score)[1:2]
        ),
        extremes=lambda: _dist_extremes(False),
        random=_dist_random("brier"),
        empty=_multiclass_empty,
        index_args=(1,),
    ),
    LossEntry(
        "hinge_loss",
        LF.hinge_loss,
        losskit.HingeLoss,
        R.hinge_loss,
        lambda: _margin_samples("hinge", [{"squared": True}, {"margin": 0.5}]),
        errors=lambda: _margin_errors("hinge_loss"),
        extremes=_margin_extremes,
        random=_margin_random({}),
        empty=_margin_empty,
    ),
    LossEntry(
        "perceptron_loss",
        LF.perceptron_loss,
        losskit.PerceptronLoss,
        R.perceptron_loss,
        lambda: _margin_samples("perceptron", []),
        errors=lambda: _margin_errors("perceptron_loss"),
        extremes=_margin_extremes,
        random=_margin_random({}),
        empty=_margin_empty,
    ),
    LossEntry(
        "exponential_loss",
        LF.exponential_loss,
        losskit.ExponentialLoss,
        R.exponential_loss,
        lambda: _margin_samples("exponential", [{"max_exponent": 1.0}, {"max_exponent": None}]),
        errors=lambda: _margin_errors("exponential_loss"),
        extremes=_margin_extremes,
        random=_margin_random({}),
        empty=_margin_empty,
    ),
    LossEntry(
        "zero_one_loss",
        LF.zero_one_loss,
        losskit.ZeroOneLoss,
        R.zero_one_loss,
        lambda: _margin_samples("zero_one", []),
        errors=lambda: _margin_errors("zero_one_loss"),
        extremes=_margin_extremes,
        random=_margin_random({}),
        empty=_margin_empty,
        differentiable=False,
    ),
    LossEntry(
        "multiclass_hinge_loss",
        LF.multiclass_hinge_loss,
        losskit.MulticlassHingeLoss,
        R.multiclass_hinge_loss,
        _mc_hinge_samples,
        errors=_mc_hinge_errors,
        extremes=lambda: [
            Sample((t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]), torch.tensor([1, 2])), {}, "huge")
        ],
        random=lambda rng, scale: Sample(
            (t64(rng.normal(size=(5, 3)) * scale), torch.as_tensor(rng.integers(0, 3, 5))),
            {"variant": str(rng.choice(["crammer_singer", "weston_watkins"]))},
        ),
        empty=_multiclass_empty,
        index_args=(1,),
    ),
    LossEntry(
        "ctc_loss",
        LF.ctc_loss,
        losskit.CTCLoss,
        R.ctc_loss,
        _ctc_samples,
        errors=_ctc_errors,
        extremes=_ctc_extremes,
        batch_equivariant=False,
        rtol=1e-6,
        fullgraph=False,
        empty=_ctc_empty,
        index_args=(1,),
        sequence_args=(2, 3),
    ),
]


# ---------------------------------------------------------------------------------------------------
# multilabel_soft_margin_loss (torch.nn's MultiLabelSoftMarginLoss, issue 13)


def _mlsm_samples() -> list[Sample]:
    rng = rng_for("multilabel_soft_margin")
    x = _logits(rng, N, 4)
    y = t64(rng.integers(0, 2, size=(N, 4)))
    ys = t64(rng.uniform(0, 1, size=(N, 4)))
    cw = t64(rng.uniform(0.1, 2.0, size=(4,)))
    p = torch.sigmoid(x)
    return [
        Sample((x, y), {}, "hard"),
        Sample((x, y.long()), {"class_weight": cw}, "int-target-class-weight"),
        Sample((x, ys), {}, "soft"),
        Sample((x, y), {"weight": t64(rng.uniform(0.1, 2.0, size=(N,)))}, "weight", plain=False),
        Sample((p, y), {"input_type": "probs"}, "probs"),
        Sample((p.log(), y), {"input_type": "log_probs", "class_weight": cw}, "log-probs"),
        Sample((x[:1], y[:1]), {}, "batch-of-one"),
    ]


def _mlsm_errors() -> list[ErrorCase]:
    fn = "multilabel_soft_margin_loss"
    x, y = torch.randn(N, 4), torch.randint(0, 2, (N, 4)).float()
    return [
        ErrorCase((x[:, 0], y[:, 0]), {}, ValueError, rf"^{fn}: input must have shape \(N, C\)", "1d"),
        ErrorCase((x, y[:, :3]), {}, ValueError, rf"^{fn}: target must have shape \(6, 4\)", "target-shape"),
        ErrorCase(
            (x, y * 3), {}, ValueError, rf"^{fn}: target must hold probabilities in \[0, 1\]", "target>1"
        ),
        ErrorCase(
            (x, y),
            {"class_weight": torch.ones(3)},
            ValueError,
            rf"^{fn}: class_weight must have shape \(4,\)",
            "class-weight",
        ),
        ErrorCase(
            (x, y), {"weight": torch.ones(N, 4)}, ValueError, rf"^{fn}: weight must have the loss's", "weight"
        ),
        ErrorCase(
            (x.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int-input"
        ),
        ErrorCase(
            (x.abs() + 1, y),
            {"input_type": "probs"},
            ValueError,
            rf"^{fn}: input must hold probabilities",
            "probs",
        ),
    ]


def _mlsm_random(rng: np.random.Generator, scale: float) -> Sample:
    n, c = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    return Sample((t64(rng.normal(size=(n, c)) * scale), t64(rng.integers(0, 2, size=(n, c)))), {})


ENTRIES += [
    LossEntry(
        "multilabel_soft_margin_loss",
        LF.multilabel_soft_margin_loss,
        losskit.MultilabelSoftMarginLoss,
        R.multilabel_soft_margin_loss,
        _mlsm_samples,
        errors=_mlsm_errors,
        extremes=lambda: _binary_extremes([{}]),
        random=_mlsm_random,
        empty=_binary_empty,
    ),
]


def _mc_hinge_class_weight_samples() -> list[Sample]:
    """multiclass_hinge_loss(class_weight=...) (torch MultiMarginLoss(weight=) semantics, issue 13)."""
    rng = rng_for("mc_hinge", 2)
    s = t64(rng.normal(size=(N, C)) * 2)
    y = _labels(rng, N)
    v = t64(rng.uniform(0.1, 2, size=C))
    return [
        Sample(
            (s, y),
            {"variant": variant, "class_weight": v, "squared": sq},
            f"{variant}-class-weight-sq{sq}",
            plain=True,
        )
        for variant in ("crammer_singer", "weston_watkins")
        for sq in (False, True)
    ] + [
        Sample(
            (s, y),
            {"class_weight": v, "weight": t64(rng.uniform(0.1, 2, size=N))},
            "class-and-sample-weight",
            plain=False,
        )
    ]


def _mc_hinge_class_weight_errors() -> list[ErrorCase]:
    fn = "multiclass_hinge_loss"
    s, y = torch.randn(N, C), torch.randint(0, C, (N,))
    return [
        ErrorCase(
            (s, y),
            {"class_weight": torch.ones(C + 1)},
            ValueError,
            rf"^{fn}: class_weight must have shape \({C},\)",
            "class-weight-shape",
        ),
        ErrorCase(
            (s, y),
            {"class_weight": -torch.ones(C)},
            ValueError,
            rf"^{fn}: class_weight must be non-negative",
            "class-weight<0",
        ),
    ]


for _e in ENTRIES:
    if _e.name == "multiclass_hinge_loss":
        _samples0, _errors0 = _e.samples, _e.errors
        _e.samples = lambda s0=_samples0: s0() + _mc_hinge_class_weight_samples()  # type: ignore[misc]
        _e.errors = lambda e0=_errors0: e0() + _mc_hinge_class_weight_errors()  # type: ignore[misc]


def _binary_extra_samples(name: str, smoothing: bool, pos_weight: bool) -> list[Sample]:
    """ignore_index / mask (all four binary losses), label_smoothing and pos_weight where offered (issue 13)."""
    rng = rng_for(name, 5)
    x = _logits(rng, N, 3)
    q = t64(np.where(rng.uniform(size=(N, 3)) < 0.5, 0.0, rng.uniform(0.1, 1.0, size=(N, 3))))
    ign = q.clone()
    ign[0, 0], ign[2, 1] = -100.0, -100.0
    keep = torch.as_tensor(rng.uniform(size=(N, 3)) > 0.3)
    out = [
        Sample((x, ign), {"ignore_index": -100}, "ignore-index", plain=False),
        Sample(
            (x, q),
            {"mask": keep, "weight": t64(rng.uniform(0.1, 2.0, size=(3,)))},
            "mask-weight",
            plain=False,
        ),
    ]
    if smoothing:
        hard = t64(rng.integers(0, 2, size=(N, 3)))
        out += [
            Sample((x, hard), {"label_smoothing": 0.1}, "label-smoothing"),
            Sample(
                (x, hard.long()),
                {"label_smoothing": 0.3, "mask": keep},
                "smoothing-int-target-mask",
                plain=False,
            ),
        ]
    if pos_weight:
        pw = t64(rng.uniform(0.5, 3.0, size=(3,)))
        out += [
            Sample((x, q), {"pos_weight": pw}, "pos-weight"),
            Sample(
                (x, ign),
                {"pos_weight": pw, "ignore_index": -100, "label_smoothing": 0.2},
                "pos-weight-ignore-smoothing",
                plain=False,
            ),
        ]
    return out


def _binary_extra_errors(fn: str, smoothing: bool) -> list[ErrorCase]:
    x, y = torch.randn(N, 3), torch.randint(0, 2, (N, 3)).float()
    out = [
        ErrorCase(
            (x, y),
            {"ignore_index": 0.5},
            TypeError,
            rf"^{fn}: ignore_index must be an int or None",
            "ignore-float",
        ),
        ErrorCase(
            (x, y), {"mask": torch.ones(N, 3)}, TypeError, rf"^{fn}: mask must be a bool tensor", "mask-dtype"
        ),
        ErrorCase(
            (x, y),
            {"mask": torch.ones(N, dtype=torch.bool)},
            ValueError,
            rf"^{fn}: mask must have shape",
            "mask-shape",
        ),
    ]
    if smoothing:
        out.append(
            ErrorCase(
                (x, y),
                {"label_smoothing": 1.5},
                ValueError,
                rf"^{fn}: label_smoothing must be in",
                "smoothing",
            )
        )
    return out


for _e in ENTRIES:
    _opts = {
        "binary_cross_entropy": (True, True),
        "sigmoid_focal_loss": (True, True),
        "quality_focal_loss": (False, False),
        "varifocal_loss": (False, False),
    }.get(_e.name)
    if _opts is not None:
        _s0, _er0 = _e.samples, _e.errors
        _e.samples = lambda s0=_s0, n=_e.name, o=_opts: s0() + _binary_extra_samples(n, *o)  # type: ignore[misc]
        _e.errors = lambda e0=_er0, n=_e.name, o=_opts: e0() + _binary_extra_errors(n, o[0])  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------
# ohem_cross_entropy (OHEM / nnU-Net top-k, issue 13)


def _ohem_samples() -> list[Sample]:
    rng = rng_for("ohem")
    x = _logits(rng, 2, C, 3, 5)
    y = torch.as_tensor(rng.integers(0, C, size=(2, 3, 5)))
    y_ign = y.clone()
    y_ign[0, 0] = -100
    wc = t64(rng.uniform(0.2, 2.0, size=C))
    return [
        Sample((x, y), {"threshold": 0.7, "min_kept": 4}, "ohem", plain=False),
        Sample((x, y_ign), {"threshold": 0.5, "min_kept": 20}, "ohem-min-kept-wins-ignore", plain=False),
        Sample((x, y), {"threshold": 1.0, "min_kept": 0}, "ohem-keep-all-hard"),
        Sample((x, y_ign), {"top_k": 10.0}, "topk10", plain=False),
        Sample((x, y), {"top_k": 100.0, "weight": wc}, "topk100-class-weight"),
        Sample((torch.softmax(x, 1), y), {"input_type": "probs", "top_k": 30.0}, "topk-probs", plain=False),
    ]


def _ohem_errors() -> list[ErrorCase]:
    fn = "ohem_cross_entropy"
    x, y = torch.randn(2, C, 3), torch.randint(0, C, (2, 3))
    return [
        ErrorCase(
            (x, y), {"threshold": 0.0}, ValueError, rf"^{fn}: threshold must be in \(0, 1\]", "threshold"
        ),
        ErrorCase((x, y), {"min_kept": -1}, ValueError, rf"^{fn}: min_kept must be >= 0", "min_kept"),
        ErrorCase((x, y), {"min_kept": 2.5}, TypeError, rf"^{fn}: min_kept must be an int", "min_kept-float"),
        ErrorCase((x, y), {"top_k": 150.0}, ValueError, rf"^{fn}: top_k must be in \(0, 100\]", "top_k"),
        ErrorCase((x, y[:, :2]), {}, ValueError, rf"^{fn}: target must have shape \(2, 3\)", "shape"),
        ErrorCase((x, y + C), {}, ValueError, rf"^{fn}: target holds class index", "label"),
        ErrorCase((x, y.float()), {}, TypeError, rf"^{fn}: target must be an integer tensor", "float-target"),
    ]


def _ohem_random(rng: np.random.Generator, scale: float) -> Sample:
    n, c, s = int(rng.integers(1, 4)), int(rng.integers(2, 5)), int(rng.integers(1, 7))
    kw = (
        {"top_k": float(rng.choice([10.0, 50.0]))}
        if rng.uniform() < 0.5
        else {"min_kept": int(rng.integers(0, 5))}
    )
    return Sample(
        (t64(rng.normal(size=(n, c, s)) * scale), torch.as_tensor(rng.integers(0, c, size=(n, s)))), kw
    )


ENTRIES += [
    LossEntry(
        "ohem_cross_entropy",
        LF.ohem_cross_entropy,
        losskit.OhemCrossEntropyLoss,
        R.ohem_cross_entropy,
        _ohem_samples,
        errors=_ohem_errors,
        random=_ohem_random,
        extremes=lambda: [
            Sample(
                (t64([[[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]]), torch.tensor([[0, 0, 1]])),
                {"min_kept": 1},
                "saturated",
            ),
            Sample((t64([[[1.0, 2.0], [0.0, 0.0]]]), torch.tensor([[-100, -100]])), {}, "all-ignored"),
        ],
        empty=lambda: Sample(
            (torch.zeros(0, C, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.long)), {}
        ),
    ),
]
