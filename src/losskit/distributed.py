"""Differentiable collectives for losses that need statistics of the whole (multi-rank) batch.

Everything here is built on :mod:`torch.distributed` itself; there is no communication layer of our own.
Every loss that depends on batch statistics takes ``process_group=None``:

* ``None``: local, no communication (the default, and what a single process always gets);
* a ``ProcessGroup`` (e.g. ``torch.distributed.group.WORLD``): the loss of the *union* of all ranks'
  batches, the same value on every rank.

**The gradient factor.** Every rank computes the same global loss ``L``. The backward of each collective
sums the incoming gradients of all ranks, so rank ``r`` receives ``W · ∂L/∂x_r`` for its local inputs
``x_r`` (``W`` = world size). DistributedDataParallel then *averages* parameter gradients over ranks,
``(1/W) Σ_r W · ∂L/∂θ|_r = ∂L/∂θ``: after DDP, parameters get exactly the single-process gradient of the
full batch. Without DDP (e.g. a hand-written all-reduce of gradients that sums), divide by ``W``.

When ``torch.distributed`` is not initialised, :func:`world_size` is 1 and :func:`rank` is 0, and the
collectives are the identity, so code written for many ranks runs unchanged in one process.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = [
    "all_gather",
    "all_reduce_sum",
    "check_consistent",
    "gather_sizes",
    "is_distributed",
    "rank",
    "rank_offset",
    "resolve_group",
    "ring_pass",
    "world_size",
]


def _initialised() -> bool:
    return bool(dist.is_available() and dist.is_initialized())


def world_size(group: Any = None) -> int:
    """Number of ranks in ``group`` (default group when None); 1 when torch.distributed is not initialised."""
    if not _initialised():
        return 1
    return int(dist.get_world_size(group))


def rank(group: Any = None) -> int:
    """This rank in ``group`` (default group when None); 0 when torch.distributed is not initialised."""
    if not _initialised():
        return 0
    return int(dist.get_rank(group))


def resolve_group(fn: str, process_group: Any) -> Any:
    """Validate a loss's ``process_group`` argument and return the group to communicate over, or None.

    ``None`` means local. A group with a single rank is also local (no communication is needed).

    Raises:
        RuntimeError: if a group is given but torch.distributed is not initialised.
        TypeError: if ``process_group`` is neither None nor a ``torch.distributed.ProcessGroup``.
    """
    if process_group is None:
        return None
    if not _initialised():
        raise RuntimeError(
            f"{fn}: process_group was given but torch.distributed is not initialised; call "
            "torch.distributed.init_process_group(...) first, or pass process_group=None for a local loss"
        )
    if not isinstance(process_group, dist.ProcessGroup):
        raise TypeError(
            f"{fn}: process_group must be None or a torch.distributed.ProcessGroup, "
            f"got {type(process_group).__name__}"
        )
    if dist.get_world_size(process_group) == 1:
        return None
    return process_group


def is_distributed(process_group: Any) -> bool:
    """Whether ``process_group`` (already resolved) asks for communication."""
    return process_group is not None


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; backward sums the gradients of every rank's copy of the result."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: Any) -> Tensor:
        ctx.group = group
        out = x.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        # Each rank's output is the same function of every rank's input, so d(Σ_r L_r)/dx = Σ_r grad_r.
        # Written with the same (differentiable) Function so double backward stays correct.
        return _AllReduceSum.apply(grad.contiguous(), ctx.group), None


def all_reduce_sum(x: Tensor, process_group: Any) -> Tensor:
    """Differentiable sum of ``x`` over the ranks of ``process_group`` (identity when it is None).

    The result is the same on every rank. Backward sums the incoming gradients of all ranks, which with DDP's
    gradient averaging gives the single-process gradient (see the module docstring).
    """
    if process_group is None:
        return x
    return _AllReduceSum.apply(x, process_group)


def gather_sizes(n: int, process_group: Any, device: torch.device | str = "cpu") -> list[int]:
    """Every rank's local size ``n`` (e.g. its batch size), in rank order; ``[n]`` when the group is None."""
    if process_group is None:
        return [int(n)]
    w = dist.get_world_size(process_group)
    mine = torch.tensor([int(n)], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(mine) for _ in range(w)]
    dist.all_gather(sizes, mine, group=process_group)
    return [int(s.item()) for s in sizes]


