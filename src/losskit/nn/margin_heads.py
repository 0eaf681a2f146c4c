"""Modules of the margin-head family; the heads and Proxy-Anchor own their class centres / proxies.

:class:`ArcFaceLoss`, :class:`CosFaceLoss`, :class:`SphereFaceLoss` and :class:`ProxyAnchorLoss` hold a
``(num_classes, embedding_size)`` matrix (``(num_classes · sub_centers, embedding_size)`` for sub-centre
ArcFace) as an ``nn.Parameter`` named ``weight`` (``proxies`` for Proxy-Anchor), trained with the network
(put the loss's parameters in the optimizer). ``forward(embeddings, labels)``; ``forward`` never changes
the parameter, the optimizer does. Options are validated once, in ``__init__``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from losskit.functional import margin_heads as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "ArcFaceLoss",
    "CircleLoss",
    "CosFaceLoss",
    "MultiSimilarityLoss",
    "ProxyAnchorLoss",
    "SphereFaceLoss",
]


def _size(fn: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{fn}: {name} must be a positive int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{fn}: {name} must be a positive int, got {value}")
    return value


def _given(**options: Any) -> dict[str, Any]:
    """The options that are not None (the function's defaults stay implicit)."""
    return {k: v for k, v in options.items() if v is not None}


class _OwnsCentres(FunctionalLoss):
    """A loss whose function takes ``(embeddings, <centres>, labels)``, holding the centres itself."""

    _param = "weight"

    # each subclass spells out its constructor (sizes, then the function's options by keyword), so
    # FunctionalLoss generates none; this shared one builds the parameter and validates the options
    def __init__(self, num_classes: int, embedding_size: int, **options: Any) -> None:
        super().__init__(**options)
        fn = type(self).__name__
        c = _size(fn, "num_classes", num_classes)
        d = _size(fn, "embedding_size", embedding_size)
        k = options.get("sub_centers", 1)
        rows = c * k if isinstance(k, int) and not isinstance(k, bool) and k >= 1 else c  # else: error below
        self.num_classes, self.embedding_size = c, d
        # standard normal rows (torch's global generator, as CenterLoss); the losses normalise them
        self.register_parameter(self._param, nn.Parameter(torch.randn(rows, d)))
        # validate every option now, on an empty batch, rather than at the first forward
        with torch.no_grad():
            empty = torch.zeros(0, dtype=torch.long)
            # (locally: a process group is for the calls, not a collective at construction)
            opts = dict(self.options)
            if "process_group" in opts:
                opts["process_group"] = None
            type(self).function(torch.zeros(0, d), getattr(self, self._param), empty, **opts)

    def forward(self, embeddings: Tensor, labels: Tensor, **kwargs: Any) -> Tensor:
        """The loss of ``embeddings`` against the held centres (call-time keywords override options)."""
        centres = getattr(self, self._param)
        return type(self).function(embeddings, centres, labels, **{**self.options, **kwargs})

    def extra_repr(self) -> str:
        """Sizes, then the options."""
        rest = super().extra_repr()
        head = f"num_classes={self.num_classes}, embedding_size={self.embedding_size}"
        return head + (", " + rest if rest else "")


@register("arcface", "subcenter_arcface", "additive_angular_margin", family="margin_heads")
class ArcFaceLoss(_OwnsCentres):
    """:func:`losskit.functional.arcface_loss` with the class centres as an ``nn.Parameter`` ``weight``.

    Args:
        num_classes: C.
        embedding_size: D.
        scale: s > 0. Default 64.
        margin: m in radians, ``0 <= m < π``. Default 0.5.
        sub_centers: K >= 1; ``weight`` is then ``(C·K, D)``. Default 1.
        easy_margin: the margin only on positive cosines. Default False.
        reduction: {reduction}
        normalizer: {normalizer_module}
        process_group: {process_group_module}

    ``sample_weight`` is given at call time: ``loss(embeddings, labels, sample_weight=w)``; any option
    passed to the call overrides the stored one.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.ArcFaceLoss(10, 4, sub_centers=3)
        >>> [(name, tuple(p.shape)) for name, p in crit.named_parameters()]
        [('weight', (30, 4))]
        >>> crit(torch.randn(8, 4), torch.randint(0, 10, (8,))).shape
        torch.Size([])
    """

    function = staticmethod(F.arcface_loss)

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        scale: float = 64.0,
        margin: float = 0.5,
        sub_centers: int = 1,
        easy_margin: bool = False,
        reduction: str = "mean",
        normalizer: float | Tensor | None = None,
        process_group: Any = None,
    ) -> None:
        super().__init__(
            num_classes,
            embedding_size,
            scale=scale,
            margin=margin,
            sub_centers=sub_centers,
            easy_margin=easy_margin,
            reduction=reduction,
            **_given(normalizer=normalizer, process_group=process_group),
        )


