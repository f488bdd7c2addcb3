"""Site effects of the national-scale model, drawn after sampling (``likelihood="normal_approx"``).

The marginal model (:mod:`pwbayes.models.person.marginal`) integrates the site intercepts,
site x component effects and covariate effects out and samples only the hyperparameters;
this step draws them from their exact Gaussian conditional posterior given each draw, so
the result holds the same variables as an exact fit.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..models.person.glm import Layout
from ..models.person.marginal import prior_blocks
from ..models.person.stage_one import StageOne

__all__ = ["conditional_draws", "site_effects_given_hyperparameters"]


def site_effects_given_hyperparameters(
    post: xr.Dataset, stage: StageOne, rng: np.random.Generator
) -> dict[str, xr.DataArray]:
    """``alpha``, ``beta`` and ``gamma`` given each posterior draw of the hyperparameters."""
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    hyper = {
        k: post[k].values.reshape(chains * draws, *post[k].shape[2:])
        for k in ("alpha_mu", "alpha_sd", "mu", "tau")
    }
    out = conditional_draws(
        stage.layout, stage.psi_hat, stage.psi_cov, hyper, stage.gamma_mean, stage.gamma_sd, rng
    )
    coords = {"site": stage.sites, "component": stage.components, "covariate": stage.covariates}
    dims = {"alpha": ("site",), "beta": ("site", "component"), "gamma": ("covariate",)}
    return {
        name: xr.DataArray(
            values.reshape(chains, draws, *values.shape[1:]),
            dims=("chain", "draw", *dims[name]),
            coords={k: coords[k] for k in dims[name]},
        )
        for name, values in out.items()
        if name != "gamma" or stage.covariates
    }


def conditional_draws(
    layout: Layout,
    psi_hat: np.ndarray,
    psi_cov: np.ndarray,
    hyper: dict[str, np.ndarray],
    gamma_mean: np.ndarray,
    gamma_sd: np.ndarray,
    rng: np.random.Generator,
    chunk: int = 500,
) -> dict[str, np.ndarray]:
    """Draw alpha, beta and gamma from their Gaussian posterior given each draw of h.

    Matheron's rule: with ``phi0`` drawn from the prior given ``h`` and ``psi0 = A phi0 + e``,
    ``e ~ N(0, Sigma_hat)``, ``phi0 + V A' (Sigma_hat + A V A')^-1 (psi_hat - psi0)`` is an
    exact draw from ``phi | psi_hat, h`` (``V`` the prior variances, ``A`` the map from
    phi to psi). Needs no inverse of ``V``, so ``tau`` near zero is harmless.

    Parameters
    ----------
    hyper : dict
        Flat draws: ``alpha_mu (n,)``, ``alpha_sd (n,)``, ``mu (n, C)``, ``tau (n, C)``.

    Returns
    -------
    dict
        ``alpha (n, S)``, ``beta (n, S, C)``, ``gamma (n, K)``.
    """
    n_draws = len(hyper["alpha_mu"])
    s, r = layout.n_sites, len(layout.cell_site)
    e_block, g, gamma_cov = prior_blocks(layout, gamma_sd)
    tmap = layout.site_cell_map
    chol = np.linalg.cholesky(psi_cov)
    gamma_mean = np.asarray(gamma_mean, dtype=float).reshape(-1)
    gamma_sd = np.asarray(gamma_sd, dtype=float).reshape(-1)
    n_comp = layout.design.shape[1]
    out = {
        "alpha": np.empty((n_draws, s)),
        "beta": np.empty((n_draws, s, n_comp)),
        "gamma": np.empty((n_draws, layout.n_covariates)),
    }
    for lo in range(0, n_draws, chunk):
        sl = slice(lo, min(lo + chunk, n_draws))
        a_mu, a_sd = hyper["alpha_mu"][sl], hyper["alpha_sd"][sl]
        mu, tau = hyper["mu"][sl], hyper["tau"][sl]
        m = len(a_mu)
        alpha0 = a_mu[:, None] + a_sd[:, None] * rng.standard_normal((m, s))
        beta0 = mu[:, None, :] + tau[:, None, :] * rng.standard_normal((m, s, n_comp))
        gamma0 = gamma_mean + gamma_sd * rng.standard_normal((m, layout.n_covariates))
        theta0 = np.einsum("nrc,rc->nr", beta0[:, layout.cell_site, :], layout.cell_design)
        noise = rng.standard_normal((m, layout.size)) @ chol.T
        psi0 = np.concatenate([alpha0, theta0, gamma0], axis=1) + noise
        big = (
            psi_cov
            + (a_sd**2)[:, None, None] * e_block
            + np.einsum("nc,cij->nij", tau**2, g)
            + gamma_cov
        )
        w = np.linalg.solve(big, (psi_hat - psi0)[..., None])[..., 0]
        out["alpha"][sl] = alpha0 + (a_sd**2)[:, None] * w[:, :s]
        out["beta"][sl] = beta0 + (tau**2)[:, None, :] * np.einsum(
            "nr,rmc->nmc", w[:, s : s + r], tmap
        )
        out["gamma"][sl] = gamma0 + gamma_sd**2 * w[:, s + r :]
    return out
