"""Generic input-handling suites over every battery entry (issue 15): every input a user can pass gets a
correct result or a clear error.

* integer dtypes: a class-index or label argument in uint8 / int8 / int16 / int32 gives exactly the int64
  result; a bool index is a TypeError (``index_args``);
* non-tensors: a list or ndarray for any tensor argument is a TypeError naming the function and argument
  (torch.nn.functional's rule: no silent conversion);
* NaN in any floating argument (input, target, weight, alpha, var, ...) is a ValueError naming it on CPU
  tensors (DESIGN §3.5); inf is a ValueError or a finite value with a finite gradient;
* float32 extremes: the extremes of each entry in float32 give finite values and gradients;
* copies: every Module survives ``copy.deepcopy``, ``pickle``, ``torch.save`` / ``torch.load`` of the whole
  Module and a ``state_dict`` round trip, with the same output afterwards.

The scenarios are built from each entry's own samples (tests/battery/core.py), so a new loss is held to
them without writing a line.
"""

from __future__ import annotations

import copy
import io
import pickle
from pathlib import Path

import pytest
import torch

import losskit
from losskit._core import checks
from losskit.registry import available, canonical_class
from tests.battery import ENTRIES
from tests.battery.core import (
    INDEX_DTYPES,
    LossEntry,
    Sample,
    bool_index_cases,
    call,
    float32_extremes,
    index_dtype_cases,
    non_tensor_cases,
    nonfinite_cases,
    to_device,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _by_entry(build) -> list:
    return [pytest.param(e, id=e.name) for e in ENTRIES if build(e)]


def _per_case(build) -> list:
    out = []
    for e in ENTRIES:
        for case in build(e):
            s = case[0] if isinstance(case, tuple) else case
            out.append(pytest.param(e, case, id=f"{e.name}-{s.name}"))
    return out


@pytest.fixture(params=DEVICES)
def device(request):
    """CPU always; CUDA when present, with ``set_checks("full")`` so value checks run there too."""
    if request.param == "cpu":
        yield "cpu"
        return
    before = checks.get_checks()
    checks.set_checks("full")
    try:
        yield request.param
    finally:
        checks.set_checks(before)


def _on(sample: Sample, device: str) -> Sample:
    return Sample(to_device(sample.args, device), to_device(sample.kwargs, device), sample.name)


# integer dtypes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", _by_entry(index_dtype_cases))
def test_integer_dtypes_match_int64(entry: LossEntry) -> None:
    for ref, narrow in index_dtype_cases(entry):
        want = call(entry, ref, "none")
        got = call(entry, narrow, "none")
        torch.testing.assert_close(got, want, rtol=0, atol=0, msg=lambda m, n=narrow.name: f"{n}: {m}")


@pytest.mark.parametrize(("entry", "case"), _per_case(bool_index_cases))
def test_bool_index_is_rejected(entry: LossEntry, case: tuple[Sample, str]) -> None:
    sample, name = case
    fn = entry.fn.__name__
    with pytest.raises(TypeError, match=rf"^{fn}: {name} must be an integer tensor .*got dtype torch\.bool"):
        call(entry, sample, "mean")


def test_index_target_cast_is_free_for_int64() -> None:
    t = torch.tensor([0, 2, 1])
    assert checks.check_index_target("f", "target", t) is t
    for dt in INDEX_DTYPES:
        out = checks.check_index_target("f", "target", t.to(dt))
        assert out.dtype == torch.int64 and torch.equal(out, t)
    for bad in (t.bool(), t.float(), t.to(torch.complex64)):
        with pytest.raises(TypeError, match=r"^f: target must be an integer tensor of class indices"):
            checks.check_index_target("f", "target", bad)
    with pytest.raises(TypeError, match=r"^f: target must be a torch.Tensor, got list"):
        checks.check_index_target("f", "target", [0, 1])


def test_uint8_mask_and_int32_labels() -> None:
    """The issue's two scripts: a uint8 segmentation mask (PIL / NumPy) and int32 labels."""
    torch.manual_seed(0)
    x, y = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    for fn in (
        losskit.dice_loss,
        losskit.generalized_dice_loss,
        losskit.tversky_loss,
        losskit.focal_tversky_loss,
        losskit.jaccard_loss,
        losskit.lovasz_loss,
    ):
        torch.testing.assert_close(fn(x, y.to(torch.uint8)), fn(x, y))
    y8 = y.to(torch.uint8)
    y8[0, 0] = 255  # the usual "unlabelled" value of a uint8 mask
    torch.testing.assert_close(
        losskit.dice_loss(x, y8, ignore_index=255), losskit.dice_loss(x, y8.long(), ignore_index=255)
    )
    z, c = torch.randn(5, 4), torch.tensor([0, 3, 1, 2, 3])
    torch.testing.assert_close(losskit.cross_entropy(z, c.int()), losskit.cross_entropy(z, c))
    # a uint8 index must not be read as a boolean mask of the class weight
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    torch.testing.assert_close(
        losskit.softmax_focal_loss(z, c.to(torch.uint8), weight=w), losskit.softmax_focal_loss(z, c, weight=w)
    )


# non-tensors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "case"), _per_case(non_tensor_cases))
def test_non_tensor_is_a_type_error(entry: LossEntry, case: tuple[Sample, str, str]) -> None:
    sample, name, kind = case
    fn = entry.fn.__name__
    with pytest.raises(TypeError, match=rf"^{fn}: {name} must be .*, got {kind}$"):
        call(entry, sample, "mean")


# NaN / inf -----------------------------------------------------------------------------------------------
NAN_CASES = _per_case(lambda e: nonfinite_cases(e, float("nan")))
INF_CASES = _per_case(lambda e: nonfinite_cases(e, float("inf")) + nonfinite_cases(e, float("-inf")))


@pytest.mark.parametrize(("entry", "case"), NAN_CASES)
def test_nan_argument_is_a_value_error(entry: LossEntry, case: tuple[Sample, str], device: str) -> None:
    sample, name = case
    fn = entry.fn.__name__
    with pytest.raises(ValueError, match=rf"^{fn}: {name} contains NaN values"):
        call(entry, _on(sample, device), "mean")


@pytest.mark.parametrize(("entry", "case"), INF_CASES)
def test_inf_argument_is_an_error_or_finite(entry: LossEntry, case: tuple[Sample, str], device: str) -> None:
    sample, _ = case
    s = _on(sample, device)
    args = list(s.args)
    if entry.differentiable:
        for i in entry.grad_args:
            args[i] = args[i].detach().clone().requires_grad_(True)
    try:
        out = entry.fn(*args, **{**s.kwargs, "reduction": "sum"})
    except ValueError as err:
        assert str(err).startswith(f"{entry.fn.__name__}: "), str(err)
        return
    assert bool(torch.isfinite(out).all()), f"an inf input gave {out} without an error"
    if entry.differentiable and out.requires_grad:
        out.backward()
        for i in entry.grad_args:
            assert bool(torch.isfinite(args[i].grad).all()), "an inf input gave a non-finite gradient"


# float32 extremes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "sample"), _per_case(float32_extremes))
def test_float32_extremes_are_finite(entry: LossEntry, sample: Sample) -> None:
    args = list(sample.args)
    if entry.differentiable:
        for i in entry.grad_args:
            args[i] = args[i].detach().clone().requires_grad_(True)
    out = entry.fn(*args, **{**sample.kwargs, "reduction": "sum"})
    assert bool(torch.isfinite(out).all()), f"non-finite float32 loss {out}"
    if entry.differentiable and out.requires_grad:
        out.backward()
        for i in entry.grad_args:
            assert bool(torch.isfinite(args[i].grad).all()), "non-finite float32 gradient"


# copies --------------------------------------------------------------------------------------------------
def _saved(m: torch.nn.Module) -> torch.nn.Module:
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


ROOT = Path(__file__).resolve().parents[1]

COPIES = {
    "deepcopy": copy.deepcopy,
    "pickle": lambda m: pickle.loads(pickle.dumps(m)),
    "torch.save": _saved,
}


def _same_module(a: torch.nn.Module, b: torch.nn.Module, sample: Sample) -> None:
    assert type(a) is type(b) and repr(a) == repr(b)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k])
    torch.testing.assert_close(b(*sample.args), a(*sample.args))


