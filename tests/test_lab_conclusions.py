"""The loss lab's conclusions show the evidence against a claim (issue 18), without running the lab.

Each experiment's ``conclusions(result)`` is fed a small hand-written result: the issue's own contrary
numbers must appear in ``against`` (focal γ=2 AP 0.365 < CE 0.374; Dice alone 0.694 < CE 0.699; DIoU
worse than GIoU with exact gradients; 16-D embeddings where a random network reaches 0.935), and must not
appear when the numbers go the other way. (The demo test checks a real run has a criterion, a
recommendation and a caption per figure.)"""

from __future__ import annotations

from losskit.lab import diou_simulation, embeddings, imbalanced, segmentation


def _imbalanced(focal_ap: float) -> dict:
    def m(recall, precision, ap):
        return {"minority_recall": recall, "precision": precision, "average_precision": ap}

    return {
        "imbalance": "1:49",
        "losses": {
            "cross-entropy": m(0.28, 0.512, 0.374),
            "focal γ=2": m(0.33, 0.52, focal_ap),
            "balanced CE (α=0.75)": m(0.39, 0.425, 0.38),
        },
    }


def test_imbalanced_shows_focal_ap_below_ce_and_the_precision_cost():
    c = imbalanced.conclusions(_imbalanced(0.365))
    assert c["criterion"].startswith("holds when")
    assert (
        "focal γ=2: average precision 0.365 < cross-entropy 0.374 (threshold-free ranking is not better)"
        in c["against"]
    )
    assert (
        "balanced CE (α=0.75): precision at 0.5 0.425 < cross-entropy 0.512 (more false alarms)"
        in c["against"]
    )
    assert "use balanced CE (α=0.75)" in c["recommendation"] and "tune the threshold" in c["recommendation"]
    assert not any(
        a.startswith("focal γ=2: average precision")
        for a in imbalanced.conclusions(_imbalanced(0.40))["against"]
    )


def _segmentation(dice_alone: float) -> dict:
    def m(dice, recall, precision):
        return {"dice": dice, "recall": recall, "precision": precision}

    return {
        "foreground_fraction": 0.037,
        "losses": {
            "cross-entropy": m(0.699, 0.618, 0.805),
            "dice": m(dice_alone, 0.70, 0.70),
            "dice + CE": m(0.708, 0.70, 0.72),
            "tversky (α=.3, β=.7)": m(0.682, 0.78, 0.606),
        },
    }


def test_segmentation_shows_dice_alone_below_ce():
    c = segmentation.conclusions(_segmentation(0.694))
    assert "dice alone: Dice score 0.694 < cross-entropy 0.699" in c["against"]
    assert "Tversky's recall costs precision: 0.606 vs cross-entropy 0.805" in c["against"]
    assert "start with dice + CE" in c["recommendation"]
    assert not any(
        a.startswith("dice alone") for a in segmentation.conclusions(_segmentation(0.70))["against"]
    )


def _boxes(diou: float) -> dict:
    final = {"iou": 5.9e6, "giou": 2.7e4, "diou": diou, "ciou": 7.5e3, "eiou": 2.7e3, "siou": 5.6e4}
    return {"autograd": {"final": final}}


def test_boxes_shows_diou_worse_than_giou_with_exact_gradients():
    (a,) = diou_simulation.conclusions(_boxes(5.33e4))["against"]
    assert a.startswith("with exact gradients DIoU ends worse than GIoU (5.33e+04 vs 2.7e+04)")
    assert diou_simulation.conclusions(_boxes(1.0e4))["against"] == []


def _embeddings(random_16d: float) -> dict:
    rows = [
        {"loss": n, "dim": 2, "knn_accuracy": acc, "random_init_accuracy": 0.27}
        for n, acc in (("contrastive", 0.88), ("triplet", 0.84), ("supcon", 0.82), ("nt_xent", 0.45))
    ]
    rows += [
        {"loss": n, "dim": 16, "knn_accuracy": acc, "random_init_accuracy": base}
        for n, acc, base in (("contrastive", 0.993, random_16d), ("triplet", 0.948, random_16d - 0.004))
    ]
    return {"rows": rows}


def test_embeddings_shows_a_random_16d_network_near_the_trained_ones():
    (a,) = embeddings.conclusions(_embeddings(0.935))["against"]
    assert a.startswith("16-D: an untrained network already reaches k-NN 0.931-0.935 (trained 0.948-0.993)")
    assert "start with contrastive" in embeddings.conclusions(_embeddings(0.935))["recommendation"]
    assert embeddings.conclusions(_embeddings(0.5))["against"] == []
