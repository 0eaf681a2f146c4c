"""`losskit demo`: the loss lab — run the experiments, print a summary, write an offline HTML report.

How an experiment registers itself: a module in :mod:`losskit.lab` with

* ``run(seed, quick) -> dict`` — the experiment, returning JSON-serialisable numbers (the name of this
  function may differ: :attr:`Experiment.runner`);
* ``headline(result) -> (claim, holds)`` — the one-line claim and whether this run shows it;
* ``plot(result, out_dir) -> [paths]`` — the figures it wrote;
* optionally ``conclusions(result) -> dict`` with any of ``"criterion"`` (when the claim counts as
  holding), ``"against"`` (a list of the numbers that cut against the claim), ``"recommendation"`` (what
  a reader should do) and ``"captions"`` (figure file name -> one line saying what to see);

plus one :class:`Experiment` entry in :data:`EXPERIMENTS` naming the module. The report (``index.html``)
embeds its PNGs as data URIs, so the folder can be opened offline or mailed as is.
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
    seeds: int = 1  # seeds of a full run: a claim that is a coin flip on small data runs several
    quick_seeds: int = 1  # seeds of a quick run (kept small: the whole quick lab stays under two minutes)


EXPERIMENTS = [
    Experiment(
        "imbalanced",
        "Imbalanced classification",
        "losskit.lab.imbalanced",
        "With 1:50 classes, which loss finds the minority class at the default threshold?",
        seeds=3,
    ),
    Experiment(
        "long_tail",
        "Long-tailed classification",
        "losskit.lab.long_tail",
        "With 10 classes at 100:1 and a balanced test set, do the count-aware losses (balanced softmax, "
        "LDAM) lift the rare classes over cross-entropy and focal loss?",
        seeds=3,
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
        seeds=3,
    ),
    Experiment(
        "quantile",
        "Quantile regression on heteroscedastic data",
        "losskit.lab.quantile",
        "Do 0.1 / 0.5 / 0.9 quantile fits give honest intervals where the noise changes?",
    ),
    Experiment(
        "distributed_dice",
        "Batch Dice across ranks",
        "losskit.lab.distributed",
        "With one image per rank on 4 ranks, what does the average of per-rank Dice losses optimise, and "
        "what does process_group change?",
    ),
    Experiment(
        "embeddings",
        "Metric learning on the digits data set",
        "losskit.lab.embeddings",
        "How well do contrastive, triplet, NT-Xent and SupCon embeddings separate the digits?",
    ),
    Experiment(
        "distributed_contrastive",
        "Contrastive losses across ranks: local vs global negatives",
        "losskit.lab.distributed_contrastive",
        "On 4 data-parallel ranks, what do CLIP and SigLIP gain when every rank's pairs are negatives?",
    ),
    Experiment(
        "language_model",
        "Character-level language model: naive vs fused head loss",
        "losskit.lab.language_model",
        "Does linear_cross_entropy train the same model as naive cross-entropy, and how much memory does "
        "it save?",
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
    seeds: int | None = None,
) -> dict[str, Any]:
    """Run the experiments, write ``results.json``, the PNGs and ``index.html`` under ``out``.

    On a terminal a rich bar shows the running experiment; otherwise ``log`` gets one plain line as each
    experiment starts and one as it ends (elapsed seconds and whether its claim holds).

    ``seeds`` runs every experiment with seeds ``seed, seed + 1, ...``; by default a quick run uses one
    seed and a full run each experiment's :attr:`Experiment.seeds`. The tables and figures are the first
    seed's; with several seeds the claim holds only if it holds for every seed, and the report lists each
    seed's claim (its numbers show the spread).
    """
    if seeds is not None and seeds < 1:
        raise ValueError(f"demo: seeds must be >= 1, got {seeds}")
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
            n_seeds = seeds if seeds is not None else (exp.quick_seeds if quick else exp.seeds)
            seed_runs = [{"seed": seed, "holds": bool(holds), "claim": claim}]
            seed_results = [result]
            for extra in range(seed + 1, seed + n_seeds):
                emit(f"{tag}: seed {extra} ...")
                seed_results.append(getattr(mod, exp.runner)(seed=extra, quick=quick))
                c, h = mod.headline(seed_results[-1])
                seed_runs.append({"seed": extra, "holds": bool(h), "claim": c})
            seconds = time.perf_counter() - t0
            holds = all(r["holds"] for r in seed_runs)
            figures = [Path(p).name for p in mod.plot(result, out)]
            concl = mod.conclusions(result) if hasattr(mod, "conclusions") else {}
            results["experiments"][exp.key] = {
                "title": exp.title,
                "question": exp.question,
                "claim": claim,
                "holds": bool(holds),
                "criterion": str(concl.get("criterion", "")),
                "against": [str(x) for x in concl.get("against", [])],
                "recommendation": str(concl.get("recommendation", "")),
                "captions": {str(k): str(v) for k, v in concl.get("captions", {}).items()},
                "seconds": round(seconds, 2),
                "figures": figures,
                "seed_runs": seed_runs,
                "spread": spread(seed_results, [r["seed"] for r in seed_runs]),
                "result": result,
            }
            verdict = "claim holds" if holds else "claim does NOT hold"
            if len(seed_runs) > 1:
                verdict += f" (in {sum(r['holds'] for r in seed_runs)} of {len(seed_runs)} seeds)"
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


CHOOSING = "the 'Choosing a loss' page of the documentation (docs/choosing.md; built by `make docs`)"


def summary(results: dict[str, Any]) -> str:
    """The plain-text summary printed at the end of `losskit demo`."""
    lines = ["", "losskit loss lab" + (" (quick)" if results["quick"] else ""), ""]
    for exp in results["experiments"].values():
        mark = "ok " if exp["holds"] else "NO "
        verdict = "claim holds" if exp["holds"] else "claim does NOT hold"
        runs = exp.get("seed_runs") or []
        if len(runs) > 1:
            verdict += f" in {sum(r['holds'] for r in runs)} of {len(runs)} seeds"
        lines.append(f"[{mark}] {exp['title']} ({exp['seconds']:.1f} s): {verdict}")
        lines.append(f"       {exp['claim']}")
        if exp.get("recommendation"):
            lines.append(f"       → {exp['recommendation']}")
    lines += ["", f"How to choose from these results: {CHOOSING}.", ""]
    return "\n".join(lines)


Table = tuple[str, list[str], list[list[str]]]  # caption, header, rows (cells already HTML-escaped)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return html.escape(str(v))


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def tables(result: dict[str, Any]) -> list[Table]:
    """The experiment's numbers as tables.

    A dict of per-item metric dicts becomes one table (a row per item, a column per metric), a list of
    flat dicts one row each, a dict of scalars a two-column table; long lists (curves, samples) are left
    to the figures.
    """
    out: list[Table] = []
    scalars = [(k, v) for k, v in result.items() if _scalar(v)]
    if scalars:
        out.append(("settings and totals", ["", "value"], [[html.escape(k), _fmt(v)] for k, v in scalars]))
    for name, block in result.items():
        caption = name.replace("_", " ")
        if isinstance(block, list) and block and all(isinstance(r, dict) for r in block):
            keys = dict.fromkeys(c for r in block for c in r)
            cols = [c for c in keys if all(_scalar(r.get(c)) for r in block)]
            rows = [[_fmt(r.get(c, "")) for c in cols] for r in block]
            out.append((caption, [html.escape(c) for c in cols], rows))
        elif isinstance(block, dict) and block:
            inner = [v for v in block.values() if isinstance(v, dict)]
            if inner and len(inner) == len(block):
                keys = dict.fromkeys(c for v in inner for c in v)
                cols = [c for c in keys if all(_scalar(v.get(c)) for v in inner)]
                if cols:
                    rows = [
                        [html.escape(str(k)), *[_fmt(v.get(c, "")) for c in cols]] for k, v in block.items()
                    ]
                    out.append((caption, ["", *map(html.escape, cols)], rows))
            elif all(_scalar(v) for v in block.values()):
                rows = [[html.escape(str(k)), _fmt(v)] for k, v in block.items()]
                out.append((caption, ["", "value"], rows))
    return out


def spread(results: Sequence[dict[str, Any]], seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The numbers of several seeds side by side: each table of :func:`tables` whose numbers vary.

    A numeric cell becomes ``"median (min–max)"`` over the seeds, a cell that is the same for every seed
    stays as it is. Returns plain-text tables ``{"caption", "header", "rows"}`` (empty for one seed),
    which the report and the docs' lab boxes show under the first seed's tables.
    """
    if len(results) < 2:
        return []
    per_seed = [tables(r) for r in results]
    out = []
    for i, (caption, head, rows) in enumerate(per_seed[0]):
        shape = [len(r) for r in rows]
        same_shape = all(
            len(t) > i and t[i][:2] == (caption, head) and [len(r) for r in t[i][2]] == shape
            for t in per_seed[1:]
        )
        if not same_shape:
            continue
        varied, new_rows = False, []
        for j, row in enumerate(rows):
            new_row = []
            for k in range(len(row)):
                cells = [html.unescape(t[i][2][j][k]) for t in per_seed]
                if len(set(cells)) == 1:
                    new_row.append(cells[0])
                elif all(_numeric(c) for c in cells):
                    vals = sorted(float(c) for c in cells)
                    mid = len(vals) // 2
                    med = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
                    new_row.append(f"{med:.3g} ({vals[0]:.3g}–{vals[-1]:.3g})")
                    varied = True
                else:
                    new_row.append(" / ".join(cells))
                    varied = True
            new_rows.append(new_row)
        if varied:
            out.append(
                {
                    "caption": f"{caption}: median (min–max) over seeds {', '.join(map(str, seeds))}",
                    "header": [html.unescape(h) for h in head],
                    "rows": new_rows,
                }
            )
    return out


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "h1{margin-bottom:0}.ok{color:#176f2c}.no{color:#b00020;font-weight:600}"
    "table{border-collapse:collapse;margin:.6em 0}caption{text-align:left;font-weight:600;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f3f3f3}td.n{text-align:right}"
    "section{border-top:1px solid #ddd;margin-top:1.5em;padding-top:.5em}img{max-width:100%}"
    ".claim{font-size:15px}.meta{color:#666;font-size:12px}"
    ".rec{background:#eef6ff;border-left:4px solid #2a6fdb;padding:.5em .8em}"
    ".against{background:#fff4f4;border-left:4px solid #b00020;padding:.3em .8em}"
    "figcaption{color:#444;font-size:13px}.wide{overflow-x:auto}"
)


