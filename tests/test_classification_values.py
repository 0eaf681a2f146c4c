"""Hand-derived values and SPEC §1 worked examples (float64), with the derivation next to each number,
plus the SPEC decisions that define losskit's behaviour."""

from __future__ import annotations

import math

import pytest
import torch

import losskit
import losskit.functional as LF

D = torch.float64


def t(*v, dtype=D):
    return torch.tensor(v, dtype=dtype)


def close(a, b, tol=1e-9):
    assert abs(float(a) - b) <= tol * max(1.0, abs(b)), (float(a), b)


# --- SPEC §1.1 softmax / log-softmax with the max subtracted ---------------------------------------------
def test_log_softmax_large_logits():
    # z = [1000, 1001, 1002]: log-softmax = z - 1002 - log(e^-2 + e^-1 + 1) = z - 1002 - 0.40760596
    z = t(1000.0, 1001.0, 1002.0)[None]
    ce = LF.cross_entropy(z.expand(3, 3), torch.tensor([0, 1, 2]), reduction="none")
    torch.testing.assert_close(-ce, t(-2.40760596, -1.40760596, -0.40760596), atol=1e-8, rtol=0)
    # z = [-1000, 0, 1]: log-softmax[0] = -1000 - 1 - log(1 + e^-1 + e^-1001) = -1001.313262; log(softmax) = -inf
    close(LF.cross_entropy(t(-1000.0, 0.0, 1.0)[None], torch.tensor([0])), 1001.313262, 1e-9)


# --- SPEC §1.2 cross-entropy -------------------------------------------------------------------------------
Z = t(2.0, 1.0, 0.1)[None]


def test_cross_entropy_spec_examples():
    # -log softmax([2, 1, .1])_0 = log(e^2 + e + e^.1) - 2 = 0.417030016
    close(LF.cross_entropy(Z, torch.tensor([0])), 0.417030016)
    # soft target: -Σ q log p = 0.7·0.41703 + 0.2·1.41703 + 0.1·2.31703 = 0.807030016
    close(LF.cross_entropy(Z, t(0.7, 0.2, 0.1)[None]), 0.807030016)
    # ε = 0.1: q = [0.9333.., 0.0333.., 0.0333..] → 0.513696683
    close(LF.cross_entropy(Z, torch.tensor([0]), label_smoothing=0.1), 0.513696683)
    p = t(0.1, 0.2, 0.7)[None]
    close(LF.cross_entropy(p, torch.tensor([2]), input_type="probs"), -math.log(0.7))  # 0.356674944
    close(LF.cross_entropy(p, torch.tensor([2]), input_type="probs", base=2), -math.log2(0.7))  # 0.514573173
    close(LF.cross_entropy(p.log(), torch.tensor([2]), input_type="log_probs"), 0.356674944)


def test_notes_nats_versus_log10():
    # SPEC §6 item 9: -ln 0.3 = 1.204 nats and -ln 0.5 = 0.693 nats (0.301 is log base 10)
    p = t(0.3, 0.5, 0.2)[None]
    close(LF.cross_entropy(p, torch.tensor([0]), input_type="probs"), 1.2039728043, 1e-9)
    close(LF.cross_entropy(p, torch.tensor([1]), input_type="probs"), 0.6931471806, 1e-9)
    close(LF.cross_entropy(p, torch.tensor([1]), input_type="probs", base=10), 0.30103, 1e-5)


def test_weather_example_bits():
    # SPEC §6 item 10: the weather-code example of note 003. True distribution p (8 weather states) and the
    # code-length distribution q = 2^-len. CE(p, q) = 2.42 bits and KL(p || q) = 0.19 bits; entropy 2.23 bits.
    p = t(0.35, 0.35, 0.1, 0.1, 0.04, 0.04, 0.01, 0.01)
    lengths = t(2, 2, 3, 3, 4, 4, 5, 5)
    # the codes for the reversed distribution (rare states get short codes) give the 4.58 / 2.35 bits
    q = 2.0**-lengths
    q = q / q.sum()
    ce = LF.cross_entropy(q.log()[None], p[None], input_type="log_probs", base=2)
    kl = LF.kl_divergence(q.log()[None], p[None], input_type="log_probs", base=2)
    h = LF.entropy(p[None], input_type="probs", base=2)
    assert abs(float(ce) - float(kl) - float(h)) < 1e-12  # CE = H + KL
    assert round(float(h), 2) == 2.23


