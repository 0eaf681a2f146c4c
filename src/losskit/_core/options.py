"""Options declared once per loss, checked by the function's own validation and by every Module at build time.

A loss's plain (non-tensor) options are described by small specs: :class:`Flag` (a real bool),
:class:`OneOf` (a value from a set), :class:`Number` (a bounded float), :class:`Integer` and
:class:`IgnoreIndex`. :func:`options_of` returns a function's table: the conventions every loss shares are
read from its signature (``reduction``; a ``bool`` default is a flag; ``ignore_index``), the rest come
from :func:`declare` next to the function. ``losskit.nn.FunctionalLoss`` checks the table when a Module is
built, so ``SigmoidFocalLoss(gamma=-1)`` fails at construction, with the function's own message.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import Tensor

from losskit._core import checks

F = TypeVar("F", bound=Callable[..., Any])

REDUCTIONS = ("none", "mean", "sum")


class Spec(abc.ABC):
    """One option's rule: ``check`` raises the vocabulary's error, ``bad`` lists values it must reject."""

    @abc.abstractmethod
    def check(self, fn: str, name: str, value: Any) -> None:
        """Raise the vocabulary's error when ``value`` breaks the rule for option ``name`` of ``fn``."""

    @abc.abstractmethod
    def bad(self) -> tuple[Any, ...]:
        """Values the rule must reject (the option tests feed them to every Module)."""


@dataclass(frozen=True)
class Flag(Spec):
    """A real ``bool``."""

    def check(self, fn: str, name: str, value: Any) -> None:
        checks.check_flag(fn, name, value)

    def bad(self) -> tuple[Any, ...]:
        return ("yes", 1)


@dataclass(frozen=True)
class OneOf(Spec):
    """One of ``allowed``."""

    allowed: Sequence[Any]

    def check(self, fn: str, name: str, value: Any) -> None:
        checks.check_option(fn, name, value, self.allowed)

    def bad(self) -> tuple[Any, ...]:
        return ("__not_an_option__",)


@dataclass(frozen=True)
class Number(Spec):
    """A float in an interval (see :func:`losskit._core.checks.check_number`); ``None`` where optional."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def check(self, fn: str, name: str, value: Any) -> None:
        if value is None and self.optional:
            return
        checks.check_number(
            fn, name, value, low=self.low, high=self.high, low_open=self.low_open, high_open=self.high_open
        )

    def bad(self) -> tuple[Any, ...]:
        out: list[Any] = ["1.0"]
        if self.low is not None:
            out.append(self.low - 1.0)
        if self.high is not None:
            out.append(self.high + 1.0)
        return tuple(out)


NONNEGATIVE = Number(low=0.0)
POSITIVE = Number(low=0.0, low_open=True)


@dataclass(frozen=True)
class Integer(Spec):
    """A Python int, at least ``low``."""

    low: int | None = None

    def check(self, fn: str, name: str, value: Any) -> None:
        checks.check_integer(fn, name, value, low=self.low)

    def bad(self) -> tuple[Any, ...]:
        return (1.5,) if self.low is None else (1.5, self.low - 1)


@dataclass(frozen=True)
class IgnoreIndex(Spec):
    """An ``ignore_index``: an int, or None where ``optional``."""

    optional: bool = False

    def check(self, fn: str, name: str, value: Any) -> None:
        checks.check_ignore_index(fn, value, optional=self.optional, name=name)

    def bad(self) -> tuple[Any, ...]:
        return (1.5, True)


def _conventional(fn: Callable[..., Any]) -> dict[str, Spec]:
    """The options every loss spells the same way, read from the signature."""
    out: dict[str, Spec] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        if p.name == "reduction":
            out[p.name] = OneOf(REDUCTIONS)
        elif p.name == "ignore_index":
            out[p.name] = IgnoreIndex(optional=p.default is None)
        elif isinstance(p.default, bool):
            out[p.name] = Flag()
    return out


def declare(**specs: Spec) -> Callable[[F], F]:
    """Decorator: declare a loss's own options next to it (conventional ones need no declaration)."""

    def deco(fn: F) -> F:
        names = {
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        unknown = sorted(set(specs) - names)
        if unknown:
            raise TypeError(f"declare: {unknown} are not keyword options of {fn.__name__}")
        fn.__losskit_options__ = dict(specs)  # type: ignore[attr-defined]
        return fn

    return deco


def options_of(fn: Callable[..., Any]) -> dict[str, Spec]:
    """The full option table of a loss function: the conventions, then its declarations."""
    return {**_conventional(fn), **getattr(fn, "__losskit_options__", {})}


def validate(fn: Callable[..., Any], options: dict[str, Any]) -> None:
    """Check the plain options in ``options`` against ``fn``'s table (tensors are left to the function)."""
    name = getattr(fn, "__name__", "loss")
    for key, spec in options_of(fn).items():
        if key in options and not isinstance(options[key], Tensor):
            spec.check(name, key, options[key])
