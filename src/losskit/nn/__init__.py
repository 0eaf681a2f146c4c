"""Thin ``nn.Module`` classes: hyper-parameters held once, the math in :mod:`losskit.functional`."""

from losskit.nn import (
    boundary,
    boxes,
    classification,
    detection,
    embedding,
    forecasting,
    fused_linear,
    language_model,
    longtail,
    margin_heads,
    multibin,
    regression,
    regularization,
    robust,
    segmentation,
)
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

__all__: list[str] = ["CombinedLoss", "FunctionalLoss", "Loss"]
__all__ += classification.__all__
__all__ += regression.__all__
__all__ += multibin.__all__
__all__ += boxes.__all__
__all__ += segmentation.__all__
__all__ += embedding.__all__
__all__ += regularization.__all__
__all__ += language_model.__all__
__all__ += fused_linear.__all__
__all__ += robust.__all__
__all__ += forecasting.__all__
__all__ += detection.__all__
__all__ += boundary.__all__
__all__ += longtail.__all__
__all__ += margin_heads.__all__