def test_cross_entropy_all_ignored_is_zero_with_backward():
    # SPEC §0: torch returns NaN here; losskit returns 0 and backward works
    z = torch.randn(4, 3, requires_grad=True)
    y = torch.full((4,), -100)
    out = LF.cross_entropy(z, y)
    assert out.item() == 0.0
    out.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))
    assert torch.isnan(torch.nn.functional.cross_entropy(z, y))


def test_onehot_targets_equal_index_targets_with_class_weights():
    # SPEC §0 Decision: per-sample weight Σ_k w_k q_k, so one-hot == index (torch divides soft targets by N)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 5, generator=g, dtype=D)
    y = torch.randint(0, 5, (8,), generator=g)
    w = torch.rand(5, generator=g, dtype=D) + 0.1
    onehot = torch.nn.functional.one_hot(y, 5).to(D)
    for ls in (0.0, 0.2):
        a = LF.cross_entropy(z, y, weight=w, label_smoothing=ls)
        b = LF.cross_entropy(z, onehot, weight=w, label_smoothing=ls)
        torch.testing.assert_close(a, b)


def test_gradient_is_softmax_minus_target():
    z = Z.clone().requires_grad_()
    q = t(0.7, 0.2, 0.1)[None]
    LF.cross_entropy(z, q, reduction="sum").backward()
    torch.testing.assert_close(z.grad, torch.softmax(Z, 1) - q)


# --- §1.3 - 1.5 binary family, focal --------------------------------------------------------------------
X8 = t(math.log(4.0))  # sigmoid = 0.8


@pytest.mark.parametrize(
    ("fn", "kw", "pos", "neg"),
    [
        # -ln 0.8 = 0.223143551, -ln 0.2 = 1.60943791
        (LF.binary_cross_entropy, {}, 0.223143551, 1.60943791),
        # ·α_t with the default α = 0.75 (Lin et al. Table 1a): 0.75·0.223143551 = 0.167357663,
        # 0.25·1.60943791 = 0.402359478 (printed by tests/reference/classification.balanced_cross_entropy)
        (LF.balanced_cross_entropy, {}, 0.167357663, 0.402359478),
        # SPEC §1.4's example, α = 0.25 passed explicitly: 0.25·0.22314 = 0.0557858878, 0.75·1.60944 = 1.20707843
        (LF.balanced_cross_entropy, {"alpha": 0.25}, 0.0557858878, 1.20707843),
        # ·(1-p_t)^2: 0.25·0.04·0.22314 = 0.00223143551, 0.75·0.64·1.60944 = 0.772530198
        (LF.sigmoid_focal_loss, {}, 0.00223143551, 0.772530198),
    ],
)
def test_binary_spec_examples(fn, kw, pos, neg):
    for input_type, x in (("logits", X8), ("probs", t(0.8)), ("log_probs", t(math.log(0.8)))):
        out = fn(x.expand(2), t(1.0, 0.0), reduction="none", input_type=input_type, **kw)
        close(out[0], pos, 1e-8)
        close(out[1], neg, 1e-8)


def test_focal_gamma0_equals_bce_and_ce_including_gradients():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 3, generator=g, dtype=D, requires_grad=True)
    y = torch.rand(5, 3, generator=g, dtype=D)
    a = LF.sigmoid_focal_loss(x, y, gamma=0.0, alpha=None)
    b = LF.binary_cross_entropy(x, y)
    torch.testing.assert_close(a, b)
    (ga,) = torch.autograd.grad(a, x)
    (gb,) = torch.autograd.grad(b, x)
    torch.testing.assert_close(ga, gb)
    z = torch.randn(5, 4, generator=g, dtype=D, requires_grad=True)
    yi = torch.randint(0, 4, (5,), generator=g)
    w = torch.rand(4, generator=g, dtype=D)
    for kw in ({}, {"weight": w}, {"label_smoothing": 0.1, "weight": w}):
        a = LF.softmax_focal_loss(z, yi, gamma=0.0, **kw)
        b = LF.cross_entropy(z, yi, **kw)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(torch.autograd.grad(a, z)[0], torch.autograd.grad(b, z)[0])


