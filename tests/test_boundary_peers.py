"""Boundary-aware segmentation against its peers: MONAI (HausdorffDTLoss, SoftclDiceLoss,
DeepSupervisionLoss) and SciPy (distance_transform_edt), conventions mapped explicitly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.losses import DeepSupervisionLoss, DiceLoss, HausdorffDTLoss, SoftclDiceLoss
from scipy import ndimage

import losskit

SPATIAL = [(7, 9), (4, 5, 6)]
IDS = ["2d", "3d"]


def _case(spatial, c=3, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, *spatial, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, c, (n, *spatial), generator=g)
    onehot = torch.nn.functional.one_hot(y, c).movedim(-1, 1).to(torch.float64)
    return x, y, onehot


@pytest.mark.parametrize("spatial", SPATIAL, ids=IDS)
def test_distance_transform_and_signed_map_equal_scipy(spatial):
    g = torch.Generator().manual_seed(1)
    m = torch.rand(2, *spatial, generator=g) > 0.6
    spacing = tuple(float(s) for s in np.linspace(0.5, 2.0, len(spatial)))
    got = losskit.distance_transform(m.double(), spatial_dims=len(spatial), spacing=spacing)
    want = np.stack([ndimage.distance_transform_edt(m[i].numpy(), sampling=spacing) for i in range(2)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    y = torch.randint(0, 3, (2, *spatial), generator=g, dtype=torch.uint8)
    phi = losskit.signed_distance_map(y, num_classes=3, spacing=spacing)
    for i in range(2):
        for k in range(3):
            inside = y[i].numpy() == k
            want_k = (
                ndimage.distance_transform_edt(~inside, sampling=spacing) * ~inside
                - ndimage.distance_transform_edt(inside, sampling=spacing) * inside
            )
            np.testing.assert_allclose(phi[i, k].numpy(), want_k, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("spatial", SPATIAL, ids=IDS)
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize(("alpha", "per_image"), [(2.0, True), (1.0, False), (3.0, True)])
def test_hausdorff_dt_equals_monai(spatial, include_background, alpha, per_image):
    x, y, onehot = _case(spatial)
    p = torch.softmax(x, 1).detach().requires_grad_(True)
    q = p.detach().clone().requires_grad_(True)
    monai = HausdorffDTLoss(
        alpha=alpha, include_background=include_background, batch=not per_image, reduction="none"
    )(q, onehot)
    ours = losskit.hausdorff_dt_loss(
        p,
        y,
        alpha=alpha,
        input_type="probs",
        include_background=include_background,
        per_image=per_image,
        reduction="none",
    )
    # MONAI keeps (N, C, 1, ...) ((1, C, 1, ...) with batch=True) and its distance fields in float32
    torch.testing.assert_close(ours, monai.reshape(ours.shape), rtol=1e-6, atol=1e-6)
    ours.sum().backward()
    monai.sum().backward()
    torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("spatial", [(9, 11), (6, 7, 5)], ids=IDS)
def test_cldice_equals_monai_one_foreground_channel(spatial):
    # MONAI pools all its channels into one score per sample and adds `smooth` to the harmonic mean's
    # denominator: with a single foreground channel (C = 2, background dropped) and that smooth -> 0 the
    # two are the same loss.
    x, y, onehot = _case(spatial, c=2, seed=3)
    p = torch.softmax(x, 1).detach().requires_grad_(True)
    q = p.detach().clone().requires_grad_(True)
    for iters in (0, 3, 5):
        monai = SoftclDiceLoss(
            iter_=iters,
            smooth_nr=1.0,
            smooth_dr=1.0,
            smooth=1e-300,
            include_background=False,
            reduction="none",
        )(q, onehot)
        ours = losskit.cldice_loss(
            p, y, iterations=iters, smooth=1.0, input_type="probs", include_background=False, reduction="none"
        )
        torch.testing.assert_close(ours.reshape(-1), monai.reshape(-1), rtol=1e-12, atol=1e-12)
        ours.sum().backward()
        monai.sum().backward()
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12)
        p.grad = q.grad = None


def test_deep_supervision_equals_monai_times_weight_sum():
    g = torch.Generator().manual_seed(5)
    y = torch.randint(0, 3, (2, 16, 12), generator=g)
    outs = [torch.randn(2, 3, 16 // 2**k, 12 // 2**k, generator=g, dtype=torch.float64) for k in range(3)]
    w = [1.0, 0.5, 0.25]
    monai = DeepSupervisionLoss(
        DiceLoss(to_onehot_y=True, softmax=True, smooth_nr=1e-5, smooth_dr=1e-5), weights=w
    )([o.float() for o in outs], y[:, None].float())
    ours = losskit.DeepSupervision(losskit.DiceLoss(), weights=w)(outs, y)
    torch.testing.assert_close(ours * sum(w), monai.double(), rtol=1e-5, atol=1e-6)
