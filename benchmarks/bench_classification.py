"""cross_entropy, sigmoid_focal_loss and softmax_focal_loss against torch, torchvision, kornia and MONAI."""

from __future__ import annotations

import kornia
import monai
import torch
import torch.nn.functional as F
import torchvision
from monai.losses import FocalLoss as MonaiFocal
from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal

import losskit
from benchmarks.harness import Case, main


def build(quick: bool) -> list[Case]:
    n, c = (4096, 100) if quick else (65536, 1000)
    n_det, c_det = (16384, 80) if quick else (262144, 80)  # dense detection: anchors x classes

    def ce_inputs(device: torch.device):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, c, generator=g).to(device)
        y = torch.randint(0, c, (n,), generator=g).to(device)
        return (x, y), (0,)

    def det_inputs(device: torch.device):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(n_det, c_det, generator=g).to(device)
        y = (torch.rand(n_det, c_det, generator=g) < 0.01).float().to(device)
        return (x, y), (0,)

    monai_softmax = MonaiFocal(gamma=2.0, use_softmax=True, to_onehot_y=True, reduction="mean")

    def monai_softmax_focal(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # MONAI averages over N*C elements; multiply by C to get the per-sample mean losskit reports
        return monai_softmax(x, y[:, None]) * x.shape[1]

    return [
        Case("cross_entropy (N, C)", ce_inputs, {
            "losskit": lambda x, y: losskit.cross_entropy(x, y),
            "torch": lambda x, y: F.cross_entropy(x, y),
        }),
        Case("cross_entropy, smoothing 0.1", ce_inputs, {
            "losskit": lambda x, y: losskit.cross_entropy(x, y, label_smoothing=0.1),
            "torch": lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
        }),
        Case("sigmoid_focal_loss (anchors, 80)", det_inputs, {
            "losskit": lambda x, y: losskit.sigmoid_focal_loss(x, y),
            "torchvision": lambda x, y: tv_sigmoid_focal(x, y, reduction="mean"),
            "monai": lambda x, y: monai.losses.FocalLoss(gamma=2.0, alpha=0.25, reduction="mean")(x, y),
        }),
        Case("softmax_focal_loss (N, C)", ce_inputs, {
            "losskit": lambda x, y: losskit.softmax_focal_loss(x, y, gamma=2.0),
            "kornia": lambda x, y: kornia.losses.focal_loss(x, y, alpha=None, gamma=2.0, reduction="mean"),
            "monai": monai_softmax_focal,
        }),
    ]


if __name__ == "__main__":
    main("classification", build, {"torchvision": torchvision.__version__, "kornia": kornia.__version__,
                                   "monai": monai.__version__, "losskit": losskit.__version__})
