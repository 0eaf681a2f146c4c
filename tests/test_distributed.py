"""``process_group=`` on every batch-statistics loss, on real gloo ranks, against the one-process full batch.

Two worlds are spawned once for the whole module (2 ranks with batches [3, 2]; 3 ranks with [2, 0, 3],
an empty rank). Every rank runs every case of tests/distributed_cases.py with every reduction (and
``"mean"`` with a ``normalizer``) and saves values and gradients; the tests here recompute the full batch in
this process with ``process_group=None`` in float64 and require:

* the value on every rank equals the full-batch value (``"none"``: the rank's own rows, or the whole
  ``(C,)`` result for batch-aggregated overlap losses);
* each rank's gradient equals ``W`` × the full-batch gradient of its rows (``W`` = world size; DDP's
  averaging divides it back), or ``1`` × for the local ``"none"`` values;

to 1e-10. A real DistributedDataParallel conv net trained with Dice + CE for 3 SGD steps on 2 ranks must
reach the parameters of one-process training on the concatenated batch. ``normalizer`` (gradient
accumulation) is tested in one process at the end.
"""

from __future__ import annotations

import pytest
import torch
import torch.multiprocessing as mp

import losskit
import losskit.functional as LF
from losskit import distributed as D
from tests import distributed_cases as DC

TOL = 1e-10


def _spawn_worlds(out):
    """Both worlds at once (5 processes): most of the time is starting interpreters, which overlaps."""
    contexts = [
        mp.start_processes(
            DC.worker,
            args=(world, str(out / f"init{world}"), str(out)),
            nprocs=world,
            join=False,
            start_method="spawn",
        )
        for world in (2, 3)
    ]
    for ctx in contexts:
        while not ctx.join():
            pass


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = DC.shared_once(tmp_path_factory, "distributed_ranks", _spawn_worlds)  # one spawn per session
    return {(w, r): torch.load(out / f"w{w}_r{r}.pt", weights_only=False) for w in (2, 3) for r in range(w)}


@pytest.fixture(scope="module")
def full():
    """Single-process float64 results on the whole batch, per case and reduction."""
    return {
        (c.name, red): DC.evaluate(c, red, 0, DC.TOTAL, None)
        for c in DC.CASES.values()
        for red in c.reductions
    }


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=TOL, atol=TOL))


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("name", list(DC.CASES))
def test_every_rank_gets_the_full_batch_loss_and_gradient(runs, full, name, world):
    case = DC.CASES[name]
    sizes = DC.SIZES[world]
    for red in case.reductions:
        ref = full[(name, red)]
        for r in range(world):
            got = runs[(world, r)][f"{name}/{red}"]
            assert "error" not in got, got.get("error")
            start, n = sum(sizes[:r]), sizes[r]
            local = red == "none" and not case.global_none
            want = ref["value"].narrow(0, start, n) if local else ref["value"]
            assert _close(got["value"], want), (red, r, got["value"], want)
            factor = 1.0 if local else float(world)
            bd = case.bdim or (0,) * 8
            for i, g_got, g_full in zip(case.grad, got["grads"], ref["grads"]):
                if bd[i] is None:  # a parameter every rank holds: checked below, over the ranks
                    continue
                g_want = factor * g_full.narrow(bd[i], start, n)
                assert _close(g_got, g_want), (red, r, (g_got - g_want).abs().max())
        # a shared parameter (a linear head's weight): DDP averages the ranks' gradients, which gives the
        # full-batch gradient; for "none" each rank back-propagates its rows' share, so they add up to it
        for j, i in enumerate(case.grad):
            if (case.bdim or (0,) * 8)[i] is None:
                per_rank = torch.stack([runs[(world, r)][f"{name}/{red}"]["grads"][j] for r in range(world)])
                # (a global "none", e.g. Proxy-Anchor's per-proxy terms, is the same on every rank: averaged)
                local = red == "none" and not case.global_none
                combined = per_rank.sum(0) if local else per_rank.mean(0)
                assert _close(combined, ref["grads"][j]), (red, (combined - ref["grads"][j]).abs().max())


