"""giou_loss, diou_loss and ciou_loss against torchvision.ops (and MONAI's BoxGIoULoss) on aligned box pairs.

1,048,576 box pairs by default (``--quick``: 65,536), float32, ``reduction="mean"`` on both sides
(torchvision's default is ``"none"``, so it is asked for ``"mean"`` explicitly).
"""

from __future__ import annotations

import monai
import torch
import torchvision
from monai.losses import BoxGIoULoss
from torchvision.ops import complete_box_iou_loss, distance_box_iou_loss, generalized_box_iou_loss

import losskit
from benchmarks.harness import Case, main


def build(quick: bool) -> list[Case]:
    n = 65_536 if quick else 1_048_576

    def inputs(device: torch.device):
        g = torch.Generator().manual_seed(0)
        centre = torch.rand(n, 2, generator=g) * 512
        size = torch.rand(n, 2, generator=g) * 64 + 4
        target = torch.cat([centre - size / 2, centre + size / 2], 1)
        pred = target + torch.randn(n, 4, generator=g) * 4
        pred = torch.cat([pred[:, :2], torch.maximum(pred[:, 2:], pred[:, :2] + 0.5)], 1)
        return (pred.to(device), target.to(device)), (0,)

    monai_giou = BoxGIoULoss(reduction="mean")
    return [
        Case(
            f"giou_loss ({n:,} boxes)",
            inputs,
            {
                "losskit": lambda p, t: losskit.giou_loss(p, t),
                "torchvision": lambda p, t: generalized_box_iou_loss(p, t, reduction="mean"),
                "monai": lambda p, t: monai_giou(p, t),
            },
        ),
        Case(
            f"diou_loss ({n:,} boxes)",
            inputs,
            {
                "losskit": lambda p, t: losskit.diou_loss(p, t),
                "torchvision": lambda p, t: distance_box_iou_loss(p, t, reduction="mean"),
            },
        ),
        Case(
            f"ciou_loss ({n:,} boxes)",
            inputs,
            {
                "losskit": lambda p, t: losskit.ciou_loss(p, t),
                "torchvision": lambda p, t: complete_box_iou_loss(p, t, reduction="mean"),
            },
        ),
    ]


if __name__ == "__main__":
    main(
        "boxes",
        build,
        {"torchvision": torchvision.__version__, "monai": monai.__version__, "losskit": losskit.__version__},
    )
