"""The allocator-level peak of benchmarks/harness.py sees what the dispatch-mode tracker cannot.

bench_llm compares against torch's chunked F.linear_cross_entropy, a torch.library custom op whose internal
buffers run below the dispatch mode; peak_bytes_allocator reads the CPU allocator's events instead. Both are
checked on a known allocation pattern: 4 MiB allocated and kept, 8 MiB allocated and freed inside.
"""

from __future__ import annotations

import torch
from benchmarks.harness import peak_bytes, peak_bytes_allocator

MIB = 2**20


@torch.library.custom_op("losskit_test::scratch_then_keep", mutates_args=())
def _scratch_then_keep(x: torch.Tensor) -> torch.Tensor:
    scratch = torch.ones(2 * MIB)  # 8 MiB, freed before returning
    return x * 0.0 + scratch[:MIB].sum()  # output: x's size


@_scratch_then_keep.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


def _impl(x: torch.Tensor) -> torch.Tensor:
    # the harness always runs backward: x's own (cheap) term carries the gradient
    return _scratch_then_keep(x.detach()).sum() + 0.0 * x.sum()


def test_allocator_peak_sees_inside_custom_ops():
    x = torch.zeros(MIB)  # 4 MiB input (excluded)
    dev = torch.device("cpu")
    seen_by_allocator = peak_bytes_allocator(_impl, (x,), (0,), dev)
    seen_by_dispatch = peak_bytes(_impl, (x,), (0,), dev)
    # the 8 MiB scratch and the 4 MiB output are live together inside the op
    assert seen_by_allocator >= 12 * MIB
    # the dispatch mode sees the op's output and x's gradient, not the scratch
    assert seen_by_allocator - seen_by_dispatch >= 6 * MIB
