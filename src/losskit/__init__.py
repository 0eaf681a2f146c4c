"""losskit: loss functions for PyTorch with one consistent API, verified against float64 references.

Functions live in :mod:`losskit.functional` and Modules in :mod:`losskit.nn`; both are re-exported here.
"""

from losskit import functional, nn
from losskit._core.checks import get_checks, set_checks
from losskit.functional import *  # noqa: F403
from losskit.functional import __all__ as _functional_all
from losskit.nn import *  # noqa: F403
from losskit.nn import __all__ as _nn_all
from losskit.registry import available, get

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "available",
    "functional",
    "get",
    "get_checks",
    "nn",
    "set_checks",
    *_functional_all,
    *_nn_all,
]
