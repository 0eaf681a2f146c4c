r"""Distribution losses: KL divergence, entropy, Brier score.

Conventions as in :mod:`losskit.functional.classification` (SPEC §0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from losskit._core import checks
from losskit.functional._common import (
    check_base,
    check_class_input,
    check_input_type,
    check_multiclass_target,
    class_log_probs,
    finish,
    prepare,
    to_base,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


__all__ = [
    "brier_score",
    "entropy",
    "kl_divergence",
]


# --------------------------------------------------------------------------------------------------
# distribution losses: KL, entropy, Brier


def kl_divergence(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    target_type: str = "probs",
    dim: int = 1,
    base: float | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Kullback–Leibler divergence :math:`D_{KL}(p \,\|\, q) = \sum_k p_k \log(p_k / q_k)`.

    ``p`` is the target distribution and ``q`` the prediction; ``0 · log 0 = 0``. Not a distance: it is
    not symmetric and fails the triangle inequality.

    Args:
        input: the predicted distribution ``(N, C, *)`` as logits (default), probabilities or log-probs.
        target: the target distribution, same shape, as probabilities (default), log-probabilities or
            logits (``target_type="logits"``: distillation from a teacher's logits).
        input_type: {input_type}
        target_type: ``"probs"``, ``"log_probs"`` or ``"logits"``.
        dim: {dim}
        base: logarithm base (``None`` for nats, 2 for bits).
        weight: per-distribution weight broadcastable to ``(N, *)``.
        reduction: ``"none"`` gives one value per distribution ``(N, *)`` (summed over ``dim``);
            ``"mean"`` averages over distributions. There is no torch-style elementwise mean (torch's
            ``kl_div(reduction="mean")`` divides by N·C, a classic trap; its ``"batchmean"`` is losskit's
            ``"mean"`` for 2-D input).
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The divergence; ``(N, *)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: shape mismatch, bad probabilities, unknown types, NaN/inf.

    References:
        Kullback & Leibler, *On Information and Sufficiency*, Ann. Math. Statist. 1951.

    Example:
        >>> import torch
        >>> from losskit.functional import kl_divergence
        >>> q = torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64)
        >>> p = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
        >>> print(f"{kl_divergence(q, p, input_type='probs').item():.10f}")
        0.0851228260
        >>> print(f"{kl_divergence(q, p, input_type='probs', base=2).item():.9f}")
        0.122806279
    """
    fn = "kl_divergence"
    checks.check_reduction(fn, reduction)
    check_base(fn, base)
    check_input_type(fn, input_type)
    checks.check_option(fn, "target_type", target_type, ("probs", "log_probs", "logits"))
    d, _ = check_class_input(fn, input, dim)
    checks.check_float(fn, "target", target)
    checks.check_shape(fn, "target", target, tuple(input.shape), "(a distribution like input)")
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    checks.check_weight(fn, weight, sample_shape)
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, t, w) = prepare(fn, input, target, weight)
    assert x is not None and t is not None
    logq = class_log_probs(fn, x, input_type, d)
    if target_type == "probs":
        checks.check_probabilities(fn, "target", t)
        p = t
        pos = p > 0
        # xlogy(p, p) - p * log q, with both products 0 where p == 0 (and safe inputs there for backward)
        logp = torch.log(torch.where(pos, p, torch.ones_like(p)))
        term = torch.where(pos, p * (logp - logq), torch.zeros_like(p))
    else:
        if target_type == "log_probs":
            checks.check_log_probabilities(fn, "target", t)
            logp = t
        else:
            logp = torch.log_softmax(t, dim=d)
        p = torch.exp(logp)
        term = torch.where(p > 0, p * (logp - logq), torch.zeros_like(p))
    loss = to_base(term.sum(d), base)
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def entropy(
    input: Tensor,
    *,
    input_type: str = "logits",
    dim: int = 1,
    base: float | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_k p_k \log p_k` of predicted distributions.

    From logits it is :math:`\operatorname{logsumexp}(z) - \sum_k \operatorname{softmax}(z)_k z_k`,
    evaluated as ``-Σ p · log_softmax(z)``. Used as a confidence penalty (add ``-β·H``) or to measure
    uncertainty. It has no target.

    Args:
        input: distributions ``(N, C, *)`` as logits (default), probabilities or log-probabilities.
        input_type: {input_type}
        dim: {dim}
        base: logarithm base (``None`` nats, 2 bits).
        weight: per-distribution weight broadcastable to ``(N, *)``.
        reduction: ``"none"`` (``(N, *)``), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The entropy, in ``[0, log C]``.

    Raises:
        ValueError, TypeError: bad shapes, probabilities outside [0, 1], NaN/inf.

    References:
        Shannon, *A Mathematical Theory of Communication*, Bell Syst. Tech. J. 1948.

    Example:
        >>> import torch
        >>> from losskit.functional import entropy
        >>> p = torch.tensor([[0.75, 0.25]], dtype=torch.float64)
        >>> print(f"{entropy(p, input_type='probs', base=2).item():.9f}")
        0.811278124
        >>> print(f"{entropy(p, input_type='probs').item():.9f}")
        0.562335145
    """
    fn = "entropy"
    checks.check_reduction(fn, reduction)
    check_base(fn, base)
    check_input_type(fn, input_type)
    d, _ = check_class_input(fn, input, dim)
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    checks.check_weight(fn, weight, sample_shape)
    _, (x, w) = prepare(fn, input, weight)
    assert x is not None
    logp = class_log_probs(fn, x, input_type, d)
    p = x if input_type == "probs" else torch.exp(logp)
    loss = to_base(-(p * logp).sum(d), base)
    return finish(
        fn, loss, reduction, w, normalizer=normalizer, process_group=process_group, inputs={"input": input}
    )


def brier_score(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    dim: int = 1,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Brier score :math:`\sum_k (p_k - y_k)^2`, summed over classes (range [0, 2]).

    A proper scoring rule: the note's "MSE on probabilities". scikit-learn's binary
    ``brier_score_loss`` scores only the positive class, which is half of this for two classes.

    Args:
        input: ``(N, C, *)`` logits (default), probabilities or log-probabilities.
        target: class indices ``(N, *)`` or probabilities ``(N, C, *)``.
        input_type: {input_type}
        dim: {dim}
        weight: per-sample weight broadcastable to ``(N, *)``.
        reduction: ``"none"`` (``(N, *)``), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The score.

    Raises:
        ValueError, TypeError: bad shapes, labels out of range, bad probabilities, NaN/inf.

    References:
        Brier, *Verification of Forecasts Expressed in Terms of Probability*, Monthly Weather Review 1950.

    Example:
        Note 001's example (its 0.15 is an arithmetic slip: 0.2² + 0.1² + 0.1² = 0.06):

        >>> import torch
        >>> from losskit.functional import brier_score
        >>> p = torch.tensor([[0.8, 0.1, 0.1]], dtype=torch.float64)
        >>> print(f"{brier_score(p, torch.tensor([0]), input_type='probs').item():.6f}")
        0.060000
    """
    fn = "brier_score"
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    d, C = check_class_input(fn, input, dim)
    is_index, target = check_multiclass_target(fn, input, target, d, C, None)
    sample_shape = tuple(s for i, s in enumerate(input.shape) if i != d)
    checks.check_weight(fn, weight, sample_shape)
    checks.check_same_device(fn, input=input, target=target, weight=weight)
    _, (x, t, w) = prepare(fn, input, target, weight)
    assert x is not None and t is not None
    if input_type == "probs":
        checks.check_probabilities(fn, "input", x)
        p = x
    else:
        p = torch.exp(class_log_probs(fn, x, input_type, d))
    if is_index:
        onehot = torch.zeros_like(p).scatter(d, t.unsqueeze(d), 1.0)
    else:
        onehot = t
    loss = (p - onehot).square().sum(d)
    return finish(
        fn,
        loss,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )
