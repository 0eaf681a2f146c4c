"""Modules of the dense detection family; ``GHMCLoss`` keeps the paper's momentum as a buffer."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks
from losskit.functional import detection as F
from losskit.nn.base import FunctionalLoss, Loss
from losskit.registry import register

__all__ = ["AdaptiveWingLoss", "BalancedL1Loss", "GHMCLoss", "GaussianFocalLoss", "OKSLoss", "WingLoss"]


@register("gaussian_focal", "centernet_focal", "cornernet_focal", family="detection")
class GaussianFocalLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.gaussian_focal_loss` (options ``alpha``, ``beta``)."""

    function = staticmethod(F.gaussian_focal_loss)


@register("balanced_l1", family="detection")
class BalancedL1Loss(FunctionalLoss):
    """Module form of :func:`losskit.functional.balanced_l1_loss` (options ``alpha``, ``gamma``, ``beta``)."""

    function = staticmethod(F.balanced_l1_loss)


@register("wing", family="detection")
class WingLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.wing_loss` (options ``omega``, ``epsilon``)."""

    function = staticmethod(F.wing_loss)


@register("adaptive_wing", "awing", family="detection")
class AdaptiveWingLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.adaptive_wing_loss`."""

    function = staticmethod(F.adaptive_wing_loss)


@register("oks", "keypoint_oks", family="detection")
class OKSLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.oks_loss`; pass ``area=`` (and ``visibility=``) at call."""

    function = staticmethod(F.oks_loss)


@register("ghm_c", "ghmc", family="detection")
class GHMCLoss(Loss):
    r"""GHM-C with the paper's momentum: :func:`losskit.functional.ghm_c_loss` with running bin counts.

    With ``momentum`` μ > 0 the Module keeps an exponential moving average of the bin counts in the buffer
    ``acc_sum``: in training mode, each call first updates every bin that is non-empty in the batch,
    :math:`R_j \leftarrow \mu R_j + (1 - \mu)\,r_j` (mmdet's ``GHMC``), then weighs the batch with the
    running counts. This is the one losskit Module whose ``forward`` changes its state, because the
    method is defined that way; in eval mode (``.eval()``) the state is left alone and the batch's own
    density is used. With ``momentum=0`` it is stateless and equal to the function.

    Args:
        bins: number of gradient-norm bins. Default 10.
        momentum: μ in [0, 1). Default 0 (no memory); the paper uses 0.75.
        reduction: {reduction}

    Example:
        >>> import torch, losskit
        >>> crit = losskit.GHMCLoss(bins=10, momentum=0.75)
        >>> x, y = torch.tensor([0.0, 0.0, 0.0, 4.0]), torch.ones(4)
        >>> _ = crit(x, y)
        >>> crit.acc_sum[[0, 5]]  # (1 - 0.75) * (1, 3) after the first batch
        tensor([0.2500, 0.7500])
    """

    function: ClassVar[Any] = staticmethod(F.ghm_c_loss)
    acc_sum: Tensor

    def __init__(self, bins: int = 10, momentum: float = 0.0, *, reduction: str = "mean") -> None:
        super().__init__()
        name = "GHMCLoss"
        checks.check_reduction(name, reduction)
        self.bins = F._ghm_bins(name, bins)
        self.momentum = checks.check_number(name, "momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.reduction = reduction
        self.register_buffer("acc_sum", torch.zeros(self.bins))

    def forward(
        self,
        input: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        *,
        normalizer: float | Tensor | None = None,
        process_group: Any = None,
    ) -> Tensor:
        """The GHM-C loss of the batch, weighted by the running density when momentum > 0 (training).

        With a ``process_group`` the batch's bin counts are those of every rank's elements, so the running
        counts stay the same on every rank; ``normalizer`` is per call, as in the function.
        """
        counts = None
        if self.momentum > 0 and self.training:
            dtype = torch.float32 if input.dtype in (torch.float16, torch.bfloat16) else input.dtype
            _, batch = F.ghm_bin_counts(
                input.detach().to(dtype), target.detach().to(dtype), bins=self.bins, weight=weight
            )
            batch = dist_.all_reduce_sum(batch, dist_.resolve_group("GHMCLoss", process_group))
            with torch.no_grad():
                acc = self.acc_sum.to(batch.dtype)
                updated = torch.where(batch > 0, self.momentum * acc + (1.0 - self.momentum) * batch, acc)
                self.acc_sum.copy_(updated.to(self.acc_sum.dtype))
            counts = updated
        return F.ghm_c_loss(
            input,
            target,
            bins=self.bins,
            bin_counts=counts,
            weight=weight,
            reduction=self.reduction,
            normalizer=normalizer,
            process_group=process_group,
        )

    def extra_repr(self) -> str:
        """Bins, momentum and reduction."""
        return f"bins={self.bins}, momentum={self.momentum}, reduction={self.reduction!r}"
