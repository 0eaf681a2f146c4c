"""cross_entropy, sigmoid_focal_loss and softmax_focal_loss against torch, torchvision, kornia and MONAI."""

from __future__ import annotations

import json

import kornia
import monai
import torch
import torch.nn.functional as F
import torchvision
from monai.losses import FocalLoss as MonaiFocal
from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal

import losskit
from benchmarks.harness import Case, main, parse_args, peak_rss_bytes


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
        Case(
            "cross_entropy (N, C)",
            ce_inputs,
            {
                "losskit": lambda x, y: losskit.cross_entropy(x, y),
                "torch": lambda x, y: F.cross_entropy(x, y),
            },
        ),
        Case(
            "cross_entropy, smoothing 0.1",
            ce_inputs,
            {
                "losskit": lambda x, y: losskit.cross_entropy(x, y, label_smoothing=0.1),
                "torch": lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
            },
        ),
        Case(
            "sigmoid_focal_loss (anchors, 80)",
            det_inputs,
            {
                "losskit": lambda x, y: losskit.sigmoid_focal_loss(x, y),
                "torchvision": lambda x, y: tv_sigmoid_focal(x, y, reduction="mean"),
                "monai": lambda x, y: monai.losses.FocalLoss(gamma=2.0, alpha=0.25, reduction="mean")(x, y),
            },
        ),
        Case(
            "softmax_focal_loss (N, C)",
            ce_inputs,
            {
                "losskit": lambda x, y: losskit.softmax_focal_loss(x, y, gamma=2.0),
                "kornia": lambda x, y: kornia.losses.focal_loss(
                    x, y, alpha=None, gamma=2.0, reduction="mean"
                ),
                "monai": monai_softmax_focal,
            },
        ),
    ]


RSS_SETUP = """
import losskit
from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal
losskit.set_fast_paths({fast})
g = torch.Generator().manual_seed(1)
x = torch.randn({n}, {c}, generator=g).requires_grad_(True)
y = (torch.rand({n}, {c}, generator=g) < 0.01).float()


def run():
    {call}.backward()
    x.grad = None
"""

RSS_IMPLS = {
    "losskit": ("True", "losskit.sigmoid_focal_loss(x, y)"),
    "losskit, fast paths off": ("False", "losskit.sigmoid_focal_loss(x, y)"),
    "torchvision": ("True", "tv_sigmoid_focal(x, y, reduction='mean')"),
}


def rss_table(quick: bool) -> tuple[str, dict[str, dict[str, float]]]:
    """Peak RSS growth of one sigmoid-focal fwd+bwd in a fresh process per implementation (CPU only).

    The inputs exist before the measurement; what is counted is everything fwd+bwd takes from the
    system on top of them (the gradient buffer included), as a multiple of the input's size.
    """
    n, c = (16384, 80) if quick else (262144, 80)
    size = n * c * 4
    rows: dict[str, dict[str, float]] = {}
    lines = [
        f"### sigmoid_focal_loss fwd+bwd, peak RSS growth over the inputs ({n} x {c} float32, "
        f"input {size / 2**20:.1f} MiB; fresh process each, /proc/self/status VmHWM after clear_refs)",
        "",
    ]
    for name, (fast, call) in RSS_IMPLS.items():
        grow = peak_rss_bytes(RSS_SETUP.format(fast=fast, n=n, c=c, call=call))
        rows[name] = {"rss_mb": grow / 2**20, "x_input": grow / size}
        lines.append(f"{name:28s} {grow / 2**20:9.1f} MiB  {grow / size:5.2f} x input")
    lines += [
        "",
        "input + target + gradient = 3 x input is the floor of any fwd+bwd; the growth above counts",
        "the gradient (1 x) and every temporary on top of the inputs.",
    ]
    return "\n".join(lines), rows


if __name__ == "__main__":
    main(
        "classification",
        build,
        {
            "torchvision": torchvision.__version__,
            "kornia": kornia.__version__,
            "monai": monai.__version__,
            "losskit": losskit.__version__,
        },
    )
    opts = parse_args()
    if opts.device == "cpu":
        text, rows = rss_table(opts.quick)
        print("\n" + text, flush=True)
        if opts.json:
            with open(opts.json) as fh:
                data = json.load(fh)
            data["rss"] = rows
            with open(opts.json, "w") as fh:
                json.dump(data, fh, indent=2)
