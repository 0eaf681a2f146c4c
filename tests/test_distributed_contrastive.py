"""Embedding losses across ranks: ``process_group`` (and ``local_loss``) against the single-process loss.

Real ``torch.distributed`` on CPU (gloo), started with ``torch.multiprocessing`` spawn **once per world
size for the whole module** (a module-scoped fixture): world size 2 with uneven batches (3 and 5 rows) and
world size 3 with an empty rank (4, 0 and 2 rows). Every rank runs every case below and saves its values
and gradients; the parent recomputes each case in one process, in float64, on the concatenated batch
(rank order) and requires, to 1e-10:

* the value on every rank equals the single-process value (``"mean"``, ``"sum"``); with ``"none"``
  each rank returns its own rows of the single-process per-sample vector;
* each rank's gradient for its own rows equals ``W`` times the single-process gradient of those rows
  (``W`` = world size: DDP's gradient averaging then yields exactly the full-batch gradient); with
  ``"none"`` (back-propagated through a fixed cotangent, each rank its rows' share) exactly that gradient;
* a parameter every rank holds (CLIP's and SigLIP's scale and bias) has, averaged over ranks (what DDP
  does), the single-process gradient;
* with ``local_loss=True`` no rank forms a ``G × G`` matrix (``G`` = global batch; ``2G × 2G`` for
  NT-Xent): every 2-D tensor any op produces, forward and backward, is recorded with a
  ``TorchDispatchMode``, and the same instrument does see the ``G × G`` matrix with ``local_loss=False``;
* a real ``DistributedDataParallel`` two-tower MLP trained 3 SGD steps with CLIP (both modes) and with
  SigLIP on 2 uneven ranks reaches the parameters of single-process training on the concatenated batch;
* mismatched embedding widths or options across ranks raise a clear ValueError under
  ``losskit.set_checks("full")``.

Runtime: about 25 s on 2 loaded cores (two spawns; most of it is starting the child interpreters).
"""

from __future__ import annotations

import datetime
import os
import tempfile
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import losskit
import losskit.functional as LF

F64 = torch.float64
D = 2  # embedding width; small so that gathered (G, 2D) features never look like a G x G matrix
WORLDS = {2: [3, 5], 3: [4, 0, 2]}
SHARED_NEG = {2: [2, 1], 3: [1, 2, 3]}  # shared negatives per rank (uneven, concatenated in rank order)
PER_QUERY_NEG = 2
TOL = {"rtol": 1e-10, "atol": 1e-10}

SOFTMAX = ("info_nce", "info_nce_shared", "info_nce_own", "nt_xent", "supcon", "clip")
REDUCTIONS = ("none", "mean", "sum", "mean_norm")  # mean_norm: "mean" with normalizer=NORMALIZER
NORMALIZER = 6.5  # the caller's global count (gradient accumulation): the numerator is still global


def _case_ids() -> list[tuple[str, str, bool, bool]]:
    """(loss, reduction, weighted, local_loss) for every case each rank runs."""
    out = []
    for loss in (*SOFTMAX, "siglip", "siglip_ring", "contrastive", "triplet"):
        modes = (False, True) if loss in SOFTMAX else (False,)
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                for local in modes:
                    out.append((loss, reduction, weighted, local))
    return out


CASES = _case_ids()


def _name(case: tuple[str, str, bool, bool]) -> str:
    loss, reduction, weighted, local = case
    return f"{loss}-{reduction}{'-weighted' if weighted else ''}{'-local' if local else ''}"


def _data(world: int) -> dict[str, Any]:
    """The whole (concatenated) batch, float64, the same in every process."""
    sizes = WORLDS[world]
    g = torch.Generator().manual_seed(100 + world)
    n = sum(sizes)
    return {
        "a": torch.randn(n, D, generator=g, dtype=F64),
        "b": torch.randn(n, D, generator=g, dtype=F64),
        "neg3": torch.randn(n, D, generator=g, dtype=F64),
        "own": torch.randn(n, PER_QUERY_NEG, D, generator=g, dtype=F64),
        "shared": [torch.randn(m, D, generator=g, dtype=F64) for m in SHARED_NEG[world]],
        "w": torch.rand(n, generator=g, dtype=F64) + 0.2,
        "labels": torch.randint(0, 3, (n,), generator=g),
        "target": torch.randint(0, 2, (n,), generator=g),
        "cotangent": torch.randn(n, generator=g, dtype=F64),
        "scale": torch.tensor(1.7, dtype=F64),
        "bias": torch.tensor(-2.5, dtype=F64),
    }


ROWS = ("a", "b", "neg3", "own", "w", "labels", "target")


