r"""Dense detection and landmark losses: Gaussian focal, balanced L1, Wing, adaptive Wing, GHM-C, OKS.

Losses that dense detectors and pose / landmark models use beside the classification and box families:
a focal loss for Gaussian heatmap targets (CornerNet, CenterNet), a box regression loss that balances
inliers and outliers (Libra R-CNN), two landmark regression losses that stay sensitive to small errors
(Wing, adaptive Wing), a classification loss reweighted by gradient density (GHM-C), and the keypoint
similarity loss of YOLO-pose (1 − OKS).

Shared conventions: ``input`` comes first and ``target`` second, both floating-point tensors of exactly
the same shape (``oks_loss`` takes keypoints ``(N, K, 2)``); ``reduction="none"`` returns one value per
element (per instance for ``oks_loss``); ``weight`` broadcasts into the loss's shape; float16/bfloat16
are computed and returned in float32; an empty batch gives 0 with a working backward. Classification
inputs take ``input_type`` in ``{"logits", "probs", "log_probs"}`` (default ``"logits"``, handled in log
space).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from losskit import distributed as dist_
from losskit._core import checks
from losskit._core.checks import fmt_shape
from losskit.functional._common import binary_log_probs, finish, prepare
from losskit.functional.regression import _check_pair, _pair

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = [
    "adaptive_wing_loss",
    "balanced_l1_loss",
    "gaussian_focal_loss",
    "ghm_c_loss",
    "oks_loss",
    "wing_loss",
]

#: The 17 per-keypoint constants σ of COCO's OKS (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
#: ankles), from the COCO keypoint evaluation (cocoapi ``COCOeval``).
COCO_KEYPOINT_SIGMAS = (
    0.026,
    0.025,
    0.025,
    0.035,
    0.035,
    0.079,
    0.079,
    0.072,
    0.072,
    0.062,
    0.062,
    0.107,
    0.107,
    0.087,
    0.087,
    0.089,
    0.089,
)


# --------------------------------------------------------------------------------------------------
# Gaussian focal loss


def gaussian_focal_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 2.0,
    beta: float = 4.0,
    input_type: str = "logits",
    weight: Tensor | None = None,
    normalizer: Tensor | None = None,
    reduction: str = "mean",
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Focal loss for heatmaps with Gaussian-smoothed targets (CornerNet, CenterNet).

    .. math::
        \ell = \begin{cases} -(1 - p)^\alpha \log p & y = 1 \\
        -(1 - y)^\beta\, p^\alpha \log(1 - p) & y < 1 \end{cases}

    A pixel at an object centre (y = 1) is a positive; every other pixel is a negative whose penalty is
    reduced by :math:`(1 - y)^\beta` near a centre, where the target is a Gaussian bump. The papers divide
    the sum by the number of objects: pass ``normalizer=(target == 1)`` (``"mean"`` then divides by the
    number of positives; the sum over an all-negative heatmap divides by 1).

    Note:
        With logits, :math:`\log p`, :math:`\log(1 - p)` and the modulating factors
        :math:`p^\alpha = e^{\alpha \log p}` are computed from log-sigmoids: finite values and gradients for
        any finite logit. Probabilities are clamped to [eps, 1 − eps] first (mmdet adds 1e-12 inside the
        logs instead).

    Args:
        input: heatmap predictions (logits by default), any shape, e.g. ``(N, C, H, W)``.
        target: Gaussian heatmap targets in [0, 1], exactly the input's shape; entries equal to 1 are the
            positives.
        alpha: the focusing exponent α >= 0 on the prediction. Default 2 (CornerNet).
        beta: the exponent β >= 0 that lowers the penalty of negatives near a centre. Default 4.
        input_type: {input_type}
        weight: {weight}
        normalizer: a tensor whose sum divides the ``"mean"`` (e.g. ``target == 1``); None divides by the
            element count (or the weight sum). Ignored by ``"none"`` and ``"sum"``.
        reduction: {reduction}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, a target outside [0, 1], negative exponents, an unknown
            input_type, a bad weight, normalizer or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Law and Deng, *CornerNet: Detecting Objects as Paired Keypoints*, ECCV 2018 (arXiv 1808.01244).
        Zhou, Wang and Krähenbühl, *Objects as Points*, arXiv 1904.07850 (2019).

    Example:
        >>> import torch, math
        >>> from losskit.functional import gaussian_focal_loss
        >>> p = torch.tensor([0.5, 0.5], dtype=torch.float64)
        >>> y = torch.tensor([1.0, 0.5], dtype=torch.float64)
        >>> gaussian_focal_loss(p, y, input_type="probs", reduction="none")  # ln 2 / 4, ln 2 / 64
        tensor([0.1733, 0.0108], dtype=torch.float64)
    """
    fn = "gaussian_focal_loss"
    checks.check_reduction(fn, reduction)
    a = checks.check_number(fn, "alpha", alpha, low=0.0)
    b = checks.check_number(fn, "beta", beta, low=0.0)
    _check_pair(fn, input, target, weight)
    checks.check_probabilities(fn, "target", target)
    checks.check_finite(fn, "input", input)  # an infinite logit would give a NaN gradient (0 · inf)
    if normalizer is not None:
        checks.check_tensor(fn, "normalizer", normalizer)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    if input_type == "logits":
        # log σ(x) = -softplus(-x) and log(1 - σ(x)) = -softplus(x): exact in both tails (and, on CPU,
        # far cheaper than torch's log_sigmoid kernel on small tensors)
        log_p, log_q = -F.softplus(-x), -F.softplus(x)
    else:
        log_p, log_q = binary_log_probs(fn, x, input_type)
    pos = y == 1
    pos_term = -torch.exp(a * log_q) * log_p
    neg_term = -torch.pow(1.0 - y, b) * torch.exp(a * log_p) * log_q
    values = torch.where(pos, pos_term, neg_term)
    group = dist_.resolve_group(fn, process_group)
    if group is not None and normalizer is not None and reduction == "mean":
        # the objects of every rank, at least 1 in all (an empty rank must not count as one object)
        total = dist_.all_reduce_sum(normalizer.detach().to(values.dtype).sum().reshape(1), group)[0]
        return finish(
            fn,
            values,
            reduction,
            w,
            normalizer=total.clamp_min(1.0),
            process_group=group,
            inputs={"input": input, "target": target},
        )
    return finish(
        fn,
        values,
        reduction,
        w,
        process_group=group,
        denominator=_count(normalizer, values),
        inputs={"input": input, "target": target},
    )


