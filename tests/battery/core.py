"""The declarative test registry: one ``LossEntry`` per loss, run through the generic suites.

A family adds a module ``tests/battery/entries_<family>.py`` defining ``ENTRIES: list[LossEntry]``;
``tests/battery/__init__.py`` collects every such module. Nothing else needs editing to put a new loss
through reference equality, reductions, gradcheck, Module parity, compile, dtypes, extremes, error
inputs and the hypothesis properties (tests/test_battery.py).
"""

from __future__ import annotations

import inspect
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
    # gradcheck also w.r.t. the sample's floating tensor keywords (weights, var, scale, ...); False where
    # one sits on a kink or at the edge of its domain (an all-zero weight, a var clamped to eps)
    kwarg_grad: bool = True

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
    # gradcheck in torch's fast mode (a random projection of the Jacobian, checked against finite
    # differences): for losses whose forward is costly enough that the full Jacobian takes minutes
    gradcheck_fast: bool = False
    # floating tensor keywords the loss is not differentiable in by design (constants such as class counts,
    # running statistics): test_gradcheck checks the gradient w.r.t. every other floating tensor keyword of a
    # sample. Each entry that lists one says why in a comment.
    nograd_kwargs: Sequence[str] = ()
    # False where an op the loss delegates to cannot be traced whole (torch's CTC has data-dependent shapes)
    fullgraph: bool = True
    rtol: float = 1e-7
    atol: float = 1e-9
    half_rtol: float = 2e-2
    # positional arguments that take class indices: every integer dtype gives the int64 result, bool is a
    # TypeError (a bool index would be read as a mask). Integer arguments not listed (0/1 or ±1 labels,
    # lengths) still go through the integer-dtype suite.
    index_args: Sequence[int] = ()
    # positional arguments that also accept a Python sequence of ints (CTC's lengths, like torch)
    sequence_args: Sequence[int] = ()
    # keyword options that also accept a Python sequence of numbers (OKS's per-keypoint sigmas)
    sequence_kwargs: Sequence[str] = ()

    def __repr__(self) -> str:
        return self.name


def grad_kwargs(entry: LossEntry, sample: Sample) -> list[str]:
    """The floating tensor keywords of ``sample`` that test_gradcheck differentiates (all but ``nograd_kwargs``)."""
    if not sample.kwarg_grad:
        return []
    return [
        k
        for k, v in sample.kwargs.items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and k not in entry.nograd_kwargs
    ]


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


# ---------------------------------------------------------------------------------------------------
# input-handling scenarios, derived from each entry's own samples (tests/test_battery_inputs.py runs them):
# integer dtypes of index targets, non-tensor arguments, NaN / inf in every floating argument, float32
# extremes. A new entry is held to all of them without writing a line.

INDEX_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32)


