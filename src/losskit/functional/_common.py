"""Private helpers shared by the functional families: input activation, targets, finishing a loss."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit._core import checks
from losskit._core.dtypes import compute_dtype, eps_for, upcast
from losskit._core.reduction import reduce

INPUT_TYPES = ("logits", "probs", "log_probs")


def log1mexp(a: Tensor) -> Tensor:
    """``log(1 - exp(a))`` for ``a < 0``, accurate on both sides of ``-ln 2`` (Mächler 2012)."""
    # The two branches are each finite where they are selected; feeding the unselected branch a harmless
    # value keeps its gradient finite too (where() would otherwise pass 0 * inf = NaN back).
    near = a > -math.log(2.0)
    a_near = torch.where(near, a, torch.full_like(a, -1.0))
    a_far = torch.where(near, torch.full_like(a, -1.0), a)
    return torch.where(near, torch.log(-torch.expm1(a_near)), torch.log1p(-torch.exp(a_far)))


def check_input_type(fn: str, input_type: str) -> None:
    """Validate ``input_type``."""
    checks.check_option(fn, "input_type", input_type, INPUT_TYPES)


def check_base(fn: str, base: float | None) -> None:
    """Validate the logarithm ``base`` option."""
    if base is not None:
        b = checks.check_number(fn, "base", base, low=0.0, low_open=True)
        if b == 1.0:
            raise ValueError(f"{fn}: base must be positive and not 1 (e.g. 2 for bits), got {base!r}")


def to_base(loss: Tensor, base: float | None) -> Tensor:
    """Convert a loss in nats to the requested logarithm base."""
    return loss if base is None or base == math.e else loss / math.log(base)


def class_log_probs(fn: str, x: Tensor, input_type: str, dim: int) -> Tensor:
    """Log-probabilities over ``dim`` from logits, probabilities or log-probabilities.

    Probabilities are clamped to [eps, 1 - eps] before the log (eps = machine epsilon of the compute
    dtype), which bounds the loss of a confident wrong probability at ``-log(eps)`` (36.0 in float64,
    15.9 in float32).
    """
    check_input_type(fn, input_type)
    if input_type == "logits":
        return torch.log_softmax(x, dim=dim)
    if input_type == "probs":
        checks.check_probabilities(fn, "input", x)
        eps = eps_for(x.dtype)
        return torch.log(x.clamp(eps, 1.0 - eps))
    checks.check_log_probabilities(fn, "input", x)
    return x


def class_log1m_probs(fn: str, x: Tensor, logp: Tensor, input_type: str, dim: int) -> Tensor:
    """``log(1 - p_k)`` for every class, finite for finite logits.

    From logits, ``1 - p_k`` for the most likely class is the sum of the other classes' probabilities
    (a masked log-sum-exp, no cancellation); every other class has ``p_k <= 1/2`` so ``log1p(-p_k)`` is
    accurate there.
    """
    if input_type == "probs":
        eps = eps_for(x.dtype)
        return torch.log1p(-x.clamp(eps, 1.0 - eps))
    if input_type == "log_probs":
        eps = eps_for(x.dtype)
        return log1mexp(x.clamp(math.log(eps), math.log1p(-eps)))
    top = logp.argmax(dim=dim, keepdim=True)
    is_top = torch.zeros_like(logp, dtype=torch.bool).scatter(dim, top, True)
    rest = logp.masked_fill(is_top, float("-inf")).logsumexp(dim=dim, keepdim=True)
    safe = logp.masked_fill(is_top, -1.0)
    return torch.where(is_top, rest.expand_as(logp), torch.log1p(-torch.exp(safe)))


def binary_log_probs(fn: str, x: Tensor, input_type: str) -> tuple[Tensor, Tensor]:
    """``(log p, log(1 - p))`` for a binary prediction given as logits, probabilities or log-probabilities."""
    check_input_type(fn, input_type)
    if input_type == "logits":
        return F.logsigmoid(x), F.logsigmoid(-x)
    eps = eps_for(x.dtype)
    if input_type == "probs":
        checks.check_probabilities(fn, "input", x)
        p = x.clamp(eps, 1.0 - eps)
        return torch.log(p), torch.log1p(-p)
    checks.check_log_probabilities(fn, "input", x)
    lp = x.clamp(math.log(eps), math.log1p(-eps))
    return lp, log1mexp(lp)


def prepare(fn: str, *tensors: Tensor | None) -> tuple[torch.dtype, list[Tensor | None]]:
    """Upcast floating tensors to the compute dtype (half → float32), keeping None and integer tensors."""
    dtype = compute_dtype(*tensors)
    return dtype, [None if t is None else upcast(t, dtype) for t in tensors]


def normalize_dim(fn: str, x: Tensor, dim: int) -> int:
    """Validate a class dimension index and return it as a non-negative int."""
    checks.check_integer(fn, "dim", dim)
    if not -x.dim() <= dim < x.dim():
        raise ValueError(
            f"{fn}: dim must index a dimension of input with shape {checks.fmt_shape(x.shape)}, got {dim}"
        )
    return dim % x.dim()


def check_class_input(fn: str, x: Tensor, dim: int) -> tuple[int, int]:
    """Validate a multi-class input ``(N, C, ...)`` and return ``(dim, C)``."""
    checks.check_float(fn, "input", x)
    if x.dim() < 2:
        raise ValueError(
            f"{fn}: input must have shape (N, C, ...) with the classes on dim, got "
            f"{checks.fmt_shape(x.shape)}; add a batch dimension with input.unsqueeze(0)"
        )
    d = normalize_dim(fn, x, dim)
    return d, int(x.shape[d])


def class_view(w: Tensor, ndim: int, dim: int) -> Tensor:
    """Reshape a per-class vector ``(C,)`` so it broadcasts along ``dim`` of an ``ndim``-d tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return w.reshape(shape)


