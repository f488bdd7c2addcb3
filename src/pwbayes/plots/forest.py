"""Forest plot: each site alone, partially pooled and fully pooled, per arm."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
from scipy import stats

from ..results import HDI_PROB, SummaryResult
from ._common import draw_interval, hide_unused, legend_entries, style_panel

__all__ = ["plot_forest"]

_ALONE = {"color": "0.45", "marker": "s", "label": "site alone (its own estimate)"}
_MODEL = {"color": "tab:blue", "marker": "o"}
_FULL = {"color": "tab:orange", "marker": "D", "label": "fully pooled (common effect)"}
_NEW = {"color": "tab:blue", "marker": "o", "mfc": "white"}


def plot_forest(
    result: SummaryResult,
    *,
    arms: Sequence[str] | None = None,
    hdi_prob: float = HDI_PROB,
    title: str | None = None,
    ncols: int = 3,
    show_probability: bool = True,
):
    """Forest plot per arm comparing no, partial and full pooling.

    Each panel is one arm. For every site that ran it: the site's own estimate with
    its normal ``hdi_prob`` interval (grey), and the model's posterior mean with its
    HDI (blue). The fully pooled common effect (exact, conjugate normal model; orange)
    is drawn as a band across the panel and as a row; then the model's pooled effect
    and its prediction for a new site. ``P(>0)`` is written beside each posterior.

    Parameters
    ----------
    result : SummaryResult
    arms : sequence of str, optional
        Arms to show (display labels); default all.
    hdi_prob : float
        Interval mass (default 0.9, as in the published figures).
    title : str, optional
        Figure title; the data's note (e.g. SYNTHETIC) is always added as a caption.
    ncols : int
        Panels per row.
    show_probability : bool
        Write ``P(>0)`` beside each posterior interval.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cfg = result.config
    arms = list(arms) if arms is not None else list(cfg["arms"])
    unknown = [a for a in arms if a not in cfg["arms"]]
    if unknown:
        raise ValueError(f"Unknown arm(s) {unknown}; the result has arms {cfg['arms']}.")
    eff = result.effects(hdi_prob=hdi_prob)
    rows = cfg["rows"]
    z = stats.norm.ppf(0.5 + hdi_prob / 2)
    fe = cfg["fixed_effect"] or {"arm": [], "mean": [], "sd": []}  # None: no usable rows
    fixed = dict(zip(fe["arm"], zip(fe["mean"], fe["sd"], strict=True), strict=True))
    model_label = f"pwbayes, {cfg['pooling']} pooling"

    ncols = max(1, min(ncols, len(arms)))
    nrows = math.ceil(len(arms) / ncols)
    heights = [
        len([s for s, a in zip(rows["site"], rows["arm"], strict=True) if a == arm]) + 3
        for arm in arms
    ]
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.6 * ncols, 0.42 * max(heights) * nrows + 1.8), squeeze=False
    )
    for ax, arm in zip(axes.flat, arms, strict=False):
        sites = [s for s, a in zip(rows["site"], rows["arm"], strict=True) if a == arm]
        labels = []
        y = 0
        for site in sites:
            k = next(
                i
                for i, (s, a) in enumerate(zip(rows["site"], rows["arm"], strict=True))
                if s == site and a == arm
            )
            est, se = rows["estimate"][k], rows["se"][k]
            if est is None:  # suppressed by disclosure control (a small cell)
                continue
            ax.errorbar(est, y + 0.18, xerr=z * se, ls="none", ms=5, **_ALONE)
            post = eff[(eff.estimand == "theta") & (eff.site == site) & (eff.arm == arm)]
            _posterior(ax, post, y - 0.18, model_label, show_probability, **_MODEL)
            labels.append(site)
            y -= 1
        if arm in fixed and cfg["pooling"] != "none":
            m, sd = fixed[arm]
            ax.axvspan(m - z * sd, m + z * sd, color=_FULL["color"], alpha=0.12, lw=0)
            ax.errorbar(m, y + 0.18, xerr=z * sd, ls="none", ms=5, **_FULL)
            pooled = eff[(eff.estimand == "mu_arm") & (eff.arm == arm)]
            _posterior(ax, pooled, y - 0.18, model_label, show_probability, **_MODEL)
            labels.append("pooled")
            y -= 1
            new = eff[(eff.estimand == "theta_new_arm") & (eff.arm == arm)]
            _posterior(ax, new, y, "new site (prediction)", show_probability, **_NEW)
            labels.append("new site")
            y -= 1
        ax.axvline(0, color="black", lw=0.8)
        if show_probability:  # room for the P(>0) labels right of the intervals
            lo, hi = ax.get_xlim()
            ax.set_xlim(lo, hi + 0.2 * (hi - lo))
        style_panel(ax, labels, arm, zero_line=False)  # drawn before the limits were set
        ax.set_ylim(y + 0.4, 0.6)
    hide_unused(axes, len(arms))
    handles, labels = legend_entries(axes)
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=4,
        frameon=False,
        fontsize=9,
        bbox_to_anchor=(0.5, 0.0),
    )
    outcome_unit = "effect (outcome scale; percentage points for binary outcomes)"
    fig.suptitle(
        title or f"Effect per arm and site, {hdi_prob:.0%} intervals", fontsize=12, y=0.995
    )
    fig.supxlabel(outcome_unit, fontsize=9, y=0.055)
    if result.note:
        fig.text(
            0.5,
            0.955,
            result.note,
            ha="center",
            va="top",
            fontsize=8.5,
            color="firebrick",
            wrap=True,
        )
    fig.tight_layout(rect=(0, 0.08, 1, 0.93))
    return fig


def _posterior(ax, row, y, label, show_probability, **style):
    if draw_interval(ax, row, y, label, style) and show_probability:
        r = row.iloc[0]
        ax.annotate(
            f"P(>0)={r['p_positive']:.2f}",
            (r["hdi_high"], y),
            xytext=(4, -3),
            textcoords="offset points",
            fontsize=7,
            color=style["color"],
        )
