"""Rank histograms of simulation-based calibration (:mod:`pwbayes.checks.sbc`)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy import stats

__all__ = ["plot_ranks"]


def plot_ranks(
    result: dict, *, bins: int = 20, max_panels: int = 24, title: str | None = None
) -> Figure:
    """One rank histogram per scalar parameter, with the 99% band of a uniform histogram.

    Parameters
    ----------
    result : dict
        From :func:`pwbayes.checks.sbc.sbc_summary` or :func:`~pwbayes.checks.sbc.sbc_person`
        (``ranks``, ``labels``, ``n_rank_draws``).
    bins : int
        Bins of the ranks ``0..L`` (must divide ``L + 1``).
    max_panels : int
        At most this many parameters (in order: every variable's first entries first).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    n_values = result["n_rank_draws"] + 1
    if n_values % bins:
        raise ValueError(f"bins={bins} must divide the {n_values} possible ranks.")
    found = []
    for name, ranks in result["ranks"].items():
        flat = ranks.reshape(len(ranks), -1)
        for j, label in enumerate(result["labels"][name]):
            found.append((j, label, flat[:, j]))
    panels = [(label, r) for _, label, r in sorted(found, key=lambda p: p[0])][:max_panels]
    n_rep = len(panels[0][1])
    low, high = stats.binom.ppf([0.005, 0.995], n_rep, 1 / bins)
    ncols = min(6, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols, 1.9 * nrows + 0.8), squeeze=False)
    for ax, (label, ranks) in zip(axes.flat, panels, strict=False):
        counts = np.bincount(ranks * bins // n_values, minlength=bins)
        ax.axhspan(low, high, color="0.85", lw=0)
        ax.axhline(n_rep / bins, color="0.5", lw=0.8)
        ax.bar(np.arange(bins), counts, width=1.0, color="tab:blue", alpha=0.8)
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(
        title or f"SBC rank histograms ({n_rep} replications; grey: 99% band if uniform)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
