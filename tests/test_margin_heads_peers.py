"""Conformance of the margin heads, pair / proxy losses and the triplet miner with pytorch-metric-learning.

Values and gradients (embeddings and centres / proxies) in float64; conventions mapped as follows.

| losskit                                   | PML                                            | mapping                          |
| ----------------------------------------- | ---------------------------------------------- | -------------------------------- |
| arcface_loss(x, W, y, scale=s, margin=m)  | ArcFaceLoss(C, D, margin=degrees(m), scale=s)  | PML's margin is in degrees; its  |
|                                           |                                                | centres are ``loss.W`` (D, C):   |
|                                           |                                                | ``W = loss.W.T``                 |
| arcface_loss(..., sub_centers=K)          | SubCenterArcFaceLoss(num_classes=C,            | ``W = loss.W.T`` (C·K, D); both  |
|                                           | embedding_size=D, sub_centers=K, ...)          | give class c rows c·K..c·K+K-1   |
| cosface_loss(x, W, y, scale=s, margin=m)  | CosFaceLoss(C, D, margin=m, scale=s)           | ``W = loss.W.T``                 |
| sphereface_loss(x, W, y, margin=m,        | SphereFaceLoss(C, D, margin=m, scale=s)        | ``W = loss.W.T``; PML has no λ   |
| scale=s, blend=0)                         |                                                | blend (blend=0 only) and         |
|                                           |                                                | truncates a float margin with    |
|                                           |                                                | int() where losskit raises       |
| multi_similarity_loss(x, y, epsilon=None) | MultiSimilarityLoss(alpha, beta, base)         | all pairs, no miner              |
| multi_similarity_loss(x, y, epsilon=ε)    | the same loss fed MultiSimilarityMiner(ε)      | the mining is built in           |
| circle_loss(x, y, m, gamma)               | CircleLoss(m, gamma), AvgNonZeroReducer        | PML averages the non-zero        |
|                                           |                                                | anchors, losskit those with a    |
|                                           |                                                | positive and a negative (equal)  |
| proxy_anchor_loss(x, P, y, alpha, delta)  | ProxyAnchorLoss(C, D, margin=delta, alpha)     | ``P = loss.proxies`` (C, D), not |
|                                           |                                                | transposed                       |
| mine_triplets(strategy="batch_hard")      | BatchHardMiner(distance=LpDistance(            | same triples, anchor order       |
|                                           | normalize_embeddings=False))                   |                                  |
| mine_triplets(strategy="semi_hard", m)    | TripletMarginMiner(m, "semihard", LpDistance(  | same triples, (a, p, n) order    |
|                                           | normalize_embeddings=False))                   |                                  |
| mine_triplets(strategy="all")             | lmu.get_all_triplets_indices                   | every valid triple (PML's        |
|                                           |                                                | ``type_of_triplets="all"`` keeps |
|                                           |                                                | only the margin violators)       |
| mine_triplets(distance="cosine")          | the miners with CosineSimilarity()             | 1 - cos orders as -cos           |

PML's heads also take a ``reducer`` and a weight regulariser; the defaults (MeanReducer, no regulariser)
are losskit's ``reduction="mean"``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from pytorch_metric_learning import reducers as pml_reducers
from pytorch_metric_learning.utils import loss_and_miner_utils as pml_lmu

from losskit.functional import (
    arcface_loss,
    circle_loss,
    cosface_loss,
    mine_triplets,
    multi_similarity_loss,
    proxy_anchor_loss,
    sphereface_loss,
    triplet_loss,
)

F64 = torch.float64
N, D, C = 12, 5, 7
TIGHT = {"rtol": 1e-11, "atol": 1e-12}


def _rand(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).normal(size=shape) * scale, dtype=F64)


def _labels(seed: int, n: int, c: int) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).integers(0, c, n), dtype=torch.long)


def _pml_head(peer: torch.nn.Module, w: torch.Tensor) -> torch.nn.Module:
    """Load losskit's (rows, D) centres into a PML head, which stores them transposed as ``W`` (D, rows)."""
    assert tuple(peer.W.shape) == (w.shape[1], w.shape[0])
    peer.W = torch.nn.Parameter(w.T.clone())
    return peer


def _compare_head(ours, peer, x, w, y, **kw):
    """Value and the gradients to the embeddings and the centres (PML's W.grad transposed back)."""
    xa, wa = x.clone().requires_grad_(), w.clone().requires_grad_()
    got = ours(xa, wa, y, **kw)
    got.backward()
    xb = x.clone().requires_grad_()
    want = peer(xb, y)
    want.backward()
    torch.testing.assert_close(got, want.to(F64), **TIGHT)
    torch.testing.assert_close(xa.grad, xb.grad, **TIGHT)
    torch.testing.assert_close(wa.grad, peer.W.grad.T, **TIGHT)


# ---------------------------------------------------------------------------------------------------
# heads


@pytest.mark.parametrize(("margin", "scale"), [(0.5, 64.0), (0.2, 10.0), (0.0, 30.0), (1.3, 4.0)])
def test_arcface_matches_pml(margin, scale):
    x, w, y = _rand(1, N, D, scale=3.0), _rand(2, C, D), _labels(3, N, C)
    if margin == 1.3:  # the "θ + m > π" linear fallback is exercised: some true-class angles exceed π - m
        cos = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(w, dim=1).T
        theta = torch.arccos(cos[torch.arange(N), y])
        assert (theta > math.pi - margin).any() and (theta <= math.pi - margin).any()
    peer = _pml_head(pml_losses.ArcFaceLoss(C, D, margin=math.degrees(margin), scale=scale), w)
    _compare_head(arcface_loss, peer, x, w, y, margin=margin, scale=scale)


def test_arcface_defaults_are_pmls_in_radians():
    # PML's default 28.6° is the paper's m = 0.5 rounded to a tenth of a degree: mapped, not equal
    x, w, y = _rand(4, N, D), _rand(5, C, D), _labels(6, N, C)
    peer = _pml_head(pml_losses.ArcFaceLoss(C, D), w)
    _compare_head(arcface_loss, peer, x, w, y, margin=math.radians(28.6))
    assert peer.scale == 64  # and losskit's default scale is the same
    assert not torch.allclose(arcface_loss(x, w, y), arcface_loss(x, w, y, margin=math.radians(28.6)))


@pytest.mark.parametrize(("k", "margin", "scale"), [(3, 0.5, 64.0), (2, 0.3, 10.0), (1, 0.5, 20.0)])
def test_subcenter_arcface_matches_pml(k, margin, scale):
    x, w, y = _rand(7, N, D, scale=2.0), _rand(8, C * k, D), _labels(9, N, C)
    peer = pml_losses.SubCenterArcFaceLoss(
        num_classes=C, embedding_size=D, margin=math.degrees(margin), scale=scale, sub_centers=k
    )
    _compare_head(arcface_loss, _pml_head(peer, w), x, w, y, margin=margin, scale=scale, sub_centers=k)


def test_subcenter_row_layout_is_pmls():
    # an embedding on row 4 of a (3 classes x 2 sub-centres) matrix belongs to class 2 in both libraries
    w = _rand(10, 6, D)
    x = w[4:5] * 3.0
    peer = pml_losses.SubCenterArcFaceLoss(num_classes=3, embedding_size=D, sub_centers=2)
    peer = _pml_head(peer, w)
    cos_pml = peer.get_cosine(x)
    assert int(cos_pml.argmax()) == 2 and cos_pml[0, 2].item() == pytest.approx(1.0)
    ours = [
        arcface_loss(x, w, torch.tensor([c]), sub_centers=2, margin=0.0, scale=1.0).item() for c in range(3)
    ]
    assert int(np.argmin(ours)) == 2


@pytest.mark.parametrize(("margin", "scale"), [(0.35, 64.0), (0.1, 10.0), (0.0, 5.0), (1.5, 3.0)])
def test_cosface_matches_pml(margin, scale):
    x, w, y = _rand(11, N, D, scale=2.0), _rand(12, C, D), _labels(13, N, C)
    peer = _pml_head(pml_losses.CosFaceLoss(C, D, margin=margin, scale=scale), w)
    _compare_head(cosface_loss, peer, x, w, y, margin=margin, scale=scale)


@pytest.mark.parametrize(("margin", "scale"), [(4, 1.0), (1, 1.0), (2, 0.5), (3, 2.0), (6, 0.3)])
def test_sphereface_matches_pml(margin, scale):
    # embeddings of norms 0.5 .. 4: PML and losskit both keep the norm in the logits (normalised centres)
    x, w, y = _rand(14, N, D), _rand(15, C, D), _labels(16, N, C)
    x = x * torch.linspace(0.5, 4.0, N, dtype=F64)[:, None]
    peer = _pml_head(pml_losses.SphereFaceLoss(C, D, margin=margin, scale=scale), w)
    _compare_head(sphereface_loss, peer, x, w, y, margin=margin, scale=scale)


