"""Effect of the interventions in a municipality that did not take part (person model).

A new site gets effects drawn from the hierarchy: an intercept ``alpha_new = alpha_mu +
alpha_sd * e`` (or, given the municipality's base rate, the intercept that reproduces it
for its population, draw by draw) and component effects ``beta_new = mu + tau * eps`` (plus
``g x_new`` with site-level moderators, at the new site's values). For a
binary outcome the effect in percentage points is then the g-computation average over
the target population, ``100 * mean_i [expit(b_i + shift) - expit(b_i)]`` with ``b_i =
alpha_new + x_i gamma``: it depends on who lives there. The population is given as
persons (rows with the model's covariate columns) or as margins (per covariate the
shares of its values, combined as if independent).

Nothing here needs the fitted persons: the posterior and the record's covariate
standardisation suffice, so a loaded result predicts too.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from itertools import product
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from ..data.subgroups import assign_levels
from ..errors import DataError, DisclosureError, quote_values
from ..record import ModelRecord
from .moderation import moderator_shift

__all__ = [
    "Population",
    "flat_draws",
    "population_cells",
    "predict_new_site",
    "standardised_cells",
    "subgroup_shift",
]


class Population(NamedTuple):
    """A target population as covariate cells: what the g-computation averages over.

    ``cells`` (cell x covariate, standardised as in the fit), ``weights`` (sum 1) and
    ``levels`` (cell x subgroup variable: each cell's level index; no columns without
    subgroups).
    """

    cells: np.ndarray
    weights: np.ndarray
    levels: np.ndarray


def population_cells(population: object, record: ModelRecord, min_cell: int) -> Population:
    """Standardised covariate cells of a target population, their weights and levels.

    Parameters
    ----------
    population : pandas.DataFrame or mapping
        Persons with the model's covariate (and subgroup) columns, or margins: per column a
        mapping value -> share (shares of a column add up to 1), e.g.
        ``{"basic_qualification": {True: 0.45, False: 0.55}, "age": {25: 0.3, 40: 0.4,
        55: 0.3}}``. A binned subgroup variable takes its levels (``"[18, 35)"``) or
        numbers inside them.
    record : ModelRecord
    min_cell : int
        Fewest persons a prediction may rest on (disclosure control).

    Returns
    -------
    Population
    """
    person = record.person
    assert person is not None
    levels = dict(record.subgroups.levels) if record.subgroups is not None else {}
    columns = list(person.covariate_columns) + [v for v in levels if v not in
                                                 person.covariate_columns]  # fmt: skip
    if isinstance(population, pd.DataFrame):
        frame, weights = _persons(population, columns, min_cell)
    elif isinstance(population, Mapping):
        frame, weights = _margins(population, columns)
    else:
        raise DataError(
            f"population={type(population).__name__}: give persons (a DataFrame with the "
            f"columns {columns}) or margins (a dict: column -> {{value: share}})."
        )
    if not columns:
        return Population(np.zeros((1, 0)), np.ones(1), np.zeros((1, 0), dtype=int))
    index = np.column_stack(
        [assign_levels(frame[v], lev, v) for v, lev in levels.items()]
    ) if levels else np.zeros((len(frame), 0), dtype=int)  # fmt: skip
    # the subgroup variables are categorical covariates of the fit too, by their level
    frame = frame.assign(**{v: [lev[k] for k in index[:, j]]
                            for j, (v, lev) in enumerate(levels.items())})  # fmt: skip
    x, _ = _encode(frame, columns, list(person.covariates))
    return standardised_cells(x, weights, record, index)


def standardised_cells(
    x: np.ndarray, weights: np.ndarray, record: ModelRecord, levels: np.ndarray | None = None
) -> Population:
    """Collapse encoded (unstandardised) covariate rows to cells, standardised as the fit.

    ``levels`` (row x subgroup variable) gives each row's subgroup levels (default none).
    """
    person = record.person
    assert person is not None
    names = list(person.covariates)
    mean = np.array([np.nan if v is None else v for v in person.covariate_mean], dtype=float)
    sd = np.array([np.nan if v is None else v for v in person.covariate_sd], dtype=float)
    if np.isnan(mean).any() or np.isnan(sd).any():
        hidden = [n for n, m in zip(names, mean, strict=True) if np.isnan(m)]
        raise DisclosureError(
            f"the fit hides the standardisation of covariate(s) {hidden} (a value held by "
            "fewer than min_cell persons): their effect was removed, so no population can be "
            "predicted with them. Refit without these covariates."
        )
    levels = np.zeros((len(x), 0), dtype=int) if levels is None else levels
    width = x.shape[1]
    keys, inverse = np.unique(np.hstack([x, levels]), axis=0, return_inverse=True)
    w = np.bincount(inverse.ravel(), weights=weights)
    cells = (keys[:, :width] - mean) / sd
    return Population(cells, w / w.sum(), keys[:, width:].astype(int))


def _persons(population: pd.DataFrame, columns: list[str], min_cell: int):
    missing = [c for c in columns if c not in population.columns]
    if missing:
        raise DataError(
            f"population lacks the covariate column(s) {missing} of the fit; it has "
            f"{list(map(str, population.columns))}."
        )
    if len(population) < min_cell:
        raise DisclosureError(
            f"population holds {'fewer than ' + str(min_cell)} persons: a prediction for it "
            f"would rest on fewer than min_cell={min_cell}. Give at least {min_cell}, or margins."
        )
    frame = population[columns]
    if frame.isna().any().any():
        bad = [c for c in columns if frame[c].isna().any()]
        raise DataError(f"population has missing values in {bad}; drop or fill them first.")
    return frame, np.ones(len(frame))


def _margins(margins: Mapping, columns: list[str]):
    unknown = sorted(set(map(str, margins)) - set(columns))
    missing = [c for c in columns if c not in margins]
    if unknown or missing:
        raise DataError(
            f"margins must give every covariate of the fit ({columns}) and nothing else; "
            f"missing {missing}, unknown {unknown}."
        )
    per_column = []
    for col in columns:
        shares = margins[col]
        if not isinstance(shares, Mapping) or not shares:
            raise DataError(
                f"margins[{col!r}] = {shares!r}: give value -> share, e.g. {{True: 0.4, False: "
                "0.6}."
            )
        values = np.array(list(shares.values()), dtype=float)
        if (values < 0).any() or abs(values.sum() - 1) > 1e-6:
            raise DataError(
                f"margins[{col!r}]: shares must be at least 0 and add up to 1; they add up to "
                f"{values.sum():.6g}."
            )
        per_column.append(list(shares.items()))
    rows = list(product(*per_column))
    frame = pd.DataFrame([[v for v, _ in r] for r in rows], columns=columns)
    weights = np.array([np.prod([s for _, s in r]) for r in rows])
    return frame, weights


def _encode(frame: pd.DataFrame, columns: list[str], names: list[str]) -> tuple[np.ndarray, list]:
    """Encode as the fit did: numbers as they are, categories as indicators of its levels."""
    for col in columns:  # a category's values: the fit's levels and its (one) reference level
        levels = {n[len(col) + 1 : -1] for n in names if n.startswith(col + "[")}
        unseen = sorted(set(frame[col].astype(str)) - levels)
        # the reference level is the first in sorted order: an unseen value after the fit's
        # levels cannot be it (a typo, or a level the fit never had)
        if levels and (len(unseen) > 1 or (unseen and unseen[0] > min(levels))):
            raise DataError(
                f"population column {col!r} has value(s) {quote_values(unseen)} the fit did "
                f"not see; its levels are {sorted(levels)} and one reference level that sorts "
                "before them."
            )
    blocks = []
    for name in names:
        col, bracket, level = name.partition("[")
        if bracket:
            blocks.append((frame[col].astype(str) == level[:-1]).to_numpy(float))
            continue
        values = frame[col]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise DataError(
                f"population column {col!r} must hold numbers or booleans, as in the fit; got "
                f"{quote_values(pd.unique(values))}."
            )
        blocks.append(values.astype(float).to_numpy())
    return np.column_stack(blocks), names


def flat_draws(post, name: str, index: slice | np.ndarray = slice(None)) -> np.ndarray:
    """Draws of ``name`` with chains and draws flattened (chain-major), at ``index``."""
    values = post[name].values
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])[index]


def predict_new_site(
    post,
    record: ModelRecord,
    population: Population,
    base_rate: float | None,
    rng: np.random.Generator,
    *,
    arm_components: Mapping[str, Sequence[str]] | None = None,
    rate_cells: Population | None = None,
    moderators: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws of a new site's effect per component and arm (percentage points if binary).

    ``arm_components`` gives the arms to predict (default the record's); ``rate_cells``
    the population whose average rate ``base_rate`` is (default the target population:
    e.g. a comparison group of non-participants beside participants); ``moderators`` the
    new site's raw moderator values (default: the fitted sites' average).
    """
    mu, tau = flat_draws(post, "mu"), flat_draws(post, "tau")
    beta = mu + tau * rng.standard_normal(mu.shape) + moderator_shift(post, record, moderators)
    # (draw, component, cell): the component effects of each cell's subgroup levels (the
    # same in every cell without subgroups)
    sub = subgroup_shift(post, record, population.levels, rng)
    per_cell = np.broadcast_to(beta[:, :, None] + sub, (*beta.shape, len(population.weights)))
    arms = arm_components if arm_components is not None else record.arm_components
    comps = list(record.components)
    design = np.array([[float(c in arms[a]) for c in comps] for a in arms]).reshape(len(arms), -1)
    # an arm sums its own components only: another's emptied (NaN) draws must not reach it
    by_arm = [per_cell[:, row > 0].sum(axis=1) for row in design]
    shifts = np.concatenate([per_cell, np.stack(by_arm, axis=1)], axis=1)
    person = record.person
    assert person is not None
    weights = population.weights
    if person.family != "bernoulli":
        effects = shifts @ weights
        return effects[:, : mu.shape[1]], effects[:, mu.shape[1] :]
    gamma = flat_draws(post, "gamma") if "gamma" in post else np.zeros((len(mu), 0))
    lin = gamma @ population.cells.T  # (draw, cell)
    if base_rate is None:
        alpha = flat_draws(post, "alpha_mu") + flat_draws(post, "alpha_sd") * rng.standard_normal(
            len(mu)
        )
    elif rate_cells is None:
        alpha = _intercept_for(base_rate, lin, weights)
    else:
        alpha = _intercept_for(base_rate, gamma @ rate_cells.cells.T, rate_cells.weights)
    b = alpha[:, None] + lin
    p0 = special.expit(b) @ weights
    effects = 100 * (special.expit(b[:, None, :] + shifts) @ weights - p0[:, None])
    return effects[:, : mu.shape[1]], effects[:, mu.shape[1] :]


