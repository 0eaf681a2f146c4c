"""Peer conformance of the language-model losses, conventions mapped explicitly.

* kornia ``js_div_loss_2d(pred, target)``: the JS divergence (β = 1/2) between heatmaps that are
  distributions over the H·W pixels of each (B, N) channel. losskit: flatten the pixels and put them on the
  class dimension, ``jsd_loss(pred.flatten(2), target.flatten(2), input_type="probs", dim=-1)``.
* torch ``F.kl_div(log_softmax(z_S / T), log_softmax(z_T / T), log_target=True, reduction="batchmean") · T²``
  is the classic Hinton distillation recipe; losskit's ``distillation_kl_loss`` on ``(N, V)`` equals it.

TRL and Liger-Kernel are not installed (TRL pulls in transformers and accelerate): their conventions
(β weights the teacher, β = 0 / 1 are forward / reverse KL) are pinned in tests/test_language_model_values.py,
and their formulas are the references in tests/reference/language_model.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.losses import js_div_loss_2d

from losskit.functional import distillation_kl_loss, jsd_loss

D = torch.float64


def _heatmaps(g: torch.Generator, *shape: int) -> torch.Tensor:
    b, n, h, w = shape
    return torch.softmax(torch.randn(b, n, h * w, generator=g, dtype=D) * 2, -1).reshape(b, n, h, w)


def test_jsd_equals_kornia_js_div_loss_2d() -> None:
    g = torch.Generator().manual_seed(0)
    pred, target = _heatmaps(g, 2, 3, 4, 5), _heatmaps(g, 2, 3, 4, 5)
    for reduction in ("none", "mean", "sum"):
        want = js_div_loss_2d(pred, target, reduction=reduction)
        got = jsd_loss(pred.flatten(2), target.flatten(2), input_type="probs", reduction=reduction)
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    # kornia's "none" is (B, N), one divergence per heatmap; so is losskit's with the pixels on dim -1
    assert jsd_loss(pred.flatten(2), target.flatten(2), input_type="probs", reduction="none").shape == (2, 3)


def test_jsd_equals_kornia_with_zero_pixels_and_gradients() -> None:
    g = torch.Generator().manual_seed(1)
    pred, target = _heatmaps(g, 1, 2, 3, 3), _heatmaps(g, 1, 2, 3, 3)
    target = target.clone()
    target[0, 0, 0, :2] = 0.0  # pixels with no target mass
    target[0, 0] /= target[0, 0].sum()
    x1 = pred.clone().requires_grad_(True)
    x2 = pred.clone().requires_grad_(True)
    want = js_div_loss_2d(x1, target)
    got = jsd_loss(x2.flatten(2), target.flatten(2), input_type="probs")
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    want.backward()
    got.backward()
    torch.testing.assert_close(x2.grad, x1.grad, rtol=1e-8, atol=1e-12)


def test_distillation_equals_the_torch_kl_div_recipe() -> None:
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(8, 13, generator=g, dtype=D) * 3, torch.randn(8, 13, generator=g, dtype=D) * 3
    for temperature in (1.0, 2.0, 4.0):
        log_s, log_t = F.log_softmax(s / temperature, -1), F.log_softmax(t / temperature, -1)
        forward = F.kl_div(log_s, log_t, log_target=True, reduction="batchmean") * temperature**2
        torch.testing.assert_close(distillation_kl_loss(s, t, temperature=temperature), forward)
        reverse = F.kl_div(log_t, log_s, log_target=True, reduction="batchmean") * temperature**2
        torch.testing.assert_close(
            distillation_kl_loss(s, t, temperature=temperature, direction="reverse"), reverse
        )
