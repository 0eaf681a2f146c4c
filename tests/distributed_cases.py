"""Cases and the spawned worker of tests/test_distributed.py (a plain module, so spawned ranks can import it).

Every case builds the *full* batch from a generator seeded by its name; each rank slices its rows (dim
``bdim`` of every batched tensor) by the world's per-rank sizes. A rank runs every case and reduction with
``process_group=WORLD`` and saves values and gradients; the parent recomputes the full batch in one process.
"""

from __future__ import annotations

import copy
import datetime
import math
import os
import pickle
import sys
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import losskit
import losskit.functional as LF

TOTAL = 5  # rows of the full batch; split [3, 2] on 2 ranks and [2, 0, 3] on 3 (an empty rank)
SIZES = {2: [3, 2], 3: [2, 0, 3]}
NORMALIZER = 7.5  # the caller's global count for the "mean with normalizer" runs
IGNORE = 255


@dataclass
class Case:
    """One loss call: ``fn(*args, **kwargs)``; ``batched`` args/kwargs are split across ranks."""

    name: str
    fn: Callable[..., torch.Tensor]
    make: Callable[[torch.Generator], tuple[list[Any], dict[str, Any], dict[str, Any]]]
    bdim: tuple[int | None, ...] = ()  # batch dimension of each positional tensor (default 0; None: shared)
    grad: tuple[int, ...] = (0,)  # positional args to differentiate
    global_none: bool = False  # reduction="none" is already global (batch-aggregated overlap losses)
    reductions: tuple[str, ...] = ("none", "mean", "sum", "mean_norm")
    kw_bdim: dict[str, int] = field(default_factory=dict)


def _gen(name: str) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def _unif(g: torch.Generator, *shape: int, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64)


def _ints(g: torch.Generator, hi: int, *shape: int) -> torch.Tensor:
    return torch.randint(0, hi, shape, generator=g)


def _boxes(g: torch.Generator, n: int) -> torch.Tensor:
    xy = _unif(g, n, 2, hi=4.0)
    wh = _unif(g, n, 2, lo=0.5, hi=3.0)
    return torch.cat([xy, xy + wh], dim=1)


N, C = TOTAL, 4


def _ce_index(g):
    t = _ints(g, C, N, 3)
    t[0, 1] = t[3, 0] = t[4, 2] = -100
    return (
        [_randn(g, N, C, 3, scale=2.0), t],
        {},
        {"weight": _unif(g, C, lo=0.2, hi=2.0), "label_smoothing": 0.1},
    )


def _ce_prob(g):
    q = torch.softmax(_randn(g, N, C), dim=1)
    mask = torch.tensor([True, False, True, True, False])
    return [_randn(g, N, C, scale=2.0), q], {"mask": mask}, {"weight": _unif(g, C, lo=0.2, hi=2.0)}


def _binary(quality: bool = False):
    def make(g):
        x = _randn(g, N, 3, scale=2.0)
        y = _unif(g, N, 3) if quality else (_unif(g, N, 3) > 0.5).double()
        if quality:
            y = torch.where(_unif(g, N, 3) < 0.4, torch.zeros_like(y), y)
        return [x, y], {"weight": _unif(g, N, 3, lo=0.1, hi=2.0)}, {}

    return make


def _margin(g):
    f = _randn(g, N, 2, scale=1.5)
    f = torch.where(f.abs() < 0.05, f + 0.2, f)
    y = torch.where(_unif(g, N, 2) > 0.5, 1, -1)
    return [f, y], {"weight": _unif(g, N, 2, lo=0.1, hi=2.0)}, {}


def _pair(g, d: int = 3):
    return [_randn(g, N, d), _randn(g, N, d)], {"weight": _unif(g, N, d, lo=0.1, hi=2.0)}, {}


def _boxes_case(g):
    return [_boxes(g, N), _boxes(g, N)], {"weight": _unif(g, N, lo=0.1, hi=2.0)}, {}


def _seg(*, ignore: bool = True, dense: bool = False):
    def make(g):
        x = _randn(g, N, 3, 4, 4, scale=2.0)
        if dense:
            t = torch.softmax(_randn(g, N, 3, 4, 4, scale=3.0), dim=1)
            return [x, t], {"mask": _unif(g, N, 4, 4) > 0.2}, {}
        t = _ints(g, 3, N, 4, 4)
        t[1, :2, :] = 2  # class 2 is rare and absent from some images
        t[t == 2] = torch.where(_unif(g, int((t == 2).sum())) > 0.7, 2, 0)
        if ignore:
            t[0, 0, :3] = IGNORE
            t[4, 3, 3] = IGNORE
        kw = {"ignore_index": IGNORE} if ignore else {}
        return [x, t], {}, {**kw, "weight": _unif(g, 3, lo=0.3, hi=2.0)}

    return make


def _ctc(g):
    T, S = 8, 3
    logits = _randn(g, T, N, 5)
    tgt = 1 + _ints(g, 4, N, S)
    il = torch.tensor([8, 7, 8, 6, 8])
    tl = torch.tensor([3, 2, 1, 3, 2])
    return [logits, tgt, il, tl], {}, {"input_type": "logits"}


