"""The validation vocabulary (losskit._core.checks): one message shape per mistake, in every family."""

from __future__ import annotations

import pytest
import torch

import losskit
from losskit._core import checks

x2 = torch.tensor([[0.3, -0.2], [1.0, 0.5]])
boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0]])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # the examples: each used to be accepted, silently misread or answered by torch
        (
            lambda: losskit.hinge_loss(torch.tensor([0.3]), torch.tensor([1]), squared="yes"),
            r"^hinge_loss: squared must be a bool, got str 'yes'$",
        ),
        (
            lambda: losskit.dice_loss(x2[None, :, :, None], torch.tensor([[[0], [1]]]), squared="yes"),
            r"^dice_loss: squared must be a bool, got str 'yes'$",
        ),
        (
            lambda: losskit.ciou_loss(boxes, boxes, detach_alpha="no"),
            r"^ciou_loss: detach_alpha must be a bool, got str 'no'$",
        ),
        (
            lambda: losskit.cross_entropy(x2, torch.tensor([0, 1]), ignore_index=1.5),
            r"^cross_entropy: ignore_index must be an int, got float 1.5$",
        ),
        (
            lambda: losskit.softmax_focal_loss(x2, torch.tensor([0, 1]), ignore_index=True),
            r"^softmax_focal_loss: ignore_index must be an int, got bool True$",
        ),
        (
            lambda: losskit.multiclass_hinge_loss(x2, torch.tensor([0, 1]), squared=1),
            r"^multiclass_hinge_loss: squared must be a bool, got int 1$",
        ),
        (
            lambda: losskit.focal_eiou_loss(boxes, boxes, detach_weight=None),
            r"^focal_eiou_loss: detach_weight must be a bool, got NoneType None$",
        ),
        (
            lambda: losskit.gaussian_nll_loss(x2, x2, var=torch.ones(2, 2), full="no"),
            r"^gaussian_nll_loss: full must be a bool, got str 'no'$",
        ),
        (
            lambda: losskit.jsd_loss(x2, x2, ignore_index=1.5),
            r"^jsd_loss: ignore_index must be an int, got float 1.5$",
        ),
        (lambda: losskit.set_fast_paths("no"), r"^set_fast_paths: enabled must be a bool, got str 'no'$"),
    ],
)
def test_one_message_per_mistake(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_ciou_detach_alpha_false_keeps_the_gradient_through_alpha():
    # bool("no") was True: the string detached alpha. A real False must give a different gradient.
    p = torch.tensor([[1.0, 1.0, 4.0, 3.0]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[2.0, 0.0, 5.0, 4.5]], dtype=torch.float64)
    grads = []
    for detach in (True, False):
        (grad,) = torch.autograd.grad(losskit.ciou_loss(p, g, detach_alpha=detach), p)
        grads.append(grad)
    assert not torch.allclose(grads[0], grads[1])


def test_vocabulary_units():
    assert checks.check_flag("f", "a", False) is False
    assert checks.check_integer("f", "n", 3, low=1) == 3
    with pytest.raises(TypeError, match=r"^f: n must be an int, got float 2.0$"):
        checks.check_integer("f", "n", 2.0)
    with pytest.raises(ValueError, match=r"^f: n must be >= 1, got 0$"):
        checks.check_integer("f", "n", 0, low=1)
    assert checks.check_ignore_index("f", None, optional=True) is None
    with pytest.raises(TypeError, match=r"^f: ignore_index must be an int or None, got float 0.5$"):
        checks.check_ignore_index("f", 0.5, optional=True)
    with pytest.raises(TypeError, match=r"^f: ignore_index must be an int, got NoneType None$"):
        checks.check_ignore_index("f", None)
    assert checks.check_positive("f", "t", 2) == 2.0
    with pytest.raises(ValueError, match=r"^f: t must be in \(0, inf\), got 0$"):
        checks.check_positive("f", "t", 0)
    with pytest.raises(ValueError, match=r"^f: g must be in \[0, inf\), got -1$"):
        checks.check_nonnegative("f", "g", -1)
    x = torch.zeros(4, 3)
    assert checks.check_positive_parameter("f", "s", 2, x, "(e.g. (D,))") == 2.0
    s = torch.full((3,), 0.5)
    assert checks.check_positive_parameter("f", "s", s, x, "(e.g. (D,))") is s
    with pytest.raises(ValueError, match=r"^f: s must be in \(0, inf\), got inf$"):
        checks.check_positive_parameter("f", "s", float("inf"), x, "")
    with pytest.raises(TypeError, match=r"^f: s must be a positive number or a tensor, got str$"):
        checks.check_positive_parameter("f", "s", "1", x, "")
    with pytest.raises(
        ValueError,
        match=r"^f: s must have the input's shape \(4, 3\) or one that broadcasts to "
        r"it \(e.g. \(D,\)\), got \(4,\)$",
    ):
        checks.check_positive_parameter("f", "s", torch.ones(4), x, "(e.g. (D,))")
    with pytest.raises(ValueError, match=r"^f: s must be positive, got a minimum of 0$"):
        checks.check_positive_parameter("f", "s", torch.zeros(3), x, "")
    with pytest.raises(ValueError, match=r"^f: s contains NaN values"):
        checks.check_positive_parameter("f", "s", torch.full((3,), float("nan")), x, "")
    with pytest.raises(TypeError, match=r"^f: s must be a floating-point tensor"):
        checks.check_positive_parameter("f", "s", torch.ones(3, dtype=torch.long), x, "")
    with pytest.raises(
        TypeError, match=r"^f: mask must be a bool tensor \(True = keep\), got dtype torch.float32$"
    ):
        checks.check_mask("f", torch.ones(2), (2,))
    with pytest.raises(ValueError, match=r"^f: mask must have shape \(3,\)"):
        checks.check_mask("f", torch.ones(2, dtype=torch.bool), (3,))


@pytest.mark.parametrize(
    ("labels", "ignore", "bad"),
    [
        ([0, 4, 2], None, None),
        ([0, 5, 2], None, 5),
        ([-1, 4, 2], None, -1),
        ([-100, 4, 2], -100, None),  # the ignored label is the minimum: the others decide
        ([-100, 5, 2], -100, 5),
        ([-100, -3, 2], -100, -3),  # a bad label above the ignored one
        ([255, 1, 255], 255, None),  # segmentation's 255
        ([255, -2, 1], 255, -2),
        ([255, 300, 1], 255, 300),  # a bad label beyond the ignored one
        ([255, 255], 255, None),  # every label ignored
        ([3, 4, 9], 3, 9),  # an in-range ignore_index hides nothing
        ([7, 0], 5, 7),  # ignore_index absent from the labels
    ],
)
def test_check_labels_one_pass_and_ignore_index(labels, ignore, bad):
    # issue 16: one aminmax decides the common case; the masked pass runs only when an extreme is the
    # ignored label. Expected: the bad label a per-element test finds (plain Python, not the function).
    t = torch.tensor(labels)  # a CPU tensor: the default mode checks its values
    assert (bad is None) == all(v == ignore or 0 <= v < 5 for v in labels)
    if bad is None:
        checks.check_labels("f", "target", t, 5, ignore)
    else:
        with pytest.raises(
            ValueError, match=rf"^f: target holds class index {bad}, expected indices in \[0, 4\]"
        ):
            checks.check_labels("f", "target", t, 5, ignore)


@pytest.mark.parametrize(
    ("values", "ok"),
    [([0.0, 1.0, 0.5], True), ([0.0, 1.5], False), ([-0.1, 1.0], False), ([0.2, float("nan")], False)],
)
def test_check_probabilities_one_pass(values, ok):
    t = torch.tensor(values)
    if ok:
        checks.check_probabilities("f", "target", t)
    else:
        with pytest.raises(ValueError, match=r"^f: target (must hold probabilities|contains NaN)"):
            checks.check_probabilities("f", "target", t)
