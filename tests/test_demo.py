"""`losskit demo --quick`: the report is produced and every experiment's headline claim holds.

This is the loss lab's end-to-end check: ten experiments on generated or bundled data, their numbers in
results.json, an offline index.html with embedded figures, and the claims the docs rely on
(focal beats CE on minority recall, DIoU beats GIoU by > 10x, ...)."""

from __future__ import annotations

import json

import pytest
from matplotlib.figure import Figure

from losskit.cli import main
from tests._figure_audit import problems

FIGURE_PROBLEMS: list[str] = []


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    save = Figure.savefig

    def audited_save(fig, fname, *args, **kwargs):  # audit every figure the lab writes, as it is written
        FIGURE_PROBLEMS.extend(problems(fig, str(fname).rsplit("/", 1)[-1]))
        return save(fig, fname, *args, **kwargs)

    Figure.savefig = audited_save  # type: ignore[method-assign]
    try:
        status = main(["demo", "--quick", "--out", str(out)])
    finally:
        Figure.savefig = save  # type: ignore[method-assign]
    return out, status, json.loads((out / "results.json").read_text())


def test_every_figure_has_axis_labels_and_legends_clear_of_the_data(report):
    assert report[2]["experiments"]  # the audit ran over the lab's figures
    assert FIGURE_PROBLEMS == []


def test_demo_writes_an_offline_report(report):
    out, _, results = report
    html = (out / "index.html").read_text()
    assert set(results["experiments"]) == {
        "imbalanced",
        "bimodal",
        "boxes",
        "segmentation",
        "distributed_dice",
        "quantile",
        "embeddings",
        "distributed_contrastive",
        "language_model",
        "long_tail",
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
        "imbalanced",
        "bimodal",
        "boxes",
        "segmentation",
        "distributed_dice",
        "quantile",
        "embeddings",
        "distributed_contrastive",
        "language_model",
        "long_tail",
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
    assert (
        max(imb["focal γ=1"]["minority_recall"], imb["focal γ=2"]["minority_recall"])
        > imb["cross-entropy"]["minority_recall"]
    )
    q = e["quantile"]["result"]["interval_80"]["quantile"]
    assert all(abs(v - 0.8) < 0.06 for v in q.values())


def test_every_experiment_concludes(report):
    out, _, results = report
    html = (out / "index.html").read_text()
    for key, exp in results["experiments"].items():
        assert exp["criterion"].startswith("holds when"), key
        assert len(exp["recommendation"]) > 60, key  # a sentence a reader can act on
        assert set(exp["captions"]) == set(exp["figures"]), key  # every figure says what to see
        assert f"<b>Recommendation:</b> {exp['recommendation'][:40]}" in html.replace("&#x27;", "'")
    assert html.count("<figcaption>") == sum(len(e["figures"]) for e in results["experiments"].values())
    assert "Choosing a loss" in html
    assert "key: value" not in html and ", minority_recall:" not in html  # tables, not flattened dicts


def test_report_tables_are_tables_and_failed_claims_are_red(tmp_path):
    from losskit.cli.demo import render_html, summary, tables

    result = {
        "n": 3,
        "losses": {"a": {"x": 0.5, "curve": [1.0, 2.0]}, "b": {"x": 0.25, "curve": [3.0]}},
        "rows": [{"loss": "a", "dim": 2, "acc": 0.9}],
    }
    got = {caption: (head, rows) for caption, head, rows in tables(result)}
    assert got["losses"] == (["", "x"], [["a", "0.5"], ["b", "0.25"]])  # the curve column is left out
    assert got["rows"] == (["loss", "dim", "acc"], [["a", "2", "0.9"]])
    assert got["settings and totals"] == (["", "value"], [["n", "3"]])
    results = {
        "quick": True,
        "seed": 0,
        "env": {"torch": "x", "threads": 1},
        "experiments": {
            "e": {
                "title": "E",
                "question": "q?",
                "claim": "c",
                "holds": False,
                "criterion": "holds when c",
                "against": ["not c"],
                "recommendation": "do r",
                "captions": {},
                "seconds": 1.0,
                "figures": [],
                "result": result,
            }
        },
    }
    page = render_html(results, tmp_path)
    assert (
        "<td class='no'>does not hold</td>" in page and "<span class='no'>Claim does not hold:</span>" in page
    )
    assert "<li>not c</li>" in page
    assert "claim does NOT hold" in summary(results) and "→ do r" in summary(results)


def test_seed_spread_table_shows_median_min_max_and_renders(tmp_path):
    from losskit.cli.demo import render_html, spread

    seeds = [{"n": 3, "losses": {"a": {"x": v, "y": 1.0}}} for v in (0.5, 0.25, 0.75)]
    (t,) = spread(seeds, [0, 1, 2])  # "n" is the same for every seed: no settings table
    assert t["caption"] == "losses: median (min–max) over seeds 0, 1, 2"
    assert t["header"] == ["", "x", "y"] and t["rows"] == [["a", "0.5 (0.25–0.75)", "1"]]
    assert spread(seeds[:1], [0]) == []
    results = {
        "quick": False,
        "seed": 0,
        "env": {"torch": "x", "threads": 1},
        "experiments": {
            "e": {
                "title": "E",
                "question": "q?",
                "claim": "c",
                "holds": True,
                "seconds": 1.0,
                "figures": [],
                "result": seeds[0],
                "spread": [t],
            }
        },
    }
    assert "<caption>losses: median (min–max) over seeds 0, 1, 2</caption>" in render_html(results, tmp_path)
    assert "<td>0.5 (0.25–0.75)</td>" in render_html(results, tmp_path)


def test_report_links_to_choosing_a_loss_inside_the_docs_site(tmp_path):
    from losskit.cli.demo import render_html

    results = {
        "quick": True,
        "seed": 0,
        "env": {"torch": "x", "threads": 1},
        "experiments": {
            "e": {
                "title": "E",
                "question": "q?",
                "claim": "c",
                "holds": True,
                "seconds": 1.0,
                "figures": [],
                "result": {"n": 1},
            }
        },
    }
    lab = tmp_path / "docs" / "assets" / "lab"
    lab.mkdir(parents=True)
    # `make docs` writes the report to docs/assets/lab/: the site serves it two folders below choosing.html
    assert "<a href='../../choosing.html'>Choosing a loss</a>" in render_html(results, lab)
    standalone = render_html(results, tmp_path)  # `losskit demo --out anywhere`: no site around it
    assert (
        "choosing.html" not in standalone
        and "Choosing a loss" in standalone
        and "docs/choosing.md" in standalone
    )
