"""API conventions a PyTorch user expects: real Module signatures, torch's positional arguments, and errors
that point at the right loss (focal on multi-class input, torchvision's pairwise box_iou)."""

from __future__ import annotations

import inspect

import pytest
import torch

import losskit
from losskit import registry


@pytest.mark.parametrize("name", losskit.available())
def test_module_signature_shows_the_functions_options(name):
    cls = registry.canonical_class(name)
    fn = cls.function
    fn_opts = {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    sig = inspect.signature(cls)
    if "__init__" in vars(cls) and not getattr(vars(cls)["__init__"], "__signature__", None):
        # a Module with its own constructor documents its own arguments: the function's options passed
        # through (ClipLoss, MultiBinLoss: **options), or state of its own (BarronLoss's learnable α and
        # scale, GHMCLoss's momentum); either way its reduction is the function's
        params = sig.parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            assert "reduction" in params and params["reduction"].default == fn_opts.get("reduction"), sig
        return
    assert {k: p.default for k, p in sig.parameters.items()} == fn_opts
    assert "options" not in sig.parameters


def test_torch_positional_conventions():
    x, t = torch.randn(6, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0, 2])
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    assert torch.allclose(losskit.CrossEntropyLoss(w)(x, t), torch.nn.CrossEntropyLoss(w)(x, t))
    assert next(iter(inspect.signature(losskit.CrossEntropyLoss).parameters)) == "weight"
    xb, yb = torch.randn(6, dtype=torch.float64), torch.randint(0, 2, (6,)).double()
    wb = torch.rand(6, dtype=torch.float64)
    # same elementwise weight as torch (compared summed: losskit's weighted mean divides by Σw, torch's by N)
    assert torch.allclose(
        losskit.BinaryCrossEntropyLoss(wb, reduction="sum")(xb, yb),
        torch.nn.BCEWithLogitsLoss(wb, reduction="sum")(xb, yb),
    )
    a, p, n = (torch.randn(5, 4, dtype=torch.float64) for _ in range(3))
    # torch adds eps=1e-6 to every difference inside the norm (losskit's distances are exact): each of the
    # two distances moves by at most ||eps·1||_1 = 4e-6 in D=4 with p=1, so the loss by at most 8e-6
    assert torch.allclose(
        losskit.TripletLoss(0.5, 1)(a, p, n), torch.nn.TripletMarginLoss(0.5, 1)(a, p, n), rtol=0, atol=8e-6
    )
    assert losskit.CTCLoss(3).options == {"blank": 3}
    with pytest.raises(TypeError, match=r"SigmoidFocalLoss: takes 0 positional option\(s\), got 1"):
        losskit.SigmoidFocalLoss(2.0)
    with pytest.raises(TypeError, match="both by position and by keyword"):
        losskit.CrossEntropyLoss(w, weight=w)
    with pytest.raises(TypeError, match="did you mean 'gamma'"):
        losskit.SigmoidFocalLoss(gama=2.0)


def test_focal_on_multiclass_input_names_softmax_focal():
    focal = losskit.get("focal")
    logits, labels = torch.randn(8, 5), torch.randint(0, 5, (8,))
    with pytest.raises(
        ValueError,
        match=r"sigmoid_focal_loss: target of shape \(8,\) looks like class indices "
        r"for \(8, 5\) logits.*losskit\.softmax_focal_loss",
    ):
        focal(logits, labels)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: .*losskit\.cross_entropy"):
        losskit.binary_cross_entropy(torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4)))
    # the one-hot target the message suggests is accepted, and equals the per-class sigmoid focal loss
    onehot = torch.nn.functional.one_hot(labels, 5).float()
    assert torch.isfinite(focal(logits, onehot))
    # binary input with 0/1 integer labels of the input's shape still works
    assert torch.isfinite(focal(torch.randn(8), torch.randint(0, 2, (8,))))


def test_box_iou_with_torchvision_pairwise_shapes_names_pairwise_box_iou():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(
        ValueError,
        match=r"box_iou: boxes1 \(2, 4\) and boxes2 \(3, 4\).*\(2, 3\) matrix.*"
        r"losskit\.pairwise_box_iou",
    ):
        losskit.box_iou(a, b)
    # the documented mapping: torchvision's pairwise matrix is pairwise_box_iou, its diagonal box_iou
    # (expected values by hand: a[0] vs b[2] overlap 1 of union 4; a[1] vs b[1] identical)
    m = losskit.pairwise_box_iou(a, b)
    assert m.shape == (2, 3)
    assert m[0, 2].item() == pytest.approx(0.25) and m[1, 1].item() == pytest.approx(1.0)
    assert torch.allclose(losskit.box_iou(a, b[:2]), m[:, :2].diagonal())
