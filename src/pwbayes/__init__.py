"""pwbayes: Bayesian hierarchical pooling of small multi-site randomised experiments."""

from . import examples
from .arms import known_components, parse_arm, register_component
from .data import published
from .errors import (
    ArmError,
    ConvergenceWarning,
    DataError,
    PriorError,
    PwbayesError,
    SpecError,
)
from .models.summary import SummaryModel
from .priors import Prior
from .results import SummaryResult, load_result

__version__ = "0.1.0"

__all__ = [
    "ArmError",
    "ConvergenceWarning",
    "DataError",
    "Prior",
    "PriorError",
    "PwbayesError",
    "SpecError",
    "SummaryModel",
    "SummaryResult",
    "examples",
    "known_components",
    "load_result",
    "parse_arm",
    "published",
    "register_component",
]
