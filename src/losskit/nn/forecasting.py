"""Modules of the probabilistic forecasting family; each holds options and calls its function.

Distribution parameters that a network predicts (``scale``, ``df``, ``total_count``) are passed at call
time: ``StudentTNLLLoss()(mu, y, df=nu, log_scale=s)`` (call-time keywords override stored ones).
"""

from __future__ import annotations

from losskit.functional import forecasting as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "CRPSEnsembleLoss",
    "CRPSGaussianLoss",
    "MAPELoss",
    "MASELoss",
    "NegativeBinomialNLLLoss",
    "SMAPELoss",
    "StudentTNLLLoss",
    "TweedieLoss",
]


@register("tweedie", family="forecasting")
class TweedieLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.tweedie_loss` (options ``power``, ``form``)."""

    function = staticmethod(F.tweedie_loss)


@register("negative_binomial_nll", "nb_nll", "negative_binomial", family="forecasting")
class NegativeBinomialNLLLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.negative_binomial_nll_loss` (option ``total_count``)."""

    function = staticmethod(F.negative_binomial_nll_loss)


@register("student_t_nll", "student_t", family="forecasting")
class StudentTNLLLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.student_t_nll_loss`; pass ``df`` and the scale at call."""

    function = staticmethod(F.student_t_nll_loss)


@register("crps_gaussian", family="forecasting")
class CRPSGaussianLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.crps_gaussian_loss`; pass ``scale=``/``log_scale=``."""

    function = staticmethod(F.crps_gaussian_loss)


@register("crps_ensemble", "crps", family="forecasting")
class CRPSEnsembleLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.crps_ensemble_loss` (option ``fair``)."""

    function = staticmethod(F.crps_ensemble_loss)


@register("mape", family="forecasting")
class MAPELoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.mape_loss`."""

    function = staticmethod(F.mape_loss)


@register("smape", family="forecasting")
class SMAPELoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.smape_loss`."""

    function = staticmethod(F.smape_loss)


@register("mase", family="forecasting")
class MASELoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.mase_loss`; pass ``history=`` or ``scale=`` at call time."""

    function = staticmethod(F.mase_loss)