@pytest.mark.parametrize("entry", _by_entry(lambda e: e.module is not None))
def test_module_copies(entry: LossEntry) -> None:
    module = entry.module  # only entries with a Module
    for sample in entry.samples()[:3]:
        mod = module(**sample.kwargs)
        for copier in COPIES.values():
            _same_module(mod, copier(mod), sample)
        # state_dict round trip into a Module built with the same options (buffers overwritten)
        fresh = module(**sample.kwargs)
        fresh.load_state_dict(mod.state_dict(), strict=True)
        _same_module(mod, fresh, sample)


# Modules whose constructor is not the function's options (learnable parameters, running state, a fused
# head's shapes): the battery cannot build them from a sample's keywords, so a test file of their own
# checks them against the function; the copy suite below still covers them.
OWN_TESTS = {
    "barron": "tests/test_robust_values.py",  # learnable alpha and scale
    "ghm_c": "tests/test_detection_values.py",  # running gradient-density state
    "linear_cross_entropy": "tests/test_fused_linear.py",  # holds no head; called with hidden and weight
    "linear_distillation": "tests/test_fused_linear.py",
    # own their class centres / proxies and take (embeddings, labels) where the function takes the centres
    "arcface": "tests/test_margin_values.py",
    "cosface": "tests/test_margin_values.py",
    "sphereface": "tests/test_margin_values.py",
    "proxy_anchor": "tests/test_margin_values.py",
}


