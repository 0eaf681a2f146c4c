"""The docs site builds with ``mkdocs build --strict`` and documents every public function.

The strict build fails on any warning: a broken link or anchor, an unresolved cross-reference, a
docstring griffe cannot parse (e.g. an Args entry without ``name: description``), an unknown hook marker.
The build does not draw the plots (scripts/gen_docs_assets.py does, in ``make docs``): pages build with
or without them. The docs toolchain (docs/requirements.txt) is part of the test extras; a missing mkdocs
is a failure, not a skip.
"""

from __future__ import annotations

import ast
import html
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import losskit
import losskit.functional
from losskit._core.docs import ARGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def _pages(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}


def test_every_public_function_is_in_the_api_reference(site: Path) -> None:
    text = "\n".join(_pages(site).values())
    missing = []
    for name in losskit.functional.__all__:
        obj = getattr(losskit.functional, name)
        anchor = f"{obj.__module__}.{obj.__qualname__}"  # the id mkdocstrings gives the object's heading
        if f'id="{anchor}"' not in text:
            missing.append(anchor)
    assert not missing, f"not in any API reference page: {missing}"


def test_every_public_function_is_documented_once(site: Path) -> None:
    text = "\n".join(_pages(site).values())
    for name in losskit.functional.__all__:
        obj = getattr(losskit.functional, name)
        anchor = f'id="{obj.__module__}.{obj.__qualname__}"'
        assert text.count(anchor) == 1, f"{anchor} appears {text.count(anchor)} times"


def test_docstring_markup_is_converted(site: Path) -> None:
    pages = _pages(site)
    for page, text in pages.items():
        for raw in (".. math::", ":func:`", ":math:`", ":class:`", ":meth:`"):
            assert raw not in text, f"{page}: reST markup {raw!r} left in the HTML"
    cls = pages["classification.html"]
    # display math from the docstrings, inline math, and a docstring cross-reference that resolved
    assert r'<div class="arithmatex">\[' in cls and r'<span class="arithmatex">\(' in cls
    assert 'href="#losskit.functional.classification.multiclass.cross_entropy"' in cls
    # doctest examples are highlighted console sessions (prompt spans), not nested block quotes
    assert '<span class="gp">&gt;&gt;&gt; </span>' in cls
    assert "<blockquote>" not in cls


def test_mathjax_is_served_from_the_site_when_installed(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    if importlib.util.find_spec("mathjax") is not None:  # django-static-mathjax, docs/requirements.txt
        assert (site / "assets" / "mathjax" / "tex-svg.js").is_file()
        assert 'src="assets/mathjax/tex-svg.js"' in index
    else:
        assert "cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js" in index
    assert 'src="javascripts/mathjax-config.js"' in index


def test_every_registered_loss_has_a_plot_on_a_family_page() -> None:
    markers = set()
    for md in DOCS.glob("*.md"):
        markers |= set(re.findall(r"<!--\s*losskit:plot\s+(\w+)\s*-->", md.read_text(encoding="utf-8")))
    missing = sorted(set(losskit.available()) - markers)
    assert not missing, f"registered losses without a plot marker in docs/*.md: {missing}"
    unknown = sorted(markers - set(losskit.available()))
    assert not unknown, f"plot markers naming no registered loss: {unknown}"


# --------------------------------------------------------------------------------------------------
# the build-time includes of docs/hooks.py, fed with small result files


def _hooks():
    spec = importlib.util.spec_from_file_location("losskit_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _render(tmp: Path, markdown: str, src_uri: str = "choosing.md") -> str:
    hooks = _hooks()
    docs = tmp / "docs"
    files = SimpleNamespace(get_file_from_path=lambda rel: rel if (docs / rel).is_file() else None)
    page = SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))
    config = SimpleNamespace(docs_dir=str(docs), config_file_path=str(ROOT / "mkdocs.yml"))
    return hooks.on_page_markdown(markdown, page=page, config=config, files=files)


