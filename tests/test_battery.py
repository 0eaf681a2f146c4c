"""Generic suites run over every registered loss (tests/battery): DESIGN.md §3 items 1, 3-6 and the
hypothesis properties of STYLE.md. Loss-specific hand-derived values and peers live in their own files."""

from __future__ import annotations

import copy
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.battery import ENTRIES
from tests.battery.core import REDUCTIONS, LossEntry, Sample, call, cast_floats, to_numpy

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
COMPILED = _entries(lambda e: e.compile)
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
    assert entry.reference is not None
    got = call(entry, sample, reduction)
    want = entry.reference(*to_numpy(sample.args), **to_numpy(sample.kwargs), reduction=reduction)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.detach().numpy(), np.asarray(want, dtype=np.float64),
                               rtol=entry.rtol, atol=entry.atol)


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
    s = _grad_inputs(entry, sample)
    inputs = tuple(s.args[i] for i in entry.grad_args)

    def f(*xs: torch.Tensor) -> torch.Tensor:
        args = list(s.args)
        for i, x in zip(entry.grad_args, xs):
            args[i] = x
        return entry.fn(*args, **{**s.kwargs, "reduction": "none"})

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=entry.gradcheck_fast)


# Module / functional parity, and forward leaves the module untouched ---------------------------------
@pytest.mark.parametrize(("entry", "sample"), MODULE_SAMPLES)
def test_module_parity(entry: LossEntry, sample: Sample) -> None:
    assert entry.module is not None
    for reduction in REDUCTIONS:
        mod = entry.module(**sample.kwargs, reduction=reduction)
        before_state = {k: v.clone() for k, v in mod.state_dict().items()}
        before_dict = copy.copy(mod.__dict__)
        got = mod(*sample.args)
        torch.testing.assert_close(got, call(entry, sample, reduction))
        after = mod.state_dict()
        assert before_state.keys() == after.keys()
        for k in before_state:
            assert torch.equal(before_state[k], after[k])
        assert before_dict.keys() == mod.__dict__.keys()


# 6. torch.compile (full graph: value checks step aside while tracing) --------------------------------
@pytest.mark.parametrize("entry", COMPILED)
def test_compile(entry: LossEntry) -> None:
    sample = entry.samples()[0]
    torch._dynamo.reset()
    compiled = torch.compile(entry.fn, fullgraph=entry.fullgraph, backend="aot_eager")
    for reduction in ("none", "mean"):
        args = [a.detach().clone().requires_grad_(True) if i in entry.grad_args and entry.differentiable else a
                for i, a in enumerate(sample.args)]
        got = compiled(*args, **sample.kwargs, reduction=reduction)
        torch.testing.assert_close(got, call(entry, sample, reduction))
        if entry.differentiable:
            got.sum().backward()
            assert all(torch.isfinite(args[i].grad).all() for i in entry.grad_args)


# 6. half precision: computed in float32, returned as float32 -----------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("entry", BY_ENTRY)
def test_half_precision(entry: LossEntry, dtype: torch.dtype) -> None:
    sample = entry.samples()[0]
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
    assert entry.empty is not None
    sample = entry.empty()
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
    assert entry.random is not None
    sample = entry.random(np.random.default_rng(seed), 10.0**log_scale)
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
        args = tuple(a[perm] if isinstance(a, torch.Tensor) and a.dim() >= 1 and a.shape[0] == n else a
                     for a in sample.args)
        permuted = entry.fn(*args, **{**sample.kwargs, "reduction": "none"})
        torch.testing.assert_close(permuted, none.detach()[perm])
