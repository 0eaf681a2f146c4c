r"""Fused focal-loss kernels: few passes forward, closed-form backward, only the inputs saved.

Both are ``torch.autograd.Function``s whose forward returns the unreduced loss; reduction and weights are
applied outside by the caller. They are used for the hot paths (logits input, target without gradient)
and are tested against autograd of the plain formula (tests/test_kernels.py).

Sigmoid focal, per element, with :math:`p = \sigma(x)`, :math:`q = 1 - p = \sigma(-x)`,
:math:`u = 1 - p_t = y q + (1 - y) p`, :math:`m = u^\gamma`, :math:`c = \mathrm{BCE}(x, y)`,
:math:`a = \alpha y + (1-\alpha)(1-y)`:

.. math::
    \ell = a\, m\, c, \qquad
    \frac{\partial \ell}{\partial x} = a\, m \left[\gamma (1 - 2y)\, r\, c + (p - y)\right],
    \quad r = \frac{p q}{u} \in [0, 1]

The ratio ``r`` is bounded (``u >= min(p, q)``), so the gradient never forms ``0 · ∞`` the way
``γ u^{γ-1}`` does for γ < 1 at saturated logits.

Softmax focal with an index target ``t``, :math:`\log p_t` from log-softmax, :math:`u = 1 - p_t`
computed as ``-expm1(log p_t)``:

.. math::
    \ell = -a\, u^\gamma \log p_t, \qquad
    \frac{\partial \ell}{\partial z_j} = a\, k\, (p_j - \delta_{jt}),\quad
    k = u^\gamma \Big(1 + \gamma\, p_t \frac{-\log p_t}{u}\Big)

where :math:`-\log p_t / u \to 1` as :math:`u \to 0`.

Supported: values and first derivatives (the closed forms above, tested against autograd of the plain
formula); **higher-order gradients** — a backward that runs with grad mode on (``create_graph=True``:
gradient penalties, Hessian-vector products, MAML) differentiates the plain formula instead (the same
function, written in differentiable ops), so every derivative order is that of the formula; and
``torch.func`` / forward-mode AD, under which the callers take the plain formula
(:func:`losskit._core.fastpath.applies`). Gradients flow to the logits only: the callers take the plain
formula when the target (or a class weight) needs a gradient.

Memory: forward and backward each allocate their one output (:class:`SigmoidFocal`: the unreduced loss,
the gradient; :class:`SoftmaxFocalIndex`: per-sample vectors, the gradient) and compute through it in
chunks of :func:`chunk_size` elements (whole class vectors for the softmax), so the temporaries of the
formula are chunk-sized: fwd+bwd needs the input, the target and one input-sized buffer at a time.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import pages
from losskit._core.fastpath import differentiate_plain
from losskit._core.logspace import logaddexp

__all__ = [
    "CPU_CHUNK",
    "DEVICE_CHUNK",
    "SigmoidFocal",
    "SigmoidFocalSum",
    "SoftmaxFocalIndex",
    "chunk_size",
    "flat_view",
]

CPU_CHUNK = 1 << 19
"""Elements per chunk on the CPU (the sigmoid focal kernels; the softmax focal takes whole class vectors
of about this many elements). Rule: the live set of a chunk, its three operand slices (input, target,
gradient or loss) and the four workspace vectors of :func:`_workspace`, is 7 x 2 MiB in float32 = 14 MiB,
under half of a 32 MiB last-level cache, so each pass of the formula reads what the previous one just
wrote and the one trip to memory per element is the read of the inputs and the write of the output.
2**19 elements are still enough that torch's split of an op over its threads costs little next to the
arithmetic (with 2**16 the per-op hand-offs dominated on a loaded 2-core machine)."""
DEVICE_CHUNK = 1 << 22
"""Elements per chunk on other devices: large enough that one launch per op fills a GPU, small enough that
the temporaries stay bounded (16 MiB each in float32) however large the input."""


def chunk_size(device: torch.device) -> int:
    """Elements per chunk on ``device``: :data:`CPU_CHUNK` on the CPU, :data:`DEVICE_CHUNK` elsewhere."""
    return CPU_CHUNK if device.type == "cpu" else DEVICE_CHUNK


def _flat(t: Tensor) -> Tensor:
    """``t`` as one flat dimension, without a copy when it is contiguous or a broadcast scalar.

    The gradient that a ``"mean"`` / ``"sum"`` reduction sends back is a scalar expanded to the input's
    shape (every stride 0); it stays a stride-0 view here instead of becoming an input-sized copy.
    """
    if t.is_contiguous():
        return t.view(-1)
    if all(s == 0 for s in t.stride()):
        return t.as_strided((t.numel(),), (0,))
    return t.reshape(-1)


def flat_view(t: Tensor, shape: torch.Size) -> Tensor | None:
    """``t`` broadcast to ``shape`` as a flat view (no copy), or None when that needs a copy.

    Works for a tensor of exactly ``shape`` that is contiguous and for a single value (every stride 0).
    """
    if tuple(t.shape) == tuple(shape) and t.is_contiguous():
        return t.view(-1)
    if t.numel() == 1:
        return t.reshape(()).expand(math.prod(shape))
    return None


def _spans_1d(n: int, chunk: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of ``chunk`` elements covering ``n`` (one range for small inputs)."""
    if n <= chunk or torch.compiler.is_compiling():
        return [(0, n)]
    return [(i, min(i + chunk, n)) for i in range(0, n, chunk)]


