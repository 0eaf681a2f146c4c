"""The long-tailed classification lab (losskit.lab.long_tail): counts, balanced test set, per-class accuracy.

One quick run (seed 0, a few seconds of CPU) is shared by the tests of this module. The claim itself
(balanced softmax and LDAM-DRW beat cross-entropy) is checked by tests/test_demo.py through the demo.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

from losskit.lab import long_tail as lab


@pytest.fixture(scope="module")
def result():
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    out = lab.run(seed=0, quick=True)
    out["_restored"] = torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), state)
    return out


def test_counts_follow_the_exponential_profile():
    # n_k = 500 * 100^(-k/9): 500, 300 (= 500 * 0.5995), ..., 5; imbalance exactly 100
    counts = lab.class_counts(500)
    assert counts[0] == 500 and counts[-1] == 5 and len(counts) == 10
    for k, n in enumerate(counts):
        assert n == round(500 * math.exp(-k * math.log(100) / 9))
    assert all(a > b for a, b in itertools.pairwise(counts))


def test_data_is_long_tailed_for_training_and_balanced_for_testing():
    x_tr, y_tr, x_te, y_te = lab.make_data(0, 500, 30)
    assert torch.bincount(y_tr, minlength=10).tolist() == lab.class_counts(500)
    assert torch.bincount(y_te, minlength=10).tolist() == [30] * 10
    assert x_tr.shape == (len(y_tr), lab.FEATURES) and x_te.shape == (300, lab.FEATURES)
    again = lab.make_data(0, 500, 30)
    assert torch.equal(again[0], x_tr) and not torch.equal(lab.make_data(1, 500, 30)[0], x_tr)


def test_drw_weights_by_hand():
    # effective number (1 - b^n) / (1 - b), weight its inverse, normalised to sum to C
    w = lab.drw_weights(torch.tensor([100, 1]), beta=0.9)
    raw = [0.1 / (1 - 0.9**100), 0.1 / (1 - 0.9)]
    want = [2 * r / sum(raw) for r in raw]
    assert w.tolist() == pytest.approx(want, rel=1e-6)


def test_every_loss_is_reported_with_consistent_summaries(result):
    assert set(result["losses"]) == set(lab.LOSSES)
    assert result["imbalance"] == "100:1" and result["train_counts"] == lab.class_counts(500)
    for name, m in result["losses"].items():
        acc = m["per_class_accuracy"]
        assert len(acc) == 10 and all(0.0 <= a <= 1.0 for a in acc)
        assert m["balanced_accuracy"] == pytest.approx(sum(acc) / 10)
        assert m["tail_accuracy"] == pytest.approx(sum(acc[-3:]) / 3)
        assert m["head_accuracy"] == pytest.approx(sum(acc[:3]) / 3)
        assert m["balanced_accuracy"] > 0.3, name  # ten classes: chance is 0.1
    json.dumps(result)


def test_cross_entropy_favours_the_head(result):
    # the bias the count-aware losses correct: plain CE is far better on frequent than on rare classes
    ce = result["losses"]["cross-entropy"]
    assert ce["head_accuracy"] > ce["tail_accuracy"] + 0.2


def test_run_leaves_global_state_alone(result):
    assert result["_restored"]


def test_headline_conclusions_and_plot(result, tmp_path):
    claim, holds = lab.headline(result)
    assert "balanced softmax" in claim and "LDAM-DRW" in claim and isinstance(holds, bool)
    c = lab.conclusions(result)
    assert c["criterion"].startswith("holds when")
    assert f"{result['losses']['cross-entropy']['balanced_accuracy']:.3f}" in c["recommendation"]
    paths = lab.plot(result, tmp_path)
    assert [p.name for p in paths] == list(c["captions"])
    assert paths[0].stat().st_size > 5000


def test_headline_fails_when_the_numbers_do_not_support_it(result):
    flat = json.loads(json.dumps(result))
    for k in lab.CLAIMED:
        flat["losses"][k] = dict(flat["losses"]["cross-entropy"])
    _, holds = lab.headline(flat)
    assert not holds
