"""The cost of ``process_group=``: each loss local versus global on 2 gloo ranks (CPU), and the bytes it sends.

Two ranks are spawned (``torch.multiprocessing``, file:// rendezvous, one thread each). Both run the
harness of benchmarks/README.md on their own inputs, in lock step (the harness's order of calls is
deterministic, so every collective meets its partner): ``losskit`` is the local loss
(``process_group=None``), ``process_group`` the same call with ``torch.distributed.group.WORLD``; the ratio
column is then the overhead factor of the global loss (above 1.00: slower). Rank 0 reports.

``comm_bytes`` is the payload this rank hands to ``torch.distributed`` in one forward + backward (counted by
wrapping ``all_reduce`` / ``all_gather``): a weighted / ignore-aware mean sends its numerator and
denominator (2 numbers), batch Dice its 3·C per-class sums, CLIP its ``n`` rows of both towers (plus the
``W`` batch sizes; all-gather: every rank receives ``W`` times what it sends), SigLIP its ``n`` texts, and the
backward of each collective sends as much again. What crosses the wire also depends on gloo's algorithm (about 2·(W-1)/W times the payload for
a ring all-reduce).

Usage::

    python -m benchmarks.bench_distributed [--quick] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import torch

import losskit
from benchmarks.harness import Case, environment, parse_args, report, run_cases

WORLD = 2
TITLE = f"process_group overhead: local vs global loss on {WORLD} gloo ranks (CPU)"


def build(quick: bool, group: Any, rank: int) -> list[Case]:
    """CE with ignore_index over tokens, batch Dice over images, a weighted GIoU over boxes, CLIP and SigLIP."""
    tokens, classes = (2048, 256) if quick else (16384, 1024)
    imgs, seg_c, side = (2, 4, 32) if quick else (8, 4, 128)
    boxes = 10_000 if quick else 200_000
    pairs, width = (128, 64) if quick else (1024, 256)

    def ce_inputs(device: torch.device):
        g = torch.Generator().manual_seed(10 + rank)
        z = torch.randn(tokens, classes, generator=g).to(device)
        t = torch.randint(0, classes, (tokens,), generator=g)
        t[torch.rand(tokens, generator=g) < 0.3] = -100
        return (z, t.to(device)), (0,)

    def dice_inputs(device: torch.device):
        g = torch.Generator().manual_seed(20 + rank)
        x = torch.randn(imgs, seg_c, side, side, generator=g).to(device)
        t = torch.randint(0, seg_c, (imgs, side, side), generator=g).to(device)
        return (x, t), (0,)

    def box_inputs(device: torch.device):
        g = torch.Generator().manual_seed(30 + rank)
        xy = torch.rand(boxes, 2, generator=g) * 10
        p = torch.cat([xy, xy + 1 + torch.rand(boxes, 2, generator=g)], 1)
        q = p + 0.3 * torch.randn(boxes, 4, generator=g)
        q = torch.cat([q[:, :2], torch.maximum(q[:, 2:], q[:, :2] + 0.1)], 1)
        w = torch.rand(boxes, generator=g)
        return (p.to(device), q.to(device), w.to(device)), (0,)

    def pair_inputs(device: torch.device):
        g = torch.Generator().manual_seed(40 + rank)
        a = torch.nn.functional.normalize(torch.randn(pairs, width, generator=g), dim=1)
        b = torch.nn.functional.normalize(a + 0.5 * torch.randn(pairs, width, generator=g), dim=1)
        return (a.to(device), b.to(device)), (0, 1)

    def both(fn: Callable[..., torch.Tensor], **kw: Any) -> dict[str, Callable[..., torch.Tensor]]:
        return {
            "losskit": lambda *a: fn(*a[:2], **kw, **({"weight": a[2]} if len(a) > 2 else {})),
            "process_group": lambda *a: fn(
                *a[:2], **kw, **({"weight": a[2]} if len(a) > 2 else {}), process_group=group
            ),
        }

    note = "here the ratio is process_group / local: the overhead factor of the global loss"
    return [
        Case(f"cross_entropy ignore_index {tokens}x{classes}", ce_inputs, both(losskit.cross_entropy), note),
        Case(
            f"dice_loss per_image=False {imgs}x{seg_c}x{side}x{side}",
            dice_inputs,
            both(losskit.dice_loss, per_image=False),
            note,
        ),
        Case(f"giou_loss weighted {boxes} boxes", box_inputs, both(losskit.giou_loss), note),
        Case(
            f"clip_loss {pairs}x{width} per rank",
            pair_inputs,
            both(losskit.clip_loss, logit_scale=10.0),
            note,
        ),
        Case(
            f"clip_loss local_loss {pairs}x{width}",
            pair_inputs,
            both(losskit.clip_loss, logit_scale=10.0, local_loss=True),
            note,
        ),
        Case(
            f"siglip_loss {pairs}x{width} per rank",
            pair_inputs,
            both(losskit.siglip_loss, logit_scale=10.0, logit_bias=-10.0),
            note,
        ),
    ]


class _CountBytes:
    """Sums the bytes of the tensors passed to all_reduce / all_gather while active."""

    def __init__(self) -> None:
        self.bytes = 0
        self._orig: dict[str, Any] = {}

    def __enter__(self) -> _CountBytes:
        dist = torch.distributed
        for name in ("all_reduce", "all_gather"):
            orig = getattr(dist, name)
            self._orig[name] = orig

            def wrapped(*args: Any, _orig: Any = orig, _name: str = name, **kw: Any) -> Any:
                t = args[0] if _name == "all_reduce" else args[1]
                self.bytes += t.numel() * t.element_size()
                return _orig(*args, **kw)

            setattr(dist, name, functools.wraps(orig)(wrapped))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, orig in self._orig.items():
            setattr(torch.distributed, name, orig)


def _comm_bytes(case: Case, device: torch.device) -> dict[str, int]:
    args, grad_idx = case.make_inputs(device)
    out = {}
    for name, impl in case.impls.items():
        call = list(args)
        for i in grad_idx:
            call[i] = args[i].detach().requires_grad_(True)
        with _CountBytes() as c:
            impl(*call).backward()
        out[name] = c.bytes
    return out


def _worker(rank: int, init_file: str, argv: list[str], out_file: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{init_file}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=600),
    )
    try:
        args = parse_args(argv)
        device = torch.device("cpu")
        cases = build(args.quick, dist.group.WORLD, rank)
        run_cases(cases, device, args.warmup, args.repeats)
        for case in cases:
            for name, b in _comm_bytes(case, device).items():
                case.results[name]["comm_bytes"] = b
        if rank == 0:
            text = report(TITLE, cases, device, {"losskit": losskit.__version__, "ranks": str(WORLD)})
            lines = [text, "", "bytes handed to torch.distributed per forward + backward, per rank:"]
            for case in cases:
                lines.append(f"  {case.name:44s} {case.results['process_group']['comm_bytes']:8d} B")
            print("\n".join(lines), flush=True)
            env = {**environment(device), "losskit": losskit.__version__, "ranks": WORLD}
            with open(out_file, "w") as fh:
                json.dump(
                    {"title": TITLE, "env": env, "cases": {c.name: c.results for c in cases}}, fh, indent=2
                )
    finally:
        dist.barrier()
        dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Spawn the ranks, print rank 0's table; with ``--json FILE`` also write it there."""
    import torch.multiprocessing as mp

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.device != "cpu":
        print(f"bench_distributed: runs on CPU gloo ranks; --device {args.device} is ignored", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        mp.spawn(_worker, args=(os.path.join(tmp, "init"), argv, out), nprocs=WORLD, join=True)
        with open(out) as fh:
            data: dict[str, Any] = json.load(fh)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=2)
    return data


if __name__ == "__main__":
    main()