def _workspace(like: Tensor, n: int, k: int) -> list[Tensor]:
    """``k`` work vectors of ``n`` elements in one allocation (reused by every chunk of one call)."""
    buf = like.new_empty(k * n)
    return [buf[i * n : (i + 1) * n] for i in range(k)]


def _pow_(t: Tensor, gamma: float) -> Tensor:
    """``t ** gamma`` in place; 1 and 2 without the general power."""
    if gamma == 2.0:
        return t.square_()
    if gamma != 1.0:
        return t.pow_(gamma)
    return t


def _log_term(p: Tensor, q: Tensor, out: Tensor) -> Tensor:
    """``log1p(-min(p, q)) = -log(1 + e^{-|x|})`` into ``out``, from ``p = σ(x)`` and ``q = σ(-x)``.

    ``min(p, q) = σ(-|x|) <= 1/2``, so a log1p of it replaces the softplus of ``BCE`` (which costs about
    four sigmoids on the CPU), accurate to the last bits; it is 0 where ``σ(-|x|)`` underflows.
    """
    return torch.minimum(p, q, out=out).neg_().log1p_()


def _bce_(x: Tensor, y: Tensor, log_term: Tensor, out: Tensor) -> Tensor:
    """``BCE(x, y) = max(x, 0) - x y + log(1 + e^{-|x|})`` into ``out`` (``log_term``: :func:`_log_term`)."""
    return torch.clamp(x, min=0.0, out=out).addcmul_(x, y, value=-1.0).sub_(log_term)


def _focal_terms(x: Tensor, y: Tensor, ws: list[Tensor], gamma: float) -> Tensor:
    """``u^γ · BCE(x, y)`` of one chunk into ``ws[0]`` (``ws``: three work vectors); returns ``ws[0]``.

    ``u = lerp(σ(x), σ(-x), y)``: exact at ``y`` in {0, 1} and free of cancellation in between.
    """
    a, b, c = ws
    torch.sigmoid(x, out=a)  # p
    torch.neg(x, out=b).sigmoid_()  # q
    _log_term(a, b, c)
    if gamma == 0.0:
        return _bce_(x, y, c, a)
    _pow_(a.lerp_(b, y), gamma)  # u^γ
    return a.mul_(_bce_(x, y, c, b))


