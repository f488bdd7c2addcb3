"""Posterior predictive check: observed estimates against their replications."""

from __future__ import annotations

from typing import Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import DataError

__all__ = ["plot_predictive_check"]


class Replicated(Protocol):
    """What the plot reads of :class:`pwbayes.checks.ppc.PredictiveCheck`."""

    @property
    def rows(self) -> pd.DataFrame: ...

    @property
    def statistics(self) -> pd.DataFrame: ...

    @property
    def replicated(self) -> dict: ...

    @property
    def interval(self) -> float: ...

    @property
    def unit(self) -> str: ...

    @property
    def note(self) -> str | None: ...


def plot_predictive_check(check: Replicated, *, title: str | None = None) -> Figure:
    """Left: each estimate against its replication interval; right: the two statistics.

    Parameters
    ----------
    check : PredictiveCheck
        From ``result.predictive_check()``.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = getattr(check, "rows", None)
    if not isinstance(rows, pd.DataFrame) or "rep_low" not in rows:
        raise DataError("plot_predictive_check needs the result of result.predictive_check().")
    rows = rows.sort_values(["arm", "site"], kind="stable").reset_index(drop=True)
    fig = plt.figure(figsize=(11, 2.4 + 0.3 * len(rows)))
    grid = fig.add_gridspec(2, 2, width_ratios=(1.6, 1))
    ax = fig.add_subplot(grid[:, 0])
    y = -np.arange(len(rows), dtype=float)
    ax.hlines(y, rows.rep_low, rows.rep_high, color="0.8", lw=7,
              label=f"{check.interval:.0%} of replicated estimates")  # fmt: skip
    outside = (rows.estimate < rows.rep_low) | (rows.estimate > rows.rep_high)
    for flag, colour, label in ((False, "black", "observed"), (True, "firebrick", "outside")):
        part = rows[outside == flag]
        if len(part):
            ax.plot(part.estimate, y[part.index], "o", ms=5, color=colour,
                    label=f"{label} estimate")  # fmt: skip
    ax.set_yticks(y)
    ax.set_yticklabels([f"{s}: {a}" for s, a in zip(rows.site, rows.arm, strict=True)],
                       fontsize=8)  # fmt: skip
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"estimate ({check.unit})")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    stats = check.statistics.set_index("statistic")
    rep = check.replicated
    panels = (("chi_square", "chi-square: realised - replicated"),
              ("spread", "SD of the estimates"))  # fmt: skip
    for k, (name, label) in enumerate(panels):
        sub = fig.add_subplot(grid[k, 1])
        if name == "chi_square":  # realised discrepancy minus replicated, draw by draw
            diff = rep["chi_square_observed"] - rep["chi_square"]
            sub.hist(diff, bins=40, color="0.7")
            sub.axvline(0, color="firebrick", lw=1.5)
        else:
            sub.hist(rep["spread"], bins=40, color="0.7")
            sub.axvline(rep["spread_observed"], color="firebrick", lw=1.5, label="observed")
        sub.set_title(f"{label}: p = {stats.loc[name, 'p_value']:.2f}", fontsize=9)
        sub.set_yticks([])
    fig.suptitle(title or "Does the model reproduce the estimates? (posterior predictive check)",
                 fontsize=11)  # fmt: skip
    if check.note:
        fig.text(0.5, 0.005, check.note, ha="center", va="bottom", fontsize=8, color="firebrick")
    fig.tight_layout(rect=(0, 0.03 if check.note else 0, 1, 0.97))
    return fig
