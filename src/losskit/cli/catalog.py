"""`losskit list`: every loss with its family, a one-line description, its paper and its Module."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

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
    aliases: tuple[str, ...] = ()


_TEX = {
    r"\alpha": "α",
    r"\beta": "β",
    r"\gamma": "γ",
    r"\delta": "δ",
    r"\epsilon": "ε",
    r"\varepsilon": "ε",
    r"\lambda": "λ",
    r"\rho": "ρ",
    r"\tau": "τ",
    r"\sigma": "σ",
    r"\mu": "μ",
    r"\theta": "θ",
    r"\pi": "π",
    r"\phi": "φ",
    r"\omega": "ω",
    r"\Delta": "Δ",
    r"\ell": "ℓ",
    r"\sum": "Σ",
    r"\prod": "Π",
    r"\log": "log",
    r"\ln": "ln",
    r"\exp": "exp",
    r"\max": "max",
    r"\min": "min",
    r"\arctan": "arctan",
    r"\cdot": "·",
    r"\times": "×",
    r"\le": "≤",
    r"\leq": "≤",
    r"\ge": "≥",
    r"\geq": "≥",
    r"\ne": "≠",
    r"\neq": "≠",
    r"\approx": "≈",
    r"\in": "∈",
    r"\infty": "∞",
    r"\setminus": "∖",
    r"\cup": "∪",
    r"\cap": "∩",
    r"\left": "",
    r"\right": "",
    r"\|": "‖",
    r"\lvert": "|",
    r"\lVert": "‖",
    r"\rVert": "‖",
    r"\rvert": "|",
    r"\top": "ᵀ",
    r"\to": "→",
    r"\cos": "cos",
    r"\mathbb{1}": "1",
    r"\qquad": "   ",
    r"\quad": "  ",
    r"\,": " ",
    r"\;": " ",
    r"\!": "",
    r"\big": "",
    r"\Big": "",
    r"\bigl": "",
    r"\bigr": "",
    r"\begin{cases}": "{ ",
    r"\end{cases}": " }",
    r"\\": "; ",
    r"\hat y": "ŷ",
    r"\hat{y}": "ŷ",
    r"\mid": "|",
    r"\rightarrow": "→",
    r"\leftarrow": "←",
    r"\Rightarrow": "⇒",
    r"\mapsto": "↦",
    r"\sqrt": "√",
    r"\partial": "∂",
    r"\nabla": "∇",
    r"\odot": "⊙",
    r"\Gamma": "Γ",
    r"\Lambda": "Λ",
    r"\Omega": "Ω",
    r"\Phi": "Φ",
    r"\varphi": "φ",
    r"\eta": "η",
    r"\kappa": "κ",
    r"\nu": "ν",
    r"\zeta": "ζ",
    r"\xi": "ξ",
    r"\psi": "ψ",
    r"\chi": "χ",
    r"\Sigma": "Σ",
    r"\arcsin": "arcsin",
    r"\sin": "sin",
    r"\cosh": "cosh",
    r"\tanh": "tanh",
    r"\dagger": "†",
    r"\dots": "…",
    r"\ldots": "…",
    r"\cdots": "⋯",
    r"\gg": "≫",
    r"\ll": "≪",
    r"\lesssim": "≲",
    r"\pm": "±",
    r"\lfloor": "⌊",
    r"\rfloor": "⌋",
    r"\lceil": "⌈",
    r"\rceil": "⌉",
    r"\Bigl": "",
    r"\Bigr": "",
    r"\mathbb": "",
    r"\mathcal": "",
    r"\underbrace": "",
}
_TEX_ORDER = sorted(_TEX, key=len, reverse=True)  # longest first: \left before \le, \infty before \in


def _group(text: str, i: int) -> tuple[str, int]:
    """The balanced ``{...}`` group starting at ``text[i]`` (or the single character there) and its end."""
    if i >= len(text) or text[i] != "{":
        return (text[i : i + 1], i + 1)
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j], j + 1
    return text[i + 1 :], len(text)


def _fracs(text: str) -> str:
    r"""``\frac{a}{b}`` → ``(a)/(b)``, nested fractions included."""
    while (i := text.find("\\frac")) >= 0:
        j = i + len("\\frac")
        while j < len(text) and text[j] == " ":
            j += 1
        num, j = _group(text, j)
        while j < len(text) and text[j] == " ":
            j += 1
        den, j = _group(text, j)
        text = f"{text[:i]}{_paren(_fracs(num))}/{_paren(_fracs(den))}{text[j:]}"
    return text


def _paren(term: str) -> str:
    """A fraction's numerator or denominator, in parentheses unless it is one token (``1/N``, ``a/|C|``)."""
    return term.strip() if re.fullmatch(r"\s*(\w+|\|\w+\|)\s*", term) else f"({term})"


