"""Validation and encoding of person-level input (one row per person).

The caller's DataFrame is never modified. Covariates are encoded (categorical columns
as indicators against their first level, sorted) and standardised; the means and
standard deviations are kept so that effects can be reported on the original scale.
Counts of persons in messages follow the small-cell rule (:func:`.disclosure.count_text`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..arms import ArmParser, comparison_per_site, comparison_roles, is_reference_group
from ..errors import ArmError, DataError, quote_values
from .checks import (
    check_column_list,
    check_frame,
    check_roles,
    covariate_types,
    decimal_comma,
    numbers_as_text,
    site_labels,
)
from .covariates import bin_covariates, encode_covariates, level_order
from .disclosure import MIN_CELL, count_text, is_small
from .dtypes import numpy_dtypes

__all__ = [
    "FAMILIES",
    "PersonData",
    "bin_covariates",
    "encode_covariates",
    "level_order",
    "validate_person",
]

FAMILIES = ("bernoulli", "normal")
MISSING = ("raise", "drop")


@dataclass(frozen=True)
class PersonData:
    """Validated, encoded person-level data.

    Attributes
    ----------
    y : numpy.ndarray
        Outcome (0/1 for ``bernoulli``).
    site_index, arm_index : numpy.ndarray
        Integer site and arm of every row; arm ``-1`` is the site's comparison group.
    x : numpy.ndarray
        Standardised covariate matrix (rows x covariate columns).
    participant : numpy.ndarray
        True for participants (treatment arms and control group), False for a random
        reference group of non-participants; effects are averaged over participants.
    dropped : dict of str to int
        Rows left out, by reason (in memory only; records show them as
        :func:`~pwbayes.data.disclosure.count_text`).
    subgroups : dict of str to list of str
        Levels of each subgroup variable, in order.
    subgroup_index : numpy.ndarray
        Level of each row in each subgroup variable (rows x variables).
    """

    y: np.ndarray
    site_index: np.ndarray
    arm_index: np.ndarray
    x: np.ndarray
    participant: np.ndarray
    sites: list[str]
    arms: list[str]
    components: list[str]
    arm_components: dict[str, tuple[str, ...]]
    covariates: list[str]
    covariate_mean: np.ndarray
    covariate_sd: np.ndarray
    comparison: dict[str, str]
    dropped: dict[str, int]
    columns: dict
    subgroups: dict[str, list[str]] = field(default_factory=dict)
    subgroup_index: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=int))

    @property
    def design(self) -> np.ndarray:
        """Arm-by-component indicators (arms x components)."""
        out = np.zeros((len(self.arms), len(self.components)))
        for a, arm in enumerate(self.arms):
            for c in self.arm_components[arm]:
                out[a, self.components.index(c)] = 1.0
        return out


def validate_person(
    data: pd.DataFrame,
    *,
    site: str,
    arm: str,
    outcome: str,
    covariates: Sequence[str] = (),
    family: str = "bernoulli",
    comparison: str | Mapping[str, str] | None = None,
    missing: str = "raise",
    parser: ArmParser,
    subgroups: Sequence[str] = (),
    min_cell: int = MIN_CELL,
) -> PersonData:
    """Check person-level data and encode it for a model.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    site, arm, outcome : str
        Column names.
    covariates : sequence of str
        Background characteristics (numeric, boolean or categorical columns).
    family : {"bernoulli", "normal"}
    comparison : str or mapping, optional
        The comparison group's arm label, for all sites or per site
        (``{"Groningen": "reference"}``); default ``"control"``. Other comparison-type
        rows of a site (e.g. Groningen's control group when the reference group is
        chosen) are left out, and the result says so (:func:`~pwbayes.arms.comparison_roles`).
    missing : {"raise", "drop"}
        Rows with a missing outcome or covariate: refuse (default), or drop them with a
        warning.
    parser : ArmParser
    subgroups : sequence of str
        Categorical or boolean columns (bin numeric ones first, see
        :func:`~pwbayes.data.subgroups.bin_subgroups`) whose levels get effects of their
        own; each also enters as a categorical covariate (its main effect).
    min_cell : int
        Counts of persons below this are written as "fewer than ..." in messages.

    Returns
    -------
    PersonData
    """
    if family not in FAMILIES:
        raise DataError(f"family={family!r} is not allowed; use one of {FAMILIES}.")
    if missing not in MISSING:
        raise DataError(f"missing={missing!r} is not allowed; use one of {MISSING}.")
    covariates = check_column_list("covariates", covariates)
    subgroups = check_column_list("subgroups", subgroups)
    check_roles({"site": site, "arm": arm, "outcome": outcome})
    _check_columns(data, site, arm, outcome, covariates, subgroups)
    # subgroup variables enter as categorical covariates too (their main effects)
    model_covariates = [*covariates, *(c for c in subgroups if c not in covariates)]
    df = numpy_dtypes(data[[site, arm, outcome, *model_covariates]]).copy()
    if df[arm].isna().any():
        raise DataError(f"Column {arm!r} (arm) must not have missing values.")
    df[site], df[arm] = site_labels(df[site], site), df[arm].astype(str)
    numbers_as_text(df, covariates, "covariate")
    covariate_types(df, covariates)
    dropped: dict[str, int] = {}
    df = _comparison_rows(df, site, arm, comparison, parser, dropped)
    df = _without_missing(df, [outcome, *model_covariates], missing, min_cell, dropped)
    y = _outcome(df[outcome], outcome, family)
    parsed = {lab: parser.parse(lab, allow_empty=True) for lab in pd.unique(df[arm])}
    arm_names = [parser.label(parsed[lab]) if parsed[lab] else None for lab in df[arm]]
    _check_arms(df[site].to_numpy(), arm_names)
    if family == "bernoulli" and (y.min() == y.max()):
        raise DataError(f"Column {outcome!r} is {y[0]:g} for everyone; nothing to model.")

    levels = {col: _levels(df, col) for col in subgroups}
    for col in subgroups:  # subgroup variables are categories, also as covariates
        df[col] = df[col].astype(str)
    subgroup_index = np.column_stack(
        [pd.Categorical(df[c].astype(str), categories=levels[c]).codes for c in subgroups]
        or [np.zeros((len(df), 0), dtype=int)]
    ).astype(int)
    x, names, mean, sd = _standardised(df, model_covariates)

    site_str = df[site].to_numpy()
    sites = list(pd.unique(site_str))
    arm_order = list(dict.fromkeys(a for a in arm_names if a is not None))
    comps_of = {parser.label(c): c for c in parsed.values() if c}
    arm_components = {a: comps_of[a] for a in arm_order}
    present = {c for a in arm_order for c in arm_components[a]}
    wanted = comparison_per_site(comparison, sites)
    return PersonData(
        y=y,
        site_index=pd.Categorical(site_str, categories=sites).codes.astype(int),
        arm_index=np.array([arm_order.index(a) if a is not None else -1 for a in arm_names]),
        x=x,
        participant=~df[arm].map({lab: is_reference_group(lab) for lab in parsed}).to_numpy(bool),
        sites=sites,
        arms=arm_order,
        components=[c for c in parser.known() if c in present],
        arm_components=arm_components,
        covariates=names,
        covariate_mean=mean,
        covariate_sd=sd,
        comparison=wanted,
        dropped=dropped,
        columns={
            "site": site,
            "arm": arm,
            "outcome": outcome,
            "covariates": covariates,
            "subgroups": subgroups,
        },  # fmt: skip
        subgroups=levels,
        subgroup_index=subgroup_index,
    )


def _check_columns(data, site, arm, outcome, covariates, subgroups) -> None:
    needed = {"site": site, "arm": arm, "outcome": outcome}
    needed.update({f"covariate {c!r}": c for c in covariates})
    needed.update({f"subgroup {c!r}": c for c in subgroups})
    check_frame(data, needed, "person")
    for what, cols in (("Covariate", covariates), ("Subgroup", subgroups)):
        dupes = sorted(
            {c for c in cols if cols.count(c) > 1} | {c for c in cols if c in (site, arm, outcome)}
        )
        if dupes:
            raise DataError(f"{what}(s) {dupes} are listed twice or are the site/arm/outcome.")


def _comparison_rows(df, site, arm, comparison, parser, dropped) -> pd.DataFrame:
    """Keep each site's comparison group and its arms; record the other groups left out."""
    try:
        roles = np.array(comparison_roles(df[site].tolist(), df[arm].tolist(), comparison, parser))
    except ArmError as err:
        raise DataError(f"Column {arm!r} (arm): {err}") from None
    wanted = comparison_per_site(comparison, list(pd.unique(df[site])))
    unused = roles == "unused"
    for s in pd.unique(df.loc[unused, site]):
        n = int(np.sum(unused & (df[site] == s).to_numpy()))
        dropped[f"{s}: groups other than the comparison {wanted[s]!r}"] = n
    return df[~unused]