def _focal_grad(
    x: Tensor, y: Tensor, out: Tensor, ws: list[Tensor], gamma: float
) -> tuple[Tensor, Tensor | None, float, Tensor]:
    """``∂(u^γ c)/∂x = k · inner · factor`` of one chunk (module docstring), as ``(inner, factor, k, spare)``.

    γ >= 1: ``inner = pq (1 - 2y) c + u (p - y) / γ``, ``factor = u^{γ-1}`` (finite, taken directly),
    ``k = γ``. 0 < γ < 1: ``inner = (p - y) + γ r c (1 - 2y)`` with the bounded ratio ``r = pq / u`` and
    ``factor = u^γ``, ``k = 1``. γ = 0: ``p - y``. ``factor`` None means 1. ``out`` (the chunk of the
    gradient) serves as work space; ``spare`` is a free work vector.
    """
    a, b, c, d = ws
    torch.sigmoid(x, out=a)  # p
    if gamma == 0.0:
        return a.sub_(y), None, 1.0, b
    torch.neg(x, out=b).sigmoid_()  # q
    _bce_(x, y, _log_term(a, b, d), out)  # c
    torch.lerp(a, b, y, out=c)  # u
    b.mul_(a)  # pq
    a.sub_(y)  # p - y
    if gamma < 1.0:
        b.div_(c.clamp_(min=torch.finfo(c.dtype).tiny)).mul_(out)  # r c
        b.addcmul_(b, y, value=-2.0)  # r c (1 - 2y)
        return a.add_(b, alpha=gamma), c.pow_(gamma), 1.0, d
    b.mul_(out)
    b.addcmul_(b, y, value=-2.0)  # pq c (1 - 2y)
    b.addcmul_(a, c, value=1.0 / gamma)
    return b, None if gamma == 1.0 else _pow_(c, gamma - 1.0), gamma, d


def _write_grad(
    y: Tensor,
    out: Tensor,
    inner: Tensor,
    factor: Tensor | None,
    k: Tensor | float,
    alpha: float | None,
    spare: Tensor,
) -> Tensor:
    """``out = k · α_t · inner · factor``, ``α_t = α y + (1 - α)(1 - y)`` (``spare``: a free work vector)."""
    if alpha is not None:
        k1, k2 = 1.0 - alpha, 2.0 * alpha - 1.0
        if factor is not None and k1 != 0.0:
            factor.addcmul_(factor, y, value=k2 / k1)  # factor (1 + (k2 / k1) y)
            k = k * k1
        else:
            at = torch.mul(y, k2, out=spare).add_(k1)
            factor = at if factor is None else factor.mul_(at)
    if factor is None:
        out.copy_(inner)
    else:
        torch.mul(inner, factor, out=out)
    return out if isinstance(k, float) and k == 1.0 else out.mul_(k)


def _sigmoid_focal_loss(x: Tensor, y: Tensor, alpha: float | None, gamma: float) -> Tensor:
    """Unreduced loss of ``x`` (any shape), chunk by chunk into one output; the chunk work is in place."""
    out = pages.empty(x.shape, dtype=x.dtype, device=x.device)
    xf, yf, of = _flat(x), _flat(y), out.view(-1)
    spans = _spans_1d(xf.numel(), chunk_size(x.device))
    ws = _workspace(x, max(1, spans[0][1] - spans[0][0]), 3)
    for i0, i1 in spans:
        n = i1 - i0
        xc, yc, oc = xf[i0:i1], yf[i0:i1], of[i0:i1]
        ell = _focal_terms(xc, yc, [t[:n] for t in ws], gamma)
        if alpha is None:
            oc.copy_(ell)
        else:
            torch.mul(yc, 2.0 * alpha - 1.0, out=ws[1][:n]).add_(1.0 - alpha)
            torch.mul(ell, ws[1][:n], out=oc)
    return out


