"""`losskit demo --quick`: the report is produced and every experiment's headline claim holds.

This is the loss lab's end-to-end check: seven experiments on generated or bundled data, their numbers in
results.json, an offline index.html with embedded figures, and the claims the docs rely on
(focal beats CE on minority recall, DIoU beats GIoU by > 10x, ...)."""

from __future__ import annotations

import json

import pytest

from losskit.cli import main


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    status = main(["demo", "--quick", "--out", str(out)])
    return out, status, json.loads((out / "results.json").read_text())


def test_demo_writes_an_offline_report(report):
    out, _, results = report
    html = (out / "index.html").read_text()
    assert set(results["experiments"]) == {
        "imbalanced", "bimodal", "boxes", "segmentation", "distributed_dice", "quantile", "embeddings",
        "distributed_contrastive",
    }
    for key, exp in results["experiments"].items():
        assert exp["figures"], f"{key} drew no figure"
        for fig in exp["figures"]:
            assert (out / fig).stat().st_size > 5000
        assert f"id='{key}'" in html
    assert html.count("data:image/png;base64,") >= len(results["experiments"])
    assert "http://" not in html and "https://" not in html  # self-contained, viewable offline


@pytest.mark.parametrize(
    "key",
    [
        "imbalanced", "bimodal", "boxes", "segmentation", "distributed_dice", "quantile", "embeddings",
        "distributed_contrastive",
    ],
)
def test_headline_claim_holds(report, key):
    _, _, results = report
    exp = results["experiments"][key]
    assert exp["holds"], exp["claim"]


def test_demo_exit_status_reflects_claims(report):
    _, status, results = report
    assert status == (0 if all(e["holds"] for e in results["experiments"].values()) else 1)


def test_specific_numbers(report):
    _, _, results = report
    e = results["experiments"]
    imb = e["imbalanced"]["result"]["losses"]
    assert max(imb["focal γ=1"]["minority_recall"], imb["focal γ=2"]["minority_recall"]) > \
        imb["cross-entropy"]["minority_recall"]
    q = e["quantile"]["result"]["interval_80"]["quantile"]
    assert all(abs(v - 0.8) < 0.06 for v in q.values())
