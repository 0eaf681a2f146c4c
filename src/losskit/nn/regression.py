"""Modules of the regression family; each holds options and calls its function."""

from __future__ import annotations

from losskit.functional import regression as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = [
    "GaussianNLLLoss",
    "HuberLoss",
    "L1Loss",
    "LaplaceNLLLoss",
    "LogCoshLoss",
    "MSELoss",
    "QuantileLoss",
    "SmoothL1Loss",
]


@register("l1", "mae", family="regression")
class L1Loss(FunctionalLoss):
    """Module form of :func:`losskit.functional.l1_loss`; options are its keywords."""

    function = staticmethod(F.l1_loss)


@register("mse", family="regression")
class MSELoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.mse_loss`."""

    function = staticmethod(F.mse_loss)


@register("smooth_l1", family="regression")
class SmoothL1Loss(FunctionalLoss):
    """Module form of :func:`losskit.functional.smooth_l1_loss` (option ``beta``)."""

    function = staticmethod(F.smooth_l1_loss)


@register("huber", family="regression")
class HuberLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.huber_loss` (option ``delta``)."""

    function = staticmethod(F.huber_loss)


@register("quantile", "pinball", family="regression")
class QuantileLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.quantile_loss` (option ``quantiles``)."""

    function = staticmethod(F.quantile_loss)


@register("log_cosh", "logcosh", family="regression")
class LogCoshLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.log_cosh_loss`."""

    function = staticmethod(F.log_cosh_loss)


@register("gaussian_nll", family="regression")
class GaussianNLLLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.gaussian_nll_loss`.

    The variance is usually predicted, so pass it at call time: ``GaussianNLLLoss()(mu, y, log_var=s)``
    (call-time keywords override stored ones).
    """

    function = staticmethod(F.gaussian_nll_loss)


@register("laplace_nll", family="regression")
class LaplaceNLLLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.laplace_nll_loss`; pass ``scale=``/``log_scale=`` at call."""

    function = staticmethod(F.laplace_nll_loss)


@register("poisson_nll", "poisson", family="regression")
class PoissonNLLLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.poisson_nll_loss`."""

    function = staticmethod(F.poisson_nll_loss)


__all__ += ["PoissonNLLLoss"]
