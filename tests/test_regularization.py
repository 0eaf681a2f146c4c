"""Penalties and the objective (SPEC §2.2): values against the NumPy reference and by hand, the "no ½"
decision pinned against torch.optim.SGD's weight decay, the Adam / AdamW distinction, and Objective."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import losskit
import losskit.functional as LF
from tests.reference import regression as R

F64 = torch.float64


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [torch.as_tensor(rng.normal(size=s)) for s in [(3, 4), (4,), (2, 2, 2), ()]]


# ---------------------------------------------------------------------------------------------------------
# penalties


def test_penalties_equal_reference():
    ps = _params()
    np_ps = [p.numpy() for p in ps]
    assert float(LF.l1_penalty(ps)) == pytest.approx(R.l1_penalty(np_ps), rel=1e-12)
    assert float(LF.l2_penalty(ps)) == pytest.approx(R.l2_penalty(np_ps), rel=1e-12)
    # a single tensor is accepted as well as an iterable, and a generator is consumed once
    assert float(LF.l1_penalty(ps[0])) == pytest.approx(R.l1_penalty(np_ps[:1]), rel=1e-12)
    assert float(LF.l2_penalty(p for p in ps)) == pytest.approx(R.l2_penalty(np_ps), rel=1e-12)


def test_penalty_hand_values_and_no_half():
    # θ = (3, -4) and (0.5,): Σ|θ| = 3 + 4 + 0.5 = 7.5 ; Σθ² = 9 + 16 + 0.25 = 25.25 (SPEC: no factor ½)
    ps = [torch.tensor([3.0, -4.0]), torch.tensor([0.5])]
    assert float(LF.l1_penalty(ps)) == 7.5
    assert float(LF.l2_penalty(ps)) == 25.25


def test_penalty_gradients():
    # d Σ|θ| / dθ = sign θ (0 at 0) ; d Σθ² / dθ = 2θ
    p = torch.tensor([-2.0, 0.0, 0.5], dtype=F64, requires_grad=True)
    LF.l1_penalty([p]).backward()
    torch.testing.assert_close(p.grad, torch.tensor([-1.0, 0.0, 1.0], dtype=F64))
    p.grad = None
    LF.l2_penalty([p]).backward()
    torch.testing.assert_close(p.grad, torch.tensor([-4.0, 0.0, 1.0], dtype=F64))
    q = torch.randn(3, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: LF.l2_penalty([x]), (q,))


def test_penalty_dtypes_and_empty():
    # float16 weights of 300: θ² = 90000 overflows float16 (max 65504) but the penalty is summed in float32
    h = torch.full((4,), 300.0, dtype=torch.float16)
    out = LF.l2_penalty([h])
    assert out.dtype == torch.float32 and float(out) == 4 * 90000.0
    assert LF.l1_penalty([h, torch.ones(2, dtype=F64)]).dtype == F64
    assert float(LF.l1_penalty([])) == 0.0 and float(LF.l2_penalty([])) == 0.0


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        (torch.nn.Linear(2, 2), TypeError, r"^l1_penalty: params must be a tensor or an iterable of tensors"),
        (
            torch.nn.Sequential(torch.nn.Linear(2, 2)),
            TypeError,
            r"^l1_penalty: params must hold tensors, got Linear "
            r"at position 0; pass model.parameters\(\)",
        ),
        (
            [torch.ones(2), torch.ones(2, dtype=torch.long)],
            TypeError,
            r"^l1_penalty: params must be floating-point tensors, got dtype torch.int64 at position 1",
        ),
        (3.0, TypeError, r"^l1_penalty: params must be a tensor or an iterable"),
        ("w", TypeError, r"^l1_penalty: params must be a tensor or an iterable"),
    ],
)
def test_penalty_errors(params, error, match):
    with pytest.raises(error, match=match):
        LF.l1_penalty(params)


# ---------------------------------------------------------------------------------------------------------
# the SPEC note: an L2 penalty under plain SGD is weight decay (with factor 2 since there is no ½); under Adam
# torch's coupled weight_decay is the same L2 penalty, while AdamW's decoupled decay is a different update


def _trajectory(opt_cls, lam, use_penalty, steps=5, **opt_kw):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    x, y = torch.randn(16, 3, dtype=F64), torch.randn(16, dtype=F64)
    opt = opt_cls(model.parameters(), lr=0.1, **opt_kw)
    obj = losskit.Objective(losskit.MSELoss(), model.parameters(), l2=lam if use_penalty else 0.0)
    for _ in range(steps):
        opt.zero_grad()
        obj(model(x).squeeze(1), y).backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_l2_penalty_with_sgd_is_weight_decay_2_lambda():
    lam = 0.05
    with_penalty = _trajectory(torch.optim.SGD, lam, True)
    with_decay = _trajectory(torch.optim.SGD, lam, False, weight_decay=2 * lam)
    torch.testing.assert_close(with_penalty, with_decay)
    # the factor matters: weight_decay = lam (as if the penalty had a ½) gives a different trajectory
    assert not torch.allclose(with_penalty, _trajectory(torch.optim.SGD, lam, False, weight_decay=lam))


def test_l2_penalty_with_adam_is_not_decoupled_weight_decay():
    lam = 0.05
    with_penalty = _trajectory(torch.optim.Adam, lam, True)
    # torch's Adam(weight_decay) adds wd·θ to the gradient: the same coupled L2 penalty
    torch.testing.assert_close(with_penalty, _trajectory(torch.optim.Adam, lam, False, weight_decay=2 * lam))
    # AdamW decays the weights outside the adaptive step: not an L2 penalty
    adamw = _trajectory(torch.optim.AdamW, lam, False, weight_decay=2 * lam)
    assert (with_penalty - adamw).abs().max() > 1e-4


# ---------------------------------------------------------------------------------------------------------
# Objective


def test_objective_value_and_components():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=F64))
    b = torch.nn.Parameter(torch.tensor([0.5], dtype=F64))
    obj = losskit.Objective(losskit.MSELoss(), [w, b], l1=0.1, l2=0.01)
    pred, y = torch.tensor([1.0, 2.0], dtype=F64), torch.tensor([1.5, 2.0], dtype=F64)
    # cost = (0.25 + 0) / 2 = 0.125 ; Σ|θ| = 3.5 ; Σθ² = 5.25 ; total = 0.125 + 0.35 + 0.0525 = 0.5275
    parts = obj.components(pred, y)
    assert set(parts) == {"cost", "l1", "l2", "total"}
    assert parts["cost"].item() == pytest.approx(0.125)
    assert parts["l1"].item() == pytest.approx(3.5)
    assert parts["l2"].item() == pytest.approx(5.25)
    assert parts["total"].item() == pytest.approx(0.5275)
    assert obj(pred, y).item() == pytest.approx(0.5275)
    # the penalty gradient: l1·sign θ + 2·l2·θ
    obj(pred, y).backward()
    torch.testing.assert_close(w.grad, torch.tensor([0.1 + 0.02, -0.1 - 0.04], dtype=F64))


def test_objective_does_not_register_the_parameters():
    model = torch.nn.Linear(4, 2)
    obj = losskit.Objective(losskit.L1Loss(), model.parameters(), l2=1e-3)
    assert list(obj.parameters()) == [] and obj.state_dict() == {}
    assert len(obj.params) == 2 and obj.params[0] is model.weight
    # the criterion is a sub-module; a plain function works too
    assert obj.criterion.__class__ is losskit.L1Loss
    f = losskit.Objective(lambda p, y: LF.l1_loss(p, y), [model.weight], l1=0.5)
    x, y = torch.randn(3, 2), torch.randn(3, 2)
    torch.testing.assert_close(f(x, y), LF.l1_loss(x, y) + 0.5 * model.weight.detach().abs().sum())
    # keyword arguments reach the criterion; zero weights add nothing
    plain = losskit.Objective(LF.l1_loss, [model.weight])
    wt = torch.rand(3, 2)
    torch.testing.assert_close(plain(x, y, weight=wt), LF.l1_loss(x, y, weight=wt))
    assert "l1=0, l2=0" in repr(plain)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"criterion": 3}, TypeError, r"^Objective: criterion must be a loss Module or function"),
        ({"l1": -0.1}, ValueError, r"^Objective: l1 must be in \[0, inf\)"),
        ({"l2": float("inf")}, ValueError, r"^Objective: l2 must be finite"),
        (
            {"params": [torch.ones(2, dtype=torch.long)]},
            TypeError,
            r"^Objective: params must be floating-point",
        ),
    ],
)
def test_objective_errors(kwargs, error, match):
    args = {"criterion": losskit.MSELoss(), "params": [torch.ones(2)], **kwargs}
    with pytest.raises(error, match=match):
        losskit.Objective(**args)


def test_objective_needs_a_scalar_cost():
    obj = losskit.Objective(losskit.MSELoss(reduction="none"), [torch.ones(2)], l2=0.1)
    with pytest.raises(ValueError, match=r"^Objective: criterion must return a 0-d cost .*, got \(3,\)"):
        obj(torch.zeros(3), torch.ones(3))