def _multibin(g):
    codec = LF.MultiBinCodec(2, overlap=0.3)
    z = _randn(g, N, codec.num_bins, scale=1.5)
    r = _randn(g, N, *codec.residual_shape)
    theta = _unif(g, N, lo=-math.pi, hi=math.pi)
    return [z, r, theta], {"weight": _unif(g, N, lo=0.1, hi=2.0)}, {"codec": codec}


def _seg_cases() -> list[Case]:
    out: list[Case] = []
    losses: list[tuple[str, Callable[..., torch.Tensor], dict[str, Any]]] = [
        ("dice", LF.dice_loss, {}),
        ("dice_squared", LF.dice_loss, {"squared": True}),
        ("jaccard", LF.jaccard_loss, {}),
        ("tversky", LF.tversky_loss, {"alpha": 0.3, "beta": 0.7}),
        ("focal_tversky", LF.focal_tversky_loss, {"gamma": 0.75}),
        ("generalized_dice", LF.generalized_dice_loss, {}),
        ("lovasz", LF.lovasz_loss, {}),
    ]
    for tag, fn, opts in losses:
        for per_image in (False, True):

            def make(g, opts=opts, per_image=per_image, fn=fn):
                args, bk, kw = _seg()(g)
                if fn is LF.generalized_dice_loss:
                    kw.pop("weight")
                return args, bk, {**kw, **opts, "per_image": per_image}

            out.append(Case(f"{tag}-per_image{per_image}", fn, make, global_none=not per_image))
    for tag, fn in (("dice", LF.dice_loss), ("generalized_dice", LF.generalized_dice_loss)):

        def make_dense(g):
            args, bk, kw = _seg(dense=True)(g)
            return args, bk, {**kw, "per_image": False}

        out.append(Case(f"{tag}-dense-mask-batch", fn, make_dense, global_none=True))
    out.append(
        Case(
            "dice-sigmoid-batch",
            LF.dice_loss,
            lambda g: ([_randn(g, N, 1, 5), (_unif(g, N, 5) > 0.7).long()], {}, {"per_image": False}),
            global_none=True,
        )
    )
    return out


def cases() -> list[Case]:
    """Every loss with a mean over batch statistics (the embedding family is tested elsewhere)."""
    cs = [
        Case("cross_entropy-index", LF.cross_entropy, _ce_index),
        Case("cross_entropy-prob-mask", LF.cross_entropy, _ce_prob),
        Case(
            "softmax_focal-index",
            LF.softmax_focal_loss,
            lambda g: (lambda a, b, k: (a, b, {**k, "gamma": 2.0}))(*_ce_index(g)),
        ),
        Case(
            "binary_cross_entropy",
            LF.binary_cross_entropy,
            lambda g: (
                lambda a, b, k: (a, b, {"pos_weight": torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)})
            )(*_binary()(g)),
        ),
        Case("balanced_cross_entropy", LF.balanced_cross_entropy, _binary()),
        Case("sigmoid_focal", LF.sigmoid_focal_loss, _binary()),
        Case("quality_focal", LF.quality_focal_loss, _binary(quality=True)),
        Case("varifocal", LF.varifocal_loss, _binary(quality=True)),
        Case(
            "distribution_focal",
            LF.distribution_focal_loss,
            lambda g: ([_randn(g, N, 8), _unif(g, N, hi=7.0)], {"weight": _unif(g, N, lo=0.1, hi=2.0)}, {}),
        ),
        Case(
            "kl_divergence",
            LF.kl_divergence,
            lambda g: (
                [_randn(g, N, C), torch.softmax(_randn(g, N, C), 1)],
                {"weight": _unif(g, N, lo=0.1)},
                {},
            ),
        ),
        Case(
            "entropy", LF.entropy, lambda g: ([_randn(g, N, C)], {"weight": _unif(g, N, lo=0.1, hi=2.0)}, {})
        ),
        Case(
            "brier_score",
            LF.brier_score,
            lambda g: ([_randn(g, N, C), _ints(g, C, N)], {"weight": _unif(g, N, lo=0.1, hi=2.0)}, {}),
        ),
        Case("hinge", LF.hinge_loss, _margin),
        Case("perceptron", LF.perceptron_loss, _margin),
        Case("exponential", LF.exponential_loss, _margin),
        Case("zero_one", LF.zero_one_loss, _margin, grad=()),
        Case(
            "multiclass_hinge",
            LF.multiclass_hinge_loss,
            lambda g: ([_randn(g, N, C), _ints(g, C, N)], {"weight": _unif(g, N, lo=0.1, hi=2.0)}, {}),
        ),
        Case("ctc", LF.ctc_loss, _ctc, bdim=(1, 0, 0, 0)),
        Case("l1", LF.l1_loss, _pair),
        Case("mse", LF.mse_loss, _pair),
        Case("smooth_l1", LF.smooth_l1_loss, lambda g: (lambda a, b, k: (a, b, {"beta": 0.5}))(*_pair(g))),
        Case("huber", LF.huber_loss, lambda g: (lambda a, b, k: (a, b, {"delta": 0.7}))(*_pair(g))),
        Case("log_cosh", LF.log_cosh_loss, _pair),
        Case(
            "quantile",
            LF.quantile_loss,
            lambda g: (
                [_randn(g, N, 3), _randn(g, N)],
                {"weight": _unif(g, N, 1, lo=0.1, hi=2.0)},
                {"quantiles": [0.1, 0.5, 0.9]},
            ),
        ),
        Case(
            "gaussian_nll",
            LF.gaussian_nll_loss,
            lambda g: (lambda a, b, k: (a, {**b, "var": _unif(g, N, 3, lo=0.2, hi=3.0)}, k))(*_pair(g)),
        ),
        Case(
            "laplace_nll",
            LF.laplace_nll_loss,
            lambda g: (lambda a, b, k: (a, {**b, "log_scale": _randn(g, N, 3, scale=0.5)}, k))(*_pair(g)),
        ),
        Case("multibin", LF.multibin_loss, _multibin),
    ]
    for name in ("iou", "giou", "diou", "ciou", "eiou", "focal_eiou", "cdiou", "siou", "alpha_iou"):
        cs.append(Case(f"{name}_loss", getattr(LF, f"{name}_loss"), _boxes_case))

    def all_ignored(g):
        args, bk, kw = _ce_index(g)
        return [args[0], torch.full_like(args[1], -100)], bk, kw

    cs.append(Case("cross_entropy-all-ignored", LF.cross_entropy, all_ignored))  # 0, with a backward

    def seg_all_ignored(g):
        args, bk, kw = _seg()(g)
        return [args[0], torch.full_like(args[1], IGNORE)], bk, {**kw, "per_image": False}

    cs.append(Case("dice-all-ignored-batch", LF.dice_loss, seg_all_ignored, global_none=True))
    cs.append(
        Case(
            "focal_eiou_loss-attached",
            LF.focal_eiou_loss,
            lambda g: (lambda a, b, k: (a, b, {"detach_weight": False, "gamma": 1.0}))(*_boxes_case(g)),
            reductions=("mean", "sum", "mean_norm"),
        )
    )  # "none" rows then depend on every rank
    return cs + _seg_cases() + _later_cases()


