r"""Language-model losses: distillation (KL, generalised JSD) and preference optimisation.

Two groups live here:

* **Distillation over token distributions**: :func:`distillation_kl_loss` (Hinton et al. 2015) and
  :func:`jsd_loss` (the generalised Jensen–Shannon divergence of GKD, as TRL and Liger-Kernel define it).
  The vocabulary (class) dimension is the **last** one by default (``dim=-1``): language-model logits are
  ``(B, T, V)`` or ``(N, V)``, and that is where Hugging Face, TRL and Liger-Kernel keep it. For a 2-D
  ``(N, C)`` input ``dim=-1`` and losskit's classification convention ``dim=1`` are the same dimension;
  for images ``(N, C, H, W)`` pass ``dim=1``. Tokens whose ``labels`` equal ``ignore_index`` are left out.
* **Preference losses on sequence log-probabilities**: :func:`dpo_loss` (with the IPO and hinge variants
  and conservative DPO), :func:`simpo_loss`, :func:`orpo_loss`, :func:`kto_loss`, and
  :func:`sequence_log_probs` to compute their inputs from logits. These take one value per sequence; the
  models' forward passes stay in the caller's hands, as in TRL's ``*_loss`` methods.

The fused versions over the student's output layer (never materialising the student logits) live in
``losskit.functional.fused_linear``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, overload

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks
from losskit.functional._common import finish, log1mexp, normalize_dim, prepare

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "distillation_kl_loss",
    "dpo_loss",
    "jsd_loss",
    "kto_loss",
    "orpo_loss",
    "sequence_log_probs",
    "simpo_loss",
]

_DIST_TYPES = ("logits", "probs", "log_probs")


# ---------------------------------------------------------------------------------------------------------
# shared validation for the token-distribution losses


def _check_pair(
    fn: str, x: Tensor, t: Tensor, dim: int, x_name: str, t_name: str
) -> tuple[int, tuple[int, ...]]:
    """Validate two distributions of the same shape; return ``(dim, per-token shape)``."""
    checks.check_float(fn, x_name, x)
    checks.check_float(fn, t_name, t)
    if x.dim() < 2:
        raise ValueError(
            f"{fn}: {x_name} must have shape (N, V) or (B, T, V) with the vocabulary on dim, got "
            f"{checks.fmt_shape(x.shape)}; add a batch dimension with unsqueeze(0)"
        )
    d = normalize_dim(fn, x, dim)
    if t.dim() == x.dim() and t.shape[d] != x.shape[d]:
        raise ValueError(
            f"{fn}: {t_name} must have the vocabulary size of {x_name}, V = {x.shape[d]} on dim {dim}, "
            f"got {t.shape[d]} (shape {checks.fmt_shape(t.shape)}); student and teacher must share a "
            "vocabulary"
        )
    checks.check_shape(fn, t_name, t, tuple(x.shape), f"(the shape of {x_name})")
    return d, tuple(s for i, s in enumerate(x.shape) if i != d)


def _token_mask(
    fn: str, labels: Tensor | None, ignore_index: int, token_shape: tuple[int, ...]
) -> Tensor | None:
    """The keep-mask ``labels != ignore_index`` (None when there are no labels)."""
    checks.check_ignore_index(fn, ignore_index)
    if labels is None:
        return None
    checks.check_int(fn, "labels", labels)
    checks.check_shape(fn, "labels", labels, token_shape, "(the logits' shape without the vocabulary dim)")
    return labels != ignore_index


def _check_normalizer(fn: str, normalizer: float | Tensor | None) -> None:
    if normalizer is None or isinstance(normalizer, Tensor):
        return
    checks.check_number(fn, "normalizer", normalizer, low=0.0, low_open=True)


def _finish_tokens(
    fn: str,
    loss: Tensor,
    keep: Tensor | None,
    weight: Tensor | None,
    normalizer: float | Tensor | None,
    reduction: str,
    inputs: dict[str, Tensor | None],
    process_group: ProcessGroup | None = None,
) -> Tensor:
    """Zero the ignored tokens, then reduce: "mean" over the (weighted) count of kept tokens (all ranks)."""
    norm: Tensor | None = None
    if keep is not None:
        loss = torch.where(keep, loss, torch.zeros_like(loss))
        norm = keep.to(loss.dtype)
        if weight is not None:
            norm = norm * weight
    elif weight is not None:
        norm = torch.broadcast_to(weight, loss.shape)
    return finish(
        fn,
        loss,
        reduction,
        weight,
        denominator=norm,
        normalizer=normalizer,
        process_group=process_group,
        inputs=inputs,
    )


def _check_temperature(fn: str, temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"{fn}: temperature must be a number, got {type(temperature).__name__}")
    if not temperature > 0 or math.isinf(temperature):
        raise ValueError(f"{fn}: temperature must be a positive finite number, got {temperature!r}")
    return float(temperature)


def _log_dist(fn: str, name: str, x: Tensor, kind: str, dim: int, temperature: float) -> Tensor:
    """Log-probabilities over ``dim`` from logits (divided by the temperature), probabilities or log-probs."""
    if kind == "logits":
        return torch.log_softmax(x / temperature if temperature != 1.0 else x, dim=dim)
    if kind == "probs":
        checks.check_probabilities(fn, name, x)
        eps = torch.finfo(x.dtype).eps
        return torch.log(x.clamp(eps, 1.0 - eps))
    checks.check_log_probabilities(fn, name, x)
    return x


# ---------------------------------------------------------------------------------------------------------
# distillation


def distillation_kl_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    *,
    temperature: float = 1.0,
    direction: str = "forward",
    dim: int = -1,
    labels: Tensor | None = None,
    ignore_index: int = -100,
    weight: Tensor | None = None,
    normalizer: float | Tensor | None = None,
    reduction: str = "mean",
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Knowledge-distillation KL divergence between teacher and student token distributions, times T².

    .. math::
        p_T = \operatorname{softmax}(z_T / T), \qquad p_S = \operatorname{softmax}(z_S / T), \qquad
        \ell_{\text{forward}} = T^2 \sum_v p_{T,v} (\log p_{T,v} - \log p_{S,v}), \qquad
        \ell_{\text{reverse}} = T^2 \sum_v p_{S,v} (\log p_{S,v} - \log p_{T,v})

    one value per token, summed over the vocabulary. ``"forward"`` is :math:`KL(p_T \| p_S)`, Hinton et al.'s
    soft-target loss (mode-covering: the student spreads mass over everything the teacher allows);
    ``"reverse"`` is :math:`KL(p_S \| p_T)` (mode-seeking, the MiniLLM objective). The :math:`T^2` factor
    keeps the gradient's scale independent of the temperature (Hinton et al., section 2), so the loss can be
    mixed with a hard-label cross-entropy without retuning the mixing weight.

    The vocabulary dimension is the **last** one (``dim=-1``), as in Hugging Face, TRL and Liger-Kernel:
    ``(B, T, V)`` or ``(N, V)`` logits. losskit's classification losses put classes on ``dim=1``; for a
    2-D ``(N, V)`` input the two agree, for other layouts pass ``dim``.

    Args:
        student_logits: the student's logits ``(*, V)`` (vocabulary on ``dim``).
        teacher_logits: the teacher's logits, same shape. It is **not** detached: compute it under
            ``torch.no_grad()`` (the usual frozen teacher) or pass ``teacher_logits.detach()``.
        temperature: T > 0 softens both distributions; Hinton et al. use 2–20 for small models; 1 (the
            default) distils the distributions as they are, the usual choice for language models.
        direction: ``"forward"`` (default, KL(teacher ‖ student)) or ``"reverse"`` (KL(student ‖ teacher)).
        dim: the vocabulary dimension. Default -1.
        labels: optional integer token labels ``(*)`` (the logits' shape without ``dim``); tokens equal to
            ``ignore_index`` (prompt and padding) get loss 0 and leave the mean. Only compared with
            ``ignore_index``; any integer dtype.
        ignore_index: the label value to skip. Default -100 (Hugging Face's).
        weight: optional per-token weight broadcastable to ``(*)``; ``"mean"`` is then
            :math:`\sum w\ell / \sum w` over the kept tokens.
        normalizer: optional denominator for ``"mean"`` instead of the (weighted) count of kept tokens, e.g.
            the valid tokens of a whole gradient-accumulation window (a positive number or a tensor whose sum
            is used).
        reduction: ``"none"`` (per token ``(*)``, 0 at ignored tokens), ``"mean"`` (over kept tokens) or
            ``"sum"``.
        process_group: {process_group}

    Returns:
        The loss; ``(*)`` for ``reduction="none"``. A batch with every token ignored gives 0 with a working
        backward.

    Raises:
        ValueError: a teacher with another vocabulary size or shape (the message names ``teacher_logits``),
            ``temperature <= 0``, an unknown ``direction``/``reduction``, a bad ``labels`` shape, NaN/inf
            inputs.
        TypeError: non-float logits or non-integer labels.

    Note:
        Log-space throughout: both log-probabilities come from ``log_softmax`` and the probabilities that
        weight them from ``exp`` of those, so logits of any finite size (±1e4 included) give finite values
        and gradients. float16/bfloat16 inputs are computed and returned in float32.

    References:
        Hinton, Vinyals, Dean, *Distilling the Knowledge in a Neural Network*, NIPS Deep Learning Workshop
        2014 (arXiv 1503.02531). Gu, Dong, Wei, Huang, *MiniLLM: Knowledge Distillation of Large Language
        Models*, ICLR 2024 (arXiv 2306.08543) for the reverse direction.

    Example:
        >>> import torch
        >>> from losskit.functional import distillation_kl_loss
        >>> student = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
        >>> teacher = torch.tensor([[2.0, 0.0, 0.0]], dtype=torch.float64)
        >>> print(f"{distillation_kl_loss(student, teacher).item():.9f}")
        0.061554219
        >>> print(f"{distillation_kl_loss(student, teacher, direction='reverse').item():.9f}")
        0.076667273
        >>> print(f"{distillation_kl_loss(student, teacher, temperature=2.0).item():.9f}")
        0.091416712

        Ignored tokens (label -100) are zero and leave the mean:

        >>> s, t = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
        >>> labels = torch.tensor([[-100, 4, 1], [-100, -100, 2]])
        >>> per_token = distillation_kl_loss(s, t, labels=labels, reduction="none")
        >>> per_token.shape, bool(per_token[0, 0] == 0)
        (torch.Size([2, 3]), True)
        >>> torch.allclose(distillation_kl_loss(s, t, labels=labels), per_token.sum() / 3)
        True
    """
    fn = "distillation_kl_loss"
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "direction", direction, ("forward", "reverse"))
    temp = _check_temperature(fn, temperature)
    _check_normalizer(fn, normalizer)
    d, token_shape = _check_pair(fn, student_logits, teacher_logits, dim, "student_logits", "teacher_logits")
    keep = _token_mask(fn, labels, ignore_index, token_shape)
    checks.check_weight(fn, weight, token_shape)
    checks.check_same_device(
        fn, student_logits=student_logits, teacher_logits=teacher_logits, labels=labels, weight=weight
    )
    _, (s, t, w) = prepare(fn, student_logits, teacher_logits, weight)
    assert s is not None and t is not None
    logp_s = _log_dist(fn, "student_logits", s, "logits", d, temp)
    logp_t = _log_dist(fn, "teacher_logits", t, "logits", d, temp)
    if direction == "forward":
        kl = (logp_t.exp() * (logp_t - logp_s)).sum(d)
    else:
        kl = (logp_s.exp() * (logp_s - logp_t)).sum(d)
    loss = kl * (temp * temp)
    return _finish_tokens(
        fn,
        loss,
        keep,
        w,
        normalizer,
        reduction,
        {"student_logits": student_logits, "teacher_logits": teacher_logits},
        process_group,
    )


