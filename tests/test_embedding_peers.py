"""Conformance of the embedding losses with pytorch-metric-learning, MONAI and torch, conventions mapped.

| losskit                         | peer                                              | mapping                                   |
| ------------------------------- | ------------------------------------------------- | ----------------------------------------- |
| nt_xent_loss(z1, z2, τ)         | PML NTXentLoss(τ), MeanReducer                    | embeddings [z1; z2], labels [0..N-1] x 2  |
| nt_xent_loss(z1, z2, τ)         | MONAI ContrastiveLoss(τ)(z1, z2)                  | same quantity; MONAI is NaN at small τ    |
| supervised_contrastive_loss     | PML SupConLoss(τ)                                 | per anchor (DoNothingReducer); the mean   |
|                                 |                                                   | excludes anchors without a positive as    |
|                                 |                                                   | PML's AvgNonZeroReducer does              |
| triplet_loss(a, p, n)           | PML TripletMarginLoss, MeanReducer                | LpDistance(normalize_embeddings=False),   |
|                                 |                                                   | explicit (a, p, n) index triplets         |
| triplet_loss(a, p, n)           | torch triplet_margin_loss(eps=0)                  | torch's default eps=1e-6 is added to the  |
|                                 |                                                   | difference vector: pinned as a departure  |
| contrastive_loss(x1, x2, y)     | PML ContrastiveLoss(pos_margin=0, neg_margin=m)   | PML is non-squared without ½:             |
|                                 |                                                   | PML per pair = sqrt(2 · losskit per pair) |
| contrastive_loss(cosine)        | PML ContrastiveLoss + CosineSimilarity            | pos_margin = 1, neg_margin = 1 - m        |
| clip_loss                       | torch cross_entropy, CLIP's Figure 3 pseudo-code  | (CE(L, i) + CE(Lᵀ, i)) / 2                |
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from monai.losses import ContrastiveLoss as MonaiContrastive
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import reducers as pml_reducers

from losskit.functional import (
    clip_loss,
    contrastive_loss,
    nt_xent_loss,
    supervised_contrastive_loss,
    triplet_loss,
)
from tests.reference import embedding as R

F64 = torch.float64


def _rand(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).normal(size=shape) * scale, dtype=F64)


# ---------------------------------------------------------------------------------------------------
# NT-Xent


@pytest.mark.parametrize("tau", [0.07, 0.5, 1.0])
@pytest.mark.parametrize("n", [1, 2, 9])
def test_nt_xent_matches_pml(tau, n):
    z1, z2 = _rand(1, n, 5), _rand(2, n, 5)
    peer = pml_losses.NTXentLoss(temperature=tau, reducer=pml_reducers.MeanReducer())
    labels = torch.arange(n).repeat(2)
    want = peer(torch.cat([z1, z2]), labels)
    torch.testing.assert_close(nt_xent_loss(z1, z2, temperature=tau), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_matches_monai(tau):
    z1, z2 = _rand(3, 8, 6), _rand(4, 8, 6)
    want = MonaiContrastive(temperature=tau)(z1, z2)
    # MONAI turns the temperature into a float32 tensor (0.1 -> 0.100000001490116): map it explicitly
    tau32 = float(np.float32(tau))
    torch.testing.assert_close(nt_xent_loss(z1, z2, temperature=tau32), want, rtol=1e-12, atol=1e-12)


def test_nt_xent_gradients_match_pml():
    z1, z2 = _rand(5, 6, 4), _rand(6, 6, 4)
    a1, a2 = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    nt_xent_loss(a1, a2, temperature=0.2).backward()
    b = torch.cat([z1, z2]).requires_grad_()
    pml_losses.NTXentLoss(temperature=0.2, reducer=pml_reducers.MeanReducer())(
        b, torch.arange(6).repeat(2)
    ).backward()
    torch.testing.assert_close(torch.cat([a1.grad, a2.grad]), b.grad, rtol=1e-10, atol=1e-12)


def test_monai_is_nan_at_small_temperature_losskit_is_not():
    # Pinned departure (SPEC §5): MONAI computes exp(sim / τ) and divides; in float32 exp overflows once
    # 1/τ > 88.7 and the ratio is inf/inf = NaN. losskit works in log space.
    a, b = _rand(7, 16, 32), _rand(8, 16, 32)
    b = a + 0.3 * b
    x, y = a.float(), b.float()
    tau = 0.005
    peer = MonaiContrastive(temperature=tau)(x, y)
    assert not torch.isfinite(peer)
    got = nt_xent_loss(x, y, temperature=tau)
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(
        R.nt_xent_loss(a.numpy(), b.numpy(), temperature=tau), rel=1e-4, abs=1e-3
    )
    # at τ = 0.01 MONAI is already NaN as well (the observation)
    assert not torch.isfinite(MonaiContrastive(temperature=0.01)(x, y))
    # where MONAI is finite in float32, the two agree
    torch.testing.assert_close(
        nt_xent_loss(x, y, temperature=0.1), MonaiContrastive(temperature=0.1)(x, y), rtol=1e-5, atol=1e-5
    )


# ---------------------------------------------------------------------------------------------------
# supervised contrastive


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_supcon_matches_pml_per_anchor(tau):
    f = _rand(9, 10, 4)
    labels = torch.tensor([0, 1, 2, 0, 3, 2, 2, 1, 4, 0])  # labels 3 and 4 occur once
    peer = pml_losses.SupConLoss(temperature=tau, reducer=pml_reducers.DoNothingReducer())
    want = peer(f, labels)["loss"]["losses"]
    got = supervised_contrastive_loss(f, labels, temperature=tau, reduction="none")
    # PML's per-anchor value for an anchor without positives is 0/(0 + tiny) = 0, like losskit's
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert got[4].item() == 0.0 and got[8].item() == 0.0


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_supcon_mean_matches_pml_default_reducer(tau):
    # PML's default AvgNonZeroReducer averages the non-zero anchors: the anchors with a positive
    f = _rand(10, 10, 4)
    labels = torch.tensor([0, 1, 2, 0, 3, 2, 2, 1, 4, 0])
    want = pml_losses.SupConLoss(temperature=tau)(f, labels)
    torch.testing.assert_close(
        supervised_contrastive_loss(f, labels, temperature=tau), want, rtol=1e-12, atol=1e-12
    )


def test_supcon_spec_example_matches_pml():
    z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]], dtype=F64)
    labels = torch.tensor([0, 0, 1, 0])
    want = pml_losses.SupConLoss(temperature=0.5)(z, labels)
    assert want.item() == pytest.approx(1.83121268, abs=1e-8)
    torch.testing.assert_close(
        supervised_contrastive_loss(z, labels, temperature=0.5), want, rtol=1e-12, atol=0.0
    )


def test_supcon_gradients_match_pml():
    f = _rand(11, 8, 3)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1])
    a = f.clone().requires_grad_()
    supervised_contrastive_loss(a, labels, temperature=0.3).backward()
    b = f.clone().requires_grad_()
    pml_losses.SupConLoss(temperature=0.3, reducer=pml_reducers.MeanReducer())(b, labels).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# triplet


def _pml_triplet(a, p, n, *, margin, swap=False, power=1, p_norm=2):
    dist = pml_distances.LpDistance(normalize_embeddings=False, p=p_norm, power=power)
    peer = pml_losses.TripletMarginLoss(
        margin=margin, swap=swap, distance=dist, reducer=pml_reducers.MeanReducer()
    )
    k = a.shape[0]
    idx = torch.arange(k)
    return peer(torch.cat([a, p, n]), indices_tuple=(idx, idx + k, idx + 2 * k))


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize(("p_norm", "squared"), [(2, False), (2, True), (1, False)])
def test_triplet_matches_pml(swap, p_norm, squared):
    a, p, n = _rand(12, 12, 5), _rand(13, 12, 5), _rand(14, 12, 5)
    margin = 4.0 if squared else 1.0
    want = _pml_triplet(a, p, n, margin=margin, swap=swap, power=2 if squared else 1, p_norm=p_norm)
    got = triplet_loss(a, p, n, margin=margin, swap=swap, squared=squared, p=float(p_norm))
    # PML's distances come from torch.cdist (a matmul expansion for p = 2): agreement to ~1e-10
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p_norm", [1.0, 2.0, 3.0])
def test_triplet_matches_torch_without_eps(swap, p_norm):
    a, p, n = _rand(15, 10, 4), _rand(16, 10, 4), _rand(17, 10, 4)
    for reduction in ("none", "mean", "sum"):
        want = TF.triplet_margin_loss(a, p, n, margin=0.7, p=p_norm, eps=0.0, swap=swap, reduction=reduction)
        got = triplet_loss(a, p, n, margin=0.7, p=p_norm, swap=swap, reduction=reduction)
        torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-14)


def test_triplet_departs_from_torch_default_eps():
    # Pinned departure (SPEC §5): torch computes ‖a - p + eps‖ with eps = 1e-6 added to every coordinate.
    # With a == p that is eps·√D = 1e-6·√4 = 2e-6 instead of 0; losskit's distance is exact.
    a = _rand(18, 3, 4)
    n = a + 0.5
    torch_default = TF.triplet_margin_loss(a, a.clone(), n, margin=1.0, reduction="none")
    exact = triplet_loss(a, a.clone(), n, reduction="none")
    # d(a, p) = 0 exactly and d(a, n) = ‖0.5·1‖ over 4 coordinates = 1 -> max(0, 0 - 1 + 1) = 0 (to rounding)
    assert torch.all(exact.abs() < 1e-15)
    # torch: d(a,p) = 2e-6 and d(a,n) = ‖-0.5 + 1e-6‖·2 = 1 - 2e-6: a 4e-6 difference
    torch.testing.assert_close(torch_default, torch.full((3,), 4e-6, dtype=F64), rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# contrastive (Hadsell)


def _pml_pairs(x1, x2, target, peer):
    k = x1.shape[0]
    idx = torch.arange(k)
    sim, dis = idx[target == 1], idx[target == 0]
    out = peer(torch.cat([x1, x2]), indices_tuple=(sim, sim + k, dis, dis + k))
    per_pair = torch.zeros(k, dtype=F64)
    per_pair[sim] = out["pos_loss"]["losses"]
    per_pair[dis] = out["neg_loss"]["losses"]
    return per_pair


@pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
def test_contrastive_matches_pml_nonsquared_convention(margin):
    # pairs at distances spread evenly over (0, 2m): dissimilar pairs on both sides of the margin
    x1, direction = _rand(19, 14, 3), TF.normalize(_rand(20, 14, 3), dim=1)
    x2 = x1 + direction * torch.linspace(0.05, 2.0 * margin, 14, dtype=F64)[:, None]
    target = torch.tensor([0, 1] * 7)
    peer = pml_losses.ContrastiveLoss(
        pos_margin=0.0,
        neg_margin=margin,
        reducer=pml_reducers.DoNothingReducer(),
        distance=pml_distances.LpDistance(normalize_embeddings=False, p=2, power=1),
    )
    pml = _pml_pairs(x1, x2, target, peer)
    got = contrastive_loss(x1, x2, target, margin=margin, reduction="none")
    # PML: D for similar pairs, max(0, m - D) for dissimilar ones; losskit: ½D², ½max(0, m - D)²
    torch.testing.assert_close(got, 0.5 * pml**2, rtol=1e-9, atol=1e-12)
    assert (got[target == 0] == 0).any() and (got[target == 0] > 0).any()  # both sides of the margin


def test_contrastive_cosine_matches_pml():
    x1, x2 = _rand(22, 12, 4), _rand(23, 12, 4)
    target = torch.as_tensor(np.random.default_rng(24).integers(0, 2, size=12))
    m = 0.8
    # PML's CosineSimilarity is a similarity s: pos term max(0, pos_margin - s), neg term max(0, s - neg_margin).
    # With D = 1 - s: pos_margin = 1 gives D, and neg_margin = 1 - m gives max(0, m - D).
    peer = pml_losses.ContrastiveLoss(
        pos_margin=1.0,
        neg_margin=1.0 - m,
        reducer=pml_reducers.DoNothingReducer(),
        distance=pml_distances.CosineSimilarity(),
    )
    pml = _pml_pairs(x1, x2, target, peer)
    got = contrastive_loss(x1, x2, target, margin=m, distance="cosine", reduction="none")
    torch.testing.assert_close(got, 0.5 * pml**2, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# CLIP


def _clip_pseudocode(u, v, scale):
    # CLIP paper, Figure 3: logits = np.dot(I_e, T_e.T) * np.exp(t); loss = (CE(logits, labels, axis=0) +
    # CE(logits, labels, axis=1)) / 2, with I_e, T_e L2-normalised
    logits = TF.normalize(u, dim=1) @ TF.normalize(v, dim=1).T * scale
    labels = torch.arange(u.shape[0])
    return (TF.cross_entropy(logits, labels) + TF.cross_entropy(logits.T, labels)) / 2


@pytest.mark.parametrize("logit_scale", [0.0, math.log(1 / 0.07), 4.0])
def test_clip_matches_paper_pseudocode(logit_scale):
    u, v = _rand(25, 7, 5), _rand(26, 7, 5)
    want = _clip_pseudocode(u, v, math.exp(logit_scale))
    torch.testing.assert_close(clip_loss(u, v, logit_scale=logit_scale), want, rtol=1e-12, atol=1e-12)
    s = torch.tensor(logit_scale, dtype=F64)
    torch.testing.assert_close(clip_loss(u, v, logit_scale=s), want, rtol=1e-12, atol=1e-12)


def test_clip_clamps_the_scale_at_100():
    u, v = _rand(27, 5, 3), _rand(28, 5, 3)
    want = _clip_pseudocode(u, v, 100.0)
    torch.testing.assert_close(clip_loss(u, v, logit_scale=math.log(1000.0)), want, rtol=1e-12, atol=1e-12)
