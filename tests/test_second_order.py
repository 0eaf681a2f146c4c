"""Second and higher derivatives of every loss (issue 17), driven by the battery's entries.

* ``test_gradgradcheck``: ``torch.autograd.gradgradcheck`` in float64 on every gradcheck sample of every
  differentiable loss, for every reduction. Where the sample runs through a fused kernel
  (``losskit.kernels``, seen as its node in the autograd graph) the check runs again with the fast paths
  switched off, the kernel must then be absent, and the two Hessian-vector products must agree.
* ``test_hessian_of_elementwise_losses``: ``torch.func.hessian`` and ``jvp(grad(f))`` on every elementwise
  loss, against second differences of the float64 NumPy reference (an independent derivation).
* Losses that cannot have second derivatives are listed in ``UNSUPPORTED`` with the reason and tested for
  the error they raise.

Runtime: the fast (random-projection) mode of gradgradcheck, one intra-op thread (these inputs have a
few dozen elements; thread hand-offs would cost more than the arithmetic).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from torch.autograd.forward_ad import dual_level, make_dual, unpack_dual

import losskit
import losskit.functional as LF
from losskit._core import fastpath
from losskit._core.fastpath import fast_paths
from losskit.kernels.boxes import IoUFamily
from losskit.kernels.focal import SigmoidFocal, SigmoidFocalSum, SoftmaxFocalIndex
from losskit.kernels.lovasz import Lovasz
from losskit.kernels.segmentation import IndexStats
from tests.battery import ENTRIES
from tests.battery.core import REDUCTIONS, LossEntry, Sample, to_numpy

KERNELS = (SigmoidFocal, SigmoidFocalSum, SoftmaxFocalIndex, IoUFamily, IndexStats, Lovasz)
_NODE_NAMES = {f"{k.__name__}Backward" for k in KERNELS}

# loss name -> why it has no second derivative (and the error it raises instead)
UNSUPPORTED: dict[str, str] = {
    "ctc_loss": "torch.nn.functional.ctc_loss, which losskit delegates to, has no double backward "
    "(torch raises 'derivative for aten::_ctc_loss_backward is not implemented')",
}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def graph_nodes(out: torch.Tensor) -> set[str]:
    """Class names of the nodes in the autograd graph of ``out``."""
    seen: set[object] = set()
    names: set[str] = set()
    stack = [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(f for f, _ in node.next_functions)
    return names


def uses_kernel(out: torch.Tensor) -> bool:
    """Whether the autograd graph of ``out`` contains one of losskit's fused kernels."""
    return bool(graph_nodes(out) & _NODE_NAMES)


def _closure(entry: LossEntry, sample: Sample, reduction: str) -> tuple[Callable[..., torch.Tensor], tuple]:
    inputs = tuple(sample.args[i].detach().clone().requires_grad_(True) for i in entry.grad_args)

    def f(*xs: torch.Tensor) -> torch.Tensor:
        args = list(sample.args)
        for i, x in zip(entry.grad_args, xs):
            args[i] = x
        return entry.fn(*args, **{**sample.kwargs, "reduction": reduction})

    return f, inputs


def _hvp(f: Callable[..., torch.Tensor], inputs: tuple, seed: int) -> tuple[torch.Tensor, ...]:
    """``∂/∂x <w, ∂f/∂x · v>`` by double backward, for fixed random ``w`` (output weights) and ``v``."""
    g = torch.Generator().manual_seed(seed)
    xs = tuple(x.detach().clone().requires_grad_(True) for x in inputs)
    out = f(*xs)
    w = torch.rand(out.shape, generator=g, dtype=out.dtype)
    grads = torch.autograd.grad(out, xs, w, create_graph=True)
    v = [torch.randn(x.shape, generator=g, dtype=x.dtype) for x in xs]
    dot = sum((gr * vi).sum() for gr, vi in zip(grads, v))
    return torch.autograd.grad(dot, xs, allow_unused=True, materialize_grads=True)


