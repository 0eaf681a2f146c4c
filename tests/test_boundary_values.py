"""Hand-derived values of the boundary-aware segmentation losses and the deep-supervision wrapper."""

from __future__ import annotations

import pytest
import torch

import losskit
from losskit.functional import (
    boundary_loss,
    cldice_loss,
    hausdorff_dt_loss,
    signed_distance_map,
    soft_skeleton,
)

D = torch.float64


def test_signed_distance_map_by_hand():
    # row [0 0 1 1 1 0]: outside pixels are 2 and 1 from the object, inside -1 (next to the background) and -2
    g = torch.tensor([[0, 0, 1, 1, 1, 0]], dtype=torch.int16)
    phi = signed_distance_map(g, num_classes=2)
    assert phi.tolist() == [[[-2.0, -1.0, 1.0, 2.0, 1.0, -1.0], [2.0, 1.0, -1.0, -2.0, -1.0, 1.0]]]
    # a class absent from the image has no contour: map 0
    assert signed_distance_map(torch.zeros(1, 4, dtype=torch.long), num_classes=2)[0, 1].abs().sum() == 0
    # 2-D diagonal: the corner pixel (0, 0) is sqrt(2) from the object pixel (1, 1); anisotropic spacing 2 x 1
    m = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    m[..., 1, 1] = True
    assert signed_distance_map(m)[0, 0, 0, 0].item() == pytest.approx(2**0.5)
    assert signed_distance_map(m, spacing=(2.0, 1.0))[0, 0, 0, 0].item() == pytest.approx(5**0.5)


def test_boundary_loss_is_minimised_by_the_target():
    # phi = [1, -1, -1, 1]: the loss is linear in s, each pixel's gradient is phi / 4, so the minimum over
    # s in [0, 1] is s = target, with value (-1 - 1) / 4 = -0.5
    phi = torch.tensor([[[1.0, -1.0, -1.0, 1.0]]], dtype=D)
    s = torch.tensor([[[0.0, 1.0, 1.0, 0.0]]], dtype=D, requires_grad=True)
    out = boundary_loss(s, phi, input_type="probs")
    assert out.item() == -0.5
    out.backward()
    assert s.grad.tolist() == [[[0.25, -0.25, -0.25, 0.25]]]


def test_hausdorff_dt_by_hand():
    # target [1 1 0 0]: d_g = [2, 1, 1, 2]; prediction [1 1 1 0] (hard): d_p = [3, 2, 1, 1];
    # only pixel 2 is wrong: 1 * (1^2 + 1^2) / 4 = 0.5. With alpha = 1 the same (distances 1).
    p = torch.tensor([[[1.0, 1.0, 1.0, 0.0]]], dtype=D)
    y = torch.tensor([[1, 1, 0, 0]])
    assert hausdorff_dt_loss(p, y, input_type="probs").item() == 0.5
    # an error farther from the target's contour costs more: p = [1 1 0 1] is wrong at pixel 3 only, where
    # d_p(3) = 1 and d_g(3) = 2: (1 + 4) / 4
    p2 = torch.tensor([[[1.0, 1.0, 0.0, 1.0]]], dtype=D)
    assert hausdorff_dt_loss(p2, y, input_type="probs").item() == (1 + 4) / 4
    assert hausdorff_dt_loss(p, y, input_type="probs", alpha=0.0).item() == 2 / 4


def test_soft_skeleton_of_a_bar_and_cldice_of_a_broken_vessel():
    # a 3 x 7 bar (rows 1-3, columns 1-7): its opening is itself (S_0 = 0); one cross erosion leaves row 2,
    # columns 2-6, whose opening is empty, so the skeleton is those 5 pixels
    bar = torch.zeros(1, 1, 5, 9, dtype=D)
    bar[..., 1:4, 1:8] = 1.0
    skel = soft_skeleton(bar)
    assert skel[0, 0].sum().item() == 5.0 and skel[0, 0, 2, 2:7].tolist() == [1.0] * 5
    # prediction = the bar with a 1-column gap: Dice barely moves, T_sens loses 1 of 5 skeleton pixels
    g = bar.squeeze(1).long()
    pred = bar.clone()
    pred[..., 4] = 0.0
    sp = soft_skeleton(pred)[0, 0]
    t_prec = (sp * bar[0, 0]).sum() / sp.sum()  # smooth = 0
    t_sens = 4.0 / 5.0
    want = 1 - 2 * t_prec * t_sens / (t_prec + t_sens)
    got = cldice_loss(pred, g, input_type="probs", smooth=0.0)
    assert got.item() == pytest.approx(want.item(), rel=1e-12) and got.item() > 0.05
    assert cldice_loss(bar, g, input_type="probs", smooth=0.0).item() == 0.0


