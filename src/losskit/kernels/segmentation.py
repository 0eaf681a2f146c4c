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

Memory and passes: everything walks the spatial axis in chunks of :data:`CPU_CHUNK` elements
(``N · C · k`` logits), so every temporary is chunk-sized and stays in cache. For the softmax without
squares (Dice, Tversky, Jaccard, generalized Dice, MCC with logits) forward writes the probabilities into
one buffer and takes ``TP``, ``Σp``, the class volumes ``Σg`` and each pixel's ``p_own`` from the
chunk's one-hot as plain reductions; backward turns that buffer into the gradient in place. Forward +
backward thus allocates one input-sized tensor (the probabilities, which become the gradient) and one
``(N, S)`` vector, where autograd of the plain formula keeps the probabilities, the scattered gradient of
the gather, the summed gradient and the softmax's output gradient. The sigmoid and squared variants
recompute ``p`` per chunk in backward and write each chunk into one fresh gradient.

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

from losskit._core.fastpath import differentiate_plain
from losskit.kernels.focal import chunk_size

__all__ = ["IndexStats", "index_sums", "softmax"]

_SMALL = 1 << 15
CPU_CHUNK = 1 << 18
"""Logits per chunk on the CPU. Rule: the chunk's few temporaries (1 MiB each in float32) fit a core's
L2 share of a 1 MiB L2 / 32 MiB L3 machine, and every op still gets 2**18 elements, enough that torch's
split across two threads costs little; measured on dice 2-D (8, 4, 256, 256) and 3-D (2, 3, 96³):
2**18 ~ 2**20 < unchunked, 2**14 - 2**16 slower (per-op overhead)."""


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


def _one_hot(labels: Tensor, c: int, dtype: torch.dtype) -> Tensor:
    """``(N, C, k)`` one-hot of a chunk of labels ``(N, k)``, as a floating comparison.

    The fast form on the CPU: index ops (``gather``, ``scatter_add``) and integer or boolean-output
    comparisons cost several times more per element.
    """
    n, k = labels.shape
    out = labels.new_empty((n, c, k), dtype=dtype)
    classes = torch.arange(c, device=labels.device, dtype=dtype).view(1, c, 1)
    return torch.eq(labels.to(dtype).unsqueeze(1), classes, out=out)


def _masked_sum(t: Tensor, valid: Tensor | None) -> Tensor:
    """``Σ_k t`` of ``(N, C, k)``, or ``Σ_k t · valid`` with ``valid`` ``(N, k)``."""
    return t.sum(-1) if valid is None else torch.bmm(t, valid.unsqueeze(-1)).squeeze(-1)


def _softmax_into(x: Tensor, out: Tensor) -> Tensor:
    """Softmax over dim 1 of ``x`` written into ``out``.

    The same ops, hence the same bits, in forward and in a backward that recomputes ``p``.
    """
    torch.sub(x, x.amax(1, keepdim=True), out=out)
    out.exp_()
    return out.mul_(out.sum(1, keepdim=True).reciprocal_())


