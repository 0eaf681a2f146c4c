"""MkDocs hooks for the losskit site: build-time includes that never break a strict build.

Pages carry HTML-comment markers, replaced here while the page's Markdown is read:

``<!-- losskit:plot NAME -->``
    the figure ``docs/assets/plots/NAME.png`` drawn by ``losskit plot NAME`` (scripts/gen_docs_assets.py);
    when it is missing the marker vanishes and the page gets one note saying how to draw the plots.
``<!-- losskit:lab KEY[|KEY2...] -->``
    the loss lab's numbers for the first experiment whose key in ``docs/assets/lab/results.json``
    contains one of the KEYs (written by ``losskit demo --out docs/assets/lab``), plus its figures; a
    note otherwise. ``KEY#FIELD`` shows only the dict ``FIELD`` of that experiment's result, as a table
    (e.g. a worked example's numbers next to the text that explains them).
``<!-- losskit:bench [STEM] -->``
    one table per ``docs/assets/bench/*.json`` written by ``benchmarks/bench_*.py --json`` (only
    ``STEM.json`` when a stem is given); a note otherwise.
``<!-- losskit:ratio STEM | CASE | PEER | fwd|fwdbwd|peak -->``
    one peer / losskit ratio read from ``docs/assets/bench/STEM.json`` (forward time, forward + backward
    time or peak memory of the case named CASE, or the one case whose name starts with CASE), e.g. inside
    a sentence; ``not measured`` when the file is absent (the page then gets one note saying how to
    measure), ``withheld`` when the case's timings are flagged. Prose quotes benchmark numbers only this
    way, never typed by hand (``tests/test_docs_build.py`` scans the pages for typed ratios).
``<!-- losskit:modules MODULE -->``
    a table of the Modules of ``losskit.nn.MODULE``: class, function and the names ``losskit.get`` takes.
``<!-- losskit:link PAGE.md TEXT -->``
    a link to a page that another change may or may not have added yet (plain text when it is absent).
``<!-- losskit:include PATH#Heading -->``
    the section under ``Heading`` of a Markdown file of the repository (path relative to mkdocs.yml),
    e.g. the method of benchmarks/README.md, so the site never drifts from it.

Unknown markers are an error (a typo should fail the build, not vanish). MathJax is served from the
``django-static-mathjax`` wheel when it is installed (its TeX-to-SVG component, copied into the site:
viewable offline, even from disk), else
referenced on the jsDelivr CDN.
"""

from __future__ import annotations

import html
import importlib
import json
import logging
import math
import posixpath
import re
import shutil
from importlib.util import find_spec
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.plugins.losskit")

MARKER = re.compile(r"<!--\s*losskit:(\w+)\s*(.*?)\s*-->")
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"
MATHJAX_LOCAL = "assets/mathjax/tex-svg.js"
HOW_TO_PLOT = "`make docs` (or `python scripts/gen_docs_assets.py` before `mkdocs build`)"
HOW_TO_LAB = "`losskit demo --out docs/assets/lab` (add `--quick` for the two-minute version)"
HOW_TO_BENCH = (
    "`make bench` (it writes `docs/assets/bench/<family>.json`; or, per script, "
    "`python -m benchmarks.bench_<family> --json docs/assets/bench/<family>.json`, `--quick` for a smoke run)"
)

_MARKERS = ("plot", "lab", "bench", "ratio", "modules", "link", "include")
_RATIO_COLUMNS = {"fwd": "fwd_ms", "fwdbwd": "fwdbwd_ms", "peak": "peak_mb"}
_state: dict[str, Any] = {}


# --------------------------------------------------------------------------------------------------
# MathJax


def _mathjax_dir() -> Path | None:
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        es5 = Path(loc) / "static" / "mathjax" / "es5"
        if (es5 / "tex-svg.js").is_file():
            return es5
    return None


def on_config(config: Any, **kwargs: Any) -> Any:
    """Add the MathJax script: the local copy when the wheel is installed, the CDN otherwise."""
    es5 = _mathjax_dir()
    _state["mathjax"] = es5
    config.extra_javascript.append(MATHJAX_LOCAL if es5 is not None else MATHJAX_CDN)
    if es5 is None:
        log.info("losskit: django-static-mathjax is not installed; the site loads MathJax from the CDN")
    return config


