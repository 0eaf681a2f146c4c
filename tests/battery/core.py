"""The declarative test registry: one ``LossEntry`` per loss, run through the generic suites.

A family adds a module ``tests/battery/entries_<family>.py`` defining ``ENTRIES: list[LossEntry]``;
``tests/battery/__init__.py`` collects every such module. Nothing else needs editing to put a new loss
through reference equality, reductions, gradcheck, Module parity, compile, dtypes, extremes, error
inputs and the hypothesis properties (tests/test_battery.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

REDUCTIONS = ("none", "mean", "sum")


@dataclass
class Sample:
    """Positional tensors and keyword options for one call (reduction is added by the suites)."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    # mean == none.mean() holds (no weights, nothing ignored)
    plain: bool = True
    # run gradcheck on this sample (small, away from kinks)
    grad: bool = True
    # compare to the reference on this sample
    reference: bool = True

    def __repr__(self) -> str:
        return self.name or "sample"


@dataclass
class ErrorCase:
    """A call that must raise ``error`` with a message matching ``match`` (a regex)."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    error: type[Exception]
    match: str
    name: str = ""

    def __repr__(self) -> str:
        return self.name or self.match


@dataclass
class LossEntry:
    """Everything the generic suites need to know about one loss."""

    name: str
    fn: Callable[..., torch.Tensor]
    module: type[torch.nn.Module] | None
    reference: Callable[..., Any] | None
    samples: Callable[[], list[Sample]]
    errors: Callable[[], list[ErrorCase]] = lambda: []
    extremes: Callable[[], list[Sample]] = lambda: []
    # random sample generator for hypothesis: (rng, scale) -> Sample; None to skip the properties
    random: Callable[[np.random.Generator, float], Sample] | None = None
    empty: Callable[[], Sample] | None = None
    grad_args: Sequence[int] = (0,)
    nonnegative: bool = True
    differentiable: bool = True
    # "none" output is indexed by the batch (dim 0 of every positional tensor)
    batch_equivariant: bool = True
    compile: bool = True
    # False where an op the loss delegates to cannot be traced whole (torch's CTC has data-dependent shapes)
    fullgraph: bool = True
    rtol: float = 1e-7
    atol: float = 1e-9
    half_rtol: float = 2e-2

    def __repr__(self) -> str:
        return self.name


def to_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (list, tuple)):
        return type(x)(to_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    return x


def cast_floats(x: Any, dtype: torch.dtype) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(dtype) if x.is_floating_point() else x
    if isinstance(x, (list, tuple)):
        return type(x)(cast_floats(v, dtype) for v in x)
    if isinstance(x, dict):
        return {k: cast_floats(v, dtype) for k, v in x.items()}
    return x


def call(entry: LossEntry, sample: Sample, reduction: str, **override: Any) -> torch.Tensor:
    return entry.fn(*sample.args, **{**sample.kwargs, "reduction": reduction, **override})


def rng_for(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}:{salt}".encode()))


def t64(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)