def _count(normalizer: Tensor | None, values: Tensor) -> Tensor | None:
    """A normaliser whose sum is at least 1 (an image without objects divides by 1, not 0)."""
    if normalizer is None:
        return None
    total = normalizer.to(values.dtype).sum()
    return total.clamp_min(1.0)


# --------------------------------------------------------------------------------------------------
# balanced L1


def _positive_options(fn: str, reduction: str, **options: float) -> tuple[float, ...]:
    """The pairwise losses' option checks: ``reduction``, then each option > 0, in the order given."""
    checks.check_reduction(fn, reduction)
    out = []
    for name, value in options.items():
        out.append(checks.check_number(fn, name, value, low=0.0, low_open=True))
    return tuple(out)


def balanced_l1_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 0.5,
    gamma: float = 1.5,
    beta: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Balanced L1 loss (Libra R-CNN): promotes the gradients of inliers in box regression.

    .. math::
        \ell(x) = \begin{cases} \frac{\alpha}{b}\,(b|x| + \beta)\,\ln\!\left(\frac{b|x|}{\beta} + 1\right)
        - \alpha|x| & |x| < \beta \\ \gamma|x| + \frac{\gamma\beta}{b} - \alpha\beta & \text{otherwise}
        \end{cases}, \qquad \alpha \ln(b + 1) = \gamma

    with :math:`x = \hat y - y`, so :math:`b = e^{\gamma/\alpha} - 1`. At β = 1 this is the paper's loss; its
    gradient :math:`\alpha \ln(b|x|/\beta + 1)` rises faster than smooth L1's near 0 (inliers — accurate
    boxes — get more weight) and is capped at γ for outliers. Other β rescale it as smooth L1's β does,
    :math:`\ell_\beta(x) = \beta\,\ell_1(x/\beta)`: value and gradient stay continuous at :math:`|x| = \beta`
    and the loss stays >= 0.

    Note:
        mmdet's ``balanced_l1_loss`` writes ``(b|x| + 1)`` where this has ``(b|x| + β)``: the same at the
        default β = 1, but for β ≠ 1 its gradient jumps at β and for β > 1 it is negative near 0. losskit
        keeps the scaled form (see the docs' Decisions).

    Args:
        input: predicted box offsets, any shape.
        target: target offsets, exactly the input's shape.
        alpha: α > 0, the inlier gradient's scale. Default 0.5 (paper).
        gamma: γ > 0, the outlier gradient (the cap). Default 1.5 (paper).
        beta: β > 0, the switch point. Default 1.0.
        weight: {weight}
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, non-positive α, γ or β, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Pang, Chen, Shi, Feng, Ouyang and Lin, *Libra R-CNN: Towards Balanced Learning for Object
        Detection*, CVPR 2019 (arXiv 1904.02701).

    Example:
        >>> import torch
        >>> from losskit.functional import balanced_l1_loss
        >>> x = torch.tensor([2.0], dtype=torch.float64)
        >>> print(f"{balanced_l1_loss(x, torch.zeros_like(x)).item():.9f}")  # 3 + 1.5/(e^3 - 1) - 0.5
        2.578593545
    """
    fn = "balanced_l1_loss"
    a, g, bt = _positive_options(fn, reduction, alpha=alpha, gamma=gamma, beta=beta)
    x, y, w = _pair(fn, input, target, weight)
    b = math.expm1(g / a)
    d = (x - y).abs()
    inner = d.clamp_max(bt)  # the unselected branch stays bounded (and its gradient finite)
    near = a / b * (b * inner + bt) * torch.log1p(b * inner / bt) - a * inner
    far = g * d + g * bt / b - a * bt
    values = torch.where(d < bt, near, far)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# Wing and adaptive Wing


def wing_loss(
    input: Tensor,
    target: Tensor,
    *,
    omega: float = 10.0,
    epsilon: float = 2.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Wing loss for facial landmark regression: logarithmic for small errors, L1 for large ones.

    .. math::
        \ell(x) = \begin{cases} \omega \ln(1 + |x|/\epsilon) & |x| < \omega \\ |x| - C & \text{otherwise}
        \end{cases}, \qquad C = \omega - \omega\ln(1 + \omega/\epsilon)

    with :math:`x = \hat y - y` (C makes it continuous at :math:`|x| = \omega`). The log part has a
    gradient :math:`\omega / (\epsilon + |x|)` that *grows* as the error shrinks, unlike L1 (constant) and
    L2 (vanishing): small and medium errors keep pulling, which is what landmark localisation needs. It has
    a kink at 0, like L1.

    Args:
        input: predicted coordinates, any shape (e.g. ``(N, K, 2)``), in pixels or normalised units.
        target: target coordinates, exactly the input's shape.
        omega: ω > 0, the width of the non-linear part. Default 10 (paper, for pixel coordinates).
        epsilon: ε > 0, the curvature of the log part. Default 2 (paper).
        weight: elementwise weight broadcastable into the input's shape (e.g. visibility ``(N, K, 1)``).
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, non-positive ω or ε, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Feng, Kittler, Awais, Huber and Wu, *Wing Loss for Robust Facial Landmark Localisation with
        Convolutional Neural Networks*, CVPR 2018 (arXiv 1711.06753).

    Example:
        >>> import torch, math
        >>> from losskit.functional import wing_loss
        >>> x = torch.tensor([2.0, 20.0], dtype=torch.float64)
        >>> wing_loss(x, torch.zeros_like(x), reduction="none")  # 10 ln 2, 20 - 10 + 10 ln 6
        tensor([ 6.9315, 27.9176], dtype=torch.float64)
    """
    fn = "wing_loss"
    om, ep = _positive_options(fn, reduction, omega=omega, epsilon=epsilon)
    x, y, w = _pair(fn, input, target, weight)
    d = (x - y).abs()
    c = om - om * math.log1p(om / ep)
    values = torch.where(d < om, om * torch.log1p(d.clamp_max(om) / ep), d - c)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


def adaptive_wing_loss(
    input: Tensor,
    target: Tensor,
    *,
    omega: float = 14.0,
    theta: float = 0.5,
    epsilon: float = 1.0,
    alpha: float = 2.1,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Adaptive Wing loss for heatmap regression: the Wing shape, adapted to each pixel's target.

    .. math::
        \ell(y, \hat y) = \begin{cases}
        \omega \ln\!\left(1 + \left|\frac{y - \hat y}{\epsilon}\right|^{\alpha - y}\right)
        & |y - \hat y| < \theta \\
        A\,|y - \hat y| - C & \text{otherwise} \end{cases}

    .. math::
        A = \omega\,\frac{(\alpha - y)\,(\theta/\epsilon)^{\alpha - y - 1}/\epsilon}
        {1 + (\theta/\epsilon)^{\alpha - y}}, \qquad
        C = \theta A - \omega \ln\!\left(1 + (\theta/\epsilon)^{\alpha - y}\right)

    The exponent :math:`\alpha - y` is > 1 on the background (y ≈ 0: smooth, quadratic-like, no pull from
    tiny errors) and close to 1 at the landmark (y ≈ 1: Wing-like, strong pull from small errors); value and
    gradient are continuous at θ. Targets are heatmaps in [0, 1].

    Args:
        input: predicted heatmaps, any shape (e.g. ``(N, K, H, W)``).
        target: target heatmaps in [0, 1], exactly the input's shape.
        omega: ω > 0. Default 14 (paper).
        theta: θ > 0, the switch point. Default 0.5 (paper).
        epsilon: ε > 0. Default 1 (paper).
        alpha: α > 1 + max target (so α − y > 1 everywhere: smooth at 0). Default 2.1 (paper).
        weight: elementwise weight broadcastable into the input's shape (the paper's weighted loss map).
        reduction: {reduction}
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, a target outside [0, 1], non-positive ω, θ or ε, α <= 2, a bad
            weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Wang, Bo and Fuxin, *Adaptive Wing Loss for Robust Face Alignment via Heatmap Regression*, ICCV 2019
        (arXiv 1904.07399).

    Example:
        >>> import torch, math
        >>> from losskit.functional import adaptive_wing_loss
        >>> p = torch.tensor([0.25], dtype=torch.float64)
        >>> y = torch.tensor([0.0], dtype=torch.float64)
        >>> print(f"{adaptive_wing_loss(p, y, alpha=3.0).item():.9f}")  # 14 ln(1 + 0.25^3)
        0.217058612
    """
    fn = "adaptive_wing_loss"
    om, th, ep = _positive_options(fn, reduction, omega=omega, theta=theta, epsilon=epsilon)
    al = checks.check_number(fn, "alpha", alpha, low=2.0, low_open=True)
    x, y, w = _pair(fn, input, target, weight)
    checks.check_probabilities(fn, "target", target)
    d = (y - x).abs()
    power = al - y
    ratio = th / ep
    r_pow = torch.pow(torch.full_like(power, ratio), power)
    big_a = om * power * torch.pow(torch.full_like(power, ratio), power - 1.0) / ep / (1.0 + r_pow)
    big_c = th * big_a - om * torch.log1p(r_pow)
    # clamped away from 0 so that pow's gradient in the exponent (log of the base) stays finite
    inner = (d.clamp_max(th) / ep).clamp_min(torch.finfo(d.dtype).tiny)
    values = torch.where(d < th, om * torch.log1p(torch.pow(inner, power)), big_a * d - big_c)
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# GHM-C


def _ghm_bins(fn: str, bins: int) -> int:
    checks.check_integer(fn, "bins", bins, low=1)
    return bins


def ghm_bin_counts(
    input: Tensor, target: Tensor, *, bins: int = 10, weight: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Per-element bin index of the gradient norm ``|σ(x) - y|`` and the count of valid elements per bin.

    Used by :func:`ghm_c_loss` and by :class:`losskit.GHMCLoss` to accumulate its momentum. Elements with
    ``weight == 0`` are not counted. No gradient flows through either output.
    """
    with torch.no_grad():
        # NaN logits (only reachable with value checks off) are binned as 0 instead of indexing garbage
        g = torch.nan_to_num((torch.sigmoid(input.detach()) - target.detach()).abs(), nan=0.0)
        idx = (g * bins).floor().clamp(0, bins - 1).long()
        valid = torch.ones_like(g) if weight is None else (weight.detach() > 0).to(g.dtype).expand_as(g)
        counts = torch.zeros(bins, dtype=g.dtype, device=g.device).scatter_add(
            0, idx.reshape(-1), valid.reshape(-1)
        )
    return idx, counts


def ghm_c_loss(
    input: Tensor,
    target: Tensor,
    *,
    bins: int = 10,
    bin_counts: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Gradient harmonizing classification loss (GHM-C): BCE reweighted by the gradient density.

    .. math::
        \ell_i = \beta_i\, \mathrm{BCE}(x_i, y_i), \qquad g_i = |\sigma(x_i) - y_i|, \qquad
        \beta_i = \frac{N}{n \cdot R(g_i)}

    The gradient norm :math:`g \in [0, 1]` is cut into ``bins`` equal bins; :math:`R(g_i)` is the number of
    valid elements in :math:`g_i`'s bin, :math:`n` the number of non-empty bins and N the number of valid
    elements. Easy examples (the crowded bin near g = 0) and outliers (a crowd near g = 1) are
    down-weighted together, so neither dominates training. The weights β are constants (no gradient flows
    through them). ``"mean"`` is :math:`\sum \beta_i \mathrm{BCE}_i / N`, mmdet's ``GHMC`` value (with its
    ``label_weight`` as ``weight``, ``loss_weight=1``).

    This function is stateless: the density is the current batch's. The paper's momentum (an exponential
    moving average of the bin counts across iterations) lives in :class:`losskit.GHMCLoss`, which passes
    its running counts as ``bin_counts``.

    Args:
        input: logits, any shape (e.g. ``(N, C)`` one-vs-rest classification).
        target: binary (or soft) targets in [0, 1], exactly the input's shape.
        bins: number of gradient-norm bins, >= 1. Default 10 (paper: 30 for RetinaNet; mmdet default 10).
        bin_counts: optional ``(bins,)`` tensor of (smoothed) counts R to use instead of the batch's; the
            number of non-empty bins n is still the batch's. None: the batch's counts.
        weight: elementwise weight broadcastable into the input's shape; elements with weight 0 are
            excluded from the density and from N (mmdet's ``label_weight``).
        reduction: ``"none"`` (β·BCE per element), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}
            The bin counts (N, n and, without ``bin_counts``, R) are those of every rank's elements (one
            all-reduce).

    Returns:
        The loss; elementwise for ``reduction="none"``.

    Raises:
        ValueError: on a shape mismatch, targets outside [0, 1], bins < 1, a ``bin_counts`` of the wrong
            shape, a bad weight or reduction, NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments, or a non-int ``bins``.

    References:
        Li, Liu and Wang, *Gradient Harmonized Single-stage Detector*, AAAI 2019 (arXiv 1811.05181).

    Example:
        >>> import torch
        >>> from losskit.functional import ghm_c_loss
        >>> x = torch.tensor([0.0, 0.0, 0.0, 4.0], dtype=torch.float64)
        >>> y = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float64)
        >>> # three elements share the bin of g = 0.5, one sits in the bin of g = 0.018: n = 2, N = 4
        >>> ghm_c_loss(x, y, reduction="none")  # (4/(2·3)) ln 2 and (4/(2·1)) softplus(-4)
        tensor([0.4621, 0.4621, 0.4621, 0.0363], dtype=torch.float64)
    """
    fn = "ghm_c_loss"
    checks.check_reduction(fn, reduction)
    nb = _ghm_bins(fn, bins)
    _check_pair(fn, input, target, weight)
    checks.check_probabilities(fn, "target", target)
    if bin_counts is not None:
        checks.check_float(fn, "bin_counts", bin_counts)
        checks.check_shape(fn, "bin_counts", bin_counts, (nb,), "(one count per bin)")
        checks.check_same_device(fn, input=input, bin_counts=bin_counts)
        checks.check_finite(fn, "bin_counts", bin_counts)
    _, (x, y, w) = prepare(fn, input, target, weight)
    assert x is not None and y is not None
    if x.numel() and checks.values_checked(x) and not bool(torch.isfinite(x.detach()).all()):
        kind = "NaN" if bool(torch.isnan(x.detach()).any()) else "inf"
        raise ValueError(f"{fn}: input contains {kind} values; losses need finite inputs")
    idx, counts = ghm_bin_counts(x, y, bins=nb, weight=w)
    group = dist_.resolve_group(fn, process_group)
    if group is not None:
        # the gradient density of the union of every rank's elements (bins x 1 numbers, no gradient)
        dist_.check_consistent(fn, group, x.device, bins=nb)
        counts = dist_.all_reduce_sum(counts.detach(), group)
    with torch.no_grad():
        total = counts.sum()
        nonempty = (counts > 0).sum().to(x.dtype)
        density = counts if bin_counts is None else bin_counts.to(x.dtype)
        # a valid element's own bin is never empty, so density > 0 wherever the weight is used
        per_bin = total / (density.clamp_min(torch.finfo(x.dtype).tiny) * nonempty.clamp_min(1.0))
        beta = per_bin[idx]
    bce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    values = beta * bce
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target},
    )


# --------------------------------------------------------------------------------------------------
# OKS


def oks_loss(
    input: Tensor,
    target: Tensor,
    *,
    area: Tensor,
    visibility: Tensor | None = None,
    sigmas: Tensor | Sequence[float] | None = None,
    eps: float = 1e-9,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Keypoint loss of YOLO-pose: one minus the object keypoint similarity (OKS) of each instance.

    .. math::
        \ell = 1 - \frac{\sum_k \exp\!\left(-\frac{d_k^2}{2 s^2 \kappa_k^2}\right) \delta(v_k > 0)}
        {\sum_k \delta(v_k > 0)}, \qquad \kappa_k = 2\sigma_k

    with :math:`d_k` the Euclidean distance between predicted and target keypoint k, :math:`s^2` the
    object's area (the scale), :math:`\sigma_k` COCO's per-keypoint constant and :math:`v_k` the
    visibility. Scale-invariant and bounded in [0, 1]; the same similarity COCO's keypoint AP thresholds,
    so training and evaluation agree. An instance without visible keypoints has loss 0 (its denominator is
    clamped at 1).

    Args:
        input: predicted keypoints ``(N, K, 2)`` (x, y), in the same units as ``target``.
        target: target keypoints ``(N, K, 2)``.
        area: object areas :math:`s^2` ``(N,)`` (e.g. box width × height), > 0.
        visibility: ``(N, K)`` visibility flags or scores; keypoints with ``v > 0`` count. None: all count.
        sigmas: the K per-keypoint σ (a sequence or a ``(K,)`` tensor). None: COCO's 17 values
            (:data:`COCO_KEYPOINT_SIGMAS`; then K must be 17).
        eps: added to the area (as YOLO-pose's implementation) so a zero area stays finite. Default 1e-9.
        weight: per-instance weight broadcastable into ``(N,)``.
        reduction: ``"none"`` (one value per instance), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; shape ``(N,)`` for ``reduction="none"``.

    Raises:
        ValueError: on keypoint shapes other than ``(N, K, 2)``, mismatched area / visibility / sigmas
            shapes, no sigmas for K != 17, negative areas or sigmas <= 0, a bad weight or reduction,
            NaN/inf inputs.
        TypeError: on non-tensor or non-floating arguments.

    References:
        Maji, Nagori, Mathew and Poddar, *YOLO-Pose: Enhancing YOLO for Multi Person Pose Estimation Using
        Object Keypoint Similarity Loss*, CVPR Workshops 2022 (arXiv 2204.06806). Lin et al., *Microsoft
        COCO: Common Objects in Context*, ECCV 2014 (the OKS).

    Example:
        >>> import torch, math
        >>> from losskit.functional import oks_loss
        >>> gt = torch.zeros(1, 2, 2, dtype=torch.float64)
        >>> pred = gt.clone()
        >>> pred[0, 0, 0] = 2.0 * math.sqrt(2.0)  # d² = 8 = 2 s² κ² with s² = 1, κ = 2: similarity 1/e
        >>> area, sig = torch.ones(1, dtype=torch.float64), [1.0, 1.0]
        >>> print(f"{oks_loss(pred, gt, area=area, sigmas=sig, eps=0.0).item():.9f}")  # 1 - (1/e + 1)/2
        0.316060279
    """
    fn = "oks_loss"
    checks.check_reduction(fn, reduction)
    e = checks.check_number(fn, "eps", eps, low=0.0)
    checks.check_float(fn, "input", input)
    checks.check_float(fn, "target", target)
    if input.dim() != 3 or input.shape[-1] != 2:
        raise ValueError(
            f"{fn}: input must have shape (N, K, 2) (K keypoints, x and y), got {fmt_shape(input.shape)}"
        )
    n, k = int(input.shape[0]), int(input.shape[1])
    checks.check_shape(fn, "target", target, tuple(input.shape), "(the input's shape (N, K, 2))")
    checks.check_float(fn, "area", area)
    checks.check_shape(fn, "area", area, (n,), "(one area per instance)")
    if visibility is not None:
        checks.check_tensor(fn, "visibility", visibility)
        checks.check_shape(fn, "visibility", visibility, (n, k), "(one flag per keypoint)")
        checks.check_finite(fn, "visibility", visibility)
    if sigmas is None:
        if k != len(COCO_KEYPOINT_SIGMAS):
            raise ValueError(
                f"{fn}: sigmas defaults to COCO's 17 keypoints; pass sigmas= for K = {k} keypoints"
            )
        sig = torch.tensor(COCO_KEYPOINT_SIGMAS, dtype=input.dtype, device=input.device)
    elif isinstance(sigmas, Tensor):
        checks.check_float(fn, "sigmas", sigmas)
        checks.check_shape(fn, "sigmas", sigmas, (k,), "(one sigma per keypoint)")
        sig = sigmas
    else:
        if isinstance(sigmas, (str, bytes)) or not isinstance(sigmas, Sequence):
            raise TypeError(
                f"{fn}: sigmas must be a sequence of numbers or a tensor, got {type(sigmas).__name__}"
            )
        if len(sigmas) != k:
            raise ValueError(f"{fn}: sigmas must hold one value per keypoint ({k}), got {len(sigmas)}")
        vals = [
            checks.check_number(fn, f"sigmas[{i}]", v, low=0.0, low_open=True) for i, v in enumerate(sigmas)
        ]
        sig = torch.tensor(vals, dtype=input.dtype, device=input.device)
    checks.check_weight(fn, weight, (n,))
    checks.check_same_device(fn, input=input, target=target, area=area, weight=weight)
    for name, t in (("input", input), ("target", target), ("area", area), ("sigmas", sig)):
        checks.check_finite(fn, name, t)  # an inf keypoint would give e^{-inf} = 0 with a NaN gradient
    if checks.values_checked(area, sig):
        if area.numel() and float(area.detach().min()) < 0.0:
            lo = float(area.detach().min())
            raise ValueError(f"{fn}: area must be non-negative, got a minimum of {lo:.4g}")
        if sig.numel() and float(sig.detach().min()) <= 0.0:
            lo = float(sig.detach().min())
            raise ValueError(f"{fn}: sigmas must be positive, got a minimum of {lo:.4g}")
    _, (x, y, a, s, w) = prepare(fn, input, target, area, sig, weight)
    assert x is not None and y is not None and a is not None and s is not None
    d2 = ((x - y) ** 2).sum(-1)
    kappa2 = (2.0 * s) ** 2
    sim = torch.exp(-d2 / (2.0 * (a[:, None] + e) * kappa2))
    vis = torch.ones_like(d2) if visibility is None else (visibility > 0).to(d2.dtype)
    oks = (sim * vis).sum(-1) / vis.sum(-1).clamp_min(1.0)
    has = (vis.sum(-1) > 0).to(d2.dtype)
    values = (1.0 - oks) * has
    return finish(
        fn,
        values,
        reduction,
        w,
        normalizer=normalizer,
        process_group=process_group,
        inputs={"input": input, "target": target, "area": area},
    )
