"""The wheel as a new user gets it: built, installed into a clean venv with torch only, then with the lab extra.

Slow: a fresh venv and a torch install from the local wheel cache (torch's CUDA build: ~5 GB written) took
363 s inside the full `-n 2` suite on the shared 2-core machine at load average ~13 (2026-12-02), most of it
the torch install. So it is one test function (xdist runs it once, on one worker, beside the rest of the
suite) with a timeout on every step, marked ``slow`` (``-m "not slow"`` skips it locally; CI runs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import losskit

ROOT = Path(__file__).resolve().parents[1]
TORCH = next(
    line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines() if line.startswith("torch==")
)


def _run(
    cmd: list[str], timeout: float, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def _ten_lines() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Ten lines\s*\n\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its '## Ten lines' python block"
    return match.group(1)


@pytest.mark.slow
def test_wheel_in_a_clean_venv(tmp_path):
    t0 = last = time.perf_counter()
    steps: list[str] = []

    def step(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        steps.append(f"{name} {now - last:.0f} s")
        last = now

    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    try:
        # 1. build the wheel (hatchling in an isolated build env, as `pip install .` would)
        proc = _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], 300, work
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        (wheel,) = dist.glob("losskit-*.whl")
        assert wheel.name.startswith(f"losskit-{losskit.__version__}-py3-none-any")
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
        assert "losskit/lab/imbalanced.py" in names and not any(n.startswith("tests/") for n in names)
        assert "losskit/py.typed" in names, "the PEP 561 marker must ship: type checkers read losskit's hints"
        assert "License-Expression: MIT" in meta
        assert "Author: losskit contributors" in meta
        assert "Provides-Extra: lab" in meta and "Provides-Extra: cli" in meta
        assert re.search(r"Requires-Dist: scikit-learn.*extra == .lab.", meta)
        step("build")
        assert "Classifier: Programming Language :: Python :: 3.11" in meta
        # the long description is shown on an index page: no relative links that would break there
        long_description = meta.split("\n\n", 1)[1]
        relative = re.findall(r"\]\((?!https?://|#)([^)]+)\)", long_description)
        assert not relative, f"relative links in the long description: {relative}"

        # 2. a clean venv (no system site-packages) with torch only, from the local wheel cache
        assert _run([sys.executable, "-m", "venv", str(venv)], 120, work).returncode == 0
        py = str(venv / "bin" / "python")
        cli = str(venv / "bin" / "losskit")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        proc = _run([py, "-m", "pip", "install", "-q", TORCH], 400, work, env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        proc = _run([py, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], 120, work, env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        step("venv + torch + wheel")

        # `import losskit` and the README's ten lines, verbatim, from the installed wheel
        proc = _run([py, "-c", _ten_lines() + "\nprint(losskit.__file__)"], 120, work, env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        printed, where = proc.stdout.splitlines()
        assert re.fullmatch(r"tensor\([0-9.e+-]+\)", printed), proc.stdout  # the finite focal value
        assert where.startswith(str(venv))  # the installed wheel, not the source tree
        proc = _run([cli, "--version"], 60, work, env)
        assert (proc.returncode, proc.stdout.strip()) == (0, f"losskit {losskit.__version__}")

        # without the extras: one line naming the extra, no traceback, exit status 2
        for cmd, extra, missing in (
            (["demo", "--quick"], "lab", "numpy, scikit-learn, matplotlib"),
            (["plot", "focal"], "cli", "matplotlib"),
        ):
            proc = _run([cli, *cmd], 120, work, env)
            assert proc.returncode == 2, proc.stderr
            # (torch itself warns "Failed to initialize NumPy" on import when numpy is absent; losskit's
            # own message is the last line, and the only one from losskit)
            assert "Traceback" not in proc.stderr, proc.stderr
            final = proc.stderr.strip().splitlines()[-1]
            assert final.startswith("losskit: "), proc.stderr
            assert f'(missing: {missing}); install it with: pip install "losskit[{extra}]"' in final
        step("torch-only checks")

        # 3. the lab extra: every lab module imports, the digits data set ships with scikit-learn, and the
        # demo runs an experiment end to end (the full quick lab runs in test_demo.py)
        proc = _run(
            [py, "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), f"{wheel}[lab]"],
            400,
            work,
            env,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        step("lab extra")
        import_all = (
            "import importlib, pkgutil, losskit.lab as L\n"
            "[importlib.import_module(f'losskit.lab.{m.name}') for m in pkgutil.iter_modules(L.__path__)]\n"
            "import sklearn.metrics, sklearn.model_selection\n"
            "from sklearn.datasets import load_digits; assert load_digits().data.shape == (1797, 64)"
        )
        proc = _run([py, "-c", import_all], 120, work, env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        proc = _run(
            [cli, "demo", "--quick", "--only", "imbalanced", "--out", str(work / "lab")], 400, work, env
        )
        assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: a claim did not hold, still a report
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert (work / "lab" / "index.html").stat().st_size > 10_000
        assert "[1/1] Imbalanced classification: done in" in proc.stdout
        step("lab checks")
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # several GB: do not leave it in pytest's basetemp
    print(f"test_wheel_in_a_clean_venv: {time.perf_counter() - t0:.0f} s ({', '.join(steps)})")


def test_long_description_has_no_relative_links():
    """README.md is the wheel's long description, shown on an index page where a relative link breaks.

    The fast twin of the check inside the slow wheel test: Markdown links and images, reference-style
    definitions and HTML ``href``/``src`` must be absolute (or in-page anchors)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    absolute = r"(?!https?://|mailto:|#)"
    found = re.findall(rf"\]\({absolute}([^)\s]+)", text)  # [text](target) and ![alt](target)
    found += re.findall(rf"^\s*\[[^\]]+\]:\s*{absolute}(\S+)", text, re.M)  # [ref]: target
    found += re.findall(rf"\b(?:href|src)=[\"']{absolute}([^\"']+)", text)
    assert not found, f"relative links in README.md (the long description): {found}"
    meta = re.search(r'^readme = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert meta and meta.group(1) == "README.md"  # the file checked here is the one the wheel ships


def test_make_installs_in_layers(tmp_path):
    """`make demo` installs the lab extra only; `make test` then adds its extras to the same .venv, once."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)

    def dry(target: str) -> str:
        proc = _run(["make", "-n", target], 60, tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    fresh = dry("demo")
    assert "python3 -m venv .venv" in fresh  # bootstraps from the machine's Python
    assert '-m pip install -q -c constraints.txt -e ".[lab]"' in fresh
    # neither the test nor the docs extra (pytest's tmp_path has "test" in it: look at the commands)
    commands = [line for line in fresh.splitlines() if not line.startswith("make[")]
    assert not any(re.search(r"\b(test|docs)\b|installed-(test|docs)", c) for c in commands), fresh
    # pretend the venv and the lab layer are installed
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("#!/bin/sh\n")
    (tmp_path / ".venv" / "bin" / "python").chmod(0o755)
    stamp = next(
        line.split()[-1] for line in fresh.splitlines() if line.startswith("touch .venv/.installed-lab-")
    )
    (tmp_path / stamp).touch()
    again = dry("demo")
    assert "pip install" not in again and "venv" not in again.replace(".venv/", "")
    test = dry("pytest")
    assert '-e ".[lab,test,docs]"' in test and "-m venv" not in test
    assert "rm -f .venv/.installed-test-*" in test  # a stale test stamp (older pyproject) is replaced
    # editing pyproject.toml changes the checksum in the stamp names: every layer re-runs
    with open(tmp_path / "pyproject.toml", "a") as fh:
        fh.write("\n# edited\n")
    assert '-e ".[lab]"' in dry("demo")
