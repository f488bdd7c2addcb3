"""pwbayes: Bayesian hierarchical pooling of small multi-site randomised experiments.

The model classes load PyMC; they are imported on first use, so that the data layer
(``pwbayes.arms``, ``pwbayes.data``, ``pwbayes.examples``) works with pandas alone.
"""

from importlib import import_module

from . import examples
from .arms import known_components, parse_arm, register_component
from .data import published
from .data.person import bin_covariates
from .data.site_estimates import site_estimates
from .data.subgroup_estimates import subgroup_differences, subgroup_estimates
from .errors import (
    ArmError,
    ConvergenceWarning,
    DataError,
    PriorError,
    PwbayesError,
    SpecError,
)
from .priors import Prior

__version__ = "0.1.0"

_LAZY = {
    "PersonModel": "pwbayes.models.person",
    "PersonResult": "pwbayes.results",
    "SummaryModel": "pwbayes.models.summary",
    "SummaryResult": "pwbayes.results",
    "load_result": "pwbayes.results",
}

__all__ = [
    "ArmError",
    "ConvergenceWarning",
    "DataError",
    "PersonModel",
    "PersonResult",
    "Prior",
    "PriorError",
    "PwbayesError",
    "SpecError",
    "SummaryModel",
    "SummaryResult",
    "bin_covariates",
    "examples",
    "known_components",
    "load_result",
    "parse_arm",
    "published",
    "register_component",
    "site_estimates",
    "subgroup_differences",
    "subgroup_estimates",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pwbayes' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
