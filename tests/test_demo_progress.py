"""`losskit demo` without a terminal: one plain, flushed line per experiment as it starts and as it ends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


SLOW_FAKE = """
import time

def run(seed, quick):
    time.sleep(3.0)  # long enough to see the start line arrive while it runs
    return {"score": 0.75}

def headline(result):
    return f"score {result['score']:.2f} above 0.5", result["score"] > 0.5

def plot(result, out_dir):
    from pathlib import Path
    path = Path(out_dir) / "slow.png"
    path.write_bytes(b"x")
    return [path]
"""

# `losskit demo` with the registry holding one slow fake experiment (the pipe logic is what is tested;
# tests/test_packaging.py pipes a real experiment from the installed wheel)
DRIVER = """
import sys
from losskit.cli import demo, main
demo.EXPERIMENTS[:] = [demo.Experiment("slow", "Slow fake experiment", "slow_fake_exp", "q?")]
raise SystemExit(main(["demo", "--quick", "--out", sys.argv[1]]))
"""


def test_piped_demo_prints_a_line_as_each_experiment_starts_and_ends(tmp_path):
    (tmp_path / "slow_fake_exp.py").write_text(SLOW_FAKE)
    path = os.pathsep.join([str(SRC), str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "out")],
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
    assert first.strip() == "[1/1] Slow fake experiment: started", (first, err)
    assert still_running
    assert proc.returncode == 0, err
    done = rest.splitlines()[0]
    assert re.fullmatch(
        r"\[1/1\] Slow fake experiment: done in \d+\.\d s, claim holds: score 0\.75 above 0\.5", done
    ), done
    assert float(done.split("done in ")[1].split(" s")[0]) >= 3.0  # the elapsed time is the run's
    assert "\x1b[" not in first + rest  # no terminal control codes in a log
    assert "report:" in rest


def test_unknown_experiment_is_a_one_line_error(tmp_path, capsys):
    from losskit.cli import main

    assert main(["demo", "--quick", "--only", "imbalance", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment(s) ['imbalance']" in err and "imbalanced" in err


FAKE = """
def run(seed, quick):
    return {"score": 0.5 + 0.1 * seed, "per_loss": {"a": {"x": 1.0}, "b": {"x": 2.0}}}

def headline(result):
    return f"score {result['score']:.2f} > 0.55", result["score"] > 0.55

def plot(result, out_dir):
    from pathlib import Path
    path = Path(out_dir) / "fake.png"
    path.write_bytes(b"not really a png")
    return [path]
"""


def test_an_experiment_registers_with_one_entry_and_several_seeds_show_the_spread(tmp_path, monkeypatch):
    """The registration contract: a module with run / headline / plot (conclusions optional) and one
    Experiment entry; with several seeds the claim holds only if it holds for each, and each is listed."""
    import sys

    from losskit.cli import demo

    (tmp_path / "fake_lab_exp.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(demo, "EXPERIMENTS", [demo.Experiment("fake", "Fake", "fake_lab_exp", "q?", seeds=3)])
    lines: list[str] = []
    out = tmp_path / "out"
    # a quick run uses one seed: seed 1 gives 0.6 > 0.55
    one = demo.run_lab(out, quick=True, seed=1, log=lines.append)["experiments"]["fake"]
    assert one["holds"] and len(one["seed_runs"]) == 1 and one["recommendation"] == ""
    # a full run uses the experiment's 3 seeds: 0 -> 0.50 fails, 1 and 2 hold
    lines.clear()
    exp = demo.run_lab(out, quick=False, seed=0, log=lines.append)["experiments"]["fake"]
    assert [r["holds"] for r in exp["seed_runs"]] == [False, True, True]
    assert not exp["holds"] and exp["result"]["score"] == 0.5  # tables and figures: the first seed's
    assert (
        lines[-2].startswith("[1/1] Fake: done in") and "claim does NOT hold (in 2 of 3 seeds)" in lines[-2]
    )
    page = (out / "index.html").read_text()
    assert "the claim for each of 3 seeds" in page and "score 0.70 &gt; 0.55" in page
    assert "<td class='no'>does not hold</td>" in page
    assert "in 2 of 3 seeds" in demo.summary({"quick": False, "experiments": {"fake": exp}})
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        demo.run_lab(out, quick=True, seeds=0)
    sys.modules.pop("fake_lab_exp", None)