def test_every_registered_module_is_in_the_battery_and_copies() -> None:
    covered = {e.module for e in ENTRIES}
    for name, path in OWN_TESTS.items():
        assert canonical_class(name).__name__ in (ROOT / path).read_text(), (name, path)
    missing = [n for n in available() if canonical_class(n) not in covered and n not in OWN_TESTS]
    assert not missing, f"registered Modules without a battery entry (so without the copy suite): {missing}"
    sized = {"num_classes": 3, "embedding_size": 2}
    needs = {
        "center": {"num_classes": 3, "feat_dim": 2},
        "arcface": sized,
        "cosface": sized,  # Modules that
        "sphereface": sized,
        "proxy_anchor": sized,
    }  # own size-dependent parameters
    for name in available():
        mod = canonical_class(name)(**needs.get(name, {}))
        for how, copier in COPIES.items():
            dup = copier(mod)
            assert type(dup) is type(mod) and repr(dup) == repr(mod), (name, how)
        state = mod.state_dict()
        canonical_class(name)(**needs.get(name, {})).load_state_dict(state, strict=True)


def test_combined_loss_and_objective_copy() -> None:
    crit = losskit.DiceLoss() + 0.5 * losskit.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]))
    x, y = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    for how, copier in COPIES.items():
        dup = copier(crit)
        assert dup.names == crit.names and dup.weights == crit.weights, how
        torch.testing.assert_close(dup(x, y), crit(x, y))
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    objective = losskit.Objective(losskit.DiceLoss(), [w], l1=0.2, l2=0.1)
    for how, copier in COPIES.items():
        torch.testing.assert_close(copier(objective)(x, y), objective(x, y), msg=how)


def test_multibin_codec_copies_are_equal() -> None:
    codec = losskit.functional.MultiBinCodec(4, overlap=0.2)
    assert copy.deepcopy(codec) == codec and copy.copy(codec) == codec
    back = pickle.loads(pickle.dumps(codec))
    assert back == codec
    bounded = losskit.functional.MultiBinCodec(3, period=None, range=(-1.0, 2.0))
    assert pickle.loads(pickle.dumps(bounded)) == bounded


def test_new_value_checks_follow_set_checks() -> None:
    """check_finite and the weight checks read values only when value checks are on (GPU: "full")."""
    nan = torch.tensor([float("nan"), 1.0])
    before = checks.get_checks()
    try:
        checks.set_checks("off")
        checks.check_finite("f", "input", nan)
        checks.check_weight("f", nan, (2,))
        # unchecked, NaN <= 0 is False: the NaN score silently counts as correct (what the check prevents)
        assert float(losskit.zero_one_loss(nan, torch.tensor([1, 1]))) == 0.0
        checks.set_checks("full")
        with pytest.raises(ValueError, match=r"^f: input contains NaN values"):
            checks.check_finite("f", "input", nan)
        with pytest.raises(ValueError, match=r"^f: weight contains NaN values"):
            checks.check_weight("f", nan, (2,))
    finally:
        checks.set_checks(before)
