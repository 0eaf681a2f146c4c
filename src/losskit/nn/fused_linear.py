"""Modules of the fused-head family: losses that take the output head's input and parameters, not logits."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from losskit.functional import fused_linear as F
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = ["LinearCrossEntropyLoss", "LinearDistillationLoss"]


def _head(fn: str, head: Tensor | nn.Linear, kwargs: dict[str, Any]) -> Tensor:
    """The weight to pass on; an ``nn.Linear`` head also supplies its bias (unless one is given)."""
    if isinstance(head, nn.Linear):
        if head.bias is not None and kwargs.get("bias") is None:
            kwargs["bias"] = head.bias
        return head.weight
    if not isinstance(head, Tensor):
        raise TypeError(
            f"{fn}: weight must be a (V, D) tensor or the nn.Linear head, got {type(head).__name__}"
        )
    return head


@register("linear_cross_entropy", "lce", "fused_linear_cross_entropy", family="fused_linear")
class LinearCrossEntropyLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.linear_cross_entropy`; options are its keywords.

    ``forward(hidden, weight, target)`` where ``weight`` is the head's ``(V, D)`` matrix or the head itself
    (an ``nn.Linear``, whose bias is then used too)::

        head = nn.Linear(d_model, vocab, bias=False)
        criterion = LinearCrossEntropyLoss(z_loss=1e-4)
        loss = criterion(hidden_states[:, :-1], head, input_ids[:, 1:])   # logits never built

    ``class_weight`` becomes a buffer (moves with ``.to(device)``).
    """

    function = staticmethod(F.linear_cross_entropy)  # type: ignore[assignment]

    def forward(self, hidden: Tensor, weight: Tensor | nn.Linear, target: Tensor, **kwargs: Any) -> Any:
        """The loss of ``hidden`` through the head ``weight`` (tensor or ``nn.Linear``) against ``target``."""
        w = _head("LinearCrossEntropyLoss", weight, kwargs)
        return F.linear_cross_entropy(hidden, w, target, **{**self.options, **kwargs})


@register("linear_distillation", "fused_linear_distillation", family="fused_linear")
class LinearDistillationLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.linear_distillation_loss`.

    ``forward(hidden, weight, teacher_logits, target=None)``; ``weight`` may be the student's ``nn.Linear``
    head.
    """

    function = staticmethod(F.linear_distillation_loss)

    def forward(
        self,
        hidden: Tensor,
        weight: Tensor | nn.Linear,
        teacher_logits: Tensor,
        target: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """The distillation loss of the student head against ``teacher_logits``."""
        w = _head("LinearDistillationLoss", weight, kwargs)
        if target is not None:
            kwargs["target"] = target
        return F.linear_distillation_loss(hidden, w, teacher_logits, **{**self.options, **kwargs})