def on_post_build(config: Any, **kwargs: Any) -> None:
    """Copy MathJax's TeX-to-SVG component into the built site.

    The SVG output carries its glyphs as paths, so it needs no web fonts: pages render the same when
    opened from disk (``file://``, where browsers refuse to load fonts) as when served.
    """
    es5 = _state.get("mathjax")
    if es5 is None:
        return
    dest = Path(config.site_dir) / "assets" / "mathjax"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / "tex-svg.js", dest / "tex-svg.js")


# --------------------------------------------------------------------------------------------------
# markers


def _rel(page: Any, target: str) -> str:
    """``target`` (a path under docs/) relative to the page's source file, as Markdown links want."""
    return posixpath.relpath(target, posixpath.dirname(page.file.src_uri) or ".")


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        a = abs(x)
        if a != 0 and (a >= 1e5 or a < 1e-3):
            return f"{x:.3g}"
        return f"{x:.4g}" if a < 1 else f"{x:,.4g}" if a < 1e3 else f"{x:,.1f}"
    return html.escape(str(x)).replace("|", "\\|")


def _is_scalar(x: Any) -> bool:
    return x is None or isinstance(x, (int, float, str, bool))


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


class _Page:
    """Per-page rendering context (which notes have been emitted, what was missing)."""

    def __init__(self, page: Any, files: Any, docs_dir: Path, config_dir: Path) -> None:
        self.page, self.files, self.docs_dir = page, files, docs_dir
        self.page_config_dir = config_dir
        self.missing_plots: list[str] = []
        self.missing_bench: list[str] = []

    def exists(self, rel: str) -> bool:
        return self.files.get_file_from_path(rel) is not None

    # -- plot ------------------------------------------------------------------------------------
    def plot(self, arg: str) -> str:
        name = arg.split()[0]
        rel = f"assets/plots/{name}.png"
        if not self.exists(rel):
            self.missing_plots.append(name)
            return ""
        img = f"![`losskit plot {name}`]({_rel(self.page, rel)}){{ loading=lazy }}"
        return (
            f'<figure markdown="span">\n  {img}\n'
            f"  <figcaption><code>losskit plot {name}</code>: the loss and its gradient</figcaption>\n"
            f"</figure>"
        )

    # -- link ------------------------------------------------------------------------------------
    def link(self, arg: str) -> str:
        target, _, text = arg.partition(" ")
        text = text.strip() or target
        if self.exists(target):
            return f"[{text}]({_rel(self.page, target)})"
        return f"{text} (not in this build: `{target}`)"

    # -- registry table --------------------------------------------------------------------------
    def modules(self, arg: str) -> str:
        family = arg.split()[0]
        nn_mod = importlib.import_module(f"losskit.nn.{family}")
        registry = importlib.import_module("losskit.registry")
        canonical = getattr(registry, "_CANONICAL", {})
        keys = getattr(registry, "_REGISTRY", {})
        by_cls: dict[Any, list[str]] = {}
        for name, cls in canonical.items():
            by_cls.setdefault(cls, []).insert(0, name)
        rows = []
        for cls_name in getattr(nn_mod, "__all__", ()):
            cls = getattr(nn_mod, cls_name)
            fn = getattr(cls, "function", None)
            fn_cell = f"`{fn.__name__}`" if callable(fn) else "—"
            names = by_cls.get(cls, [])
            aliases = sorted(k for k, c in keys.items() if c is cls)
            names_cell = ", ".join(f'`"{n}"`' for n in names) or "—"
            if aliases:
                names_cell += f" <small>(also: {', '.join(aliases)})</small>" if names else ", ".join(aliases)
            rows.append([f"`losskit.{cls_name}`", fn_cell, names_cell])
        if not rows:
            return f"*No Modules in `losskit.nn.{family}` yet.*"
        note = (
            "\n\nEvery Module takes the function's keyword options in its constructor and calls the "
            "function in `forward`; `losskit.get(name, **options)` builds one from any of the names "
            "(lookup ignores case, `-` and `_`)."
        )
        return _table(["Module", "function", "`losskit.get` names"], rows) + note

    # -- lab -------------------------------------------------------------------------------------
    def lab(self, arg: str) -> str:
        spec, _, field = arg.split()[0].partition("#")  # KEY#FIELD: one entry of the experiment's result
        keys = [k for k in spec.lower().split("|") if k]
        results = _lab_results(self.docs_dir)
        if results is None:
            return (
                f'!!! info "Loss-lab numbers"\n    The measured numbers for this task appear here when '
                f"`docs/assets/lab/results.json` exists: run {HOW_TO_LAB}, then build the docs."
            )
        experiments = results.get("experiments", results) if isinstance(results, dict) else {}
        match = None
        if isinstance(experiments, dict):
            match = next((k for key in keys for k in experiments if key in str(k).lower()), None)
        if match is None:
            return f"*The loss lab's results.json has no experiment matching `{'|'.join(keys)}`.*"
        exp = experiments[match]
        if field:
            return self._lab_field(str(match), exp, field)
        if isinstance(exp, dict) and "claim" in exp and isinstance(exp.get("result"), dict):
            return self._lab_box(str(match), exp)
        body = _render(exp, self, depth=0).strip()
        # figures the lab wrote for this experiment, named after it (e.g. imbalanced_pr.png)
        lab_dir = self.docs_dir / "assets" / "lab"
        stems = {str(match).lower(), *keys}
        figures = (
            sorted(
                f
                for f in lab_dir.iterdir()
                if f.suffix.lower() in (".png", ".svg") and any(k in f.stem.lower() for k in stems)
            )
            if lab_dir.is_dir()
            else []
        )
        for f in figures:
            rel = f"assets/lab/{f.name}"
            if rel not in body and self.exists(rel):
                body += f"\n\n![{_fmt(f.stem)}]({_rel(self.page, rel)}){{ loading=lazy }}"
        return f'!!! example "Loss lab: {_fmt(match)}"\n' + _indent(body or "*(no numbers)*", 4)

    def _lab_field(self, key: str, exp: Any, field: str) -> str:
        """``KEY#FIELD``: one dict of an experiment's result as a two-column table (lists comma-joined)."""
        result = exp.get("result", exp) if isinstance(exp, dict) else None
        value = result.get(field) if isinstance(result, dict) else None
        if not isinstance(value, dict):
            return f"*The loss lab's `{_fmt(key)}` result has no table `{_fmt(field)}`.*"

        def cell(v: Any) -> str:
            if isinstance(v, (list, tuple)):
                return ", ".join(cell(x) for x in v)
            if isinstance(v, float):
                return f"{v:.6g}"
            return html.escape(str(v))

        rows = [[f"`{_fmt(k)}`", cell(v)] for k, v in value.items()]
        body = _table(["quantity", "value"], rows)
        return f'!!! example "Loss lab: {_fmt(key)}, {_fmt(field)}"\n' + _indent(
            body + "\n\n*Computed by `losskit demo` (results.json), not typed by hand.*", 4
        )

    def _lab_box(self, key: str, exp: dict[str, Any]) -> str:
        """One experiment of ``losskit demo``'s results.json.

        Verdict, criterion, the evidence against, the numbers as tables, the figures with their captions,
        and the recommendation.
        """
        holds = bool(exp.get("holds"))
        verdict = "**Claim holds:**" if holds else '<span class="lab-fail">**Claim does not hold:**</span>'
        parts = [f"{verdict} {_fmt(exp['claim'])}"]
        if exp.get("criterion"):
            parts.append(f"*Criterion:* {_fmt(exp['criterion'])}")
        if exp.get("against"):
            parts.append(
                "*Evidence against, or limits:*\n\n" + "\n".join(f"- {_fmt(x)}" for x in exp["against"])
            )
        numbers = _render(exp["result"], self, depth=0).strip()
        if numbers:
            parts.append(numbers)
        runs = exp.get("seed_runs") or []
        if len(runs) > 1:  # the claim per seed (a failed one in red), then the numbers' spread over seeds
            fail = '<span class="lab-fail">does not hold</span>'
            rows = [
                [str(r.get("seed", "")), "holds" if r.get("holds") else fail, _fmt(r.get("claim", ""))]
                for r in runs
            ]
            parts.append(
                f"*The claim for each of {len(runs)} seeds (the tables above: seed "
                f"{runs[0].get('seed', '')}):*\n\n" + _table(["seed", "verdict", "claim"], rows)
            )
        for t in exp.get("spread") or []:
            body = [[_fmt(c) for c in row] for row in t["rows"]]
            parts.append(f"*{_fmt(t['caption'])}:*\n\n" + _table([_fmt(h) for h in t["header"]], body))
        captions = exp.get("captions") or {}
        for fig in exp.get("figures") or []:
            rel = f"assets/lab/{fig}"
            if not self.exists(rel):
                continue
            caption = captions.get(fig, "")
            parts.append(
                f"![{_fmt(caption or Path(fig).stem)}]({_rel(self.page, rel)}){{ loading=lazy }}"
                + (f"\n\n*{_fmt(caption)}*" if caption else "")
            )
        if exp.get("recommendation"):
            parts.append(f"**Recommendation:** {_fmt(exp['recommendation'])}")
        kind = "example" if holds else "failure"
        title = _fmt(exp.get("title") or key)
        return f'!!! {kind} "Loss lab: {title}"\n' + _indent("\n\n".join(parts), 4)

    # -- include ---------------------------------------------------------------------------------
    def include(self, arg: str) -> str:
        """A section of a Markdown file of the repository: ``PATH#Heading`` (headings demoted by one)."""
        path, _, heading = arg.partition("#")
        root = Path(self.page_config_dir)
        src = (root / path.strip()).resolve()
        if not src.is_file() or root.resolve() not in src.parents:
            raise ValueError(f"{self.page.file.src_uri}: include: no file {path!r} in the repository")
        lines = src.read_text(encoding="utf-8").splitlines()
        if heading:
            title = re.compile(rf"#+\s+{re.escape(heading)}\s*")
            start = next((i for i, ln in enumerate(lines) if title.fullmatch(ln)), None)
            if start is None:
                raise ValueError(f"{self.page.file.src_uri}: include: {path} has no heading {heading!r}")
            level = len(lines[start]) - len(lines[start].lstrip("#"))
            end = next(
                (i for i in range(start + 1, len(lines)) if re.match(rf"#{{1,{level}}}\s", lines[i])),
                len(lines),
            )
            lines = lines[start + 1 : end]
        return "\n".join(("#" + ln) if ln.startswith("#") else ln for ln in lines).strip()

    # -- bench -----------------------------------------------------------------------------------
    def bench(self, arg: str) -> str:
        folder = self.docs_dir / "assets" / "bench"
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if arg.strip():  # <!-- losskit:bench llm -->: that script's file only
            files = [f for f in files if f.stem == arg.strip()]
        if not files:
            return (
                f'!!! info "No benchmark results in this build"\n    Run {HOW_TO_BENCH}, then build the docs.'
            )
        parts = []
        for f in files:
            try:
                data = json.loads(f.read_text())
                kind = data.get("kind")
                if kind == "checks":
                    parts.append(_checks_table(data))
                elif kind == "compile":
                    parts.append(_compile_table(data, f.name))
                else:
                    parts.append(_bench_table(data, f.name))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                log.warning("losskit: cannot read benchmark file %s: %s", f, err)
        return "\n\n".join(parts)

    # -- ratio -----------------------------------------------------------------------------------
    def ratio(self, arg: str) -> str:
        """``STEM | CASE | PEER | COLUMN``: one peer / losskit ratio of a benchmark file, for prose."""
        fields = [f.strip() for f in arg.split("|")]
        if len(fields) != 4 or fields[3] not in _RATIO_COLUMNS or not all(fields):
            want = "'STEM | CASE | PEER | fwd|fwdbwd|peak'"
            raise ValueError(f"{self.page.file.src_uri}: ratio: expected {want}, got {arg!r}")
        stem, case, peer, column = fields
        path = self.docs_dir / "assets" / "bench" / f"{stem}.json"
        if not path.is_file():
            if stem not in self.missing_bench:
                self.missing_bench.append(stem)
            return "*not measured*"
        try:
            cases = json.loads(path.read_text())["cases"]
        except (ValueError, KeyError, TypeError) as err:
            log.warning("losskit: cannot read benchmark file %s: %s", path, err)
            return "*not measured*"
        name = case if case in cases else None
        if name is None:
            starts = [c for c in cases if c.startswith(case)]
            name = starts[0] if len(starts) == 1 else None
        impls = cases.get(name) if name is not None else None
        if not isinstance(impls, dict) or "losskit" not in impls or peer not in impls:
            return f"*(no case `{_fmt(case)}` with `{_fmt(peer)}` in `{stem}.json`)*"
        key = _RATIO_COLUMNS[column]
        ref, r = impls["losskit"], impls[peer]
        if column != "peak" and any(x.get("flags") for x in impls.values()):
            return "*withheld (timings flagged)*"
        if not ref.get(key) or key not in r:
            return "*not measured*"
        return f"{r[key] / ref[key]:.2f}×"


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def _lab_results(docs_dir: Path) -> Any:
    path = docs_dir / "assets" / "lab" / "results.json"
    if not path.is_file():
        return None
    cache = _state.setdefault("lab", {})
    mtime = path.stat().st_mtime
    if cache.get("mtime") != mtime:
        try:
            cache["data"] = json.loads(path.read_text())
        except ValueError as err:
            log.warning("losskit: %s is not valid JSON: %s", path, err)
            cache["data"] = None
        cache["mtime"] = mtime
    return cache["data"]