def test_sphereface_departures_from_pml():
    x, w, y = _rand(17, N, D, scale=2.0), _rand(18, C, D), _labels(19, N, C)
    # PML truncates a fractional multiplier (4.7 -> 4); losskit rejects it
    peer = _pml_head(pml_losses.SphereFaceLoss(C, D, margin=4.7), w)
    torch.testing.assert_close(sphereface_loss(x, w, y, margin=4), peer(x, y), **TIGHT)
    with pytest.raises(TypeError, match=r"^sphereface_loss: margin must be an int"):
        sphereface_loss(x, w, y, margin=4.7)
    # the paper's λ blend has no PML counterpart: λ > 0 moves the value towards the margin-free head,
    # which is PML's SphereFace with margin 1
    plain = _pml_head(pml_losses.SphereFaceLoss(C, D, margin=1), w)(x, y)
    m4 = sphereface_loss(x, w, y, margin=4)
    blended = sphereface_loss(x, w, y, margin=4, blend=1e6)
    assert abs(blended - plain) < 1e-4 * abs(m4 - plain)


# ---------------------------------------------------------------------------------------------------
# pair losses


def _two_per_class(seed: int, n: int = N, classes: int = 4) -> torch.Tensor:
    y = torch.arange(n) % classes
    return y[torch.as_tensor(np.random.default_rng(seed).permutation(n))]


def _compare_pair(got_fn, want_fn, x):
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    got, want = got_fn(xa), want_fn(xb)
    got.backward()
    want.backward()
    torch.testing.assert_close(got, want, **TIGHT)
    torch.testing.assert_close(xa.grad, xb.grad, **TIGHT)


@pytest.mark.parametrize(("alpha", "beta", "base"), [(2.0, 50.0, 0.5), (1.0, 10.0, 0.0), (4.0, 40.0, 0.8)])
def test_multi_similarity_without_mining_matches_pml(alpha, beta, base):
    x, y = _rand(20, N, D), _two_per_class(21)
    peer = pml_losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base)
    _compare_pair(
        lambda e: multi_similarity_loss(e, y, alpha=alpha, beta=beta, base=base, epsilon=None),
        lambda e: peer(e, y),
        x,
    )


@pytest.mark.parametrize("epsilon", [0.1, 0.0, 0.5])
def test_multi_similarity_mining_matches_pml_miner(epsilon):
    y = _two_per_class(23, 16, 5)
    x = _rand(22, 5, 4)[y] + 0.6 * _rand(29, 16, 4)  # clustered: some pairs are easy, some hard
    miner = pml_miners.MultiSimilarityMiner(epsilon=epsilon)
    peer = pml_losses.MultiSimilarityLoss()
    pairs = miner(x, y)
    same = y[:, None] == y[None]
    assert 1 < len(pairs[0]) < int(same.sum()) - 16 and 1 < len(pairs[2]) < int((~same).sum())  # mined
    _compare_pair(lambda e: multi_similarity_loss(e, y, epsilon=epsilon), lambda e: peer(e, y, pairs), x)


def _pml_circle(m, gamma, exact=True):
    peer = pml_losses.CircleLoss(m=m, gamma=gamma)
    if exact:
        # PML's Softplus returns its argument above 20, dropping log1p(e^-x) <= 2.1e-9 (and 1 - sigmoid(x)
        # of the gradient); losskit switches above 40, below float64's resolution: align the threshold
        peer.soft_plus = torch.nn.Softplus(beta=1, threshold=40)
    return peer


@pytest.mark.parametrize(("m", "gamma"), [(0.4, 80.0), (0.25, 256.0), (0.25, 2.0), (-0.1, 10.0)])
def test_circle_matches_pml(m, gamma):
    x, y = _rand(24, N, D), _two_per_class(25)
    peer = _pml_circle(m, gamma)
    _compare_pair(lambda e: circle_loss(e, y, m=m, gamma=gamma), lambda e: peer(e, y), x)


def test_circle_departs_from_pmls_softplus_cut_by_at_most_e_minus_20():
    x, y = _rand(24, N, D), _two_per_class(25)
    per = circle_loss(x, y, reduction="none")
    assert (per > 20).any()  # some anchors are past PML's cut (the exact value: the battery's reference)
    gap = (circle_loss(x, y) - _pml_circle(0.4, 80.0, exact=False)(x, y)).abs().item()
    assert 0.0 < gap <= math.log1p(math.exp(-20.0))


