"""`losskit demo`: the loss lab — run the experiments, print a summary, write an offline HTML report.

Each experiment is a module in :mod:`losskit.lab` with ``run(seed, quick) -> dict`` (JSON-serialisable
numbers), ``headline(result) -> (claim, holds)`` and ``plot(result, out_dir) -> [paths]``. The report
(``index.html``) embeds its PNGs as data URIs, so the folder can be opened offline or mailed as is.
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass
class Experiment:
    """One lab experiment."""

    key: str
    title: str
    module: str
    question: str
    runner: str = "run"


EXPERIMENTS = [
    Experiment(
        "imbalanced",
        "Imbalanced classification",
        "losskit.lab.imbalanced",
        "With 1:50 classes, which loss finds the minority class at the default threshold?",
    ),
    Experiment(
        "bimodal",
        "Bimodal and periodic regression",
        "losskit.lab.bimodal",
        "When the target has several modes (or wraps around at ±π), what do MSE, L1 and multi-bin predict?",
    ),
    Experiment(
        "boxes",
        "Box regression: the DIoU paper's simulation",
        "losskit.lab.diou_simulation",
        "How fast do IoU, GIoU, DIoU, CIoU, EIoU, SIoU and α-IoU pull anchors onto targets?",
        runner="lab_run",
    ),
    Experiment(
        "segmentation",
        "Small-foreground segmentation",
        "losskit.lab.segmentation",
        "With a few per cent of foreground pixels, which loss segments the foreground best?",
    ),
    Experiment(
        "quantile",
        "Quantile regression on heteroscedastic data",
        "losskit.lab.quantile",
        "Do 0.1 / 0.5 / 0.9 quantile fits give honest intervals where the noise changes?",
    ),
    Experiment(
        "embeddings",
        "Metric learning on the digits data set",
        "losskit.lab.embeddings",
        "How well do contrastive, triplet, NT-Xent and SupCon embeddings separate the digits?",
    ),
]


def _progress() -> Any:
    """A rich progress bar when stdout is a terminal and rich is installed, else None (plain lines)."""
    if not sys.stdout.isatty():
        return None
    try:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:  # the lab extra is not installed: plain lines instead of bars
        return None
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())


def _print_flush(line: str) -> None:
    print(line, flush=True)  # flushed: a pipe (CI log, `| tee`, nohup) sees each line as it happens


def run_lab(
    out: Path,
    quick: bool,
    seed: int = 0,
    only: Sequence[str] | None = None,
    log: Callable[[str], None] = _print_flush,
) -> dict[str, Any]:
    """Run the experiments, write ``results.json``, the PNGs and ``index.html`` under ``out``.

    On a terminal a rich bar shows the running experiment; otherwise ``log`` gets one plain line as each
    experiment starts and one as it ends (elapsed seconds and whether its claim holds).
    """
    out.mkdir(parents=True, exist_ok=True)
    if only:
        unknown = sorted(set(only) - {e.key for e in EXPERIMENTS})
        if unknown:
            raise ValueError(
                f"demo: unknown experiment(s) {unknown}; known: {', '.join(e.key for e in EXPERIMENTS)}"
            )
    chosen = [e for e in EXPERIMENTS if not only or e.key in only]
    results: dict[str, Any] = {
        "quick": quick,
        "seed": seed,
        "env": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
        "experiments": {},
    }
    progress = _progress()
    if progress is not None:
        progress.start()
        task = progress.add_task("loss lab", total=len(chosen))
        console = progress.console
        emit: Callable[[str], None] = lambda line: console.print(line, markup=False, highlight=False)  # noqa: E731

    else:
        emit = log
    t_lab = time.perf_counter()
    try:
        for i, exp in enumerate(chosen, 1):
            tag = f"[{i}/{len(chosen)}] {exp.title}"
            if progress is not None:
                progress.update(task, description=tag)
            else:
                emit(f"{tag}: started")
            mod = importlib.import_module(exp.module)
            t0 = time.perf_counter()
            result = getattr(mod, exp.runner)(seed=seed, quick=quick)
            seconds = time.perf_counter() - t0
            claim, holds = mod.headline(result)
            recommend = getattr(mod, "recommendation", None)
            figures = [Path(p).name for p in mod.plot(result, out)]
            results["experiments"][exp.key] = {
                "title": exp.title,
                "question": exp.question,
                "claim": claim,
                "holds": bool(holds),
                "recommendation": recommend(result) if recommend is not None else "",
                "seconds": round(seconds, 2),
                "figures": figures,
                "result": result,
            }
            verdict = "claim holds" if holds else "claim does NOT hold"
            emit(f"{tag}: done in {seconds:.1f} s, {verdict}: {claim}")
            if progress is not None:
                progress.advance(task)
    finally:
        if progress is not None:
            progress.stop()
    log(f"loss lab: {len(chosen)} experiment(s) in {time.perf_counter() - t_lab:.1f} s")
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    (out / "index.html").write_text(render_html(results, out))
    return results


def summary(results: dict[str, Any]) -> str:
    """The plain-text summary printed at the end of `losskit demo`."""
    lines = ["", "losskit loss lab" + (" (quick)" if results["quick"] else ""), ""]
    for exp in results["experiments"].values():
        mark = "ok " if exp["holds"] else "NO "
        lines.append(f"[{mark}] {exp['title']} ({exp['seconds']:.1f} s)")
        lines.append(f"       {exp['claim']}")
    lines.append("")
    return "\n".join(lines)


def _tables(key: str, result: dict[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    """Small tables of each experiment's headline numbers for the report."""

    def fmt(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else html.escape(str(v))

    tables: list[tuple[list[str], list[list[str]]]] = []
    losses = result.get("losses")
    if isinstance(losses, dict):
        metrics = [k for k, v in next(iter(losses.values())).items() if isinstance(v, (int, float))]
        tables.append((["loss", *metrics], [[k, *[fmt(v[m]) for m in metrics]] for k, v in losses.items()]))
    for name in ("rows",):
        rows = result.get(name)
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            cols = [c for c, v in rows[0].items() if isinstance(v, (int, float, str))]
            tables.append((cols, [[fmt(r[c]) for c in cols] for r in rows]))
    for name in ("final_error", "interval_80", "quantile_coverage", "scores", "bimodal", "orientation"):
        block = result.get(name)
        if isinstance(block, dict):
            flat = []
            for k, v in block.items():
                if isinstance(v, dict):
                    flat.append(
                        [
                            k,
                            ", ".join(
                                f"{kk}: {fmt(vv)}"
                                for kk, vv in v.items()
                                if isinstance(vv, (int, float, str))
                            ),
                        ]
                    )
                elif isinstance(v, (int, float, str)):
                    flat.append([k, fmt(v)])
            if flat:
                tables.append(([name, "value"], flat))
    return tables


def render_html(results: dict[str, Any], out: Path) -> str:
    """A self-contained HTML page: headline claims, tables and embedded figures."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>losskit loss lab</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "h1{margin-bottom:0}.ok{color:#176f2c}.no{color:#b00020}table{border-collapse:collapse;margin:.6em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f3f3f3}"
        "section{border-top:1px solid #ddd;margin-top:1.5em;padding-top:.5em}img{max-width:100%}"
        ".claim{font-size:15px}.meta{color:#666;font-size:12px}</style></head><body>",
        "<h1>losskit loss lab</h1>",
        f"<p class='meta'>{'quick run' if results['quick'] else 'full run'}, seed {results['seed']}, "
        f"torch {html.escape(results['env']['torch'])}, {results['env']['threads']} threads. "
        "Every number below was produced by this run; see results.json.</p>",
        "<h2>Summary</h2><table><tr><th>experiment</th><th>claim</th><th>holds</th><th>time</th></tr>",
    ]
    for key, exp in results["experiments"].items():
        cls = "ok" if exp["holds"] else "no"
        parts.append(
            f"<tr><td><a href='#{key}'>{html.escape(exp['title'])}</a></td>"
            f"<td>{html.escape(exp['claim'])}</td><td class='{cls}'>{'yes' if exp['holds'] else 'no'}</td>"
            f"<td>{exp['seconds']:.1f} s</td></tr>"
        )
    parts.append("</table>")
    for key, exp in results["experiments"].items():
        cls = "ok" if exp["holds"] else "no"
        parts.append(f"<section id='{key}'><h2>{html.escape(exp['title'])}</h2>")
        parts.append(f"<p><em>{html.escape(exp['question'])}</em></p>")
        parts.append(f"<p class='claim {cls}'>{html.escape(exp['claim'])}</p>")
        for head, rows in _tables(key, exp["result"]):
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
            parts.append("</table>")
        for fig in exp["figures"]:
            data = base64.b64encode((out / fig).read_bytes()).decode()
            parts.append(f"<p><img alt='{html.escape(fig)}' src='data:image/png;base64,{data}'></p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
