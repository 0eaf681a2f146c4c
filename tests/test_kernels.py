"""Fused kernels against autograd of the plain formula (values and gradients), incl. odd shapes."""

from __future__ import annotations

import zlib

import pytest
import torch

from losskit.kernels.focal import SigmoidFocal, SoftmaxFocalIndex


def plain_sigmoid_focal(x, y, alpha, gamma):
    # the paper's formula written directly (fine in float64 for moderate logits)
    p = torch.sigmoid(x)
    ce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    p_t = y * p + (1 - y) * (1 - p)
    loss = (1 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def plain_softmax_focal(z, t, coef, gamma, dim):
    p = torch.softmax(z, dim)
    p_t = p.gather(dim, t.unsqueeze(dim)).squeeze(dim)
    return -coef * (1 - p_t) ** gamma * torch.log(p_t)


@pytest.mark.parametrize("gamma", [0.0, 0.25, 1.0, 2.0, 4.5])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5), (1, 1)])
@pytest.mark.parametrize("soft", [False, True])
def test_sigmoid_focal_matches_plain_autograd(gamma, alpha, shape, soft):
    g = torch.Generator().manual_seed(zlib.crc32(repr((gamma, alpha, shape, soft)).encode()))
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 4).requires_grad_()
    y = (
        torch.rand(shape, generator=g, dtype=torch.float64)
        if soft
        else (torch.rand(shape, generator=g) < 0.5).double()
    )
    x2 = x.detach().clone().requires_grad_()
    out = SigmoidFocal.apply(x, y, alpha, gamma)
    ref = plain_sigmoid_focal(x2, y, alpha, gamma)
    torch.testing.assert_close(
        out, ref, rtol=1e-8, atol=1e-12
    )  # the plain formula loses digits in log(1 - p)
    w = torch.rand(shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize(("shape", "dim"), [((6, 4), 1), ((2, 5, 3, 2), 1), ((4, 6), 0), ((1, 2), 1)])
def test_softmax_focal_matches_plain_autograd(gamma, shape, dim):
    g = torch.Generator().manual_seed(int(gamma * 10) + len(shape))
    z = (torch.randn(shape, generator=g, dtype=torch.float64) * 3).requires_grad_()
    C = shape[dim]
    t_shape = tuple(s for i, s in enumerate(shape) if i != dim)
    t = torch.randint(0, C, t_shape, generator=g)
    coef = torch.rand(t_shape, generator=g, dtype=torch.float64)
    z2 = z.detach().clone().requires_grad_()
    out, _ = SoftmaxFocalIndex.apply(z, t, coef, gamma, dim)
    ref = plain_softmax_focal(z2, t, coef, gamma, dim)
    torch.testing.assert_close(
        out, ref, rtol=1e-8, atol=1e-12
    )  # the plain formula loses digits in log(1 - p)
    w = torch.rand(t_shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    torch.testing.assert_close(z.grad, z2.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.99])
def test_saturated_logits_small_gamma_stay_finite_where_plain_is_nan(gamma):
    # the peer formula p_t = exp(-CE) gives NaN gradients here; the kernels give finite ones
    x = torch.tensor([40.0, -40.0, 1e4, -1e4], requires_grad=True)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    SigmoidFocal.apply(x, y, 0.25, gamma).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad.abs() < 1e-6).all()
    x2 = x.detach().clone().requires_grad_()
    plain_sigmoid_focal(x2, y, 0.25, gamma).sum().backward()
    assert not torch.isfinite(x2.grad).all()  # documents the failure mode the kernel avoids

    z = torch.tensor([[50.0, 0.0, -50.0], [1e4, -1e4, 0.0]], requires_grad=True)
    t = torch.tensor([0, 0])
    SoftmaxFocalIndex.apply(z, t, torch.ones(2), gamma, 1)[0].sum().backward()
    assert torch.isfinite(z.grad).all()


