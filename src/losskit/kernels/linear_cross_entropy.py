r"""Chunked cross-entropy of a linear head, ``hidden @ weight.T (+ bias)``, without the ``(N, V)`` logits.

The logits of a language-model head are ``N × V`` (16k tokens × 128k vocabulary = 8 GiB in float32),
while everything the loss needs per token is a handful of numbers. The kernel walks **blocks** of
``rows`` tokens × ``cols`` vocabulary entries, computes each block's logits with one matmul, folds them
into per-token statistics with an online log-sum-exp, and drops the block.

Per token :math:`i`, with (optionally soft-capped) logits :math:`z = c\tanh(u / c)`, :math:`u = h W^\top + b`,
:math:`L = \operatorname{lse}(z)`, :math:`p = e^{z - L}`, class weights :math:`w` (ones when absent),
:math:`\bar W = \sum_c w_c`, smoothing :math:`\varepsilon`, z-loss coefficient :math:`\zeta` and
:math:`v_i = [y_i \neq \text{ignore}]`:

.. math::
    \ell_i = v_i \Big[ w_{y}\big((1-\varepsilon)(L - z_{y}) + \zeta L^2\big)
             + \tfrac{\varepsilon}{V}\big(\bar W L - \textstyle\sum_c w_c z_c\big) \Big]

so the forward pass needs only :math:`L`, :math:`z_y` and :math:`\sum_c w_c z_c` per token (all three fold
over vocabulary blocks). The gradient with respect to the capped logits is

.. math::
    \frac{\partial \ell_i}{\partial z_c} = a_i p_c - b_i [c = y_i] - e_i w_c, \quad
    a_i = v_i\big((1-\varepsilon) w_y + 2\zeta w_y L + \varepsilon \bar W / V\big),\;
    b_i = v_i (1-\varepsilon) w_y,\; e_i = v_i\,\varepsilon / V

and soft-capping multiplies it by :math:`1 - (z_c / c)^2`. From there ``grad_hidden = dU W``,
``grad_weight = dUᵀ h`` and ``grad_bias = Σ_i dU``, accumulated block by block into preallocated
float32 buffers (float64 for float64 inputs).

Two schedules share that block code:

* **fused forward** (``"mean"``/``"sum"``, gradients required, eager mode, one vocabulary block per row
  chunk): each block's logits are computed once and serve both the loss and the gradient, which are stored
  (they are the size of ``hidden``, ``weight`` and ``bias``, never of the logits); backward only scales
  them by the incoming scalar gradient. Three matmuls in all, as many as the naive path.
* **recompute** (``reduction="none"``, ``torch.compile``, vocabulary tiling, or a second backward through
  the same graph): forward keeps the per-token LSE only and backward recomputes each block's logits.

Double backward (``create_graph=True``) is supported and exact: backward then recomputes the loss with
differentiable operations on the materialised logits and differentiates that (correct, but no longer
memory-light).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

# Block budget for chunk_size=None: a block of logits holds max(N·D, 2^16) elements (never more than the
# hidden states, or 256 KiB of float32 for tiny inputs), capped at 2^24 (64 MiB). A row chunk takes the
# whole vocabulary when that leaves at least MIN_ROWS tokens; otherwise MIN_ROWS tokens walk the vocabulary
# in tiles (matmuls with fewer rows waste most of a CPU core or a GPU's tensor cores).
MIN_BLOCK = 2**16
MAX_BLOCK = 2**24
MIN_ROWS = 16
# On a CPU the blocks are vocabulary-major: every token against MIN_COLS or more vocabulary entries, so that
# grad_weight is written once per tile by a matmul over all tokens (token-major blocks of a few dozen rows
# re-read and re-write the whole (V, D) gradient once per chunk, which a CPU's memory bandwidth cannot hide).
MIN_COLS = 256


def choose_blocks(
    n: int, d: int, v: int, chunk_size: int | tuple[int, int] | None, cpu: bool = False
) -> tuple[int, int]:
    """Token rows and vocabulary columns per block (the rule of :func:`losskit.linear_cross_entropy`)."""
    if isinstance(chunk_size, tuple):
        return max(1, min(chunk_size[0], max(n, 1))), max(1, min(chunk_size[1], v))
    if chunk_size is not None:
        return max(1, min(chunk_size, max(n, 1))), v
    budget = min(max(n * d, MIN_BLOCK), MAX_BLOCK)
    if cpu:
        cols = min(v, max(MIN_COLS, budget // max(n, 1)))
        return max(1, min(n, budget // cols)), cols
    rows = budget // v
    if rows >= MIN_ROWS or rows >= n:
        return max(1, min(rows, n)), v
    rows = min(MIN_ROWS, max(n, 1))
    return rows, max(1, budget // rows)


def _logits(h: Tensor, w: Tensor, b: Tensor | None, cd: torch.dtype, softcap: float) -> Tensor:
    """One block of (capped) logits in the compute dtype; the matmul runs in the input dtype."""
    z = torch.mm(h, w.t()) if b is None else torch.addmm(b, h, w.t())
    z = z.to(cd)
    if softcap > 0.0:
        z = torch.tanh(z.div_(softcap)).mul_(softcap)
    return z


def _target_in_block(t: Tensor, v0: int, cols: int) -> tuple[Tensor, Tensor]:
    """Local column of each row's target inside the block, and whether it lies there."""
    local = t - v0
    inside = (local >= 0) & (local < cols)
    return torch.where(inside, local, torch.zeros_like(local)), inside


