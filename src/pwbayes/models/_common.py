"""Helpers shared by the model modules."""

from __future__ import annotations

from collections.abc import Sequence

import pymc as pm

from ..priors import Prior, ResolvedPriors


def prior_rv(name: str, priors: ResolvedPriors, var: str, labels: Sequence[str], dims):
    """Create the vector random variable ``name`` with the (per-label) prior of ``var``."""
    dist, params = priors.params(var, labels)
    return getattr(pm, dist)(name, **params, dims=dims)


def scalar_rv(name: str, prior: Prior):
    """Create a scalar random variable with ``prior``."""
    return getattr(pm, prior.dist)(name, **prior.params)
