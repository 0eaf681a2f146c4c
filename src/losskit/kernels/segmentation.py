r"""Per-class overlap statistics of class-index targets, with a closed-form backward.

The ratio losses of :mod:`losskit.functional.segmentation` (Dice, generalized Dice, Tversky, focal
Tversky, Jaccard) need, per (sample, class), :math:`TP = \sum_i p_i g_i` and :math:`\sum_i p_i` (or
:math:`\sum_i p_i^2`) where :math:`p` is the softmax (or sigmoid) of the logits and :math:`g` the one-hot
of the labels. :class:`IndexStats` computes both without a one-hot tensor and writes their gradient in
closed form,

.. math::
    \frac{\partial L}{\partial p_{ci}} = a_c\,(1 \text{ or } 2 p_{ci}) + b_i\,[c = t_i],\qquad
    a = \frac{\partial L}{\partial \textstyle\sum p},\quad b_i = \frac{\partial L}{\partial TP_{t_i}},

followed by the activation's backward (softmax: :math:`p \odot (\partial L/\partial p - \sum_c p_c\,
\partial L/\partial p_c)`; sigmoid: :math:`p(1-p)\,\partial L/\partial p`), in place in one buffer.

Memory and passes: for the softmax without squares (Dice, Tversky, Jaccard, generalized Dice, MCC with
logits) forward writes the probabilities with one softmax into one buffer and, over :data:`PIECES`
chunks of the spatial axis, takes ``TP``, ``Σp`` and the class volumes ``Σg`` from one batched product
of each chunk's one-hot (a float comparison into one reused buffer) and its sum; backward turns that
buffer into the gradient in place, chunk by chunk, from one gather of a small ``(N, C, C + 1)`` table
(``∂L/∂p`` of each class at each label) and three elementwise / batched ops. Forward + backward thus
allocates one input-sized tensor (the probabilities, which become the gradient), chunk buffers within
about half the input's size, and with a mask an ``(N, S)`` index; autograd of the plain formula keeps
the probabilities, the scattered gradient of the gather, the summed gradient and the softmax's output
gradient. The class volumes also check the labels: a counted label outside ``[0, C)`` falls in no
class, so the volumes add up to less than the counted pixels. The sigmoid and squared variants walk the
spatial axis in chunks of :data:`CPU_CHUNK` elements, recompute ``p`` per chunk in backward and write
each chunk into one fresh gradient.

Supported: values and first derivatives w.r.t. the logits (tested against autograd of
:func:`index_sums`); **higher-order gradients** — a backward that runs with grad mode on
(``create_graph=True``) returns autograd of :func:`index_sums` of the activation instead, so every
derivative order is the plain formula's (tests/test_second_order.py); ``torch.func`` transforms and
forward-mode AD never reach the kernel (the caller checks :func:`losskit._core.fastpath.applies`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from losskit._core import pages
from losskit._core.fastpath import differentiate_plain
from losskit.kernels.focal import chunk_size

__all__ = ["IndexStats", "index_sums", "softmax"]

_SMALL = 1 << 15
CPU_CHUNK = 1 << 18
"""Logits per chunk on the CPU. Rule: the chunk's few temporaries (1 MiB each in float32) fit a core's
L2 share of a 1 MiB L2 / 32 MiB L3 machine, and every op still gets 2**18 elements, enough that torch's
split across two threads costs little; measured on dice 2-D (8, 4, 256, 256) and 3-D (2, 3, 96³):
2**18 ~ 2**20 < unchunked, 2**14 - 2**16 slower (per-op overhead)."""

PIECES = 2
"""The softmax path (:class:`IndexStats` without squares) splits the spatial axis into this many chunks
of at least :data:`CPU_CHUNK` logits (at most :data:`CPU_CHUNK_MAX`) on the CPU. Rule: its chunk buffers
(the one-hot in forward, ``∂L/∂p`` and a per-pixel sum in backward) then stay within ``(C + 1) / 2C`` of
the input's size, and the op count stays small: on a loaded machine a parallel op can wait milliseconds
for its second thread, so four to eight ops per chunk over the 8 - 20 chunks that :data:`CPU_CHUNK` would
give (dice 2-D (8, 4, 256, 256), 3-D (2, 3, 96³)) cost more than the memory traffic they save."""
CPU_CHUNK_MAX = 1 << 22


def softmax(x: Tensor) -> Tensor:
    """Softmax over dim 1.

    Below 2**15 elements it is written out: torch's CPU softmax kernel always enters a parallel region,
    which on a busy machine costs milliseconds per call for a few hundred values (the shape test is
    static, so it does not break ``fullgraph`` compilation).
    """
    if x.numel() >= _SMALL:
        return torch.softmax(x, dim=1)
    e = torch.exp(x - x.detach().amax(dim=1, keepdim=True))  # the shift cancels; no gradient needed
    return e / e.sum(dim=1, keepdim=True)


def index_sums(p: Tensor, labels: Tensor, valid: Tensor | None, squared: bool) -> tuple[Tensor, Tensor]:
    """``(Σᵢ p g, Σᵢ p)`` (``Σᵢ p²`` when squared) per (sample, class) for class indices, without a one-hot.

    The intersection is each pixel's probability of its own class, scattered into ``(N, C)`` bins.
    """
    own = p.gather(1, labels.unsqueeze(1)).squeeze(1)
    if valid is not None:
        own = own * valid
    tp = p.new_zeros(p.shape[0], p.shape[1]).scatter_add(1, labels, own)
    pp = p * p if squared else p
    sp = pp.sum(-1) if valid is None else torch.bmm(pp, valid.unsqueeze(-1)).squeeze(-1)
    return tp, sp


def _activation(x: Tensor, sigmoid: bool) -> Tensor:
    return torch.sigmoid(x) if sigmoid else softmax(x)


def _spans(x: Tensor) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of the spatial axis of ``x`` ``(N, C, S)``, :data:`CPU_CHUNK` elements each.

    Other devices take :func:`losskit.kernels.focal.chunk_size`; small inputs and ``torch.compile``
    (which fuses the loop itself) take one range.
    """
    n, c, s = x.shape
    step = max(1, (CPU_CHUNK if x.device.type == "cpu" else chunk_size(x.device)) // max(1, n * c))
    if s <= step or torch.compiler.is_compiling():
        return [(0, s)]
    return [(start, min(start + step, s)) for start in range(0, s, step)]


def _pieces(x: Tensor) -> list[tuple[int, int]]:
    """The spatial ranges of the softmax path: :data:`PIECES` chunks (rule there) on the CPU."""
    n, c, s = x.shape
    if x.device.type == "cpu":
        size = min(max(-(-x.numel() // PIECES), CPU_CHUNK), CPU_CHUNK_MAX)
    else:
        size = chunk_size(x.device)
    step = max(1, size // max(1, n * c))
    if s <= step or torch.compiler.is_compiling():
        return [(0, s)]
    return [(start, min(start + step, s)) for start in range(0, s, step)]


def _forward(
    x: Tensor, labels: Tensor, valid: Tensor | None, sigmoid: bool, squared: bool
) -> tuple[Tensor, Tensor]:
    """:func:`index_sums` of the activation, accumulated chunk by chunk over the spatial axis."""
    spans = _spans(x)
    if len(spans) == 1:
        return index_sums(_activation(x, sigmoid), labels, valid, squared)
    tp = x.new_zeros(x.shape[0], x.shape[1])
    sp = torch.zeros_like(tp)
    for lo, hi in spans:
        # contiguous chunk-sized copies: the index ops (gather, scatter) are slow on strided operands
        part_tp, part_sp = index_sums(
            _activation(x[:, :, lo:hi], sigmoid),
            labels[:, lo:hi].contiguous(),
            None if valid is None else valid[:, lo:hi].contiguous(),
            squared,
        )
        tp.add_(part_tp)
        sp.add_(part_sp)
    return tp, sp


def _grad(
    x: Tensor, labels: Tensor, valid: Tensor | None, g_tp: Tensor, g_sp: Tensor, sigmoid: bool, squared: bool
) -> Tensor:
    """``∂L/∂x`` of ``x`` ``(N, C, k)``, labels ``(N, k)``, from ``∂L/∂TP`` and ``∂L/∂Σp`` (module doc)."""
    p = _activation(x, sigmoid)
    lab = labels.unsqueeze(1)
    b = g_tp.gather(1, labels).unsqueeze(1)  # ∂L/∂TP of each pixel's own class, (N, 1, k)
    if squared:
        grad = p * (2.0 * g_sp).unsqueeze(-1)
    else:
        grad = g_sp.unsqueeze(-1).expand_as(p).clone()
    if sigmoid:
        grad.scatter_add_(1, lab, b)
        grad.mul_(p)
        grad.addcmul_(grad, p, value=-1.0)  # σ' = p (1 - p)
    else:
        # softmax: ∂L/∂x = p ⊙ (∂L/∂p - u), u = Σ_c p_c ∂L/∂p_c = Σ_c p_c a_c(·2p_c) + p_own · b
        own = p.gather(1, lab)
        if squared:
            u = (grad * p).sum(1, keepdim=True)
        else:
            u = torch.bmm(g_sp.unsqueeze(1), p)  # Σ_c a_c p_c without an input-sized temporary, (N, 1, k)
        u.addcmul_(own, b)
        grad.scatter_add_(1, lab, b)
        grad.sub_(u).mul_(p)
    if valid is not None:
        grad.mul_(valid.unsqueeze(1))
    return grad


def _class_index(labels: Tensor, valid: Tensor | None, c: int) -> Tensor:
    """The labels ``(N, S)``, with the extra index ``C`` (no class) where ``valid`` is 0."""
    return labels if valid is None else labels.masked_fill(valid == 0, c)


def _softmax_forward(
    x: Tensor, labels: Tensor, valid: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``(TP, Σp)`` of the softmax over classes, ``p``, ``Σv`` ``(N,)``, ``Σg`` and the class indices.

    ``p`` is the one input-sized tensor, written by one softmax. Chunk by chunk over the spatial axis
    (:func:`_pieces`) the one-hot ``G = g ⊙ v`` of the class indices (a float comparison into one buffer;
    a masked pixel has index ``C``, no class) and one batched product accumulate ``M = p Gᵀ`` ``(N, C, C)``:
    its diagonal is ``TP = Σ p g v`` and its row sums ``Σ p v`` (every counted pixel has one class);
    ``Σ_k G`` adds the class volumes ``Σ g v``. A counted label outside ``[0, C)`` has a zero column, so
    ``Σ_c Σg < Σv`` (the counted pixels, ``S`` without a mask) tells it.
    """
    n, c, s = x.shape
    spans = _pieces(x)
    p = softmax(x)
    index = _class_index(labels, valid, c)
    lab = index.to(x.dtype)  # integer comparisons into a float buffer cost several times more
    classes = torch.arange(c, device=x.device, dtype=x.dtype).view(1, c, 1)
    buf = x.new_empty(n, c, spans[0][1])
    m = x.new_zeros(n, c, c)
    sg = x.new_zeros(n, c)
    for lo, hi in spans:
        g = torch.eq(lab[:, lo:hi].unsqueeze(1), classes, out=buf[:, :, : hi - lo])
        m.baddbmm_(p[:, :, lo:hi], g.transpose(1, 2))
        sg.add_(g.sum(-1))
    counted = x.new_full((n,), float(s)) if valid is None else valid.sum(-1)
    kept = x.new_empty(0, dtype=torch.long) if valid is None else index  # not the input itself
    return torch.diagonal(m, dim1=1, dim2=2).clone(), m.sum(-1), p, counted, sg, kept


def _softmax_grad_(p: Tensor, index: Tensor, g_tp: Tensor, g_sp: Tensor) -> Tensor:
    """Turn ``p`` into ``∂L/∂x`` in place (``index``: forward's class indices, ``C`` where masked).

    With ``a = ∂L/∂Σp`` and ``b = ∂L/∂TP``, ``∂L/∂p_c = (a_c + b_c [c = t]) v``: column ``t`` of the table
    ``W = [diag(b) + a 1ᵀ | 0]`` ``(N, C, C + 1)``, whose last column (index ``C``) serves masked pixels. The
    softmax's backward is ``p_c (d_c - u)`` with ``u = Σ_c p_c d_c``. Chunk by chunk (:func:`_pieces`)
    ``d`` is one gather from ``W``, so the temporaries are chunk-sized and the only input-sized tensor is
    ``p`` itself.
    """
    n, c, _ = p.shape
    spans = _pieces(p)
    k = spans[0][1]
    d_buf, u_buf = p.new_empty(n, c, k), p.new_empty(n, 1, k)
    w = torch.cat([torch.diag_embed(g_tp).add_(g_sp.unsqueeze(-1)), p.new_zeros(n, c, 1)], 2)
    ones = p.new_ones(n, 1, c)
    for lo, hi in spans:
        pc, d, u = p[:, :, lo:hi], d_buf[:, :, : hi - lo], u_buf[:, :, : hi - lo]
        torch.gather(w, 2, index[:, lo:hi].unsqueeze(1).expand(n, c, hi - lo), out=d)
        d.mul_(pc)  # p d
        torch.bmm(ones, d, out=u)  # Σ_c p d
        torch.addcmul(d, pc, u, value=-1.0, out=pc)  # p d - p u
    return p


class IndexStats(torch.autograd.Function):
    """``(Σᵢ p g, Σᵢ p)`` per (sample, class) from logits and class indices, with a closed-form backward.

    ``p`` is the softmax (or sigmoid) of the logits ``x`` ``(N, C, S)``, ``g`` the one-hot of ``labels``
    ``(N, S)``, ``valid`` ``(N, S)`` (or None) the counted pixels; ``squared`` sums ``p²`` instead of ``p``.
    Only the inputs are saved (the logits are the caller's tensor, not a copy). Forward accumulates the
    sums chunk by chunk over the spatial axis; backward recomputes ``p`` per chunk and writes
    ``∂L/∂p = a·(1 or 2p) + b·g`` (``a = ∂L/∂Σp``, ``b = ∂L/∂TP``) and then the activation's backward
    into that chunk's slice of one fresh gradient tensor, in place: the gradient is the only input-sized
    tensor it allocates, where autograd of the plain formula also keeps the probabilities, the scattered
    gradient of the gather, the summed gradient and the softmax's output gradient.
    """

    @staticmethod
    def forward(
        x: Tensor, labels: Tensor, valid: Tensor | None, sigmoid: bool, squared: bool
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(TP, Σp)`` of shape ``(N, C)`` each, ``p``, ``Σv`` ``(N,)``, ``Σg`` ``(N, C)`` and an index.

        For the softmax without squares: the probabilities ``(N, C, S)`` (kept for backward), the counted
        pixels per sample (``Σv``; ``S`` without a mask), the class volumes ``Σg`` (counted pixels per
        class), all from one pass, ``Σ_c Σg < Σv`` where a counted label lies outside ``[0, C)``, and with
        a mask the labels with ``C`` at the masked pixels (kept for backward; empty without a mask).
        Otherwise the sums are accumulated over chunks of the spatial axis and the last four are empty.
        """
        if not sigmoid and not squared and not torch.compiler.is_compiling():
            return _softmax_forward(x, labels, valid)
        tp, sp = _forward(x, labels, valid, sigmoid, squared)
        e = x.new_empty(0)
        return tp, sp, e, e, e, e

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
        """Save the logits, labels and validity mask (references, no copies); keep ``p`` and the index.

        ``p`` is held as an attribute rather than saved: the first backward consumes it (it becomes the
        gradient), and a later backward of a retained graph recomputes it from the logits.
        """
        x, labels, valid, sigmoid, squared = inputs
        ctx.mark_non_differentiable(*output[2:])
        ctx.save_for_backward(x, labels, valid)
        ctx.kept = bool(output[2].numel())
        ctx.probs = output[2] if ctx.kept else None
        ctx.index = output[5] if ctx.kept and valid is not None else None
        ctx.sigmoid, ctx.squared = sigmoid, squared
        ctx.set_materialize_grads(False)  # no input-sized zeros for the outputs kept for backward

    @staticmethod
    def backward(
        ctx: Any, g_tp: Tensor | None, g_sp: Tensor | None, *_: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        """Closed-form gradient w.r.t. the logits; autograd of :func:`index_sums` under ``create_graph``."""
        x, labels, valid = ctx.saved_tensors
        if g_tp is None and g_sp is None:
            return None, None, None, None, None
        shape = (x.shape[0], x.shape[1])
        g_tp = x.new_zeros(shape) if g_tp is None else g_tp
        g_sp = x.new_zeros(shape) if g_sp is None else g_sp
        sigmoid: bool = ctx.sigmoid
        squared: bool = ctx.squared
        if torch.is_grad_enabled():
            (gx,) = differentiate_plain(
                lambda: index_sums(_activation(x, sigmoid), labels, valid, squared), (x,), (g_tp, g_sp)
            )
            return gx, None, None, None, None
        if ctx.kept:
            p, ctx.probs = ctx.probs, None
            if p is None:  # a second backward of a retained graph: the first one consumed p
                p = softmax(x)  # forward's op: the same bits
            index = labels if valid is None else ctx.index
            return _softmax_grad_(p, index, g_tp, g_sp), None, None, None, None
        spans = _spans(x)
        if len(spans) == 1:
            return _grad(x, labels, valid, g_tp, g_sp, sigmoid, squared), None, None, None, None
        grad = pages.empty(x.shape, dtype=x.dtype, device=x.device)
        for lo, hi in spans:
            grad[:, :, lo:hi] = _grad(
                x[:, :, lo:hi],
                labels[:, lo:hi].contiguous(),
                None if valid is None else valid[:, lo:hi].contiguous(),
                g_tp,
                g_sp,
                sigmoid,
                squared,
            )
        return grad, None, None, None, None
