"""Argument validation with one message format for every loss.

Every message starts with the public function's name, names the argument, and says what was expected
and what came: ``"cross_entropy: target must have shape (8,) ..., got (8, 1)"``.

Two kinds of checks:

* **metadata** checks (shape, dtype, device, option values) always run; they cost nothing on any device.
* **value** checks (labels in range, probabilities in [0, 1], finite inputs) read tensor data. On a GPU that
  forces a device→host synchronisation, so they run only for CPU tensors, or everywhere after
  ``losskit.set_checks("full")``. They never run while ``torch.compile`` traces a function.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

_MODES = ("default", "full", "off")
_mode = "default"


def set_checks(mode: str) -> None:
    """Choose when losskit validates tensor *values*.

    Args:
        mode: ``"default"`` checks values (label range, probability range, NaN/inf) only for CPU tensors,
            where it is cheap; ``"full"`` checks them on every device (forces a GPU sync per call, for
            debugging); ``"off"`` skips value checks everywhere. Shape, dtype and option checks always run.

    Raises:
        ValueError: if ``mode`` is not one of the three names.
    """
    global _mode
    if mode not in _MODES:
        raise ValueError(f"set_checks: mode must be one of {_MODES}, got {mode!r}")
    _mode = mode


def get_checks() -> str:
    """Return the current value-check mode (see :func:`set_checks`)."""
    return _mode


def _compiling() -> bool:
    return bool(torch.compiler.is_compiling())


def values_checked(*tensors: Tensor | None) -> bool:
    """Whether value checks should run for these tensors under the current mode."""
    if _mode == "off" or _compiling() or torch._C._are_functorch_transforms_active():
        return False  # values cannot be read while tracing, nor per sample under torch.func.vmap
    if _mode == "full":
        return True
    return all(t is None or t.device.type == "cpu" for t in tensors)


def fmt_shape(shape: Iterable[int]) -> str:
    """Format a shape as ``(a, b)``; the empty shape prints as ``()``."""
    dims = tuple(int(s) for s in shape)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def check_option(fn: str, name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{fn}: {name} must be one of {tuple(allowed)}, got {value!r}")


def _got(value: Any) -> str:
    """``got <type> <value>`` for scalars and strings, ``got <type>`` for anything larger."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def check_flag(fn: str, name: str, value: Any) -> bool:
    """Raise TypeError unless ``value`` is a real ``bool`` (``"no"`` or ``1`` would be truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{fn}: {name} must be a bool, got {_got(value)}")
    return value


def check_integer(fn: str, name: str, value: Any, *, low: int | None = None) -> int:
    """Raise TypeError unless ``value`` is a Python int (bool rejected), ValueError if it is below ``low``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{fn}: {name} must be an int, got {_got(value)}")
    if low is not None and value < low:
        raise ValueError(f"{fn}: {name} must be >= {low}, got {value!r}")
    return value