def test_kernels_save_only_inputs():
    x = torch.randn(1000, 10, requires_grad=True)
    y = (torch.rand(1000, 10) < 0.1).float()
    out = SigmoidFocal.apply(x, y, 0.25, 2.0)
    saved = out.grad_fn.saved_tensors
    assert len(saved) == 2 and saved[0].data_ptr() == x.data_ptr() and saved[1].data_ptr() == y.data_ptr()


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("grad_kind", ["mean", "weighted", "noncontiguous-input"])
def test_sigmoid_focal_chunks_equal_one_pass(alpha, gamma, grad_kind, monkeypatch):
    # forward and backward run in chunks of CPU_CHUNK elements; a tiny chunk that does not divide the
    # size must give the one-pass values and gradients for every layout of input and incoming gradient
    import losskit.kernels.focal as KF

    g = torch.Generator().manual_seed(3)
    base = torch.randn(9, 13, generator=g, dtype=torch.float64) * 3
    x0 = base.t() if grad_kind == "noncontiguous-input" else base
    y = (torch.rand(x0.shape, generator=g) < 0.3).double()
    w = torch.rand(x0.shape, generator=g, dtype=torch.float64)

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        x = x0.clone() if grad_kind != "noncontiguous-input" else base.clone().t()
        x.requires_grad_(True)
        loss = SigmoidFocal.apply(x, y, alpha, gamma)
        (loss * w).sum().backward() if grad_kind == "weighted" else loss.mean().backward()
        return loss.detach(), x.grad

    one_loss, one_grad = run()
    monkeypatch.setattr(KF, "CPU_CHUNK", 10)
    loss, grad = run()
    # equal up to the last bit (vectorised and scalar tails of an op may round differently)
    torch.testing.assert_close(loss, one_loss, rtol=1e-14, atol=0)
    torch.testing.assert_close(grad, one_grad, rtol=1e-14, atol=0)
    ref_x = x0.clone().requires_grad_(True)
    ref = plain_sigmoid_focal(ref_x, y, alpha, gamma)
    (ref * w).sum().backward() if grad_kind == "weighted" else ref.mean().backward()
    torch.testing.assert_close(grad, ref_x.grad, rtol=1e-7, atol=1e-12)


def test_sigmoid_focal_fwd_bwd_holds_one_input_sized_buffer(monkeypatch):
    # issue 15: fwd+bwd needs the input, the target and one gradient buffer. Count the bytes of every
    # tensor created during forward + backward that is alive at once (inputs made before, not counted).
    from benchmarks.harness import _LiveBytes

    import losskit
    import losskit.kernels.focal as KF

    monkeypatch.setattr(KF, "CPU_CHUNK", 1 << 12)
    x = torch.randn(256, 256, requires_grad=True)
    y = (torch.rand(256, 256) < 0.1).float()
    mode = _LiveBytes(exclude=(x, y))
    with mode:
        losskit.sigmoid_focal_loss(x, y).backward()
    size = x.numel() * x.element_size()
    # one buffer (the loss, then the gradient) plus the chunk temporaries (5 x 16 KiB) and scalars
    assert mode.peak <= size + 6 * (1 << 12) * 4 + 4096, mode.peak / size


