"""The ``losskit`` command: ``list``, ``plot``, ``demo`` and ``bench``.

Examples::

    losskit list
    losskit plot focal --out focal.png
    losskit plot huber --param delta=2 --out huber.svg
    losskit demo --quick --out losskit-demo
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_list(args: argparse.Namespace) -> int:
    from losskit.cli.catalog import render

    print(render())
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from losskit.cli.plotting import parse_params, plot_loss

    out = Path(args.out or f"{args.name}.png")
    path = plot_loss(args.name, out, parse_params(args.param))
    print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from losskit.cli.demo import run_lab, summary

    out = Path(args.out)
    results = run_lab(out, quick=args.quick, seed=args.seed, only=args.only or None)
    print(summary(results))
    print(f"report: {out / 'index.html'}  (numbers: {out / 'results.json'})")
    return 0 if all(e["holds"] for e in results["experiments"].values()) else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[3] / "benchmarks"
    if not root.is_dir():
        print(
            "losskit bench: the benchmarks/ folder ships with the source checkout, not the wheel",
            file=sys.stderr,
        )
        return 2
    status = 0
    for script in sorted(root.glob("bench_*.py")):
        if args.only and script.stem.removeprefix("bench_") not in args.only:
            continue
        extra = ["--quick"] if args.quick else []
        status |= subprocess.call(
            [sys.executable, "-m", f"benchmarks.{script.stem}", *extra], cwd=root.parent
        )
    return status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``losskit`` command."""
    p = argparse.ArgumentParser(prog="losskit", description="losskit: loss functions for PyTorch")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="every loss with family, description, paper and Module")
    s.set_defaults(func=_cmd_list)

    s = sub.add_parser("plot", help="plot a loss and its gradient against the prediction")
    s.add_argument("name", help="loss name, e.g. focal, sigmoid_focal_loss or SigmoidFocalLoss")
    s.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="fix an option (replaces the default sweep), e.g. --param gamma=1",
    )
    s.add_argument("--out", help="output file, .png or .svg (default NAME.png)")
    s.set_defaults(func=_cmd_plot)

    s = sub.add_parser("demo", help="run the loss lab and write an HTML report")
    s.add_argument("--quick", action="store_true", help="small sizes: under two minutes on 2 CPU cores")
    s.add_argument("--out", default="losskit-demo", help="output folder (default losskit-demo)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--only",
        nargs="*",
        help="run only these experiments (keys: imbalanced bimodal boxes segmentation quantile embeddings)",
    )
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("bench", help="run the benchmarks against peer libraries (source checkout)")
    s.add_argument("--quick", action="store_true")
    s.add_argument("--only", nargs="*", help="families, e.g. classification boxes")
    s.set_defaults(func=_cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``losskit`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as err:  # bad names and options: one line, no traceback
        print(f"losskit: {err}", file=sys.stderr)
        return 2
