"""Empty-mask behaviour of the Dice loss in MONAI, segmentation-models-pytorch, kornia and losskit.

The peers' values are computed live and compared with the table in docs/segmentation-empty-masks.md, so
the page cannot drift from what the installed libraries do; losskit's values are pinned to the SPEC §4
decision (smoothing in numerator and denominator: empty & empty -> 0, empty & non-empty -> near 1, all
ignored -> 0) with their closed forms.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import kornia.losses as KL
import monai.losses as ML
import pytest
import segmentation_models_pytorch.losses as SL
import torch

import losskit.functional as LF

F64 = torch.float64
DOC = Path(__file__).resolve().parents[1] / "docs" / "segmentation-empty-masks.md"
IGNORE = 255
SMOOTH = 1e-5  # losskit's and MONAI's default


def _logits(fg: float) -> torch.Tensor:
    """One 2x4 image, two classes: foreground logit ``fg``, background ``-fg``."""
    x = torch.empty(1, 2, 2, 4, dtype=F64)
    x[:, 1], x[:, 0] = fg, -fg
    return x


CASES = {
    "empty target, empty prediction": (_logits(-20.0), torch.zeros(1, 2, 4, dtype=torch.long), None),
    "empty target, non-empty prediction": (_logits(20.0), torch.zeros(1, 2, 4, dtype=torch.long), None),
    "all pixels ignored": (_logits(20.0), torch.full((1, 2, 4), IGNORE), IGNORE),
}
FG_ONLY = torch.tensor([0.0, 1.0], dtype=F64)


def _kornia(average: str):
    def run(x, y, ign):
        return KL.dice_loss(x, y, average=average, weight=FG_ONLY, ignore_index=-100 if ign is None else ign)

    return run


PEERS = {
    "MONAI": lambda x, y, ign: ML.DiceLoss(
        softmax=True, to_onehot_y=True, include_background=False, ignore_index=ign
    )(x, y[:, None]),
    "smp": lambda x, y, ign: SL.DiceLoss("multiclass", classes=[1], ignore_index=ign)(x, y),
    "kornia macro": _kornia("macro"),
    "kornia micro": _kornia("micro"),
    "losskit": lambda x, y, ign: LF.dice_loss(x, y, include_background=False, ignore_index=ign),
}


def _doc_table() -> dict[str, dict[str, float]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- empty-mask-table -->\n(.*?)<!-- /empty-mask-table -->", text, re.S)
    assert block, "the marked table is missing from docs/segmentation-empty-masks.md"
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.group(1).splitlines()]
    header, body = rows[0], rows[2:]
    return {r[0]: {h: float(v) for h, v in zip(header[1:], r[1:])} for r in body}


def test_doc_table_matches_the_peers_and_losskit() -> None:
    table = _doc_table()
    assert list(table) == list(CASES)
    for case, (x, y, ign) in CASES.items():
        assert list(table[case]) == list(PEERS)
        for peer, run in PEERS.items():
            got = float(run(x, y, ign))
            assert abs(got - table[case][peer]) <= 5e-5, (
                f"{case} / {peer}: computed {got:.6f}, doc says {table[case][peer]:.4f}"
            )


def test_losskit_values_pinned() -> None:
    # foreground probability per pixel: sigmoid(±40) (the softmax of logits ±20 over two classes)
    p_empty = 1.0 / (1.0 + math.exp(40.0))
    p_full = 1.0 / (1.0 + math.exp(-40.0))
    # empty target: loss = 1 - s / (Σp + s) = Σp / (Σp + s) over the 8 pixels
    expected = {
        "empty target, empty prediction": 8 * p_empty / (8 * p_empty + SMOOTH),  # 3.4e-12
        "empty target, non-empty prediction": 8 * p_full / (8 * p_full + SMOOTH),  # 0.99999875
        "all pixels ignored": 0.0,
    }
    for case, (x, y, ign) in CASES.items():
        got = LF.dice_loss(x, y, include_background=False, ignore_index=ign)
        assert float(got) == pytest.approx(expected[case], rel=1e-12, abs=1e-15)
        # MONAI's smoothing is the same: its numbers equal losskit's, not just the rounded table
        assert float(PEERS["MONAI"](x, y, ign)) == pytest.approx(expected[case], rel=1e-12, abs=1e-15)


def test_gradients_in_the_empty_cases() -> None:
    # losskit: finite everywhere; a confident false positive on an empty target is pushed down, while smp's
    # zeroed term gives no gradient; an all-ignored image gives a zero gradient in losskit and kornia
    for case, (x0, y, ign) in CASES.items():
        grads = {}
        for peer in ("losskit", "smp", "kornia macro"):
            x = x0.clone().requires_grad_(True)
            PEERS[peer](x, y, ign).backward()
            assert torch.isfinite(x.grad).all()
            grads[peer] = x.grad
        if case == "all pixels ignored":
            assert torch.equal(grads["losskit"], torch.zeros_like(x0))
            assert torch.equal(grads["kornia macro"], torch.zeros_like(x0))
    x = _logits(2.0).requires_grad_(True)  # a hesitant false positive: a visible gradient
    y = torch.zeros(1, 2, 4, dtype=torch.long)
    LF.dice_loss(x, y, include_background=False).backward()
    assert float(x.grad[:, 1].min()) > 0  # raising the foreground logit raises the loss
    x.grad = None
    PEERS["smp"](x, y, None).backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize(
    "f", [LF.jaccard_loss, LF.tversky_loss, LF.focal_tversky_loss, LF.lovasz_loss], ids=lambda f: f.__name__
)
def test_other_overlap_losses_follow_the_rule(f) -> None:
    want = {
        "empty target, empty prediction": 0.0,
        "empty target, non-empty prediction": 1.0,
        "all pixels ignored": 0.0,
    }
    for case, (x, y, ign) in CASES.items():
        got = float(f(x, y, include_background=False, ignore_index=ign))
        assert got == pytest.approx(want[case], abs=1e-4), case


def test_generalized_dice_with_no_class_present() -> None:
    # every scored class absent: all Sudre weights are 0 and the loss is 0, in losskit as in MONAI
    x, y, _ = CASES["empty target, non-empty prediction"]
    ours = LF.generalized_dice_loss(x, y, include_background=False)
    theirs = ML.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, include_background=False)(x, y[:, None])
    assert float(ours) == 0.0 and float(theirs) == 0.0