_FIRST = ("title", "claim", "headline", "summary", "conclusion", "passed", "holds")


def _render(obj: Any, ctx: _Page, depth: int) -> str:
    """Generic rendering of a lab experiment: scalars, tables of scalars, figures; long curves skipped."""
    if _is_scalar(obj):
        if isinstance(obj, str) and obj.lower().endswith((".png", ".svg")):
            rel = "assets/lab/" + obj.split("assets/lab/")[-1].lstrip("/")
            if not ctx.exists(rel):
                return ""
            return f"![{_fmt(Path(obj).stem)}]({_rel(ctx.page, rel)}){{ loading=lazy }}"
        return _fmt(obj)
    if isinstance(obj, list):
        if all(_is_scalar(x) for x in obj):
            return ", ".join(_fmt(x) for x in obj) if len(obj) <= 12 else ""
        if all(isinstance(x, dict) and all(_is_scalar(v) for v in x.values()) for x in obj):
            cols = list(dict.fromkeys(k for x in obj for k in x))
            return _table([_fmt(c) for c in cols], [[_fmt(x.get(c, "")) for c in cols] for x in obj])
        return ""
    if not isinstance(obj, dict) or depth > 3:
        return ""
    items = sorted(obj.items(), key=lambda kv: (str(kv[0]).lower() not in _FIRST,))
    scalars = [(k, v) for k, v in items if _is_scalar(v) and not str(v).lower().endswith((".png", ".svg"))]
    nested = [(k, v) for k, v in items if (k, v) not in scalars]
    out: list[str] = []
    if scalars:
        out.append(_table(["", "value"], [[f"**{_fmt(k)}**", _fmt(v)] for k, v in scalars]))
    # several dict values with scalar entries (e.g. one dict of metrics per loss) -> one table, one row
    # per key and one column per scalar entry; their non-scalar entries (curves) are left out
    rowdicts = [
        (k, v)
        for k, v in nested
        if isinstance(v, dict)
        and any(_is_scalar(x) and not str(x).lower().endswith((".png", ".svg")) for x in v.values())
    ]
    if len(rowdicts) >= 2:
        cols = list(dict.fromkeys(c for _, v in rowdicts for c, x in v.items() if _is_scalar(x)))
        out.append(
            _table(
                [""] + [_fmt(c) for c in cols],
                [[f"**{_fmt(k)}**"] + [_fmt(v.get(c, "")) for c in cols] for k, v in rowdicts],
            )
        )
        done = {id(v) for _, v in rowdicts}
        nested = [(k, v) for k, v in nested if id(v) not in done]
    for k, v in nested:
        body = _render(v, ctx, depth + 1)
        if body.strip():
            out.append(f"**{_fmt(k)}**\n\n{body}")
    return "\n\n".join(out)


