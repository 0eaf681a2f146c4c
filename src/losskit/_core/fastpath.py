"""The switch for losskit's fused kernels (``losskit.kernels``) and the one predicate that consults it.

Every fused ``autograd.Function`` is taken only where :func:`applies` says so; otherwise the loss runs its
plain formula and autograd does the rest. The kernels give the same values and first derivatives as the
plain formula (tested), so the switch exists for debugging, for A/B measurements and for tests that need
both paths. Higher-order gradients need no switch: a kernel's backward that runs with grad mode on
(``create_graph=True``) differentiates the plain formula itself, and under ``torch.func`` transforms or a
forward-mode AD level the kernels step aside by themselves.

Under ``torch.compile`` the kernels step aside too, and the loss is traced through its plain formula.
The kernels exist to do what eager PyTorch cannot: fuse a chain of elementwise passes, skip saving
temporaries and hand back a closed-form gradient. Inductor does all of that itself when it sees the
formula; a Function instead reaches the graph as one opaque ``autograd_function_apply`` node whose
forward and backward are compiled apart from the ops around them (the reduction, the weights), so no
fusion reaches across it. ``benchmarks/bench_compile.py`` measures both sides compiled against the
peers. Where losskit's plain formula is written for exactness in eager rather than for inductor (the
focal losses compute every log-probability in log space, a few transcendental functions per element),
:func:`compiling` lets the caller trace a closed form of the same value instead: sigmoid focal from one
``exp(-|x|)`` per element, softmax focal from the target's log-probability alone. ``fullgraph=True``
holds: every test here reads interpreter state, never a tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.autograd.forward_ad as _forward_ad
from torch import Tensor

from losskit._core.checks import check_flag

__all__ = [
    "applies",
    "compiling",
    "differentiate_plain",
    "fast_paths",
    "fast_paths_enabled",
    "set_fast_paths",
]

_enabled = True


def set_fast_paths(enabled: bool) -> None:
    """Turn losskit's fused kernels on (the default) or off for the whole process.

    With ``False`` every loss computes its plain formula and autograd differentiates it: same values,
    with the formula's intermediates saved for backward where a fused kernel saves only its inputs (what
    that costs is measured, not assumed: ``benchmarks/bench_classification.py`` compares the two for
    sigmoid focal). Higher-order gradients and ``torch.func`` transforms work either way.

    Args:
        enabled: ``True`` to use the fused kernels where they apply, ``False`` for the plain formulas.

    Raises:
        TypeError: if ``enabled`` is not a bool.

    Example:
        >>> import losskit
        >>> losskit.set_fast_paths(False)
        >>> losskit.set_fast_paths(True)
    """
    global _enabled
    check_flag("set_fast_paths", "enabled", enabled)
    _enabled = enabled


def fast_paths_enabled() -> bool:
    """Whether the fused kernels are switched on (see :func:`set_fast_paths`)."""
    return _enabled


@contextmanager
def fast_paths(enabled: bool) -> Iterator[None]:
    """Context manager form of :func:`set_fast_paths`; restores the previous setting on exit."""
    check_flag("fast_paths", "enabled", enabled)
    global _enabled
    before = _enabled
    _enabled = enabled
    try:
        yield
    finally:
        _enabled = before


def applies() -> bool:
    """Whether a fused kernel may run now: switched on, no transform or forward AD, not being compiled.

    That is: no ``torch.func`` transform, no forward-mode AD level, not traced by ``torch.compile``.

    The kernels are first-order reverse-mode ``autograd.Function``s (their backward falls back to the plain
    formula for double backward); ``vmap`` / ``jvp`` / ``jacfwd`` and dual tensors get the plain formula,
    which every transform understands. Compiled, the plain formula is what inductor can fuse (module
    docstring). Every test reads interpreter state only, so ``torch.compile`` folds them into constants
    (``fullgraph=True`` holds); eager behaviour does not depend on the last one.
    """
    return _unhindered() and not torch.compiler.is_compiling()


def compiling() -> bool:
    """Whether ``torch.compile`` is tracing a loss with the fast paths switched on.

    With no ``torch.func`` transform and no forward-mode AD either: where a loss may take a closed form
    written for inductor (module docstring) instead of its plain formula.
    """
    return _unhindered() and torch.compiler.is_compiling()


def _unhindered() -> bool:
    return _enabled and _forward_ad._current_level < 0 and not torch._C._are_functorch_transforms_active()


def differentiate_plain(
    formula: Callable[[], Tensor | tuple[Tensor, ...]],
    inputs: tuple[Tensor, ...],
    grad: Tensor | tuple[Tensor, ...],
) -> tuple[Tensor | None, ...]:
    """``grad``-weighted gradient of ``formula()`` w.r.t. ``inputs``, itself differentiable.

    What a fused kernel's backward returns when it runs with grad mode on (``create_graph=True``):
    ``formula`` recomputes the kernel's output from its saved inputs in plain differentiable ops, so every
    higher derivative (w.r.t. the inputs and w.r.t. ``grad``) is autograd's of the formula.
    """
    with torch.enable_grad():
        out = formula()
        return torch.autograd.grad(out, inputs, grad, create_graph=True, allow_unused=True)
