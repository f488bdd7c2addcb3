"""Posterior predictive check of a person fit: cell rates by site x group, replicated.

For a binary outcome, each posterior draw (a subsample of ``draws`` of them) gives every
person's probability ``expit(alpha_site + x gamma + arm effects)``; replicated events are
drawn per likelihood row (binomial counts of persons who share site, group and
covariates) and summed per site x group (comparison group and each arm). The observed
share with the outcome in each cell is compared with its replications, as for the summary
model (:mod:`.ppc`): per cell ``p_row = P(rate_rep >= rate)``, and for the table the
chi-square discrepancy of the cell counts and the spread of the cell rates.

Disclosure control: only cells of at least ``min_cell`` persons are shown (their rates
are then no finer than the published tables); nothing is returned about the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DataError
from ..intervals import check_interval
from .person_rows import check_person_fit, person_eta, replicated_events
from .ppc import PredictiveCheck

if TYPE_CHECKING:
    from ..models.person import PersonModel
    from ..results import PersonResult

__all__ = ["person_predictive_check"]

COMPARISON = "comparison group"


def person_predictive_check(
    result: PersonResult,
    model: PersonModel,
    *,
    interval: float = 0.9,
    draws: int = 500,
    random_seed: int | None = None,
) -> PredictiveCheck:
    """Compare each site x group's share with the outcome with shares replicated from the fit.

    Parameters
    ----------
    result : PersonResult
        A fit of ``model`` without subgroups, binary outcome.
    model : PersonModel
        The fitted model (a result holds no persons).
    interval : float
        Mass of the central replication interval per cell.
    draws : int
        Posterior draws used (a random subsample; the check needs few).
    random_seed : int, optional

    Returns
    -------
    PredictiveCheck
        Rows per site x group (``arm`` is the arm, or ``"comparison group"``); ``estimate``
        is the observed share in percent, ``se`` empty.
    """
    interval = check_interval(interval)
    m = result.record.model
    if m.kind != "PersonModel" or list(m.sites) != list(model.data.sites):
        raise DataError(
            "predictive_check(model): give the PersonModel this result was fitted from."
        )
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 2:
        raise DataError(f"draws={draws!r}: give a whole number of posterior draws, at least 2.")
    check_person_fit(result.idata.posterior, model, "predictive check")
    rng = np.random.default_rng(random_seed)
    post = result.idata.posterior
    total = post.sizes["chain"] * post.sizes["draw"]
    pick = rng.choice(total, size=min(draws, total), replace=False)

    def flat(name: str) -> np.ndarray:
        values = post[name].values
        return values.reshape(total, *values.shape[2:])[pick]

    alpha, beta = flat("alpha"), flat("beta")
    gamma = flat("gamma") if "gamma" in post else np.zeros((len(pick), 0))
    rows = model.cells
    eta = person_eta(alpha, beta, gamma, model)
    events = replicated_events(eta, model, rng)  # (draw, row)
    cell = rows.site_index * (rows.n_arms + 1) + rows.arm_index + 1
    n_cells = len(model.data.sites) * (rows.n_arms + 1)
    n = np.bincount(cell, weights=rows.n, minlength=n_cells)
    k = np.bincount(cell, weights=rows.k, minlength=n_cells)
    k_rep = np.stack([np.bincount(cell, weights=e, minlength=n_cells) for e in events])
    expected = np.stack([np.bincount(cell, weights=rows.n * p, minlength=n_cells)
                         for p in special.expit(eta)])  # fmt: skip
    shown = n >= model.min_cell
    return _check(m, model, shown, n, k, k_rep, expected, interval)


def _check(m, model, shown, n, k, k_rep, expected, interval) -> PredictiveCheck:
    n_groups = len(model.data.arms) + 1
    labels = [(site, COMPARISON if g == 0 else model.data.arms[g - 1])
              for site in model.data.sites for g in range(n_groups)]  # fmt: skip
    idx = np.flatnonzero(shown)
    rate, rep = 100 * k[idx] / n[idx], 100 * k_rep[:, idx] / n[idx]
    tail = (1 - interval) / 2
    low, high = np.quantile(rep, [tail, 1 - tail], axis=0)
    rows = pd.DataFrame({
        "site": [labels[j][0] for j in idx], "arm": [labels[j][1] for j in idx],
        "estimate": rate, "se": np.nan, "rep_mean": rep.mean(0), "rep_low": low,
        "rep_high": high, "p_row": (rep >= rate).mean(0),
    })  # fmt: skip
    var = expected[:, idx] * (1 - expected[:, idx] / n[idx])
    chi_obs = ((k[idx] - expected[:, idx]) ** 2 / var).sum(1)
    chi_rep = ((k_rep[:, idx] - expected[:, idx]) ** 2 / var).sum(1)
    spread_obs, spread_rep = float(np.std(rate, ddof=1)), rep.std(1, ddof=1)
    statistics = pd.DataFrame({
        "statistic": ["chi_square", "spread"],
        "observed": [chi_obs.mean(), spread_obs],
        "replicated_mean": [chi_rep.mean(), spread_rep.mean()],
        "p_value": [(chi_rep >= chi_obs).mean(), (spread_rep >= spread_obs).mean()],
    })  # fmt: skip
    replicated = {"chi_square": chi_rep, "chi_square_observed": chi_obs, "spread": spread_rep,
                  "spread_observed": spread_obs}  # fmt: skip
    return PredictiveCheck(rows, statistics, replicated, interval,
                           "percent with the outcome", m.note)  # fmt: skip
