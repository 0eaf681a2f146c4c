"""The `losskit` command: list, plot (every loss), argument errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import losskit
from losskit.cli import main
from losskit.cli.catalog import rows
from losskit.cli.plotting import curves, plot_loss


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
    proc = subprocess.run([sys.executable, "-m", "losskit", "list"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "cross_entropy" in proc.stdout
