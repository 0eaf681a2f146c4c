"""The DIoU paper's simulation experiment (Zheng et al., AAAI 2020, §"Analysis to IoU and GIoU Losses").

Bounding-box regression is simulated without a network: every anchor box is moved by gradient descent on
one IoU-family loss towards its target, and the total ℓ1 error of ``(x, y, w, h)`` is recorded per
iteration (SPEC §3.1):

* 7 targets of area 1 centred at (10, 10), aspect ratios 1:4, 1:3, 1:2, 1:1, 2:1, 3:1, 4:1;
* anchors centred at 5,000 points uniform in the disc of radius 3 around (10, 10) (``r = 3√U``), with
  7 scales (areas 0.5, 0.67, 0.75, 1, 1.33, 1.5, 2) × the same 7 aspect ratios;
* every anchor against every target: 5,000 × 49 × 7 = 1,715,000 regression cases;
* ``B ← B + η(2 − IoU)·(−∂L/∂B)`` in centre-size coordinates ``(x, y, w, h)``, ``η = 0.1`` for
  ``t <= 0.8T``, 0.01 to ``0.9T`` and 0.001 after, ``T = 200``.

The gradients come from losskit's own losses through autograd (``box_format="cxcywh"``), all cases at once.
A subsample draws the same distribution (a uniform point in the disc, a uniform anchor and target) and its
total error is scaled by ``1,715,000 / n`` to be comparable with the paper's totals, which are: IoU loss
≈ 5.9e6 (it stalls: non-overlapping anchors get no gradient), GIoU ≈ 1.5e6, DIoU and CIoU ≈ 4e3.

**Exact gradients versus the authors' code.** With exact gradients (losskit's losses; full 1,715,000
cases, float64) the IoU loss stalls at 5.90e6, as published, but GIoU ends at 2.95e4, DIoU at 5.29e4 and
CIoU lowest at 7.5e3: GIoU is *not* hundreds of times worse than DIoU. The published GIoU ≈ 1.5e6 and
DIoU ≈ 4e3 come from the hand-written gradients of the authors' MATLAB simulation (github.com/Zzh-tju/DIoU,
"simulation experiment"):

* its GIoU gradient uses the *signed* intersection of non-overlapping boxes, a negative "intersection"
  that steers them wrongly (with the intersection clamped at 0 its GIoU total drops to ≈ 2.6e4);
* its DIoU/CIoU enclosing-box derivatives mix widths and heights and flip sign when the prediction
  encloses the target, which happens to shrink oversized boxes quickly (the exact DIoU penalty pushes
  them the other way, so a few boxes that contain their target shrink slowly);
* its size gradients are twice the chain rule's (``∂/∂w = ∂/∂r - ∂/∂l`` instead of half that), and
  CIoU's ``∂v/∂w`` drops the ``1/(w² + h²)`` factor (as the paper says).

``gradients="authors"`` re-implements those update rules (iou, giou, diou, ciou) and reproduces the
published totals; ``gradients="autograd"`` (default) is what losskit's losses do.

Run ``python -m losskit.lab.diou_simulation`` (20,000 cases, about a minute) or ``--full`` (all 1,715,000,
about 8 minutes on one CPU thread).
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from losskit._core.checks import get_checks, set_checks
from losskit.functional import boxes as FB

__all__ = [
    "ASPECT_RATIOS",
    "AUTHORS_LOSSES",
    "FULL_CASES",
    "LOSSES",
    "PAPER_FINAL_ERROR",
    "SCALES",
    "format_table",
    "make_cases",
    "run",
    "step_size",
]

ASPECT_RATIOS = (1 / 4, 1 / 3, 1 / 2, 1.0, 2.0, 3.0, 4.0)
SCALES = (0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0)
N_POINTS = 5000
CENTRE = 10.0
RADIUS = 3.0
FULL_CASES = N_POINTS * len(SCALES) * len(ASPECT_RATIOS) * len(ASPECT_RATIOS)  # 1,715,000
# the paper's total final errors (Zheng et al. 2020, Fig. 3), as quoted in SPEC §3.1
PAPER_FINAL_ERROR = {"iou": 5.9e6, "giou": 1.5e6, "diou": 4e3, "ciou": 4e3}

AUTHORS_LOSSES = ("iou", "giou", "diou", "ciou")
LossFn = Callable[..., Tensor]
LOSSES: dict[str, LossFn] = {
    "iou": FB.iou_loss,
    "giou": FB.giou_loss,
    "diou": FB.diou_loss,
    "ciou": FB.ciou_loss,
    "eiou": FB.eiou_loss,
    "focal_eiou": FB.focal_eiou_loss,
    "cdiou": FB.cdiou_loss,
    "siou": FB.siou_loss,
    "alpha_iou": FB.alpha_iou_loss,
    # α-CIoU, the form He et al. recommend; plain α-IoU has no gradient for boxes that do not overlap
    "alpha_ciou": functools.partial(FB.alpha_iou_loss, kind="ciou"),
}


def _sizes(area: Tensor, ratio: Tensor) -> tuple[Tensor, Tensor]:
    """Width and height of a box with this area and aspect ratio ``w / h``."""
    return torch.sqrt(area * ratio), torch.sqrt(area / ratio)


def _disc_points(n: int, g: torch.Generator, dtype: torch.dtype) -> Tensor:
    r = RADIUS * torch.sqrt(torch.rand(n, generator=g, dtype=dtype))
    phi = 2 * math.pi * torch.rand(n, generator=g, dtype=dtype)
    return torch.stack((CENTRE + r * torch.cos(phi), CENTRE + r * torch.sin(phi)), dim=1)


def make_cases(
    n_cases: int | None = None, *, seed: int = 0, dtype: torch.dtype = torch.float64
) -> tuple[Tensor, Tensor]:
    """Anchors and their targets as ``(n, 4)`` ``cxcywh`` boxes.

    Args:
        n_cases: ``None`` for the full grid (1,715,000 cases: 5,000 points × 49 anchors × 7 targets), or the
            size of a random subsample drawn from the same distribution.
        seed: seed of the points (and of the subsample's anchor / target choice).
        dtype: floating dtype of the boxes.

    Returns:
        ``(anchors, targets)``.
    """
    g = torch.Generator().manual_seed(seed)
    ratios = torch.tensor(ASPECT_RATIOS, dtype=dtype)
    scales = torch.tensor(SCALES, dtype=dtype)
    if n_cases is None:
        pts = _disc_points(N_POINTS, g, dtype)
        # every (point, scale, anchor ratio, target ratio) combination
        p_i, s_i, a_i, t_i = torch.meshgrid(
            torch.arange(N_POINTS),
            torch.arange(len(SCALES)),
            torch.arange(len(ratios)),
            torch.arange(len(ratios)),
            indexing="ij",
        )
        p_i, s_i, a_i, t_i = p_i.reshape(-1), s_i.reshape(-1), a_i.reshape(-1), t_i.reshape(-1)
        centres = pts[p_i]
    else:
        if n_cases < 1:
            raise ValueError(f"make_cases: n_cases must be a positive int or None, got {n_cases}")
        centres = _disc_points(n_cases, g, dtype)
        s_i = torch.randint(len(SCALES), (n_cases,), generator=g)
        a_i = torch.randint(len(ratios), (n_cases,), generator=g)
        t_i = torch.randint(len(ratios), (n_cases,), generator=g)
    aw, ah = _sizes(scales[s_i], ratios[a_i])
    tw, th = _sizes(torch.ones_like(aw), ratios[t_i])
    anchors = torch.stack((centres[:, 0], centres[:, 1], aw, ah), dim=1)
    targets = torch.stack((torch.full_like(tw, CENTRE), torch.full_like(tw, CENTRE), tw, th), dim=1)
    return anchors, targets


def step_size(t: int, iterations: int) -> float:
    """η at iteration ``t`` (1-based): 0.1 up to 0.8T, 0.01 up to 0.9T, 0.001 after."""
    if t <= 0.8 * iterations:
        return 0.1
    if t <= 0.9 * iterations:
        return 0.01
    return 0.001


def _autograd_direction(name: str, b: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """``(-∂L/∂B, IoU)`` from losskit's loss through autograd."""
    b = b.detach().requires_grad_(True)
    loss = LOSSES[name](b, targets, box_format="cxcywh", reduction="sum")
    (grad,) = torch.autograd.grad(loss, b)
    with torch.no_grad():
        iou = FB.box_iou(b, targets, box_format="cxcywh")
    return -grad, iou


def _on(cond: Tensor, value: Tensor | float, like: Tensor) -> Tensor:
    return torch.where(
        cond, torch.as_tensor(value, dtype=like.dtype, device=like.device), torch.zeros_like(like)
    )


def _authors_direction(name: str, b: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """The update direction of the authors' MATLAB simulation, re-implemented (quirks included, see above)."""
    x, y, w, h = b.unbind(1)
    gx, gy, gw, gh = targets.unbind(1)
    t, bo, le, r = y - h / 2, y + h / 2, x - w / 2, x + w / 2
    gt, gb, gl, gr = gy - gh / 2, gy + gh / 2, gx - gw / 2, gx + gw / 2
    it, ib, il, ir = torch.maximum(t, gt), torch.minimum(bo, gb), torch.maximum(le, gl), torch.minimum(r, gr)
    inter = (ib - it) * (ir - il)  # signed: negative or even positive for disjoint boxes
    union = (bo - t) * (r - le) + (gb - gt) * (gr - gl) - inter
    overlap = (it < ib) & (il < ir)
    iou = torch.where(overlap, inter / union, torch.zeros_like(union))
    # ∂I and ∂U with respect to (t, b, l, r)
    d_inter = [
        -torch.where(t > gt, ir - il, torch.zeros_like(t)),
        torch.where(bo < gb, ir - il, torch.zeros_like(t)),
        -torch.where(le > gl, ib - it, torch.zeros_like(t)),
        torch.where(r < gr, ib - it, torch.zeros_like(t)),
    ]
    d_area = [-(r - le), r - le, -(bo - t), bo - t]
    d_union = [da - di for da, di in zip(d_area, d_inter)]
    ok = overlap & (union > 0)
    d_iou = [
        torch.where(ok, (union * di - inter * du) / union**2, torch.zeros_like(t))
        for di, du in zip(d_inter, d_union)
    ]
    # an inverted box copies the second edge's derivative onto the first (MATLAB's sequential "swap")
    d_iou[0] = torch.where(t < bo, d_iou[0], d_iou[1])
    d_iou[2] = torch.where(le < r, d_iou[2], d_iou[3])
    ct, cb, cl, cr = torch.minimum(t, gt), torch.maximum(bo, gb), torch.minimum(le, gl), torch.maximum(r, gr)
    if name == "giou":
        area_c = (cb - ct) * (cr - cl)
        d_c = [
            -torch.where(t < gt, cr - cl, torch.zeros_like(t)),
            torch.where(bo > gb, cr - cl, torch.zeros_like(t)),
            -torch.where(le < gl, cb - ct, torch.zeros_like(t)),
            torch.where(r > gr, cb - ct, torch.zeros_like(t)),
        ]
        pen = [(area_c * du - union * dc) / area_c**2 for du, dc in zip(d_union, d_c)]
        d_iou = [torch.where(overlap, di + p, p) for di, p in zip(d_iou, pen)]
    direction = torch.stack(
        (d_iou[2] + d_iou[3], d_iou[0] + d_iou[1], d_iou[3] - d_iou[2], d_iou[1] - d_iou[0]), 1
    )
    if name in ("diou", "ciou"):
        cw, ch = cr - cl, cb - ct
        diag2 = cw**2 + ch**2
        # (x, y, w, h) derivatives of the enclosing box's edges, as the authors wrote them
        top = [_on(t < gt, v, t) for v in (0.0, 1.0, 0.0, -0.5)]
        bottom = [_on(bo > gb, v, t) for v in (0.0, 1.0, 0.0, 0.5)]
        left = [_on(le < gl, v, t) for v in (1.0, 0.0, -0.5, 0.0)]
        right = [_on(r > gr, v, t) for v in (1.0, 0.0, 0.5, 0.0)]
        d_cw = [right[0] - left[0], bottom[1] - top[1], right[2] - left[2], bottom[3] - top[3]]
        d_ch = list(d_cw)  # the same expressions for the height (not the height's derivatives)
        d_cw[2] = torch.where((le < gl) & (r > gr), -torch.ones_like(t), d_cw[2])
        d_ch[3] = torch.where((t < gt) & (bo > gb), -torch.ones_like(t), d_ch[3])
        rho2 = (x - gx) ** 2 + (y - gy) ** 2
        pen_x = (2 * (gx - x) * diag2 - (2 * cw * d_cw[0] + 2 * ch * d_ch[0]) * rho2) / diag2**2
        pen_y = (2 * (gy - y) * diag2 - (2 * cw * d_cw[1] + 2 * ch * d_ch[1]) * rho2) / diag2**2
        pen_w = (2 * cw * d_cw[2] + 2 * ch * d_ch[2]) * rho2 / diag2**2
        pen_h = (2 * cw * d_cw[3] + 2 * ch * d_ch[3]) * rho2 / diag2**2
        if name == "ciou":
            dv = torch.atan(gw / gh) - torch.atan(w / h)
            v = 4 / math.pi**2 * dv**2
            alpha = v / (1 - iou + v + 1e-7)
            pen_w = pen_w + alpha * 8 / math.pi**2 * dv * h  # ∂v/∂w without its 1/(w² + h²)
            pen_h = pen_h - alpha * 8 / math.pi**2 * dv * w
        direction = direction + torch.stack((pen_x, pen_y, pen_w, pen_h), 1)
    return direction, iou


def _simulate(name: str, anchors: Tensor, targets: Tensor, iterations: int, gradients: str) -> Tensor:
    """Total ℓ1 error after each iteration (index 0 = the anchors), shape ``(iterations + 1,)``."""
    errors = torch.empty(iterations + 1, dtype=torch.float64, device=anchors.device)
    b = anchors.clone()
    errors[0] = (b - targets).abs().sum()
    step = _authors_direction if gradients == "authors" else _autograd_direction
    for t in range(1, iterations + 1):
        direction, iou = step(name, b, targets)
        b = (b + step_size(t, iterations) * (2.0 - iou).unsqueeze(1) * direction).detach()
        errors[t] = (b - targets).abs().sum()
    return errors


def run(
    losses: Sequence[str] = ("iou", "giou", "diou", "ciou"),
    n_cases: int | None = 20_000,
    iterations: int = 200,
    seed: int = 0,
    *,
    chunk: int = 250_000,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    gradients: str = "autograd",
) -> dict[str, Any]:
    """Run the simulation for each loss and return the error curves.

    Args:
        losses: names from :data:`LOSSES` (``"iou"``, ``"giou"``, ``"diou"``, ``"ciou"``, ``"eiou"``, ...).
        n_cases: subsample size, or ``None`` for all 1,715,000 cases.
        iterations: ``T`` (200 in the paper); the step size schedule scales with it.
        seed: seed of the anchors.
        chunk: cases per autograd pass (bounds memory; cases are independent, so the result does not
            depend on it except for ``focal_eiou``, whose normalisation is per pass).
        dtype: floating dtype of the simulation.
        device: where to run it (the boxes are drawn on the CPU, so results do not depend on the device
            beyond rounding).
        gradients: ``"autograd"`` (default): the exact gradients of losskit's losses; ``"authors"``: the
            update rules of the authors' MATLAB code (iou, giou, diou, ciou only), which reproduce the
            published totals (see the module docstring).

    Returns:
        ``{"n_cases", "full_cases", "scale", "iterations", "seed", "seconds", "curves", "curves_unscaled",
        "final", "final_unscaled"}``: ``curves[name]`` is the total ℓ1 error per iteration (length
        ``iterations + 1``, a list of floats) scaled by ``scale = 1,715,000 / n_cases``; ``final`` holds the
        last values; ``seconds[name]`` the wall time per loss.

    Raises:
        ValueError: for an unknown loss name or a non-positive size.

    Example:
        >>> from losskit.lab.diou_simulation import run
        >>> out = run(("iou", "ciou"), n_cases=300)
        >>> out["final"]["ciou"] < out["final"]["iou"] / 100  # IoU stalls, CIoU converges
        True
    """
    if gradients not in ("autograd", "authors"):
        raise ValueError(f"run: gradients must be one of ('autograd', 'authors'), got {gradients!r}")
    allowed = tuple(LOSSES) if gradients == "autograd" else AUTHORS_LOSSES
    unknown = [name for name in losses if name not in allowed]
    if unknown:
        raise ValueError(
            f"run: losses must be names from {allowed} with gradients={gradients!r}, got {unknown}"
        )
    if iterations < 1 or chunk < 1:
        raise ValueError(f"run: iterations and chunk must be positive, got {iterations} and {chunk}")
    anchors, targets = make_cases(n_cases, seed=seed, dtype=dtype)
    anchors, targets = anchors.to(device), targets.to(device)
    n = anchors.shape[0]
    scale = FULL_CASES / n
    curves: dict[str, list[float]] = {}
    unscaled: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    previous_checks = get_checks()
    set_checks("off")  # the boxes are valid by construction; skip the per-call value scans
    try:
        for name in losses:
            t0 = time.perf_counter()
            total = torch.zeros(iterations + 1, dtype=torch.float64, device=anchors.device)
            for start in range(0, n, chunk):
                total += _simulate(
                    name,
                    anchors[start : start + chunk],
                    targets[start : start + chunk],
                    iterations,
                    gradients,
                )
            seconds[name] = time.perf_counter() - t0
            unscaled[name] = total.cpu().tolist()
            curves[name] = (total * scale).cpu().tolist()
    finally:
        set_checks(previous_checks)
    return {
        "n_cases": n,
        "full_cases": FULL_CASES,
        "scale": scale,
        "iterations": iterations,
        "seed": seed,
        "gradients": gradients,
        "seconds": seconds,
        "curves": curves,
        "curves_unscaled": unscaled,
        "final": {k: v[-1] for k, v in curves.items()},
        "final_unscaled": {k: v[-1] for k, v in unscaled.items()},
    }


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of the error curves (scaled to the full experiment) beside the paper's totals."""
    iters = result["iterations"]
    marks = sorted({0, iters // 10, iters // 4, iters // 2, int(0.8 * iters), int(0.9 * iters), iters})
    head = (
        f"{'loss':11s}" + "".join(f"{'t=' + str(t):>11s}" for t in marks) + f"{'paper':>11s}{'seconds':>9s}"
    )
    lines = [
        f"DIoU simulation: {result['n_cases']:,} cases (x{result['scale']:.4g} to the full "
        f"{result['full_cases']:,}), {iters} iterations, {result['gradients']} gradients; total l1 error of "
        "(x, y, w, h)",
        head,
        "-" * len(head),
    ]
    for name, curve in result["curves"].items():
        paper = PAPER_FINAL_ERROR.get(name)
        lines.append(
            f"{name:11s}"
            + "".join(f"{curve[t]:11.4g}" for t in marks)
            + (f"{paper:11.2g}" if paper is not None else f"{'-':>11s}")
            + f"{result['seconds'][name]:9.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: ``python -m losskit.lab.diou_simulation [--cases N | --full] [--losses ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=20_000, help="subsample size (default 20,000)")
    parser.add_argument("--full", action="store_true", help="all 1,715,000 cases")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument(
        "--losses", nargs="+", default=["iou", "giou", "diou", "ciou"], choices=sorted(LOSSES)
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--float32", action="store_true", help="simulate in float32 (default float64)")
    parser.add_argument(
        "--gradients",
        default="autograd",
        choices=("autograd", "authors"),
        help="exact gradients of losskit's losses, or the authors' MATLAB update rules",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    args = parser.parse_args(argv)
    result = run(
        args.losses,
        None if args.full else args.cases,
        args.iterations,
        args.seed,
        dtype=torch.float32 if args.float32 else torch.float64,
        device=args.device,
        gradients=args.gradients,
    )
    print(format_table(result), flush=True)
    return result


if __name__ == "__main__":
    main()


# --- hooks for `losskit demo` -------------------------------------------------------------------------
DEMO_LOSSES = ("iou", "giou", "diou", "ciou", "eiou", "siou", "alpha_iou", "alpha_ciou")


def lab_run(seed: int = 0, quick: bool = True) -> dict[str, Any]:
    """The loss lab's run: every loss with exact gradients, and the paper's four with the authors' rules.

    Args:
        seed: seed of the anchor subsample.
        quick: 4,000 cases (a few seconds per loss) instead of 40,000.

    Returns:
        ``{"autograd": run(...), "authors": run(..., gradients="authors"), "final_error": {...}}``.
    """
    n = 4_000 if quick else 40_000
    exact = run(DEMO_LOSSES, n_cases=n, seed=seed)
    authors = run(AUTHORS_LOSSES, n_cases=n, seed=seed, gradients="authors")
    return {
        "autograd": exact,
        "authors": authors,
        "final_error": {
            "exact gradients": {k: float(v) for k, v in exact["final"].items()},
            "authors' update rules": {k: float(v) for k, v in authors["final"].items()},
        },
    }


def headline(result: dict[str, Any]) -> tuple[str, bool]:
    """Published ordering under the paper's protocol, and what exact gradients change."""
    a, e = result["authors"]["final"], result["autograd"]["final"]
    ratio = a["giou"] / max(a["diou"], 1e-12)
    published = a["iou"] > a["giou"] > 10 * max(a["diou"], a["ciou"])
    distance_aware = ("giou", "diou", "ciou", "eiou", "siou")
    worst = max(e[k] for k in distance_aware)
    exact_ok = e["iou"] > 10 * worst
    text = (
        f"paper's update rules: IoU {a['iou']:.2g} > GIoU {a['giou']:.2g} > DIoU {a['diou']:.2g} "
        f"(DIoU {ratio:.0f}x lower than GIoU, as published). Exact gradients: IoU stalls at {e['iou']:.2g}; "
        f"GIoU {e['giou']:.2g}, DIoU {e['diou']:.2g}, CIoU {e['ciou']:.2g}, EIoU {e['eiou']:.2g}, "
        f"SIoU {e['siou']:.2g} all end >10x lower; α-IoU {e['alpha_iou']:.2g} and α-CIoU "
        f"{e['alpha_ciou']:.2g} (α=3) barely move: the power flattens small terms"
    )
    return text, bool(published and exact_ok)


def plot(result: dict[str, Any], out_dir: Any) -> list[Any]:
    """Total error against iteration (log scale) for both gradient protocols."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, key, title in (
        (axes[0], "authors", "authors' update rules (the paper's protocol)"),
        (axes[1], "autograd", "exact gradients (losskit + autograd)"),
    ):
        for name, curve in result[key]["curves"].items():
            ax.plot(curve, label=name)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("total ℓ1 error (scaled to 1,715,000 cases)")
    fig.tight_layout()
    path = Path(out_dir) / "boxes_diou_simulation.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def conclusions(result: dict[str, Any]) -> dict[str, Any]:
    """The claim's criterion, the numbers that cut against it, and what to do (read by the report)."""
    e = result["autograd"]["final"]
    against = []
    if e["diou"] > e["giou"]:
        against.append(
            f"with exact gradients DIoU ends worse than GIoU ({e['diou']:.3g} vs {e['giou']:.3g}): the "
            "published DIoU > GIoU ordering comes from the authors' update rules, not from the losses"
        )
    names = {"giou": "GIoU", "diou": "DIoU", "ciou": "CIoU", "eiou": "EIoU", "siou": "SIoU"}
    best = min(names, key=lambda k: e[k])
    others = ", ".join(f"{names[k]} {e[k]:.3g}" for k in names if k != best)
    return {
        "criterion": "holds when, under the paper's update rules, the final error orders IoU > GIoU > 10 x "
        "max(DIoU, CIoU), and with exact gradients plain IoU ends more than 10 x above every distance-aware "
        "loss (GIoU, DIoU, CIoU, EIoU, SIoU)",
        "against": against,
        "recommendation": (
            f"Use a distance-aware IoU loss (here, with exact gradients, {names[best]} ends lowest: "
            f"{e[best]:.3g}; {others}); never plain IoU loss alone, which "
            f"stalls when boxes do not overlap ({e['iou']:.3g}). Do not pick DIoU over GIoU on the paper's "
            "figure alone, and leave α-IoU's power at 1 unless you tune it."
        ),
        "captions": {
            "boxes_diou_simulation.png": "Total ℓ1 error of the regressed boxes against iteration (log "
            "scale). Left: the authors' update rules; right: exact gradients. Lower is better; a flat line "
            "has stalled."
        },
    }
