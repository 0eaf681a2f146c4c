"""Shared benchmark harness: time and peak memory of losskit against its peers in one process.

Method (see benchmarks/README.md): every case builds its inputs once; each implementation is warmed up,
then timed ``repeats`` times (forward alone, and forward + backward) and the median is kept. All
implementations run in the same process with the same thread count, their repeats interleaved
round-robin so that load changes during the run hit every side alike. Peak memory is measured
with ``torch.cuda.max_memory_allocated`` on CUDA and, on CPU, with a ``TorchDispatchMode`` that tracks
the bytes of live tensors created during the call (inputs excluded), so it counts what each
implementation allocates and keeps for backward.

Every report starts with a machine line (threads, copy bandwidth into warm memory and into freshly
allocated memory, measured by :func:`machine`) and gives each forward + backward a **floor ratio**: its
time over the time needed to read the inputs once and write their gradient once at the warm copy
bandwidth (:func:`floor_ms`), the lower bound of any implementation of a memory-bound loss.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from losskit._core.memory import cpu_allocator_peak

Impl = Callable[..., torch.Tensor]


@dataclass
class Case:
    """One benchmark: a workload and the implementations that compute the same quantity."""

    name: str
    make_inputs: Callable[
        [torch.device], tuple[tuple[Any, ...], Sequence[int]]
    ]  # (args, indices needing grad)
    impls: dict[str, Impl]  # "losskit" first, then peers
    note: str = ""
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    floor_ms: float = 0.0  # read the inputs once + write the gradient once, at the warm copy bandwidth


class _LiveBytes(TorchDispatchMode):
    """Tracks the peak of bytes held by tensors created inside the mode (CPU peak-memory proxy)."""

    def __init__(self, exclude: Sequence[Any] = ()) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        # storages of the inputs: views of them (detach, reshape, slices) made inside are not new memory
        self._inputs = {
            t.untyped_storage().data_ptr()
            for t in tree_flatten(list(exclude))[0]
            if isinstance(t, torch.Tensor)
        }
        self._seen: set[int] = set()

    def _track(self, t: torch.Tensor) -> None:
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return
        key = storage.data_ptr()
        if key in self._seen or key in self._inputs or key == 0:
            return
        self._seen.add(key)
        nbytes = storage.nbytes()
        self.live += nbytes
        self.peak = max(self.peak, self.live)

        def release(_: Any, key: int = key, nbytes: int = nbytes) -> None:
            self.live -= nbytes
            self._seen.discard(key)

        weakref.finalize(storage, release, None)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and not isinstance(t, torch.nn.Parameter):
                self._track(t)
        return out


def _copy_seconds(fresh: bool, nbytes: int, repeats: int) -> float:
    """Fastest of ``repeats`` copies of ``nbytes`` (float32) into a warm (reused) or a fresh buffer."""
    src = torch.ones(nbytes // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        if fresh:
            torch.empty_like(src).copy_(src)  # new pages each time: above glibc's mmap threshold (32 MiB)
        else:
            dst.copy_(src)
        times.append(time.perf_counter() - t0)
    return min(times)


_MACHINE: dict[str, Any] = {}


def machine(nbytes: int = 64 * 2**20, repeats: int = 9) -> dict[str, Any]:
    """Threads and copy bandwidth (bytes read + written per second) of this process, measured once.

    ``copy_warm_gbs``: ``dst.copy_(src)`` into a buffer that was written before (its pages are mapped);
    ``copy_fresh_gbs``: the same copy into a freshly allocated buffer, whose first touch of every page
    costs a fault and a zero fill. Buffers are 64 MiB (beyond a 32 MiB last-level cache and above glibc's
    largest mmap threshold, so every fresh buffer is new pages); each figure is the fastest of ``repeats``
    copies, what the machine allows when nothing else gets in the way. A loss whose temporaries land in
    fresh memory runs at the second.
    """
    if not _MACHINE:
        warm = _copy_seconds(False, nbytes, repeats)
        fresh = _copy_seconds(True, nbytes, repeats)
        _MACHINE.update(
            {
                "threads": torch.get_num_threads(),
                "copy_warm_gbs": round(2 * nbytes / warm / 1e9, 2),
                "copy_fresh_gbs": round(2 * nbytes / fresh / 1e9, 2),
            }
        )
    return dict(_MACHINE)


def machine_line(m: dict[str, Any]) -> str:
    return (
        f"machine: {m['threads']} threads, copy bandwidth {m['copy_warm_gbs']:.1f} GB/s warm, "
        f"{m['copy_fresh_gbs']:.1f} GB/s into fresh memory"
    )


def _tensor_bytes(x: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tree_flatten(x)[0] if isinstance(t, torch.Tensor))


def floor_ms(args: tuple[Any, ...], grad_idx: Sequence[int], copy_gbs: float, out_bytes: int = 0) -> float:
    """Milliseconds to read every input tensor once and write the gradient of ``grad_idx`` once.

    ``out_bytes``: the size of the result, added for a case with no gradient (whose output, like the
    ``(N, M)`` matrix of a pairwise IoU, is what must be written).
    """
    nbytes = _tensor_bytes(args) + _tensor_bytes([args[i] for i in grad_idx]) + out_bytes
    return nbytes / (copy_gbs * 1e9) * 1e3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _run(impl: Impl, args: tuple[Any, ...], grad_idx: Sequence[int], backward: bool) -> None:
    """One call: forward under ``no_grad``, or forward + backward w.r.t. ``grad_idx``.

    A case with no ``grad_idx`` (a utility that nothing differentiates, e.g. a pairwise IoU matrix for
    matching) runs its "forward + backward" as a forward with grad mode on and inputs that need no
    gradient, which is how a training step calls it.
    """
    if backward and not grad_idx:
        impl(*args)
    elif backward:
        call_args = list(args)
        for i in grad_idx:
            call_args[i] = args[i].detach().requires_grad_(True)
        impl(*call_args).backward()
    else:
        with torch.no_grad():
            impl(*args)


def time_impl(
    impl: Impl,
    args: tuple[Any, ...],
    grad_idx: Sequence[int],
    backward: bool,
    device: torch.device,
    warmup: int,
    repeats: int,
) -> float:
    for _ in range(warmup):
        _run(impl, args, grad_idx, backward)
    _sync(device)
    if repeats == 0:
        return 0.0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _run(impl, args, grad_idx, backward)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_bytes(impl: Impl, args: tuple[Any, ...], grad_idx: Sequence[int], device: torch.device) -> float:
    """Peak extra memory of one forward + backward (inputs excluded)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _run(impl, args, grad_idx, True)
        torch.cuda.synchronize()
        return float(torch.cuda.max_memory_allocated() - base)
    mode = _LiveBytes(exclude=args)
    with mode:
        _run(impl, args, grad_idx, True)
    return float(mode.peak)