@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize(("shape", "dim"), [((37, 5), 1), ((3, 4, 7, 5), 1), ((5, 23), 0), ((2, 3, 4), 2)])
@pytest.mark.parametrize("chunk", [11, 1 << 20])
def test_softmax_focal_chunks_match_plain_autograd(gamma, shape, dim, chunk, monkeypatch):
    # chunk 11 splits rows (37 x 5: 2 rows a chunk) and, where one row is larger than a chunk
    # (3 x 4 x 7 x 5 with C = 4: 35 positions a row), spans of positions inside a row
    import losskit.kernels.focal as KF

    monkeypatch.setattr(KF, "CPU_CHUNK", chunk)
    g = torch.Generator().manual_seed(len(shape) + dim)
    z = (torch.randn(shape, generator=g, dtype=torch.float64) * 3).requires_grad_()
    t_shape = tuple(s for i, s in enumerate(shape) if i != dim)
    t = torch.randint(0, shape[dim], t_shape, generator=g)
    coef = torch.rand(t_shape, generator=g, dtype=torch.float64)
    z2 = z.detach().clone().requires_grad_()
    out, _ = SoftmaxFocalIndex.apply(z, t, coef, gamma, dim)
    ref = plain_softmax_focal(z2, t, coef, gamma, dim)
    torch.testing.assert_close(out, ref, rtol=1e-8, atol=1e-12)
    w = torch.rand(t_shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    torch.testing.assert_close(z.grad, z2.grad, rtol=1e-9, atol=1e-12)


def test_softmax_focal_noncontiguous_input_takes_one_pass(monkeypatch):
    import losskit.kernels.focal as KF

    monkeypatch.setattr(KF, "CPU_CHUNK", 7)
    base = torch.randn(6, 9, dtype=torch.float64)
    z = base.t().requires_grad_()  # (9, 6), class dim 1 not viewable as (A, C, B) without a copy
    t = torch.randint(0, 6, (9,))
    coef = torch.ones(9, dtype=torch.float64)
    z2 = z.detach().clone().requires_grad_()
    SoftmaxFocalIndex.apply(z, t, coef, 2.0, 1)[0].sum().backward()
    plain_softmax_focal(z2, t, coef, 2.0, 1).sum().backward()
    torch.testing.assert_close(z.grad, z2.grad, rtol=1e-9, atol=1e-12)


def test_softmax_focal_fwd_bwd_holds_one_input_sized_buffer(monkeypatch):
    # issue 16: fwd+bwd of the fused softmax focal holds the gradient, per-sample vectors and chunk-sized
    # temporaries; unchunked, the forward's log-softmax alone is a second input-sized buffer
    from benchmarks.harness import _LiveBytes

    import losskit
    import losskit.kernels.focal as KF

    monkeypatch.setattr(KF, "CPU_CHUNK", 1 << 12)
    x = torch.randn(512, 128, requires_grad=True)
    y = torch.randint(0, 128, (512,))
    mode = _LiveBytes(exclude=(x, y))
    with mode:
        losskit.softmax_focal_loss(x, y, gamma=2.0).backward()
    size = x.numel() * x.element_size()
    assert mode.peak <= size + 2 * (1 << 12) * 4 + 24 * 512 * 8, mode.peak / size


# --- IndexStats (Dice / Tversky / Jaccard statistics of class-index targets) -----------------------------


def _index_stats_case(sigmoid, squared, masked, seed=0):
    from losskit.kernels.segmentation import IndexStats, _activation, index_sums

    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(3, 4, 37, generator=g, dtype=torch.float64) * 3).requires_grad_()
    lab = torch.randint(0, 4, (3, 37), generator=g)
    v = (torch.rand(3, 37, generator=g) < 0.7).double() if masked else None
    w1, w2 = (
        torch.randn(3, 4, generator=g, dtype=torch.float64),
        torch.randn(3, 4, generator=g, dtype=torch.float64),
    )
    tp, sp, *_ = IndexStats.apply(x, lab, v, sigmoid, squared)
    ((tp * w1).sum() + (sp * w2).sum()).backward()
    x2 = x.detach().clone().requires_grad_()
    tp2, sp2 = index_sums(_activation(x2, sigmoid), lab, v, squared)
    ((tp2 * w1).sum() + (sp2 * w2).sum()).backward()
    return (tp, sp, x.grad), (tp2, sp2, x2.grad)


