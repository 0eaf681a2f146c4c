"""losskit: loss functions for PyTorch with one consistent API, verified against float64 references.

Functions live in :mod:`losskit.functional` and Modules in :mod:`losskit.nn`; both are re-exported here.
"""

# Family modules are star-imported one by one (each has a literal __all__) so that type checkers see
# every public name.
from losskit import functional, nn
from losskit._core import docs as _docs
from losskit._core.checks import get_checks, set_checks
from losskit._core.fastpath import set_fast_paths
from losskit.functional.boundary import *  # noqa: F403
from losskit.functional.boxes import *  # noqa: F403
from losskit.functional.classification import *  # noqa: F403
from losskit.functional.detection import *  # noqa: F403
from losskit.functional.embedding import *  # noqa: F403
from losskit.functional.forecasting import *  # noqa: F403
from losskit.functional.fused_linear import *  # noqa: F403
from losskit.functional.language_model import *  # noqa: F403
from losskit.functional.longtail import *  # noqa: F403
from losskit.functional.margin_heads import *  # noqa: F403
from losskit.functional.multibin import *  # noqa: F403
from losskit.functional.regression import *  # noqa: F403
from losskit.functional.regularization import *  # noqa: F403
from losskit.functional.robust import *  # noqa: F403
from losskit.functional.segmentation import *  # noqa: F403
from losskit.nn.base import CombinedLoss, FunctionalLoss, Loss
from losskit.nn.boundary import *  # noqa: F403
from losskit.nn.boxes import *  # noqa: F403
from losskit.nn.classification import *  # noqa: F403
from losskit.nn.detection import *  # noqa: F403
from losskit.nn.embedding import *  # noqa: F403
from losskit.nn.forecasting import *  # noqa: F403
from losskit.nn.fused_linear import *  # noqa: F403
from losskit.nn.language_model import *  # noqa: F403
from losskit.nn.longtail import *  # noqa: F403
from losskit.nn.margin_heads import *  # noqa: F403
from losskit.nn.multibin import *  # noqa: F403
from losskit.nn.regression import *  # noqa: F403
from losskit.nn.regularization import *  # noqa: F403
from losskit.nn.robust import *  # noqa: F403
from losskit.nn.segmentation import *  # noqa: F403
from losskit.registry import available, get

__version__ = "0.1.0"

__all__ = [
    "CombinedLoss",
    "FunctionalLoss",
    "Loss",
    "__version__",
    "available",
    "functional",
    "get",
    "get_checks",
    "nn",
    "set_checks",
    "set_fast_paths",
]
__all__ += functional.__all__
__all__ += [n for n in nn.__all__ if n not in __all__]

# the shared Args texts (losskit._core.docs.ARGS) into the docstrings of every module loaded above
_docs.expand_loaded()
