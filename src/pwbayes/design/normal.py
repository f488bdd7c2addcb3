"""Closed forms of the fast path: normal approximations given draws of the true effects.

Everything is on the outcome's scale (percentage points for a binary outcome). In one
site, the arm-versus-comparison estimates have covariance ``S = diag(v_arm) + v_comp``
(the comparison group is shared), with ``v = 100^2 p (1 - p) / n`` for a binary outcome at
the arm's own rate ``p``, or ``sd^2 / n`` for a score. Component effects follow by
generalised least squares. Given a draw of the truth, an estimate (or a posterior mean) is
normal with known mean and SD, so the probability of each decision, and the expected size
of the estimate when a decision is made, have closed forms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "Z90",
    "Decisions",
    "arm_covariance",
    "critical",
    "decide",
    "gls_covariance",
    "summarise",
    "site_variances",
    "unpooled_variance",
]

#: The published test: two-sided at 90%; and P(effect > 0) > 0.95 for a Bayesian decision.
Z90 = float(stats.norm.ppf(0.95))
#: Floor of variances, so that a prior without spread (SD 0) gives a step, not NaN.
TINY = 1e-12


def arm_covariance(
    theta: np.ndarray,
    n_arm: np.ndarray,
    n_comparison: float,
    *,
    base_rate: float | None,
    outcome_sd: float | None,
) -> np.ndarray:
    """Covariance of the arm-versus-comparison estimates in one site, per draw.

    Parameters
    ----------
    theta : ndarray, shape (draws, arms)
        True arm effects.
    n_arm : ndarray, shape (arms,)
        Persons per arm.
    n_comparison : float
        Persons in the comparison group.
    base_rate : float or None
        Comparison level in percent (binary outcome).
    outcome_sd : float or None
        SD of a score outcome (used when ``base_rate`` is None).

    Returns
    -------
    ndarray, shape (draws, arms, arms)
    """
    if base_rate is not None:
        p0 = base_rate / 100.0
        p = np.clip(p0 + theta / 100.0, 0.005, 0.995)
        v_arm = 1e4 * p * (1 - p) / n_arm
        v_comp = np.full(theta.shape[0], 1e4 * p0 * (1 - p0) / n_comparison)
    else:
        assert outcome_sd is not None
        v_arm = np.broadcast_to(outcome_sd**2 / n_arm, theta.shape)
        v_comp = np.full(theta.shape[0], outcome_sd**2 / n_comparison)
    k = theta.shape[1]
    return v_comp[:, None, None] * np.ones((k, k)) + v_arm[:, :, None] * np.eye(k)


def gls_covariance(x: np.ndarray, s: np.ndarray) -> np.ndarray | None:
    """Covariance of the component estimates from the arm estimates, or None.

    ``x`` is ``(arms, components)``; None when the arms do not identify every component on
    its own (e.g. a component only ever given together with another).
    """
    if np.linalg.matrix_rank(x) < x.shape[1]:
        return None
    info = np.einsum("ak,dab,bl->dkl", x, np.linalg.inv(s), x)
    return np.linalg.inv(info)


@dataclass(frozen=True)
class Decisions:
    """Probabilities of a decision per draw, given the truth.

    ``right``/``wrong``: decided in the true / the other direction; ``abs_estimate``:
    E[|estimate|; decided]; ``abs_truth``: |truth| x P(decided).
    """

    right: np.ndarray
    wrong: np.ndarray
    abs_estimate: np.ndarray
    abs_truth: np.ndarray

    @classmethod
    def concat(cls, parts: list[Decisions]) -> Decisions:
        """Put the decisions of several sites together."""
        fields = ("right", "wrong", "abs_estimate", "abs_truth")
        return cls(*(np.concatenate([np.ravel(getattr(d, f)) for d in parts]) for f in fields))

    def summary(self) -> dict[str, float]:
        """Assurance, P(decided), type S and type M (exaggeration) over all draws."""
        decided = float(np.mean(self.right + self.wrong))
        with np.errstate(invalid="ignore", divide="ignore"):
            truth = float(np.mean(self.abs_truth))
            return {
                "assurance": float(np.mean(self.right)),
                "p_decided": decided,
                "type_s": float(np.mean(self.wrong)) / decided if decided > 0 else np.nan,
                "type_m": float(np.mean(self.abs_estimate)) / truth if truth > 0 else np.nan,
            }


def decide(mean: np.ndarray, sd: np.ndarray, cut: np.ndarray, truth: np.ndarray) -> Decisions:
    """Decisions ``estimate > cut`` (positive) or ``< -cut`` (negative).

    Parameters
    ----------
    mean, sd : ndarray
        The estimate's distribution given the truth: Normal(mean, sd).
    cut : ndarray
        The decision threshold (> 0), e.g. 1.645 x the standard error.
    truth : ndarray
        The true effect, whose sign is the true direction (0: no direction is right).

    Returns
    -------
    Decisions
    """
    sd = np.maximum(sd, np.sqrt(TINY))
    a, b = (cut - mean) / sd, (-cut - mean) / sd
    pos, neg = stats.norm.sf(a), stats.norm.cdf(b)
    right = np.where(truth > 0, pos, np.where(truth < 0, neg, 0.0))
    abs_est = mean * pos + sd * stats.norm.pdf(a) - mean * neg + sd * stats.norm.pdf(b)
    return Decisions(
        right=right,
        wrong=pos + neg - right,
        abs_estimate=abs_est,
        abs_truth=np.abs(truth) * (pos + neg),
    )


def summarise(
    analysis: str,
    unpooled: list[Decisions],
    pooled: list[Decisions],
    se: list[np.ndarray],
    prior_sd: list[float],
    post_sd: list[np.ndarray],
) -> dict[str, float]:
    """One row's figures, averaged over the design's sites and the prior draws.

    Assurance, P(significant), type S and type M follow ``analysis`` (the unpooled test, or
    the pooled posterior); P(conclusive) and the SDs are always those after pooling.
    """
    after = Decisions.concat(pooled).summary()
    if analysis == "pooled":
        chosen = after
    elif unpooled:
        chosen = Decisions.concat(unpooled).summary()
    else:  # the arms do not identify it on their own: no unpooled estimate
        chosen = dict.fromkeys(after, np.nan)
    post = float(np.mean(np.concatenate([np.ravel(p) for p in post_sd])))
    prior = float(np.mean(np.concatenate([np.ravel(p) for p in prior_sd])))
    prior = prior if np.isfinite(prior) else np.nan  # a flat prior: nothing known before
    return {
        "assurance": chosen["assurance"],
        "p_significant": chosen["p_decided"],
        "p_conclusive": after["p_decided"],
        "type_s": chosen["type_s"],
        "type_m": chosen["type_m"],
        "se_unpooled": float(np.mean(np.concatenate([np.ravel(x) for x in se]))) if se else np.nan,
        "prior_sd": prior,
        "posterior_sd": post,
        "sd_reduction": 1 - post / prior if np.isfinite(prior) and prior > 0 else np.nan,
        "half_width_90": Z90 * post,
    }


def critical(level: float) -> float:
    """Return the critical z of a two-sided test at ``level`` (1.645 at 0.90)."""
    return float(stats.norm.ppf(0.5 + level / 2))


def unpooled_variance(coef, x, s) -> np.ndarray | None:
    """Variance of one site's own estimate of ``coef @ beta``; None if not identified."""
    arm = np.flatnonzero((x == coef).all(axis=1))
    if len(arm):
        return s[:, arm[0], arm[0]]
    cov = gls_covariance(x, s)
    return None if cov is None else np.einsum("k,dkl,l->d", coef, cov, coef)


def site_variances(coef: np.ndarray, x: np.ndarray, per_site: list) -> list[np.ndarray] | None:
    """Return each site's own variance of ``coef @ beta``; None if some site cannot estimate it."""
    out = []
    for *_, s in per_site:
        var = unpooled_variance(coef, x, s)
        if var is None:
            return None
        out.append(var)
    return out