GRADGRAD = [
    pytest.param(e, s, id=f"{e.name}-{s!r}")
    for e in ENTRIES
    if e.differentiable and e.name not in UNSUPPORTED
    for s in e.samples()
    if s.grad
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("entry", "sample"), GRADGRAD)
def test_gradgradcheck(entry: LossEntry, sample: Sample, reduction: str) -> None:
    f, inputs = _closure(entry, sample, reduction)
    seed = zlib.crc32(f"{entry.name}:{sample!r}:{reduction}".encode())
    fused = uses_kernel(f(*inputs))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        assert torch.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)
    if not fused:
        return
    with fast_paths(False):
        assert not uses_kernel(f(*inputs)), "set_fast_paths(False) must take the plain formula"
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            assert torch.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)
        plain = _hvp(f, inputs, seed)
    for a, b in zip(_hvp(f, inputs, seed), plain):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_every_kernel_is_exercised() -> None:
    # the battery's samples reach every fused kernel, so test_gradgradcheck covers each of them
    reached: set[str] = set()
    for param in GRADGRAD:
        entry, sample = param.values
        f, inputs = _closure(entry, sample, "sum")
        reached |= graph_nodes(f(*inputs)) & _NODE_NAMES
    assert reached == _NODE_NAMES


# the silent error of issue 17 ---------------------------------------------------------------------------
OVERLAP = ["dice_loss", "generalized_dice_loss", "tversky_loss", "focal_tversky_loss", "jaccard_loss"]


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("name", OVERLAP)
def test_index_target_second_derivative_equals_one_hot(name: str, multilabel: bool) -> None:
    # With class indices the loss takes the fused kernel; with the equivalent one-hot target it is plain
    # autograd. Before the fix the index path's Hessian-vector product was 3.6-7x too small.
    fn = getattr(losskit, name)
    g = torch.Generator().manual_seed(17)
    x = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (2, 4, 5), generator=g)
    onehot = torch.nn.functional.one_hot(t, 3).permute(0, 3, 1, 2).double()
    kw = {"multilabel": multilabel}
    assert uses_kernel(fn(x.clone().requires_grad_(True), t, **kw))
    index = _hvp(lambda a: fn(a, t, **kw), (x,), 3)[0]
    dense = _hvp(lambda a: fn(a, onehot, **kw), (x,), 3)[0]
    assert dense.abs().max() > 1e-5
    torch.testing.assert_close(index, dense, rtol=1e-9, atol=1e-12)


# each kernel: the first derivative under create_graph is the closed form's --------------------------------
def _kernel_cases() -> list:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64) * 3
    y = (torch.rand(7, 3, generator=g) < 0.4).double()
    z = torch.randn(7, 4, generator=g, dtype=torch.float64) * 2
    t = torch.randint(0, 4, (7,), generator=g)
    b = torch.rand(7, 4, generator=g, dtype=torch.float64) + torch.tensor(
        [0.0, 0.0, 1.0, 1.0], dtype=torch.float64
    )
    s = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    lab = torch.randint(0, 3, (2, 4, 4), generator=g)
    return [
        pytest.param(lambda a: LF.sigmoid_focal_loss(a, y, reduction="none"), x, id="sigmoid_focal"),
        pytest.param(
            lambda a: LF.sigmoid_focal_loss(a, y.clamp(0.1, 0.7), gamma=0.5), x, id="sigmoid_focal-soft"
        ),
        pytest.param(lambda a: LF.softmax_focal_loss(a, t, reduction="none"), z, id="softmax_focal"),
        pytest.param(lambda a: LF.giou_loss(a, b.flip(0), reduction="none"), b, id="giou"),
        pytest.param(lambda a: LF.ciou_loss(a, b.flip(0), reduction="none"), b, id="ciou"),
        pytest.param(lambda a: LF.dice_loss(a, lab, reduction="none"), s, id="dice-index"),
        pytest.param(
            lambda a: LF.tversky_loss(a, lab, ignore_index=2, reduction="none"), s, id="tversky-ignore"
        ),
        pytest.param(lambda a: LF.generalized_dice_loss(a, lab, multilabel=True), s, id="gdice-sigmoid"),
        pytest.param(lambda a: LF.lovasz_loss(a, lab, reduction="none"), s, id="lovasz-softmax"),
        pytest.param(
            lambda a: LF.lovasz_loss(a, lab, per_image=False, multilabel=True), s, id="lovasz-hinge"
        ),
    ]


