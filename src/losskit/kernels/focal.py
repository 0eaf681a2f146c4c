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


def _sigmoid_focal_parts(x: Tensor, y: Tensor, gamma: float) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    p = torch.sigmoid(x)
    q = torch.sigmoid(-x)
    # lerp(p, q, y) = y q + (1 - y) p, exact at y in {0, 1} and free of cancellation in between
    u = torch.lerp(p, q, y)
    m = u.pow(gamma)
    c = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    return p, q, u, m, c


class SigmoidFocal(torch.autograd.Function):
    """Elementwise sigmoid focal loss on logits (gradient w.r.t. the logits only)."""

    @staticmethod
    def forward(x: Tensor, y: Tensor, alpha: float | None, gamma: float) -> Tensor:
        """Unreduced loss ``a · u^γ · BCE(x, y)``."""
        _, _, _, m, c = _sigmoid_focal_parts(x, y, gamma)
        loss = m * c
        if alpha is not None:
            loss = loss * (y * (2.0 * alpha - 1.0) + (1.0 - alpha))
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
        p, q, u, m, c = _sigmoid_focal_parts(x, y, gamma)
        inner = p - y
        if gamma != 0.0:
            r = p * q / u.clamp_min(torch.finfo(u.dtype).tiny)
            inner = inner + gamma * (1.0 - 2.0 * y) * r * c
        g = grad * m * inner
        if ctx.alpha is not None:
            g = g * (y * (2.0 * ctx.alpha - 1.0) + (1.0 - ctx.alpha))
        return g, None, None, None


class SoftmaxFocalIndex(torch.autograd.Function):
    """Softmax focal loss for class-index targets on logits; ``coef`` holds α_t·w_t·valid per sample."""

    @staticmethod
    def forward(z: Tensor, target: Tensor, coef: Tensor, gamma: float, dim: int) -> Tensor:
        """Unreduced loss ``-coef · u^γ · log p_t``."""
        lp = torch.log_softmax(z, dim=dim).gather(dim, target.unsqueeze(dim)).squeeze(dim)
        u = -torch.expm1(lp)
        return -coef * u.pow(gamma) * lp

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        """Save the logits, targets and per-sample coefficients."""
        z, target, coef, gamma, dim = inputs
        ctx.save_for_backward(z, target, coef)
        ctx.gamma = gamma
        ctx.dim = dim

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None, None]:
        """Closed-form gradient ``a k (softmax(z) - onehot(t))``."""
        z, target, coef = ctx.saved_tensors
        gamma: float = ctx.gamma
        dim: int = ctx.dim
        probs = torch.softmax(z, dim=dim)
        idx = target.unsqueeze(dim)
        lp = torch.log_softmax(z, dim=dim).gather(dim, idx).squeeze(dim)
        u = -torch.expm1(lp)
        m = u.pow(gamma)
        if gamma != 0.0:
            pos = u > 0
            ratio = torch.where(pos, -lp / torch.where(pos, u, torch.ones_like(u)), torch.ones_like(u))
            k = m * (1.0 + gamma * torch.exp(lp) * ratio)
        else:
            k = m
        s = (grad * coef * k).unsqueeze(dim)
        return (probs * s).scatter_add(dim, idx, -s), None, None, None, None
