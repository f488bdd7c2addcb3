"""Unpooled subgroup estimates: the published method within each level of a subgroup.

The first Utrecht analyses of "what works for whom" split the participants by a
characteristic (basic qualification, distance to the labour market) and re-ran the
per-site linear model within each level. :func:`subgroup_estimates` does exactly that
(one :func:`~pwbayes.site_estimates` per level) and :func:`subgroup_differences` tests
each level against a reference level with the usual z-test. These are the "raw" estimates
of the subgroup forest plot and the reference against which the shrunk subgroup model is
judged: with many subgroups, unpooled tests produce false discoveries. Cells with fewer
than ``min_cell`` persons are suppressed (:mod:`.disclosure`). This module needs pandas,
numpy and scipy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..arms import ArmParser, comparison_per_site, comparison_role, default_parser
from ..errors import DataError
from .checks import check_column_list, check_frame
from .disclosure import (
    MIN_CELL,
    cell_counts,
    check_min_cell,
    count_text,
    is_small,
    suppression_note,
)
from .site_estimates import _site_estimates
from .subgroups import MAX_LEVELS, bin_subgroups, ordered_levels

__all__ = ["MAX_LEVELS", "subgroup_differences", "subgroup_estimates"]


def subgroup_estimates(
    data: pd.DataFrame,
    *,
    outcome: str,
    subgroup: str,
    site: str = "municipality",
    arm: str = "arm",
    covariates: Sequence[str] = (),
    family: str = "bernoulli",
    comparison: str | Mapping[str, str] | None = None,
    missing: str = "raise",
    parser: ArmParser | None = None,
    min_cell: int = MIN_CELL,
    bins: int | Sequence[float] | None = None,
) -> pd.DataFrame:
    """Per site, arm and level of ``subgroup``: the published linear model within the level.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; not modified.
    outcome, subgroup, site, arm : str
        Column names; ``subgroup`` is a categorical (or boolean) characteristic.
    covariates, family, comparison, missing, parser
        As for :func:`~pwbayes.site_estimates`; ``subgroup`` must not be a covariate (it
        is constant within each level).
    min_cell : int
        Rows whose arm or comparison group holds fewer persons within the level are
        suppressed; ``attrs["suppressed"]`` lists them (never their counts). The counts of
        the same site x arm (or comparison group) in the other levels are blank (<NA>), so
        that their difference from the cell's total does not give the small one away.
    bins : int or sequence of float, optional
        Cut a numeric ``subgroup`` into this many quantile bins, or at these edges (as
        :func:`~pwbayes.bin_covariates`). Default: a numeric column with more than
        :data:`MAX_LEVELS` distinct values is cut into quartiles; ``attrs["levels"]`` holds
        the levels used.

    Returns
    -------
    pandas.DataFrame
        Columns ``site, arm, subgroup, subgroup_level, estimate, se, n_arm, n_comparison,
        comparison`` (percentage points for binary outcomes).
    """
    min_cell = check_min_cell(min_cell)
    _check_arguments(data, subgroup, (site, arm, outcome), covariates, bins)
    data = bin_subgroups(data, [subgroup], None if bins is None else {subgroup: bins})
    values = data[subgroup]
    if values.isna().any():
        n_missing = count_text(int(values.isna().sum()), min_cell)
        if missing != "drop":
            raise DataError(
                f"column {subgroup!r} has {n_missing} missing value(s); fill them in or pass "
                "missing='drop' to leave those rows out (with a warning)."
            )
        warnings.warn(
            f"dropped {n_missing} row(s) with a missing {subgroup!r}.", UserWarning, stacklevel=2
        )
    levels = ordered_levels(values)
    parser = parser or default_parser()
    tables, suppressed = [], []
    for level in levels:
        rows, notes = _without_small_cells(
            data.loc[values.astype(str) == level], site, arm, comparison, min_cell, parser,
            {subgroup: level},
        )  # fmt: skip
        suppressed += notes
        try:
            within = f" (within {subgroup}={level})"
            table = _site_estimates(rows, outcome, site, arm, covariates, family, comparison,
                                    missing, parser, min_cell, within)  # fmt: skip
        except DataError as err:
            raise DataError(f"within {subgroup}={level}: {err}") from None
        if table.empty:
            continue
        table.insert(2, "subgroup", subgroup)
        table.insert(3, "subgroup_level", str(level))
        tables.append(table)
    if not tables:
        raise DataError(
            f"every site x arm cell within the levels of {subgroup!r} has fewer than "
            f"{min_cell} persons: nothing can be reported."
        )
    out = pd.concat(tables, ignore_index=True)
    # cells were dropped before fitting; this guards the counts as reported
    out = out.loc[
        [not (is_small(a, min_cell) or is_small(c, min_cell))
         for a, c in zip(out["n_arm"], out["n_comparison"], strict=True)]
    ]  # fmt: skip
    out = _secondary_counts(out.reset_index(drop=True), data, site, arm, subgroup, comparison,
                            min_cell, parser)  # fmt: skip
    out.attrs["suppressed"] = suppressed
    out.attrs["levels"] = [str(v) for v in levels]
    out.attrs["min_cell"] = min_cell
    if data.attrs.get("note"):
        out.attrs["note"] = data.attrs["note"]
    return out


def _check_arguments(data: pd.DataFrame, subgroup, roles, covariates, bins) -> None:
    """Refuse a subgroup that is not one column of person characteristics."""
    site, arm, outcome = roles
    covariates = check_column_list("covariates", covariates)
    if not isinstance(subgroup, str):
        raise DataError(
            f"subgroup={subgroup!r}: give one column name; for several subgroup variables call "
            "subgroup_estimates once per variable (or use PersonModel(subgroups=[...]))."
        )
    if subgroup in (site, arm, outcome):
        raise DataError(
            f"subgroup={subgroup!r} is the site, arm or outcome column; a subgroup is a "
            "characteristic of the persons, e.g. 'basic_qualification'."
        )
    needed = {"site": site, "arm": arm, "outcome": outcome, "subgroup": subgroup}
    needed.update({f"covariate {c!r}": c for c in covariates})
    check_frame(data, needed, "person")  # before the levels, so no "within ..." in front
    if subgroup in covariates:
        raise DataError(
            f"{subgroup!r} is both the subgroup and a covariate; within a level it is "
            "constant, so leave it out of covariates."
        )
    if bins is not None and not (
        pd.api.types.is_numeric_dtype(data[subgroup])
        and not pd.api.types.is_bool_dtype(data[subgroup])
    ):
        raise DataError(f"bins={bins!r}: {subgroup!r} is not numeric; its levels are used as is.")


def _secondary_counts(out, data, site, arm, subgroup, comparison, min_cell, parser):
    """Blank the counts that would give a small cell of another level away.

    When a site x arm cell (or a comparison group) is small, or empty, in one level of the
    subgroup, its counts in the other levels are not shown: with the cell's total (from
    :func:`~pwbayes.site_estimates`) their difference would be the small count.
    """
    counts = cell_counts(data, site=site, arm=arm, subgroups=[subgroup])
    by_level = counts[counts.subgroup == subgroup].set_index(["site", "arm", "subgroup_level"])["n"]
    overall = counts[counts.subgroup == ""]
    wanted = comparison_per_site(comparison, list(pd.unique(overall["site"])))
    levels = ordered_levels(data[subgroup])
    hidden_arm, hidden_comp = set(), set()
    for s, a in zip(overall["site"], overall["arm"], strict=True):
        if not any(is_small(by_level.get((s, a, lev), 0), min_cell) for lev in levels):
            continue
        role = comparison_role(a, wanted[s], parser)
        if role == "comparison":
            hidden_comp.add(s)
        elif role == "arm":
            hidden_arm.add((s, parser.label(parser.parse(a, allow_empty=False))))
    out = out.astype({"n_arm": "Int64", "n_comparison": "Int64"})  # counts, or <NA>
    cell = list(zip(out["site"], out["arm"], strict=True))
    out.loc[[c in hidden_arm for c in cell], "n_arm"] = pd.NA
    out.loc[out["site"].isin(hidden_comp), "n_comparison"] = pd.NA
    return out


def _without_small_cells(rows: pd.DataFrame, site, arm, comparison, min_cell, parser, extra):
    """Drop the small cells before anything is estimated; return the rows and notes.

    Site x arm cells of fewer than ``min_cell`` persons go; a site goes entirely when its
    comparison group (:func:`~pwbayes.arms.comparison_role`) is small.
    """
    counts = cell_counts(rows, site=site, arm=arm)
    small = counts.loc[[is_small(n, min_cell) for n in counts["n"]], ["site", "arm"]]
    wanted = comparison_per_site(comparison, list(pd.unique(counts["site"])))
    notes, drop = [], pd.Series(False, index=rows.index)
    for s, a in small.itertuples(index=False):
        in_site = rows[site].astype(str) == s
        if comparison_role(a, wanted[s], parser) == "comparison":
            drop |= in_site
            notes.append(suppression_note(min_cell, {"site": s, "comparison group": a, **extra}))
        else:
            drop |= in_site & (rows[arm].astype(str) == a)
            notes.append(suppression_note(min_cell, {"site": s, "arm": a, **extra}))
    return rows.loc[~drop], notes


def subgroup_differences(
    estimates: pd.DataFrame, reference: str | None = None, alpha: float = 0.10
) -> pd.DataFrame:
    """Each level against a reference level, per site and arm: difference, SE, z-test.

    The levels are disjoint groups of people fitted separately, so the difference's
    standard error is ``sqrt(se_level^2 + se_reference^2)``.

    Parameters
    ----------
    estimates : pandas.DataFrame
        From :func:`subgroup_estimates`.
    reference : str, optional
        Reference level (as in the ``subgroup_level`` column); default the first level (the lowest
        bin of a numeric subgroup).
    alpha : float
        Significance level of ``significant`` (two-sided); 10% as in the reports.

    Returns
    -------
    pandas.DataFrame
        ``site, arm, subgroup, subgroup_level, reference, difference, se, p_value, significant``.
    """
    levels = list(dict.fromkeys(estimates["subgroup_level"]))  # the estimates' order of levels
    reference = levels[0] if reference is None else str(reference)
    if reference not in levels:
        raise DataError(f"reference={reference!r} is not a level; levels: {levels}.")
    key = ["site", "arm", "subgroup"]
    ref = estimates.loc[estimates["subgroup_level"] == reference, [*key, "estimate", "se"]]
    other = estimates.loc[
        estimates["subgroup_level"] != reference, [*key, "subgroup_level", "estimate", "se"]
    ]
    both = other.merge(ref, on=key, suffixes=("", "_ref"))
    diff = both["estimate"] - both["estimate_ref"]
    se = np.hypot(both["se"], both["se_ref"])
    p = 2 * stats.norm.sf(np.abs(diff / se))
    out = both[[*key, "subgroup_level"]].assign(
        reference=reference, difference=diff, se=se, p_value=p, significant=p < alpha
    )
    return out.reset_index(drop=True)