def test_the_comparison_can_fail(full):
    """The per-rank mean differs from the global one on these batches, so the checks above have teeth."""
    case = DC.CASES["cross_entropy-index"]
    parts = [DC.evaluate(case, "mean", s, n, None)["value"] for s, n in ((0, 3), (3, 2))]
    assert abs(float(sum(parts) / 2) - float(full[(case.name, "mean")]["value"])) > 1e-3
    # the pair losses' candidates and Proxy-Anchor's per-proxy sums span the ranks: rank-local rows differ
    for name in ("multi_similarity", "circle", "proxy_anchor"):
        case = DC.CASES[name]
        first = DC.evaluate(case, "none", 0, 3, None)["value"]
        whole = full[(name, "none")]["value"]
        whole = whole if case.global_none else whole[:3]
        assert (first - whole).abs().max() > 1e-3, name
    dice = DC.CASES["dice-per_imageFalse"]
    parts = [DC.evaluate(dice, "mean", s, n, None)["value"] for s, n in ((0, 3), (3, 2))]
    assert abs(float(sum(parts) / 2) - float(full[(dice.name, "mean")]["value"])) > 1e-3
    # OHEM / top-k: each rank's own selection keeps other pixels than the global one
    for name in ("ohem-min_kept-binds", "ohem-topk", "ohem-topk-ties"):
        whole = full[(name, "none")]["value"]
        parts = torch.cat(
            [DC.evaluate(DC.CASES[name], "none", s, n, None)["value"] for s, n in ((0, 3), (3, 2))]
        )
        assert not torch.equal(parts != 0, whole != 0), name


def _ohem_regime(name):
    """What the full batch of an OHEM case exercises: counts of the rule in the docstring, from float64."""
    case = DC.CASES[name]
    (x, t), _, kw = DC.local_call(case, 0, DC.TOTAL)
    valid = t != DC.IGNORE
    logp = x if kw.get("input_type") == "log_probs" else torch.log_softmax(x, 1)
    own = logp.gather(1, torch.where(valid, t, 0).unsqueeze(1)).squeeze(1)
    return kw, valid, own


@pytest.mark.parametrize(
    "name, binds",
    [
        ("ohem-threshold", False),
        ("ohem-min_kept-binds", True),
        ("ohem-min_kept-binds-ties", True),
        ("ohem-rank-all-ignored", True),
    ],
)
def test_ohem_cases_exercise_their_regime(full, name, binds):
    kw, valid, own = _ohem_regime(name)
    p = own.exp()[valid]
    pos = min(kw["min_kept"], int(valid.sum()) - 1)
    below = int((p < kw["threshold"]).sum())
    assert (below <= pos) == binds  # min_kept binds: the cut is the (pos+1)-th smallest p, above threshold
    cut = max(kw["threshold"], float(p.sort().values[pos]))
    kept = full[(name, "none")]["value"] != 0
    assert int(kept.sum()) == int((p < cut).sum())
    if name.endswith("ties"):
        assert int((p == float(p.sort().values[pos])).sum()) > 1  # ties at the cut: all of them left out
    if "all-ignored" in name:
        assert not bool(valid[:3].any())  # rank 0 (of 2 and of 3 ranks) has no valid pixel


