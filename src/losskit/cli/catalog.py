"""`losskit list`: every loss with its family, a one-line description, its paper and its Module."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from losskit import registry


@dataclass
class Row:
    """One catalogue entry."""

    name: str
    family: str
    summary: str
    paper: str
    module: str
    function: str


def plain(text: str) -> str:
    """Strip reST roles and the simplest LaTeX from a docstring line for a terminal."""
    text = re.sub(r":\w+:`([^`]*)`", r"\1", text)
    text = re.sub(r"\\(?:mathrm|operatorname|text)\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\\frac\{([^}]*)\}\{([^}]*)\}", r"(\1)/(\2)", text)
    for tex, uni in ((r"\alpha", "α"), (r"\lambda", "λ"), (r"\gamma", "γ"), (r"\rho", "ρ"), (r"\sum_k", "Σ"),
                     (r"\log", "log"), (r"\ln", "ln"), (r"\setminus", "∖"), (r"\cup", "∪"), (r"\,", " ")):
        text = text.replace(tex, uni)
    return text.replace("*", "").replace("``", "")


def _paper(doc: str) -> str:
    match = re.search(r"References:\s*\n(.*?)(?:\n\s*\n|\Z)", doc, re.S)
    if not match:
        return "—"
    text = " ".join(line.strip() for line in match.group(1).splitlines())
    first = re.split(r"(?<=\))\.\s|(?<=\d{4})\.\s", text)[0].strip().rstrip(".")
    first = plain(first)
    return first[:90] + ("…" if len(first) > 90 else "")


def rows() -> list[Row]:
    """The catalogue, sorted by family then name."""
    out = []
    for name in registry.available():
        cls = registry.canonical_class(name)
        fn = cls.function  # type: ignore[attr-defined]
        doc = inspect.getdoc(fn) or ""
        summary = plain(doc.split("\n", 1)[0].rstrip("."))
        family = fn.__module__.rsplit(".", 1)[-1]
        out.append(Row(name, family, summary, _paper(doc), cls.__name__, fn.__name__))
    return sorted(out, key=lambda r: (r.family, r.name))


def render(width: int = 140) -> str:
    """Plain-text table of :func:`rows`."""
    data = rows()
    head = ("name", "family", "module", "description", "paper")
    table = [head] + [(r.name, r.family, r.module, r.summary, r.paper) for r in data]
    w = [max(len(t[i]) for t in table) for i in range(3)]
    lines = []
    for t in table:
        left = "  ".join(c.ljust(w[i]) for i, c in enumerate(t[:3]))
        lines.append(f"{left}  {t[3]}")
        if t is not head and t[4] != "—":
            lines.append(" " * (len(left) + 2) + f"↳ {t[4]}")
    lines.insert(1, "-" * min(width, max(len(x) for x in lines)))
    return "\n".join(lines)
