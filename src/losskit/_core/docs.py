"""Argument descriptions that many losses share, written once (as torch's table of common arguments).

A docstring names a shared description with a placeholder that stands alone as the text of its Args
entry, ``reduction: {reduction}``, or ``process_group: {process_group}`` followed by more lines of that
entry (``Every rank must hold the same centres.``, indented as a continuation).
:func:`expand` replaces the placeholder with the text of :data:`ARGS` under that key, wrapped as a
hand-written entry; lines that follow it at a deeper indent stay, so a loss adds its own sentences after
the shared ones. The key is usually the argument's name; ``name_variant`` keys hold the wordings a group
of losses share (``weight: {weight_per_box}``). Wording that belongs to one loss stays in its docstring.

``import losskit`` expands the docstrings of every losskit module it loads (:func:`expand_loaded`), so
``help()``, ``__doc__`` and doctests see the full text; the docs site's griffe extension
(``docs/griffe_rst.py``) calls :func:`expand` on the docstrings it reads from source. A placeholder whose
key is not in the table raises ``ValueError`` naming the object, when ``losskit`` is imported and when the
site is built.
"""

from __future__ import annotations

import re
import sys
import textwrap
from typing import Any

ARGS: dict[str, str] = {
    "reduction": '``"none"``, ``"mean"`` or ``"sum"``.',
    "reduction_elementwise": '``"none"`` (elementwise), ``"mean"`` or ``"sum"``.',
    "reduction_per_sample": '``"none"`` (``(N,)``), ``"mean"`` or ``"sum"``.',
    "reduction_per_box": '``"none"`` (per box), ``"mean"`` (default) or ``"sum"``.',
    "normalizer": (
        'replaces the denominator of ``reduction="mean"`` with a number or 0-d tensor > 0 (mmdet\'s '
        "``avg_factor``), e.g. the count of a whole gradient-accumulation window. Default None."
    ),
    "normalizer_module": 'replaces the denominator of ``reduction="mean"`` (also per call).',
    "process_group": (
        "None (default, local) or a ``torch.distributed`` process group: the loss of the union of every "
        "rank's batch, the same on every rank (see docs/distributed.md)."
    ),
    "process_group_module": (
        "None or a ``torch.distributed`` group: the loss of every rank's batch (also per call, "
        "``loss(x, y, process_group=g)``; see docs/distributed.md)."
    ),
    "weight": 'elementwise weight broadcastable into the input\'s shape; ``"mean"`` is ``Σ w ℓ / Σ w``.',
    "weight_per_box": "optional per-box weight ``(...)``.",
    "weight_per_sample": 'per-sample weight ``(N,)``; ``"mean"`` divides by its sum.',
    "weight_per_pair": 'per-pair weight ``(N,)``; ``"mean"`` divides by its sum.',
    "box_format": '``"xyxy"`` (default), ``"xywh"``, ``"cxcywh"`` or ``"ltrb"``.',
    "input_type": '``"logits"`` (default), ``"probs"`` or ``"log_probs"``.',
    "ignore_index": "the label value to skip. Default -100.",
    "dim": "the class dimension. Default 1.",
    "labels": "class indices ``(N,)`` in ``[0, C)``, any integer dtype.",
}
"""Shared Args text by placeholder key."""

# "name: {key}" (or "a, b: {key}") alone on its line; LaTeX braces never stand there
_PLACEHOLDER = re.compile(r"^(?P<head>[ \t]*[A-Za-z_]\w*(?:, [A-Za-z_]\w*)*: )\{(?P<key>\w+)\}[ \t]*$")
_WIDTH = 110  # the source's line length, so an expanded entry reads as a hand-written one


def expand(doc: str, where: str = "docstring") -> str:
    """``doc`` with every Args placeholder replaced by its :data:`ARGS` text.

    Args:
        doc: a docstring, raw (``__doc__``) or cleaned.
        where: the object's name, for the error message.

    Returns:
        The docstring; unchanged when it holds no placeholder.

    Raises:
        ValueError: a placeholder names a key that is not in :data:`ARGS`.

    Example:
        >>> from losskit._core.docs import expand
        >>> print(expand("    dim: {dim}"))
            dim: the class dimension. Default 1.
    """
    if "{" not in doc:
        return doc
    lines = doc.split("\n")
    out: list[str] = []
    for line in lines:
        m = _PLACEHOLDER.match(line)
        if m is None:
            out.append(line)
            continue
        key, head = m.group("key"), m.group("head")
        if key not in ARGS:
            raise ValueError(
                f"{where}: unknown shared argument text {{{key}}} in {line.strip()!r}; "
                f"the keys of losskit._core.docs.ARGS are {sorted(ARGS)}"
            )
        indent = head[: len(head) - len(head.lstrip())]
        out.extend(
            textwrap.wrap(
                ARGS[key],
                width=_WIDTH,
                initial_indent=head,
                subsequent_indent=indent + "    ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def _expand_object(obj: Any, where: str) -> None:
    doc = getattr(obj, "__doc__", None)
    if isinstance(doc, str) and "{" in doc:
        new = expand(doc, where)
        if new != doc:
            obj.__doc__ = new


def expand_module(module: Any) -> None:
    """Expand the docstrings of ``module``, of the functions and classes it defines, and of their members."""
    name = module.__name__
    _expand_object(module, name)
    for attr, obj in vars(module).items():
        if getattr(obj, "__module__", None) != name or not (isinstance(obj, type) or callable(obj)):
            continue
        where = f"{name}.{attr}"
        _expand_object(obj, where)
        if isinstance(obj, type):
            for member_name, member in vars(obj).items():
                target = getattr(member, "__func__", member)  # staticmethod / classmethod
                if isinstance(member, property):
                    target = member
                if callable(target) or isinstance(target, property):
                    _expand_object(target, f"{where}.{member_name}")


def expand_loaded(package: str = "losskit") -> None:
    """Expand the docstrings of every loaded module of ``package`` (done at the end of ``import losskit``)."""
    for name, module in list(sys.modules.items()):
        if module is not None and (name == package or name.startswith(package + ".")):
            expand_module(module)