def _seq(g, n: int = N):
    return _randn(g, n, scale=3.0) - 5.0


def _later_cases() -> list[Case]:
    """The families added after the first distributed pass: every mean over a batch (and its statistics)."""
    counts = lambda g, *shape: torch.poisson(_unif(g, *shape, lo=0.5, hi=4.0), generator=g)  # noqa: E731
    wt = lambda g, *shape: _unif(g, *shape, lo=0.1, hi=2.0)  # noqa: E731
    with_kw = lambda make, **kw: lambda g: (lambda a, b, k: (a, b, {**k, **kw}))(*make(g))  # noqa: E731

    def tokens(g):  # (N, 3) tokens with padding
        t = _ints(g, C, N, 3)
        t[0, 2] = t[2, 1] = t[2, 2] = t[4, 0] = -100
        return t

    def lce(g):
        t = tokens(g)
        return (
            [_randn(g, N, 3, 2), _randn(g, C, 2), t],
            {},
            {"class_weight": _unif(g, C, lo=0.3, hi=2.0), "label_smoothing": 0.1},
        )

    def ldist(g):
        return [_randn(g, N, 3, 2), _randn(g, C, 2), _randn(g, N, 3, C)], {"target": tokens(g)}, {}

    def distil(g):
        return [_randn(g, N, 3, C), _randn(g, N, 3, C)], {"labels": tokens(g)}, {"temperature": 2.0}

    def jsd(g):
        return [_randn(g, N, 3, C), _randn(g, N, 3, C)], {"labels": tokens(g)}, {"beta": 0.3}

    def pref(k: int):
        def make(g):
            return [_seq(g) for _ in range(k)], {"weight": wt(g, N)}, {}

        return make

    def orpo(g):
        lp = -_unif(g, N, lo=0.2, hi=3.0)
        return [lp, lp - _unif(g, N, hi=1.0)], {"weight": wt(g, N), "chosen_nll": _unif(g, N, hi=2.0)}, {}

    def kto(g):
        return (
            [_seq(g), _seq(g), _unif(g, N) > 0.4],
            {"weight": wt(g, N), "policy_kl_logps": _seq(g), "reference_kl_logps": _seq(g)},
            {"beta": 0.5},
        )

    def oks(g):
        return (
            [_unif(g, N, 3, 2, hi=5.0), _unif(g, N, 3, 2, hi=5.0)],
            {
                "area": _unif(g, N, lo=2.0, hi=9.0),
                "visibility": (_unif(g, N, 3) > 0.2).double(),
                "weight": wt(g, N),
            },
            {"sigmas": [0.3, 0.5, 0.8]},
        )

    def heat(g):
        y = _unif(g, N, 2, 4)
        y[:, 0, 1] = 1.0
        y[2, 1, 3] = 1.0
        return [_randn(g, N, 2, 4), y], {"weight": wt(g, N, 2, 4)}, {}

    def heat_norm(g):
        (x, y), bk, kw = heat(g)
        return [x, y], {**bk, "normalizer": (y == 1).double()}, kw

    def ghm(g):
        return [_randn(g, N, 3, scale=2.0), (_unif(g, N, 3) > 0.6).double()], {"weight": wt(g, N, 3)}, {}

    def seg_probs_free(g):  # index targets without ignore_index (the boundary losses take none)
        return (
            [_randn(g, N, 3, 5, 5, scale=2.0), _ints(g, 3, N, 5, 5)],
            {},
            {"weight": _unif(g, 3, lo=0.3, hi=2.0)},
        )

    cs = [
        Case(
            "poisson_nll",
            LF.poisson_nll_loss,
            lambda g: ([_randn(g, N, 3), counts(g, N, 3)], {"weight": wt(g, N, 3)}, {"full": True}),
        ),
        Case(
            "multilabel_soft_margin",
            LF.multilabel_soft_margin_loss,
            lambda g: (
                [_randn(g, N, C), (_unif(g, N, C) > 0.5).double()],
                {"weight": wt(g, N)},
                {"class_weight": _unif(g, C, lo=0.3, hi=2.0)},
            ),
        ),
        Case(
            "cosine_embedding",
            LF.cosine_embedding_loss,
            lambda g: (
                [_randn(g, N, 3), _randn(g, N, 3), torch.where(_unif(g, N) > 0.5, 1, -1)],
                {"weight": wt(g, N)},
                {"margin": 0.1},
            ),
            grad=(0, 1),
        ),
        Case(
            "hinge_embedding",
            LF.hinge_embedding_loss,
            lambda g: (
                [_unif(g, N, 3, hi=2.0), torch.where(_unif(g, N, 3) > 0.5, 1, -1)],
                {"weight": wt(g, N, 3)},
                {"margin": 1.3},
            ),
        ),
        Case(
            "margin_ranking",
            LF.margin_ranking_loss,
            lambda g: (
                [_randn(g, N), _randn(g, N), torch.where(_unif(g, N) > 0.5, 1, -1)],
                {"weight": wt(g, N)},
                {"margin": 0.2},
            ),
            grad=(0, 1),
        ),
        Case(
            "center",
            LF.center_loss,
            lambda g: ([_randn(g, N, 3), _ints(g, C, N)], {"weight": wt(g, N)}, {"centers": _randn(g, C, 3)}),
        ),
        Case("charbonnier", LF.charbonnier_loss, with_kw(_pair, eps=0.3)),
        Case("cauchy", LF.cauchy_loss, with_kw(_pair, scale=0.7)),
        Case("welsch", LF.welsch_loss, with_kw(_pair, scale=0.7)),
        Case("barron", LF.barron_loss, with_kw(_pair, alpha=0.5, scale=0.8)),
        Case(
            "tweedie",
            LF.tweedie_loss,
            lambda g: ([_randn(g, N, 3), counts(g, N, 3)], {"weight": wt(g, N, 3)}, {"power": 1.4}),
        ),
        Case(
            "negative_binomial_nll",
            LF.negative_binomial_nll_loss,
            lambda g: ([_randn(g, N, 3), counts(g, N, 3)], {"weight": wt(g, N, 3)}, {"total_count": 2.5}),
        ),
        Case("student_t_nll", LF.student_t_nll_loss, with_kw(_pair, df=4.0, scale=0.8)),
        Case(
            "crps_gaussian",
            LF.crps_gaussian_loss,
            lambda g: (lambda a, b, k: (a, {**b, "scale": _unif(g, N, 3, lo=0.3, hi=2.0)}, k))(*_pair(g)),
        ),
        Case(
            "crps_ensemble",
            LF.crps_ensemble_loss,
            lambda g: ([_randn(g, N, 3, 4), _randn(g, N, 3)], {"weight": wt(g, N, 3)}, {"fair": True}),
        ),
        Case("gaussian_focal", LF.gaussian_focal_loss, heat, reductions=("none", "mean", "sum")),
        Case("gaussian_focal-objects", LF.gaussian_focal_loss, heat_norm, reductions=("mean",)),
        Case("balanced_l1", LF.balanced_l1_loss, with_kw(_pair, beta=0.8)),
        Case("wing", LF.wing_loss, with_kw(_pair, omega=2.0, epsilon=0.5)),
        Case(
            "adaptive_wing",
            LF.adaptive_wing_loss,
            lambda g: ([_unif(g, N, 3), _unif(g, N, 3)], {"weight": wt(g, N, 3)}, {}),
        ),
        Case("ghm_c", LF.ghm_c_loss, with_kw(ghm, bins=4)),
        Case("oks", LF.oks_loss, oks),
        Case(
            "boundary",
            LF.boundary_loss,
            lambda g: (
                [_randn(g, N, 3, 4, 4), _randn(g, N, 3, 4, 4, scale=2.0)],
                {},
                {"weight": _unif(g, 3, lo=0.3, hi=2.0)},
            ),
        ),
        Case("distillation_kl", LF.distillation_kl_loss, distil, grad=(0, 1)),
        Case("jsd", LF.jsd_loss, jsd, grad=(0, 1)),
        Case("dpo", LF.dpo_loss, with_kw(pref(4), beta=0.5, label_smoothing=0.1), grad=(0, 1)),
        Case("dpo-ipo", LF.dpo_loss, with_kw(pref(4), beta=0.5, loss_type="ipo"), grad=(0, 1)),
        Case("simpo", LF.simpo_loss, with_kw(pref(2), beta=1.5, gamma=0.5), grad=(0, 1)),
        Case("orpo", LF.orpo_loss, orpo, grad=(0, 1)),
        Case("kto", LF.kto_loss, kto, grad=(0,)),
        Case("linear_cross_entropy", LF.linear_cross_entropy, lce, bdim=(0, None, 0), grad=(0, 1)),
        Case("linear_distillation", LF.linear_distillation_loss, ldist, bdim=(0, None, 0), grad=(0, 1, 2)),
    ]
    for tag, fn in (("mcc", LF.mcc_loss), ("hausdorff_dt", LF.hausdorff_dt_loss), ("cldice", LF.cldice_loss)):
        for per_image in (False, True):

            def make(g, fn=fn, per_image=per_image):
                if fn is LF.mcc_loss:
                    args, bk, kw = _seg()(g)
                else:
                    args, bk, kw = seg_probs_free(g)
                return args, bk, {**kw, "per_image": per_image}

            cs.append(Case(f"{tag}-per_image{per_image}", fn, make, global_none=not per_image))
    return cs + _merged_after_audit_cases() + _ohem_cases()