def peak_bytes_allocator(
    impl: Impl, args: tuple[Any, ...], grad_idx: Sequence[int], device: torch.device
) -> float:
    """Peak extra memory of one forward + backward seen by the CPU allocator (inputs excluded).

    ``torch.profiler`` with ``profile_memory=True`` records every allocation and free of c10's CPU
    allocator, including those made inside custom ops and ``torch.library`` kernels (which the
    dispatch-mode tracker of :func:`peak_bytes` cannot see into); the peak of their running sum is the
    high-water mark of bytes the call held. On CUDA this is the same as :func:`peak_bytes`.
    """
    if device.type == "cuda":
        return peak_bytes(impl, args, grad_idx, device)
    gc.collect()
    return float(cpu_allocator_peak(lambda: _run(impl, args, grad_idx, True)))


_RSS_CHILD = r"""
import gc, json, sys
import torch
torch.set_num_threads({threads})


def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no " + key + " in /proc/self/status")


{setup}
gc.collect()
run()  # warm-up: first-call allocations (kernels, caches, thread pools) are not the loss's
gc.collect()
base = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current RSS
run()
print(json.dumps({{"base": base, "peak": status("VmHWM")}}))
"""


def peak_rss_bytes(setup: str, threads: int | None = None) -> float:
    """Growth of the resident set size while ``run()`` executes once, in a fresh Python process (Linux).

    ``setup`` is Python source defining ``run()`` (and whatever it needs, built before the measurement).
    The child runs ``run()`` once to warm up, records its RSS, resets the kernel's peak-RSS counter
    (``/proc/self/clear_refs``) and runs it again; the result is the peak (``VmHWM``) minus that RSS. It
    counts what the allocator really takes from the system (slack and fragmentation included), which the
    in-process :func:`peak_bytes` does not, at the price of one process per measurement.
    """
    import subprocess
    import sys
    import textwrap

    code = _RSS_CHILD.format(threads=threads or torch.get_num_threads(), setup=textwrap.dedent(setup))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return float(r["peak"] - r["base"])


