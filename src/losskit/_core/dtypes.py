"""Half-precision policy.

float16 and bfloat16 inputs are computed in float32 and the loss is returned in float32: a loss is a
statistic over many elements, and accumulating it in 16 bits loses digits or overflows (float16 tops out
at 65504). float32 and float64 inputs are computed and returned in their own dtype. Gradients flow back to
the caller's tensors in their original dtype through the cast.
"""

from __future__ import annotations

import torch
from torch import Tensor

_HALF = (torch.float16, torch.bfloat16)


def compute_dtype(*tensors: Tensor | None) -> torch.dtype:
    """The dtype a loss computes in: the widest floating dtype among the inputs, half promoted to float32."""
    dtype: torch.dtype | None = None
    for t in tensors:
        if t is None or not t.is_floating_point():
            continue
        d = torch.float32 if t.dtype in _HALF else t.dtype
        dtype = d if dtype is None else torch.promote_types(dtype, d)
    return torch.get_default_dtype() if dtype is None else dtype


def upcast(x: Tensor, dtype: torch.dtype) -> Tensor:
    """Cast a floating tensor to the compute dtype (no copy when it already has it)."""
    return x if (not x.is_floating_point() or x.dtype == dtype) else x.to(dtype)


def eps_for(dtype: torch.dtype) -> float:
    """Machine epsilon used to clamp probability inputs of this dtype."""
    return float(torch.finfo(dtype).eps)