def _merged_after_audit_cases() -> list[Case]:
    """Long-tail, margin heads / pair / proxy losses and the point forecast errors (process_group added late)."""
    wt = lambda g, *shape: _unif(g, *shape, lo=0.1, hi=2.0)  # noqa: E731
    with_kw = lambda make, **kw: lambda g: (lambda a, b, k: (a, b, {**k, **kw}))(*make(g))  # noqa: E731
    counts = lambda g: _ints(g, 50, C) + 1  # noqa: E731

    def index_only(g, **extra):  # (N, C, 3) logits, class indices with padding, class weights
        t = _ints(g, C, N, 3)
        t[0, 1] = t[3, 0] = t[4, 2] = -100
        return [_randn(g, N, C, 3, scale=2.0), t], {}, {"weight": _unif(g, C, lo=0.2, hi=2.0), **extra}

    def prob_targets(g, **extra):
        q = torch.softmax(_randn(g, N, C, scale=2.0), dim=1)
        return [_randn(g, N, C, scale=2.0), q], {}, {"weight": _unif(g, C, lo=0.2, hi=2.0), **extra}

    def head(g, k: int = 1, **extra):  # embeddings (N, 3), centres (C·k, 3) held by every rank, labels
        return (
            [_randn(g, N, 3), _randn(g, C * k, 3), torch.tensor([2, 0, 2, 1, 3])],
            {"sample_weight": wt(g, N)},
            extra,
        )

    # labels: class 1 spans the 2-rank split, class 2 has a single member (no positive: circle drops it)
    pair_labels = torch.tensor([0, 1, 0, 2, 1])

    def pairs(g, **extra):
        return [_randn(g, N, 3), pair_labels], {"weight": wt(g, N)}, extra

    def proxies(g, **extra):  # class 3 has no embedding: P+ = {0, 1, 2}; per-proxy weight, shared
        return (
            [_randn(g, N, 3), _randn(g, C, 3), torch.tensor([0, 1, 0, 2, 1])],
            {},
            {"weight": _unif(g, C, lo=0.3, hi=2.0), **extra},
        )

    def point(g, positive: bool = False):
        y = _randn(g, N, 4, scale=3.0)
        if positive:  # MAPE: actuals away from 0
            y = y.abs() + 0.5
        else:
            y[1, 2] = 0.0  # sMAPE: a zero actual (the term is 2)
        return [_randn(g, N, 4, scale=3.0), y], {"weight": wt(g, N, 4)}, {}

    def mase_history(g):
        (x, y), bk, _ = point(g)
        return [x, y], {**bk, "history": _randn(g, N, 6, scale=2.0)}, {"seasonality": 2}

    def mase_scale(g):
        (x, y), bk, _ = point(g)
        return [x, y], {**bk, "scale": _unif(g, N, 1, lo=0.2, hi=3.0)}, {}

    heads = (0, None, 0)
    return [
        Case("asymmetric", LF.asymmetric_loss, with_kw(_binary(), gamma_pos=1.0, gamma_neg=3.0)),
        Case(
            "asymmetric-ignore",
            LF.asymmetric_loss,
            lambda g: (
                lambda a, b, k: (
                    [a[0], torch.where(_unif(g, N, 3) < 0.2, -1.0, a[1])],
                    b,
                    {"ignore_index": -1, "label_smoothing": 0.1},
                )
            )(*_binary()(g)),
        ),
        Case("poly-index", LF.poly_loss, lambda g: index_only(g, epsilon=1.5, label_smoothing=0.1)),
        Case("poly-focal-prob", LF.poly_loss, lambda g: prob_targets(g, epsilon=-0.5, gamma=2.0)),
        Case(
            "balanced_softmax",
            LF.balanced_softmax_loss,
            lambda g: index_only(g, class_counts=counts(g), label_smoothing=0.1),
        ),
        Case(
            "balanced_softmax-prob",
            LF.balanced_softmax_loss,
            lambda g: prob_targets(g, class_counts=counts(g)),
        ),
        Case(
            "logit_adjusted",
            LF.logit_adjusted_cross_entropy,
            lambda g: index_only(g, class_priors=counts(g).double() / 100, tau=0.7),
        ),
        Case("ldam", LF.ldam_loss, lambda g: index_only(g, class_counts=counts(g), scale=4.0)),
        Case("seesaw", LF.seesaw_loss, lambda g: index_only(g, class_counts=counts(g) - 1)),
        Case("arcface", LF.arcface_loss, lambda g: head(g, scale=8.0), bdim=heads, grad=(0, 1)),
        Case(
            "arcface-subcenters",
            LF.arcface_loss,
            lambda g: head(g, 2, scale=8.0, sub_centers=2),
            bdim=heads,
            grad=(0, 1),
        ),
        Case("cosface", LF.cosface_loss, lambda g: head(g, scale=8.0), bdim=heads, grad=(0, 1)),
        Case("sphereface", LF.sphereface_loss, lambda g: head(g, blend=1.0), bdim=heads, grad=(0, 1)),
        Case("multi_similarity", LF.multi_similarity_loss, lambda g: pairs(g, epsilon=None, beta=10.0)),
        Case("multi_similarity-mined", LF.multi_similarity_loss, lambda g: pairs(g, epsilon=0.3, beta=10.0)),
        Case("circle", LF.circle_loss, lambda g: pairs(g, gamma=8.0)),
        Case("circle-attached", LF.circle_loss, lambda g: pairs(g, gamma=8.0, detach_weights=False)),
        Case(
            "proxy_anchor",
            LF.proxy_anchor_loss,
            lambda g: proxies(g, alpha=4.0),
            bdim=heads,
            grad=(0, 1),
            global_none=True,
        ),
        Case("mape", LF.mape_loss, lambda g: point(g, positive=True)),
        Case("smape", LF.smape_loss, point),
        Case("mase-history", LF.mase_loss, mase_history),
        Case("mase-scale", LF.mase_loss, mase_scale),
    ]