def _checks_table(data: dict[str, Any]) -> str:
    """benchmarks/bench_checks.py: fwd+bwd per ``losskit.set_checks`` mode and the overhead against "off"."""
    env_line = ", ".join(f"{k} {v}" for k, v in data.get("env", {}).items())
    rows = [
        f"| `{case}` | {r['off_ms']:.2f} | {r['default_ms']:.2f} | {r['full_ms']:.2f} | "
        f"{r['default_overhead_pct']:+.1f} % ({r['default_overhead_min_pct']:+.1f} %) | "
        f"{r['full_overhead_pct']:+.1f} % ({r['full_overhead_min_pct']:+.1f} %) |"
        for case, r in data["cases"].items()
    ]
    return "\n".join(
        [
            f"### {data.get('title', 'value checks')}",
            "",
            f"*{env_line}*",
            "",
            "| case | off ms | default ms | full ms | default overhead (fastest) | full overhead (fastest) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            "Overhead: median over rounds of (mode time / off time of the same round) − 1; in brackets the "
            "fastest time of the mode over the fastest off time − 1.",
            "",
        ]
    )


def _machine_note(data: dict[str, Any]) -> str:
    m = data.get("machine")
    if not isinstance(m, dict):
        return ""
    return html.escape(
        f"machine: {m.get('threads')} threads, copy bandwidth {m.get('copy_warm_gbs')} "
        f"GB/s warm, {m.get('copy_fresh_gbs')} GB/s into fresh memory"
    )