@pytest.mark.parametrize("sigmoid", [False, True])
@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("chunk", [1 << 18, 50])
def test_index_stats_matches_plain_autograd_in_chunks(sigmoid, squared, masked, chunk, monkeypatch):
    # chunk 50 splits the 37 pixels of 3 x 4 logits into spans of 4 (not a divisor): every chunk boundary
    import losskit.kernels.segmentation as KS

    monkeypatch.setattr(KS, "CPU_CHUNK", chunk)
    out, ref = _index_stats_case(sigmoid, squared, masked)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_index_stats_class_volumes_and_retained_graph():
    from losskit.kernels.segmentation import IndexStats

    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 50, generator=g, dtype=torch.float64, requires_grad=True)
    lab = torch.randint(0, 3, (2, 50), generator=g)
    v = (torch.rand(2, 50, generator=g) < 0.5).double()
    tp, sp, _, counted, sg, _ = IndexStats.apply(x, lab, v, False, False)
    expected = torch.stack([((lab == c).double() * v).sum(-1) for c in range(3)], 1)
    torch.testing.assert_close(sg, expected, rtol=0, atol=0)
    torch.testing.assert_close(counted, v.sum(-1), rtol=0, atol=0)  # the counted pixels
    loss = (tp * torch.randn(2, 3, generator=g, dtype=torch.float64)).sum() + sp.square().sum()
    # the first backward turns the kept probabilities into the gradient; a second one recomputes them
    (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, x)
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)


def test_dice_fwd_bwd_holds_one_input_sized_buffer(monkeypatch):
    # issue 16: the probabilities become the gradient; with class indices fwd+bwd allocates the gradient,
    # two (N, S) vectors (p_own, and the checks' reductions) and chunk-sized temporaries
    from benchmarks.harness import _LiveBytes

    import losskit
    import losskit.kernels.segmentation as KS

    monkeypatch.setattr(KS, "CPU_CHUNK", 1 << 12)
    x = torch.randn(2, 4, 64, 64, requires_grad=True)
    y = torch.randint(0, 4, (2, 64, 64))
    mode = _LiveBytes(exclude=(x, y))
    with mode:
        losskit.dice_loss(x, y).backward()
    size = x.numel() * x.element_size()
    assert mode.peak <= size * (1 + 1 / 4) + 8 * (1 << 12) * 4 + 4096, mode.peak / size


@pytest.mark.parametrize("masked", [False, True])
def test_dice_index_second_order_through_the_kernel(masked):
    # create_graph: the kernel's backward differentiates the plain formula (tests/test_second_order.py
    # covers every loss; this pins the kernel with a mask and a kept-probabilities forward)
    import losskit

    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 3, (2, 5, 4), generator=g)
    mask = torch.rand(2, 5, 4, generator=g) < 0.7 if masked else None
    assert torch.autograd.gradgradcheck(lambda a: losskit.dice_loss(a, y, mask=mask), (x,), fast_mode=True)


# --- Lovász (ranked block by block, the gradient made in forward) -----------------------------------------


def _lovasz_case(c, per_image, masked, hinge_probs=False, seed=0):
    import losskit

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, c, 6, 7, generator=g, dtype=torch.float64) * 2
    if hinge_probs:
        x = torch.sigmoid(x)
    y = torch.randint(0, max(c, 2), (3, 6, 7), generator=g)
    y[0, 0, :4] = 9  # ignored
    mask = torch.rand(3, 6, 7, generator=g) < 0.7 if masked else None
    kw = dict(
        per_image=per_image,
        mask=mask,
        ignore_index=9,
        reduction="none",
        input_type="probs" if hinge_probs else "logits",
    )
    return lambda a: losskit.lovasz_loss(a, y, **kw), x, g


@pytest.mark.parametrize("c", [1, 3, 5])
@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("block", [1 << 19, 40, 1])
def test_lovasz_kernel_matches_plain_autograd_in_blocks(c, per_image, masked, block, monkeypatch):
    # block 40 puts a few rows (or part of one image's classes) in each block, 1 a single row
    import losskit.kernels.lovasz as KL
    from losskit._core.fastpath import fast_paths

    monkeypatch.setattr(KL, "CPU_BLOCK", block)
    f, x, g = _lovasz_case(c, per_image, masked)
    a = x.clone().requires_grad_()
    out = f(a)
    assert type(out.grad_fn).__name__ == "LovaszBackward"
    w = torch.rand(out.shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    with fast_paths(False):
        b = x.clone().requires_grad_()
        ref = f(b)
        assert type(ref.grad_fn).__name__ != "LovaszBackward"
        (ref * w).sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-13, atol=1e-15)