def _sigmoid_focal_grad(
    x: Tensor, y: Tensor, grad: Tensor, w: Tensor | None, alpha: float | None, gamma: float
) -> Tensor:
    """``grad · w · ∂ℓ/∂x``, chunk by chunk into one preallocated gradient.

    ``grad`` is the incoming gradient, broadcastable to ``x`` (a single value is folded into the scale:
    a Python number on the CPU, a 0-d tensor elsewhere, so no device sync); ``w`` a flat weight
    (:func:`flat_view`) or None.
    """
    out = pages.empty(x.shape, dtype=x.dtype, device=x.device)
    xf, yf, of = _flat(x), _flat(y), out.view(-1)
    scale: Tensor | float = 1.0
    gf: Tensor | None = None
    if grad.numel() == 1:
        scale = float(grad) if grad.device.type == "cpu" else grad.reshape(())
    else:
        gf = _flat(grad.expand_as(x))
    spans = _spans_1d(xf.numel(), chunk_size(x.device))
    ws = _workspace(x, max(1, spans[0][1] - spans[0][0]), 4)
    for i0, i1 in spans:
        n = i1 - i0
        yc, oc = yf[i0:i1], of[i0:i1]
        inner, factor, k, spare = _focal_grad(xf[i0:i1], yc, oc, [t[:n] for t in ws], gamma)
        _write_grad(yc, oc, inner, factor, scale * k, alpha, spare)
        if w is not None:
            oc.mul_(w[i0:i1])
        if gf is not None:
            oc.mul_(gf[i0:i1])
    return out


def _sigmoid_focal_sum(
    x: Tensor, y: Tensor, w: Tensor | None, alpha: float | None, gamma: float, check: bool
) -> tuple[Tensor, Tensor]:
    """``(Σ w α_t ℓ, target extremes)``: chunk by chunk, no input-sized buffer.

    ``Σ α_t ℓ = (1 - α) Σ ℓ + (2α - 1) Σ y ℓ``: a sum and a dot product of the chunk, no α_t vector. With
    ``check`` the second output holds ``[min y, max y]`` of the whole target (each chunk's ``aminmax``
    while it is in cache; a NaN anywhere reaches both), else it is empty.
    """
    xf, yf = _flat(x), _flat(y)
    spans = _spans_1d(xf.numel(), chunk_size(x.device))
    ws = _workspace(x, max(1, spans[0][1] - spans[0][0]), 3)
    parts: list[Tensor] = []
    stats: list[Tensor] = []
    for i0, i1 in spans:
        n = i1 - i0
        xc, yc = xf[i0:i1], yf[i0:i1]
        if check and n:
            stats.append(torch.stack(torch.aminmax(yc)))
        ell = _focal_terms(xc, yc, [t[:n] for t in ws], gamma)
        if w is not None:
            ell.mul_(w[i0:i1])
        if alpha is None:
            parts.append(ell.sum())
        else:
            parts.append(ell.sum() * (1.0 - alpha) + torch.dot(ell, yc) * (2.0 * alpha - 1.0))
    total = parts[0] if len(parts) == 1 else torch.stack(parts).sum()
    if not stats:
        return total, x.new_empty(0)
    ext = torch.stack(stats)
    return total, torch.stack((ext[:, 0].min(), ext[:, 1].max()))


def plain_sigmoid_focal(x: Tensor, y: Tensor, alpha: float | None, gamma: float) -> Tensor:
    """The same loss in differentiable out-of-place ops, in log space (the formula double backward uses).

    ``(1 - p_t)^γ = exp(γ · log(y σ(-x) + (1 - y) σ(x)))`` with the log from log-sigmoids, as
    :func:`losskit.functional.sigmoid_focal_loss` computes it for non-logit inputs.
    """
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    if gamma != 0.0:
        tiny = torch.finfo(y.dtype).tiny
        log_u = logaddexp(
            torch.log(y.clamp_min(tiny)) + F.logsigmoid(-x),
            torch.log((1.0 - y).clamp_min(tiny)) + F.logsigmoid(x),
        )
        loss = loss * torch.exp(gamma * log_u)
    if alpha is not None:
        loss = loss * (alpha * y + (1.0 - alpha) * (1.0 - y))
    return loss


