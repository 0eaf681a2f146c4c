"""Self-check of the float64 references in tests/reference/language_model.py against hand-derived values.

The battery compares losskit with these references; this file checks the references themselves, so a slip
in a reference cannot hide behind a matching slip in the implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.reference import language_model as ref


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-15)


def test_distillation_reference() -> None:
    # p_T = (3/4, 1/4) from logits (ln 3, 0), p_S = (1/2, 1/2)
    s, t = np.array([[0.0, 0.0]]), np.array([[math.log(3.0), 0.0]])
    assert ref.distillation_kl_loss(s, t) == approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert ref.distillation_kl_loss(s, t, direction="reverse") == approx(
        0.5 * math.log(2 / 3) + 0.5 * math.log(2)
    )
    # labels: the ignored token leaves the mean
    s3, t3 = np.zeros((1, 2, 2)), np.stack([t, np.zeros((1, 2))], 1)
    assert ref.distillation_kl_loss(s3, t3, labels=np.array([[1, -100]])) == approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    )
    assert ref.distillation_kl_loss(s3, t3, labels=np.array([[-100, -100]])) == 0.0


def test_jsd_reference() -> None:
    p, q = np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])
    assert ref.jsd_loss(q, p, input_type="probs") == pytest.approx(0.75 * math.log(4 / 3), rel=1e-12)
    # disjoint supports: H(beta)
    b = 0.3
    assert ref.jsd_loss(np.array([[0.0, 1.0]]), p, beta=b, input_type="probs") == pytest.approx(
        -b * math.log(b) - (1 - b) * math.log(1 - b), rel=1e-9
    )
    assert ref.jsd_loss(q, p, beta=0.0, input_type="probs") == pytest.approx(math.log(2), rel=1e-12)


def test_preference_references() -> None:
    x = np.array([-3.0, -7.0])
    assert ref.dpo_loss(x, x, x, x) == approx(math.log(2))
    assert ref.dpo_loss(x, x, x, x, loss_type="hinge") == 1.0
    assert ref.dpo_loss(x, x, x, x, loss_type="ipo", beta=0.25) == approx(4.0)
    # beta h = ln 3 -> -log sigma(ln 3) = ln(4/3)
    assert ref.dpo_loss(x + 5 * math.log(3), x, x, x, beta=0.2) == approx(math.log(4 / 3))
    assert ref.simpo_loss(np.array([-0.5]), np.array([-1.0])) == approx(math.log(2))
    assert ref.orpo_loss(np.array([math.log(0.5)]), np.array([math.log(0.25)])) == approx(
        math.log(2) + 0.1 * math.log(4 / 3)
    )
    d = np.array([True, False])
    out = ref.kto_loss(np.array([-1.0, -1.0]), np.array([-3.0, -3.0]), d, beta=0.5, reduction="none")
    s1 = 1 / (1 + math.exp(-1.0))
    np.testing.assert_allclose(out, [1 - s1, s1], rtol=1e-12)


def test_sequence_log_probs_reference() -> None:
    logits = np.log(np.array([[[0.5, 0.5], [0.9, 0.1], [0.3, 0.7]]]))
    assert ref.sequence_log_probs(logits, np.array([[1, 0, -100]]))[0] == approx(
        math.log(0.5) + math.log(0.9)
    )
    assert ref.sequence_log_probs(logits, np.array([[-100] * 3]), average=True)[0] == 0.0
