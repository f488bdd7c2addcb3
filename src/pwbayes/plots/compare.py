"""Three-way forest plot: own linear estimate, summary- and person-level pooling, per arm."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ..errors import DataError
from ..intervals import HDI_PROB
from ._common import Fit, chosen_arms, draw_interval, hide_unused, legend_entries, style_panel

__all__ = ["plot_compare"]

_STYLES = (
    {"color": "tab:orange", "marker": "o"},
    {"color": "tab:blue", "marker": "D"},
    {"color": "tab:green", "marker": "^"},
    {"color": "tab:purple", "marker": "v"},
)


def plot_compare(
    site_table: pd.DataFrame,
    results: Mapping[str, Fit],
    *,
    arms: Sequence[str] | None = None,
    hdi_prob: float = HDI_PROB,
    title: str | None = None,
    ncols: int = 3,
) -> Figure:
    """Compare pooled models with each site's own linear estimate, per arm.

    Parameters
    ----------
    site_table : pandas.DataFrame
        From :func:`pwbayes.site_estimates` (columns ``site, arm, estimate, se``): the
        published method, drawn in grey with its normal ``hdi_prob`` interval.
    results : mapping of str to result
        Labelled fits to compare, e.g. ``{"summary-level": fit_summary,
        "person-level": fit_person}``; their site x arm effects (``theta``) and pooled
        arm effects (``mu_arm``) are drawn on the outcome's scale.
    arms : sequence of str, optional
        Arms to show; default those of ``site_table``.
    hdi_prob : float
        Interval mass (default 0.9).
    title : str, optional
    ncols : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not results:
        raise DataError("results is empty; pass e.g. {'person-level': fit}.")
    known = list(pd.unique(site_table["arm"]))
    arms = chosen_arms(arms, known, known)
    effects = {name: r.effects(hdi_prob=hdi_prob) for name, r in results.items()}
    z = float(stats.norm.ppf(0.5 + hdi_prob / 2))
    ncols = max(1, min(ncols, len(arms)))
    nrows = math.ceil(len(arms) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.2 * nrows + 1.2), squeeze=False)
    for ax, arm in zip(axes.flat, arms, strict=False):
        _panel(ax, arm, site_table, effects, z)
    hide_unused(axes, len(arms))
    handles, names = legend_entries(axes)
    fig.legend(handles, names, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    fig.suptitle(
        title or f"Own linear estimate vs pooled models, {hdi_prob:.0%} intervals", fontsize=12
    )
    note = site_table.attrs.get("note") or next((r.note for r in results.values() if r.note), None)
    if note:
        fig.text(0.5, 0.95, note, ha="center", va="top", fontsize=8.5, color="firebrick")
    fig.supxlabel("effect (percentage points for binary outcomes)", fontsize=9, y=0.06)
    fig.tight_layout(rect=(0, 0.08, 1, 0.93))
    return fig


def _panel(ax, arm: str, site_table: pd.DataFrame, effects: dict, z: float) -> None:
    """One arm: each site's own estimate and the models' site and pooled effects."""
    offsets = np.linspace(-0.25, 0.25, len(effects) + 1)
    models = list(zip(effects.items(), offsets[1:], _STYLES, strict=False))
    sites = list(site_table.loc[site_table["arm"] == arm, "site"])
    for y, site in enumerate(sites):
        row = site_table[(site_table["site"] == site) & (site_table["arm"] == arm)].iloc[0]
        ax.errorbar(row["estimate"], -y + offsets[0], xerr=z * row["se"], ls="none", ms=5,
                    color="0.45", marker="s", label="site alone (linear model)")  # fmt: skip
        for (name, eff), off, style in models:
            here = eff[(eff.estimand == "theta") & (eff.site == site) & (eff.arm == arm)]
            draw_interval(ax, here, -y + off, name, style)
    for (name, eff), off, style in models:
        pooled = eff[(eff.estimand == "mu_arm") & (eff.arm == arm)]
        draw_interval(ax, pooled, -len(sites) + off, name, style)
    style_panel(ax, [*sites, "pooled"], arm)
