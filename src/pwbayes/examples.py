"""Bundled example data sets.

``summary_effects`` is SYNTHETIC: the real estimates of the Experimenten
Participatiewet are not public, so the table is generated (by
``scripts/make_summary_example.py``) to match the published facts. Every
DataFrame returned here carries ``attrs["note"]``, which models, plots and
reports repeat.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from .data.population import simulate_participants
from .data.published import municipalities
from .data.synthetic import OUTCOMES, SYNTHETIC_NOTE
from .errors import DataError

__all__ = ["SUMMARY_EFFECTS_FILE", "eight_schools", "simulate_participants", "summary_effects"]

SUMMARY_EFFECTS_FILE = "summary_effects_synthetic.csv"


def summary_effects(outcome: str | None = "work_gt_8h") -> pd.DataFrame:
    """SYNTHETIC effect estimates per municipality x arm (percentage points).

    Parameters
    ----------
    outcome : str or None
        One of ``"work_gt_8h"`` (default), ``"work_gt_27h"``, ``"earn_gt_70pct_wml"``;
        ``None`` returns all outcomes (then select one before fitting).

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome, municipality, arm, estimate, se, n_arm, n_comparison,
        comparison, comparison_level_pct, suspect_comparison, published_direction,
        published_significant_90, data_source``, then three site-level facts that are
        published, not synthetic, for use as moderators: ``randomisation``
        (``"before_enrolment"`` or ``"after_enrolment"``, Box 2), ``final_month`` (the
        month of the final measurement, Table 1) and ``participation_pct`` (participants as
        a share of those invited, CPB 2022). ``attrs["note"]`` says the estimates are
        synthetic; ``attrs["unit"]`` and ``attrs["site_noun"]`` name the unit and what a
        site is.
    """
    path = resources.files("pwbayes.data").joinpath("files", SUMMARY_EFFECTS_FILE)
    with path.open("r", encoding="utf-8") as f:
        df = pd.read_csv(f)
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise DataError(f"outcome={outcome!r} is not in the example; choose one of {OUTCOMES}.")
        df = df[df["outcome"] == outcome].reset_index(drop=True)
    facts = municipalities().set_index("municipality")
    df["randomisation"] = df["municipality"].map(facts["randomisation"])
    df["final_month"] = df["municipality"].map(facts["final_month"]).astype(int)
    share = 100 * facts["participants_cpb2022"] / facts["invited_cpb2022"]
    df["participation_pct"] = df["municipality"].map(share.round(1))
    df.attrs.update(note=SYNTHETIC_NOTE, unit="percentage points", site_noun="municipality")
    return df


def eight_schools() -> pd.DataFrame:
    """Return the classic eight-schools table (Rubin 1981): SAT coaching effects and their SEs.

    Returns
    -------
    pandas.DataFrame
        Columns ``school``, ``estimate``, ``se`` (real published data, one component).
    """
    df = pd.DataFrame(
        {
            "school": list("ABCDEFGH"),
            "estimate": [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0],
            "se": [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0],
        }
    )
    df.attrs.update(
        note="Eight schools (Rubin 1981), real published data",
        unit="SAT points",
        site_noun="school",
    )
    return df
