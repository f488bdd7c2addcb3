"""The person model's PyMC graph: exact likelihood (three parameterisations) or marginal.

::

    eta_i = alpha_{m[i]} + X_i gamma + sum_c x_{a[i],c} (beta_{m[i],c} + subgroup terms)
    alpha_m ~ Normal(alpha_mu, alpha_sd),   beta_{m,c} ~ Normal(mu_c + x_m g_c, tau_c)

with ``x_m`` the site's standardised moderators (if any) and ``g_c`` their effects.

The site effects are sampled whitened (:mod:`.kernels.whitening_op`), non-centred or
centred; ``likelihood="normal_approx"`` builds the marginal model of :mod:`.marginal`
instead. The graph computes one linear predictor per likelihood cell (:mod:`.cells`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ...data.person import PersonData
from ...data.subgroups import SubgroupLayout
from ...priors import ResolvedPriors
from ..base import moderation, prior_rv, scalar_rv
from . import glm, marginal
from .cells import LikelihoodRows
from .kernels.logit import logit_loglik
from .kernels.whitening_op import site_effects
from .stage_one import StageOne, Whitening, moderated_blocks
from .subgroup_terms import subgroup_terms

__all__ = ["GraphSpec", "build_graph"]


@dataclass(frozen=True)
class GraphSpec:
    """Everything the graph is built from (decided by :class:`~pwbayes.PersonModel`)."""

    data: PersonData
    rows: LikelihoodRows
    priors: ResolvedPriors
    coords: dict[str, list[str]]
    family: str
    parameterization: str | None
    whitening: Whitening | None
    stage_one: StageOne | None
    layout: SubgroupLayout | None
    by_site: bool
    moderators: np.ndarray | None = None  # standardised, site x moderator


def build_graph(spec: GraphSpec) -> pm.Model:
    """Build the PyMC model of ``spec`` (never sampled here)."""
    # prior parameters are data, so that a model with other prior values reuses the
    # compiled sampler
    with pm.Model(coords=spec.coords) as model:
        alpha_mu = scalar_rv("alpha_mu", spec.priors.base["alpha_mu"], as_data=True)
        alpha_sd = scalar_rv("alpha_sd", spec.priors.base["alpha_sd"], as_data=True)
        tau = prior_rv("tau", spec.priors, "tau", spec.data.components, "component", as_data=True)
        if spec.stage_one is not None:
            _marginal(spec, alpha_mu, alpha_sd, tau)
        else:
            _exact(spec, alpha_mu, alpha_sd, tau)
    return model


def _marginal(spec: GraphSpec, alpha_mu, alpha_sd, tau) -> None:
    stage = spec.stage_one
    assert stage is not None
    dist, params = spec.priors.params("mu", spec.data.components)
    marginal.build_marginal(
        stage.layout,
        stage.psi_hat,
        stage.psi_cov,
        {"alpha_mu": alpha_mu, "alpha_sd": alpha_sd, "tau": tau},
        (dist, {k: pm.Data(f"mu_prior_{k}", v) for k, v in params.items()}),
        stage.mu_scaling,
        pm.Data("gamma_prior_mu", np.asarray(stage.gamma_mean, dtype=float).reshape(-1)),
        pm.Data("gamma_prior_sigma", np.asarray(stage.gamma_sd, dtype=float).reshape(-1)),
    )


def _exact(spec: GraphSpec, alpha_mu, alpha_sd, tau) -> None:
    d, comps = spec.data, spec.data.components
    # a data container, so that data sets of the same shape share the compiled model
    cell_idx = pm.Data("cell_idx", spec.rows.cell_index())
    if spec.whitening is not None:
        dist, params = spec.priors.params("mu", comps)
        mu_prior = (dist, {k: pm.Data(f"mu_prior_{k}", v) for k, v in params.items()})
        mu = marginal.standardised_mu(glm.layout_of(d), mu_prior, spec.whitening.mu_scaling, tau)
    else:
        mu = prior_rv("mu", spec.priors, "mu", comps, "component", as_data=True)
    gamma = (
        prior_rv("gamma", spec.priors, "gamma", d.covariates, "covariate", as_data=True)
        if d.covariates
        else None
    )
    moderated = None
    if spec.moderators is not None:
        moderated = moderation(spec.priors, comps, spec.moderators)
    alpha, beta = _site_effects(spec, alpha_mu, alpha_sd, mu, tau, gamma, moderated)
    cells = _cell_predictors(spec, alpha, beta)
    if spec.family == "bernoulli":
        # the binomial kernel without log C(n, k), which does not depend on the
        # parameters: summed over cells it equals the row-level Bernoulli one
        data = pm.Data("loglik_data", spec.rows.loglik_data())
        gamma_ = gamma if gamma is not None else np.zeros(0)
        pm.Potential("loglik", logit_loglik(cells, gamma_, cell_idx, data))
        return
    eta = cells[cell_idx]
    if d.covariates:
        xdata = pm.Data("x", spec.rows.x, dims=("obs", "covariate"))
        eta = eta + pm.math.dot(xdata, gamma)
    sigma = scalar_rv("sigma", spec.priors.base["sigma"], as_data=True)
    y = pm.Data("y_obs", d.y, dims="obs")
    pm.Normal("y", mu=eta, sigma=sigma, observed=y, dims="obs")


def _site_effects(spec: GraphSpec, alpha_mu, alpha_sd, mu, tau, gamma, moderated):
    """``alpha`` (site) and ``beta`` (site, component) in the chosen parameterisation.

    ``moderated`` is ``(g, x g')`` of the site-level moderators, or None.
    """
    shift = 0.0 if moderated is None else moderated[1]
    if spec.whitening is not None:
        blocks, extra = spec.whitening.blocks, gamma if gamma is not None else np.zeros(0)
        if moderated is not None:  # their effects enter the blocks like covariate effects
            assert spec.moderators is not None
            blocks = moderated_blocks(blocks, spec.moderators)
            extra = pt.concatenate([pt.as_tensor(extra), moderated[0].flatten()])
        alpha, beta, logdens = site_effects(
            pm.Data("whiten_blocks", blocks),
            alpha_mu,
            mu,
            alpha_sd,
            tau,
            extra,
            pm.Flat("site_w", dims=("site", "site_parameter")),
        )
        # the prior of the whitened effects and the Jacobian of the change of variables
        pm.Potential("whitening", logdens)
        alpha = pm.Deterministic("alpha", alpha, dims="site")
        beta = pm.Deterministic("beta", beta + shift, dims=("site", "component"))
        return alpha, beta
    # every site has hundreds of people, so its intercept is well identified
    alpha = pm.Normal("alpha", alpha_mu, alpha_sd, dims="site")
    if spec.parameterization == "centered":
        return alpha, pm.Normal("beta", mu + shift, tau, dims=("site", "component"))
    z = pm.Normal("z", 0.0, 1.0, dims=("site", "component"))
    return alpha, pm.Deterministic("beta", mu + shift + tau * z, dims=("site", "component"))


def _cell_predictors(spec: GraphSpec, alpha, beta):
    """Linear predictor of every site x (comparison, arm) x subgroup-combination cell."""
    design = np.vstack([np.zeros((1, len(spec.data.components))), spec.data.design])
    cells = alpha[:, None] + pm.math.dot(beta, design.T)
    if spec.layout is None:
        return cells.flatten()
    per_group, per_site = subgroup_terms(
        spec.layout, spec.priors, spec.data.components, spec.by_site
    )
    terms = pm.math.dot(design, per_group)[None]  # (1, arm, combination)
    if per_site is not None:
        terms = terms + pt.tensordot(per_site, design, axes=[[1], [1]]).dimshuffle(0, 2, 1)
    return (cells[:, :, None] + terms).flatten()
