"""Statistical disclosure control: the small-cell rule, the one format of its notes.

CBS remote access clears an output for export only if no figure in it rests on fewer
than 10 persons. This module owns that rule for all of pwbayes:

* :func:`is_small` (``n < min_cell``) and :func:`check_min_cell` (the threshold can be
  raised or lowered, never switched off silently: 0 is refused and below 10 warns);
* :func:`count_text`: a count of persons as text, ``"fewer than 10"`` when it is small;
* :func:`suppression_note`: the one format of a note naming what was suppressed (never
  its count);
* tables: :func:`cell_counts`, :func:`small_cells` and :func:`suppress`.

The small cells of a person-level data set, which the last step of every fit applies to
every output, are :mod:`.small_cells`' (with this rule and these notes).

This module needs pandas and numpy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, quote_values

__all__ = [
    "MIN_CELL",
    "cell_counts",
    "check_min_cell",
    "count_text",
    "is_small",
    "small_cells",
    "suppress",
    "suppression_note",
]

#: CBS's rule: at least this many persons behind every published figure.
MIN_CELL = 10


def check_min_cell(min_cell: object) -> int:
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


def is_small(n: float, min_cell: int) -> bool:
    """Apply the small-cell rule: whether ``n`` persons are too few to report on."""
    return bool(n < min_cell)


def count_text(n: int, min_cell: int = MIN_CELL, exact: bool = True) -> str:
    """Write a count of persons as it may be shown: the number, or ``"fewer than 10"``.

    ``exact=False`` rounds it to tens (``"about 1400"``): for a total shown beside counts
    that were hidden, from which the difference would give them away.
    """
    if is_small(n, min_cell):
        return f"fewer than {min_cell}"
    return str(int(n)) if exact else f"about {int(round(int(n), -1))}"


def suppression_note(min_cell: int, cell: Mapping[str, object], also: str = "") -> str:
    """Write a suppression note in its one format: what was suppressed and why, never the count.

    ``suppression_note(10, {"site": "Utrecht", "arm": "Extra Hulp"})`` is
    ``"suppressed (fewer than 10 persons): site=Utrecht, arm=Extra Hulp"``; ``also`` names
    what is suppressed with the cell because it would give the cell away.
    """
    where = ", ".join(f"{k}={v}" for k, v in cell.items())
    return f"suppressed (fewer than {min_cell} persons): {where}" + (
        f"; with it {also}" if also else ""
    )


# ---------------------------------------------------------------------------- tables
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
    """Return the cells of :func:`cell_counts` with fewer than ``min_cell`` persons (no ``n``).

    ``attrs["min_cell"]`` records the threshold, for the notes of :func:`suppress`.
    """
    min_cell = check_min_cell(min_cell)
    small = counts.loc[
        [is_small(n, min_cell) for n in counts["n"]], ["site", "arm", "subgroup", "subgroup_level"]
    ]
    small = small.reset_index(drop=True)
    small.attrs["min_cell"] = min_cell
    return small


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
        small cell on every one of them (``site``, ``arm``, and ``subgroup`` /
        ``subgroup_level`` for subgroup tables; without them, only whole site x arm cells
        count).

    Returns
    -------
    (kept, notes)
        The remaining rows and one :func:`suppression_note` per suppressed cell.
    """
    on = list(on)
    missing = [c for c in on if c not in table.columns or c not in small.columns]
    if missing:
        raise DataError(
            f"suppress(on={on!r}): column(s) {quote_values(missing)} missing from the table or "
            "the small cells."
        )
    min_cell = small.attrs.get("min_cell", MIN_CELL)
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
        suppression_note(min_cell, {c: row[c] for c in on if row[c] != ""})
        for _, row in hit.iterrows()
    ]
    return table.loc[~drop].reset_index(drop=True), notes
