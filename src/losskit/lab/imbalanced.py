"""Lab 1: imbalanced binary classification (about 1:50) — CE vs balanced CE vs focal loss.

A small MLP is trained on scikit-learn-generated data with each loss (same initialisation, same data,
same optimiser); the test split reports minority-class recall at the 0.5 threshold, precision, average
precision (area under the precision–recall curve) and the PR curve itself.

What it shows: plain cross-entropy is dominated by the easy majority class and rarely predicts the
minority at the default threshold; the α-balanced CE and the focal loss (which down-weights easy,
well-classified examples) recover minority recall. Average precision, which ignores the threshold,
moves much less: the losses mostly re-rank confidence near the boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import losskit
from losskit.lab import single_thread

LOSSES: dict[str, dict[str, Any]] = {
    "cross-entropy": {"fn": "binary_cross_entropy", "kw": {}},
    "balanced CE (α=0.75)": {"fn": "balanced_cross_entropy", "kw": {"alpha": 0.75}},
    "focal γ=1": {"fn": "sigmoid_focal_loss", "kw": {"gamma": 1.0, "alpha": None}},
    "focal γ=2": {"fn": "sigmoid_focal_loss", "kw": {"gamma": 2.0, "alpha": None}},
}


def make_data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two overlapping classes, 2 % positives, 20 features of which 6 informative; 50/50 split."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(
        n_samples=n,
        n_features=20,
        n_informative=6,
        n_redundant=4,
        weights=[0.98, 0.02],
        class_sep=0.8,
        flip_y=0.0,
        random_state=seed,
    )
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-8
    return (x_tr - mu) / sd, (x_te - mu) / sd, y_tr, y_te


def _model(seed: int, d: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))


def run(seed: int = 0, quick: bool = True) -> dict[str, Any]:
    """Train one model per loss; return metrics and PR curves per loss (JSON-serialisable)."""
    n, epochs = (8000, 300) if quick else (30000, 400)
    x_tr, x_te, y_tr, y_te = make_data(seed, n)
    with single_thread():
        return _train_all(seed, epochs, x_tr, x_te, y_tr, y_te)


def _train_all(
    seed: int, epochs: int, x_tr: np.ndarray, x_te: np.ndarray, y_tr: np.ndarray, y_te: np.ndarray
) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    xt, yt = torch.tensor(x_tr, dtype=torch.float32), torch.tensor(y_tr, dtype=torch.float32)
    xe = torch.tensor(x_te, dtype=torch.float32)
    out: dict[str, Any] = {
        "n_train": len(y_tr),
        "n_test": len(y_te),
        "positive_rate": float(y_tr.mean()),
        "imbalance": f"1:{round((1 - y_tr.mean()) / y_tr.mean())}",
        "losses": {},
    }
    for label, cfg in LOSSES.items():
        model = _model(seed, x_tr.shape[1])
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        fn = getattr(losskit, cfg["fn"])
        for _ in range(epochs):
            opt.zero_grad()
            loss = fn(model(xt).squeeze(1), yt, **cfg["kw"])
            loss.backward()
            opt.step()
        with torch.no_grad():
            score = torch.sigmoid(model(xe).squeeze(1)).numpy()
        pred = score >= 0.5
        tp = int((pred & (y_te == 1)).sum())
        recall = tp / max(int((y_te == 1).sum()), 1)
        precision = tp / max(int(pred.sum()), 1)
        prec, rec, _ = precision_recall_curve(y_te, score)
        step = max(1, len(rec) // 200)
        out["losses"][label] = {
            "minority_recall": recall,
            "precision": precision,
            "average_precision": float(average_precision_score(y_te, score)),
            "pr_curve": {"recall": rec[::step].tolist(), "precision": prec[::step].tolist()},
        }
    return out


def headline(result: dict[str, Any]) -> tuple[str, bool]:
    """The claim the lab makes, and whether this run shows it."""
    r = {k: v["minority_recall"] for k, v in result["losses"].items()}
    ce = r["cross-entropy"]
    best_focal = max(r["focal γ=1"], r["focal γ=2"])
    ok = best_focal > ce + 0.02 and r["balanced CE (α=0.75)"] > ce
    return (
        f"focal raises minority recall over CE at threshold 0.5 ({best_focal:.2f} vs {ce:.2f}); "
        f"balanced CE {r['balanced CE (α=0.75)']:.2f}",
        ok,
    )


def plot(result: dict[str, Any], out_dir: Any) -> list[Any]:
    """PR curves of every loss; returns the written paths."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for label, m in result["losses"].items():
        ax.plot(
            m["pr_curve"]["recall"],
            m["pr_curve"]["precision"],
            label=f"{label} (AP {m['average_precision']:.2f}, recall@0.5 {m['minority_recall']:.2f})",
        )
    ax.set_xlabel("recall (minority class)")
    ax.set_ylabel("precision")
    ax.set_title(f"Imbalanced classification ({result['imbalance']})")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path = Path(out_dir) / "imbalanced_pr.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


if __name__ == "__main__":
    res = run()
    for name, m in res["losses"].items():
        print(
            f"{name:24s} recall@0.5 {m['minority_recall']:.3f}  precision {m['precision']:.3f}  "
            f"AP {m['average_precision']:.3f}"
        )
    print(headline(res))


def conclusions(result: dict[str, Any]) -> dict[str, Any]:
    """The claim's criterion, the numbers that cut against it, and what to do (read by the report)."""
    m = result["losses"]
    ce = m["cross-entropy"]
    best_recall = max(m, key=lambda k: m[k]["minority_recall"])
    best_ap = max(m, key=lambda k: m[k]["average_precision"])
    against = [
        f"{k}: average precision {v['average_precision']:.3f} < cross-entropy {ce['average_precision']:.3f} "
        "(threshold-free ranking is not better)"
        for k, v in m.items()
        if k != "cross-entropy" and v["average_precision"] < ce["average_precision"]
    ]
    against += [
        f"{k}: precision at 0.5 {v['precision']:.3f} < cross-entropy {ce['precision']:.3f} "
        "(more false alarms)"
        for k, v in m.items()
        if k != "cross-entropy" and v["precision"] < ce["precision"]
    ]
    return {
        "criterion": "holds when the better focal loss (γ=1 or 2) beats cross-entropy's minority recall at "
        "threshold 0.5 by more than 0.02 and α-balanced CE beats it too (one seed, one data set)",
        "against": against,
        "recommendation": (
            f"For {result['imbalance']} imbalance at the default 0.5 threshold use {best_recall} "
            f"(minority recall {m[best_recall]['minority_recall']:.2f} vs cross-entropy "
            f"{ce['minority_recall']:.2f}), or keep cross-entropy and tune the threshold on validation data: "
            f"the threshold-free average precision barely moves (best {best_ap} "
            f"{m[best_ap]['average_precision']:.3f}, cross-entropy {ce['average_precision']:.3f}), so focal "
            "loss helps AP only where the ranking near the boundary, not the threshold, is the problem."
        ),
        "captions": {
            "imbalanced_pr.png": "Precision-recall curves of the minority class on the test split: a curve "
            "above another ranks better at every threshold; the legend gives AP and recall at 0.5."
        },
    }
