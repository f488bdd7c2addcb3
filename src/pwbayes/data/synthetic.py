"""Generator of the bundled SYNTHETIC summary table (site x arm effect estimates).

The real effect estimates of the Experimenten Participatiewet are not public. This
module makes a stand-in that matches every published fact we have:

* the municipalities, their arms and participant numbers (``municipalities.csv``);
* the comparison-group level of each outcome (``comparison_group_outcomes.csv``),
  which with the group sizes gives each estimate's standard error;
* the direction and 90% significance of each effect the report describes
  (``published_findings.csv``): a published significant effect gets
  ``|estimate| / se`` drawn in [1.75, 2.5], a non-significant one in [0.2, 1.4],
  with the published sign (random where ``unknown``).

Effects the report does not describe are drawn from a modest hierarchical truth
(:data:`TRUE_COMPONENT_EFFECTS`, between-site SD 1 percentage point) plus sampling
noise. Assumptions, stated because the reports do not give them: groups within a
municipality are of equal size (control and each arm); Deventer's groups are the
CPB count of 364 participants (Table 1's 695 includes its reference group);
Groningen's register outcomes are compared with a random reference group of
``randomised_population / (arms + 2)`` people; covariate adjustment shrinks the
standard error by 5%.

Everything produced here is labelled SYNTHETIC. Regenerate the shipped file with
``python scripts/make_summary_example.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..arms import default_parser
from . import published

__all__ = ["OUTCOMES", "SYNTHETIC_NOTE", "TRUE_COMPONENT_EFFECTS", "make_summary_effects"]

SYNTHETIC_NOTE = (
    "SYNTHETIC example data made by pwbayes to match the published facts; "
    "these are NOT the real (unpublished) estimates"
)

#: Register outcomes in the example, in percentage points.
OUTCOMES = ("work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml")

#: Pooled true effects (percentage points) used where the report says nothing.
TRUE_COMPONENT_EFFECTS = {
    "zelf_in_actie": -1.0,
    "extra_hulp": 0.5,
    "werken_loont": 1.0,
    "werkbonus": -1.0,
    "app": 0.0,
    "keuze": 0.0,
}
_OUTCOME_SCALE = {"work_gt_8h": 1.0, "work_gt_27h": 0.6, "earn_gt_70pct_wml": 0.6}
_BETWEEN_SITE_SD = 1.0
_SE_ADJUSTMENT = 0.95
_SIGNIFICANT_Z = (1.75, 2.5)
_NOT_SIGNIFICANT_Z = (0.2, 1.4)
#: Box 2 of the report: comparison groups that differed at the start.
SUSPECT_SITES = ("Nijmegen", "Tilburg")


def _group_sizes(row: pd.Series) -> tuple[int, int, str]:
    arms = [a.strip() for a in row["arms"].split(";")]
    participants = (
        row["participants_cpb2022"] if row["municipality"] == "Deventer" else row["participants"]
    )
    n_arm = int(participants // (len(arms) + 1))
    if pd.notna(row["randomised_population"]):
        return n_arm, int(row["randomised_population"] // (len(arms) + 2)), "reference"
    return n_arm, n_arm, "control"


def make_summary_effects(random_seed: int = 20170101) -> pd.DataFrame:
    """Make the synthetic summary table for all outcomes.

    Parameters
    ----------
    random_seed : int
        Seed of the generator; the shipped file uses the default.

    Returns
    -------
    pandas.DataFrame
        One row per outcome x municipality x arm with ``estimate`` and ``se`` in
        percentage points, the group sizes and comparison level they came from,
        the published direction/significance they were made to follow, and a
        ``data_source`` column saying the rows are synthetic.
    """
    rng = np.random.default_rng(random_seed)
    parser = default_parser()
    design = published.municipalities()
    levels = published.comparison_outcomes().set_index(["outcome", "municipality"])["value"]
    found = published.findings().set_index(["outcome", "municipality", "arm"])
    site_noise = {
        (m, c): rng.normal(0.0, _BETWEEN_SITE_SD)
        for m in design["municipality"]
        for c in TRUE_COMPONENT_EFFECTS
    }
    records = []
    for outcome in OUTCOMES:
        for _, mrow in design.iterrows():
            mun = mrow["municipality"]
            n_arm, n_comp, comparison = _group_sizes(mrow)
            p0 = float(levels[(outcome, mun)]) / 100.0
            se = 100.0 * np.sqrt(p0 * (1 - p0) * (1 / n_arm + 1 / n_comp)) * _SE_ADJUSTMENT
            for arm in (a.strip() for a in mrow["arms"].split(";")):
                comps = parser.parse(arm, allow_empty=False)
                direction, significant = "not described", "not described"
                if (outcome, mun, arm) in found.index:
                    f = found.loc[(outcome, mun, arm)]
                    direction, significant = f["direction"], f["significant_90"]
                    band = _SIGNIFICANT_Z if significant == "yes" else _NOT_SIGNIFICANT_Z
                    sign = {"positive": 1.0, "negative": -1.0}.get(direction)
                    if sign is None:
                        sign = rng.choice([-1.0, 1.0])
                    estimate = sign * rng.uniform(*band) * se
                else:
                    truth = sum(
                        _OUTCOME_SCALE[outcome] * TRUE_COMPONENT_EFFECTS[c] + site_noise[(mun, c)]
                        for c in comps
                    )
                    estimate = truth + rng.normal(0.0, se)
                records.append(
                    {
                        "outcome": outcome,
                        "municipality": mun,
                        "arm": arm,
                        "estimate": round(float(estimate), 2),
                        "se": round(float(se), 2),
                        "n_arm": n_arm,
                        "n_comparison": n_comp,
                        "comparison": comparison,
                        "comparison_level_pct": float(levels[(outcome, mun)]),
                        "suspect_comparison": mun in SUSPECT_SITES,
                        "published_direction": direction,
                        "published_significant_90": significant,
                        "data_source": "SYNTHETIC",
                    }
                )
    df = pd.DataFrame.from_records(records)
    df.attrs["note"] = SYNTHETIC_NOTE
    return df