class SigmoidFocal(torch.autograd.Function):
    """Elementwise sigmoid focal loss on logits (gradient w.r.t. the logits only).

    Saves only ``(x, y)``. Forward writes the loss and backward the gradient into one preallocated
    output each, chunk by chunk (:func:`chunk_size` elements, the formula's work in four chunk-sized
    vectors reused by every chunk), so fwd+bwd holds the input, the target and one input-sized buffer at
    a time (autograd of the composed formula keeps about ten). A backward run with grad mode on
    (``create_graph=True``) returns autograd of :func:`plain_sigmoid_focal` instead, so second and higher
    derivatives are exact.
    """

    @staticmethod
    def forward(x: Tensor, y: Tensor, alpha: float | None, gamma: float) -> Tensor:
        """Unreduced loss ``a · u^γ · BCE(x, y)``."""
        return _sigmoid_focal_loss(x, y, alpha, gamma)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        """Save only the inputs; backward recomputes the rest."""
        x, y, alpha, gamma = inputs
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        ctx.gamma = gamma

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        """Closed-form gradient w.r.t. the logits; autograd of the formula under ``create_graph=True``."""
        x, y = ctx.saved_tensors
        alpha: float | None = ctx.alpha
        gamma: float = ctx.gamma
        if torch.is_grad_enabled():
            (g,) = differentiate_plain(lambda: plain_sigmoid_focal(x, y, alpha, gamma), (x,), grad)
            return g, None, None, None
        return _sigmoid_focal_grad(x, y, grad, None, alpha, gamma), None, None, None


class SigmoidFocalSum(torch.autograd.Function):
    """``Σ w · ℓ`` of the sigmoid focal loss on logits, reduced inside the kernel (gradient to ``x`` only).

    For ``reduction="mean"`` / ``"sum"``: forward computes each chunk's loss in two chunk-sized work
    vectors and keeps only its sum, so no input-sized loss is ever written; backward writes the gradient
    (scaled by the incoming 0-d gradient, ``w`` and ``α_t``) chunk by chunk into the one preallocated
    gradient. ``w`` is None or a flat view (:func:`flat_view`) of a weight of the input's shape. With
    ``check`` the second output is ``[min, max]`` of the target, found in the same pass over the chunks
    (the caller turns a bad range into the value-check error), else empty.

    Saves ``(x, y, w)``. A backward with grad mode on differentiates :func:`plain_sigmoid_focal`.
    """

    @staticmethod
    def forward(
        x: Tensor, y: Tensor, w: Tensor | None, alpha: float | None, gamma: float, check: bool
    ) -> tuple[Tensor, Tensor]:
        """``(Σ w α_t u^γ BCE(x, y), [min y, max y] or empty)``."""
        return _sigmoid_focal_sum(x, y, w, alpha, gamma, check)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        """Save only the inputs (and the flat weight); backward recomputes the rest."""
        x, y, w, alpha, gamma, _ = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(x, y, w)
        ctx.alpha = alpha
        ctx.gamma = gamma

    @staticmethod
    def backward(
        ctx: Any, grad: Tensor, _: Tensor | None
    ) -> tuple[Tensor | None, None, None, None, None, None]:
        """Closed-form gradient w.r.t. the logits; autograd of the formula under ``create_graph=True``."""
        x, y, w = ctx.saved_tensors
        alpha: float | None = ctx.alpha
        gamma: float = ctx.gamma
        if torch.is_grad_enabled():

            def formula() -> Tensor:
                loss = plain_sigmoid_focal(x, y, alpha, gamma)
                return (loss if w is None else loss * w.reshape(x.shape)).sum()

            (g,) = differentiate_plain(formula, (x,), grad)
            return g, None, None, None, None, None
        return _sigmoid_focal_grad(x, y, grad, w, alpha, gamma), None, None, None, None, None