def jsd_loss(
    input: Tensor,
    target: Tensor,
    *,
    beta: float = 0.5,
    input_type: str = "logits",
    target_type: str | None = None,
    temperature: float = 1.0,
    dim: int = -1,
    labels: Tensor | None = None,
    ignore_index: int = -100,
    weight: Tensor | None = None,
    normalizer: float | Tensor | None = None,
    reduction: str = "mean",
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Generalised Jensen–Shannon divergence :math:`JSD_\beta` between two class (vocabulary) distributions.

    With :math:`P` the target's distribution (the teacher), :math:`Q` the input's (the student) and the
    mixture :math:`M = \beta P + (1 - \beta) Q`:

    .. math::
        JSD_\beta(P \| Q) = \beta\, KL(P \| M) + (1 - \beta)\, KL(Q \| M), \qquad 0 < \beta < 1,

    and, by definition at the end points, :math:`JSD_0 = KL(P \| Q)` (forward KL) and
    :math:`JSD_1 = KL(Q \| P)` (reverse KL). This is the convention of TRL's
    ``GKDTrainer.generalized_jsd_loss`` and Liger-Kernel's ``LigerJSD`` (β weights the **teacher**, the
    second argument), from Agarwal et al.'s GKD. ``beta=0.5`` is the ordinary, symmetric JS divergence
    (kornia's ``js_div_loss_2d``), bounded by :math:`\ln 2`; in general
    :math:`0 \le JSD_\beta \le -\beta\ln\beta - (1-\beta)\ln(1-\beta)`.

    The end points are a switch, not a limit: as β → 0 the mixture formula tends to
    :math:`\beta\, KL(P \| Q) \to 0`, not to :math:`KL(P \| Q)`. losskit follows TRL and Liger so that
    ``beta=0``/``beta=1`` mean the same thing for a user coming from them. Swapping the arguments maps β to
    1 − β: ``jsd_loss(a, b, beta=β) == jsd_loss(b, a, beta=1 - β)``.

    Args:
        input: the prediction (student) ``(*, C, *)``: logits (default), probabilities or log-probabilities.
        target: the target (teacher) distribution, same shape.
        beta: β in [0, 1]; 0.5 (default) is the symmetric JSD. GKD sweeps {0.1, 0.5, 0.9}.
        input_type: {input_type}
        target_type: the same choices for ``target``; ``None`` (default) means "like ``input_type``".
        temperature: T > 0 dividing the logits (of whichever side is given as logits) before the softmax, as
            TRL's ``temperature``. There is **no** T² factor (TRL's and Liger's convention; multiply by T²
            yourself for Hinton-style scaling). Must be 1 when neither side is logits.
        dim: the class/vocabulary dimension. Default -1 (the language-model layout ``(B, T, V)``; for
            ``(N, C)`` it is losskit's usual ``dim=1``); pass ``dim=1`` for ``(N, C, H, W)`` class maps. For
            kornia's spatial ``js_div_loss_2d`` flatten the heatmaps and use ``dim=-1`` (see the docs page).
        labels: optional integer labels with the input's shape without ``dim``; entries equal to
            ``ignore_index`` are left out (loss 0, excluded from the mean).
        ignore_index: {ignore_index}
        weight: optional per-distribution weight broadcastable to the shape without ``dim``.
        normalizer: optional denominator for ``"mean"`` (as in :func:`distillation_kl_loss`).
        reduction: ``"none"`` (one value per distribution), ``"mean"`` (over the kept ones) or ``"sum"``.
        process_group: {process_group}

    Returns:
        The divergence in nats; the input's shape without ``dim`` for ``reduction="none"``.

    Raises:
        ValueError: shape or vocabulary mismatch (naming ``target``), β outside [0, 1], a temperature that is
            not positive (or not 1 without logits), probabilities outside [0, 1], unknown options, NaN/inf.
        TypeError: non-float inputs, non-integer labels.

    Note:
        The mixture is formed in log space, :math:`\log M = \operatorname{logaddexp}(\log\beta + \log P,
        \log(1-\beta) + \log Q)`, so saturated logits (±1e4) stay finite. Probabilities are clamped to
        [eps, 1 − eps] before the log, as everywhere in losskit.

    References:
        Agarwal, Vieillard, Zhou, Stanczyk, Ramos, Geist, Bachem, *On-Policy Distillation of Language Models:
        Learning from Self-Generated Mistakes* (GKD), ICLR 2024 (arXiv 2306.13649). Lin, *Divergence Measures
        Based on the Shannon Entropy*, IEEE Trans. Inf. Theory 1991.

    Example:
        >>> import torch
        >>> from losskit.functional import jsd_loss
        >>> q = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
        >>> p = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
        >>> print(f"{jsd_loss(q, p, input_type='probs').item():.9f}")
        0.215761554
        >>> student = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
        >>> teacher = torch.tensor([[2.0, 0.0, 0.0]], dtype=torch.float64)
        >>> print(f"{jsd_loss(student, teacher, beta=0.1).item():.9f}")
        0.005631810
        >>> print(f"{jsd_loss(student, teacher, beta=0.0).item():.9f}")  # = forward KL(teacher || student)
        0.061554219
    """
    fn = "jsd_loss"
    checks.check_reduction(fn, reduction)
    b = checks.check_number(fn, "beta", beta, low=0.0, high=1.0)
    checks.check_option(fn, "input_type", input_type, _DIST_TYPES)
    ttype = input_type if target_type is None else target_type
    checks.check_option(fn, "target_type", ttype, _DIST_TYPES)
    temp = _check_temperature(fn, temperature)
    if temp != 1.0 and "logits" not in (input_type, ttype):
        raise ValueError(
            f"{fn}: temperature applies to logits only; got temperature={temperature!r} with "
            f"input_type={input_type!r} and target_type={ttype!r}"
        )
    _check_normalizer(fn, normalizer)
    d, token_shape = _check_pair(fn, input, target, dim, "input", "target")
    keep = _token_mask(fn, labels, ignore_index, token_shape)
    checks.check_weight(fn, weight, token_shape)
    checks.check_same_device(fn, input=input, target=target, labels=labels, weight=weight)
    _, (x, t, w) = prepare(fn, input, target, weight)
    assert x is not None and t is not None
    logq = _log_dist(fn, "input", x, input_type, d, temp)
    logp = _log_dist(fn, "target", t, ttype, d, temp)
    if b == 0.0:
        loss = (logp.exp() * (logp - logq)).sum(d)
    elif b == 1.0:
        loss = (logq.exp() * (logq - logp)).sum(d)
    else:
        logm = torch.logaddexp(logp + math.log(b), logq + math.log1p(-b))
        loss = b * (logp.exp() * (logp - logm)).sum(d) + (1.0 - b) * (logq.exp() * (logq - logm)).sum(d)
    return _finish_tokens(
        fn, loss, keep, w, normalizer, reduction, {"input": input, "target": target}, process_group
    )


# ---------------------------------------------------------------------------------------------------------
# sequence log-probabilities


def sequence_log_probs(
    logits: Tensor,
    labels: Tensor,
    *,
    ignore_index: int = -100,
    average: bool = False,
) -> Tensor:
    r"""Per-sequence log-likelihood :math:`\sum_t \log p_\theta(y_t \mid \cdot)` of labels under logits.

    .. math::
        \log \pi(y) = \sum_{t:\, y_t \ne \text{ignore}}
            \big(z_{t, y_t} - \operatorname{logsumexp}_v z_{t,v}\big),
        \qquad \text{average: } \frac{1}{|\{t: y_t \ne \text{ignore}\}|} \log \pi(y)

    The inputs of the preference losses: sums (``average=False``) for :func:`dpo_loss` and :func:`kto_loss`,
    length-normalised averages (``average=True``) for :func:`simpo_loss` and :func:`orpo_loss` (and for IPO
    as TRL computes it).

    **No implicit shift**: ``logits[..., t, :]`` scores ``labels[..., t]``. A causal LM's logits at position
    ``t`` predict token ``t + 1``, so shift first, as in the example (this keeps the function usable for
    already-aligned logits, e.g. from a fused head, and makes the alignment visible in the caller's code).

    Args:
        logits: ``(*, T, V)`` (vocabulary last), e.g. ``(B, T, V)``.
        labels: ``(*, T)`` token ids, any integer dtype (cast to int64 once); ``ignore_index`` marks the
            prompt and padding.
        ignore_index: {ignore_index}
        average: ``False`` (default) sums over the kept tokens; ``True`` divides by their number (a sequence
            with no kept token gives 0).

    Returns:
        ``(*)`` float tensor (float32 for half-precision logits), differentiable with respect to ``logits``.

    Raises:
        ValueError: ``labels`` not of shape ``logits.shape[:-1]``, labels outside [0, V) other than
            ``ignore_index`` (value check), NaN/inf logits.
        TypeError: non-float logits, non-integer labels.

    Note:
        It reads the logits once for the log-sum-exp and once for the gather; half-precision logits are
        upcast to float32 first, which costs one float32 copy of ``(*, T, V)``. For very large vocabularies,
        compute the per-token terms from the hidden states without materialising the logits (the
        ``linear_cross_entropy`` of the language-model page with ``reduction="none"`` gives ``-log p`` per
        token) and sum them per sequence.

    Example:
        >>> import torch
        >>> from losskit.functional import sequence_log_probs
        >>> logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]],
        ...                                 dtype=torch.float64))
        >>> labels = torch.tensor([[0, 1, -100]])
        >>> print(f"{sequence_log_probs(logits, labels).item():.9f}")  # log 0.5 + log 0.8
        -0.916290732
        >>> print(f"{sequence_log_probs(logits, labels, average=True).item():.9f}")
        -0.458145366

        With a causal LM (Hugging Face layout), drop the last logit and the first label:

        >>> lm_logits, input_ids = torch.randn(2, 6, 11), torch.randint(0, 11, (2, 6))
        >>> lp = sequence_log_probs(lm_logits[:, :-1], input_ids[:, 1:])
        >>> lp.shape
        torch.Size([2])
    """
    fn = "sequence_log_probs"
    checks.check_float(fn, "logits", logits)
    checks.check_int(fn, "labels", labels)
    if logits.dim() < 2:
        raise ValueError(
            f"{fn}: logits must have shape (*, T, V) with the vocabulary last, got "
            f"{checks.fmt_shape(logits.shape)}"
        )
    checks.check_shape(
        fn, "labels", labels, tuple(logits.shape[:-1]), "(logits.shape[:-1]: one label per position)"
    )
    checks.check_ignore_index(fn, ignore_index)
    checks.check_flag(fn, "average", average)
    checks.check_same_device(fn, logits=logits, labels=labels)
    checks.check_labels(fn, "labels", labels, int(logits.shape[-1]), ignore_index)
    _, (z,) = prepare(fn, logits)
    assert z is not None
    y = labels.long()
    keep = y != ignore_index
    safe = torch.where(keep, y, torch.zeros_like(y))
    token = z.gather(-1, safe.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(z, dim=-1)
    token = torch.where(keep, token, torch.zeros_like(token))
    out = token.sum(-1)
    if average:
        out = out / keep.sum(-1).clamp(min=1).to(out.dtype)
    return checks.check_finite_result(fn, out, logits=logits)


# ---------------------------------------------------------------------------------------------------------
# preference losses: shared validation


def _check_seq(fn: str, first_name: str, first: Tensor, **others: Tensor | None) -> None:
    """Float tensors of one shape (no broadcasting), on one device, finite (value check)."""
    checks.check_float(fn, first_name, first)
    for name, t in others.items():
        if t is None:
            continue
        checks.check_float(fn, name, t)
        checks.check_shape(fn, name, t, tuple(first.shape), f"(the shape of {first_name})")
    checks.check_same_device(fn, **{first_name: first}, **others)
    # one value per sequence: scanning them is cheap, and a saturating loss (KTO's sigmoid) would otherwise
    # hide an inf log-probability behind a finite result
    for name, t in ((first_name, first), *others.items()):
        if t is not None and t.numel() and checks.values_checked(t) and not bool(torch.isfinite(t).all()):
            kind = "NaN" if bool(torch.isnan(t).any()) else "inf"
            raise ValueError(f"{fn}: {name} contains {kind} values; log-probabilities must be finite")


def _check_beta(fn: str, beta: float) -> float:
    return checks.check_number(fn, "beta", beta, low=0.0, low_open=True)


def _check_smoothing(fn: str, label_smoothing: float) -> float:
    return checks.check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=0.5)


def _check_return_rewards(fn: str, return_rewards: bool) -> None:
    checks.check_flag(fn, "return_rewards", return_rewards)


def _smoothed_logsigmoid_loss(u: Tensor, eps: float) -> Tensor:
    """``-(1 - ε) log σ(u) - ε log σ(-u)``: the Bradley–Terry NLL with labels flipped with probability ε."""
    loss = -F.logsigmoid(u)
    if eps > 0.0:
        loss = (1.0 - eps) * loss - eps * F.logsigmoid(-u)
    return loss


# ---------------------------------------------------------------------------------------------------------
# DPO / IPO / hinge


@overload
def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    reference_chosen_logps: Tensor,
    reference_rejected_logps: Tensor,
    *,
    beta: float = ...,
    loss_type: str = ...,
    label_smoothing: float = ...,
    return_rewards: Literal[False] = ...,
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> Tensor: ...


@overload
def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    reference_chosen_logps: Tensor,
    reference_rejected_logps: Tensor,
    *,
    beta: float = ...,
    loss_type: str = ...,
    label_smoothing: float = ...,
    return_rewards: Literal[True],
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> tuple[Tensor, Tensor, Tensor]: ...


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    reference_chosen_logps: Tensor,
    reference_rejected_logps: Tensor,
    *,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    label_smoothing: float = 0.0,
    return_rewards: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    r"""Direct Preference Optimization loss and its IPO and hinge variants, on sequence log-probabilities.

    With the implicit-reward margin
    :math:`h = \big(\log\pi_\theta(y_w) - \log\pi_{\text{ref}}(y_w)\big) - \big(\log\pi_\theta(y_l) -
    \log\pi_{\text{ref}}(y_l)\big)` (chosen :math:`y_w`, rejected :math:`y_l`, each given its prompt):

    .. math::
        \ell_{\text{sigmoid}} = -(1-\varepsilon)\log\sigma(\beta h) - \varepsilon\log\sigma(-\beta h), \qquad
        \ell_{\text{hinge}} = \max(0,\, 1 - \beta h), \qquad
        \ell_{\text{ipo}} = \Big(h - \frac{1}{2\beta}\Big)^2

    ``"sigmoid"`` is DPO (Rafailov et al., Eq. 7); ε > 0 is conservative DPO (Mitchell 2023: the preference
    label is assumed flipped with probability ε). ``"hinge"`` is the SLiC-style hinge on the reward margin
    (Zhao et al. 2023), ``"ipo"`` is IPO (Azar et al., Eq. 17, with β the paper's τ). These are TRL's
    ``DPOTrainer`` ``loss_type`` values with the same formulas.

    Args:
        policy_chosen_logps: :math:`\log\pi_\theta(y_w \mid x)` per pair, shape ``(B,)`` (summed token
            log-probabilities, :func:`sequence_log_probs`). All four inputs have one shape, no broadcasting.
        policy_rejected_logps: :math:`\log\pi_\theta(y_l \mid x)`.
        reference_chosen_logps: :math:`\log\pi_{\text{ref}}(y_w \mid x)` (usually computed under
            ``torch.no_grad()``; not detached here).
        reference_rejected_logps: :math:`\log\pi_{\text{ref}}(y_l \mid x)`.
        beta: β > 0, the strength of the KL constraint to the reference (0.1, the paper's and TRL's default;
            0.5 in some of the paper's runs). For IPO it is τ (the target margin is 1/(2τ)).
        loss_type: ``"sigmoid"`` (default, DPO), ``"hinge"`` or ``"ipo"``. TRL computes IPO on
            length-averaged log-probabilities; pass ``sequence_log_probs(..., average=True)`` to match it.
        label_smoothing: ε in [0, 0.5] (cDPO); only with ``loss_type="sigmoid"`` (TRL ignores it silently
            for the other two, losskit raises). At 0.5 the labels carry no information and the loss only pulls
            the margin towards 0.
        return_rewards: ``False`` (default) returns the loss tensor only; ``True`` returns the tuple
            ``(loss, chosen_rewards, rejected_rewards)`` with the implicit rewards
            :math:`\beta(\log\pi_\theta - \log\pi_{\text{ref}})` of each pair, shape ``(B,)``, detached (for
            logging reward accuracy and margins, as TRL does). The return type depends only on this flag.
        weight: optional per-pair weight ``(B,)``; ``"mean"`` is :math:`\sum w\ell / \sum w`.
        reduction: ``"none"`` (per pair), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss (``(B,)`` for ``"none"``), or ``(loss, chosen_rewards, rejected_rewards)`` with
        ``return_rewards=True``. float16/bfloat16 inputs give float32.

    Raises:
        ValueError: inputs of different shapes, β <= 0, ε outside [0, 0.5] or ε > 0 with hinge/IPO, unknown
            ``loss_type``/``reduction``, NaN/inf inputs.
        TypeError: non-float inputs.

    Note:
        :math:`\log\sigma` is evaluated as ``logsigmoid``, so margins of any finite size (±1e4) give finite
        values and gradients.

    References:
        Rafailov, Sharma, Mitchell, Ermon, Manning, Finn, *Direct Preference Optimization: Your Language Model
        is Secretly a Reward Model*, NeurIPS 2023 (arXiv 2305.18290). Azar, Rowland, Piot, Guo, Calandriello,
        Valko, Munos, *A General Theoretical Paradigm to Understand Learning from Human Preferences*,
        AISTATS 2024 (arXiv 2310.12036). Mitchell, *A Note on DPO with Noisy Preferences & Relationship to
        IPO*, 2023. Zhao, Joshi, Liu, Khalman, Saleh, Liu, *SLiC-HF: Sequence Likelihood Calibration with
        Human Feedback*, 2023 (arXiv 2305.10425).

    Example:
        Equal log-ratios (the policy has not moved from the reference) give :math:`-\log\sigma(0) = \ln 2`:

        >>> import torch
        >>> from losskit.functional import dpo_loss
        >>> pc, pr = torch.tensor([-12.0, -9.0]), torch.tensor([-15.0, -8.0])
        >>> print(f"{dpo_loss(pc, pr, pc, pr).item():.9f}")
        0.693147182
        >>> rc, rr = torch.tensor([-13.0, -9.5]), torch.tensor([-14.0, -8.5])
        >>> print(f"{dpo_loss(pc, pr, rc, rr).item():.9f}")  # h = (1 - (-1), 0.5 - 0.5) = (2, 0)
        0.645642996
        >>> loss, chosen_r, rejected_r = dpo_loss(pc, pr, rc, rr, return_rewards=True)
        >>> chosen_r, rejected_r
        (tensor([0.1000, 0.0500]), tensor([-0.1000,  0.0500]))
        >>> print(f"{dpo_loss(pc, pr, rc, rr, loss_type='ipo', beta=0.5).item():.4f}")  # ((2-1)² + (0-1)²)/2
        1.0000
    """
    fn = "dpo_loss"
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "loss_type", loss_type, ("sigmoid", "hinge", "ipo"))
    b = _check_beta(fn, beta)
    eps = _check_smoothing(fn, label_smoothing)
    if eps > 0.0 and loss_type != "sigmoid":
        raise ValueError(
            f"{fn}: label_smoothing applies to loss_type='sigmoid' only (cDPO), got "
            f"label_smoothing={label_smoothing!r} with loss_type={loss_type!r}"
        )
    _check_return_rewards(fn, return_rewards)
    _check_seq(
        fn,
        "policy_chosen_logps",
        policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        reference_chosen_logps=reference_chosen_logps,
        reference_rejected_logps=reference_rejected_logps,
    )
    checks.check_weight(fn, weight, tuple(policy_chosen_logps.shape))
    _, (pc, pr, rc, rr, w) = prepare(
        fn,
        policy_chosen_logps,
        policy_rejected_logps,
        reference_chosen_logps,
        reference_rejected_logps,
        weight,
    )
    assert pc is not None and pr is not None and rc is not None and rr is not None
    chosen = pc - rc
    rejected = pr - rr
    h = chosen - rejected
    if loss_type == "sigmoid":
        values = _smoothed_logsigmoid_loss(b * h, eps)
    elif loss_type == "hinge":
        values = torch.relu(1.0 - b * h)
    else:
        values = (h - 1.0 / (2.0 * b)) ** 2
    loss = finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={
            "policy_chosen_logps": policy_chosen_logps,
            "policy_rejected_logps": policy_rejected_logps,
            "reference_chosen_logps": reference_chosen_logps,
            "reference_rejected_logps": reference_rejected_logps,
        },
    )
    if return_rewards:
        return loss, (b * chosen).detach(), (b * rejected).detach()
    return loss


# ---------------------------------------------------------------------------------------------------------
# SimPO


@overload
def simpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    *,
    beta: float = ...,
    gamma: float = ...,
    label_smoothing: float = ...,
    return_rewards: Literal[False] = ...,
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> Tensor: ...


@overload
def simpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    *,
    beta: float = ...,
    gamma: float = ...,
    label_smoothing: float = ...,
    return_rewards: Literal[True],
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> tuple[Tensor, Tensor, Tensor]: ...


def simpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    *,
    beta: float = 2.0,
    gamma: float = 1.0,
    label_smoothing: float = 0.0,
    return_rewards: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    r"""SimPO: a reference-free preference loss on length-normalised log-probabilities with a target margin.

    .. math::
        u = \frac{\beta}{|y_w|}\log\pi_\theta(y_w \mid x)
            - \frac{\beta}{|y_l|}\log\pi_\theta(y_l \mid x) - \gamma,
        \qquad \ell = -(1-\varepsilon)\log\sigma(u) - \varepsilon\log\sigma(-u)

    (Meng et al.; ε is the cDPO-style label smoothing TRL's ``CPOTrainer`` offers). The reward is the
    *average* log-probability per token, so no reference model is needed and longer answers are not
    favoured; γ > 0 asks the chosen reward to beat the rejected one by a margin.

    Args:
        policy_chosen_logps: the **average** token log-probability of each chosen response,
            :math:`\frac{1}{|y_w|}\log\pi_\theta(y_w \mid x)`, shape ``(B,)``
            (``sequence_log_probs(logits, labels, average=True)``).
        policy_rejected_logps: the same for the rejected responses; same shape.
        beta: β > 0, the reward scale. Default 2.0; SimPO uses a much larger β than DPO (the paper tunes it
            around 2–2.5 and up to 10). TRL's ``CPOConfig`` default is 0.1 — pass it explicitly to match TRL.
        gamma: the target reward margin γ >= 0 (in reward units, as in the paper and TRL's ``simpo_gamma``).
            Default 1.0 (γ/β = 0.5, the ratio the paper's ablations centre on); TRL's default is 0.5.
        label_smoothing: ε in [0, 0.5]. Default 0.
        return_rewards: ``False`` (default) returns the loss; ``True`` returns ``(loss, chosen_rewards,
            rejected_rewards)`` with the rewards :math:`\beta \cdot` average log-probability (detached), as
            TRL's ``CPOTrainer`` logs them.
        weight: optional per-pair weight ``(B,)``.
        reduction: ``"none"`` (per pair), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss, or the tuple described under ``return_rewards``.

    Raises:
        ValueError: inputs of different shapes, β <= 0, γ < 0, ε outside [0, 0.5], unknown reduction,
            NaN/inf inputs.
        TypeError: non-float inputs.

    References:
        Meng, Xia, Chen, *SimPO: Simple Preference Optimization with a Reference-Free Reward*, NeurIPS 2024
        (arXiv 2405.14734).

    Example:
        Average log-probabilities −0.5 (chosen) and −1.0 (rejected): u = 2·(−0.5 + 1.0) − 1 = 0, so the loss
        is ln 2; with γ = 0 it is −log σ(1):

        >>> import torch
        >>> from losskit.functional import simpo_loss
        >>> chosen, rejected = torch.tensor([-0.5]), torch.tensor([-1.0])
        >>> print(f"{simpo_loss(chosen, rejected).item():.7f}")
        0.6931472
        >>> print(f"{simpo_loss(chosen, rejected, gamma=0.0).item():.7f}")
        0.3132617
    """
    fn = "simpo_loss"
    checks.check_reduction(fn, reduction)
    b = _check_beta(fn, beta)
    g = checks.check_number(fn, "gamma", gamma, low=0.0)
    eps = _check_smoothing(fn, label_smoothing)
    _check_return_rewards(fn, return_rewards)
    _check_seq(fn, "policy_chosen_logps", policy_chosen_logps, policy_rejected_logps=policy_rejected_logps)
    checks.check_weight(fn, weight, tuple(policy_chosen_logps.shape))
    _, (c, r, w) = prepare(fn, policy_chosen_logps, policy_rejected_logps, weight)
    assert c is not None and r is not None
    values = _smoothed_logsigmoid_loss(b * (c - r) - g, eps)
    loss = finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"policy_chosen_logps": policy_chosen_logps, "policy_rejected_logps": policy_rejected_logps},
    )
    if return_rewards:
        return loss, (b * c).detach(), (b * r).detach()
    return loss


# ---------------------------------------------------------------------------------------------------------
# ORPO


@overload
def orpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    *,
    chosen_nll: Tensor | None = ...,
    beta: float = ...,
    return_rewards: Literal[False] = ...,
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> Tensor: ...


@overload
def orpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    *,
    chosen_nll: Tensor | None = ...,
    beta: float = ...,
    return_rewards: Literal[True],
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> tuple[Tensor, Tensor, Tensor]: ...


def orpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    *,
    chosen_nll: Tensor | None = None,
    beta: float = 0.1,
    return_rewards: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    r"""ORPO: the fine-tuning NLL plus λ times an odds-ratio preference term, without a reference model.

    With :math:`P_w = \exp(\bar{\ell}_w)`, :math:`P_l = \exp(\bar{\ell}_l)` from the **average** token
    log-probabilities and :math:`\operatorname{odds}(P) = P / (1 - P)`:

    .. math::
        \log\frac{\operatorname{odds}(P_w)}{\operatorname{odds}(P_l)}
            = (\bar\ell_w - \bar\ell_l) - \big(\log(1 - e^{\bar\ell_w}) - \log(1 - e^{\bar\ell_l})\big),
        \qquad
        \ell = \mathcal{L}_{\text{NLL}}(y_w) - \lambda \log\sigma\Big(\log\frac{\operatorname{odds}(P_w)}
            {\operatorname{odds}(P_l)}\Big)

    (Hong et al.). λ is TRL's ``ORPOConfig.beta`` and is called ``beta`` here for the same reason.

    Args:
        policy_chosen_logps: the **average** token log-probability :math:`\bar\ell_w` of each chosen response,
            shape ``(B,)`` (``sequence_log_probs(..., average=True)``); must be <= 0.
        policy_rejected_logps: :math:`\bar\ell_l` for the rejected responses; same shape, <= 0.
        chosen_nll: the SFT term. ``None`` (default) uses :math:`-\bar\ell_w` per pair, the mean token NLL of
            each chosen response (Hong et al.'s :math:`\mathcal{L}_{SFT}`); pass a ``(B,)`` tensor for your
            own per-pair NLL, or a 0-d tensor (e.g. TRL's token mean of the chosen NLL over the whole batch),
            which is added to every pair (the one documented broadcast).
        beta: λ > 0, the weight of the odds-ratio term. Default 0.1 (the paper's and TRL's).
        return_rewards: ``False`` (default) returns the loss; ``True`` returns ``(loss, chosen_rewards,
            rejected_rewards)`` with :math:`\lambda\bar\ell_w` and :math:`\lambda\bar\ell_l` (detached), TRL's
            logged rewards.
        weight: optional per-pair weight ``(B,)``.
        reduction: ``"none"`` (per pair), ``"mean"`` or ``"sum"``. With a 0-d ``chosen_nll`` and no weight,
            ``"mean"`` equals TRL's ``nll - beta * logsigmoid(log_odds).mean()``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss, or the tuple described under ``return_rewards``.

    Raises:
        ValueError: shape mismatch, log-probabilities > 0 (value check), β <= 0, unknown reduction, NaN/inf.
        TypeError: non-float inputs.

    Note:
        :math:`\log(1 - e^{\bar\ell})` is computed with ``log1mexp`` (accurate on both sides of −ln 2, where
        TRL's ``log1p(-exp(x))`` loses precision near 0), after clamping :math:`\bar\ell` to
        ``log1p(-eps)`` so an average log-probability of exactly 0 gives a finite odds ratio.

    References:
        Hong, Lee, Thorne, *ORPO: Monolithic Preference Optimization without Reference Model*, EMNLP 2024
        (arXiv 2403.07691).

    Example:
        Average log-probabilities ln 0.5 (chosen, odds 1) and ln 0.25 (rejected, odds 1/3): the log odds
        ratio is ln 3, and the odds-ratio term is −log σ(ln 3) = ln(4/3):

        >>> import math, torch
        >>> from losskit.functional import orpo_loss
        >>> c = torch.tensor([math.log(0.5)], dtype=torch.float64)
        >>> r = torch.tensor([math.log(0.25)], dtype=torch.float64)
        >>> print(f"{orpo_loss(c, r).item():.9f}")  # ln 2 + 0.1 · ln(4/3)
        0.721915388
    """
    fn = "orpo_loss"
    checks.check_reduction(fn, reduction)
    b = _check_beta(fn, beta)
    _check_return_rewards(fn, return_rewards)
    _check_seq(fn, "policy_chosen_logps", policy_chosen_logps, policy_rejected_logps=policy_rejected_logps)
    if chosen_nll is not None:
        checks.check_float(fn, "chosen_nll", chosen_nll)
        if chosen_nll.dim() != 0:
            checks.check_shape(
                fn,
                "chosen_nll",
                chosen_nll,
                tuple(policy_chosen_logps.shape),
                "(one NLL per pair, or a 0-d batch NLL)",
            )
        checks.check_same_device(fn, policy_chosen_logps=policy_chosen_logps, chosen_nll=chosen_nll)
    checks.check_weight(fn, weight, tuple(policy_chosen_logps.shape))
    checks.check_log_probabilities(fn, "policy_chosen_logps", policy_chosen_logps)
    checks.check_log_probabilities(fn, "policy_rejected_logps", policy_rejected_logps)
    _, (c, r, nll, w) = prepare(fn, policy_chosen_logps, policy_rejected_logps, chosen_nll, weight)
    assert c is not None and r is not None
    top = math.log1p(-torch.finfo(c.dtype).eps)
    cc, rc = c.clamp(max=top), r.clamp(max=top)
    log_odds = (cc - rc) - (log1mexp(cc) - log1mexp(rc))
    sft = -c if nll is None else nll
    values = sft - b * F.logsigmoid(log_odds)
    loss = finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={
            "policy_chosen_logps": policy_chosen_logps,
            "policy_rejected_logps": policy_rejected_logps,
            "chosen_nll": chosen_nll,
        },
    )
    if return_rewards:
        return loss, (b * c).detach(), (b * r).detach()
    return loss


# ---------------------------------------------------------------------------------------------------------
# KTO


@overload
def kto_loss(
    policy_logps: Tensor,
    reference_logps: Tensor,
    desirable: Tensor,
    *,
    policy_kl_logps: Tensor | None = ...,
    reference_kl_logps: Tensor | None = ...,
    beta: float = ...,
    desirable_weight: float = ...,
    undesirable_weight: float = ...,
    return_rewards: Literal[False] = ...,
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> Tensor: ...


@overload
def kto_loss(
    policy_logps: Tensor,
    reference_logps: Tensor,
    desirable: Tensor,
    *,
    policy_kl_logps: Tensor | None = ...,
    reference_kl_logps: Tensor | None = ...,
    beta: float = ...,
    desirable_weight: float = ...,
    undesirable_weight: float = ...,
    return_rewards: Literal[True],
    weight: Tensor | None = ...,
    reduction: str = ...,
    normalizer: float | Tensor | None = ...,
    process_group: ProcessGroup | None = ...,
) -> tuple[Tensor, Tensor, Tensor]: ...


def kto_loss(
    policy_logps: Tensor,
    reference_logps: Tensor,
    desirable: Tensor,
    *,
    policy_kl_logps: Tensor | None = None,
    reference_kl_logps: Tensor | None = None,
    beta: float = 0.1,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
    return_rewards: bool = False,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    r"""KTO: Kahneman–Tversky Optimization on unpaired desirable / undesirable examples.

    With the implied reward :math:`r = \log\pi_\theta(y \mid x) - \log\pi_{\text{ref}}(y \mid x)` and the
    reference point :math:`z_0`:

    .. math::
        \ell(x, y) = \begin{cases}
            \lambda_D \big(1 - \sigma(\beta (r - z_0))\big) & y \text{ desirable} \\
            \lambda_U \big(1 - \sigma(\beta (z_0 - r))\big) & y \text{ undesirable}
        \end{cases}, \qquad
        z_0 = \max\Big(0,\ \frac{1}{m}\sum_{j=1}^{m} \log\frac{\pi_\theta(y'_j \mid x_j)}
            {\pi_{\text{ref}}(y'_j \mid x_j)}\Big)

    (Ethayarajh et al.: :math:`\lambda_y - v(x, y)`). :math:`z_0` estimates
    :math:`KL(\pi_\theta \| \pi_{\text{ref}})` from **mismatched** pairs :math:`(x_j, y'_j)` (each prompt
    with another example's completion, e.g. the batch's completions shifted by one), clamped at 0 and
    **detached**: no gradient flows through it, as in the paper and TRL's ``KTOTrainer``.

    Args:
        policy_logps: :math:`\log\pi_\theta(y \mid x)` of each example (summed token log-probabilities),
            shape ``(B,)``.
        reference_logps: :math:`\log\pi_{\text{ref}}(y \mid x)`, same shape.
        desirable: bool ``(B,)``, True for desirable ("thumbs up", TRL's chosen) examples and False for
            undesirable ones. Unlike TRL, which takes the two groups as separate tensors, one batch holds
            both, so ``reduction="none"`` returns one value per example in input order.
        policy_kl_logps: :math:`\log\pi_\theta(y'_j \mid x_j)` of the mismatched pairs, shape ``(m,)`` with
            m >= 1 (any m; across ranks, m >= 0 per rank). Give both KL tensors or neither: with neither,
            :math:`z_0 = 0` (TRL's ``calculate_KL=False``).
        reference_kl_logps: :math:`\log\pi_{\text{ref}}(y'_j \mid x_j)`, same shape.
        beta: β > 0. Default 0.1 (the paper's and TRL's).
        desirable_weight: :math:`\lambda_D > 0`. Default 1.
        undesirable_weight: :math:`\lambda_U > 0`. Default 1. The paper recommends
            :math:`\lambda_D n_D / (\lambda_U n_U) \in [1, 4/3]` for :math:`n_D` desirable and :math:`n_U`
            undesirable examples.
        return_rewards: ``False`` (default) returns the loss; ``True`` returns ``(loss, rewards, z0)`` with
            the detached rewards :math:`\beta r` per example ``(B,)`` (split them with ``desirable``) and the
            0-d reference point :math:`z_0` (TRL's logged ``kl``).
        weight: optional per-example weight ``(B,)`` on top of :math:`\lambda_D, \lambda_U`.
        reduction: ``"none"`` (per example), ``"mean"`` (over all examples, desirable and undesirable, as
            TRL's mean of the concatenated losses) or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss, or the tuple described under ``return_rewards``.

    Raises:
        ValueError: shape mismatches, only one KL tensor, an empty KL batch, β or a λ <= 0, unknown
            reduction, NaN/inf inputs.
        TypeError: non-float log-probabilities or a non-bool ``desirable``.

    Note:
        Under data parallelism the paper and TRL average the KL estimate over all ranks: with a
        ``process_group`` z0 is the mean over every rank's mismatched pairs (one all-reduce of 2 numbers;
        a rank may then hold none), so the loss is that of the union of the ranks' batches.

    References:
        Ethayarajh, Xu, Muennighoff, Jurafsky, Kiela, *KTO: Model Alignment as Prospect Theoretic
        Optimization*, ICML 2024 (arXiv 2402.01306).

    Example:
        Rewards r = ±2 with z0 = 0 and β = 0.5: a desirable example with r = 2 costs 1 − σ(1) = 0.268941421,
        an undesirable one with r = 2 costs 1 − σ(−1) = 0.731058579:

        >>> import torch
        >>> from losskit.functional import kto_loss
        >>> policy = torch.tensor([-10.0, -10.0], dtype=torch.float64)
        >>> ref = torch.tensor([-12.0, -12.0], dtype=torch.float64)
        >>> kto_loss(policy, ref, torch.tensor([True, False]), beta=0.5, reduction="none")
        tensor([0.2689, 0.7311], dtype=torch.float64)

        A KL estimate of 2 (mismatched completions) moves the reference point to the reward itself:

        >>> kl_policy, kl_ref = torch.tensor([-20.0, -21.0]), torch.tensor([-22.0, -23.0])
        >>> kto_loss(policy, ref, torch.tensor([True, False]), policy_kl_logps=kl_policy,
        ...          reference_kl_logps=kl_ref, beta=0.5, reduction="none")
        tensor([0.5000, 0.5000], dtype=torch.float64)
    """
    fn = "kto_loss"
    checks.check_reduction(fn, reduction)
    b = _check_beta(fn, beta)
    lam_d = checks.check_number(fn, "desirable_weight", desirable_weight, low=0.0, low_open=True)
    lam_u = checks.check_number(fn, "undesirable_weight", undesirable_weight, low=0.0, low_open=True)
    _check_return_rewards(fn, return_rewards)
    _check_seq(fn, "policy_logps", policy_logps, reference_logps=reference_logps)
    checks.check_tensor(fn, "desirable", desirable)
    if desirable.dtype != torch.bool:
        raise TypeError(
            f"{fn}: desirable must be a bool tensor (True = desirable), got dtype {desirable.dtype}"
        )
    checks.check_shape(fn, "desirable", desirable, tuple(policy_logps.shape), "(one flag per example)")
    if (policy_kl_logps is None) != (reference_kl_logps is None):
        given = "policy_kl_logps" if policy_kl_logps is not None else "reference_kl_logps"
        raise ValueError(
            f"{fn}: policy_kl_logps and reference_kl_logps go together (the KL estimate needs "
            f"both), got only {given}"
        )
    if policy_kl_logps is not None and reference_kl_logps is not None:
        _check_seq(fn, "policy_kl_logps", policy_kl_logps, reference_kl_logps=reference_kl_logps)
        # across ranks a rank may hold no mismatched pairs (the mean is over every rank's)
        if policy_kl_logps.dim() != 1 or (policy_kl_logps.shape[0] == 0 and process_group is None):
            raise ValueError(
                f"{fn}: policy_kl_logps must have shape (m,) with m >= 1 mismatched pairs, got "
                f"{checks.fmt_shape(policy_kl_logps.shape)}"
            )
    checks.check_same_device(
        fn, policy_logps=policy_logps, desirable=desirable, policy_kl_logps=policy_kl_logps
    )
    checks.check_weight(fn, weight, tuple(policy_logps.shape))
    # the detached, clamped reference point can hide a non-finite input from the result: check explicitly
    for nm, tv in (
        ("policy_logps", policy_logps),
        ("reference_logps", reference_logps),
        ("policy_kl_logps", policy_kl_logps),
        ("reference_kl_logps", reference_kl_logps),
    ):
        checks.check_finite(fn, nm, tv)
    _, (p, r, pk, rk, w) = prepare(
        fn, policy_logps, reference_logps, policy_kl_logps, reference_kl_logps, weight
    )
    assert p is not None and r is not None
    ratio = p - r
    group = dist_.resolve_group(fn, process_group)
    if pk is not None and rk is not None and group is not None:
        # the KL estimate of every rank's mismatched pairs, as the paper and TRL average it (detached)
        both = dist_.all_reduce_sum(
            torch.stack([(pk - rk).detach().sum(), pk.new_tensor(float(pk.numel()))]), group
        )
        z0 = (both[0] / both[1].clamp_min(1.0)).clamp(min=0.0)
    elif pk is not None and rk is not None:
        z0 = (pk - rk).mean().clamp(min=0.0).detach()
    else:
        z0 = torch.zeros((), dtype=ratio.dtype, device=ratio.device)
    # 1 - σ(a) = σ(-a): one sigmoid per branch, finite and saturating cleanly at any margin
    values = torch.where(
        desirable, lam_d * torch.sigmoid(b * (z0 - ratio)), lam_u * torch.sigmoid(b * (ratio - z0))
    )
    loss = finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={
            "policy_logps": policy_logps,
            "reference_logps": reference_logps,
            "policy_kl_logps": policy_kl_logps,
            "reference_kl_logps": reference_kl_logps,
        },
    )
    if return_rewards:
        return loss, (b * ratio).detach(), z0
    return loss
