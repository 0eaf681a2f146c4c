"""Collects ``ENTRIES`` from every ``tests/battery/entries_*.py`` module."""

from __future__ import annotations

import importlib
import pkgutil

from tests.battery.core import LossEntry

ENTRIES: list[LossEntry] = []
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("entries_"):
        ENTRIES.extend(importlib.import_module(f"{__name__}.{_info.name}").ENTRIES)

_names = [e.name for e in ENTRIES]
if len(set(_names)) != len(_names):
    raise RuntimeError(f"duplicate battery entries: {sorted(n for n in _names if _names.count(n) > 1)}")