def run_cases(
    cases: Sequence[Case],
    device: torch.device,
    warmup: int,
    repeats: int,
    memory: Callable[..., float] = peak_bytes,
) -> list[Case]:
    """Time every implementation of every case; repeats are interleaved round-robin across implementations
    so that a change in machine load during the run affects all of them alike. A progress line per case
    goes to stderr; each result keeps the median and the min / max of the repeats. ``memory`` measures the
    peak (:func:`peak_bytes` by default, :func:`peak_bytes_allocator` for custom ops)."""
    bandwidth = machine()["copy_warm_gbs"] if device.type == "cpu" else 0.0
    for i, case in enumerate(cases, 1):
        print(f"  [{i}/{len(cases)}] {case.name}", file=sys.stderr, flush=True)
        args, grad_idx = case.make_inputs(device)
        out_bytes = 0
        if not grad_idx:  # nothing to differentiate: the floor writes the result instead of a gradient
            with torch.no_grad():
                out_bytes = _tensor_bytes(next(iter(case.impls.values()))(*args))
        case.floor_ms = floor_ms(args, grad_idx, bandwidth, out_bytes) if bandwidth > 0 else 0.0
        timings: dict[str, dict[bool, list[float]]] = {n: {False: [], True: []} for n in case.impls}
        for backward in (False, True):
            for impl in case.impls.values():
                time_impl(impl, args, grad_idx, backward, device, warmup, 0)
            for _ in range(repeats):
                for name, impl in case.impls.items():
                    timings[name][backward].append(time_impl(impl, args, grad_idx, backward, device, 0, 1))
        for name, impl in case.impls.items():
            mem = memory(impl, args, grad_idx, device)
            fwd, fwdbwd = timings[name][False], timings[name][True]
            case.results[name] = {
                "fwd_ms": statistics.median(fwd) * 1e3,
                "fwdbwd_ms": statistics.median(fwdbwd) * 1e3,
                "fwd_min_ms": min(fwd) * 1e3,
                "fwd_max_ms": max(fwd) * 1e3,
                "fwdbwd_min_ms": min(fwdbwd) * 1e3,
                "fwdbwd_max_ms": max(fwdbwd) * 1e3,
                "peak_mb": mem / 2**20,
            }
            if case.floor_ms > 0:
                case.results[name]["floor_x"] = case.results[name]["fwdbwd_ms"] / case.floor_ms
            case.results[name]["flags"] = flags(case.results[name])  # type: ignore[assignment]
    return list(cases)


SPREAD_LIMIT = 2.0  # max / min of the repeats above which a timing is flagged as unreliable


def flags(r: dict[str, float]) -> list[str]:
    """Why a result's timings should not be trusted: repeats that disagree by more than 2x, or a
    forward + backward faster than the forward alone (impossible; the machine was busy)."""
    out = []
    for key, label in (("fwd", "fwd"), ("fwdbwd", "fwd+bwd")):
        lo, hi = r[f"{key}_min_ms"], r[f"{key}_max_ms"]
        if lo > 0 and hi / lo > SPREAD_LIMIT:
            out.append(f"{label} repeats disagree {hi / lo:.1f}x")
    if r["fwdbwd_ms"] < r["fwd_ms"]:
        out.append("fwd+bwd < fwd")
    return out


