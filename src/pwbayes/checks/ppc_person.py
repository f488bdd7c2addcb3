"""Posterior predictive check of a person fit: cell rates by site x group (x subgroup level).

For a binary outcome, each posterior draw (a subsample of ``draws`` of them) gives every
person's probability ``expit(alpha_site + x gamma + arm effects (+ subgroup terms))``;
replicated events are drawn per likelihood row (binomial counts of persons who share
site, group, subgroup levels and covariates) and summed per site x group (comparison
group and each arm), and with subgroups also per site x group x level of each subgroup
variable. The observed share with the outcome in each cell is compared with its
replications, as for the summary model (:mod:`.ppc`): per cell ``p_row = P(rate_rep >=
rate)``, and for the site x group table the chi-square discrepancy of the cell counts and
the spread of the cell rates.

Disclosure control: only cells of at least ``min_cell`` persons are shown (their rates
are then no finer than the published tables), and a subgroup variable's levels in a
site x group only when every level has at least ``min_cell`` persons (else a small
level's share would follow from the others and the total); nothing is returned about
the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DataError
from ..intervals import check_interval
from .person_rows import check_person_fit, eta_at, replicated_events
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
        A fit of ``model`` (binary outcome; with or without subgroups).
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
    eta = eta_at(post, model, pick)
    events = replicated_events(eta, model, rng)  # (draw, row)
    p = special.expit(eta)
    tables = [_cells(model, key, labels, events, p) for key, labels in _keys(model)]
    base = tables[0]
    shown = (base["n"] >= model.min_cell) & base["complete"]
    rows, statistics, replicated = _compare(base, shown, interval)
    for table, (_, labels) in zip(tables[1:], list(_keys(model))[1:], strict=True):
        # a subgroup variable's levels in a site x group are shown only if every level is
        # large enough: otherwise a small level's share would follow from the others'
        n_levels = len(labels) // len(base["labels"])
        large = (table["n"] >= model.min_cell) & table["complete"]
        ok = large.reshape(-1, n_levels).all(axis=1)
        more, _, _ = _compare(table, np.repeat(ok & shown, n_levels), interval)
        rows = pd.concat([rows, more], ignore_index=True)
    return PredictiveCheck(rows, statistics, replicated, interval,
                           "percent with the outcome", m.note)  # fmt: skip


def _keys(model: PersonModel):
    """Integer cell of every likelihood row: site x group, then x each subgroup variable."""
    rows, d = model.cells, model.data
    groups = [COMPARISON, *d.arms]
    base = rows.site_index * len(groups) + rows.arm_index + 1
    labels = [(s, g, None) for s in d.sites for g in groups]
    yield base, labels
    layout = model.subgroup_layout
    if layout is None:
        return
    combos = np.unravel_index(rows.group_index, layout.shape)
    for v, (variable, levels) in enumerate(layout.levels.items()):
        yield (base * len(levels) + combos[v],
               [(s, g, f"{variable}: {lev}") for s, g, _ in labels for lev in levels])  # fmt: skip


def _cells(model, key, labels, events, p) -> dict:
    """Persons, events, replicated and expected events per cell."""
    n_rows, size = model.cells.n, len(labels)
    # a cell with a row whose effects disclosure control emptied is not compared at all
    broken = np.isnan(p).any(axis=0)
    p, events = np.nan_to_num(p), np.nan_to_num(events)
    return {
        "labels": labels,
        "complete": np.bincount(key, weights=broken, minlength=size) == 0,
        "n": np.bincount(key, weights=n_rows, minlength=size),
        "k": np.bincount(key, weights=model.cells.k, minlength=size),
        "k_rep": np.stack([np.bincount(key, weights=e, minlength=size) for e in events]),
        "expected": np.stack([np.bincount(key, weights=n_rows * q, minlength=size) for q in p]),
    }


def _compare(table: dict, shown: np.ndarray, interval: float):
    """Rows of the shown cells, and the chi-square and spread statistics over them."""
    idx = np.flatnonzero(shown)
    n, k, k_rep, expected = table["n"][idx], table["k"][idx], table["k_rep"][:, idx], \
        table["expected"][:, idx]  # fmt: skip
    rate, rep = 100 * k / n, 100 * k_rep / n
    tail = (1 - interval) / 2
    low, high = np.quantile(rep, [tail, 1 - tail], axis=0)
    labels = [table["labels"][j] for j in idx]
    rows = pd.DataFrame({
        "site": [lab[0] for lab in labels], "arm": [lab[1] for lab in labels],
        "subgroup": [lab[2] for lab in labels],
        "estimate": rate, "se": np.nan, "rep_mean": rep.mean(0), "rep_low": low,
        "rep_high": high, "p_row": (rep >= rate).mean(0),
    })  # fmt: skip
    var = expected * (1 - expected / n)
    chi_obs = ((k - expected) ** 2 / var).sum(1)
    chi_rep = ((k_rep - expected) ** 2 / var).sum(1)
    spread_obs = float(np.std(rate, ddof=1)) if len(rate) > 1 else 0.0
    spread_rep = rep.std(1, ddof=1) if len(rate) > 1 else np.zeros(len(rep))
    statistics = pd.DataFrame({
        "statistic": ["chi_square", "spread"],
        "observed": [chi_obs.mean(), spread_obs],
        "replicated_mean": [chi_rep.mean(), spread_rep.mean()],
        "p_value": [(chi_rep >= chi_obs).mean(), (spread_rep >= spread_obs).mean()],
    })  # fmt: skip
    replicated = {"chi_square": chi_rep, "chi_square_observed": chi_obs, "spread": spread_rep,
                  "spread_observed": spread_obs}  # fmt: skip
    return rows, statistics, replicated
