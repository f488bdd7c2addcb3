"""Forest plot: each site alone, partially pooled and fully pooled, per arm."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from scipy import stats

from .._text import plural
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

__all__ = ["plot_forest"]

_ALONE = {"color": "0.45", "marker": "s"}
_MODEL = {"color": "tab:blue", "marker": "o"}
_POOLED = {"color": "tab:blue", "marker": "D"}
_FULL = {"color": "tab:orange", "marker": "D"}
_NEW = {"color": "tab:blue", "marker": "o", "mfc": "white"}


def _labels(noun: str, hdi_prob: float) -> dict[str, str]:
    """Write the legend: every marker and the band, said once."""
    p = f"{hdi_prob:.0%}"
    return {
        "alone": f"{noun} alone: its own estimate, {p} interval",
        "model": f"{noun} in the partially pooled model, {p} HDI",
        "pooled": f"pooled effect (partial pooling): the mean over {plural(noun)}, {p} HDI",
        "full": f"fully pooled (one common effect), {p} interval",
        "band": "band: the fully pooled interval, across the panel",
        "new": f"effect in a new {noun} (prediction), {p} HDI",
        "new_tick": f"new {noun}",
    }


def plot_forest(
    result: Fit,
    *,
    arms: Sequence[str] | None = None,
    hdi_prob: float = HDI_PROB,
    title: str | None = None,
    ncols: int = 3,
    show_probability: bool = True,
) -> Figure:
    """Forest plot per arm comparing no, partial and full pooling.

    Each panel is one arm. For every site that ran it: the site's own estimate with
    its normal ``hdi_prob`` interval (grey), and the model's posterior mean with its
    HDI (blue). The fully pooled common effect (exact, conjugate normal model; orange)
    is drawn as a band across the panel and as a row; then the model's pooled effect
    and its prediction for a new site. ``P(>0)`` is written beside each posterior. Rows
    that disclosure control emptied are not drawn.

    Parameters
    ----------
    result : SummaryResult or PersonResult
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
    m = result.record.model
    arms = chosen_arms(arms, m.arms, m.arms)
    eff = result.effects(hdi_prob=hdi_prob)
    labels = _labels(m.site_noun, hdi_prob)
    z = float(stats.norm.ppf(0.5 + hdi_prob / 2))
    ref = result.common_effect().set_index("arm")
    ncols = max(1, min(ncols, len(arms)))
    nrows = math.ceil(len(arms) / ncols)
    height = max(sum(r.arm == arm for r in m.rows) for arm in arms) + 3
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(max(4.6 * ncols, 9.0), 0.42 * height * nrows + 2.4), squeeze=False
    )
    for ax, arm in zip(axes.flat, arms, strict=False):
        fixed = ref.loc[arm] if arm in ref.index and m.pooling != "none" else None
        _panel(ax, arm, m.rows, eff, fixed, z, labels, show_probability)
    hide_unused(axes, len(arms))
    handles, names = legend_entries(axes)
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False, fontsize=8.5,
               bbox_to_anchor=(0.5, 0.0))  # fmt: skip
    fig.suptitle(
        title or f"Effect per arm and {m.site_noun}, {hdi_prob:.0%} intervals", fontsize=12,
        y=0.995,
    )  # fmt: skip
    fig.supxlabel(f"effect ({m.scale})", fontsize=9, y=0.105)
    caption = caption_of(result)
    if caption:
        fig.text(0.5, 0.955, caption, ha="center", va="top", fontsize=8.5, color="firebrick",
                 wrap=True)  # fmt: skip
    fig.tight_layout(rect=(0, 0.13, 1, 0.93))
    return fig


def _panel(ax, arm, rows, eff, fixed, z, text, show_probability) -> None:
    """One arm: its sites alone and pooled, the common effect, pooled and new site."""
    labels, y = [], 0
    for row in rows:
        if row.arm != arm or row.estimate is None:  # None: suppressed, or no estimate
            continue
        ax.errorbar(row.estimate, y + 0.18, xerr=z * row.se, ls="none", ms=5,
                    label=text["alone"], **_ALONE)  # fmt: skip
        post = eff[(eff.estimand == "theta") & (eff.site == row.site) & (eff.arm == arm)]
        _posterior(ax, post, y - 0.18, text["model"], show_probability, **_MODEL)
        labels.append(row.site)
        y -= 1
    if fixed is not None:
        mean, sd = fixed["mean"], fixed["sd"]
        ax.axvspan(mean - z * sd, mean + z * sd, color=_FULL["color"], alpha=0.12, lw=0,
                   label=text["band"])  # fmt: skip
        ax.errorbar(mean, y + 0.18, xerr=z * sd, ls="none", ms=5, label=text["full"], **_FULL)
        pooled = eff[(eff.estimand == "mu_arm") & (eff.arm == arm)]
        _posterior(ax, pooled, y - 0.18, text["pooled"], show_probability, **_POOLED)
        labels.append("pooled")
        y -= 1
        new = eff[(eff.estimand == "theta_new_arm") & (eff.arm == arm)]
        _posterior(ax, new, y, text["new"], show_probability, **_NEW)
        labels.append(text["new_tick"])
        y -= 1
    ax.axvline(0, color="black", lw=0.8)
    if show_probability:  # room for the P(>0) labels right of the intervals
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, hi + 0.2 * (hi - lo))
    style_panel(ax, labels, arm, zero_line=False)  # drawn before the limits were set
    ax.set_ylim(y + 0.4, 0.6)


def _posterior(ax, row, y, label, show_probability, **style) -> None:
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