def test_lovasz_kernel_hinge_from_probabilities_and_dense_target():
    import losskit
    from losskit._core.fastpath import fast_paths

    g = torch.Generator().manual_seed(4)
    p = torch.rand(2, 3, 5, 5, generator=g, dtype=torch.float64) * 0.98 + 0.01
    t = (torch.rand(2, 3, 5, 5, generator=g) < 0.4).double()
    for kw in (dict(multilabel=True, input_type="probs"), dict(input_type="probs", include_background=False)):
        res = []
        for fast in (True, False):
            a = p.clone().requires_grad_()
            with fast_paths(fast):
                out = losskit.lovasz_loss(a, t, per_image=False, reduction="none", **kw)
            assert (type(out.grad_fn).__name__ == "LovaszBackward") == fast
            (out * torch.arange(1.0, out.numel() + 1, dtype=out.dtype)).sum().backward()
            res.append((out.detach(), a.grad))
        torch.testing.assert_close(res[0][0], res[1][0], rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(res[0][1], res[1][1], rtol=1e-13, atol=1e-15)


def test_lovasz_retained_graph_and_no_grad():
    import losskit

    f, x, _ = _lovasz_case(4, False, True)
    a = x.clone().requires_grad_()
    loss = f(a).sum()
    # the first backward scales the kept gradient in place; a second one recomputes it
    (g1,) = torch.autograd.grad(loss, a, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, a)
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(f(x), f(a).detach(), rtol=0, atol=0)
    assert losskit.lovasz_loss(x, torch.zeros(3, 6, 7, dtype=torch.long)).requires_grad is False


@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_fwd_bwd_holds_probabilities_gradient_and_one_block(per_image, monkeypatch):
    # issue 16: autograd of the plain formula peaked at ~14 input-sized float32 tensors (112 MB at
    # 8x4x256x256); the kernel holds the probabilities, the gradient, the float class ids (1/C) and one
    # block's temporaries (about six floats per element of a block)
    from benchmarks.harness import _LiveBytes

    import losskit
    import losskit.kernels.lovasz as KL

    monkeypatch.setattr(KL, "CPU_BLOCK", 1 << 12)
    x = torch.randn(2, 4, 64, 64, requires_grad=True)
    y = torch.randint(0, 4, (2, 64, 64))
    mode = _LiveBytes(exclude=(x, y))
    with mode:
        losskit.lovasz_loss(x, y, per_image=per_image).backward()
    size = x.numel() * x.element_size()
    # a block: one row per thread (pooled rows are 8192 long, per-image rows 4096), at most half the rows;
    # its temporaries: errors, sorted errors, int64 ranking, target, cumulative sums, increments, and
    # the rows of ``a`` (a copy when pooled); plus the ranks 1..P
    length = 4096 if per_image else 8192
    block = 2 * length * 4
    assert mode.peak <= size * (2 + 1 / 4) + 7 * block + length * 4 + 4096, mode.peak / size
    # autograd of the plain formula needs several times more
    from losskit._core.fastpath import fast_paths

    with fast_paths(False):
        plain = _LiveBytes(exclude=(x, y))
        with plain:
            losskit.lovasz_loss(x, y, per_image=per_image).backward()
    assert plain.peak > 2 * mode.peak, (plain.peak / size, mode.peak / size)


# --- under torch.compile the fast paths step aside (issue 12 step 4) ----------------------------------------
# The fused Functions would reach the graph as opaque autograd_function_apply nodes that inductor cannot
# fuse with the reduction around them; compiled, every loss takes its plain formula instead. Each case
# swaps the kernel entry point at its call site for one that fails: eager must reach it (the swap
# is at the right place), compiled with fullgraph=True must not, and the compiled values and gradients
# must equal eager's (which ran the real kernel) in float64.


def _raise_if_called(*args, **kwargs):
    raise AssertionError("fused kernel reached")


class _Unreachable:
    apply = staticmethod(_raise_if_called)


def _compile_cases():
    import losskit.functional.boxes as FB
    import losskit.functional.classification.binary as FCB
    import losskit.functional.classification.multiclass as FCM
    import losskit.functional.segmentation as FS

    g = torch.Generator().manual_seed(12)
    dt = torch.float64
    logits = torch.randn(6, 5, generator=g, dtype=dt) * 3
    onehot = (torch.rand(6, 5, generator=g) < 0.3).to(dt)
    spatial = torch.randn(2, 4, 3, 5, generator=g, dtype=dt) * 2
    labels = torch.randint(0, 4, (2, 3, 5), generator=g)
    corner = torch.rand(7, 2, generator=g, dtype=dt) * 10
    target = torch.cat([corner, corner + 1 + torch.rand(7, 2, generator=g, dtype=dt) * 5], 1)
    pred = target + torch.randn(7, 4, generator=g, dtype=dt)
    pred = torch.cat([pred[:, :2], torch.maximum(pred[:, 2:], pred[:, :2] + 0.5)], 1)
    import losskit

    cases = [
        (
            "sigmoid_focal",
            FCB,
            "SigmoidFocalSum",
            lambda x, y: losskit.sigmoid_focal_loss(x, y),
            logits,
            onehot,
        ),
        (
            "sigmoid_focal_none",  # reduction="none" takes the unreduced kernel
            FCB,
            "SigmoidFocal",
            lambda x, y: losskit.sigmoid_focal_loss(x, y, reduction="none").sum(),
            logits,
            onehot,
        ),
        (
            "softmax_focal",
            FCM,
            "SoftmaxFocalIndex",
            lambda x, y: losskit.softmax_focal_loss(x, y, gamma=2.0),
            spatial,
            labels,
        ),
        (
            "sigmoid_focal_soft_gamma1",
            FCB,
            "SigmoidFocalSum",
            lambda x, y: losskit.sigmoid_focal_loss(x, y.clamp(0.2, 0.7), gamma=1.0, alpha=None),
            logits,
            onehot,
        ),
        (
            "sigmoid_focal_gamma0.5",  # γ < 1 compiles the plain formula
            FCB,
            "SigmoidFocalSum",
            lambda x, y: losskit.sigmoid_focal_loss(x, y, gamma=0.5, reduction="sum"),
            logits,
            onehot,
        ),
        (
            "softmax_focal_weight_ignore",
            FCM,
            "SoftmaxFocalIndex",
            lambda x, y: losskit.softmax_focal_loss(
                x, y.masked_fill(y == 3, -100), gamma=3.0, weight=torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=dt)
            ),
            spatial,
            labels,
        ),
        ("dice", FS, "IndexStats", lambda x, y: losskit.dice_loss(x, y), spatial, labels),
        ("lovasz", FS, "Lovasz", lambda x, y: losskit.lovasz_loss(x, y), spatial, labels),
    ]
    cases += [
        (kind, FB, "iou_family_loss", getattr(losskit, f"{kind}_loss"), pred, target)
        for kind in ("giou", "diou", "ciou", "eiou")
    ]
    return cases


