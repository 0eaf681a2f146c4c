"""`losskit demo` without a terminal: one plain, flushed line per experiment as it starts and as it ends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def test_piped_demo_prints_a_line_as_each_experiment_starts_and_ends(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "losskit", "demo", "--quick", "--only", "quantile", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        # the start line reaches the pipe while the experiment runs (flushed, not held until exit)
        still_running = proc.poll() is None
        rest, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert first.strip() == "[1/1] Quantile regression on heteroscedastic data: started", (first, err)
    assert still_running
    assert proc.returncode == 0, err
    done = rest.splitlines()[0]
    assert re.fullmatch(
        r"\[1/1\] Quantile regression on heteroscedastic data: done in \d+\.\d s, claim holds: .+", done
    ), done
    assert "\x1b[" not in first + rest  # no terminal control codes in a log
    assert "report:" in rest


def test_unknown_experiment_is_a_one_line_error(tmp_path, capsys):
    from losskit.cli import main

    assert main(["demo", "--quick", "--only", "imbalance", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment(s) ['imbalance']" in err and "imbalanced" in err
