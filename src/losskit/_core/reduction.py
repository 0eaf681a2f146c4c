"""The one reduction helper every loss uses (SPEC §0).

* ``"none"``: the unreduced values, multiplied by ``weight`` when one is given.
* ``"sum"``: ``Σ wᵢ·ℓᵢ``.
* ``"mean"``: ``Σ wᵢ·ℓᵢ / Σ nᵢ`` where the denominator ``n`` is ``weight`` (all ones when absent) unless the
  caller passes its own (cross-entropy with class weights divides by the weight of each sample's class).
  A public ``normalizer`` (a positive number or 0-d tensor, mmdet's ``avg_factor``) replaces the whole
  denominator: e.g. the number of valid tokens of a gradient-accumulation window.
  Empty input, all-zero weights and fully ignored batches give ``0`` computed as ``0 * Σ ℓ`` so that
  ``backward()`` still works; never NaN, and no device synchronisation.

With a ``process_group`` (see :mod:`losskit.distributed`) the reduction is that of the union of every rank's
values: ``"sum"`` is the global sum, ``"mean"`` the global numerator over the global denominator (one
all-reduce of two numbers), or over ``normalizer`` when one is given (the caller then supplies the *global*
count; the numerator is still summed across ranks). ``"none"`` returns the local values unchanged: there is
nothing to communicate. The result is the same on every rank, and each rank's gradient is ``W`` times the
full-batch gradient of its own values (``W`` = world size), which DDP's averaging turns into the exact
full-batch parameter gradient.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from losskit import distributed as dist_
from losskit._core.checks import check_number, check_reduction, fmt_shape, values_checked

__all__ = ["check_normalizer", "reduce"]

_REDUCTIONS = ("none", "mean", "sum")


def check_normalizer(fn: str, normalizer: Any, reduction: str) -> None:
    """Validate a public ``normalizer``: a positive number or 0-d tensor, only with ``reduction="mean"``.

    A tensor's value is checked (``> 0``, finite) only where value checks run (CPU tensors, or
    ``losskit.set_checks("full")``), so a GPU normaliser costs no synchronisation.
    """
    if normalizer is None:
        return
    if reduction != "mean":
        raise ValueError(
            f"{fn}: normalizer replaces the denominator of reduction='mean' and needs it, got "
            f"reduction={reduction!r}; drop normalizer or use reduction='mean'"
        )
    if isinstance(normalizer, Tensor):
        if normalizer.dim() != 0:
            raise ValueError(
                f"{fn}: normalizer must be a number or a 0-d tensor (the mean's denominator), got a tensor "
                f"of shape {fmt_shape(normalizer.shape)}; pass normalizer.sum() for a total"
            )
        if normalizer.is_complex() or normalizer.dtype == torch.bool:
            raise TypeError(f"{fn}: normalizer must be a real number or tensor, got dtype {normalizer.dtype}")
        if values_checked(normalizer):
            v = float(normalizer.detach())
            if not (v > 0.0 and v != float("inf")):
                raise ValueError(f"{fn}: normalizer must be a finite number > 0, got {v!r}")
        return
    if isinstance(normalizer, bool) or not isinstance(normalizer, (int, float)):
        raise TypeError(
            f"{fn}: normalizer must be None, a number or a 0-d tensor, got {type(normalizer).__name__}"
        )
    check_number(fn, "normalizer", normalizer, low=0.0, low_open=True, high=float("inf"), high_open=True)


def reduce(
    values: Tensor,
    reduction: str,
    weight: Tensor | None = None,
    *,
    denominator: Tensor | None = None,
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    facts: dict[str, int] | None = None,
    fn: str = "reduce",
) -> Tensor:
    """Reduce unreduced loss values according to SPEC §0, locally or across the ranks of a process group.

    Args:
        values: unreduced loss values.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        weight: optional non-negative weight broadcastable *into* ``values``; it multiplies the values.
        denominator: optional tensor whose sum is the ``"mean"`` denominator (default: the weight broadcast
            to ``values``' shape, or the element count when there is no weight). Internal: losses use it
            for their own normalisation rule (cross-entropy's per-sample class weight).
        normalizer: the public override of the mean's denominator: a number or 0-d tensor ``> 0``.
        process_group: None (local) or a ``torch.distributed.ProcessGroup``: reduce over every rank.
        facts: integers that must agree on every rank (e.g. ``classes=C``), checked under
            ``losskit.set_checks("full")`` together with the reduction and whether a normaliser is given.
        fn: name of the calling loss, for error messages.

    Returns:
        The reduced tensor (0-d for ``"mean"``/``"sum"``).
    """
    check_reduction(fn, reduction)
    check_normalizer(fn, normalizer, reduction)
    group = dist_.resolve_group(fn, process_group)
    if group is not None:
        dist_.check_consistent(
            fn,
            group,
            values.device,
            reduction=_REDUCTIONS.index(reduction),
            normalizer_given=int(normalizer is not None),
            **(facts or {}),
        )
    if weight is not None:
        values = values * weight
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return dist_.all_reduce_sum(total, group)
    if normalizer is not None:
        norm = normalizer.to(total.dtype) if isinstance(normalizer, Tensor) else float(normalizer)
        return dist_.all_reduce_sum(total, group) / norm
    if denominator is not None:
        denom = denominator.sum().to(total.dtype)
    elif weight is not None:
        denom = torch.broadcast_to(weight, values.shape).sum().to(total.dtype)
    elif group is None:
        if values.numel() == 0:
            return total * 0.0
        return total / values.numel()
    else:
        denom = total.new_tensor(float(values.numel()))
    if group is not None:
        both = dist_.all_reduce_sum(torch.stack([total, denom]), group)
        total, denom = both[0], both[1]
    # denom == 0 only when every weight is zero (everywhere), and then total is 0 too: 0 / 1 keeps the graph.
    return total / torch.where(denom == 0, torch.ones_like(denom), denom)
