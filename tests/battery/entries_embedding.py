"""Battery entries for the embedding family (SPEC §5). Every embedding argument is in ``grad_args``."""

from __future__ import annotations

import numpy as np
import torch

import losskit
import losskit.functional as LF
from tests.battery.core import ErrorCase, LossEntry, Sample, rng_for, t64
from tests.reference import embedding as R

N, D = 6, 3
F32 = torch.float32


def _emb(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return t64(rng.normal(size=shape) * scale)


def _binary(rng: np.random.Generator, n: int) -> torch.Tensor:
    return torch.as_tensor(rng.integers(0, 2, size=n), dtype=torch.long)


def _w(rng: np.random.Generator, n: int = N) -> torch.Tensor:
    return t64(rng.uniform(0.2, 2.0, size=n))


def _nan_like(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[0, 0] = float("nan")
    return y


# ---------------------------------------------------------------------------------------------------
# contrastive_loss


def _contrastive_samples() -> list[Sample]:
    rng = rng_for("contrastive")
    x1, x2 = _emb(rng, N, D), _emb(rng, N, D, scale=0.5)
    y = torch.tensor([1, 0, 1, 0, 0, 1])
    return [
        Sample((x1, x2, y), {}, "euclidean"),
        Sample((x1, x2, y.bool()), {"margin": 2.0}, "bool-target-margin2"),
        Sample((x1, x2, t64(rng.uniform(0, 1, size=N))), {}, "soft-target"),
        Sample((x1, x2, y.double()), {"distance": "cosine", "margin": 0.5}, "cosine"),
        Sample((x1, x2, y), {"weight": _w(rng)}, "weight", plain=False),
        Sample((x1, x2, y), {"margin": 0.0}, "margin0"),
        Sample((x1[:1], x2[:1], y[1:2]), {}, "batch-of-one"),
    ]


def _contrastive_extremes() -> list[Sample]:
    x = t64([[0.3, -0.2, 1.0], [0.0, 0.0, 0.0], [1e4, -1e4, 5.0], [1e-30, 0.0, 0.0]])
    out = []
    for dist in ("euclidean", "cosine"):
        for label in (0, 1):
            # x2 == x1: zero distance, where sqrt has an infinite derivative
            out.append(
                Sample(
                    (x, x.clone(), torch.full((4,), label)), {"distance": dist}, f"zero-dist-{dist}-{label}"
                )
            )
        out.append(Sample((x, -x, torch.tensor([0, 1, 0, 1])), {"distance": dist}, f"far-{dist}"))
    return out


def _contrastive_errors() -> list[ErrorCase]:
    fn = "contrastive_loss"
    x1, x2, y = torch.randn(N, D), torch.randn(N, D), torch.randint(0, 2, (N,))
    return [
        ErrorCase((x1, x2[:, :2], y), {}, ValueError, rf"^{fn}: x2 must have shape \(6, 3\)", "x2-shape"),
        ErrorCase(
            (x1, x2, y[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "target-N1"
        ),
        ErrorCase((x1, x2, y * 2), {}, ValueError, rf"^{fn}: target must hold 0/1 labels", "target-2"),
        ErrorCase(
            (x1, x2, y.float() * 3), {}, ValueError, rf"^{fn}: target must hold probabilities", "target-3.0"
        ),
        ErrorCase((x1[0], x2[0], y[:1]), {}, ValueError, rf"^{fn}: x1 must have shape \(N, D\)", "1d"),
        ErrorCase((x1.long(), x2, y), {}, TypeError, rf"^{fn}: x1 must be a floating-point tensor", "int-x1"),
        ErrorCase((x1, x2, "1"), {}, TypeError, rf"^{fn}: target must be a torch.Tensor", "str-target"),
        ErrorCase(
            (x1, x2, y), {"distance": "manhattan"}, ValueError, rf"^{fn}: distance must be one of", "dist"
        ),
        ErrorCase(
            (x1, x2, y), {"margin": -1.0}, ValueError, rf"^{fn}: margin must be in \[0, inf\)", "margin"
        ),
        ErrorCase(
            (x1, x2, y),
            {"weight": torch.ones(N, 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase((_nan_like(x1), x2, y), {}, ValueError, rf"^{fn}: x1 contains NaN", "nan"),
    ]


def _contrastive_random(rng: np.random.Generator, scale: float) -> Sample:
    n, d = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    kw = {"distance": str(rng.choice(["euclidean", "cosine"])), "margin": float(rng.choice([0.5, 1.0, 3.0]))}
    return Sample(
        (t64(rng.normal(size=(n, d)) * scale), t64(rng.normal(size=(n, d)) * scale), _binary(rng, n)), kw
    )


# ---------------------------------------------------------------------------------------------------
# triplet_loss


def _triplet_samples() -> list[Sample]:
    rng = rng_for("triplet")
    a, p, n = _emb(rng, N, D), _emb(rng, N, D), _emb(rng, N, D)
    return [
        Sample((a, p, n), {}, "default"),
        Sample((a, p, n), {"margin": 0.3}, "margin0.3"),
        Sample((a, p, n), {"p": 1.0}, "p1"),
        Sample((a, p, n), {"p": 3.0, "margin": 2.0}, "p3"),
        Sample((a, p, n), {"p": float("inf"), "margin": 2.0}, "p-inf"),
        Sample((a, p, n), {"swap": True, "margin": 2.0}, "swap"),
        Sample((a, p, n), {"squared": True, "margin": 2.0}, "squared"),
        Sample((a, p, n), {"squared": True, "swap": True, "p": 1.5, "margin": 4.0}, "squared-swap-p1.5"),
        Sample((a, p, n), {"weight": _w(rng), "margin": 2.0}, "weight", plain=False),
        Sample((a[:1], p[:1], n[:1]), {"margin": 5.0}, "batch-of-one"),
    ]


def _triplet_extremes() -> list[Sample]:
    a = t64([[0.3, -0.2, 1.0], [0.0, 0.0, 0.0], [1e4, -1e4, 5.0]])
    far = a + 1e3
    out = []
    for kw in ({}, {"swap": True}, {"squared": True}, {"p": 1.0}, {"p": 3.0}):
        tag = "-".join(f"{k}{v}" for k, v in kw.items()) or "default"
        out.append(Sample((a, a.clone(), far), kw, f"a==p-{tag}"))
        out.append(Sample((a, far, a.clone()), kw, f"a==n-{tag}"))
        out.append(Sample((a, a.clone(), a.clone()), kw, f"all-equal-{tag}"))
    return out


def _triplet_errors() -> list[ErrorCase]:
    fn = "triplet_loss"
    a, p, n = torch.randn(N, D), torch.randn(N, D), torch.randn(N, D)
    return [
        ErrorCase((a, p[:4], n), {}, ValueError, rf"^{fn}: positive must have shape \(6, 3\)", "p-shape"),
        ErrorCase(
            (a, p, n[:, None]), {}, ValueError, rf"^{fn}: negative must have shape \(6, 3\)", "n-shape"
        ),
        ErrorCase((a[0], p[0], n[0]), {}, ValueError, rf"^{fn}: anchor must have shape \(N, D\)", "1d"),
        ErrorCase((a, p.int(), n), {}, TypeError, rf"^{fn}: positive must be a floating-point tensor", "int"),
        ErrorCase((a, p, n), {"p": 0.5}, ValueError, rf"^{fn}: p must be in \[1, inf\)", "p<1"),
        ErrorCase((a, p, n), {"margin": -0.1}, ValueError, rf"^{fn}: margin must be in", "margin"),
        ErrorCase((a, p, n), {"swap": 1}, TypeError, rf"^{fn}: swap must be a bool", "swap"),
        ErrorCase((a, p, n), {"squared": "yes"}, TypeError, rf"^{fn}: squared must be a bool", "squared"),
        ErrorCase(
            (a, p, n),
            {"weight": torch.ones(N + 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase((a, p, _nan_like(n)), {}, ValueError, rf"^{fn}: negative contains NaN", "nan"),
    ]


def _triplet_random(rng: np.random.Generator, scale: float) -> Sample:
    n, d = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    a, p, ng = (t64(rng.normal(size=(n, d)) * scale) for _ in range(3))
    kw = {
        "swap": bool(rng.integers(0, 2)),
        "squared": bool(rng.integers(0, 2)),
        "p": float(rng.choice([1.0, 2.0, 3.0])),
        "margin": float(rng.choice([0.0, 1.0, 10.0])),
    }
    return Sample((a, p, ng), kw)


# ---------------------------------------------------------------------------------------------------
# info_nce_loss


def _info_nce_samples() -> list[Sample]:
    rng = rng_for("info_nce")
    q, k = _emb(rng, N, D), _emb(rng, N, D)
    shared, own = _emb(rng, 4, D), _emb(rng, N, 5, D)
    return [
        Sample((q, k), {}, "default"),
        Sample((q, k), {"temperature": 0.5}, "tau0.5"),
        Sample((q, k), {"normalize": False, "temperature": 1.0}, "dot-product"),
        Sample((q, k), {"negatives": shared, "temperature": 0.3}, "shared-negatives"),
        Sample((q, k), {"negatives": own, "temperature": 0.3}, "per-query-negatives"),
        Sample((q, k), {"negatives": shared, "normalize": False}, "negatives-dot"),
        Sample((q, k), {"weight": _w(rng)}, "weight", plain=False),
        Sample((q, k), {"temperature": 0.005}, "tau0.005", grad=False),
        Sample((q[:1], k[:1]), {}, "batch-of-one"),
        Sample((q[:1], k[:1]), {"negatives": shared}, "batch-of-one-negatives"),
    ]


def _similarity_extremes(two_views: bool) -> list[Sample]:
    """Temperature 0.005 in float32, collapsed and zero embeddings, huge unnormalised embeddings."""
    rng = rng_for("similarity-extremes")
    x32 = torch.as_tensor(rng.normal(size=(N, 8)), dtype=F32)
    y32 = x32 + 0.05 * torch.as_tensor(rng.normal(size=(N, 8)), dtype=F32)
    same = torch.ones(N, 8, dtype=torch.float64)
    zero = torch.zeros(N, 8, dtype=torch.float64)
    big = t64(rng.normal(size=(N, 8)) * 1e4)
    out = [
        Sample((x32, y32), {"temperature": 0.005}, "float32-tau0.005"),
        Sample((x32, -y32), {"temperature": 0.005}, "float32-tau0.005-opposed"),
        Sample((same, same.clone()), {"temperature": 0.005}, "collapsed"),
        Sample((zero, zero.clone()), {}, "zero-vectors"),
        Sample((big, big.flip(0)), {"normalize": False}, "huge-unnormalised"),
    ]
    return out if two_views else []


def _info_nce_errors() -> list[ErrorCase]:
    fn = "info_nce_loss"
    q, k = torch.randn(N, D), torch.randn(N, D)
    return [
        ErrorCase((q, k[:5]), {}, ValueError, rf"^{fn}: key must have shape \(6, 3\)", "key-shape"),
        ErrorCase((q[0], k[0]), {}, ValueError, rf"^{fn}: query must have shape \(N, D\)", "1d"),
        ErrorCase(
            (q, k),
            {"negatives": torch.randn(4, D + 1)},
            ValueError,
            rf"^{fn}: negatives must have shape \(M, 3\) \(shared\) or \(6, M, 3\)",
            "neg-D",
        ),
        ErrorCase(
            (q, k),
            {"negatives": torch.randn(5, 4, D)},
            ValueError,
            rf"^{fn}: negatives must have shape",
            "neg-N",
        ),
        ErrorCase(
            (q, k),
            {"negatives": torch.randn(4, D).long()},
            TypeError,
            rf"^{fn}: negatives must be a floating-point tensor",
            "neg-int",
        ),
        ErrorCase(
            (q, k), {"temperature": 0.0}, ValueError, rf"^{fn}: temperature must be in \(0, inf\)", "tau0"
        ),
        ErrorCase(
            (q, k), {"temperature": "0.1"}, TypeError, rf"^{fn}: temperature must be a number", "tau-str"
        ),
        ErrorCase((q, k), {"normalize": None}, TypeError, rf"^{fn}: normalize must be a bool", "normalize"),
        ErrorCase(
            (q, k), {"weight": torch.ones(N, 1)}, ValueError, rf"^{fn}: weight must have the loss's", "weight"
        ),
        ErrorCase((q, _nan_like(k)), {}, ValueError, rf"^{fn}: key contains NaN", "nan"),
    ]


def _two_view_random(rng: np.random.Generator, scale: float) -> Sample:
    n, d = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    kw = {"temperature": float(rng.choice([0.005, 0.05, 0.5, 2.0])), "normalize": bool(rng.integers(0, 2))}
    if not kw["normalize"]:
        kw["temperature"] = max(kw["temperature"], 0.5)
    return Sample((t64(rng.normal(size=(n, d)) * scale), t64(rng.normal(size=(n, d)) * scale)), kw)


# ---------------------------------------------------------------------------------------------------
# nt_xent_loss


def _nt_xent_samples() -> list[Sample]:
    rng = rng_for("nt_xent")
    z1, z2 = _emb(rng, N, D), _emb(rng, N, D)
    return [
        Sample((z1, z2), {}, "default"),
        Sample((z1, z2), {"temperature": 0.1}, "tau0.1"),
        Sample((z1, z2), {"normalize": False, "temperature": 1.0}, "dot-product"),
        Sample((z1, z2), {"weight": _w(rng)}, "weight", plain=False),
        Sample((z1, z2), {"temperature": 0.005}, "tau0.005", grad=False),
        Sample((z1[:1], z2[:1]), {}, "batch-of-one"),
        Sample((z1[:2], z2[:2]), {"temperature": 0.2}, "batch-of-two"),
    ]


def _nt_xent_errors() -> list[ErrorCase]:
    fn = "nt_xent_loss"
    z1, z2 = torch.randn(N, D), torch.randn(N, D)
    return [
        ErrorCase((z1, z2[:5]), {}, ValueError, rf"^{fn}: z2 must have shape \(6, 3\)", "z2-shape"),
        ErrorCase((z1[:, :, None], z2), {}, ValueError, rf"^{fn}: z1 must have shape \(N, D\)", "3d"),
        ErrorCase((z1, z2.long()), {}, TypeError, rf"^{fn}: z2 must be a floating-point tensor", "int"),
        ErrorCase(
            (z1, z2), {"temperature": -0.5}, ValueError, rf"^{fn}: temperature must be in \(0, inf\)", "tau"
        ),
        ErrorCase(
            (z1, z2),
            {"weight": torch.ones(2 * N)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight-2N",
        ),
        ErrorCase((_nan_like(z1), z2), {}, ValueError, rf"^{fn}: z1 contains NaN", "nan"),
    ]


# ---------------------------------------------------------------------------------------------------
# supervised_contrastive_loss


def _supcon_samples() -> list[Sample]:
    rng = rng_for("supcon")
    f = _emb(rng, 8, D)
    paired = torch.tensor([0, 1, 2, 0, 1, 2, 2, 0])  # every anchor has a positive
    some_alone = torch.tensor([0, 1, 2, 0, 3, 2, 2, 5])  # labels 1, 3 and 5 occur once
    return [
        Sample((f, paired), {}, "all-have-positives"),
        Sample((f, paired), {"temperature": 0.5}, "tau0.5"),
        Sample((f, some_alone), {}, "singletons-excluded", plain=False),
        Sample((f, paired), {"normalize": False, "temperature": 1.0}, "dot-product"),
        Sample((f, some_alone), {"weight": t64(rng.uniform(0.2, 2.0, size=8))}, "weight", plain=False),
        Sample((f, paired), {"temperature": 0.005}, "tau0.005", grad=False),
        Sample((f, torch.zeros(8, dtype=torch.long)), {}, "one-class"),
        Sample((f, torch.arange(8)), {}, "no-positives", plain=False),
        Sample((f[:1], paired[:1]), {}, "batch-of-one", plain=False),
    ]


def _supcon_extremes() -> list[Sample]:
    return [
        Sample((s.args[0], torch.tensor([0, 1, 0, 1, 2, 2])), s.kwargs, s.name)
        for s in _similarity_extremes(True)
    ] + [
        Sample((t64(np.ones((4, 3))), torch.arange(4)), {}, "no-positive-at-all"),
    ]


def _supcon_errors() -> list[ErrorCase]:
    fn = "supervised_contrastive_loss"
    f, y = torch.randn(N, D), torch.randint(0, 3, (N,))
    return [
        ErrorCase((f, y[:5]), {}, ValueError, rf"^{fn}: labels must have shape \(6,\)", "labels-N"),
        ErrorCase((f, y[:, None]), {}, ValueError, rf"^{fn}: labels must have shape \(6,\)", "labels-N1"),
        ErrorCase((f, y.float()), {}, TypeError, rf"^{fn}: labels must be an integer tensor", "float-labels"),
        ErrorCase((f[0], y[:1]), {}, ValueError, rf"^{fn}: features must have shape \(N, D\)", "1d"),
        ErrorCase(
            (f, y), {"temperature": 0}, ValueError, rf"^{fn}: temperature must be in \(0, inf\)", "tau"
        ),
        ErrorCase(
            (f, y), {"weight": torch.ones(3)}, ValueError, rf"^{fn}: weight must have the loss's", "weight"
        ),
        ErrorCase((_nan_like(f), y), {}, ValueError, rf"^{fn}: features contains NaN", "nan"),
    ]


def _supcon_random(rng: np.random.Generator, scale: float) -> Sample:
    n, d = int(rng.integers(1, 10)), int(rng.integers(1, 5))
    labels = torch.as_tensor(rng.integers(0, int(rng.integers(1, 4)), size=n))
    kw = {"temperature": float(rng.choice([0.005, 0.1, 1.0]))}
    return Sample((t64(rng.normal(size=(n, d)) * scale), labels), kw)


# ---------------------------------------------------------------------------------------------------
# clip_loss


def _clip_samples() -> list[Sample]:
    rng = rng_for("clip")
    u, v = _emb(rng, N, 4), _emb(rng, N, 4)
    return [
        Sample((u, v), {"logit_scale": 2.5}, "scale-e^2.5"),
        Sample((u, v), {"logit_scale": 0.0}, "scale-1"),
        Sample((u, v), {"logit_scale": 6.0}, "clamped-at-100"),
        Sample((u, v), {"logit_scale": t64(1.5)}, "tensor-scale"),
        Sample((u, v), {"logit_scale": 2.0, "weight": _w(rng)}, "weight", plain=False),
        Sample((u[:1], v[:1]), {"logit_scale": 2.0}, "batch-of-one"),
    ]


def _clip_extremes() -> list[Sample]:
    out = []
    for s in _similarity_extremes(True):
        if "normalize" in s.kwargs:
            continue
        out.append(Sample(s.args, {"logit_scale": 1e4 if "tau" in s.name else 3.0}, s.name + "-clip"))
    out.append(Sample(out[0].args, {"logit_scale": -1e4}, "scale-underflow"))
    return out


def _clip_errors() -> list[ErrorCase]:
    fn = "clip_loss"
    u, v = torch.randn(N, D), torch.randn(N, D)
    return [
        ErrorCase(
            (u, v[:, :2]),
            {"logit_scale": 1.0},
            ValueError,
            rf"^{fn}: text_embeds must have shape \(6, 3\)",
            "shape",
        ),
        ErrorCase(
            (u[0], v[0]),
            {"logit_scale": 1.0},
            ValueError,
            rf"^{fn}: image_embeds must have shape \(N, D\)",
            "1d",
        ),
        ErrorCase(
            (u, v),
            {"logit_scale": torch.ones(2)},
            ValueError,
            rf"^{fn}: logit_scale must be a number or a one",
            "scale-vector",
        ),
        ErrorCase(
            (u, v),
            {"logit_scale": torch.tensor(1)},
            TypeError,
            rf"^{fn}: logit_scale must be a floating-point tensor",
            "scale-int-tensor",
        ),
        ErrorCase(
            (u, v), {"logit_scale": "2.6"}, TypeError, rf"^{fn}: logit_scale must be a number", "scale-str"
        ),
        ErrorCase(
            (u, v), {"logit_scale": float("inf")}, ValueError, rf"^{fn}: logit_scale must be finite", "inf"
        ),
        ErrorCase(
            (u, v), {"logit_scale": float("nan")}, ValueError, rf"^{fn}: logit_scale must be in", "nan-scale"
        ),
        ErrorCase((u, v), {}, TypeError, r"logit_scale", "missing-scale"),
        ErrorCase(
            (u, _nan_like(v)), {"logit_scale": 1.0}, ValueError, rf"^{fn}: text_embeds contains NaN", "nan"
        ),
    ]


def _clip_random(rng: np.random.Generator, scale: float) -> Sample:
    s = _two_view_random(rng, scale)
    return Sample(s.args, {"logit_scale": float(rng.choice([-2.0, 0.0, 2.659, 4.6, 8.0]))})


# ---------------------------------------------------------------------------------------------------
# siglip_loss

# ln 10 rounded to float32, so that the Module (which holds it as a float32 parameter) sees the same value
SIGLIP_INIT = {"logit_scale": float(np.float32(np.log(10.0))), "logit_bias": -10.0}


def _siglip_samples() -> list[Sample]:
    rng = rng_for("siglip")
    u, v = _emb(rng, N, 4), _emb(rng, N, 4)
    return [
        Sample((u, v), SIGLIP_INIT, "paper-init"),
        Sample((u, v), {"logit_scale": 0.0, "logit_bias": 0.0}, "scale-1-bias-0"),
        Sample((u, v), {"logit_scale": 3.0, "logit_bias": 2.5}, "positive-bias"),
        Sample((u, v), {"logit_scale": t64(1.5), "logit_bias": t64(-3.0)}, "tensor-scale-bias"),
        Sample((u, v), {"logit_scale": t64([2.0]), "logit_bias": -1.0}, "one-element-scale"),
        Sample((u, v), {**SIGLIP_INIT, "weight": _w(rng)}, "weight", plain=False),
        Sample((u[:1], v[:1]), {"logit_scale": 1.0, "logit_bias": -1.0}, "batch-of-one"),
        Sample((u, v), {"logit_scale": -3.0, "logit_bias": 0.3}, "small-scale"),
    ]


def _siglip_extremes() -> list[Sample]:
    out = []
    for s in _similarity_extremes(True):
        if "normalize" in s.kwargs:
            continue
        # logits of ±1e4 through a large scale or bias: log-sigmoid stays finite
        out.append(Sample(s.args, {"logit_scale": 9.2, "logit_bias": -10.0}, s.name + "-scale1e4"))
        out.append(Sample(s.args, {"logit_scale": 0.0, "logit_bias": 1e4}, s.name + "-bias+1e4"))
        out.append(Sample(s.args, {"logit_scale": 0.0, "logit_bias": -1e4}, s.name + "-bias-1e4"))
    return out


def _siglip_errors() -> list[ErrorCase]:
    fn = "siglip_loss"
    u, v = torch.randn(N, D), torch.randn(N, D)
    ok = {"logit_scale": 2.25, "logit_bias": -10.0}
    return [
        ErrorCase((u, v[:5]), ok, ValueError, rf"^{fn}: text_embeds must have shape \(6, 3\)", "shape"),
        ErrorCase((u[0], v[0]), ok, ValueError, rf"^{fn}: image_embeds must have shape \(N, D\)", "1d"),
        ErrorCase(
            (u, v.long()), ok, TypeError, rf"^{fn}: text_embeds must be a floating-point tensor", "int"
        ),
        ErrorCase(
            (u, v),
            {**ok, "logit_bias": torch.ones(2)},
            ValueError,
            rf"^{fn}: logit_bias must be a number or a one-element tensor",
            "bias-vector",
        ),
        ErrorCase(
            (u, v),
            {**ok, "logit_scale": torch.tensor(2)},
            TypeError,
            rf"^{fn}: logit_scale must be a floating-point tensor",
            "scale-int-tensor",
        ),
        ErrorCase(
            (u, v), {**ok, "logit_bias": "-10"}, TypeError, rf"^{fn}: logit_bias must be a number", "bias-str"
        ),
        ErrorCase(
            (u, v),
            {**ok, "logit_scale": float("inf")},
            ValueError,
            rf"^{fn}: logit_scale must be finite",
            "inf",
        ),
        ErrorCase(
            (u, v),
            {**ok, "logit_bias": float("nan")},
            ValueError,
            rf"^{fn}: logit_bias must be in",
            "nan-bias",
        ),
        ErrorCase((u, v), {"logit_scale": 1.0}, TypeError, r"logit_bias", "missing-bias"),
        ErrorCase(
            (u, v),
            {**ok, "weight": torch.ones(N, 1)},
            ValueError,
            rf"^{fn}: weight must have the loss's",
            "weight",
        ),
        ErrorCase((_nan_like(u), v), ok, ValueError, rf"^{fn}: image_embeds contains NaN", "nan"),
    ]


def _siglip_random(rng: np.random.Generator, scale: float) -> Sample:
    s = _two_view_random(rng, scale)
    return Sample(
        s.args,
        {
            "logit_scale": float(rng.choice([-2.0, 0.0, 2.3, 4.6])),
            "logit_bias": float(rng.choice([-10.0, -1.0, 0.0, 3.0])),
        },
    )


def _empty_pair(**kw) -> Sample:
    return Sample((torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, D, dtype=torch.float64)), kw)


ENTRIES = [
    LossEntry(
        "contrastive_loss",
        LF.contrastive_loss,
        losskit.ContrastiveLoss,
        R.contrastive_loss,
        _contrastive_samples,
        errors=_contrastive_errors,
        extremes=_contrastive_extremes,
        random=_contrastive_random,
        empty=lambda: Sample((*_empty_pair().args, torch.zeros(0, dtype=torch.long)), {}),
        grad_args=(0, 1),
    ),
    LossEntry(
        "triplet_loss",
        LF.triplet_loss,
        losskit.TripletLoss,
        R.triplet_loss,
        _triplet_samples,
        errors=_triplet_errors,
        extremes=_triplet_extremes,
        random=_triplet_random,
        empty=lambda: Sample((*_empty_pair().args, torch.zeros(0, D, dtype=torch.float64)), {}),
        grad_args=(0, 1, 2),
    ),
    LossEntry(
        "info_nce_loss",
        LF.info_nce_loss,
        losskit.InfoNCELoss,
        R.info_nce_loss,
        _info_nce_samples,
        errors=_info_nce_errors,
        extremes=lambda: _similarity_extremes(True),
        random=_two_view_random,
        empty=_empty_pair,
        grad_args=(0, 1),
    ),
    LossEntry(
        "nt_xent_loss",
        LF.nt_xent_loss,
        losskit.NTXentLoss,
        R.nt_xent_loss,
        _nt_xent_samples,
        errors=_nt_xent_errors,
        extremes=lambda: _similarity_extremes(True),
        random=_two_view_random,
        empty=_empty_pair,
        grad_args=(0, 1),
    ),
    LossEntry(
        "supervised_contrastive_loss",
        LF.supervised_contrastive_loss,
        losskit.SupervisedContrastiveLoss,
        R.supervised_contrastive_loss,
        _supcon_samples,
        errors=_supcon_errors,
        extremes=_supcon_extremes,
        random=_supcon_random,
        empty=lambda: Sample((torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, dtype=torch.long)), {}),
        grad_args=(0,),
        index_args=(1,),
    ),
    LossEntry(
        "clip_loss",
        LF.clip_loss,
        losskit.ClipLoss,
        R.clip_loss,
        _clip_samples,
        errors=_clip_errors,
        extremes=_clip_extremes,
        random=_clip_random,
        empty=lambda: _empty_pair(logit_scale=2.659),
        grad_args=(0, 1),
    ),
    LossEntry(
        "siglip_loss",
        LF.siglip_loss,
        losskit.SigLIPLoss,
        R.siglip_loss,
        _siglip_samples,
        errors=_siglip_errors,
        extremes=_siglip_extremes,
        random=_siglip_random,
        empty=lambda: _empty_pair(**SIGLIP_INIT),
        grad_args=(0, 1),
    ),
]


# ---------------------------------------------------------------------------------------------------
# torch.nn's pairwise losses: cosine_embedding_loss, margin_ranking_loss, hinge_embedding_loss (issue 13)


def _pm_labels(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.as_tensor(rng.integers(0, 2, size=shape) * 2 - 1, dtype=torch.long)


def _cosine_embedding_samples() -> list[Sample]:
    rng = rng_for("cosine_embedding")
    x1, x2 = _emb(rng, N, D), _emb(rng, N, D)
    y = torch.tensor([1, -1, 1, -1, -1, 1])
    return [
        Sample((x1, x2, y), {}, "margin0"),
        Sample((x1, x2, y.double()), {"margin": -0.3}, "float-target-margin-0.3"),
        Sample((x1, x2, y > 0), {"margin": 0.5}, "bool-target"),
        Sample((x1, x2, y), {"weight": _w(rng)}, "weight", plain=False),
        Sample((x1[:1], x2[:1], y[:1]), {}, "batch-of-one"),
    ]


def _cosine_embedding_extremes() -> list[Sample]:
    x = t64([[0.3, -0.2, 1.0], [0.0, 0.0, 0.0], [1e4, -1e4, 5.0], [1e-30, 0.0, 0.0]])
    return [
        Sample((x, x.clone(), torch.tensor([1, -1, 1, -1])), {}, "identical"),
        Sample((x, -x, torch.tensor([-1, 1, -1, 1])), {"margin": 0.2}, "opposite"),
    ]


def _pm_errors(fn: str, pair: bool) -> list[ErrorCase]:
    x1, x2 = torch.randn(N, D), torch.randn(N, D)
    y = torch.randint(0, 2, (N,)) * 2 - 1
    if not pair:  # cosine: (N, D) embeddings, (N,) labels
        return [
            ErrorCase((x1, x2[:, :2], y), {}, ValueError, rf"^{fn}: x2 must have shape \(6, 3\)", "x2-shape"),
            ErrorCase(
                (x1, x2, y[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "target-N1"
            ),
            ErrorCase(
                (x1, x2, y * 0),
                {},
                ValueError,
                rf"^{fn}: target must hold labels \+1 or -1, got a value 0",
                "target-0",
            ),
            ErrorCase((x1[0], x2[0], y[:1]), {}, ValueError, rf"^{fn}: x1 must have shape \(N, D\)", "1d"),
            ErrorCase(
                (x1.long(), x2, y), {}, TypeError, rf"^{fn}: x1 must be a floating-point tensor", "int"
            ),
            ErrorCase(
                (x1, x2, y), {"margin": 1.5}, ValueError, rf"^{fn}: margin must be in \[-1, 1\]", "margin"
            ),
            ErrorCase((_nan_like(x1), x2, y), {}, ValueError, rf"^{fn}: x1 contains NaN", "nan"),
            ErrorCase(
                (x1, x2, y), {"reduction": "avg"}, ValueError, rf"^{fn}: reduction must be one of", "red"
            ),
        ]
    if fn == "margin_ranking_loss":
        s1, s2 = torch.randn(N), torch.randn(N)
        return [
            ErrorCase((s1, s2[:3], y), {}, ValueError, rf"^{fn}: x2 must have shape \(6,\)", "x2-shape"),
            ErrorCase(
                (s1, s2, y[:, None]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "target"
            ),
            ErrorCase(
                (s1, s2, y * 2), {}, ValueError, rf"^{fn}: target must hold labels \+1 or -1", "target-2"
            ),
            ErrorCase(
                (s1.long(), s2, y), {}, TypeError, rf"^{fn}: x1 must be a floating-point tensor", "int"
            ),
            ErrorCase(
                (s1, s2, y), {"weight": torch.ones(N, 1)}, ValueError, rf"^{fn}: weight must have", "w"
            ),
            ErrorCase((s1, s2, "y"), {}, TypeError, rf"^{fn}: target must be a torch.Tensor", "str"),
        ]
    d = torch.rand(N)
    return [
        ErrorCase((d, y[:3]), {}, ValueError, rf"^{fn}: target must have shape \(6,\)", "target-shape"),
        ErrorCase((d, y * 0), {}, ValueError, rf"^{fn}: target must hold labels \+1 or -1", "target-0"),
        ErrorCase((d.long(), y), {}, TypeError, rf"^{fn}: input must be a floating-point tensor", "int"),
        ErrorCase((d, y), {"margin": "1"}, TypeError, rf"^{fn}: margin must be a number", "margin"),
    ]


def _cosine_embedding_random(rng: np.random.Generator, scale: float) -> Sample:
    n, d = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    return Sample(
        (t64(rng.normal(size=(n, d)) * scale), t64(rng.normal(size=(n, d)) * scale), _pm_labels(rng, n)),
        {"margin": float(rng.choice([-0.5, 0.0, 0.5]))},
    )


def _ranking_samples() -> list[Sample]:
    rng = rng_for("margin_ranking")
    s1, s2 = _emb(rng, N), _emb(rng, N)
    y = _pm_labels(rng, N)
    m1, m2 = _emb(rng, 2, 3, 2), _emb(rng, 2, 3, 2)
    return [
        Sample((s1, s2, y), {}, "margin0"),
        Sample((s1, s2, y.double()), {"margin": 0.7}, "margin0.7"),
        Sample((s1, s2, y), {"margin": -0.4}, "negative-margin"),
        Sample((m1, m2, _pm_labels(rng, 2, 3, 2)), {"margin": 0.3}, "3d"),
        Sample((s1, s2, y > 0), {"weight": _w(rng), "margin": 0.5}, "weight-bool", plain=False),
    ]


def _hinge_embedding_samples() -> list[Sample]:
    rng = rng_for("hinge_embedding")
    d = t64(rng.uniform(0.05, 2.0, size=(N, D)))
    y = _pm_labels(rng, N, D)
    return [
        Sample((d, y), {}, "margin1"),
        Sample((d, y.double()), {"margin": 0.5}, "margin0.5"),
        Sample((d * 3 - 1, y), {"margin": 2.5}, "signed-input"),
        Sample((d, y), {"weight": t64(rng.uniform(0.2, 2.0, size=(D,)))}, "weight", plain=False),
    ]


def _elementwise_pm_random(fn_name: str):
    def make(rng: np.random.Generator, scale: float) -> Sample:
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
        x1 = t64(rng.normal(size=shape) * scale)
        y = _pm_labels(rng, *shape)
        if fn_name == "hinge_embedding":
            return Sample((x1, y), {"margin": float(rng.choice([0.5, 1.0, 2.0]))})
        return Sample((x1, t64(rng.normal(size=shape) * scale), y), {"margin": float(rng.choice([0.0, 0.5]))})

    return make


ENTRIES += [
    LossEntry(
        "cosine_embedding_loss",
        LF.cosine_embedding_loss,
        losskit.CosineEmbeddingLoss,
        R.cosine_embedding_loss,
        _cosine_embedding_samples,
        errors=lambda: _pm_errors("cosine_embedding_loss", False),
        extremes=_cosine_embedding_extremes,
        random=_cosine_embedding_random,
        empty=lambda: Sample((*_empty_pair().args, torch.zeros(0, dtype=torch.long)), {}),
        grad_args=(0, 1),
    ),
    LossEntry(
        "margin_ranking_loss",
        LF.margin_ranking_loss,
        losskit.MarginRankingLoss,
        R.margin_ranking_loss,
        _ranking_samples,
        errors=lambda: _pm_errors("margin_ranking_loss", True),
        extremes=lambda: [
            Sample((t64([1e4, -1e4, 0.0]), t64([-1e4, 1e4, 0.0]), torch.tensor([1, 1, -1])), {}, "saturated")
        ],
        random=_elementwise_pm_random("margin_ranking"),
        empty=lambda: Sample((t64(np.zeros(0)), t64(np.zeros(0)), torch.zeros(0, dtype=torch.long)), {}),
        grad_args=(0, 1),
    ),
    LossEntry(
        "hinge_embedding_loss",
        LF.hinge_embedding_loss,
        losskit.HingeEmbeddingLoss,
        R.hinge_embedding_loss,
        _hinge_embedding_samples,
        errors=lambda: _pm_errors("hinge_embedding_loss", True),
        extremes=lambda: [Sample((t64([1e4, 0.0, 1e4]), torch.tensor([1, -1, -1])), {}, "large")],
        random=_elementwise_pm_random("hinge_embedding"),
        nonnegative=False,
        empty=lambda: Sample((t64(np.zeros(0)), torch.zeros(0, dtype=torch.long)), {}),
    ),
]


def _pml_convention_samples(name: str) -> list[Sample]:
    """Cosine-distance triplets and labelled NT-Xent (pytorch-metric-learning conventions, issue 13)."""
    rng = rng_for(name, 7)
    a, p, n = _emb(rng, N, D), _emb(rng, N, D), _emb(rng, N, D)
    if name == "triplet_loss":
        return [
            Sample((a, p, n), {"distance": "cosine", "margin": 0.5}, "cosine"),
            Sample(
                (a, p, n),
                {"distance": "cosine", "margin": 0.3, "swap": True, "squared": True},
                "cosine-swap-squared",
            ),
        ]
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    return [
        Sample((a, p), {"labels": labels, "temperature": 0.4}, "labels", plain=False),
        Sample(
            (a, p),
            {"labels": labels, "weight": _w(rng), "normalize": False, "temperature": 2.0},
            "labels-weight-unnormalized",
            plain=False,
        ),
        Sample((a, p), {"labels": torch.arange(N)}, "labels-all-distinct"),
    ]


for _e in ENTRIES:
    if _e.name in ("triplet_loss", "nt_xent_loss"):
        _e.samples = lambda s0=_e.samples, nm=_e.name: s0() + _pml_convention_samples(nm)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------
# center_loss (Wen et al. 2016, issue 13)


def _center_samples() -> list[Sample]:
    rng = rng_for("center")
    x = _emb(rng, N, D)
    y = torch.as_tensor(rng.integers(0, 4, size=N))
    c = _emb(rng, 4, D)
    return [
        Sample((x, y), {"centers": c}, "default"),
        Sample((x, y), {"centers": c, "weight": _w(rng)}, "weight", plain=False),
        Sample((x[:1], y[:1]), {"centers": c}, "batch-of-one"),
    ]


def _center_errors() -> list[ErrorCase]:
    fn = "center_loss"
    x, y, c = torch.randn(N, D), torch.randint(0, 4, (N,)), torch.randn(4, D)
    return [
        ErrorCase(
            (x, y), {"centers": c[:, :2]}, ValueError, rf"^{fn}: centers must have shape \(K, 3\)", "c"
        ),
        ErrorCase(
            (x, y + 4),
            {"centers": c},
            ValueError,
            rf"^{fn}: target holds class index \d+, expected indices in \[0, 3\]",
            "label",
        ),
        ErrorCase(
            (x, y.float()), {"centers": c}, TypeError, rf"^{fn}: target must be an integer tensor", "t"
        ),
        ErrorCase((x[0], y), {"centers": c}, ValueError, rf"^{fn}: input must have shape \(N, D\)", "1d"),
    ]


ENTRIES += [
    LossEntry(
        "center_loss",
        LF.center_loss,
        losskit.CenterLoss,
        R.center_loss,
        _center_samples,
        errors=_center_errors,
        extremes=lambda: [
            Sample((t64([[1e4, -1e4, 0.0]]), torch.tensor([0])), {"centers": t64([[-1e4, 1e4, 0.0]])}, "far")
        ],
        random=lambda rng, scale: Sample(
            (t64(rng.normal(size=(5, 2)) * scale), torch.as_tensor(rng.integers(0, 3, 5))),
            {"centers": t64(rng.normal(size=(3, 2)) * scale)},
        ),
        empty=lambda: Sample(
            (torch.zeros(0, D, dtype=torch.float64), torch.zeros(0, dtype=torch.long)),
            {"centers": torch.zeros(2, D, dtype=torch.float64)},
        ),
        grad_args=(0,),
    ),
]
