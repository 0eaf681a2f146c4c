"""Regression losses against torch.nn.functional: time and peak memory (forward, forward + backward).

Where torch has the same loss (l1, mse, smooth L1, Huber, Gaussian NLL) it is the peer. quantile and
log-cosh have no torch function; their peer is the plain torch expression a user would write
(log-cosh's naive ``log(cosh(x))`` overflows beyond |x| ~ 89 in float32: it is shown for speed only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import losskit
from benchmarks.harness import Case, main


def build(quick: bool) -> list[Case]:
    n = 1 << 20 if quick else 1 << 24  # elements
    q = 3  # quantile levels

    def pair(device: torch.device):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, generator=g).to(device)
        y = torch.randn(n, generator=g).to(device)
        return (x, y), (0,)

    def with_var(device: torch.device):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(n, generator=g).to(device)
        y = torch.randn(n, generator=g).to(device)
        v = (torch.rand(n, generator=g) + 0.1).to(device)
        return (x, y, v), (0, 2)

    def quantiles(device: torch.device):
        g = torch.Generator().manual_seed(2)
        x = torch.randn(n // q, q, generator=g).to(device)
        y = torch.randn(n // q, generator=g).to(device)
        return (x, y), (0,)

    levels = [0.1, 0.5, 0.9]
    tau = torch.tensor(levels)

    def pinball_expr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        u = y[:, None] - x
        t = tau.to(x.device)
        return torch.maximum(t * u, (t - 1) * u).mean()

    return [
        Case(
            "l1_loss",
            pair,
            {
                "losskit": lambda x, y: losskit.l1_loss(x, y),
                "torch": lambda x, y: F.l1_loss(x, y),
            },
        ),
        Case(
            "mse_loss",
            pair,
            {
                "losskit": lambda x, y: losskit.mse_loss(x, y),
                "torch": lambda x, y: F.mse_loss(x, y),
            },
        ),
        Case(
            "smooth_l1_loss (beta 1/9)",
            pair,
            {
                "losskit": lambda x, y: losskit.smooth_l1_loss(x, y, beta=1 / 9),
                "torch": lambda x, y: F.smooth_l1_loss(x, y, beta=1 / 9),
            },
        ),
        Case(
            "huber_loss (delta 1)",
            pair,
            {
                "losskit": lambda x, y: losskit.huber_loss(x, y),
                "torch": lambda x, y: F.huber_loss(x, y),
            },
        ),
        Case(
            "gaussian_nll_loss (var)",
            with_var,
            {
                "losskit": lambda x, y, v: losskit.gaussian_nll_loss(x, y, var=v),
                "torch": lambda x, y, v: F.gaussian_nll_loss(x, y, v),
            },
        ),
        Case(
            "gaussian_nll_loss (log_var)",
            with_var,
            {
                "losskit": lambda x, y, s: losskit.gaussian_nll_loss(x, y, log_var=s),
                "torch (var=exp)": lambda x, y, s: F.gaussian_nll_loss(x, y, s.exp()),
            },
        ),
        Case(
            "quantile_loss (3 levels)",
            quantiles,
            {
                "losskit": lambda x, y: losskit.quantile_loss(x, y, quantiles=levels),
                "torch expression": pinball_expr,
            },
        ),
        Case(
            "log_cosh_loss",
            pair,
            {
                "losskit": lambda x, y: losskit.log_cosh_loss(x, y),
                "torch log(cosh)": lambda x, y: torch.log(torch.cosh(x - y)).mean(),
            },
            note="the naive form overflows to inf for |x - y| > 89 in float32; losskit's is exact",
        ),
        Case(
            "laplace_nll_loss (scale)",
            with_var,
            {
                "losskit": lambda x, y, b: losskit.laplace_nll_loss(x, y, scale=b),
                "torch expression": lambda x, y, b: ((x - y).abs() / b + torch.log(2 * b)).mean(),
            },
        ),
    ]


if __name__ == "__main__":
    main("regression", build, {"losskit": losskit.__version__})