def plain(text: str) -> str:
    """Strip reST roles and LaTeX from a docstring line for a terminal (formulas become plain text)."""
    text = re.sub(r":\w+:`([^`]*)`", r"\1", text)
    wrappers = "mathrm|operatorname|text|texttt|mathbf|mathcal|boldsymbol|bar|tilde"
    text = re.sub(rf"\\(?:{wrappers})\{{([^}}]*)\}}", r"\1", text)
    text = _fracs(text.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac"))
    for tex in _TEX_ORDER:
        text = text.replace(tex, _TEX[tex])
    text = re.sub(r"\\hat\{?(\w)\}?", lambda m: m.group(1) + "\u0302", text)
    text = re.sub(r"\\bar\{?(\w)\}?", lambda m: m.group(1) + "\u0304", text)
    text = text.replace("&", "if" if "{ " in text else "&")
    text = _scripts(text).replace("\\", "")
    return re.sub(r"(?<=\S)  +(?=\S)", " ", text.replace("*", "").replace("``", ""))


def _scripts(text: str) -> str:
    """``x_{ij}`` → ``x_ij`` and ``e^{-y f}`` → ``e^(-y f)``: one-token groups lose their braces."""
    out, i = [], 0
    while i < len(text):
        if text[i] in "_^" and text[i + 1 : i + 2] == "{":
            group, j = _group(text, i + 1)
            group = _scripts(group)
            out.append(text[i] + (group if re.fullmatch(r"[\w'′.]+", group) else f"({group})"))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


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
        out.append(
            Row(
                name,
                registry.family(name),
                summary,
                _paper(doc),
                cls.__name__,
                fn.__name__,
                registry.aliases(name),
            )
        )
    return sorted(out, key=lambda r: (r.family, r.name))


def render(width: int = 140) -> str:
    """Plain-text table of :func:`rows`."""
    data = rows()
    head = ("name (aliases)", "family", "module", "description", "paper")
    table = [head] + [
        (r.name + (f" ({', '.join(r.aliases)})" if r.aliases else ""), r.family, r.module, r.summary, r.paper)
        for r in data
    ]
    w = [max(len(t[i]) for t in table) for i in range(3)]
    lines = []
    for t in table:
        left = "  ".join(c.ljust(w[i]) for i, c in enumerate(t[:3]))
        lines.append(f"{left}  {t[3]}")
        if t is not head and t[4] != "—":
            lines.append(" " * (len(left) + 2) + f"↳ {t[4]}")
    lines.insert(1, "-" * min(width, max(len(x) for x in lines)))
    return "\n".join(lines)


# a peer is another library's loss or op; torch's own peers live in torch.nn and torch.distributions
# (``torch.distributed`` and ``torch.compile`` in a docstring are infrastructure, not peers)
_PEER_PREFIXES = (
    "torch.nn.",
    "torch.distributions.",
    "torchvision.",
    "kornia.",
    "monai.",
    "segmentation_models_pytorch.",
    "smp.",
    "pytorch_metric_learning.",
    "sklearn.",
    "mmdet.",
)


def _section(doc: str, title: str) -> str:
    match = re.search(rf"^{title}:\s*\n((?:[ \t]+.*\n?|\s*\n)*)", doc, re.M)
    return match.group(1) if match else ""


def formula(doc: str) -> str:
    """The docstring's first ``.. math::`` block (else its summary's inline formula) as plain text."""
    match = re.search(r"\.\. math::\s*\n((?:[ \t]+.*\n?)+)", doc)
    if match:
        tex = " ".join(line.strip() for line in match.group(1).splitlines() if line.strip())
    else:  # no display block: the summary line's inline formula (``Brier score :math:`\sum_k ...```)
        inline = re.search(r":math:`([^`]+)`", doc.split("\n\n", 1)[0])
        if not inline:
            return ""
        tex = inline.group(1)
    text = plain(tex)
    return re.sub(r"\s+", " ", text.replace("{ ", "{").replace(" }", "}")).strip()


def _args(fn: Any) -> dict[str, str]:
    """``fn``'s Args entries, raw: ``{name: description}``.

    One entry may name several arguments, the names may wrap onto the next (deeper indented) line, and so
    may the start of the description.
    """
    out = {}
    args_text = _section(inspect.getdoc(fn) or "", "Args")
    for m in re.finditer(r"^    (\w+(?:,\s+\w+)*):[ \t]*\n?[ \t]*(.*(?:\n        .*)*)", args_text, re.M):
        for k in re.split(r",\s+", m.group(1)):
            out[k] = " ".join(m.group(2).split())
    return out


def _option_doc(fn: Any, name: str) -> str:
    """The plain-text description of option ``name`` of ``fn``.

    An "as in :func:`other`" entry is followed to ``other``'s own description of the option (a few links
    at most), keeping the chain and the notes the referring docstrings add:
    ``"<other's text> (as in tversky_loss → dice_loss)"``.
    """
    import losskit.functional

    chain: list[str] = []
    notes: list[str] = []
    raw = _args(fn).get(name, "")
    while len(chain) < 4:
        ref = re.match(r"as in :func:`~?(?:losskit\.(?:functional\.)?)?(\w+)`\.?\s*", raw)
        other = getattr(losskit.functional, ref.group(1), None) if ref else None
        target = _args(other).get(name, "") if ref and callable(other) else ""
        if not (ref and target):
            break
        chain.append(ref.group(1))
        rest = raw[ref.end() :].strip().removesuffix(".")
        if rest:
            notes.append(plain(rest[1:-1] if rest.startswith("(") and rest.endswith(")") else rest))
        raw = target
    text = plain(raw)
    if chain:
        text += f" (as in {' → '.join(chain)}{''.join('; ' + n for n in notes)})"
    return text


def info(name: str) -> dict[str, Any]:
    """Everything ``losskit info NAME`` prints, as a dict (``--json`` prints it as is)."""
    cls = registry.resolve(name, "info")
    canonical = registry.canonical_name(cls)
    fn = cls.function  # type: ignore[attr-defined]
    doc = inspect.getdoc(fn) or ""
    options = {}
    for k, p in inspect.signature(fn).parameters.items():
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            options[k] = None if p.default is inspect.Parameter.empty else p.default
    described = {k: _option_doc(fn, k) for k in options}
    peers = sorted({p for p in re.findall(r"``([\w.]+)``", doc) if p.startswith(_PEER_PREFIXES)})
    refs = " ".join(line.strip() for line in _section(doc, "References").splitlines() if line.strip())
    return {
        "name": canonical,
        "aliases": list(registry.aliases(canonical)),
        "function": f"losskit.{fn.__name__}",
        "module": f"losskit.{cls.__name__}",
        "family": registry.family(canonical),
        "summary": plain(doc.split("\n", 1)[0]),
        "formula": formula(doc),
        "options": {k: {"default": repr(v), "doc": described.get(k, "")} for k, v in options.items()},
        "paper": plain(refs) or "—",
        "peers": peers,
    }


def render_info(data: dict[str, Any]) -> str:
    """Plain text of :func:`info`."""
    lines = [
        f"{data['name']}" + (f"  (aliases: {', '.join(data['aliases'])})" if data["aliases"] else ""),
        f"  {data['summary']}",
        "",
        f"  function: {data['function']}(input, target, *, options)",
        f"  module:   {data['module']}(**options)   family: {data['family']}",
        "",
    ]
    if data["formula"]:
        lines += ["formula:", f"  {data['formula']}", ""]
    lines.append("options (default):")
    width = max((len(k) + len(v["default"]) for k, v in data["options"].items()), default=0) + 3
    for k, v in data["options"].items():
        head = f"{k}={v['default']}"
        lines.append(f"  {head.ljust(width)} {v['doc']}".rstrip())
    lines += ["", f"paper: {data['paper']}"]
    lines.append("peers named in the docstring: " + (", ".join(data["peers"]) or "none"))
    lines.append("peer-mapping tables: the documentation site (make docs), one page per family")
    return "\n".join(lines)
