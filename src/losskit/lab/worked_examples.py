"""Every classification loss on its SPEC worked example: input, target, losskit's value, the expected value.

Run with ``python -m losskit.lab.worked_examples`` (``make demo``). The expected values are the float64
numbers of the specification (many checked against torch, torchvision or the paper); the table marks any
row where losskit differs by more than 1e-8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

import losskit.functional as LF

D = torch.float64


@dataclass
class Example:
    """One worked example."""

    loss: str
    input: str
    target: str
    compute: Callable[[], torch.Tensor]
    expected: float


def _t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=D)


def _logit(p: float) -> torch.Tensor:
    return _t(math.log(p / (1 - p)))


def examples() -> list[Example]:
    """The classification worked examples of SPEC §1."""
    z = _t(2.0, 1.0, 0.1)[None]
    y0 = torch.tensor([0])
    ctc_y = _t(0.5, 0.4, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1).reshape(3, 1, 3).log()
    return [
        Example(
            "cross_entropy", "logits [2, 1, 0.1]", "class 0", lambda: LF.cross_entropy(z, y0), 0.417030016
        ),
        Example(
            "cross_entropy",
            "logits [2, 1, 0.1]",
            "probs [.7, .2, .1]",
            lambda: LF.cross_entropy(z, _t(0.7, 0.2, 0.1)[None]),
            0.807030016,
        ),
        Example(
            "cross_entropy (ε=0.1)",
            "logits [2, 1, 0.1]",
            "class 0",
            lambda: LF.cross_entropy(z, y0, label_smoothing=0.1),
            0.513696683,
        ),
        Example(
            "cross_entropy (bits)",
            "probs [.1, .2, .7]",
            "class 2",
            lambda: LF.cross_entropy(_t(0.1, 0.2, 0.7)[None], torch.tensor([2]), input_type="probs", base=2),
            0.514573173,
        ),
        Example(
            "binary_cross_entropy",
            "p = 0.8",
            "y = 1",
            lambda: LF.binary_cross_entropy(_logit(0.8), _t(1.0)),
            0.223143551,
        ),
        Example(
            "binary_cross_entropy",
            "p = 0.8",
            "y = 0",
            lambda: LF.binary_cross_entropy(_logit(0.8), _t(0.0)),
            1.60943791,
        ),
        Example(
            "balanced_cross_entropy",
            "p = 0.8, α = .25",
            "y = 0",
            lambda: LF.balanced_cross_entropy(_logit(0.8), _t(0.0), alpha=0.25),  # SPEC §1.4's α
            1.20707843,
        ),
        Example(
            "sigmoid_focal_loss",
            "p = 0.8, α=.25, γ=2",
            "y = 1",
            lambda: LF.sigmoid_focal_loss(_logit(0.8), _t(1.0)),
            0.00223143551,
        ),
        Example(
            "sigmoid_focal_loss",
            "p = 0.8, α=.25, γ=2",
            "y = 0",
            lambda: LF.sigmoid_focal_loss(_logit(0.8), _t(0.0)),
            0.772530198,
        ),
        Example(
            "softmax_focal_loss",
            "logits [2, 1, 0.1], γ=2",
            "class 0",
            lambda: LF.softmax_focal_loss(z, y0),
            0.0484923434,
        ),
        Example(
            "quality_focal_loss",
            "σ = 0.6",
            "IoU 0.8",
            lambda: LF.quality_focal_loss(_logit(0.6), _t(0.8)),
            0.0236767458,
        ),
        Example(
            "distribution_focal_loss",
            "logits [0, 1, 3, 2, 0]",
            "y = 2.3",
            lambda: LF.distribution_focal_loss(_t(0.0, 1.0, 3.0, 2.0, 0.0)[None], _t(2.3)),
            0.771745150,
        ),
        Example(
            "varifocal_loss",
            "p = 0.6",
            "q = 0.8",
            lambda: LF.varifocal_loss(_logit(0.6), _t(0.8)),
            0.473534916,
        ),
        Example(
            "kl_divergence",
            "q = [.5, .3, .2]",
            "p = [.7, .2, .1]",
            lambda: LF.kl_divergence(_t(0.5, 0.3, 0.2)[None], _t(0.7, 0.2, 0.1)[None], input_type="probs"),
            0.0851228260,
        ),
        Example(
            "entropy (bits)",
            "p = [.75, .25]",
            "—",
            lambda: LF.entropy(_t(0.75, 0.25)[None], input_type="probs", base=2),
            0.811278124,
        ),
        Example(
            "brier_score",
            "p = [.8, .1, .1]",
            "class 0",
            lambda: LF.brier_score(_t(0.8, 0.1, 0.1)[None], y0, input_type="probs"),
            0.06,
        ),
        Example("hinge_loss", "f = 0.3", "y = -1", lambda: LF.hinge_loss(_t(0.3), torch.tensor([-1])), 1.3),
        Example(
            "hinge_loss (squared)",
            "f = 0.3",
            "y = +1",
            lambda: LF.hinge_loss(_t(0.3), torch.tensor([1]), squared=True),
            0.49,
        ),
        Example(
            "multiclass_hinge (CS)",
            "s = [3.2, 5.1, 4.0]",
            "class 0",
            lambda: LF.multiclass_hinge_loss(_t(3.2, 5.1, 4.0)[None], y0),
            2.9,
        ),
        Example(
            "multiclass_hinge (WW)",
            "s = [3.2, 5.1, 4.0]",
            "class 0",
            lambda: LF.multiclass_hinge_loss(_t(3.2, 5.1, 4.0)[None], y0, variant="weston_watkins"),
            4.7,
        ),
        Example(
            "perceptron_loss",
            "f = -0.4",
            "y = +1",
            lambda: LF.perceptron_loss(_t(-0.4), torch.tensor([1])),
            0.4,
        ),
        Example(
            "exponential_loss",
            "f = -0.4",
            "y = +1",
            lambda: LF.exponential_loss(_t(-0.4), torch.tensor([1])),
            1.49182470,
        ),
        Example(
            "zero_one_loss", "f = -0.4", "y = +1", lambda: LF.zero_one_loss(_t(-0.4), torch.tensor([1])), 1.0
        ),
        Example(
            "ctc_loss",
            "3 frames, {-, a, b}",
            '"ab"',
            lambda: LF.ctc_loss(ctc_y, torch.tensor([[1, 2]]), [3], [2], reduction="sum"),
            2.76462055,
        ),
    ]


def table() -> tuple[str, int]:
    """Render the table; return it with the number of rows that disagree with the expected value."""
    rows = [("loss", "input", "target", "losskit", "expected", "")]
    bad = 0
    for ex in examples():
        value = float(ex.compute())
        ok = abs(value - ex.expected) <= 1e-8 * max(1.0, abs(ex.expected))
        bad += not ok
        rows.append(
            (ex.loss, ex.input, ex.target, f"{value:.9g}", f"{ex.expected:.9g}", "ok" if ok else "MISMATCH")
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines), bad


def main() -> int:
    """Print the table; exit status 1 if any row disagrees."""
    text, bad = table()
    print("losskit: classification losses on the SPEC worked examples (float64)\n")
    print(text)
    print(f"\n{len(examples()) - bad}/{len(examples())} rows match the expected values")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
