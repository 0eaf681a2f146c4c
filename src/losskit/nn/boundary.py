"""Modules of the boundary-aware segmentation family, and the deep-supervision wrapper.

Combine with an overlap loss by composition, as the papers train them::

    criterion = DiceLoss() + 0.01 * BoundaryLoss()      # raise the 0.01 during training (Kervadec et al.)
    criterion = DeepSupervision(DiceLoss() + CrossEntropyLoss())  # nnU-Net's objective over decoder scales
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F_
from torch import Tensor

from losskit._core import checks
from losskit.functional import boundary as F
from losskit.nn.base import FunctionalLoss, Loss
from losskit.registry import register

__all__ = ["BoundaryLoss", "ClDiceLoss", "DeepSupervision", "HausdorffDTLoss"]


@register("boundary", "surface", family="boundary")
class BoundaryLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.boundary_loss`; ``forward(input, signed_distance_map)``."""

    function = staticmethod(F.boundary_loss)


@register("hausdorff_dt", "hausdorff", "hd_dt", family="boundary")
class HausdorffDTLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.hausdorff_dt_loss` (option ``alpha``)."""

    function = staticmethod(F.hausdorff_dt_loss)


@register("cldice", "soft_cldice", family="boundary")
class ClDiceLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.cldice_loss` (options ``iterations``, ``smooth``)."""

    function = staticmethod(F.cldice_loss)


class DeepSupervision(Loss):
    r"""A loss applied to every output of a deeply supervised network, targets resized to each scale.

    .. math::
        \mathcal{L} = \sum_{k=0}^{K-1} \bar w_k\, \ell(\hat y_k, \operatorname{resize}(y, \hat y_k)),
        \qquad \bar w_k = w_k / \textstyle\sum_j w_j

    ``outputs[0]`` is the full-resolution prediction and ``outputs[k]`` the k-th coarser one (nnU-Net's
    order). A single target tensor is resized to each output's spatial size by nearest-neighbour
    interpolation (``"nearest-exact"``: pixel centres, as nnU-Net's and MONAI's target pyramids), which
    keeps class indices and one-hot masks exact; pass a list of targets to use your own pyramid. The
    weights are normalised to sum to 1, so adding scales does not change the loss's magnitude.

    Args:
        loss: any loss Module (or callable) taking ``(input, target)``, e.g. ``DiceLoss() +
            CrossEntropyLoss()``.
        weights: one non-negative weight per output, not all 0. Default None: :math:`w_k = 2^{-k}`
            (nnU-Net's halving per scale), for however many outputs ``forward`` receives.

    Shape:
        ``forward(outputs, target)``: ``outputs`` a list / tuple of ``(N, C, *spatial_k)`` (a single tensor
        is the one-scale case), ``target`` class indices ``(N, *spatial)`` or masks ``(N, C, *spatial)``
        at full resolution, or a list with one target per output.

    Raises:
        ValueError: on an empty list of outputs, a weight count different from the number of outputs,
            negative or all-zero weights, a target list of the wrong length, a target whose batch size
            differs from an output's, outputs without spatial dimensions.
        TypeError: on a loss that is not callable, outputs that are not tensors.

    Note:
        MONAI's ``DeepSupervisionLoss(loss, weights=w)`` returns :math:`\sum_k w_k \ell_k` without
        normalising (and its ``"exp"`` mode floors weights at 1/16); it equals
        ``DeepSupervision(loss, w)`` times :math:`\sum_k w_k` (tests/test_boundary_peers.py).

    References:
        Lee, Xie, Gallagher, Zhang, Tu, *Deeply-Supervised Nets*, AISTATS 2015 (arXiv 1409.5185).
        Isensee, Jaeger, Kohl, Petersen, Maier-Hein, *nnU-Net: a self-configuring method for deep
        learning-based biomedical image segmentation*, Nature Methods 18, 2021.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.DeepSupervision(losskit.DiceLoss(), weights=[2.0, 1.0])
        >>> y = torch.randint(0, 3, (2, 8, 8))
        >>> outs = [torch.randn(2, 3, 8, 8), torch.randn(2, 3, 4, 4)]
        >>> crit(outs, y).shape
        torch.Size([])
    """

    def __init__(self, loss: Any, weights: Sequence[float] | None = None) -> None:
        super().__init__()
        fn = "DeepSupervision"
        if not callable(loss):
            raise TypeError(f"{fn}: loss must be a loss Module or callable, got {type(loss).__name__}")
        self.loss = loss
        if weights is None:
            self.weights: tuple[float, ...] | None = None
        else:
            if isinstance(weights, Tensor):
                weights = [float(w) for w in weights.detach().cpu().reshape(-1)]
            if not isinstance(weights, (list, tuple)):
                raise TypeError(
                    f"{fn}: weights must be a sequence of numbers or None, got {type(weights).__name__}"
                )
            ws = tuple(
                checks.check_number(fn, "weights", w, low=0.0, high=math.inf, high_open=True) for w in weights
            )
            if not ws or sum(ws) <= 0.0:
                raise ValueError(
                    f"{fn}: weights must hold at least one positive number, got {tuple(weights)!r}"
                )
            self.weights = ws

    def level_weights(self, levels: int) -> list[float]:
        """The normalised weights used for ``levels`` outputs."""
        if self.weights is None:
            raw = [0.5**k for k in range(levels)]
        else:
            if len(self.weights) != levels:
                raise ValueError(
                    f"DeepSupervision: weights has {len(self.weights)} entries, one per output is needed, "
                    f"got {levels} outputs"
                )
            raw = list(self.weights)
        total = sum(raw)
        return [w / total for w in raw]

    @staticmethod
    def _resize(target: Tensor, out: Tensor) -> Tensor:
        size = tuple(int(s) for s in out.shape[2:])
        is_index = target.dim() == out.dim() - 1
        spatial = tuple(int(s) for s in (target.shape[1:] if is_index else target.shape[2:]))
        if spatial == size:
            return target
        if len(spatial) != len(size):
            raise ValueError(
                f"DeepSupervision: target must have {len(size)} spatial dimensions like the outputs, got "
                f"shape {checks.fmt_shape(target.shape)}"
            )
        t = target.unsqueeze(1) if is_index else target
        if t.is_floating_point():
            r = F_.interpolate(t, size=size, mode="nearest-exact")
        else:
            # class indices travel as float64 (exact for every integer a label can hold) and come back as is
            r = F_.interpolate(t.to(torch.float64), size=size, mode="nearest-exact").to(target.dtype)
        return r.squeeze(1) if is_index else r

    def forward(self, outputs: Tensor | Sequence[Tensor], target: Tensor | Sequence[Tensor]) -> Tensor:
        """The weighted sum of ``loss(outputs[k], target resized to outputs[k])`` (see the class doc)."""
        fn = "DeepSupervision"
        outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
        if not outs:
            raise ValueError(f"{fn}: outputs must hold at least one tensor, got an empty sequence")
        for k, o in enumerate(outs):
            checks.check_tensor(fn, f"outputs[{k}]", o)
            if o.dim() < 3:
                raise ValueError(
                    f"{fn}: outputs[{k}] must have shape (N, C, *spatial), got {checks.fmt_shape(o.shape)}"
                )
        weights = self.level_weights(len(outs))
        if isinstance(target, Tensor):
            if target.dim() == 0 or int(target.shape[0]) != int(outs[0].shape[0]):
                raise ValueError(
                    f"{fn}: target must have the outputs' batch size {int(outs[0].shape[0])}, "
                    f"got shape {checks.fmt_shape(target.shape)}"
                )
            targets = [self._resize(target, o) for o in outs]
        else:
            targets = list(target)
            if len(targets) != len(outs):
                raise ValueError(
                    f"{fn}: target must be one tensor or one per output ({len(outs)}), got {len(targets)}"
                )
        total: Tensor | None = None
        for w, o, t in zip(weights, outs, targets):
            term = w * self.loss(o, t)
            total = term if total is None else total + term
        assert total is not None
        return total

    def extra_repr(self) -> str:
        """The weights, for ``print(module)``."""
        return f"weights={self.weights}"
