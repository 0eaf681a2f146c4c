"""The Module base class and loss composition.

Every losskit Module is a thin holder of hyper-parameters around one function of
:mod:`losskit.functional`. Options are bound and validated once, in ``__init__``, against the function's
keyword-only parameters; tensor options (class weights, ``alpha`` vectors, ``pos_weight``) become buffers,
so ``.to(device)`` moves them. ``forward`` never changes the module's state.

A ``process_group`` option is held by reference: ``copy.deepcopy`` shares it (a process group is a handle
to this process's communicator, like a device, not data), and pickling keeps ``torch.distributed.group.WORLD``
as "the default group of the process that loads it". Any other group cannot be pickled (TypeError): pass it
at call time, ``loss(x, y, process_group=g)``, or rebuild the Module after loading.

Losses compose with ``+`` and scalar ``*``::

    criterion = DiceLoss() + 0.5 * CrossEntropyLoss()
    total = criterion(logits, target)                # Σ wᵢ·lossᵢ
    parts = criterion.components(logits, target)     # {"dice": ..., "cross_entropy": ..., "total": ...}
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

import torch.distributed as dist
from torch import Tensor, nn

from losskit._core import options as _options

__all__ = ["CombinedLoss", "FunctionalLoss", "Loss"]


def _is_group(value: Any) -> bool:
    return bool(dist.is_available() and isinstance(value, dist.ProcessGroup))


def _world_group_option() -> _GroupOption:
    return _GroupOption(None, world=True)


class _GroupOption:
    """A process group held as a Module option: shared by ``deepcopy``, picklable only as the WORLD group."""

    __slots__ = ("group", "world")

    def __init__(self, group: Any, *, world: bool = False) -> None:
        self.group, self.world = group, world

    def get(self, owner: str) -> Any:
        if not self.world:
            return self.group
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                f"{owner}: this Module was saved with process_group=torch.distributed.group.WORLD but "
                "torch.distributed is not initialised in this process; call init_process_group first, or "
                "pass process_group=None at call time for a local loss"
            )
        return dist.group.WORLD

    def __deepcopy__(self, memo: dict[int, Any]) -> _GroupOption:
        return self

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        if self.world or (dist.is_initialized() and self.group is dist.group.WORLD):
            return (_world_group_option, ())
        raise TypeError(
            "losskit Module: a process_group other than torch.distributed.group.WORLD cannot be pickled; "
            "pass it at call time (loss(x, y, process_group=g)) or rebuild the Module after loading"
        )


def _snake(name: str) -> str:
    name = re.sub(r"Loss$", "", name) or name
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Loss(nn.Module):
    """Base class of every losskit Module; adds composition (``a + b``, ``0.5 * a``)."""

    @property
    def loss_name(self) -> str:
        """Short snake-case name used as the key in :meth:`CombinedLoss.components`."""
        return _snake(type(self).__name__)

    def _terms(self) -> list[tuple[float, Loss]]:
        return [(1.0, self)]

    def __add__(self, other: object) -> CombinedLoss:
        if not isinstance(other, Loss):
            return NotImplemented
        return CombinedLoss(self._terms() + other._terms())

    def __mul__(self, factor: object) -> CombinedLoss:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)):
            return NotImplemented
        return CombinedLoss([(float(factor) * w, t) for w, t in self._terms()])

    __rmul__ = __mul__

    def __neg__(self) -> CombinedLoss:
        return self * -1.0


class CombinedLoss(Loss):
    """A weighted sum of losses, built with ``+`` and ``*`` rather than by hand.

    Every term receives the same positional and keyword arguments. :meth:`components` returns each term's
    unweighted value under its name plus the weighted ``"total"``, for logging.

    Example:
        >>> import torch, losskit
        >>> crit = losskit.CrossEntropyLoss() + 0.5 * losskit.SoftmaxFocalLoss(gamma=2.0)
        >>> logits, target = torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])
        >>> sorted(crit.components(logits, target))
        ['cross_entropy', 'softmax_focal', 'total']
        >>> round(float(crit(logits, target)), 6)  # 0.417030 + 0.5 * 0.048492
        0.441276
    """

    def __init__(self, terms: list[tuple[float, Loss]]) -> None:
        super().__init__()
        self.losses = nn.ModuleList([t for _, t in terms])
        self.weights: list[float] = [w for w, _ in terms]
        names: list[str] = []
        for t in self.losses:
            base = t.loss_name if isinstance(t, Loss) else _snake(type(t).__name__)
            name, k = base, 2
            while name in names:
                name, k = f"{base}_{k}", k + 1
            names.append(name)
        self.names = names

    def _terms(self) -> list[tuple[float, Loss]]:
        return [(w, t) for w, t in zip(self.weights, self.losses)]  # type: ignore[misc]

    def components(self, *args: Any, **kwargs: Any) -> dict[str, Tensor]:
        """Each term's unweighted value under its name, and the weighted sum under ``"total"``."""
        out: dict[str, Tensor] = {}
        total: Tensor | None = None
        for name, w, loss in zip(self.names, self.weights, self.losses):
            value = loss(*args, **kwargs)
            out[name] = value
            total = value * w if total is None else total + value * w
        if total is None:
            raise ValueError("CombinedLoss: needs at least one term, got none")
        out["total"] = total
        return out

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """Return ``Σ wᵢ · lossᵢ(*args, **kwargs)``."""
        return self.components(*args, **kwargs)["total"]

    def extra_repr(self) -> str:
        """``1*dice + 0.5*cross_entropy``."""
        return " + ".join(f"{w:g}*{n}" for w, n in zip(self.weights, self.names))