def arg_names(entry: LossEntry) -> list[str]:
    """Names of the function's positional parameters, as its messages spell them."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in inspect.signature(entry.fn).parameters.values() if p.kind in kinds]


def with_arg(sample: Sample, i: int, value: Any, name: str = "") -> Sample:
    args = list(sample.args)
    args[i] = value
    return Sample(
        tuple(args), dict(sample.kwargs), name or sample.name, sample.plain, sample.grad, sample.reference
    )


def with_kwarg(sample: Sample, key: str, value: Any, name: str = "") -> Sample:
    return Sample(
        tuple(sample.args),
        {**sample.kwargs, key: value},
        name or sample.name,
        sample.plain,
        sample.grad,
        sample.reference,
    )


def index_dtype_cases(entry: LossEntry) -> list[tuple[Sample, Sample]]:
    """(int64 sample, the same sample with one int64 argument in a narrower integer dtype) pairs.

    Every int64 positional argument of every sample, in every dtype of :data:`INDEX_DTYPES` that holds
    its values exactly (uint8 cannot hold ``ignore_index=-100``).
    """
    out = []
    for s in entry.samples():
        for i, a in enumerate(s.args):
            if not (isinstance(a, torch.Tensor) and a.dtype == torch.int64):
                continue
            for dt in INDEX_DTYPES:
                b = a.to(dt)
                if torch.equal(b.to(torch.int64), a):
                    out.append((s, with_arg(s, i, b, f"{s.name}-arg{i}-{dt}".replace("torch.", ""))))
    return out


def bool_index_cases(entry: LossEntry) -> list[tuple[Sample, str]]:
    """The first sample with an integer tensor at each of ``entry.index_args``, given as bool instead."""
    names = arg_names(entry)
    samples = entry.samples()
    out = []
    for i in entry.index_args:
        for s in samples:
            a = s.args[i]
            if isinstance(a, torch.Tensor) and not a.is_floating_point() and a.dtype != torch.bool:
                out.append((with_arg(s, i, a != 0, f"{s.name}-arg{i}-bool"), names[i]))
                break
    return out


def _tensor_kwargs(samples: list[Sample]) -> dict[str, Sample]:
    """Each tensor keyword option of the samples, with the first sample that has it."""
    first: dict[str, Sample] = {}
    for s in samples:
        for k, v in s.kwargs.items():
            if isinstance(v, torch.Tensor) and k not in first:
                first[k] = s
    return first


def non_tensor_cases(entry: LossEntry) -> list[tuple[Sample, str, str]]:
    """(sample, argument name, type name) with one tensor argument replaced by a list or a NumPy array.

    Every positional tensor of the first sample (except ``entry.sequence_args``) and every tensor keyword
    option of the first sample that has it, as a nested list; the first argument also as an ndarray.
    0-d tensors are left out: their ``tolist()`` is a number, which options such as ``var=`` accept.
    """
    names = arg_names(entry)
    samples = entry.samples()
    first = samples[0]
    out = []
    for i, a in enumerate(first.args):
        if isinstance(a, torch.Tensor) and a.dim() >= 1 and i not in entry.sequence_args:
            out.append((with_arg(first, i, a.tolist(), f"{names[i]}-list"), names[i], "list"))
    a0 = first.args[0]
    if isinstance(a0, torch.Tensor):
        out.append((with_arg(first, 0, a0.detach().numpy(), f"{names[0]}-ndarray"), names[0], "ndarray"))
    for key, s in _tensor_kwargs(samples).items():
        v = s.kwargs[key]
        if v.dim() >= 1 and key not in entry.sequence_kwargs:
            out.append((with_kwarg(s, key, v.tolist(), f"{key}-list"), key, "list"))
    return out


def _poison(x: torch.Tensor, value: float) -> torch.Tensor:
    y = x.detach().clone().reshape(-1)
    y[0] = value
    return y.reshape(x.shape)


def nonfinite_cases(entry: LossEntry, value: float) -> list[tuple[Sample, str]]:
    """(sample, argument name) with one entry of one floating argument set to ``value`` (NaN or ±inf).

    Every floating positional tensor of the first sample, and every floating tensor keyword option of the
    first sample that has it (weights, ``alpha``, ``var``, ...).
    """
    names = arg_names(entry)
    samples = entry.samples()
    first = samples[0]
    out = []
    for i, a in enumerate(first.args):
        if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel():
            out.append((with_arg(first, i, _poison(a, value), f"{names[i]}-{value}"), names[i]))
    for key, s in _tensor_kwargs(samples).items():
        v = s.kwargs[key]
        if v.is_floating_point() and v.numel():
            out.append((with_kwarg(s, key, _poison(v, value), f"{key}-{value}"), key))
    return out


def float32_extremes(entry: LossEntry) -> list[Sample]:
    """The entry's extremes in float32, where exp() overflows at 88.7 rather than 709.8."""
    return [
        Sample(
            cast_floats(s.args, torch.float32),
            cast_floats(s.kwargs, torch.float32),
            f"{s.name}-f32",
            s.plain,
            s.grad,
            s.reference,
        )
        for s in entry.extremes()
    ]


def to_device(x: Any, device: str) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    return x