def _without_missing(df, columns, missing, min_cell, dropped) -> pd.DataFrame:
    """Refuse rows with missing values, or drop them with a warning (counts as text)."""
    na = df[columns].isna()
    if not na.any().any():
        return df
    rows = int(na.any(axis=1).sum())
    per_col = ", ".join(f"{c!r}: {count_text(int(n), min_cell)}" for c, n in na.sum().items() if n)
    if missing == "raise":
        raise DataError(
            f"{count_text(rows, min_cell)} row(s) have missing values, by column: {per_col}. "
            "Nothing is dropped silently: fill them in, or pass missing='drop' to drop those "
            "rows with a warning."
        )
    # the total is not shown beside a small count: their difference would give it away
    total = "" if is_small(rows, min_cell) else f" of {count_text(len(df), min_cell)}"
    warnings.warn(
        f"Dropped {count_text(rows, min_cell)}{total} row(s) with missing values, by column: "
        f"{per_col}.",
        UserWarning,
        stacklevel=4,
    )
    dropped["missing values"] = rows
    return df[~na.any(axis=1).to_numpy()]


def _outcome(y_raw: pd.Series, outcome: str, family: str) -> np.ndarray:
    if family == "bernoulli":
        ok = y_raw.isin([0, 1, True, False])
        if not ok.all():
            raise DataError(
                f"Column {outcome!r} (outcome) must be 0/1 or True/False for "
                f"family='bernoulli'; found {quote_values(pd.unique(y_raw[~ok]))}. "
                + _outcome_hint(y_raw[~ok], outcome)
            )
        return y_raw.astype(float).to_numpy()
    y = pd.to_numeric(y_raw, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(y)
    if bad.any():
        comma = decimal_comma(y_raw[bad].dropna())  # missing values are dealt with later
        raise DataError(
            f"Column {outcome!r} (outcome) must hold finite numbers; found "
            f"{quote_values(pd.unique(y_raw[bad]))}."
            + (
                " They are written with a decimal comma: read the file with "
                "pw.read_data(path, decimal=',')."
                if comma
                else ""
            )
        )
    return y


#: Words for yes and no that a 0/1 outcome is sometimes written as (compared in lower case).
YES_NO = {"ja": 1, "nee": 0, "j": 1, "n": 0, "yes": 1, "no": 0, "y": 1, "true": 1, "false": 0}


def _outcome_hint(bad: pd.Series, outcome: str) -> str:
    """Suggest the fix for a yes/no outcome that is not 0/1 (text numbers, words, a score)."""
    text = bad.dropna().astype(str).str.strip()
    if len(text) and pd.to_numeric(text, errors="coerce").isin([0, 1]).all():
        return (
            f"They are 0/1 stored as text; convert: df[{outcome!r}] = "
            f"pd.to_numeric(df[{outcome!r}])."
        )
    words = sorted(set(text.str.lower()))
    if len(text) and all(w in YES_NO for w in words):
        mapping = ", ".join(f"{w!r}: {YES_NO[w]}" for w in words)
        return (
            f"Code them as 0/1: df[{outcome!r}] = "
            f"df[{outcome!r}].str.strip().str.lower().map({{{mapping}}})."
        )
    return "Use family='normal' for a score."


def _check_arms(site_str, arm_names) -> None:
    counts = pd.Series(
        [f"{s}: {a}" for s, a in zip(site_str, arm_names, strict=True) if a is not None]
    ).value_counts()
    lonely = counts[counts < 2]
    if len(lonely):
        raise DataError(
            f"Arm(s) with fewer than 2 people: {quote_values(lonely.index)}. An arm of one "
            "person has no contrast to estimate; check the arm labels or drop those rows."
        )


def _levels(df: pd.DataFrame, col: str) -> list[str]:
    levels = sorted(pd.unique(df[col].astype(str)), key=level_order)
    if len(levels) < 2:
        raise DataError(
            f"Subgroup column {col!r} has one level ({levels[0]!r}) in the data used; "
            "a subgroup variable needs at least two."
        )
    return levels


def _standardised(df: pd.DataFrame, columns: list[str]):
    """Encode and standardise the covariates: ``(x, names, mean, sd)``."""
    x_raw, names = encode_covariates(df, columns)
    if not names:
        return x_raw, names, np.zeros(0), np.zeros(0)
    sd = x_raw.std(axis=0)
    const = [n for n, v in zip(names, sd, strict=True) if v == 0]
    if const:
        raise DataError(
            f"Covariate column(s) {const} are constant in the data used; a constant cannot be "
            "adjusted for. Remove them from covariates."
        )
    mean = x_raw.mean(axis=0)
    return (x_raw - mean) / sd, names, mean, sd