def test_circle_mean_skips_anchors_without_pairs_as_pml():
    # classes 3 and 4 have one sample each: those anchors have no positive and are left out of the mean
    x, y = _rand(26, 8, D), torch.tensor([0, 0, 1, 1, 2, 2, 3, 4])
    peer = pml_losses.CircleLoss()
    _compare_pair(lambda e: circle_loss(e, y), lambda e: peer(e, y), x)
    per = circle_loss(x, y, reduction="none")
    assert per[6] == 0 and per[7] == 0 and (per[:6] > 0).all()


# ---------------------------------------------------------------------------------------------------
# Proxy-Anchor


@pytest.mark.parametrize(
    ("alpha", "delta", "labels"),
    [
        (32.0, 0.1, [0, 1, 2, 0, 1, 3, 3, 2, 0, 1, 2, 3]),  # classes 4..6 absent: P+ is a strict subset
        (8.0, 0.3, [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4]),  # every proxy has a positive
        (64.0, -0.1, [5] * N),  # a single class present
    ],
)
def test_proxy_anchor_matches_pml(alpha, delta, labels):
    x, p, y = _rand(27, N, D, scale=2.0), _rand(28, C, D), torch.tensor(labels)
    peer = pml_losses.ProxyAnchorLoss(C, D, margin=delta, alpha=alpha)
    peer.proxies = torch.nn.Parameter(p.clone())  # (C, D) in both libraries
    xa, pa, xb = x.clone().requires_grad_(), p.clone().requires_grad_(), x.clone().requires_grad_()
    got = proxy_anchor_loss(xa, pa, y, alpha=alpha, delta=delta)
    got.backward()
    want = peer(xb, y)
    want.backward()
    torch.testing.assert_close(got, want, **TIGHT)
    torch.testing.assert_close(xa.grad, xb.grad, **TIGHT)
    torch.testing.assert_close(pa.grad, peer.proxies.grad, **TIGHT)


# ---------------------------------------------------------------------------------------------------
# triplet mining


def _lp(p: float = 2.0, squared: bool = False):
    return pml_distances.LpDistance(normalize_embeddings=False, p=p, power=2 if squared else 1)


def _as_lists(triples):
    return [t.tolist() for t in triples]


@pytest.mark.parametrize(
    ("p", "squared", "distance"),
    [(2.0, False, "euclidean"), (1.0, False, "euclidean"), (2.0, True, "euclidean"), (2.0, False, "cosine")],
)
def test_batch_hard_matches_pml(p, squared, distance):
    x, y = _rand(30, 14, 4), _labels(31, 14, 4)
    dist = pml_distances.CosineSimilarity() if distance == "cosine" else _lp(p, squared)
    want = pml_miners.BatchHardMiner(distance=dist)(x, y)
    got = mine_triplets(x, y, strategy="batch_hard", p=p, squared=squared, distance=distance)
    assert len(got[0]) > 0 and _as_lists(got) == _as_lists(want)


@pytest.mark.parametrize(
    ("margin", "squared", "distance"),
    [(1.0, False, "euclidean"), (0.2, False, "euclidean"), (2.0, True, "euclidean"), (0.1, False, "cosine")],
)
def test_semi_hard_matches_pml(margin, squared, distance):
    x, y = _rand(32, 14, 4), _labels(33, 14, 3)
    dist = pml_distances.CosineSimilarity() if distance == "cosine" else _lp(2.0, squared)
    want = pml_miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard", distance=dist)(x, y)
    got = mine_triplets(x, y, strategy="semi_hard", margin=margin, squared=squared, distance=distance)
    assert len(got[0]) > 0 and _as_lists(got) == _as_lists(want)


def test_all_triplets_match_pml():
    x, y = _rand(34, 10, 3), _labels(35, 10, 3)
    got = mine_triplets(x, y, strategy="all")
    want = pml_lmu.get_all_triplets_indices(y)
    assert _as_lists(got) == _as_lists(want)


@pytest.mark.parametrize("strategy", ["batch_hard", "semi_hard"])
def test_triplet_loss_on_mined_triples_matches_pml(strategy):
    # the documented recipe, values and gradients: PML's TripletMarginLoss fed its miner's triples
    x, y, margin = _rand(36, 14, 4), _labels(37, 14, 4), 0.5
    if strategy == "batch_hard":
        miner = pml_miners.BatchHardMiner(distance=_lp())
    else:
        miner = pml_miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard", distance=_lp())
    peer = pml_losses.TripletMarginLoss(margin=margin, distance=_lp(), reducer=pml_reducers.MeanReducer())

    def ours(e):
        a, p, n = mine_triplets(e, y, strategy=strategy, margin=margin)
        return triplet_loss(e[a], e[p], e[n], margin=margin)

    _compare_pair(ours, lambda e: peer(e, y, miner(e, y)), x)
