"""The digits metric-learning demonstration (losskit.lab.embeddings): trained embeddings beat random ones.

One quick run (seed 0, about 5 s of CPU) is shared by the tests of this module.
"""

from __future__ import annotations

import pytest
import torch

from losskit.lab import embeddings as lab


@pytest.fixture(scope="module")
def result():
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    out = lab.run(seed=0, quick=True)
    # run() trains on one thread and forks the RNG: the caller's settings come back untouched
    out["_restored"] = torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), state)
    return out


def test_every_loss_and_dimension_is_reported(result):
    got = {(r["loss"], r["dim"]) for r in result["rows"]}
    assert got == {(name, d) for name in ("contrastive", "triplet", "nt_xent", "supcon") for d in (2, 16)}
    assert result["n_train"] + result["n_test"] == 1797  # every bundled digit, no download
    for r in result["rows"]:
        assert 0.0 <= r["knn_accuracy"] <= 1.0 and 0.0 <= r["random_init_accuracy"] <= 1.0


def test_trained_embeddings_beat_random_init(result):
    for r in result["rows"]:
        gain = r["knn_accuracy"] - r["random_init_accuracy"]
        # in 2-D a random projection scrambles the classes (~0.2-0.3 accuracy): training must add 0.15 or more;
        # in 16-D random ReLU features keep most pixel neighbourhoods (~0.93), so the bar is a clear gain
        need = 0.15 if r["dim"] == 2 else 0.01
        assert gain >= need, (
            f"{r['loss']} {r['dim']}-D: {r['knn_accuracy']:.3f} vs random {r['random_init_accuracy']:.3f}"
        )


def test_trained_embeddings_clear_a_floor(result):
    floors = {
        ("contrastive", 2): 0.75,
        ("triplet", 2): 0.75,
        ("supcon", 2): 0.7,
        ("nt_xent", 2): 0.3,
        ("contrastive", 16): 0.95,
        ("triplet", 16): 0.95,
        ("supcon", 16): 0.95,
        ("nt_xent", 16): 0.9,
    }
    for r in result["rows"]:
        assert r["knn_accuracy"] >= floors[(r["loss"], r["dim"])], r


def test_run_is_quick_and_leaves_global_state_alone(result):
    assert sum(r["seconds"] for r in result["rows"]) < 60.0  # ~5 s on an idle 2-core machine
    assert result["_restored"]


def test_table_lists_every_row(result):
    table = lab.format_table(result)
    assert table.count("\n") >= len(result["rows"]) + 3
    for name in ("contrastive", "triplet", "nt_xent", "supcon"):
        assert name in table


def test_knn_accuracy_by_hand():
    # two tight clusters far apart: every held-out point's 3 nearest neighbours share its class
    train = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])
    y_train = torch.tensor([0, 0, 0, 1, 1, 1])
    test = torch.tensor([[0.05, 0.05], [4.9, 5.2]])
    assert lab.knn_accuracy(train, y_train, test, torch.tensor([0, 1]), k=3) == 1.0
    assert lab.knn_accuracy(train, y_train, test, torch.tensor([1, 1]), k=3) == 0.5
    # cosine: only directions count; the point (10, 0) is nearest to class 0's direction (1, 0)
    train_c = torch.tensor([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    y_c = torch.tensor([0, 0, 1, 1])
    assert (
        lab.knn_accuracy(train_c, y_c, torch.tensor([[10.0, 0.0]]), torch.tensor([0]), k=1, metric="cosine")
        == 1.0
    )


def test_split_is_stratified_and_seeded():
    x_tr, y_tr, _, y_te = lab.load_digits_split(seed=0)
    assert torch.equal(lab.load_digits_split(seed=0)[0], x_tr)
    assert not torch.equal(lab.load_digits_split(seed=1)[0], x_tr)
    assert x_tr.shape[1] == 64 and float(x_tr.max()) <= 1.0 and float(x_tr.min()) >= 0.0
    for c in range(10):
        n_te, n_all = int((y_te == c).sum()), int((y_te == c).sum() + (y_tr == c).sum())
        assert abs(n_te - 0.3 * n_all) <= 1
