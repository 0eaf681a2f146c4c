"""Peak memory of a CPU computation, read from the allocator's own events.

Used by the loss lab and the benchmarks: ``torch.profiler`` with ``profile_memory=True`` records every
allocation and free of c10's CPU allocator (including those made inside custom ops and ``torch.library``
kernels); the peak of their running sum is the high-water mark of bytes the computation held.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    kineto writes a status line to it on every profiler start and stop (and a GPU-probe error on machines
    without one), which a lab or benchmark user should not see.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def cpu_allocator_peak(fn: Callable[[], Any]) -> int:
    """High-water mark, in bytes, of what the CPU allocator holds while ``fn()`` runs.

    Allocations made before the call and still alive are not counted.
    """
    from torch.profiler import ProfilerActivity, profile

    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    results = prof.profiler.kineto_results
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in results.events()
        if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
    )
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak
