"""The bimodal / periodic regression demonstration (losskit.lab.bimodal): its headline claims, with margins.

Claims (note 001, the issue): on y = ±1 with equal probability, MSE predicts about 0 (the mean, between the
modes) and so does Huber; multi-bin predicts a mode everywhere and uses both modes; L1 lands on a mode at
best. On an angle straddling ±π, L2 on the raw angle points the wrong way for many inputs; multi-bin does not.
"""

from __future__ import annotations

import json

import pytest
import torch

from losskit.lab import bimodal


@pytest.fixture(scope="module")
def results():
    threads = torch.get_num_threads()
    out = bimodal.run(seed=0, quick=True)
    assert torch.get_num_threads() == threads  # the lab restores the thread count
    return out


def test_structure_is_json_serialisable(results):
    json.dumps(results)
    assert set(results["bimodal"]) == {"mse", "l1", "huber", "multibin"}
    assert set(results["orientation"]) == {"l2_on_angle", "multibin"}
    for scores in (*results["bimodal"].values(), *results["orientation"].values()):
        assert 0.0 <= scores["within_0.1_of_a_mode"] <= 1.0


def test_mse_and_huber_predict_the_mean_between_the_modes(results):
    for name in ("mse", "huber"):
        r = results["bimodal"][name]
        assert r["within_0.1_of_a_mode"] < 0.05
        assert r["mean_abs_prediction"] < 0.4  # the modes are at distance 1


def test_multibin_recovers_both_modes(results):
    r = results["bimodal"]["multibin"]
    assert r["within_0.1_of_a_mode"] > 0.95
    assert r["near_-1"] > 0.05 and r["near_+1"] > 0.05
    assert r["within_0.1_of_a_mode"] >= results["bimodal"]["l1"]["within_0.1_of_a_mode"]
    assert r["within_0.1_of_a_mode"] > results["bimodal"]["mse"]["within_0.1_of_a_mode"] + 0.9


def test_l2_on_an_angle_fails_at_the_seam_and_multibin_does_not(results):
    l2, mb = results["orientation"]["l2_on_angle"], results["orientation"]["multibin"]
    assert l2["within_0.1_of_a_mode"] < 0.2
    assert l2["fraction_pointing_away"] > 0.25  # more than 90° off: averaging +3.1 and -3.1 gives about 0
    assert mb["within_0.1_of_a_mode"] > 0.9
    assert mb["mean_angular_error"] < 0.05


def test_table_prints_every_loss(results):
    table = bimodal._table(results)
    for name in ("mse", "l1", "huber", "multibin", "l2_on_angle"):
        assert name in table
