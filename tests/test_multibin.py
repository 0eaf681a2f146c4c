"""Multi-bin codec and loss (SPEC §2.1): the worked example, encode/decode round trips over the whole range
(wrap-around at ±π, bin boundaries, overlaps), agreement with the NumPy reference, and the Module.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import losskit
import losskit.functional as LF
from losskit.functional import MultiBinCodec
from tests.reference import regression as R

F64 = torch.float64
PI = math.pi


@contextlib.contextmanager
def single_thread():
    # tiny tensors: intra-op threads only add synchronisation (badly so on a shared, busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@pytest.fixture
def one_thread():
    with single_thread():
        yield


def wrapped_gap(a, b, period=2 * PI):
    d = np.remainder(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64) + period / 2, period)
    return np.abs(d - period / 2)


# ---------------------------------------------------------------------------------------------------------
# SPEC worked example: 2 bins, centres {0, π}, overlap 0.3, θ* = 1.5 in both bins

SPEC_CODEC = MultiBinCodec(2, overlap=0.3)
Z = torch.tensor([[0.3, 0.1]], dtype=F64)
RES = torch.tensor([[[0.1, 0.9], [0.2, -0.9]]], dtype=F64)
THETA = torch.tensor([1.5], dtype=F64)


def test_spec_example_geometry():
    np.testing.assert_allclose(SPEC_CODEC.centers(dtype=F64).numpy(), [0.0, PI])
    assert SPEC_CODEC.half_width == pytest.approx(PI / 2 + 0.15)
    enc = SPEC_CODEC.encode(THETA)
    assert enc.bin.tolist() == [0]  # |1.5 - 0| = 1.5 < |1.5 - π| = 1.64
    assert enc.mask.tolist() == [[True, True]]  # 1.5 and 1.64 are both <= π/2 + 0.15 = 1.72
    # residual targets: (cos, sin) of θ* - c_i, i.e. of 1.5 and 1.5 - π
    np.testing.assert_allclose(
        enc.residual[0].numpy(), [[math.cos(1.5), math.sin(1.5)], [math.cos(1.5 - PI), math.sin(1.5 - PI)]]
    )


def test_spec_example_values():
    # Δθ = atan2(0.9, 0.1) = 1.46013911 and atan2(-0.9, 0.2) = -1.35212738 (SPEC)
    np.testing.assert_allclose(
        torch.atan2(RES[0, :, 1], RES[0, :, 0]).numpy(), [1.46013911, -1.35212738], rtol=1e-8
    )
    conf = LF.multibin_loss(Z, RES, THETA, codec=SPEC_CODEC, loc_weight=0.0)
    total = LF.multibin_loss(Z, RES, THETA, codec=SPEC_CODEC, loc_weight=1.0)
    # L_conf = CE([0.3, 0.1], 0) = log(1 + e^{-0.2}) = 0.598138869
    assert float(conf) == pytest.approx(0.598138869, abs=1e-9)
    # L_loc = mean(1 - cos(θ* - c_i - Δθ_i)) = mean(1 - cos(0.03986089), 1 - cos(-0.28946527)) = 0.021198848
    assert float(total - conf) == pytest.approx(0.021198848, abs=1e-9)
    # loc_weight scales the second term only
    assert float(LF.multibin_loss(Z, RES, THETA, codec=SPEC_CODEC, loc_weight=2.5)) == pytest.approx(
        0.598138869 + 2.5 * 0.021198848, abs=1e-8
    )
    # decode: bin 0 is the most confident, θ = 0 + 1.46013911
    assert float(SPEC_CODEC.decode(Z, RES)) == pytest.approx(1.46013911, abs=1e-8)


# ---------------------------------------------------------------------------------------------------------
# round trips: decoding a perfectly encoded target returns it


def _perfect(codec: MultiBinCodec, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    enc = codec.encode(target)
    logits = torch.nn.functional.one_hot(enc.bin, codec.num_bins).to(target.dtype) * 10.0
    return logits, enc.residual


def _special_angles(codec: MultiBinCodec) -> list[float]:
    """The seam, every centre, every bin boundary and every overlap edge, and a hair either side."""
    p, w, h = codec.period, codec.bin_width, codec.half_width
    out = [-p / 2, p / 2, 0.0, np.nextafter(p / 2, 0.0), -np.nextafter(p / 2, 0.0)]
    for c in np.arange(codec.num_bins) * w:
        for edge in (c, c + w / 2, c - w / 2, c + h, c - h):
            for tiny in (0.0, 1e-12, -1e-12, 1e-6, -1e-6):
                out.append(float(edge + tiny))
    return out


@settings(max_examples=25, deadline=None)
@given(
    num_bins=st.integers(1, 12),
    overlap_frac=st.floats(0.0, 0.95),
    period=st.sampled_from([2 * PI, PI, 1.0, 360.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_periodic_round_trip(num_bins, overlap_frac, period, seed):
    with single_thread():
        _periodic_round_trip(num_bins, overlap_frac, period, seed)


def _periodic_round_trip(num_bins, overlap_frac, period, seed):
    codec = MultiBinCodec(num_bins, overlap=overlap_frac * period / num_bins, period=period)
    rng = np.random.default_rng(seed)
    angles = np.concatenate(
        [
            rng.uniform(-period / 2, period / 2, 64),
            _special_angles(codec),
            rng.uniform(-20 * period, 20 * period, 16),
        ]
    )  # any angle: taken modulo P
    target = torch.as_tensor(angles)
    decoded = codec.decode(*_perfect(codec, target))
    assert np.all(wrapped_gap(decoded.numpy(), angles, period) < 1e-9 * max(1.0, period))
    # decoded angles are in [-P/2, P/2)
    assert bool((decoded >= -period / 2).all()) and bool((decoded < period / 2).all())
    enc = codec.encode(target)
    # the class target is a covering bin, and it is the nearest centre
    assert bool(enc.mask.gather(-1, enc.bin[:, None]).all())
    dist = wrapped_gap(angles[:, None], codec.centers(dtype=F64).numpy()[None, :], period)
    np.testing.assert_allclose(dist[np.arange(len(angles)), enc.bin.numpy()], dist.min(1), atol=1e-9)
    # the covering mask is |wrap(θ - c)| <= W/2 + overlap/2 (up to rounding at the very edge)
    clear = np.abs(dist - codec.half_width) > 1e-9
    np.testing.assert_array_equal(enc.mask.numpy()[clear], (dist <= codec.half_width)[clear])
    # the loss of a perfect residual prediction is the confidence term alone in every covering bin
    logits, residual = _perfect(codec, target)
    lossed = LF.multibin_loss(logits, residual, target, codec=codec, reduction="none")
    conf = LF.multibin_loss(logits, residual, target, codec=codec, loc_weight=0.0, reduction="none")
    torch.testing.assert_close(lossed, conf, atol=1e-12, rtol=0)


@settings(max_examples=40, deadline=None)
@given(
    num_bins=st.integers(1, 12),
    overlap_frac=st.floats(0.0, 0.95),
    lo=st.floats(-1e3, 1e3),
    span=st.floats(1e-2, 1e3),
    seed=st.integers(0, 2**31 - 1),
)
def test_bounded_round_trip(num_bins, overlap_frac, lo, span, seed):
    hi = lo + span
    codec = MultiBinCodec(num_bins, overlap=overlap_frac * span / num_bins, period=None, range=(lo, hi))
    rng = np.random.default_rng(seed)
    w, h = codec.bin_width, codec.half_width
    edges = [lo, hi] + [
        float(c + s) for c in codec.centers(dtype=F64).numpy() for s in (0, w / 2, -w / 2, h, -h)
    ]
    ys = np.clip(np.concatenate([rng.uniform(lo, hi, 64), edges]), lo, hi)
    target = torch.as_tensor(ys)
    decoded = codec.decode(*_perfect(codec, target))
    np.testing.assert_allclose(decoded.numpy(), ys, atol=1e-9 * max(1.0, abs(lo), abs(hi)))
    enc = codec.encode(target)
    assert bool(enc.mask.gather(-1, enc.bin[:, None]).all())


def test_wrap_around_at_pi():
    codec = MultiBinCodec(2, overlap=0.1)
    enc = codec.encode(torch.tensor([-PI, PI, PI - 1e-9, -PI + 1e-9], dtype=F64))
    # ±π are the same angle, at the centre of bin 1 (c = π)
    assert enc.bin.tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(enc.residual[:2, 1].numpy(), [[1.0, 0.0], [1.0, 0.0]], atol=1e-12)
    # predicting +π-ish for a target at -π-ish costs nothing: the loss sees the circle, not the line
    z = torch.tensor([[0.0, 5.0]] * 2, dtype=F64)
    r = torch.tensor([[[1.0, 0.0], [math.cos(0.01), math.sin(0.01)]]] * 2, dtype=F64)
    a = LF.multibin_loss(
        z, r, torch.tensor([PI - 0.01, -PI + 0.01], dtype=F64).neg(), codec=codec, reduction="none"
    )
    b = LF.multibin_loss(
        z, r, torch.tensor([-PI - 0.01, PI + 0.01], dtype=F64).neg(), codec=codec, reduction="none"
    )
    torch.testing.assert_close(a, b)


def test_loss_is_periodic_in_the_target():
    rng = np.random.default_rng(0)
    codec = MultiBinCodec(3, overlap=0.4)
    z, r = torch.as_tensor(rng.normal(size=(20, 3))), torch.as_tensor(rng.normal(size=(20, 3, 2)))
    theta = torch.as_tensor(rng.uniform(-PI, PI, 20))
    base = LF.multibin_loss(z, r, theta, codec=codec, reduction="none")
    for k in (-3, 1, 7):
        torch.testing.assert_close(
            LF.multibin_loss(z, r, theta + 2 * PI * k, codec=codec, reduction="none"), base
        )


def test_gradient_reaches_only_covering_bins():
    # θ* = 0.2 with 4 bins of half-width π/4 + 0.1: only bin 0 covers it, so bins 1-3 get no residual gradient
    codec = MultiBinCodec(4, overlap=0.2)
    r = torch.randn(1, 4, 2, dtype=F64, requires_grad=True)
    z = torch.randn(1, 4, dtype=F64, requires_grad=True)
    LF.multibin_loss(z, r, torch.tensor([0.2], dtype=F64), codec=codec).backward()
    assert codec.encode(torch.tensor([0.2])).mask.tolist() == [[True, False, False, False]]
    assert torch.count_nonzero(r.grad[0, 1:]) == 0 and torch.count_nonzero(r.grad[0, 0]) > 0
    assert torch.count_nonzero(z.grad) == 4  # the softmax couples every logit


def test_zero_residual_vector_is_finite():
    codec = MultiBinCodec(2)
    r = torch.zeros(1, 2, 2, dtype=F64, requires_grad=True)
    out = LF.multibin_loss(torch.zeros(1, 2, dtype=F64), r, torch.tensor([0.0], dtype=F64), codec=codec)
    out.backward()
    # no direction: 1 - cos counts as 1 (its maximum is 2), gradients stay finite
    assert out.item() == pytest.approx(math.log(2) + 1.0)
    assert torch.isfinite(r.grad).all()


# ---------------------------------------------------------------------------------------------------------
# agreement with the NumPy reference (encode / decode; the loss is in the battery)


@pytest.mark.parametrize(
    "codec",
    [
        MultiBinCodec(2, overlap=0.3),
        MultiBinCodec(5, overlap=0.5),
        MultiBinCodec(3, overlap=0.1, period=PI),
        MultiBinCodec(4, overlap=0.25, period=None, range=(-1.0, 3.0)),
    ],
    ids=repr,
)
def test_encode_decode_equal_reference(codec):
    rng = np.random.default_rng(1)
    if codec.periodic:
        y = rng.uniform(-3 * PI, 3 * PI, 50)
    else:
        y = rng.uniform(*codec.range, 50)
    best, mask, res = R.multibin_encode(y, codec=codec)
    enc = codec.encode(torch.as_tensor(y))
    np.testing.assert_array_equal(enc.bin.numpy(), best)
    np.testing.assert_array_equal(enc.mask.numpy(), mask)
    np.testing.assert_allclose(enc.residual.numpy(), res, atol=1e-12)
    z = rng.normal(size=(50, codec.num_bins))
    r = rng.normal(size=(50, *codec.residual_shape))
    np.testing.assert_allclose(
        codec.decode(torch.as_tensor(z), torch.as_tensor(r)).numpy(),
        R.multibin_decode(z, r, codec=codec),
        atol=1e-12,
    )


# ---------------------------------------------------------------------------------------------------------
# codec validation, Module, registry


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0,), {}, ValueError, r"^MultiBinCodec: num_bins must be >= 1, got 0"),
        ((2.0,), {}, TypeError, r"^MultiBinCodec: num_bins must be an int"),
        ((2,), {"overlap": -0.1}, ValueError, r"^MultiBinCodec: overlap must be in \[0, inf\)"),
        (
            (2,),
            {"overlap": 3.2},
            ValueError,
            r"^MultiBinCodec: overlap must be in \[0, bin width\) = \[0, 3.14159\)",
        ),
        ((2,), {"period": 0.0}, ValueError, r"^MultiBinCodec: period must be in \(0, inf\)"),
        (
            (2,),
            {"period": None},
            ValueError,
            r"^MultiBinCodec: give period .* or range=\(lo, hi\) .*, got neither",
        ),
        (
            (2,),
            {"range": (0.0, 1.0)},
            ValueError,
            r"^MultiBinCodec: give period .* not both;.*pass period=None",
        ),
        (
            (2,),
            {"period": None, "range": (1.0, 1.0)},
            ValueError,
            r"^MultiBinCodec: range must be finite with lo < hi",
        ),
        ((2,), {"period": None, "range": 3.0}, TypeError, r"^MultiBinCodec: range must be a pair"),
    ],
)
def test_codec_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        MultiBinCodec(*args, **kwargs)


def test_codec_is_immutable_and_comparable():
    c = MultiBinCodec(3, overlap=0.2)
    with pytest.raises(AttributeError, match="immutable"):
        c.num_bins = 4
    assert c == MultiBinCodec(3, overlap=0.2) and c != MultiBinCodec(3, overlap=0.3)
    assert hash(c) == hash(MultiBinCodec(3, overlap=0.2))


def test_encode_decode_errors():
    b = MultiBinCodec(2, period=None, range=(0.0, 1.0))
    with pytest.raises(
        ValueError, match=r"^MultiBinCodec.encode: target must lie in the codec's range \[0, 1\]"
    ):
        b.encode(torch.tensor([0.5, 1.5]))
    with pytest.raises(TypeError, match=r"^MultiBinCodec.encode: target must be a floating-point tensor"):
        b.encode(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"^MultiBinCodec.decode: residuals must have shape \(3, 2\)"):
        b.decode(torch.zeros(3, 2), torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"^MultiBinCodec.decode: bin_logits must have shape \(\*, 2\)"):
        b.decode(torch.zeros(3, 4), torch.zeros(3, 2))


def test_module_and_registry():
    default = losskit.MultiBinLoss()
    assert default.codec == MultiBinCodec(2)
    built = losskit.get("multi-bin", num_bins=4, overlap=0.2, loc_weight=2.0)
    assert isinstance(built, losskit.MultiBinLoss) and built.codec == MultiBinCodec(4, overlap=0.2)
    bounded = losskit.MultiBinLoss(num_bins=3, period=None, range=(0.0, 3.0))
    assert not bounded.codec.periodic
    with pytest.raises(TypeError, match="not both"):
        losskit.MultiBinLoss(MultiBinCodec(2), num_bins=3)
    with pytest.raises(TypeError, match="codec must be a MultiBinCodec"):
        losskit.MultiBinLoss(codec="angle")
    torch.testing.assert_close(
        losskit.MultiBinLoss(SPEC_CODEC, loc_weight=0.0)(Z, RES, THETA),
        torch.tensor(0.598138869, dtype=F64),
        atol=1e-9,
        rtol=0,
    )


def test_training_reaches_the_target_across_the_seam(one_thread):
    # a free (cos, sin) pair and logits, optimised directly, for targets either side of ±π: converges to them
    torch.manual_seed(0)
    codec = MultiBinCodec(4, overlap=0.2)
    target = torch.tensor([PI - 0.05, -PI + 0.05], dtype=F64)
    z = torch.zeros(2, 4, dtype=F64, requires_grad=True)
    r = torch.randn(2, 4, 2, dtype=F64, requires_grad=True)
    opt = torch.optim.Adam([z, r], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        LF.multibin_loss(z, r, target, codec=codec).backward()
        opt.step()
    assert np.all(wrapped_gap(codec.decode(z, r).detach().numpy(), target.numpy()) < 1e-3)
