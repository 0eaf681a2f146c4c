r"""Sequence losses: CTC (connectionist temporal classification, Graves et al. 2006).

Registered in the classification family; reductions follow SPEC §0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import checks
from losskit.functional._common import (
    finish,
    prepare,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


__all__ = [
    "ctc_loss",
]


# --------------------------------------------------------------------------------------------------
# CTC


def _as_lengths(fn: str, name: str, value: Tensor | Sequence[int], n: int) -> Tensor:
    if isinstance(value, Tensor):
        t = checks.check_index_target(fn, name, value)
    else:
        try:
            t = torch.as_tensor(list(value), dtype=torch.long)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{fn}: {name} must be an integer tensor or a sequence of ints, got {value!r}"
            ) from err
    checks.check_shape(fn, name, t, (n,), "(one length per sample)")
    return t


def ctc_loss(
    input: Tensor,
    target: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    *,
    blank: int = 0,
    input_type: str = "log_probs",
    batch_first: bool = False,
    zero_infinity: bool = False,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Connectionist Temporal Classification loss.

    .. math::
        \ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(l)} \prod_{t=1}^{T} y^{t}_{\pi_t}

    summed over every frame-level path ``π`` that collapses to the label sequence ``l`` (merge repeats,
    then drop blanks). The computation is delegated to ``torch.nn.functional.ctc_loss`` (cuDNN on GPU);
    losskit adds argument validation with clear messages, logits input, and reports infeasible samples.

    Args:
        input: ``(T, N, C)`` (or ``(N, T, C)`` with ``batch_first=True``) log-probabilities (default) or
            logits (``input_type="logits"``, a log-softmax over C is applied).
        target: padded labels ``(N, S)`` or the concatenation of all label sequences ``(Σ L_i,)``.
        input_lengths: ``(N,)`` frames used per sample, each ``<= T``.
        target_lengths: ``(N,)`` label-sequence lengths.
        blank: the blank class index. Default 0.
        input_type: ``"log_probs"`` (default, like torch) or ``"logits"``.
        batch_first: input is ``(N, T, C)``.
        zero_infinity: give infeasible samples loss 0 (and gradient 0) instead of raising.
        reduction: ``"none"`` (``(N,)``), ``"mean"`` (each loss divided by its target length, then
            averaged over the batch: torch's convention) or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss. An empty batch (``N = 0``) gives 0 with a working backward (torch raises).

    Note:
        Log-probabilities below ``log(tiny)`` of the compute dtype (-87.3 in float32, -708.4 in float64:
        the log of the smallest normal number, so the probability itself is not representable below it)
        are raised to it in value, with the gradient passed through unchanged. Ordinary inputs are not
        affected; saturated logits (±1e30) then give a large finite loss (at most ``T · 708`` in float64)
        and a finite gradient, where torch's backward would cancel terms of size 1e30 into NaN.

    Raises:
        ValueError: shapes and lengths that disagree, labels out of range or equal to ``blank``, and
            (when value checks run) samples whose input is too short for their labels
            (``T_i < L_i + repeats_i``) unless ``zero_infinity=True``.
        TypeError: wrong dtypes.

    References:
        Graves, Fernández, Gomez, Schmidhuber, *Connectionist Temporal Classification*, ICML 2006.

    Example:
        >>> import torch
        >>> from losskit.functional import ctc_loss
        >>> y = torch.tensor([[.5, .4, .1], [.6, .3, .1], [.2, .7, .1]], dtype=torch.float64)
        >>> lp = y.log().unsqueeze(1)  # (T=3, N=1, C=3); classes: blank, a, b
        >>> print(f"{ctc_loss(lp, torch.tensor([[1, 2]]), [3], [2], reduction='sum').item():.8f}")
        2.76462055
    """
    fn = "ctc_loss"
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "input_type", input_type, ("log_probs", "logits"))
    checks.check_integer(fn, "blank", blank)
    checks.check_flag(fn, "batch_first", batch_first)
    checks.check_flag(fn, "zero_infinity", zero_infinity)
    checks.check_float(fn, "input", input)
    if input.dim() != 3:
        layout = "(N, T, C)" if batch_first else "(T, N, C)"
        raise ValueError(f"{fn}: input must have shape {layout}, got {checks.fmt_shape(input.shape)}")
    x = input.transpose(0, 1) if batch_first else input
    T, N, C = (int(s) for s in x.shape)
    if not 0 <= blank < C:
        raise ValueError(f"{fn}: blank must be a class index in [0, {C - 1}], got {blank!r}")
    checks.check_int(fn, "target", target)
    if target.dtype != torch.int32:  # int32 stays: it is what torch's cuDNN CTC path takes
        target = checks.check_index_target(fn, "target", target)
    il = _as_lengths(fn, "input_lengths", input_lengths, N)
    tl = _as_lengths(fn, "target_lengths", target_lengths, N)
    if target.dim() == 2:
        if int(target.shape[0]) != N:
            raise ValueError(
                f"{fn}: padded target must have shape (N, S) with N = {N}, got "
                f"{checks.fmt_shape(target.shape)}"
            )
    elif target.dim() != 1:
        raise ValueError(
            f"{fn}: target must be padded (N, S) or concatenated (sum of lengths,), got "
            f"{checks.fmt_shape(target.shape)}"
        )
    if checks.values_checked(il, tl, target):
        _check_ctc_values(fn, target, il, tl, T, C, blank, zero_infinity)
    _, (xf,) = prepare(fn, x)
    assert xf is not None
    logp = torch.log_softmax(xf, dim=-1) if input_type == "logits" else xf
    if input_type == "log_probs":
        checks.check_log_probabilities(fn, "input", logp)
    if x.numel() == 0:
        # an empty batch (N = 0) or no frames (T = 0), where torch raises: a sample with no frames and
        # no labels has probability 1 (loss 0), one with labels is infeasible (inf, or 0 if zeroed)
        tl_d = tl.to(xf.device)
        infeasible = torch.full_like(tl_d, 0 if zero_infinity else 1, dtype=xf.dtype) * float("inf")
        per = torch.where(tl_d > 0, infeasible, torch.zeros_like(infeasible)) + logp.sum() * 0.0
    else:
        # log-probabilities are floored at log(tiny), the log of the dtype's smallest normal number, in
        # value only: torch's backward cancels terms of the size of the loss, which for logits of 1e30
        # gives inf - inf = NaN; below the floor a probability is not representable anyway
        floor = math.log(torch.finfo(logp.dtype).tiny)
        logp = logp.clamp_min(floor).detach() + (logp - logp.detach())
        per = F.ctc_loss(
            logp,
            target,
            il.to(x.device),
            tl.to(x.device),
            blank=blank,
            reduction="none",
            zero_infinity=zero_infinity,
        )
    if reduction == "mean":
        per = per / tl.to(per.device).clamp(min=1).to(per.dtype)
    return finish(
        fn, per, reduction, normalizer=normalizer, process_group=process_group, inputs={"input": input}
    )


