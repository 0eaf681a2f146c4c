"""Generic suites run over every registered loss (tests/battery): DESIGN.md §3 items 1, 3-6 and the
hypothesis properties of STYLE.md. Loss-specific hand-derived values and peers live in their own files."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.battery import ENTRIES
from tests.battery.core import REDUCTIONS, LossEntry, Sample, call, cast_floats, grad_kwargs, to_numpy

torch.set_num_threads(max(1, torch.get_num_threads()))


def _cases(attr: str, keep=lambda e, s: True) -> list:
    """(entry, case) parameters; ``keep`` leaves out the cases an entry opts out of (no run-time skips)."""
    out = []
    for e in ENTRIES:
        # each entry's cases drawn under a seed of its own: an error case built with torch.randn (a NaN or an
        # inf planted where a value exceeds 1) is the same whatever entries or imports ran before it
        with torch.random.fork_rng():
            torch.manual_seed(zlib.crc32(e.name.encode()))
            cases = getattr(e, attr)()
        for s in cases:
            if keep(e, s):
                out.append(pytest.param(e, s, id=f"{e.name}-{s!r}"))
    return out


def _entries(keep=lambda e: True) -> list:
    return [pytest.param(e, id=e.name) for e in ENTRIES if keep(e)]


SAMPLES = _cases("samples")
REFERENCE_SAMPLES = _cases("samples", lambda e, s: e.reference is not None and s.reference)
GRAD_SAMPLES = _cases("samples", lambda e, s: e.differentiable and s.grad)
MODULE_SAMPLES = _cases("samples", lambda e, s: e.module is not None)
EXTREMES = _cases("extremes")
ERRORS = _cases("errors")
BY_ENTRY = _entries()


def sample_kind(sample: Sample) -> tuple:
    """What decides the code path a sample takes through a trace: each positional argument's kind
    (floating, integer -- class indices or labels -- or bool) and ``input_type``. Index and probability
    targets, logits and probabilities, masks and labels are each a kind of their own."""

    def arg(a: object) -> str:
        if not isinstance(a, torch.Tensor):
            return type(a).__name__
        return "float" if a.is_floating_point() else "bool" if a.dtype == torch.bool else "int"

    return tuple(arg(a) for a in sample.args), sample.kwargs.get("input_type")


def _first_of_each_kind(only=lambda e: True):
    """A ``keep`` for :func:`_cases`: the first sample of each kind, for the entries ``only`` selects; every
    sample of the others."""
    seen: set = set()

    def keep(entry: LossEntry, sample: Sample) -> bool:
        if not only(entry):
            return True
        key = (entry.name, sample_kind(sample))
        if key in seen:
            return False
        seen.add(key)
        return True

    return keep


# tracing is the slow part (seconds per sample and reduction): one sample of each kind, not every sample
_compile_kinds = _first_of_each_kind()
COMPILE_SAMPLES = _cases("samples", lambda e, s: e.compile and _compile_kinds(e, s))
# half precision over every sample, except one sample of each kind for losses whose forward is costly
# (gradcheck_fast: clDice's soft skeleton, the Hausdorff distance transform take seconds per sample)
HALF_SAMPLES = _cases("samples", _first_of_each_kind(lambda e: e.gradcheck_fast))
COMPILE_FIRST: dict[str, Sample] = {}
for _p in COMPILE_SAMPLES:
    COMPILE_FIRST.setdefault(_p.values[0].name, _p.values[1])
WITH_EMPTY = _entries(lambda e: e.empty is not None)


def _grad_inputs(entry: LossEntry, sample: Sample) -> Sample:
    args = list(sample.args)
    for i in entry.grad_args:
        args[i] = args[i].detach().clone().requires_grad_(True)
    return Sample(tuple(args), dict(sample.kwargs), sample.name, sample.plain, sample.grad, sample.reference)


# 1. float64 reference --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("entry", "sample"), REFERENCE_SAMPLES)
def test_reference(entry: LossEntry, sample: Sample, reduction: str) -> None:
    got = call(entry, sample, reduction)
    want = entry.reference(  # REFERENCE_SAMPLES: entries with one
        *to_numpy(sample.args), **to_numpy(sample.kwargs), reduction=reduction
    )
    assert got.dtype == torch.float64
    np.testing.assert_allclose(
        got.detach().numpy(), np.asarray(want, dtype=np.float64), rtol=entry.rtol, atol=entry.atol
    )


# reductions agree ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "sample"), SAMPLES)
def test_reductions_agree(entry: LossEntry, sample: Sample) -> None:
    none = call(entry, sample, "none")
    total = call(entry, sample, "sum")
    torch.testing.assert_close(total, none.sum())
    if sample.plain:
        mean = call(entry, sample, "mean")
        torch.testing.assert_close(mean, none.mean() if none.numel() else none.sum() * 0)
    if entry.nonnegative:
        assert bool((none >= -1e-12).all()), f"negative loss values: {none.min()}"


# 3. gradients -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "sample"), GRAD_SAMPLES)
def test_gradcheck(entry: LossEntry, sample: Sample) -> None:
    """Gradients w.r.t. ``entry.grad_args`` and every floating tensor keyword of the sample (``weight``,
    ``var``, ``logit_scale``, ...) except ``entry.nograd_kwargs`` (options detached by design)."""
    keys = grad_kwargs(entry, sample)
    inputs = tuple(sample.args[i].detach().clone().requires_grad_(True) for i in entry.grad_args) + tuple(
        sample.kwargs[k].detach().clone().requires_grad_(True) for k in keys
    )
    n = len(entry.grad_args)

    def f(*xs: torch.Tensor) -> torch.Tensor:
        args = list(sample.args)
        for i, x in zip(entry.grad_args, xs[:n]):
            args[i] = x
        kwargs = {**sample.kwargs, **dict(zip(keys, xs[n:])), "reduction": "none"}
        return entry.fn(*args, **kwargs)

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=entry.gradcheck_fast)


# Module / functional parity, and forward leaves the module untouched ---------------------------------
def _tensors(mod: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every tensor the Module holds: parameters, buffers (persistent or not) and plain tensor attributes."""
    out = {f"param:{k}": v for k, v in mod.named_parameters()}
    out.update({f"buffer:{k}": v for k, v in mod.named_buffers()})
    out.update({f"attr:{k}": v for k, v in vars(mod).items() if isinstance(v, torch.Tensor)})
    return out