def _html_table(caption: str, head: list[str], rows: list[list[str]]) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td class='n'>{c}</td>" if _numeric(c) else f"<td>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return (
        f"<div class='wide'><table><caption>{html.escape(caption)}</caption><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + f"</tr>{body}</table></div>"
    )


def _numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def render_html(results: dict[str, Any], out: Path) -> str:
    """A self-contained HTML page: the claims with their verdicts, recommendations, tables and figures."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>losskit loss lab</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>losskit loss lab</h1>",
        f"<p class='meta'>{'quick run' if results['quick'] else 'full run'}, seed {results['seed']}, "
        f"torch {html.escape(results['env']['torch'])}, {results['env']['threads']} threads. "
        "Every number below was produced by this run; see results.json.</p>",
        "<h2>Summary</h2><table><tr><th>experiment</th><th>claim</th><th>verdict</th>"
        "<th>recommendation</th><th>time</th></tr>",
    ]
    for key, exp in results["experiments"].items():
        cls = "ok" if exp["holds"] else "no"
        parts.append(
            f"<tr><td><a href='#{key}'>{html.escape(exp['title'])}</a></td>"
            f"<td>{html.escape(exp['claim'])}</td>"
            f"<td class='{cls}'>{'holds' if exp['holds'] else 'does not hold'}</td>"
            f"<td>{html.escape(exp.get('recommendation', ''))}</td><td>{exp['seconds']:.1f} s</td></tr>"
        )
    parts.append("</table>")
    choosing = html.escape(CHOOSING)
    if Path(out).resolve().parts[-3:] == ("docs", "assets", "lab"):
        # the documented docs build (`make docs`) writes the report to docs/assets/lab/, which the site
        # serves at assets/lab/index.html: there the page is two folders up (a standalone report has no site)
        choosing = "the <a href='../../choosing.html'>Choosing a loss</a> page of the documentation"
    parts.append(f"<p>How to choose a loss from these results: {choosing}.</p>")
    for key, exp in results["experiments"].items():
        cls = "ok" if exp["holds"] else "no"
        verdict = "Claim holds" if exp["holds"] else "Claim does not hold"
        parts.append(f"<section id='{key}'><h2>{html.escape(exp['title'])}</h2>")
        parts.append(f"<p><em>{html.escape(exp['question'])}</em></p>")
        claim = html.escape(exp["claim"])
        parts.append(f"<p class='claim'><span class='{cls}'>{verdict}:</span> {claim}</p>")
        if exp.get("criterion"):
            parts.append(f"<p><b>Criterion:</b> {html.escape(exp['criterion'])}</p>")
        if exp.get("against"):
            parts.append(
                "<div class='against'><b>Evidence against, or limits:</b><ul>"
                + "".join(f"<li>{html.escape(x)}</li>" for x in exp["against"])
                + "</ul></div>"
            )
        runs = exp.get("seed_runs") or []
        if len(runs) > 1:
            rows = [
                [
                    str(r["seed"]),
                    "holds" if r["holds"] else "<span class='no'>does not hold</span>",
                    html.escape(r["claim"]),
                ]
                for r in runs
            ]
            parts.append(
                _html_table(
                    f"the claim for each of {len(runs)} seeds (tables and figures: seed {runs[0]['seed']})",
                    ["seed", "verdict", "claim"],
                    rows,
                )
            )
        for caption, head, rows in tables(exp["result"]):
            parts.append(_html_table(caption, head, rows))
        for t in exp.get("spread") or []:
            parts.append(
                _html_table(
                    t["caption"],
                    [html.escape(h) for h in t["header"]],
                    [[html.escape(c) for c in row] for row in t["rows"]],
                )
            )
        for fig in exp["figures"]:
            data = base64.b64encode((out / fig).read_bytes()).decode()
            caption = exp.get("captions", {}).get(fig, "")
            figcaption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
            parts.append(
                f"<figure><img alt='{html.escape(caption or fig)}' "
                f"src='data:image/png;base64,{data}'>{figcaption}</figure>"
            )
        if exp.get("recommendation"):
            parts.append(f"<p class='rec'><b>Recommendation:</b> {html.escape(exp['recommendation'])}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