def _softcap_deriv(z: Tensor, softcap: float) -> Tensor | None:
    """``dz/du = 1 - (z / c)^2`` of the soft cap, from the capped logits (None without a cap)."""
    return (z / softcap).square_().neg_().add_(1.0) if softcap > 0.0 else None


def _grad_from_probs(
    p: Tensor,
    deriv: Tensor | None,
    t: Tensor,
    v0: int,
    cw_blk: Tensor | None,
    a: Tensor,
    b: Tensor,
    e: Tensor | None,
) -> Tensor:
    """Gradient with respect to the pre-cap logits of one block, built in the buffer of ``p``."""
    g = p.mul_(a[:, None])
    local, inside = _target_in_block(t, v0, p.shape[1])
    g.scatter_add_(1, local[:, None], torch.where(inside, -b, torch.zeros_like(b))[:, None])
    if e is not None:
        g.sub_(e[:, None] * cw_blk[None, :] if cw_blk is not None else e[:, None])
    if deriv is not None:
        g.mul_(deriv)
    return g


class _Config:
    """The plain options of one call (kept together so the Function's signature stays short)."""

    def __init__(
        self,
        ignore_index: int,
        smoothing: float,
        z_loss: float,
        softcap: float,
        reduction: str,
        rows: int,
        cols: int,
    ) -> None:
        self.ignore_index = ignore_index
        self.smoothing = smoothing
        self.z_loss = z_loss
        self.softcap = softcap
        self.reduction = reduction
        self.rows = rows
        self.cols = cols


def _per_token_weight(t: Tensor, valid: Tensor, cw: Tensor | None, cd: torch.dtype) -> Tensor:
    """``v_i · w_{y_i}`` (``v_i`` alone without class weights)."""
    if cw is None:
        return valid.to(cd)
    safe = torch.where(valid, t, torch.zeros_like(t))
    return cw[safe] * valid.to(cd)


