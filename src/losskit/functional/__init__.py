"""Pure loss functions, one module per family; the single source of truth for the math."""

from losskit.functional import (
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

__all__: list[str] = []
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
