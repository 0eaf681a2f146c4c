"""Modules of the robust regression family; ``BarronLoss`` learns its shape and scale."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from losskit._core import checks
from losskit.functional import robust as F
from losskit.nn.base import FunctionalLoss, Loss
from losskit.registry import register

__all__ = ["BarronLoss", "CauchyLoss", "CharbonnierLoss", "WelschLoss"]


@register("charbonnier", "pseudo_huber_eps", family="robust")
class CharbonnierLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.charbonnier_loss` (option ``eps``)."""

    function = staticmethod(F.charbonnier_loss)


@register("cauchy", "lorentzian", family="robust")
class CauchyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.cauchy_loss` (option ``scale``)."""

    function = staticmethod(F.cauchy_loss)


@register("welsch", "leclerc", family="robust")
class WelschLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.welsch_loss` (option ``scale``)."""

    function = staticmethod(F.welsch_loss)


def _inv_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


@register("barron", "general_robust", "adaptive_robust", family="robust")
class BarronLoss(Loss):
    r"""Barron's adaptive robust loss: :func:`losskit.functional.barron_loss` with a learnable α and scale.

    α and c are ``nn.Parameter`` s through the paper's latent parametrisation, so any real value of the
    latent keeps them in range:

    .. math::
        \alpha = \alpha_{lo} + (\alpha_{hi} - \alpha_{lo})\,\sigma(\ell_\alpha), \qquad
        c = c_{lo} + \operatorname{softplus}(\ell_c)

    When either is learned the forward pass returns the negative log-likelihood
    ``barron_loss(..., nll=True)`` = ρ + log c + log Z(α): minimising ρ alone would push α to its lower
    bound and c to infinity. With both fixed it returns plain ρ, equal to the function. Put the Module's
    parameters in the optimizer with the model's (``optim.Adam([*model.parameters(), *loss.parameters()])``).

    Args:
        alpha: initial α (or the fixed α when ``learn_alpha=False``). Default: the middle of
            ``alpha_range`` when learned (1.0 with the default range), else 1.0.
        scale: initial c (or the fixed c). Default 1.0.
        learn_alpha: make α a parameter. Default True.
        learn_scale: make c a parameter. Default True.
        alpha_range: the open interval (α_lo, α_hi) a learned α stays in, with 0 <= α_lo < α_hi.
            Default (0.001, 1.999), the paper's: between Cauchy and L2.
        scale_min: c_lo > 0, the smallest learned scale. Default 1e-5.
        num_features: None for one α and c for every element, or D for one per feature (the input's
            last dimension has size D), as the paper's per-coefficient adaptive loss.
        reduction: {reduction}

    Example:
        >>> import torch, losskit
        >>> crit = losskit.BarronLoss()
        >>> round(float(crit.alpha), 6), round(float(crit.scale), 6)
        (1.0, 1.0)
        >>> x = torch.tensor([0.5, -2.0, 10.0])
        >>> crit(x, torch.zeros(3)).backward()
        >>> sorted(n for n, p in crit.named_parameters() if p.grad is not None)
        ['latent_alpha', 'latent_scale']
    """

    function: ClassVar[Any] = staticmethod(F.barron_loss)
    fixed_alpha: Tensor
    fixed_scale: Tensor

    def __init__(
        self,
        alpha: float | None = None,
        scale: float = 1.0,
        *,
        learn_alpha: bool = True,
        learn_scale: bool = True,
        alpha_range: tuple[float, float] = (0.001, 1.999),
        scale_min: float = 1e-5,
        num_features: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        name = "BarronLoss"
        checks.check_reduction(name, reduction)
        checks.check_flag(name, "learn_alpha", learn_alpha)
        checks.check_flag(name, "learn_scale", learn_scale)
        if not (isinstance(alpha_range, (tuple, list)) and len(alpha_range) == 2):
            raise TypeError(f"{name}: alpha_range must be a pair (lo, hi), got {alpha_range!r}")
        lo = checks.check_number(
            name, "alpha_range[0]", alpha_range[0], low=0.0, high=math.inf, high_open=True
        )
        hi = checks.check_number(
            name, "alpha_range[1]", alpha_range[1], low=lo, low_open=True, high=math.inf, high_open=True
        )
        c_lo = checks.check_number(name, "scale_min", scale_min, low=0.0, low_open=True)
        if num_features is not None and (
            isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1
        ):
            raise ValueError(f"{name}: num_features must be None or a positive int, got {num_features!r}")
        shape = () if num_features is None else (num_features,)
        self.reduction = reduction
        self.learn_alpha, self.learn_scale = learn_alpha, learn_scale
        self.alpha_range, self.scale_min = (lo, hi), c_lo
        if learn_alpha:
            a0 = (
                0.5 * (lo + hi)
                if alpha is None
                else checks.check_number(name, "alpha", alpha, low=lo, high=hi, low_open=True, high_open=True)
            )
            u = (a0 - lo) / (hi - lo)
            self.latent_alpha = nn.Parameter(torch.full(shape, math.log(u) - math.log1p(-u)))
        else:
            a0 = 1.0 if alpha is None else checks.check_number(name, "alpha", alpha)
            self.register_buffer("fixed_alpha", torch.full(shape, a0))
        if learn_scale:
            c0 = checks.check_number(
                name, "scale", scale, low=c_lo, low_open=True, high=math.inf, high_open=True
            )
            self.latent_scale = nn.Parameter(torch.full(shape, _inv_softplus(c0 - c_lo)))
        else:
            c0 = checks.check_number(
                name, "scale", scale, low=0.0, low_open=True, high=math.inf, high_open=True
            )
            self.register_buffer("fixed_scale", torch.full(shape, c0))

    @property
    def alpha(self) -> Tensor:
        """The current shape α (a 0-d or ``(num_features,)`` tensor)."""
        if self.learn_alpha:
            lo, hi = self.alpha_range
            return lo + (hi - lo) * torch.sigmoid(self.latent_alpha)
        return self.fixed_alpha

    @property
    def scale(self) -> Tensor:
        """The current scale c."""
        if self.learn_scale:
            return self.scale_min + nn.functional.softplus(self.latent_scale)
        return self.fixed_scale

    def forward(
        self,
        input: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        *,
        normalizer: float | Tensor | None = None,
        process_group: Any = None,
    ) -> Tensor:
        """The NLL when α or c is learned, else ρ (see the class docstring).

        ``normalizer`` and ``process_group`` are per call, as in :func:`losskit.functional.barron_loss`;
        across ranks keep the Module inside the DDP-wrapped model so that α's and c's gradients are averaged.
        """
        nll = self.learn_alpha or self.learn_scale
        return F.barron_loss(
            input,
            target,
            alpha=self.alpha,
            scale=self.scale,
            nll=nll,
            weight=weight,
            reduction=self.reduction,
            normalizer=normalizer,
            process_group=process_group,
        )

    def extra_repr(self) -> str:
        """Learned or fixed, and the range."""
        return (
            f"learn_alpha={self.learn_alpha}, learn_scale={self.learn_scale}, "
            f"alpha_range={self.alpha_range}, reduction={self.reduction!r}"
        )
