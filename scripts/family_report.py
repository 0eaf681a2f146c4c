"""Lines of code per loss family at a git revision, and the files touched to add one loss.

    python scripts/family_report.py [--rev REV] [--no-history]

Everything is read from git (``git ls-tree`` / ``git show REV:path``), never from the working tree or an
import, so it works on old commits whose layout differed (e.g. ``--rev 02c527d``, the last commit with
``functional/classification.py`` as one file).

Attribution rule (printed with the report):

1. an ``nn/*.py`` file belongs to the family of every Module it registers (``@register(...,
   family="F")``; registrations without ``family=``, from before it existed, take the nn file's stem);
2. a public ``functional`` file belongs to the families of the registered Modules whose class body names a
   function defined at the top level of that file (``function = staticmethod(F.name)``, or a call in a
   custom ``forward``);
3. a helper file (``kernels/*.py``, ``functional/_*.py``) belongs to the families of the files of rules 2
   and 3 that import it;
4. a file that ends up with one family is that family's own; a file with several is listed once under
   "shared" with the families named, and counted in none of them. ``_core/``, ``registry.py``,
   ``distributed.py``, ``cli/``, ``lab/`` and the ``__init__.py`` re-export files are infrastructure: not
   attributed.

"lines" is the file's line count (``wc -l``); "code" leaves out blank lines, comment-only lines and
docstrings (module, class and function docstrings and any other bare string statement).

The second part reads ``git log`` for the commit that added ``def varifocal_loss`` and lists the files
whose diff in that commit adds a line mentioning varifocal (with the number of such hunks, "touches"),
then the files of the "Adding a loss" checklist of CONTRIBUTING.md at HEAD, with ``<family>`` replaced
by ``classification`` and each path checked against HEAD.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from collections import defaultdict
from collections.abc import Iterable

PKG = "src/losskit"
TEMPLATE = "varifocal_loss"
TEMPLATE_FAMILY = "classification"


def git(*args: str) -> str:
    """The stdout of a git command run in the current repository (raises on failure)."""
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def show(rev: str, path: str) -> str:
    """The text of ``path`` at ``rev``."""
    return git("show", f"{rev}:{path}")


# --------------------------------------------------------------------------------------------------
# line counts


def code_lines(source: str) -> int:
    """Lines holding a token other than a comment, outside docstrings and bare string statements."""
    doc: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            doc.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip or tok.type == tokenize.ENDMARKER:
            continue
        lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - doc)


def line_count(source: str) -> int:
    """What ``wc -l`` says, counting a last line without its newline too."""
    return source.count("\n") + (0 if source.endswith("\n") or not source else 1)


# --------------------------------------------------------------------------------------------------
# attribution


def is_helper(path: str) -> bool:
    """``kernels/*.py`` and ``functional/_*.py``: attributed through the files that import them."""
    name = path.rsplit("/", 1)[-1]
    if name == "__init__.py":
        return False
    return path.startswith(f"{PKG}/kernels/") or (
        path.startswith(f"{PKG}/functional/") and name.startswith("_")
    )


def is_public_functional(path: str) -> bool:
    """A ``functional`` file that is not a helper (``__init__.py`` re-export files included)."""
    return path.startswith(f"{PKG}/functional/") and not is_helper(path)


def module_of(path: str) -> str:
    """``src/losskit/functional/_common.py`` -> ``losskit.functional._common`` (packages without __init__)."""
    mod = path[len("src/") : -len(".py")].replace("/", ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def imported_modules(tree: ast.Module, this_module: str, is_package: bool) -> set[str]:
    """Every module an import of the file may name (``from a import b``: both ``a`` and ``a.b``)."""
    out: set[str] = set()
    package = this_module if is_package else this_module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def registrations(tree: ast.Module, stem: str) -> list[tuple[str, str, set[str]]]:
    """``(class name, family, names used in the class body)`` for each ``@register(...)`` class."""
    out = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "register"):
                continue
            family = stem
            for kw in dec.keywords:
                if kw.arg == "family" and isinstance(kw.value, ast.Constant):
                    family = str(kw.value.value)
            used: set[str] = set()
            for sub in ast.walk(node):
                if isinstance(sub, ast.Attribute):
                    used.add(sub.attr)
                elif isinstance(sub, ast.Name):
                    used.add(sub.id)
            out.append((node.name, family, used))
    return out


def attribute(rev: str) -> tuple[dict[str, set[str]], dict[str, str], dict[str, list[str]]]:
    """``{path: families}``, ``{path: source}`` and ``{family: registered Modules}`` at ``rev``."""
    paths = [
        p
        for p in git("ls-tree", "-r", "--name-only", rev, "--", PKG).split()
        if p.endswith(".py") and p.split("/")[2] in ("functional", "nn", "kernels")
    ]
    source = {p: show(rev, p) for p in paths}
    trees = {p: ast.parse(s) for p, s in source.items()}
    families: dict[str, set[str]] = defaultdict(set)
    modules: dict[str, list[str]] = defaultdict(list)

    defined_in: dict[str, str] = {}  # public function name -> functional file defining it
    for p in paths:
        if is_public_functional(p):
            for node in trees[p].body:
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    defined_in.setdefault(node.name, p)

    for p in paths:  # rules 1 and 2
        if not p.startswith(f"{PKG}/nn/") or p.endswith("/__init__.py"):
            continue
        for cls, fam, used in registrations(trees[p], p.rsplit("/", 1)[-1][:-3]):
            families[p].add(fam)
            modules[fam].append(cls)
            for name in used:
                if name in defined_in:
                    families[defined_in[name]].add(fam)

    by_module = {module_of(p): p for p in paths}
    imports = {
        p: {
            by_module[m]
            for m in imported_modules(trees[p], module_of(p), p.endswith("/__init__.py"))
            if m in by_module and is_helper(by_module[m])
        }
        for p in paths
    }
    changed = True
    while changed:  # rule 3, to a fixed point (helpers importing helpers)
        changed = False
        for p in paths:
            if not families.get(p) or p.startswith(f"{PKG}/nn/"):
                continue
            for h in imports[p]:
                if not families[p] <= families[h]:
                    families[h] |= families[p]
                    changed = True
    return {p: set(f) for p, f in families.items() if f}, source, modules


def family_report(rev: str, out: list[str]) -> None:
    """Append the per-family line counts at ``rev`` to ``out``."""
    commit = git("rev-parse", "--short", rev).strip()
    subject = git("log", "-1", "--format=%s", rev).strip()
    fams, source, modules = attribute(rev)
    out.append(f'== Lines per loss family at {rev} = {commit} "{subject[:72]}"')
    out.append("")
    out += [
        "Attribution rule: nn/*.py -> the family= of the Modules it registers; a public functional",
        "file -> the families of the registered Modules whose class body names a function it defines;",
        "a helper (kernels/*.py, functional/_*.py) -> the families of the attributed files importing",
        "it; a file with one family is counted there, one with several is listed once under 'shared'.",
        "lines = wc -l; code = without blank lines, comments and docstrings.",
    ]
    out.append("")
    own: dict[str, list[str]] = defaultdict(list)
    shared: list[str] = []
    for p, f in sorted(fams.items()):
        (own[next(iter(f))] if len(f) == 1 else shared).append(p)

    def rows(paths: Iterable[str]) -> list[tuple[str, int, int]]:
        return [(p[len(PKG) + 1 :], line_count(source[p]), code_lines(source[p])) for p in paths]

    summary = []
    width = 46
    for fam in sorted(own, key=lambda f: -sum(line_count(source[p]) for p in own[f])):
        r = rows(own[fam])
        tl, tc = sum(x[1] for x in r), sum(x[2] for x in r)
        summary.append((fam, len(modules.get(fam, [])), len(r), tl, tc))
        out.append(f"{fam}: {len(modules.get(fam, []))} Modules, {len(r)} files, {tl} lines, {tc} code")
        out.extend(f"    {path:<{width}} {n:>6} {c:>6}" for path, n, c in r)
    for fam in sorted(set(modules) - set(own)):
        summary.append((fam, len(modules[fam]), 0, 0, 0))
        out.append(f"{fam}: {len(modules[fam])} Modules, no file of its own (see shared)")
    r = rows(shared)
    out.append(f"shared: {len(r)} files, {sum(x[1] for x in r)} lines, {sum(x[2] for x in r)} code")
    for (path, n, c), p in zip(r, shared, strict=True):
        out.append(f"    {path:<{width}} {n:>6} {c:>6}  ({', '.join(sorted(fams[p]))})")
    rest = sorted(set(source) - set(fams))
    r = rows(rest)
    out.append(f"not attributed: {len(r)} files, {sum(x[1] for x in r)} lines, {sum(x[2] for x in r)} code")
    out.extend(f"    {path:<{width}} {n:>6} {c:>6}" for path, n, c in r)
    out.append("")
    out.append(f"{'family':<16} {'Modules':>7} {'files':>5} {'lines':>6} {'code':>6} {'lines/Module':>12}")
    for fam, nm, nf, tl, tc in summary:
        per = f"{tl / nm:.0f}" if nm else "-"
        out.append(f"{fam:<16} {nm:>7} {nf:>5} {tl:>6} {tc:>6} {per:>12}")
    total_l = sum(line_count(source[p]) for p in fams)
    total_c = sum(code_lines(source[p]) for p in fams)
    n_modules = sum(len(v) for v in modules.values())
    out.append(f"{'attributed':<16} {n_modules:>7} {len(fams):>5} {total_l:>6} {total_c:>6}")
    out.append("")


# --------------------------------------------------------------------------------------------------
# files touched to add one loss


def touches(commit: str, pattern: re.Pattern[str]) -> dict[str, int]:
    """Per file of ``commit``'s diff: the hunks that add a line matching ``pattern``."""
    diff = git("show", "--format=", "--unified=0", "--no-renames", commit)
    out: dict[str, int] = {}
    path, counted = None, False
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("@@"):
            counted = False
        elif path and line.startswith("+") and not counted and pattern.search(line):
            out[path] = out.get(path, 0) + 1
            counted = True
    return out


def checklist(text: str) -> list[tuple[str, str, str]]:
    """``(number, file, touches)`` rows of the "Adding a loss" table of CONTRIBUTING.md."""
    start = text.find("## Adding a loss")
    if start < 0:
        return []
    section = text[start:].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.append((cells[0], cells[1].strip("`"), cells[2]))
    return rows


def history_report(out: list[str]) -> None:
    """Append the files touched to add ``varifocal_loss`` then, and those the checklist names now."""
    added = git("log", "--reverse", "--format=%h %ad %s", "--date=short", "-S", f"def {TEMPLATE}", "HEAD")
    out.append(f"== Files touched to add one loss ({TEMPLATE})")
    out.append("")
    lines = added.splitlines()
    if not lines:
        out.append(f"no commit in HEAD's history defines {TEMPLATE}")
        return
    first = lines[0].split()[0]
    out.append("commits that add or remove 'def varifocal_loss' (git log -S):")
    out.extend(f"    {ln[:100]}" for ln in lines)
    n_files = len(git("show", "--format=", "--name-only", first).split())
    pattern = re.compile("varifocal", re.IGNORECASE)
    t = touches(first, pattern)
    out.append("")
    out.append(
        f"before: {first} (a commit of {n_files} files) added lines mentioning varifocal to {len(t)} "
        f"files, {sum(t.values())} hunks:"
    )
    out.extend(f"    {p:<52} {n:>3} hunk(s)" for p, n in sorted(t.items()))
    out.append("")
    later = git("log", "--reverse", "--format=%h", "-G", "[Vv]arifocal", f"{first}..HEAD").split()
    seen = set(t)
    out.append("later commits that first added a varifocal line to a file (battery, docs, plot, ...):")
    for c in later:
        new = sorted(set(touches(c, pattern)) - seen)
        if new:
            seen.update(new)
            subject = git("log", "-1", "--format=%ad %s", "--date=short", c).strip()
            out.append(f"    {c} {subject[:88]}")
            out.extend(f"        {p}" for p in new)
    at_head = git("grep", "-il", "varifocal", "HEAD").split()
    out.append(
        f"in all {len(seen)} files got a varifocal line; {len(at_head)} files mention it at HEAD "
        "(git grep -il varifocal HEAD, prose mentions included)."
    )
    out.append("")
    head_files = set(git("ls-tree", "-r", "--name-only", "HEAD").split())
    defined = sorted(
        p
        for p in head_files
        if p.startswith(f"{PKG}/functional/")
        and p.endswith(".py")
        and re.search(rf"^def {TEMPLATE}\b", show("HEAD", p), re.MULTILINE)
    )
    page = sorted(
        p
        for p in head_files
        if p.startswith("docs/")
        and p.endswith(".md")
        and f"losskit:modules {TEMPLATE_FAMILY}" in show("HEAD", p)
    )
    rows = checklist(show("HEAD", "CONTRIBUTING.md"))
    out.append(
        f"now: the CONTRIBUTING.md checklist at HEAD names {len(rows)} files (<family> = {TEMPLATE_FAMILY}):"
    )
    for num, path, n in rows:
        concrete = path.replace("<family>", TEMPLATE_FAMILY)
        if concrete.startswith("docs/<"):
            concrete = ", ".join(page) or concrete
            note = "the page holding the family's modules marker"
        elif concrete in head_files:
            note = "exists"
        else:
            note = "MISSING at HEAD" + (f"; {TEMPLATE} is defined in {', '.join(defined)}" if defined else "")
        out.append(f"    {num:>2}. {concrete:<48} touches {n:<4} {note}")
    out.append("")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--rev REV`` (default HEAD), ``--no-history``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rev", default="HEAD", help="git revision to count (default HEAD)")
    p.add_argument("--no-history", action="store_true", help="only the per-family line counts")
    args = p.parse_args(argv)
    try:
        git("rev-parse", "--verify", f"{args.rev}^{{commit}}")
    except subprocess.CalledProcessError:
        print(f"family_report: --rev {args.rev!r} is not a commit of this repository", file=sys.stderr)
        return 2
    out: list[str] = []
    family_report(args.rev, out)
    if not args.no_history:
        history_report(out)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
