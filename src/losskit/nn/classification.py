"""Modules of the classification family; each holds options and calls its function."""

from __future__ import annotations

from losskit.functional import classification as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "BalancedCrossEntropyLoss",
    "BinaryCrossEntropyLoss",
    "BrierScoreLoss",
    "CTCLoss",
    "CrossEntropyLoss",
    "DistributionFocalLoss",
    "EntropyLoss",
    "ExponentialLoss",
    "HingeLoss",
    "KLDivergenceLoss",
    "MulticlassHingeLoss",
    "PerceptronLoss",
    "QualityFocalLoss",
    "SigmoidFocalLoss",
    "SoftmaxFocalLoss",
    "VarifocalLoss",
    "ZeroOneLoss",
]


@register("cross_entropy", "ce", "nll", family="classification")
class CrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.cross_entropy`; options are its keywords."""

    function = staticmethod(F.cross_entropy)
    positional = ("weight",)  # as torch.nn's Module of the same role


@register("binary_cross_entropy", "bce", family="classification")
class BinaryCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.binary_cross_entropy`."""

    function = staticmethod(F.binary_cross_entropy)
    positional = ("weight",)  # as torch.nn's Module of the same role


@register("balanced_cross_entropy", "balanced_ce", family="classification")
class BalancedCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.balanced_cross_entropy`."""

    function = staticmethod(F.balanced_cross_entropy)


@register("sigmoid_focal", "focal", family="classification")
class SigmoidFocalLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.sigmoid_focal_loss` (``losskit.get("focal")``)."""

    function = staticmethod(F.sigmoid_focal_loss)


@register("softmax_focal", family="classification")
class SoftmaxFocalLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.softmax_focal_loss`."""

    function = staticmethod(F.softmax_focal_loss)


@register("quality_focal", "qfl", family="classification")
class QualityFocalLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.quality_focal_loss`."""

    function = staticmethod(F.quality_focal_loss)


@register("distribution_focal", "dfl", family="classification")
class DistributionFocalLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.distribution_focal_loss`."""

    function = staticmethod(F.distribution_focal_loss)


@register("varifocal", "vfl", family="classification")
class VarifocalLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.varifocal_loss`."""

    function = staticmethod(F.varifocal_loss)


@register("kl_divergence", "kl", family="classification")
class KLDivergenceLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.kl_divergence`."""

    function = staticmethod(F.kl_divergence)


@register("entropy", family="classification")
class EntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.entropy` (``forward(input)``: it has no target)."""

    function = staticmethod(F.entropy)


@register("brier_score", "brier", family="classification")
class BrierScoreLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.brier_score`."""

    function = staticmethod(F.brier_score)


@register("hinge", family="classification")
class HingeLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.hinge_loss`."""

    function = staticmethod(F.hinge_loss)


@register("multiclass_hinge", family="classification")
class MulticlassHingeLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.multiclass_hinge_loss`."""

    function = staticmethod(F.multiclass_hinge_loss)


@register("perceptron", family="classification")
class PerceptronLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.perceptron_loss`."""

    function = staticmethod(F.perceptron_loss)


@register("exponential", family="classification")
class ExponentialLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.exponential_loss`."""

    function = staticmethod(F.exponential_loss)


@register("zero_one", family="classification")
class ZeroOneLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.zero_one_loss` (a metric: no gradient)."""

    function = staticmethod(F.zero_one_loss)


@register("ctc", family="classification")
class CTCLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.ctc_loss`.

    ``forward(input, target, input_lengths, target_lengths)``.
    """

    function = staticmethod(F.ctc_loss)
    positional = ("blank",)  # as torch.nn's Module of the same role


@register("multilabel_soft_margin", family="classification")
class MultilabelSoftMarginLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.multilabel_soft_margin_loss`; ``class_weight`` is a buffer."""

    function = staticmethod(F.multilabel_soft_margin_loss)


__all__ += ["MultilabelSoftMarginLoss"]


@register("ohem_cross_entropy", "ohem", "topk_cross_entropy", family="classification")
class OhemCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.ohem_cross_entropy` (OHEM or nnU-Net's top-k %)."""

    function = staticmethod(F.ohem_cross_entropy)


__all__ += ["OhemCrossEntropyLoss"]
