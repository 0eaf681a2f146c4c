"""The ``losskit`` command: ``list``, ``info``, ``plot``, ``demo`` and ``bench``.

Examples::

    losskit list
    losskit info focal
    losskit plot focal --out focal.png
    losskit plot huber --param delta=2 --out huber.svg
    losskit plot mse l1 huber --compare --out regression.png
    losskit demo --quick --out losskit-demo

User mistakes (an unknown loss or option, a bad value, a missing optional dependency) print one line on
stderr and exit with status 2; set ``LOSSKIT_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# what each command imports beyond torch, and the extra that installs it
_NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "plot": ("cli", ("matplotlib",)),
    "demo": ("lab", ("numpy", "sklearn", "matplotlib")),
}
_DIST = {"sklearn": "scikit-learn"}


class UsageError(ValueError):
    """A mistake the user can fix; printed as one line, exit status 2."""


def require_extra(command: str) -> None:
    """Raise :class:`UsageError` naming the extra to install when ``command``'s imports are missing."""
    extra, modules = _NEEDS[command]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        names = ", ".join(_DIST.get(m, m) for m in missing)
        raise UsageError(
            f"{command}: needs the '{extra}' extra (missing: {names}); install it with: "
            f'pip install "losskit[{extra}]"'
        )


def _cmd_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from losskit.cli.catalog import render, rows

    if args.json:
        print(json.dumps([asdict(r) for r in rows()], indent=1, ensure_ascii=False))
    else:
        print(render())
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from losskit.cli.catalog import info, render_info

    data = info(args.name)
    print(json.dumps(data, indent=1, ensure_ascii=False) if args.json else render_info(data))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    require_extra("plot")
    from losskit.cli.plotting import compare_losses, parse_params, plot_loss

    params = parse_params(args.param)
    if args.compare or len(args.name) > 1:
        if not args.compare:
            raise UsageError("plot: several losses need --compare (one figure, one curve per loss)")
        out = Path(args.out or ("_vs_".join(args.name) + ".png"))
        path = compare_losses(args.name, out, params)
    else:
        out = Path(args.out or f"{args.name[0]}.png")
        path = plot_loss(args.name[0], out, params)
    print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    require_extra("demo")
    from losskit.cli.demo import run_lab, summary

    out = Path(args.out)
    results = run_lab(out, quick=args.quick, seed=args.seed, only=args.only or None, seeds=args.seeds)
    print(summary(results))
    print(f"report: {out / 'index.html'}  (numbers: {out / 'results.json'})")
    return 0 if all(e["holds"] for e in results["experiments"].values()) else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[3] / "benchmarks"
    if not root.is_dir():
        raise UsageError("bench: the benchmarks/ folder ships with the source checkout, not the wheel")
    scripts = sorted(root.glob("bench_*.py"))
    known = [s.stem.removeprefix("bench_") for s in scripts]
    if args.only:
        unknown = sorted(set(args.only) - set(known))
        if unknown:
            import difflib

            close = [m for u in unknown for m in difflib.get_close_matches(u, known, n=1)]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"bench: unknown family {unknown}{hint}; known: {', '.join(known)}")
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    status = 0
    merged: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, script in enumerate(scripts, 1):
            family = script.stem.removeprefix("bench_")
            print(f"[{i}/{len(scripts)}] bench {family} ...", file=sys.stderr, flush=True)
            cmd = [sys.executable, "-m", f"benchmarks.{script.stem}"]
            if args.quick:
                cmd.append("--quick")
            if args.repeats is not None:
                cmd += ["--repeats", str(args.repeats)]
            if args.json:
                cmd += ["--json", str(Path(tmp) / f"{family}.json")]
            # with --json the tables go to stderr so that stdout is one JSON document
            code = subprocess.call(cmd, cwd=root.parent, stdout=sys.stderr if args.json else None)
            status |= code
            if args.json and code == 0:
                merged[family] = json.loads((Path(tmp) / f"{family}.json").read_text())
    if args.json:
        print(json.dumps(merged, indent=1))
    return status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``losskit`` command."""
    from losskit import __version__

    p = argparse.ArgumentParser(prog="losskit", description="losskit: loss functions for PyTorch")
    p.add_argument("--version", action="version", version=f"losskit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="every loss with family, aliases, description, paper and Module")
    s.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    s.set_defaults(func=_cmd_list)

    s = sub.add_parser("info", help="one loss: formula, options and defaults, paper, peers")
    s.add_argument("name", help="loss name or alias, e.g. focal, huber_loss or DiceLoss")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s.set_defaults(func=_cmd_info)

    s = sub.add_parser("plot", help="plot a loss and its gradient against the prediction")
    s.add_argument("name", nargs="+", help="loss name(s), e.g. focal, sigmoid_focal_loss or SigmoidFocalLoss")
    s.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="fix an option (replaces the default sweep), e.g. --param gamma=1",
    )
    s.add_argument("--compare", action="store_true", help="several losses on the same axes")
    s.add_argument("--out", help="output file, .png or .svg (default NAME.png)")
    s.set_defaults(func=_cmd_plot)

    s = sub.add_parser("demo", help="run the loss lab and write an HTML report (needs losskit[lab])")
    s.add_argument("--quick", action="store_true", help="small sizes: under two minutes on 2 CPU cores")
    s.add_argument("--out", default="losskit-demo", help="output folder (default losskit-demo)")
    s.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    s.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per experiment (default 1 with --quick, else the experiment's own: 3 for coin flips)",
    )
    s.add_argument(
        "--only",
        nargs="*",
        help="run only these experiments (keys: imbalanced long_tail bimodal boxes segmentation quantile "
        "distributed_dice embeddings distributed_contrastive language_model)",
    )
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("bench", help="run the benchmarks against peer libraries (source checkout)")
    s.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    s.add_argument("--repeats", type=int, default=None, help="timed repeats per implementation (default 7)")
    s.add_argument("--only", nargs="*", help="families, e.g. classification boxes")
    s.add_argument("--json", action="store_true", help="print the merged results as JSON on stdout")
    s.set_defaults(func=_cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``losskit`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError) as err:  # bad names, options and values: one line, no traceback
        if os.environ.get("LOSSKIT_DEBUG"):
            raise
        print(f"losskit: {err}", file=sys.stderr)
        return 2