def _ohem_seg(g, *, ties: bool = False, ignored_rows: int = 0):
    """(N, 3, 4, 4) inputs and class indices with ignored pixels; ``ties``: log-probabilities from a
    table of 3 rows, so many pixels share exactly the same loss (and probability)."""
    t = _ints(g, 3, N, 4, 4)
    t[0, 0, :3] = IGNORE
    t[4, 3, 3] = IGNORE
    t[:ignored_rows] = IGNORE
    if ties:
        table = torch.log_softmax(
            torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.0, 0.3], [-1.0, 1.0, 0.0]], dtype=torch.float64), dim=1
        )
        x = table[_ints(g, 3, N, 4, 4)].permute(0, 3, 1, 2).contiguous()
        return [x, t], {}, {"ignore_index": IGNORE, "input_type": "log_probs"}
    x = _randn(g, N, 3, 4, 4, scale=2.0)
    return [x, t], {}, {"ignore_index": IGNORE, "weight": _unif(g, 3, lo=0.3, hi=2.0)}


def _ohem_cases() -> list[Case]:
    """``ohem_cross_entropy``: the pixel selection itself is global (tests/test_distributed.py checks the
    regime each case claims: ``min_kept`` binding or not, ties at the top-k boundary)."""
    with_kw = lambda **kw: lambda g: (lambda a, b, k: (a, b, {**k, **kw}))(*_ohem_seg(g))  # noqa: E731

    def tied(**kw):
        return lambda g: (lambda a, b, k: (a, b, {**k, **kw}))(*_ohem_seg(g, ties=True))

    def ignored(**kw):  # rows 0-2 all ignored: rank 0 of both worlds has no valid pixel
        return lambda g: (lambda a, b, k: (a, b, {**k, **kw}))(*_ohem_seg(g, ignored_rows=3))

    fn = LF.ohem_cross_entropy
    return [
        Case("ohem-threshold", fn, with_kw(threshold=0.7, min_kept=10)),
        Case("ohem-min_kept-binds", fn, with_kw(threshold=0.2, min_kept=40)),
        Case("ohem-min_kept-binds-ties", fn, tied(threshold=0.2, min_kept=30)),
        Case("ohem-topk", fn, with_kw(top_k=10.0)),
        Case("ohem-topk-ties", fn, tied(top_k=30.0)),
        Case("ohem-rank-all-ignored", fn, ignored(threshold=0.3, min_kept=20)),
        Case("ohem-topk-rank-all-ignored", fn, ignored(top_k=20.0)),
    ]


