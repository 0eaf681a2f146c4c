r"""Fused IoU-family kernel: the loss and its closed-form gradient in one pass, one tensor saved.

:class:`IoUFamily` computes the unreduced IoU / GIoU / DIoU / CIoU / EIoU loss of aligned ``xyxy`` box
pairs and, when the prediction needs a gradient, ``∂ℓ/∂(x₁, y₁, x₂, y₂)`` from the same intermediates;
backward is then a single multiplication. Autograd of the plain formula (and torchvision) records some
twenty-five intermediate tensors per box for backward; this saves one ``(..., 4)`` tensor. On the CPU large
batches are processed in chunks of :data:`CPU_CHUNK` boxes written into the outputs, so the formula's
temporaries stay in cache and the peak memory is the outputs plus one chunk's work space. Min/max ties and
clamps are expressed with ``sign`` rather than boolean masks, which are slow on the CPU.

Conventions are those of :mod:`losskit.functional.boxes`, derivative for derivative: an inverted box
collapses to its centre (``relu`` shift, gradient shared equally by both corners), ``max(·, 0)`` passes
the gradient at exactly 0 (the valid side's derivative), ``min``/``max`` ties split the gradient equally as
``torch.minimum``/``torch.maximum`` do, and CIoU's ``α`` is a constant. With
:math:`d = U + \epsilon`, the partial derivatives that feed the chain rule are

.. math::
    \frac{\partial(1 - \mathrm{IoU})}{\partial I} = -\frac{d + I}{d^2},\qquad
    \frac{\partial(1 - \mathrm{IoU})}{\partial |A|} = \frac{I}{d^2},\qquad
    \frac{\partial}{\partial |C|}\frac{|C| - U}{|C| + \epsilon} = \frac{U + \epsilon}{(|C| + \epsilon)^2},

    \frac{\partial}{\partial \delta}\frac{\rho^2}{c^2 + \epsilon} = \frac{2\delta}{c^2 + \epsilon},\qquad
    \frac{\partial}{\partial c_w}\frac{\rho^2}{c^2 + \epsilon} = -\frac{2 c_w \rho^2}{(c^2 + \epsilon)^2},

    \frac{\partial v}{\partial w} = -\frac{8}{\pi^2}(\theta^{g} - \theta)
        \frac{h + \epsilon}{w^2 + (h + \epsilon)^2}

(``δ`` the centre offset, ``θ = atan(w / (h + ε))``). Tested against autograd of the plain formula
(tests/test_boxes_values.py).

Supported: values and first derivatives w.r.t. the prediction. **Higher-order gradients** (gradient
penalties, Hessian-vector products): a backward that runs with grad mode on (``create_graph=True``)
returns autograd of the plain formula of :mod:`losskit.functional.boxes` on the saved boxes instead of
the stored gradient, so second derivatives are exact (tests/test_second_order.py). ``torch.func``
transforms and forward-mode AD never reach the kernel: the callers take the plain formula then
(:func:`losskit._core.fastpath.applies`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from losskit._core import pages
from losskit._core.fastpath import differentiate_plain

__all__ = ["KINDS", "IoUFamily", "iou_family_loss"]

KINDS = ("iou", "giou", "diou", "ciou", "eiou")
_K = 4.0 / math.pi**2


class _Axis:
    """One axis (x or y) of a chunk of box pairs: canonical corners, sizes, overlap, enclosure, offset."""

    def __init__(self, lo: Tensor, hi: Tensor, glo: Tensor, ghi: Tensor, need_grad: bool) -> None:
        shift = (lo - hi).clamp_(min=0).mul_(0.5)  # > 0 only for an inverted box: collapse it to its centre
        gshift = (glo - ghi).clamp_(min=0).mul_(0.5)
        self.inv = torch.sign(shift) if need_grad else None
        self.lo, self.hi = lo - shift, hi + shift
        glo, ghi = glo - gshift, ghi + gshift
        self.glo, self.ghi = glo, ghi
        self.size, self.gsize = self.hi - self.lo, ghi - glo
        iraw = torch.minimum(self.hi, ghi) - torch.maximum(self.lo, glo)
        self.inter = iraw.clamp(min=0)
        # ∂ max(x, 0)/∂x = 1 on x >= 0 (the valid side); sign(a - b) encodes the 1, 1/2, 0 of min/max ties
        self.inside = torch.sign(iraw).add_(1).clamp_(max=1) if need_grad else None
        self.s_lo = torch.sign(self.lo - glo) if need_grad else None
        self.s_hi = torch.sign(self.hi - ghi) if need_grad else None

    def enclosing(self) -> Tensor:
        return torch.maximum(self.hi, self.ghi) - torch.minimum(self.lo, self.glo)

    def offset(self) -> Tensor:
        return ((self.lo + self.hi) - (self.glo + self.ghi)) * 0.5

    def corner_grads(
        self, g_inter: Tensor, g_size: Tensor, g_enc: Tensor | None, g_off: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """∂ℓ/∂(lo, hi) of the raw corners from ∂ℓ/∂(intersection, size, enclosure, offset) of this axis."""
        assert (
            self.inside is not None
            and self.s_lo is not None
            and self.s_hi is not None
            and self.inv is not None
        )
        g_i = g_inter * self.inside
        if g_enc is None:
            g_lo = -0.5 * g_i * (1.0 + self.s_lo) - g_size
            g_hi = 0.5 * g_i * (1.0 - self.s_hi) + g_size
        else:
            plus, minus = g_i + g_enc, g_i - g_enc
            g_lo = -0.5 * (plus + self.s_lo * minus) - g_size
            g_hi = 0.5 * (plus - self.s_hi * minus) + g_size
        if g_off is not None:
            half = 0.5 * g_off
            g_lo = g_lo + half
            g_hi = g_hi + half
        # through the canonical shift: an inverted box's corners both equal its centre
        diff = (g_hi - g_lo) * (0.5 * self.inv)
        return g_lo + diff, g_hi - diff


def _loss_and_grad(
    kind: str, pred: Tensor, target: Tensor, eps: float, tcyb: bool, need_grad: bool
) -> tuple[Tensor, Tensor | None]:
    """Loss and (if asked) ``∂loss/∂pred`` of ``(n, 4)`` or ``(4,)``-shaped ``xyxy`` pairs."""
    x1, y1, x2, y2 = pred.unbind(-1)
    gx1, gy1, gx2, gy2 = target.unbind(-1)
    ax, ay = _Axis(x1, x2, gx1, gx2, need_grad), _Axis(y1, y2, gy1, gy2, need_grad)
    inter = ax.inter * ay.inter
    union = ax.size * ay.size + ax.gsize * ay.gsize - inter
    den = union + eps
    iou = inter / den
    loss = 1.0 - iou
    den2 = den * den
    d_inter = -(den + inter) / den2  # ∂ℓ/∂I and ∂ℓ/∂|A| (area of the prediction)
    d_area = inter / den2
    d_enc: tuple[Tensor, Tensor] | None = None
    d_off: tuple[Tensor, Tensor] | None = None
    d_size: tuple[Tensor, Tensor] | None = None
    if kind != "iou":
        cw, ch = ax.enclosing(), ay.enclosing()
        if kind == "giou":
            area_c = cw * ch
            den_c = area_c + eps
            loss = loss + (area_c - union) / den_c
            inv_c = 1.0 / den_c
            d_inter = d_inter + inv_c
            d_area = d_area - inv_c
            k = den * inv_c * inv_c
            d_enc = (k * ch, k * cw)
        else:
            ox, oy = ax.offset(), ay.offset()
            rho2 = ox * ox + oy * oy
            c2 = cw * cw + ch * ch + eps
            loss = loss + rho2 / c2
            two_over = 2.0 / c2
            d_off = (ox * two_over, oy * two_over)
            k = -rho2 * two_over / c2
            d_enc = (k * cw, k * ch)
            if kind == "eiou":
                dw, dh = ax.size - ax.gsize, ay.size - ay.gsize
                cw2, ch2 = cw * cw + eps, ch * ch + eps
                tw, th = dw / cw2, dh / ch2
                loss = loss + dw * tw + dh * th
                d_size = (2.0 * tw, 2.0 * th)
                d_enc = (d_enc[0] - 2.0 * cw * tw * tw, d_enc[1] - 2.0 * ch * th * th)
            elif kind == "ciou":
                w, h = ax.size, ay.size + eps
                dtheta = torch.atan(ax.gsize / (ay.gsize + eps)) - torch.atan(w / h)
                v = _K * dtheta * dtheta
                alpha = v / ((1.0 - iou) + v + eps)
                if tcyb:
                    alpha = alpha * (iou >= 0.5).to(alpha.dtype)
                loss = loss + alpha * v
                scale = (-2.0 * _K) * alpha * dtheta / (w * w + h * h)
                d_size = (scale * h, -scale * w)
    if not need_grad:
        return loss, None
    gs_x, gs_y = d_area * ay.size, d_area * ax.size
    if d_size is not None:
        gs_x, gs_y = gs_x + d_size[0], gs_y + d_size[1]
    gx1_, gx2_ = ax.corner_grads(
        d_inter * ay.inter, gs_x, d_enc[0] if d_enc else None, d_off[0] if d_off else None
    )
    gy1_, gy2_ = ay.corner_grads(
        d_inter * ax.inter, gs_y, d_enc[1] if d_enc else None, d_off[1] if d_off else None
    )
    return loss, torch.stack((gx1_, gy1_, gx2_, gy2_), dim=-1)


CPU_CHUNK = 1 << 15
"""Boxes per chunk on the CPU: the ~50 temporaries of a chunk stay in cache (measured 2-3x faster than
unchunked at 1M boxes) and the peak memory no longer grows with the batch beyond the outputs."""
GPU_CHUNK = 1 << 24
"""Boxes per chunk elsewhere: a GPU wants the whole batch in one launch per op."""


def _chunk_size(device: torch.device) -> int:
    return CPU_CHUNK if device.type == "cpu" else GPU_CHUNK


class IoUFamily(torch.autograd.Function):
    """Unreduced IoU-family loss of ``xyxy`` pairs; gradient w.r.t. the prediction only.

    Saves the per-box gradient computed in forward and the two box tensors it was given, which a
    backward with grad mode on needs to differentiate the plain formula. They are references, not copies:
    the caller's own boxes for ``box_format="xyxy"``; for the other formats the converted corners, which
    this keeps alive (one more ``(..., 4)`` tensor, the size of the gradient).
    """

    @staticmethod
    def forward(
        pred: Tensor, target: Tensor, kind: str, eps: float, tcyb: bool, need_grad: bool
    ) -> tuple[Tensor, Tensor]:
        """``(loss, ∂loss/∂pred)``; the second is empty when ``need_grad`` is False.

        Large batches are processed in chunks written into the two outputs, so the temporaries of the
        formula are those of one chunk.
        """
        shape = pred.shape[:-1]
        n = pred.numel() // 4
        chunk = _chunk_size(pred.device)
        if n <= chunk:
            loss, grad = _loss_and_grad(kind, pred, target, eps, tcyb, need_grad)
            return loss, (grad if grad is not None else pred.new_empty(0))
        p, t = pred.reshape(n, 4), target.reshape(n, 4)
        loss = pred.new_empty(n)
        grad = pages.empty((n, 4), dtype=pred.dtype, device=pred.device) if need_grad else pred.new_empty(0)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            part, part_grad = _loss_and_grad(kind, p[start:stop], t[start:stop], eps, tcyb, need_grad)
            loss[start:stop] = part
            if part_grad is not None:
                grad[start:stop] = part_grad
        return loss.reshape(shape), (grad.reshape(*shape, 4) if need_grad else grad)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        """Save the per-box gradient, and the two input boxes (no copies) for a double backward."""
        pred, target, kind, eps, tcyb, _ = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(output[1], pred, target)
        ctx.kind, ctx.eps, ctx.tcyb = kind, eps, tcyb

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor, _unused: Tensor | None) -> tuple[Tensor | None, ...]:
        """``grad_loss[..., None] * ∂loss/∂pred``; autograd of the plain formula under ``create_graph``."""
        local, pred, target = ctx.saved_tensors
        if torch.is_grad_enabled():
            # imported here: losskit.functional.boxes imports this module
            from losskit.functional.boxes import _boxes, _plain_loss

            rule = "tcyb" if ctx.tcyb else "aaai"
            (g,) = differentiate_plain(
                lambda: _plain_loss(ctx.kind, *_boxes(pred, target, "xyxy"), ctx.eps, rule, True),
                (pred,),
                grad_loss,
            )
            return g, None, None, None, None, None
        if local.numel() == 0 and grad_loss.numel() != 0:
            raise RuntimeError("IoUFamily: backward needs need_grad=True in forward")
        return grad_loss.unsqueeze(-1) * local, None, None, None, None, None


def iou_family_loss(kind: str, pred: Tensor, target: Tensor, *, eps: float, tcyb: bool = False) -> Tensor:
    """Per-box loss of ``kind`` for raw ``xyxy`` boxes of one floating dtype; ``target`` gets no gradient."""
    need_grad = torch.is_grad_enabled() and pred.requires_grad
    loss, _ = IoUFamily.apply(pred, target.detach(), kind, eps, tcyb, need_grad)
    return loss
