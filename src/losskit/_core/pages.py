"""Input-sized outputs that are quick to write the first time: transparent huge pages on Linux.

A large CPU tensor comes from ``mmap`` and its pages are mapped on first write: with 4 KiB pages the
kernel takes one page fault per 4 KiB, so writing a freshly allocated 84 MiB gradient runs at a few GB/s
(measured on the 2-core CI machine: 18-22 ms) where a warm copy of it takes 5.6 ms. Advising the kernel
to back the buffer with 2 MiB pages (``madvise(MADV_HUGEPAGE)``, honoured when
``/sys/kernel/mm/transparent_hugepage/enabled`` is ``always`` or ``madvise``) takes one fault per 2 MiB
instead, and the same write then takes 7.5-8 ms.

:func:`empty` is ``torch.empty`` plus that advice, for the one output a fused kernel writes (its loss or
its gradient). The advice is only a hint: it changes no value and no address, the memory is freed as
before, and where it does not apply (another OS, a buffer under :data:`MIN_BYTES`, a device tensor, THP
off, ``LOSSKIT_HUGE_PAGES=0`` in the environment) the result is the plain ``torch.empty``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor

__all__ = ["MIN_BYTES", "advise_huge", "empty"]

MIN_BYTES = 8 << 20
"""Buffers below 8 MiB are left alone: they span few 2 MiB pages and usually come from the allocator's
reused heap, whose pages are already mapped."""

_HUGE = 2 << 20
_MADV_HUGEPAGE = 14


@lru_cache(maxsize=1)
def _madvise() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """The C library's ``madvise``, or None where huge pages cannot be asked for."""
    if not sys.platform.startswith("linux") or os.environ.get("LOSSKIT_HUGE_PAGES", "1") == "0":
        return None
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            if "[never]" in f.read():
                return None
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    fn = libc.madvise
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def advise_huge(t: Tensor) -> bool:
    """Ask for huge pages behind the whole 2 MiB pages of ``t``'s storage; True when the kernel agreed.

    Call it before the first write: pages already mapped keep their size.
    """
    nbytes = t.untyped_storage().nbytes()
    if t.device.type != "cpu" or nbytes < MIN_BYTES:
        return False
    fn = _madvise()
    if fn is None:
        return False
    start = t.untyped_storage().data_ptr()
    lo = (start + _HUGE - 1) & ~(_HUGE - 1)
    hi = (start + nbytes) & ~(_HUGE - 1)
    return hi > lo and fn(lo, hi - lo, _MADV_HUGEPAGE) == 0


def empty(shape: Sequence[int] | torch.Size, *, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``torch.empty(shape, dtype=dtype, device=device)``, advised into huge pages when that applies."""
    out = torch.empty(tuple(shape), dtype=dtype, device=device)
    if not torch.compiler.is_compiling():
        advise_huge(out)
    return out