def test_lab_numbers_are_included_when_results_exist(tmp_path: Path) -> None:
    md = "# Choosing\n\n<!-- losskit:lab imbalanced -->\n\n<!-- losskit:lab quantile -->\n"
    without = _render(tmp_path, md)
    assert "losskit demo --out docs/assets/lab" in without and "losskit:lab" not in without

    lab = tmp_path / "docs" / "assets" / "lab"
    lab.mkdir(parents=True)
    results = {
        "imbalanced": {
            "headline": "focal raises minority recall",
            "holds": True,
            "imbalance": "1:50",
            "losses": {
                "cross-entropy": {
                    "minority_recall": 0.31,
                    "average_precision": 0.62,
                    "pr_curve": {"recall": [0.1] * 50, "precision": [0.9] * 50},
                },
                "focal γ=2": {
                    "minority_recall": 0.58,
                    "average_precision": 0.64,
                    "pr_curve": {"recall": [0.1] * 50, "precision": [0.9] * 50},
                },
            },
        },
    }
    (lab / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (lab / "imbalanced_pr.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = _render(tmp_path, md)
    assert '!!! example "Loss lab: imbalanced"' in out
    assert "focal raises minority recall" in out and "1:50" in out
    # one row per loss, one column per scalar metric; the long curves are left out
    assert re.search(r"\| \*\*focal γ=2\*\* \| 0\.58 \| 0\.64 \|", out), out
    assert "pr_curve" not in out
    assert "](assets/lab/imbalanced_pr.png)" in out
    assert "no experiment matching `quantile`" in out


def test_benchmark_tables_are_included_when_results_exist(tmp_path: Path) -> None:
    md = "# Benchmarks\n\n<!-- losskit:bench -->\n"
    assert "--json docs/assets/bench/" in _render(tmp_path, md, "benchmarks.md")
    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    data = {
        "title": "classification",
        "env": {"torch": "2.x", "threads": 2, "device": "cpu"},
        "cases": {
            "cross_entropy (N, C)": {
                "losskit": {"fwd_ms": 2.0, "fwdbwd_ms": 4.0, "peak_mb": 10.0},
                "torch": {"fwd_ms": 3.0, "fwdbwd_ms": 8.0, "peak_mb": 15.0},
            }
        },
    }
    (bench / "classification.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, md, "benchmarks.md")
    assert "### classification" in out and "threads 2" in out
    assert "| `cross_entropy (N, C)` | **losskit** | 2.000 | 4.000 | 10.00 |  |" in out
    assert "|  | torch | 3.000 | 8.000 | 15.00 | 1.50 / 2.00 / 1.50 |" in out


def test_compile_benchmark_table_gives_both_ratios(tmp_path: Path) -> None:
    # benchmarks/bench_compile.py's file (kind "compile"): its own columns, a noisy pair's ratio withheld
    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)

    def side(ms: float, noisy: bool = False) -> dict:
        return {"fwdbwd_ms": ms, "flags": ["repeats disagree 3.0x"] if noisy else []}

    row = {
        "peer": "torchvision",
        "losskit compiled": side(2.0),
        "torchvision compiled": side(3.0),
        "losskit eager": side(4.0, noisy=True),
        "torchvision eager": side(5.0),
        "losskit compile_s": 6.0,
        "torchvision compile_s": 4.0,
        "compiled_x": 1.5,
        "eager_x": 1.25,
        "compile_time_x": 1.5,
    }
    data = {
        "title": "compiled",
        "kind": "compile",
        "repeats": 9,
        "env": {"threads": 2},
        "cases": {"giou": row},
    }
    (bench / "compile.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, "# Benchmarks\n\n<!-- losskit:bench -->\n", "benchmarks.md")
    assert "### compiled" in out and "over 9 interleaved repeats" in out
    cells = (
        "| `giou` | torchvision | 2.000 | 3.000 | **1.50** | 4.000 | 5.000 | — (⚠ repeats disagree 3.0x) |"
    )
    assert cells + " 6.0 | 4.0 | **1.50** |" in out, out
    assert "1 ratio(s) withheld" in out


def test_plots_missing_and_present(tmp_path: Path) -> None:
    md = "# Page\n\ntext\n\n<!-- losskit:plot focal -->\n<!-- losskit:plot dice -->\n"
    plots = tmp_path / "docs" / "assets" / "plots"
    plots.mkdir(parents=True)
    (plots / "focal.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = _render(tmp_path, md, "classification.md")
    assert "](assets/plots/focal.png)" in out
    assert "dice.png" not in out
    # one note under the title, naming the missing figure and how to draw it
    assert out.index('!!! note "Plots not generated in this build"') < out.index("text")
    assert "`dice`" in out and "make docs" in out


def test_unknown_marker_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown marker 'losskit:plto'"):
        _render(tmp_path, "# P\n\n<!-- losskit:plto focal -->\n")


def test_include_copies_a_section_of_a_repository_file(tmp_path: Path) -> None:
    out = _render(tmp_path, "# B\n\n<!-- losskit:include benchmarks/README.md#Method -->\n", "benchmarks.md")
    assert "Warm-up, then medians" in out and "## Method" not in out
    with pytest.raises(ValueError, match="has no heading"):
        _render(tmp_path, "# B\n\n<!-- losskit:include benchmarks/README.md#Nope -->\n")


def test_site_works_opened_from_disk(site: Path) -> None:
    # use_directory_urls: false -> page.html files and links to them; a link ending in "/" would open a
    # directory listing (or nothing) from file://
    assert (site / "classification.html").is_file() and not (site / "classification").is_dir()
    for page, text in _pages(site).items():
        hrefs = re.findall(r'href="([^"#:?]*)[^"]*"', text)
        dirs = [h for h in hrefs if h.endswith("/") or h in (".", "..")]
        assert not dirs, f"{page}: directory links {dirs[:5]}"


def test_lab_box_of_a_demo_run_renders_verdict_tables_figures_and_recommendation(tmp_path: Path) -> None:
    lab = tmp_path / "docs" / "assets" / "lab"
    lab.mkdir(parents=True)
    exp = {
        "title": "Small-foreground segmentation",
        "claim": "an overlap loss beats CE",
        "holds": False,
        "criterion": "holds when the best overlap loss beats CE's Dice",
        "against": ["dice alone: Dice score 0.694 < cross-entropy 0.699"],
        "recommendation": "start with dice + CE",
        "captions": {"segmentation_examples.png": "each loss's predicted mask"},
        "figures": ["segmentation_examples.png"],
        "seconds": 12.5,
        "result": {
            "foreground_fraction": 0.031,
            "losses": {
                "cross-entropy": {"dice": 0.699, "recall": 0.61},
                "dice": {"dice": 0.694, "recall": 0.66},
            },
        },
    }
    (lab / "results.json").write_text(json.dumps({"experiments": {"segmentation": exp}}), encoding="utf-8")
    (lab / "segmentation_examples.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = _render(tmp_path, "# Choosing\n\n<!-- losskit:lab segment -->\n")
    assert '!!! failure "Loss lab: Small-foreground segmentation"' in out  # a failed claim is red
    assert '<span class="lab-fail">**Claim does not hold:**</span> an overlap loss beats CE' in out
    # (text is HTML-escaped inside the Markdown: &lt; renders as <)
    assert (
        "*Criterion:* holds when" in out and "- dice alone: Dice score 0.694 &lt; cross-entropy 0.699" in out
    )
    assert re.search(r"\| \*\*dice\*\* \| 0\.694 \| 0\.66 \|", out), out  # a table, not key: value text
    assert "![each loss&#x27;s predicted mask](assets/lab/segmentation_examples.png)" in out
    assert "*each loss&#x27;s predicted mask*" in out and "**Recommendation:** start with dice + CE" in out
    assert "seconds" not in out and "figures" not in out  # no dump of the bookkeeping fields
    # several seeds: each seed's verdict (a failure in red) and the spread table from `losskit demo`
    exp["seed_runs"] = [{"seed": 0, "holds": False, "claim": "c0"}, {"seed": 1, "holds": True, "claim": "c1"}]
    exp["spread"] = [
        {
            "caption": "losses: median (min–max) over seeds 0, 1",
            "header": ["", "dice"],
            "rows": [["dice", "0.7 (0.694–0.706)"]],
        }
    ]
    (lab / "results.json").write_text(json.dumps({"experiments": {"segmentation": exp}}), encoding="utf-8")
    out = _render(tmp_path, "# Choosing\n\n<!-- losskit:lab segment -->\n")
    assert '| 0 | <span class="lab-fail">does not hold</span> | c0 |' in out and "| 1 | holds | c1 |" in out
    assert "*losses: median (min–max) over seeds 0, 1:*" in out and "| dice | 0.7 (0.694–0.706) |" in out


def test_returns_sections_have_one_value(site: Path) -> None:
    # a Returns paragraph wrapped over lines is one return value (returns_multiple_items: false), not one
    # phantom "Tensor" row per line
    sections = 0
    for page, text in _pages(site).items():
        for body in re.findall(r'doc-section-title">Returns:</span></p>(.*?)</table>', text, re.S):
            sections += 1
            rows = body.count('<tr class="doc-section-item">')
            assert rows == 1, f"{page}: a Returns section with {rows} rows"
    assert sections > 50


def test_wide_tables_scroll_instead_of_squeezing(site: Path) -> None:
    # no browser here: check the rules that decide it. The theme makes a plain table a scroll box
    # (max-width 100%, overflow auto); extra.css keeps each column readable (min-width, code not cut inside
    # a name), so a table wider than the page scrolls; every docs table is a plain one the rules reach.
    theme = "".join(p.read_text() for p in (site / "assets" / "stylesheets").glob("main.*.css"))
    assert re.search(
        r"\.md-typeset table:not\(\[class\]\)\{display:inline-block;max-width:100%;overflow:auto", theme
    )
    css = (site / "stylesheets" / "extra.css").read_text()
    assert re.search(r"table:not\(\[class\]\) td \{[^}]*min-width: 8rem", css)
    assert re.search(r"table:not\(\[class\]\) code \{[^}]*word-break: normal", css)
    pages = _pages(site)
    assert re.search(
        r"<th>losskit</th>\s*<th>torch</th>\s*<th>torchvision</th>", pages["classification.html"]
    )
    for page, text in pages.items():
        classed = re.findall(r'<table class="(?!highlighttable)[^"]*"', text)
        md = [c for c in classed if "md-" not in c]
        assert not md, f"{page}: tables with a class escape the scroll rules: {md[:3]}"


def test_benchmark_tables_show_spread_and_withhold_flagged_ratios(tmp_path: Path) -> None:
    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    ok = {
        "fwd_ms": 2.0,
        "fwdbwd_ms": 4.0,
        "peak_mb": 10.0,
        "fwd_min_ms": 1.9,
        "fwd_max_ms": 2.1,
        "fwdbwd_min_ms": 3.9,
        "fwdbwd_max_ms": 4.4,
        "flags": [],
    }
    bad = {**ok, "fwdbwd_ms": 1.0, "fwdbwd_min_ms": 0.9, "fwdbwd_max_ms": 1.2, "flags": ["fwd+bwd < fwd"]}
    data = {"title": "t", "env": {}, "cases": {"c": {"losskit": ok, "torch": bad}}}
    (bench / "t.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, "# B\n\n<!-- losskit:bench -->\n", "benchmarks.md")
    assert "| 1.900–2.100 / 3.900–4.400 |" in out
    assert "— / — / 1.00 (timings unreliable: ⚠ fwd+bwd &lt; fwd)" in out  # HTML-escaped in the Markdown
    assert "1 case(s) flagged" in out


def test_benchmark_tables_show_machine_line_and_floor_ratio(tmp_path: Path) -> None:
    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    r = {"fwd_ms": 2.0, "fwdbwd_ms": 4.0, "peak_mb": 10.0, "floor_x": 8.0}
    data = {
        "title": "t",
        "env": {},
        "machine": {"threads": 2, "copy_warm_gbs": 20.5, "copy_fresh_gbs": 2.0},
        "cases": {"c": {"losskit": r, "torch": {**r, "fwdbwd_ms": 8.0, "floor_x": 16.0}}},
    }
    (bench / "t.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, "# B\n\n<!-- losskit:bench -->\n", "benchmarks.md")
    assert "machine: 2 threads, copy bandwidth 20.5 GB/s warm, 2.0 GB/s into fresh memory" in out
    assert "| `c` | **losskit** | 2.000 | 4.000 | 10.00 | 8.0 |  |" in out
    assert "|  | torch | 2.000 | 8.000 | 10.00 | 16.0 | 1.00 / 2.00 / 1.00 |" in out


def test_benchmark_tables_show_the_bytes_sent_by_bench_distributed(tmp_path: Path) -> None:
    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    r = {"fwd_ms": 2.0, "fwdbwd_ms": 4.0, "peak_mb": 1.0}
    data = {
        "title": "t",
        "env": {},
        "cases": {
            "c": {
                "losskit": {**r, "comm_bytes": 0},
                "process_group": {**r, "fwdbwd_ms": 6.0, "comm_bytes": 12288},
            }
        },
    }
    (bench / "distributed.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, "# D\n\n<!-- losskit:bench distributed -->\n", "distributed.md")
    assert "| case | implementation | fwd ms | fwd+bwd ms | peak MB | bytes sent / step |" in out
    assert "| `c` | **losskit** | 2.000 | 4.000 | 1.00 | 0 |  |" in out
    assert "|  | process_group | 2.000 | 6.000 | 1.00 | 12,288 | 1.00 / 1.50 / 1.00 |" in out


def test_benchmark_page_renders_the_value_checks_file_of_bench_checks(tmp_path: Path) -> None:
    from benchmarks.bench_checks import MODES

    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    row: dict[str, float] = {f"{m}_ms": 10.0 for m in MODES} | {f"{m}_min_ms": 9.0 for m in MODES}
    for m in ("default", "full"):  # the keys bench_checks.measure writes per mode
        row |= {
            f"{m}_overhead_pct": 2.5,
            f"{m}_overhead_min_pct": 1.0,
            f"{m}_ratio_min": 0.9,
            f"{m}_ratio_max": 1.1,
        }
    data = {
        "title": "value checks",
        "kind": "checks",
        "env": {"threads": 2},
        "cases": {"giou_loss (8, 4)": row},
    }
    (bench / "checks.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, "# B\n\n<!-- losskit:bench -->\n", "benchmarks.md")
    assert "| `giou_loss (8, 4)` | 10.00 | 10.00 | 10.00 | +2.5 % (+1.0 %) | +2.5 % (+1.0 %) |" in out


def test_lab_field_marker_shows_one_table_of_an_experiment(tmp_path: Path) -> None:
    lab = tmp_path / "docs" / "assets" / "lab"
    lab.mkdir(parents=True)
    acc = {"valid_tokens": [30, 2], "window_tokens": 32, "naive_accumulated": 3.7258329445812466}
    results = {
        "experiments": {
            "distributed_dice": {"claim": "c", "holds": True, "result": {"accumulation": acc, "rows": []}}
        }
    }
    (lab / "results.json").write_text(json.dumps(results), encoding="utf-8")
    out = _render(tmp_path, "# D\n\n<!-- losskit:lab distributed_dice#accumulation -->\n", "distributed.md")
    assert '!!! example "Loss lab: distributed_dice, accumulation"' in out
    assert "| `valid_tokens` | 30, 2 |" in out and "| `naive_accumulated` | 3.72583 |" in out
    missing = _render(tmp_path, "# D\n\n<!-- losskit:lab distributed_dice#nope -->\n", "distributed.md")
    assert "has no table `nope`" in missing


def test_home_page_says_how_to_install_and_names_the_extras(site: Path) -> None:
    # the Install section of README.md, included at build time (one text, no drift)
    import html

    index = (site / "index.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", index))  # the highlighted code block, as the reader sees it
    assert 'pip install ".[lab]"' in text and 'pip install ".[cli]"' in text
    for extra in ("<code>cli</code>", "<code>lab</code>", "<code>test</code>", "<code>docs</code>"):
        assert extra in index, extra
    assert "losskit[lab]" in index  # what a command without its extra tells you to install


def test_every_local_link_and_asset_resolves_to_a_file_from_disk(site: Path) -> None:
    # opened from file:// a relative href/src must name a file next to the page (no server to map "x/" to
    # "x/index.html", no site root for "/assets/..."); 404.html is served by a web server only
    from urllib.parse import unquote

    broken, checked = {}, 0
    for page in site.rglob("*.html"):
        if page.name == "404.html":
            continue
        for ref in re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8")):
            path = unquote(ref.split("#")[0].split("?")[0])
            if re.match(r"[a-z]+:|//", ref) or not path:
                continue
            checked += 1
            if not (page.parent / path).resolve().is_file():
                broken.setdefault(str(page.relative_to(site)), []).append(ref)
    assert checked > 300, checked
    assert not broken, {k: v[:5] for k, v in broken.items()}


# --------------------------------------------------------------------------------------------------
# benchmark numbers in prose come from the JSON (issue 16): the ratio marker, and no typed ratios


def test_ratio_marker_reads_one_ratio_of_a_benchmark_file(tmp_path: Path) -> None:
    md = (
        "# Benchmarks\n\nintro\n\n"
        "a <!-- losskit:ratio seg | dice 2-D | monai | fwdbwd --> b "
        "<!-- losskit:ratio seg | dice 2-D | monai | peak --> c "
        "<!-- losskit:ratio seg | dice 2-D | monai | fwd -->\n"
    )
    without = _render(tmp_path, md, "benchmarks.md")
    assert without.count("*not measured*") == 3 and "losskit:ratio" not in without
    # one note under the title, naming the missing file and how to write it
    assert without.index('!!! note "Benchmark numbers not in this build"') < without.index("intro")
    assert "`docs/assets/bench/seg.json`" in without and "make bench" in without

    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    r = {"fwd_ms": 2.0, "fwdbwd_ms": 4.0, "peak_mb": 10.0}
    data = {
        "title": "seg",
        "env": {},
        "cases": {
            "dice 2-D 2x4x64x64": {"losskit": r, "monai": {"fwd_ms": 3.0, "fwdbwd_ms": 10.0, "peak_mb": 8.0}},
            "dice 3-D 1x3x24x24x24": {"losskit": r, "monai": r},
        },
    }
    (bench / "seg.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, md, "benchmarks.md")
    # peer / losskit of the one case whose name starts with "dice 2-D": 10/4, 8/10, 3/2
    assert "a 2.50× b 0.80× c 1.50×" in out
    assert "not in this build" not in out

    data["cases"]["dice 2-D 2x4x64x64"]["monai"]["flags"] = ["fwd+bwd < fwd"]
    (bench / "seg.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, md, "benchmarks.md")
    assert "a *withheld (timings flagged)* b 0.80× c *withheld (timings flagged)*" in out  # memory is kept

    out = _render(tmp_path, "# B\n\n<!-- losskit:ratio seg | dice | monai | peak -->\n", "benchmarks.md")
    assert "*(no case `dice` with `monai` in `seg.json`)*" in out  # two cases start with "dice"
    with pytest.raises(ValueError, match="ratio: expected 'STEM"):
        _render(tmp_path, "# B\n\n<!-- losskit:ratio seg | dice 2-D | monai | memory -->\n", "benchmarks.md")


def test_benchmark_page_renders_the_peak_rss_table_of_bench_classification(tmp_path: Path) -> None:
    bench = tmp_path / "docs" / "assets" / "bench"
    bench.mkdir(parents=True)
    r = {"fwd_ms": 2.0, "fwdbwd_ms": 4.0, "peak_mb": 10.0}
    rss = {"losskit": {"rss_mb": 6.0, "x_input": 1.2}, "torchvision": {"rss_mb": 50.0, "x_input": 10.0}}
    data = {"title": "classification", "env": {}, "cases": {"c": {"losskit": r}}, "rss": rss}
    (bench / "classification.json").write_text(json.dumps(data), encoding="utf-8")
    out = _render(tmp_path, "# B\n\n<!-- losskit:bench -->\n", "benchmarks.md")
    assert "| implementation | RSS growth MiB | × input size |" in out
    assert "| losskit | 6.0 | 1.20 |" in out and "| torchvision | 50.0 | 10.00 |" in out


_NUM = r"\d+(?:[.,]\d+)?(?:\s*(?:–|-|to)\s*\d+(?:[.,]\d+)?)?"  # 2, 2.4, 2.4–3.6
_TIMES = r"\s?(?:×|x)(?![\w×])"  # 2× or 2x, not 2×4 or 2x4 (shapes)
_SPEED = (
    r"(?:faster|slower|quicker|lighter|heavier|cheaper|leaner|as (?:fast|quick|light|slow|heavy)"
    r"|(?:less|more) (?:memory|time|RAM)|(?:lower|higher|smaller|larger|bigger) (?:peak|memory|time|latency"
    r"|throughput|RSS))"
)
_PEERS = (
    r"(?:torch|torchvision|kornia|MONAI|smp|segmentation-models-pytorch|timm|Liger(?:-Kernel)?"
    r"|pytorch-metric-learning|scikit-learn|SciPy|(?:the )?naive)\b"
)
TYPED_RATIO = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            rf"\b{_NUM}{_TIMES}\s+(?:[\w'-]+\s+){{0,2}}?{_SPEED}",  # 5.6× faster, 2x as fast
            rf"{_SPEED}\s+(?:[\w'-]+\s+){{0,3}}?(?:by|of)\s+(?:about\s+|~\s?|≈\s?)?{_NUM}{_TIMES}",  # faster by 3x
            rf"(?:speed-?up|saving|overhead)\s+(?:of\s+)?(?:about\s+|~\s?|≈\s?)?{_NUM}(?:{_TIMES}|\s?%)",
            rf"\b{_NUM}{_TIMES}\s+(?:the\s+|its\s+)?(?:peak|memory|time|speed|throughput|RSS)\b",
            rf"\b{_NUM}{_TIMES}\s+{_PEERS}",  # fwd+bwd 1.12x kornia
            rf"\b{_NUM}\s?%\s+(?:{_SPEED}|overhead|speed-?up|less|fewer bytes)",  # 30 % less memory
            rf"\b{_NUM}\s?(?:ms|µs|GB/s|MB/s)\b",  # a measured time or bandwidth
        )
    ),
    re.IGNORECASE,
)


def _prose(text: str) -> str:
    """Text as a reader sees it typed: no fenced code, no markers or comments, no TeX (× there is a product)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.DOTALL)
    return re.sub(r"\$[^$\n]+\$", "", text)


def _typed_ratios(text: str) -> list[str]:
    prose = _prose(text)
    return [
        prose[max(0, m.start() - 30) : m.end() + 10].replace("\n", " ") for m in TYPED_RATIO.finditer(prose)
    ]


def test_the_typed_ratio_pattern_catches_claims_and_spares_products() -> None:
    claims = [
        "5.6× faster than kornia",
        "measured 2.4–3.6× faster",
        "fwd+bwd 1.12x kornia, 6.5x MONAI",
        "is 3x as fast",
        "30 % less memory",
        "a speed-up of 2.5x",
        "faster by about 3x",
        "1.5x the peak memory",
        "takes 12.3 ms",
        "copies at 8.4 GB/s",
        "1.2x lighter than torchvision",
    ]
    assert [c for c in claims if not _typed_ratios(c)] == []
    not_claims = [
        "7 scales × 7 aspect ratios",
        "repeats disagree by more than 2x, or whose forward + backward was faster than its forward",
        "repeats disagree by more than 2x or whose forward + backward is faster",
        "proxies at 100x the learning rate",
        "The DIoU paper reports ≈ 1000× lower final error than GIoU",
        "DIoU and CIoU fall to ≈ $4 \\times 10^3$",
        "an all-reduce of the `G × 2D` gradient",
        "one 2×4 image, a 3 x 7 bar",
        "for 4 % more pinball loss",
        "a ratio <!-- losskit:ratio classification | c | torch | fwdbwd --> faster",
        "```\npython -m benchmarks.bench_llm  # 2.5x faster\n```",
    ]
    assert [c for c in not_claims if _typed_ratios(c)] == []


def _rendered_docstring_files() -> list[Path]:
    """Source files of every object the API reference renders (``::: losskit...`` directives)."""
    files: set[Path] = set()
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), flags=re.MULTILINE):
            parts = target.split(".")
            for i in range(len(parts), 0, -1):  # the longest prefix that is a module of src/
                base = ROOT.joinpath("src", *parts[:i])
                found = [f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()]
                if found:
                    files.add(found[0])
                    break
    return sorted(files)


def test_no_page_types_a_speed_or_memory_ratio_by_hand() -> None:
    """Benchmark numbers in prose come from docs/assets/bench/*.json (``<!-- losskit:ratio -->``) or not at all."""
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}
    for name in ("README.md", "benchmarks/README.md", "CONTRIBUTING.md"):
        texts[name] = (ROOT / name).read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    texts["CHANGELOG.md [Unreleased]"] = changelog.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    docstring_files = _rendered_docstring_files()
    assert ROOT / "src/losskit/functional/boxes.py" in docstring_files  # the directives were read
    for f in docstring_files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    texts[f"{f.relative_to(ROOT)}:{node.lineno}"] = node.value.value
    found = {name: hits for name, text in texts.items() if (hits := _typed_ratios(text))}
    assert not found, (
        "speed / memory numbers typed by hand (quote benchmark JSON with <!-- losskit:ratio ... --> "
        f"or say it without a number): {found}"
    )


def test_shared_argument_texts_are_expanded_on_the_site(site: Path) -> None:
    """griffe reads docstrings from source, placeholders included; docs/griffe_rst.py expands them."""
    pages = _pages(site)
    placeholder = re.compile(r"\{(?:" + "|".join(ARGS) + r")\}")
    for page, text in pages.items():
        assert not placeholder.search(text), f"{page}: placeholder {placeholder.search(text)} left"
    text = "\n".join(pages.values())
    checked, missing = 0, []
    for name in losskit.functional.__all__:
        obj = getattr(losskit.functional, name)
        keys = re.findall(r"^\s*\w+: \{(\w+)\}\s*$", inspect.getsource(obj), flags=re.MULTILINE)
        if not keys:
            continue
        anchor = f'id="{obj.__module__}.{obj.__qualname__}"'
        start = text.index(anchor)
        end = text.find('class="doc doc-heading"', text.index(">", start))
        section = html.unescape(re.sub(r"<[^>]+>", "", text[start : end if end > 0 else None]))
        section = " ".join(section.split())
        for key in keys:
            checked += 1
            if " ".join(ARGS[key].replace("``", "").split()) not in section:
                missing.append(f"{name}: {{{key}}}")
    assert checked > 200 and not missing, f"shared texts not rendered ({checked} checked): {missing}"
