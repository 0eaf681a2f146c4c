"""3-D axis-aligned boxes in iou_loss / giou_loss / diou_loss: MONAI's box_utils as peer, hand-derived
values, and the clear error of the losses without a 3-D form."""

from __future__ import annotations

import pytest
import torch
from monai.data.box_utils import box_iou, box_pair_giou, convert_box_mode

import losskit

F32_EPS = float(torch.finfo(torch.float32).eps)  # MONAI's eps (it computes in float32)


def _boxes(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = torch.rand(n, 3, generator=g, dtype=torch.float64) * 10
    s = torch.rand(n, 3, generator=g, dtype=torch.float64) * 3 + 0.5
    pc = c + torch.randn(n, 3, generator=g, dtype=torch.float64)
    ps = s * torch.exp(0.4 * torch.randn(n, 3, generator=g, dtype=torch.float64))
    return torch.cat([pc - ps / 2, pc + ps / 2], 1), torch.cat([c - s / 2, c + s / 2], 1)


def test_iou_and_giou_equal_monai_box_utils():
    p, g = _boxes()
    iou = 1 - losskit.iou_loss(p, g, box_format="xyzxyz", eps=F32_EPS, reduction="none")
    torch.testing.assert_close(iou, box_iou(p, g).diagonal().double(), rtol=1e-5, atol=1e-6)
    giou = 1 - losskit.giou_loss(p, g, box_format="xyzxyz", eps=F32_EPS, reduction="none")
    torch.testing.assert_close(giou, box_pair_giou(p, g).double(), rtol=1e-5, atol=1e-6)
    # MONAI's centre-size mode "cccwhd" is losskit's "cxcyczwhd"
    pc, gc = (
        convert_box_mode(p, src_mode="xyzxyz", dst_mode="cccwhd"),
        convert_box_mode(g, src_mode="xyzxyz", dst_mode="cccwhd"),
    )
    torch.testing.assert_close(
        losskit.giou_loss(pc, gc, box_format="cxcyczwhd", reduction="none"),
        losskit.giou_loss(p, g, box_format="xyzxyz", reduction="none"),
    )


def test_hand_derived_3d_values():
    # p = [0,2]^3 (volume 8), g = [1,3] x [0,2] x [0,2] (volume 8): I = 1*2*2 = 4, U = 12, IoU = 1/3;
    # enclosing box 3 x 2 x 2 = 12 = U, so GIoU = IoU; centres (1,1,1) and (2,1,1): rho^2 = 1,
    # diagonal^2 = 9 + 4 + 4 = 17, DIoU loss = 1 - 1/3 + 1/17
    p = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0, 2.0]], dtype=torch.float64)
    g = torch.tensor([[1.0, 0.0, 0.0, 3.0, 2.0, 2.0]], dtype=torch.float64)
    kw = {"box_format": "xyzxyz", "eps": 0.0}
    assert losskit.iou_loss(p, g, **kw).item() == pytest.approx(2 / 3, rel=1e-15)
    assert losskit.iou_loss(p, g, mode="log", **kw).item() == pytest.approx(
        -torch.log(torch.tensor(1 / 3)).item()
    )
    assert losskit.giou_loss(p, g, **kw).item() == pytest.approx(2 / 3, rel=1e-15)
    assert losskit.diou_loss(p, g, **kw).item() == pytest.approx(2 / 3 + 1 / 17, rel=1e-15)
    # disjoint along z: IoU 0, enclosing 2 x 2 x 5 = 20, GIoU loss = 1 + (20 - 16) / 20
    far = torch.tensor([[0.0, 0.0, 3.0, 2.0, 2.0, 5.0]], dtype=torch.float64)
    assert losskit.giou_loss(p, far, **kw).item() == pytest.approx(1.2, rel=1e-15)
    # the centre-size form of the same pair
    pc = torch.tensor([[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]], dtype=torch.float64)
    gc = torch.tensor([[2.0, 1.0, 1.0, 2.0, 2.0, 2.0]], dtype=torch.float64)
    assert losskit.diou_loss(pc, gc, box_format="cxcyczwhd", eps=0.0).item() == pytest.approx(2 / 3 + 1 / 17)


def test_modules_take_3d_boxes_and_gradients_flow():
    p, g = _boxes(4, seed=2)
    p.requires_grad_(True)
    loss = losskit.DIoULoss(box_format="xyzxyz")(p, g)
    loss.backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "name", ["ciou_loss", "eiou_loss", "focal_eiou_loss", "cdiou_loss", "siou_loss", "alpha_iou_loss"]
)
@pytest.mark.parametrize("fmt", ["xyzxyz", "cxcyczwhd"])
def test_losses_without_a_3d_form_name_box_format(name, fmt):
    p, g = _boxes(3)
    with pytest.raises(
        ValueError,
        match=rf"^{name}: box_format='{fmt}' \(3-D boxes\) is not supported: .*"
        r"iou_loss, giou_loss and diou_loss take 3-D boxes",
    ):
        getattr(losskit, name)(p, g, box_format=fmt)
