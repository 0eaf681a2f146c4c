"""The registry's declared families: every registration names one, explicitly."""

from __future__ import annotations

import pytest
from torch import nn

import losskit
from losskit import registry
from losskit.cli import catalog


def test_every_registered_loss_declares_its_family() -> None:
    for name in losskit.available():
        fam = registry.family(name)
        assert isinstance(fam, str) and fam.isidentifier(), (name, fam)
        # the convention: the family is the stem of the losskit.nn module the Module is defined in
        assert registry.canonical_class(name).__module__ == f"losskit.nn.{fam}", (name, fam)


def test_list_and_info_show_the_declared_family() -> None:
    assert {r.name: r.family for r in catalog.rows()} == {n: registry.family(n) for n in losskit.available()}
    assert catalog.info("focal")["family"] == "classification"
    assert registry.family("giou") == "boxes"


def test_register_requires_a_family() -> None:
    with pytest.raises(TypeError, match="family"):
        registry.register("__no_family__")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"register: family must be an identifier str .* got 'not a family'"):
        registry.register("__bad_family__", family="not a family")
    with pytest.raises(TypeError, match=r"got None"):
        registry.register("__none_family__", family=None)  # type: ignore[arg-type]
    assert "__no_family__" not in losskit.available()


def test_registering_records_the_family() -> None:
    class _Probe(nn.Module):
        pass

    try:
        registry.register("__probe__", "__probe_alias__", family="probe")(_Probe)
        assert registry.family("__probe__") == "probe"
        assert registry.resolve("__probe_alias__") is _Probe
    finally:
        for table in (registry._CANONICAL, registry._ALIASES, registry._FAMILY):
            table.pop("__probe__", None)
        for k in [k for k, c in registry._REGISTRY.items() if c is _Probe]:
            registry._REGISTRY.pop(k)
            registry._SPELLING.pop(k)