@pytest.mark.parametrize("case", _compile_cases(), ids=lambda c: c[0])
def test_compiled_losses_take_the_plain_formula_with_eager_values_and_gradients(case, monkeypatch):
    _, module, entry, fn, x, y = case
    torch._dynamo.reset()
    x_eager = x.clone().requires_grad_()
    want = fn(x_eager, y)
    (want_grad,) = torch.autograd.grad(want, x_eager)

    stand_in = _raise_if_called if entry == "iou_family_loss" else _Unreachable
    monkeypatch.setattr(module, entry, stand_in)
    with pytest.raises(AssertionError, match="fused kernel reached"):
        fn(x.clone().requires_grad_(), y)  # eager goes through the (swapped) kernel

    compiled = torch.compile(fn, backend="aot_eager", fullgraph=True)
    x_comp = x.clone().requires_grad_()
    got = compiled(x_comp, y)
    (got_grad,) = torch.autograd.grad(got, x_comp)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-9, atol=1e-12)
    torch._dynamo.reset()


# --- the softmax path of IndexStats: chunk boundaries, masks, the label check on the class volumes ------


@pytest.mark.parametrize("chunk", [1 << 18, 40])
@pytest.mark.parametrize("case", ["plain", "ignore", "mask", "both"])
@pytest.mark.parametrize("loss", ["dice", "tversky"])
def test_index_softmax_path_matches_dense_targets(chunk, case, loss, monkeypatch):
    # chunk 40 splits 3 x 4 x 37 logits into spans of 9 pixels (not a divisor of 37); the reference is
    # the dense path (a one-hot float target, plain autograd), with the ignored pixels passed as a mask
    import losskit
    import losskit.kernels.segmentation as KS

    monkeypatch.setattr(KS, "CPU_CHUNK", chunk)
    g = torch.Generator().manual_seed(11)
    x = (torch.randn(3, 4, 37, generator=g, dtype=torch.float64) * 2).requires_grad_()
    y = torch.randint(0, 4, (3, 37), generator=g)
    mask = torch.rand(3, 37, generator=g) < 0.6 if case in ("mask", "both") else None
    ignore = None
    if case in ("ignore", "both"):
        ignore = 255
        y = torch.where(torch.rand(3, 37, generator=g) < 0.3, torch.full_like(y, 255), y)

    def fn(a, t, **kw):
        if loss == "dice":
            return losskit.dice_loss(a, t, reduction="none", **kw)
        return losskit.tversky_loss(a, t, alpha=0.3, beta=0.7, reduction="none", **kw)

    w = torch.randn(3, 4, generator=g, dtype=torch.float64)
    out = fn(x, y, ignore_index=ignore, mask=mask)
    (gx,) = torch.autograd.grad((out * w).sum(), x)
    keep = torch.ones_like(y, dtype=torch.bool) if mask is None else mask.clone()
    if ignore is not None:
        keep &= y != ignore
    dense = torch.nn.functional.one_hot(torch.where(y == 255, 0, y), 4).permute(0, 2, 1).double()
    x2 = x.detach().clone().requires_grad_()
    ref = fn(x2, dense, mask=keep)
    (gx2,) = torch.autograd.grad((ref * w).sum(), x2)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gx, gx2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bad", [4, -1, 7])