@register("cosface", "am_softmax", "large_margin_cosine", family="margin_heads")
class CosFaceLoss(_OwnsCentres):
    """:func:`losskit.functional.cosface_loss` with the class centres as an ``nn.Parameter`` ``weight``.

    Args:
        num_classes: C.
        embedding_size: D.
        scale: s > 0. Default 64.
        margin: m >= 0 in cosine units. Default 0.35.
        reduction: {reduction}
        normalizer: {normalizer_module}
        process_group: {process_group_module}

    ``sample_weight`` is given at call time.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.CosFaceLoss(3, 2, scale=30.0)
        >>> with torch.no_grad():
        ...     _ = crit.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
        >>> loss = crit(torch.tensor([[5.0, 0.0]]), torch.tensor([0]))  # log(1 + e^-19.5 + e^-49.5)
        >>> print(f"{loss.item():.3e}")
        3.398e-09
    """

    function = staticmethod(F.cosface_loss)

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        scale: float = 64.0,
        margin: float = 0.35,
        reduction: str = "mean",
        normalizer: float | Tensor | None = None,
        process_group: Any = None,
    ) -> None:
        super().__init__(
            num_classes,
            embedding_size,
            scale=scale,
            margin=margin,
            reduction=reduction,
            **_given(normalizer=normalizer, process_group=process_group),
        )


@register("sphereface", "a_softmax", "angular_softmax", family="margin_heads")
class SphereFaceLoss(_OwnsCentres):
    """:func:`losskit.functional.sphereface_loss` with the class centres as an ``nn.Parameter`` ``weight``.

    Args:
        num_classes: C.
        embedding_size: D.
        margin: the integer angle multiplier m >= 1. Default 4.
        scale: s > 0 multiplying every logit. Default 1.
        blend: λ >= 0. Default 0. To anneal it, pass ``blend=`` at call time (it overrides this one).
        reduction: {reduction}
        normalizer: {normalizer_module}
        process_group: {process_group_module}

    ``sample_weight`` is given at call time.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.SphereFaceLoss(5, 3)
        >>> loss = crit(torch.randn(4, 3), torch.tensor([0, 1, 2, 4]), blend=5.0)
        >>> loss.backward()
        >>> crit.weight.grad.shape
        torch.Size([5, 3])
    """

    function = staticmethod(F.sphereface_loss)

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        margin: int = 4,
        scale: float = 1.0,
        blend: float = 0.0,
        reduction: str = "mean",
        normalizer: float | Tensor | None = None,
        process_group: Any = None,
    ) -> None:
        super().__init__(
            num_classes,
            embedding_size,
            margin=margin,
            scale=scale,
            blend=blend,
            reduction=reduction,
            **_given(normalizer=normalizer, process_group=process_group),
        )


@register("proxy_anchor", family="margin_heads")
class ProxyAnchorLoss(_OwnsCentres):
    """:func:`losskit.functional.proxy_anchor_loss` with the proxies as an ``nn.Parameter`` ``proxies``.

    Args:
        num_classes: C, one proxy per class.
        embedding_size: D.
        alpha: the scale α > 0. Default 32.
        delta: the margin δ. Default 0.1.
        weight: optional per-class weight ``(C,)``, kept as a buffer.
        reduction: ``"none"`` (per proxy), ``"mean"`` (the paper's) or ``"sum"``.
        normalizer: {normalizer_module}
        process_group: {process_group_module}

    The paper trains the proxies with a learning rate 100 times the network's: give ``loss.parameters()``
    their own parameter group.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.ProxyAnchorLoss(100, 64)
        >>> [(name, tuple(p.shape)) for name, p in crit.named_parameters()]
        [('proxies', (100, 64))]
    """

    function = staticmethod(F.proxy_anchor_loss)
    _param = "proxies"

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        alpha: float = 32.0,
        delta: float = 0.1,
        weight: Tensor | None = None,
        reduction: str = "mean",
        normalizer: float | Tensor | None = None,
        process_group: Any = None,
    ) -> None:
        extra = _given(weight=weight, normalizer=normalizer, process_group=process_group)
        super().__init__(num_classes, embedding_size, alpha=alpha, delta=delta, reduction=reduction, **extra)


@register("multi_similarity", "ms", family="margin_heads")
class MultiSimilarityLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.multi_similarity_loss`; ``forward(embeddings, labels)``."""

    function = staticmethod(F.multi_similarity_loss)


@register("circle", family="margin_heads")
class CircleLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.circle_loss`; ``forward(embeddings, labels)``."""

    function = staticmethod(F.circle_loss)
