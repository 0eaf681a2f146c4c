"""giou_loss, diou_loss and ciou_loss against torchvision.ops (and MONAI's BoxGIoULoss) on aligned box pairs,
and ``pairwise_box_iou`` against torchvision's pairwise ``box_iou`` family.

Losses: 1,048,576 box pairs by default (``--quick``: 65,536), float32, ``reduction="mean"`` on both sides
(torchvision's default is ``"none"``, so it is asked for ``"mean"`` explicitly). Pairwise: the
4096 x 4096 matrix (``--quick``: 512 x 512) of every kind against ``box_iou``, ``generalized_box_iou``,
``distance_box_iou`` and ``complete_box_iou``, on boxes that need no gradient (matching): its
"fwd+bwd" is the forward with grad mode on, and its floor writes the matrix once.
"""

from __future__ import annotations

import monai
import torch
import torchvision
from monai.losses import BoxGIoULoss
from torchvision.ops import (
    box_iou,
    complete_box_iou,
    complete_box_iou_loss,
    distance_box_iou,
    distance_box_iou_loss,
    generalized_box_iou,
    generalized_box_iou_loss,
)

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

    side = 512 if quick else 4096

    def pairwise_inputs(device: torch.device):
        g = torch.Generator().manual_seed(1)
        out = []
        for _ in range(2):
            corner = torch.rand(side, 2, generator=g) * 512
            out.append(torch.cat([corner, corner + torch.rand(side, 2, generator=g) * 64 + 1], 1).to(device))
        return tuple(out), ()

    peers = {"iou": box_iou, "giou": generalized_box_iou, "diou": distance_box_iou, "ciou": complete_box_iou}
    pairwise = [
        Case(
            f"pairwise_box_iou {kind} ({side}x{side})",
            pairwise_inputs,
            {
                "losskit": lambda a, b, kind=kind: losskit.pairwise_box_iou(a, b, kind=kind),
                "torchvision": peer,
            },
            note="no gradient (matching); fwd+bwd = forward with grad mode on",
        )
        for kind, peer in peers.items()
    ]
    monai_giou = BoxGIoULoss(reduction="mean")
    return [
        *pairwise,
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
