"""Stage one of the person model: maximum likelihood of psi, and where psi comes from.

The person-level likelihood depends on the parameters only through

    psi = (alpha_m for every site, theta_{m,a} for every observed site x arm cell, gamma)

(site intercepts, the effect of each arm run in each site, covariate effects). One Newton
fit (or least squares for a score) gives its maximum-likelihood estimate and information:
the Gaussian approximation that the whitened parameterisation
(:mod:`.stage_one`) and the national-scale marginal model (:mod:`.marginal`) rest on.
This module needs numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ...errors import DataError

__all__ = [
    "AUTO_MIN_CELL",
    "AUTO_MIN_ROWS",
    "Layout",
    "cells_reach",
    "design_matrix",
    "fit_glm",
    "fixed_effect_centre",
    "glm_mode",
    "layout_of",
]

#: ``likelihood="auto"`` uses the normal approximation from this many rows on ...
AUTO_MIN_ROWS = 100_000
#: ... when every site x group cell has at least this many outcomes of each kind
#: (events and non-events; people for a score).
AUTO_MIN_CELL = 100


@dataclass(frozen=True)
class Layout:
    """Where each element of psi comes from.

    Attributes
    ----------
    cell_site, cell_arm : numpy.ndarray
        Site and arm index of each observed site x arm cell (the theta block).
    design : numpy.ndarray
        Arm-by-component indicators (arms x components).
    n_sites, n_covariates : int
    names : list of str
        Labels of psi's elements, for the ``psi`` coordinate.
    """

    cell_site: np.ndarray
    cell_arm: np.ndarray
    design: np.ndarray
    n_sites: int
    n_covariates: int
    names: list[str]

    @property
    def size(self) -> int:
        """Number of elements of psi."""
        return self.n_sites + len(self.cell_site) + self.n_covariates

    @property
    def cell_design(self) -> np.ndarray:
        """Components of each cell's arm (cells x components)."""
        return self.design[self.cell_arm]

    @property
    def site_cell_map(self) -> np.ndarray:
        """``T[r, m, c] = [site of cell r == m] * design[arm of cell r, c]``: A^T for beta."""
        t = np.zeros((len(self.cell_site), self.n_sites, self.design.shape[1]))
        t[np.arange(len(self.cell_site)), self.cell_site] = self.cell_design
        return t


def layout_of(data) -> Layout:
    """Layout of psi for validated person data (:class:`~pwbayes.data.person.PersonData`)."""
    pairs = sorted(
        {(int(m), int(a)) for m, a in zip(data.site_index, data.arm_index, strict=True) if a >= 0}
    )
    cell_site = np.array([m for m, _ in pairs], dtype=int)
    cell_arm = np.array([a for _, a in pairs], dtype=int)
    names = [f"alpha[{s}]" for s in data.sites]
    names += [f"theta[{data.sites[m]}: {data.arms[a]}]" for m, a in pairs]
    names += [f"gamma[{c}]" for c in data.covariates]
    return Layout(cell_site, cell_arm, data.design, len(data.sites), len(data.covariates), names)


def design_matrix(layout: Layout, site_index, arm_index, x) -> np.ndarray:
    """Return the rows' design matrix in psi (intercept, observed cell, covariates)."""
    rows = len(site_index)
    out = np.zeros((rows, layout.size))
    out[np.arange(rows), site_index] = 1.0
    cell_of = np.full((layout.n_sites, len(layout.design)), -1)
    cell_of[layout.cell_site, layout.cell_arm] = np.arange(len(layout.cell_site))
    treated = np.flatnonzero(arm_index >= 0)
    out[treated, layout.n_sites + cell_of[site_index[treated], arm_index[treated]]] = 1.0
    out[:, layout.n_sites + len(layout.cell_site) :] = x
    return out


def cells_reach(data, family: str, minimum: int) -> bool:
    """Whether every site x group cell has ``minimum`` events and non-events (or people)."""
    group = data.site_index * (len(data.arms) + 1) + data.arm_index + 1
    n = np.bincount(group)
    used = np.flatnonzero(n)
    if family == "bernoulli":
        k = np.bincount(group, weights=data.y)
        counts = np.minimum(k[used], n[used] - k[used])
    else:
        counts = n[used]
    return bool(counts.min() >= minimum)


