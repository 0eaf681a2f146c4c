"""The objective: cost plus parameter penalties (SPEC §2.2, note 003's loss → cost → objective)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from torch import Tensor

from losskit._core import checks
from losskit._core.checks import fmt_shape
from losskit.functional.regularization import _tensors, l1_penalty, l2_penalty
from losskit.nn.base import Loss

__all__ = ["Objective"]


class Objective(Loss):
    r"""Cost plus structural risk: ``criterion(*args) + l1 · Σ|θ| + l2 · Σθ²``.

    .. math::
        J(θ) = \underbrace{\frac1N \sum_i L(y_i, f(x_i; θ))}_{\text{cost}}
               + λ_1 \sum_j |θ_j| + λ_2 \sum_j θ_j^2

    The criterion (any loss Module or function that returns a reduced, 0-d cost) scores the batch;
    :func:`~losskit.functional.l1_penalty` and :func:`~losskit.functional.l2_penalty` (no factor ½) score the
    parameters. The parameters are held as a plain list, not registered as this Module's own parameters
    (they already belong to the model; registering them again would duplicate them in ``parameters()``
    and ``state_dict()``). A criterion that is a Module is a registered sub-module.

    Note:
        ``l2 · Σθ²`` with plain SGD is the same update as ``torch.optim.SGD(weight_decay=2 * l2)``; with Adam
        it is not (use AdamW for decoupled weight decay).

    Args:
        criterion: the loss, called as ``criterion(*args, **kwargs)``; must return a 0-d cost.
        params: a tensor or an iterable of floating-point tensors (e.g. ``model.parameters()``; a generator
            is consumed once and kept as a list).
        l1: λ₁ >= 0, weight of the L1 penalty. Default 0.
        l2: λ₂ >= 0, weight of the L2 penalty. Default 0.

    Raises:
        TypeError: if ``criterion`` is not callable or ``params`` does not hold floating-point tensors.
        ValueError: on a negative (or non-finite) ``l1``/``l2``, or if the criterion returns a non-scalar.

    Example:
        >>> import torch, losskit
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> obj = losskit.Objective(losskit.MSELoss(), [w], l1=0.1, l2=0.01)
        >>> pred, y = torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.0])
        >>> {k: round(v.item(), 4) for k, v in obj.components(pred, y).items()}
        {'cost': 0.125, 'l1': 3.0, 'l2': 5.0, 'total': 0.475}
    """

    def __init__(
        self,
        criterion: Callable[..., Tensor],
        params: Tensor | Iterable[Tensor],
        l1: float = 0.0,
        l2: float = 0.0,
    ) -> None:
        super().__init__()
        fn = "Objective"
        if not callable(criterion):
            raise TypeError(
                f"{fn}: criterion must be a loss Module or function, got {type(criterion).__name__}"
            )
        self.criterion = criterion
        self.params: list[Tensor] = _tensors(fn, params)
        lo = checks.check_number(fn, "l1", l1, low=0.0)
        lt = checks.check_number(fn, "l2", l2, low=0.0)
        for name, v in (("l1", lo), ("l2", lt)):
            if v == float("inf"):
                raise ValueError(f"{fn}: {name} must be finite, got {v!r}")
        self.l1 = lo
        self.l2 = lt

    def _cost(self, *args: Any, **kwargs: Any) -> Tensor:
        cost = self.criterion(*args, **kwargs)
        if not isinstance(cost, Tensor) or cost.dim() != 0:
            shape = fmt_shape(cost.shape) if isinstance(cost, Tensor) else type(cost).__name__
            raise ValueError(
                f"Objective: criterion must return a 0-d cost (use reduction='mean' or 'sum'), got {shape}"
            )
        return cost

    def components(self, *args: Any, **kwargs: Any) -> dict[str, Tensor]:
        """The cost, the unweighted penalties ``Σ|θ|`` and ``Σθ²``, and the weighted ``"total"``.

        Returns:
            ``{"cost": ..., "l1": Σ|θ|, "l2": Σθ², "total": cost + l1·Σ|θ| + l2·Σθ²}`` (0-d tensors).
        """
        cost = self._cost(*args, **kwargs)
        p1 = l1_penalty(self.params).to(cost.device)
        p2 = l2_penalty(self.params).to(cost.device)
        return {"cost": cost, "l1": p1, "l2": p2, "total": cost + self.l1 * p1 + self.l2 * p2}

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """Return ``cost + l1 · Σ|θ| + l2 · Σθ²``; a penalty whose weight is 0 is not computed."""
        total = self._cost(*args, **kwargs)
        if self.l1 != 0.0:
            total = total + self.l1 * l1_penalty(self.params).to(total.device)
        if self.l2 != 0.0:
            total = total + self.l2 * l2_penalty(self.params).to(total.device)
        return total

    def extra_repr(self) -> str:
        """Number of penalised tensors and values, and the two weights."""
        n = sum(p.numel() for p in self.params)
        return f"params={len(self.params)} tensors ({n} values), l1={self.l1:g}, l2={self.l2:g}"