def _softmax_forward(
    x: Tensor, labels: Tensor, valid: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``(TP, Σp)`` of the softmax over classes, the probabilities ``p``, each pixel's ``p_own`` and ``Σg``.

    ``p`` is the one input-sized tensor: chunk by chunk over the spatial axis (:func:`_spans`) it is
    computed in place (``exp(x - max)`` normalised by its class sum); with the chunk's one-hot ``g`` the
    sums ``Σ p g``, ``Σ p``, ``Σ g`` and ``p_own = Σ_c p g`` are plain reductions. Backward turns ``p``
    into the gradient.
    """
    n, c, s = x.shape
    p = torch.empty_like(x)
    own = x.new_empty(n, s)
    tp = x.new_zeros(n, c)
    sp = x.new_zeros(n, c)
    sg = x.new_zeros(n, c)
    for lo, hi in _spans(x):
        xc, pc = x[:, :, lo:hi], p[:, :, lo:hi]
        vc = None if valid is None else valid[:, lo:hi]
        _softmax_into(xc, pc)
        g = _one_hot(labels[:, lo:hi], c, x.dtype)
        sg.add_(_masked_sum(g, vc))
        sp.add_(_masked_sum(pc, vc))
        g.mul_(pc)  # p g
        tp.add_(_masked_sum(g, vc))
        own[:, lo:hi] = g.sum(1)
    return tp, sp, p, own, sg


def _softmax_grad_(
    p: Tensor, own: Tensor, labels: Tensor, valid: Tensor | None, g_tp: Tensor, g_sp: Tensor
) -> Tensor:
    """Turn ``p`` into ``∂L/∂x`` in place.

    ``∂L/∂x_c = p_c (a_c - u) + g_c p_t b`` with ``u = Σ_c a_c p_c + p_t b`` (``a = ∂L/∂Σp``,
    ``b = ∂L/∂TP_t``), times the validity.

    Chunk by chunk over the spatial axis (:func:`_spans`), so every temporary is chunk-sized and the
    only input-sized tensor is ``p`` itself.
    """
    c = p.shape[1]
    # (N, 1, C), (N, C, 1), (N, 1, C)
    a_row, a_col, b_row = g_sp.unsqueeze(1), g_sp.unsqueeze(-1), g_tp.unsqueeze(1)
    for lo, hi in _spans(p):
        pc = p[:, :, lo:hi]
        g = _one_hot(labels[:, lo:hi], c, p.dtype)
        ob = torch.bmm(b_row, g).mul_(own[:, lo:hi].unsqueeze(1))  # p_t b, (N, 1, k)
        u = torch.bmm(a_row, pc).add_(ob)  # (N, 1, k)
        pc.mul_(a_col - u)
        pc.addcmul_(g, ob)
        if valid is not None:
            pc.mul_(valid[:, lo:hi].unsqueeze(1))
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
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(TP, Σp)`` of shape ``(N, C)`` each, two tensors kept for backward and ``Σg`` ``(N, C)``.

        For the softmax without squares: the probabilities ``(N, C, S)``, each pixel's ``p_own``
        ``(N, S)`` and the class volumes ``Σg`` (counted pixels per class), all from one pass. Otherwise
        the sums are accumulated over chunks of the spatial axis and the last three are empty.
        """
        if not sigmoid and not squared and not torch.compiler.is_compiling():
            return _softmax_forward(x, labels, valid)
        tp, sp = _forward(x, labels, valid, sigmoid, squared)
        return tp, sp, x.new_empty(0), x.new_empty(0), x.new_empty(0)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
        """Save the logits, labels and validity mask (references, no copies), ``p_own``, and keep ``p``.

        ``p`` is held as an attribute rather than saved: the first backward consumes it (it becomes the
        gradient), and a later backward of a retained graph recomputes it from the logits.
        """
        x, labels, valid, sigmoid, squared = inputs
        ctx.mark_non_differentiable(output[2], output[3], output[4])
        ctx.save_for_backward(x, labels, valid, output[3])
        ctx.probs = output[2] if output[2].numel() else None
        ctx.sigmoid, ctx.squared = sigmoid, squared
        ctx.set_materialize_grads(False)  # no input-sized zeros for the outputs kept for backward

    @staticmethod
    def backward(
        ctx: Any, g_tp: Tensor | None, g_sp: Tensor | None, *_: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        """Closed-form gradient w.r.t. the logits; autograd of :func:`index_sums` under ``create_graph``."""
        x, labels, valid, own = ctx.saved_tensors
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
        if own.numel():
            p, ctx.probs = ctx.probs, None
            if p is None:  # a second backward of a retained graph: the first one consumed p
                p = torch.empty_like(x)
                for lo, hi in _spans(x):
                    _softmax_into(x[:, :, lo:hi], p[:, :, lo:hi])
            return _softmax_grad_(p, own, labels, valid, g_tp, g_sp), None, None, None, None
        spans = _spans(x)
        if len(spans) == 1:
            return _grad(x, labels, valid, g_tp, g_sp, sigmoid, squared), None, None, None, None
        grad = torch.empty_like(x, memory_format=torch.contiguous_format)
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
