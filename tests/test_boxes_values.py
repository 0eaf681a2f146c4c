"""Hand-derived values of the box family: every SPEC §3 worked example, derivations written out, and the
properties SPEC's decisions promise (format and scale invariance, inverted = zero-area, finite extremes).

SPEC's worked values are exact ratios evaluated without ε; losskit divides by ``U + 1e-7`` etc., which moves
them by ε·IoU/U < 3e-8 on these examples, hence ``SPEC_TOL``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import losskit
import losskit.functional as LF
from tests.reference import boxes as R

SPEC_TOL = {"rtol": 0.0, "atol": 3e-8}

P = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)  # SPEC running example: prediction
G = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)  # and target

LOSSES = [
    LF.iou_loss,
    LF.giou_loss,
    LF.diou_loss,
    LF.ciou_loss,
    LF.eiou_loss,
    LF.focal_eiou_loss,
    LF.cdiou_loss,
    LF.siou_loss,
    LF.alpha_iou_loss,
]
IDS = [f.__name__ for f in LOSSES]


def val(x: torch.Tensor) -> float:
    return float(x.detach())


# ---------------------------------------------------------------------------------------------------------
# SPEC §3 running example, P = (1,1,4,3), G = (2,0,5,4)


def test_running_example_geometry() -> None:
    # I = [min(4,5) - max(1,2)] * [min(3,4) - max(1,0)] = 2 * 2 = 4; U = 6 + 12 - 4 = 14
    assert val(LF.box_iou(P, G)) == pytest.approx(4 / 14, abs=1e-8)
    assert val(LF.box_area(P)) == 6.0 and val(LF.box_area(G)) == 12.0
    # enclosing box (1,0)-(5,4): |C| = 16, c² = 32; centres (2.5, 2) and (3.5, 2): ρ² = 1
    assert val(LF.box_iou(P, G, kind="giou")) == pytest.approx(4 / 14 - 2 / 16, abs=1e-8)
    assert val(LF.box_iou(P, G, kind="diou")) == pytest.approx(4 / 14 - 1 / 32, abs=1e-8)


@pytest.mark.parametrize(
    ("fn", "kwargs", "spec"),
    [
        (LF.iou_loss, {}, 0.714285714),
        (LF.iou_loss, {"mode": "log"}, 1.25276297),
        (LF.giou_loss, {}, 0.839285714),
        (LF.diou_loss, {}, 0.745535714),
        (LF.ciou_loss, {}, 0.748396377),
        (LF.eiou_loss, {}, 0.995535714),
        (LF.cdiou_loss, {}, 0.964285714),
        (LF.siou_loss, {}, 0.785021588),
        (LF.alpha_iou_loss, {"kind": "iou"}, 0.976676385),
    ],
    ids=lambda v: v.__name__ if callable(v) else str(v),
)
def test_spec_running_example(fn, kwargs, spec: float) -> None:
    for reduction in ("mean", "sum"):
        torch.testing.assert_close(
            fn(P, G, **kwargs, reduction=reduction), torch.tensor(spec, dtype=torch.float64), **SPEC_TOL
        )
    # the same pair as a single (4,) box, in every other format
    for fmt in ("xywh", "cxcywh"):
        p, g = LF.box_convert(P, "xyxy", fmt), LF.box_convert(G, "xyxy", fmt)
        torch.testing.assert_close(
            fn(p[0], g[0], **kwargs, box_format=fmt), torch.tensor(spec, dtype=torch.float64), **SPEC_TOL
        )


def test_spec_values_derived_by_hand() -> None:
    iou = 4 / 14
    # CIoU: v = 4/π² (atan(3/4) - atan(3/2))², α = v / ((1 - IoU) + v)
    v = 4 / math.pi**2 * (math.atan(3 / 4) - math.atan(3 / 2)) ** 2
    ciou = 1 - iou + 1 / 32 + v / ((1 - iou) + v) * v
    assert ciou == pytest.approx(0.748396377, abs=1e-9)
    assert val(LF.ciou_loss(P, G)) == pytest.approx(ciou, abs=1e-8)
    # EIoU: widths equal (3 vs 3), heights 2 vs 4 over c_h = 4: + 0/16 + 4/16
    assert val(LF.eiou_loss(P, G)) == pytest.approx(1 - iou + 1 / 32 + 4 / 16, abs=1e-8)
    # CDIoU: every corner is (1, -1) or (1, 1) away: Σ = 4√2, diagonal √32, diou = 4√2 / (4√32) = 1/4
    assert val(LF.cdiou_loss(P, G)) - (1 - iou) == pytest.approx(0.25, abs=1e-8)
    assert val(LF.cdiou_loss(P, G, lambda_=2.0)) == pytest.approx(1 - iou + 0.5, abs=1e-8)
    # SIoU: centres offset (1, 0) → Λ = 0, γ = 2; ρ_x = (1/4)², ρ_y = 0; ω_w = 0, ω_h = 2/4
    siou = 1 - iou + ((1 - math.exp(-2 / 16)) + (1 - math.exp(-0.5)) ** 4) / 2
    assert val(LF.siou_loss(P, G)) == pytest.approx(siou, abs=1e-8)
    # alpha-IoU with α = 3: 1 - (2/7)³ = 335/343
    assert val(LF.alpha_iou_loss(P, G)) == pytest.approx(335 / 343, abs=1e-8)


def test_spec_siou_example_2() -> None:
    # P = (1,1,4,3), G = (2,2,5,6): centres (2.5, 2) and (3.5, 4), offset (1, 2), σ = √5
    # sin α = 2/√5 → Λ = 1 - 2 sin²(arcsin(2/√5) - π/4) = 2 (2/√5)(1/√5) = 0.8, γ = 1.2
    g2 = torch.tensor([[2.0, 2.0, 5.0, 6.0]], dtype=torch.float64)
    lam = 1 - 2 * math.sin(math.asin(2 / math.sqrt(5)) - math.pi / 4) ** 2
    assert lam == pytest.approx(0.8, abs=1e-12)
    # I = 2·1 = 2, U = 6 + 12 - 2 = 16; enclosing (1,1)-(5,6): c_w = 4, c_h = 5
    dist = (1 - math.exp(-1.2 * (1 / 4) ** 2)) + (1 - math.exp(-1.2 * (2 / 5) ** 2))
    shape = (1 - math.exp(-0.5)) ** 4  # ω_w = 0, ω_h = |2 - 4|/4
    want = 1 - 2 / 16 + (dist + shape) / 2
    assert want == pytest.approx(1.01045915, abs=1e-8)
    torch.testing.assert_close(LF.siou_loss(P, g2), torch.tensor(1.01045915, dtype=torch.float64), **SPEC_TOL)


def test_spec_focal_eiou_example() -> None:
    p = torch.tensor([[1.0, 1.0, 4.0, 3.0], [0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    g = torch.tensor([[2.0, 0.0, 5.0, 4.0], [0.2, 0.1, 2.2, 2.3]], dtype=torch.float64)
    # second pair: I = 1.8·1.9 = 3.42, U = 4 + 4.4 - 3.42 = 4.98 → IoU 0.686746988, L_EIoU 0.328711779
    torch.testing.assert_close(
        LF.box_iou(p[1], g[1]), torch.tensor(3.42 / 4.98, dtype=torch.float64), **SPEC_TOL
    )
    torch.testing.assert_close(
        LF.eiou_loss(p[1], g[1]), torch.tensor(0.328711779, dtype=torch.float64), **SPEC_TOL
    )
    # L₁ = 1 - 4/14 + 1/32 + 4/16; pair 2: centres (1, 1) and (1.2, 1.2) → ρ² = 0.08, enclosing 2.2 × 2.3 →
    # c² = 10.13, equal widths, heights 2 vs 2.2 → L₂ = 1 - 3.42/4.98 + 0.08/10.13 + 0.04/5.29
    ell = np.array([1 - 4 / 14 + 1 / 32 + 4 / 16, 1 - 3.42 / 4.98 + 0.08 / 10.13 + 0.04 / 5.29])
    # (exactly 0.3287117834; SPEC prints 0.328711779, 4e-9 off in the last digit, while its batch value is exact)
    assert ell[1] == pytest.approx(0.328711779, abs=1e-8)
    f = np.sqrt([4 / 14, 3.42 / 4.98])
    want = float((f * ell).sum() / f.sum())
    assert want == pytest.approx(0.590174507, abs=1e-9)
    torch.testing.assert_close(
        LF.focal_eiou_loss(p, g), torch.tensor(0.590174507, dtype=torch.float64), **SPEC_TOL
    )
    # reductions: "none" is IoUᵢ^γ Lᵢ / mean(IoU^γ), so mean = none.mean() and sum = none.sum() = 2 · mean
    none = LF.focal_eiou_loss(p, g, reduction="none")
    torch.testing.assert_close(none, torch.tensor(f * ell / f.mean()), **SPEC_TOL)
    torch.testing.assert_close(LF.focal_eiou_loss(p, g, reduction="sum"), none.sum())
    torch.testing.assert_close(
        LF.focal_eiou_loss(p, g, reduction="sum"),
        torch.tensor(2 * 0.590174507, dtype=torch.float64),
        **SPEC_TOL,
    )


def test_spec_unitbox_ltrb_example() -> None:
    # pred (l,t,r,b) = (3,2,4,3), target (4,3,2,2): I_w = min(3,4)+min(4,2) = 5, I_h = min(2,3)+min(3,2) = 4
    # X = (2+3)(3+4) = 35, Xᵍ = (3+2)(4+2) = 30, U = 35 + 30 - 20 = 45, IoU = 20/45
    p = torch.tensor([3.0, 2.0, 4.0, 3.0], dtype=torch.float64)
    g = torch.tensor([4.0, 3.0, 2.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(
        LF.box_iou(p, g, box_format="ltrb"), torch.tensor(0.444444444, dtype=torch.float64), **SPEC_TOL
    )
    torch.testing.assert_close(
        LF.iou_loss(p, g, mode="log", box_format="ltrb"),
        torch.tensor(0.810930216, dtype=torch.float64),
        **SPEC_TOL,
    )
    assert val(LF.box_area(p, box_format="ltrb")) == 35.0


# ---------------------------------------------------------------------------------------------------------
# hand-derived cases


def test_two_diagonally_adjacent_boxes() -> None:
    # (0,0,1,1) and (1,1,2,2) touch at a corner: I = 0, U = 2, |C| = 4 → IoU 0, GIoU = 0 - (4 - 2)/4 = -0.5
    # centres (0.5,0.5) and (1.5,1.5): ρ² = 2, c² = 8 → DIoU = -0.25; same shapes → v = 0, CIoU = DIoU
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 1.0, 2.0, 2.0]], dtype=torch.float64)
    assert val(LF.box_iou(a, b)) == 0.0
    assert val(LF.box_iou(a, b, kind="giou")) == pytest.approx(-0.5, abs=1e-7)
    assert val(LF.box_iou(a, b, kind="diou")) == pytest.approx(-0.25, abs=1e-7)
    assert val(LF.box_iou(a, b, kind="ciou")) == pytest.approx(-0.25, abs=1e-7)
    assert val(LF.giou_loss(a, b)) == pytest.approx(1.5, abs=1e-7)
    assert val(LF.diou_loss(a, b)) == pytest.approx(1.25, abs=1e-7)
    assert val(LF.iou_loss(a, b)) == 1.0
    # EIoU: no size difference, = DIoU loss; CDIoU: every corner √2 away, diagonal √8 → diou = 4√2/(4√8) = 1/2
    assert val(LF.eiou_loss(a, b)) == pytest.approx(1.25, abs=1e-7)
    assert val(LF.cdiou_loss(a, b)) == pytest.approx(1.5, abs=1e-7)
    # SIoU: offset (1, 1) at 45° → Λ = 1, γ = 1; ρ_x = ρ_y = (1/2)²; no shape cost
    assert val(LF.siou_loss(a, b)) == pytest.approx(1 + (1 - math.exp(-0.25)), abs=1e-7)


def test_no_overlap_iou_loss_is_one_with_zero_gradient() -> None:
    # SPEC §6 item 4: without overlap 1 - IoU is 1 (not 0) and its gradient is 0; GIoU/DIoU still pull
    p = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[3.0, 3.0, 4.0, 5.0]], dtype=torch.float64)
    for mode, want in (("linear", 1.0), ("square", 1.0), ("log", -math.log(1e-7))):
        loss = LF.iou_loss(p, g, mode=mode)
        assert val(loss) == pytest.approx(want)
        (grad,) = torch.autograd.grad(loss, p)
        assert torch.equal(grad, torch.zeros_like(grad))
    for fn in (LF.giou_loss, LF.diou_loss, LF.ciou_loss, LF.eiou_loss, LF.cdiou_loss, LF.siou_loss):
        (grad,) = torch.autograd.grad(fn(p, g), p)
        # moving the prediction towards the target (+x, +y) lowers the loss
        assert float(grad[0, 0] + grad[0, 2]) < 0 and float(grad[0, 1] + grad[0, 3]) < 0, fn.__name__


def test_iou_loss_gradient_by_hand() -> None:
    # running example, d(1 - I/U)/dx2: x2 = 4 is the intersection's right edge, so dI/dx2 = ih = 2 and
    # dU/dx2 = h - dI/dx2 = 0 → dIoU/dx2 = 2/14 = 1/7. x1 = 1 is not the intersection's left edge (max(1,2) = 2):
    # dI/dx1 = 0, dU/dx1 = -h = -2 → dIoU/dx1 = 4·2/14² = 2/49. y1 = 1 is the intersection's bottom edge:
    # dI/dy1 = -iw = -2, dU/dy1 = -w + 2 = -1 → dIoU/dy1 = (-2·14 + 4·1)/196 = -24/196; y2 = 3 is its top edge:
    # dI/dy2 = 2, dU/dy2 = w - 2 = 1 → dIoU/dy2 = +24/196. The loss's gradient is minus these.
    p = P.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(LF.iou_loss(p, G), p)
    torch.testing.assert_close(
        grad, -torch.tensor([[2 / 49, -24 / 196, 1 / 7, 24 / 196]], dtype=torch.float64), rtol=1e-6, atol=1e-9
    )


def test_smooth_iou_without_overlap_only_shrinks_the_box() -> None:
    # note 000's "smooth IoU": (I + s)/(U + s) = s/(A + Aᵍ + s) without overlap; its gradient never moves the
    # centre, it only makes the predicted box smaller (SPEC §6 item 13)
    p = torch.tensor([[0.0, 0.0, 2.0, 1.0]], dtype=torch.float64, requires_grad=True)  # cx cy w h
    g = torch.tensor([[5.0, 5.0, 1.0, 1.0]], dtype=torch.float64)
    loss = LF.iou_loss(p, g, smooth=1.0, box_format="cxcywh")
    assert val(loss) == pytest.approx(1 - 1 / (2 + 1 + 1 + 1e-7))
    (grad,) = torch.autograd.grad(loss, p)
    assert float(grad[0, 0]) == 0.0 and float(grad[0, 1]) == 0.0
    assert float(grad[0, 2]) > 0 and float(grad[0, 3]) > 0


def test_giou_range_and_far_apart_limit() -> None:
    # GIoU in (-1, 1]: two unit boxes far apart have |C| ≫ U, GIoU → -1
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[1e4, 1e4, 1e4 + 1, 1e4 + 1]], dtype=torch.float64)
    assert -1.0 < val(LF.box_iou(a, b, kind="giou")) < -0.9999
    assert val(LF.box_iou(a, a, kind="giou")) == pytest.approx(1.0, abs=1e-7)


def test_ciou_alpha_rules() -> None:
    # tcyb: α = 0 below IoU 0.5 (the running example has IoU 2/7) → DIoU; at IoU >= 0.5 both rules agree
    torch.testing.assert_close(LF.ciou_loss(P, G, alpha_rule="tcyb"), LF.diou_loss(P, G))
    p = torch.tensor([[0.0, 0.0, 4.0, 2.0]], dtype=torch.float64)
    g = torch.tensor([[0.2, 0.1, 4.1, 2.5]], dtype=torch.float64)
    assert val(LF.box_iou(p, g)) > 0.5
    torch.testing.assert_close(LF.ciou_loss(p, g, alpha_rule="tcyb"), LF.ciou_loss(p, g))
    assert val(LF.ciou_loss(p, g)) > val(LF.diou_loss(p, g))


def test_ciou_alpha_is_a_constant_in_backward() -> None:
    # with α detached, ∇CIoU = ∇DIoU + α ∇v; ∇v taken from a float64 plain formula written here
    p = torch.tensor([[0.3, 0.2, 4.1, 2.9], [1.0, 1.0, 2.0, 4.0]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[1.0, 0.0, 5.0, 4.0], [0.5, 0.7, 3.0, 3.0]], dtype=torch.float64)
    (g_ciou,) = torch.autograd.grad(LF.ciou_loss(p, g, reduction="sum"), p)
    (g_diou,) = torch.autograd.grad(LF.diou_loss(p, g, reduction="sum"), p)
    w, h = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    wg, hg = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    v = 4 / math.pi**2 * (torch.atan(wg / (hg + 1e-7)) - torch.atan(w / (h + 1e-7))) ** 2
    iou = LF.box_iou(p, g).detach()
    alpha = (v / ((1 - iou) + v + 1e-7)).detach()
    (g_v,) = torch.autograd.grad((alpha * v).sum(), p)
    torch.testing.assert_close(g_ciou, g_diou + g_v)
    # attached α adds its own derivative and so differs
    (g_att,) = torch.autograd.grad(LF.ciou_loss(p, g, detach_alpha=False, reduction="sum"), p)
    assert not torch.allclose(g_att, g_ciou)


def test_focal_eiou_gradient_with_detached_weight() -> None:
    # detached: ∇ mean = Σᵢ (IoUᵢ^γ / Σ IoU^γ) ∇Lᵢ with the factor from the float64 reference
    rng = np.random.default_rng(3)
    g = np.concatenate([rng.uniform(0, 5, (5, 2)), np.zeros((5, 2))], 1)
    g[:, 2:] = g[:, :2] + rng.uniform(1, 3, (5, 2))
    p = g + rng.normal(0, 0.4, (5, 4))
    pt = torch.tensor(p, requires_grad=True)
    gt = torch.tensor(g)
    (got,) = torch.autograd.grad(LF.focal_eiou_loss(pt, gt, gamma=0.5), pt)
    f = R.box_iou(p, g) ** 0.5
    coef = torch.tensor(f / f.sum())
    (want,) = torch.autograd.grad((coef * LF.eiou_loss(pt, gt, reduction="none")).sum(), pt)
    torch.testing.assert_close(got, want)


def test_focal_eiou_special_cases() -> None:
    rng = np.random.default_rng(4)
    p = torch.tensor(rng.uniform(0, 1, (4, 4)) + np.array([0, 0, 2, 2]))
    g = p + torch.tensor(rng.normal(0, 0.3, (4, 4)))
    torch.testing.assert_close(LF.focal_eiou_loss(p, g, gamma=0.0), LF.eiou_loss(p, g))
    torch.testing.assert_close(
        LF.focal_eiou_loss(p, g, gamma=0.0, reduction="none"), LF.eiou_loss(p, g, reduction="none")
    )
    # weighted mean = Σ w f L / Σ w f
    w = torch.tensor([0.5, 1.0, 2.0, 0.0], dtype=torch.float64)
    f = LF.box_iou(p, g) ** 0.5
    want = (w * f * LF.eiou_loss(p, g, reduction="none")).sum() / (w * f).sum()
    torch.testing.assert_close(LF.focal_eiou_loss(p, g, weight=w), want)
    # no box overlaps: every factor is 0 → loss 0, finite gradient
    far = g + 100.0
    q = p.clone().requires_grad_(True)
    out = LF.focal_eiou_loss(q, far)
    out.backward()
    assert val(out) == 0.0 and torch.isfinite(q.grad).all()


def test_alpha_iou_with_alpha_one_is_the_plain_loss() -> None:
    rng = np.random.default_rng(5)
    p = torch.tensor(rng.uniform(0, 1, (6, 4)) + np.array([0, 0, 2, 2]))
    g = p + torch.tensor(rng.normal(0, 0.5, (6, 4)))
    pairs = {"iou": LF.iou_loss, "giou": LF.giou_loss, "diou": LF.diou_loss, "ciou": LF.ciou_loss}
    for kind, plain in pairs.items():
        torch.testing.assert_close(
            LF.alpha_iou_loss(p, g, alpha=1.0, kind=kind, reduction="none"), plain(p, g, reduction="none")
        )


def test_siou_follows_the_paper_sign() -> None:
    # moving the prediction away from its target along a ray raises the loss (mmdetection's default sign makes
    # the distance cost 1 - e^{+γρ} <= 0, so its loss falls as the boxes separate)
    g = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    losses = [
        val(LF.siou_loss(g + torch.tensor([[d, 0.5 * d, d, 0.5 * d]], dtype=torch.float64), g))
        for d in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    ]
    assert losses[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in itertools.pairwise(losses))


# ---------------------------------------------------------------------------------------------------------
# SPEC §3 decisions: degenerate boxes, inverted boxes, formats, invariances


def test_inverted_prediction_is_the_zero_area_box_at_its_centre() -> None:
    inverted = torch.tensor([[4.0, 3.0, 1.0, 1.0]], dtype=torch.float64)
    point = torch.tensor([[2.5, 2.0, 2.5, 2.0]], dtype=torch.float64)
    assert val(LF.box_area(inverted)) == 0.0
    for fn in LOSSES:
        torch.testing.assert_close(fn(inverted, G), fn(point, G), msg=fn.__name__)
    # cxcywh / xywh: a negative size is clamped to 0 at the centre / the corner
    torch.testing.assert_close(
        LF.giou_loss(
            torch.tensor([[2.5, 2.0, -3.0, -2.0]], dtype=torch.float64),
            LF.box_convert(G, "xyxy", "cxcywh"),
            box_format="cxcywh",
        ),
        LF.giou_loss(point, G),
    )
    torch.testing.assert_close(
        LF.giou_loss(
            torch.tensor([[1.0, 1.0, -3.0, 2.0]], dtype=torch.float64),
            LF.box_convert(G, "xyxy", "xywh"),
            box_format="xywh",
        ),
        LF.giou_loss(torch.tensor([[1.0, 1.0, 1.0, 3.0]], dtype=torch.float64), G),
    )


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_identical_boxes_give_zero(fn) -> None:
    b = torch.tensor([[1.0, 1.0, 4.0, 3.0], [10.0, -5.0, 30.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(
        fn(b, b, reduction="none"), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-7
    )


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_degenerate_boxes_are_finite(fn) -> None:
    cases = torch.tensor(
        [
            [[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]],  # identical points
            [[1.0, 2.0, 4.0, 2.0], [2.0, 0.0, 5.0, 4.0]],  # zero height (torchvision CIoU: NaN gradient)
            [[0.0, 0.0, 0.0, 0.0], [3.0, 4.0, 3.0, 4.0]],  # two distinct points
            [[4.0, 3.0, 1.0, 1.0], [2.0, 0.0, 5.0, 4.0]],  # inverted
            [[1e7, 1e7, 1e7 + 1, 1e7 + 1], [0.0, 0.0, 1.0, 1.0]],  # far apart
        ],
        dtype=torch.float64,
    )
    for dtype in (torch.float64, torch.float32):
        p = cases[:, 0].to(dtype).requires_grad_(True)
        out = fn(p, cases[:, 1].to(dtype), reduction="none")
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(p.grad).all(), (dtype, out, p.grad)


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_every_format_gives_the_same_loss(fn) -> None:
    rng = np.random.default_rng(7)
    g = rng.uniform(0, 5, (5, 4))
    g[:, 2:] = g[:, :2] + rng.uniform(0.5, 3, (5, 2))
    p = g + rng.normal(0, 0.5, (5, 4))
    want = fn(torch.tensor(p), torch.tensor(g), reduction="none")
    for fmt in ("xywh", "cxcywh"):
        got = fn(
            torch.tensor(R.box_convert(p, "xyxy", fmt)),
            torch.tensor(R.box_convert(g, "xyxy", fmt)),
            box_format=fmt,
            reduction="none",
        )
        torch.testing.assert_close(got, want)
    point = (g[:, :2] + g[:, 2:]) / 2
    ltrb = lambda b: torch.tensor(np.concatenate([point - b[:, :2], b[:, 2:] - point], 1))  # noqa: E731
    torch.testing.assert_close(fn(ltrb(p), ltrb(g), box_format="ltrb", reduction="none"), want)


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_scale_translation_and_swap(fn) -> None:
    rng = np.random.default_rng(8)
    g = rng.uniform(0, 5, (5, 4))
    g[:, 2:] = g[:, :2] + rng.uniform(0.5, 3, (5, 2))
    p = g + rng.normal(0, 0.7, (5, 4))
    p[:, 2:] = np.maximum(p[:, 2:], p[:, :2] + 0.1)
    pt, gt = torch.tensor(p), torch.tensor(g)
    base = fn(pt, gt, reduction="none")
    # scale invariance holds up to the ε in the denominators
    torch.testing.assert_close(fn(pt * 7.0, gt * 7.0, reduction="none"), base, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(fn(pt + 100.0, gt + 100.0, reduction="none"), base, rtol=1e-9, atol=1e-9)
    # every loss here is symmetric in its two boxes
    torch.testing.assert_close(fn(gt, pt, reduction="none"), base)


def test_unitbox_distances_match_the_formula() -> None:
    rng = np.random.default_rng(9)
    p, g = rng.uniform(0.1, 3, (8, 4)), rng.uniform(0.1, 3, (8, 4))
    inter = (np.minimum(p[:, 0], g[:, 0]) + np.minimum(p[:, 2], g[:, 2])) * (
        np.minimum(p[:, 1], g[:, 1]) + np.minimum(p[:, 3], g[:, 3])
    )
    x, xg = (p[:, 0] + p[:, 2]) * (p[:, 1] + p[:, 3]), (g[:, 0] + g[:, 2]) * (g[:, 1] + g[:, 3])
    torch.testing.assert_close(
        LF.iou_loss(torch.tensor(p), torch.tensor(g), box_format="ltrb", mode="log", reduction="none"),
        torch.tensor(-np.log(inter / (x + xg - inter + 1e-7))),
    )


def test_empty_batch() -> None:
    e = torch.zeros(0, 4, dtype=torch.float64, requires_grad=True)
    for fn in LOSSES:
        assert fn(e, e.detach(), reduction="none").shape == (0,)
        out = fn(e, e.detach())
        out.backward()
        assert float(out.detach()) == 0.0
    assert LF.pairwise_box_iou(torch.zeros(0, 4), torch.zeros(3, 4)).shape == (0, 3)


def test_half_precision_returns_float32() -> None:
    for fn in LOSSES:
        out = fn(P.half(), G.half())
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, fn(P.float(), G.float()))
    assert LF.box_iou(P.bfloat16(), G.bfloat16()).dtype == torch.float32
    assert LF.box_area(torch.tensor([[0, 0, 3, 2]])).dtype == torch.get_default_dtype()


# ---------------------------------------------------------------------------------------------------------
# utilities


def test_box_convert_round_trip_and_values() -> None:
    b = torch.tensor([[1.0, 1.0, 4.0, 3.0]])
    torch.testing.assert_close(LF.box_convert(b, "xyxy", "xywh"), torch.tensor([[1.0, 1.0, 3.0, 2.0]]))
    torch.testing.assert_close(LF.box_convert(b, "xyxy", "cxcywh"), torch.tensor([[2.5, 2.0, 3.0, 2.0]]))
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(3, 5, 4)))
    for a in ("xyxy", "xywh", "cxcywh"):
        for c in ("xyxy", "xywh", "cxcywh"):
            y = LF.box_convert(x, a, c)
            np.testing.assert_allclose(y.numpy(), R.box_convert(x.numpy(), a, c), rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(LF.box_convert(y, c, a), x)
    assert LF.box_convert(torch.tensor([[0, 0, 3, 3]]), "xyxy", "cxcywh").tolist() == [[1.5, 1.5, 3.0, 3.0]]


def test_pairwise_equals_aligned_for_every_kind() -> None:
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 5, (2, 4, 4))
    a[..., 2:] = a[..., :2] + rng.uniform(0, 3, (2, 4, 2))
    b = rng.uniform(0, 5, (2, 3, 4))
    b[..., 2:] = b[..., :2] + rng.uniform(0, 3, (2, 3, 2))
    for kind in ("iou", "giou", "diou", "ciou"):
        for fmt in ("xyxy", "cxcywh"):
            aa = torch.tensor(R.box_convert(a, "xyxy", fmt))
            bb = torch.tensor(R.box_convert(b, "xyxy", fmt))
            m = LF.pairwise_box_iou(aa, bb, kind=kind, box_format=fmt)
            assert m.shape == (2, 4, 3)
            np.testing.assert_allclose(m.numpy(), R.pairwise_box_iou(a, b, kind=kind), rtol=1e-10, atol=1e-12)
            aligned = LF.box_iou(
                aa[:, :, None].expand(2, 4, 3, 4), bb[:, None].expand(2, 4, 3, 4), kind=kind, box_format=fmt
            )
            torch.testing.assert_close(m, aligned)


def test_utility_errors() -> None:
    b = torch.rand(5, 4)
    with pytest.raises(ValueError, match=r"^box_convert: in_format must be one of"):
        LF.box_convert(b, "xyhw", "xyxy")
    with pytest.raises(ValueError, match=r"^box_area: boxes must have shape \(\.\.\., 4\)"):
        LF.box_area(b[:, :3])
    # (N, 4) vs (M, 4): the message points a torchvision user at pairwise_box_iou
    with pytest.raises(
        ValueError,
        match=r"^box_iou: boxes1 \(5, 4\) and boxes2 \(4, 4\) differ in length.*"
        r"pairwise_box_iou",
    ):
        LF.box_iou(b, b[:4])
    with pytest.raises(ValueError, match=r"^box_iou: boxes2 must have shape \(5, 4\)"):
        LF.box_iou(b, b[:, None])
    with pytest.raises(ValueError, match=r"^box_iou: kind must be one of"):
        LF.box_iou(b, b, kind="eiou")
    with pytest.raises(ValueError, match=r"^pairwise_box_iou: boxes2 must have the leading dimensions"):
        LF.pairwise_box_iou(torch.rand(2, 5, 4), torch.rand(3, 5, 4))
    with pytest.raises(ValueError, match=r"^pairwise_box_iou: boxes1 must have at least 2 dimension"):
        LF.pairwise_box_iou(b[0], b)
    with pytest.raises(ValueError, match=r"^pairwise_box_iou: box_format must be one of"):
        LF.pairwise_box_iou(b, b, box_format="ltrb")
    with pytest.raises(TypeError, match=r"^box_iou: boxes1 must be a real"):
        LF.box_iou(b.bool(), b)


def test_modules_and_registry() -> None:
    assert isinstance(losskit.get("giou"), losskit.GIoULoss)
    assert isinstance(losskit.get("GIoULoss"), losskit.nn.GIoULoss)
    assert isinstance(losskit.get("unitbox", mode="log"), losskit.IoULoss)
    for name in ("iou", "giou", "diou", "ciou", "eiou", "focal_eiou", "cdiou", "siou", "alpha_iou"):
        assert name in losskit.available()
    crit = losskit.get("alpha_iou", alpha=2.0, kind="diou")
    torch.testing.assert_close(crit(P, G), LF.alpha_iou_loss(P, G, alpha=2.0, kind="diou"))
    combo = losskit.GIoULoss() + 0.5 * losskit.IoULoss(mode="log")
    torch.testing.assert_close(combo(P, G), LF.giou_loss(P, G) + 0.5 * LF.iou_loss(P, G, mode="log"))
    with pytest.raises(TypeError, match="unknown option"):
        losskit.CIoULoss(gamma=2.0)


# ---------------------------------------------------------------------------------------------------------
# the fused kernel (losskit.kernels.boxes) against autograd of the plain formula


def _kernel_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    rng = np.random.default_rng(11)
    g = rng.uniform(0, 5, (2, 3, 4))
    g[..., 2:] = g[..., :2] + rng.uniform(0.3, 3, (2, 3, 2))
    p = g + rng.normal(0, 0.8, g.shape)
    odd_p = np.array(
        [
            [1.0, 1.0, 4.0, 3.0],  # shares no edge
            [2.0, 0.0, 5.0, 4.0],  # identical to its target: every min/max is a tie
            [4.0, 3.0, 1.0, 1.0],  # inverted in both axes
            [4.0, 1.0, 1.0, 3.0],  # inverted in x only
            [1.0, 2.0, 4.0, 2.0],  # zero height
            [2.0, 2.0, 2.0, 2.0],  # a point
            [2.0, 0.0, 3.0, 4.0],  # shares three edges with its target
            [5.0, 4.0, 6.0, 5.0],  # touches its target's corner
            [9.0, 9.0, 10.0, 11.0],  # far away
        ]
    )
    odd_g = np.array([[2.0, 0.0, 5.0, 4.0]] * 9)
    return [
        ("random-(2,3)", torch.tensor(p), torch.tensor(g)),
        ("degenerate-and-ties", torch.tensor(odd_p), torch.tensor(odd_g)),
        ("single-(4,)", torch.tensor(p[0, 0]), torch.tensor(g[0, 0])),
        ("empty", torch.zeros(0, 4, dtype=torch.float64), torch.zeros(0, 4, dtype=torch.float64)),
    ]


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("iou", "aaai"),
        ("giou", "aaai"),
        ("diou", "aaai"),
        ("ciou", "aaai"),
        ("ciou", "tcyb"),
        ("eiou", "aaai"),
    ],
)
def test_fused_kernel_matches_plain_autograd(kind: str, rule: str) -> None:
    from losskit.functional.boxes import _boxes, _plain_loss
    from losskit.kernels.boxes import iou_family_loss

    for name, p, g in _kernel_cases():
        a = p.clone().requires_grad_(True)
        b = p.clone().requires_grad_(True)
        fused = iou_family_loss(kind, a, g, eps=1e-7, tcyb=rule == "tcyb")
        plain = _plain_loss(kind, *_boxes(b, g, "xyxy"), 1e-7, rule)
        torch.testing.assert_close(
            fused, plain, rtol=1e-12, atol=1e-12, msg=lambda m, name=name: f"{kind} {name}: {m}"
        )
        upstream = torch.linspace(0.5, 1.5, max(fused.numel(), 1), dtype=torch.float64)[: fused.numel()]
        (fused * upstream.reshape(fused.shape)).sum().backward()
        (plain * upstream.reshape(plain.shape)).sum().backward()
        # point boxes make CIoU's ∂v/∂w ~ 1/ε ≈ 1e7 on each corner; an inverted box averages two such terms that
        # cancel, so the two evaluation orders agree to ~1e-16 · 1e7 there
        torch.testing.assert_close(
            a.grad, b.grad, rtol=1e-10, atol=1e-8, msg=lambda m, name=name: f"{kind} {name} gradient: {m}"
        )


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh", "ltrb"])
@pytest.mark.parametrize(
    "fn", [LF.giou_loss, LF.diou_loss, LF.ciou_loss, LF.eiou_loss, LF.iou_loss], ids=lambda f: f.__name__
)
def test_fused_path_in_every_format_matches_plain_autograd(fn, fmt: str) -> None:
    from losskit.functional.boxes import _boxes, _plain_loss

    kind = fn.__name__.removesuffix("_loss")
    rng = np.random.default_rng(12)
    g = rng.uniform(0.5, 3, (6, 4))
    p = g + rng.normal(0, 0.6, (6, 4))
    p[0, 2] = -0.4  # a negative size in xywh / cxcywh, an inverted box in ltrb
    a = torch.tensor(p, requires_grad=True)
    b = torch.tensor(p, requires_grad=True)
    gt = torch.tensor(g)
    fused = fn(a, gt, box_format=fmt, reduction="none")
    plain = _plain_loss(kind, *_boxes(b, gt, fmt), 1e-7)
    torch.testing.assert_close(fused, plain, rtol=1e-12, atol=1e-12)
    fused.sum().backward()
    plain.sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_target_with_gradient_takes_the_plain_path() -> None:
    rng = np.random.default_rng(13)
    g = torch.tensor(rng.uniform(0, 3, (5, 4)) + np.array([0, 0, 3, 3]), requires_grad=True)
    p = (g.detach() + 0.3).requires_grad_(True)
    LF.diou_loss(p, g).backward()
    assert g.grad is not None and torch.isfinite(g.grad).all() and g.grad.abs().sum() > 0
    # DIoU is symmetric: the target's gradient is the prediction's for the swapped call
    p2, g2 = p.detach().clone().requires_grad_(True), g.detach().clone().requires_grad_(True)
    LF.diou_loss(g2, p2).backward()
    torch.testing.assert_close(g.grad, g2.grad)
    torch.testing.assert_close(p.grad, p2.grad)


def test_fused_kernel_saves_one_new_tensor() -> None:
    # the per-box gradient is the only tensor it allocates and keeps; the two boxes it also keeps (for a
    # double backward) are the caller's tensors, not copies
    from losskit.kernels.boxes import IoUFamily

    p = torch.rand(64, 4, dtype=torch.float64) + torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    p.requires_grad_(True)
    t = p.detach() + 0.1
    loss, _ = IoUFamily.apply(p, t, "ciou", 1e-7, False, True)
    local, pred, target = loss.grad_fn.saved_tensors
    assert local.shape == (64, 4)
    assert pred.data_ptr() == p.data_ptr() and target.data_ptr() == t.data_ptr()


@pytest.mark.parametrize("kind", ["giou", "ciou", "eiou"])
def test_fused_kernel_chunked_path(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # large batches are split into chunks written into preallocated outputs; force it with a tiny chunk
    import losskit.kernels.boxes as KB
    from losskit.functional.boxes import _boxes, _plain_loss

    monkeypatch.setattr(KB, "CPU_CHUNK", 4)
    rng = np.random.default_rng(14)
    g = rng.uniform(0, 5, (3, 7, 4))
    g[..., 2:] = g[..., :2] + rng.uniform(0.3, 3, (3, 7, 2))
    p = g + rng.normal(0, 0.8, g.shape)
    a = torch.tensor(p, requires_grad=True)
    b = torch.tensor(p, requires_grad=True)
    gt = torch.tensor(g)
    fused = KB.iou_family_loss(kind, a, gt, eps=1e-7)
    plain = _plain_loss(kind, *_boxes(b, gt, "xyxy"), 1e-7)
    assert fused.shape == (3, 7)
    torch.testing.assert_close(fused, plain, rtol=1e-12, atol=1e-12)
    fused.sum().backward()
    plain.sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)
    with torch.no_grad():  # no gradient wanted: only the loss is computed
        torch.testing.assert_close(KB.iou_family_loss(kind, a, gt, eps=1e-7), plain.detach())


@pytest.mark.parametrize("fn", [LF.giou_loss, LF.ciou_loss])
def test_fused_kernel_double_backward_is_the_plain_formulas(fn) -> None:
    # the saved gradient is a constant; under create_graph=True the kernel differentiates the plain
    # formula instead, so a gradient penalty gets the plain formula's second derivative (not 0, no error)
    from losskit._core.fastpath import fast_paths

    def penalty(fast: bool) -> torch.Tensor:
        p = P.clone().requires_grad_(True)
        with fast_paths(fast):
            (grad,) = torch.autograd.grad(fn(p, G), p, create_graph=True)
            (grad * grad).sum().backward()
        return p.grad

    fused, plain = penalty(True), penalty(False)
    assert fused.abs().sum() > 0
    torch.testing.assert_close(fused, plain, rtol=1e-10, atol=1e-12)


# --- issue 16: pairwise_box_iou without gradient, in blocks, in place ---------------------------------------


@pytest.mark.parametrize("kind", ["iou", "giou", "diou", "ciou"])
@pytest.mark.parametrize("box_format", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("chunk", [1 << 22, 7])
def test_pairwise_box_iou_blocks_equal_the_autograd_formula_bit_for_bit(kind, box_format, chunk, monkeypatch):
    # no gradient needed: the matrix is computed in blocks (chunk 7: a row at a time, not a divisor) with
    # in-place ops; it must equal the differentiable formula exactly, degenerate and inverted boxes included
    import losskit.functional._boxes_geometry as geo
    from losskit._core.fastpath import fast_paths

    monkeypatch.setattr(geo, "PAIRWISE_CPU_CHUNK", chunk)
    g = torch.Generator().manual_seed(11)
    a = torch.rand(2, 13, 4, generator=g, dtype=torch.float64) * 10
    b = torch.rand(2, 9, 4, generator=g, dtype=torch.float64) * 10
    a[0, :2] = 0.0  # zero-area boxes
    b[1, 0] = torch.tensor([3.0, 3.0, 1.0, 1.0], dtype=torch.float64)  # inverted in xyxy
    fast = LF.pairwise_box_iou(a, b, kind=kind, box_format=box_format)
    with fast_paths(False):
        plain = LF.pairwise_box_iou(a, b, kind=kind, box_format=box_format)
    assert torch.equal(fast, plain)
    expected = torch.stack(
        [
            LF.box_iou(a[:, i : i + 1].expand_as(b), b, kind=kind, box_format=box_format)
            for i in range(a.shape[1])
        ],
        dim=1,
    )
    torch.testing.assert_close(fast, expected, rtol=1e-12, atol=1e-12)
    # with a gradient the differentiable formula runs (and agrees)
    a2 = a.clone().requires_grad_()
    graded = LF.pairwise_box_iou(a2, b, kind=kind, box_format=box_format)
    assert graded.requires_grad
    torch.testing.assert_close(graded.detach(), fast, rtol=0, atol=0)


def test_pairwise_box_iou_holds_one_matrix(monkeypatch):
    # issue 16: the differentiable formula makes some ten (N, M) tensors (three to five alive at once); without
    # a gradient the result is the only one, plus a few block-sized buffers (4 blocks of 2**18 entries here)
    from benchmarks.harness import _LiveBytes

    import losskit.functional._boxes_geometry as geo
    from losskit._core.fastpath import fast_paths

    monkeypatch.setattr(geo, "PAIRWISE_CPU_CHUNK", 1 << 18)
    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(1024, 4, generator=g), torch.rand(1024, 4, generator=g)
    a[:, 2:] += a[:, :2]
    b[:, 2:] += b[:, :2]
    matrix = 1024 * 1024 * 4
    for kind in ("iou", "ciou"):
        mode = _LiveBytes(exclude=(a, b))
        with torch.no_grad(), mode:
            LF.pairwise_box_iou(a, b, kind=kind)
        assert mode.peak <= matrix + 4 * (1 << 18) * 4 + 65536, (kind, mode.peak / matrix)
        plain = _LiveBytes(exclude=(a, b))
        with torch.no_grad(), fast_paths(False), plain:
            LF.pairwise_box_iou(a, b, kind=kind)
        assert plain.peak >= 3 * matrix, (kind, plain.peak / matrix)


@pytest.mark.parametrize("name", ["giou_loss", "diou_loss", "ciou_loss", "eiou_loss"])
@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"weight": torch.zeros(3)}])
def test_nonfinite_prediction_is_named_by_the_result_check(name, fast, kw):
    # issue 16: these losses skip the separate scan of the prediction; a non-finite coordinate makes the
    # loss non-finite (an infinite enclosure / centre distance gives inf / inf), so the check of the
    # reduced result still names it, whatever the corner, sign and box weight
    fn = getattr(losskit, name)
    target = torch.tensor([[0.5, 1.0, 4.0, 6.0]]).expand(3, 4)
    losskit.set_fast_paths(fast)
    try:
        for i in range(4):
            for v in (math.inf, -math.inf, math.nan):
                x = torch.tensor([[1.0, 2.0, 5.0, 7.0]]).repeat(3, 1)
                x[1, i] = v
                kind = "NaN" if math.isnan(v) else "inf"
                with pytest.raises(ValueError, match=rf"^{name}: input contains {kind} values"):
                    fn(x.requires_grad_(True), target, **kw)
    finally:
        losskit.set_fast_paths(True)