@pytest.mark.parametrize("chunk", [1 << 18, 40])
@pytest.mark.parametrize("ignore", [None, 255])
def test_index_softmax_path_label_check_on_the_class_volumes(bad, chunk, ignore, monkeypatch):
    # the label range is checked on the kernel's class volumes (no pass over the labels); the error
    # is the one of checks.check_labels, naming the bad label, in every chunk position
    import losskit
    import losskit.kernels.segmentation as KS

    monkeypatch.setattr(KS, "CPU_CHUNK", chunk)
    x = torch.randn(3, 4, 37, requires_grad=True)
    ign = "" if ignore is None else rf" \(or ignore_index={ignore}\)"
    for pos in (0, 17, 36):
        y = torch.randint(0, 4, (3, 37), generator=torch.Generator().manual_seed(pos))
        if ignore is not None:
            y[1, 5] = ignore
        y[2, pos] = bad
        for fn in (losskit.dice_loss, losskit.tversky_loss, losskit.jaccard_loss):
            name = fn.__name__
            with pytest.raises(
                ValueError,
                match=rf"^{name}: target holds class index {bad}, expected indices in \[0, 3\]{ign}$",
            ):
                fn(x, y, ignore_index=ignore)
        losskit.set_checks("off")
        try:
            losskit.dice_loss(x, torch.where(y == bad, 0, y), ignore_index=ignore).backward()
        finally:
            losskit.set_checks("default")


def test_index_softmax_path_checks_the_labels_of_masked_pixels():
    # with a mask, a bad label under a masked-out pixel is still an error (checked before the kernel)
    import losskit

    x = torch.randn(2, 3, 5, 5)
    y = torch.randint(0, 3, (2, 5, 5))
    y[1, 2, 2] = 3
    mask = torch.ones(2, 5, 5, dtype=torch.bool)
    mask[1, 2, 2] = False
    with pytest.raises(ValueError, match=r"^dice_loss: target holds class index 3"):
        losskit.dice_loss(x, y, mask=mask)