def _coefficients(
    vw: Tensor, valid: Tensor, lse: Tensor, g: Tensor, cfg: _Config, wbar: float | Tensor, v: int
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Per-token ``a, b, e`` of the module docstring, times the incoming gradient ``g``."""
    eps, zl = cfg.smoothing, cfg.z_loss
    b = vw * ((1.0 - eps) * g)
    a = b + vw * (2.0 * zl) * lse * g if zl != 0.0 else b.clone()
    e = None
    if eps != 0.0:
        e = valid.to(b.dtype) * (eps / v) * g
        a = a + e * wbar
    return a, b, e


def _row_stats(
    h: Tensor,
    w: Tensor,
    bias: Tensor | None,
    t: Tensor,
    cw: Tensor | None,
    cd: torch.dtype,
    cfg: _Config,
    keep: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None, tuple[Tensor, Tensor | None, Tensor] | None]:
    """``(lse, z_y, Σ w_c z_c, kept)`` of one row chunk, online over vocabulary blocks.

    With ``keep`` (one vocabulary block only) ``kept`` is ``(exponentials, soft-cap derivative, 1 / their
    row sums)`` of the block, for the fused schedule; the block's logits buffer is reused for them.
    """
    v = w.shape[0]
    rows = h.shape[0]
    need_sum = cfg.smoothing != 0.0
    if cfg.cols >= v:  # one block: its buffer ends up holding the probabilities (reused by the fused path)
        z = _logits(h, w, bias, cd, cfg.softcap)
        m = z.amax(dim=1)
        local, _ = _target_in_block(t, 0, v)
        zy = z.gather(1, local[:, None]).squeeze(1)
        s = (z @ cw if cw is not None else z.sum(dim=1)) if need_sum else None
        deriv = _softcap_deriv(z, cfg.softcap) if keep else None
        ez = z.sub_(m[:, None]).exp_()
        total = ez.sum(dim=1)
        lse = torch.log(total).add_(m)
        # kept: the exponentials e^{z - m} and 1 / Σ e^{z - m}; p = e · (1 / Σ) is folded into the gradient
        return lse, zy, s, (ez, deriv, total.reciprocal()) if keep else None
    m = torch.full((rows,), float("-inf"), dtype=cd, device=h.device)
    acc = torch.zeros(rows, dtype=cd, device=h.device)
    zy = torch.zeros(rows, dtype=cd, device=h.device)
    s = torch.zeros(rows, dtype=cd, device=h.device) if need_sum else None
    for v0 in range(0, v, cfg.cols):
        v1 = min(v0 + cfg.cols, v)
        z = _logits(h, w[v0:v1], None if bias is None else bias[v0:v1], cd, cfg.softcap)
        local, inside = _target_in_block(t, v0, v1 - v0)
        zy = zy + torch.where(inside, z.gather(1, local[:, None]).squeeze(1), torch.zeros_like(zy))
        if s is not None:
            s = s + (z @ cw[v0:v1] if cw is not None else z.sum(dim=1))
        m_new = torch.maximum(m, z.amax(dim=1))
        acc = acc * torch.exp(m - m_new) + z.sub_(m_new[:, None]).exp_().sum(dim=1)  # in the block's buffer
        m = m_new
        del z  # free this block before the next one is allocated
    return torch.log(acc) + m, zy, s, None


def _token_loss(
    vw: Tensor,
    valid: Tensor,
    lse: Tensor,
    zy: Tensor,
    s: Tensor | None,
    cfg: _Config,
    wbar: float | Tensor,
    v: int,
) -> Tensor:
    """Per-token loss ``ℓ_i`` from the folded statistics."""
    eps, zl = cfg.smoothing, cfg.z_loss
    inner = (lse - zy) * (1.0 - eps)
    if zl != 0.0:
        inner = inner + zl * lse.square()
    loss = vw * inner
    if s is not None:
        loss = loss + valid.to(lse.dtype) * (eps / v) * (wbar * lse - s)
    return loss


def _accumulate(
    h: Tensor,
    w: Tensor,
    bias: Tensor | None,
    t: Tensor,
    cw: Tensor | None,
    lse: Tensor,
    a: Tensor,
    b: Tensor,
    e: Tensor | None,
    cd: torch.dtype,
    cfg: _Config,
    gw: Tensor | None,
    gb: Tensor | None,
    gh: Tensor | None,
    kept: tuple[Tensor, Tensor | None, Tensor] | None = None,
) -> None:
    """Gradient contributions of one row chunk, added into ``gh`` (its zeroed rows), ``gw`` and ``gb``."""
    v = w.shape[0]
    hc = h.to(cd) if gw is not None else h
    for v0 in range(0, v, cfg.cols):
        v1 = min(v0 + cfg.cols, v)
        a_blk = a
        if kept is not None:
            p, deriv, inv_total = kept
            a_blk = a * inv_total  # the probabilities' normalisation, folded into a
        else:
            p = _logits(h, w[v0:v1], None if bias is None else bias[v0:v1], cd, cfg.softcap)
            deriv = _softcap_deriv(p, cfg.softcap)
            p = p.sub_(lse[:, None]).exp_()  # the probabilities, in the logits' buffer
        du = _grad_from_probs(p, deriv, t, v0, None if cw is None else cw[v0:v1], a_blk, b, e)
        if gh is not None:
            if w.dtype == cd:
                gh.addmm_(du, w[v0:v1])  # accumulate in place: no (rows, D) temporary per tile
            else:
                gh.add_(torch.mm(du.to(w.dtype), w[v0:v1]))
        if gw is not None:
            gw[v0:v1].addmm_(du.t(), hc)
        if gb is not None:
            gb[v0:v1].add_(du.sum(dim=0))
        del p, du, deriv  # free this block before the next one is allocated


def _denominator(vw: Tensor, normalizer: Tensor | None) -> Tensor:
    denom = vw.sum() if normalizer is None else normalizer.to(vw.dtype)
    return torch.where(denom == 0, torch.ones_like(denom), denom)


def _reference_token_loss(
    h: Tensor, w: Tensor, bias: Tensor | None, t: Tensor, cw: Tensor | None, cfg: _Config, cd: torch.dtype
) -> tuple[Tensor, Tensor]:
    """Differentiable per-token loss on materialised logits (double backward only) and ``v·w_y``."""
    v = w.shape[0]
    u = torch.nn.functional.linear(h, w, bias).to(cd)
    z = cfg.softcap * torch.tanh(u / cfg.softcap) if cfg.softcap > 0.0 else u
    lse = torch.logsumexp(z, dim=1)
    valid = t != cfg.ignore_index
    safe = torch.where(valid, t, torch.zeros_like(t))
    zy = z.gather(1, safe[:, None]).squeeze(1)
    vw = _per_token_weight(t, valid, None if cw is None else cw.to(cd), cd)
    s = (z @ cw.to(cd) if cw is not None else z.sum(dim=1)) if cfg.smoothing != 0.0 else None
    wbar = cw.to(cd).sum() if cw is not None else float(v)
    return _token_loss(vw, valid, lse, zy, s, cfg, wbar, v), vw


class LinearCrossEntropyFunction(torch.autograd.Function):
    """Autograd Function behind :func:`losskit.linear_cross_entropy` (see the module docstring).

    Inputs: ``hidden (N, D)``, ``weight (V, D)``, ``bias (V,) | None``, ``target (N,)`` int64,
    ``class_weight (V,) | None``, ``normalizer`` 0-d tensor or None, a :class:`_Config` and ``fused``
    (compute the gradients during forward). Outputs: the loss (0-d, or ``(N,)`` for ``"none"``) and the
    per-token LSE ``(N,)`` (not differentiable).
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        target: Tensor,
        class_weight: Tensor | None,
        normalizer: Tensor | None,
        cfg: _Config,
        fused: bool,
    ) -> tuple[Tensor, Tensor]:
        """Loss and LSE; with ``fused`` also the gradients for a scalar loss."""
        n, v = hidden.shape[0], weight.shape[0]
        cd = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else hidden.dtype
        cw = None if class_weight is None else class_weight.to(cd)
        wbar: float | Tensor = float(v) if cw is None else cw.sum()
        valid = target != cfg.ignore_index
        vw = _per_token_weight(target, valid, cw, cd)
        need = ctx.needs_input_grad
        fused = fused and cfg.reduction != "none" and cfg.cols >= v and any(need[:3])
        scale = None
        if fused:
            if cfg.reduction == "mean":
                scale = 1.0 / _denominator(vw, normalizer)
            else:
                scale = torch.ones((), dtype=cd, device=vw.device)
        gh = torch.zeros(n, hidden.shape[1], dtype=cd, device=hidden.device) if fused and need[0] else None
        gw = torch.zeros(weight.shape, dtype=cd, device=weight.device) if fused and need[1] else None
        gb = (
            torch.zeros(v, dtype=cd, device=weight.device) if fused and bias is not None and need[2] else None
        )
        losses, lses = [], []
        for r0 in range(0, n, cfg.rows):
            r1 = min(r0 + cfg.rows, n)
            h, t = hidden[r0:r1], target[r0:r1]
            lse, zy, s, kept = _row_stats(h, weight, bias, t, cw, cd, cfg, keep=fused)
            losses.append(_token_loss(vw[r0:r1], valid[r0:r1], lse, zy, s, cfg, wbar, v))
            lses.append(lse)
            if fused:
                assert scale is not None and kept is not None
                a, b, e = _coefficients(vw[r0:r1], valid[r0:r1], lse, scale, cfg, wbar, v)
                _accumulate(
                    h,
                    weight,
                    bias,
                    t,
                    cw,
                    lse,
                    a,
                    b,
                    e,
                    cd,
                    cfg,
                    gw,
                    gb,
                    None if gh is None else gh[r0:r1],
                    kept,
                )
            kept = None  # free this chunk's block before the next one is allocated
        loss = torch.cat(losses) if losses else torch.zeros(0, dtype=cd, device=hidden.device)
        lse_all = torch.cat(lses) if lses else torch.zeros(0, dtype=cd, device=hidden.device)
        if cfg.reduction == "sum":
            out = loss.sum()
        elif cfg.reduction == "mean":
            out = loss.sum() / _denominator(vw, normalizer)
        else:
            out = loss
        ctx.save_for_backward(hidden, weight, bias, target, class_weight, normalizer, lse_all)
        ctx.cfg = cfg
        ctx.fused = (gh, gw, gb) if fused else None
        ctx.mark_non_differentiable(lse_all)
        return out, lse_all

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _grad_lse: Tensor | None) -> tuple[Tensor | None, ...]:
        """Scale the fused gradients, or recompute them per block (differentiably under create_graph)."""
        hidden, weight, bias, target, class_weight, normalizer, lse = ctx.saved_tensors
        cfg: _Config = ctx.cfg
        need = ctx.needs_input_grad
        nones = (None, None, None, None, None)
        if torch.is_grad_enabled():  # create_graph=True: differentiate a differentiable recomputation
            first = _double_backward(hidden, weight, bias, target, class_weight, normalizer, cfg, grad, need)
            return first + nones
        n, v = hidden.shape[0], weight.shape[0]
        cd = lse.dtype
        if ctx.fused is not None:
            gh, gw, gb = ctx.fused
            ctx.fused = None  # a second backward (retain_graph=True) recomputes instead
            g = grad.to(cd)
            return (
                None if gh is None else gh.mul_(g).to(hidden.dtype),
                None if gw is None else gw.mul_(g).to(weight.dtype),
                None if gb is None else gb.mul_(g).to(bias.dtype),
                *nones,
            )
        cw = None if class_weight is None else class_weight.to(cd)
        wbar: float | Tensor = float(v) if cw is None else cw.sum()
        valid = target != cfg.ignore_index
        vw = _per_token_weight(target, valid, cw, cd)
        g_tok = grad.to(cd)
        if cfg.reduction == "mean":
            g_tok = g_tok / _denominator(vw, normalizer)
        if g_tok.dim() == 0:
            g_tok = g_tok.expand(n)
        gh = torch.zeros(n, hidden.shape[1], dtype=cd, device=hidden.device) if need[0] else None
        gw = torch.zeros(weight.shape, dtype=cd, device=weight.device) if need[1] else None
        gb = torch.zeros(v, dtype=cd, device=weight.device) if bias is not None and need[2] else None
        for r0 in range(0, n, cfg.rows):
            r1 = min(r0 + cfg.rows, n)
            a, b, e = _coefficients(vw[r0:r1], valid[r0:r1], lse[r0:r1], g_tok[r0:r1], cfg, wbar, v)
            _accumulate(
                hidden[r0:r1],
                weight,
                bias,
                target[r0:r1],
                cw,
                lse[r0:r1],
                a,
                b,
                e,
                cd,
                cfg,
                gw,
                gb,
                None if gh is None else gh[r0:r1],
            )
        return (
            None if gh is None else gh.to(hidden.dtype),
            None if gw is None else gw.to(weight.dtype),
            None if gb is None else gb.to(bias.dtype),
            *nones,
        )


