"""pwbayes: Bayesian hierarchical pooling of small multi-site randomised experiments.

This module is the public API and nothing else. The model and result classes load PyMC
and ArviZ; they are imported on first use, so that the data layer (``pwbayes.arms``,
``pwbayes.data``, ``pwbayes.examples``) works with pandas alone.
"""

from importlib import import_module

from . import examples
from ._version import __version__
from .arms import known_components, parse_arm, register_component
from .data import published
from .data.covariates import bin_covariates
from .data.readers import read_data
from .data.site_estimates import site_estimates
from .data.subgroup_estimates import subgroup_differences, subgroup_estimates
from .errors import (
    ArmError,
    ConvergenceWarning,
    DataError,
    DesignError,
    DisclosureError,
    PriorError,
    PwbayesError,
    RecordError,
    SpecError,
)
from .priors import Prior
from .record import FitRecord

_LAZY = {
    "PersonModel": "pwbayes.models.person",
    "PersonResult": "pwbayes.results",
    "SummaryModel": "pwbayes.models.summary",
    "SummaryResult": "pwbayes.results",
    "load_result": "pwbayes.results",
    "result_from_draws": "pwbayes.fitting",
}

__all__ = [
    "ArmError",
    "ConvergenceWarning",
    "DataError",
    "DesignError",
    "DisclosureError",
    "FitRecord",
    "PersonModel",
    "PersonResult",
    "Prior",
    "PriorError",
    "PwbayesError",
    "RecordError",
    "SpecError",
    "SummaryModel",
    "SummaryResult",
    "__version__",
    "bin_covariates",
    "examples",
    "known_components",
    "load_result",
    "parse_arm",
    "published",
    "read_data",
    "register_component",
    "result_from_draws",
    "site_estimates",
    "subgroup_differences",
    "subgroup_estimates",
]


def __getattr__(name: str) -> object:
    """Import the model and result classes on first use."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pwbayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the public API."""
    return sorted(__all__)
