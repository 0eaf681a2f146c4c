"""losskit and its peers under ``torch.compile``: forward+backward time and compile time, one run.

Losses: sigmoid focal (torchvision.ops), softmax focal (kornia), GIoU / DIoU / CIoU on aligned boxes
(torchvision.ops) and Dice on 2-D and 3-D class-index targets (MONAI ``DiceLoss(softmax=True,
to_onehot_y=True)``, per image on both sides). Every side is wrapped in ``torch.compile(fullgraph=True)``
with the default (inductor) backend.

Per case:

- **compile time**: for each side in turn, ``torch._dynamo.reset()``, then the wall time of the first
  compiled forward+backward call (tracing, AOT autograd and inductor code generation of both graphs). The
  on-disk FX-graph and AOT-autograd caches are switched off, so every compile is a fresh one; one
  untimed compile of an unrelated function runs first, so the process's one-off start-up cost (loading
  inductor, the C++ toolchain's first call) is nobody's.
- **forward+backward time**: compiled losskit, compiled peer, and both eager for reference, warmed up,
  then timed ``--repeats`` times with the repeats interleaved round-robin across the four; medians.

Ratios: ``f+b`` peer / losskit (above 1.00 losskit is faster), compile losskit / peer (below 1.00 losskit
compiles faster).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import kornia
import monai
import torch
import torchvision
from monai.losses import DiceLoss as MonaiDice
from torchvision.ops import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
    sigmoid_focal_loss,
)

import losskit
from benchmarks.harness import SPREAD_LIMIT, _run, environment, machine, machine_line, parse_args

Fn = Callable[..., torch.Tensor]
Inputs = tuple[tuple[torch.Tensor, ...], tuple[int, ...]]


def _boxes(n: int, seed: int) -> Inputs:
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g) * 512
    size = torch.rand(n, 2, generator=g) * 64 + 4
    target = torch.cat([centre - size / 2, centre + size / 2], 1)
    pred = target + torch.randn(n, 4, generator=g) * 4
    pred = torch.cat([pred[:, :2], torch.maximum(pred[:, 2:], pred[:, :2] + 0.5)], 1)
    return (pred, target), (0,)


def _segmentation(shape: tuple[int, ...], seed: int) -> Inputs:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    return (x, torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=g)), (0,)


def build(quick: bool) -> list[tuple[str, Callable[[], Inputs], Fn, str, Fn]]:
    """``(case, make_inputs, losskit, peer name, peer)`` per case."""
    n_det = 2048 if quick else 32768  # anchors x 80 classes
    n_cls = 512 if quick else 4096  # samples x 1000 classes
    n_box = 8192 if quick else 262144
    s2 = (2, 4, 32, 32) if quick else (8, 4, 128, 128)
    s3 = (1, 3, 16, 16, 16) if quick else (2, 3, 64, 64, 64)

    def det() -> Inputs:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n_det, 80, generator=g)
        return (x, (torch.rand(n_det, 80, generator=g) < 0.01).float()), (0,)

    def cls() -> Inputs:
        g = torch.Generator().manual_seed(1)
        return (torch.randn(n_cls, 1000, generator=g), torch.randint(0, 1000, (n_cls,), generator=g)), (0,)

    monai_dice = MonaiDice(softmax=True, to_onehot_y=True)

    def tag(shape: tuple[int, ...]) -> str:
        return "x".join(str(s) for s in shape)

    return [
        (
            f"sigmoid_focal_loss ({n_det}, 80)",
            det,
            lambda x, y: losskit.sigmoid_focal_loss(x, y),
            "torchvision",
            lambda x, y: sigmoid_focal_loss(x, y, reduction="mean"),
        ),
        (
            f"softmax_focal_loss ({n_cls}, 1000)",
            cls,
            lambda x, y: losskit.softmax_focal_loss(x, y, gamma=2.0),
            "kornia",
            lambda x, y: kornia.losses.focal_loss(x, y, alpha=None, gamma=2.0, reduction="mean"),
        ),
        (
            f"giou_loss ({n_box:,} boxes)",
            lambda: _boxes(n_box, 2),
            lambda p, t: losskit.giou_loss(p, t),
            "torchvision",
            lambda p, t: generalized_box_iou_loss(p, t, reduction="mean"),
        ),
        (
            f"diou_loss ({n_box:,} boxes)",
            lambda: _boxes(n_box, 3),
            lambda p, t: losskit.diou_loss(p, t),
            "torchvision",
            lambda p, t: distance_box_iou_loss(p, t, reduction="mean"),
        ),
        (
            f"ciou_loss ({n_box:,} boxes)",
            lambda: _boxes(n_box, 4),
            lambda p, t: losskit.ciou_loss(p, t),
            "torchvision",
            lambda p, t: complete_box_iou_loss(p, t, reduction="mean"),
        ),
        (
            f"dice 2-D {tag(s2)}",
            lambda: _segmentation(s2, 5),
            lambda x, y: losskit.dice_loss(x, y),
            "monai",
            lambda x, y: monai_dice(x, y[:, None]),
        ),
        (
            f"dice 3-D {tag(s3)}",
            lambda: _segmentation(s3, 6),
            lambda x, y: losskit.dice_loss(x, y),
            "monai",
            lambda x, y: monai_dice(x, y[:, None]),
        ),
    ]


def _fresh_cache_dir() -> str:
    """Point inductor at an empty cache directory of this process (no earlier run's kernels to reuse)."""
    path = tempfile.mkdtemp(prefix="losskit-bench-compile-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = path
    return path


def _first_call_seconds(
    fn: Fn, args: tuple[torch.Tensor, ...], grad_idx: tuple[int, ...], fullgraph: bool
) -> float:
    """``torch._dynamo.reset()``, then the wall time of the first compiled forward+backward of ``fn``."""
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=fullgraph)
    t0 = time.perf_counter()
    _run(compiled, args, grad_idx, True)
    return time.perf_counter() - t0


def _warm_up_compiler() -> None:
    """One untimed compile, so the process's one-off inductor start-up is charged to no case."""
    x = torch.randn(64, requires_grad=True)
    torch.compile(lambda t: (t.sigmoid() * t).sum(), fullgraph=True)(x).backward()
    torch._dynamo.reset()


def measure(quick: bool, repeats: int, warmup: int) -> dict[str, dict[str, Any]]:
    cache = _fresh_cache_dir()
    # compile in this process, not in a pool of workers that would compete for the cores being timed
    torch._inductor.config.compile_threads = 1
    logging.getLogger("torch._dynamo").setLevel(logging.ERROR)  # the peers' graph-break warnings
    _warm_up_compiler()
    cases = build(quick)
    out: dict[str, dict[str, Any]] = {}
    for i, (name, make, ours, peer_name, peer) in enumerate(cases, 1):
        print(f"  [{i}/{len(cases)}] {name}", file=sys.stderr, flush=True)
        args, grad_idx = make()
        compile_s = {
            "losskit": _first_call_seconds(ours, args, grad_idx, True),
            peer_name: _first_call_seconds(peer, args, grad_idx, False),
        }
        # timing: all four in one dynamo state; the warm-up re-traces both, inductor's caches answer
        torch._dynamo.reset()
        impls = {
            "losskit compiled": torch.compile(ours, fullgraph=True),
            f"{peer_name} compiled": torch.compile(peer),
            "losskit eager": ours,
            f"{peer_name} eager": peer,
        }
        for impl in impls.values():
            for _ in range(max(warmup, 1)):
                _run(impl, args, grad_idx, True)
        times: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(repeats):
            for key, impl in impls.items():
                t0 = time.perf_counter()
                _run(impl, args, grad_idx, True)
                times[key].append(time.perf_counter() - t0)
        row: dict[str, Any] = {"peer": peer_name}
        for key, ts in times.items():
            row[key] = {
                "fwdbwd_ms": statistics.median(ts) * 1e3,
                "fwdbwd_min_ms": min(ts) * 1e3,
                "fwdbwd_max_ms": max(ts) * 1e3,
            }
            spread = max(ts) / min(ts)
            row[key]["flags"] = [f"repeats disagree {spread:.1f}x"] if spread > SPREAD_LIMIT else []
        for side, seconds in compile_s.items():
            row[f"{side} compile_s"] = seconds
        row["compiled_x"] = row[f"{peer_name} compiled"]["fwdbwd_ms"] / row["losskit compiled"]["fwdbwd_ms"]
        row["eager_x"] = row[f"{peer_name} eager"]["fwdbwd_ms"] / row["losskit eager"]["fwdbwd_ms"]
        row["compile_time_x"] = compile_s["losskit"] / compile_s[peer_name]
        out[name] = row
        print(
            f"      f+b compiled x {row['compiled_x']:.2f}, eager x {row['eager_x']:.2f}, "
            f"compile time x {row['compile_time_x']:.2f}",
            file=sys.stderr,
            flush=True,
        )
    torch._dynamo.reset()
    shutil.rmtree(cache, ignore_errors=True)
    return out


def report(rows: dict[str, dict[str, Any]], repeats: int) -> str:
    lines = [
        "## torch.compile (inductor): compiled losskit vs compiled peer",
        "",
        "environment: " + json.dumps({**environment(torch.device("cpu")), **_versions()}),
        machine_line(machine()),
        "",
    ]
    header = (
        f"{'case':34s} {'peer':12s} {'lk comp ms':>10s} {'peer comp':>10s} {'comp x':>7s} "
        f"{'lk eager':>9s} {'peer eager':>10s} {'eager x':>7s} {'lk compile s':>12s} {'peer s':>7s} "
        f"{'c-time x':>8s}"
    )
    lines += [header, "-" * len(header)]
    for name, r in rows.items():
        peer = r["peer"]
        lines.append(
            f"{name:34s} {peer:12s} {r['losskit compiled']['fwdbwd_ms']:10.3f} "
            f"{r[peer + ' compiled']['fwdbwd_ms']:10.3f} {r['compiled_x']:7.2f} "
            f"{r['losskit eager']['fwdbwd_ms']:9.3f} {r[peer + ' eager']['fwdbwd_ms']:10.3f} "
            f"{r['eager_x']:7.2f} {r['losskit compile_s']:12.2f} {r[peer + ' compile_s']:7.2f} "
            f"{r['compile_time_x']:8.2f}"
        )
        for key in ("losskit compiled", f"{peer} compiled", "losskit eager", f"{peer} eager"):
            for flag in r[key]["flags"]:
                lines.append(f"    ! {key}: {flag}")
    lines += [
        "",
        f"ms: median forward+backward over {repeats} interleaved repeats; comp x / eager x = peer / losskit "
        "(above 1.00 losskit is faster); compile s: wall time of the first compiled forward+backward after "
        "torch._dynamo.reset(), caches off; c-time x = losskit / peer compile time (below 1.00 losskit "
        "compiles faster).",
    ]
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    return {
        "torchvision": torchvision.__version__,
        "kornia": kornia.__version__,
        "monai": monai.__version__,
        "losskit": losskit.__version__,
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    opts = parse_args(argv)
    if opts.device != "cpu":
        print(f"bench_compile: measuring on the CPU (--device {opts.device} ignored)", flush=True)
    repeats = max(opts.repeats, 1 if opts.quick else 5)
    rows = measure(opts.quick, repeats, opts.warmup)
    print(report(rows, repeats), flush=True)
    if opts.json:
        with open(opts.json, "w") as fh:
            data = {
                "title": "torch.compile: compiled losskit vs compiled peer (CPU, inductor)",
                "kind": "compile",
                "env": {**environment(torch.device("cpu")), **_versions()},
                "machine": machine(),
                "repeats": repeats,
                "cases": rows,
            }
            json.dump(data, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
