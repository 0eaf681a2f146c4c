"""What ``losskit.set_checks`` costs on the hot losses: fwd+bwd time with value checks off, default and full.

On the CPU ``"default"`` and ``"full"`` both run the value checks (label range, probability range, NaN /
inf); ``"off"`` skips them. Every round times each mode once, in turn, on the same inputs; the overhead of
a mode is the median over the rounds of its time / the ``"off"`` time of the same round (paired, so a
change in machine load affects both sides of a ratio alike), printed as a percentage with the min-max of
the per-round ratios. Shape, dtype and option checks always run and are not part of the overhead.

Workloads: sigmoid focal (65536, 80) with {0, 1} float targets, softmax focal and cross-entropy
(16384, 1000) class indices, Dice 2-D (8, 4, 256, 256) and 3-D (2, 3, 96, 96, 96) class indices, and
GIoU on 262144 aligned box pairs (``--quick``: about 1/16 of each).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import losskit
from benchmarks.harness import environment, machine, machine_line, parse_args

MODES = ("off", "default", "full")
Inputs = tuple[torch.Tensor, torch.Tensor]


def _boxes(n: int, g: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g) * 100
    return torch.cat([xy, xy + 1 + torch.rand(n, 2, generator=g) * 50], dim=1)


def build(quick: bool) -> list[tuple[str, Callable[[], Inputs], Callable[[torch.Tensor, torch.Tensor], Any]]]:
    s = 4 if quick else 1  # quick: divide the batch (and the side of the 3-D volume) by 4

    def det() -> Inputs:
        g = torch.Generator().manual_seed(0)
        return torch.randn(65536 // s**2, 80, generator=g), (
            torch.rand(65536 // s**2, 80, generator=g) < 0.01
        ).float()

    def cls() -> Inputs:
        g = torch.Generator().manual_seed(1)
        return torch.randn(16384 // s**2, 1000, generator=g), torch.randint(
            0, 1000, (16384 // s**2,), generator=g
        )

    def seg2() -> Inputs:
        g = torch.Generator().manual_seed(2)
        n = 8 // s if s > 1 else 8
        return torch.randn(n, 4, 256, 256, generator=g), torch.randint(0, 4, (n, 256, 256), generator=g)

    def seg3() -> Inputs:
        g = torch.Generator().manual_seed(3)
        d = 96 // s
        return torch.randn(2, 3, d, d, d, generator=g), torch.randint(0, 3, (2, d, d, d), generator=g)

    def box() -> Inputs:
        g = torch.Generator().manual_seed(4)
        n = 262144 // s**2
        return _boxes(n, g) + torch.randn(n, 4, generator=g), _boxes(n, g)

    return [
        ("sigmoid_focal_loss (65536, 80)", det, lambda x, y: losskit.sigmoid_focal_loss(x, y)),
        ("softmax_focal_loss (16384, 1000)", cls, lambda x, y: losskit.softmax_focal_loss(x, y, gamma=2.0)),
        ("cross_entropy (16384, 1000)", cls, lambda x, y: losskit.cross_entropy(x, y)),
        ("dice_loss (8, 4, 256, 256)", seg2, lambda x, y: losskit.dice_loss(x, y)),
        ("dice_loss (2, 3, 96, 96, 96)", seg3, lambda x, y: losskit.dice_loss(x, y)),
        ("giou_loss (262144, 4)", box, lambda x, y: losskit.giou_loss(x, y)),
    ]


def _once(
    fn: Callable[[torch.Tensor, torch.Tensor], Any], x: torch.Tensor, y: torch.Tensor, mode: str
) -> float:
    losskit.set_checks(mode)
    try:
        xg = x.detach().requires_grad_(True)
        t0 = time.perf_counter()
        fn(xg, y).backward()
        return time.perf_counter() - t0
    finally:
        losskit.set_checks("default")


def measure(quick: bool, repeats: int, warmup: int) -> dict[str, dict[str, float]]:
    """Per loss: the median fwd+bwd ms of each mode and the paired overhead of "default" / "full"."""
    out: dict[str, dict[str, float]] = {}
    for name, make, fn in build(quick):
        x, y = make()
        for _ in range(warmup):
            for mode in MODES:
                _once(fn, x, y, mode)
        times: dict[str, list[float]] = {m: [] for m in MODES}
        for r in range(repeats):
            order = MODES if r % 2 == 0 else MODES[::-1]  # alternate the order: no mode always runs first
            for mode in order:
                times[mode].append(_once(fn, x, y, mode))
        row: dict[str, float] = {f"{m}_ms": statistics.median(times[m]) * 1e3 for m in MODES}
        for m in MODES:
            row[f"{m}_min_ms"] = min(times[m]) * 1e3
        for m in ("default", "full"):
            row[f"{m}_overhead_min_pct"] = (min(times[m]) / min(times["off"]) - 1.0) * 100
            ratios = [a / b for a, b in zip(times[m], times["off"])]
            row[f"{m}_overhead_pct"] = (statistics.median(ratios) - 1.0) * 100
            row[f"{m}_ratio_min"] = min(ratios)
            row[f"{m}_ratio_max"] = max(ratios)
        out[name] = row
    return out


def report(rows: dict[str, dict[str, float]], repeats: int) -> str:
    lines = [
        "## value checks (losskit.set_checks), CPU fwd+bwd",
        "",
        "environment: " + json.dumps({**environment(torch.device("cpu")), "losskit": losskit.__version__}),
        machine_line(machine()),
        "",
    ]
    header = (
        f"{'case':34s} {'off ms':>9s} {'default ms':>11s} {'full ms':>9s} {'default':>9s} {'full':>9s}"
        f" {'dflt(min)':>9s} {'full(min)':>9s}  default / off per round, min-max"
    )
    lines += [header, "-" * len(header)]
    for name, r in rows.items():
        lines.append(
            f"{name:34s} {r['off_ms']:9.2f} {r['default_ms']:11.2f} {r['full_ms']:9.2f} "
            f"{r['default_overhead_pct']:+8.1f}% {r['full_overhead_pct']:+8.1f}%"
            f" {r['default_overhead_min_pct']:+8.1f}% {r['full_overhead_min_pct']:+8.1f}%"
            f"  {r['default_ratio_min']:.3f}-{r['default_ratio_max']:.3f}"
        )
    lines += [
        "",
        f"default / full = median over {repeats} rounds of (mode time / off time of the same round) - 1;",
        "dflt(min) / full(min) = fastest time of the mode / fastest off time - 1 (the least disturbed runs,",
        "the steadier estimate on a loaded machine). On the CPU default and full run the same checks, so",
        "their difference is noise.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    opts = parse_args()
    if opts.device != "cpu":  # the default value checks run for CPU tensors only: that is what is measured
        print(f"bench_checks: measuring on the CPU (--device {opts.device} ignored)", flush=True)
    rows = measure(opts.quick, max(opts.repeats, 5), opts.warmup)
    print(report(rows, max(opts.repeats, 5)), flush=True)
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump(
                {
                    "title": "value checks",
                    "kind": "checks",
                    "env": environment(torch.device("cpu")),
                    "cases": rows,
                },
                fh,
                indent=2,
            )