@pytest.mark.parametrize(("entry", "sample"), MODULE_SAMPLES)
def test_module_parity(entry: LossEntry, sample: Sample) -> None:
    """The Module built from a sample's keywords gives the function's values and gradients, and its
    forward rebinds no attribute and changes no tensor it holds."""
    module = entry.module  # MODULE_SAMPLES: entries with a Module
    for reduction in REDUCTIONS:
        mod = module(**sample.kwargs, reduction=reduction)
        before_attrs = dict(vars(mod))
        before = {k: v.detach().clone() for k, v in _tensors(mod).items()}
        s = _grad_inputs(entry, sample) if entry.differentiable else sample
        got = mod(*s.args)
        want = call(entry, sample, reduction)
        torch.testing.assert_close(got, want)
        if entry.differentiable:
            grads = torch.autograd.grad(got.sum(), [s.args[i] for i in entry.grad_args], allow_unused=True)
            ref = _grad_inputs(entry, sample)
            want_grads = torch.autograd.grad(
                call(entry, ref, reduction).sum(), [ref.args[i] for i in entry.grad_args], allow_unused=True
            )
            for g, w in zip(grads, want_grads):
                torch.testing.assert_close(g, w)
        assert vars(mod).keys() == before_attrs.keys()
        for k, v in vars(mod).items():
            assert v is before_attrs[k], f"forward rebound {k}"
        after = _tensors(mod)
        assert after.keys() == before.keys()
        for k, v in before.items():
            assert torch.equal(after[k], v), f"forward changed {k}"


# 6. torch.compile (full graph: value checks step aside while tracing) --------------------------------
@pytest.mark.parametrize(("entry", "sample"), COMPILE_SAMPLES)
def test_compile(entry: LossEntry, sample: Sample) -> None:
    """Compiled values and gradients equal eager ones on one sample of each kind (see ``sample_kind``):
    ``reduction="none"`` and ``"mean"`` on an entry's first sample, ``"none"`` on the others (a trace per
    reduction; the reductions themselves are one shared code path)."""
    torch._dynamo.reset()
    compiled = torch.compile(entry.fn, fullgraph=entry.fullgraph, backend="aot_eager")
    first = sample is COMPILE_FIRST[entry.name]
    for reduction in ("none", "mean") if first else ("none",):
        s = _grad_inputs(entry, sample) if entry.differentiable else sample
        got = compiled(*s.args, **s.kwargs, reduction=reduction)
        ref = _grad_inputs(entry, sample) if entry.differentiable else sample
        want = call(entry, ref, reduction)
        torch.testing.assert_close(got, want)
        if entry.differentiable:
            got.sum().backward()
            want.sum().backward()
            for i in entry.grad_args:
                torch.testing.assert_close(s.args[i].grad, ref.args[i].grad)


