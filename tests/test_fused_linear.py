"""linear_cross_entropy and linear_distillation_loss: float64 references, peers, gradients, odd sizes, extremes,
half precision, torch.compile, bad input.

Values come from the NumPy references in tests/reference/fused_linear.py; gradients from autograd of the
plain float64 formula on materialised logits (``plain_lce`` / ``plain_distill`` below); peers are
``torch.nn.functional.cross_entropy`` on the materialised logits and torch's own chunked
``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())`` (installed torch 2.14, signature
``(input, linear_weight, target, *, linear_bias, weight, reduction, ignore_index, label_smoothing, options)``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn import LinearCrossEntropyOptions

import losskit
from losskit.kernels.linear_cross_entropy import choose_blocks
from tests.reference import fused_linear as ref

D64 = torch.float64
N, DIM, V = 37, 8, 53  # N is not a multiple of the token chunks below, V not of the vocabulary tiles


def make(n=N, d=DIM, v=V, seed=0, dtype=D64, scale=1.0, ignore_every=5):
    g = torch.Generator().manual_seed(seed)
    h = (torch.randn(n, d, generator=g, dtype=D64) * scale).to(dtype).requires_grad_()
    w = torch.randn(v, d, generator=g, dtype=D64).to(dtype).requires_grad_()
    b = (0.5 * torch.randn(v, generator=g, dtype=D64)).to(dtype).requires_grad_()
    t = torch.randint(0, v, (n,), generator=g)
    if ignore_every:
        t[::ignore_every] = -100
    cw = torch.rand(v, generator=g, dtype=D64) + 0.1
    return h, w, b, t, cw


def plain_lce(
    h,
    w,
    t,
    *,
    bias=None,
    ignore_index=-100,
    label_smoothing=0.0,
    z_loss=0.0,
    softcap=None,
    class_weight=None,
    reduction="mean",
    normalizer=None,
):
    """The formula on materialised float64 logits, differentiable (gradient reference)."""
    u = F.linear(h.to(D64), w.to(D64), None if bias is None else bias.to(D64))
    z = softcap * torch.tanh(u / softcap) if softcap is not None else u
    lse = torch.logsumexp(z, 1)
    v = w.shape[0]
    cw = torch.ones(v, dtype=D64) if class_weight is None else class_weight.to(D64)
    valid = t != ignore_index
    safe = torch.where(valid, t, 0)
    wy = cw[safe] * valid
    ce = lse - z.gather(1, safe[:, None])[:, 0]
    smooth = (cw * (lse[:, None] - z)).sum(1)
    loss = (
        wy * ((1 - label_smoothing) * ce + z_loss * lse**2) + valid.to(D64) * (label_smoothing / v) * smooth
    )
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    denom = wy.sum() if normalizer is None else torch.as_tensor(normalizer, dtype=D64)
    return loss.sum() / torch.where(denom == 0, 1.0, denom)


def grads(out, inputs, seed=1):
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=D64).to(out.dtype)
    return torch.autograd.grad(out, [x for x in inputs if x is not None], g)


OPTIONS = {
    "plain": {},
    "smoothing": {"label_smoothing": 0.2},
    "z_loss": {"z_loss": 1e-2},
    "softcap": {"softcap": 2.5},
    "class_weight": {"class_weight": True},
    "all": {"label_smoothing": 0.1, "z_loss": 1e-2, "softcap": 3.0, "class_weight": True},
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize(
    ("chunk", "with_bias"),
    [(None, True), (5, False), ((7, 11), True)],
    ids=["auto-bias", "rows5-nobias", "tiles7x11-bias"],
)
def test_reference_value_and_three_gradients(reduction, option, chunk, with_bias):
    h, w, b, t, cw = make()
    kw = dict(OPTIONS[option])
    if kw.pop("class_weight", False):
        kw["class_weight"] = cw
    bias = b if with_bias else None
    out = losskit.linear_cross_entropy(h, w, t, bias=bias, reduction=reduction, chunk_size=chunk, **kw)
    np_kw = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in kw.items()}
    expected, _ = ref.linear_cross_entropy(
        h.detach().numpy(),
        w.detach().numpy(),
        t.numpy(),
        bias=None if bias is None else b.detach().numpy(),
        reduction=reduction,
        **np_kw,
    )
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    mine = grads(out, (h, w, bias))
    theirs = grads(plain_lce(h, w, t, bias=bias, reduction=reduction, **kw), (h, w, bias))
    for a, e in zip(mine, theirs):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_peer_torch_cross_entropy_on_materialised_logits(reduction):
    h, w, b, t, cw = make(seed=3)
    for kw in (
        {},
        {"label_smoothing": 0.15},
        {"class_weight": cw},
        {"class_weight": cw, "label_smoothing": 0.3},
    ):
        out = losskit.linear_cross_entropy(h, w, t, bias=b, reduction=reduction, chunk_size=(8, 16), **kw)
        peer = F.cross_entropy(
            F.linear(h, w, b),
            t,
            weight=kw.get("class_weight"),
            label_smoothing=kw.get("label_smoothing", 0.0),
            reduction=reduction,
        )
        torch.testing.assert_close(out, peer, rtol=1e-12, atol=1e-12)
        for a, e in zip(grads(out, (h, w, b)), grads(peer, (h, w, b))):
            torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_peer_torch_chunked_linear_cross_entropy(reduction):
    # torch's chunked F.linear_cross_entropy (options=...) on the same inputs, float32 as torch's CPU path runs
    h, w, b, t, cw = make(n=300, d=16, v=257, seed=4, dtype=torch.float32)
    # (torch's chunked path falls back to materialised logits with label smoothing, so it is left out here)
    for kw, tkw in (({}, {}), ({"class_weight": cw.float()}, {"weight": cw.float()})):
        out = losskit.linear_cross_entropy(h, w, t, bias=b, reduction=reduction, **kw)
        peer = F.linear_cross_entropy(
            h,
            w,
            t,
            linear_bias=b,
            reduction=reduction,
            ignore_index=-100,
            options=LinearCrossEntropyOptions(),
            **tkw,
        )
        torch.testing.assert_close(out, peer, rtol=1e-5, atol=1e-5)
        for a, e in zip(grads(out, (h, w, b)), grads(peer, (h, w, b))):
            torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-5)


def test_hand_derived_value():
    # logits [2, 0] for target 0: CE = log(1 + e^-2); LSE = 2 + log(1 + e^-2); z-loss adds ζ·LSE²
    h = torch.tensor([[2.0]], dtype=D64)
    w = torch.tensor([[1.0], [0.0]], dtype=D64)
    t = torch.tensor([0])
    lse = 2 + np.log1p(np.exp(-2.0))
    assert float(losskit.linear_cross_entropy(h, w, t)) == pytest.approx(np.log1p(np.exp(-2.0)), abs=1e-15)
    assert float(losskit.linear_cross_entropy(h, w, t, z_loss=0.5)) == pytest.approx(
        np.log1p(np.exp(-2.0)) + 0.5 * lse**2, abs=1e-14
    )
    # soft cap c = 1: logits [tanh 2, 0]; CE = log(1 + e^{-tanh 2})
    assert float(losskit.linear_cross_entropy(h, w, t, softcap=1.0)) == pytest.approx(
        np.log1p(np.exp(-np.tanh(2.0))), abs=1e-15
    )


def test_gradcheck_and_gradgradcheck_tiny():
    h, w, b, t, cw = make(n=5, d=3, v=7, seed=5, ignore_every=4)
    for reduction in ("mean", "none"):

        def f(h_, w_, b_, reduction=reduction):
            return losskit.linear_cross_entropy(
                h_,
                w_,
                t,
                bias=b_,
                label_smoothing=0.1,
                z_loss=0.05,
                softcap=2.0,
                class_weight=cw,
                reduction=reduction,
                chunk_size=(2, 3),
            )

        assert torch.autograd.gradcheck(f, (h, w, b))
        assert torch.autograd.gradgradcheck(f, (h, w, b))
    # the fused (forward-computed) gradients: one vocabulary block. gradcheck's reentrancy probe runs backward
    # twice; the second run recomputes (the fused buffers were consumed), equal up to rounding
    assert torch.autograd.gradcheck(
        lambda h_, w_, b_: losskit.linear_cross_entropy(h_, w_, t, bias=b_, z_loss=0.1),
        (h, w, b),
        nondet_tol=1e-13,
    )


def test_retain_graph_second_backward_and_frozen_weight():
    h, w, b, t, _ = make(seed=6)
    loss = losskit.linear_cross_entropy(h, w, t, bias=b)
    g1 = torch.autograd.grad(loss, (h, w, b), retain_graph=True)
    g2 = torch.autograd.grad(loss, (h, w, b))  # the fused buffers were consumed: this one recomputes
    for a, c in zip(g1, g2):
        torch.testing.assert_close(a, c, rtol=1e-12, atol=1e-14)
    # a frozen head (distillation into a fixed vocabulary): only grad_hidden
    wf = w.detach()
    (gh,) = torch.autograd.grad(losskit.linear_cross_entropy(h, wf, t), (h,))
    (eh,) = torch.autograd.grad(plain_lce(h, wf, t), (h,))
    torch.testing.assert_close(gh, eh, rtol=1e-10, atol=1e-13)


def test_odd_sizes_single_token_all_ignored_empty():
    h, w, b, t, _ = make(n=1, seed=7, ignore_every=0)
    out = losskit.linear_cross_entropy(h, w, t, bias=b)
    torch.testing.assert_close(out, plain_lce(h, w, t, bias=b))
    h, w, b, t, _ = make(n=9, seed=8, ignore_every=0)
    t[:] = -100
    for reduction in ("mean", "sum"):
        out = losskit.linear_cross_entropy(h, w, t, bias=b, reduction=reduction, z_loss=0.1, chunk_size=4)
        assert float(out) == 0.0
        for g in torch.autograd.grad(out, (h, w, b)):
            assert torch.equal(g, torch.zeros_like(g))
    none = losskit.linear_cross_entropy(h, w, t, reduction="none")
    assert torch.equal(none, torch.zeros(9, dtype=D64))
    e = torch.zeros(0, DIM, dtype=D64, requires_grad=True)
    out = losskit.linear_cross_entropy(e, w, torch.zeros(0, dtype=torch.long))
    assert float(out) == 0.0
    out.backward()
    assert e.grad is not None and e.grad.shape == (0, DIM)


def test_batched_hidden_normalizer_and_lse():
    h, w, b, t, _ = make(n=24, seed=9)
    h3, t3 = h.reshape(4, 6, DIM), t.reshape(4, 6)
    none, lse = losskit.linear_cross_entropy(h3, w, t3, bias=b, reduction="none", return_lse=True)
    assert none.shape == (4, 6) and lse.shape == (4, 6) and not lse.requires_grad
    torch.testing.assert_close(lse.reshape(-1), torch.logsumexp(F.linear(h, w, b), 1).detach())
    torch.testing.assert_close(none.reshape(-1), plain_lce(h, w, t, bias=b, reduction="none"))
    # normalizer: the valid tokens of a whole accumulation window (here 100) replace the local count
    for norm in (100, torch.tensor(100.0, dtype=D64)):
        out = losskit.linear_cross_entropy(h3, w, t3, bias=b, normalizer=norm)
        torch.testing.assert_close(out, plain_lce(h, w, t, bias=b, reduction="sum") / 100)


def test_chunk_rule():
    # blocks of at most max(N*D, 2^16) logits, capped at 2^24; whole vocabulary unless under 16 rows
    assert choose_blocks(4096, 1024, 131072, None) == (32, 131072)  # 2^22 / 2^17
    assert choose_blocks(16384, 4096, 131072, None) == (128, 131072)  # capped at 2^24
    assert choose_blocks(1024, 256, 16384, None) == (16, 16384)  # N*D = 2^18
    assert choose_blocks(2048, 512, 32768, None) == (32, 32768)  # N*D = 2^20
    assert choose_blocks(65536, 1024, 2**19, None) == (32, 2**19)  # 2^24 / 2^19 = 32 rows
    assert choose_blocks(4096, 1024, 2**20, None) == (16, 2**18)  # 4 rows < 16: tile the vocabulary
    assert choose_blocks(10, 8, 2**23, None) == (10, 2**16 // 10)  # the 2^16 floor, tiled
    assert choose_blocks(1024, 128, 16384, None) == (16, 2**17 // 16)  # 8 rows < 16: tiled
    assert choose_blocks(37, 8, 53, 5) == (5, 53) and choose_blocks(37, 8, 53, (7, 11)) == (7, 11)
    # on a CPU the same budget is vocabulary-major: max(256, B // N) entries against all tokens that fit
    assert choose_blocks(4096, 1024, 131072, None, cpu=True) == (4096, 1024)
    assert choose_blocks(1024, 256, 16384, None, cpu=True) == (1024, 256)
    assert choose_blocks(65536, 4096, 2**18, None, cpu=True) == (65536, 256)
    assert choose_blocks(37, 8, 53, None, cpu=True) == (37, 53)  # tiny: one block, the fused schedule


def test_extreme_logits_are_finite():
    # hidden scaled so that logits reach about ±1e4
    h, w, b, t, cw = make(n=20, d=4, v=30, seed=10, dtype=torch.float32, scale=5e3)
    for kw in ({}, {"z_loss": 1e-4}, {"softcap": 30.0}, {"label_smoothing": 0.1, "class_weight": cw.float()}):
        for reduction in ("mean", "none"):
            out = losskit.linear_cross_entropy(h, w, t, bias=b, reduction=reduction, chunk_size=(6, 7), **kw)
            gs = grads(out, (h, w, b))
            assert torch.isfinite(out).all(), kw
            assert all(torch.isfinite(g).all() for g in gs), kw
    u = F.linear(h, w, b).detach().abs().max()
    assert u > 5e3
    out = losskit.linear_cross_entropy(h.double(), w.double(), t, bias=b.double())
    torch.testing.assert_close(
        out, plain_lce(h.double(), w.double(), t, bias=b.double()), rtol=1e-12, atol=1e-9
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_computes_in_float32(dtype):
    h, w, b, t, cw = make(n=64, d=16, v=100, seed=11, dtype=dtype, scale=0.5)
    for kw in ({}, {"softcap": 5.0, "z_loss": 1e-3, "label_smoothing": 0.1, "class_weight": cw.float()}):
        for reduction in ("mean", "none"):
            out = losskit.linear_cross_entropy(
                h, w, t, bias=b, reduction=reduction, chunk_size=(16, 40), **kw
            )
            assert out.dtype == torch.float32
            gs = grads(out, (h, w, b))
            assert [g.dtype for g in gs] == [dtype] * 3
            kw64 = {k: (v.double() if isinstance(v, torch.Tensor) else v) for k, v in kw.items()}
            exp = plain_lce(h, w, t, bias=b, reduction=reduction, **kw64)
            tol = 2e-2 if dtype == torch.bfloat16 else 3e-3
            torch.testing.assert_close(out.double(), exp, rtol=tol, atol=tol)
            for a, e in zip(gs, grads(exp, (h, w, b))):
                torch.testing.assert_close(a.double(), e.to(a.dtype).double(), rtol=5 * tol, atol=tol)


def test_compiles_fullgraph_without_a_break_per_chunk():
    h, w, b, t, cw = make(n=30, d=8, v=40, seed=12, dtype=torch.float32)

    def f(h_, w_, b_):
        return losskit.linear_cross_entropy(
            h_,
            w_,
            t,
            bias=b_,
            z_loss=1e-3,
            softcap=4.0,
            label_smoothing=0.1,
            class_weight=cw.float(),
            chunk_size=(8, 16),
        )

    explain = torch._dynamo.explain(f)(h, w, b)  # 4 token chunks x 3 vocabulary tiles
    assert explain.graph_count == 1 and explain.graph_break_count == 0, explain.break_reasons
    compiled = torch.compile(
        f, fullgraph=True, backend="eager"
    )  # Dynamo only: the graph, not a code generator
    out = compiled(h, w, b)
    torch.testing.assert_close(out, f(h, w, b))
    for a, e in zip(grads(out, (h, w, b)), grads(f(h, w, b), (h, w, b))):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-6)


def test_module_registry_and_nn_linear_head():
    h, w, b, t, cw = make(seed=13)
    head = torch.nn.Linear(DIM, V, dtype=D64)
    crit = losskit.get("lce", z_loss=1e-3, class_weight=cw)
    assert isinstance(crit, losskit.LinearCrossEntropyLoss) and isinstance(
        crit, losskit.nn.LinearCrossEntropyLoss
    )
    assert "class_weight" in dict(crit.named_buffers())
    out = crit(h, head, t)
    torch.testing.assert_close(
        out, plain_lce(h, head.weight, t, bias=head.bias, z_loss=1e-3, class_weight=cw)
    )
    out.backward()
    assert head.weight.grad is not None and head.bias.grad is not None
    torch.testing.assert_close(
        crit(h, w, t, bias=b), plain_lce(h, w, t, bias=b, z_loss=1e-3, class_weight=cw)
    )
    assert losskit.functional.linear_cross_entropy is losskit.linear_cross_entropy
    dist = losskit.get("linear_distillation", temperature=2.0)
    assert isinstance(dist, losskit.LinearDistillationLoss)
    teacher = torch.randn(N, V, dtype=D64)
    torch.testing.assert_close(
        dist(h, head, teacher, t),
        losskit.linear_distillation_loss(h, head.weight, teacher, bias=head.bias, temperature=2.0, target=t),
    )


BAD = [
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w[:, :3], t),
        ValueError,
        r"linear_cross_entropy: weight must have shape \(V, D\) with D = hidden.shape\[-1\] = 8, got \(53, 3\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t[:-1]),
        ValueError,
        r"linear_cross_entropy: target must have shape \(37,\) \(hidden's shape without its last dimension\), "
        r"got \(36,\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t.clamp(min=0) + 53),
        ValueError,
        r"linear_cross_entropy: target holds class index \d+, expected indices in \[0, 52\] \(or ignore_index=-100\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, bias=torch.zeros(52, dtype=D64)),
        ValueError,
        r"linear_cross_entropy: bias must have shape \(53,\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w.float(), t),
        TypeError,
        r"linear_cross_entropy: weight must have hidden's dtype torch.float64, got torch.float32",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t.double()),
        TypeError,
        r"linear_cross_entropy: target must be an integer tensor",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h[0], w, t[0]),
        ValueError,
        r"linear_cross_entropy: hidden must have shape \(N, D\) or \(B, T, D\), got \(8,\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, label_smoothing=1.0),
        ValueError,
        r"linear_cross_entropy: label_smoothing must be in \[0, 1\), got 1.0",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, softcap=0.0),
        ValueError,
        r"linear_cross_entropy: softcap must be in \(0, inf\), got 0.0",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, z_loss=-1e-4),
        ValueError,
        r"linear_cross_entropy: z_loss must be in \[0, inf\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, class_weight=torch.ones(5, dtype=D64)),
        ValueError,
        r"linear_cross_entropy: class_weight must have shape \(53,\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, reduction="sum", normalizer=10),
        ValueError,
        r"linear_cross_entropy: normalizer replaces the mean's denominator and needs reduction='mean'",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, normalizer=torch.ones(2)),
        ValueError,
        r"linear_cross_entropy: normalizer must be a number or a 0-d tensor, got shape \(2,\)",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, chunk_size=0),
        ValueError,
        r"linear_cross_entropy: chunk_size must be None, a positive int",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h, w, t, reduction="avg"),
        ValueError,
        r"linear_cross_entropy: reduction must be one of \('none', 'mean', 'sum'\), got 'avg'",
    ),
    (
        lambda h, w, t: losskit.linear_cross_entropy(h.numpy(), w, t),
        TypeError,
        r"linear_cross_entropy: hidden must be a torch.Tensor, got ndarray",
    ),
    (
        lambda h, w, t: losskit.linear_distillation_loss(h, w, torch.zeros(N, V + 1, dtype=D64)),
        ValueError,
        r"linear_distillation_loss: teacher_logits must have shape \(37, 53\)",
    ),
    (
        lambda h, w, t: losskit.linear_distillation_loss(h, w, torch.zeros(N, V, dtype=D64), temperature=0),
        ValueError,
        r"linear_distillation_loss: temperature must be in \(0, inf\), got 0",
    ),
    (
        lambda h, w, t: losskit.linear_distillation_loss(
            h, w, torch.zeros(N, V, dtype=D64), direction="both"
        ),
        ValueError,
        r"linear_distillation_loss: direction must be one of \('forward', 'reverse'\), got 'both'",
    ),
    (
        lambda h, w, t: losskit.linear_distillation_loss(h, w[:, :2], torch.zeros(N, V, dtype=D64)),
        ValueError,
        r"linear_distillation_loss: weight must have shape \(V, D\)",
    ),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input_messages(case):
    fn, err, regex = BAD[case]
    h, w, _, t, _ = make()
    with pytest.raises(err, match=regex):
        fn(h.detach(), w.detach(), t)


# ---------------------------------------------------------------------------------------------------------
# linear_distillation_loss


def plain_distill(
    h,
    w,
    teacher,
    *,
    bias=None,
    temperature=1.0,
    direction="forward",
    target=None,
    ignore_index=-100,
    reduction="mean",
):
    s = F.linear(h, w, bias) / temperature
    logq, logp = torch.log_softmax(s, 1), torch.log_softmax(teacher / temperature, 1)
    if direction == "forward":
        kl = (logp.exp() * (logp - logq)).sum(1)
    else:
        kl = (logq.exp() * (logq - logp)).sum(1)
    kl = kl * temperature**2
    keep = torch.ones(len(kl), dtype=torch.bool) if target is None else target != ignore_index
    kl = torch.where(keep, kl, 0.0)
    if reduction == "none":
        return kl
    return kl.sum() if reduction == "sum" else kl.sum() / keep.sum().clamp(min=1)


@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_distillation_reference_and_gradients(direction, reduction):
    h, w, b, t, _ = make(seed=14)
    teacher = (2 * torch.randn(N, V, dtype=D64, generator=torch.Generator().manual_seed(2))).requires_grad_()
    for temperature, target, chunk in ((1.0, None, None), (2.5, t, 6), (0.7, t, None)):
        kw = dict(bias=b, temperature=temperature, direction=direction, target=target, reduction=reduction)
        out = losskit.linear_distillation_loss(h, w, teacher, chunk_size=chunk, **kw)
        expected = ref.linear_distillation_loss(
            h.detach().numpy(),
            w.detach().numpy(),
            teacher.detach().numpy(),
            bias=b.detach().numpy(),
            temperature=temperature,
            direction=direction,
            target=None if target is None else target.numpy(),
            reduction=reduction,
        )
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-13)
        for a, e in zip(
            grads(out, (h, w, b, teacher)), grads(plain_distill(h, w, teacher, **kw), (h, w, b, teacher))
        ):
            torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


def test_distillation_properties_gradcheck_half_compile():
    h, w, b, t, _ = make(n=6, d=3, v=5, seed=15, ignore_every=4)
    teacher = torch.randn(6, 5, dtype=D64, requires_grad=True)
    for direction in ("forward", "reverse"):

        def f(h_, w_, b_, te_, direction=direction):
            return losskit.linear_distillation_loss(
                h_, w_, te_, bias=b_, temperature=1.7, direction=direction, target=t, chunk_size=4
            )

        assert torch.autograd.gradcheck(f, (h, w, b, teacher))
        if direction == "reverse":  # the double-backward path is shared by both directions
            assert torch.autograd.gradgradcheck(f, (h, w, b, teacher))
    # a student equal to its teacher has zero loss in both directions
    same = F.linear(h, w, b).detach()
    for direction in ("forward", "reverse"):
        assert float(
            losskit.linear_distillation_loss(h, w, same, bias=b, direction=direction)
        ) == pytest.approx(0.0, abs=1e-14)
    # bfloat16 student, float32 teacher: computed in float32
    hb, wb = h.detach().bfloat16().requires_grad_(), w.detach().bfloat16().requires_grad_()
    out = losskit.linear_distillation_loss(hb, wb, teacher.detach().float(), temperature=2.0)
    assert out.dtype == torch.float32
    torch.testing.assert_close(
        out.double(),
        plain_distill(hb.double(), wb.double(), teacher.detach(), temperature=2.0),
        rtol=2e-2,
        atol=2e-2,
    )
    # compiles as one graph
    hf, wf, tf = h.detach().float(), w.detach().float(), teacher.detach().float()
    explain = torch._dynamo.explain(lambda x: losskit.linear_distillation_loss(x, wf, tf, chunk_size=2))(hf)
    assert explain.graph_count == 1 and explain.graph_break_count == 0, explain.break_reasons
