"""The distributed-Dice lab (4 spawned gloo ranks, one image each): its numbers and the claims docs rely on.

The expected relations are derived here, not read from the lab: the global Dice is recomputed in this
process from the four images, the per-rank average from each image alone, and the accumulation example's
full-batch mean from its micro-batches.
"""

from __future__ import annotations

import pytest
import torch

import losskit.functional as LF
from losskit.lab import distributed as lab
from tests.distributed_cases import shared_once


def _run(out):
    torch.save(lab.run(seed=0, quick=True), out / "result.pt")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = shared_once(tmp_path_factory, "lab_distributed", _run)  # one run per session, xdist or not
    return torch.load(out / "result.pt", weights_only=False)


def test_global_dice_is_the_one_process_dice(result):
    x, t = lab.make_batch(0, lab._size(True))
    with torch.no_grad():
        logits = lab.TinyNet(0)(x)
        one = float(LF.dice_loss(logits, t, per_image=False))
        per_rank = [float(LF.dice_loss(logits[r : r + 1], t[r : r + 1], per_image=False)) for r in range(4)]
    for row, local in zip(result["rows"], per_rank):
        assert abs(row["global_dice_loss"] - one) < 1e-12  # the same value on every rank
        assert abs(row["local_dice_loss"] - local) < 1e-12
    assert abs(result["scores"]["per-rank average of local Dice losses"] - sum(per_rank) / 4) < 1e-12
    assert abs(sum(per_rank) / 4 - one) > 1e-3


def test_the_near_empty_ranks_set_the_per_rank_average(result):
    rows = result["rows"]
    assert [r["foreground_%"] == 0 for r in rows] == [True, False, False, False]
    assert rows[0]["local_dice_loss"] > 0.999  # an empty target costs ~1 whatever is predicted ...
    assert rows[0]["grad_share_local_%"] < 0.1  # ... and gives no gradient against its false positives
    assert rows[0]["grad_share_global_%"] > 1.0  # globally they count in the union's denominator
    assert abs(sum(r["grad_share_local_%"] for r in rows) - 100) < 1e-9


def test_ddp_training_with_process_group_matches_one_process(result):
    s = result["scores"]
    assert s["max |DDP global - one-process parameters|"] < 1e-9
    assert s["max parameter difference between ranks"] == 0.0
    g = result["losses"]["global Dice (process_group)"]
    assert g == pytest.approx(result["losses"]["one process, whole batch"], abs=1e-9)


def test_accumulation_example(result):
    a = result["accumulation"]
    n1, n2 = a["valid_tokens"]
    m1, m2 = a["micro_batch_means"]
    assert abs(a["full_batch_mean"] - (n1 * m1 + n2 * m2) / (n1 + n2)) < 1e-12  # token-weighted
    assert abs(a["naive_accumulated"] - (m1 + m2) / 2) < 1e-12
    assert abs(a["normalizer_accumulated"] - a["full_batch_mean"]) < 1e-12
    assert abs(a["naive_accumulated"] - a["full_batch_mean"]) > 0.1


def test_headline_and_plot(result, tmp_path):
    claim, holds = lab.headline(result)
    assert holds, claim
    (path,) = lab.plot(result, tmp_path)
    assert path.stat().st_size > 5000
