"""Modules of the boxes family; each holds options and calls its :mod:`losskit.functional.boxes` function."""

from __future__ import annotations

from losskit.functional import boxes as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "AlphaIoULoss",
    "CDIoULoss",
    "CIoULoss",
    "DIoULoss",
    "EIoULoss",
    "FocalEIoULoss",
    "GIoULoss",
    "IoULoss",
    "SIoULoss",
]


@register("iou", "unitbox", family="boxes")
class IoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.iou_loss` (``mode``, ``smooth``, ``box_format``, ...)."""

    function = staticmethod(F.iou_loss)


@register("giou", family="boxes")
class GIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.giou_loss`."""

    function = staticmethod(F.giou_loss)


@register("diou", family="boxes")
class DIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.diou_loss`."""

    function = staticmethod(F.diou_loss)


@register("ciou", family="boxes")
class CIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.ciou_loss` (``alpha_rule="aaai"|"tcyb"``)."""

    function = staticmethod(F.ciou_loss)


@register("eiou", family="boxes")
class EIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.eiou_loss`."""

    function = staticmethod(F.eiou_loss)


@register("focal_eiou", family="boxes")
class FocalEIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.focal_eiou_loss` (normalised over each call's boxes)."""

    function = staticmethod(F.focal_eiou_loss)


@register("cdiou", family="boxes")
class CDIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.cdiou_loss`."""

    function = staticmethod(F.cdiou_loss)


@register("siou", family="boxes")
class SIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.siou_loss`."""

    function = staticmethod(F.siou_loss)


@register("alpha_iou", family="boxes")
class AlphaIoULoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.alpha_iou_loss` (``alpha``, ``kind``)."""

    function = staticmethod(F.alpha_iou_loss)