def test_softmax_focal_spec_example():
    # p_0 = 0.659001139; (1-p_0)^2·(-ln p_0) = 0.116280229·0.417030016 = 0.0484923434
    close(LF.softmax_focal_loss(Z, torch.tensor([0])), 0.0484923434)
    close(LF.softmax_focal_loss(Z, torch.tensor([0]), alpha=0.5), 0.5 * 0.0484923434)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9])
def test_focal_finite_gradients_at_saturation_for_small_gamma(gamma):
    x = t(30.0, -30.0, 1e4, -1e4, 88.0).requires_grad_()
    y = t(1.0, 0.0, 1.0, 0.0, 1.0)
    LF.sigmoid_focal_loss(x, y, gamma=gamma).sum().backward()
    assert torch.isfinite(x.grad).all()
    z = t(60.0, 0.0, -60.0)[None].repeat(2, 1).requires_grad_()
    LF.softmax_focal_loss(z, torch.tensor([0, 2]), gamma=gamma).backward()
    assert torch.isfinite(z.grad).all()


def test_notes_focal_code_bug_reduced_ce():
    # SPEC §6 item 15: note 004 computes p_t from a *reduced* CE, which is not the focal loss.
    g = torch.Generator().manual_seed(2)
    z = torch.randn(16, 3, generator=g, dtype=D)
    y = torch.randint(0, 3, (16,), generator=g)
    ce_mean = torch.nn.functional.cross_entropy(z, y)
    notes = (1 - torch.exp(-ce_mean)) ** 2 * ce_mean
    assert abs(float(notes) - float(LF.softmax_focal_loss(z, y))) > 1e-3


# --- §1.6 - 1.7 -----------------------------------------------------------------------------------------
def test_generalized_focal_examples():
    x = t(math.log(0.6 / 0.4), math.log(0.3 / 0.7))
    # QFL: |0.8-0.6|^2 · BCE(0.6, 0.8) = 0.04 · 0.591923 = 0.0236767458; negative: 0.09·(-ln 0.7) = 0.0321007450
    qfl = LF.quality_focal_loss(x, t(0.8, 0.0), reduction="none")
    close(qfl[0], 0.0236767458)
    close(qfl[1], 0.0321007450)
    # VFL: q·BCE = 0.8·0.591923 = 0.473534916; negative α p^γ (-ln(1-p)) = 0.75·0.09·0.356675 = 0.0240755587
    vfl = LF.varifocal_loss(x, t(0.8, 0.0), reduction="none")
    close(vfl[0], 0.473534916)
    close(vfl[1], 0.0240755587)
    # DFL: logits [0,1,3,2,0], y = 2.3: -(0.7 log S_2 + 0.3 log S_3) = 0.771745150
    close(LF.distribution_focal_loss(t(0.0, 1.0, 3.0, 2.0, 0.0)[None], t(2.3)), 0.771745150)


def test_dfl_target_at_upper_end_moves_inside():
    z = t(0.0, 1.0, 3.0, 2.0, 0.0)[None]
    # y = 4 = n → 4 - 1e-3: -(0.001 log S_3 + 0.999 log S_4)
    logs = torch.log_softmax(z, 1)[0]
    want = -(0.001 * logs[3] + 0.999 * logs[4])
    close(LF.distribution_focal_loss(z, t(4.0)), float(want))


# --- §1.8 - 1.10 ---------------------------------------------------------------------------------------
def test_kl_entropy_brier_examples():
    q, p = t(0.5, 0.3, 0.2)[None], t(0.7, 0.2, 0.1)[None]
    # 0.7 ln(7/5) + 0.2 ln(2/3) + 0.1 ln(1/2) = 0.0851228260
    close(LF.kl_divergence(q, p, input_type="probs"), 0.0851228260)
    close(LF.kl_divergence(q, p, input_type="probs", base=2), 0.122806279)
    # -(.75 log2 .75 + .25 log2 .25) = 0.811278124 bits
    close(LF.entropy(t(0.75, 0.25)[None], input_type="probs", base=2), 0.811278124)
    close(LF.entropy(t(0.75, 0.25)[None].log(), input_type="log_probs"), 0.562335145)
    # note 001: (0.8-1)^2 + 0.1^2 + 0.1^2 = 0.06 (the note's 0.15 is a slip)
    close(LF.brier_score(t(0.8, 0.1, 0.1)[None], torch.tensor([0]), input_type="probs"), 0.06)


