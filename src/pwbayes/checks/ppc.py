"""Posterior predictive check of a summary fit: the site estimates against replicated ones.

From each posterior draw a replicated table of estimates is made,
``y_rep_k = theta_k (+ bias) + s_k * eps``, and compared with the observed one
(Gelman, Meng & Stern 1996):

* per row, where the observed estimate falls among its replications (``p_row``:
  the share of replications at least as large; near 0 or 1 is a misfit);
* two numbers for the table: the chi-square discrepancy
  ``sum_k (y_k - mean_k)^2 / s_k^2`` (realised with each draw's means) and the spread
  of the estimates (their SD across rows), each with its posterior predictive p-value
  ``P(T(y_rep) >= T(y))``. Values near 0.5 say the model reproduces the data; below 0.05
  or above 0.95 that it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .loo import expected_estimates

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results import SummaryResult

__all__ = ["PredictiveCheck", "predictive_check"]


@dataclass(frozen=True)
class PredictiveCheck:
    """What the replicated estimates showed.

    Attributes
    ----------
    rows : pandas.DataFrame
        Per site x arm: ``site, arm, estimate, se, rep_mean, rep_low, rep_high`` (central
        interval of the replications), ``p_row``.
    statistics : pandas.DataFrame
        ``statistic, observed, replicated_mean, p_value`` for ``chi_square`` (observed:
        its posterior mean) and ``spread``.
    replicated : dict of str to ndarray
        Draws of each statistic's replicated value (and ``chi_square_observed``), for the plot.
    """

    rows: pd.DataFrame
    statistics: pd.DataFrame
    replicated: dict
    interval: float
    unit: str
    note: str | None = None

    def line(self) -> str:
        """One sentence for a report."""
        s = self.statistics.set_index("statistic")["p_value"]
        outside = int(((self.rows.estimate < self.rows.rep_low)
                       | (self.rows.estimate > self.rows.rep_high)).sum())  # fmt: skip
        return (
            f"Posterior predictive check: p = {s['chi_square']:.2f} for the chi-square "
            f"discrepancy and p = {s['spread']:.2f} for the spread of the estimates (near 0.5: "
            f"the model reproduces the data); {outside} of {len(self.rows)} estimates outside "
            f"their {self.interval:.0%} replication interval."
        )

    def __repr__(self) -> str:
        return f"PredictiveCheck({self.line()})"

    def plot(self) -> Figure:
        """Observed estimates against their replications, and the two statistics."""
        from ..plots.predictive_check import plot_predictive_check

        return plot_predictive_check(self)


def predictive_check(
    result: SummaryResult, *, interval: float = 0.9, random_seed: int | None = None
) -> PredictiveCheck:
    """Compare the site x arm estimates with estimates replicated from the posterior.

    Parameters
    ----------
    result : SummaryResult
    interval : float
        Mass of the central replication interval per row.
    random_seed : int, optional
        Seeds the replications.

    Returns
    -------
    PredictiveCheck
    """
    from ..intervals import check_interval

    interval = check_interval(interval)
    mean, y, se = expected_estimates(result)
    rng = np.random.default_rng(random_seed)
    rep = mean + se * rng.standard_normal(mean.shape)
    tail = (1 - interval) / 2
    low, high = np.quantile(rep, [tail, 1 - tail], axis=0)
    m = result.record.model
    rows = pd.DataFrame(
        {
            "site": [r.site for r in m.rows],
            "arm": [r.arm for r in m.rows],
            "estimate": y,
            "se": se,
            "rep_mean": rep.mean(0),
            "rep_low": low,
            "rep_high": high,
            "p_row": (rep >= y).mean(0),
        }
    )
    chi_obs = (((y - mean) / se) ** 2).sum(1)
    chi_rep = (((rep - mean) / se) ** 2).sum(1)
    spread_obs = float(np.std(y, ddof=1)) if len(y) > 1 else 0.0
    spread_rep = rep.std(1, ddof=1) if len(y) > 1 else np.zeros(len(rep))
    statistics = pd.DataFrame(
        {
            "statistic": ["chi_square", "spread"],
            "observed": [chi_obs.mean(), spread_obs],
            "replicated_mean": [chi_rep.mean(), spread_rep.mean()],
            "p_value": [(chi_rep >= chi_obs).mean(), (spread_rep >= spread_obs).mean()],
        }
    )
    replicated = {"chi_square": chi_rep, "chi_square_observed": chi_obs, "spread": spread_rep,
                  "spread_observed": spread_obs}  # fmt: skip
    return PredictiveCheck(rows, statistics, replicated, interval, m.scale, m.note)
