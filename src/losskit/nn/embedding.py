"""Modules of the embedding family; each holds options and calls its function.

:class:`ClipLoss` and :class:`SigLIPLoss` are the Modules in losskit whose options are trainable: they own
the log-parametrised logit scale (and SigLIP's bias) as ``nn.Parameter`` (optimised with the encoders),
or as buffers when ``learnable=False``. ``forward`` still never changes them; the optimizer does.
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
# SigLIP initialises t' = ln 10 and b = -10 (Zhai et al. 2023, Sec. 3.3)
SIGLIP_INIT_LOGIT_SCALE = math.log(10.0)
SIGLIP_INIT_LOGIT_BIAS = -10.0

__all__ = [
    "ClipLoss",
    "ContrastiveLoss",
    "InfoNCELoss",
    "NTXentLoss",
    "SigLIPLoss",
    "SupervisedContrastiveLoss",
    "TripletLoss",
]


def _initial_scalar(fn: str, name: str, value: float | Tensor) -> Tensor:
    """A 0-d copy of a float or one-element float tensor given to a Module's constructor."""
    if isinstance(value, Tensor):
        checks.check_float(fn, name, value)
        if value.numel() != 1:
            raise ValueError(
                f"{fn}: {name} must be a number or a one-element tensor, got shape "
                f"{checks.fmt_shape(value.shape)}"
            )
        return value.detach().clone().reshape(())
    v = checks.check_number(fn, name, value)
    if math.isinf(v):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return torch.tensor(v)


def _hold(module: nn.Module, name: str, init: Tensor, learnable: bool) -> None:
    """Register ``init`` as a parameter (learnable) or a buffer (fixed) named ``name``."""
    if learnable:
        module.register_parameter(name, nn.Parameter(init))
    else:
        module.register_buffer(name, init)


@register("contrastive", "hadsell", family="embedding")
class ContrastiveLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.contrastive_loss`; ``forward(x1, x2, target)``."""

    function = staticmethod(F.contrastive_loss)


@register("triplet", "triplet_margin", family="embedding")
class TripletLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.triplet_loss`; ``forward(anchor, positive, negative)``."""

    function = staticmethod(F.triplet_loss)
    positional = ("margin", "p")  # as torch.nn's Module of the same role


@register("info_nce", family="embedding")
class InfoNCELoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.info_nce_loss`; ``forward(query, key, negatives=None)``."""

    function = staticmethod(F.info_nce_loss)


