"""Leave one site out: each site's estimates against what the other sites predicted."""

from __future__ import annotations

from typing import Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ..errors import DataError

__all__ = ["plot_loo_sites"]


class HeldOut(Protocol):
    """What the plot reads of :class:`pwbayes.checks.loo.LooSites`."""

    @property
    def rows(self) -> pd.DataFrame: ...

    @property
    def interval(self) -> float: ...

    @property
    def unit(self) -> str: ...

    @property
    def note(self) -> str | None: ...


def plot_loo_sites(loo: HeldOut, *, title: str | None = None) -> Figure:
    """Forest plot of held-out estimates against their predictive intervals.

    Each site x arm row shows the predictive interval of its estimate from the other
    sites (grey bar: the true effect; light bar: the estimate, with its sampling error)
    and the site's own estimate with its confidence interval of the same mass: black inside the
    predictive interval, red outside.

    Parameters
    ----------
    loo : LooSites
        From ``result.loo_sites()``.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = getattr(loo, "rows", None)
    if not isinstance(rows, pd.DataFrame) or "pred_low" not in rows:
        raise DataError("plot_loo_sites needs the result of result.loo_sites().")
    rows = rows.sort_values(["arm", "site"], kind="stable").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 2.2 + 0.32 * len(rows)))
    y = -np.arange(len(rows), dtype=float)
    ax.hlines(y, rows.pred_low, rows.pred_high, color="0.82", lw=7,
              label=f"{loo.interval:.0%} predictive interval of the estimate")  # fmt: skip
    ax.hlines(y, rows.effect_low, rows.effect_high, color="0.5", lw=3,
              label="predicted effect (other sites)")  # fmt: skip
    for inside, colour, label in ((True, "black", "inside"), (False, "firebrick", "outside")):
        part = rows[rows.inside == inside]
        if len(part):
            z = float(stats.norm.ppf(0.5 + loo.interval / 2))  # the same mass as the prediction
            ax.errorbar(part.estimate, y[part.index], xerr=z * part.se, fmt="o", ms=4,
                        color=colour, lw=1, label=f"site's own estimate ({label})")  # fmt: skip
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{s}: {a}" for s, a in zip(rows.site, rows.arm, strict=True)],
                       fontsize=8)  # fmt: skip
    ax.set_xlabel(f"effect ({loo.unit})")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    n_inside = int(rows.inside.sum())
    ax.set_title(
        title or f"Each site left out: {n_inside} of {len(rows)} estimates inside the prediction",
        fontsize=10,
    )
    if loo.note:
        fig.text(0.5, 0.005, loo.note, ha="center", va="bottom", fontsize=8, color="firebrick",
                 wrap=True)  # fmt: skip
    fig.tight_layout(rect=(0, 0.03 if loo.note else 0, 1, 1))
    return fig
