"""The published facts about the six experiments, shipped with the package.

Each function returns a fresh DataFrame whose ``attrs["source"]`` names the
document it was read from; the per-row ``source`` column, where present, gives
the table, footnote or section.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["comparison_outcomes", "findings", "municipalities"]

_REPORT = (
    "Experimenten Participatiewet - Weten wat werkt voor wie (joint report of the research "
    "institutes, 2020); CPB follow-up note (Verlaat & Zulkarnain, 2022) where marked"
)


def _read(name: str, source: str) -> pd.DataFrame:
    with resources.files("pwbayes.data").joinpath("files", name).open("r", encoding="utf-8") as f:
        df = pd.read_csv(f)
    df.attrs["source"] = source
    return df


def municipalities() -> pd.DataFrame:
    """Design of each municipality's experiment.

    Returns
    -------
    pandas.DataFrame
        Participants, randomised population, duration, final month, randomisation
        (before/after enrolment), comparison group, arms (``;``-separated), the
        earnings-disregard rule and Tilburg's work bonus. Source: Table 1 and Box 2.
    """
    return _read("municipalities.csv", f"{_REPORT}: Table 1 and Box 2")


def comparison_outcomes() -> pd.DataFrame:
    """Comparison-group level of each outcome in the final month, per municipality.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome, municipality, value, unit, measured_at, source``. For
        Groningen the register outcomes are measured in the random reference group.
    """
    return _read("comparison_group_outcomes.csv", f"{_REPORT}: footnotes 8, 10, 12; section 4.2")


def findings() -> pd.DataFrame:
    """Direction and 90% significance of each published effect.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome, municipality, arm, direction, significant_90, source``;
        ``direction`` is ``positive``, ``negative`` or ``unknown``.
    """
    return _read("published_findings.csv", f"{_REPORT}: section 4 (text of Figures 1-6)")
