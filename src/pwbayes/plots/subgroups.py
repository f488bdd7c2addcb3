"""Subgroup forest plot: each arm's effect per subgroup level, unpooled versus shrunk."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ..errors import DataError
from ..intervals import HDI_PROB
from ._common import (
    Fit,
    caption_of,
    chosen_arms,
    draw_interval,
    hide_unused,
    legend_entries,
    style_panel,
)

__all__ = ["plot_subgroups"]

_RAW = {"color": "0.45", "marker": "s"}
_SHRUNK = {"color": "tab:blue", "marker": "o"}
_OVERALL = {"color": "black", "marker": "D"}


def plot_subgroups(
    result: Fit,
    raw: pd.DataFrame | None = None,
    *,
    arms: Sequence[str] | None = None,
    site: str | None = None,
    hdi_prob: float = HDI_PROB,
    title: str | None = None,
    ncols: int = 3,
) -> Figure:
    """Forest plot of the effect of each arm in each subgroup level.

    One panel per arm. From the top: the arm's overall effect (black), then for each
    subgroup variable its levels, each with the model's shrunk posterior (blue, mean and
    ``hdi_prob`` HDI) and, if ``raw`` is given, the unpooled estimate of that level alone
    (grey, normal interval). Pooled over sites by default, or for one ``site``. Rows that
    disclosure control suppressed are not drawn; the caption says how many.

    Parameters
    ----------
    result : Fit
        A fit of ``PersonModel(..., subgroups=[...])``.
    raw : pandas.DataFrame, optional
        Unpooled estimates from :func:`pwbayes.subgroup_estimates` (one or several
        subgroup variables concatenated). Pooled over sites they are combined by inverse
        variance weights (a fixed-effect average of each level's own estimates).
    arms : sequence of str, optional
        Arms to show; default the arms of one component each (``Extra Hulp``...), or all
        arms when there are none.
    site : str, optional
        One site's effects instead of the pooled ones.
    hdi_prob : float
        Interval mass (default 0.9).
    title : str, optional
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    m = result.record.model
    if m.subgroups is None:
        raise DataError("plot_subgroups needs a fit of PersonModel(..., subgroups=[...]).")
    if site is not None and site not in m.sites:
        raise DataError(f"site={site!r} is not in the result; sites: {list(m.sites)}.")
    singles = [a for a in m.arms if len(m.arm_components[a]) == 1] or list(m.arms)
    arms = chosen_arms(arms, m.arms, singles)
    eff = result.effects(hdi_prob=hdi_prob)
    here = eff["site"].isna() if site is None else eff["site"] == site
    overall = eff[here & eff["arm"].notna() & (eff["level"] != "new_site")]
    tables = {
        "overall": overall[overall["estimand"].isin(["mu_arm", "theta"])],
        "sub": eff[here & (eff["level"] == "subgroup") & eff["arm"].notna()],
        "raw": _pool_raw(raw, site) if raw is not None else None,
    }
    levels = m.subgroups.levels
    z = float(stats.norm.ppf(0.5 + hdi_prob / 2))
    n_rows = 1 + sum(len(v) + 1 for v in levels.values())
    ncols = max(1, min(ncols, len(arms)))
    nrows = math.ceil(len(arms) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.8 * ncols, 0.36 * n_rows * nrows + 2.0), squeeze=False
    )
    for ax, arm in zip(axes.flat, arms, strict=False):
        _panel(ax, arm, levels, tables, z)
    hide_unused(axes, len(arms))
    handles, names = legend_entries(axes)
    fig.legend(handles, names, loc="lower center", ncol=3, frameon=False,
               fontsize=9, bbox_to_anchor=(0.5, 0.0))  # fmt: skip
    where = "pooled over sites" if site is None else site
    fig.suptitle(
        title
        or f"What works for whom: effect per subgroup level ({where}), {hdi_prob:.0%} intervals",
        fontsize=11,
        y=0.995,
    )
    fig.supxlabel(f"effect ({m.scale})", fontsize=9, y=0.06)
    caption = caption_of(result)
    if caption:
        fig.text(0.5, 0.955, caption, ha="center", va="top", fontsize=8.5,
                 color="firebrick", wrap=True)  # fmt: skip
    fig.tight_layout(rect=(0, 0.09, 1, 0.93))
    return fig


def _panel(ax, arm: str, levels, tables: dict, z: float) -> None:
    """One arm: its overall effect, then each variable's levels, shrunk and unpooled."""
    labels, y = [], 0.0
    draw_interval(ax, tables["overall"][tables["overall"]["arm"] == arm], y,
                  "overall (all participants)", _OVERALL)  # fmt: skip
    labels.append("overall")
    sub, raw = tables["sub"], tables["raw"]
    for var, var_levels in levels.items():
        y -= 1
        labels.append(f"{var}:")
        for lev in var_levels:
            y -= 1
            labels.append(f"  {lev}")
            rows = sub[(sub["arm"] == arm) & (sub["subgroup"] == var)]
            rows = rows[rows["subgroup_level"] == lev]
            draw_interval(ax, rows, y - 0.15, "shrunk (pwbayes subgroup model)", _SHRUNK)
            if raw is not None and (arm, var, lev) in raw.index:
                est, se = raw.loc[(arm, var, lev), ["estimate", "se"]]
                ax.errorbar(est, y + 0.15, xerr=z * se, ls="none", ms=5,
                            label="unpooled (this level alone)", **_RAW)  # fmt: skip
    style_panel(ax, labels, arm, fontsize=8)
    ax.set_ylim(y - 0.6, 0.6)


def _pool_raw(raw: pd.DataFrame, site: str | None) -> pd.DataFrame:
    """Per arm, variable and level: one site's estimate, or the inverse-variance average."""
    needed = ["site", "arm", "subgroup", "subgroup_level", "estimate", "se"]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise DataError(
            f"raw needs columns {needed} (from pw.subgroup_estimates); missing {missing}."
        )
    rows = raw if site is None else raw[raw["site"] == site]
    rows = rows[np.isfinite(rows["se"]) & (rows["se"] > 0)]
    w = 1.0 / rows["se"] ** 2
    grouped = rows.assign(w=w, wx=w * rows["estimate"]).groupby(
        ["arm", "subgroup", "subgroup_level"]
    )
    sums = grouped[["w", "wx"]].sum()
    return pd.DataFrame({"estimate": sums["wx"] / sums["w"], "se": 1.0 / np.sqrt(sums["w"])})
