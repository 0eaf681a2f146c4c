r"""Classification losses: cross-entropy family, focal family, divergences, margin losses and CTC.

Shared conventions (SPEC §0): the class dimension is ``dim=1``; ``input_type`` is ``"logits"`` (default,
always handled in log space), ``"probs"`` (clamped to ``[eps, 1-eps]`` before the log) or ``"log_probs"``;
targets are class indices (integer, input's shape without ``dim``) or probabilities (float, input's
shape); ``reduction`` is ``"none" | "mean" | "sum"``, weighted means divide by the sum of weights, and an
empty or fully ignored batch gives 0 with a working backward. float16/bfloat16 inputs are computed and
returned in float32.

The functions live in sub-modules by sub-family (``multiclass``, ``binary``, ``distribution``,
``margin``); CTC lives in :mod:`losskit.functional.sequence`. All are re-exported here.
"""

from __future__ import annotations

from losskit.functional.classification.binary import (
    balanced_cross_entropy,
    binary_cross_entropy,
    distribution_focal_loss,
    multilabel_soft_margin_loss,
    quality_focal_loss,
    sigmoid_focal_loss,
    varifocal_loss,
)
from losskit.functional.classification.distribution import (
    brier_score,
    entropy,
    kl_divergence,
)
from losskit.functional.classification.margin import (
    exponential_loss,
    hinge_loss,
    multiclass_hinge_loss,
    perceptron_loss,
    zero_one_loss,
)
from losskit.functional.classification.multiclass import (
    cross_entropy,
    ohem_cross_entropy,
    softmax_focal_loss,
)
from losskit.functional.sequence import ctc_loss

__all__ = [
    "balanced_cross_entropy",
    "binary_cross_entropy",
    "brier_score",
    "cross_entropy",
    "ctc_loss",
    "distribution_focal_loss",
    "entropy",
    "exponential_loss",
    "hinge_loss",
    "kl_divergence",
    "multiclass_hinge_loss",
    "perceptron_loss",
    "quality_focal_loss",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
    "varifocal_loss",
    "zero_one_loss",
]
__all__ += ["multilabel_soft_margin_loss"]
__all__ += ["ohem_cross_entropy"]
