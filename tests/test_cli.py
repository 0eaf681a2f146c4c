"""The `losskit` command: list, plot (every loss), argument errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from matplotlib.figure import Figure

import losskit
from losskit.cli import main
from losskit.cli.catalog import rows
from losskit.cli.plotting import curves, plot_loss
from tests._figure_audit import problems


def test_list_names_every_loss_with_family_module_and_description(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in losskit.available():
        assert name in out
    by_name = {r.name: r for r in rows()}
    assert by_name["sigmoid_focal"].module == "SigmoidFocalLoss"
    assert by_name["sigmoid_focal"].family == "classification"
    assert "Lin, Goyal, Girshick" in by_name["sigmoid_focal"].paper
    assert all(r.summary for r in by_name.values())


@pytest.mark.parametrize("name", losskit.available())
def test_every_loss_has_finite_plot_curves(name):
    data = curves(name, points=25)
    for panel in data["panels"]:
        assert len(panel["series"]) >= 1
        for _, loss, grad in panel["series"]:
            assert loss.shape == panel["x"].shape
            assert torch.isfinite(loss).all() and torch.isfinite(grad).all()


def test_plot_writes_png_and_svg(tmp_path):
    png = plot_loss("focal", tmp_path / "focal.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_loss("huber", tmp_path / "huber.svg", {"delta": 2.0})
    assert b"<svg" in svg.read_bytes()[:400]


@pytest.mark.parametrize(
    "names",
    [["sigmoid_focal"], ["huber"], ["giou"], ["dice"], ["quantile"], ["contrastive"], ["dice", "tversky"]],
)
def test_plot_figures_have_axis_labels_and_legends_clear_of_the_curves(names, tmp_path, monkeypatch):
    drawn: list[list[str]] = []
    save = Figure.savefig

    def audited_save(fig, fname, *args, **kwargs):
        drawn.append(problems(fig, str(fname)))
        return save(fig, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", audited_save)
    assert (
        main(["plot", *names, *(["--compare"] if len(names) > 1 else []), "--out", str(tmp_path / "f.png")])
        == 0
    )
    assert drawn == [[]]


def test_plot_param_overrides_sweep():
    data = curves("sigmoid_focal_loss", {"gamma": 1.0}, points=11)
    assert len(data["panels"][0]["series"]) == 1


def test_bad_arguments_give_one_line_errors(tmp_path, capsys):
    assert main(["plot", "no-such-loss", "--out", str(tmp_path / "x.png")]) == 2
    assert "unknown loss 'no-such-loss'" in capsys.readouterr().err
    assert main(["plot", "focal", "--out", str(tmp_path / "x.gif")]) == 2
    assert "must end in .png or .svg" in capsys.readouterr().err
    assert main(["plot", "focal", "--param", "gamma"]) == 2


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "losskit", "list"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "cross_entropy" in proc.stdout


# --- user mistakes: one line on stderr, exit status 2, a suggestion where one exists -------------------


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_misspelt_param_suggests_the_option(tmp_path, capsys):
    assert main(["plot", "focal", "--param", "gama=1", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    _no_traceback(err)
    assert "no option 'gama'; did you mean gamma?" in err


def test_bad_param_values_are_one_line_errors(tmp_path, capsys):
    for bad in ("gamma=-1", "gamma=abc"):
        assert main(["plot", "focal", "--param", bad, "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        _no_traceback(err)
        assert err.startswith("losskit: sigmoid_focal_loss: gamma must be"), err


def test_unknown_loss_suggests_and_lists_aliases(capsys):
    assert main(["info", "focl"]) == 2
    err = capsys.readouterr().err
    _no_traceback(err)
    assert "did you mean 'focal' (sigmoid_focal)?" in err
    assert "cross_entropy (ce, nll)" in err and "sigmoid_focal (focal)" in err
    with pytest.raises(ValueError, match=r"sigmoid_focal \(focal\)"):
        losskit.get("no_such_loss")


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"losskit {losskit.__version__}"


def test_list_shows_aliases_and_json():
    import json

    by_name = {r.name: r for r in rows()}
    assert by_name["cross_entropy"].aliases == ("ce", "nll")
    proc = subprocess.run(
        [sys.executable, "-m", "losskit", "list", "--json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    data = {d["name"]: d for d in json.loads(proc.stdout)}
    assert set(data) == set(losskit.available())
    assert (
        data["sigmoid_focal"]["aliases"] == ["focal"]
        and data["sigmoid_focal"]["module"] == "SigmoidFocalLoss"
    )
    assert main(["list"]) == 0


def test_list_and_info_have_no_raw_latex(capsys):
    import re

    from losskit.cli.catalog import info, plain

    raw = re.compile(r"[\\$]|[_^]\{")  # a command, a math delimiter or a braced sub/superscript
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert not raw.search(out), raw.search(out)
    assert not [r.summary for r in rows() if "  " in r.summary]  # no double space left by a dropped \,
    for name in losskit.available():
        data = info(name)
        texts = [data["summary"], data["formula"], *(o["doc"] for o in data["options"].values())]
        assert not any(raw.search(t) for t in texts), (name, [t for t in texts if raw.search(t)])
    # hand-written conversions: scripts keep one-token groups bare, fractions drop needless parentheses
    assert plain(r"D_{KL}(p \,\|\, q)") == "D_KL(p ‖ q)"
    assert plain(r"e^{-y f}") == "e^(-y f)" and plain(r"L^{sup}_{out}") == "L^sup_out"
    assert (
        plain(r"\frac{1}{N} \sum_{i} x_i") == "1/N Σ_i x_i" and plain(r"\frac{a + b}{|C|}") == "(a + b)/|C|"
    )
    assert plain(r"\lambda\, \mathrm{diou}") == "λ diou" and plain(r"a \rightarrow b") == "a → b"


def test_info_prints_formula_defaults_paper_and_peers(capsys):
    assert main(["info", "focal"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sigmoid_focal  (aliases: focal)")
    assert "ℓ = -α_t (1 - p_t)^γ log p_t" in out  # the docstring's formula, as plain text
    assert "gamma=2.0" in out and "alpha=0.25" in out and "reduction='mean'" in out
    assert "Lin, Goyal, Girshick, He, Dollár, Focal Loss for Dense Object Detection, ICCV 2017" in out
    assert "torchvision.ops.sigmoid_focal_loss" in out
    assert main(["info", "huber", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["options"]["delta"]["default"] == "1.0" and data["function"] == "losskit.huber_loss"


def test_plot_compare_draws_one_curve_per_loss(tmp_path, capsys):
    out = tmp_path / "cmp.png"
    assert main(["plot", "mse", "l1", "huber", "--compare", "--param", "delta=2", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", "mse", "focal", "--compare", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    _no_traceback(err)
    assert "plotted against different quantities" in err
    assert main(["plot", "mse", "l1", "--out", str(out)]) == 2
    assert "need --compare" in capsys.readouterr().err


def test_plot_without_matplotlib_names_the_extra(tmp_path):
    # sys.modules[name] = None makes the import (and find_spec) fail as if the package were not installed
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from losskit.cli import main\n"
        f"raise SystemExit(main(['plot', 'focal', '--out', {str(tmp_path / 'x.png')!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    _no_traceback(proc.stderr)
    assert "needs the 'cli' extra (missing: matplotlib)" in proc.stderr
    assert 'pip install "losskit[cli]"' in proc.stderr


def test_demo_without_the_lab_extra_names_it(tmp_path):
    # (numpy stays importable: torch warns when it is hidden; the wheel test covers a venv without it)
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from losskit.cli import main\n"
        f"raise SystemExit(main(['demo', '--quick', '--out', {str(tmp_path)!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    _no_traceback(proc.stderr)
    assert "needs the 'lab' extra (missing: scikit-learn)" in proc.stderr
    assert 'pip install "losskit[lab]"' in proc.stderr


# --- bench: spread and flags -----------------------------------------------------------------------------


def test_bench_flags_disagreeing_repeats_and_impossible_ratios():
    from benchmarks.harness import Case, flags, report

    steady = {
        "fwd_ms": 1.0,
        "fwdbwd_ms": 2.0,
        "fwd_min_ms": 0.9,
        "fwd_max_ms": 1.1,
        "fwdbwd_min_ms": 1.9,
        "fwdbwd_max_ms": 2.2,
        "peak_mb": 1.0,
    }
    assert flags(steady) == []
    noisy = {**steady, "fwd_max_ms": 2.5}  # 2.5 / 0.9 > 2
    assert flags(noisy) == ["fwd repeats disagree 2.8x"]
    backwards = {**steady, "fwdbwd_ms": 0.5, "fwdbwd_min_ms": 0.45, "fwdbwd_max_ms": 0.6}
    assert flags(backwards) == ["fwd+bwd < fwd"]
    case = Case("x", lambda d: ((), []), {})
    case.results = {"losskit": {**steady, "flags": []}, "peer": {**backwards, "flags": flags(backwards)}}
    text = report("t", [case], torch.device("cpu"), {})
    assert "! peer: fwd+bwd < fwd" in text and "speed ratios withheld" in text
    assert "0.900-1.100 / 1.900-2.200" in text  # min-max of the repeats next to the median
    assert "1 case(s) flagged" in text


def test_bench_unknown_family_is_a_one_line_error(capsys):
    assert main(["bench", "--only", "clasification"]) == 2
    err = capsys.readouterr().err
    _no_traceback(err)
    assert "unknown family ['clasification']" in err


def test_the_figure_audit_catches_a_covered_line_and_a_missing_label():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.5, 0.5], label="flat line under the legend")
    ax.legend(loc="center")
    ax.set_xlabel("x")
    found = problems(fig, "bad.png")
    plt.close(fig)
    assert any("legend covers" in p for p in found) and any("no y label" in p for p in found)


def test_info_describes_every_option_and_follows_as_in_pointers():
    from losskit.cli.catalog import info

    # every keyword option of every loss gets its description, including entries whose names wrap onto a
    # second docstring line (the segmentation losses) and descriptions that start on the next line (lovasz)
    empty = [(n, k) for n in losskit.available() for k, v in info(n)["options"].items() if not v["doc"]]
    assert empty == []
    ft = info("focal_tversky")["options"]
    # "as in :func:`tversky_loss`" is followed to tversky's own text, then on to dice_loss's
    assert ft["alpha"]["doc"].startswith("weight of false positives") and ft["alpha"]["doc"].endswith(
        "(as in tversky_loss)"
    )
    assert ft["input_type"]["doc"].startswith('"logits" (default)')
    assert ft["input_type"]["doc"].endswith("(as in tversky_loss → dice_loss)")
    w = info("focal")["options"]["weight"]["doc"]
    assert w.startswith("elementwise weight") and "(as in binary_cross_entropy; the smoothing" in w


def test_info_peers_are_other_libraries_losses_not_infrastructure():
    from losskit.cli.catalog import info

    named = {p for n in losskit.available() for p in info(n)["peers"]}
    assert "torchvision.ops.sigmoid_focal_loss" in info("focal")["peers"]
    assert "torch.nn.HuberLoss" in info("huber")["peers"]
    assert not {p for p in named if p.startswith(("torch.distributed", "torch.compile"))}, named


def test_bench_help_and_misspelt_family_suggestion(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    helptext = capsys.readouterr().out
    assert "--quick            small sizes" in helptext
    assert main(["bench", "--only", "clasification"]) == 2
    assert "did you mean classification?" in capsys.readouterr().err


def test_info_gives_a_formula_for_every_loss_that_has_one():
    from losskit.cli.catalog import info

    # a docstring without a display block gives its summary's inline formula
    assert info("brier_score")["formula"] == "Σ_k (p_k - y_k)^2"
    assert info("hinge")["formula"] == "max(0, Δ - y f)"
    # ohem_cross_entropy is a selection rule over cross_entropy: its docstring has no formula
    assert [n for n in losskit.available() if not info(n)["formula"]] == ["ohem_cross_entropy"]


def test_bench_json_merges_each_family_on_stdout(monkeypatch, capsys):
    import json

    import losskit.cli as cli

    calls = []

    def fake_call(cmd, cwd, stdout):  # each benchmark script writes its --json file; tables go to stderr
        calls.append(cmd)
        path = cmd[cmd.index("--json") + 1]
        with open(path, "w") as fh:
            json.dump({"title": cmd[2], "cases": {}}, fh)
        assert stdout is sys.stderr
        return 0

    monkeypatch.setattr(cli.subprocess, "call", fake_call)
    assert main(["bench", "--quick", "--only", "boxes", "regression", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "boxes": {"title": "benchmarks.bench_boxes", "cases": {}},
        "regression": {"title": "benchmarks.bench_regression", "cases": {}},
    }
    assert "[1/2] bench boxes ..." in err and "[2/2] bench regression ..." in err  # progress on stderr
    assert all("--quick" in c for c in calls)