def _check_ctc_values(
    fn: str, target: Tensor, il: Tensor, tl: Tensor, T: int, C: int, blank: int, zero_infinity: bool
) -> None:
    if il.numel() and (int(il.min()) < 0 or int(il.max()) > T):
        lo, hi = int(il.min()), int(il.max())
        raise ValueError(f"{fn}: input_lengths must lie in [0, T={T}], got [{lo}, {hi}]")
    if tl.numel() and int(tl.min()) < 0:
        raise ValueError(f"{fn}: target_lengths must be >= 0, got {int(tl.min())}")
    lengths = tl.tolist()
    if target.dim() == 2:
        S = int(target.shape[1])
        if lengths and max(lengths) > S:
            raise ValueError(
                f"{fn}: target_lengths reach {max(lengths)} but the padded target has only S = {S} columns"
            )
        seqs = [target[i, : lengths[i]] for i in range(len(lengths))]
    else:
        if int(target.numel()) != sum(lengths):
            raise ValueError(
                f"{fn}: concatenated target must have sum(target_lengths) = {sum(lengths)} labels, got "
                f"{int(target.numel())}"
            )
        seqs = list(torch.split(target, lengths)) if lengths else []
    infeasible = []
    for i, s in enumerate(seqs):
        if s.numel() == 0:
            continue
        lo, hi = int(s.min()), int(s.max())
        if lo < 0 or hi >= C:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{fn}: target of sample {i} holds label {bad}, expected labels in [0, {C - 1}]")
        if bool((s == blank).any()):
            raise ValueError(f"{fn}: target of sample {i} contains the blank label {blank}; labels must not")
        repeats = int((s[1:] == s[:-1]).sum()) if s.numel() > 1 else 0
        if int(il[i]) < s.numel() + repeats:
            infeasible.append((i, int(il[i]), s.numel() + repeats))
    if infeasible and not zero_infinity:
        desc = ", ".join(f"sample {i}: {t} frames < {need} needed" for i, t, need in infeasible[:5])
        raise ValueError(
            f"{fn}: input too short for its labels (each label needs a frame, repeated labels need a blank "
            f"between them): {desc}; pass zero_infinity=True to give such samples loss 0"
        )
