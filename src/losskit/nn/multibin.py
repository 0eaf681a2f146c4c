"""Module of the multi-bin loss: holds a :class:`~losskit.functional.MultiBinCodec` and the loss options."""

from __future__ import annotations

from typing import Any

from losskit.functional import multibin as F
from losskit.functional.multibin import MultiBinCodec
from losskit.nn.base import FunctionalLoss
from losskit.registry import register

__all__ = ["MultiBinLoss"]

_CODEC_ARGS = ("num_bins", "overlap", "period", "range")


@register("multibin", "multi_bin", family="multibin")
class MultiBinLoss(FunctionalLoss):
    """Module form of :func:`losskit.functional.multibin_loss`.

    Give a codec, or the codec's arguments (``num_bins``, ``overlap``, ``period``, ``range``) so that
    configuration files can build it by name; with neither, the default two-bin angle codec
    ``MultiBinCodec(2)`` is used. ``forward(bin_logits, residuals, target)``; :attr:`codec` decodes.

    Args:
        codec: the :class:`~losskit.functional.MultiBinCodec`, or None.
        **options: codec arguments and keyword options of :func:`~losskit.functional.multibin_loss`
            (``loc_weight``, ``beta``, ``weight``, ``reduction``).

    Raises:
        TypeError: if both a codec and codec arguments are given, or for an unknown option.

    Example:
        >>> import losskit
        >>> losskit.get("multibin", num_bins=4, overlap=0.2)
        MultiBinLoss(codec=MultiBinCodec(4, overlap=0.2, period=6.283185307179586))
    """

    function = staticmethod(F.multibin_loss)

    def __init__(self, codec: MultiBinCodec | None = None, **options: Any) -> None:
        spec = {k: options.pop(k) for k in _CODEC_ARGS if k in options}
        if codec is None:
            codec = MultiBinCodec(spec.pop("num_bins", 2), **spec)
        elif spec:
            raise TypeError(f"MultiBinLoss: give a codec or the codec's arguments {sorted(spec)}, not both")
        if not isinstance(codec, MultiBinCodec):
            raise TypeError(f"MultiBinLoss: codec must be a MultiBinCodec, got {type(codec).__name__}")
        super().__init__(codec=codec, **options)

    @property
    def codec(self) -> MultiBinCodec:
        """The codec that defines the bins (use ``.decode`` on the network's outputs)."""
        codec: MultiBinCodec = self._plain["codec"]
        return codec
