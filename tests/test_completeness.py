"""Every registered loss has the four things CONTRIBUTING's checklist asks of it, found from the registry.

For each canonical name in :func:`losskit.available` (its Module's ``function``, its declared family):

1. a **battery entry**: a ``LossEntry`` in ``tests/battery/entries_*.py`` whose ``fn`` is the function;
2. a **float64 reference**: a NumPy function of the same name in ``tests/reference/*.py``, and the battery
   entry's ``reference`` set (so the generic suites compare against it);
3. a **docs section** on its family page (the ``docs/*.md`` page holding ``<!-- losskit:modules FAMILY -->``):
   a heading naming the function in backticks, and the ``<!-- losskit:plot NAME -->`` marker;
4. an **API-reference line**: a mkdocstrings ``::: losskit.functional.<module>`` block on that page that
   documents the function (the whole module, a ``members:`` list naming it, or ``::: <module>.<name>``).

A failure names the loss and lists exactly what is missing and where to add it. The exemptions below are
the only ones, each with its reason; :func:`test_exemptions_are_still_needed` fails once one is stale.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import losskit
import tests.reference
from losskit import registry
from tests.battery import ENTRIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# No battery entry: the fused-head losses are called with (hidden, head weight, target), not (input, target),
# and their Modules hold no options the battery can build them from; tests/test_fused_linear.py checks them
# against tests/reference/fused_linear.py (values, three gradients, chunking, compile, errors).
NO_BATTERY = {
    "linear_cross_entropy": "tests/test_fused_linear.py",
    "linear_distillation": "tests/test_fused_linear.py",
}

# Documented on another page than its family's: CTC has its own page (docs/sequence.md) and its function
# lives in functional/sequence.py, while it stays registered in the classification family.
PAGE = {"ctc": "sequence.md"}


@functools.cache
def _reference_functions() -> dict[str, str]:
    """Function name -> module, for every function defined in tests/reference/*.py."""
    out: dict[str, str] = {}
    for info in pkgutil.iter_modules(tests.reference.__path__):
        if info.name.startswith("test_"):
            continue
        mod = importlib.import_module(f"tests.reference.{info.name}")
        for key, obj in vars(mod).items():
            if inspect.isfunction(obj) and obj.__module__ == mod.__name__ and not key.startswith("_"):
                out[key] = mod.__name__
    return out


def _pages() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}


def _family_pages(pages: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for page, text in pages.items():
        for fam in re.findall(r"<!--\s*losskit:modules\s+(\w+)\s*-->", text):
            out.setdefault(fam, page)
    return out


def _api_blocks(text: str) -> list[tuple[str, list[str] | None]]:
    """``(target, members)`` of each ``::: target`` block; ``members`` None where the block lists none."""
    blocks: list[tuple[str, list[str] | None]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r":::\s+([\w.]+)\s*$", line)
        if not m:
            continue
        members: list[str] | None = None
        in_members = False
        for body in lines[i + 1 :]:
            if body.strip() and not body.startswith(" "):
                break
            if re.match(r"\s+members:\s*$", body):
                members, in_members = [], True
            elif in_members and (item := re.match(r"\s+-\s+(\w+)\s*$", body)):
                assert members is not None
                members.append(item.group(1))
            elif body.strip():
                in_members = False
        blocks.append((m.group(1), members))
    return blocks


def _documents(blocks: list[tuple[str, list[str] | None]], fn: Callable[..., Any]) -> bool:
    mod = importlib.import_module(fn.__module__)
    for target, members in blocks:
        if target == f"{fn.__module__}.{fn.__name__}":
            return True
        if target == fn.__module__:
            if members is None and fn.__name__ in getattr(mod, "__all__", ()):
                return True
            if members is not None and fn.__name__ in members:
                return True
    return False


def missing(name: str) -> list[str]:
    """What the loss registered as ``name`` lacks, one line each (empty when complete)."""
    cls = registry.canonical_class(name)
    fn = cls.function  # type: ignore[attr-defined]
    fam = registry.family(name)
    stem = fn.__module__.split(".")[2]  # the family module or package: functional/classification/binary.py
    out = []

    entries = [e for e in ENTRIES if e.fn is fn]
    if name in NO_BATTERY:
        pass
    elif not entries:
        out.append(
            f"no battery entry: add a LossEntry with fn=losskit.functional.{fn.__name__} to "
            f"tests/battery/entries_{stem}.py"
        )
    elif all(e.reference is None for e in entries):
        out.append(f"battery entry {entries[0].name!r} has reference=None: pass the float64 reference")

    refs = _reference_functions()
    if fn.__name__ not in refs:
        out.append(
            f"no float64 reference: define {fn.__name__}(...) (NumPy, from the formula) in "
            f"tests/reference/{stem}.py"
        )

    pages = _pages()
    page = PAGE.get(name) or _family_pages(pages).get(fam)
    if page is None:
        out.append(
            f"family {fam!r} has no docs page: put '<!-- losskit:modules {fam} -->' under '## Modules' "
            f"on its page in docs/ (and the page in mkdocs.yml's nav); that page then needs:"
        )
    text = "" if page is None else pages[page]
    page = page or "<family page>.md"
    if not re.search(rf"^#{{2,4}} .*`{re.escape(fn.__name__)}`", text, re.M):
        out.append(f"no docs section on docs/{page}: a '## Title — `{fn.__name__}`' heading with the formula")
    if not re.search(rf"<!--\s*losskit:plot\s+{re.escape(name)}\s*-->", text):
        out.append(f"no plot on docs/{page}: add '<!-- losskit:plot {name} -->' to its section")
    if not _documents(_api_blocks(text), fn):
        out.append(
            f"no API-reference line on docs/{page}: add '- {fn.__name__}' to the members of "
            f"'::: {fn.__module__}' under '## API reference' (or a '::: {fn.__module__}' block)"
        )
    return out


@pytest.mark.parametrize("name", losskit.available())
def test_registered_loss_is_complete(name: str) -> None:
    fn = registry.canonical_class(name).function  # type: ignore[attr-defined]
    gaps = missing(name)
    assert not gaps, (
        f"registered loss {name!r} ({fn.__module__}.{fn.__name__}, family "
        f"{registry.family(name)!r}) is missing:\n  - " + "\n  - ".join(gaps)
    )


def test_exemptions_are_still_needed() -> None:
    for name, path in NO_BATTERY.items():
        fn = registry.canonical_class(name).function  # type: ignore[attr-defined]
        assert not [e for e in ENTRIES if e.fn is fn], f"{name} now has a battery entry: drop its exemption"
        assert fn.__name__ in (ROOT / path).read_text(encoding="utf-8"), f"{path} no longer tests {name}"
    pages = _pages()
    for name, page in PAGE.items():
        fam_page = _family_pages(pages).get(registry.family(name))
        assert fam_page != page, f"{name} is on its family page {page}: drop its PAGE exemption"


def test_missing_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: a loss stripped of its docs and battery entry gets one line per gap."""
    import tests.test_completeness as me

    monkeypatch.setattr(me, "ENTRIES", [e for e in ENTRIES if e.name != "varifocal_loss"])
    pages = _pages()
    stripped = re.sub(
        r"`varifocal_loss`|losskit:plot varifocal|- varifocal_loss", "", pages["classification.md"]
    )
    monkeypatch.setattr(me, "_pages", lambda: {**pages, "classification.md": stripped})
    gaps = me.missing("varifocal")
    assert [g.split(":")[0] for g in gaps] == [
        "no battery entry",
        "no docs section on docs/classification.md",
        "no plot on docs/classification.md",
        "no API-reference line on docs/classification.md",
    ], gaps
    assert "tests/battery/entries_classification.py" in gaps[0]
    assert "'- varifocal_loss' to the members of '::: losskit.functional.classification.binary'" in gaps[3]
