"""Statistical disclosure control: cells of fewer than ``min_cell`` persons never leave.

CBS remote access clears an output for export only if no figure in it rests on fewer
than 10 persons. pwbayes counts the persons in every cell it reports on (site x arm, and
site x arm x level of each subgroup variable) and drops the rows of any table that rest on
a small cell, with a note naming what was dropped (never the count itself). The threshold
can be raised or lowered but not switched off silently: 0 is refused and anything below
10 warns. This module needs pandas only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, quote_values

__all__ = ["MIN_CELL", "cell_counts", "check_min_cell", "small_cells", "suppress"]

#: CBS's rule: at least this many persons behind every published figure.
MIN_CELL = 10


def check_min_cell(min_cell) -> int:
    """Validate a disclosure threshold.

    Parameters
    ----------
    min_cell : int
        Smallest number of persons a reported cell may rest on.

    Returns
    -------
    int

    Raises
    ------
    DataError
        If ``min_cell`` is not a whole number of at least 1.
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, int | np.integer):
        raise DataError(
            f"min_cell={min_cell!r} must be a whole number of persons, e.g. {MIN_CELL} (CBS's "
            "rule)."
        )
    if min_cell < 1:
        raise DataError(
            f"min_cell={min_cell} would switch disclosure control off; the smallest allowed "
            f"value is 1 and CBS requires {MIN_CELL}. Outputs with cells below {MIN_CELL} "
            "persons are not cleared for export."
        )
    if min_cell < MIN_CELL:
        warnings.warn(
            f"min_cell={min_cell} is below CBS's rule of {MIN_CELL} persons per cell: outputs "
            "may not be cleared for export from the remote-access environment.",
            UserWarning,
            stacklevel=2,
        )
    return int(min_cell)


def cell_counts(
    data: pd.DataFrame, *, site: str, arm: str, subgroups: Sequence[str] = ()
) -> pd.DataFrame:
    """Count the persons in every site x arm cell, and per level of each subgroup variable.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; not modified.
    site, arm : str
        Column names.
    subgroups : sequence of str
        Subgroup variables; each is counted on its own (site x arm x level).

    Returns
    -------
    pandas.DataFrame
        Columns ``site``, ``arm``, ``subgroup``, ``subgroup_level`` (empty strings for the
        site x arm cells), ``n``.
    """
    columns = [site, arm, *subgroups]
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"column(s) {quote_values(missing)} not found; available: "
            f"{quote_values(list(data.columns), limit=20)}."
        )
    frames = [
        data.groupby([site, arm], observed=True, dropna=False)
        .size()
        .rename("n")
        .reset_index()
        .assign(subgroup="", subgroup_level="")
    ]
    for var in subgroups:
        counts = (
            data.groupby([site, arm, var], observed=True, dropna=False)
            .size()
            .rename("n")
            .reset_index()
        )
        counts = counts.assign(subgroup=var, subgroup_level=counts[var].astype(str)).drop(
            columns=var
        )
        frames.append(counts)
    out = pd.concat(frames, ignore_index=True).rename(columns={site: "site", arm: "arm"})
    out["site"], out["arm"] = out["site"].astype(str), out["arm"].astype(str)
    return out[["site", "arm", "subgroup", "subgroup_level", "n"]]


def small_cells(counts: pd.DataFrame, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Return the cells of :func:`cell_counts` with fewer than ``min_cell`` persons (no ``n``)."""
    min_cell = check_min_cell(min_cell)
    small = counts.loc[counts["n"] < min_cell, ["site", "arm", "subgroup", "subgroup_level"]]
    return small.reset_index(drop=True)


def suppress(
    table: pd.DataFrame, small: pd.DataFrame, *, on: Sequence[str] = ("site", "arm")
) -> tuple[pd.DataFrame, list[str]]:
    """Drop the rows of ``table`` that rest on a small cell.

    Parameters
    ----------
    table : pandas.DataFrame
        A tidy output table; not modified.
    small : pandas.DataFrame
        From :func:`small_cells`.
    on : sequence of str
        Columns that identify a row's cell; a row is dropped when its values match a
        small cell on every one of them (``site``, ``arm``, and ``subgroup`` / ``subgroup_level``
        for subgroup tables; without them, only whole site x arm cells count).

    Returns
    -------
    (kept, notes)
        The remaining rows and one note per suppressed cell, for captions and reports.
    """
    on = list(on)
    missing = [c for c in on if c not in table.columns or c not in small.columns]
    if missing:
        raise DataError(
            f"suppress(on={on!r}): column(s) {quote_values(missing)} missing from the table or "
            "the small cells."
        )
    # a table without subgroup columns rests on the whole site x arm cells
    overall = [c for c in ("subgroup", "subgroup_level") if c in small.columns and c not in on]
    if overall:
        small = small[(small[overall] == "").all(axis=1)]
    cells = small[on].drop_duplicates()
    if cells.empty:
        return table.copy(), []
    keys = pd.MultiIndex.from_frame(table[on].astype(str))
    drop = keys.isin(pd.MultiIndex.from_frame(cells.astype(str)))
    hit = cells[pd.MultiIndex.from_frame(cells.astype(str)).isin(keys)]
    notes = [
        "suppressed (fewer than the minimum number of persons): "
        + ", ".join(f"{c}={row[c]}" for c in on if row[c] != "")
        for _, row in hit.iterrows()
    ]
    return table.loc[~drop].reset_index(drop=True), notes
