"""Conformance of the box family with torchvision.ops and MONAI, conventions mapped explicitly.

* torchvision's losses use the same ε = 1e-7 placement as losskit (``I/(U+ε)``, ``(|C|-U)/(|C|+ε)``,
  ``ρ²/(c²+ε)``, ``α = v/(1 - IoU + v + ε)`` under ``no_grad``); its pairwise ``box_iou`` and
  ``generalized_box_iou`` have no ε and its CIoU has no ε inside ``atan(w/h)``, so those agree to ~1e-7
  relative on boxes of unit size.
* torchvision's losses default to ``reduction="none"``; losskit's to ``"mean"``.
* MONAI's ``BoxGIoULoss`` computes in float32 with ε = float32 machine epsilon.
* Where torchvision is NaN (zero-height CIoU gradient, point boxes, pairwise IoU of two zero-area boxes) the
  tests pin losskit's finite values, per SPEC §3's decisions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
import torchvision.ops as tvo
from monai.data.box_utils import box_pair_giou
from monai.losses import BoxGIoULoss

import losskit.functional as LF

assert torchvision.__version__


def _boxes(seed: int, n: int, lead: tuple[int, ...] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid xyxy predictions and targets, mostly overlapping, some disjoint."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 10, (*lead, n, 2))
    wh = rng.uniform(0.3, 4, (*lead, n, 2))
    g = np.concatenate([c - wh / 2, c + wh / 2], -1)
    pc = c + rng.normal(0, 1.5, c.shape)
    pwh = wh * np.exp(rng.normal(0, 0.5, wh.shape))
    p = np.concatenate([pc - pwh / 2, pc + pwh / 2], -1)
    return torch.tensor(p), torch.tensor(g)


TV_LOSSES = [
    (LF.giou_loss, tvo.generalized_box_iou_loss),
    (LF.diou_loss, tvo.distance_box_iou_loss),
    (LF.ciou_loss, tvo.complete_box_iou_loss),
]


@pytest.mark.parametrize(("ours", "theirs"), TV_LOSSES, ids=lambda f: getattr(f, "__name__", str(f)))
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_torchvision_losses_values_and_gradients(ours, theirs, reduction: str) -> None:
    p, g = _boxes(0, 64)
    a = p.clone().requires_grad_(True)
    b = p.clone().requires_grad_(True)
    got = ours(a, g, reduction=reduction)
    want = theirs(b, g, reduction=reduction)
    torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-9)
    got.sum().backward()
    want.sum().backward()
    # CIoU: both treat α as a constant, so the gradients agree too
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("ours", "theirs"), TV_LOSSES, ids=lambda f: getattr(f, "__name__", str(f)))
def test_torchvision_losses_float32_and_leading_dims(ours, theirs) -> None:
    p, g = _boxes(1, 8, (3,))
    torch.testing.assert_close(
        ours(p.float(), g.float(), reduction="none"),
        theirs(p.float(), g.float(), reduction="none"),
        rtol=1e-5,
        atol=1e-6,
    )
    assert ours(p, g, reduction="none").shape == (3, 8)
    # torchvision's default reduction is "none", losskit's "mean"
    torch.testing.assert_close(ours(p, g), theirs(p, g).mean())


@pytest.mark.parametrize(
    ("kind", "theirs"),
    [
        ("iou", tvo.box_iou),
        ("giou", tvo.generalized_box_iou),
        ("diou", tvo.distance_box_iou),
        ("ciou", tvo.complete_box_iou),
    ],
)
def test_torchvision_pairwise_matrices(kind: str, theirs) -> None:
    a, _ = _boxes(2, 7)
    b, _ = _boxes(3, 5)
    got = LF.pairwise_box_iou(a, b, kind=kind)
    assert got.shape == (7, 5)
    # torchvision's pairwise IoU has no ε in I/U (and GIoU none in |C|): agreement to ~ε/U
    torch.testing.assert_close(got, theirs(a, b), rtol=1e-6, atol=1e-7)
    # and the formats torchvision's box_iou accepts
    if kind == "iou":
        for fmt in ("xywh", "cxcywh"):
            aa, bb = tvo.box_convert(a, "xyxy", fmt), tvo.box_convert(b, "xyxy", fmt)
            torch.testing.assert_close(
                LF.pairwise_box_iou(aa, bb, box_format=fmt),
                tvo.box_iou(aa, bb, fmt=fmt),
                rtol=1e-6,
                atol=1e-7,
            )


def test_torchvision_box_convert_and_area() -> None:
    p, _ = _boxes(4, 10)
    for a in ("xyxy", "xywh", "cxcywh"):
        for b in ("xyxy", "xywh", "cxcywh"):
            x = tvo.box_convert(p, "xyxy", a)
            torch.testing.assert_close(LF.box_convert(x, a, b), tvo.box_convert(x, a, b))
    torch.testing.assert_close(LF.box_area(p), tvo.box_area(p))
    torch.testing.assert_close(
        LF.box_area(tvo.box_convert(p, "xyxy", "cxcywh"), box_format="cxcywh"), tvo.box_area(p)
    )


def test_torchvision_aligned_iou_is_the_diagonal() -> None:
    p, g = _boxes(5, 9)
    for kind, theirs in (
        ("iou", tvo.box_iou),
        ("giou", tvo.generalized_box_iou),
        ("diou", tvo.distance_box_iou),
        ("ciou", tvo.complete_box_iou),
    ):
        torch.testing.assert_close(LF.box_iou(p, g, kind=kind), theirs(p, g).diagonal(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------------------
# MONAI


def test_monai_box_giou_loss() -> None:
    p, g = _boxes(6, 32)
    pf, gf = p.float(), g.float()
    for reduction in ("none", "mean", "sum"):
        want = BoxGIoULoss(reduction=reduction)(pf, gf)
        torch.testing.assert_close(LF.giou_loss(pf, gf, reduction=reduction), want, rtol=2e-6, atol=1e-6)
    torch.testing.assert_close(
        LF.box_iou(p, g, kind="giou"), box_pair_giou(p, g).double(), rtol=1e-5, atol=1e-6
    )
    # MONAI's gradients (float32 compute) agree as well
    a, b = pf.clone().requires_grad_(True), pf.clone().requires_grad_(True)
    LF.giou_loss(a, gf).backward()
    BoxGIoULoss()(b, gf).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# where torchvision is NaN or differs on purpose: losskit's decisions pinned


def test_zero_height_ciou_gradient_nan_in_torchvision_finite_here() -> None:
    p = torch.tensor([[1.0, 2.0, 4.0, 2.0]], dtype=torch.float64)
    g = torch.tensor([[2.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
    a, b = p.clone().requires_grad_(True), p.clone().requires_grad_(True)
    theirs = tvo.complete_box_iou_loss(b, g, reduction="sum")
    theirs.backward()
    assert torch.isnan(b.grad).all()
    ours = LF.ciou_loss(a, g)
    ours.backward()
    assert torch.isfinite(a.grad).all()
    # the values agree (atan(3/0) = π/2 = atan(3/ε) up to ε/3)
    torch.testing.assert_close(ours, theirs, rtol=1e-7, atol=1e-7)
    # and losskit's gradient is the limit of the gradients of ever flatter boxes
    flat = torch.tensor([[1.0, 2.0, 4.0, 2.0 + 1e-5]], dtype=torch.float64, requires_grad=True)
    LF.ciou_loss(flat, g).backward()
    torch.testing.assert_close(a.grad, flat.grad, rtol=0, atol=1e-4)


def test_point_boxes_nan_in_torchvision_finite_here() -> None:
    pt = torch.tensor([[2.0, 2.0, 2.0, 2.0]], dtype=torch.float64)
    g = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
    assert torch.isnan(tvo.complete_box_iou_loss(pt, g)).all()
    assert torch.isnan(tvo.complete_box_iou_loss(pt, pt)).all()
    # a point inside a 3x2 box: IoU 0, ρ² = (2.5-2)² + 0 = 0.25, c² = 13; v = 4/π² (atan(3/2) - 0)²,
    # α = v / (1 + v)
    v = 4 / np.pi**2 * np.arctan(1.5) ** 2
    want = 1 + 0.25 / 13 + v * v / (1 + v)
    assert float(LF.ciou_loss(pt, g)) == pytest.approx(want, abs=1e-7)
    assert float(LF.ciou_loss(pt, pt)) == pytest.approx(1.0)  # IoU of two points is 0 by the ε convention
    # pairwise: torchvision divides 0 by 0
    assert torch.isnan(tvo.box_iou(pt, pt)).all()
    for kind in ("iou", "giou", "diou", "ciou"):
        assert torch.isfinite(LF.pairwise_box_iou(pt, pt, kind=kind)).all()
    assert float(LF.pairwise_box_iou(pt, pt)) == 0.0


def test_identical_point_boxes_giou_matches_torchvision() -> None:
    # SPEC §3: torchvision's GIoU loss of two identical point boxes is 1 with zero gradient; so is losskit's
    # (IoU = 0/(0 + ε) = 0, empty enclosing box), documented rather than changed.
    a = torch.tensor([[2.0, 2.0, 2.0, 2.0]], dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    ours, theirs = LF.giou_loss(a, a.detach()), tvo.generalized_box_iou_loss(b, b.detach(), reduction="mean")
    ours.backward()
    theirs.backward()
    assert float(ours.detach()) == float(theirs.detach()) == 1.0
    assert torch.equal(a.grad, b.grad) and not a.grad.any()


def test_inverted_boxes_are_clamped_not_signed() -> None:
    # torchvision takes (x2 - x1)(y2 - y1) at face value: a box inverted in both axes gets a positive area,
    # one inverted in a single axis a negative one. losskit clamps widths and heights at 0.
    both = torch.tensor([[4.0, 3.0, 1.0, 1.0]])
    one = torch.tensor([[4.0, 1.0, 1.0, 3.0]])
    assert float(tvo.box_area(both)) == 6.0 and float(tvo.box_area(one)) == -6.0
    assert float(LF.box_area(both)) == 0.0 and float(LF.box_area(one)) == 0.0
    g = torch.tensor([[2.0, 0.0, 5.0, 4.0]])
    # torchvision's GIoU loss of an inverted prediction is not that of any real box; losskit's is the point's
    point = torch.tensor([[2.5, 2.0, 2.5, 2.0]])
    torch.testing.assert_close(
        LF.giou_loss(both, g), tvo.generalized_box_iou_loss(point, g, reduction="mean")
    )
    assert not torch.allclose(tvo.generalized_box_iou_loss(both, g), tvo.generalized_box_iou_loss(point, g))


def test_empty_batch_matches_torchvision_mean_zero() -> None:
    e = torch.zeros(0, 4, requires_grad=True)
    for ours, theirs in TV_LOSSES:
        assert (
            float(ours(e, e.detach()).detach())
            == float(theirs(e, e.detach(), reduction="mean").detach())
            == 0.0
        )
