r"""Segmentation overlap losses: Dice, generalized Dice, Tversky, focal Tversky, Jaccard and Lovász.

Shared conventions (SPEC §4). Every function takes ``(input, target, *, input_type="logits",
multilabel=False, include_background=True, ignore_index=None, weight=None, smooth=1e-5, per_image=True,
mask=None, reduction="mean")`` plus its own options:

* ``input`` is ``(N, C, *spatial)`` with one or more spatial dimensions (2-D images, 3-D volumes).
  Logits become probabilities through a softmax over ``C`` (the default), or a per-channel sigmoid with
  ``multilabel=True`` and always when ``C = 1`` (binary segmentation). ``input_type="probs"`` (or
  ``"log_probs"``) skips the activation.
* ``target`` is either class indices ``(N, *spatial)`` (integer; for ``C = 1`` the labels are 0 / 1) or
  probabilities / one-hot / multi-hot masks ``(N, C, *spatial)`` (float; bool and integer masks of that
  shape are converted).
* Scores are computed per (sample, class) over the spatial positions (``per_image=True``, MONAI's default)
  or per class over the whole batch (``per_image=False``: nnU-Net's "batch Dice", what
  segmentation-models-pytorch computes). ``reduction="none"`` returns the ``(N, C)`` matrix (``(C,)``
  with ``per_image=False``; one column fewer with ``include_background=False``), multiplied by the
  per-class ``weight``; ``"mean"`` is the class-weighted mean :math:`\sum w_c \ell_{nc} / \sum w_c` over its
  entries and ``"sum"`` their weighted sum.
* Pixels whose index target equals ``ignore_index``, or where ``mask`` is False, are left out of every
  sum. A fully ignored (or empty) score has loss 0 and a working backward.
* **Soft labels** (Wang et al. 2023): with a dense target the intersection is
  :math:`TP = (\sum p + \sum g - \sum |p - g|)/2`, always, with no switch. For binary targets (one-hot,
  multi-hot, 0 / 1) it equals :math:`\sum p g`, so hard labels give the values they always gave; for
  probability targets it is the form whose loss is 0 exactly at ``input == target`` (the product form is
  not minimised there: ``dice_loss(q, q)`` on a soft ``q`` is well above 0, and a pixel with target 0.5 scored
  better at 1.0 than at 0.5). :math:`FP = \sum p - TP`, :math:`FN = \sum g - TP`. This is MONAI's
  ``soft_label=True`` and segmentation-models-pytorch's (>= 0.4) only form. The squared sums
  (``squared=True``) need no change: :math:`\sum p^2 + \sum g^2 - \sum (p - g)^2 = 2\sum p g`.
* Peer options: ``smooth_nr`` / ``smooth_dr`` (MONAI) override ``smooth`` in the numerator / denominator;
  ``log_loss=True`` (segmentation-models-pytorch) returns :math:`-\log(\text{score})` instead of
  :math:`1 - \text{score}`; ``activation=callable`` (MONAI's ``other_act``) replaces the softmax / sigmoid of
  the logits, its output checked to lie in [0, 1] like ``input_type="probs"`` input.
* **Decision** (SPEC §4): smoothing is added to numerator and denominator, so an empty target with an
  empty prediction gives loss 0, and an empty target with a non-empty prediction a loss near 1
  (docs/segmentation-empty-masks.md compares MONAI, segmentation-models-pytorch and kornia).
* float16 / bfloat16 inputs are computed and returned in float32. No function reads tensor values to
  decide what to compute: all of them compile with ``torch.compile(fullgraph=True)``.
* Class-index targets never become a one-hot tensor. With logits, the per-class sums of the ratio losses
  go through one ``autograd.Function`` (:mod:`losskit.kernels.segmentation`) that saves only its inputs
  and writes a closed-form gradient in place (one input-sized tensor and chunk buffers at the peak; tested
  against autograd of the formula); with logits and no mask the label range check reads the kernel's
  class volumes instead of the labels. Double backward through it differentiates the plain formula, so
  gradient penalties and Hessian-vector products are exact; ``torch.func`` takes the plain formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks, fastpath
from losskit._core.dtypes import compute_dtype, eps_for, upcast
from losskit.functional._common import check_input_type, finish
from losskit.kernels.lovasz import Lovasz, dense_target, lovasz_extension, plain_lovasz
from losskit.kernels.segmentation import IndexStats
from losskit.kernels.segmentation import index_sums as _index_sums
from losskit.kernels.segmentation import softmax as _softmax

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_loss",
    "tversky_loss",
]

_WEIGHTINGS = ("square", "simple", "uniform")
_REDUCTIONS = ("none", "mean", "sum")


# --------------------------------------------------------------------------------------------------
# shared input handling


@dataclass
class _Overlap:
    """Validated, upcast inputs of an overlap loss, with spatial dimensions flattened to one ``S``."""

    x: Tensor  # the input as given (upcast), (N, C, S)
    input_type: str
    sigmoid: bool  # per-channel sigmoid (multilabel or C == 1) rather than a softmax over C
    labels: Tensor | None  # class indices (N, S), ignored pixels replaced by 0
    dense: Tensor | None  # probability / one-hot target (N, C, S); the binary index target lands here too
    valid: Tensor | None  # (N, S) float 1 = counted, 0 = ignored; None when nothing can be ignored
    weight: Tensor | None  # per-class weight of the kept classes (C',)
    first: int  # 1 when the background channel is dropped, else 0
    activation: Callable[[Tensor], Tensor] | None = None  # replaces the softmax / sigmoid of the logits
    # (target, classes, ignore_index) whose label range :func:`_stats` checks: from the kernel's class
    # volumes where it runs, else with :func:`losskit._core.checks.check_labels`
    unchecked: tuple[Tensor, int, int | None] | None = None

    def probs(self, fn: str) -> Tensor:
        """Probabilities ``(N, C, S)`` of every class (background included)."""
        if self.activation is not None:
            p = self.activation(self.x)
            _check_activated(fn, p, self.x)
            return p
        if self.input_type == "logits":
            return torch.sigmoid(self.x) if self.sigmoid else _softmax(self.x)
        if self.input_type == "probs":
            checks.check_probabilities(fn, "input", self.x.detach())
            return self.x
        checks.check_log_probabilities(fn, "input", self.x.detach())
        return torch.exp(self.x)

    def target_dense(self, num_classes: int) -> Tensor:
        """The target as a dense ``(N, C, S)`` tensor (one-hot for index targets), ignored pixels zeroed."""
        if self.dense is not None:
            g = self.dense
        else:
            assert self.labels is not None
            classes = torch.arange(num_classes, device=self.labels.device).view(1, -1, 1)
            g = (self.labels.unsqueeze(1) == classes).to(self.x.dtype)
        return g if self.valid is None else g * self.valid.unsqueeze(1)


_check_flag = checks.check_flag  # the shared vocabulary; the old name kept for modules that import it


def _check_head_options(
    fn: str, *, input_type: str, multilabel: bool, include_background: bool, reduction: str
) -> None:
    """The options of every loss on ``(N, C, *spatial)`` class scores (segmentation and boundary losses)."""
    checks.check_reduction(fn, reduction)
    check_input_type(fn, input_type)
    _check_flag(fn, "multilabel", multilabel)
    _check_flag(fn, "include_background", include_background)


def _check_options(
    fn: str,
    *,
    input_type: str,
    multilabel: bool,
    include_background: bool,
    ignore_index: int | None,
    per_image: bool,
    reduction: str,
    smooth: float | None = None,
) -> None:
    """Option checks shared by every overlap loss (no tensors involved: also run by the Modules)."""
    _check_head_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        reduction=reduction,
    )
    _check_flag(fn, "per_image", per_image)
    checks.check_ignore_index(fn, ignore_index, optional=True)
    if smooth is not None:
        checks.check_number(fn, "smooth", smooth, low=0.0)


def _check_scores(fn: str, input: Tensor) -> None:
    """``input`` is a floating ``(N, C, *spatial)`` tensor with at least one spatial dimension."""
    checks.check_float(fn, "input", input)
    if input.dim() < 3:
        raise ValueError(
            f"{fn}: input must have shape (N, C, *spatial) with at least one spatial dimension, got "
            f"{checks.fmt_shape(input.shape)}"
        )


def _prepare(
    fn: str,
    input: Tensor,
    target: Tensor,
    *,
    input_type: str,
    multilabel: bool,
    include_background: bool,
    ignore_index: int | None,
    weight: Tensor | None,
    mask: Tensor | None,
    defer_labels: bool = False,
) -> _Overlap:
    """Validate input, target, weight and mask; upcast; flatten the spatial dimensions.

    ``defer_labels`` (callers that go on to :func:`_stats`): the label range of a class-index target of
    several classes without a mask is left to :func:`_stats`, which checks it on the kernel's class
    volumes (no pass over the labels) where the kernel runs. With a mask the labels of masked-out pixels
    count too, so they are checked here; likewise beyond 2**24 pixels per image, where a float32 count
    no longer tells one missing pixel.
    """
    _check_scores(fn, input)
    checks.check_tensor(fn, "target", target)
    n, num_classes = int(input.shape[0]), int(input.shape[1])
    spatial = tuple(int(s) for s in input.shape[2:])
    sigmoid = multilabel or num_classes == 1
    index_shape = (n, *spatial)

    is_index = target.dim() == input.dim() - 1
    unchecked: tuple[Tensor, int, int | None] | None = None
    if is_index:
        target = checks.check_index_target(fn, "target", target)
        checks.check_shape(fn, "target", target, index_shape, "(class indices: input's shape without C)")
        if defer_labels and mask is None and num_classes > 1 and math.prod(spatial) < 1 << 24:
            unchecked = (target, num_classes, ignore_index)
        else:
            checks.check_labels(fn, "target", target, 2 if num_classes == 1 else num_classes, ignore_index)
    else:
        channel_index = target.dim() == input.dim() and target.shape[1] == 1 and num_classes > 1
        if channel_index and not target.is_floating_point():
            raise ValueError(
                f"{fn}: target must have shape {checks.fmt_shape(index_shape)} for class indices or "
                f"{checks.fmt_shape(input.shape)} for one-hot / probability targets, got "
                f"{checks.fmt_shape(target.shape)}; for class indices drop the channel: target.squeeze(1)"
            )
        hint = f"(probability / one-hot targets; class indices are {checks.fmt_shape(index_shape)})"
        checks.check_shape(fn, "target", target, tuple(input.shape), hint)
        if ignore_index is not None:
            raise ValueError(
                f"{fn}: ignore_index applies to class-index targets, got ignore_index={ignore_index} with a "
                f"target of shape {checks.fmt_shape(target.shape)}; pass mask= to leave pixels out instead"
            )
        if target.is_complex():
            raise TypeError(f"{fn}: target must be a real tensor, got dtype {target.dtype}")
        checks.check_probabilities(fn, "target", target.detach())
    checks.check_class_weight(fn, weight, num_classes)
    checks.check_mask(fn, mask, index_shape, "(N, *spatial): one flag per pixel")
    checks.check_same_device(fn, input=input, target=target, weight=weight, mask=mask)

    dtype = compute_dtype(input, target if target.is_floating_point() else None, weight)
    size = math.prod(spatial)
    x = upcast(input, dtype).reshape(n, num_classes, size)
    w = None if weight is None else upcast(weight, dtype)

    valid: Tensor | None = None
    keep: Tensor | None = None if mask is None else mask.reshape(n, size)
    labels: Tensor | None = None
    dense: Tensor | None = None
    if is_index:
        t = target.reshape(n, size)
        if ignore_index is not None:
            ok = t != ignore_index
            keep = ok if keep is None else keep & ok
            t = torch.where(ok, t, torch.zeros_like(t))
        if num_classes == 1:
            dense = (t == 1).to(dtype).unsqueeze(1)
        else:
            labels = t
    else:
        dense = target.reshape(n, num_classes, size).to(dtype)
    if keep is not None:
        valid = keep.to(dtype)

    first = 0 if include_background or num_classes == 1 else 1
    if w is not None:
        w = w[first:]
    return _Overlap(x, input_type, sigmoid, labels, dense, valid, w, first, unchecked=unchecked)


def _stats(
    fn: str,
    o: _Overlap,
    *,
    per_image: bool,
    squared: bool = False,
    group: Any = None,
    facts: dict[str, int] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(Σ p g, Σ p, Σ g)`` per (sample, class) or per class (``Σ p²``, ``Σ g²`` when ``squared``).

    Index targets never become a one-hot tensor, and with logits they take the closed-form backward of
    :class:`losskit.kernels.segmentation.IndexStats` (where :func:`losskit._core.fastpath.applies`);
    dense targets use plain autograd. With a (resolved) process ``group`` and ``per_image=False`` the
    per-class sums are added over the ranks (one all-reduce of 3·C numbers), so the batch statistics are
    those of the union of every rank's images; ``facts`` (and the class count, ``per_image``, ``squared``)
    must agree on every rank (checked under ``set_checks("full")``).
    """
    if group is not None:
        dist_.check_consistent(
            fn,
            group,
            o.x.device,
            classes=int(o.x.shape[1]) - o.first,
            per_image=int(per_image),
            squared=int(squared),
            **(facts or {}),
        )
    v = o.valid
    if o.labels is not None:
        sg = None
        if o.input_type == "logits" and o.activation is None and fastpath.applies():
            if o.unchecked is not None and (o.sigmoid or squared):  # the kernel counts no class volumes
                _check_labels(fn, o)
            tp, sp, _, counted, sg, _ = IndexStats.apply(o.x, o.labels, v, o.sigmoid, squared)
            if o.unchecked is not None and counted.numel():
                _check_counted(fn, o, sg, counted)
        else:
            _check_labels(fn, o)
            tp, sp = _index_sums(o.probs(fn), o.labels, v, squared)
        if sg is None or sg.numel() == 0:
            count = o.x.new_ones(()).expand_as(o.labels) if v is None else v  # class volumes: counted pixels
            sg = o.x.new_zeros(tp.shape).scatter_add(1, o.labels, count)
        tp, sp, sg = tp[:, o.first :], sp[:, o.first :], sg[:, o.first :]
    else:
        p = o.probs(fn)[:, o.first :]
        g = o.target_dense(o.x.shape[1])[:, o.first :]
        if v is not None:
            p = p * v.unsqueeze(1)
        sp = (p * p).sum(-1) if squared else p.sum(-1)
        sg = (g * g).sum(-1) if squared else g.sum(-1)
        # Soft labels (Wang et al. 2023): TP = (|p|₁ + |g|₁ - |p - g|₁) / 2, equal to Σ p g for binary g and
        # the form whose scores are 1 exactly at p = g for soft g. The squared sums need no change:
        # Σ p² + Σ g² - Σ (p - g)² = 2 Σ p g.
        tp = (p * g).sum(-1) if squared else _soft_intersection(p, g, sp, sg)
    if not per_image:
        tp, sp, sg = tp.sum(0), sp.sum(0), sg.sum(0)
        if group is not None:
            tp, sp, sg = dist_.all_reduce_sum(torch.stack([tp, sp, sg]), group).unbind(0)
    return tp, sp, sg