# 6. half precision: computed in float32, returned as float32 -----------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("entry", "sample"), HALF_SAMPLES)
def test_half_precision(entry: LossEntry, sample: Sample, dtype: torch.dtype) -> None:
    """float16 / bfloat16 input gives the float32 loss of the same (rounded) values, on every sample (one
    sample of each kind for the costly losses, see ``HALF_SAMPLES``)."""
    half = Sample(cast_floats(sample.args, dtype), cast_floats(sample.kwargs, dtype))
    f32 = Sample(cast_floats(half.args, torch.float32), cast_floats(half.kwargs, torch.float32))
    for reduction in REDUCTIONS:
        got = call(entry, half, reduction)
        assert got.dtype == torch.float32, f"{dtype} input must give a float32 loss, got {got.dtype}"
        torch.testing.assert_close(got, call(entry, f32, reduction), rtol=entry.half_rtol, atol=1e-3)
    if entry.differentiable:
        x = half.args[entry.grad_args[0]].detach().clone().requires_grad_(True)
        args = list(half.args)
        args[entry.grad_args[0]] = x
        entry.fn(*args, **half.kwargs).backward()
        assert x.grad is not None and x.grad.dtype == dtype


# 4. extremes: finite values and gradients --------------------------------------------------------------
@pytest.mark.parametrize(("entry", "sample"), EXTREMES)
def test_extremes(entry: LossEntry, sample: Sample) -> None:
    for reduction in REDUCTIONS:
        s = _grad_inputs(entry, sample) if entry.differentiable else sample
        out = call(entry, s, reduction)
        assert bool(torch.isfinite(out).all()), f"{reduction}: non-finite loss {out}"
        if entry.differentiable and out.numel():
            out.sum().backward()
            for i in entry.grad_args:
                g = s.args[i].grad
                assert g is not None and bool(torch.isfinite(g).all()), f"{reduction}: non-finite grad"


@pytest.mark.parametrize("entry", WITH_EMPTY)
def test_empty_batch(entry: LossEntry) -> None:
    sample = entry.empty()  # WITH_EMPTY: entries with one
    s = _grad_inputs(entry, sample) if entry.differentiable else sample
    for reduction in ("mean", "sum"):
        out = call(entry, s, reduction)
        assert out.shape == () and float(out) == 0.0
        if entry.differentiable:
            out.backward()


# 5. bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "case"), ERRORS)
def test_error_inputs(entry: LossEntry, case) -> None:
    with pytest.raises(case.error, match=case.match):
        entry.fn(*case.args, **case.kwargs)


@pytest.mark.parametrize("entry", BY_ENTRY)
def test_bad_reduction_is_named(entry: LossEntry) -> None:
    sample = entry.samples()[0]
    with pytest.raises(ValueError, match=rf"^{entry.fn.__name__}: reduction must be one of"):
        call(entry, sample, "batchmean")


# hypothesis properties ---------------------------------------------------------------------------------
RANDOM = [pytest.param(e, id=e.name) for e in ENTRIES if e.random is not None]


@pytest.mark.parametrize("entry", RANDOM)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), log_scale=st.floats(-3.0, 4.0))
def test_properties(entry: LossEntry, seed: int, log_scale: float) -> None:
    sample = entry.random(  # RANDOM: entries with one
        np.random.default_rng(seed), 10.0**log_scale
    )
    s = _grad_inputs(entry, sample) if entry.differentiable else sample
    none = call(entry, s, "none")
    assert bool(torch.isfinite(none).all()), "finite input gave a non-finite loss"
    if entry.nonnegative:
        assert bool((none >= -1e-9).all())
    if entry.differentiable:
        none.sum().backward()
        for i in entry.grad_args:
            assert bool(torch.isfinite(s.args[i].grad).all()), "finite input gave a non-finite gradient"
    if entry.batch_equivariant and none.dim() >= 1 and none.shape[0] > 1:
        n = none.shape[0]
        perm = torch.as_tensor(np.random.default_rng(seed + 1).permutation(n))
        args = tuple(
            a[perm] if isinstance(a, torch.Tensor) and a.dim() >= 1 and a.shape[0] == n else a
            for a in sample.args
        )
        permuted = entry.fn(*args, **{**sample.kwargs, "reduction": "none"})
        torch.testing.assert_close(permuted, none.detach()[perm])
