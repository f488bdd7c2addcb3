"""Assurance and P(conclusive) of candidate designs against the persons they need."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..errors import DesignError, quote_values

__all__ = ["plot_assurance"]


def plot_assurance(
    table: pd.DataFrame,
    *,
    name: str | None = None,
    level: str = "site",
    target: float | None = 0.8,
    title: str | None = None,
) -> Figure:
    """Assurance and P(conclusive) against total persons, one line per number of arms.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`pwbayes.design.grid` (needs ``n_arms``).
    name : str, optional
        The estimand to show (a component such as ``"Extra Hulp"``, an arm, or a contrast);
        default: the first in the table.
    level : str
        ``"site"`` (a site's own effect), ``"pooled"``, or the contrast's variable.
    target : float, optional
        A horizontal reference line (e.g. 0.8); None for none.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _rows(table, name, level)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    panels = [("assurance", "Assurance: significant, right direction"),
              ("p_conclusive", "P(conclusive) after pooling with the old data")]  # fmt: skip
    styles = ["-", "--", ":", "-."]
    for ax, (column, label) in zip(axes, panels, strict=True):
        for (n_arms, sites), part in rows.groupby(["n_arms", "sites"]):
            part = part.sort_values("persons")
            colour = f"C{(int(n_arms) - 1) % 10}"
            style = styles[sorted(rows.sites.unique()).index(sites) % len(styles)]
            label_ = f"{_plural(n_arms, 'arm')}, {_plural(sites, 'site')}"
            ax.plot(part.persons, part[column], style, marker="o", ms=3, color=colour,
                    label=label_)  # fmt: skip
        if target is not None:
            ax.axhline(target, color="0.6", lw=0.8)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("persons in the experiment (all sites, arms and comparison groups)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("probability")
    axes[1].legend(fontsize=8, loc="lower right")
    shown = rows["name"].iloc[0]
    fig.suptitle(title or f"{shown} ({level}): what each design would give", fontsize=11)
    fig.tight_layout()
    return fig


def _rows(table: pd.DataFrame, name: str | None, level: str) -> pd.DataFrame:
    needed = {"name", "level", "persons", "sites", "n_arms", "assurance", "p_conclusive"}
    if not isinstance(table, pd.DataFrame):
        raise DesignError(f"plot_assurance needs a table of pw.design.grid(...), not {table!r}.")
    missing = sorted(needed - set(table.columns))
    if missing:
        raise DesignError(
            f"plot_assurance needs the table of pw.design.grid(...); it lacks "
            f"{quote_values(missing)}."
        )
    rows = table[table.level == level]
    names = list(dict.fromkeys(rows["name"]))
    if not names:
        if table.empty:
            raise DesignError("plot_assurance: the table has no rows.")
        levels = quote_values(sorted(set(table.level)))
        raise DesignError(f"level={level!r}: no rows; the table has levels {levels}.")
    chosen = names[0] if name is None else name
    if chosen not in names:
        raise DesignError(f"name={name!r}: not in the table; it has {quote_values(names)}.")
    return rows[rows["name"] == chosen]


def _plural(n: object, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