def test_deep_supervision_weights_and_targets():
    torch.manual_seed(0)
    y = torch.randint(0, 3, (2, 8, 8), dtype=torch.uint8)
    outs = [
        torch.randn(2, 3, 8, 8, dtype=D),
        torch.randn(2, 3, 4, 4, dtype=D),
        torch.randn(2, 3, 2, 2, dtype=D),
    ]
    dice = losskit.DiceLoss()
    # nearest-exact from 8 to 4 keeps the pixels at odd indices 1, 3, 5, 7 (centres 2k + 1)
    small = y[:, 1::2, 1::2]
    want = (4 * dice(outs[0], y) + 2 * dice(outs[1], small) + dice(outs[2], y[:, 2::4, 2::4])) / 7
    torch.testing.assert_close(losskit.DeepSupervision(dice)(outs, y), want)
    # explicit weights are normalised; a list of targets is used as given
    got = losskit.DeepSupervision(dice, weights=[3.0, 1.0, 0.0])(outs, [y, small, y[:, :2, :2]])
    torch.testing.assert_close(got, 0.75 * dice(outs[0], y) + 0.25 * dice(outs[1], small))
    # one-hot (float) targets are resized the same way, channels kept
    onehot = torch.nn.functional.one_hot(y.long(), 3).movedim(-1, 1).to(D)
    torch.testing.assert_close(losskit.DeepSupervision(dice)(outs, onehot), want)
    # a single tensor is the one-scale case
    torch.testing.assert_close(losskit.DeepSupervision(dice)(outs[0], y), dice(outs[0], y))
    # composition: DeepSupervision of a combined loss, and combined with another loss
    ds = losskit.DeepSupervision(dice + losskit.CrossEntropyLoss())
    torch.testing.assert_close(
        ds(outs, y.long()),
        want
        + (
            4 * losskit.cross_entropy(outs[0], y.long())
            + 2 * losskit.cross_entropy(outs[1], small.long())
            + losskit.cross_entropy(outs[2], y[:, 2::4, 2::4].long())
        )
        / 7,
    )


def test_deep_supervision_errors():
    dice = losskit.DiceLoss()
    outs = [torch.randn(2, 3, 8, 8), torch.randn(2, 3, 4, 4)]
    y = torch.randint(0, 3, (2, 8, 8))
    with pytest.raises(
        ValueError, match=r"^DeepSupervision: weights has 3 entries, one per output is needed, got 2"
    ):
        losskit.DeepSupervision(dice, weights=[1.0, 0.5, 0.25])(outs, y)
    with pytest.raises(ValueError, match=r"^DeepSupervision: weights must hold at least one positive number"):
        losskit.DeepSupervision(dice, weights=[0.0, 0.0])
    with pytest.raises(ValueError, match=r"^DeepSupervision: weights must be in \[0, inf\)"):
        losskit.DeepSupervision(dice, weights=[1.0, -1.0])
    with pytest.raises(TypeError, match=r"^DeepSupervision: loss must be a loss Module or callable"):
        losskit.DeepSupervision("dice")
    with pytest.raises(ValueError, match=r"^DeepSupervision: outputs must hold at least one tensor"):
        losskit.DeepSupervision(dice)([], y)
    with pytest.raises(
        ValueError, match=r"^DeepSupervision: target must be one tensor or one per output \(2\), got 1"
    ):
        losskit.DeepSupervision(dice)(outs, [y])
    with pytest.raises(ValueError, match=r"^DeepSupervision: target must have the outputs' batch size 2"):
        losskit.DeepSupervision(dice)(outs, y[:1])
    with pytest.raises(TypeError, match=r"^DeepSupervision: outputs\[1\] must be a torch.Tensor"):
        losskit.DeepSupervision(dice)([outs[0], "x"], y)


def test_signed_distance_map_and_transform_errors():
    with pytest.raises(
        ValueError, match=r"^signed_distance_map: target must be a 0 / 1 mask without num_classes"
    ):
        signed_distance_map(torch.randint(0, 3, (2, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"^signed_distance_map: target holds class index 3"):
        signed_distance_map(torch.full((2, 4, 4), 3), num_classes=3)
    with pytest.raises(TypeError, match=r"^signed_distance_map: target must be an integer tensor"):
        signed_distance_map(torch.rand(2, 4, 4), num_classes=3)
    with pytest.raises(
        ValueError, match=r"^signed_distance_map: spacing must have one entry per spatial dimension"
    ):
        signed_distance_map(torch.ones(1, 1, 4, 4, dtype=torch.bool), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match=r"^distance_transform: spacing must be in \(0, inf\)"):
        losskit.distance_transform(torch.ones(4, 4), spacing=0.0)
    with pytest.raises(ValueError, match=r"^distance_transform: spatial_dims must be between 1 and 2"):
        losskit.distance_transform(torch.ones(4, 4), spatial_dims=3)
    with pytest.raises(TypeError, match=r"^distance_transform: mask must be a torch.Tensor, got list"):
        losskit.distance_transform([[1, 0]])


def test_modules_registered_and_compose():
    assert isinstance(losskit.get("hausdorff"), losskit.HausdorffDTLoss)
    assert isinstance(losskit.get("cldice"), losskit.ClDiceLoss)
    x, y = torch.randn(2, 3, 6, 6), torch.randint(0, 3, (2, 6, 6))
    crit = losskit.DiceLoss() + 0.5 * losskit.ClDiceLoss(include_background=False)
    torch.testing.assert_close(
        crit(x, y), losskit.dice_loss(x, y) + 0.5 * cldice_loss(x, y, include_background=False)
    )
    compiled = torch.compile(losskit.distance_transform, fullgraph=True, backend="aot_eager")
    m = torch.rand(2, 5, 7) > 0.5
    torch.testing.assert_close(compiled(m, spatial_dims=2), losskit.distance_transform(m, spatial_dims=2))
