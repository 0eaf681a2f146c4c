"""Modules of the multi-label / long-tail family; ``SeesawLoss`` can accumulate class counts in a buffer."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks
from losskit.functional import longtail as F
from losskit.nn.base import FunctionalLoss, Loss
from losskit.registry import register

__all__ = [
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "LDAMLoss",
    "LogitAdjustedCrossEntropyLoss",
    "PolyLoss",
    "SeesawLoss",
]


@register("asymmetric", "asl", family="longtail")
class AsymmetricLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.asymmetric_loss` (``gamma_pos``, ``gamma_neg``, ``clip``)."""

    function = staticmethod(F.asymmetric_loss)


@register("poly", "poly1", family="longtail")
class PolyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.poly_loss` (``epsilon``; ``gamma`` > 0 for Poly-1 focal)."""

    function = staticmethod(F.poly_loss)


@register("balanced_softmax", "bsce", family="longtail")
class BalancedSoftmaxLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.balanced_softmax_loss`; ``class_counts`` becomes a buffer."""

    function = staticmethod(F.balanced_softmax_loss)


@register("logit_adjusted_cross_entropy", "logit_adjusted", "la_ce", family="longtail")
class LogitAdjustedCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.logit_adjusted_cross_entropy` (``class_priors``, ``tau``)."""

    function = staticmethod(F.logit_adjusted_cross_entropy)


