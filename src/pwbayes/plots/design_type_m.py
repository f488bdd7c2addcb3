"""How much a significant result exaggerates (type M), against persons per arm."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..errors import DesignError, quote_values

__all__ = ["plot_type_m"]


def plot_type_m(table: pd.DataFrame, *, level: str = "site", title: str | None = None) -> Figure:
    """Type M (exaggeration ratio) and type S error against persons per arm, per estimand.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`pwbayes.design.grid` (needs ``persons_per_arm``).
    level : str
        Which rows: ``"site"`` (each site alone, as published) by default.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    needed = {"persons_per_arm", "type_m", "type_s", "level", "name", "sites"}
    if not isinstance(table, pd.DataFrame) or needed - set(table.columns):
        raise DesignError(
            "plot_type_m needs a table of pw.design.evaluate(...) or grid(...) with columns "
            f"{sorted(needed)}."
        )
    rows = table[(table.level == level) & table.type_m.notna()]
    if rows.empty:
        raise DesignError(
            f"level={level!r}: no rows with a type M error (the pooled rows of an unpooled "
            f"analysis have none); levels: {quote_values(sorted(set(table.level)))}."
        )
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, ((name, sites), part) in enumerate(rows.groupby(["name", "sites"], sort=False)):
        part = part.groupby("persons_per_arm", as_index=False)[["type_m", "type_s"]].mean()
        label = f"{name}, {sites} site{'s' if sites > 1 else ''}"
        for ax, column in zip(axes, ("type_m", "type_s"), strict=True):
            ax.plot(part.persons_per_arm, part[column], marker="o", ms=3, color=f"C{k % 10}",
                    label=label)  # fmt: skip
    axes[0].axhline(1, color="0.6", lw=0.8)
    axes[0].set_ylabel("exaggeration: E(|estimate| | significant) / E(|effect|)")
    axes[1].set_ylabel("type S: P(wrong sign | significant)")
    for ax in axes:
        ax.set_xlabel("persons per arm (per site)")
        ax.grid(alpha=0.3)
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylim(0, max(0.5, float(rows.type_s.max()) * 1.1))
    axes[1].legend(fontsize=8)
    fig.suptitle(title or "Significant results of small experiments exaggerate", fontsize=11)
    fig.tight_layout()
    return fig