def _inputs(data: dict[str, Any], rank: int | None) -> dict[str, Tensor]:
    """This rank's share of the batch (rank None: the whole batch), leaves that require grad."""
    sizes = WORLDS[len(data["shared"])]
    if rank is None:
        t = {k: data[k].clone() for k in ROWS}
        t["shared"] = torch.cat(data["shared"])
    else:
        lo = sum(sizes[:rank])
        t = {k: data[k][lo : lo + sizes[rank]].clone() for k in ROWS}
        t["shared"] = data["shared"][rank].clone()
    t["scale"], t["bias"] = data["scale"].clone(), data["bias"].clone()
    for k in ("a", "b", "neg3", "own", "shared", "scale", "bias"):
        t[k].requires_grad_(True)
    return t


def _forward(case: tuple[str, str, bool, bool], t: dict[str, Tensor], group: Any) -> Tensor:
    loss, reduction, weighted, local = case
    kw: dict[str, Any] = {
        "reduction": reduction,
        "process_group": group,
        "weight": t["w"] if weighted else None,
    }
    if reduction == "mean_norm":
        kw.update(reduction="mean", normalizer=NORMALIZER)
    soft = {**kw, "local_loss": local}
    if loss == "info_nce":
        return LF.info_nce_loss(t["a"], t["b"], temperature=0.3, **soft)
    if loss == "info_nce_shared":
        return LF.info_nce_loss(t["a"], t["b"], negatives=t["shared"], temperature=0.3, **soft)
    if loss == "info_nce_own":
        return LF.info_nce_loss(t["a"], t["b"], negatives=t["own"], temperature=0.3, **soft)
    if loss == "nt_xent":
        return LF.nt_xent_loss(t["a"], t["b"], temperature=0.4, **soft)
    if loss == "supcon":
        return LF.supervised_contrastive_loss(t["a"], t["labels"], temperature=0.5, **soft)
    if loss == "clip":
        return LF.clip_loss(t["a"], t["b"], logit_scale=t["scale"], **soft)
    if loss in ("siglip", "siglip_ring"):
        return LF.siglip_loss(
            t["a"], t["b"], logit_scale=t["scale"], logit_bias=t["bias"], ring=loss == "siglip_ring", **kw
        )
    if loss == "contrastive":
        return LF.contrastive_loss(t["a"], t["b"], t["target"], margin=1.5, **kw)
    assert loss == "triplet"
    return LF.triplet_loss(t["a"], t["b"], t["neg3"], margin=1.0, **kw)


def _run(
    case: tuple[str, str, bool, bool], t: dict[str, Tensor], group: Any, cotangent: Tensor
) -> dict[str, Any]:
    """Value and gradients of one case; ``"none"`` is back-propagated through a fixed cotangent."""
    out = _forward(case, t, group)
    if out.dim():
        (out * cotangent).sum().backward()
    else:
        out.backward()
    grads = {
        k: t[k].grad.detach().clone()
        for k in ("a", "b", "neg3", "own", "shared", "scale", "bias")
        if t[k].grad is not None
    }
    return {"value": out.detach().clone(), "grads": grads}


class _BigMatrixSpy(TorchDispatchMode):
    """Records whether any op produced a 2-D float tensor with both dimensions >= ``size``, and the
    largest dimension of any 2-D float tensor."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.seen, self.widest = size, False, 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for x in tree_leaves(out):
            if isinstance(x, Tensor) and x.dim() == 2 and x.is_floating_point():
                self.seen = self.seen or min(x.shape) >= self.size
                self.widest = max(self.widest, max(x.shape))
        return out


class _TwoTower(nn.Module):
    """A tiny image / text two-tower MLP whose forward returns the contrastive loss (loss module inside)."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.image = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3))
        self.text = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
        self.loss = loss

    def forward(self, x_image: Tensor, x_text: Tensor, group: Any = None) -> Tensor:
        return self.loss(self.image(x_image), self.text(x_text), process_group=group)


DDP_SETUPS = {
    "clip": lambda: losskit.ClipLoss(logit_scale=1.0),
    "clip-local": lambda: losskit.ClipLoss(logit_scale=1.0, local_loss=True),
    "siglip": lambda: losskit.SigLIPLoss(logit_scale=1.0, logit_bias=-2.0),
    "siglip-ring": lambda: losskit.SigLIPLoss(logit_scale=1.0, logit_bias=-2.0, ring=True),
}
DDP_STEPS, DDP_LR = 3, 0.5