@register("ldam", family="longtail")
class LDAMLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.ldam_loss` (``class_counts``, ``max_margin``, ``scale``)."""

    function = staticmethod(F.ldam_loss)


@register("seesaw", family="longtail")
class SeesawLoss(Loss):
    r"""Seesaw loss with the paper's accumulated class counts: :func:`losskit.functional.seesaw_loss`.

    Without ``class_counts`` the Module counts the labels it sees: in training mode each call first adds
    the batch's non-ignored labels to the integer buffer ``class_counts`` (the paper's :math:`N`,
    accumulated over all iterations), then computes the loss with the updated counts; in eval mode
    (``.eval()``) the counts are used and left alone. Like :class:`losskit.GHMCLoss`, this is a Module
    whose ``forward`` changes its state because the method is defined that way. The buffer is created
    for ``num_classes`` classes, or at the first call when ``num_classes`` is None; it is saved in the
    ``state_dict`` (resume training with it).

    With ``class_counts`` given, the counts are fixed (a buffer that is never updated) and the Module
    equals the function.

    Args:
        num_classes: number of classes C for the count buffer; None: taken from the first input.
        class_counts: fixed ``(C,)`` counts; None (default) to accumulate them.
        p: mitigation exponent. Default 0.8.
        q: compensation exponent. Default 2.
        weight: per-class weight ``(C,)``.
        ignore_index: target value to skip (not counted either). Default -100.
        dim: {dim}
        reduction: {reduction}
        normalizer: replaces the denominator of ``reduction="mean"``.

    ``forward(input, target, *, process_group=None)``: with a ``torch.distributed`` group the counts of
    every rank's labels are added (the buffer stays identical on every rank, as one process would count the
    concatenated batch) and the loss is the global one.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.SeesawLoss(num_classes=3)
        >>> _ = crit(torch.zeros(4, 3), torch.tensor([0, 0, 2, 0]))
        >>> crit.class_counts
        tensor([3, 0, 1])
    """

    function: ClassVar[Any] = staticmethod(F.seesaw_loss)
    class_counts: Tensor
    weight: Tensor | None

    def __init__(
        self,
        num_classes: int | None = None,
        *,
        class_counts: Tensor | None = None,
        p: float = 0.8,
        q: float = 2.0,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        dim: int = 1,
        reduction: str = "mean",
        normalizer: float | Tensor | None = None,
    ) -> None:
        super().__init__()
        name = "SeesawLoss"
        checks.check_reduction(name, reduction)
        self.p = checks.check_number(name, "p", p, low=0.0, high=float("inf"), high_open=True)
        self.q = checks.check_number(name, "q", q, low=0.0, high=float("inf"), high_open=True)
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
        ):
            raise ValueError(f"SeesawLoss: num_classes must be a positive int or None, got {num_classes!r}")
        if weight is not None:
            checks.check_float(name, "weight", weight)
        checks.check_ignore_index(name, ignore_index)
        self.ignore_index: int = ignore_index
        self.dim = dim
        self.reduction = reduction
        self.normalizer = normalizer
        self.accumulate = class_counts is None
        if class_counts is None:
            counts = torch.zeros(num_classes or 0, dtype=torch.int64)
        else:
            checks.check_tensor(name, "class_counts", class_counts)
            if num_classes is not None and tuple(class_counts.shape) != (num_classes,):
                raise ValueError(
                    f"SeesawLoss: class_counts must have shape ({num_classes},) for num_classes="
                    f"{num_classes}, got {checks.fmt_shape(class_counts.shape)}"
                )
            counts = class_counts.detach().clone()
        self.register_buffer("class_counts", counts)
        self.register_buffer("weight", None if weight is None else weight.detach().clone())

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        key = prefix + "class_counts"
        incoming = state_dict.get(key)
        if isinstance(incoming, Tensor) and self.class_counts.numel() == 0 and incoming.numel() > 0:
            # a Module built without num_classes takes its size from the saved counts
            self.class_counts = torch.zeros_like(incoming, device=self.class_counts.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, input: Tensor, target: Tensor, *, process_group: Any = None) -> Tensor:
        """The Seesaw loss of the batch; in training mode (accumulating) the counts are updated first.

        With a ``process_group`` the counts added are those of every rank's labels (one all-reduce of C
        integers), so the buffer stays the same on every rank, and the loss is that of the union of the
        ranks' batches (see :func:`losskit.functional.seesaw_loss`).
        """
        if self.accumulate and self.training:
            fn = "SeesawLoss"
            checks.check_float(fn, "input", input)
            if input.dim() < 2:
                raise ValueError(
                    f"{fn}: input must have shape (N, C, ...), got {checks.fmt_shape(input.shape)}"
                )
            d = self.dim % input.dim()
            C = int(input.shape[d])
            if self.class_counts.numel() == 0:
                self.class_counts = torch.zeros(C, dtype=torch.int64, device=input.device)
            elif self.class_counts.numel() != C:
                raise ValueError(
                    f"{fn}: input has {C} classes on dim {self.dim} but class_counts counts "
                    f"{self.class_counts.numel()}"
                )
            tgt = checks.check_index_target(fn, "target", target)
            checks.check_labels(fn, "target", tgt, C, self.ignore_index)
            with torch.no_grad():
                valid = tgt != self.ignore_index
                safe = torch.where(valid, tgt, torch.zeros_like(tgt)).reshape(-1)
                add = torch.zeros(C, dtype=torch.int64, device=tgt.device)
                add.scatter_add_(0, safe, valid.reshape(-1).to(torch.int64))
                add = dist_.all_reduce_sum(add, dist_.resolve_group(fn, process_group))
                self.class_counts.add_(add.to(self.class_counts.device, self.class_counts.dtype))
        counts = self.class_counts
        if counts.numel() == 0 and isinstance(input, Tensor) and input.dim() >= 2:
            n_classes = int(input.shape[self.dim % input.dim()])
            counts = torch.zeros(n_classes, dtype=torch.int64, device=input.device)
        return F.seesaw_loss(
            input,
            target,
            class_counts=counts,
            p=self.p,
            q=self.q,
            weight=self.weight,
            ignore_index=self.ignore_index,
            dim=self.dim,
            reduction=self.reduction,
            normalizer=self.normalizer,
            process_group=process_group,
        )

    def extra_repr(self) -> str:
        """Counts mode, p, q and reduction."""
        mode = "accumulated" if self.accumulate else "fixed"
        return (
            f"class_counts={mode}{tuple(self.class_counts.shape)}, p={self.p}, q={self.q}, "
            f"reduction={self.reduction!r}"
        )