def subgroup_shift(
    post, record: ModelRecord, levels: np.ndarray, rng: np.random.Generator
) -> np.ndarray | float:
    """Draw a new site's subgroup terms per draw, component and cell (0 without subgroups).

    ``delta`` at each cell's levels, plus, when the differences vary by site, new
    zero-sum terms ``tau_sub_site * z`` drawn for the new site (as the model draws them).
    """
    if record.subgroups is None or "delta" not in post:
        return 0.0
    delta = flat_draws(post, "delta")  # (draw, component, subgroup label)
    labels = [str(v) for v in post["delta"].coords["subgroup"].values]
    by_site = "tau_sub_site" in post
    sd_site = flat_draws(post, "tau_sub_site")[:, :, None] if by_site else None
    out = np.zeros((*delta.shape[:2], len(levels)))
    for v, (var, var_levels) in enumerate(record.subgroups.levels.items()):
        # by name: a record may hold its variables in another order than the posterior
        at = np.array([labels.index(f"{var}: {lev}") for lev in var_levels])
        out += delta[:, :, at[levels[:, v]]]
        if sd_site is not None:
            z = rng.standard_normal((*delta.shape[:2], len(var_levels)))
            out += sd_site * (z - z.mean(axis=2, keepdims=True))[:, :, levels[:, v]]
    return out


def _intercept_for(rate: float, lin: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per draw the intercept whose population-average comparison rate is ``rate``."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 < rate < 1:
        raise DataError(
            f"base_rate={rate!r} must be a share between 0 and 1 (e.g. 0.235 for 23.5% working "
            "more than 8 hours a week in the comparison group)."
        )
    low = np.full(len(lin), -30.0)
    high = np.full(len(lin), 30.0)
    for _ in range(60):  # bisection: the average rate increases with the intercept
        mid = (low + high) / 2
        above = special.expit(mid[:, None] + lin) @ weights > rate
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return (low + high) / 2