def glm_mode(
    layout: Layout,
    site_index: np.ndarray,
    arm_index: np.ndarray,
    x: np.ndarray,
    *,
    family: str,
    y: np.ndarray | None = None,
    k: np.ndarray | None = None,
    n: np.ndarray | None = None,
    ridge: float = 0.0,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Mode of psi's (penalised) likelihood and the likelihood's information there.

    Newton's method for ``bernoulli`` (with ``ridge``: the penalty ``ridge * |psi|^2 / 2``,
    which keeps the mode finite when a cell has no events); least squares for ``normal``,
    whose information is ``X'X / sigma_hat^2``. The returned information is the
    likelihood's alone, without the penalty.

    Parameters
    ----------
    layout : Layout
    site_index, arm_index, x : numpy.ndarray
        Rows (people, or collapsed cells with counts ``k`` of ``n`` for ``bernoulli``).
    family : {"bernoulli", "normal"}
    y : numpy.ndarray, optional
        Scores (``normal``).
    k, n : numpy.ndarray, optional
        Events and trials per row (``bernoulli``).

    Returns
    -------
    (psi, information, info)
        ``info`` holds the iterations (and ``sigma_hat`` for ``normal``).

    Raises
    ------
    DataError
        If Newton's method does not converge.
    """
    xm = design_matrix(layout, site_index, arm_index, x)
    if family == "normal":
        assert y is not None, "family='normal' needs y"
        psi = np.linalg.lstsq(xm, y, rcond=None)[0]
        resid = y - xm @ psi
        sigma2 = float(resid @ resid) / max(len(y) - xm.shape[1], 1)
        return psi, xm.T @ xm / sigma2, {"iterations": 1, "sigma_hat": sigma2**0.5}
    psi = np.zeros(layout.size)
    rate = np.bincount(site_index, weights=k) / np.bincount(site_index, weights=n)
    rate = np.clip(rate, 1e-3, 1 - 1e-3)
    psi[: layout.n_sites] = np.log(rate / (1 - rate))
    penalty = ridge * np.eye(layout.size)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        p = expit(xm @ psi)
        info = xm.T @ (xm * (n * p * (1 - p))[:, None])
        step = np.linalg.solve(info + penalty, xm.T @ (k - n * p) - ridge * psi)
        psi = psi + step
        if np.max(np.abs(step)) < 1e-9:
            break
    else:
        raise DataError(
            f"The maximum-likelihood fit of psi did not converge in {max_iter} iterations "
            "(a cell with no events?)."
        )
    p = expit(xm @ psi)
    return psi, xm.T @ (xm * (n * p * (1 - p))[:, None]), {"iterations": iterations}


def fit_glm(
    layout: Layout,
    site_index: np.ndarray,
    arm_index: np.ndarray,
    x: np.ndarray,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Maximum-likelihood psi and its covariance (flat priors); see :func:`glm_mode`.

    ``cov`` is the inverse observed information (``bernoulli``) or
    ``sigma_hat^2 (X'X)^-1`` (``normal``). Keyword arguments are :func:`glm_mode`'s
    (without ``ridge``).
    """
    try:
        psi, information, info = glm_mode(layout, site_index, arm_index, x, **kwargs)
    except DataError as err:
        raise DataError(f"{err} likelihood='normal_approx' needs it; use 'exact'.") from None
    return psi, np.linalg.inv(information), info


def fixed_effect_centre(
    layout: Layout, psi_hat, psi_cov, prior_var
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised least squares of the cell effects on the components (tau = 0).

    Returns the estimate of ``mu`` and the diagonal of its variance, with the prior
    variances of ``mu`` added as precision so that it exists for any design. Used only to
    centre and scale ``mu`` for the sampler (see :func:`build_marginal`).
    """
    s, r = layout.n_sites, len(layout.cell_site)
    d = layout.cell_design
    prior_var = np.broadcast_to(np.asarray(prior_var, dtype=float), (d.shape[1],))
    prec = np.linalg.inv(psi_cov[s : s + r, s : s + r])
    info = d.T @ prec @ d + np.diag(1.0 / prior_var)
    var = np.linalg.inv(info)
    return var @ (d.T @ prec @ psi_hat[s : s + r]), np.diag(var).copy()
