"""linear_cross_entropy against the materialised-logits path and torch's chunked F.linear_cross_entropy.

Sizes: ``--tokens N --dim D --vocab V`` (default the issue's N=4096, D=1024, V=131072; ``--quick``:
N=1024, D=256, V=16384). Peak memory is measured at the allocator (``torch.profiler`` memory events,
:func:`benchmarks.harness.peak_bytes_allocator`): torch's chunked path is a ``torch.library`` custom op
whose internal buffers a dispatch-mode tracker would not see. The inputs (hidden, weight, target) are
excluded; the gradients of hidden and weight are included for every implementation.

Run: ``python -m benchmarks.bench_llm [--quick] [--tokens 4096 --dim 1024 --vocab 131072] [--repeats 3]``
(3 repeats unless given: one full-size forward + backward takes tens of seconds on a CPU).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch
import torch.nn.functional as F

import losskit
from benchmarks.harness import Case, main, peak_bytes_allocator

HAS_TORCH_LCE = hasattr(F, "linear_cross_entropy") and hasattr(torch.nn, "LinearCrossEntropyOptions")


def naive(
    h: torch.Tensor, w: torch.Tensor, y: torch.Tensor, z_loss: float = 0.0, softcap: float | None = None
) -> torch.Tensor:
    """The materialised path: (N, V) logits, then cross-entropy (plus z-loss / soft-capping by hand)."""
    logits = h @ w.t()
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    loss = F.cross_entropy(logits, y)
    if z_loss:
        loss = loss + z_loss * torch.logsumexp(logits, dim=1).square().mean()
    return loss


def torch_chunked(h: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """torch's own chunked path with its default (aspect-ratio) chunking."""
    return F.linear_cross_entropy(h, w, y, options=torch.nn.LinearCrossEntropyOptions())


def sizes(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--tokens", type=int, default=None)
    p.add_argument("--dim", type=int, default=None)
    p.add_argument("--vocab", type=int, default=None)
    return p.parse_known_args(argv)


def build_for(n: int, d: int, v: int) -> list[Case]:
    def inputs(device: torch.device):
        g = torch.Generator().manual_seed(0)
        h = torch.randn(n, d, generator=g).to(device)
        w = (torch.randn(v, d, generator=g) * d**-0.5).to(device)
        y = torch.randint(0, v, (n,), generator=g).to(device)
        return (h, w, y), (0, 1)

    base = {
        "losskit": lambda h, w, y: losskit.linear_cross_entropy(h, w, y),
        "naive": lambda h, w, y: naive(h, w, y),
    }
    if HAS_TORCH_LCE:
        base["torch chunked"] = torch_chunked
    tag = f"N={n} D={d} V={v}"
    return [
        Case(
            f"lce {tag}",
            inputs,
            base,
            note="" if HAS_TORCH_LCE else "this torch has no F.linear_cross_entropy",
        ),
        Case(
            "lce + z-loss 1e-4",
            inputs,
            {
                "losskit": lambda h, w, y: losskit.linear_cross_entropy(h, w, y, z_loss=1e-4),
                "naive": lambda h, w, y: naive(h, w, y, z_loss=1e-4),
            },
            note="torch's chunked path has no z-loss",
        ),
        Case(
            "lce + softcap 30",
            inputs,
            {
                "losskit": lambda h, w, y: losskit.linear_cross_entropy(h, w, y, softcap=30.0),
                "naive": lambda h, w, y: naive(h, w, y, softcap=30.0),
            },
            note="torch's chunked path has no soft-capping",
        ),
    ]


def agreement(n: int, d: int, v: int) -> str:
    """Max abs difference of value and gradients, losskit vs naive, at the benchmark's size (float32)."""
    (h, w, y), _ = build_for(n, d, v)[0].make_inputs(torch.device("cpu"))
    out = []
    for fn in (lambda a, b: losskit.linear_cross_entropy(a, b, y), lambda a, b: naive(a, b, y)):
        a, b = h.clone().requires_grad_(), w.clone().requires_grad_()
        loss = fn(a, b)
        loss.backward()
        out.append((loss.detach(), a.grad, b.grad))
    diffs = [float((x - r).abs().max()) for x, r in zip(*out)]
    return (
        f"losskit vs naive (float32): |Δloss| {diffs[0]:.2e}, |Δgrad_hidden| {diffs[1]:.2e}, "
        f"|Δgrad_weight| {diffs[2]:.2e}"
    )


def targets(cases: list[Case]) -> str:
    r = cases[0].results
    lk = r["losskit"]
    lines = [
        f"peak memory losskit / naive: {lk['peak_mb'] / r['naive']['peak_mb']:.3f} (target <= 0.2)",
        f"fwd+bwd losskit / naive: {lk['fwdbwd_ms'] / r['naive']['fwdbwd_ms']:.3f} (target <= 1.3)",
    ]
    if "torch chunked" in r:
        t = r["torch chunked"]
        lines += [
            f"peak memory losskit / torch chunked: {lk['peak_mb'] / t['peak_mb']:.3f} (target <= 1.0)",
            f"fwd+bwd losskit / torch chunked: {lk['fwdbwd_ms'] / t['fwdbwd_ms']:.3f} (target <= 1.0)",
        ]
    return "\n".join(lines)


def run(argv: Sequence[str] | None = None) -> list[Case]:
    ns, rest = sizes(argv)
    if not any(a.startswith("--repeats") for a in rest):
        rest = [*rest, "--repeats", "3"]  # a full-size fwd+bwd takes tens of seconds on a CPU
    quick = "--quick" in rest
    n = ns.tokens or (1024 if quick else 4096)
    d = ns.dim or (256 if quick else 1024)
    v = ns.vocab or (16384 if quick else 131072)
    versions = {"losskit": losskit.__version__, "sizes": f"N={n} D={d} V={v}"}
    cases = main(
        "language-model head: linear_cross_entropy",
        lambda _q: build_for(n, d, v),
        versions,
        rest,
        memory=peak_bytes_allocator,
    )
    print(targets(cases))
    print(agreement(n, d, v), flush=True)
    return cases


if __name__ == "__main__":
    run(sys.argv[1:])
