"""scripts/family_report.py: its line counting, its attribution rule, at HEAD and before the classification split."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRE_SPLIT = "02c527d"  # the parent of 71e0e40, which made functional/classification/ a package


def _script():
    spec = importlib.util.spec_from_file_location("family_report", ROOT / "scripts" / "family_report.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_code_lines_leave_out_blank_lines_comments_and_docstrings() -> None:
    source = (
        '"""Module\n'  # 1-2: module docstring
        'docstring."""\n'
        "\n"  # 3: blank
        "import os  # a trailing comment keeps the line\n"  # 4: code
        "# a comment line\n"  # 5
        "def f(x):\n"  # 6: code
        '    """One line."""\n'  # 7: docstring
        "    return (x +\n"  # 8-9: code over two lines
        "            1)\n"
    )
    fr = _script()
    assert fr.line_count(source) == 9
    assert fr.code_lines(source) == 4  # lines 4, 6, 8, 9


def test_attribution_at_head() -> None:
    fr = _script()
    fams, _, modules = fr.attribute("HEAD")
    pkg = "src/losskit"
    assert fams[f"{pkg}/functional/classification/binary.py"] == {"classification"}  # varifocal_loss
    assert fams[f"{pkg}/functional/sequence.py"] == {"classification"}  # ctc_loss, CTCLoss's family
    assert fams[f"{pkg}/kernels/boxes.py"] == {"boxes"}  # imported by functional/boxes.py only
    assert fams[f"{pkg}/functional/_boxes_geometry.py"] == {"boxes"}
    assert len(fams[f"{pkg}/functional/_common.py"]) > 5  # shared by nearly every family
    assert f"{pkg}/nn/base.py" not in fams and f"{pkg}/functional/__init__.py" not in fams
    assert "VarifocalLoss" in modules["classification"]


def test_attribution_before_the_classification_split() -> None:
    fr = _script()
    fams, source, _ = fr.attribute(PRE_SPLIT)
    one_file = "src/losskit/functional/classification.py"
    assert fams[one_file] == {"classification"}
    assert "def varifocal_loss" in source[one_file]
    assert not any("functional/classification/" in p for p in fams)


def test_checklist_rows_are_read_from_contributing() -> None:
    fr = _script()
    rows = fr.checklist((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"))
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(rows) + 1)] and len(rows) >= 8
    assert any(r[1] == "src/losskit/nn/<family>.py" for r in rows)


def test_command_prints_both_parts_and_rejects_an_unknown_revision() -> None:
    run = [sys.executable, str(ROOT / "scripts" / "family_report.py")]
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "Attribution rule:" in out and re.search(r"^classification: \d+ Modules, \d+ files", out, re.M)
    assert "== Files touched to add one loss (varifocal_loss)" in out and "now: the CONTRIBUTING.md" in out
    bad = subprocess.run([*run, "--rev", "no-such-rev"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "--rev 'no-such-rev' is not a commit" in bad.stderr