def _double_backward(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    normalizer: Tensor | None,
    cfg: _Config,
    grad: Tensor,
    need: tuple[bool, ...],
) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """First derivatives as differentiable functions of the inputs (for create_graph=True)."""
    cd = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else hidden.dtype
    loss, vw = _reference_token_loss(hidden, weight, bias, target, class_weight, cfg, cd)
    if cfg.reduction == "mean":
        total = (loss * grad).sum() / _denominator(vw, normalizer)
    else:
        total = (loss * grad).sum()
    wanted = [(i, x) for i, x in enumerate((hidden, weight, bias)) if x is not None and need[i]]
    grads = torch.autograd.grad(total, [x for _, x in wanted], create_graph=True, allow_unused=True)
    out: list[Tensor | None] = [None, None, None]
    for (i, x), gx in zip(wanted, grads):
        out[i] = torch.zeros_like(x) if gx is None else gx
    return out[0], out[1], out[2]


def linear_cross_entropy_kernel(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    normalizer: Tensor | None,
    *,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float,
    reduction: str,
    rows: int,
    cols: int,
) -> tuple[Tensor, Tensor]:
    """Validated-input entry point: returns ``(loss, lse)``; inputs are ``(N, D)``, ``(V, D)``, ``(N,)``."""
    cfg = _Config(ignore_index, label_smoothing, z_loss, softcap, reduction, rows, cols)
    fused = torch.is_grad_enabled() and not torch.compiler.is_compiling()
    out: tuple[Tensor, Tensor] = LinearCrossEntropyFunction.apply(
        hidden, weight, bias, target, class_weight, normalizer, cfg, fused
    )
    return out


