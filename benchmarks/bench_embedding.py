"""nt_xent_loss and supervised_contrastive_loss against pytorch-metric-learning and MONAI.

Run with ``OMP_NUM_THREADS=1`` on a shared machine: oversubscribed OpenMP threads make small kernels
100x slower and the timings meaningless. The headline size is a SimCLR batch of 4096 pairs of 128-D embeddings (``--quick``: 1024). Two peers
cannot run there and are measured at a size they can:

* MONAI's ``ContrastiveLoss`` broadcasts ``cosine_similarity`` over a ``(2N, 2N, D)`` tensor:
  ``(2N)² · D`` floats, 34 GB at N = 4096 (2.1 GB at N = 1024).
* pytorch-metric-learning's ``NTXentLoss`` builds one row per positive pair over *all* negative pairs:
  ``2N · 2N(2N - 2)`` floats, 2.2 TB at N = 4096 (0.5 GB at N = 256).

losskit forms the ``2N × 2N`` similarity matrix once and reduces it with ``logsumexp``.
"""

from __future__ import annotations

import monai
import pytorch_metric_learning
import torch
from monai.losses import ContrastiveLoss as MonaiContrastive
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import reducers as pml_reducers

import losskit
from benchmarks.harness import Case, main

TAU_NT_XENT = 0.5
TAU_SUPCON = 0.1


def _views(n: int, d: int, seed: int):
    def make(device: torch.device):
        g = torch.Generator().manual_seed(seed)
        z1 = torch.randn(n, d, generator=g)
        z2 = z1 + 0.5 * torch.randn(n, d, generator=g)
        return (z1.to(device), z2.to(device)), (0, 1)

    return make


def _labelled(n: int, d: int, classes: int, seed: int):
    def make(device: torch.device):
        g = torch.Generator().manual_seed(seed)
        f = torch.randn(n, d, generator=g)
        y = torch.randint(0, classes, (n,), generator=g)
        return (f.to(device), y.to(device)), (0,)

    return make


def _nt_xent_impls(with_pml: bool, with_monai: bool) -> dict:
    impls = {"losskit": lambda z1, z2: losskit.nt_xent_loss(z1, z2, temperature=TAU_NT_XENT)}
    if with_pml:
        pml = pml_losses.NTXentLoss(temperature=TAU_NT_XENT, reducer=pml_reducers.MeanReducer())

        def pml_nt_xent(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
            labels = torch.arange(z1.shape[0], device=z1.device).repeat(2)
            return pml(torch.cat([z1, z2]), labels)

        impls["pml NTXentLoss"] = pml_nt_xent
    if with_monai:
        monai_loss = MonaiContrastive(temperature=TAU_NT_XENT)
        impls["monai ContrastiveLoss"] = lambda z1, z2: monai_loss(z1, z2)
    return impls


def build(quick: bool) -> list[Case]:
    big, d = (1024, 128) if quick else (4096, 128)
    small_all = 128 if quick else 256  # where all three NT-Xent implementations fit
    mid_monai = 256 if quick else 1024  # where MONAI still fits in a few GB
    pml_supcon = pml_losses.SupConLoss(temperature=TAU_SUPCON)

    def monai_gb(n: int) -> float:
        return 4 * (2 * n) ** 2 * d / 1e9

    def pml_gb(n: int) -> float:
        return 4 * (2 * n) * (2 * n) * (2 * n - 2) / 1e9

    return [
        Case(f"nt_xent N={small_all} D={d}", _views(small_all, d, 0), _nt_xent_impls(True, True)),
        Case(
            f"nt_xent N={mid_monai} D={d}",
            _views(mid_monai, d, 1),
            _nt_xent_impls(False, True),
            note=f"pml NTXentLoss omitted: its (2N) x 2N(2N-2) matrix is {pml_gb(mid_monai):.1f} GB",
        ),
        Case(
            f"nt_xent N={big} D={d}",
            _views(big, d, 2),
            _nt_xent_impls(False, False),
            note=f"peers omitted (see the smaller cases): MONAI needs (2N)^2*D floats = {monai_gb(big):.1f} GB, "
            f"pml NTXentLoss {pml_gb(big):.0f} GB",
        ),
        Case(
            f"supcon N={big} D={d} 256 classes",
            _labelled(big, d, 256, 3),
            {
                "losskit": lambda f, y: losskit.supervised_contrastive_loss(f, y, temperature=TAU_SUPCON),
                "pml SupConLoss": lambda f, y: pml_supcon(f, y),
            },
            note="pml's default AvgNonZeroReducer = losskit's mean over anchors with a positive",
        ),
    ]


if __name__ == "__main__":
    main(
        "embedding",
        build,
        {
            "monai": monai.__version__,
            "pytorch-metric-learning": pytorch_metric_learning.__version__,
            "losskit": losskit.__version__,
        },
    )
