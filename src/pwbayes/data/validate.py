"""Validation of summary-level input (one row per site x arm).

The caller's DataFrame is never modified: everything works on a copy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..arms import ArmParser
from ..errors import ArmError, DataError, quote_values
from .checks import check_frame, check_roles, decimal_comma, site_labels
from .dtypes import numpy_dtypes

__all__ = ["SummaryData", "validate_summary", "SINGLE_COMPONENT"]

#: Component name used when no arm column is given (classic meta-analysis).
SINGLE_COMPONENT = "effect"

SUSPECT_ACTIONS = ("bias", "exclude")


@dataclass(frozen=True)
class SummaryData:
    """Validated summary rows, ready for a model.

    Attributes
    ----------
    rows : pandas.DataFrame
        Columns ``site``, ``arm``, ``estimate``, ``se``, ``suspect``; one row per
        site x arm used in the model, in input order.
    excluded : pandas.DataFrame
        Rows left out (suspect rows with ``suspect_action="exclude"``).
    sites, components, arms : list of str
        Coordinate labels, in order of appearance (components in canonical order).
    arm_components : dict of str to tuple of str
        The components of each arm label.
    """

    rows: pd.DataFrame
    excluded: pd.DataFrame
    sites: list[str]
    components: list[str]
    arms: list[str]
    arm_components: dict[str, tuple[str, ...]]
    columns: dict[str, str | None] = field(default_factory=dict)

    @property
    def site_index(self) -> np.ndarray:
        """Integer site of every row."""
        return pd.Categorical(self.rows["site"], categories=self.sites).codes.astype(int)

    @property
    def arm_index(self) -> np.ndarray:
        """Integer arm of every row."""
        return pd.Categorical(self.rows["arm"], categories=self.arms).codes.astype(int)

    @property
    def design(self) -> np.ndarray:
        """Arm-by-component indicator matrix x_{a,c} (arms x components)."""
        out = np.zeros((len(self.arms), len(self.components)))
        for a, arm in enumerate(self.arms):
            for comp in self.arm_components[arm]:
                out[a, self.components.index(comp)] = 1.0
        return out

    @property
    def row_labels(self) -> list[str]:
        """``"site: arm"`` for every row (the ``row`` coordinate)."""
        return [f"{s}: {a}" for s, a in zip(self.rows["site"], self.rows["arm"], strict=True)]


def _numeric(data: pd.DataFrame, col: str, labels: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(data[col]):
        raise DataError(
            f"Column {col!r} holds True/False, not numbers; give the column of estimates and "
            "the column of their standard errors."
        )
    values = pd.to_numeric(data[col], errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy())
    if not bad.any():
        return values
    raw = data[col][bad]
    if decimal_comma(raw.dropna()):  # missing values are named once the numbers are read
        raise DataError(
            f"Column {col!r} holds numbers written with a decimal comma "
            f"({quote_values(raw.dropna().head(3))}...); read the file with "
            "pw.read_data(path, decimal=',') (in a spec: decimal = \",\")."
        )
    shown = quote_values(f"{lab} = {v!r}" for lab, v in zip(labels[bad], raw, strict=True))
    fix = (
        "Fix or drop those rows (missing estimates cannot be pooled)."
        if raw.isna().all()
        else "Text must become numbers first (pd.to_numeric); fix or drop the other rows."
    )
    raise DataError(
        f"Column {col!r} must hold finite numbers; {int(bad.sum())} row(s) do not: {shown}. {fix}"
    )


def validate_summary(
    data: pd.DataFrame,
    *,
    site: str,
    estimate: str,
    se: str,
    arm: str | None = None,
    parser: ArmParser,
    suspect: Sequence[str] | str | None = None,
    suspect_action: str = "bias",
) -> SummaryData:
    """Check a summary table and return a validated copy.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per site x arm.
    site, estimate, se : str
        Column names.
    arm : str, optional
        Column of arm labels; ``None`` treats every row as one component ``"effect"``.
    parser : ArmParser
        Turns arm labels into components.
    suspect : list of str or str, optional
        Site names whose comparison group is suspect, or the name of a boolean column
        flagging suspect rows.
    suspect_action : {"bias", "exclude"}
        What to do with suspect rows.

    Returns
    -------
    SummaryData

    Raises
    ------
    DataError
        With the column, the bad values and what is allowed.
    """
    columns = {"site": site, "arm": arm, "estimate": estimate, "se": se}
    check_roles(columns)
    check_frame(data, columns, "site x arm")
    if suspect_action not in SUSPECT_ACTIONS:
        raise DataError(
            f"suspect_action={suspect_action!r} is not allowed; use one of {SUSPECT_ACTIONS}."
        )
    df = numpy_dtypes(data).copy()
    sites = site_labels(df[site], site)
    raw_arms = df[arm] if arm is not None else pd.Series(SINGLE_COMPONENT, index=df.index)
    row_names = sites + ": " + raw_arms.astype(str)
    y = _numeric(df, estimate, row_names)
    s = _numeric(df, se, row_names)
    if (s <= 0).any():
        bad = s <= 0
        shown = quote_values(f"{n} = {v!r}" for n, v in zip(row_names[bad], s[bad], strict=True))
        raise DataError(
            f"Column {se!r} (standard error) must be > 0; {int(bad.sum())} row(s) are not: "
            f"{shown}. "
            "A zero standard error claims perfect knowledge; check the source table."
        )

    _check_spread(s, row_names, se)
    comps_of_row = _components_of_rows(raw_arms, arm, parser)
    arm_names = [parser.label(c) if arm is not None else SINGLE_COMPONENT for c in comps_of_row]

    rows = pd.DataFrame(
        {"site": sites.to_numpy(), "arm": arm_names, "estimate": y.to_numpy(), "se": s.to_numpy()},
        index=df.index,
    )
    dup = rows.duplicated(["site", "arm"], keep=False)
    if dup.any():
        shown = quote_values(sorted(set(rows.loc[dup, "site"] + ": " + rows.loc[dup, "arm"])))
        raise DataError(
            f"Duplicated site x arm rows (columns {site!r}, {arm!r}): {shown}. Each site and arm "
            "may appear once; if the table holds several outcomes, select one first, e.g. "
            "data[data['outcome'] == 'work_gt_8h']."
        )

    rows["suspect"] = _suspect_mask(df, rows, suspect)
    excluded = rows.iloc[0:0]
    if suspect_action == "exclude":
        excluded = rows[rows["suspect"]]
        rows = rows[~rows["suspect"]]
    if len(rows) < 2:
        raise DataError(
            f"Need at least 2 rows to pool, got {len(rows)} (after {len(excluded)} excluded). "
            "A single estimate has nothing to borrow strength from."
        )

    site_order = list(pd.unique(rows["site"]))
    arm_map = dict(zip(arm_names, comps_of_row, strict=True))
    present = {c for a in rows["arm"] for c in arm_map[a]}
    known = parser.known() if arm is not None else [SINGLE_COMPONENT]
    components = [c for c in known if c in present]
    arm_order = list(pd.unique(rows["arm"]))
    arm_components = {a: arm_map[a] for a in arm_order}
    return SummaryData(
        rows=rows.reset_index(drop=True),
        excluded=excluded.reset_index(drop=True),
        sites=site_order,
        components=components,
        arms=arm_order,
        arm_components=arm_components,
        columns=columns,
    )


#: Standard errors spanning more than this factor are warned about.
SE_SPREAD = 100.0


def _check_spread(s: pd.Series, row_names: pd.Series, column: str) -> None:
    """Warn once when the standard errors span orders of magnitude.

    A typo, or a row that would dominate and stall the sampler.
    """
    low, high = int(np.argmin(s.to_numpy())), int(np.argmax(s.to_numpy()))
    if s.iloc[high] > SE_SPREAD * s.iloc[low]:
        warnings.warn(
            f"Column {column!r} (standard error) spans a factor of "
            f"{s.iloc[high] / s.iloc[low]:.3g}: {row_names.iloc[low]} = {s.iloc[low]:.3g} against "
            f"{row_names.iloc[high]} = {s.iloc[high]:.3g}. A row that precise all but fixes its "
            "effect, dominates the pooled estimate and can keep the sampler from converging; "
            "check the source table.",
            UserWarning,
            stacklevel=4,
        )


def _components_of_rows(raw_arms: pd.Series, arm: str | None, parser: ArmParser):
    """Return the components of every row's arm (``effect`` alone without an arm column)."""
    if arm is None:
        return [(SINGLE_COMPONENT,)] * len(raw_arms)
    parsed: dict[str, tuple[str, ...]] = {}
    for label in pd.unique(raw_arms):
        try:
            parsed[label] = parser.parse(label, allow_empty=False)
        except ArmError as err:
            raise ArmError(f"Column {arm!r} (arm): {err}") from None
    return [parsed[a] for a in raw_arms]


def _suspect_mask(df: pd.DataFrame, rows: pd.DataFrame, suspect) -> np.ndarray:
    if suspect is None:
        return np.zeros(len(rows), dtype=bool)
    if isinstance(suspect, str):
        if suspect not in df:
            raise DataError(
                f"suspect={suspect!r} is neither a list of sites nor a column of the data "
                f"(columns: {list(map(str, df.columns))})."
            )
        col = df[suspect]
        if not col.isin([True, False, 0, 1]).all():
            raise DataError(
                f"Column {suspect!r} (suspect flag) must be boolean; got values "
                f"{quote_values(pd.unique(col[~col.isin([True, False, 0, 1])]))}."
            )
        return col.astype(bool).to_numpy()
    wanted = [str(s) for s in suspect]
    unknown = sorted(set(wanted) - set(rows["site"]))
    if unknown:
        raise DataError(
            f"suspect names unknown site(s) {quote_values(unknown)}; the sites are "
            f"{quote_values(pd.unique(rows['site']), limit=20)}."
        )
    return rows["site"].isin(wanted).to_numpy()