@pytest.mark.parametrize("name", ["ohem-topk", "ohem-topk-ties", "ohem-topk-rank-all-ignored"])
def test_topk_cases_and_their_ties(full, name):
    kw, valid, own = _ohem_regime(name)
    (_, t), _, _ = DC.local_call(DC.CASES[name], 0, DC.TOTAL)
    w = kw.get("weight", torch.ones(3, dtype=torch.float64))
    loss = torch.where(valid, -own * w[torch.where(valid, t, 0)], 0.0)
    n_keep = int(loss.numel() * kw["top_k"] / 100)
    kth = float(loss.flatten().sort(descending=True).values[n_keep - 1])
    kept = full[(name, "none")]["value"] != 0
    assert int(kept.sum()) == n_keep and bool(kept[loss > kth].all())
    tied = loss == kth
    if name == "ohem-topk-ties":
        # the boundary splits a group of equal losses spread over several images: the first ones (in flattened
        # order) are kept, on every rank split alike
        assert int((loss > kth).sum()) < n_keep < int((loss >= kth).sum())
        assert len(set(torch.nonzero(tied)[:, 0].tolist())) >= 3
        order = torch.nonzero(tied.flatten())[:, 0]
        take = n_keep - int((loss > kth).sum())
        want = torch.zeros(loss.numel(), dtype=torch.bool)
        want[order[:take]] = True
        assert torch.equal(kept.flatten() & tied.flatten(), want)


def test_errors_across_ranks(runs):
    for world in (2, 3):
        for r in range(world):
            e = runs[(world, r)]["errors"]
            assert e["classes"].startswith("ValueError: dice_loss: classes must be the same on every rank"), e
            assert e["classes-per-image"].startswith("ValueError: dice_loss: classes must be the same"), e
            assert e["reduction"].startswith("ValueError: cross_entropy: reduction must be the same"), e
            assert e["ce-classes"].startswith("ValueError: cross_entropy: classes must be the same"), e
            assert e["weighting"].startswith(
                "ValueError: generalized_dice_loss: weighting must be the same"
            ), e
            assert e["normalizer-given"].startswith(
                "ValueError: l1_loss: normalizer_given must be the same"
            ), e
            assert e["wrong-type"].startswith("TypeError: l1_loss: process_group must be None or a"), e
            assert e["normalizer-sum"].startswith(
                "ValueError: l1_loss: normalizer replaces the denominator"
            ), e
            assert e["lce-vocabulary"].startswith(
                "ValueError: linear_cross_entropy: vocabulary must be the same on every rank"
            ), e
            assert e["mcc-classes"].startswith(
                "ValueError: mcc_loss: classes must be the same on every rank"
            ), e
            assert e["cldice-classes"].startswith("ValueError: cldice_loss: classes must be the same"), e
            assert e["ghm-bins"].startswith("ValueError: ghm_c_loss: bins must be the same on every rank"), e
            assert e["ms-width"].startswith(
                "ValueError: multi_similarity_loss: width must be the same on every rank"
            ), e
            assert e["proxy-classes"].startswith(
                "ValueError: proxy_anchor_loss: classes must be the same on every rank"
            ), e
            assert e["ohem-mode"].startswith(
                "ValueError: ohem_cross_entropy: top_k_mode must be the same on every rank"
            ), e
            assert e["ohem-min_kept"].startswith(
                "ValueError: ohem_cross_entropy: min_kept must be the same on every rank"
            ), e
            assert e["module-copies-agree"] == "True", e
            assert e["pickle-subgroup"].startswith("TypeError: losskit Module: a process_group other than"), e


def test_ddp_training_matches_one_process(runs):
    x, t = DC.ddp_data()
    model = DC.ConvNet()
    before = [p.detach().clone() for p in model.parameters()]
    DC.train(model, x, t, None)
    for r in range(2):
        for p_dist, p_one, p0 in zip(runs[(2, r)]["ddp"], model.parameters(), before):
            assert not torch.allclose(p_one, p0)  # training moved the parameters
            assert _close(p_dist, p_one.detach()), (p_dist - p_one).abs().max()