def _compile_table(data: dict[str, Any], fname: str) -> str:
    """benchmarks/bench_compile.py: compiled and eager fwd+bwd of losskit and a peer, and compile times."""
    env_line = ", ".join(f"{k} {v}" for k, v in data.get("env", {}).items())
    rows = []
    flagged = 0
    for case, r in data["cases"].items():
        peer = r["peer"]
        sides = ("losskit compiled", f"{peer} compiled", "losskit eager", f"{peer} eager")
        ms = [f"{r[k]['fwdbwd_ms']:.3f}" for k in sides]
        ratios = []
        for key, pair in (("compiled_x", sides[:2]), ("eager_x", sides[2:])):
            noisy = [f for k in pair for f in r[k].get("flags") or []]
            flagged += bool(noisy)
            ratios.append(f"— (⚠ {_fmt(noisy[0])})" if noisy else f"{r[key]:.2f}")
        compile_s = [
            f"{r['losskit compile_s']:.1f}",
            f"{r[peer + ' compile_s']:.1f}",
            f"**{r['compile_time_x']:.2f}**",
        ]
        rows.append(
            [f"`{case}`", peer, ms[0], ms[1], f"**{ratios[0]}**", ms[2], ms[3], ratios[1], *compile_s]
        )
    header = [
        "case",
        "peer",
        "losskit compiled ms",
        "peer compiled ms",
        "compiled peer / losskit",
        "losskit eager ms",
        "peer eager ms",
        "eager peer / losskit",
        "losskit compile s",
        "peer compile s",
        "compile time losskit / peer",
    ]
    table = _table(header, rows)
    table += (
        "\n\n*ms*: median forward + backward over "
        f"{data.get('repeats', '?')} interleaved repeats; peer / losskit above 1.00: losskit is faster. "
        "*compile s*: wall time of the first compiled forward + backward after `torch._dynamo.reset()`, "
        "from an empty inductor cache; losskit / peer below 1.00: losskit compiles faster."
    )
    if flagged:
        table += f"\n\n{flagged} ratio(s) withheld: their repeats disagree by more than 2x (a busy machine)."
    machine = _machine_note(data)
    title = data.get("title") or fname
    return (
        f"### {html.escape(str(title))}\n\n<small>{html.escape(env_line)} — `{fname}`"
        f"{'<br>' + machine if machine else ''}</small>\n\n{table}"
    )