# --------------------------------------------------------------------------------------------------
# distillation fused over the student's head
#
# Per token, with student log-probabilities log q = log_softmax(s / T), s = h Wᵀ + b, teacher
# log p = log_softmax(t / T) and k = KL without the T² factor:
#   forward  KL(p ‖ q): ℓ = T² Σ p (log p − log q),
#            ∂ℓ/∂s = T (q − p),                 ∂ℓ/∂t = T p (log p − log q − k)
#   reverse  KL(q ‖ p): ℓ = T² Σ q (log q − log p),
#            ∂ℓ/∂s = T q (log q − log p − k),   ∂ℓ/∂t = T (p − q)


def _distill_block(
    h: Tensor, w: Tensor, b: Tensor | None, teacher: Tensor, temperature: float, cd: torch.dtype
) -> tuple[Tensor, Tensor]:
    """Student and teacher log-probabilities of one row chunk."""
    s = _logits(h, w, b, cd, 0.0)
    logq = torch.log_softmax(s.div_(temperature), dim=1)
    logp = torch.log_softmax(teacher.to(cd) / temperature, dim=1)
    return logq, logp


class LinearDistillationFunction(torch.autograd.Function):
    """Autograd Function behind :func:`losskit.linear_distillation_loss`: per-token KL × T², token chunks.

    Saves the inputs and the per-token KL ``(N,)``; backward recomputes each chunk's student logits.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        teacher: Tensor,
        valid: Tensor,
        temperature: float,
        reverse: bool,
        rows: int,
    ) -> Tensor:
        """Per-token ``T² · KL`` (0 where ``valid`` is False)."""
        n = hidden.shape[0]
        cd = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else hidden.dtype
        parts = []
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            logq, logp = _distill_block(hidden[r0:r1], weight, bias, teacher[r0:r1], temperature, cd)
            if reverse:
                k = (logq.exp() * (logq - logp)).sum(dim=1)
            else:
                k = (logp.exp() * (logp - logq)).sum(dim=1)
            parts.append(k)
            del logq, logp
        kl = torch.cat(parts) if parts else torch.zeros(0, dtype=cd, device=hidden.device)
        kl = torch.where(valid, kl, torch.zeros_like(kl))
        ctx.save_for_backward(hidden, weight, bias, teacher, valid, kl)
        ctx.temperature = temperature
        ctx.reverse = reverse
        ctx.rows = rows
        return kl * (temperature * temperature)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        """Recompute each chunk's student logits; gradients of hidden, weight, bias and the teacher logits."""
        hidden, weight, bias, teacher, valid, kl = ctx.saved_tensors
        temp: float = ctx.temperature
        need = ctx.needs_input_grad
        n = hidden.shape[0]
        cd = kl.dtype
        if torch.is_grad_enabled():  # create_graph=True: differentiate a differentiable recomputation
            logq, logp = _distill_block(hidden, weight, bias, teacher, temp, cd)
            if ctx.reverse:
                k = (logq.exp() * (logq - logp)).sum(dim=1)
            else:
                k = (logp.exp() * (logp - logq)).sum(dim=1)
            total = (torch.where(valid, k, torch.zeros_like(k)) * grad).sum() * (temp * temp)
            inputs = (hidden, weight, bias, teacher)
            wanted = [(i, x) for i, x in enumerate(inputs) if x is not None and need[i]]
            grads = torch.autograd.grad(total, [x for _, x in wanted], create_graph=True, allow_unused=True)
            out: list[Tensor | None] = [None, None, None, None]
            for (i, x), gx in zip(wanted, grads):
                out[i] = torch.zeros_like(x) if gx is None else gx
            return (*out, None, None, None, None)
        g = (grad.to(cd) * valid.to(cd)) * temp
        gh = torch.empty(n, hidden.shape[1], dtype=cd, device=hidden.device) if need[0] else None
        gw = torch.zeros(weight.shape, dtype=cd, device=weight.device) if need[1] else None
        gb = (
            torch.zeros(weight.shape[0], dtype=cd, device=weight.device)
            if bias is not None and need[2]
            else None
        )
        gt = torch.empty(teacher.shape, dtype=cd, device=teacher.device) if need[3] else None
        for r0 in range(0, n, ctx.rows):
            r1 = min(r0 + ctx.rows, n)
            h = hidden[r0:r1]
            logq, logp = _distill_block(h, weight, bias, teacher[r0:r1], temp, cd)
            gc = g[r0:r1, None]
            q, p = logq.exp(), logp.exp()
            if ctx.reverse:
                ds = q * (logq - logp - kl[r0:r1, None]) * gc
                dt = (p - q).mul_(gc) if gt is not None else None
            else:
                dt = p * (logp - logq - kl[r0:r1, None]) * gc if gt is not None else None
                ds = (q - p).mul_(gc)
            if gt is not None and dt is not None:
                gt[r0:r1] = dt
            if gh is not None:
                gh[r0:r1] = torch.mm(ds.to(weight.dtype), weight).to(cd)
            if gw is not None:
                gw.addmm_(ds.t(), h.to(cd))
            if gb is not None:
                gb.add_(ds.sum(dim=0))
            del logq, logp, q, p, ds, dt  # free this chunk before the next one is allocated
        return (
            None if gh is None else gh.to(hidden.dtype),
            None if gw is None else gw.to(weight.dtype),
            None if gb is None else gb.to(bias.dtype),
            None if gt is None else gt.to(teacher.dtype),
            None,
            None,
            None,
            None,
        )


def linear_distillation_kernel(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    teacher: Tensor,
    valid: Tensor,
    *,
    temperature: float,
    reverse: bool,
    rows: int,
) -> Tensor:
    """Validated-input entry point: per-token ``T² · KL`` for ``(N, D)``, ``(V, D)``, ``(N, V)`` inputs."""
    out: Tensor = LinearDistillationFunction.apply(
        hidden, weight, bias, teacher, valid, temperature, reverse, rows
    )
    return out
