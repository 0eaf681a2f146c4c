"""The local-vs-global negatives experiment (losskit.lab.distributed_contrastive).

One quick run (seed 0, about 8 s of CPU) is shared by the tests of this module.
"""

from __future__ import annotations

import pytest
import torch

from losskit.functional import clip_loss
from losskit.lab import distributed_contrastive as lab


@pytest.fixture(scope="module")
def result():
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    out = lab.run(seed=0, quick=True)
    out["_restored"] = torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), state)
    return out


def test_every_variant_is_reported(result):
    got = {(r["loss"], r["negatives"]) for r in result["rows"]}
    assert got == {(loss, neg) for loss in ("clip", "siglip") for neg in ("local", "global")}
    for r in result["rows"]:
        assert 0.0 <= r["top1"] <= 1.0
        assert r["negatives_per_anchor"] == (7 if r["negatives"] == "local" else 31)
    assert result["global_batch"] == result["world"] * result["per_rank"] == 32


def test_global_negatives_help_clip_more_than_siglip(result):
    by = {(r["loss"], r["negatives"]): r["top1"] for r in result["rows"]}
    # seed 0, quick: clip 0.586 -> 0.718, siglip 0.712 -> 0.740; the bars leave room for BLAS round-off
    assert by[("clip", "global")] > by[("clip", "local")] + 0.05
    assert by[("siglip", "global")] >= by[("siglip", "local")]
    assert by[("clip", "global")] - by[("clip", "local")] > by[("siglip", "global")] - by[("siglip", "local")]
    # trained models are far above chance (1/500)
    assert min(by.values()) > 0.3
    _, holds = lab.headline(result)
    assert holds


def test_per_rank_cost_by_hand(result):
    c = result["per_rank_cost"]
    # n = 8 local pairs, G = 32, D = 16: two n x G blocks of rows vs one G x G matrix; float32 rows
    assert c["similarity_entries_local_loss"] == 2 * 8 * 32 == 512
    assert c["similarity_entries_global_matrix"] == 32 * 32
    assert c["allgather_bytes_sent"] == 2 * 8 * 16 * 4
    assert c["allgather_bytes_received"] == 2 * 32 * 16 * 4


def test_run_leaves_global_state_alone(result):
    assert result["_restored"]


def test_table_and_plot(result, tmp_path):
    table = lab.format_table(result)
    assert table.count("\n") >= len(result["rows"]) + 3
    (path,) = lab.plot(result, tmp_path)
    assert path.stat().st_size > 5000


def test_retrieval_top1_by_hand():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # a[0] retrieves b[0] (cos 1); b[1] points almost along a[0], so a[1] = (0, 1) finds b[2] (cos 0.71)
    # ahead of b[1] (cos 0.10): wrong; a[2] retrieves b[2] (cos 1). Two of three.
    b = torch.tensor([[2.0, 0.0], [1.0, 0.1], [1.0, 1.0]])
    assert lab.retrieval_top1(a, b) == pytest.approx(2 / 3)
    assert lab.retrieval_top1(a, a.clone()) == 1.0


def test_local_negatives_are_the_mean_of_per_rank_losses():
    # what the experiment calls "local": each rank's own loss, averaged (DDP's gradient average); with one
    # pair per "rank" there is no negative at all and CLIP's loss is exactly 0, however wrong the pairs are
    u, v = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    per_rank = torch.stack([clip_loss(u[r : r + 1], v[r : r + 1], logit_scale=2.0) for r in range(4)])
    assert torch.equal(per_rank, torch.zeros(4, dtype=torch.float64))
    assert clip_loss(u, v, logit_scale=2.0) > 0.1
