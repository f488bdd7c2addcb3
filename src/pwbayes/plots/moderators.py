"""What explains the differences between sites: moderator effects per component."""

from __future__ import annotations

import textwrap
from typing import Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import DataError
from ._common import caption_of

__all__ = ["plot_moderators"]


class Moderated(Protocol):
    """What the plot reads of a result (summary or person model) with moderators."""

    @property
    def note(self) -> str | None: ...

    @property
    def record(self): ...

    def moderator_effects(self, hdi_prob: float = ...) -> pd.DataFrame: ...


def plot_moderators(result: Moderated, *, title: str | None = None) -> Figure:
    """Per component and moderator: the change in the effect per SD of the moderator.

    Each panel is one moderator; its rows are the components, labelled with the share of
    the component's between-site variance that the moderators explain.

    Parameters
    ----------
    result : SummaryResult or PersonResult
        A fit with ``moderators=[...]``.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not hasattr(result, "moderator_effects"):
        raise DataError("plot_moderators needs a result fitted with moderators=[...].")
    table = result.moderator_effects()
    explained = {r["component"]: r for r in table.attrs["explained"]}
    labels = result.record.model.component_labels
    names = list(pd.unique(table.moderator))
    comps = list(pd.unique(table.component))
    size = (4.8 * len(names) + 1.5, 1.6 + 0.45 * len(comps))
    fig, axes = plt.subplots(1, len(names), figsize=size, squeeze=False, sharey=True)
    y = -np.arange(len(comps), dtype=float)
    for ax, name in zip(axes[0], names, strict=True):
        part = table[table.moderator == name].set_index("component").reindex(comps)
        ax.errorbar(part.per_sd_mean, y, xerr=[part.per_sd_mean - part.per_sd_low,
                    part.per_sd_high - part.per_sd_mean], fmt="o", color="black", ms=4)  # fmt: skip
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title("\n".join(textwrap.wrap(f"per SD of {name}", 40)), fontsize=10)
        ax.set_xlabel(f"change in effect ({table.attrs['scale']})")
        ax.grid(axis="x", alpha=0.3)
    ticks = []
    for c in comps:
        share = explained[c]["share_mean"]
        what = f"explains {share:.0%} of tau^2"
        if np.isnan(share):
            what = "one site" if explained[c]["sites"] < 2 else "share not shown"
        ticks.append(f"{labels.get(c, c)}\n({what})")
    axes[0, 0].set_yticks(y)
    axes[0, 0].set_yticklabels(ticks, fontsize=8)
    fig.suptitle(title or "What explains the differences between sites (90% HDI)", fontsize=11)
    caption = caption_of(result)  # type: ignore[arg-type]
    if caption:
        fig.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=8, color="firebrick")
    fig.tight_layout(rect=(0, 0.04 if caption else 0, 1, 0.95))
    return fig