def environment(device: torch.device) -> dict[str, Any]:
    env: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def report(title: str, cases: Sequence[Case], device: torch.device, versions: dict[str, str]) -> str:
    """A plain-text table: absolute losskit numbers and peer / losskit ratios (> 1 means losskit wins)."""
    lines = [f"## {title}", "", "environment: " + json.dumps({**environment(device), **versions})]
    if _MACHINE and device.type == "cpu":  # measured by run_cases
        lines.append(machine_line(_MACHINE))
    lines.append("")
    header = (
        f"{'case':38s} {'impl':22s} {'fwd ms':>9s} {'fwd+bwd ms':>11s} {'peak MB':>9s} "
        f"{'fwd x':>7s} {'f+b x':>7s} {'mem x':>7s} {'floor x':>8s}  fwd min-max / f+b min-max ms"
    )
    lines += [header, "-" * len(header)]
    flagged = 0
    for case in cases:
        ref = case.results["losskit"]
        unreliable = any(r.get("flags") for r in case.results.values())
        for name, r in case.results.items():
            if unreliable and name != "losskit":
                ratios = "      —       —" + (
                    f" {r['peak_mb'] / ref['peak_mb']:7.2f}" if ref["peak_mb"] > 0 else "     nan"
                )
            else:
                ratio = [
                    r[k] / ref[k] if ref[k] > 0 else float("nan") for k in ("fwd_ms", "fwdbwd_ms", "peak_mb")
                ]
                ratios = " ".join(f"{x:7.2f}" for x in ratio)
            spread = ""
            if "fwd_min_ms" in r:
                spread = (
                    f"  {r['fwd_min_ms']:.3f}-{r['fwd_max_ms']:.3f} / "
                    f"{r['fwdbwd_min_ms']:.3f}-{r['fwdbwd_max_ms']:.3f}"
                )
            floor = f" {r['floor_x']:8.1f}" if "floor_x" in r else f" {'':8s}"
            lines.append(
                f"{case.name:38s} {name:22s} {r['fwd_ms']:9.3f} {r['fwdbwd_ms']:11.3f} {r['peak_mb']:9.2f} "
                + ratios
                + floor
                + spread
            )
            for flag in r.get("flags") or []:
                lines.append(f"    ! {name}: {flag}")
        if unreliable:
            flagged += 1
            lines.append(
                "    ! timings unreliable (busy machine?): speed ratios withheld; rerun with more --repeats"
            )
        if case.floor_ms > 0:
            lines.append(
                f"    floor: {case.floor_ms:.3f} ms (read the inputs + write the gradient once, warm)"
            )
        if case.note:
            lines.append(f"    note: {case.note}")
    lines += [
        "",
        "ratios are peer / losskit: above 1.00 losskit is faster or lighter; times are medians of the "
        "repeats, with their min-max; floor x is fwd+bwd time / floor time.",
    ]
    if flagged:
        lines.append(f"{flagged} case(s) flagged: repeats disagree by > {SPREAD_LIMIT:g}x or fwd+bwd < fwd.")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    return p.parse_args(argv)


def main(
    title: str,
    build: Callable[[bool], list[Case]],
    versions: dict[str, str],
    argv: Sequence[str] | None = None,
    memory: Callable[..., float] = peak_bytes,
) -> list[Case]:
    args = parse_args(argv)
    device = torch.device(args.device)
    cases = run_cases(build(args.quick), device, args.warmup, args.repeats, memory)
    print(report(title, cases, device, versions), flush=True)
    if args.json:
        data: dict[str, Any] = {
            "title": title,
            "env": {**environment(device), **versions},
            "cases": {c.name: c.results for c in cases},
        }
        if device.type == "cpu":
            data["machine"] = machine()
            data["floor_ms"] = {c.name: c.floor_ms for c in cases}
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=2)
    return cases
