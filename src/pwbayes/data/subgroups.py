"""Subgroup variables: checking, default binning and the order of their levels.

Shared by the unpooled :func:`~pwbayes.subgroup_estimates` and the subgroup terms of
:class:`~pwbayes.PersonModel`, so both see the same levels. A subgroup variable is
categorical or boolean; a numeric one with more than :data:`MAX_LEVELS` distinct values is
cut into quartiles (:func:`~pwbayes.bin_covariates`) unless the user gives bins.
:class:`SubgroupLayout` indexes the combinations of levels that the person model's
likelihood and its post-processing share. This module needs pandas and numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, quote_values
from .checks import did_you_mean
from .covariates import bin_covariates, bin_edges, level_order

__all__ = [
    "MAX_LEVELS",
    "SubgroupLayout",
    "assign_levels",
    "bin_subgroups",
    "interval_edges",
    "level_order",
    "ordered_levels",
    "reference_levels",
    "subgroup_edges",
]

#: A numeric subgroup variable with more distinct values than this is cut into quartiles.
MAX_LEVELS = 6
#: Quantile bins of the default cut.
DEFAULT_BINS = 4


def reference_levels(
    levels: Mapping[str, Sequence[str]], reference: str | Mapping[str, str] | None
) -> dict[str, str]:
    """Return the reference level of every subgroup variable (default: its first level).

    ``reference`` is one level for every variable, or a mapping of variable to level.
    Checked before sampling as well as after, so that a wrong level does not cost a fit.
    """
    if not levels:
        raise DataError("A subgroup reference needs subgroups; the model has none.")
    refs = {v: str(lev[0]) for v, lev in levels.items()}
    if isinstance(reference, str):
        refs = dict.fromkeys(levels, reference)
    elif isinstance(reference, Mapping):
        unknown = sorted(set(map(str, reference)) - set(levels))
        if unknown:
            raise DataError(
                f"reference names unknown subgroup(s) {unknown}; subgroups: {list(levels)}."
            )
        refs.update({str(k): str(v) for k, v in reference.items()})
    elif reference is not None:
        raise DataError(
            f"reference={reference!r} must be a level or a mapping of subgroup to level, e.g. "
            f"{{{next(iter(levels))!r}: {str(levels[next(iter(levels))][0])!r}}}."
        )
    for var, ref in refs.items():
        if ref not in [str(x) for x in levels[var]]:
            raise DataError(
                f"reference={ref!r} is not a level of {var!r}; levels: {list(levels[var])}."
            )
    return refs


def bin_subgroups(
    data: pd.DataFrame,
    subgroups: Sequence[str],
    bins: Mapping[str, int | Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Return ``data`` with numeric subgroup variables binned (a copy if anything changes).

    Parameters
    ----------
    data : pandas.DataFrame
        Not modified.
    subgroups : sequence of str
        Subgroup columns.
    bins : mapping, optional
        Per column, a number of quantile bins or the bin edges; a numeric column without
        an entry is cut into quartiles when it has more than :data:`MAX_LEVELS` distinct
        values and used as is otherwise.

    Returns
    -------
    pandas.DataFrame
    """
    spec = _binned(data, subgroups, bins)
    return bin_covariates(data, spec) if spec else data


def subgroup_edges(
    data: pd.DataFrame,
    subgroups: Sequence[str],
    bins: Mapping[str, int | Sequence[float]] | None = None,
) -> dict[str, np.ndarray]:
    """Return the exact edges :func:`bin_subgroups` cuts each binned variable at."""
    return bin_edges(data, _binned(data, subgroups, bins))


def _binned(data: pd.DataFrame, subgroups: Sequence[str], bins) -> dict:
    """Return which subgroup columns are binned, and how (quantile count or edges)."""
    bins = dict(bins or {})
    missing = [c for c in [*subgroups, *bins] if c not in data.columns]
    if missing:
        names = list(map(str, data.columns))
        hints = "".join(did_you_mean(c, names) for c in missing[:1])
        raise DataError(
            f"subgroup column(s) {quote_values(missing)} not found{hints}; available: "
            f"{quote_values(names, limit=20)}."
        )
    unused = sorted(set(bins) - set(subgroups))
    if unused:
        raise DataError(
            f"bins names column(s) {unused} that are not subgroups; subgroups: {list(subgroups)}."
        )
    spec = {}
    for col in subgroups:
        s = data[col]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if col in bins and not numeric:
            raise DataError(
                f"bins[{col!r}]={bins[col]!r}: {col!r} is not numeric; its levels are used as is."
            )
        if numeric and (col in bins or s.nunique() > MAX_LEVELS):
            spec[col] = bins.get(col, DEFAULT_BINS)
    return spec


def ordered_levels(values: pd.Series) -> list[str]:
    """Return the distinct non-missing values of ``values`` as text, in :func:`level_order`."""
    return sorted({str(v) for v in values.dropna()}, key=level_order)