@register("nt_xent", "simclr", family="embedding")
class NTXentLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.nt_xent_loss`; ``forward(z1, z2)``."""

    function = staticmethod(F.nt_xent_loss)


@register("supervised_contrastive", "supcon", family="embedding")
class SupervisedContrastiveLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.supervised_contrastive_loss`; ``forward(features, labels)``.

    Registered as ``"supervised_contrastive"`` and ``"supcon"``.
    """

    function = staticmethod(F.supervised_contrastive_loss)


@register("clip", family="embedding")
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
        checks.check_flag(fn, "learnable", learnable)
        _hold(self, "logit_scale", _initial_scalar(fn, "logit_scale", logit_scale), learnable)
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


@register("siglip", family="embedding")
class SigLIPLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.siglip_loss` that owns the logit scale and bias.

    Args:
        logit_scale: initial :math:`t'`, the **log** of the scale. Default ``ln 10`` (the paper's).
        logit_bias: initial :math:`b`. Default ``-10`` (the paper's).
        learnable: hold both as ``nn.Parameter`` (default; trained with the encoders) or, with ``False``,
            as fixed buffers.
        **options: the other keyword options of :func:`losskit.functional.siglip_loss` (``weight``,
            ``reduction``, ``process_group``).

    Like :class:`ClipLoss`, the trainable values are created in the default float dtype and convert with
    ``.double()`` / ``.to()``. With DistributedDataParallel, make this module part of the wrapped model
    (as open_clip keeps ``logit_scale`` and ``logit_bias`` in the model) so their gradients are averaged.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.SigLIPLoss()
        >>> [name for name, _ in crit.named_parameters()]
        ['logit_scale', 'logit_bias']
        >>> u = torch.eye(2)
        >>> print(f"{crit(u, u.clone()).item():.6f}")
        0.693193
    """

    function = staticmethod(F.siglip_loss)
    logit_scale: Tensor
    logit_bias: Tensor

    def __init__(
        self,
        logit_scale: float | Tensor = SIGLIP_INIT_LOGIT_SCALE,
        logit_bias: float | Tensor = SIGLIP_INIT_LOGIT_BIAS,
        *,
        learnable: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        fn = "SigLIPLoss"
        checks.check_flag(fn, "learnable", learnable)
        _hold(self, "logit_scale", _initial_scalar(fn, "logit_scale", logit_scale), learnable)
        _hold(self, "logit_bias", _initial_scalar(fn, "logit_bias", logit_bias), learnable)
        self.learnable = learnable

    @property
    def scale(self) -> Tensor:
        """The effective scale ``exp(logit_scale)`` (detached, for logging)."""
        return torch.exp(self.logit_scale.detach())

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """``siglip_loss(image_embeds, text_embeds, logit_scale=..., logit_bias=..., **options)``."""
        held = {"logit_scale": self.logit_scale, "logit_bias": self.logit_bias}
        return type(self).function(*args, **{**self.options, **held, **kwargs})

    def extra_repr(self) -> str:
        """The scale, the bias, whether they are learnable, and the other options."""
        rest = super().extra_repr()
        head = (
            f"logit_scale={float(self.logit_scale.detach()):.4g}, "
            f"logit_bias={float(self.logit_bias.detach()):.4g}, learnable={self.learnable}"
        )
        return head + (", " + rest if rest else "")


@register("cosine_embedding", family="embedding")
class CosineEmbeddingLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.cosine_embedding_loss`; ``forward(x1, x2, target)``."""

    function = staticmethod(F.cosine_embedding_loss)


@register("margin_ranking", family="embedding")
class MarginRankingLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.margin_ranking_loss`; ``forward(x1, x2, target)``."""

    function = staticmethod(F.margin_ranking_loss)


@register("hinge_embedding", family="embedding")
class HingeEmbeddingLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.hinge_embedding_loss`; ``forward(input, target)``."""

    function = staticmethod(F.hinge_embedding_loss)


__all__ += ["CosineEmbeddingLoss", "HingeEmbeddingLoss", "MarginRankingLoss"]


@register("center", "center_loss", family="embedding")
class CenterLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.center_loss` that owns the class centres.

    Args:
        num_classes: K, the number of classes (with ``feat_dim``; ignored when ``centers`` is given).
        feat_dim: D, the feature size.
        centers: optional initial centres ``(K, D)``; default a standard-normal ``(K, D)`` draw (from
            torch's global generator, as ``nn.Linear`` does for its weights).
        **options: ``weight`` and ``reduction`` of :func:`losskit.functional.center_loss`.

    The centres are an ``nn.Parameter`` (in ``parameters()``, trained with the network; give them their
    own parameter group to use the paper's separate rate α). ``forward(features, labels)``.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.CenterLoss(10, 2)
        >>> [(name, tuple(p.shape)) for name, p in crit.named_parameters()]
        [('centers', (10, 2))]
        >>> crit = losskit.CenterLoss(centers=torch.zeros(3, 2))
        >>> print(f"{crit(torch.tensor([[3.0, 4.0]]), torch.tensor([1])).item():.1f}")
        12.5
    """

    function = staticmethod(F.center_loss)
    centers: Tensor

    def __init__(
        self,
        num_classes: int | None = None,
        feat_dim: int | None = None,
        *,
        centers: Tensor | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        fn = "CenterLoss"
        if centers is not None:
            checks.check_float(fn, "centers", centers)
            if centers.dim() != 2:
                shape = checks.fmt_shape(centers.shape)
                raise ValueError(f"{fn}: centers must have shape (K, D), got {shape}")
            init = centers.detach().clone()
        else:
            for name, v in (("num_classes", num_classes), ("feat_dim", feat_dim)):
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise TypeError(f"{fn}: {name} must be a positive int (or pass centers=), got {v!r}")
            assert num_classes is not None and feat_dim is not None
            init = torch.randn(num_classes, feat_dim)
        self.centers = nn.Parameter(init)

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """``center_loss(features, labels, centers=self.centers, **options)``."""
        return type(self).function(*args, **{**self.options, "centers": self.centers, **kwargs})

    def extra_repr(self) -> str:
        """The centres' shape and the other options."""
        rest = super().extra_repr()
        head = f"num_classes={self.centers.shape[0]}, feat_dim={self.centers.shape[1]}"
        return head + (", " + rest if rest else "")


__all__ += ["CenterLoss"]
