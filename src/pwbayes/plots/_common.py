"""Drawing helpers shared by the plot modules, and what a plot needs of a result.

Plots take any object with the methods of :class:`Fit` (the results of
:mod:`pwbayes.results` have them); they import no result module.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from ..errors import DataError
from ..record import FitRecord


class Fit(Protocol):
    """What the plots read from a result: its record, caption and tables."""

    record: FitRecord

    @property
    def note(self) -> str | None:
        """Return the caption of the data."""
        ...

    def effects(
        self,
        hdi_prob: float = ...,
        threshold: float | None = ...,
        scale: str = ...,
        level: str | Sequence[str] | None = ...,
    ) -> pd.DataFrame:
        """Return the tidy table of effects."""
        ...

    def common_effect(self) -> pd.DataFrame:
        """Return the fully pooled reference per arm."""
        ...


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


def style_panel(ax, labels, title: str, fontsize: float | None = None, zero_line=True) -> None:
    """Zero line, one y tick per row label (top to bottom), wrapped title, x grid."""
    if zero_line:
        ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(-np.arange(len(labels)))
    ax.set_yticklabels(labels, fontsize=fontsize)
    ax.set_title("\n".join(textwrap.wrap(title, 34)), fontsize=10)
    ax.grid(axis="x", alpha=0.3)


def hide_unused(axes, used: int) -> None:
    """Switch off the panels after the first ``used``."""
    for ax in list(axes.flat)[used:]:
        ax.axis("off")


def legend_entries(axes) -> tuple[list, list[str]]:
    """One legend handle per distinct label over all panels (labels starting "_" skipped)."""
    seen: dict[str, object] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab and not lab.startswith("_"):
                seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def caption_of(result: Fit) -> str:
    """Return the figure caption: the data's note, convergence problems, hidden cells."""
    parts = [result.note] if result.note else []
    if result.record.diagnostics.problems:
        parts.append(result.record.diagnostics.line())
    disclosure = result.record.disclosure
    if disclosure is not None and disclosure.suppressed:
        parts.append(
            f"{len(disclosure.suppressed)} cell(s) with fewer than {disclosure.min_cell} "
            "persons suppressed (see the result's notes)"
        )
    return "; ".join(parts)


def chosen_arms(arms: object, known: Sequence[str], default: Sequence[str]) -> list[str]:
    """Check the ``arms`` option of a plot: a list of the result's arms (default ``default``)."""
    if arms is None:
        return list(default)
    if isinstance(arms, str) or not isinstance(arms, Sequence):
        raise DataError(f"arms={arms!r}: give a list of arm labels, e.g. arms=['Extra Hulp'].")
    unknown = [a for a in arms if a not in known]
    if unknown:
        raise DataError(f"Unknown arm(s) {unknown}; the result has arms {list(known)}.")
    return list(arms)
