"""The DIoU paper's simulation (SPEC §3.1) on a small subsample: published shape of the result.

Two update rules are checked. With losskit's exact gradients (autograd) the IoU loss stalls at the published
≈ 5.9e6 total error and every loss with a distance or enclosing-box penalty ends orders of magnitude lower,
CIoU lowest. The published GIoU ≈ 1.5e6 versus DIoU/CIoU ≈ 4e3 gap is reproduced by the authors' update rules
(``gradients="authors"``, see the module docstring for why the two differ).
"""

from __future__ import annotations

import pytest

from losskit.lab.diou_simulation import (
    FULL_CASES,
    PAPER_FINAL_ERROR,
    format_table,
    make_cases,
    run,
    step_size,
)

N_CASES = 2500


@pytest.fixture(scope="module")
def exact() -> dict:
    return run(("iou", "giou", "diou", "ciou"), n_cases=N_CASES, seed=1)


@pytest.fixture(scope="module")
def authors() -> dict:
    return run(("iou", "giou", "diou", "ciou"), n_cases=N_CASES, seed=1, gradients="authors")


def test_cases_and_schedule() -> None:
    a, g = make_cases(None)
    assert a.shape == g.shape == (FULL_CASES, 4) == (1_715_000, 4)
    # targets: area 1 at (10, 10); anchors: centres in the disc of radius 3, areas from the 7 scales
    assert ((g[:, 2] * g[:, 3] - 1).abs() < 1e-12).all() and (g[:, :2] == 10).all()
    assert (((a[:, :2] - 10) ** 2).sum(1) <= 9 + 1e-9).all()
    assert sorted({round(float(v), 6) for v in (a[:, 2] * a[:, 3]).unique()}) == [
        0.5,
        0.67,
        0.75,
        1.0,
        1.33,
        1.5,
        2.0,
    ]
    assert [step_size(t, 200) for t in (1, 160, 161, 180, 181, 200)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]


def test_exact_gradients_ordering(exact: dict) -> None:
    final = exact["final"]
    # IoU loss stalls where the paper says: non-overlapping anchors get no gradient at all
    assert 5.0e6 < final["iou"] < 7.0e6
    # every penalised loss ends far lower, and CIoU's aspect-ratio term makes it the best
    for name in ("giou", "diou", "ciou"):
        assert final[name] < final["iou"] / 50, (name, final)
    assert final["ciou"] < min(final["giou"], final["diou"])
    # all start from the same anchors; scaling is exact
    assert len({round(c[0]) for c in exact["curves"].values()}) == 1
    scale = exact["scale"]
    assert scale == pytest.approx(FULL_CASES / N_CASES)
    for name, curve in exact["curves"].items():
        assert curve[-1] == pytest.approx(exact["curves_unscaled"][name][-1] * scale)
        assert len(curve) == 201


def test_authors_update_rules_reproduce_the_published_ordering(authors: dict) -> None:
    final = authors["final"]
    # published: IoU ≈ 5.9e6 > GIoU ≈ 1.5e6 ≫ DIoU ≈ CIoU ≈ 4e3
    assert final["iou"] > final["giou"] > max(final["diou"], final["ciou"])
    assert final["giou"] > 10 * final["diou"] and final["giou"] > 10 * final["ciou"]
    for name, paper in PAPER_FINAL_ERROR.items():
        assert paper / 3 < final[name] < paper * 3, (name, final[name], paper)
    assert "authors gradients" in format_table(authors)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="losses must be names from"):
        run(("eiou",), n_cases=10, iterations=2, gradients="authors")
    with pytest.raises(ValueError, match="gradients must be one of"):
        run(("iou",), n_cases=10, iterations=2, gradients="numeric")
    with pytest.raises(ValueError, match="losses must be names from"):
        run(("l2",), n_cases=10, iterations=2)
