"""The pooled analysis of the fast path: the old posterior's draws, reweighted by new data.

Given a draw ``d`` of the analysis prior (``mu_d``, ``tau_d``), a new municipality's
component effects are ``Normal(mu_d, diag(tau_d^2))`` and its arm estimates
``Normal(X beta, S)``, so everything given the draw is normal and closed-form: the
likelihood of the new data, and each site's posterior. Across draws the posterior is the
mixture weighted by those likelihoods (importance sampling of the old posterior by the new
data). A named existing site contributes its own posterior draw instead of the normal. This
is the exact Bayesian update of the old posterior draws, with the analyst's standard errors
taken at the base rate plus the prior's mean effect.

Given each draw of the truth, ``REPS`` data sets of arm estimates are simulated (normal, at
the true rates), and P(effect > 0 | data) is computed for each; P(conclusive) is their
average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .normal import TINY, Decisions

__all__ = ["ImportanceUpdate", "importance_update"]

#: Simulated data sets per truth draw.
REPS = 1
#: Below this effective number of analysis draws (median), a row is flagged as rough.
MIN_ESS = 30


@dataclass(frozen=True)
class ImportanceUpdate:
    """Posterior after each simulated data set, as weights over the analysis draws."""

    weights: np.ndarray  # (N, Da): N = truth draws x REPS
    data: list[np.ndarray]  # per site (N, A): the simulated arm estimates
    centre: list[np.ndarray]  # per site (Da, C): the site's effects given the draw
    spread: list[np.ndarray]  # per site (Da, C, C): their covariance given the draw
    a_inv: list[np.ndarray]  # per site (Da, A, A)
    x: np.ndarray
    mu: np.ndarray  # (Da, C)
    truth: np.ndarray  # (D, K): pooled effects, then each site's
    ess: float

    @property
    def size(self) -> int:
        """Return the length of the state (pooled effects, then each site's)."""
        return self.truth.shape[1]

    def _block(self, weights: np.ndarray) -> tuple[int, np.ndarray]:
        n_comp = self.mu.shape[1]
        block = int(np.flatnonzero(weights)[0]) // n_comp
        return block, weights[block * n_comp : (block + 1) * n_comp]

    def _conditional(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``(N, Da)`` and variance ``(Da,)`` of ``weights @ state`` given each draw."""
        block, coef = self._block(weights)
        if block == 0:
            return np.broadcast_to(self.mu @ coef, self.weights.shape), np.zeros(len(self.mu))
        j = block - 1
        t_coef = self.spread[j] @ coef  # (Da, C)
        xt = t_coef @ self.x.T  # (Da, A): cov(arm estimates, effect) given the draw
        gain = np.einsum("dab,db->da", self.a_inv[j], xt)  # (Da, A)
        expected = self.centre[j] @ self.x.T  # (Da, A)
        offset = self.centre[j] @ coef - np.einsum("da,da->d", expected, gain)
        mean = self.data[j] @ gain.T + offset[None]  # (N, Da), by matrix products
        var = np.maximum(t_coef @ coef - np.einsum("da,da->d", xt, gain), 0.0)
        return mean, var

    def _moments(self, weights: np.ndarray, mean: np.ndarray, var: np.ndarray):
        post_mean = np.sum(self.weights * mean, axis=1)
        second = self.weights @ var + np.sum(self.weights * mean**2, axis=1)
        return post_mean, np.sqrt(np.maximum(second - post_mean**2, 0.0))

    def _p_positive(self, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        sd = np.sqrt(var)
        if (sd > 0).all():
            z = mean / sd
        else:  # a point given the draw (a pooled effect, or a site's own posterior draw)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), np.sign(mean) * np.inf)
        return np.sum(self.weights * special.ndtr(z), axis=1)

    def decide(self, weights: np.ndarray, truth: np.ndarray) -> Decisions:
        """Decide on ``weights @ state``: P(> 0) after pooling above 0.95 or below 0.05."""
        mean, var = self._conditional(weights)
        p_pos = self._p_positive(mean, var)
        post_mean, _ = self._moments(weights, mean, var)
        shape = (len(truth), REPS)
        pos, neg = (p_pos > 0.95).reshape(shape), (p_pos < 0.05).reshape(shape)
        decided = pos | neg
        right = np.where(truth[:, None] > 0, pos, np.where(truth[:, None] < 0, neg, False))
        return Decisions(
            right=right.mean(axis=1),
            wrong=(decided & ~right).mean(axis=1),
            abs_estimate=(np.abs(post_mean.reshape(shape)) * decided).mean(axis=1),
            abs_truth=np.abs(truth) * decided.mean(axis=1),
        )

    def posterior_sd(self, weights: np.ndarray) -> np.ndarray:
        """Return the posterior SD of ``weights @ state``, per truth draw."""
        mean, var = self._conditional(weights)
        return self._moments(weights, mean, var)[1].reshape(-1, REPS).mean(axis=1)

    def prior_sd(self, weights: np.ndarray) -> float:
        """Return the analysis prior's SD of ``weights @ state``."""
        block, coef = self._block(weights)
        if block == 0:
            return float(np.std(self.mu @ coef))
        j = block - 1
        within = float(np.mean(np.einsum("c,dcl,l->d", coef, self.spread[j], coef)))
        return float(np.sqrt(np.var(self.centre[j] @ coef) + within))


def importance_update(
    mu: np.ndarray,
    tau: np.ndarray,
    site_draws: list[np.ndarray | None],
    x: np.ndarray,
    analyst: list[np.ndarray],
    covs: list[np.ndarray],
    truth: np.ndarray,
    rng: np.random.Generator,
    analysis_draws: int = 500,
) -> ImportanceUpdate:
    """Reweight the analysis draws by simulated new data of every site of the design.

    Parameters
    ----------
    mu, tau : ndarray, shape (Da, C)
        Analysis prior draws of the pooled effects and between-site SDs.
    site_draws : list of (ndarray or None)
        Per site: its own posterior draws ``(Da, C)`` (an existing site), or None (new).
    x : ndarray, shape (A, C)
        Which components each arm has.
    analyst : list of ndarray, each (A, A)
        The covariance of each site's arm estimates as the analysis assumes it.
    covs : list of ndarray, each (D, A, A)
        The covariance of each site's arm estimates at the true rates, per truth draw.
    truth : ndarray, shape (D, K)
        True pooled effects, then each site's, per truth draw.
    rng : numpy.random.Generator
    analysis_draws : int
        At most this many analysis draws are reweighted.

    Returns
    -------
    ImportanceUpdate
    """
    keep = slice(0, min(len(mu), analysis_draws))
    mu, tau = mu[keep], tau[keep]
    n_comp, n_draws = x.shape[1], truth.shape[0]
    log_w = np.zeros((n_draws * REPS, len(mu)))
    observed, centre, spread, a_inv = [], [], [], []
    for j, (own, s_bar, s_true) in enumerate(zip(site_draws, analyst, covs, strict=True)):
        if own is None:  # a new site: Normal(mu_d, diag(tau_d^2)) given the draw
            c, t = mu, np.einsum("dc,cl->dcl", tau**2, np.eye(n_comp))
        else:
            c, t = own[keep], np.zeros((len(mu), n_comp, n_comp))
        a = x @ t @ x.T + s_bar  # (Da, A, A)
        inv, (_, logdet) = np.linalg.inv(a), np.linalg.slogdet(a)
        beta = truth[:, (j + 1) * n_comp : (j + 2) * n_comp]
        noise = np.einsum("dab,drb->dra", np.linalg.cholesky(s_true),
                          rng.standard_normal((n_draws, REPS, len(x))))  # fmt: skip
        data = ((beta @ x.T)[:, None, :] + noise).reshape(n_draws * REPS, len(x))
        log_w -= 0.5 * (_quadratic(data, c @ x.T, inv) + logdet[None])
        observed.append(data)
        centre.append(c)
        spread.append(t + TINY * np.eye(n_comp))
        a_inv.append(inv)
    weights = np.exp(log_w - special.logsumexp(log_w, axis=1, keepdims=True))
    ess = float(np.median(1.0 / np.sum(weights**2, axis=1)))
    return ImportanceUpdate(weights=weights, data=observed, centre=centre, spread=spread,
                            a_inv=a_inv, x=x, mu=mu, truth=truth, ess=ess)  # fmt: skip


def _quadratic(data: np.ndarray, means: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Return ``(y_n - m_d)' P_d (y_n - m_d)`` for all n, d, by matrix products."""
    n_arm = data.shape[1]
    outer = (data[:, :, None] * data[:, None, :]).reshape(len(data), n_arm * n_arm)
    p_mean = np.einsum("dab,db->da", inv, means)  # (Da, A)
    const = np.einsum("da,da->d", means, p_mean)
    return outer @ inv.reshape(len(inv), -1).T - 2 * data @ p_mean.T + const[None]
