"""Stage one: the Gaussian approximation behind whitening and the national-scale model.

One maximum-likelihood fit of psi (:mod:`.glm`) gives, for ``parameterization="whitened"``,
the per-site blocks that standardise each site's effects (:class:`Whitening`; an exact
change of variables, see :mod:`.kernels.whitening`) and, for
``likelihood="normal_approx"``, the estimate and covariance that replace the likelihood
(:class:`StageOne`; :mod:`.marginal`). This module needs numpy only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ...data.person import PersonData
from ...errors import DataError, PriorError
from ...priors import ResolvedPriors
from . import glm
from .cells import LikelihoodRows

__all__ = [
    "STAGE_ONE_RIDGE",
    "StageOne",
    "Whitening",
    "moderated_blocks",
    "normal_approx",
    "site_blocks",
    "whitening",
]

#: penalty on psi in the stage-one fit behind ``parameterization="whitened"``: keeps it
#: finite when a cell has no events (prior SD 10 on the logit scale); it only shapes the
#: change of variables, never the posterior
STAGE_ONE_RIDGE = 0.01


@dataclass(frozen=True)
class Whitening:
    """Per-site blocks ``[H | h | K]`` and the centre and variance that standardise ``mu``."""

    blocks: np.ndarray
    mu_scaling: np.ndarray


@dataclass(frozen=True)
class StageOne:
    """The normal approximation of the likelihood in psi (``likelihood="normal_approx"``)."""

    layout: glm.Layout
    psi_hat: np.ndarray
    psi_cov: np.ndarray
    iterations: int
    sigma_hat: float | None
    mu_scaling: np.ndarray
    gamma_mean: np.ndarray
    gamma_sd: np.ndarray
    sites: list[str]
    components: list[str]
    covariates: list[str]


def _mu_prior_var(priors: ResolvedPriors, components: list[str]):
    """Prior variance of ``mu``: regularises the fixed-effect centring of ``mu`` only."""
    _, params = priors.params("mu", components)
    return params["sigma"] ** 2 if "sigma" in params else 1e4  # 1e4: no sigma


def whitening(
    data: PersonData, rows: LikelihoodRows, family: str, priors: ResolvedPriors
) -> Whitening | None:
    """Stage one of ``parameterization="whitened"``; ``None`` (with a warning) if it fails."""
    layout = glm.layout_of(data)
    try:
        psi, information, _ = glm.glm_mode(
            layout, **rows.glm_rows(family, data.y), ridge=STAGE_ONE_RIDGE
        )
    except (DataError, np.linalg.LinAlgError) as err:
        warnings.warn(
            f"parameterization='whitened' needs a maximum-likelihood fit, which failed "
            f"({err}); using 'noncentered' (the posterior is the same, sampling may be "
            "slower).",
            UserWarning,
            stacklevel=4,
        )
        return None
    # any centre and scale give the same posterior; these make mu's funnel round
    cov = np.linalg.inv(information + STAGE_ONE_RIDGE * np.eye(layout.size))
    centre = glm.fixed_effect_centre(layout, psi, cov, _mu_prior_var(priors, data.components))
    return Whitening(site_blocks(layout, psi, information), np.stack(centre))


def normal_approx(
    data: PersonData, rows: LikelihoodRows, family: str, priors: ResolvedPriors
) -> StageOne:
    """Stage one of ``likelihood="normal_approx"``: maximum likelihood of psi."""
    layout = glm.layout_of(data)
    dist, params = priors.params("gamma", data.covariates) if data.covariates else ("", {})
    if data.covariates and dist != "Normal":
        raise PriorError(
            f"likelihood='normal_approx' needs a Normal prior on gamma; got {dist}. Use a "
            "Normal prior or likelihood='exact'."
        )
    psi_hat, cov, info = glm.fit_glm(layout, **rows.glm_rows(family, data.y))
    return StageOne(
        layout=layout,
        psi_hat=psi_hat,
        psi_cov=cov,
        iterations=int(info["iterations"]),
        sigma_hat=info.get("sigma_hat"),
        mu_scaling=np.stack(
            glm.fixed_effect_centre(layout, psi_hat, cov, _mu_prior_var(priors, data.components))
        ),
        gamma_mean=params.get("mu", np.zeros(0)),
        gamma_sd=params.get("sigma", np.zeros(0)),
        sites=list(data.sites),
        components=list(data.components),
        covariates=list(data.covariates),
    )


def site_blocks(layout, psi_hat: np.ndarray, precision: np.ndarray):
    """Per-site pieces of the stage-one quadratic approximation, in ``phi_m`` coordinates.

    ``phi_m = (alpha_m, beta_m)`` maps to site m's elements of psi (its intercept and its
    observed arm cells) by ``A_m``; with ``P`` the stage-one precision of psi:
    ``H_m = A_m' P_mm A_m``, ``h_m = A_m' (P_mm psi_hat_m + P_mg gamma_hat)`` and
    ``K_m = A_m' P_mg`` (``g``: the covariate effects), so that given gamma the
    approximate log-likelihood of ``phi_m`` is ``-phi' H phi / 2 + phi' (h - K gamma)``.

    Returns
    -------
    numpy.ndarray
        ``[H | h | K]`` side by side: shape ``(sites, n, n + 1 + covariates)`` with
        ``n = 1 + components``.
    """
    s, r = layout.n_sites, len(layout.cell_site)
    c = layout.design.shape[1]
    gidx = np.arange(s + r, layout.size)
    h_mat = np.zeros((s, 1 + c, 1 + c))
    h_vec = np.zeros((s, 1 + c))
    k_mat = np.zeros((s, 1 + c, len(gidx)))
    for m in range(s):
        cells = s + np.flatnonzero(layout.cell_site == m)
        ids = np.concatenate([[m], cells])
        amap = np.zeros((len(ids), 1 + c))
        amap[0, 0] = 1.0
        amap[1:, 1:] = layout.design[layout.cell_arm[cells - s]]
        p_mm = precision[np.ix_(ids, ids)]
        p_mg = precision[np.ix_(ids, gidx)]
        h_mat[m] = amap.T @ p_mm @ amap
        h_vec[m] = amap.T @ (p_mm @ psi_hat[ids] + p_mg @ psi_hat[gidx])
        k_mat[m] = amap.T @ p_mg
    return np.concatenate([h_mat, h_vec[:, :, None], k_mat], axis=2)


def moderated_blocks(blocks: np.ndarray, moderators: np.ndarray) -> np.ndarray:
    """Whitening blocks of a model whose site means shift with site-level moderators.

    With ``beta_m = beta'_m + G x_m`` (``G``: component x moderator effects) the whitened
    variable is ``beta'`` (prior ``N(mu, tau^2)``), whose approximate log-likelihood has the
    linear term ``h_m - H_m (0, G x_m)``: the moderator effects act like covariate effects
    with ``K`` columns ``H_m[:, 1 + c] x_{m,j}`` (in ``G``'s row-major order), appended here.
    Exact for any blocks; this keeps the approximation centred, so sampling stays easy.
    """
    n = blocks.shape[1]
    h = blocks[:, :, :n]
    # (site, n, component, moderator) -> (site, n, component * moderator)
    extra = h[:, :, 1:, None] * moderators[:, None, None, :]
    return np.concatenate([blocks, extra.reshape(len(blocks), n, -1)], axis=2)
