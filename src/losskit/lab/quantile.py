"""Lab 5: quantile regression on heteroscedastic data — 0.1 / 0.5 / 0.9 quantile fits and their coverage.

Data: ``y = sin(2πx) + (0.1 + 0.6x)·ε`` with ``x ~ U(0, 1)`` and ``ε ~ N(0, 1)``: the noise grows with
``x``. One small MLP with three outputs is trained with :func:`losskit.quantile_loss` at levels
0.1, 0.5, 0.9; a second with :func:`losskit.mse_loss`, given the usual homoscedastic band
``mean ± 1.2816 σ̂`` (σ̂ from the training residuals) as its 80 % interval.

What it shows: the pinball loss learns where the noise is, so the 80 % interval covers ≈ 80 % of the
test points in the quiet half (x < 0.5) *and* in the noisy half; the constant-width MSE band over-covers
the quiet half and under-covers the noisy one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import losskit
from losskit.lab import single_thread

LEVELS = (0.1, 0.5, 0.9)


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Heteroscedastic 1-D regression data."""
    x = rng.uniform(0.0, 1.0, n)
    y = np.sin(2 * np.pi * x) + (0.1 + 0.6 * x) * rng.normal(size=n)
    return x, y


def _mlp(seed: int, out: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(1, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, out),
    )


def _fit(model: torch.nn.Module, x: torch.Tensor, loss_fn: Any, steps: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x)).backward()
        opt.step()
        sched.step()


def run(seed: int = 0, quick: bool = True) -> dict[str, Any]:
    """Run the experiment single-threaded (see :func:`_run`)."""
    with single_thread():
        return _run(seed, quick)


def _run(seed: int, quick: bool) -> dict[str, Any]:
    """Fit both models; return coverage per level and per half, interval widths and curves."""
    rng = np.random.default_rng(seed)
    n, steps = (2000, 600) if quick else (8000, 1500)
    x_tr, y_tr = make_data(rng, n)
    x_te, y_te = make_data(rng, n)
    xt = torch.tensor(x_tr, dtype=torch.float32)[:, None]
    yt = torch.tensor(y_tr, dtype=torch.float32)
    xe = torch.tensor(x_te, dtype=torch.float32)[:, None]

    qmodel = _mlp(seed, len(LEVELS))
    _fit(qmodel, xt, lambda out: losskit.quantile_loss(out, yt, quantiles=list(LEVELS)), steps)
    mmodel = _mlp(seed, 1)
    _fit(mmodel, xt, lambda out: losskit.mse_loss(out.squeeze(1), yt), steps)

    with torch.no_grad():
        q = qmodel(xe).sort(dim=1).values.numpy()  # sorting guards against crossing quantiles
        mean = mmodel(xe).squeeze(1).numpy()
        sigma = float(np.std(y_tr - mmodel(xt).squeeze(1).numpy()))
    lo_m, hi_m = mean - 1.2816 * sigma, mean + 1.2816 * sigma
    halves = {"x < 0.5": x_te < 0.5, "x >= 0.5": x_te >= 0.5}

    def cover(lo: np.ndarray, hi: np.ndarray, m: np.ndarray) -> float:
        return float(((y_te >= lo) & (y_te <= hi))[m].mean())

    grid = np.linspace(0, 1, 101)
    with torch.no_grad():
        gq = qmodel(torch.tensor(grid, dtype=torch.float32)[:, None]).sort(dim=1).values.numpy()
        gm = mmodel(torch.tensor(grid, dtype=torch.float32)[:, None]).squeeze(1).numpy()
    return {
        "levels": list(LEVELS),
        "quantile_coverage": {str(t): float((y_te <= q[:, i]).mean()) for i, t in enumerate(LEVELS)},
        "interval_80": {
            "quantile": {h: cover(q[:, 0], q[:, 2], m) for h, m in halves.items()},
            "mse_band": {h: cover(lo_m, hi_m, m) for h, m in halves.items()},
        },
        "mean_width": {
            "quantile": {h: float((q[:, 2] - q[:, 0])[m].mean()) for h, m in halves.items()},
            "mse_band": {h: 2 * 1.2816 * sigma for h in halves},
        },
        "curves": {"x": grid.tolist(), "q": gq.T.tolist(), "mse_mean": gm.tolist(), "mse_sigma": sigma},
        "sample": {"x": x_te[:400].tolist(), "y": y_te[:400].tolist()},
    }


def headline(result: dict[str, Any]) -> tuple[str, bool]:
    """The claim: quantile intervals hold ~80 % coverage in both halves; the MSE band does not."""
    qi, mi = result["interval_80"]["quantile"], result["interval_80"]["mse_band"]
    q_err = max(abs(v - 0.8) for v in qi.values())
    m_err = max(abs(v - 0.8) for v in mi.values())
    ok = q_err < 0.06 and m_err > 2 * q_err
    return (
        f"80% interval coverage by half — quantile {qi['x < 0.5']:.2f} / {qi['x >= 0.5']:.2f}, "
        f"MSE ± 1.28σ band {mi['x < 0.5']:.2f} / {mi['x >= 0.5']:.2f}",
        ok,
    )


def plot(result: dict[str, Any], out_dir: Any) -> list[Any]:
    """Scatter of the test data with both fits."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = result["curves"]
    x = np.asarray(c["x"])
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.scatter(result["sample"]["x"], result["sample"]["y"], s=4, alpha=0.35, color="grey", label="test data")
    for qv, t in zip(c["q"], result["levels"]):
        ax.plot(x, qv, label=f"quantile_loss τ={t}")
    m, s = np.asarray(c["mse_mean"]), c["mse_sigma"]
    ax.plot(x, m, "k--", label="mse_loss mean")
    ax.fill_between(x, m - 1.2816 * s, m + 1.2816 * s, color="k", alpha=0.08, label="MSE ± 1.28σ")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Heteroscedastic regression: quantile fits vs MSE band")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(out_dir) / "quantile_fits.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


if __name__ == "__main__":
    res = run()
    print(res["quantile_coverage"], res["interval_80"], res["mean_width"])
    print(headline(res))


def conclusions(result: dict[str, Any]) -> dict[str, Any]:
    """The claim's criterion, the numbers that cut against it, and what to do (read by the report)."""
    qi, mi = result["interval_80"]["quantile"], result["interval_80"]["mse_band"]
    against = [
        f"quantile level {lv}: coverage {c:.2f}, off by more than 0.05"
        for lv, c in result["quantile_coverage"].items()
        if abs(c - float(lv)) > 0.05
    ]
    return {
        "criterion": "holds when the 0.1-0.9 quantile interval covers 80% +- 0.06 of the test points in both "
        "halves of x, and the MSE +- 1.28 sigma band misses 80% by more than twice as much",
        "against": against,
        "recommendation": (
            "For prediction intervals where the noise changes with the input, fit the interval's ends with "
            f"quantile_loss (coverage {qi['x < 0.5']:.2f} / {qi['x >= 0.5']:.2f} in the two halves); a "
            f"constant band around an MSE fit over-covers where the noise is small ({mi['x < 0.5']:.2f}) and "
            f"under-covers where it is large ({mi['x >= 0.5']:.2f})."
        ),
        "captions": {
            "quantile_fits.png": "Test data with the 0.1 / 0.5 / 0.9 quantile fits and the MSE mean +- 1.28 "
            "sigma band: the quantile lines widen with the noise, the band does not."
        },
    }
