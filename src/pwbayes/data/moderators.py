"""Site-level moderators of a model: one value per site, checked and standardised.

A moderator is a characteristic of a site, not of a person or an arm: the comparison
group's level, when randomisation happened, how long the experiment ran. In a table of
site x arm rows (or of persons) it is a column whose value is the same on every row of a
site; a table of sites holds it once per site. Numbers and booleans are used as they are;
a text column with two values becomes an indicator of the second (in sorted order), named
``"column=value"``.

The model uses them centred at their mean over the sites and divided by their SD over the
sites, so that a moderator's coefficient is the change in a component's effect per SD
of the moderator, and the new-site predictive (``theta_new``) is at the average site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, quote_values
from .checks import site_labels

__all__ = ["Moderators", "moderator_values", "site_moderators"]


@dataclass(frozen=True)
class Moderators:
    """Site-level moderators: names, raw values per site, and how they are standardised."""

    names: list[str]
    values: np.ndarray  # (site, moderator), raw
    center: np.ndarray
    scale: np.ndarray

    @property
    def standardised(self) -> np.ndarray:
        """Values centred at the sites' mean and divided by their SD."""
        return (self.values - self.center) / self.scale

    def standardise(self, values: np.ndarray) -> np.ndarray:
        """Standardise the values of other sites (a new municipality) the same way."""
        return (np.asarray(values, dtype=float) - self.center) / self.scale

    @classmethod
    def of_values(cls, names: list[str], values: np.ndarray) -> Moderators:
        """Raw values (site x moderator), standardised over these sites (SD with ddof 0)."""
        values = np.asarray(values, dtype=float)
        return cls(list(names), values, values.mean(axis=0), values.std(axis=0))


def site_moderators(
    data: pd.DataFrame,
    site: str,
    columns: Sequence[str],
    sites: Sequence[str],
    *,
    skip_missing: bool = False,
) -> Moderators:
    """Check and collect the site-level moderators ``columns`` of ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        The rows; not modified.
    site : str
        The site column.
    columns : sequence of str
        Moderator columns.
    sites : sequence of str
        The sites of the model, in order (rows of other sites are ignored).
    skip_missing : bool
        Ignore rows where a moderator is missing (persons: rows the model may drop anyway);
        each site still needs a value. Default: refuse them.

    Returns
    -------
    Moderators
    """
    if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
        raise DataError(
            f"moderators={columns!r}: give a list of site-level columns, e.g. "
            "moderators=['comparison_level_pct']."
        )
    if len(set(columns)) != len(columns):
        raise DataError(f"moderators={list(columns)!r} names a column twice.")
    if site not in data.columns:
        raise DataError(
            f"The moderators' table has no site column {site!r}; it has columns "
            f"{list(map(str, data.columns))}. Give one row per site with the site's name there."
        )
    names, values = [], []
    labels = site_labels(data[site], site)  # as the model reads them
    keep = labels.isin(list(sites)).to_numpy()
    data, labels = data[keep], labels[keep]  # rows of other sites (excluded) do not count
    absent = [s for s in sites if s not in set(labels)]
    if absent:
        raise DataError(
            f"The moderators' table has no row for site(s) {quote_values(absent)}; every site "
            f"of the model needs its moderator values (sites: {quote_values(sites)})."
        )
    for col in columns:
        if col not in data.columns:
            raise DataError(
                f"Moderator column {col!r} not found; the data has columns "
                f"{list(map(str, data.columns))}."
            )
        per_site = _per_site(data[col], labels, col, sites, skip_missing)
        name, numbers = _as_numbers(per_site, col)
        names.append(name)
        values.append(numbers)
    matrix = np.column_stack(values)
    if len(sites) < len(names) + 2:
        raise DataError(
            f"{len(names)} moderator(s) for {len(sites)} sites: a site-level regression needs "
            f"at least two more sites than moderators ({len(names) + 2}); use fewer."
        )
    return Moderators.of_values(names, matrix)


def _per_site(
    column: pd.Series, labels: pd.Series, col: str, sites: Sequence[str], skip_missing: bool
) -> pd.Series:
    if skip_missing:
        given = column.notna()
        column, labels = column[given], labels[given]
        lacking = [s for s in sites if s not in set(labels)]
        if lacking:
            raise DataError(
                f"Moderator column {col!r} has no value for site(s) {quote_values(lacking)}."
            )
    if column.isna().any():
        bad = quote_values(pd.unique(labels[column.isna()]))
        raise DataError(f"Moderator column {col!r} has missing values (sites {bad}).")
    grouped = column.groupby(labels, sort=False)
    varying = [s for s, g in grouped if g.nunique() > 1]
    if varying:
        raise DataError(
            f"Moderator column {col!r} differs between the rows of site(s) "
            f"{quote_values(varying)}; a moderator is a characteristic of a site, one value "
            "per site (per-person characteristics are covariates of a PersonModel)."
        )
    per_site = grouped.first().reindex(list(sites))
    if per_site.nunique() < 2:
        raise DataError(
            f"Moderator column {col!r} has the same value ({per_site.iloc[0]!r}) in every site: "
            "it cannot explain differences between them."
        )
    return per_site


def _as_numbers(per_site: pd.Series, col: str) -> tuple[str, np.ndarray]:
    if pd.api.types.is_bool_dtype(per_site) or pd.api.types.is_numeric_dtype(per_site):
        values = per_site.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise DataError(f"Moderator column {col!r} has infinite values.")
        return str(col), values
    levels = sorted(map(str, pd.unique(per_site)))
    if len(levels) != 2:
        raise DataError(
            f"Moderator column {col!r} holds text with {len(levels)} values "
            f"({quote_values(levels)}); a text moderator must have two (it becomes an "
            "indicator), or give numbers."
        )
    return f"{col}={levels[1]}", (per_site.astype(str) == levels[1]).to_numpy(dtype=float)


def moderator_values(moderators: Moderators | None) -> dict[str, tuple[float, ...]]:
    """Return the raw values per site as a record keeps them (name -> value per site)."""
    if moderators is None:
        return {}
    return {n: tuple(map(float, moderators.values[:, j])) for j, n in enumerate(moderators.names)}