def check_multiclass_target(
    fn: str, x: Tensor, target: Tensor, dim: int, num_classes: int, ignore_index: int | None
) -> tuple[bool, Tensor]:
    """Validate a class-index or probability target for a multi-class input.

    Returns ``(is_index, target)``: class indices of any integer dtype come back as int64 (see
    :func:`losskit._core.checks.check_index_target`), probability targets unchanged.
    """
    checks.check_tensor(fn, "target", target)
    sample_shape = tuple(s for i, s in enumerate(x.shape) if i != dim)
    if target.is_floating_point():
        checks.check_shape(fn, "target", target, tuple(x.shape), "(probability targets match input)")
        checks.check_probabilities(fn, "target", target)
        return False, target
    target = checks.check_index_target(fn, "target", target)
    checks.check_shape(fn, "target", target, sample_shape, "(class indices: input's shape without dim)")
    checks.check_labels(fn, "target", target, num_classes, ignore_index)
    return True, target


def check_mask(fn: str, mask: Tensor | None, shape: tuple[int, ...]) -> None:
    """Validate an optional boolean keep-mask with the per-sample shape."""
    checks.check_mask(fn, mask, shape)


def finish(
    fn: str,
    values: Tensor,
    reduction: str,
    weight: Tensor | None = None,
    *,
    denominator: Tensor | None = None,
    normalizer: float | Tensor | None = None,
    process_group: Any = None,
    facts: dict[str, int] | None = None,
    inputs: dict[str, Tensor | None] | None = None,
) -> Tensor:
    """Reduce (locally or over ``process_group``) and check that a non-finite result is explained by an input.

    ``denominator`` is a loss's own mean denominator (a tensor whose sum divides); ``normalizer`` the public
    override (a positive number or 0-d tensor); see :func:`losskit._core.reduction.reduce`.
    """
    out = reduce(
        values,
        reduction,
        weight,
        denominator=denominator,
        normalizer=normalizer,
        process_group=process_group,
        facts=facts,
        fn=fn,
    )
    return checks.check_finite_result(fn, out, **(inputs or {}))