def _check_labels(fn: str, o: _Overlap) -> None:
    """The label range check :func:`_prepare` deferred, as one pass over the labels."""
    if o.unchecked is not None:
        target, classes, ignore_index = o.unchecked
        o.unchecked = None
        checks.check_labels(fn, "target", target, classes, ignore_index)


def _check_counted(fn: str, o: _Overlap, sg: Tensor, counted: Tensor) -> None:
    """The deferred label range check on the kernel's counts ``(N, C)`` and ``(N,)``.

    A counted pixel whose label lies outside ``[0, C)`` falls in no class volume, so the volumes add up
    to less than the counted pixels (integers in float, exact below 2**24 per image). Only then are the
    labels read, to name the bad one.
    """
    if checks.values_checked(sg) and not bool((sg.sum(1) == counted).all()):
        _check_labels(fn, o)
    o.unchecked = None


def _soft_intersection(p: Tensor, g: Tensor, sp: Tensor, sg: Tensor) -> Tensor:
    """``(Σ p + Σ g - Σ |p - g|) / 2`` over the last dimension (Wang et al.'s soft-label intersection)."""
    return 0.5 * (sp + sg - (p - g).abs().sum(-1))


def _check_activated(fn: str, p: Tensor, x: Tensor) -> None:
    if p.shape != x.shape:
        raise ValueError(
            f"{fn}: activation must return a tensor of the input's shape {checks.fmt_shape(x.shape)}, got "
            f"{checks.fmt_shape(p.shape)}"
        )
    checks.check_probabilities(fn, "activation(input)", p.detach())


