"""G-computation of percentage-point effects for the Bernoulli person model.

For every posterior draw, the effect of shifting the linear predictor by ``s`` (a site's
component effect, an arm's effect, the pooled effect...) is the weighted average over
participants of ``expit(b_i + s) - expit(b_i)``, with ``b_i`` the participant's own
baseline (site intercept plus covariates). With national-scale data this is billions of
logistic evaluations, so one fused, parallel numba loop does them all: per draw and
participant cell the baseline is computed once and every shift is applied to it
(measured 5.6x faster than the numpy version it replaced, see ``docs/benchmarks.md``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["group_shift_effects", "shift_effects"]


@numba.njit(parallel=True, cache=True)
def _kernel(site_c, x_c, w_c, alpha, gamma, alpha_new, shifts_site, shifts_new):  # pragma: no cover
    n_draws, n_sites = alpha.shape
    n_cells, n_cov = x_c.shape
    j_site, j_new = shifts_site.shape[2], shifts_new.shape[1]
    acc_site = np.zeros((n_draws, n_sites, j_site))
    acc_new = np.zeros((n_draws, j_new))
    for d in numba.prange(n_draws):
        for i in range(n_cells):
            lin = 0.0
            for k in range(n_cov):
                lin += gamma[d, k] * x_c[i, k]
            m = site_c[i]
            w = w_c[i]
            b = alpha[d, m] + lin
            p0 = 1.0 / (1.0 + math.exp(-b))
            for j in range(j_site):
                acc_site[d, m, j] += w * (1.0 / (1.0 + math.exp(-(b + shifts_site[d, m, j]))) - p0)
            b = alpha_new[d] + lin
            p0 = 1.0 / (1.0 + math.exp(-b))
            for j in range(j_new):
                acc_new[d, j] += w * (1.0 / (1.0 + math.exp(-(b + shifts_new[d, j]))) - p0)
    return acc_site, acc_new


def shift_effects(
    site_c: np.ndarray,
    x_c: np.ndarray,
    w_c: np.ndarray,
    alpha: np.ndarray,
    gamma: np.ndarray,
    alpha_new: np.ndarray,
    shifts_site: np.ndarray,
    shifts_new: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums of ``expit(b + s) - expit(b)`` over participant cells.

    Parameters
    ----------
    site_c, x_c, w_c : numpy.ndarray
        Site index, standardised covariates and number of participants of each cell.
    alpha : numpy.ndarray
        Site intercepts per draw, ``(draws, sites)``.
    gamma : numpy.ndarray
        Covariate effects per draw, ``(draws, covariates)``.
    alpha_new : numpy.ndarray
        A new site's intercept per draw, ``(draws,)``.
    shifts_site : numpy.ndarray
        ``(draws, sites, J)``: shifts applied to the cells of each site with that site's
        intercept.
    shifts_new : numpy.ndarray
        ``(draws, J')``: shifts applied to every cell with ``alpha_new``.

    Returns
    -------
    (site_sums, new_sums)
        ``(draws, sites, J)`` and ``(draws, J')``; divide by the weights to average.
    """
    f = np.ascontiguousarray
    return _kernel(
        f(site_c, dtype=np.int64),
        f(x_c, dtype=np.float64).reshape(len(site_c), -1),
        f(w_c, dtype=np.float64),
        f(alpha, dtype=np.float64),
        f(gamma, dtype=np.float64).reshape(len(alpha), -1),
        f(alpha_new, dtype=np.float64),
        f(shifts_site, dtype=np.float64),
        f(shifts_new, dtype=np.float64),
    )


@numba.njit(parallel=True, cache=True)
def _group_kernel(site_c, group_c, x_c, w_c, alpha, gamma, shifts):  # pragma: no cover
    n_draws, n_sites, n_groups, n_shifts = shifts.shape
    n_cells, n_cov = x_c.shape
    acc = np.zeros((n_draws, n_sites, n_groups, n_shifts))
    for d in numba.prange(n_draws):
        for i in range(n_cells):
            lin = 0.0
            for k in range(n_cov):
                lin += gamma[d, k] * x_c[i, k]
            m, g, w = site_c[i], group_c[i], w_c[i]
            b = alpha[d, m] + lin
            p0 = 1.0 / (1.0 + math.exp(-b))
            for j in range(n_shifts):
                acc[d, m, g, j] += w * (1.0 / (1.0 + math.exp(-(b + shifts[d, m, g, j]))) - p0)
    return acc


def group_shift_effects(
    site_c: np.ndarray,
    group_c: np.ndarray,
    x_c: np.ndarray,
    w_c: np.ndarray,
    alpha: np.ndarray,
    gamma: np.ndarray,
    shifts: np.ndarray,
) -> np.ndarray:
    """As :func:`shift_effects`, with shifts that depend on each cell's subgroup combination.

    Parameters
    ----------
    site_c, group_c, x_c, w_c : numpy.ndarray
        Site, combination of subgroup levels (0..G-1), standardised covariates and number
        of participants of each cell.
    alpha, gamma : numpy.ndarray
        ``(draws, sites)`` and ``(draws, covariates)``.
    shifts : numpy.ndarray
        ``(draws, sites, G, J)``.

    Returns
    -------
    numpy.ndarray
        ``(draws, sites, G, J)`` weighted sums of ``expit(b + s) - expit(b)``.
    """
    f = np.ascontiguousarray
    return _group_kernel(
        f(site_c, dtype=np.int64),
        f(group_c, dtype=np.int64),
        f(x_c, dtype=np.float64).reshape(len(site_c), -1),
        f(w_c, dtype=np.float64),
        f(alpha, dtype=np.float64),
        f(gamma, dtype=np.float64).reshape(len(alpha), -1),
        f(shifts, dtype=np.float64),
    )
