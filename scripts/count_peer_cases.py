"""Count the collected peer-conformance test cases of some test files, per peer.

    PYTHONPATH=src python scripts/count_peer_cases.py [-v] [TEST_FILE ...]

Runs ``pytest --collect-only -q`` on the files (default: the issue-13 parity files), reads each test
function's AST (and that of the module-level helpers it calls) for the peer modules it uses (MONAI, smp,
kornia, torchvision, timm, pytorch-metric-learning; torch when it calls a ``torch.nn`` loss), and counts
every collected case (each parametrization) under each peer it calls. ``-v`` lists the tests per peer.
"""

from __future__ import annotations

import ast
import collections
import os
import re
import subprocess
import sys

DEFAULT = [
    "tests/test_segmentation_parity.py",
    "tests/test_classification_parity.py",
    "tests/test_embedding_parity.py",
    "tests/test_torch_pairwise_peers.py",
]
MODULE_PEER = {
    "monai": "MONAI",
    "segmentation_models_pytorch": "smp",
    "kornia": "kornia",
    "torchvision": "torchvision",
    "timm": "timm",
    "pytorch_metric_learning": "pml",
}
TORCH_LOSS = re.compile(r"loss|cross_entropy", re.IGNORECASE)


def _chain(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def peers_by_test(path: str) -> dict[str, set[str]]:
    """``{test function: peers it calls, directly or through the module's helper functions}``."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    alias: dict[str, str] = {}
    for n in tree.body:
        if isinstance(n, ast.Import):
            for a in n.names:
                alias[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(n, ast.ImportFrom) and n.module:
            for a in n.names:
                alias[a.asname or a.name] = f"{n.module}.{a.name}"
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    direct: dict[str, tuple[set[str], set[str]]] = {}
    for name, fn in funcs.items():
        found, calls = set(), set()
        for node in ast.walk(fn):
            c = _chain(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
            if c:
                full = ".".join([alias.get(c[0], c[0]), *c[1:]])
                top = full.split(".")[0]
                if top in MODULE_PEER:
                    found.add(MODULE_PEER[top])
                elif full.startswith("torch.nn."):
                    rest = full.split(".")[2:]
                    leaf = (rest[1] if len(rest) > 1 else "") if rest[0] == "functional" else rest[0]
                    if TORCH_LOSS.search(leaf):
                        found.add("torch")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in funcs:
                calls.add(node.func.id)
        direct[name] = (found, calls)

    def closure(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found, calls = direct[name]
        out = set(found)
        for c in calls - seen - {name}:
            out |= closure(c, seen | {name})
        return out

    return {name: closure(name) for name in funcs if name.startswith("test_")}


def main(argv: list[str]) -> None:
    """Collect, map and print the per-peer counts."""
    verbose = "-v" in argv
    files = [a for a in argv if a != "-v"] or DEFAULT
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", *files],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    ).stdout
    table = {f: peers_by_test(f) for f in files}
    per_peer: collections.Counter[str] = collections.Counter()
    detail: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total = with_peer = 0
    for line in out.splitlines():
        if "::" not in line:
            continue
        total += 1
        f, rest = line.split("::", 1)
        peers = table[f][rest.split("[")[0]]
        with_peer += bool(peers)
        for p in peers:
            per_peer[p] += 1
            detail[p][f"{f}::{rest.split('[')[0]}"] += 1
    print(
        f"{total} cases collected; {with_peer} call a peer, {total - with_peer} are reference / hand-value "
        "only"
    )
    for p, k in sorted(per_peer.items(), key=lambda t: (-t[1], t[0])):
        print(f"  {p:12s} {k:4d}")
    if verbose:
        for p in sorted(detail):
            print(p)
            for t, k in sorted(detail[p].items()):
                print(f"  {k:4d}  {t}")


if __name__ == "__main__":
    main(sys.argv[1:])
