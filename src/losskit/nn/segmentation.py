"""Modules of the segmentation family; each holds options and calls its function.

Combined objectives are built by composition, never by a class that re-declares options::

    criterion = DiceLoss(include_background=False) + CrossEntropyLoss()   # MONAI's DiceCELoss
"""

from __future__ import annotations

from losskit.functional import segmentation as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "DiceLoss",
    "FocalTverskyLoss",
    "GeneralizedDiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "TverskyLoss",
]


@register("dice", family="segmentation")
class DiceLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.dice_loss`; options are its keywords."""

    function = staticmethod(F.dice_loss)


@register("generalized_dice", "gdl", family="segmentation")
class GeneralizedDiceLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.generalized_dice_loss`."""

    function = staticmethod(F.generalized_dice_loss)


@register("tversky", family="segmentation")
class TverskyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.tversky_loss` (``alpha`` weights FP, ``beta`` FN)."""

    function = staticmethod(F.tversky_loss)


@register("focal_tversky", family="segmentation")
class FocalTverskyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.focal_tversky_loss`."""

    function = staticmethod(F.focal_tversky_loss)


@register("jaccard", "soft_jaccard", "soft_iou", family="segmentation")
class JaccardLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.jaccard_loss`."""

    function = staticmethod(F.jaccard_loss)


@register("lovasz", "lovasz_hinge", "lovasz_softmax", family="segmentation")
class LovaszLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.lovasz_loss`."""

    function = staticmethod(F.lovasz_loss)


@register("mcc", "matthews", family="segmentation")
class MCCLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.mcc_loss`; options are its keywords."""

    function = staticmethod(F.mcc_loss)


__all__ += ["MCCLoss"]
