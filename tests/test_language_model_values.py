"""Hand-derived values and pinned conventions of the language-model losses.

Each expected number is derived in the test (the derivation is written next to it) or comes from an
identity the docstrings promise. The generic checks (float64 references for every option and reduction,
gradcheck, extremes, half precision, compile, error messages) run in tests/test_battery.py.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import losskit
from losskit.functional import (
    distillation_kl_loss,
    dpo_loss,
    jsd_loss,
    kl_divergence,
    kto_loss,
    orpo_loss,
    sequence_log_probs,
    simpo_loss,
)

D = torch.float64


def t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=D)


# ---------------------------------------------------------------------------------------------------------
# distillation_kl_loss


def test_kd_two_token_hand_values() -> None:
    # teacher logits (ln 3, 0) -> p_T = (3/4, 1/4); student logits (0, 0) -> p_S = (1/2, 1/2)
    teacher, student = t(math.log(3.0), 0.0)[None], t(0.0, 0.0)[None]
    forward = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)  # KL(p_T || p_S) = 0.130812...
    reverse = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)  # KL(p_S || p_T) = 0.143841...
    assert distillation_kl_loss(student, teacher).item() == pytest.approx(forward, rel=1e-12)
    assert distillation_kl_loss(student, teacher, direction="reverse").item() == pytest.approx(
        reverse, rel=1e-12
    )
    # at T = 2 the teacher logits (2 ln 3, 0) give the same p_T, and the loss is scaled by T^2 = 4
    t2 = t(2.0 * math.log(3.0), 0.0)[None]
    assert distillation_kl_loss(student, t2, temperature=2.0).item() == pytest.approx(4 * forward, rel=1e-12)


def test_kd_is_zero_at_the_teacher_and_follows_kl_divergence() -> None:
    g = torch.Generator().manual_seed(0)
    s, te = torch.randn(3, 4, 7, generator=g, dtype=D), torch.randn(3, 4, 7, generator=g, dtype=D)
    assert distillation_kl_loss(te, te, reduction="none").abs().max().item() < 1e-15
    # forward = KL(teacher || student) = losskit's kl_divergence(student, teacher-as-logits) on the vocab dim
    want = kl_divergence(s, te, target_type="logits", dim=-1, reduction="none")
    torch.testing.assert_close(distillation_kl_loss(s, te, reduction="none"), want)
    want_rev = kl_divergence(te, s, target_type="logits", dim=-1, reduction="none")
    torch.testing.assert_close(distillation_kl_loss(s, te, direction="reverse", reduction="none"), want_rev)


def test_kd_t_squared_keeps_the_gradient_scale_at_high_temperature() -> None:
    # Hinton et al., section 2.1: for T >> |z|, d/dz_S [T^2 KL(p_T || p_S)] = T (p_S - p_T) -> ((z_S - mean z_S) -
    # (z_T - mean z_T)) / V, independent of T.
    zs, zt = t(1.0, -0.5, 0.25, 2.0)[None], t(0.0, 1.5, -1.0, 0.5)[None]
    want = ((zs - zs.mean()) - (zt - zt.mean())) / 4
    for temperature in (200.0, 2000.0):
        x = zs.clone().requires_grad_(True)
        distillation_kl_loss(x, zt, temperature=temperature).backward()
        torch.testing.assert_close(x.grad, want, rtol=2e-2, atol=1e-4)


def test_kd_ignore_index_and_fully_ignored_batch() -> None:
    g = torch.Generator().manual_seed(1)
    s, te = torch.randn(2, 3, 5, generator=g, dtype=D), torch.randn(2, 3, 5, generator=g, dtype=D)
    labels = torch.tensor([[-100, 1, 2], [3, -100, -100]])
    per_token = distillation_kl_loss(s, te, reduction="none")
    got = distillation_kl_loss(s, te, labels=labels)
    kept = labels != -100
    assert got.item() == pytest.approx(per_token[kept].mean().item(), rel=1e-12)
    assert (distillation_kl_loss(s, te, labels=labels, reduction="none")[~kept] == 0).all()
    x = s.clone().requires_grad_(True)
    out = distillation_kl_loss(x, te, labels=torch.full((2, 3), -100))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and (x.grad == 0).all()
    # a normalizer replaces the kept-token count (gradient accumulation over several micro-batches)
    n = distillation_kl_loss(s, te, labels=labels, normalizer=10.0)
    assert n.item() == pytest.approx(per_token[kept].sum().item() / 10.0, rel=1e-12)


def test_kd_teacher_is_not_detached_and_labels_of_any_int_dtype() -> None:
    s = torch.randn(4, 6, dtype=D)
    te = torch.randn(4, 6, dtype=D, requires_grad=True)
    distillation_kl_loss(s, te).backward()
    assert te.grad is not None and te.grad.abs().sum() > 0
    y = torch.tensor([0, -100, 2, 5])
    ref = distillation_kl_loss(s, te.detach(), labels=y)
    for dtype in (torch.int8, torch.int16, torch.int32):
        assert distillation_kl_loss(s, te.detach(), labels=y.to(dtype)).item() == pytest.approx(ref.item())


# ---------------------------------------------------------------------------------------------------------
# jsd_loss: the TRL / Liger convention, pinned


def test_jsd_hand_values() -> None:
    p, q = t(1.0, 0.0)[None], t(0.5, 0.5)[None]
    # beta = 1/2: M = (3/4, 1/4); ½ KL(P||M) + ½ KL(Q||M) = ½ ln(4/3) + ¼ ln(2/3) + ¼ ln 2 = ¾ ln(4/3)
    assert jsd_loss(q, p, input_type="probs").item() == pytest.approx(0.75 * math.log(4 / 3), rel=1e-12)
    # beta = 0.9 weights the TARGET (teacher) P: M = 0.9 P + 0.1 Q = (0.95, 0.05)
    kl_p = -math.log(0.95)
    kl_q = 0.5 * math.log(0.5 / 0.95) + 0.5 * math.log(0.5 / 0.05)
    want = 0.9 * kl_p + 0.1 * kl_q
    assert jsd_loss(q, p, beta=0.9, input_type="probs").item() == pytest.approx(want, rel=1e-12)
    # had beta weighted the input instead, M would be (0.55, 0.45) and the value quite different
    other = 0.9 * (0.5 * math.log(0.5 / 0.55) + 0.5 * math.log(0.5 / 0.45)) + 0.1 * -math.log(0.55)
    assert abs(want - other) > 0.05
    # disjoint supports attain the bound: JSD_beta = H(beta) = -beta ln beta - (1-beta) ln(1-beta)
    b = 0.1
    h = -b * math.log(b) - (1 - b) * math.log(1 - b)
    assert jsd_loss(t(0.0, 1.0)[None], p, beta=b, input_type="probs").item() == pytest.approx(h, rel=1e-9)


def test_jsd_end_points_are_forward_and_reverse_kl_and_not_a_limit() -> None:
    g = torch.Generator().manual_seed(2)
    s, te = torch.randn(3, 5, 8, generator=g, dtype=D), torch.randn(3, 5, 8, generator=g, dtype=D)
    fwd = distillation_kl_loss(s, te, reduction="none")
    rev = distillation_kl_loss(s, te, direction="reverse", reduction="none")
    torch.testing.assert_close(
        jsd_loss(s, te, beta=0.0, reduction="none"), fwd
    )  # TRL: beta == 0 -> KL(T || S)
    torch.testing.assert_close(
        jsd_loss(s, te, beta=1.0, reduction="none"), rev
    )  # TRL: beta == 1 -> KL(S || T)
    # near the end points the mixture formula is ≈ beta · KL(T || S) -> 0: a definitional switch at 0
    b = 1e-6
    torch.testing.assert_close(jsd_loss(s, te, beta=b, reduction="none"), b * fwd, rtol=1e-4, atol=0)
    torch.testing.assert_close(jsd_loss(s, te, beta=1 - b, reduction="none"), b * rev, rtol=1e-4, atol=0)


def test_jsd_symmetries_and_bound() -> None:
    g = torch.Generator().manual_seed(3)
    s, te = 3 * torch.randn(4, 6, generator=g, dtype=D), 3 * torch.randn(4, 6, generator=g, dtype=D)
    for b in (0.0, 0.2, 0.5, 0.7, 1.0):
        torch.testing.assert_close(
            jsd_loss(s, te, beta=b, reduction="none"), jsd_loss(te, s, beta=1 - b, reduction="none")
        )
        if 0 < b < 1:
            bound = -b * math.log(b) - (1 - b) * math.log(1 - b)
            assert jsd_loss(s, te, beta=b, reduction="none").max().item() <= bound + 1e-12
    assert jsd_loss(s, te, beta=0.5, reduction="none").max().item() <= math.log(2)


def test_jsd_temperature_divides_logits_without_t_squared() -> None:
    g = torch.Generator().manual_seed(4)
    s, te = torch.randn(5, 7, generator=g, dtype=D), torch.randn(5, 7, generator=g, dtype=D)
    torch.testing.assert_close(jsd_loss(s, te, temperature=2.0, beta=0.3), jsd_loss(s / 2, te / 2, beta=0.3))


def test_jsd_class_maps_with_dim_1() -> None:
    g = torch.Generator().manual_seed(5)
    s, te = torch.randn(2, 4, 3, 3, generator=g, dtype=D), torch.randn(2, 4, 3, 3, generator=g, dtype=D)
    got = jsd_loss(s, te, dim=1, reduction="none")
    want = jsd_loss(s.movedim(1, -1), te.movedim(1, -1), reduction="none")
    assert got.shape == (2, 3, 3)
    torch.testing.assert_close(got, want)


# ---------------------------------------------------------------------------------------------------------
# sequence_log_probs


def test_sequence_log_probs_hand_values_and_no_shift() -> None:
    probs = t(0.5, 0.25, 0.25, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6).reshape(1, 3, 3)
    labels = torch.tensor([[0, 1, -100]])
    # position t scores labels[t] (no shift): log 0.5 + log 0.8, the third position ignored
    got = sequence_log_probs(probs.log(), labels)
    assert got.item() == pytest.approx(math.log(0.5) + math.log(0.8), rel=1e-12)
    assert sequence_log_probs(probs.log(), labels, average=True).item() == pytest.approx(
        (math.log(0.5) + math.log(0.8)) / 2, rel=1e-12
    )
    # un-normalised logits give the same answer (log-softmax inside)
    assert sequence_log_probs(probs.log() + 7.0, labels).item() == pytest.approx(got.item(), rel=1e-12)


def test_sequence_log_probs_equals_torch_cross_entropy_and_accepts_int_dtypes() -> None:
    g = torch.Generator().manual_seed(6)
    logits = torch.randn(3, 7, 11, generator=g, dtype=D)
    labels = torch.randint(0, 11, (3, 7), generator=g)
    labels[0, :3] = -100
    labels[2, :] = -100
    ce = F.cross_entropy(
        logits.transpose(1, 2), labels, reduction="none", ignore_index=-100
    )  # (3, 7), 0 ignored
    torch.testing.assert_close(sequence_log_probs(logits, labels), -ce.sum(1))
    avg = sequence_log_probs(logits, labels, average=True)
    torch.testing.assert_close(avg[:2], -ce.sum(1)[:2] / (labels[:2] != -100).sum(1))
    assert avg[2].item() == 0.0  # no kept token: 0, not NaN
    for dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
        y = labels.clamp(min=0).to(dtype)
        torch.testing.assert_close(sequence_log_probs(logits, y), sequence_log_probs(logits, y.long()))
    # the usual causal-LM shift is the caller's: logits[:, :-1] scores labels[:, 1:]
    shifted = sequence_log_probs(logits[:, :-1], labels[:, 1:])
    ce_shift = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    torch.testing.assert_close(shifted, -ce_shift.sum(1))


def test_sequence_log_probs_half_gradients_extremes_and_errors() -> None:
    logits = torch.tensor([[[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]], dtype=D, requires_grad=True)
    out = sequence_log_probs(logits, torch.tensor([[1, 2]]))
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(logits.grad).all()
    assert out.item() == pytest.approx(-2e4 - math.log(2), rel=1e-12)
    half = torch.randn(2, 4, 9).to(torch.bfloat16)
    y = torch.randint(0, 9, (2, 4))
    assert sequence_log_probs(half, y).dtype == torch.float32
    small = torch.randn(2, 3, 4, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z: sequence_log_probs(z, torch.tensor([[0, 3, -100], [1, 1, 2]]), average=True), (small,)
    )
    with pytest.raises(ValueError, match=r"^sequence_log_probs: labels must have shape \(2, 4\)"):
        sequence_log_probs(half, y[:, :3])
    with pytest.raises(
        ValueError,
        match=r"^sequence_log_probs: labels holds class index 9, expected indices in "
        r"\[0, 8\] \(or ignore_index=-100\)",
    ):
        sequence_log_probs(half, y.masked_fill(y == y[0, 0], 9))
    with pytest.raises(TypeError, match=r"^sequence_log_probs: labels must be an integer tensor"):
        sequence_log_probs(half, y.float())
    with pytest.raises(ValueError, match=r"^sequence_log_probs: logits must have shape \(\*, T, V\)"):
        sequence_log_probs(torch.randn(5), torch.zeros((), dtype=torch.long))
    with pytest.raises(ValueError, match=r"^sequence_log_probs: logits contains NaN"):
        sequence_log_probs(torch.full((1, 2, 3), float("nan")), torch.zeros(1, 2, dtype=torch.long))


# ---------------------------------------------------------------------------------------------------------
# DPO / IPO / hinge


def test_dpo_hand_values() -> None:
    pc, pr = t(-12.0, -9.0, -30.0), t(-15.0, -8.0, -2.0)
    # policy == reference: h = 0 -> -log σ(0) = ln 2 (sigmoid, any β, any ε); hinge max(0, 1 - 0) = 1;
    # IPO (0 - 1/(2β))² = 1/(4β²)
    assert dpo_loss(pc, pr, pc, pr).item() == pytest.approx(math.log(2), rel=1e-12)
    assert dpo_loss(pc, pr, pc, pr, label_smoothing=0.3).item() == pytest.approx(math.log(2), rel=1e-12)
    assert dpo_loss(pc, pr, pc, pr, loss_type="hinge").item() == 1.0
    assert dpo_loss(pc, pr, pc, pr, loss_type="ipo", beta=0.1).item() == pytest.approx(25.0, rel=1e-12)
    # h = 2 ln 3 / β makes βh = 2 ln 3: -log σ(2 ln 3) = ln(1 + 1/9) = ln(10/9)
    b = 0.1
    h = 2 * math.log(3) / b
    rc, rr = pc - h / 2, pr + h / 2
    loss = dpo_loss(pc, pr, rc, rr, beta=b, reduction="none")
    torch.testing.assert_close(loss, torch.full((3,), math.log(10 / 9), dtype=D))
    # cDPO with ε = 0.25: 0.75 ln(10/9) + 0.25 ln(1 + 9) = 0.75 ln(10/9) + 0.25 ln 10
    cdpo = dpo_loss(pc, pr, rc, rr, beta=b, label_smoothing=0.25)
    assert cdpo.item() == pytest.approx(0.75 * math.log(10 / 9) + 0.25 * math.log(10), rel=1e-12)
    # hinge: 1 - βh = 1 - 2 ln 3 < 0 -> 0; IPO: (h - 5)²
    assert dpo_loss(pc, pr, rc, rr, beta=b, loss_type="hinge").item() == 0.0
    assert dpo_loss(pc, pr, rc, rr, beta=b, loss_type="ipo").item() == pytest.approx((h - 5) ** 2, rel=1e-12)


def test_dpo_gradient_pushes_chosen_up_and_rejected_down() -> None:
    # at h = 0: d/d pc [-log σ(β h)] = -β σ(-β h) = -β/2, and +β/2 for the rejected log-prob
    pc, pr = t(-5.0, -6.0).requires_grad_(True), t(-7.0, -3.0).requires_grad_(True)
    dpo_loss(pc, pr, pc.detach(), pr.detach(), beta=0.2, reduction="sum").backward()
    torch.testing.assert_close(pc.grad, torch.full((2,), -0.1, dtype=D))
    torch.testing.assert_close(pr.grad, torch.full((2,), 0.1, dtype=D))


def test_dpo_return_rewards_is_a_fixed_tuple() -> None:
    pc, pr = t(-12.0, -9.0).requires_grad_(True), t(-15.0, -8.0)
    rc, rr = t(-13.0, -9.5), t(-14.0, -8.5)
    plain = dpo_loss(pc, pr, rc, rr, beta=0.5)
    out = dpo_loss(pc, pr, rc, rr, beta=0.5, return_rewards=True)
    assert isinstance(plain, torch.Tensor) and isinstance(out, tuple) and len(out) == 3
    loss, chosen, rejected = out
    torch.testing.assert_close(loss, plain)
    torch.testing.assert_close(chosen, t(0.5 * 1.0, 0.5 * 0.5))  # β (pc - rc)
    torch.testing.assert_close(rejected, t(0.5 * -1.0, 0.5 * 0.5))  # β (pr - rr)
    assert not chosen.requires_grad and not rejected.requires_grad


# ---------------------------------------------------------------------------------------------------------
# SimPO, ORPO


def test_simpo_hand_values_and_trl_gamma_convention() -> None:
    c, r = t(-0.5, -0.9), t(-1.0, -1.2)
    # defaults β = 2, γ = 1: u = 2 (c - r) - 1 = (0, -0.4)
    want = [math.log(2), math.log1p(math.exp(0.4))]
    torch.testing.assert_close(simpo_loss(c, r, reduction="none"), t(*want))
    # TRL's CPOTrainer (loss_type="simpo") subtracts simpo_gamma / beta from the log-prob margin, then scales by
    # beta: -log σ(β ((c - r) - γ/β)), the same number for the same (β, γ)
    b, g = 0.1, 0.5
    trl = -F.logsigmoid(b * ((c - r) - g / b))
    torch.testing.assert_close(simpo_loss(c, r, beta=b, gamma=g, reduction="none"), trl)
    _, cr, rr = simpo_loss(c, r, return_rewards=True)
    torch.testing.assert_close(cr, 2.0 * c)
    torch.testing.assert_close(rr, 2.0 * r)


def test_orpo_hand_values_and_batch_nll() -> None:
    # P_w = 1/2 (odds 1), P_l = 1/4 (odds 1/3): log odds ratio ln 3, -log σ(ln 3) = ln(1 + 1/3) = ln(4/3)
    c, r = t(math.log(0.5)), t(math.log(0.25))
    assert orpo_loss(c, r).item() == pytest.approx(-math.log(0.5) + 0.1 * math.log(4 / 3), rel=1e-12)
    # a 0-d batch NLL (TRL's token mean over the chosen answers) is added to every pair
    c2, r2 = t(math.log(0.5), math.log(0.2)), t(math.log(0.25), math.log(0.4))
    lor = torch.log((c2.exp() / (1 - c2.exp())) / (r2.exp() / (1 - r2.exp())))
    trl = 1.7 - 0.3 * F.logsigmoid(lor).mean()
    torch.testing.assert_close(orpo_loss(c2, r2, chosen_nll=t(1.7).squeeze(), beta=0.3), trl)


def test_orpo_is_accurate_near_certain_answers() -> None:
    # an average log-prob of x = -1e-10 has log(1 - e^x) = log(1e-10 - 5e-21) ≈ -23.0258509; forming 1 - e^x
    # directly (TRL's log1p(-exp(x))) keeps only ~7 correct digits of it, log1mexp all of them
    c, r = t(-1e-10), t(math.log(0.5))
    log_odds = (c.item() - r.item()) - (math.log(-math.expm1(c.item())) - math.log(-math.expm1(r.item())))
    want = 1e-10 + 0.1 * math.log1p(math.exp(-log_odds))
    assert orpo_loss(c, r).item() == pytest.approx(want, rel=1e-12)
    # exactly 0 (a certain answer) stays finite, with finite gradients
    x = t(0.0, -2.0).requires_grad_(True)
    out = orpo_loss(x, t(-1.0, -1.0))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all()


# ---------------------------------------------------------------------------------------------------------
# KTO


def test_kto_hand_values_and_reference_point() -> None:
    policy, ref = t(-10.0, -10.0, -4.0), t(-12.0, -12.0, -4.0)
    d = torch.tensor([True, False, True])
    # r = (2, 2, 0), z0 = 0, β = 0.5: desirable 1 - σ(1), undesirable 1 - σ(-1), desirable at r = 0: 1/2
    s1 = 1 / (1 + math.exp(-1))
    torch.testing.assert_close(kto_loss(policy, ref, d, beta=0.5, reduction="none"), t(1 - s1, s1, 0.5))
    # λ_D = 4/3, λ_U = 1/2 scale the two groups
    torch.testing.assert_close(
        kto_loss(policy, ref, d, beta=0.5, desirable_weight=4 / 3, undesirable_weight=0.5, reduction="none"),
        t(4 / 3 * (1 - s1), 0.5 * s1, 4 / 3 * 0.5),
    )
    # z0 = max(0, mean(KL log-ratios)) = mean(2, 2) = 2: every r = 2 sits at the reference point
    kl_p, kl_r = t(-20.0, -21.0), t(-22.0, -23.0)
    out = kto_loss(policy, ref, d, policy_kl_logps=kl_p, reference_kl_logps=kl_r, beta=0.5, reduction="none")
    torch.testing.assert_close(out[:2], t(0.5, 0.5))
    # a negative KL estimate is clamped to 0: the same as no KL inputs
    torch.testing.assert_close(
        kto_loss(policy, ref, d, policy_kl_logps=kl_r, reference_kl_logps=kl_p, reduction="none"),
        kto_loss(policy, ref, d, reduction="none"),
    )
    _loss, rewards, z0 = kto_loss(
        policy, ref, d, policy_kl_logps=kl_p, reference_kl_logps=kl_r, beta=0.5, return_rewards=True
    )
    torch.testing.assert_close(rewards, t(1.0, 1.0, 0.0))
    assert z0.shape == () and z0.item() == 2.0


def test_kto_reference_point_is_detached() -> None:
    policy = t(-10.0, -11.0).requires_grad_(True)
    kl_p = t(-20.0, -19.0).requires_grad_(True)
    out = kto_loss(
        policy,
        t(-12.0, -10.0),
        torch.tensor([True, False]),
        policy_kl_logps=kl_p,
        reference_kl_logps=t(-22.0, -23.0),
    )
    out.backward()
    assert policy.grad is not None and policy.grad.abs().sum() > 0
    assert kl_p.grad is None  # no gradient flows through z0 (Ethayarajh et al., TRL)


# ---------------------------------------------------------------------------------------------------------
# Modules and the registry


def test_modules_from_names_pass_positional_tensors_through() -> None:
    for name in ("distillation_kl", "kd", "jsd", "dpo", "simpo", "orpo", "kto", "DPOLoss", "jsd_loss"):
        assert isinstance(losskit.get(name), losskit.FunctionalLoss)
    s, te = torch.randn(2, 3, 5, dtype=D), torch.randn(2, 3, 5, dtype=D)
    labels = torch.tensor([[-100, 1, 2], [0, 0, -100]])
    kd = losskit.get("kd", temperature=2.0)
    torch.testing.assert_close(
        kd(s, te, labels=labels), distillation_kl_loss(s, te, temperature=2.0, labels=labels)
    )
    pc, pr, rc, rr = (torch.randn(4, dtype=D) - 5 for _ in range(4))
    torch.testing.assert_close(
        losskit.DPOLoss(beta=0.5, loss_type="ipo")(pc, pr, rc, rr),
        dpo_loss(pc, pr, rc, rr, beta=0.5, loss_type="ipo"),
    )
    d = torch.tensor([True, False, False, True])
    torch.testing.assert_close(
        losskit.KTOLoss(beta=0.2)(pc, rc, d, policy_kl_logps=pr, reference_kl_logps=rr),
        kto_loss(pc, rc, d, beta=0.2, policy_kl_logps=pr, reference_kl_logps=rr),
    )
    assert {"distillation_kl", "jsd", "dpo", "simpo", "orpo", "kto"} <= set(losskit.available())
