"""The published method: a linear model per site with robust standard errors.

Footnote 2 of the joint report: each municipality's effects were estimated with a linear
(probability) model of the outcome on the arm indicators and background characteristics,
without interactions, with robust standard errors. :func:`site_estimates` reproduces that
per site and returns a summary table that :class:`~pwbayes.SummaryModel` accepts: the
bridge from person-level data to the summary-level model, and the "no pooling" reference.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..arms import ArmParser, default_parser
from .disclosure import MIN_CELL, check_min_cell, is_small, suppression_note
from .person import PersonData, validate_person

__all__ = ["estimates_from", "site_estimates"]


def _ols_hc1(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and HC1 (White, small-sample corrected) standard errors."""
    n, k = x.shape
    xtx_inv = np.linalg.pinv(x.T @ x)
    coef = xtx_inv @ (x.T @ y)
    if n <= k:  # no residual degrees of freedom (a tiny cell): no standard error
        return coef, np.full(k, np.nan)
    resid = y - x @ coef
    meat = (x * resid[:, None] ** 2).T @ x
    cov = xtx_inv @ meat @ xtx_inv * n / (n - k)
    # the diagonal is >= 0 in exact arithmetic; rounding can leave -1e-20 on a singular design
    return coef, np.sqrt(np.clip(np.diag(cov), 0.0, None))


def site_estimates(
    data: pd.DataFrame,
    *,
    outcome: str,
    site: str = "municipality",
    arm: str = "arm",
    covariates: Sequence[str] = (),
    family: str = "bernoulli",
    comparison: str | Mapping[str, str] | None = None,
    missing: str = "raise",
    parser: ArmParser | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Per site: linear model of the outcome on arm indicators and covariates, HC1 SEs.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; not modified.
    outcome, site, arm : str
        Column names.
    covariates : sequence of str
        Background characteristics; categorical columns become indicators.
    family : {"bernoulli", "normal"}
        Binary outcomes are reported in percentage points (coefficient x 100).
    comparison, missing, parser
        As for :class:`~pwbayes.PersonModel`.
    min_cell : int
        Disclosure control: rows whose arm or comparison group holds fewer persons are
        left out and named in ``attrs["suppressed"]`` (default 10, CBS's rule).

    Returns
    -------
    pandas.DataFrame
        One row per site x arm: ``site, arm, estimate, se, n_arm, n_comparison,
        comparison``; ``attrs["note"]`` is carried over from ``data``. Feed it to
        ``SummaryModel(table, site="site", arm="arm", estimate="estimate", se="se")``.
    """
    return _site_estimates(data, outcome, site, arm, covariates, family, comparison, missing,
                           parser or default_parser(), check_min_cell(min_cell))  # fmt: skip


def _site_estimates(
    data, outcome, site, arm, covariates, family, comparison, missing, parser, min_cell, within=""
) -> pd.DataFrame:
    """:func:`site_estimates` with a checked ``min_cell`` (also used per subgroup level)."""
    pdata = validate_person(
        data,
        site=site,
        arm=arm,
        outcome=outcome,
        covariates=covariates,
        family=family,
        comparison=comparison,
        missing=missing,
        parser=parser,
        min_cell=min_cell,
    )
    table = estimates_from(pdata, family=family, note=data.attrs.get("note"))
    table.attrs.update(
        unit="percentage points" if family == "bernoulli" else "points",
        **({"site_noun": data.attrs["site_noun"]} if "site_noun" in data.attrs else {}),
    )
    if table.empty:
        table.attrs.update(min_cell=min_cell, suppressed=[])
        return table
    small = np.array(
        [
            is_small(a, min_cell) or is_small(c, min_cell)
            for a, c in zip(table["n_arm"], table["n_comparison"], strict=True)
        ]
    )
    flat = ~small & ~(np.isfinite(table["se"].to_numpy()) & (table["se"].to_numpy() > 0))
    if flat.any():
        names = [f"{s}: {a}" for s, a in zip(table.site[flat], table.arm[flat], strict=True)]
        warnings.warn(
            f"No standard error for {', '.join(names)}{within}: the outcome hardly varies in "
            "the arm "
            "and its comparison group, so the linear model cannot say how uncertain the "
            "estimate is. Left out of the table (a summary-level model needs standard errors).",
            UserWarning,
            stacklevel=3,
        )
    out = table.loc[~small & ~flat].reset_index(drop=True)
    out.attrs = dict(table.attrs)
    out.attrs["min_cell"] = min_cell
    out.attrs["suppressed"] = [
        suppression_note(min_cell, {"site": s, "arm": a})
        for s, a in zip(table.loc[small, "site"], table.loc[small, "arm"], strict=True)
    ]
    return out


def estimates_from(pdata: PersonData, *, family: str, note: str | None = None) -> pd.DataFrame:
    """:func:`site_estimates` on already validated data (used by the person-level model)."""
    # Standardised covariates give the same arm coefficients and robust SEs as raw ones.
    x_cov = pdata.x
    scale = 100.0 if family == "bernoulli" else 1.0
    rows = []
    for s_idx, s in enumerate(pdata.sites):
        in_site = pdata.site_index == s_idx
        arms_here = [a for a in range(len(pdata.arms)) if np.any(in_site & (pdata.arm_index == a))]
        xs = [np.ones(in_site.sum())]
        xs += [(pdata.arm_index[in_site] == a).astype(float) for a in arms_here]
        cov = x_cov[in_site]
        keep_cols = cov.std(axis=0) > 0 if cov.shape[1] else np.zeros(0, bool)
        design = np.column_stack(xs + [cov[:, keep_cols]])
        coef, se = _ols_hc1(design, pdata.y[in_site])
        n_comp = int(np.sum(in_site & (pdata.arm_index == -1)))
        for j, a in enumerate(arms_here, start=1):
            rows.append(
                {
                    "site": s,
                    "arm": pdata.arms[a],
                    "estimate": scale * coef[j],
                    "se": scale * se[j],
                    "n_arm": int(np.sum(in_site & (pdata.arm_index == a))),
                    "n_comparison": n_comp,
                    "comparison": pdata.comparison[s],
                }
            )
    out = pd.DataFrame(rows)
    if note:
        out.attrs["note"] = note
    return out
