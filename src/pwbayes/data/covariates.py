"""Covariates: binning numeric columns, the order of levels, and encoding as a matrix.

The caller's DataFrame is never modified. This module needs pandas and numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["bin_covariates", "bin_edges", "encode_covariates", "level_order"]


def bin_covariates(
    data: pd.DataFrame, columns: Mapping[str, int | Sequence[float]] | Sequence[str], bins: int = 4
) -> pd.DataFrame:
    """Return a copy of ``data`` with numeric columns cut into categories.

    Binned covariates let :class:`~pwbayes.PersonModel` collapse people who share every
    covariate value into binomial counts, which is exact for the binned model and makes
    national-scale data fast. The caller's frame is not modified.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : sequence of str, or mapping of str to int or edges
        Columns to bin; a mapping gives per column a number of quantile bins or the
        bin edges, e.g. ``{"age": [18, 30, 40, 50, 67], "prior_earnings": 3}``.
    bins : int
        Quantile bins for columns named without their own setting (default 4, i.e.
        quartiles; ties merge bins).

    Returns
    -------
    pandas.DataFrame
        Binned columns hold labels such as ``"[18, 30)"``; the last bin is closed
        (``"[45, 67]"``) when it holds its upper edge.
    """
    spec = dict(columns) if isinstance(columns, Mapping) else dict.fromkeys(columns, bins)
    out = data.copy()
    for col, how in spec.items():
        if col not in data:
            raise DataError(
                f"bin_covariates: column {col!r} not found; columns: "
                f"{list(map(str, data.columns))}."
            )
        values = pd.to_numeric(data[col], errors="coerce")
        if values.isna().any() and not data[col].isna().any():
            raise DataError(f"bin_covariates: column {col!r} is not numeric.")
        edges = _edges(col, how, values)
        cut = pd.cut(values, edges, right=False, include_lowest=True)
        last = values == edges[-1]  # the top edge belongs to the last bin: "[45, 67]"
        labels = [f"[{i.left:g}, {i.right:g})" for i in cut.cat.categories]
        if last.any():
            labels[-1] = labels[-1][:-1] + "]"
        cut = cut.cat.rename_categories(labels)
        out[col] = cut.astype(object).where(~last, labels[-1])
    return out


def bin_edges(data: pd.DataFrame, columns: Mapping[str, int | Sequence[float]]) -> dict:
    """Return the exact edges :func:`bin_covariates` cuts each column at (column -> array).

    The labels show them to six significant digits; refits that must cut the same way
    (leaving a site out) take these.
    """
    return {col: _edges(col, how, pd.to_numeric(data[col], errors="coerce"))
            for col, how in columns.items()}  # fmt: skip


def _edges(col: str, how, values: pd.Series) -> np.ndarray:
    """Bin edges: quantiles, or the user's cut points widened to cover the data.

    A user's edges are kept as given; a bin is added below the first or above the last when
    the data go beyond them (so ``[40, 50]`` cuts at 40 and 50, whatever the range).
    """
    lo, hi = float(values.min()), float(values.max())
    if isinstance(how, int) and not isinstance(how, bool):
        if how < 1:
            raise DataError(f"bins for {col!r}: {how} quantile bins; give at least 1.")
        return np.unique(np.quantile(values.dropna(), np.linspace(0, 1, how + 1)))
    try:
        edges = np.asarray(how, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(
            f"bins for {col!r} = {how!r}: give a number of bins or a list of edges."
        ) from None
    if len(edges) == 0 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise DataError(
            f"bins for {col!r} = {list(how)}: edges must be finite and increasing, e.g. "
            "[18, 30, 45, 67]."
        )
    if lo < edges[0]:
        edges = np.r_[lo, edges]
    if hi > edges[-1]:
        edges = np.r_[edges, hi]
    return edges if len(edges) > 1 else np.r_[edges, edges + 1.0]


def level_order(level) -> tuple:
    """Sort key: binned labels such as ``"[2, 10)"`` by their lower edge, others as text."""
    text = str(level)
    if text.startswith("[") and "," in text:
        try:
            return (0, float(text[1:].split(",")[0]), "")
        except ValueError:
            pass
    return (1, 0.0, text)


def encode_covariates(df: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Encode covariates as a float matrix.

    Numbers and booleans are kept as they are; categories become indicators against
    their first (sorted) level.

    Returns
    -------
    (matrix, names)
        Names are ``"column"`` or ``"column[level]"``.
    """
    blocks, names = [], []
    for col in covariates:
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            blocks.append(s.astype(float).to_numpy()[:, None])
            names.append(col)
        else:
            levels = sorted(pd.unique(s.astype(str)))
            for level in levels[1:]:
                blocks.append((s.astype(str) == level).to_numpy(float)[:, None])
                names.append(f"{col}[{level}]")
    if not blocks:
        return np.zeros((len(df), 0)), []
    return np.hstack(blocks), names
