"""Modules of the language-model family (distillation and preference losses); each calls its function.

The preference Modules take the same positional tensors as their functions (``DPOLoss()(policy_chosen_logps,
policy_rejected_logps, reference_chosen_logps, reference_rejected_logps)``).
"""

from __future__ import annotations

from losskit.functional import language_model as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "DPOLoss",
    "DistillationKLLoss",
    "JSDLoss",
    "KTOLoss",
    "ORPOLoss",
    "SimPOLoss",
]


@register("distillation_kl", "kd", "knowledge_distillation", family="language_model")
class DistillationKLLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.distillation_kl_loss` (also ``losskit.get("kd")``)."""

    function = staticmethod(F.distillation_kl_loss)


@register("jsd", "generalized_jsd", "gkd", family="language_model")
class JSDLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.jsd_loss`."""

    function = staticmethod(F.jsd_loss)


@register("dpo", family="language_model")
class DPOLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.dpo_loss` (``loss_type="ipo"`` for IPO)."""

    function = staticmethod(F.dpo_loss)


@register("simpo", family="language_model")
class SimPOLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.simpo_loss`."""

    function = staticmethod(F.simpo_loss)


@register("orpo", family="language_model")
class ORPOLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.orpo_loss`."""

    function = staticmethod(F.orpo_loss)


@register("kto", family="language_model")
class KTOLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.kto_loss`."""

    function = staticmethod(F.kto_loss)
