"""The character-level language-model lab (losskit.lab.language_model): identical curves, memory against V.

Claims: training with losskit.linear_cross_entropy follows naive F.cross_entropy's loss curve to float32
rounding; the naive path's peak memory grows with N·V (4 bytes x N x V for the logits and as much again for
their gradient), losskit's stays a fraction of it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from losskit.lab import language_model as lm


@pytest.fixture(scope="module")
def results():
    return lm.run(seed=0, quick=True)


def test_structure_and_headline(results):
    json.dumps(results)
    claim, holds = lm.headline(results)
    assert holds, claim
    assert len(results["curves"]["naive"]) == results["steps"]


def test_identical_curves_and_learning(results):
    a, b = (np.asarray(results["curves"][k]) for k in ("naive", "losskit"))
    assert np.max(np.abs(a - b)) < 1e-4
    # a model that learned: from about log(V) down to well under half of it
    assert a[0] > 0.8 * np.log(results["vocabulary"]) and a[-1] < 0.5 * a[0]


def test_memory_grows_with_vocabulary_for_naive_only(results):
    mib, vocab = results["peak_mib"], results["memory_vocab"]
    n = results["memory_tokens"]
    # naive holds at least the float32 logits and their gradient: 2 x 4 x N x V bytes
    for v, m in zip(vocab, mib["naive"]):
        assert m * 2**20 >= 2 * 4 * n * v
    assert all(lk < 0.5 * nv for lk, nv in zip(mib["losskit"][1:], mib["naive"][1:]))
    assert "torch chunked" in mib


def test_grammar_text_is_deterministic():
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    assert lm.make_text(rng1, 20) == lm.make_text(rng2, 20)


def test_recommendation_states_the_trend_the_sweep_measured():
    base = {"vocabulary": 20, "steps": 3, "memory_vocab": [1024, 4096, 16384]}
    falling = {**base, "peak_mib": {"naive": [10.0, 40.0, 160.0], "losskit": [5.0, 8.0, 12.0]}}
    falling["memory_ratio_at_largest_vocab"] = {"naive": 12.0 / 160.0}
    rec = lm.conclusions(falling)["recommendation"]
    assert "0.07x the naive path's peak memory at V=16384" in rec
    assert "the saving grows with the vocabulary" in rec
    # a sweep whose ratio does not fall at every step: the measured ratios, no claim of a trend
    mixed = {**base, "peak_mib": {"naive": [10.0, 40.0, 160.0], "losskit": [5.0, 4.0, 80.0]}}
    mixed["memory_ratio_at_largest_vocab"] = {"naive": 0.5}
    rec = lm.conclusions(mixed)["recommendation"]
    assert "grows" not in rec and "0.50 → 0.10 → 0.50" in rec