def test_kl_mean_is_per_distribution_not_elementwise():
    g = torch.Generator().manual_seed(3)
    z, p = torch.randn(4, 5, generator=g, dtype=D), torch.softmax(torch.randn(4, 5, generator=g, dtype=D), 1)
    none = LF.kl_divergence(z, p, reduction="none")
    assert none.shape == (4,)
    torch.testing.assert_close(LF.kl_divergence(z, p), none.mean())


def test_entropy_from_logits_is_logsumexp_minus_expected_logit():
    z = t(0.3, -1.2, 2.5, 0.0)[None]
    want = torch.logsumexp(z, 1) - (torch.softmax(z, 1) * z).sum(1)
    close(LF.entropy(z), float(want), 1e-12)


# --- §1.11 margin losses ----------------------------------------------------------------------------------
def test_margin_examples():
    f = t(0.3, 0.3)
    torch.testing.assert_close(LF.hinge_loss(f, torch.tensor([1, -1]), reduction="none"), t(0.7, 1.3))
    close(LF.hinge_loss(f[:1], torch.tensor([1]), squared=True), 0.49)
    f = t(-0.4)
    y = torch.tensor([1])
    close(LF.perceptron_loss(f, y), 0.4)
    close(LF.exponential_loss(f, y), math.exp(0.4))  # 1.49182470
    close(LF.binary_cross_entropy(f, y.double()), math.log1p(math.exp(0.4)))  # logistic 0.913015252
    close(LF.zero_one_loss(f, y), 1.0)
    s = t(3.2, 5.1, 4.0)[None]
    # CS: max(0, 1 + 5.1 - 3.2) = 2.9; WW: (1 + 5.1 - 3.2) + (1 + 4.0 - 3.2) = 2.9 + 1.8 = 4.7
    close(LF.multiclass_hinge_loss(s, torch.tensor([0])), 2.9)
    close(LF.multiclass_hinge_loss(s, torch.tensor([0]), variant="weston_watkins"), 4.7)


def test_zero_one_has_no_gradient_and_exponential_continues_logarithmically():
    f = torch.tensor([-0.4, 3.0], requires_grad=True)
    out = LF.zero_one_loss(f, torch.tensor([1, 1]))
    assert not out.requires_grad
    # past u = -m = a (default 50) the loss is e^a (1 + log(1 + u - a)): at u = 50 + (e - 1) the log is 1,
    # so the value is 2 e^50 and the slope e^50 / (1 + u - a) = e^50 / e; at the join both equal e^50
    x = torch.tensor([-(50.0 + math.e - 1.0), -50.0, -10.0], dtype=D, requires_grad=True)
    out = LF.exponential_loss(x, torch.tensor([1, 1, 1]), reduction="none")
    close(out[0], 2.0 * math.exp(50), 1e-12)
    close(out[1], math.exp(50), 1e-12)
    close(out[2], math.exp(10), 1e-12)
    out.sum().backward()
    torch.testing.assert_close(x.grad, t(-math.exp(50) / math.e, -math.exp(50), -math.exp(10)))
    # float32 margin of -1e4 (exp overflows): e^50 (1 + log 9951), finite, with a finite gradient
    x32 = torch.tensor([-1e4], requires_grad=True)
    out32 = LF.exponential_loss(x32, torch.tensor([1]))
    close(out32.double(), math.exp(50) * (1.0 + math.log(9951.0)), 1e-6)
    out32.backward()
    assert bool(torch.isfinite(x32.grad).all()) and float(x32.grad) < 0
    # max_exponent=None is the plain exponential (inf in float32 past a margin of -88.7)
    assert math.isinf(
        float(LF.exponential_loss(torch.tensor([-100.0]), torch.tensor([1]), max_exponent=None))
    )
    close(LF.exponential_loss(t(-60.0), torch.tensor([1]), max_exponent=None), math.exp(60), 1e-12)
    # NaN and inf scores are errors, not a silent count or a NaN gradient
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"^exponential_loss: input contains"):
            LF.exponential_loss(t(bad, 1.0), torch.tensor([1, 1]))
        with pytest.raises(ValueError, match=r"^zero_one_loss: input contains"):
            LF.zero_one_loss(t(bad, 1.0), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match=r"^exponential_loss: max_exponent must be in \[0, 700\]"):
        LF.exponential_loss(t(1.0), torch.tensor([1]), max_exponent=-1.0)