CASES = {c.name: c for c in cases()}


def shared_once(tmp_path_factory: Any, name: str, produce: Callable[[Path], None]) -> Path:
    """``produce(folder)`` once per test session, even when pytest-xdist runs the module on several workers.

    xdist workers share the parent of their base temporary folders; the first worker to take the lock
    spawns the ranks, the others wait and read the same files.
    """
    from filelock import FileLock  # a dependency of torch

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (out / "done").exists():
            out.mkdir(exist_ok=True)
            produce(out)
            (out / "done").touch()
    return out


def _slice(t: Any, dim: int | None, start: int, n: int) -> Any:
    return t.narrow(dim, start, n) if isinstance(t, torch.Tensor) and dim is not None else t


def local_call(case: Case, start: int, n: int) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """The rows ``start:start+n`` of the case's full batch (all of it with start=0, n=TOTAL)."""
    args, batched, kw = case.make(_gen(case.name))
    bd = case.bdim or (0,) * len(args)
    args = [_slice(a, d, start, n) for a, d in zip(args, bd)]
    batched = {k: _slice(v, case.kw_bdim.get(k, 0), start, n) for k, v in batched.items()}
    return args, batched, kw


def cotangent(case: Case, out_shape: tuple[int, ...], start: int, n: int) -> torch.Tensor:
    """A fixed random weighting of a ``reduction="none"`` output: full-batch rows, this rank's slice."""
    g = torch.Generator().manual_seed(zlib.crc32(("cot" + case.name).encode()))
    if case.global_none:
        return torch.rand(out_shape, generator=g, dtype=torch.float64) + 0.5
    full = torch.rand((TOTAL, *out_shape[1:]), generator=g, dtype=torch.float64) + 0.5
    return full[start : start + n]