@pytest.mark.parametrize(("f", "x"), _kernel_cases())
def test_create_graph_gradient_equals_closed_form(f, x) -> None:
    a = x.clone().requires_grad_(True)
    out = f(a)
    assert uses_kernel(out)
    w = torch.rand(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(1))
    (closed,) = torch.autograd.grad(out, a, w, retain_graph=True)
    (differentiable,) = torch.autograd.grad(out, a, w, create_graph=True)
    assert differentiable.requires_grad
    torch.testing.assert_close(differentiable, closed, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(("f", "x"), _kernel_cases())
def test_third_derivative_through_kernel_equals_plain(f, x) -> None:
    # a backward under create_graph is plain autograd of the formula, so every further order works too
    def third(fast: bool) -> torch.Tensor:
        a = x.clone().requires_grad_(True)
        with fast_paths(fast):
            (g1,) = torch.autograd.grad(f(a).sum(), a, create_graph=True)
            (g2,) = torch.autograd.grad(g1.sum(), a, create_graph=True)
            (g3,) = torch.autograd.grad(g2.sum(), a)
        return g3

    torch.testing.assert_close(third(True), third(False), rtol=1e-8, atol=1e-12)


# torch.func and forward-mode AD ---------------------------------------------------------------------------
@pytest.mark.parametrize(("f", "x"), _kernel_cases())
def test_torch_func_transforms_take_the_plain_formula(f, x) -> None:
    def scalar(a: torch.Tensor) -> torch.Tensor:
        return f(a).sum()

    v = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(2))
    with fast_paths(False):
        a = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(scalar(a), a, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), a)
        jac = torch.autograd.functional.jacobian(lambda b: f(b), x)
    torch.testing.assert_close(torch.func.grad(scalar)(x), g.detach(), rtol=1e-10, atol=1e-13)
    _, hvp = torch.func.jvp(torch.func.grad(scalar), (x,), (v,))
    torch.testing.assert_close(hvp, hv, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(torch.func.jacrev(f)(x), jac, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(torch.func.jacfwd(f)(x), jac, rtol=1e-10, atol=1e-13)
    batched = torch.func.vmap(torch.func.grad(scalar))(torch.stack([x, 2 * x]))
    torch.testing.assert_close(batched[0], g.detach(), rtol=1e-10, atol=1e-13)
    with dual_level():
        tangent = unpack_dual(f(make_dual(x, v))).tangent
    torch.testing.assert_close(
        tangent,
        torch.einsum("...k,k->...", jac.reshape(*jac.shape[: f(x).dim()], -1), v.reshape(-1)),
        rtol=1e-10,
        atol=1e-13,
    )


def test_applies_reports_transforms_and_the_switch() -> None:
    x = torch.zeros(3)
    assert fastpath.applies()
    seen: list[bool] = []

    def probe(a: torch.Tensor) -> torch.Tensor:
        seen.append(fastpath.applies())
        return a.sum()

    torch.func.grad(probe)(x)
    torch.func.vmap(probe)(x.unsqueeze(1))
    with dual_level():
        probe(make_dual(x, torch.ones(3)))
    with fast_paths(False):
        probe(x)
    assert seen == [False, False, False, False]
    assert fastpath.applies()


def test_set_fast_paths() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    y = (torch.rand(4, 3) < 0.5).float()
    assert uses_kernel(losskit.sigmoid_focal_loss(x, y))
    losskit.set_fast_paths(False)
    try:
        assert not fastpath.fast_paths_enabled()
        assert not uses_kernel(losskit.sigmoid_focal_loss(x, y))
    finally:
        losskit.set_fast_paths(True)
    assert uses_kernel(losskit.sigmoid_focal_loss(x, y))
    with pytest.raises(TypeError, match=r"^set_fast_paths: enabled must be a bool, got str 'no'"):
        losskit.set_fast_paths("no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^fast_paths: enabled must be a bool"):
        with fast_paths(0):  # type: ignore[arg-type]
            pass
    with fast_paths(False):
        with fast_paths(True):
            assert fastpath.fast_paths_enabled()
        assert not fastpath.fast_paths_enabled()
    assert fastpath.fast_paths_enabled()


# Hessians of the elementwise losses against the float64 reference -----------------------------------------
def _elementwise() -> list:
    out = []
    for e in ENTRIES:
        if not e.differentiable or e.reference is None or e.name in UNSUPPORTED:
            continue
        for s in e.samples():
            if not (s.grad and s.reference):
                continue
            if (e.name, s.name) in FD_UNSTABLE:
                continue
            x = s.args[0]
            none = e.fn(*s.args, **{**s.kwargs, "reduction": "none"})
            if none.shape == x.shape and x.numel() > 1:
                out.append(pytest.param(e, s, id=f"{e.name}-{s!r}"))
    return out


# samples whose float64 reference cannot be second-differenced: the loss is a small difference of large
# terms (lgamma of a near-infinite shape parameter, a log-probability next to 0), so rounding in the
# reference (~1e-16 · |term| / h²) swamps the second difference; gradgradcheck still covers them
FD_UNSTABLE = {
    ("negative_binomial_nll_loss", "near-poisson"),  # dispersion 1e-6 (r = 1e6): lgamma(y + r) - lgamma(r)
    ("student_t_nll_loss", "near-gaussian"),  # df 1e6: lgamma((ν + 1)/2) - lgamma(ν/2)
    ("orpo_loss", "near-certain"),  # log(1 - e^{logp}) with logp near 0: curvature ~1e4
}
ELEMENTWISE = _elementwise()


def test_elementwise_losses_found() -> None:
    names = {p.values[0].name for p in ELEMENTWISE}
    assert {"sigmoid_focal_loss", "binary_cross_entropy", "mse_loss", "huber_loss", "log_cosh_loss"} <= names


@pytest.mark.parametrize(("entry", "sample"), ELEMENTWISE)
def test_hessian_of_elementwise_losses(entry: LossEntry, sample: Sample) -> None:
    assert entry.reference is not None
    x0 = sample.args[0].detach()
    rest = sample.args[1:]

    def total(x: torch.Tensor) -> torch.Tensor:
        return entry.fn(x, *rest, **{**sample.kwargs, "reduction": "sum"})

    n = x0.numel()
    hess = torch.func.hessian(total)(x0).reshape(n, n)
    # elementwise: the Hessian is diagonal, and its diagonal is each element's second derivative
    torch.testing.assert_close(
        hess - torch.diag(torch.diagonal(hess)), torch.zeros_like(hess), rtol=0, atol=1e-12
    )

    def ref(x: np.ndarray) -> np.ndarray:
        return np.asarray(entry.reference(x, *to_numpy(rest), **to_numpy(sample.kwargs), reduction="none"))

    def second_difference(h: float) -> np.ndarray:  # each element moves alone: the loss is elementwise
        xn = x0.numpy()
        return ((ref(xn + h) - 2.0 * ref(xn) + ref(xn - h)) / h**2).reshape(-1)

    coarse, fine = second_difference(1e-4), second_difference(1e-5)
    # where the two step sizes disagree the element lies within a step of a kink (hinge, |.|, a clamp):
    # the reference has no second derivative there to compare with
    smooth = np.isclose(coarse, fine, rtol=1e-3, atol=1e-3)
    assert smooth.mean() >= 0.5, "most sample points must be away from kinks"
    np.testing.assert_allclose(torch.diagonal(hess).numpy()[smooth], coarse[smooth], rtol=1e-4, atol=1e-5)

    v = torch.randn(x0.shape, dtype=x0.dtype, generator=torch.Generator().manual_seed(4))
    _, hvp = torch.func.jvp(torch.func.grad(total), (x0,), (v,))
    torch.testing.assert_close(hvp.reshape(-1), hess @ v.reshape(-1), rtol=1e-9, atol=1e-12)
    # and reverse-over-reverse through the fast path (the kernels' create_graph fallback) agrees
    (hv,) = _hvp_sum(total, x0, v)
    torch.testing.assert_close(hv, hvp, rtol=1e-9, atol=1e-12)


def _hvp_sum(
    f: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor]:
    x = x0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    if not g.requires_grad:  # piecewise-linear loss: the gradient does not depend on x
        return (torch.zeros_like(x0),)
    return torch.autograd.grad((g * v).sum(), x)


# the listed exceptions ------------------------------------------------------------------------------------
def test_unsupported_are_battery_entries() -> None:
    assert set(UNSUPPORTED) <= {e.name for e in ENTRIES}


def test_ctc_second_derivative_raises_clearly() -> None:
    entry = next(e for e in ENTRIES if e.name == "ctc_loss")
    sample = next(s for s in entry.samples() if s.grad)
    f, inputs = _closure(entry, sample, "mean")
    (g,) = torch.autograd.grad(f(*inputs), inputs, create_graph=True)
    with pytest.raises(RuntimeError, match=r"derivative for .*_ctc_loss_backward is not implemented"):
        g.sum().backward()
