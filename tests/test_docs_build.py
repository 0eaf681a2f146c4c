"""The docs site builds with ``mkdocs build --strict`` and documents every public function.

The strict build fails on any warning: a broken link or anchor, an unresolved cross-reference, a
docstring griffe cannot parse (e.g. an Args entry without ``name: description``), an unknown hook marker.
The build does not draw the plots (scripts/gen_docs_assets.py does, in ``make docs``): pages build with
or without them. The docs toolchain (docs/requirements.txt) is part of the test extras; a missing mkdocs
is a failure, not a skip.
"""

from __future__ import annotations

import importlib.util
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
