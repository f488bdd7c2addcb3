"""Checks at the boundary that both kinds of input share: roles, site labels, column types.

Each refuses, with the column, the offending values and the fix, an input that would
otherwise give a wrong model without a word: one column in two roles, site labels that
differ only by case or spaces, numbers stored as text, a list of columns given as one
string. This module needs pandas only.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, quote_values

__all__ = [
    "MANY_LEVELS",
    "check_column_list",
    "check_frame",
    "check_roles",
    "covariate_types",
    "decimal_comma",
    "did_you_mean",
    "numbers_as_text",
    "site_labels",
]

#: A categorical covariate with more levels than this is warned about (one indicator each).
MANY_LEVELS = 20


def check_column_list(name: str, value: object) -> list[str]:
    """Check a list of column names (``covariates``, ``subgroups``); refuse one bare string."""
    if isinstance(value, str):
        raise DataError(
            f"{name}={value!r} is one string; give a list of column names, e.g. "
            f"{name}=[{value!r}] (a string would be read letter by letter)."
        )
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise DataError(
            f"{name}={value!r} must be a list of column names (text), e.g. ['age']; columns "
            "named by numbers (a file read without a header) need names first, e.g. "
            "df.columns = df.columns.astype(str)."
        )
    return list(value)


def check_frame(data: object, needed: Mapping[str, str | None], unit: str) -> None:
    """Refuse what is not a table of rows with the needed columns, each named once.

    ``needed`` maps a role (``"site"``, ``"covariate 'age'"``) to a column name; the message
    for a missing one suggests the nearest column of the data (``"Gemeente"`` for
    ``"gemeente"``). ``unit`` says what one row is (``"site x arm"``, ``"person"``).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    if data.empty:
        raise DataError(f"data has no rows: one row per {unit} is needed.")
    names = [str(c) for c in data.columns]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise DataError(
            f"Column name(s) {twice} appear more than once in the data; rename them so that "
            "each column has its own name, e.g. data.columns = [...]."
        )
    absent = {role: col for role, col in needed.items() if col is not None and col not in data}
    if absent:
        detail = ", ".join(f"{r}={c!r}{did_you_mean(c, names)}" for r, c in absent.items())
        raise DataError(
            f"Column(s) not found: {detail}. The data has columns {names}. "
            "Pass the names of your columns, e.g. site='municipality'."
        )


def did_you_mean(column: str, names: Sequence[str]) -> str:
    """Return `` (did you mean 'Name'?)`` for the nearest of ``names``, or ``""``."""
    lower = {n.lower().strip(): n for n in names}
    close = difflib.get_close_matches(column.lower().strip(), list(lower), n=1, cutoff=0.75)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


def check_roles(roles: Mapping[str, str | None]) -> None:
    """Refuse one column in two roles, e.g. ``estimate="se", se="se"``."""
    seen: dict[str, str] = {}
    for role, column in roles.items():
        if column is None:
            continue
        if column in seen:
            raise DataError(
                f"Column {column!r} is given as both {seen[column]} and {role}; each role needs "
                "its own column."
            )
        seen[column] = role


def site_labels(values: pd.Series, column: str) -> pd.Series:
    """Return the site labels as text, refusing those that would split or merge sites.

    Refused: empty labels; numbers mixed with text (``5`` and ``"5"``); labels that differ
    only by case or spaces (``"Utrecht"``, ``"Utrecht "``, ``" utrecht"``). Whole numbers
    stored as floats (``5.0``) are written as whole numbers (``"5"``).
    """
    if values.isna().any():
        raise DataError(
            f"Column {column!r} (site) has {int(values.isna().sum())} missing value(s); every "
            "row needs a site."
        )
    kinds = {_kind(v) for v in values.to_numpy()}
    if len(kinds) > 1:
        shown = quote_values(pd.unique(values[values.map(_kind) == "number"]))
        raise DataError(
            f"Column {column!r} (site) mixes numbers ({shown}) and text; 5 and '5' would be "
            f"different sites. Make them one type, e.g. df[{column!r}].astype(str)."
        )
    if kinds == {"number"}:
        numbers = values.astype(float)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        text = values.astype(str).where(~whole, numbers.round().astype("int64").astype(str))
    else:
        text = values.astype(str)
    empty = text.str.strip() == ""
    if empty.any():
        raise DataError(
            f"Column {column!r} (site) has {int(empty.sum())} empty label(s); every row needs a "
            "site name."
        )
    _same_but_spelling(text, column)
    return text


