"""Name → loss Module, for configuration files: ``losskit.get("focal", gamma=2.0)``.

Every Module is reachable by its function's name without the ``_loss`` suffix (``"sigmoid_focal"``),
by the full function name (``"sigmoid_focal_loss"``), by its class name (``"SigmoidFocalLoss"``) and by
the short aliases it registers (``"focal"``, ``"ce"``, ...). Lookup ignores case, ``-`` and ``_``.
Each registration names its family (``family="classification"``): ``losskit list`` groups by it and
``losskit plot`` falls back on the family's plot recipe.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

__all__ = ["aliases", "available", "family", "get", "register"]

_REGISTRY: dict[str, type[nn.Module]] = {}
_CANONICAL: dict[str, type[nn.Module]] = {}
_ALIASES: dict[str, tuple[str, ...]] = {}
_FAMILY: dict[str, str] = {}
_SPELLING: dict[str, str] = {}  # normalised key -> the name as registered

M = TypeVar("M", bound=type[nn.Module])


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def register(name: str, *aliases: str, family: str) -> Callable[[M], M]:
    """Class decorator: register a Module under ``name`` (its canonical name) and ``aliases``.

    ``family`` is the loss family it belongs to, as ``losskit list`` shows it (by convention the stem of
    its ``losskit.nn`` module: ``"classification"``, ``"boxes"``, ...).
    """
    if not isinstance(family, str) or not family.isidentifier():
        raise TypeError(f"register: family must be an identifier str (e.g. 'classification'), got {family!r}")

    def deco(cls: M) -> M:
        _CANONICAL[name] = cls
        _ALIASES[name] = tuple(aliases)
        _FAMILY[name] = family
        for n in (name, f"{name}_loss", cls.__name__, *aliases):
            k = _key(n)
            if k in _REGISTRY and _REGISTRY[k] is not cls:
                raise ValueError(f"register: name {n!r} is already taken by {_REGISTRY[k].__name__}")
            _REGISTRY[k] = cls
            _SPELLING[k] = n
        return cls

    return deco


def available() -> list[str]:
    """Canonical names of every registered loss, sorted."""
    return sorted(_CANONICAL)


def aliases(name: str) -> tuple[str, ...]:
    """The short aliases registered for a canonical name (``aliases("sigmoid_focal") == ("focal",)``)."""
    return _ALIASES[name]


def family(name: str) -> str:
    """The family a canonical name was registered with (``family("sigmoid_focal") == "classification"``)."""
    return _FAMILY[name]


def _known() -> str:
    return ", ".join(f"{n} ({', '.join(_ALIASES[n])})" if _ALIASES[n] else n for n in available())


def resolve(name: str, fn: str = "get") -> type[nn.Module]:
    """The Module class behind any accepted name; an unknown name raises ``ValueError`` with suggestions."""
    if not isinstance(name, str):
        raise TypeError(f"{fn}: name must be a str, got {type(name).__name__}")
    cls = _REGISTRY.get(_key(name))
    if cls is None:
        close = difflib.get_close_matches(_key(name), list(_REGISTRY), n=1, cutoff=0.6)
        hint = ""
        if close:
            spelt, canonical = _SPELLING[close[0]], canonical_name(_REGISTRY[close[0]])
            hint = f" did you mean {spelt!r}" + (f" ({canonical})?" if spelt != canonical else "?")
        raise ValueError(
            f"{fn}: unknown loss {name!r};{hint} known losses (aliases in parentheses): {_known()}"
        )
    return cls


def canonical_name(cls: type[nn.Module]) -> str:
    """The canonical name a Module class is registered under."""
    return next(n for n, c in _CANONICAL.items() if c is cls)


def canonical_class(name: str) -> type[nn.Module]:
    """The Module class registered under a canonical name (see :func:`available`)."""
    return _CANONICAL[name]


def get(name: str, **options: Any) -> nn.Module:
    """Build a loss Module from its name and keyword options.

    Args:
        name: a canonical name (see :func:`available`), a function name, a class name or an alias.
        **options: keyword options of the loss (e.g. ``gamma=2.0``).

    Returns:
        The Module instance.

    Raises:
        ValueError: for an unknown name (the message suggests the closest name and lists the known
            ones with their aliases).
        TypeError: for options the loss does not take.

    Example:
        >>> import losskit
        >>> losskit.get("focal", gamma=1.0)
        SigmoidFocalLoss(gamma=1.0)
    """
    return resolve(name)(**options)