class _AllGather(torch.autograd.Function):
    """Concatenate every rank's tensor along dim 0 (sizes may differ, an empty rank included)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: Any, sizes: list[int]) -> Tensor:
        me = dist.get_rank(group)
        ctx.group, ctx.sizes, ctx.me = group, sizes, me
        m = max(sizes)
        padded = x.new_zeros((m, *x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous(), group=group)
        return torch.cat([p[:s] for p, s in zip(parts, sizes)], dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        # Every rank used the whole gathered tensor: the gradient of this rank's rows is the sum over ranks
        # of their gradients for those rows.
        total = _AllReduceSum.apply(grad.contiguous(), ctx.group)
        start = sum(ctx.sizes[: ctx.me])
        return total[start : start + ctx.sizes[ctx.me]], None, None


def all_gather(x: Tensor, process_group: Any, *, sizes: list[int] | None = None) -> Tensor:
    """Differentiable concatenation of every rank's ``x`` along dim 0, in rank order.

    Ranks may hold different numbers of rows (including zero); all other dimensions must agree. The gradient
    of each rank's rows is routed back to that rank (summed over the ranks that used them).

    Args:
        x: the local tensor, shape ``(n_r, *rest)``.
        process_group: a resolved group (see :func:`resolve_group`); None returns ``x`` unchanged.
        sizes: every rank's ``n_r`` if already known (saves one small collective); else gathered here.

    Returns:
        The tensor of shape ``(Σ_r n_r, *rest)``, identical on every rank.
    """
    if process_group is None:
        return x
    if sizes is None:
        sizes = gather_sizes(x.shape[0], process_group, x.device)
    return _AllGather.apply(x, process_group, sizes)


def rank_offset(sizes: list[int], process_group: Any) -> int:
    """Where this rank's rows start in a tensor gathered with :func:`all_gather` (0 when local)."""
    if process_group is None:
        return 0
    return sum(sizes[: dist.get_rank(process_group)])


def check_consistent(fn: str, process_group: Any, device: torch.device | str = "cpu", **facts: int) -> None:
    """Raise ValueError if ranks disagree on any of ``facts`` (shapes, option codes), under full checks only.

    One all-reduce of ``2·len(facts)`` integers (the min and the max across ranks of each fact): cheap, but a
    collective all the same, so it runs only when ``losskit.set_checks("full")`` is on. Every rank must call
    it with the same fact names, in the same order.
    """
    from losskit._core.checks import get_checks

    if process_group is None or get_checks() != "full" or torch.compiler.is_compiling() or not facts:
        return
    vals = torch.tensor([int(v) for v in facts.values()], dtype=torch.int64, device=device)
    both = torch.cat([vals, -vals])
    dist.all_reduce(both, op=dist.ReduceOp.MAX, group=process_group)
    hi, lo = both[: len(facts)], -both[len(facts) :]
    for (name, mine), h, lw in zip(facts.items(), hi.tolist(), lo.tolist()):
        if h != lw:
            raise ValueError(
                f"{fn}: {name} must be the same on every rank of process_group, got values from {lw} to {h} "
                f"(this rank: {mine})"
            )


def _ring_exchange(x: Tensor, group: Any, shift: int) -> Tensor:
    """Send ``x`` to the rank ``shift`` places on and receive the same-shaped tensor from ``shift`` back."""
    w, me = dist.get_world_size(group), dist.get_rank(group)
    to = dist.get_global_rank(group, (me + shift) % w)
    frm = dist.get_global_rank(group, (me - shift) % w)
    out = torch.empty_like(x)
    ops = [dist.P2POp(dist.isend, x.contiguous(), to, group), dist.P2POp(dist.irecv, out, frm, group)]
    for req in dist.batch_isend_irecv(ops):
        req.wait()
    return out


class _RingPass(torch.autograd.Function):
    """One step round the ring; backward passes the gradient one step back to the tensor's sender."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: Any, shift: int) -> Tensor:
        ctx.group, ctx.shift = group, shift
        return _ring_exchange(x, group, shift)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return _RingPass.apply(grad.contiguous(), ctx.group, -ctx.shift), None, None


def ring_pass(x: Tensor, process_group: Any) -> Tensor:
    """Differentiable ring step: send ``x`` to the next rank and return the previous rank's tensor.

    Every rank must call it with a tensor of the same shape (pad uneven blocks to the largest); the
    gradient of the returned tensor is sent back to the rank it came from. Identity when the group is None.
    With ``W - 1`` calls every rank sees every other rank's block once without ever holding them all (the
    chunked form of SigLIP, Zhai et al. 2023, Sec. 3.2).
    """
    if process_group is None:
        return x
    return _RingPass.apply(x, process_group, 1)