def _kind(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "text"
    return "number" if isinstance(value, int | float | np.number) else "text"


def _same_but_spelling(text: pd.Series, column: str) -> None:
    labels = pd.unique(text)
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(re.sub(r"\s+", " ", str(label).strip().casefold()), []).append(label)
    clashes = [group for group in groups.values() if len(group) > 1]
    if clashes:
        shown = "; ".join(quote_values(g) for g in clashes[:3])
        raise DataError(
            f"Column {column!r} (site) has labels that differ only by case or spaces: {shown}. "
            f"They would be different sites; make them the same, e.g. "
            f"df[{column!r}].str.strip()."
        )


def numbers_as_text(df: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    """Refuse text columns whose every value is a number (``age`` as ``"34"``)."""
    for col in columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_datetime64_any_dtype(s):
            continue  # labelled values (SPSS, Stata) are categories on purpose; dates: later
        present = s.dropna()
        if len(present) and decimal_comma(present):
            raise DataError(
                f"Column {col!r} ({role}) holds numbers written with a decimal comma "
                f"({quote_values(pd.unique(present)[:3])}...). Read the file with "
                "pw.read_data(path, decimal=',') (in a spec: decimal = \",\"), or convert: "
                f"df[{col!r}] = pd.to_numeric(df[{col!r}].str.replace(',', '.'))."
            )
        if len(present) and pd.to_numeric(present, errors="coerce").notna().all():
            raise DataError(
                f"Column {col!r} ({role}) holds numbers stored as text "
                f"({quote_values(pd.unique(present)[:3])}...); as text each value would become "
                f"a category of its own. Convert it: df[{col!r}] = pd.to_numeric(df[{col!r}]); "
                "or, if the numbers are codes of categories, say so: .astype('category')."
            )


def decimal_comma(values: pd.Series) -> bool:
    """Tell whether every value is a number once a decimal comma becomes a point ("2,5")."""
    text = values.astype(str)
    if not text.str.contains(",", regex=False).any():
        return False
    points = text.str.replace(",", ".", regex=False)
    return bool(pd.to_numeric(points, errors="coerce").notna().all())


def covariate_types(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Refuse covariates that cannot be adjusted for as given; warn about very many levels.

    Refused: dates (each date would become a category), columns mixing numbers and text,
    infinite values. Warned: a categorical covariate of more than :data:`MANY_LEVELS`
    levels, each of which becomes an indicator column.
    """
    for col in columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
            raise DataError(
                f"Column {col!r} (covariate) holds dates; as a category each date would be a "
                f"column of its own. Turn it into a number first, e.g. years since a date."
            )
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            bad = ~np.isfinite(s.to_numpy(dtype=float)) & s.notna().to_numpy()
            if bad.any():
                raise DataError(
                    f"Column {col!r} (covariate) has {int(bad.sum())} infinite value(s); "
                    "covariates must be finite numbers."
                )
            continue
        kinds = {_kind(v) for v in s.dropna().to_numpy()}
        if not isinstance(s.dtype, pd.CategoricalDtype) and len(kinds) > 1:
            numbers = pd.unique(s[s.map(_kind) == "number"].dropna())
            raise DataError(
                f"Column {col!r} (covariate) mixes numbers ({quote_values(numbers, limit=3)}) "
                "and text; make it one type (text categories, or numbers)."
            )
        levels = s.nunique()
        if levels > MANY_LEVELS:
            warnings.warn(
                f"Column {col!r} (covariate) has {levels} levels: it enters the model as "
                f"{levels - 1} indicator columns. If it is a number, convert it "
                f"(pd.to_numeric); if it is a code with many values, group them first.",
                UserWarning,
                stacklevel=5,
            )
