r"""Parameter penalties: the structural-risk term of an objective (SPEC §2.2, note 003).

Note 003's chain: a **loss** scores one sample, the **cost** is its mean over the data, and the
**objective** adds a penalty on the parameters,

.. math::
    \hat θ = \arg\min_θ\ \frac1N \sum_i L(y_i, f(x_i; θ)) + λ\,Φ(θ).

:func:`l1_penalty` and :func:`l2_penalty` are the two usual Φ; :class:`losskit.nn.Objective` assembles the
whole objective around any criterion. Neither penalty includes a factor ½: ``l2_penalty`` is ``Σ θ²``, so
its gradient is ``2θ`` and ``λ · l2_penalty`` under plain SGD equals ``weight_decay = 2λ``. With Adam the
two differ (the penalty's gradient is rescaled by the adaptive step; decoupled weight decay, AdamW, is not).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from losskit._core.dtypes import compute_dtype

__all__ = ["l1_penalty", "l2_penalty"]


def _tensors(fn: str, params: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """Validate ``params`` (a tensor or an iterable of floating tensors on one device) and list them."""
    if isinstance(params, Tensor):
        items = [params]
    else:
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{fn}: params must be a tensor or an iterable of tensors (e.g. model.parameters()), "
                f"got {type(params).__name__}"
            )
        items = list(params)
    devices = set()
    for i, p in enumerate(items):
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{fn}: params must hold tensors, got {type(p).__name__} at position {i}; "
                f"pass model.parameters() rather than the model"
            )
        if not p.is_floating_point():
            raise TypeError(
                f"{fn}: params must be floating-point tensors, got dtype {p.dtype} at position {i}"
            )
        devices.add(p.device)
    if len(devices) > 1:
        raise ValueError(
            f"{fn}: params must all be on one device, got {sorted(str(d) for d in devices)}; "
            f"compute one penalty per device and add them"
        )
    return items


def l1_penalty(params: Tensor | Iterable[Tensor]) -> Tensor:
    r"""L1 (lasso) penalty: the sum of absolute values of all parameters.

    .. math::
        Φ_1(θ) = \sum_j |θ_j|

    Pushes small weights to exactly zero (sparse solutions); its gradient is ``sign(θ)`` (0 at 0).

    Args:
        params: a tensor or an iterable of floating-point tensors on one device, e.g. ``model.parameters()``
            (leave biases out with ``[p for n, p in model.named_parameters() if n.endswith("weight")]``).

    Returns:
        A 0-d tensor in the widest dtype of the parameters (float32 for half-precision ones, which are
        accumulated in float32). An empty iterable gives ``0.0`` in the default dtype.

    Raises:
        TypeError: if ``params`` is not a tensor or an iterable of floating-point tensors.
        ValueError: if the tensors live on different devices.

    References:
        Tibshirani, *Regression Shrinkage and Selection via the Lasso*, JRSS B 58(1), 1996.

    Example:
        >>> import torch
        >>> from losskit.functional import l1_penalty
        >>> l1_penalty([torch.tensor([1.0, -2.0]), torch.tensor([[0.5]])])
        tensor(3.5000)
    """
    items = _tensors("l1_penalty", params)
    if not items:
        return torch.zeros(())
    acc = compute_dtype(*items)
    return torch.stack([p.abs().sum(dtype=acc) for p in items]).sum()


def l2_penalty(params: Tensor | Iterable[Tensor]) -> Tensor:
    r"""L2 (ridge) penalty: the sum of squares of all parameters, **without** a factor ½.

    .. math::
        Φ_2(θ) = \sum_j θ_j^2

    Shrinks every weight proportionally (gradient ``2θ``). With plain SGD, adding ``λ · l2_penalty`` equals
    ``weight_decay = 2λ``; with Adam it does not (use AdamW for decoupled decay).

    Args:
        params: a tensor or an iterable of floating-point tensors on one device, e.g. ``model.parameters()``.

    Returns:
        A 0-d tensor in the widest dtype of the parameters (half-precision parameters are squared and summed
        in float32, where ``θ²`` cannot overflow). An empty iterable gives ``0.0`` in the default dtype.

    Raises:
        TypeError: if ``params`` is not a tensor or an iterable of floating-point tensors.
        ValueError: if the tensors live on different devices.

    References:
        Hoerl and Kennard, *Ridge Regression: Biased Estimation for Nonorthogonal Problems*, Technometrics
        12(1), 1970.

    Example:
        >>> import torch
        >>> from losskit.functional import l2_penalty
        >>> l2_penalty([torch.tensor([1.0, -2.0]), torch.tensor([[0.5]])])
        tensor(5.2500)
    """
    items = _tensors("l2_penalty", params)
    if not items:
        return torch.zeros(())
    acc = compute_dtype(*items)
    return torch.stack([p.to(acc).square().sum() for p in items]).sum()
