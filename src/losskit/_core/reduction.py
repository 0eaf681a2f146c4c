"""The one reduction helper every loss uses (SPEC §0).

* ``"none"``: the unreduced values, multiplied by ``weight`` when one is given.
* ``"sum"``: ``Σ wᵢ·ℓᵢ``.
* ``"mean"``: ``Σ wᵢ·ℓᵢ / Σ nᵢ`` where the normaliser ``n`` is ``weight`` (all ones when absent) unless the
  caller passes its own (cross-entropy with class weights divides by the weight of each sample's class).
  Empty input, all-zero weights and fully ignored batches give ``0`` computed as ``0 * Σ ℓ`` so that
  ``backward()`` still works; never NaN, and no device synchronisation.
"""

from __future__ import annotations

import torch
from torch import Tensor

from losskit._core.checks import check_reduction


def reduce(
    values: Tensor,
    reduction: str,
    weight: Tensor | None = None,
    *,
    normalizer: Tensor | None = None,
    fn: str = "reduce",
) -> Tensor:
    """Reduce unreduced loss values according to SPEC §0.

    Args:
        values: unreduced loss values.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        weight: optional non-negative weight broadcastable *into* ``values``; it multiplies the values.
        normalizer: optional tensor whose sum is the ``"mean"`` denominator (default: the weight broadcast
            to ``values``' shape, or the element count when there is no weight).
        fn: name of the calling loss, for error messages.

    Returns:
        The reduced tensor (0-d for ``"mean"``/``"sum"``).
    """
    check_reduction(fn, reduction)
    if weight is not None:
        values = values * weight
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if normalizer is None and weight is None:
        if values.numel() == 0:
            return total * 0.0
        return total / values.numel()
    if normalizer is not None:
        denom = normalizer.sum().to(total.dtype)
    elif weight is not None:
        denom = torch.broadcast_to(weight, values.shape).sum().to(total.dtype)
    # denom == 0 only when every weight is zero, and then total is 0 too: 0 / 1 keeps the graph.
    return total / torch.where(denom == 0, torch.ones_like(denom), denom)