def _ddp_data(n: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(7)
    return torch.randn(n, 5, generator=g, dtype=F64), torch.randn(n, 4, generator=g, dtype=F64)


def _train(name: str, x_image: Tensor, x_text: Tensor, group: Any) -> dict[str, Tensor]:
    torch.manual_seed(11)
    model = _TwoTower(DDP_SETUPS[name]()).double()
    wrapped: nn.Module = model
    if group is not None:
        wrapped = nn.parallel.DistributedDataParallel(model, process_group=group)
    opt = torch.optim.SGD(wrapped.parameters(), lr=DDP_LR)
    for _ in range(DDP_STEPS):
        opt.zero_grad()
        wrapped(x_image, x_text, group).backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank: int, world: int, init_file: str, outdir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{init_file}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=120),
    )
    group = dist.group.WORLD
    data = _data(world)
    sizes = WORLDS[world]
    n_global = sum(sizes)
    lo = sum(sizes[:rank])
    cot = data["cotangent"][lo : lo + sizes[rank]]  # "none" returns this rank's rows
    results: dict[str, Any] = {}
    for case in CASES:
        spy = _BigMatrixSpy(2 * n_global if case[0] == "nt_xent" else n_global)
        with spy:
            res = _run(case, _inputs(data, rank), group, cot)
        res["big_matrix"], res["widest"] = spy.seen, spy.widest
        results[_name(case)] = res

    # errors: every rank must raise (the check is collective)
    errors: dict[str, str] = {}
    before = losskit.get_checks()
    losskit.set_checks("full")
    try:
        width = D + (rank == 1)
        x = torch.randn(sizes[rank], width, dtype=F64)
        try:
            LF.clip_loss(x, x.clone(), logit_scale=1.0, process_group=group)
        except ValueError as e:
            errors["width"] = str(e)
        x = torch.randn(sizes[rank], D, dtype=F64)
        try:
            LF.nt_xent_loss(x, x.clone(), process_group=group, local_loss=rank == 0)
        except ValueError as e:
            errors["option"] = str(e)
    finally:
        losskit.set_checks(before)

    trained: dict[str, Any] = {}
    if world == 2:
        xi, xt = _ddp_data(n_global)
        for name in DDP_SETUPS:
            trained[name] = _train(name, xi[lo : lo + sizes[rank]], xt[lo : lo + sizes[rank]], group)
    torch.save(
        {"results": results, "errors": errors, "trained": trained}, os.path.join(outdir, f"rank{rank}.pt")
    )
    dist.barrier()
    dist.destroy_process_group()
    # leave at once: interpreter shutdown of a child costs seconds and has nothing left to do
    os._exit(0)


@pytest.fixture(scope="module")
def runs() -> dict[int, list[dict[str, Any]]]:
    """Spawn each world size once (both at the same time); every rank's saved results, in rank order."""
    with tempfile.TemporaryDirectory() as tmp:
        contexts = {}
        for world in WORLDS:
            outdir = os.path.join(tmp, f"w{world}")
            os.makedirs(outdir)
            init_file = os.path.join(tmp, f"init{world}")
            contexts[world] = mp.start_processes(
                _worker, args=(world, init_file, outdir), nprocs=world, join=False, start_method="spawn"
            )
        for ctx in contexts.values():
            while not ctx.join():
                pass
        return {
            world: [
                torch.load(os.path.join(tmp, f"w{world}", f"rank{r}.pt"), weights_only=False)
                for r in range(world)
            ]
            for world in WORLDS
        }


@pytest.fixture(scope="module")
def single() -> dict[int, dict[str, Any]]:
    """Every case computed in this process on the concatenated batch (process_group=None)."""
    out = {}
    for world in WORLDS:
        data = _data(world)
        out[world] = {_name(c): _run(c, _inputs(data, None), None, data["cotangent"]) for c in CASES}
    return out


PARAMS = [pytest.param(w, c, id=f"W{w}-{_name(c)}") for w in WORLDS for c in CASES]


@pytest.mark.parametrize(("world", "case"), PARAMS)
def test_value_and_gradients_match_the_full_batch(runs, single, world: int, case) -> None:
    sizes = WORLDS[world]
    want = single[world][_name(case)]
    assert want["grads"], "the single-process case has no gradient to compare"
    none = case[1] == "none"
    # reduced: every rank back-propagates the same global loss, so its rows get W x their gradient;
    # "none": each rank back-propagates its own rows' share (cotangent · values), which sum to the whole
    factor = 1 if none else world
    for rank, saved in enumerate(runs[world]):
        got = saved["results"][_name(case)]
        lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
        torch.testing.assert_close(
            got["value"],
            want["value"][lo:hi] if none else want["value"],
            **TOL,
            msg=lambda m, rank=rank: f"rank {rank} value: {m}",
        )
        for k, g in want["grads"].items():
            if k in ("scale", "bias"):
                continue
            if k == "shared":
                m_lo = sum(SHARED_NEG[world][:rank])
                rows = slice(m_lo, m_lo + SHARED_NEG[world][rank])
            else:
                rows = slice(lo, hi)
            torch.testing.assert_close(
                got["grads"][k],
                factor * g[rows],
                **TOL,
                msg=lambda m, k=k, rank=rank: f"rank {rank} grad of {k}: {m}",
            )
    # a parameter every rank holds: DDP averages its per-rank gradients (for "none", whose per-rank shares
    # add up to the whole, their sum is the full-batch gradient)
    for k in ("scale", "bias"):
        if k in want["grads"]:
            per_rank = torch.stack([s["results"][_name(case)]["grads"][k] for s in runs[world]])
            torch.testing.assert_close(per_rank.sum(0) if none else per_rank.mean(0), want["grads"][k], **TOL)


