"""Drawing helpers shared by the plot modules."""

from __future__ import annotations


def draw_interval(ax, row, y, label, style) -> bool:
    """Draw the first row of an effects table as a point with its HDI at height ``y``.

    Returns False (and draws nothing) when ``row`` is empty.
    """
    if row.empty:
        return False
    r = row.iloc[0]
    ax.errorbar(
        r["mean"],
        y,
        xerr=[[r["mean"] - r["hdi_low"]], [r["hdi_high"] - r["mean"]]],
        ls="none",
        ms=5,
        label=label,
        **style,
    )
    return True
