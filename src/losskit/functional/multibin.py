r"""Multi-bin loss for multi-modal and periodic regression targets (SPEC §2.1).

An L1 or L2 loss assumes one mode: on a target with two equally likely values it predicts their mean (L2)
or any point between them (L1), and on an angle near ±π it averages ``+3.1`` and ``-3.1`` into ``0``, the
opposite direction. The multi-bin loss of Mousavian et al. splits the target's range into ``n``
overlapping bins, classifies which bin the target falls in and regresses a residual inside each bin:

.. math::
    L = L_\text{conf} + w\, L_\text{loc}

* :class:`MultiBinCodec` turns targets into (bin index, covering mask, residual targets) and predictions
  back into values;
* :func:`multibin_loss` is the loss on ``(bin_logits, residuals, target)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import Tensor

from losskit._core import checks
from losskit._core.checks import fmt_shape
from losskit.functional._common import finish, prepare

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

__all__ = ["MultiBinCodec", "MultiBinTarget", "multibin_loss"]


class MultiBinTarget(NamedTuple):
    """What :meth:`MultiBinCodec.encode` returns for targets of shape ``S``.

    Attributes:
        bin: ``(*S)`` int64, the covering bin whose centre is nearest (the class target of the confidence).
        mask: ``(*S, n)`` bool, True for every bin that covers the target (always including ``bin``).
        residual: the residual each bin should predict: ``(*S, n, 2)`` unit ``(cos, sin)`` vectors for a
            periodic codec, ``(*S, n)`` offsets in units of the bin width for a bounded one.
    """

    bin: Tensor
    mask: Tensor
    residual: Tensor


class MultiBinCodec:
    r"""Encodes targets into bins and residuals and decodes predictions back (Mousavian et al. 2017).

    Two kinds of target:

    * **periodic** (``period=P``, default ``2π``): angles, taken modulo ``P`` and represented in
      ``[-P/2, P/2)``. Bin centres are :math:`c_i = iP/n`; bin ``i`` covers θ when the wrapped difference
      satisfies :math:`|\operatorname{wrap}(θ - c_i)| \le P/(2n) + \text{overlap}/2`. The residual of bin
      ``i`` is the angle :math:`Δ_i = \operatorname{wrap}(θ - c_i)`, encoded as the unit vector
      :math:`(\cos φ_i, \sin φ_i)`, :math:`φ_i = 2πΔ_i/P` (for ``P = 2π`` simply ``(cos Δ, sin Δ)``).
    * **bounded** (``period=None, range=(lo, hi)``): a scalar in ``[lo, hi]``, e.g. one with several
      modes. Bins of width :math:`W = (hi - lo)/n` have centres :math:`c_i = lo + (i + ½)W` and cover ``y``
      when :math:`|y - c_i| \le W/2 + \text{overlap}/2`; the residual is the offset :math:`(y - c_i)/W`.

    ``overlap`` is in the target's units (radians for angles) and widens every bin by half of it on each
    side, so a target near a boundary trains both neighbouring bins. The class target of the confidence is
    the covering bin whose centre is nearest. Decoding takes the most confident bin ``i*`` and returns
    :math:`\operatorname{wrap}(c_{i^*} + \operatorname{atan2}(s, c)\,P/2π)` (periodic) or
    :math:`c_{i^*} + W r_{i^*}` (bounded; not clamped to the range). Decoding the one-hot confidence and
    the residuals of a perfectly encoded target returns the target (modulo ``P``).

    Args:
        num_bins: number of bins ``n >= 1``. Default in public reimplementations: 2.
        overlap: total overlap between neighbouring bins, in ``[0, W)`` with ``W`` the bin width.
            Default 0.1 (radians for the default angle codec).
        period: the period ``P > 0`` of a periodic target (``2π`` for orientations, ``π`` for undirected
            axes); ``None`` for a bounded target, which then needs ``range``.
        range: ``(lo, hi)`` with ``lo < hi`` for a bounded target (give ``period=None`` with it).

    Raises:
        ValueError: on ``num_bins < 1``, an overlap outside ``[0, W)``, a non-positive period, a bad
            range, or both / neither of ``period`` and ``range``.
        TypeError: on arguments of the wrong type.

    Example:
        >>> import math, torch
        >>> from losskit.functional import MultiBinCodec
        >>> codec = MultiBinCodec(2, overlap=0.3)  # centres 0 and π, each covering π/2 + 0.15 either side
        >>> enc = codec.encode(torch.tensor([1.5], dtype=torch.float64))
        >>> enc.bin, enc.mask
        (tensor([0]), tensor([[True, True]]))
        >>> print(f"{codec.decode(torch.tensor([[5.0, 0.0]]), enc.residual.float()).item():.4f}")
        1.5000
    """

    __slots__ = ("num_bins", "overlap", "period", "range")

    num_bins: int
    overlap: float
    period: float | None
    range: tuple[float, float] | None

    def __init__(
        self,
        num_bins: int,
        *,
        overlap: float = 0.1,
        period: float | None = 2.0 * math.pi,
        range: tuple[float, float] | None = None,
    ) -> None:
        fn = "MultiBinCodec"
        checks.check_integer(fn, "num_bins", num_bins, low=1)
        p: float | None = None
        r: tuple[float, float] | None = None
        if period is not None and range is not None:
            raise ValueError(
                f"{fn}: give period (a periodic target) or range (a bounded target), not both; "
                f"got period={period!r} and range={range!r}: pass period=None with range"
            )
        if period is None and range is None:
            raise ValueError(
                f"{fn}: give period (a periodic target) or range=(lo, hi) (a bounded one), got neither"
            )
        if period is not None:
            p = checks.check_number(fn, "period", period, low=0.0, low_open=True)
            if math.isinf(p):
                raise ValueError(f"{fn}: period must be finite, got {period!r}")
            width = p / num_bins
        else:
            if isinstance(range, (str, bytes)) or not isinstance(range, (tuple, list)) or len(range) != 2:
                raise TypeError(f"{fn}: range must be a pair (lo, hi), got {range!r}")
            lo = checks.check_number(fn, "range[0]", range[0])
            hi = checks.check_number(fn, "range[1]", range[1])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"{fn}: range must be finite with lo < hi, got {tuple(range)!r}")
            r = (lo, hi)
            width = (hi - lo) / num_bins
        ov = checks.check_number(fn, "overlap", overlap, low=0.0)
        if not ov < width:
            raise ValueError(
                f"{fn}: overlap must be in [0, bin width) = [0, {width:.6g}) for {num_bins} bins, "
                f"got {overlap!r}"
            )
        object.__setattr__(self, "num_bins", num_bins)
        object.__setattr__(self, "overlap", ov)
        object.__setattr__(self, "period", p)
        object.__setattr__(self, "range", r)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"MultiBinCodec is immutable; build a new one instead of setting {name!r}")

    # immutable, so a copy may be the object itself; pickling rebuilds it through __init__ (which
    # re-validates) instead of setting attributes one by one, which __setattr__ forbids
    def __copy__(self) -> MultiBinCodec:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> MultiBinCodec:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_codec, (self.num_bins, self.overlap, self.period, self.range))

    def __repr__(self) -> str:
        where = f"period={self.period!r}" if self.period is not None else f"period=None, range={self.range!r}"
        return f"MultiBinCodec({self.num_bins}, overlap={self.overlap!r}, {where})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultiBinCodec):
            return NotImplemented
        return (self.num_bins, self.overlap, self.period, self.range) == (
            other.num_bins,
            other.overlap,
            other.period,
            other.range,
        )

    def __hash__(self) -> int:
        return hash((self.num_bins, self.overlap, self.period, self.range))

    # ---------------------------------------------------------------------------------------------
    # geometry

    @property
    def periodic(self) -> bool:
        """Whether the target is an angle (periodic) rather than a bounded scalar."""
        return self.period is not None

    @property
    def bin_width(self) -> float:
        """Width ``W`` of a bin before overlap: ``P/n`` or ``(hi - lo)/n``."""
        if self.period is not None:
            return self.period / self.num_bins
        assert self.range is not None
        return (self.range[1] - self.range[0]) / self.num_bins

    @property
    def half_width(self) -> float:
        """Half-width of a bin's coverage: ``W/2 + overlap/2``."""
        return 0.5 * (self.bin_width + self.overlap)

    @property
    def residual_shape(self) -> tuple[int, ...]:
        """Trailing shape of the residuals: ``(n, 2)`` for a periodic codec, ``(n,)`` for a bounded one."""
        return (self.num_bins, 2) if self.periodic else (self.num_bins,)

    def centers(
        self, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """Bin centres ``c_i`` as a ``(n,)`` tensor (``iP/n``, or ``lo + (i + ½)W``)."""
        i = torch.arange(self.num_bins, dtype=dtype or torch.get_default_dtype(), device=device)
        if self.period is not None:
            return i * self.bin_width
        assert self.range is not None
        return self.range[0] + (i + 0.5) * self.bin_width

    def wrap(self, angle: Tensor) -> Tensor:
        """Map angles to ``[-P/2, P/2)`` (identity for a bounded codec)."""
        if self.period is None:
            return angle
        p = self.period
        out = torch.remainder(angle + 0.5 * p, p) - 0.5 * p
        # remainder can round up to exactly P for tiny negative arguments
        return torch.where(out >= 0.5 * p, out - p, out)

    # ---------------------------------------------------------------------------------------------
    # encode / decode

    def _check_target(self, fn: str, target: Tensor) -> None:
        checks.check_float(fn, "target", target)
        checks.check_finite(fn, "target", target)  # argmin over NaN distances would pick bin 0 silently
        if self.range is not None and target.numel() and checks.values_checked(target):
            lo, hi = (float(v) for v in torch.aminmax(target))  # one pass for both ends
            if not (lo >= self.range[0] and hi <= self.range[1]):
                raise ValueError(
                    f"{fn}: target must lie in the codec's range [{self.range[0]:g}, {self.range[1]:g}], "
                    f"got values in [{lo:.4g}, {hi:.4g}]"
                )

    def _encode(self, y: Tensor) -> MultiBinTarget:
        """Encode an already validated, upcast target."""
        c = self.centers(dtype=y.dtype, device=y.device)
        d = self.wrap(y.unsqueeze(-1) - c)  # (*S, n): signed distance to every centre
        dist = d.abs()
        bin_ = dist.argmin(dim=-1)
        mask = dist <= self.half_width
        # the nearest bin always covers the target (dist <= W/2); say so even after rounding
        mask = mask | torch.nn.functional.one_hot(bin_, self.num_bins).to(torch.bool)
        if self.period is not None:
            phi = d * (2.0 * math.pi / self.period)
            residual = torch.stack((torch.cos(phi), torch.sin(phi)), dim=-1)
        else:
            residual = d / self.bin_width
        return MultiBinTarget(bin_, mask, residual)

    def encode(self, target: Tensor) -> MultiBinTarget:
        """Encode targets of shape ``S`` into bin index, covering mask and residual targets.

        Args:
            target: angles (any finite value; taken modulo the period) or scalars in the codec's range.

        Returns:
            A :class:`MultiBinTarget` ``(bin, mask, residual)`` (see there for shapes). Half-precision
            targets are encoded in float32.

        Raises:
            TypeError: on a non-floating target.
            ValueError: on a bounded target outside the range (value check, see :func:`losskit.set_checks`).
        """
        fn = "MultiBinCodec.encode"
        self._check_target(fn, target)
        _, (y,) = prepare(fn, target)
        assert y is not None
        return self._encode(y)

    def _check_predictions(self, fn: str, bin_logits: Tensor, residuals: Tensor) -> tuple[int, ...]:
        checks.check_float(fn, "bin_logits", bin_logits)
        checks.check_float(fn, "residuals", residuals)
        n = self.num_bins
        if bin_logits.dim() < 1 or bin_logits.shape[-1] != n:
            raise ValueError(
                f"{fn}: bin_logits must have shape (*, {n}) with one logit per bin, "
                f"got {fmt_shape(bin_logits.shape)}"
            )
        batch = tuple(bin_logits.shape[:-1])
        if self.periodic:
            what = "(*, num_bins, 2): a (cos, sin) pair per bin"
        else:
            what = "(*, num_bins): one offset per bin"
        checks.check_shape(fn, "residuals", residuals, (*batch, *self.residual_shape), what)
        checks.check_same_device(fn, bin_logits=bin_logits, residuals=residuals)
        return batch

    def decode(self, bin_logits: Tensor, residuals: Tensor) -> Tensor:
        """Turn predicted bin confidences and residuals into target values.

        Args:
            bin_logits: ``(*S, n)`` confidences (logits or probabilities: only the argmax is used).
            residuals: ``(*S, n, 2)`` (periodic; need not be normalised) or ``(*S, n)`` (bounded).

        Returns:
            ``(*S)`` values: angles in ``[-P/2, P/2)`` or scalars (not clamped to the range), in the
            compute dtype (float32 for half-precision inputs). Not differentiable through the argmax.

        Raises:
            ValueError: on shapes that do not match the codec.
            TypeError: on non-floating tensors.
        """
        fn = "MultiBinCodec.decode"
        self._check_predictions(fn, bin_logits, residuals)
        _, (z, r) = prepare(fn, bin_logits, residuals)
        assert z is not None and r is not None
        best = z.argmax(dim=-1, keepdim=True)  # (*S, 1)
        c = self.centers(dtype=r.dtype, device=r.device)[best.squeeze(-1)]
        if self.period is not None:
            pair = r.gather(-2, best.unsqueeze(-1).expand(*best.shape, 2)).squeeze(-2)
            delta = torch.atan2(pair[..., 1], pair[..., 0]) * (self.period / (2.0 * math.pi))
            return self.wrap(c + delta)
        return c + self.bin_width * r.gather(-1, best).squeeze(-1)


def _rebuild_codec(
    num_bins: int, overlap: float, period: float | None, range: tuple[float, float] | None
) -> MultiBinCodec:
    """Unpickle a :class:`MultiBinCodec` (its ``__reduce__``)."""
    return MultiBinCodec(num_bins, overlap=overlap, period=period, range=range)


def multibin_loss(
    bin_logits: Tensor,
    residuals: Tensor,
    target: Tensor,
    *,
    codec: MultiBinCodec,
    loc_weight: float = 1.0,
    beta: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
    normalizer: float | Tensor | None = None,
    process_group: ProcessGroup | None = None,
) -> Tensor:
    r"""Multi-bin loss: bin classification plus residual regression in every bin that covers the target.

    .. math::
        \ell = -\log\operatorname{softmax}(z)_{i^\dagger}
              + w\,\frac{1}{|\mathcal C|}\sum_{i \in \mathcal C} \ell_\text{loc}(i)

    where :math:`\mathcal C` is the set of bins that cover the target and :math:`i^\dagger` the covering
    bin with the nearest centre (see :class:`MultiBinCodec`).

    * periodic codec: :math:`\ell_\text{loc}(i) = 1 - \cos(φ^* - φ_i)`, with :math:`φ_i` the angle of the
      predicted ``(cos, sin)`` pair of bin ``i`` (normalised to unit length) and :math:`φ^*` the encoded
      target residual — for ``P = 2π`` this is :math:`1 - \cos(θ^* - c_i - Δθ_i)`, the paper's
      :math:`-\cos` shifted by 1 so the loss is ``>= 0`` (same gradient).
    * bounded codec: :math:`\ell_\text{loc}(i) = \operatorname{smooth\_l1}_\beta(r_i - (y - c_i)/W)`.

    Args:
        bin_logits: ``(*S, n)`` bin confidence logits.
        residuals: ``(*S, n, 2)`` predicted ``(cos, sin)`` per bin (any length; a zero vector gives a finite
            loss and gradient) for a periodic codec, ``(*S, n)`` offsets in bin widths for a bounded one.
        target: ``(*S)`` angles (any finite value, taken modulo the period) or scalars in the codec's range.
        codec: the :class:`MultiBinCodec` that defines the bins.
        loc_weight: ``w >= 0``, weight of the residual term. Default 1.0.
        beta: smooth-L1 switch point for a bounded codec (unused for a periodic one). Default 1.0.
        weight: per-sample weight broadcastable into ``S``; ``"mean"`` is ``Σ w ℓ / Σ w``.
        reduction: ``"none"`` (per sample, shape ``S``), ``"mean"`` or ``"sum"``.
        normalizer: {normalizer}
        process_group: {process_group}

    Returns:
        The loss; shape ``S`` for ``reduction="none"``, else 0-d. Decode predictions with
        :meth:`MultiBinCodec.decode`.

    Raises:
        ValueError: on shapes that do not match the codec, a bounded target outside the range, a negative
            ``loc_weight``/``beta``, a bad weight or reduction, NaN/inf inputs.
        TypeError: on a ``codec`` that is not a :class:`MultiBinCodec`, or non-floating tensors.

    References:
        Mousavian, Anguelov, Flynn, Košecká, *3D Bounding Box Estimation Using Deep Learning and Geometry*,
        CVPR 2017 (arXiv 1612.00496).

    Example:
        The SPEC example: two bins (centres 0 and π) with overlap 0.3, θ* = 1.5 lies in both bins.

        >>> import torch
        >>> from losskit.functional import MultiBinCodec, multibin_loss
        >>> codec = MultiBinCodec(2, overlap=0.3)
        >>> z = torch.tensor([[0.3, 0.1]], dtype=torch.float64)
        >>> r = torch.tensor([[[0.1, 0.9], [0.2, -0.9]]], dtype=torch.float64)
        >>> theta = torch.tensor([1.5], dtype=torch.float64)
        >>> print(f"{multibin_loss(z, r, theta, codec=codec, loc_weight=0.0).item():.9f}")  # L_conf
        0.598138869
        >>> print(f"{multibin_loss(z, r, theta, codec=codec).item():.9f}")  # + mean(1 - cos) 0.021198848
        0.619337717
        >>> print(f"{codec.decode(z, r).item():.8f}")
        1.46013911
    """
    fn = "multibin_loss"
    checks.check_reduction(fn, reduction)
    if not isinstance(codec, MultiBinCodec):
        raise TypeError(f"{fn}: codec must be a MultiBinCodec, got {type(codec).__name__}")
    lw = checks.check_number(fn, "loc_weight", loc_weight, low=0.0)
    b = checks.check_number(fn, "beta", beta, low=0.0)
    batch = codec._check_predictions(fn, bin_logits, residuals)
    codec._check_target(fn, target)
    checks.check_shape(fn, "target", target, batch, "(bin_logits' shape without the bin dimension)")
    checks.check_weight(fn, weight, batch)
    checks.check_same_device(fn, bin_logits=bin_logits, target=target, weight=weight)
    _, (z, r, y, w) = prepare(fn, bin_logits, residuals, target, weight)
    assert z is not None and r is not None and y is not None

    enc = codec._encode(y)
    conf = -torch.log_softmax(z, dim=-1).gather(-1, enc.bin.unsqueeze(-1)).squeeze(-1)
    if codec.periodic:
        norm = torch.linalg.vector_norm(r, dim=-1, keepdim=True)
        unit = r / norm.clamp_min(1e-12)  # a zero vector has no direction: loss 1, finite gradient
        loc_i = 1.0 - (unit * enc.residual).sum(-1)
    else:
        d = (r - enc.residual).abs()
        loc_i = d if b == 0.0 else torch.where(d < b, (0.5 / b) * d * d, d - 0.5 * b)
    m = enc.mask.to(loc_i.dtype)
    loc = (loc_i * m).sum(-1) / m.sum(-1)
    values = conf + lw * loc
    inputs: dict[str, Tensor | None] = {"bin_logits": bin_logits, "residuals": residuals, "target": target}
    return finish(fn, values, reduction, w, normalizer=normalizer, process_group=process_group, inputs=inputs)