def test_stateful_modules_across_ranks(runs):
    """GHMCLoss's running bin counts and SeesawLoss's label counts (global on every rank), BarronLoss's α / c."""
    one = DC.stateful_modules(0, DC.TOTAL, None)
    for world in (2, 3):
        sizes = DC.SIZES[world]
        got = [runs[(world, r)]["modules"] for r in range(world)]
        for r, m in enumerate(got):
            start, n = sum(sizes[:r]), sizes[r]
            assert _close(m["ghm_acc"], one["ghm_acc"]), (world, r, m["ghm_acc"], one["ghm_acc"])
            for step in (0, 1):
                assert _close(m[f"ghm{step}"], one[f"ghm{step}"]), (world, r, step)
                assert _close(m[f"ghm_grad{step}"], world * one[f"ghm_grad{step}"][start : start + n])
            assert _close(m["barron"], one["barron"])
            assert torch.equal(m["seesaw_counts"], one["seesaw_counts"]), (world, r, m["seesaw_counts"])
            for step in (0, 1):
                assert _close(m[f"seesaw{step}"], one[f"seesaw{step}"]), (world, r, step)
                assert _close(m[f"seesaw_grad{step}"], world * one[f"seesaw_grad{step}"][start : start + n])
            assert _close(m["proxy_module"], one["proxy_module"]), (world, r)
        proxy = torch.stack([m["proxy_module_grad"] for m in got]).mean(0)
        assert _close(proxy, one["proxy_module_grad"]), (proxy, one["proxy_module_grad"])
        mean = torch.stack([m["barron_grads"] for m in got]).mean(0)  # what DDP does with the parameters
        assert _close(mean, one["barron_grads"]), (mean, one["barron_grads"])


@pytest.mark.parametrize(
    "name",
    [
        c.name
        for c in DC.CASES.values()
        if "mean_norm" in c.reductions and not c.name.startswith("gaussian_focal")
    ],
)
def test_normalizer_divides_the_sum(name):
    """Locally, ``reduction="mean", normalizer=k`` is the ``"sum"`` over ``k``: value and gradients.

    (CTC's mean first divides each sample by its target length, torch's convention: there the normalizer
    replaces the batch count of that mean.)
    """
    case = DC.CASES[name]
    with_norm = DC.evaluate(case, "mean_norm", 0, DC.TOTAL, None)
    total = DC.evaluate(case, "sum", 0, DC.TOTAL, None)
    if name == "ctc":
        _, _, _, lengths = DC.local_call(case, 0, DC.TOTAL)[0]
        per = DC.evaluate(case, "none", 0, DC.TOTAL, None)["value"]
        assert _close(with_norm["value"], (per / lengths).sum() / DC.NORMALIZER)
        return
    assert _close(with_norm["value"], total["value"] / DC.NORMALIZER)
    for a, b in zip(with_norm["grads"], total["grads"]):
        assert _close(a, b / DC.NORMALIZER)


def test_group_without_init_is_an_error():
    assert not torch.distributed.is_initialized()
    with pytest.raises(
        RuntimeError, match=r"^dice_loss: process_group was given but torch.distributed is not"
    ):
        LF.dice_loss(torch.zeros(1, 2, 3), torch.zeros(1, 3, dtype=torch.long), process_group=object())
    assert D.world_size() == 1 and D.rank() == 0
    x = torch.randn(3, 2)
    assert D.all_reduce_sum(x, None) is x and D.all_gather(x, None) is x


# --------------------------------------------------------------------------------------------------
# normalizer: gradient accumulation in one process


def _micro_batches():
    """Three micro-batches of token logits (B, C, T) with very different numbers of valid tokens."""
    g = torch.Generator().manual_seed(7)
    lengths = [[9, 8], [2, 1], [5, 3]]  # valid tokens per sequence, padded to T = 9
    out = []
    for lens in lengths:
        z = torch.randn(len(lens), 5, 9, generator=g, dtype=torch.float64)
        y = torch.randint(0, 5, (len(lens), 9), generator=g)
        for i, L in enumerate(lens):
            y[i, L:] = -100
        out.append((z, y))
    return out


