"""Validation and encoding of person-level input (one row per person).

The caller's DataFrame is never modified. Covariates are encoded (categorical columns
as indicators against their first level, sorted) and standardised; the means and
standard deviations are kept so that effects can be reported on the original scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..arms import ArmParser, normalise_label
from ..errors import DataError, quote_values

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
_REFERENCE_LABELS = {"reference", "referentiegroep"}


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

    @property
    def site_arms(self) -> list[tuple[str, str]]:
        """(site, arm) pairs with at least one person, in order of appearance."""
        seen = dict.fromkeys(
            (self.sites[s], self.arms[a])
            for s, a in zip(self.site_index, self.arm_index, strict=True)
            if a >= 0
        )
        return list(seen)


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
        Binned columns hold labels such as ``"[18, 30)"``.
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
        if isinstance(how, int):
            edges = np.unique(np.quantile(values.dropna(), np.linspace(0, 1, how + 1)))
        else:
            edges = np.asarray(how, dtype=float)
        edges[0], edges[-1] = min(edges[0], values.min()), max(edges[-1], values.max())
        cut = pd.cut(values, edges, right=False, include_lowest=True)
        cut = cut.cat.rename_categories([f"[{i.left:g}, {i.right:g})" for i in cut.cat.categories])
        last = values == edges[-1]
        out[col] = cut.astype(object).where(~last, cut.cat.categories[-1])
    return out


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
        chosen) are left out, and the result says how many.
    missing : {"raise", "drop"}
        Rows with a missing outcome or covariate: refuse (default), or drop them with a
        warning stating the count.
    parser : ArmParser
    subgroups : sequence of str
        Categorical or boolean columns (bin numeric ones first, see
        :func:`~pwbayes.data.subgroups.bin_subgroups`) whose levels get effects of their
        own; each also enters as a categorical covariate (its main effect).

    Returns
    -------
    PersonData
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    if family not in FAMILIES:
        raise DataError(f"family={family!r} is not allowed; use one of {FAMILIES}.")
    if missing not in MISSING:
        raise DataError(f"missing={missing!r} is not allowed; use one of {MISSING}.")
    covariates, subgroups = list(covariates), list(subgroups)
    needed = {"site": site, "arm": arm, "outcome": outcome}
    needed.update({f"covariate {c!r}": c for c in covariates})
    needed.update({f"subgroup {c!r}": c for c in subgroups})
    absent = {role: col for role, col in needed.items() if col not in data}
    if absent:
        detail = ", ".join(f"{role}={col!r}" for role, col in absent.items())
        raise DataError(
            f"Column(s) not found: {detail}. The data has columns {list(map(str, data.columns))}."
        )
    dupes = sorted(
        {c for c in covariates if covariates.count(c) > 1}
        | {c for c in covariates if c in (site, arm, outcome)}
    )
    if dupes:
        raise DataError(f"Covariate(s) {dupes} are listed twice or are the site/arm/outcome.")
    dupes = sorted(
        {c for c in subgroups if subgroups.count(c) > 1}
        | {c for c in subgroups if c in (site, arm, outcome)}
    )
    if dupes:
        raise DataError(f"Subgroup(s) {dupes} are listed twice or are the site/arm/outcome.")
    # subgroup variables enter as categorical covariates too (their main effects)
    model_covariates = [*covariates, *(c for c in subgroups if c not in covariates)]
    df = data[[site, arm, outcome, *model_covariates]].copy()
    dropped: dict[str, int] = {}
    if df[site].isna().any() or df[arm].isna().any():
        raise DataError(f"Columns {site!r} and {arm!r} must not have missing values.")

    # ---- arms and comparison groups
    labels = df[arm].astype(str)
    parsed = {}
    for label in pd.unique(labels):
        try:
            parsed[label] = parser.parse(label, allow_empty=True)
        except Exception as err:
            raise DataError(f"Column {arm!r} (arm): {err}") from None
    sites_all = list(pd.unique(df[site].astype(str)))
    wanted = _comparison_per_site(comparison, sites_all)
    keep = np.ones(len(df), dtype=bool)
    site_str = df[site].astype(str).to_numpy()
    norm = labels.map(normalise_label).to_numpy()
    is_comparison_type = np.array([parsed[lab] == () for lab in labels])
    for s in sites_all:
        in_site = site_str == s
        target = normalise_label(wanted[s])
        present = set(norm[in_site & is_comparison_type])
        if target not in present:
            raise DataError(
                f"Site {s!r} has no comparison group {wanted[s]!r} in column {arm!r}; its "
                f"comparison-type groups are {sorted(present) or 'none'}. Every site needs one: "
                f"add its control group, or choose another with comparison={{{s!r}: ...}}."
            )
        other = in_site & is_comparison_type & (norm != target)
        if other.any():
            dropped[f"{s}: groups other than the comparison {wanted[s]!r}"] = int(other.sum())
            keep &= ~other
    df, labels, site_str, norm = df[keep], labels[keep], site_str[keep], norm[keep]

    # ---- missing values (in the rows that take part in the model)
    na = df[[outcome, *model_covariates]].isna()
    if na.any().any():
        rows = int(na.any(axis=1).sum())
        per_col = {c: int(n) for c, n in na.sum().items() if n}
        if missing == "raise":
            raise DataError(
                f"{rows} row(s) have missing values, by column: {per_col}. Nothing is dropped "
                "silently: fill them in, or pass missing='drop' to drop those rows with a "
                "warning."
            )
        warnings.warn(
            f"Dropped {rows} of {len(df)} row(s) with missing values, by column: {per_col}.",
            UserWarning,
            stacklevel=3,
        )
        ok = ~na.any(axis=1).to_numpy()
        df, labels, site_str, norm = df[ok], labels[ok], site_str[ok], norm[ok]
        dropped["missing values"] = rows

    # ---- outcome
    y_raw = df[outcome]
    if family == "bernoulli":
        ok = y_raw.isin([0, 1, True, False])
        if not ok.all():
            raise DataError(
                f"Column {outcome!r} (outcome) must be 0/1 or True/False for "
                f"family='bernoulli'; found {quote_values(pd.unique(y_raw[~ok]))}. Use "
                "family='normal' for a score."
            )
        y = y_raw.astype(float).to_numpy()
    else:
        y = pd.to_numeric(y_raw, errors="coerce").to_numpy(float)
        bad = ~np.isfinite(y)
        if bad.any():
            raise DataError(
                f"Column {outcome!r} (outcome) must hold finite numbers; found "
                f"{quote_values(pd.unique(y_raw[bad]))}."
            )

    arm_names = [parser.label(parsed[lab]) if parsed[lab] else None for lab in labels]
    counts = pd.Series(
        [f"{s}: {a}" for s, a in zip(site_str, arm_names, strict=True) if a is not None]
    ).value_counts()
    lonely = counts[counts < 2]
    if len(lonely):
        raise DataError(
            f"Arm(s) with fewer than 2 people: {quote_values(lonely.index)}. An arm of one "
            "person has no contrast to estimate; check the arm labels or drop those rows."
        )
    if family == "bernoulli" and (y.min() == y.max()):
        raise DataError(f"Column {outcome!r} is {y[0]:g} for everyone; nothing to model.")

    # ---- subgroups and covariates
    levels = {}
    for col in subgroups:
        df[col] = df[col].astype(str)
        levels[col] = sorted(pd.unique(df[col]), key=level_order)
        if len(levels[col]) < 2:
            raise DataError(
                f"Subgroup column {col!r} has one level ({levels[col][0]!r}) in the data used; "
                "a subgroup variable needs at least two."
            )
    subgroup_index = np.column_stack(
        [pd.Categorical(df[c], categories=levels[c]).codes for c in subgroups]
        or [np.zeros((len(df), 0), dtype=int)]
    ).astype(int)
    x_raw, names = encode_covariates(df, model_covariates)
    sd = x_raw.std(axis=0) if len(names) else np.zeros(0)
    const = [n for n, v in zip(names, sd, strict=True) if v == 0]
    if const:
        raise DataError(
            f"Covariate column(s) {const} are constant in the data used; a constant cannot be "
            "adjusted for. Remove them from covariates."
        )
    mean = x_raw.mean(axis=0) if len(names) else np.zeros(0)
    x = (x_raw - mean) / sd if len(names) else x_raw

    sites = list(pd.unique(site_str))
    arm_order = list(dict.fromkeys(a for a in arm_names if a is not None))
    comps_of = {parser.label(c): c for c in parsed.values() if c}
    arm_components = {a: comps_of[a] for a in arm_order}
    present = {c for a in arm_order for c in arm_components[a]}
    components = [c for c in parser.known() if c in present]
    site_index = pd.Categorical(site_str, categories=sites).codes.astype(int)
    arm_index = np.array([arm_order.index(a) if a is not None else -1 for a in arm_names])
    participant = ~np.isin(norm, list(_REFERENCE_LABELS))
    return PersonData(
        y=y,
        site_index=site_index,
        arm_index=arm_index,
        x=x,
        participant=participant,
        sites=sites,
        arms=arm_order,
        components=components,
        arm_components=arm_components,
        covariates=names,
        covariate_mean=mean,
        covariate_sd=sd,
        comparison={s: wanted[s] for s in sites},
        dropped=dropped,
        columns={
            "site": site,
            "arm": arm,
            "outcome": outcome,
            "covariates": covariates,
            "subgroups": subgroups,
        },
        subgroups=levels,
        subgroup_index=subgroup_index,
    )


def _comparison_per_site(comparison, sites) -> dict[str, str]:
    if comparison is None:
        return dict.fromkeys(sites, "control")
    if isinstance(comparison, str):
        return dict.fromkeys(sites, comparison)
    if isinstance(comparison, Mapping):
        unknown = sorted(set(comparison) - set(sites))
        if unknown:
            raise DataError(f"comparison names unknown site(s) {unknown}; sites: {sites}.")
        return {s: comparison.get(s, "control") for s in sites}
    raise DataError(
        f"comparison={comparison!r}: give a label ('control') or a mapping site -> label."
    )
