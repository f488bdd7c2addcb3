"""The next experiment: describe candidate designs and evaluate them under what is known.

``Design`` describes arms, persons, sites and the analysis; ``EffectPrior`` or a fitted
result says what the effects may be; ``evaluate`` and ``grid`` give assurance,
P(conclusive), type S and M errors and the expected precision (fast path: normal
approximations, no sampling).
"""

from .evaluate import COLUMNS, evaluate
from .grid import grid
from .prior import EffectPrior, PriorDraws, prior_draws
from .simulate import simulate
from .spec import Contrast, Design

__all__ = [
    "COLUMNS",
    "Contrast",
    "Design",
    "EffectPrior",
    "PriorDraws",
    "evaluate",
    "grid",
    "prior_draws",
    "simulate",
]