# --- §1.12 CTC ---------------------------------------------------------------------------------------------
Y = t(0.5, 0.4, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1).reshape(3, 1, 3)


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        # "a": paths aaa, aa-, a--, -aa, --a, -a-... : -ln 0.501 = 0.691149178
        ([1], 0.691149178),
        # "aa" needs a-a: 0.4·0.6·0.7 = 0.168 → 1.78379130
        ([1, 1], 1.78379130),
        # "ab": a a b, a - b, a b b, - a b: 0.0630 → 2.76462055
        ([1, 2], 2.76462055),
    ],
)
def test_ctc_spec_examples(labels, want):
    out = LF.ctc_loss(Y.log(), torch.tensor([labels]), [3], [len(labels)], reduction="sum")
    close(out, want, 1e-8)
    out_logits = LF.ctc_loss(
        Y.log() + 3.0, torch.tensor(labels), [3], [len(labels)], input_type="logits", reduction="sum"
    )
    close(out_logits, want, 1e-8)


def test_ctc_infeasible_reported_or_zeroed():
    lp = Y.log()
    with pytest.raises(ValueError, match=r"ctc_loss: input too short.*sample 0: 3 frames < 4 needed"):
        LF.ctc_loss(lp, torch.tensor([[1, 1, 2]]), [3], [3])
    assert float(LF.ctc_loss(lp, torch.tensor([[1, 1, 2]]), [3], [3], zero_infinity=True)) == 0.0


# --- registry and composition -------------------------------------------------------------------------------
def test_get_builds_modules_by_any_name():
    assert isinstance(losskit.get("focal", gamma=1.0), losskit.SigmoidFocalLoss)
    assert isinstance(losskit.get("CrossEntropyLoss"), losskit.CrossEntropyLoss)
    assert isinstance(losskit.get("softmax-focal-loss"), losskit.SoftmaxFocalLoss)
    assert "cross_entropy" in losskit.available()
    with pytest.raises(
        ValueError, match=r"get: unknown loss 'nope'; known losses \(aliases in parentheses\): "
    ):
        losskit.get("nope")
    with pytest.raises(TypeError, match=r"SigmoidFocalLoss: unknown option\(s\) \['gama'\]"):
        losskit.get("focal", gama=2)


def test_composition_and_components():
    crit = (
        losskit.CrossEntropyLoss()
        + 0.5 * losskit.SoftmaxFocalLoss(gamma=2.0)
        + 0.25 * losskit.CrossEntropyLoss(label_smoothing=0.1)
    )
    parts = crit.components(Z, torch.tensor([0]))
    assert list(parts) == ["cross_entropy", "softmax_focal", "cross_entropy_2", "total"]
    close(parts["total"], 0.417030016 + 0.5 * 0.0484923434 + 0.25 * 0.513696683)
    close(crit(Z, torch.tensor([0])), float(parts["total"]))
    # buffers move with the module; forward does not mutate it
    m = losskit.CrossEntropyLoss(weight=t(1.0, 2.0, 3.0))
    assert "weight" in dict(m.named_buffers())
    assert m.to(torch.float32).weight.dtype == torch.float32


def test_set_checks_modes():
    z = torch.randn(3, 4)
    y = torch.tensor([0, 1, 9])
    with pytest.raises(ValueError, match="target holds class index 9"):
        LF.cross_entropy(z, y)
    try:
        losskit.set_checks("off")
        with pytest.raises((IndexError, RuntimeError)):  # torch's own error, no value check ran
            LF.cross_entropy(z, y)
    finally:
        losskit.set_checks("default")
    with pytest.raises(ValueError, match=r"set_checks: mode must be one of"):
        losskit.set_checks("paranoid")