@pytest.mark.parametrize("world", list(WORLDS))
@pytest.mark.parametrize("loss", SOFTMAX)
def test_local_loss_never_forms_the_global_square_matrix(runs, world: int, loss: str) -> None:
    for rank, saved in enumerate(runs[world]):
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                local = saved["results"][_name((loss, reduction, weighted, True))]
                full = saved["results"][_name((loss, reduction, weighted, False))]
                assert not local["big_matrix"], (
                    f"rank {rank}: local_loss=True formed a global x global matrix"
                )
                assert full["big_matrix"], (
                    f"rank {rank}: the spy did not see the global matrix of local_loss=False"
                )


@pytest.mark.parametrize("world", list(WORLDS))
def test_siglip_ring_never_holds_the_gathered_texts(runs, world: int) -> None:
    # the all-gather form holds G texts and n x G logits; the ring one block of max_r n_r at a time
    g, most = sum(WORLDS[world]), max(WORLDS[world])
    for saved in runs[world]:
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                assert saved["results"][_name(("siglip", reduction, weighted, False))]["widest"] == g
                assert saved["results"][_name(("siglip_ring", reduction, weighted, False))]["widest"] == most


def test_ddp_training_matches_single_process(runs) -> None:
    sizes = WORLDS[2]
    xi, xt = _ddp_data(sum(sizes))
    for name in DDP_SETUPS:
        want = _train(name, xi, xt, None)
        start = {k: v for k, v in _TwoTower(DDP_SETUPS[name]()).double().state_dict().items()}
        moved = max(float((want[k] - start[k]).abs().max()) for k in want if k.startswith("image"))
        assert moved > 1e-3, "training did not move the parameters; the comparison would prove nothing"
        for rank, saved in enumerate(runs[2]):
            got = saved["trained"][name]
            assert got.keys() == want.keys()
            for k in want:
                torch.testing.assert_close(
                    got[k],
                    want[k],
                    **TOL,
                    msg=lambda m, k=k, rank=rank, name=name: f"{name} rank {rank} {k}: {m}",
                )


@pytest.mark.parametrize("world", list(WORLDS))
def test_mismatch_across_ranks_is_a_clear_error(runs, world: int) -> None:
    for saved in runs[world]:
        assert saved["errors"]["width"].startswith(
            "clip_loss: width must be the same on every rank of process_group, got values from 2 to 3"
        )
        assert saved["errors"]["option"].startswith(
            "nt_xent_loss: local_loss must be the same on every rank of process_group, got values from 0 to 1"
        )


def test_process_group_without_init_is_a_clear_error() -> None:
    # (torch.distributed.group.WORLD is None before init_process_group, so it cannot stand in here)
    assert not dist.is_initialized()
    x = torch.randn(4, D)
    with pytest.raises(
        RuntimeError, match=r"^siglip_loss: process_group was given but torch.distributed is not"
    ):
        LF.siglip_loss(x, x, logit_scale=1.0, logit_bias=0.0, process_group=object())
    with pytest.raises(RuntimeError, match=r"^triplet_loss: process_group was given"):
        LF.triplet_loss(x, x, x, process_group=object())


@pytest.mark.parametrize("loss", [*SOFTMAX, "siglip", "contrastive", "triplet"])
def test_normalizer_divides_the_sum(single, loss: str) -> None:
    """In one process, ``"mean"`` with ``normalizer=k`` is the ``"sum"`` over ``k`` (values and gradients)."""
    for world in WORLDS:
        for weighted in (False, True):
            got = single[world][_name((loss, "mean_norm", weighted, False))]
            total = single[world][_name((loss, "sum", weighted, False))]
            torch.testing.assert_close(got["value"], total["value"] / NORMALIZER, **TOL)
            for k, g in total["grads"].items():
                torch.testing.assert_close(got["grads"][k], g / NORMALIZER, **TOL)


def test_local_loss_must_be_a_bool() -> None:
    x = torch.randn(4, D)
    with pytest.raises(TypeError, match=r"^supervised_contrastive_loss: local_loss must be a bool, got int"):
        LF.supervised_contrastive_loss(x, torch.zeros(4, dtype=torch.long), local_loss=1)
