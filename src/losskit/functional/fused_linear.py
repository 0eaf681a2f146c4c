r"""Losses fused with a language model's output head: the ``(N, V)`` logits are never materialised.

A language model ends in a linear head ``logits = hidden @ weight.T (+ bias)`` of vocabulary size ``V``;
at ``N = 16k`` tokens and ``V = 128k`` those logits alone take 8 GiB in float32 and the naive backward
doubles it. The functions here take the head's input and parameters instead of the logits and walk
blocks of tokens × vocabulary (:mod:`losskit.kernels.linear_cross_entropy`), keeping per-token statistics
only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks
from losskit._core.reduction import check_normalizer, reduce
from losskit.kernels.linear_cross_entropy import (
    choose_blocks,
    linear_cross_entropy_kernel,
    linear_distillation_kernel,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = ["linear_cross_entropy", "linear_distillation_loss"]

_HALF = (torch.float16, torch.bfloat16)


def _check_head(fn: str, hidden: Tensor, weight: Tensor, bias: Tensor | None) -> tuple[int, int]:
    """Validate ``hidden (..., D)``, ``weight (V, D)``, ``bias (V,)``; return ``(D, V)``."""
    checks.check_float(fn, "hidden", hidden)
    checks.check_float(fn, "weight", weight)
    if hidden.dim() < 2:
        raise ValueError(
            f"{fn}: hidden must have shape (N, D) or (B, T, D), got {checks.fmt_shape(hidden.shape)}; "
            "add a token dimension with hidden.unsqueeze(0)"
        )
    if weight.dim() != 2:
        raise ValueError(
            f"{fn}: weight must be the output head's (V, D) matrix (nn.Linear.weight), got shape "
            f"{checks.fmt_shape(weight.shape)}"
        )
    d, v = int(hidden.shape[-1]), int(weight.shape[0])
    if int(weight.shape[1]) != d:
        raise ValueError(
            f"{fn}: weight must have shape (V, D) with D = hidden.shape[-1] = {d}, got "
            f"{checks.fmt_shape(weight.shape)}"
        )
    if weight.dtype != hidden.dtype:
        raise TypeError(f"{fn}: weight must have hidden's dtype {hidden.dtype}, got {weight.dtype}")
    if bias is not None:
        checks.check_float(fn, "bias", bias)
        checks.check_shape(fn, "bias", bias, (v,), "(one bias per vocabulary entry)")
        if bias.dtype != hidden.dtype:
            raise TypeError(f"{fn}: bias must have hidden's dtype {hidden.dtype}, got {bias.dtype}")
    checks.check_same_device(fn, hidden=hidden, weight=weight, bias=bias)
    if v == 0:
        raise ValueError(f"{fn}: weight must have at least one row (vocabulary entry), got shape (0, {d})")
    return d, v


def _check_chunk(fn: str, chunk_size: int | tuple[int, int] | None) -> None:
    if chunk_size is None:
        return
    parts = chunk_size if isinstance(chunk_size, tuple) else (chunk_size,)
    if len(parts) not in (1, 2) or any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in parts):
        raise ValueError(
            f"{fn}: chunk_size must be None, a positive int (tokens per chunk) or a pair of positive ints "
            f"(tokens, vocabulary entries), got {chunk_size!r}"
        )


def _check_token_target(fn: str, name: str, target: Tensor, hidden: Tensor) -> None:
    checks.check_int(fn, name, target)
    checks.check_shape(
        fn, name, target, tuple(hidden.shape[:-1]), "(hidden's shape without its last dimension)"
    )
    checks.check_same_device(fn, hidden=hidden, **{name: target})


def linear_cross_entropy(
    hidden: Tensor,
    weight: Tensor,
    target: Tensor,
    *,
    bias: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    class_weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    chunk_size: int | tuple[int, int] | None = None,
    return_lse: bool = False,
    process_group: ProcessGroup | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Cross-entropy of a linear head, ``hidden @ weight.T (+ bias)``, without materialising the logits.

    Equal to ``cross_entropy(hidden @ weight.T + bias, target)`` (torch's conventions) plus PaLM's z-loss
    and Gemma 2's logit soft-capping, computed block by block: memory is the gradients plus one block of
    logits, never ``(N, V)``. Per token, with logits
    :math:`z = c \tanh\big((h W^\top + b)/c\big)` (soft-capped when ``softcap=c`` is given), their
    log-sum-exp :math:`L`, class weights :math:`w` (ones when absent) and smoothing :math:`\varepsilon`:

    .. math::
        \ell_i = w_{y_i}\big[(1-\varepsilon)(L - z_{y_i}) + \zeta L^2\big]
                 + \frac{\varepsilon}{V} \sum_c w_c (L - z_c),
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_{i:\,y_i \neq \text{ignore}} w_{y_i}}

    Ignored tokens contribute 0 to the sum and to the denominator. The label-smoothing term and the
    weighted mean follow ``torch.nn.functional.cross_entropy`` exactly; the z-loss term carries the token's
    class weight like the cross-entropy term does (PaLM's unweighted z-loss when ``class_weight`` is None).

    **Chunk rule** (``chunk_size=None``): a block holds :math:`B = \min(\max(N D,\ 2^{16}),\ 2^{24})`
    logits — no more than the hidden states themselves (256 KiB of float32 at least), and
    never more than 64 MiB. A chunk takes ``B // V`` tokens with the whole vocabulary (at N=4096, D=1024,
    V=131072: 32 tokens, the same as Liger-Kernel's and torch's aspect-ratio rule); when that is fewer than
    16 tokens, chunks of 16 tokens walk the vocabulary in tiles of ``B // 16`` entries with an online
    log-sum-exp. That is the rule on accelerators. On a CPU the same budget is laid out vocabulary-major:
    ``max(256, B // N)`` vocabulary entries (at most V) against ``B // cols`` tokens (all of them up to the
    budget), so each tile's ``grad_weight`` is one matmul over all tokens instead of a re-read of the whole
    ``(V, D)`` gradient per token chunk. An int ``chunk_size`` fixes the tokens per chunk (whole
    vocabulary); a pair ``(tokens, vocabulary entries)`` fixes both.

    Args:
        hidden: the head's input, ``(N, D)`` or ``(B, T, D)``; float32/float64, or float16/bfloat16
            (matmuls run in that dtype, everything else in float32).
        weight: the head's weight ``(V, D)`` (``nn.Linear.weight``), hidden's dtype.
        target: class indices ``(N,)`` or ``(B, T)``, int64.
        bias: optional head bias ``(V,)``. Default None (LM heads usually have none).
        ignore_index: target value to skip (padding, prompt tokens). Default ``-100`` as in torch and
            Hugging Face.
        label_smoothing: ε in [0, 1); 0.1 is the usual choice (Szegedy et al. 2016). Default 0.
        z_loss: coefficient ζ ≥ 0 of PaLM's auxiliary ``ζ · L²``, which keeps the log-normaliser near 0
            and stabilises large-model training (PaLM used 1e-4). Default 0.
        softcap: c > 0 caps the logits smoothly to (-c, c) before the softmax (Gemma 2 uses 30). Default
            None (no cap).
        class_weight: per-vocabulary-entry weight ``(V,)``, non-negative; ``"mean"`` divides by the
            summed weight of the non-ignored tokens' targets (torch's convention).
        reduction: ``"none"`` (per token, target's shape; ignored tokens 0), ``"mean"`` or ``"sum"``.
        normalizer: with ``"mean"`` only: a number or 0-d tensor that replaces the denominator, e.g. the
            non-ignored tokens of a whole gradient-accumulation window (so every micro-batch divides by the
            same count; mmdetection's ``avg_factor``). A zero tensor counts as 1.
        chunk_size: None (the rule above), tokens per chunk, or ``(tokens, vocabulary entries)``.
        return_lse: also return the per-token log-sum-exp :math:`L` (target's shape, float32 or float64,
            not differentiable): the log-normaliser that z-loss penalises, useful to log.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's tokens, the same on every rank: ``"mean"`` divides by the count (or
            class weight) of every rank's non-ignored tokens, or by ``normalizer``, then the local shares
            are summed (see docs/distributed.md).

    Returns:
        The loss (0-d unless ``reduction="none"``), float32 for half inputs; ``(loss, lse)`` when
        ``return_lse=True``. A fully ignored batch gives 0 with a working backward.

    Raises:
        ValueError: on mismatched shapes (hidden's width against weight's, target against hidden, bias),
            labels out of range (value check, see :func:`losskit.set_checks`), options out of range
            (``label_smoothing`` outside [0, 1), ``z_loss < 0``, ``softcap <= 0``), ``normalizer`` with a
            reduction other than ``"mean"``, or a bad ``chunk_size``.
        TypeError: on non-tensor arguments, non-float hidden/weight, mixed dtypes or a non-integer target.

    Note:
        Backward: for ``"mean"``/``"sum"`` in eager mode the gradients are computed during forward from the
        same block of logits (three matmuls in all, as many as the naive path) and backward scales them;
        otherwise (``"none"``, under ``torch.compile``, vocabulary tiling, or a second backward with
        ``retain_graph=True``) backward recomputes each block. Double backward (``create_graph=True``) is
        exact but recomputes the loss on materialised logits. Gradients of ``hidden``, ``weight`` and
        ``bias`` are accumulated in float32 (float64 for float64 inputs). Under ``torch.compile`` the
        chunk loop is unrolled into one graph (no graph break).

    References:
        Wijmans et al., *Cut Your Losses in Large-Vocabulary Language Models*, ICLR 2025 (arXiv 2411.09009);
        Hsu et al., *Liger Kernel: Efficient Triton Kernels for LLM Training*, 2024 (arXiv 2410.10989);
        Chowdhery et al., *PaLM: Scaling Language Modeling with Pathways*, JMLR 2023 (arXiv 2204.02311)
        for z-loss; Gemma Team, *Gemma 2: Improving Open Language Models at a Practical Size*, 2024
        (arXiv 2408.00118) for soft-capping; Milakov & Gimelshein, *Online normalizer calculation for
        softmax*, 2018 (arXiv 1805.02867).

    Example:
        >>> import torch
        >>> from losskit.functional import linear_cross_entropy
        >>> hidden = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
        >>> weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
        >>> target = torch.tensor([0, 1])
        >>> # logits [1, 0, 0] and [0, 2, 0]: losses log(e + 2) - 1 and log(e^2 + 2) - 2
        >>> print(f"{linear_cross_entropy(hidden, weight, target).item():.9f}")
        0.395494740
        >>> loss, lse = linear_cross_entropy(hidden, weight, target, reduction="none", return_lse=True)
        >>> [round(x, 6) for x in lse.tolist()]
        [1.551445, 2.239545]
    """
    fn = "linear_cross_entropy"
    checks.check_reduction(fn, reduction)
    _, v = _check_head(fn, hidden, weight, bias)
    _check_token_target(fn, "target", target, hidden)
    checks.check_ignore_index(fn, ignore_index)
    eps = checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True)
    zl = checks.check_number(fn, "z_loss", z_loss, low=0.0)
    cap = 0.0 if softcap is None else checks.check_number(fn, "softcap", softcap, low=0.0, low_open=True)
    if cap != 0.0 and math.isinf(cap):
        cap = 0.0  # an infinite cap is no cap
    checks.check_class_weight(fn, class_weight, v, name="class_weight")
    if class_weight is not None:
        checks.check_same_device(fn, hidden=hidden, class_weight=class_weight)
    norm: Tensor | None = None
    if normalizer is not None:
        if reduction != "mean":
            raise ValueError(
                f"{fn}: normalizer replaces the mean's denominator and needs reduction='mean', "
                f"got reduction={reduction!r}"
            )
        if isinstance(normalizer, Tensor):
            if normalizer.dim() != 0:
                raise ValueError(
                    f"{fn}: normalizer must be a number or a 0-d tensor, got shape "
                    f"{checks.fmt_shape(normalizer.shape)}"
                )
            norm = normalizer.detach()
        else:
            checks.check_number(fn, "normalizer", normalizer, low=0.0, low_open=True)
            norm = torch.tensor(float(normalizer), device=hidden.device)
    _check_chunk(fn, chunk_size)
    checks.check_flag(fn, "return_lse", return_lse)
    checks.check_labels(fn, "target", target, v, ignore_index)

    # (N, D) goes in as is: a reshape would put a view between the gradient and hidden.grad
    h2 = hidden if hidden.dim() == 2 else hidden.reshape(-1, hidden.shape[-1])
    t1 = target.reshape(-1).to(torch.int64)
    rows, cols = choose_blocks(h2.shape[0], h2.shape[1], v, chunk_size, cpu=hidden.device.type == "cpu")
    group = dist_.resolve_group(fn, process_group)
    if group is not None:
        dist_.check_consistent(
            fn,
            group,
            hidden.device,
            vocabulary=v,
            width=int(h2.shape[1]),
            reduction=("none", "mean", "sum").index(reduction),
            normalizer_given=int(normalizer is not None),
        )
        if reduction == "mean" and norm is None:
            # the global denominator (no gradient): this rank's share is its sum over it, and the shares add
            valid = t1 != ignore_index
            local = (
                valid.sum().to(h2.dtype)
                if class_weight is None
                else class_weight.to(h2.dtype)[t1[valid]].sum()
            )
            norm = dist_.all_reduce_sum(local.detach().reshape(1), group)[0]
    loss, lse = linear_cross_entropy_kernel(
        h2,
        weight,
        bias,
        t1,
        class_weight,
        norm,
        ignore_index=ignore_index,
        label_smoothing=eps,
        z_loss=zl,
        softcap=cap,
        reduction=reduction,
        rows=rows,
        cols=cols,
    )
    if reduction == "none":
        loss = loss.reshape(target.shape)
    else:
        loss = dist_.all_reduce_sum(loss, group)
    loss = checks.check_finite_result(fn, loss, hidden=hidden, weight=weight, bias=bias)
    if return_lse:
        return loss, lse.reshape(target.shape)
    return loss