class FunctionalLoss(Loss):
    """A Module that stores keyword options and calls one functional loss.

    Subclasses set ``function``. Unknown option names raise ``TypeError`` at construction; tensor options
    are registered as buffers. The positional arguments of ``forward`` are passed straight through
    (``input, target`` for most losses; extra ones such as CTC's lengths follow).

    The constructor's signature is the function's keyword-only options, so ``inspect.signature``,
    ``help()`` and editors show the real arguments and defaults. ``positional`` names the options that may
    also be passed by position, where torch's Module of the same name takes them so
    (``CrossEntropyLoss(weight)``, ``CTCLoss(blank)``, ``TripletLoss(margin, p)``).
    """

    function: ClassVar[Callable[..., Tensor]]
    positional: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "function" not in cls.__dict__ or "__init__" in cls.__dict__:
            return  # abstract intermediate class, or a Module with its own constructor
        params = [
            p
            for p in inspect.signature(cls.function).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        by_name = {p.name: p for p in params}
        missing = [n for n in cls.positional if n not in by_name]
        if missing:
            fname = cls.function.__name__
            raise TypeError(f"{cls.__name__}: positional {missing} are not options of {fname}")
        first = [by_name[n].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in cls.positional]
        rest = [p for p in params if p.name not in cls.positional]
        self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)

        def __init__(self: FunctionalLoss, *args: Any, **options: Any) -> None:
            FunctionalLoss.__init__(self, *args, **options)

        __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [self_param, *first, *rest], return_annotation=None
        )
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__doc__ = f"Options of :func:`{cls.function.__name__}` (see its docstring)."
        cls.__init__ = __init__  # type: ignore[method-assign]

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__()
        cls = type(self)
        fn = cls.function
        if len(args) > len(cls.positional):
            takes = f" ({', '.join(cls.positional)})" if cls.positional else ""
            raise TypeError(
                f"{cls.__name__}: takes {len(cls.positional)} positional option(s){takes}, got {len(args)}; "
                "pass the options by keyword"
            )
        for name, value in zip(cls.positional, args):
            if name in options:
                raise TypeError(f"{cls.__name__}: got {name!r} both by position and by keyword")
            options[name] = value
        params = inspect.signature(fn).parameters
        allowed = [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            close = difflib.get_close_matches(unknown[0], allowed, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(
                f"{cls.__name__}: unknown option(s) {unknown}{hint}; expected keyword options of "
                f"{fn.__name__}: {sorted(allowed)}"
            )
        self._option_names: list[str] = []
        self._plain: dict[str, Any] = {}
        for key, value in options.items():
            if isinstance(value, Tensor):
                self.register_buffer(key, value.detach().clone())
            elif _is_group(value):
                self._plain[key] = _GroupOption(value)
            else:
                self._plain[key] = value
            self._option_names.append(key)
        self._validate_options()

    def _validate_options(self) -> None:
        """Eager validation of plain (non-tensor) options; functions re-check on every call."""
        plain = {k: v for k, v in self._plain.items() if not isinstance(v, _GroupOption)}
        _options.validate(type(self).function, plain)  # the declared table (losskit._core.options)
        validate = getattr(type(self).function, "validate_options", None)
        if validate is not None:  # a family's cross-option checks (segmentation)
            validate(**plain)

    @property
    def loss_name(self) -> str:
        """The function's name without its ``_loss`` suffix."""
        name = type(self).function.__name__
        return name[: -len("_loss")] if name.endswith("_loss") else name

    @property
    def options(self) -> dict[str, Any]:
        """The keyword options passed to the function (buffers included)."""
        out: dict[str, Any] = {}
        for k in self._option_names:
            v = getattr(self, k) if k not in self._plain else self._plain[k]
            out[k] = v.get(type(self).__name__) if isinstance(v, _GroupOption) else v
        return out

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """Call the functional loss with the stored options (call-time keywords override them)."""
        return type(self).function(*args, **{**self.options, **kwargs})

    def extra_repr(self) -> str:
        """The options, as in the constructor call."""
        parts = []
        for k in self._option_names:
            v = getattr(self, k) if k not in self._plain else self._plain[k]
            if isinstance(v, _GroupOption):
                parts.append(f"{k}=" + ("group.WORLD" if v.world else f"<{type(v.group).__name__}>"))
            else:
                parts.append(f"{k}=tensor{tuple(v.shape)}" if isinstance(v, Tensor) else f"{k}={v!r}")
        return ", ".join(parts)