def test_normalizer_makes_gradient_accumulation_exact():
    micro = _micro_batches()
    w = torch.randn(5, 5, dtype=torch.float64, requires_grad=True)  # a linear "model" on the logits

    def logits(z):
        return torch.einsum("kc,bct->bkt", w, z)

    # full batch: the mean over all valid tokens (sequences padded to the same T, so they concatenate)
    zf, yf = torch.cat([z for z, _ in micro]), torch.cat([y for _, y in micro])
    full_t = LF.cross_entropy(logits(zf), yf)
    g_full = torch.autograd.grad(full_t, w)[0]
    full = float(full_t.detach())
    total = int((yf != -100).sum())
    assert total == 28

    acc_right, acc_naive = 0.0, 0.0
    g_right = torch.zeros_like(w)
    g_naive = torch.zeros_like(w)
    for z, y in micro:
        right = LF.cross_entropy(logits(z), y, normalizer=total)  # sum over the window / 28
        naive = LF.cross_entropy(logits(z), y) / len(micro)  # per-micro-batch mean, averaged
        g_right += torch.autograd.grad(right, w)[0]
        g_naive += torch.autograd.grad(naive, w)[0]
        acc_right += float(right.detach())
        acc_naive += float(naive.detach())
    print(f"full-batch mean {full:.6f}; accumulated with normalizer {acc_right:.6f}; naive {acc_naive:.6f}")
    assert abs(acc_right - full) < 1e-12
    assert torch.allclose(g_right, g_full, rtol=1e-12, atol=1e-14)
    assert abs(acc_naive - full) > 0.05  # the bug: short sequences weigh as much as long ones
    assert not torch.allclose(g_naive, g_full, rtol=1e-3)


def test_normalizer_tensor_and_weighted_means():
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    wt = torch.rand(4, 3, dtype=torch.float64)
    want = float(((x - y).abs() * wt).sum() / 2.5)
    assert abs(float(LF.l1_loss(x, y, weight=wt, normalizer=2.5)) - want) < 1e-14
    assert abs(float(LF.l1_loss(x, y, weight=wt, normalizer=torch.tensor(2.5))) - want) < 1e-14
    # the Module takes it too (a per-call keyword)
    assert abs(float(losskit.L1Loss(weight=wt)(x, y, normalizer=2.5)) - want) < 1e-14
    # segmentation: replaces the Σ of class weights over the (N, C) entries
    z, t = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randint(0, 3, (2, 4, 4))
    per = LF.dice_loss(z, t, reduction="none")
    assert abs(float(LF.dice_loss(z, t, normalizer=4.0)) - float(per.sum() / 4.0)) < 1e-14


@pytest.mark.parametrize(
    "kw, err, match",
    [
        (
            {"reduction": "sum", "normalizer": 3.0},
            ValueError,
            r"^l1_loss: normalizer replaces the denominator",
        ),
        ({"reduction": "none", "normalizer": 3.0}, ValueError, r"got reduction='none'"),
        ({"normalizer": 0.0}, ValueError, r"^l1_loss: normalizer must be in \(0, inf\), got 0.0"),
        ({"normalizer": -2}, ValueError, r"^l1_loss: normalizer must be in \(0, inf\)"),
        ({"normalizer": float("nan")}, ValueError, r"^l1_loss: normalizer must be in"),
        ({"normalizer": torch.tensor(0.0)}, ValueError, r"^l1_loss: normalizer must be a finite number > 0"),
        (
            {"normalizer": torch.tensor([2.0, 3.0])},
            ValueError,
            r"^l1_loss: normalizer must be a number or a 0-d",
        ),
        ({"normalizer": True}, TypeError, r"^l1_loss: normalizer must be None, a number or a 0-d tensor"),
        ({"normalizer": "5"}, TypeError, r"^l1_loss: normalizer must be None, a number"),
    ],
)
def test_normalizer_errors(kw, err, match):
    with pytest.raises(err, match=match):
        LF.l1_loss(torch.randn(3), torch.randn(3), **kw)


def test_module_copies_without_a_group():
    """deepcopy / pickle of a Module with process_group=None stay plain (a group needs init: spawned test)."""
    import copy
    import pickle

    m = losskit.CrossEntropyLoss(ignore_index=0, process_group=None, normalizer=4.0)
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert c.options == m.options
