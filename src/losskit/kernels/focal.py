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
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def _alpha_t(y: Tensor, alpha: float) -> Tensor:
    """α_t = α y + (1 - α)(1 - y), as one fused multiply-add."""
    return torch.full_like(y, 1.0 - alpha).add_(y, alpha=2.0 * alpha - 1.0)


class SigmoidFocal(torch.autograd.Function):
    """Elementwise sigmoid focal loss on logits (gradient w.r.t. the logits only).

    Temporaries are updated in place, so forward allocates four and backward five input-sized buffers
    (autograd of the composed formula keeps about ten alive until backward).
    """

    @staticmethod
    def forward(x: Tensor, y: Tensor, alpha: float | None, gamma: float) -> Tensor:
        """Unreduced loss ``a · u^γ · BCE(x, y)``."""
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        if gamma != 0.0:
            q = torch.neg(x).sigmoid_()
            # lerp(p, q, y) = y q + (1 - y) p, exact at y in {0, 1} and free of cancellation in between
            u = torch.sigmoid(x).lerp_(q, y)
            loss.mul_(u.pow_(gamma))
        if alpha is not None:
            loss.mul_(_alpha_t(y, alpha))
        return loss

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        """Save only the inputs; backward recomputes the rest."""
        x, y, alpha, gamma = inputs
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        ctx.gamma = gamma

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        """Closed-form gradient w.r.t. the logits (module docstring)."""
        x, y = ctx.saved_tensors
        gamma: float = ctx.gamma
        p = torch.sigmoid(x)
        if gamma != 0.0:
            q = torch.neg(x).sigmoid_()
            u = torch.lerp(p, q, y)
            c = F.binary_cross_entropy_with_logits(x, y, reduction="none")
            r = q.mul_(p).div_(u.clamp(min=torch.finfo(u.dtype).tiny))  # r = p q / u in [0, 1]
            # inner = (p - y) + γ (1 - 2y) r c
            inner = torch.mul(y, -2.0).add_(1.0).mul_(r).mul_(c).mul_(gamma).add_(p).sub_(y)
            g = inner.mul_(u.pow_(gamma))
        else:
            g = p.sub_(y)
        g = g.mul_(grad)
        if ctx.alpha is not None:
            g = g.mul_(_alpha_t(y, ctx.alpha))
        return g, None, None, None


class SoftmaxFocalIndex(torch.autograd.Function):
    """Softmax focal loss for class-index targets on logits; ``coef`` holds α_t·w_t·valid per sample.

    Forward is one log-softmax pass (its input-sized output is dropped after the gather); backward builds
    the gradient in the one input-sized buffer that ``softmax`` returns. Saved: the logits and three
    per-sample vectors.
    """

    @staticmethod
    def forward(z: Tensor, target: Tensor, coef: Tensor, gamma: float, dim: int) -> tuple[Tensor, Tensor]:
        """Unreduced loss ``-coef · u^γ · log p_t``, and ``log p_t`` (kept for backward)."""
        lp = torch.log_softmax(z, dim=dim).gather(dim, target.unsqueeze(dim)).squeeze(dim)
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
        """Closed-form gradient ``a k (softmax(z) - onehot(t))``."""
        z, target, coef, lp = ctx.saved_tensors
        gamma: float = ctx.gamma
        dim: int = ctx.dim
        u = torch.expm1(lp).neg_()
        if gamma != 0.0:
            pos = u > 0
            # -log p_t / u -> 1 as u -> 0; k = u^γ (1 + γ p_t (-log p_t) / u)
            ratio = torch.where(pos, lp.neg() / torch.where(pos, u, torch.ones_like(u)), torch.ones_like(u))
            k = ratio.mul_(lp.exp()).mul_(gamma).add_(1.0).mul_(u.pow(gamma))
        else:
            k = torch.ones_like(u)
        s = k.mul_(coef).mul_(grad).unsqueeze(dim)
        out = torch.softmax(z, dim=dim).mul_(s)
        return out.scatter_add_(dim, target.unsqueeze(dim), s.neg()), None, None, None, None
