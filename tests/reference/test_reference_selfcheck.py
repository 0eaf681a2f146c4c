"""Self-check of the float64 NumPy references in tests/reference/classification.py.

Expected numbers are the worked examples of SPEC.md section 1 (hand / paper values, float64), plus
structural checks (reductions agree, ignore_index, fully ignored mean = 0.0, equivalences the spec promises)
and a brute-force enumeration of CTC alignments that checks the alpha recursion independently.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

try:
    from . import classification as ref
except ImportError:  # run outside a package
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import classification as ref  # type: ignore[no-redef]

REL = 1e-8  # the SPEC values are given to ~9 significant digits


def approx(x):
    return pytest.approx(x, rel=REL, abs=1e-12)


def logit(p):
    return math.log(p / (1.0 - p))


RNG = np.random.default_rng(20240607)


# ---------------------------------------------------------------------------------------------------------
# worked examples (SPEC.md section 1)

Z = np.array([[2.0, 1.0, 0.1]])


def test_cross_entropy_examples():
    assert ref.cross_entropy(Z, np.array([0])) == approx(0.417030016)
    assert ref.cross_entropy(Z, np.array([[0.7, 0.2, 0.1]])) == approx(0.807030016)
    assert ref.cross_entropy(Z, np.array([0]), label_smoothing=0.1) == approx(0.513696683)
    p = np.array([[0.1, 0.2, 0.7]])
    assert ref.cross_entropy(p, np.array([2]), input_type="probs") == approx(0.356674944)
    assert ref.cross_entropy(p, np.array([2]), input_type="probs", base=2) == approx(0.514573173)
    assert ref.cross_entropy(np.log(p), np.array([2]), input_type="log_probs") == approx(0.356674944)


def test_binary_cross_entropy_examples():
    x = np.array([math.log(4.0)])
    assert ref.binary_cross_entropy(x, np.array([1.0])) == approx(0.223143551)
    assert ref.binary_cross_entropy(x, np.array([0.0])) == approx(1.60943791)
    for y, expected in ((1.0, 0.223143551), (0.0, 1.60943791)):
        t = np.array([y])
        assert ref.binary_cross_entropy(np.array([0.8]), t, input_type="probs") == approx(expected)
        assert ref.binary_cross_entropy(np.log([0.8]), t, input_type="log_probs") == approx(expected)


def test_balanced_cross_entropy_examples():
    x = np.array([math.log(4.0)])
    assert ref.balanced_cross_entropy(x, np.array([1.0]), alpha=0.25) == approx(0.0557858878)
    assert ref.balanced_cross_entropy(x, np.array([0.0]), alpha=0.25) == approx(1.20707843)


def test_sigmoid_focal_examples():
    x = np.array([math.log(4.0)])
    assert ref.sigmoid_focal_loss(x, np.array([1.0]), alpha=0.25, gamma=2.0) == approx(0.00223143551)
    assert ref.sigmoid_focal_loss(x, np.array([0.0]), alpha=0.25, gamma=2.0) == approx(0.772530198)
    assert ref.sigmoid_focal_loss(np.array([0.8]), np.array([0.0]), input_type="probs") == approx(0.772530198)


def test_softmax_focal_example():
    assert ref.softmax_focal_loss(Z, np.array([0]), alpha=None, gamma=2.0) == approx(0.0484923434)


def test_quality_focal_examples():
    assert ref.quality_focal_loss(np.array([logit(0.6)]), np.array([0.8])) == approx(0.0236767458)
    assert ref.quality_focal_loss(np.array([logit(0.3)]), np.array([0.0])) == approx(0.0321007450)
    assert ref.quality_focal_loss(np.array([0.6]), np.array([0.8]), input_type="probs") == approx(
        0.0236767458
    )


def test_distribution_focal_example():
    logits = np.array([[0.0, 1.0, 3.0, 2.0, 0.0]])
    assert ref.distribution_focal_loss(logits, np.array([2.3])) == approx(0.771745150)


def test_distribution_focal_clamps_target_at_n():
    logits = RNG.normal(size=(3, 5))
    at_n = ref.distribution_focal_loss(logits, np.full(3, 4.0), reduction="none")
    near_n = ref.distribution_focal_loss(logits, np.full(3, 4.0 - 1e-3), reduction="none")
    assert np.all(np.isfinite(at_n))
    np.testing.assert_allclose(at_n, near_n, rtol=1e-14)


def test_varifocal_examples():
    assert ref.varifocal_loss(np.array([logit(0.6)]), np.array([0.8])) == approx(0.473534916)
    assert ref.varifocal_loss(np.array([logit(0.3)]), np.array([0.0])) == approx(0.0240755587)


def test_kl_examples():
    p = np.array([[0.7, 0.2, 0.1]])
    q = np.array([[0.5, 0.3, 0.2]])
    assert ref.kl_divergence(q, p, input_type="probs") == approx(0.0851228260)
    assert ref.kl_divergence(q, p, input_type="probs", base=2) == approx(0.122806279)
    assert ref.kl_divergence(np.log(q), np.log(p), input_type="log_probs", target_type="log_probs") == approx(
        0.0851228260
    )
    # logits = log-probs + any constant
    assert ref.kl_divergence(np.log(q) + 3.0, np.log(p) - 1.0, target_type="logits") == approx(0.0851228260)


def test_kl_zero_target_entries_and_self():
    p = np.array([[0.0, 0.4, 0.6]])
    q = np.array([[0.2, 0.3, 0.5]])
    expected = 0.4 * math.log(0.4 / 0.3) + 0.6 * math.log(0.6 / 0.5)
    assert ref.kl_divergence(q, p, input_type="probs") == approx(expected)
    z = RNG.normal(size=(4, 6))
    np.testing.assert_allclose(
        ref.kl_divergence(z, z, target_type="logits", reduction="none"), 0.0, atol=1e-15
    )


def test_entropy_examples():
    p = np.array([[0.75, 0.25]])
    assert ref.entropy(p, input_type="probs") == approx(0.562335145)
    assert ref.entropy(p, input_type="probs", base=2) == approx(0.811278124)
    assert ref.entropy(np.log(p) + 5.0) == approx(0.562335145)  # logits
    assert ref.entropy(np.log(p), input_type="log_probs") == approx(0.562335145)
    # a certain distribution: p = 1 is clipped to 1 - eps inside the log, so H = eps * 1 (not exactly 0)
    assert ref.entropy(np.array([[1.0, 0.0]]), input_type="probs") == pytest.approx(0.0, abs=1e-15)


def test_brier_example():
    p = np.array([[0.8, 0.1, 0.1]])
    assert ref.brier_score(p, np.array([0]), input_type="probs") == approx(0.06)
    assert ref.brier_score(p, np.array([[1.0, 0.0, 0.0]]), input_type="probs") == approx(0.06)
    assert ref.brier_score(np.log(p), np.array([0])) == approx(0.06)  # logits


def test_margin_examples():
    f = np.array([0.3])
    assert ref.hinge_loss(f, np.array([1])) == approx(0.7)
    assert ref.hinge_loss(f, np.array([1]), squared=True) == approx(0.49)
    assert ref.hinge_loss(f, np.array([-1])) == approx(1.3)
    assert ref.hinge_loss(f, np.array([0])) == approx(1.3)  # 0 means -1
    g = np.array([-0.4])
    assert ref.perceptron_loss(g, np.array([1])) == approx(0.4)
    assert ref.exponential_loss(g, np.array([1])) == approx(1.49182470)
    assert ref.zero_one_loss(g, np.array([1])) == 1.0
    assert ref.zero_one_loss(np.array([0.0]), np.array([1])) == 1.0  # m <= 0
    assert ref.zero_one_loss(np.array([0.1]), np.array([1])) == 0.0


def test_multiclass_hinge_examples():
    s = np.array([[3.2, 5.1, 4.0]])
    y = np.array([0])
    assert ref.multiclass_hinge_loss(s, y) == approx(2.9)
    assert ref.multiclass_hinge_loss(s, y, variant="weston_watkins") == approx(4.7)
    assert ref.multiclass_hinge_loss(s, y, squared=True) == approx(2.9**2)
    assert ref.multiclass_hinge_loss(s, y, variant="weston_watkins", squared=True) == approx(2.9**2 + 1.8**2)


CTC_PROBS = np.array([[0.5, 0.4, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])


@pytest.mark.parametrize(
    ("labels", "expected"), [([1], 0.691149178), ([1, 1], 1.78379130), ([1, 2], 2.76462055)]
)
def test_ctc_examples(labels, expected):
    log_probs = np.log(CTC_PROBS)[:, None, :]  # (T, N=1, C)
    target = np.array([labels])
    got = ref.ctc_loss(log_probs, target, np.array([3]), np.array([len(labels)]), reduction="sum")
    assert got == approx(expected)


# ---------------------------------------------------------------------------------------------------------
# CTC: brute force over all alignments, batching conventions, impossible alignments


def _collapse(path, blank):
    out = []
    prev = None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def _ctc_brute_force(log_probs, labels, blank):
    n_steps, n_classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(n_classes), repeat=n_steps):
        if _collapse(path, blank) == list(labels):
            total += math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_matches_brute_force(blank):
    for n_steps in range(1, 6):
        lp = ref.log_softmax(RNG.normal(size=(n_steps, 3)), axis=1)
        non_blank = [c for c in range(3) if c != blank]
        for length in range(0, 4):
            for labels in itertools.product(non_blank, repeat=length):
                got = -ref.ctc_forward_log_likelihood(lp, labels, blank=blank)
                want = _ctc_brute_force(lp, labels, blank)
                if math.isinf(want):
                    assert math.isinf(got) and got > 0
                else:
                    assert got == pytest.approx(want, rel=1e-12)


def test_ctc_batch_conventions():
    n_steps, n_batch, n_classes = 6, 3, 4
    logits = RNG.normal(size=(n_steps, n_batch, n_classes))
    input_lengths = np.array([6, 4, 5])
    target_lengths = np.array([2, 0, 3])
    padded = np.array([[1, 2, 0], [0, 0, 0], [3, 3, 1]])
    concat = np.array([1, 2, 3, 3, 1])
    lp = ref.log_softmax(logits, axis=2)
    per = ref.ctc_loss(lp, padded, input_lengths, target_lengths, reduction="none")
    expected = [
        -ref.ctc_forward_log_likelihood(lp[: input_lengths[i], i], padded[i, : target_lengths[i]])
        for i in range(n_batch)
    ]
    np.testing.assert_allclose(per, expected, rtol=1e-14)
    np.testing.assert_allclose(
        ref.ctc_loss(lp, concat, input_lengths, target_lengths, reduction="none"), per, rtol=1e-14
    )
    np.testing.assert_allclose(
        ref.ctc_loss(logits, padded, input_lengths, target_lengths, input_type="logits", reduction="none"),
        per,
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        ref.ctc_loss(
            np.transpose(lp, (1, 0, 2)),
            padded,
            input_lengths,
            target_lengths,
            batch_first=True,
            reduction="none",
        ),
        per,
        rtol=1e-14,
    )
    assert ref.ctc_loss(lp, padded, input_lengths, target_lengths, reduction="sum") == approx(per.sum())
    assert ref.ctc_loss(lp, padded, input_lengths, target_lengths) == approx(
        np.mean(per / np.maximum(target_lengths, 1))
    )
    # empty label: only blanks
    assert per[1] == approx(-np.sum(lp[:4, 1, 0]))


def test_ctc_impossible_alignment():
    lp = np.log(CTC_PROBS)[:, None, :]
    # "aa" needs a blank between the a's: at least 3 frames; "aba"-like with 2 frames is impossible
    got = ref.ctc_loss(lp, np.array([[1, 1]]), np.array([2]), np.array([2]), reduction="none")
    assert np.isinf(got[0]) and got[0] > 0
    got0 = ref.ctc_loss(
        lp, np.array([[1, 1]]), np.array([2]), np.array([2]), zero_infinity=True, reduction="sum"
    )
    assert got0 == 0.0


# ---------------------------------------------------------------------------------------------------------
# reductions, ignore_index, fully ignored inputs

N, C = 7, 4


def _elementwise_cases():
    x = RNG.normal(size=(N, C)) * 2.0
    y01 = RNG.integers(0, 2, size=(N, C)).astype(np.float64)
    soft = RNG.uniform(size=(N, C))
    vf_target = np.where(RNG.uniform(size=(N, C)) < 0.5, 0.0, soft)
    return [
        ("bce", ref.binary_cross_entropy, (x, soft), {}),
        ("bce_pw", ref.binary_cross_entropy, (x, y01), {"pos_weight": np.arange(1.0, C + 1.0)}),
        ("balanced", ref.balanced_cross_entropy, (x, y01), {}),
        ("sigmoid_focal", ref.sigmoid_focal_loss, (x, soft), {}),
        ("qfl", ref.quality_focal_loss, (x, soft), {}),
        ("varifocal", ref.varifocal_loss, (x, vf_target), {}),
        ("hinge", ref.hinge_loss, (x, y01), {}),
        ("perceptron", ref.perceptron_loss, (x, y01), {}),
        ("exponential", ref.exponential_loss, (x, y01), {}),
        ("zero_one", ref.zero_one_loss, (x, y01), {}),
    ]


def _per_sample_cases():
    x = RNG.normal(size=(N, C)) * 2.0
    idx = RNG.integers(0, C, size=N)
    probs = ref.softmax(RNG.normal(size=(N, C)), axis=1)
    return [
        ("ce", ref.cross_entropy, (x, idx), {}),
        ("ce_soft", ref.cross_entropy, (x, probs), {}),
        ("ce_smooth", ref.cross_entropy, (x, idx), {"label_smoothing": 0.2}),
        ("softmax_focal", ref.softmax_focal_loss, (x, idx), {}),
        ("dfl", ref.distribution_focal_loss, (x, RNG.uniform(0, C - 1, size=N)), {}),
        ("kl", ref.kl_divergence, (x, probs), {}),
        ("entropy", ref.entropy, (x,), {}),
        ("brier", ref.brier_score, (x, idx), {}),
        ("mc_hinge_cs", ref.multiclass_hinge_loss, (x, idx), {}),
        ("mc_hinge_ww", ref.multiclass_hinge_loss, (x, idx), {"variant": "weston_watkins"}),
    ]


ALL_CASES = _elementwise_cases() + _per_sample_cases()


@pytest.mark.parametrize(("name", "fn", "args", "kw"), ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_reductions_agree(name, fn, args, kw):
    none = fn(*args, **kw, reduction="none")
    assert isinstance(none, np.ndarray) and none.dtype == np.float64
    assert fn(*args, **kw, reduction="mean") == pytest.approx(float(np.mean(none)), rel=1e-12)
    assert fn(*args, **kw, reduction="sum") == pytest.approx(float(np.sum(none)), rel=1e-12)
    assert fn(*args, **kw) == fn(*args, **kw, reduction="mean")  # default is mean


# cross_entropy / softmax_focal_loss take per-CLASS weights: tested separately below
WEIGHTABLE = [c for c in ALL_CASES if not c[0].startswith(("ce", "softmax_focal"))]


@pytest.mark.parametrize(("name", "fn", "args", "kw"), WEIGHTABLE, ids=[c[0] for c in WEIGHTABLE])
def test_weighted_mean(name, fn, args, kw):
    none = fn(*args, **kw, reduction="none")
    w = RNG.uniform(0.5, 2.0, size=none.shape)
    weighted_none = fn(*args, **kw, weight=w, reduction="none")
    np.testing.assert_allclose(weighted_none, w * none, rtol=1e-14)
    assert fn(*args, **kw, weight=w, reduction="mean") == pytest.approx(
        np.sum(w * none) / np.sum(w), rel=1e-12
    )
    assert fn(*args, **kw, weight=w, reduction="sum") == pytest.approx(np.sum(w * none), rel=1e-12)


def test_cross_entropy_direct_formula_and_dims():
    x = RNG.normal(size=(3, 5, 2, 4))  # (N, C, d1, d2)
    y = RNG.integers(0, 5, size=(3, 2, 4))
    none = ref.cross_entropy(x, y, reduction="none")
    assert none.shape == (3, 2, 4)
    for n, i, j in itertools.product(range(3), range(2), range(4)):
        z = x[n, :, i, j]
        expected = -(z[y[n, i, j]] - math.log(np.sum(np.exp(z))))
        assert none[n, i, j] == pytest.approx(expected, rel=1e-12)
    # class axis placed last: dim=-1 gives the same values
    moved = np.moveaxis(x, 1, -1)
    np.testing.assert_allclose(ref.cross_entropy(moved, y, dim=-1, reduction="none"), none, rtol=1e-14)
    np.testing.assert_allclose(
        ref.softmax_focal_loss(moved, y, dim=-1, gamma=0.0, reduction="none"), none, rtol=1e-14
    )


def test_cross_entropy_class_weights_and_one_hot_equivalence():
    x = RNG.normal(size=(N, C))
    y = RNG.integers(0, C, size=N)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    none = ref.cross_entropy(x, y, weight=w, reduction="none")
    unweighted = ref.cross_entropy(x, y, reduction="none")
    np.testing.assert_allclose(none, w[y] * unweighted, rtol=1e-14)
    assert ref.cross_entropy(x, y, weight=w) == pytest.approx(np.sum(none) / np.sum(w[y]), rel=1e-12)
    one_hot = np.eye(C)[y]
    for red in ("none", "mean", "sum"):
        np.testing.assert_allclose(
            ref.cross_entropy(x, one_hot, weight=w, reduction=red),
            ref.cross_entropy(x, y, weight=w, reduction=red),
            rtol=1e-14,
        )
        np.testing.assert_allclose(
            ref.cross_entropy(x, one_hot, weight=w, label_smoothing=0.1, reduction=red),
            ref.cross_entropy(x, y, weight=w, label_smoothing=0.1, reduction=red),
            rtol=1e-14,
        )


def test_label_smoothing_formula():
    x = RNG.normal(size=(N, C))
    y = RNG.integers(0, C, size=N)
    eps = 0.3
    q = (1 - eps) * np.eye(C)[y] + eps / C
    expected = -np.sum(q * ref.log_softmax(x, axis=1), axis=1)
    np.testing.assert_allclose(
        ref.cross_entropy(x, y, label_smoothing=eps, reduction="none"), expected, rtol=1e-14
    )


@pytest.mark.parametrize("fn", [ref.cross_entropy, ref.softmax_focal_loss])
def test_ignore_index(fn):
    x = RNG.normal(size=(N, C))
    y = RNG.integers(0, C, size=N)
    y_ign = y.copy()
    y_ign[[1, 4]] = -100
    keep = y_ign != -100
    none = fn(x, y_ign, reduction="none")
    assert none[1] == 0.0 and none[4] == 0.0
    np.testing.assert_allclose(none[keep], fn(x[keep], y[keep], reduction="none"), rtol=1e-14)
    assert fn(x, y_ign) == pytest.approx(fn(x[keep], y[keep]), rel=1e-12)
    assert fn(x, y_ign, reduction="sum") == pytest.approx(fn(x[keep], y[keep], reduction="sum"), rel=1e-12)
    # a custom ignore_index, with smoothing: ignored rows stay 0
    y_ign7 = np.where(keep, y, 7)
    none7 = fn(x, y_ign7, ignore_index=7, label_smoothing=0.1, reduction="none")
    assert none7[1] == 0.0 and none7[4] == 0.0
    assert fn(x, y_ign7, ignore_index=7, label_smoothing=0.1) == pytest.approx(
        fn(x[keep], y[keep], label_smoothing=0.1), rel=1e-12
    )


@pytest.mark.parametrize("fn", [ref.cross_entropy, ref.softmax_focal_loss])
def test_all_ignored_mean_is_zero(fn):
    x = RNG.normal(size=(N, C))
    y = np.full(N, -100)
    assert fn(x, y) == 0.0
    assert fn(x, y, reduction="sum") == 0.0
    assert np.all(fn(x, y, reduction="none") == 0.0)
    # mask for probability targets
    probs = ref.softmax(RNG.normal(size=(N, C)), axis=1)
    assert fn(x, probs, mask=np.zeros(N, dtype=bool)) == 0.0
    mask = np.arange(N) % 2 == 0
    assert fn(x, probs, mask=mask) == pytest.approx(fn(x[mask], probs[mask]), rel=1e-12)


def test_empty_input_mean_is_zero():
    empty2 = np.zeros((0, C))
    empty_idx = np.zeros(0, dtype=np.int64)
    assert ref.cross_entropy(empty2, empty_idx) == 0.0
    assert ref.softmax_focal_loss(empty2, empty_idx) == 0.0
    assert ref.binary_cross_entropy(empty2, empty2) == 0.0
    assert ref.sigmoid_focal_loss(empty2, empty2) == 0.0
    assert ref.kl_divergence(empty2, empty2) == 0.0
    assert ref.entropy(empty2) == 0.0
    assert ref.hinge_loss(np.zeros(0), np.zeros(0)) == 0.0
    assert ref.multiclass_hinge_loss(empty2, empty_idx) == 0.0
    assert ref.binary_cross_entropy(empty2, empty2, reduction="sum") == 0.0
    assert ref.binary_cross_entropy(np.ones((2, 2)), np.ones((2, 2)), weight=np.zeros(2)) == 0.0


# ---------------------------------------------------------------------------------------------------------
# equivalences the spec promises, and numerics


def test_focal_reduces_to_ce_and_bce():
    x = RNG.normal(size=(N, C)) * 3
    y = RNG.integers(0, C, size=N)
    w = np.array([1.0, 2.0, 0.5, 1.5])
    for red in ("none", "mean", "sum"):
        np.testing.assert_allclose(
            ref.softmax_focal_loss(x, y, gamma=0.0, weight=w, label_smoothing=0.1, reduction=red),
            ref.cross_entropy(x, y, weight=w, label_smoothing=0.1, reduction=red),
            rtol=1e-14,
        )
    t = RNG.integers(0, 2, size=(N, C)).astype(np.float64)
    np.testing.assert_allclose(
        ref.sigmoid_focal_loss(x, t, alpha=None, gamma=0.0, reduction="none"),
        ref.binary_cross_entropy(x, t, reduction="none"),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        ref.sigmoid_focal_loss(x, t, alpha=0.3, gamma=0.0, reduction="none"),
        ref.balanced_cross_entropy(x, t, alpha=0.3, reduction="none"),
        rtol=1e-14,
    )


def test_softmax_focal_alpha_forms():
    x = RNG.normal(size=(N, C))
    y = RNG.integers(0, C, size=N)
    base = ref.softmax_focal_loss(x, y, reduction="none")
    np.testing.assert_allclose(
        ref.softmax_focal_loss(x, y, alpha=0.25, reduction="none"), 0.25 * base, rtol=1e-14
    )
    a = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(
        ref.softmax_focal_loss(x, y, alpha=a, reduction="none"), a[y] * base, rtol=1e-14
    )
    # explicit per-sample formula
    p = ref.softmax(x, axis=1)[np.arange(N), y]
    np.testing.assert_allclose(base, -((1 - p) ** 2) * np.log(p), rtol=1e-12)


def test_bce_pos_weight_and_extremes():
    x = np.array([[-1e4, 0.0, 1e4], [30.0, -30.0, 2.0]])
    y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
    pw = np.array([1.0, 2.0, 3.0])
    none = ref.binary_cross_entropy(x, y, pos_weight=pw, reduction="none")
    assert np.all(np.isfinite(none))
    p = 1.0 / (1.0 + np.exp(-x[1, 2]))
    assert none[1, 2] == pytest.approx(-(3.0 * 0.5 * math.log(p) + 0.5 * math.log(1 - p)), rel=1e-12)
    assert none[0, 1] == pytest.approx(2.0 * math.log(2.0), rel=1e-14)
    # a positive at logit -1e4 costs 1e4 (not inf)
    assert ref.binary_cross_entropy(np.array([-1e4]), np.array([1.0])) == pytest.approx(1e4, rel=1e-12)
    # probabilities 0 and 1 are clipped: finite, maximum -log(eps)
    worst = ref.binary_cross_entropy(
        np.array([0.0, 1.0]), np.array([1.0, 0.0]), input_type="probs", reduction="none"
    )
    np.testing.assert_allclose(worst, -math.log(ref.EPS), rtol=1e-12)


def test_log_softmax_spec_values():
    np.testing.assert_allclose(
        ref.log_softmax(np.array([1000.0, 1001.0, 1002.0]), axis=0),
        [-2.40760596, -1.40760596, -0.40760596],
        rtol=0,
        atol=1e-8,  # SPEC gives 8 decimals
    )
    assert ref.log_softmax(np.array([-1000.0, 0.0, 1.0]), axis=0)[0] == pytest.approx(-1001.313262, rel=1e-9)


def test_margin_target_values_checked():
    with pytest.raises(ValueError):
        ref.hinge_loss(np.array([0.3]), np.array([2.0]))