@dataclass(frozen=True)
class SubgroupLayout:
    """Subgroup variables, their levels and the combinations of levels.

    Attributes
    ----------
    levels : dict of str to list of str
        Levels of each variable, in order.
    """

    levels: dict[str, list[str]]

    @property
    def variables(self) -> list[str]:
        """Subgroup variables, in order."""
        return list(self.levels)

    @property
    def labels(self) -> list[str]:
        """Coordinate ``subgroup``: ``"variable: level"`` for every level of every variable."""
        return [f"{v}: {lev}" for v, levels in self.levels.items() for lev in levels]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """``(variable, level)`` of every entry of :attr:`labels`."""
        return [(v, lev) for v, levels in self.levels.items() for lev in levels]

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of levels of each variable."""
        return tuple(len(v) for v in self.levels.values())

    @property
    def n_groups(self) -> int:
        """Number of combinations of levels."""
        return int(np.prod(self.shape))

    def group_of(self, subgroup_index: np.ndarray) -> np.ndarray:
        """Return the combination index of rows given their level in each variable."""
        return np.ravel_multi_index(tuple(subgroup_index.T), self.shape).astype(int)

    def selector(self) -> np.ndarray:
        """Return the 0/1 ``(combinations, levels)`` matrix of the levels in each combination."""
        combos = np.array(np.unravel_index(np.arange(self.n_groups), self.shape)).T
        out = np.zeros((self.n_groups, len(self.labels)))
        start = 0
        for v, n in enumerate(self.shape):
            out[np.arange(self.n_groups), start + combos[:, v]] = 1.0
            start += n
        return out

    def members(self, variable: str, level: str, groups: np.ndarray) -> np.ndarray:
        """Boolean mask over ``groups`` (combination indices): those with this level."""
        v = self.variables.index(variable)
        combos = np.array(np.unravel_index(groups, self.shape)).T
        return combos[:, v] == self.levels[variable].index(level)


def interval_edges(levels: Sequence[str]) -> np.ndarray | None:
    """Bin edges of levels that are intervals (``"[18, 35)"``, ..., ``"[50, 66]"``), or None.

    Parameters
    ----------
    levels : sequence of str
        A subgroup variable's levels, in order.

    Returns
    -------
    numpy.ndarray or None
        The edges as the labels show them (six significant digits, :func:`bin_covariates`),
        or None when the levels are not adjacent intervals.
    """
    pairs = []
    for label in map(str, levels):
        if not (label.startswith("[") and label[-1] in ")]" and label.count(",") == 1):
            return None
        try:
            pairs.append(tuple(float(v) for v in label[1:-1].split(",")))
        except ValueError:
            return None
    if any(a[1] != b[0] for a, b in zip(pairs, pairs[1:], strict=False)):
        return None  # not adjacent: not the bins of one cut
    return np.array([pairs[0][0], *(high for _, high in pairs)])


def _key(value: object) -> object:
    """Return a level's identity: ``True``, ``"True"``, ``1`` and ``"1.0"`` are one."""
    text = str(value)
    if text in ("True", "False"):
        return float(text == "True")
    try:
        return float(text)
    except ValueError:
        return text


def assign_levels(values: pd.Series, levels: Sequence[str], column: str) -> np.ndarray:
    """Index of each value's level of a subgroup variable.

    Parameters
    ----------
    values : pandas.Series
        A level each (``True``, ``1`` and ``"True"`` are one level; ``0`` and ``0.0`` too)
        or, for a binned numeric variable, a number inside its bins.
    levels : sequence of str
        The variable's levels, in the fit's order.
    column : str
        The column's name, for the error.

    Returns
    -------
    numpy.ndarray
        Level indices (int).

    Raises
    ------
    DataError
        Values that are no level, or numbers outside the bins; the message names them.
    """
    known = {_key(lev): k for k, lev in enumerate(levels)}
    keys = values.map(_key)
    found = keys.isin(list(known))
    if found.all():
        return keys.map(known).to_numpy(dtype=int)
    edges = interval_edges(levels)
    numbers = pd.to_numeric(values, errors="coerce")
    if edges is not None and numbers.notna().all():
        # the labels round the edges to six significant digits: allow for that at the ends
        slack = 1e-6 * np.maximum(1.0, np.abs(edges[[0, -1]]))
        outside = (numbers < edges[0] - slack[0]) | (numbers > edges[-1] + slack[1])
        if not outside.any():
            index = np.searchsorted(edges, numbers.to_numpy(float), side="right") - 1
            return np.clip(index, 0, len(levels) - 1)
        raise DataError(
            f"population column {column!r} has value(s) {quote_values(pd.unique(values[outside]))} "
            f"outside the fit's bins {list(levels)}: the model says nothing about them."
        )
    bad = pd.unique(values[~found])
    hint = " or numbers inside them" if edges is not None else ""
    raise DataError(
        f"population column {column!r} has value(s) {quote_values(bad)} that are not levels of "
        f"the subgroup variable; its levels are {list(levels)}{hint}."
    )