def _bench_table(data: dict[str, Any], fname: str) -> str:
    title = data.get("title") or fname
    env = data.get("env", {})
    env_line = ", ".join(f"{k} {v}" for k, v in env.items())
    rows = []
    spread = any("fwd_min_ms" in r for impls in data["cases"].values() for r in impls.values())
    floors = any("floor_x" in r for cs in data["cases"].values() for r in cs.values())
    sent = any("comm_bytes" in r for cs in data["cases"].values() for r in cs.values())  # bench_distributed
    flagged = 0
    for case, impls in data["cases"].items():
        ref = impls.get("losskit")
        first = next(iter(impls), None)
        unreliable = any(r.get("flags") for r in impls.values())
        flagged += unreliable
        for impl, r in impls.items():
            cells = [f"`{case}`" if impl == first else "", impl if impl != "losskit" else "**losskit**"]
            cells += [f"{r['fwd_ms']:.3f}", f"{r['fwdbwd_ms']:.3f}", f"{r['peak_mb']:.2f}"]
            if spread:
                cells.append(
                    f"{r['fwd_min_ms']:.3f}–{r['fwd_max_ms']:.3f} / "
                    f"{r['fwdbwd_min_ms']:.3f}–{r['fwdbwd_max_ms']:.3f}"
                    if "fwd_min_ms" in r
                    else ""
                )
            if floors:
                cells.append(f"{r['floor_x']:.1f}" if "floor_x" in r else "")
            if sent:
                cells.append(f"{r['comm_bytes']:,}" if "comm_bytes" in r else "")
            if ref is None or impl == "losskit":
                cells.append("; ".join(f"⚠ {_fmt(f)}" for f in r.get("flags") or []))
            elif unreliable:
                mem = r["peak_mb"] / ref["peak_mb"] if ref["peak_mb"] > 0 else float("nan")
                notes = "; ".join(f"⚠ {_fmt(f)}" for f in r.get("flags") or [])
                cells.append(f"— / — / {mem:.2f} (timings unreliable{': ' + notes if notes else ''})")
            else:
                keys = ("fwd_ms", "fwdbwd_ms", "peak_mb")
                ratios = [r[k] / ref[k] if ref[k] > 0 else float("nan") for k in keys]
                cells.append(" / ".join(f"{x:.2f}" for x in ratios))
            rows.append(cells)
    header = ["case", "implementation", "fwd ms", "fwd+bwd ms", "peak MB"]
    if spread:
        header.append("min–max ms (fwd / f+b)")
    if floors:
        header.append("floor x")
    if sent:
        header.append("bytes sent / step")
    header.append("peer / losskit (fwd / f+b / mem)")
    table = _table(header, rows)
    if flagged:
        table += (
            f"\n\n{flagged} case(s) flagged: their repeats disagree by more than 2x or their forward + "
            "backward was faster than the forward alone (a busy machine); their speed ratios are withheld."
        )
    if sent:
        table += (
            "\n\n*bytes sent / step*: what this rank hands to `torch.distributed` in one forward + "
            "backward (counted by wrapping its collectives; an all-gather receives world-size times that)."
        )
    if floors:
        table += (
            "\n\n*floor x*: forward + backward time over the time to read the inputs once and "
            "write the gradient once at the machine's warm copy bandwidth."
        )
    rss = data.get("rss")
    if isinstance(rss, dict) and rss:  # bench_classification: peak RSS growth in a fresh process per impl
        rss_rows = [
            [_fmt(impl), f"{r['rss_mb']:.1f}", f"{r['x_input']:.2f}"]
            for impl, r in rss.items()
            if isinstance(r, dict) and "rss_mb" in r and "x_input" in r
        ]
        if rss_rows:
            table += (
                "\n\n*Peak RSS growth of one forward + backward over the inputs, each implementation in a "
                "fresh process (`harness.peak_rss_bytes`: everything taken from the system, allocator slack "
                "included):*\n\n" + _table(["implementation", "RSS growth MiB", "× input size"], rss_rows)
            )
    machine = _machine_note(data)
    return (
        f"### {html.escape(str(title))}\n\n<small>{html.escape(env_line)} — `{fname}`"
        f"{'<br>' + machine if machine else ''}</small>\n\n{table}"
    )


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """Expand the ``<!-- losskit:... -->`` markers of a page."""
    ctx = _Page(page, files, Path(config.docs_dir), Path(config.config_file_path).parent)

    def replace(m: re.Match[str]) -> str:
        kind, arg = m.group(1), m.group(2)
        handler = getattr(ctx, kind, None) if kind in _MARKERS else None
        if handler is None:
            raise ValueError(f"{page.file.src_uri}: unknown marker 'losskit:{kind}'")
        return handler(arg)

    # markers inside fenced code stay as they are (the docs may show them)
    parts = re.split(r"(^```.*?^```)", markdown, flags=re.MULTILINE | re.DOTALL)
    markdown = "".join(p if p.startswith("```") else MARKER.sub(replace, p) for p in parts)
    if ctx.missing_bench:
        files = ", ".join(f"`docs/assets/bench/{s}.json`" for s in ctx.missing_bench)
        note = (
            '!!! note "Benchmark numbers not in this build"\n    The ratios quoted on this page are read '
            f"from {files} at build time: run {HOW_TO_BENCH}, then build the docs.\n"
        )
        h1 = re.search(r"^# .*$", markdown, flags=re.MULTILINE)
        at = h1.end() + 1 if h1 else 0
        markdown = markdown[:at] + "\n" + note + "\n" + markdown[at:]
    if ctx.missing_plots:
        note = (
            f'!!! note "Plots not generated in this build"\n    The figures drawn by `losskit plot` for '
            f"{', '.join(f'`{n}`' for n in ctx.missing_plots)} are missing: build with {HOW_TO_PLOT}.\n"
        )
        h1 = re.search(r"^# .*$", markdown, flags=re.MULTILINE)
        at = h1.end() + 1 if h1 else 0
        markdown = markdown[:at] + "\n" + note + "\n" + markdown[at:]
    return markdown
