"""Draw the figures of the docs site: ``docs/assets/plots/<name>.png`` for every registered loss.

Each figure is what ``losskit plot NAME`` draws (the loss and its gradient against the prediction), made
by ``losskit.cli.plotting.plot_loss``. ``make docs`` runs this script before ``mkdocs build --strict``;
the pages include a figure only when its file exists (docs/hooks.py), so the site builds either way.

A figure newer than every file under ``src/losskit`` is kept (``--force`` redraws). A loss whose figure
cannot be drawn is reported and makes the script exit with status 1 (``--keep-going`` exits 0), so a new
loss without a plot is noticed; if the plotting module itself is not there, the script says so and exits 0.

Usage::

    python scripts/gen_docs_assets.py [--only NAME ...] [--force] [--keep-going] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "assets" / "plots"


def _import_losskit() -> object:
    try:
        import losskit
    except ImportError:  # not installed: use the source tree
        sys.path.insert(0, str(ROOT / "src"))
        import losskit
    return losskit


def _newest_source_mtime() -> float:
    src = ROOT / "src" / "losskit"
    return max((p.stat().st_mtime for p in src.rglob("*.py")), default=0.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the missing or outdated figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder of the PNGs (docs/assets/plots)"
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="draw only these registered names")
    parser.add_argument("--force", action="store_true", help="redraw figures that look up to date")
    parser.add_argument("--keep-going", action="store_true", help="exit 0 even if some figures fail")
    args = parser.parse_args(argv)

    losskit = _import_losskit()
    try:
        from losskit.cli.plotting import plot_loss
    except ImportError as err:
        print(
            f"gen_docs_assets: losskit.cli.plotting.plot_loss is not available ({err}); no plots drawn. "
            "The docs still build: each page notes that its figures are missing.",
            flush=True,
        )
        return 0

    names: list[str] = list(losskit.available())  # type: ignore[attr-defined]
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            known = ", ".join(names)
            print(f"gen_docs_assets: unknown loss names {unknown}; registered: {known}", file=sys.stderr)
            return 2
        names = [n for n in names if n in set(args.only)]

    args.out.mkdir(parents=True, exist_ok=True)
    newest = _newest_source_mtime()
    drawn, kept, failed = [], [], []
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        out = args.out / f"{name}.png"
        if not args.force and out.is_file() and out.stat().st_mtime >= newest:
            kept.append(name)
            continue
        print(f"[{i:2d}/{len(names)}] losskit plot {name}", flush=True)
        try:
            written = Path(plot_loss(name, out))
        except Exception as err:  # report every failure, then decide the exit status
            failed.append((name, f"{type(err).__name__}: {err}"))
            continue
        if written.resolve() != out.resolve():
            failed.append((name, f"plot_loss wrote {written}, expected {out}"))
            continue
        drawn.append(name)

    dt = time.perf_counter() - t0
    print(
        f"gen_docs_assets: {len(drawn)} drawn, {len(kept)} up to date, {len(failed)} failed ({dt:.1f} s)"
        f" -> {args.out}"
    )
    for name, why in failed:
        print(f"  FAILED {name}: {why}", file=sys.stderr)
    return 1 if failed and not args.keep_going else 0


if __name__ == "__main__":
    sys.exit(main())
