"""How much do the priors decide: pooled effects under each prior for tau, side by side."""

from __future__ import annotations

import textwrap
from typing import Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import DataError

__all__ = ["plot_prior_sensitivity"]


class PriorSensitivity(Protocol):
    """What the plot reads of :class:`pwbayes.checks.sensitivity.Sensitivity`."""

    @property
    def table(self) -> pd.DataFrame: ...

    @property
    def unit(self) -> str: ...

    @property
    def weak_tau(self) -> dict: ...

    @property
    def labels(self) -> dict: ...

    @property
    def note(self) -> str | None: ...


def plot_prior_sensitivity(sens: PriorSensitivity, *, title: str | None = None) -> Figure:
    """One panel per component: the pooled effect and a new site's, under each prior.

    Parameters
    ----------
    sens : Sensitivity
        From ``result.sensitivity()``.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = getattr(sens, "table", None)
    if not isinstance(table, pd.DataFrame) or "tau_prior" not in table:
        raise DataError("plot_prior_sensitivity needs the result of result.sensitivity().")
    comps = list(pd.unique(table.component))
    priors = list(pd.unique(table.prior))
    ncol = min(3, len(comps))
    nrow = int(np.ceil(len(comps) / ncol))
    height = 1.4 + 0.45 * len(priors) * nrow
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, height), squeeze=False,
                             sharey=True)  # fmt: skip
    y = -np.arange(len(priors), dtype=float)
    labels = [f"{p}: {t}" for p, t in table.drop_duplicates("prior")[["prior", "tau_prior"]].values]
    for ax, comp in zip(axes.flat, comps, strict=False):
        part = table[table.component == comp].set_index("prior")
        for estimand, offset, style in (("theta_new", 0.15, dict(color="0.6", lw=1.2)),
                                        ("mu", -0.05, dict(color="black", lw=2.2))):  # fmt: skip
            rows = part[part.estimand == estimand].reindex(priors)
            label = "pooled effect (mu)" if estimand == "mu" else "a new site"
            xerr = [rows["mean"] - rows.hdi_low, rows.hdi_high - rows["mean"]]
            ax.errorbar(rows["mean"], y + offset, xerr=xerr, fmt="o", ms=4, label=label, **style)
        ax.axvline(0, color="black", lw=0.8)
        weak = " (tau rests on its prior)" if comp in sens.weak_tau else ""
        ax.set_title(
            "\n".join(textwrap.wrap(f"{sens.labels.get(comp, comp)}{weak}", 40)), fontsize=10
        )
        ax.set_xlabel(sens.unit)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.flat[len(comps) :]:
        ax.axis("off")
    for row in axes:
        row[0].set_yticks(y)
        row[0].set_yticklabels(["\n".join(textwrap.wrap(lab, 34)) for lab in labels], fontsize=7)
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle(title or "How much do the priors decide? Pooled effects under each prior for tau",
                 fontsize=11)  # fmt: skip
    if sens.note:
        fig.text(0.5, 0.005, sens.note, ha="center", va="bottom", fontsize=8, color="firebrick")
    fig.tight_layout(rect=(0, 0.03 if sens.note else 0, 1, 0.97))
    return fig
