"""Shared Args texts (``losskit._core.docs.ARGS``): every placeholder in the source is expanded at import,
each expansion carries the table's text, the table holds no unused entry, and an unknown key fails."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import losskit
from losskit._core import docs

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "losskit"
# written here, not imported, so a change of the expander's pattern cannot hide a leftover
LEFTOVER = re.compile(r"^\s*[A-Za-z_]\w*(?:, [A-Za-z_]\w*)*: \{\w+\}\s*$", re.MULTILINE)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _public_objects() -> dict[str, object]:
    """Every loaded losskit module, the functions and classes it defines, and their members."""
    out: dict[str, object] = {}
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "losskit" or name.startswith("losskit.")):
            continue
        out[name] = mod
        for attr, obj in vars(mod).items():
            if getattr(obj, "__module__", None) != name:
                continue
            out[f"{name}.{attr}"] = obj
            if isinstance(obj, type):
                for member, value in vars(obj).items():
                    out[f"{name}.{attr}.{member}"] = getattr(value, "__func__", value)
    return out


def _source_placeholders() -> list[tuple[str, str, str, str]]:
    """(file, qualified name, argument, key) of every placeholder written in the source's docstrings."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        kinds = ast.FunctionDef | ast.ClassDef
        defs = [(node, node.name) for node in tree.body if isinstance(node, kinds)]
        defs += [
            (member, f"{node.name}.{member.name}")
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for member in node.body
            if isinstance(member, ast.FunctionDef)
        ]
        for node, qualname in defs:
            doc = ast.get_docstring(node, clean=False) or ""
            for m in LEFTOVER.finditer(doc):
                arg, key = m.group(0).strip().split(": ")
                found.append((path.name, f"{module}.{qualname}", arg, key.strip("{}")))
    return found


def test_no_placeholder_is_left_in_any_docstring() -> None:
    left = [
        f"{where}: {m.group(0).strip()}"
        for where, obj in _public_objects().items()
        if isinstance(getattr(obj, "__doc__", None), str)
        for m in LEFTOVER.finditer(obj.__doc__)  # type: ignore[arg-type]
    ]
    assert not left, "placeholders not expanded:\n" + "\n".join(left)


def test_every_placeholder_expands_to_the_table_text() -> None:
    placeholders = _source_placeholders()
    assert len(placeholders) > 200, "the family modules' docstrings use the shared texts"
    objects = _public_objects()
    wrong = []
    for file, qualname, arg, key in placeholders:
        assert qualname in objects, f"{file}: {qualname} is not loaded by import losskit"
        doc = _squash(inspect.getdoc(objects[qualname]) or "")
        if _squash(f"{arg}: {docs.ARGS[key]}") not in doc:
            wrong.append(f"{file}: {qualname} {arg}: {{{key}}}")
    assert not wrong, "placeholders whose text is not in __doc__:\n" + "\n".join(wrong)
    # the doctest examples survive the expansion: the Example section is still there, after the Args
    doc = inspect.getdoc(losskit.dice_loss) or ""
    assert doc.index("process_group: None (default, local)") < doc.index(">>> from losskit.functional")


def test_every_table_entry_is_used() -> None:
    used = {key for *_, key in _source_placeholders()}
    assert set(docs.ARGS) - used == set(), "entries of losskit._core.docs.ARGS no docstring names"


def test_expansion_wraps_like_a_hand_written_entry() -> None:
    doc = "Summary.\n\n    Args:\n        process_group: {process_group}\n            Local words.\n"
    out = docs.expand(doc, "f")
    lines = out.splitlines()
    assert lines[3].startswith("        process_group: None (default, local)")
    cont = lines[4 : lines.index("            Local words.")]
    assert cont and all(line.startswith("            ") and len(line) <= 110 for line in lines[4:])
    assert _squash(out) == _squash(
        "Summary. Args: process_group: " + docs.ARGS["process_group"] + " Local words."
    )
    # braces elsewhere (LaTeX, sets) are text, not placeholders
    latex = "    .. math::\n        \\ell_{nc} = \\frac{1}{2}\n    target: labels in {0, 1}.\n"
    assert docs.expand(latex) == latex


def test_unknown_placeholder_raises_naming_the_object() -> None:
    with pytest.raises(ValueError, match=r"^f: unknown shared argument text \{reduktion\}.*'reduction'"):
        docs.expand("Args:\n    reduction: {reduktion}\n", "f")
    mod = types.ModuleType("losskit_fake_family")
    exec(
        textwrap.dedent('''
        def fake_loss(input, reduction="mean"):
            """A loss.

            Args:
                reduction: {no_such_text}
            """
    '''),
        mod.__dict__,
    )
    with pytest.raises(ValueError, match=r"losskit_fake_family\.fake_loss: unknown shared argument text"):
        docs.expand_module(mod)


def test_unknown_placeholder_fails_import_losskit() -> None:
    """``import losskit`` expands (and checks) every losskit module loaded with it."""
    code = textwrap.dedent("""
        import sys, types
        mod = types.ModuleType("losskit.fake_family")
        exec("def fake_loss(x):\\n    \\"\\"\\"Args:\\n        x: {no_such_text}\\n    \\"\\"\\"", mod.__dict__)
        sys.modules["losskit.fake_family"] = mod
        import losskit
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode != 0
    assert "losskit.fake_family.fake_loss: unknown shared argument text {no_such_text}" in proc.stderr
