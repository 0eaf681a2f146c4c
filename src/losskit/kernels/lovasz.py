r"""The Lovász extension of the Jaccard loss, ranked block by block, with its gradient made in forward.

:func:`losskit.functional.lovasz_loss` scores each row (one (image, class), or one class over the batch)
by sorting the errors in decreasing order and weighting them with the Jaccard increments of the sorted
labels (Berman et al., Alg. 1):

.. math::
    \ell = \sum_k \operatorname{relu}(e_{(k)})\,\Delta_k,\qquad \Delta_k = J_k - J_{k-1},\qquad
    J_k = 1 - \frac{|G| - \sum_{i \le k} g_{(i)}}{|G| + \sum_{i \le k} (1 - g_{(i)})}

with hinge errors :math:`e = 1 - z(2g - 1)` on logits :math:`z`, or softmax errors :math:`e = |g - p|` on
probabilities :math:`p`. The loss is piecewise linear in the errors, and the increments depend on the
labels and the ranking only, so the gradient is known as soon as the ranking is:
:math:`\partial\ell/\partial e_{(k)} = \Delta_k [e_{(k)} > 0]`, put back in place through the ranking and
times :math:`\partial e/\partial z = 1 - 2g` or :math:`\partial e/\partial p = \operatorname{sgn}(p - g)`.

Memory: autograd of the plain formula (:func:`plain_lovasz`) keeps, for every element, the error before
the absolute value, the ranking (int64), the clamped sorted errors and the increments, and builds the
one-hot target, the sorted labels and two cumulative sums beside them: about 40 bytes per float32
element at the peak. :class:`Lovasz` makes the target rows from the class indices and ranks the rows in
blocks of :func:`block_size` elements, whose temporaries (the errors, the sorted errors, the int64
ranking, the sorted labels and the increments, updated in place: about 24 bytes per element) exist one
block at a time; the only input-sized tensor is the gradient, written block by block in forward and
scaled in place by the incoming gradient in backward. Only the inputs are saved.

Supported: values and first derivatives (tested against autograd of :func:`plain_lovasz`, bit for bit
on hard labels); **higher-order gradients** — a backward that runs with grad mode on
(``create_graph=True``) returns autograd of :func:`plain_lovasz`, so every derivative order is the plain
formula's; ``torch.func`` transforms, forward-mode AD and ``torch.compile`` never reach the kernel (the
caller takes the plain formula, see :func:`losskit._core.fastpath.applies`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from losskit._core.fastpath import differentiate_plain

__all__ = ["CPU_BLOCK", "DEVICE_BLOCK", "Lovasz", "block_size", "lovasz_extension", "plain_lovasz"]

CPU_BLOCK = 1 << 19
"""Elements ranked at once on the CPU (at least one row, and one row per thread when rows are longer).
Rule: a block's temporaries (about 24 bytes per element: errors, sorted errors, int64 ranking, sorted
labels, increments) are 6 MiB at 2**18, within a last-level cache share, and small next to the one
input-sized gradient; the sort, not the elementwise passes, dominates the time, and it is parallel over
rows only, so a block keeps a row per intra-op thread (two rows of 2**19 on a 2-thread machine) rather
than fewer, longer ones."""
DEVICE_BLOCK = 1 << 22
"""Elements ranked at once on other devices: one launch per op fills a GPU (the segmented sort of many
short rows and the sort of one long row both run at full width), and the temporaries stay bounded
(about 96 MiB in float32) however large the input."""


def block_size(device: torch.device) -> int:
    """Elements per block on ``device``: :data:`CPU_BLOCK` on the CPU, :data:`DEVICE_BLOCK` elsewhere."""
    return CPU_BLOCK if device.type == "cpu" else DEVICE_BLOCK


def lovasz_extension(errors: Tensor, fg: Tensor, valid: Tensor | None) -> Tensor:
    """Σᵢ relu(e₍ᵢ₎)·ΔJᵢ over the last dimension, errors sorted in decreasing order (Berman et al., Alg. 1).

    The plain formula, in differentiable ops. Ignored entries are sorted last (key -inf) with label 0: the
    Jaccard increments of the entries before them depend only on earlier entries, and their own errors
    count as 0, so they drop out exactly as if they had been removed, without a data-dependent shape.
    """
    key = errors if valid is None else errors.masked_fill(valid == 0, float("-inf"))
    e_sorted, order = torch.sort(key, dim=-1, descending=True)
    g_sorted = fg.gather(-1, order)
    total = g_sorted.sum(-1, keepdim=True)
    inter = total - g_sorted.cumsum(-1)
    union = total + (1.0 - g_sorted).cumsum(-1)  # >= 1 at every position when fg is binary
    jac = 1.0 - inter / union.clamp_min(torch.finfo(union.dtype).tiny)
    delta = torch.cat([jac[..., :1], jac[..., 1:] - jac[..., :-1]], dim=-1)
    return (torch.relu(e_sorted) * delta).sum(-1)


def _errors(a: Tensor, fg: Tensor, hinge: bool) -> Tensor:
    """Hinge errors ``1 - z (2g - 1)`` of logits, or softmax errors ``|g - p|`` of probabilities."""
    return 1.0 - a * (2.0 * fg - 1.0) if hinge else (fg - a).abs()


def dense_target(
    labels: Tensor | None,
    dense: Tensor | None,
    first: int,
    classes: int,
    valid: Tensor | None,
    dtype: torch.dtype,
) -> Tensor:
    """The ``(N, C', S)`` 0 / 1 target of classes ``first .. first + C' - 1``, ignored pixels zeroed."""
    if dense is not None:
        g = dense
    else:
        assert labels is not None
        ids = torch.arange(first, first + classes, device=labels.device).view(1, -1, 1)
        g = (labels.unsqueeze(1) == ids).to(dtype)
    return g if valid is None else g * valid.unsqueeze(1)


def plain_lovasz(
    a: Tensor,
    labels: Tensor | None,
    dense: Tensor | None,
    first: int,
    valid: Tensor | None,
    hinge: bool,
    pooled: bool,
) -> Tensor:
    """The loss of every row in differentiable ops: ``(N, C')``, or ``(C',)`` when ``pooled``.

    ``a`` ``(N, C', S)``: logits (``hinge``) or probabilities of the kept classes; the target is either
    class indices ``labels`` ``(N, S)`` (class ``first + j`` is column ``j``) or a dense ``(N, C', S)``;
    ``valid`` ``(N, S)`` (or None) flags the counted pixels; ``pooled`` ranks each class over the batch.
    """
    fg = dense_target(labels, dense, first, int(a.shape[1]), valid, a.dtype)
    errors = _errors(a, fg, hinge)
    keep = None if valid is None else valid.unsqueeze(1).expand_as(fg)
    if pooled:  # (N, C', S) -> (C', N*S): one ranking per class over the whole batch
        errors, fg = errors.transpose(0, 1).flatten(1), fg.transpose(0, 1).flatten(1)
        keep = None if keep is None else keep.transpose(0, 1).flatten(1)
    return lovasz_extension(errors, fg, keep)


def _rank_block(
    a: Tensor,
    fg: Tensor,
    invalid: Tensor | None,
    layout: tuple[int, ...],
    hinge: bool,
    ranks: Tensor,
    grad: Tensor | None,
) -> Tensor:
    r"""Loss ``(R,)`` of rows ``a``, ``fg`` ``(R, P)``; their gradient is written into ``grad`` if given.

    ``invalid`` (bool, or None) flags the ignored entries, broadcastable to the rows viewed as ``layout``;
    ``ranks`` is ``1, 2, ..., P``.
    The steps of :func:`lovasz_extension` in four block-sized buffers updated in place, with the Jaccard
    index of the first ``k`` ranked entries as :math:`J_k = k / U_k`, :math:`U_k = |G| + k - \sum_{i \le k}
    g_{(i)}` (Berman's :math:`1 - I_k / U_k`, since :math:`U_k - I_k = k`): one cumulative sum and one
    division instead of two sums, a division and two subtractions. Few ops per block matter: on a busy
    machine every op pays a thread hand-off.
    """
    # hinge 1 - z (2g - 1) written as 1 + z (1 - 2g): the same bits
    e = torch.mul(fg, -2.0).add_(1.0).mul_(a).add_(1.0) if hinge else torch.sub(fg, a).abs_()
    if invalid is not None:
        e.view(layout).masked_fill_(invalid, float("-inf"))
    e_sorted, order = torch.sort(e, dim=-1, descending=True)
    del e
    jac = fg.gather(-1, order).cumsum_(-1)  # Σ_{i<=k} g_(i); the last column is |G|
    union = torch.add(ranks, jac[:, -1:]).sub_(jac)  # >= k >= 1 for labels in [0, 1]
    torch.div(ranks, union, out=jac)
    step = union  # the increments ΔJ
    step[:, :1] = jac[:, :1]
    torch.sub(jac[:, 1:], jac[:, :-1], out=step[:, 1:])
    e_sorted.clamp_min_(0.0)  # relu
    loss = torch.mul(e_sorted, step, out=jac).sum(-1)
    if grad is None:
        return loss
    step.mul_(e_sorted.sign_())  # ∂ℓ/∂e in ranked order: ΔJ where the error is positive
    grad.scatter_(-1, order, step)
    del step, order
    if hinge:  # ∂e/∂z = 1 - 2g
        grad.mul_(torch.mul(fg, -2.0, out=e_sorted).add_(1.0))
    else:  # ∂e/∂p = sgn(p - g)
        grad.mul_(torch.sub(a, fg, out=e_sorted).sgn_())
    return loss


def _rows_per_block(rows: int, length: int, budget: int, threads: int) -> int:
    """Rows ranked at once: a budget's worth of elements, at least one per thread, at most half of them.

    The half keeps the block's temporaries (about six floats per element) below three times the input
    on small inputs; ``threads`` rows let the sort, which is parallel over rows only, use every thread.
    """
    return max(1, min(max(threads, budget // max(1, length)), (rows + 1) // 2))


def _forward(
    a: Tensor,
    labels: Tensor | None,
    dense: Tensor | None,
    first: int,
    valid: Tensor | None,
    hinge: bool,
    pooled: bool,
    need_grad: bool,
) -> tuple[Tensor, Tensor]:
    """Loss (as :func:`plain_lovasz`) and its gradient w.r.t. ``a``, block by block.

    The gradient is ``(N, C', S)``, or empty without ``need_grad``. A block is some classes of some
    images (``pooled``: some classes over the batch, each row image-major as in :func:`plain_lovasz`); its
    target rows come from the class indices as one floating comparison (no bool tensor, no one-hot).
    """
    n, c, s = (int(d) for d in a.shape)
    budget = block_size(a.device)
    threads = torch.get_num_threads() if a.device.type == "cpu" else 1
    # contiguous, or for pooled rows (C', N, S) seen as (N, C', S): each block writes its rows in place
    grad = a.new_empty((c, n, s) if pooled else (n, c, s)) if need_grad else a.new_empty(0)
    ranks = torch.arange(1, (n * s if pooled else s) + 1, dtype=a.dtype, device=a.device)
    # class ids as floats (exact below 2**24): the comparison writes the floating target directly
    lab = None if labels is None else labels.to(a.dtype)

    def target(ns: slice, cs: slice) -> Tensor:  # (m, k, S): images ns, classes cs
        if dense is not None:
            g = dense[ns, cs]
            return g if valid is None else g * valid[ns].unsqueeze(1)
        assert lab is not None
        ids = torch.arange(first + cs.start, first + cs.stop, dtype=a.dtype, device=a.device).view(1, -1, 1)
        g = torch.eq(lab[ns].unsqueeze(1), ids, out=a.new_empty(lab[ns].shape[0], ids.shape[1], s))
        return g if valid is None else g.mul_(valid[ns].unsqueeze(1))

    if pooled:  # row j: class j over every pixel of the batch, image-major
        loss = a.new_empty(c)
        rows = _rows_per_block(c, n * s, budget, threads)
        invalid = None if valid is None else (valid == 0).view(1, n * s)
        for c0 in range(0, c, rows):
            cs = slice(c0, min(c0 + rows, c))
            k = cs.stop - cs.start
            block = a[:, cs].transpose(0, 1).reshape(k, n * s)
            if lab is None:
                fg = target(slice(None), cs).transpose(0, 1).reshape(k, n * s)
            else:  # made in the row layout, without a transposed copy
                ids = torch.arange(first + cs.start, first + cs.stop, dtype=a.dtype, device=a.device)
                fg = torch.eq(lab.view(1, n * s), ids.view(-1, 1), out=a.new_empty(k, n * s))
                if valid is not None:
                    fg.mul_(valid.view(1, n * s))
            dest = grad[cs].view(k, n * s) if need_grad else None
            loss[cs] = _rank_block(block, fg, invalid, (k, n * s), hinge, ranks, dest)
        return loss, (grad.transpose(0, 1) if need_grad else grad)
    loss = a.new_empty(n, c)
    rows = _rows_per_block(n * c, s, budget, threads)
    step_n, step_c = (max(1, rows // c), c) if rows >= c else (1, rows)
    for n0 in range(0, n, step_n):
        ns = slice(n0, min(n0 + step_n, n))
        m = ns.stop - ns.start
        invalid = None if valid is None else (valid[ns] == 0).unsqueeze(1)  # (m, 1, S)
        for c0 in range(0, c, step_c):
            cs = slice(c0, min(c0 + step_c, c))
            k = cs.stop - cs.start
            block = a[ns, cs].reshape(m * k, s)
            fg = target(ns, cs).reshape(m * k, s)
            dest = grad[ns, cs].view(m * k, s) if need_grad else None  # contiguous: whole images or one
            loss[ns, cs] = _rank_block(block, fg, invalid, (m, k, s), hinge, ranks, dest).view(m, k)
    return loss, grad


class Lovasz(torch.autograd.Function):
    """Lovász hinge / softmax loss per row, from logits or probabilities ``a`` ``(N, C', S)`` (module doc).

    Arguments as :func:`plain_lovasz`. Forward returns the loss and the gradient w.r.t. ``a``
    (non-differentiable, kept for backward as an attribute rather than saved): the first backward scales
    it in place by the incoming gradient and returns it; a later backward of a retained graph recomputes
    it. Saved: the inputs only (references). The gradient flows to ``a`` only (the caller takes the plain
    formula when the target needs one).
    """

    @staticmethod
    def forward(
        a: Tensor,
        labels: Tensor | None,
        dense: Tensor | None,
        first: int,
        valid: Tensor | None,
        hinge: bool,
        pooled: bool,
        need_grad: bool,
    ) -> tuple[Tensor, Tensor]:
        """Loss ``(N, C')`` (``(C',)`` when pooled) and ``∂(Σ loss)/∂a`` ``(N, C', S)``.

        The second is empty without ``need_grad`` (the caller passes ``is_grad_enabled() and
        a.requires_grad``: forward runs in no-grad mode and cannot tell).
        """
        return _forward(a, labels, dense, first, valid, hinge, pooled, need_grad)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        """Save the inputs (references, no copies) and keep the gradient."""
        a, labels, dense, first, valid, hinge, pooled, _ = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(a, labels, dense, valid)
        ctx.grad = output[1]
        ctx.first, ctx.hinge, ctx.pooled = first, hinge, pooled
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx: Any, g_loss: Tensor | None, _: Tensor | None) -> tuple[Tensor | None, ...]:
        """``g_loss``-weighted gradient in place; autograd of :func:`plain_lovasz` under ``create_graph``."""
        a, labels, dense, valid = ctx.saved_tensors
        first: int = ctx.first
        hinge: bool = ctx.hinge
        pooled: bool = ctx.pooled
        none = (None,) * 7
        if g_loss is None:
            return (None, *none)
        if torch.is_grad_enabled():
            (ga,) = differentiate_plain(
                lambda: plain_lovasz(a, labels, dense, first, valid, hinge, pooled), (a,), g_loss
            )
            return (ga, *none)
        grad, ctx.grad = ctx.grad, None
        if grad is None or grad.numel() != a.numel():  # a second backward of a retained graph (the first
            # one consumed the gradient), or a forward told that no gradient was needed
            _, grad = _forward(a, labels, dense, first, valid, hinge, pooled, True)
        scale = g_loss.reshape(1, -1, 1) if pooled else g_loss.unsqueeze(-1)
        return (grad.mul_(scale), *none)