def evaluate(case: Case, reduction: str, start: int, n: int, group: Any) -> dict[str, Any]:
    """Value and gradients of one case and reduction on rows ``start:start+n`` (``group`` None: local)."""
    args, batched, kw = local_call(case, start, n)
    leaves = []
    for i in case.grad:
        args[i] = args[i].detach().clone().requires_grad_(True)
        leaves.append(args[i])
    extra: dict[str, Any] = {"process_group": group}
    if reduction == "mean_norm":
        extra.update(reduction="mean", normalizer=NORMALIZER)
    else:
        extra["reduction"] = reduction
    out = case.fn(*args, **batched, **kw, **extra)
    grads: list[torch.Tensor] = []
    if leaves:
        target = (out * cotangent(case, tuple(out.shape), start, n)).sum() if reduction == "none" else out
        grads = [g.detach() for g in torch.autograd.grad(target, leaves)]
    return {"value": out.detach(), "grads": grads}


# --------------------------------------------------------------------------------------------------
# the spawned ranks


class ConvNet(torch.nn.Module):
    """A two-layer conv net producing 3-class logits per pixel (float64)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.c1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = torch.nn.Conv2d(4, 3, 1)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c2(torch.tanh(self.c1(x)))


def ddp_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen("ddp")
    x = _randn(g, TOTAL, 1, 6, 6)
    t = (x[:, 0] > 0.3).long() + (x[:, 0] > 1.2).long()
    t[0, 0, :4] = IGNORE
    return x, t


def ddp_objective(logits: torch.Tensor, t: torch.Tensor, group: Any) -> torch.Tensor:
    dice = LF.dice_loss(
        logits, t, ignore_index=IGNORE, per_image=False, include_background=False, process_group=group
    )
    ce = LF.cross_entropy(logits, t, ignore_index=IGNORE, process_group=group)
    return dice + ce


def train(model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, group: Any, steps: int = 3) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(steps):
        opt.zero_grad()
        ddp_objective(model(x), t, group).backward()
        opt.step()


def stateful_modules(start: int, n: int, group: Any) -> dict[str, torch.Tensor]:
    """GHMCLoss's running counts, BarronLoss's learned α and SeesawLoss's label counts over rows ``start:start+n``."""
    g = _gen("modules")
    x, y = _randn(g, TOTAL, 3, scale=2.0), (_unif(g, TOTAL, 3) > 0.6).double()
    x2 = _randn(g, TOTAL, 3, scale=2.0)
    ghm = losskit.GHMCLoss(bins=4, momentum=0.75).double()
    barron = losskit.BarronLoss(learn_alpha=True, learn_scale=True).double()
    out: dict[str, torch.Tensor] = {}
    for step, xs in enumerate((x, x2)):
        xi = xs[start : start + n].clone().requires_grad_(True)
        val = ghm(xi, y[start : start + n], process_group=group)
        (gx,) = torch.autograd.grad(val, xi)
        out[f"ghm{step}"], out[f"ghm_grad{step}"] = val.detach(), gx
    out["ghm_acc"] = ghm.acc_sum.detach().clone()
    val = barron(x[start : start + n], x2[start : start + n], process_group=group)
    grads = torch.autograd.grad(val, [barron.latent_alpha, barron.latent_scale])
    out["barron"], out["barron_grads"] = val.detach(), torch.stack(grads)
    # SeesawLoss counting labels: class 3 only on the last rows, class 1 ignored once
    seesaw = losskit.SeesawLoss(num_classes=4)
    labels = (torch.tensor([0, 0, 1, 3, 3]), torch.tensor([0, -100, 2, 0, 3]))
    for step, (xs, ys) in enumerate(zip((x, x2), labels)):
        z = torch.cat([xs, xs[:, :1]], dim=1)[start : start + n].clone().requires_grad_(True)
        val = seesaw(z, ys[start : start + n], process_group=group)
        (gz,) = torch.autograd.grad(val, z)
        out[f"seesaw{step}"], out[f"seesaw_grad{step}"] = val.detach(), gz
    out["seesaw_counts"] = seesaw.class_counts.clone()
    # a head Module built with the group (its construction check runs locally, no collective)
    arc = losskit.ProxyAnchorLoss(4, 3, alpha=4.0, process_group=group).double()
    with torch.no_grad():
        arc.proxies.copy_(_randn(g, 4, 3))
    emb = _randn(g, TOTAL, 3)[start : start + n]
    val = arc(emb, torch.tensor([0, 1, 0, 2, 1])[start : start + n])
    out["proxy_module"] = val.detach()
    out["proxy_module_grad"] = torch.autograd.grad(val, arc.proxies)[0]
    return out


