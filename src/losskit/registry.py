"""Name → loss Module, for configuration files: ``losskit.get("focal", gamma=2.0)``.

Every Module is reachable by its function's name without the ``_loss`` suffix (``"sigmoid_focal"``),
by the full function name (``"sigmoid_focal_loss"``), by its class name (``"SigmoidFocalLoss"``) and by
the short aliases it registers (``"focal"``, ``"ce"``, ...). Lookup ignores case, ``-`` and ``_``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

__all__ = ["available", "get", "register"]

_REGISTRY: dict[str, type[nn.Module]] = {}
_CANONICAL: dict[str, type[nn.Module]] = {}

M = TypeVar("M", bound=type[nn.Module])


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def register(name: str, *aliases: str) -> Callable[[M], M]:
    """Class decorator: register a Module under ``name`` (its canonical name) and ``aliases``."""

    def deco(cls: M) -> M:
        _CANONICAL[name] = cls
        for n in (name, f"{name}_loss", cls.__name__, *aliases):
            k = _key(n)
            if k in _REGISTRY and _REGISTRY[k] is not cls:
                raise ValueError(f"register: name {n!r} is already taken by {_REGISTRY[k].__name__}")
            _REGISTRY[k] = cls
        return cls

    return deco


def available() -> list[str]:
    """Canonical names of every registered loss, sorted."""
    return sorted(_CANONICAL)


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
        ValueError: for an unknown name (the message lists the known ones).
        TypeError: for options the loss does not take.

    Example:
        >>> import losskit
        >>> losskit.get("focal", gamma=1.0)
        SigmoidFocalLoss(gamma=1.0)
    """
    if not isinstance(name, str):
        raise TypeError(f"get: name must be a str, got {type(name).__name__}")
    cls = _REGISTRY.get(_key(name))
    if cls is None:
        raise ValueError(f"get: unknown loss {name!r}; known losses: {', '.join(available())}")
    return cls(**options)
