"""Subgroup variables: checking, default binning and the order of their levels.

Shared by the unpooled :func:`~pwbayes.subgroup_estimates` and the subgroup terms of
:class:`~pwbayes.PersonModel`, so both see the same levels. A subgroup variable is
categorical or boolean; a numeric one with more than :data:`MAX_LEVELS` distinct values is
cut into quartiles (:func:`~pwbayes.bin_covariates`) unless the user gives bins. This
module needs pandas only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ..errors import DataError, quote_values
from .person import bin_covariates, level_order

__all__ = ["MAX_LEVELS", "bin_subgroups", "level_order", "ordered_levels"]

#: A numeric subgroup variable with more distinct values than this is cut into quartiles.
MAX_LEVELS = 6
#: Quantile bins of the default cut.
DEFAULT_BINS = 4


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
    bins = dict(bins or {})
    missing = [c for c in [*subgroups, *bins] if c not in data.columns]
    if missing:
        raise DataError(
            f"subgroup column(s) {quote_values(missing)} not found; available: "
            f"{quote_values(list(map(str, data.columns)), limit=20)}."
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
    return bin_covariates(data, spec) if spec else data


def ordered_levels(values: pd.Series) -> list[str]:
    """Return the distinct non-missing values of ``values`` as text, in :func:`level_order`."""
    return sorted({str(v) for v in values.dropna()}, key=level_order)