def _errors(rank: int, world: int, group: Any) -> dict[str, str]:
    """Run the error cases; return {name: message} of what each raised (or 'no error')."""
    out: dict[str, str] = {}

    def run(name: str, f: Callable[[], Any]) -> None:
        try:
            f()
            out[name] = "no error"
        except Exception as e:  # the parent checks the type and message
            out[name] = f"{type(e).__name__}: {e}"

    x = _randn(_gen("err"), 2, 3 + (rank == 1), 4, 4)
    t = torch.zeros(2, 4, 4, dtype=torch.long)
    losskit.set_checks("full")
    try:
        run("classes", lambda: LF.dice_loss(x, t, per_image=False, process_group=group))
        run("classes-per-image", lambda: LF.dice_loss(x, t, process_group=group))
        z = _randn(_gen("err2"), 3, 4)
        y = torch.tensor([0, 1, 2])
        run(
            "reduction",
            lambda: LF.cross_entropy(z, y, reduction="sum" if rank == 1 else "mean", process_group=group),
        )
        run("ce-classes", lambda: LF.cross_entropy(_randn(_gen("e3"), 3, 4 + rank), y, process_group=group))
        run(
            "weighting",
            lambda: LF.generalized_dice_loss(
                x[:, :3],
                t,
                per_image=False,
                weighting="simple" if rank == 1 else "square",
                process_group=group,
            ),
        )
        run(
            "normalizer-given",
            lambda: LF.l1_loss(z, z + 1, normalizer=2.0 if rank == 1 else None, process_group=group),
        )
        # the later families: a linear head's vocabulary, MCC's / clDice's classes, GHM-C's bins
        h = _randn(_gen("e4"), 3, 2)
        run(
            "lce-vocabulary",
            lambda: LF.linear_cross_entropy(h, _randn(_gen("e5"), 4 + rank, 2), y, process_group=group),
        )
        run("mcc-classes", lambda: LF.mcc_loss(x, t, per_image=False, process_group=group))
        run("cldice-classes", lambda: LF.cldice_loss(x, t, per_image=False, process_group=group))
        run("ghm-bins", lambda: LF.ghm_c_loss(z, (z > 0).double(), bins=4 + rank, process_group=group))
        # the pair losses gather embeddings, Proxy-Anchor per-proxy sums: checked before the gather
        e = _randn(_gen("e6"), 3, 2 + rank)
        run("ms-width", lambda: LF.multi_similarity_loss(e, y, process_group=group))
        run(
            "proxy-classes",
            lambda: LF.proxy_anchor_loss(e, _randn(_gen("e7"), 3 + rank, 2 + rank), y, process_group=group),
        )
        # OHEM's selection is global: a rank in another mode or with another min_kept is caught first
        run(
            "ohem-mode",
            lambda: LF.ohem_cross_entropy(
                x[:, :3], t, top_k=10.0 if rank == 1 else None, process_group=group
            ),
        )
        run(
            "ohem-min_kept",
            lambda: LF.ohem_cross_entropy(x[:, :3], t, min_kept=5 + rank, process_group=group),
        )
    finally:
        losskit.set_checks("default")
    run("wrong-type", lambda: LF.l1_loss(z, z, process_group="WORLD"))
    run("normalizer-sum", lambda: LF.l1_loss(z, z, reduction="sum", normalizer=3.0, process_group=group))
    # Modules: deepcopy shares the group, pickle keeps WORLD, another group refuses to pickle
    m = losskit.DiceLoss(per_image=False, process_group=group)
    m2 = copy.deepcopy(m)
    m3 = pickle.loads(pickle.dumps(m))
    xs = x[:, :3]
    same = all(bool(torch.equal(mm(xs, t), m(xs, t))) for mm in (m2, m3))
    out["module-copies-agree"] = str(
        same and m2.options["process_group"] is group and m3.options["process_group"] is group
    )
    sub = torch.distributed.new_group(list(range(world)))
    run("pickle-subgroup", lambda: pickle.dumps(losskit.DiceLoss(process_group=sub)))
    return out


def worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    """One rank: every case and reduction, the error cases and (2 ranks) the DDP training."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{init_file}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=120),
    )  # a hang fails instead of blocking CI
    try:
        group = dist.group.WORLD
        sizes = SIZES[world]
        start, n = sum(sizes[:rank]), sizes[rank]
        results: dict[str, Any] = {}
        for case in CASES.values():
            for red in case.reductions:
                try:
                    results[f"{case.name}/{red}"] = evaluate(case, red, start, n, group)
                except Exception:  # reported by the parent test of this case
                    # the other ranks are now one collective ahead: say which case broke, loudly
                    results[f"{case.name}/{red}"] = {"error": traceback.format_exc()}
                    print(f"rank {rank}: {case.name}/{red} raised\n{traceback.format_exc()}", file=sys.stderr)
        results["errors"] = _errors(rank, world, group)
        results["modules"] = stateful_modules(start, n, group)
        if world == 2:
            from torch.nn.parallel import DistributedDataParallel as DDP

            x, t = ddp_data()
            model = DDP(ConvNet())
            train(model, x[start : start + n], t[start : start + n], group)
            results["ddp"] = [p.detach().clone() for p in model.module.parameters()]
        torch.save(results, os.path.join(out_dir, f"w{world}_r{rank}.pt"))
    finally:
        dist.barrier()
        dist.destroy_process_group()
    os._exit(0)  # leave at once: a child's interpreter shutdown costs seconds and has nothing left to do
