"""The PyMC graph of the summary-level model (the specification is :mod:`.summary`).

Prior parameters, the estimates, their standard errors and the held-out mask are
``pm.Data``: models that differ only in those share one compiled sampler.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm

from ..data.validate import SummaryData
from ..priors import ResolvedPriors
from .base import moderation, prior_rv

__all__ = ["build_graph"]


def build_graph(
    data: SummaryData,
    coords: dict[str, list[str]],
    priors: ResolvedPriors,
    *,
    pooling: str,
    combined_arms: Sequence[str] | None,
    bias_sites: Sequence[str],
    held_out: np.ndarray,
    moderators: np.ndarray | None = None,
) -> pm.Model:
    """Build the summary model's graph.

    Parameters
    ----------
    data : SummaryData
        The validated rows.
    coords : dict
        Dims and their names.
    priors : ResolvedPriors
        The priors in force.
    pooling : {"partial", "full", "none"}
    combined_arms : sequence of str, optional
        With interaction terms: the arms they belong to; None: no interactions.
    bias_sites : sequence of str
        Sites whose suspect rows carry a bias term.
    held_out : ndarray
        1 for rows whose likelihood is left out.
    moderators : ndarray, optional
        Standardised site-level moderators (site x moderator), with ``pooling="partial"``.

    Returns
    -------
    pymc.Model
    """
    d = data
    comps = d.components
    x_row = d.design[d.arm_index]
    site_idx = d.site_index
    with pm.Model(coords=coords) as model:
        if pooling == "partial":
            mu = prior_rv("mu", priors, "mu", comps, "component", as_data=True)
            tau = prior_rv("tau", priors, "tau", comps, "component", as_data=True)
            z = pm.Normal("z", 0.0, 1.0, dims=("site", "component"))
            site_mean = mu if moderators is None else mu + moderation(priors, comps, moderators)[1]
            beta = pm.Deterministic("beta", site_mean + tau * z, dims=("site", "component"))
        elif pooling == "full":
            mu = prior_rv("mu", priors, "mu", comps, "component", as_data=True)
            beta = pm.Deterministic(
                "beta", pm.math.ones((len(d.sites), 1)) * mu, dims=("site", "component")
            )
        else:
            beta = prior_rv("beta", priors, "beta", comps, ("site", "component"), as_data=True)
        theta = (beta[site_idx] * x_row).sum(axis=-1)
        if combined_arms is not None:
            delta = prior_rv(
                "interaction",
                priors,
                "interaction",
                combined_arms,
                "combined_arm",
                as_data=True,
            )
            comb = np.array(
                [combined_arms.index(a) if a in combined_arms else -1 for a in d.rows["arm"]]
            )
            theta = theta + pm.math.where(comb >= 0, delta[np.maximum(comb, 0)], 0.0)
        theta = pm.Deterministic("theta", theta, dims="row")
        mean = theta
        if bias_sites:
            bias = prior_rv("bias", priors, "bias", bias_sites, "bias_site", as_data=True)
            b_idx = np.array(
                [bias_sites.index(s) if s in bias_sites else 0 for s in d.rows["site"]]
            )
            flag = d.rows["suspect"].to_numpy(dtype=float)
            mean = theta + bias[b_idx] * flag
        y = pm.Data("estimate", d.rows["estimate"].to_numpy(), dims="row")
        se = pm.Data("se", d.rows["se"].to_numpy(), dims="row")
        out = pm.Data("held_out", held_out, dims="row")
        pm.Normal("y", mu=mean, sigma=se, observed=y, dims="row")
        # held-out rows: their likelihood taken back out (data, so one compiled graph)
        pm.Potential("held_out_rows", -(out * pm.logp(pm.Normal.dist(mean, se), y)).sum())
    return model
