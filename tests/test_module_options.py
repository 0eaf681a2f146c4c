"""Every registered Module rejects a bad option when it is built, with the function's own message.

The cases come from the option tables (losskit._core.options.options_of: the shared conventions read from
each signature plus the per-loss declarations); each bad value is also given to the function on the loss's
first battery sample, which must reject it with the same exception type and message.
"""

from __future__ import annotations

import inspect
import re

import pytest
import torch

import losskit
from losskit import registry
from losskit._core.options import options_of
from tests.battery import ENTRIES

_SAMPLES = {e.module: e for e in ENTRIES if e.module is not None}


def _cases():
    out = []
    for name in losskit.available():
        cls = registry.canonical_class(name)
        fn = getattr(cls, "function", None)
        if fn is None:
            continue
        params = inspect.signature(cls).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for opt, spec in options_of(fn).items():
            if opt not in params and not takes_any:
                continue  # a Module with its own constructor that fixes this option (BarronLoss: nll)
            for bad in spec.bad():
                out.append(pytest.param(cls, opt, bad, id=f"{name}-{opt}-{bad!r}"))
    return out


# sizes of the parameters a Module owns (the margin heads' centres, Proxy-Anchor's proxies)
_SIZES = {"num_classes": 4, "embedding_size": 3}


def _required(cls):
    """Arguments the Module cannot be built without: from its battery sample, or the sizes it owns."""
    entry = _SAMPLES.get(cls)
    kwargs = {**_SIZES, **(entry.samples()[0].kwargs if entry is not None else {})}
    params = inspect.signature(cls).parameters.values()
    return {
        p.name: kwargs[p.name] for p in params if p.default is inspect.Parameter.empty and p.name in kwargs
    }


CASES = _cases()


def test_the_issue_examples_fail_at_construction():
    with pytest.raises(ValueError, match=r"^sigmoid_focal_loss: gamma must be in \[0, inf\), got -1$"):
        losskit.SigmoidFocalLoss(gamma=-1)
    with pytest.raises(ValueError, match=r"^cross_entropy: reduction must be one of .*, got 'avg'$"):
        losskit.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"^giou_loss: box_format must be one of .*, got 'xyzw'$"):
        losskit.GIoULoss(box_format="xyzw")
    assert len({c.values[0] for c in CASES}) >= 60  # every registered FunctionalLoss has a table


@pytest.mark.parametrize(("cls", "opt", "bad"), CASES)
def test_module_rejects_bad_option_at_construction(cls, opt, bad):
    fn = cls.function
    who = f"({fn.__name__}|{cls.__name__})"  # a Module with its own constructor speaks as itself
    with pytest.raises((TypeError, ValueError), match=rf"^{who}: {re.escape(opt)} must ") as built:
        cls(**{**_required(cls), opt: bad})
    entry = _SAMPLES.get(cls)
    if entry is None:
        return
    s = entry.samples()[0]
    with pytest.raises(built.type) as called:
        fn(*s.args, **{**s.kwargs, opt: bad})
    assert str(called.value).split(":", 1)[1] == str(built.value).split(":", 1)[1]


def test_defaults_pass_their_own_table():
    for name in losskit.available():
        fn = getattr(registry.canonical_class(name), "function", None)
        if fn is None:
            continue
        defaults = {
            k: p.default
            for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty and not isinstance(p.default, torch.Tensor)
        }
        for opt, spec in options_of(fn).items():
            if opt in defaults:
                spec.check(fn.__name__, opt, defaults[opt])
