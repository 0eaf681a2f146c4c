"""Log-space helpers whose derivatives of every order stay finite (used by kernels and functional alike)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["logaddexp"]


def logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """``log(exp(a) + exp(b))`` as ``max(a, b) + log1p(exp(-|a - b|))``.

    Same values as ``torch.logaddexp``, but twice differentiable without overflow: torch's derivative
    ``1 / (1 + exp(b - a))`` gives a second derivative ``exp(d) / (1 + exp(d))²`` that is ``inf / inf =
    NaN`` once the arguments differ by more than about 355 (float64) — which log-space focal terms reach
    with a hard label (``log(tiny) ≈ -708``). Here only ``exp`` of a non-positive number is ever taken.
    """
    return torch.maximum(a, b) + torch.log1p(torch.exp(-(a - b).abs()))
