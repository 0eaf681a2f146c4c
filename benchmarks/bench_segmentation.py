"""dice_loss, tversky_loss and lovasz_loss against MONAI and segmentation-models-pytorch (smp).

Workloads: 2-D logits (8, 4, 256, 256) and a 3-D volume (2, 3, 96, 96, 96) with class-index targets
(``--quick``: (2, 4, 64, 64) and (1, 3, 24, 24, 24)). Each side runs its own default aggregation, which
costs the same work: MONAI and losskit score each image (``per_image=True`` / ``batch=False``), smp pools
the batch (losskit's ``per_image=False``). MONAI is given the (N, 1, *spatial) target it expects.
Lovász (smp's ``LovaszLoss``; MONAI has none): the softmax variant on the 2-D and 3-D workloads ranked over
the batch (smp's default, losskit ``per_image=False``), and the binary hinge on (8, 1, 256, 256) per image
(``--quick``: (2, 1, 64, 64)); smp averages the present classes only, losskit all (the same work).
"""

from __future__ import annotations

import monai
import segmentation_models_pytorch as smp
import torch
from monai.losses import DiceLoss as MonaiDice
from monai.losses import TverskyLoss as MonaiTversky
from segmentation_models_pytorch.losses import DiceLoss as SmpDice
from segmentation_models_pytorch.losses import LovaszLoss as SmpLovasz
from segmentation_models_pytorch.losses import TverskyLoss as SmpTversky

import losskit
from benchmarks.harness import Case, main


def build(quick: bool) -> list[Case]:
    shape_2d = (2, 4, 64, 64) if quick else (8, 4, 256, 256)
    shape_3d = (1, 3, 24, 24, 24) if quick else (2, 3, 96, 96, 96)

    def inputs(shape: tuple[int, ...], seed: int):
        def make(device: torch.device):
            g = torch.Generator().manual_seed(seed)
            x = torch.randn(*shape, generator=g).to(device)
            y = torch.randint(0, max(2, shape[1]), (shape[0], *shape[2:]), generator=g).to(device)
            return (x, y), (0,)

        return make

    monai_dice = MonaiDice(softmax=True, to_onehot_y=True)
    monai_tversky = MonaiTversky(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7)
    smp_dice = SmpDice("multiclass")
    smp_tversky = SmpTversky("multiclass", alpha=0.3, beta=0.7)
    smp_lovasz = SmpLovasz("multiclass")
    smp_lovasz_hinge = SmpLovasz("binary", per_image=True)
    note = "smp pools the batch (losskit per_image=False costs the same); MONAI and losskit score each image"

    cases = []
    for dims, shape, seed in (("2-D", shape_2d, 0), ("3-D", shape_3d, 1)):
        tag = "x".join(str(s) for s in shape)
        cases += [
            Case(
                f"dice {dims} {tag}",
                inputs(shape, seed),
                {
                    "losskit": lambda x, y: losskit.dice_loss(x, y),
                    "monai": lambda x, y: monai_dice(x, y[:, None]),
                    "smp": lambda x, y: smp_dice(x, y),
                },
                note=note,
            ),
            Case(
                f"tversky {dims} {tag}",
                inputs(shape, seed),
                {
                    "losskit": lambda x, y: losskit.tversky_loss(x, y, alpha=0.3, beta=0.7),
                    "monai": lambda x, y: monai_tversky(x, y[:, None]),
                    "smp": lambda x, y: smp_tversky(x, y),
                },
                note=note,
            ),
            Case(
                f"lovasz softmax {dims} {tag}",
                inputs(shape, seed),
                {
                    "losskit": lambda x, y: losskit.lovasz_loss(x, y, per_image=False),
                    "smp": lambda x, y: smp_lovasz(x, y),
                },
                note="ranked per class over the batch on both sides",
            ),
        ]
    binary = (2, 1, 64, 64) if quick else (8, 1, 256, 256)
    cases.append(
        Case(
            f"lovasz hinge 2-D {'x'.join(str(s) for s in binary)}",
            inputs(binary, 2),
            {
                "losskit": lambda x, y: losskit.lovasz_loss(x, y),
                "smp": lambda x, y: smp_lovasz_hinge(x[:, 0], y),
            },
            note="binary, ranked per image on both sides",
        )
    )
    return cases


if __name__ == "__main__":
    main(
        "segmentation",
        build,
        {"monai": monai.__version__, "smp": smp.__version__, "losskit": losskit.__version__},
    )