def _check_extras(
    fn: str,
    *,
    input_type: str,
    activation: Any = None,
    smooth_nr: Any = None,
    smooth_dr: Any = None,
    log_loss: Any = False,
) -> None:
    """Checks of the peer-parity options (custom activation, split smoothing, log loss)."""
    if activation is not None:
        if not callable(activation):
            raise TypeError(
                f"{fn}: activation must be a callable (e.g. torch.sigmoid) or None, got {activation!r}"
            )
        if input_type != "logits":
            raise ValueError(
                f"{fn}: activation applies to logits, got input_type={input_type!r}; pass "
                "input_type='logits' with activation=, or probabilities without it"
            )
    for name, v in (("smooth_nr", smooth_nr), ("smooth_dr", smooth_dr)):
        if v is not None:
            checks.check_number(fn, name, v, low=0.0)
    _check_flag(fn, "log_loss", log_loss)


def _smoothing(smooth: float, smooth_nr: float | None, smooth_dr: float | None) -> tuple[float, float]:
    """Numerator and denominator smoothing: ``smooth`` unless ``smooth_nr`` / ``smooth_dr`` are given."""
    return (
        float(smooth) if smooth_nr is None else float(smooth_nr),
        float(smooth) if smooth_dr is None else float(smooth_dr),
    )


def _score_to_loss(log_loss: bool) -> Callable[[Tensor], Tensor]:
    """``1 - score``, or smp's ``-log(score)`` (the score clamped to the smallest normal number)."""
    if log_loss:
        return lambda t: -torch.log(t.clamp_min(torch.finfo(t.dtype).tiny))
    return lambda t: 1.0 - t


