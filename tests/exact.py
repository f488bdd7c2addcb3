"""Exact posteriors of the eight-schools model by numerical integration (tests' truth).

Model: ``y_j ~ Normal(theta_j, s_j)``, ``theta_j ~ Normal(mu, tau)``,
``mu ~ Normal(0, MU_SD)``, ``tau ~ HalfNormal(TAU_SD)``: ``mu`` is integrated analytically
given ``tau``, and ``tau`` on a fine grid.
"""

import numpy as np
from scipy import integrate, optimize, stats

import pwbayes as pw

SCHOOLS = pw.examples.eight_schools()
Y = SCHOOLS.estimate.to_numpy()
S = SCHOOLS.se.to_numpy()
MU_SD = 20.0
TAU_SD = 10.0
PRIORS = {"mu": pw.Prior("Normal", mu=0, sigma=MU_SD), "tau": pw.Prior("HalfNormal", sigma=TAU_SD)}


def _tau_posterior(keep=None, tau_sd=TAU_SD):
    """Grid of tau, its posterior density, and mu | tau, y ~ Normal(b/a, 1/sqrt(a))."""
    y, s = (Y, S) if keep is None else (Y[keep], S[keep])
    tau = np.linspace(0.0, 80.0, 40001)
    v = s[None, :] ** 2 + tau[:, None] ** 2
    a = 1 / MU_SD**2 + (1 / v).sum(1)
    b = (y / v).sum(1)
    log_lik = -0.5 * np.log(v).sum(1) - 0.5 * (y**2 / v).sum(1) + b**2 / (2 * a) - 0.5 * np.log(a)
    log_post = log_lik + stats.halfnorm.logpdf(tau, scale=tau_sd)
    w = np.exp(log_post - log_post.max())
    w /= integrate.trapezoid(w, tau)
    return tau, w, a, b


def exact_eight_schools(keep=None, tau_sd=TAU_SD):
    """Posterior means and SDs of mu and tau.

    ``keep``: a boolean mask of the schools whose estimates enter (default all);
    ``tau_sd``: the scale of tau's HalfNormal prior.
    """
    tau, w, a, b = _tau_posterior(keep, tau_sd)

    def moment(f):
        return integrate.trapezoid(w * f, tau)

    mu_mean = moment(b / a)
    mu_var = moment(1 / a + (b / a) ** 2) - mu_mean**2
    tau_mean = moment(tau)
    tau_var = moment(tau**2) - tau_mean**2
    return {"mu": (mu_mean, np.sqrt(mu_var)), "tau": (tau_mean, np.sqrt(tau_var))}


def exact_held_out(j: int, interval: float = 0.9) -> dict:
    """The predictive of school ``j``'s estimate from the other seven.

    ``y_j | tau, others ~ Normal(b/a, sqrt(1/a + tau^2 + s_j^2))``, integrated over
    ``p(tau | others)``. Returns the log predictive density ``lpd`` at ``Y[j]``, the
    central interval's ends ``low``, ``high`` and the predictive density at them
    (``dens_low``, ``dens_high``), and ``rel_var``: the relative variance of the
    likelihood ``Normal(Y[j] | theta_j, s_j)`` over the predictive of ``theta_j``, which
    sets the Monte Carlo error of a sampled ``lpd`` (its SE is ``sqrt(rel_var / ess)``).
    """
    keep = np.arange(len(Y)) != j
    tau, w, a, b = _tau_posterior(keep)
    m, v_theta = b / a, 1 / a + tau**2
    sd = np.sqrt(v_theta + S[j] ** 2)

    def mix(f):
        return integrate.trapezoid(w * f, tau)

    def cdf(x):
        return mix(stats.norm.cdf(x, m, sd))

    tail = (1 - interval) / 2
    low = optimize.brentq(lambda x: cdf(x) - tail, -300, 300)
    high = optimize.brentq(lambda x: cdf(x) - 1 + tail, -300, 300)
    dens = mix(stats.norm.pdf(Y[j], m, sd))
    # E[L^2] with L = N(y | theta, s), theta ~ N(m, v): a Gaussian integral in closed form
    s2 = S[j] ** 2
    second = mix(stats.norm.pdf(Y[j], m, np.sqrt(v_theta + s2 / 2)) / (2 * np.sqrt(np.pi) * S[j]))
    return {
        "lpd": np.log(dens),
        "low": low,
        "high": high,
        "dens_low": mix(stats.norm.pdf(low, m, sd)),
        "dens_high": mix(stats.norm.pdf(high, m, sd)),
        "rel_var": second / dens**2 - 1,
    }


def exact_meta_regression(x, g_sd, tau_sd=TAU_SD):
    """Posterior mean and SD of ``mu`` and of the moderator coefficient ``g`` (per SD of x).

    ``y_j ~ Normal(mu + g z_j, sqrt(s_j^2 + tau^2))`` with ``z`` the standardised ``x``,
    ``mu ~ Normal(0, MU_SD)``, ``g ~ Normal(0, g_sd)``: Gaussian in ``(mu, g)`` given
    ``tau``, which is integrated on a grid.
    """
    z = (x - x.mean()) / x.std()
    design = np.column_stack([np.ones_like(z), z])
    prior_prec = np.diag([1 / MU_SD**2, 1 / g_sd**2])
    tau = np.linspace(0.0, 80.0, 8001)
    log_w, means, covs = [], [], []
    for t in tau:
        w = 1 / (S**2 + t**2)
        prec = prior_prec + design.T @ (w[:, None] * design)
        cov = np.linalg.inv(prec)
        mean = cov @ (design.T @ (w * Y))
        marginal = stats.multivariate_normal(
            np.zeros(len(Y)), np.diag(S**2 + t**2) + design @ np.linalg.inv(prior_prec) @ design.T
        )
        log_w.append(marginal.logpdf(Y) + stats.halfnorm.logpdf(t, scale=tau_sd))
        means.append(mean)
        covs.append(cov)
    log_w = np.array(log_w)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()  # a fine uniform grid: sums stand for integrals
    means, covs = np.array(means), np.array(covs)
    out = {}
    for k, name in enumerate(("mu", "g")):
        m = (w * means[:, k]).sum()
        second = (w * (covs[:, k, k] + means[:, k] ** 2)).sum()
        out[name] = (m, np.sqrt(second - m**2))
    return out
