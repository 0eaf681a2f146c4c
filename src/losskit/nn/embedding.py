"""Modules of the embedding family; each holds options and calls its function.

:class:`ClipLoss` is the one Module in losskit whose option is trainable: it owns CLIP's log-parametrised
logit scale as an ``nn.Parameter`` (optimised with the encoders), or as a buffer when
``learnable=False``. ``forward`` still never changes it; the optimizer does.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from losskit._core import checks
from losskit.functional import embedding as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

# CLIP initialises the log inverse temperature at ln(1 / 0.07)
CLIP_INIT_LOGIT_SCALE = math.log(1.0 / 0.07)

__all__ = [
    "ClipLoss",
    "ContrastiveLoss",
    "InfoNCELoss",
    "NTXentLoss",
    "SupervisedContrastiveLoss",
    "TripletLoss",
]


@register("contrastive", "hadsell")
class ContrastiveLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.contrastive_loss`; ``forward(x1, x2, target)``."""

    function = staticmethod(F.contrastive_loss)


@register("triplet", "triplet_margin")
class TripletLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.triplet_loss`; ``forward(anchor, positive, negative)``."""

    function = staticmethod(F.triplet_loss)
    positional = ("margin", "p")  # as torch.nn's Module of the same role


@register("info_nce")
class InfoNCELoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.info_nce_loss`; ``forward(query, key, negatives=None)``."""

    function = staticmethod(F.info_nce_loss)


@register("nt_xent", "simclr")
class NTXentLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.nt_xent_loss`; ``forward(z1, z2)``."""

    function = staticmethod(F.nt_xent_loss)


@register("supervised_contrastive", "supcon")
class SupervisedContrastiveLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.supervised_contrastive_loss`; ``forward(features, labels)``.

    Registered as ``"supervised_contrastive"`` and ``"supcon"``.
    """

    function = staticmethod(F.supervised_contrastive_loss)


@register("clip")
class ClipLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.clip_loss` that owns the logit scale.

    Args:
        logit_scale: initial value of the **log** inverse temperature. Default ``ln(1 / 0.07)`` (CLIP's
            initialisation, a scale of about 14.3). A float or a one-element tensor.
        learnable: hold ``logit_scale`` as an ``nn.Parameter`` (default; it then appears in
            ``parameters()`` and is trained with the encoders) or, with ``False``, as a fixed buffer.
        **options: the other keyword options of :func:`losskit.functional.clip_loss` (``weight``,
            ``reduction``).

    This is the documented exception to "a Module holds plain options": the scale is a parameter
    (created in the default float dtype; ``.double()`` / ``.to()`` convert it with the module).
    The function clamps ``exp(logit_scale)`` at 100, so the parameter needs no in-place clipping.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.ClipLoss()
        >>> [name for name, _ in crit.named_parameters()]
        ['logit_scale']
        >>> u = torch.eye(2)
        >>> print(f"{losskit.ClipLoss(logit_scale=0.0)(u, u.clone()).item():.6f}")
        0.313262
    """

    function = staticmethod(F.clip_loss)
    logit_scale: Tensor

    def __init__(
        self, logit_scale: float | Tensor = CLIP_INIT_LOGIT_SCALE, *, learnable: bool = True, **options: Any
    ) -> None:
        super().__init__(**options)
        fn = "ClipLoss"
        if not isinstance(learnable, bool):
            raise TypeError(f"{fn}: learnable must be a bool, got {type(learnable).__name__}")
        if isinstance(logit_scale, Tensor):
            checks.check_float(fn, "logit_scale", logit_scale)
            if logit_scale.numel() != 1:
                raise ValueError(
                    f"{fn}: logit_scale must be a number or a one-element tensor, got shape "
                    f"{checks.fmt_shape(logit_scale.shape)}"
                )
            init = logit_scale.detach().clone().reshape(())
        else:
            value = checks.check_number(fn, "logit_scale", logit_scale)
            if math.isinf(value):
                raise ValueError(f"{fn}: logit_scale must be finite, got {logit_scale!r}")
            init = torch.tensor(value)
        if learnable:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("logit_scale", init)
        self.learnable = learnable

    @property
    def scale(self) -> Tensor:
        """The effective inverse temperature ``min(exp(logit_scale), 100)`` (detached, for logging)."""
        return torch.exp(self.logit_scale.detach()).clamp(max=100.0)

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """``clip_loss(image_embeds, text_embeds, logit_scale=self.logit_scale, **options)``."""
        return type(self).function(*args, **{**self.options, "logit_scale": self.logit_scale, **kwargs})

    def extra_repr(self) -> str:
        """The scale, whether it is learnable, and the other options."""
        rest = super().extra_repr()
        head = f"logit_scale={float(self.logit_scale.detach()):.4g}, learnable={self.learnable}"
        return head + (", " + rest if rest else "")