def _ratio(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with ``0 / 0 := 1`` (an empty score is a perfect score; only reachable with smooth=0)."""
    empty = den == 0
    return torch.where(empty, torch.ones_like(num), num / torch.where(empty, torch.ones_like(den), den))


def _run(
    fn: str,
    input: Tensor,
    target: Tensor,
    score: Callable[[Tensor, Tensor, Tensor, float, float], Tensor],
    *,
    squared: bool = False,
    input_type: str,
    multilabel: bool,
    include_background: bool,
    ignore_index: int | None,
    weight: Tensor | None,
    smooth: float,
    per_image: bool,
    mask: Tensor | None,
    reduction: str,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    activation: Callable[[Tensor], Tensor] | None = None,
    to_loss: Callable[[Tensor], Tensor] | None = None,
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    """The common body of the ratio losses: validate, sum, ``to_loss(score(tp, Σp, Σg, nr, dr))``, reduce.

    ``per_image=False`` losses are already global after :func:`_stats` (the same ``(C,)`` on every rank),
    so their reduction over classes is local; ``per_image=True`` losses are averaged over every rank's
    images.
    """
    _check_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        per_image=per_image,
        reduction=reduction,
        smooth=smooth,
    )
    _check_extras(fn, input_type=input_type, activation=activation, smooth_nr=smooth_nr, smooth_dr=smooth_dr)
    o = _prepare(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        mask=mask,
        defer_labels=True,
    )
    o.activation = activation
    group = dist_.resolve_group(fn, process_group)
    tp, sp, sg = _stats(
        fn,
        o,
        per_image=per_image,
        squared=squared,
        group=group,
        facts={"reduction": _REDUCTIONS.index(reduction)},
    )
    loss = (to_loss or _score_to_loss(False))(score(tp, sp, sg, *_smoothing(smooth, smooth_nr, smooth_dr)))
    return finish(
        fn,
        loss,
        reduction,
        o.weight,
        normalizer=normalizer,
        process_group=group if per_image else None,
        inputs={"input": input, "target": target},
    )


def _options_validator(fn: str, **own: Callable[[Any], Any]) -> Callable[..., None]:
    """Eager check of a Module's plain options (used by :class:`losskit.nn.FunctionalLoss`)."""

    def validate(**options: Any) -> None:
        _check_options(
            fn,
            input_type=options.get("input_type", "logits"),
            multilabel=options.get("multilabel", False),
            include_background=options.get("include_background", True),
            ignore_index=options.get("ignore_index"),
            per_image=options.get("per_image", True),
            reduction=options.get("reduction", "mean"),
            smooth=options.get("smooth"),
        )
        for name, check in own.items():
            if name in options:
                check(options[name])
        _check_extras(
            fn,
            input_type=options.get("input_type", "logits"),
            activation=options.get("activation"),
            smooth_nr=options.get("smooth_nr"),
            smooth_dr=options.get("smooth_dr"),
            log_loss=options.get("log_loss", False),
        )

    return validate


# --------------------------------------------------------------------------------------------------
# Dice


def dice_loss(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    smooth: float = 1e-5,
    per_image: bool = True,
    squared: bool = False,
    mask: Tensor | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    log_loss: bool = False,
    activation: Callable[[Tensor], Tensor] | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Soft Dice loss (Sørensen–Dice), per sample and class.

    .. math::
        \ell_{nc} = 1 - \frac{2\sum_i p_i g_i + s}{\sum_i p_i + \sum_i g_i + s}
        \qquad\text{or, with } \texttt{squared=True},\qquad
        1 - \frac{2\sum_i p_i g_i + s}{\sum_i p_i^2 + \sum_i g_i^2 + s}

    with :math:`i` running over the spatial positions of sample :math:`n` (and over the batch with
    ``per_image=False``), :math:`p` the predicted probability of class :math:`c` and :math:`g` its target.
    For a dense (probability) target, :math:`2\sum_i p_i g_i` is computed as
    :math:`\sum_i p_i + \sum_i g_i - \sum_i |p_i - g_i|` (Wang et al.'s Dice semimetric loss): the same
    number for binary targets, and 0 loss exactly at :math:`p = g` for soft targets.

    Args:
        input: logits ``(N, C, *spatial)`` (or probabilities / log-probabilities, see ``input_type``).
        target: class indices ``(N, *spatial)`` (int; 0 / 1 when ``C = 1``) or probability / one-hot /
            multi-hot masks ``(N, C, *spatial)``.
        input_type: {input_type}
        multilabel: per-channel sigmoid instead of a softmax over ``C`` (overlapping classes). A single
            channel (``C = 1``) always uses the sigmoid.
        include_background: ``False`` leaves channel 0 out (the softmax still runs over all channels);
            helps when a small foreground is swamped by the background. No effect when ``C = 1``.
        ignore_index: index-target value whose pixels are left out of every sum (e.g. 255 for unlabeled).
        weight: per-class weight ``(C,)``, indexed by class id (background included even when it is
            dropped); ``"mean"`` divides by the summed weights.
        smooth: :math:`s \ge 0`, added to numerator and denominator (MONAI's ``smooth_nr = smooth_dr``).
            It decides the empty-mask values: empty target and empty prediction give 0, empty target and a
            non-empty prediction :math:`\approx 1`. With ``smooth=0`` an empty score counts as perfect (0).
        per_image: ``True`` scores each sample on its own (MONAI's default); ``False`` pools the batch
            before the ratio ("batch Dice", segmentation-models-pytorch's behaviour), which is stable when
            many images lack a class.
        squared: V-Net's squared denominator :math:`\sum p^2 + \sum g^2`.
        mask: optional bool ``(N, *spatial)``, True = keep; the way to leave pixels out with dense targets.
        smooth_nr: numerator smoothing, overrides ``smooth`` there (MONAI's ``smooth_nr``). Default None.
        smooth_dr: denominator smoothing, overrides ``smooth`` there (MONAI's ``smooth_dr``). Default None.
        log_loss: ``True`` returns :math:`-\log(\text{score})` (segmentation-models-pytorch's
            ``log_loss``; steeper far from the optimum), the score clamped to the smallest normal number.
            Default False: :math:`1 - \text{score}`.
        activation: a callable applied to the logits instead of the softmax / sigmoid (MONAI's
            ``other_act``, e.g. a tempered softmax); its output must have the input's shape and lie in
            [0, 1]. Only with ``input_type="logits"``. Default None.
        reduction: ``"none"`` (the ``(N, C)`` or ``(C,)`` matrix), ``"mean"`` or ``"sum"``.
        normalizer: replaces the denominator of ``reduction="mean"`` (the summed class weights of the
            entries) with a number or 0-d tensor > 0 (mmdet's ``avg_factor``). Default None.
        process_group: None (default, local) or a ``torch.distributed`` process group. With
            ``per_image=False`` the per-class sums (3·C numbers) are added over the ranks before the
            ratio: the batch score of the union of every rank's images, the same on every rank. With
            ``per_image=True`` the mean over images is global. See docs/distributed.md.

    Returns:
        The loss; 0-d unless ``reduction="none"``. Values lie in [0, 1].

    Raises:
        ValueError: on a target shape that matches neither form, labels out of range, probabilities outside
            [0, 1], a bad weight or mask, ``ignore_index`` with a dense target, unknown options,
            ``smooth < 0`` or NaN / inf inputs (value checks: see :func:`losskit.set_checks`).
        TypeError: on non-tensors, an integer input, a float index target or non-bool flags.

    Note:
        SPEC's name for the smoothed Dice with ``smooth`` in both numerator and denominator; MONAI's
        ``DiceLoss(smooth_nr=s, smooth_dr=s)`` gives the same numbers, segmentation-models-pytorch's
        ``smooth=s`` equals losskit's ``smooth=2s`` (it smooths :math:`TP` rather than :math:`2TP`). On soft
        targets MONAI needs ``soft_label=True`` to agree (its default keeps the product form).

    References:
        Milletari, Navab, Ahmadi, *V-Net: Fully Convolutional Neural Networks for Volumetric Medical Image
        Segmentation*, 3DV 2016 (arXiv 1606.04797).
        Wang, Popordanoska, Bertels, Lemmens, Blaschko, *Dice Semimetric Losses: Optimizing the Dice Score
        with Soft Labels*, MICCAI 2023 (arXiv 2303.16296).

    Example:
        SPEC §4: :math:`p = [0.9, 0.8, 0.2, 0.1]`, :math:`g = [1, 1, 0, 0]`, no smoothing.

        >>> import torch
        >>> from losskit.functional import dice_loss
        >>> p = torch.tensor([[[0.9, 0.8, 0.2, 0.1]]], dtype=torch.float64)  # (N, C, W) = (1, 1, 4)
        >>> g = torch.tensor([[1, 1, 0, 0]])                                  # (N, W): labels 0 / 1
        >>> print(f"{dice_loss(p, g, input_type='probs', smooth=0.0).item():.10f}")
        0.1500000000
        >>> print(f"{dice_loss(p, g, input_type='probs', smooth=0.0, squared=True).item():.10f}")
        0.0285714286
    """
    _check_flag("dice_loss", "squared", squared)
    _check_flag("dice_loss", "log_loss", log_loss)

    def score(tp: Tensor, sp: Tensor, sg: Tensor, snr: float, sdr: float) -> Tensor:
        return _ratio(2.0 * tp + snr, sp + sg + sdr)

    return _run(
        "dice_loss",
        input,
        target,
        score,
        squared=squared,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        smooth=smooth,
        per_image=per_image,
        mask=mask,
        reduction=reduction,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        activation=activation,
        to_loss=_score_to_loss(log_loss),
        normalizer=normalizer,
        process_group=process_group,
    )


# --------------------------------------------------------------------------------------------------
# Jaccard


def jaccard_loss(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    smooth: float = 1e-5,
    per_image: bool = True,
    squared: bool = False,
    mask: Tensor | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    log_loss: bool = False,
    activation: Callable[[Tensor], Tensor] | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Soft Jaccard (intersection-over-union) loss, per sample and class.

    .. math::
        \ell_{nc} = 1 - \frac{\sum_i p_i g_i + s}{\sum_i p_i + \sum_i g_i - \sum_i p_i g_i + s}

    For dense targets the intersection is Wang et al.'s soft form (see :func:`dice_loss`), which makes the
    loss their Jaccard metric loss: 0 exactly at :math:`p = g` for soft targets, unchanged for binary ones.

    Args:
        input, target, input_type, multilabel, include_background, ignore_index, weight, per_image, mask,
            smooth_nr, smooth_dr, log_loss, activation, reduction: as in :func:`dice_loss`. MONAI's
            ``DiceLoss(jaccard=True, smooth_nr=a, smooth_dr=b)`` is ``smooth_nr=a/2, smooth_dr=b/2`` here.
        squared: sums of squares :math:`\sum p^2 + \sum g^2 - \sum p g` in the union (MONAI's
            ``DiceLoss(jaccard=True, squared_pred=True)``). Default False.
        smooth: :math:`s \ge 0` added to numerator and denominator (segmentation-models-pytorch's
            ``smooth``; MONAI's ``DiceLoss(jaccard=True)`` smooths :math:`2TP`, so its ``s`` is losskit's
            ``s / 2``).
        normalizer, process_group: as in :func:`dice_loss`.

    Returns:
        The loss in [0, 1]; ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`dice_loss`.

    References:
        Rahman, Wang, *Optimizing Intersection-Over-Union in Deep Neural Networks for Image
        Segmentation*, ISVC 2016. Wang, Ning, Blaschko, *Jaccard Metric Losses: Optimizing the Jaccard
        Index with Soft Labels*, NeurIPS 2023 (arXiv 2302.05666).

    Example:
        >>> import torch
        >>> from losskit.functional import jaccard_loss
        >>> p = torch.tensor([[[0.9, 0.8, 0.2, 0.1]]], dtype=torch.float64)
        >>> g = torch.tensor([[1, 1, 0, 0]])
        >>> print(f"{jaccard_loss(p, g, input_type='probs', smooth=0.0).item():.9f}")  # 1 - 1.7 / 2.3
        0.260869565
    """
    _check_flag("jaccard_loss", "squared", squared)
    _check_flag("jaccard_loss", "log_loss", log_loss)

    def score(tp: Tensor, sp: Tensor, sg: Tensor, snr: float, sdr: float) -> Tensor:
        union = (sp + sg - tp).clamp_min(0.0)
        return _ratio(tp + snr, union + sdr)

    return _run(
        "jaccard_loss",
        input,
        target,
        score,
        squared=squared,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        smooth=smooth,
        per_image=per_image,
        mask=mask,
        reduction=reduction,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        activation=activation,
        to_loss=_score_to_loss(log_loss),
        normalizer=normalizer,
        process_group=process_group,
    )


# --------------------------------------------------------------------------------------------------
# Tversky and focal Tversky


def _tversky_index(
    tp: Tensor, sp: Tensor, sg: Tensor, alpha: float, beta: float, snr: float, sdr: float
) -> Tensor:
    # FP = Σp - TP and FN = Σg - TP (Σp(1-g) and Σ(1-p)g for binary g; Wang et al.'s soft-label FP / FN with
    # the soft TP of _stats); the clamp keeps rounding from pushing T above 1
    fp = (sp - tp).clamp_min(0.0)
    fn = (sg - tp).clamp_min(0.0)
    return _ratio(tp + snr, tp + alpha * fp + beta * fn + sdr)


def tversky_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    smooth: float = 1e-5,
    per_image: bool = True,
    mask: Tensor | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    log_loss: bool = False,
    activation: Callable[[Tensor], Tensor] | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Tversky loss: Dice with separate weights on false positives and false negatives.

    .. math::
        \ell_{nc} = 1 - \frac{TP + s}{TP + \alpha\,FP + \beta\,FN + s},\quad
        TP = \sum_i p_i g_i,\ FP = \sum_i p_i (1 - g_i),\ FN = \sum_i (1 - p_i) g_i

    **α weights false positives, β false negatives**, everywhere in losskit (as in Salehi et al., MONAI,
    segmentation-models-pytorch and kornia). ``alpha = beta = 0.5`` is the Dice score (with the
    smoothing on :math:`TP`); ``alpha = beta = 1`` is the Jaccard score. Raising β (e.g. α = 0.3,
    β = 0.7) trades precision for recall on small structures.

    With a dense target :math:`TP` is Wang et al.'s soft intersection (:func:`dice_loss`), so
    :math:`FP = \sum p - TP` and :math:`FN = \sum g - TP` (MONAI's ``soft_label=True``); binary targets keep
    :math:`\sum p(1-g)` and :math:`\sum (1-p)g`. segmentation-models-pytorch's ``TverskyLoss(gamma=γ)`` is
    ``tversky_loss(..., per_image=False) ** γ`` (it raises the class mean); :func:`focal_tversky_loss`
    raises each class's loss instead.

    Args:
        input, target, input_type, multilabel, include_background, ignore_index, weight, per_image, mask,
            smooth_nr, smooth_dr, log_loss, activation, reduction: as in :func:`dice_loss`.
        alpha: weight of false positives, >= 0. Default 0.5.
        beta: weight of false negatives, >= 0. Default 0.5.
        smooth: :math:`s \ge 0` added to numerator and denominator (MONAI's ``smooth_nr = smooth_dr`` and
            segmentation-models-pytorch's ``smooth``).
        normalizer, process_group: as in :func:`dice_loss`.

    Returns:
        The loss in [0, 1]; ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`dice_loss`, and for a negative ``alpha`` or ``beta``.

    References:
        Salehi, Erdogmus, Gholipour, *Tversky loss function for image segmentation using 3D fully
        convolutional deep networks*, MLMI 2017 (arXiv 1706.05721); Tversky, *Features of similarity*,
        Psychological Review 1977.

    Example:
        SPEC §4: :math:`p = [.9, .5, .3, .2, .1]`, :math:`g = [1, 1, 1, 0, 0]`, α = 0.3, β = 0.7, so
        TP = 1.7, FP = 0.3, FN = 1.3 and the loss is 1 - 1.7 / 2.7:

        >>> import torch
        >>> from losskit.functional import tversky_loss
        >>> p = torch.tensor([[[0.9, 0.5, 0.3, 0.2, 0.1]]], dtype=torch.float64)
        >>> g = torch.tensor([[1, 1, 1, 0, 0]])
        >>> loss = tversky_loss(p, g, alpha=0.3, beta=0.7, input_type="probs", smooth=0.0)
        >>> print(f"{loss.item():.9f}")
        0.370370370
    """
    fn = "tversky_loss"
    a = checks.check_number(fn, "alpha", alpha, low=0.0)
    b = checks.check_number(fn, "beta", beta, low=0.0)
    _check_flag(fn, "log_loss", log_loss)

    def score(tp: Tensor, sp: Tensor, sg: Tensor, snr: float, sdr: float) -> Tensor:
        return _tversky_index(tp, sp, sg, a, b, snr, sdr)

    return _run(
        fn,
        input,
        target,
        score,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        smooth=smooth,
        per_image=per_image,
        mask=mask,
        reduction=reduction,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        activation=activation,
        to_loss=_score_to_loss(log_loss),
        normalizer=normalizer,
        process_group=process_group,
    )


def focal_tversky_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    gamma: float = 0.75,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    smooth: float = 1e-5,
    per_image: bool = True,
    mask: Tensor | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    activation: Callable[[Tensor], Tensor] | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Focal Tversky loss: the Tversky loss of each (sample, class) raised to a power γ.

    .. math::
        \ell_{nc} = \left(1 - T_{nc}\right)^{\gamma},\qquad
        T_{nc} = \frac{TP + s}{TP + \alpha\,FP + \beta\,FN + s}

    Abraham & Khan write the exponent as :math:`1/\gamma` with :math:`\gamma \in [1, 3]` and name the
    false-negative weight α; losskit's ``gamma`` is the exponent itself (their best γ = 4/3 is losskit's
    default 0.75) and keeps **α = FP weight, β = FN weight** as in :func:`tversky_loss`. γ < 1 raises the
    loss of well-segmented classes less than that of poorly segmented ones. segmentation-models-pytorch's
    ``TverskyLoss(gamma=...)`` raises the *class mean* to the power instead; the two agree for one class.

    Args:
        input, target, alpha, beta, input_type, multilabel, include_background, ignore_index, weight, smooth,
            per_image, mask, smooth_nr, smooth_dr, activation, reduction: as in :func:`tversky_loss`.
        gamma: the exponent γ > 0. Default 0.75.
        normalizer, process_group: as in :func:`dice_loss`.

    Returns:
        The loss in [0, 1]; ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`tversky_loss`, and for γ <= 0.

    Note:
        For γ < 1 the derivative of :math:`d^{\gamma}` is unbounded as :math:`d = 1 - T \to 0`; at
        :math:`d = 0` exactly (a perfect or an empty-and-empty score) losskit returns 0 with gradient 0
        instead of NaN.

    References:
        Abraham, Khan, *A Novel Focal Tversky Loss Function with Improved Attention U-Net for Lesion
        Segmentation*, ISBI 2019 (arXiv 1810.07842).

    Example:
        SPEC §4, the Tversky example raised to 0.75: :math:`(1 - 1.7/2.7)^{0.75}`.

        >>> import torch
        >>> from losskit.functional import focal_tversky_loss
        >>> p = torch.tensor([[[0.9, 0.5, 0.3, 0.2, 0.1]]], dtype=torch.float64)
        >>> g = torch.tensor([[1, 1, 1, 0, 0]])
        >>> loss = focal_tversky_loss(p, g, alpha=0.3, beta=0.7, input_type="probs", smooth=0.0)
        >>> print(f"{loss.item():.9f}")
        0.474763340
    """
    fn = "focal_tversky_loss"
    a = checks.check_number(fn, "alpha", alpha, low=0.0)
    b = checks.check_number(fn, "beta", beta, low=0.0)
    gm = checks.check_number(fn, "gamma", gamma, low=0.0, low_open=True)

    def score(tp: Tensor, sp: Tensor, sg: Tensor, snr: float, sdr: float) -> Tensor:
        return _tversky_index(tp, sp, sg, a, b, snr, sdr)

    def to_loss(t: Tensor) -> Tensor:
        d = (1.0 - t).clamp_min(0.0)
        zero = d == 0
        # d ** γ has an infinite slope at 0 for γ < 1: evaluate it only where d > 0 (NaN still propagates)
        return torch.where(zero, torch.zeros_like(d), torch.where(zero, torch.ones_like(d), d) ** gm)

    return _run(
        fn,
        input,
        target,
        score,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        smooth=smooth,
        per_image=per_image,
        mask=mask,
        reduction=reduction,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        activation=activation,
        to_loss=to_loss,
        normalizer=normalizer,
        process_group=process_group,
    )


# --------------------------------------------------------------------------------------------------
# generalized Dice


def generalized_dice_loss(
    input: Tensor,
    target: Tensor,
    *,
    weighting: str = "square",
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    smooth: float = 1e-5,
    per_image: bool = True,
    mask: Tensor | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    activation: Callable[[Tensor], Tensor] | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Generalized Dice loss (Sudre et al.): one Dice over all classes, each weighted by its volume.

    .. math::
        \ell_n = 1 - \frac{2\sum_c w_c \sum_i g_{ci} p_{ci} + s}{\sum_c w_c \sum_i (g_{ci} + p_{ci}) + s},
        \qquad w_c = \frac{1}{\left(\sum_i g_{ci}\right)^2}

    A class absent from the target (:math:`\sum_i g_{ci} = 0`, infinite weight) gets the largest finite
    weight of the other classes, as in MONAI; if every class is absent all weights are 0 and the loss is
    0. The class sum makes the loss one value per sample (or one for the batch).

    Args:
        input, target, input_type, multilabel, include_background, ignore_index, smooth, per_image, mask,
            smooth_nr, smooth_dr, activation: as in :func:`dice_loss` (soft targets use the soft
            intersection there too, so the loss is 0 at ``input == target``).
        weighting: ``"square"`` (default, :math:`1/V^2`, Sudre et al.), ``"simple"`` (:math:`1/V`) or
            ``"uniform"`` (1: the per-sample pooled Dice, kornia's ``average="micro"``).
        weight: per-class factor ``(C,)`` that multiplies the volume weights :math:`w_c`.
        reduction: ``"none"`` gives one value per sample ``(N,)`` (a 0-d tensor with ``per_image=False``);
            ``"mean"`` averages them, ``"sum"`` adds them.
        normalizer, process_group: as in :func:`dice_loss`.

    Returns:
        The loss in [0, 1].

    Raises:
        ValueError, TypeError: as :func:`dice_loss`, and for an unknown ``weighting``.

    References:
        Sudre, Li, Vercauteren, Ourselin, Cardoso, *Generalised Dice overlap as a deep learning loss
        function for highly unbalanced segmentations*, DLMIA 2017 (arXiv 1707.03237).

    Example:
        Two classes over four pixels: class 1 has probabilities :math:`[.9, .8, .2, .1]` and occupies the
        first pixel (volume 1, weight 1, TP = 0.9, Σ(g + p) = 3); class 0 is the rest (volume 3, weight
        1/9, TP = 1.9, Σ(g + p) = 5). The loss is :math:`1 - 2(0.9 + 1.9/9) / (3 + 5/9) = 0.375`, where the
        unweighted pooled Dice gives :math:`1 - 2 \cdot 2.8 / 8 = 0.3`:

        >>> import torch
        >>> from losskit.functional import generalized_dice_loss
        >>> p1 = torch.tensor([0.9, 0.8, 0.2, 0.1], dtype=torch.float64)
        >>> p = torch.stack([1 - p1, p1]).unsqueeze(0)  # (N, C, W) = (1, 2, 4)
        >>> g = torch.tensor([[1, 0, 0, 0]])
        >>> print(f"{generalized_dice_loss(p, g, input_type='probs', smooth=0.0).item():.10f}")
        0.3750000000
        >>> uniform = generalized_dice_loss(p, g, input_type="probs", smooth=0.0, weighting="uniform")
        >>> print(f"{uniform.item():.10f}")
        0.3000000000
    """
    fn = "generalized_dice_loss"
    checks.check_option(fn, "weighting", weighting, _WEIGHTINGS)
    _check_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        per_image=per_image,
        reduction=reduction,
        smooth=smooth,
    )
    _check_extras(fn, input_type=input_type, activation=activation, smooth_nr=smooth_nr, smooth_dr=smooth_dr)
    snr, sdr = _smoothing(smooth, smooth_nr, smooth_dr)
    o = _prepare(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        mask=mask,
        defer_labels=True,
    )
    o.activation = activation
    group = dist_.resolve_group(fn, process_group)
    codes = {"reduction": _REDUCTIONS.index(reduction), "weighting": _WEIGHTINGS.index(weighting)}
    tp, sp, sg = _stats(fn, o, per_image=per_image, group=group, facts=codes)  # global volumes if batch
    vol = sg.detach()
    present = vol > 0
    safe = torch.where(present, vol, torch.ones_like(vol))
    if weighting == "square":
        w = torch.where(present, 1.0 / (safe * safe), torch.zeros_like(vol))
    elif weighting == "simple":
        w = torch.where(present, 1.0 / safe, torch.zeros_like(vol))
    else:
        w = present.to(vol.dtype)
    if w.shape[-1] > 0:
        w = torch.where(present, w, w.amax(dim=-1, keepdim=True))
    if o.weight is not None:
        w = w * o.weight
    num = 2.0 * (w * tp).sum(-1) + snr
    den = (w * (sp + sg)).sum(-1) + sdr
    loss = 1.0 - _ratio(num, den)
    return finish(
        fn,
        loss,
        reduction,
        normalizer=normalizer,
        process_group=group if per_image else None,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# Lovász


def lovasz_loss(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    per_image: bool = True,
    mask: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Lovász loss: the Lovász extension of the Jaccard loss (hinge or softmax variant).

    .. math::
        \ell_{nc} = \sum_{k} e_{(k)}\, \big(\Delta_J(\{1..k\}) - \Delta_J(\{1..k-1\})\big),
        \qquad \Delta_J(A) = 1 - \frac{|G \cap \bar A|}{|G \cup A|}\ \text{(Berman's Alg. 1)}

    with the errors :math:`e` sorted in decreasing order. The variant follows the activation:

    * **hinge** (``C = 1`` or ``multilabel=True``): :math:`e_i = \max(0, 1 - z_i (2g_i - 1))` on the logits
      :math:`z` (probability inputs are converted to logits first). Not bounded by 1: a confident
      mistake costs more than a hesitant one.
    * **softmax** (``C > 1``): :math:`e_i = |g_i - p_i|` on the softmax probabilities, per class. Every
      class enters the mean (Berman's ``classes="all"``, kornia's behaviour); a class absent from the
      target costs its largest predicted probability, which is the SPEC §4 decision (empty and empty: 0;
      empty target and a confident prediction: near 1). segmentation-models-pytorch averages the present
      classes only; the two agree when every class is present.

    Args:
        input, target, input_type, multilabel, include_background, ignore_index, weight, mask, reduction:
            as in :func:`dice_loss`. Targets should be hard (0 / 1, one-hot or indices).
        per_image: ``True`` (default) sorts each sample's pixels on their own; ``False`` sorts the whole
            batch per class (segmentation-models-pytorch's default; Berman's reference code ranks per image
            for the hinge and over the batch for the softmax).
        normalizer: as in :func:`dice_loss`.
        process_group: None (default, local) or a ``torch.distributed`` process group. With
            ``per_image=True`` the mean over images is global. With ``per_image=False`` the ranking needs
            every pixel: the errors, labels and flags of every rank are all-gathered (3·C numbers per
            pixel of the global batch, unlike the ratio losses' 3·C numbers in all), so prefer
            ``per_image=True`` across ranks. See docs/distributed.md.

    Returns:
        The loss; ``(N, C)`` / ``(C,)`` for ``reduction="none"``. There is no ``smooth``.

    Raises:
        ValueError, TypeError: as :func:`dice_loss`.

    Note:
        The sort makes the loss piecewise linear in the errors; gradients flow through the sorted errors,
        the Jaccard increments depend on the labels only. It compiles with ``fullgraph=True``. Eager, the
        rows are ranked in blocks by :class:`losskit.kernels.lovasz.Lovasz`, which writes the gradient in
        forward: fwd+bwd holds the probabilities, the gradient and one block's temporaries.

    References:
        Berman, Rannen Triki, Blaschko, *The Lovász-Softmax loss: A tractable surrogate for the
        optimization of the intersection-over-union measure in neural networks*, CVPR 2018
        (arXiv 1705.08790).

    Example:
        SPEC §4, hinge: logits :math:`[2, -1, 0.5, -0.5]`, labels :math:`[1, 0, 0, 1]`. The errors are
        :math:`[-1, 0, 1.5, 1.5]`; the two errors of 1.5 take Jaccard increments summing to 2/3.

        >>> import torch
        >>> from losskit.functional import lovasz_loss
        >>> z = torch.tensor([[[2.0, -1.0, 0.5, -0.5]]], dtype=torch.float64)
        >>> print(f"{lovasz_loss(z, torch.tensor([[1, 0, 0, 1]])).item():.9f}")
        1.000000000
    """
    fn = "lovasz_loss"
    _check_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        per_image=per_image,
        reduction=reduction,
    )
    o = _prepare(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        mask=mask,
    )
    hinge = o.sigmoid
    if hinge:
        if o.input_type == "logits":
            z = o.x
        else:  # back to logits, the probabilities clamped to [eps, 1 - eps] as everywhere in losskit
            eps = eps_for(o.x.dtype)
            p = o.probs(fn).clamp(eps, 1.0 - eps)
            z = torch.log(p) - torch.log1p(-p)
        a = z[:, o.first :] if o.first else z
    else:
        a = o.probs(fn)
        a = a[:, o.first :] if o.first else a
    dense = None if o.dense is None else o.dense[:, o.first :]
    group = dist_.resolve_group(fn, process_group)
    pooled = not per_image
    fused = fastpath.applies()
    if pooled and group is not None:
        # The ranking needs every pixel of the union: gather (pixels, C') errors, labels and flags
        # (O(global pixels · C) per rank, unlike the ratio losses' 3·C numbers).
        fg = dense_target(o.labels, dense, o.first, int(a.shape[1]), o.valid, a.dtype)
        errors = 1.0 - a * (2.0 * fg - 1.0) if hinge else (fg - a).abs()
        keep = torch.ones_like(fg) if o.valid is None else o.valid.unsqueeze(1).expand_as(fg)
        # (N, C', S) -> (C', N*S): one ranking per class over the whole batch
        errors, fg, keep = (t.transpose(0, 1).flatten(1) for t in (errors, fg, keep))
        dist_.check_consistent(
            fn,
            group,
            errors.device,
            classes=int(errors.shape[0]),
            per_image=0,
            reduction=_REDUCTIONS.index(reduction),
        )
        sizes = dist_.gather_sizes(int(errors.shape[1]), group, errors.device)
        errors, fg, keep = (
            dist_.all_gather(t.transpose(0, 1), group, sizes=sizes).transpose(0, 1)
            for t in (errors, fg, keep)
        )
        loss = lovasz_extension(errors, fg, keep)
    elif fused and (dense is None or not dense.requires_grad):
        # ranked block by block, the gradient made in forward: one input-sized tensor (kernels/lovasz.py)
        need_grad = torch.is_grad_enabled() and a.requires_grad
        loss, _ = Lovasz.apply(a, o.labels, dense, o.first, o.valid, hinge, pooled, need_grad)
    else:
        loss = plain_lovasz(a, o.labels, dense, o.first, o.valid, hinge, pooled)
    return finish(
        fn,
        loss,
        reduction,
        o.weight,
        normalizer=normalizer,
        process_group=group if per_image else None,
        inputs={"input": input, "target": target},
    )


# eager validation of plain options for the Modules (losskit.nn.FunctionalLoss looks for this attribute)
def _number(fn: str, name: str, **bounds: Any) -> Callable[[Any], Any]:
    return lambda v: checks.check_number(fn, name, v, **bounds)


for _f, _own in (
    (dice_loss, {"squared": lambda v: _check_flag("dice_loss", "squared", v)}),
    (jaccard_loss, {"squared": lambda v: _check_flag("jaccard_loss", "squared", v)}),
    (
        tversky_loss,
        {
            "alpha": _number("tversky_loss", "alpha", low=0.0),
            "beta": _number("tversky_loss", "beta", low=0.0),
        },
    ),
    (
        focal_tversky_loss,
        {
            "alpha": _number("focal_tversky_loss", "alpha", low=0.0),
            "beta": _number("focal_tversky_loss", "beta", low=0.0),
            "gamma": _number("focal_tversky_loss", "gamma", low=0.0, low_open=True),
        },
    ),
    (
        generalized_dice_loss,
        {
            "weighting": lambda v: checks.check_option("generalized_dice_loss", "weighting", v, _WEIGHTINGS),
        },
    ),
    (lovasz_loss, {}),
):
    setattr(_f, "validate_options", _options_validator(_f.__name__, **_own))  # noqa: B010


# --------------------------------------------------------------------------------------------------
# Matthews correlation coefficient (issue 13; segmentation-models-pytorch's MCCLoss is the peer)


def mcc_loss(
    input: Tensor,
    target: Tensor,
    *,
    input_type: str = "logits",
    multilabel: bool = False,
    include_background: bool = True,
    ignore_index: int | None = None,
    weight: Tensor | None = None,
    eps: float = 1e-5,
    per_image: bool = True,
    mask: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Soft Matthews-correlation loss :math:`1 - \mathrm{MCC}` per sample and class.

    .. math::
        \ell_{nc} = 1 - \frac{TP\cdot TN - FP\cdot FN}
            {\sqrt{(TP + FP)(TP + FN)(TN + FP)(TN + FN)}}

    with the soft counts :math:`TP = \sum p g`, :math:`FP = \sum p - TP`, :math:`FN = \sum g - TP`,
    :math:`TN = S - TP - FP - FN` over the :math:`S` counted pixels (Wang et al.'s soft intersection for
    dense targets, as in :func:`dice_loss`, so that for soft targets the loss is 0 at ``input == target``;
    segmentation-models-pytorch keeps the product counts there), each count plus ``eps``. Unlike Dice,
    MCC rewards the true negatives too, so a prediction that is right about a large background is not
    scored as Dice's foreground-only overlap. Values lie in [0, 2] (2 = perfectly anti-correlated).

    Args:
        input, target, input_type, multilabel, include_background, ignore_index, weight, mask,
            reduction, normalizer, process_group: as in :func:`dice_loss` (with ``per_image=False`` the four
            counts are those of every rank's images).
        eps: added to each of the four counts, > 0, keeping the ratio defined when a class is absent from
            both target and prediction (segmentation-models-pytorch's ``eps``). Default 1e-5.
        per_image: ``True`` (default) scores each sample on its own; ``False`` pools the batch
            (segmentation-models-pytorch's ``MCCLoss``).

    Returns:
        The loss; ``(N, C)`` / ``(C,)`` for ``reduction="none"``.

    Raises:
        ValueError, TypeError: as :func:`dice_loss`, and for ``eps <= 0``.

    Note:
        segmentation-models-pytorch's ``MCCLoss(eps=e)(p, y)`` (binary, probabilities, the batch pooled)
        is ``mcc_loss(p, y, input_type="probs", per_image=False, eps=e)`` for ``C = 1``.

    References:
        Abhishek, Hamarneh, *Matthews Correlation Coefficient Loss for Deep Convolutional Networks:
        Application to Skin Lesion Segmentation*, ISBI 2021 (arXiv 2010.13454); Matthews, *Comparison of
        the predicted and observed secondary structure of T4 phage lysozyme*, BBA 1975.

    Example:
        :math:`p = [0.9, 0.8, 0.2, 0.1]`, :math:`g = [1, 1, 0, 0]`: TP = TN = 1.7 and FP = FN = 0.3, so the
        numerator is :math:`1.7^2 - 0.3^2 = 2.8`, the denominator :math:`\sqrt{2^4} = 4`, MCC = 0.7 and the
        loss 0.3:

        >>> import torch
        >>> from losskit.functional import mcc_loss
        >>> p = torch.tensor([[[0.9, 0.8, 0.2, 0.1]]], dtype=torch.float64)
        >>> g = torch.tensor([[1, 1, 0, 0]])
        >>> print(f"{mcc_loss(p, g, input_type='probs', eps=1e-12).item():.9f}")
        0.300000000
    """
    fn = "mcc_loss"
    _check_options(
        fn,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        per_image=per_image,
        reduction=reduction,
    )
    e = checks.check_number(fn, "eps", eps, low=0.0, low_open=True)
    o = _prepare(
        fn,
        input,
        target,
        input_type=input_type,
        multilabel=multilabel,
        include_background=include_background,
        ignore_index=ignore_index,
        weight=weight,
        mask=mask,
        defer_labels=True,
    )
    group = dist_.resolve_group(fn, process_group)
    tp, sp, sg = _stats(
        fn, o, per_image=per_image, group=group, facts={"reduction": _REDUCTIONS.index(reduction)}
    )
    n, s = o.x.shape[0], o.x.shape[2]
    count = o.x.new_full((n,), float(s)) if o.valid is None else o.valid.sum(-1)
    count = count.unsqueeze(1) if per_image else dist_.all_reduce_sum(count.sum(), group)
    fp = (sp - tp).clamp_min(0.0)
    fn_ = (sg - tp).clamp_min(0.0)
    tn = (count - tp - fp - fn_).clamp_min(0.0)
    tp, fp, fn_, tn = tp + e, fp + e, fn_ + e, tn + e
    mcc = (tp * tn - fp * fn_) / torch.sqrt((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_))
    return finish(
        fn,
        1.0 - mcc,
        reduction,
        o.weight,
        normalizer=normalizer,
        process_group=group if per_image else None,
        inputs={"input": input, "target": target},
    )


setattr(  # noqa: B010
    mcc_loss,
    "validate_options",
    _options_validator("mcc_loss", eps=_number("mcc_loss", "eps", low=0.0, low_open=True)),
)
__all__ += ["mcc_loss"]