def check_ignore_index(
    fn: str, value: Any, *, optional: bool = False, name: str = "ignore_index"
) -> int | None:
    """Validate an ``ignore_index`` option: an int (or None where ``optional``; bool and float rejected)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        expected = "an int or None" if optional else "an int"
        raise TypeError(f"{fn}: {name} must be {expected}, got {_got(value)}")
    return value


def check_nonnegative(fn: str, name: str, value: Any) -> float:
    """A number in ``[0, inf)`` (see :func:`check_number`)."""
    return check_number(fn, name, value, low=0.0)


def check_positive(fn: str, name: str, value: Any) -> float:
    """A number in ``(0, inf)`` (see :func:`check_number`)."""
    return check_number(fn, name, value, low=0.0, low_open=True)


def check_positive_parameter(fn: str, name: str, value: Any, input: Tensor, what: str) -> Tensor | float:
    """A positive parameter given as a number or as a floating tensor that broadcasts into ``input``.

    For a distribution or scale parameter such as ``scale=``, ``df=`` or ``total_count=``: a number must
    lie in ``(0, inf)`` (a float comes back); a tensor must be floating, broadcast *into* the input's shape
    (never enlarge it; ``what`` is the hint printed after the expected shape, e.g. ``"(e.g. (D,) per
    feature)"``), live on the input's device, and (value check) hold finite values > 0. The tensor itself
    comes back.
    """
    if isinstance(value, Tensor):
        check_float(fn, name, value)
        shape = tuple(input.shape)
        try:
            out = tuple(torch.broadcast_shapes(tuple(value.shape), shape))
        except RuntimeError:
            out = None
        if out != shape:
            raise ValueError(
                f"{fn}: {name} must have the input's shape {fmt_shape(shape)} or one that broadcasts to it "
                f"{what}, got {fmt_shape(value.shape)}"
            )
        check_same_device(fn, input=input, **{name: value})
        check_finite(fn, name, value)
        if value.numel() and values_checked(value):
            lo = float(value.detach().min())
            if not lo > 0.0:
                raise ValueError(f"{fn}: {name} must be positive, got a minimum of {lo:.4g}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {name} must be a positive number or a tensor, got {type(value).__name__}")
    return check_number(fn, name, value, low=0.0, low_open=True, high=float("inf"), high_open=True)


def check_reduction(fn: str, reduction: str) -> None:
    """Validate the ``reduction`` argument (shared by every loss)."""
    check_option(fn, "reduction", reduction, ("none", "mean", "sum"))


def check_tensor(fn: str, name: str, x: Any) -> Tensor:
    """Raise TypeError unless ``x`` is a tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_float(fn: str, name: str, x: Any) -> Tensor:
    """Raise TypeError unless ``x`` is a floating-point tensor."""
    check_tensor(fn, name, x)
    if not x.is_floating_point():
        raise TypeError(f"{fn}: {name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_int(fn: str, name: str, x: Any) -> Tensor:
    """Raise TypeError unless ``x`` is an integer (class-index) tensor."""
    check_tensor(fn, name, x)
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{fn}: {name} must be an integer tensor of class indices, got dtype {x.dtype}")
    return x


def check_index_target(fn: str, name: str, x: Any) -> Tensor:
    """Validate a class-index tensor and return it as int64, the dtype torch's indexing kernels need.

    Every integer dtype is accepted (``uint8`` masks from PIL / NumPy, ``int32`` labels, ...); the cast
    happens once, here, and is free for an int64 tensor (the same tensor comes back, no copy). bool,
    floating and complex tensors are rejected with a TypeError: a bool tensor used as an index would be
    read as a mask, a float one is ambiguous.
    """
    check_int(fn, name, x)
    return x if x.dtype == torch.int64 else x.to(torch.int64)


def _nonfinite(fn: str, name: str, x: Tensor) -> ValueError:
    kind = "NaN" if bool(torch.isnan(x).any()) else "inf"
    return ValueError(f"{fn}: {name} contains {kind} values; losses need finite inputs")


def check_finite(fn: str, name: str, x: Tensor | None) -> None:
    """Value check: a floating tensor holds no NaN or inf (only when value checks are on).

    For the losses whose result could hide a non-finite input (a step function, an index computed from
    a float, a comparison): elsewhere :func:`check_finite_result` finds the culprit only when the result
    is not finite, which costs nothing on the common path.
    """
    if x is None or not x.is_floating_point() or x.numel() == 0 or not values_checked(x):
        return
    x = x.detach()
    if not bool(torch.isfinite(x).all()):
        raise _nonfinite(fn, name, x)


def check_ndim(fn: str, name: str, x: Tensor, min_ndim: int, what: str = "") -> None:
    """Raise ValueError if ``x`` has fewer than ``min_ndim`` dimensions."""
    if x.dim() < min_ndim:
        extra = f" {what}" if what else ""
        raise ValueError(
            f"{fn}: {name} must have at least {min_ndim} dimension(s){extra}, got shape {fmt_shape(x.shape)}"
        )


def check_shape(fn: str, name: str, x: Tensor, expected: Sequence[int], what: str = "") -> None:
    """Raise ValueError unless ``x.shape == expected`` (no broadcasting)."""
    if tuple(x.shape) != tuple(expected):
        extra = f" {what}" if what else ""
        raise ValueError(
            f"{fn}: {name} must have shape {fmt_shape(expected)}{extra}, got {fmt_shape(x.shape)}"
        )


def check_mask(
    fn: str, mask: Any, shape: Sequence[int], what: str = "(the loss's per-sample shape)", name: str = "mask"
) -> Tensor | None:
    """Validate an optional boolean keep-mask (True = keep) of exactly ``shape``."""
    if mask is None:
        return None
    check_tensor(fn, name, mask)
    if mask.dtype != torch.bool:
        raise TypeError(f"{fn}: {name} must be a bool tensor (True = keep), got dtype {mask.dtype}")
    check_shape(fn, name, mask, shape, what)
    return mask


def check_same_device(fn: str, **tensors: Tensor | None) -> None:
    """Raise ValueError if the given tensors live on different devices."""
    devices = {k: t.device for k, t in tensors.items() if t is not None}
    if len(set(devices.values())) > 1:
        desc = ", ".join(f"{k} on {d}" for k, d in devices.items())
        raise ValueError(f"{fn}: all tensors must be on one device, got {desc}")


def check_weight(fn: str, x: Tensor | None, loss_shape: Sequence[int], name: str = "weight") -> Tensor | None:
    """Validate an elementwise / per-sample weight against the unreduced loss shape.

    The weight may broadcast *into* the loss shape (e.g. a per-class ``(C,)`` weight against ``(N, C)``),
    but it may never enlarge the loss: ``torch.broadcast_shapes(weight, loss) == loss`` must hold.
    """
    if x is None:
        return None
    check_float(fn, name, x)
    try:
        out = torch.broadcast_shapes(tuple(x.shape), tuple(loss_shape))
    except RuntimeError:
        out = None
    if out is None or tuple(out) != tuple(loss_shape):
        raise ValueError(
            f"{fn}: {name} must have the loss's unreduced shape {fmt_shape(loss_shape)} or one that "
            f"broadcasts to it, got {fmt_shape(x.shape)}"
        )
    _check_weight_values(fn, name, x)
    return x


def _check_weight_values(fn: str, name: str, x: Tensor) -> None:
    """Value check of a weight: finite (a NaN weight would silently turn the loss into NaN) and >= 0."""
    if x.numel() == 0 or not values_checked(x):
        return
    x = x.detach()
    if not bool(torch.isfinite(x).all()):
        raise _nonfinite(fn, name, x)
    if bool((x < 0).any()):
        raise ValueError(f"{fn}: {name} must be non-negative, got a minimum of {float(x.min()):.4g}")


def check_class_weight(fn: str, x: Tensor | None, num_classes: int, name: str = "weight") -> Tensor | None:
    """Validate a per-class weight of shape ``(C,)``."""
    if x is None:
        return None
    check_float(fn, name, x)
    check_shape(fn, name, x, (num_classes,), "(one weight per class)")
    _check_weight_values(fn, name, x)
    return x


def check_number(
    fn: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a scalar hyper-parameter and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    v = float(value)
    bad = v != v
    if low is not None:
        bad = bad or (v <= low if low_open else v < low)
    if high is not None:
        bad = bad or (v >= high if high_open else v > high)
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = (
            ("(" if low_open or low is None else "[")
            + f"{lo}, {hi}"
            + (")" if high_open or high is None else "]")
        )
        raise ValueError(f"{fn}: {name} must be in {interval}, got {value!r}")
    return v


def check_probabilities(fn: str, name: str, x: Tensor) -> None:
    """Value check: every entry of ``x`` lies in [0, 1] (only when value checks are on)."""
    if x.numel() and values_checked(x):
        x = x.detach()
        if x.dtype == torch.bool:
            return  # a bool target is {0, 1} by construction
        lo, hi = (float(v) for v in torch.aminmax(x))  # one pass; a NaN anywhere reaches both
        if lo != lo or hi != hi:
            raise _nonfinite(fn, name, x)
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{fn}: {name} must hold probabilities in [0, 1], got values in [{lo:.4g}, {hi:.4g}]"
            )


def check_log_probabilities(fn: str, name: str, x: Tensor) -> None:
    """Value check: every entry of ``x`` is <= 0 (a log-probability)."""
    if x.numel() and values_checked(x):
        hi = float(x.detach().max())
        if hi != hi:
            raise _nonfinite(fn, name, x.detach())
        if hi > 1e-6:
            raise ValueError(f"{fn}: {name} must hold log-probabilities (<= 0), got a maximum of {hi:.4g}")


def check_labels(
    fn: str, name: str, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> None:
    """Value check: class indices lie in [0, num_classes) or equal ``ignore_index``."""
    if target.numel() == 0 or not values_checked(target):
        return
    target = target.detach()
    lo, hi = (int(v) for v in torch.aminmax(target))  # one pass decides the common case
    if (lo < 0 or hi >= num_classes) and ignore_index is not None and ignore_index in (lo, hi):
        # an extreme is the ignored label: the extremes of the others (0 stands in for an ignored label;
        # it is a valid class, so it can hide no bad one)
        lo, hi = (int(v) for v in torch.aminmax(target.masked_fill(target == ignore_index, 0)))
    if lo < 0 or hi >= num_classes:
        ign = "" if ignore_index is None else f" (or ignore_index={ignore_index})"
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{fn}: {name} holds class index {bad}, expected indices in [0, {num_classes - 1}]{ign}"
        )


def check_finite_result(fn: str, result: Tensor, **inputs: Tensor | None) -> Tensor:
    """Turn a non-finite loss caused by non-finite inputs into a ValueError naming the input.

    Checking the (small, reduced) result first makes the common path cheap; the inputs are only scanned
    when the result is not finite. A non-finite result from finite inputs is returned unchanged (it is
    a genuine overflow, documented per loss).
    """
    if not values_checked(result) or result.numel() == 0:
        return result
    if bool(torch.isfinite(result.detach()).all()):
        return result
    for name, t in inputs.items():
        if t is not None and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise _nonfinite(fn, name, t.detach())
    return result
