"""Griffe extension: turn the reST-flavoured bits of losskit's docstrings into Markdown for mkdocstrings.

losskit's docstrings are Google style (sections ``Args:``, ``Returns:`` ...) but write math and
cross-references the Sphinx way, which reads well in ``help()`` and in an editor. Before griffe parses a
docstring this extension rewrites, in place:

* shared-argument placeholders (``reduction: {reduction}``) into the text of ``losskit._core.docs.ARGS``,
  as ``import losskit`` does for ``help()`` (griffe reads docstrings from source, before that expansion);
* ``.. math::`` blocks into ``$$ ... $$`` display math, and ``:math:`x``` into ``$x$`` (rendered by
  pymdownx.arithmatex + MathJax);
* ``:func:`name```, ``:class:``, ``:meth:``, ``:attr:`` into mkdocstrings cross-references when the target
  is documented on the site, and into inline code otherwise (so ``mkdocs build --strict`` never meets an
  unresolvable reference); ``:mod:`name``` into inline code;
* the reST literal-block marker ``::`` at the end of a paragraph into ``:``, and a top-level
  ``Example:`` section into ``Examples:`` (the section griffe splits into text and doctest code blocks);
* Args entries that document several parameters at once (``input, target, weight: as in ...``) into one
  entry per parameter, so each appears in the parameter table with its type.

Documented targets are the public names (``__all__``) of the modules listed in the extension option
``documented`` (see mkdocs.yml), and the objects listed there by their full path. A name is resolved by
importing it, relative to the docstring's module first, then to its package, and linked under its canonical
``module.qualname`` path, which is the anchor mkdocstrings gives it.
Plain docstring text is never changed otherwise, so ``help()`` and the site say the same thing.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import griffe

_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_XREF_ROLE = re.compile(r":(func|class|meth|attr|obj|data|exc|mod):`(~?)([^`]+)`")
_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*$")
_SECTION = re.compile(
    r"^(\s*)(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters):\s*$"
)
_MULTI_ARG = re.compile(r"^(\s*)([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)+)\s*:(\s.*|)$")


def _load_shared_args() -> ModuleType:
    """``losskit._core.docs`` of the source tree griffe reads (``paths: [src]``), not of an installed copy."""
    path = Path(__file__).resolve().parents[1] / "src" / "losskit" / "_core" / "docs.py"
    spec = importlib.util.spec_from_file_location("_losskit_shared_args", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SHARED_ARGS = _load_shared_args()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def convert_math_blocks(lines: list[str]) -> list[str]:
    """``.. math::`` followed by an indented body becomes ``$$``, the body, ``$$`` at the same indent."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        base = len(m.group(1))
        i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():  # trailing blank lines belong to the text after the block
            body.pop()
            i -= 1
        while body and not body[0].strip():
            body.pop(0)
        strip = min((_indent(b) for b in body if b.strip()), default=0)
        pad = " " * base
        if out and out[-1].strip():
            out.append("")
        out.append(pad + "$$")
        out.extend(pad + b[strip:] if b.strip() else "" for b in body)
        out.append(pad + "$$")
    return out


def split_multi_args(lines: list[str]) -> list[str]:
    """Repeat an Args entry written for ``a, b, c`` once per name (with its continuation lines)."""
    out: list[str] = []
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        sec = _SECTION.match(line)
        if sec:
            section_indent = len(sec.group(1))
            out.append(line)
            i += 1
            continue
        if section_indent is not None and line.strip() and _indent(line) <= section_indent:
            section_indent = None
        if section_indent is not None and _indent(line) > section_indent and line.rstrip().endswith(","):
            # a list of names wrapped over several lines: "a, b, c,\n        d: as in ..."
            j = i + 1
            while (
                j < len(lines) and ":" not in line and lines[j].strip() and _indent(lines[j]) > _indent(line)
            ):
                line = line.rstrip() + " " + lines[j].strip()
                j += 1
            if ":" in line:
                lines = [*lines[:i], line, *lines[j:]]
        m = _MULTI_ARG.match(line) if section_indent is not None else None
        if m and _indent(line) > section_indent:  # type: ignore[operator]
            item_indent = len(m.group(1))
            cont: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() and _indent(lines[j]) > item_indent:
                cont.append(lines[j])
                j += 1
            for name in (n.strip() for n in m.group(2).split(",")):
                out.append(f"{m.group(1)}{name}:{m.group(3)}")
                out.extend(cont)
            i = j
            continue
        out.append(line)
        i += 1
    return out


class RstToMarkdown(griffe.Extension):
    """Expand shared Args texts; rewrite reST math, roles and multi-name Args entries before parsing."""

    def __init__(self, documented: list[str] | None = None) -> None:
        super().__init__()
        self.documented = set(documented or [])
        self._public: dict[str, set[str]] = {}

    # -- cross-references ---------------------------------------------------------------------------
    def _public_names(self, module: str) -> set[str]:
        if module not in self._public:
            try:
                mod = importlib.import_module(module)
                self._public[module] = set(getattr(mod, "__all__", ()))
            except Exception:
                self._public[module] = set()
        return self._public[module]

    def _resolve(self, target: str, context_module: str) -> str | None:
        """Canonical ``module.qualname`` of ``target`` if it is documented on the site, else None."""
        candidates = [(context_module, target)]
        if "." in context_module:  # then the enclosing package (a sibling sub-module's re-exported name)
            candidates.append((context_module.rsplit(".", 1)[0], target))
        parts = target.split(".")
        for k in range(len(parts) - 1, 0, -1):
            candidates.append((".".join(parts[:k]), ".".join(parts[k:])))
        for module, attr_path in candidates:
            try:
                obj: Any = importlib.import_module(module)
                for a in attr_path.split("."):
                    obj = getattr(obj, a)
            except Exception:
                continue
            owner = getattr(obj, "__module__", None)
            qualname = getattr(obj, "__qualname__", None)
            if owner is None and isinstance(getattr(obj, "fget", None), object):  # properties
                fget = getattr(obj, "fget", None)
                owner, qualname = getattr(fget, "__module__", None), getattr(fget, "__qualname__", None)
            if not owner or not qualname or "<" in qualname:
                return None
            path = f"{owner}.{qualname}"
            if path in self.documented or (
                owner in self.documented and qualname.split(".")[0] in self._public_names(owner)
            ):
                return path
            return None
        return None

    def _roles(self, text: str, context_module: str) -> str:
        def role(m: re.Match[str]) -> str:
            kind, tilde, target = m.group(1), m.group(2), m.group(3).strip()
            shown = target.rsplit(".", 1)[-1] if tilde else target
            if kind in ("func", "meth"):
                shown += "()"
            if kind == "mod":
                return f"`{shown}`"
            path = self._resolve(target, context_module)
            return f"[`{shown}`][{path}]" if path else f"`{shown}`"

        return _XREF_ROLE.sub(role, text)

    # -- the hook ---------------------------------------------------------------------------------
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring (called for every module, class, function and attribute)."""
        if obj.docstring is None:
            return
        text = _SHARED_ARGS.expand(obj.docstring.value, obj.path)
        lines = convert_math_blocks(text.splitlines())
        lines = split_multi_args(lines)
        text = "\n".join(lines)
        text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
        module = obj.path if obj.is_module else obj.module.path
        text = self._roles(text, module)
        text = re.sub(r"(?<=\S)::[ \t]*$", ":", text, flags=re.MULTILINE)
        # griffe knows "Examples:" (doctest lines become code blocks); "Example:" would be an admonition
        text = re.sub(r"^Example:[ \t]*$", "Examples:", text, flags=re.MULTILINE)
        obj.docstring.value = text