def plain_softmax_focal(z: Tensor, target: Tensor, coef: Tensor, gamma: float, dim: int) -> Tensor:
    """``-coef · u^γ · log p_t`` in differentiable out-of-place ops (the formula double backward uses)."""
    lp = torch.log_softmax(z, dim=dim).gather(dim, target.unsqueeze(dim)).squeeze(dim)
    loss = -lp
    if gamma != 0.0:
        u = torch.expm1(lp).neg()
        pos = u > 0
        # u^γ with a harmless base where u == 0 (p_t == 1), so no 0 · ∞ reaches the gradient
        m = torch.where(pos, torch.where(pos, u, torch.ones_like(u)).pow(gamma), torch.zeros_like(u))
        loss = loss * m
    return loss * coef


def _spans(a: int, c: int, b: int, chunk: int) -> list[tuple[int, int, int, int]]:
    """Chunks ``(a0, a1, b0, b1)`` of an ``(A, C, B)`` view of about ``chunk`` elements, whole classes each.

    Whole rows of ``A`` when one row (``C · B`` elements) fits in a chunk, else spans of ``B`` positions
    within one row; a class is never split, so each chunk is a complete softmax.
    """
    if c * b <= chunk:
        step = max(1, chunk // max(1, c * b))
        return [(i, min(i + step, a), 0, b) for i in range(0, a, step)]
    step = max(1, chunk // max(1, c))
    return [(i, i + 1, j, min(j + step, b)) for i in range(a) for j in range(0, b, step)]


def _view3(z: Tensor, dim: int) -> Tensor | None:
    """``z`` as an ``(A, C, B)`` view with the class axis in the middle, or None if that needs a copy."""
    a = math.prod(z.shape[:dim])
    b = math.prod(z.shape[dim + 1 :])
    try:
        return z.view(a, int(z.shape[dim]), b)
    except RuntimeError:
        return None


def _cut(t: Tensor, a0: int, a1: int, b0: int, b1: int) -> Tensor:
    """One chunk of an ``(A, C, B)`` view; ``(rows, C)`` when ``B == 1``, the class axis then last.

    torch's CPU softmax over the last axis is vectorised; over a middle axis of inner size 1 it is about
    2x slower.
    """
    return t[a0:a1, :, 0] if t.shape[2] == 1 else t[a0:a1, :, b0:b1]


def _softmax_focal_lp(z: Tensor, target: Tensor, dim: int) -> Tensor:
    """``log p_t`` per sample; large inputs in chunks, so the log-softmax temporary is chunk-sized."""
    z3 = None if torch.compiler.is_compiling() else _view3(z, dim)
    if z3 is None or z.numel() <= chunk_size(z.device):
        return torch.log_softmax(z, dim=dim).gather(dim, target.unsqueeze(dim)).squeeze(dim)
    a, c, b = z3.shape
    t2 = target.reshape(a, b)
    lp = z.new_empty((a, b))
    spans = _spans(a, c, b, chunk_size(z.device))
    # one chunk-sized workspace for every chunk's log-softmax: a fresh buffer per chunk would land in fresh
    # pages each time (a few MiB is above the allocator's mmap threshold), as slow as one input-sized buffer
    work = z.new_empty(_cut(z3, *spans[0]).numel())
    for a0, a1, b0, b1 in spans:
        zc = _cut(z3, a0, a1, b0, b1)
        tc = t2[a0:a1, b0:b1] if zc.dim() == 3 else t2[a0:a1]
        lsm = work[: zc.numel()].view(zc.shape)  # contiguous (softmax's out= mis-writes strided outputs)
        torch.ops.aten._log_softmax.out(zc, 1, False, out=lsm)
        lp[a0:a1, b0:b1] = lsm.gather(1, tc.unsqueeze(1)).squeeze(1) if zc.dim() == 3 else lsm.gather(1, tc)
    return lp.view(target.shape)


def _softmax_focal_grad(z: Tensor, target: Tensor, s: Tensor, dim: int) -> Tensor:
    """``s · (softmax(z) - onehot(t))`` (``s`` per sample), written chunk by chunk into one gradient."""
    z3 = None if torch.compiler.is_compiling() else _view3(z, dim)
    if z3 is None:
        sd = s.unsqueeze(dim)
        out = torch.softmax(z, dim=dim).mul_(sd)
        return out.scatter_add_(dim, target.unsqueeze(dim), sd.neg())
    a, c, b = z3.shape
    t2 = target.reshape(a, b)
    s2 = s.reshape(a, b)
    g = pages.empty(z.shape, dtype=z.dtype, device=z.device)
    g3 = g.view(a, c, b)
    for a0, a1, b0, b1 in _spans(a, c, b, chunk_size(z.device)):
        gc, zc = _cut(g3, a0, a1, b0, b1), _cut(z3, a0, a1, b0, b1)
        if gc.is_contiguous():
            torch.ops.aten._softmax.out(zc, 1, False, out=gc)  # straight into the gradient
        else:  # a span of positions: torch's softmax(out=) mis-writes strided outputs (torch 2.x, CPU)
            gc.copy_(torch.softmax(zc, dim=1))
        if gc.dim() == 3:
            sc, tc = s2[a0:a1, b0:b1].unsqueeze(1), t2[a0:a1, b0:b1].unsqueeze(1)
        else:
            sc, tc = s2[a0:a1], t2[a0:a1]
        gc.mul_(sc).scatter_add_(1, tc, sc.neg())
    return g


class SoftmaxFocalIndex(torch.autograd.Function):
    """Softmax focal loss for class-index targets on logits; ``coef`` holds α_t·w_t·valid per sample.

    Forward is one log-softmax pass, backward one softmax pass written into the gradient. Inputs larger
    than :func:`chunk_size` elements are processed in chunks of whole class vectors (rows of the batch,
    or spans of positions for one large image; see :func:`_spans`), so the log-softmax temporary of the
    forward is chunk-sized and the backward's softmax is written straight into the one preallocated
    gradient: fwd+bwd holds no input-sized buffer but the gradient. Saved: the logits and three
    per-sample vectors. A backward run with grad mode on (``create_graph=True``) returns autograd of
    :func:`plain_softmax_focal` instead, so second and higher derivatives are exact.
    """

    @staticmethod
    def forward(z: Tensor, target: Tensor, coef: Tensor, gamma: float, dim: int) -> tuple[Tensor, Tensor]:
        """Unreduced loss ``-coef · u^γ · log p_t``, and ``log p_t`` (kept for backward)."""
        lp = _softmax_focal_lp(z, target, dim)
        u = torch.expm1(lp).neg_()
        return u.pow_(gamma).mul_(lp).mul_(coef).neg_(), lp

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        """Save the logits, targets, per-sample coefficients and ``log p_t``."""
        z, target, coef, gamma, dim = inputs
        ctx.save_for_backward(z, target, coef, output[1])
        ctx.mark_non_differentiable(output[1])
        ctx.gamma = gamma
        ctx.dim = dim

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _: Tensor | None) -> tuple[Tensor | None, None, None, None, None]:
        """Closed-form gradient a k (softmax(z) - onehot(t)); the formula's autograd under create_graph."""
        z, target, coef, lp = ctx.saved_tensors
        gamma: float = ctx.gamma
        dim: int = ctx.dim
        if torch.is_grad_enabled():
            (g,) = differentiate_plain(lambda: plain_softmax_focal(z, target, coef, gamma, dim), (z,), grad)
            return g, None, None, None, None
        u = torch.expm1(lp).neg_()
        if gamma != 0.0:
            pos = u > 0
            # -log p_t / u -> 1 as u -> 0; k = u^γ (1 + γ p_t (-log p_t) / u)
            ratio = torch.where(pos, lp.neg() / torch.where(pos, u, torch.ones_like(u)), torch.ones_like(u))
            k = ratio.mul_(lp.exp()).mul_(gamma).add_(1.0).mul_(u.pow(gamma))
        else:
            k = torch.ones_like(u)
        s = k.mul_(coef).mul_(grad)
        return _softmax_focal_grad(z, target, s, dim), None, None, None, None
