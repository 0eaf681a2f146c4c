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

__all__ = ["IndexStats", "index_sums", "softmax"]

_SMALL = 1 << 15


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


class IndexStats(torch.autograd.Function):
    """``(Σᵢ p g, Σᵢ p)`` per (sample, class) from logits and class indices, with a closed-form backward.

    ``p`` is the softmax (or sigmoid) of the logits ``x`` ``(N, C, S)``, ``g`` the one-hot of ``labels``
    ``(N, S)``, ``valid`` ``(N, S)`` (or None) the counted pixels; ``squared`` sums ``p²`` instead of ``p``.
    Only the inputs are saved (the logits are the caller's tensor, not a copy); backward recomputes ``p``
    and writes ``∂L/∂p = a·(1 or 2p) + b·g`` (``a = ∂L/∂Σp``, ``b = ∂L/∂TP``) and then the activation's
    backward into one fresh tensor, in place: ``p`` and that tensor are the only input-sized temporaries
    at the peak, where autograd of the plain formula also keeps the scattered gradient of the gather, the
    summed gradient and the softmax's output gradient.
    """

    @staticmethod
    def forward(
        x: Tensor, labels: Tensor, valid: Tensor | None, sigmoid: bool, squared: bool
    ) -> tuple[Tensor, Tensor]:
        """``(TP, Σp)`` of shape ``(N, C)`` each."""
        return index_sums(_activation(x, sigmoid), labels, valid, squared)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        """Save the logits, labels and validity mask (references, no copies)."""
        x, labels, valid, sigmoid, squared = inputs
        ctx.save_for_backward(x, labels, valid)
        ctx.sigmoid, ctx.squared = sigmoid, squared

    @staticmethod
    def backward(ctx: Any, g_tp: Tensor, g_sp: Tensor) -> tuple[Tensor | None, ...]:
        """Closed-form gradient w.r.t. the logits; autograd of :func:`index_sums` under ``create_graph``."""
        x, labels, valid = ctx.saved_tensors
        sigmoid: bool = ctx.sigmoid
        squared: bool = ctx.squared
        if torch.is_grad_enabled():
            (gx,) = differentiate_plain(
                lambda: index_sums(_activation(x, sigmoid), labels, valid, squared), (x,), (g_tp, g_sp)
            )
            return gx, None, None, None, None
        p = _activation(x, sigmoid)
        lab = labels.unsqueeze(1)
        b = g_tp.gather(1, labels)  # ∂L/∂TP of each pixel's own class, (N, S)
        if squared:
            grad = p * (2.0 * g_sp).unsqueeze(-1)
        else:
            grad = g_sp.unsqueeze(-1).expand_as(p).clone()
        if sigmoid:
            grad.scatter_add_(1, lab, b.unsqueeze(1))
            grad.mul_(p)
            grad.addcmul_(grad, p, value=-1.0)  # σ' = p (1 - p)
        else:
            # softmax: ∂L/∂x = p ⊙ (∂L/∂p - u), u = Σ_c p_c ∂L/∂p_c = Σ_c p_c a_c(·2p_c) + p_own · b
            own = p.gather(1, lab).squeeze(1)
            if squared:
                u = (grad * p).sum(1)
            else:
                u = torch.bmm(g_sp.unsqueeze(1), p).squeeze(1)  # Σ_c a_c p_c without an input-sized temporary
            u.addcmul_(own, b)
            grad.scatter_add_(1, lab, b.unsqueeze(1))
            grad.sub_(u.unsqueeze(1)).mul_(p)
        if valid is not None:
            grad.mul_(valid.unsqueeze(1))
        return grad, None, None, None, None