def linear_distillation_loss(
    hidden: Tensor,
    weight: Tensor,
    teacher_logits: Tensor,
    *,
    bias: Tensor | None = None,
    temperature: float = 1.0,
    direction: str = "forward",
    target: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    chunk_size: int | None = None,
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Knowledge-distillation KL between a teacher's logits and a student head, without the student's logits.

    The student's logits ``hidden @ weight.T (+ bias)`` are computed one chunk of tokens at a time and
    dropped; only the teacher's logits (which exist anyway) are ``(N, V)``. With
    :math:`p = \operatorname{softmax}(t / T)` (teacher), :math:`q = \operatorname{softmax}(s / T)` (student),
    per token:

    .. math::
        \ell_{\text{forward}} = T^2 \sum_v p_v (\log p_v - \log q_v) = T^2\,\mathrm{KL}(p \,\|\, q),
        \qquad
        \ell_{\text{reverse}} = T^2 \sum_v q_v (\log q_v - \log p_v) = T^2\,\mathrm{KL}(q \,\|\, p)

    The :math:`T^2` factor (Hinton et al.) keeps the gradient's scale independent of the temperature.
    Same value as :func:`losskit.distillation_kl_loss` on the materialised student logits.

    Args:
        hidden: the student head's input ``(N, D)`` or ``(B, T, D)``.
        weight: the student head's weight ``(V, D)``, hidden's dtype.
        teacher_logits: ``(N, V)`` or ``(B, T, V)`` (any float dtype; computed in float32 or wider). A
            teacher that requires grad receives its gradient too.
        bias: optional student head bias ``(V,)``.
        temperature: T > 0; softens both distributions (Hinton et al. used 1-20; 1 for LLM distillation
            is common). Default 1.
        direction: ``"forward"`` (KL(teacher ‖ student), mass-covering, the classic choice) or
            ``"reverse"`` (KL(student ‖ teacher), mode-seeking, as in MiniLLM).
        target: optional token labels ``(N,)`` / ``(B, T)``: tokens whose label equals ``ignore_index`` are
            left out (padding, prompt). Default None: every token counts.
        ignore_index: {ignore_index}
        reduction: ``"none"`` (per token, ignored tokens 0), ``"mean"`` (over the tokens that are not
            ignored) or ``"sum"``.
        chunk_size: tokens per chunk; None takes the block rule of :func:`linear_cross_entropy`
            (``min(max(N·D, 2**16), 2**24) // V`` tokens, at least 1).
        normalizer: replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0
            (mmdet's ``avg_factor``), e.g. the kept tokens of a whole gradient-accumulation window.
        process_group: None (default, local) or a ``torch.distributed`` process group: the loss of the
            union of every rank's tokens, the same on every rank (see docs/distributed.md).

    Returns:
        The loss; 0-d unless ``reduction="none"`` (then hidden's shape without the last dimension).

    Raises:
        ValueError: on shape mismatches (hidden/weight width, teacher's vocabulary against weight's rows,
            target), ``temperature <= 0``, an unknown ``direction`` or bad ``chunk_size``.
        TypeError: on non-tensor or non-float inputs, mixed hidden/weight dtypes, a non-integer target.

    Note:
        Backward recomputes each chunk's student logits. Double backward (``create_graph=True``) is exact
        but materialises the student's logits.

    References:
        Hinton, Vinyals & Dean, *Distilling the Knowledge in a Neural Network*, NIPS Deep Learning Workshop
        2015 (arXiv 1503.02531); Gu et al., *MiniLLM: Knowledge Distillation of Large Language Models*,
        ICLR 2024 (arXiv 2306.08543) for the reverse KL.

    Example:
        >>> import torch
        >>> from losskit.functional import linear_distillation_loss
        >>> hidden = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
        >>> weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # student logits [1, 0]
        >>> teacher = torch.tensor([[0.0, 0.0]], dtype=torch.float64)             # teacher p = [1/2, 1/2]
        >>> # KL(p || q) = -log 2 - (1/2)(log q_0 + log q_1), log q = [1, 0] - log(1 + e)
        >>> print(f"{linear_distillation_loss(hidden, weight, teacher).item():.9f}")
        0.120114507
    """
    fn = "linear_distillation_loss"
    checks.check_reduction(fn, reduction)
    _, v = _check_head(fn, hidden, weight, bias)
    checks.check_float(fn, "teacher_logits", teacher_logits)
    expected = (*hidden.shape[:-1], v)
    checks.check_shape(
        fn,
        "teacher_logits",
        teacher_logits,
        expected,
        "(hidden's leading dimensions, then the vocabulary size V = weight.shape[0])",
    )
    checks.check_same_device(fn, hidden=hidden, teacher_logits=teacher_logits)
    temp = checks.check_number(fn, "temperature", temperature, low=0.0, low_open=True)
    checks.check_option(fn, "direction", direction, ("forward", "reverse"))
    checks.check_ignore_index(fn, ignore_index)
    check_normalizer(fn, normalizer, reduction)
    dist_.resolve_group(fn, process_group)  # a bad group is an error for every reduction
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(
            f"{fn}: chunk_size must be None or a positive int (tokens per chunk), got {chunk_size!r}"
        )
    h2 = hidden if hidden.dim() == 2 else hidden.reshape(-1, hidden.shape[-1])
    t2 = teacher_logits.reshape(-1, v)
    if target is not None:
        _check_token_target(fn, "target", target, hidden)
        valid = target.reshape(-1) != ignore_index
    else:
        valid = torch.ones(h2.shape[0], dtype=torch.bool, device=hidden.device)
    n = h2.shape[0]
    rows = chunk_size if chunk_size is not None else choose_blocks(n, h2.shape[1], v, None)[0]
    rows = max(1, min(rows, max(n, 1)))
    per_token = linear_distillation_kernel(
        h2, weight, bias, t2, valid, temperature=temp, reverse=direction == "reverse", rows=rows
    )
    if reduction == "none":
        out = per_token.reshape(hidden.shape[:-1])
    else:  # "mean": over the kept tokens (of every rank's with a process_group), or over normalizer
        out = reduce(
            per_token,
            reduction,
            denominator=valid.to(per_token.dtype),
            normalizer=normalizer,
            process_group=process_group,
            facts={"vocabulary": v},
            fn=fn,
        )
    return checks.check_finite_result(fn, out, hidden=hidden, weight=weight, teacher_logits=teacher_logits)
