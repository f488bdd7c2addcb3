"""SYNTHETIC person-level population of the six experiments.

The person-level data of the Experimenten Participatiewet are CBS microdata (remote
access only). :func:`simulate_participants` makes a stand-in that matches the
published facts:

* participants per municipality (Table 1; Deventer: the CPB count of 364, since
  Table 1's 695 includes its reference group), split equally over the control group
  and the arms; Groningen also has its random reference group
  (``randomised_population - participants`` = 7,834 people, register outcomes only);
* about 60% without a basic qualification; half report health problems;
* the comparison group's final-month level of every register outcome
  (``comparison_group_outcomes.csv``), hit exactly in expectation by calibrating each
  site's intercept on the simulated comparison group;
* effects whose direction follows ``published_findings.csv`` (default), or additive
  component effects given by the user (for parameter-recovery studies).

Outcomes are drawn from a latent job readiness built from the characteristics, so
covariates predict outcomes as in real register data. ``work_gt_27h`` implies
``work_gt_8h``. Every frame returned carries ``attrs["note"]`` saying it is SYNTHETIC.
This module needs only numpy and pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..arms import default_parser
from ..errors import DataError
from . import published
from .population_outcomes import (
    COVARIATES,
    REGISTER_OUTCOMES,
    SURVEY_OUTCOMES,
    SUSPECT_SITES,
    UTRECHT_HETEROGENEITY,
    characteristics,
    check_heterogeneity,
    readiness,
    register_outcomes,
    survey_outcomes,
)

__all__ = [
    "COVARIATES",
    "POPULATION_NOTE",
    "REGISTER_OUTCOMES",
    "SURVEY_OUTCOMES",
    "UTRECHT_HETEROGENEITY",
    "SimulatedPopulation",
    "simulate_participants",
]

POPULATION_NOTE = (
    "SYNTHETIC person-level population made by pwbayes to match the published facts; "
    "NOT real participants"
)


@dataclass
class SimulatedPopulation:
    """A simulated population and the truth behind it.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per person (``attrs["note"]`` says it is SYNTHETIC).
    effects : pandas.DataFrame
        True effect of every arm in every site per outcome, on the outcome's scale
        (percentage points for binary outcomes), averaged over the site's participants
        (the g-computation estimand): columns ``outcome, site, arm, effect``.
    component_effects : pandas.DataFrame
        For additive effects: the true log-odds (binary) or points (scores) of every
        component per site (``outcome, site, component, effect``); empty otherwise.
    subgroup_effects : pandas.DataFrame
        With ``heterogeneity``: the true log-odds of every component per site and level
        of each subgroup variable named (``outcome, site, component, subgroup, subgroup_level,
        effect``; register outcomes); empty otherwise.
    settings : dict
        The arguments used.
    """

    data: pd.DataFrame
    effects: pd.DataFrame
    component_effects: pd.DataFrame
    settings: dict = field(default_factory=dict)
    subgroup_effects: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __iter__(self):
        """Allow ``data, truth = simulate_participants(...)``."""
        return iter((self.data, self.effects))

    def pooled_subgroup_truth(self, levels: Mapping[str, Sequence[str]]) -> pd.DataFrame:
        """Return the true pooled log-odds effect of each component in each subgroup level.

        In the convention of :class:`~pwbayes.PersonModel`'s subgroup terms, which sum to
        zero over each variable's levels: the component's mean effect plus the level's
        extra plus, for every other variable, the mean extra over its levels (the effect
        averaged, unweighted, over the other variables' levels). Needs additive
        ``effects`` and ``heterogeneity``.

        Parameters
        ----------
        levels : mapping
            Levels of each subgroup variable, e.g. ``model.data.subgroups``.

        Returns
        -------
        pandas.DataFrame
            ``component, subgroup, subgroup_level, effect``; what ``fit.effects(
            level="subgroup", scale="model")`` estimates in its pooled rows.
        """
        effects, extra = self.settings["effects"], self.settings.get("heterogeneity")
        if isinstance(effects, str) or not extra:
            raise DataError("pooled_subgroup_truth needs additive effects and heterogeneity.")

        def mean_extra(comp, var):
            return float(np.mean([extra.get(comp, {}).get(var, {}).get(str(lev), 0.0)
                                  for lev in levels[var]]))  # fmt: skip

        rows = []
        for comp, base in effects.items():
            for var, var_levels in levels.items():
                others = sum(mean_extra(comp, v) for v in levels if v != var)
                for lev in var_levels:
                    own = extra.get(comp, {}).get(var, {}).get(str(lev), 0.0)
                    rows.append((comp, var, str(lev), base + own + others))
        return pd.DataFrame(rows, columns=["component", "subgroup", "subgroup_level", "effect"])


def simulate_participants(
    random_seed: int | None = None,
    effects: str | Mapping[str, float] = "published",
    size: float = 1.0,
    *,
    between_site_sd: float = 0.15,
    suspect_controls: bool = False,
    heterogeneity: str | Mapping[str, Mapping[str, Mapping]] | None = None,
) -> SimulatedPopulation:
    """Simulate a SYNTHETIC person-level population of the six experiments.

    Parameters
    ----------
    random_seed : int, optional
        Seed; the same seed gives the same population.
    effects : "published" or mapping of component to float
        ``"published"`` (default): each published site x arm effect gets the published
        sign and a size of 6 percentage points if significant, 1.5 if not (random sign
        where unknown; 1 percentage point per component where not described).
        A mapping such as ``{"zelf_in_actie": -0.1, "extra_hulp": 0.2, "werken_loont":
        0.1}`` makes effects additive in the components: log-odds for binary outcomes
        (half that many points for scores), varying between sites with SD
        ``between_site_sd``; components not named get 0.
    size : float
        Scales every group (``size=100`` gives a national-scale population of about
        1.2 million rows, Groningen's reference group included).
    between_site_sd : float
        Between-site SD of additive component effects (log-odds).
    suspect_controls : bool
        Make Nijmegen's and Tilburg's control groups more job-ready at the start, as
        Box 2 of the report describes; their effects are then biased downwards.
    heterogeneity : "utrecht" or mapping, optional
        Subgroup differences in the effects of the register outcomes (with additive
        ``effects`` only): ``{component: {subgroup variable: {level: extra log-odds}}}``,
        e.g. ``{"extra_hulp": {"basic_qualification": {False: 0.3}}}``; a person in an arm
        with that component and that level gets the extra on top of the site's effect.
        ``"utrecht"`` is :data:`UTRECHT_HETEROGENEITY`. The truth per level is returned
        as ``subgroup_effects``.

    Returns
    -------
    SimulatedPopulation
        Unpacks as ``data, truth = simulate_participants(...)``.
    """
    if not (isinstance(size, int | float) and size > 0):
        raise DataError(f"size={size!r} must be a positive number, e.g. 1.0 or 100.")
    if not (isinstance(effects, str) and effects == "published") and not isinstance(
        effects, Mapping
    ):
        raise DataError(
            f"effects={effects!r}: use 'published' or a mapping component -> log-odds effect."
        )
    parser = default_parser()
    if isinstance(effects, Mapping):
        unknown = sorted(set(effects) - set(parser.known()))
        if unknown:
            raise DataError(
                f"effects names unknown component(s) {unknown}; known: {parser.known()}."
            )
    extra = check_heterogeneity(heterogeneity, effects, parser)
    rng = np.random.default_rng(random_seed)
    ctx = {
        "parser": parser,
        "effects": effects,
        "extra": extra,
        "rng": rng,
        "levels": published.comparison_outcomes().set_index(["outcome", "municipality"])["value"],
        "found": published.findings().set_index(["outcome", "municipality", "arm"]),
    }
    out: dict[str, list] = {"truth": [], "components": [], "subgroups": []}
    frames: list[pd.DataFrame] = []
    for _, mrow in published.municipalities().iterrows():
        people, arms = _site_people(mrow, size, rng, int(sum(len(f) for f in frames)))
        site = mrow["municipality"]
        ready = readiness(people, rng)
        arm_col = people["arm"].to_numpy()
        if suspect_controls and site in SUSPECT_SITES:
            ready = ready + 0.6 * (arm_col == "control")
        comparison = "reference" if "reference" in set(arm_col) else "control"
        participant = arm_col != "reference"
        u = rng.random(len(people))
        ctx["site_effects"] = {
            c: rng.normal(v, between_site_sd)
            for c, v in (effects.items() if isinstance(effects, Mapping) else [])
        }
        register_outcomes(people, site, arms, ready, arm_col == comparison, participant, u, ctx,
                          out)  # fmt: skip
        survey_outcomes(people, site, arms, ready, participant, ctx, out)
        frames.append(people)
    settings = {
        "random_seed": random_seed,
        "effects": effects if isinstance(effects, str) else dict(effects),
        "size": size,
        "between_site_sd": between_site_sd,
        "suspect_controls": suspect_controls,
        "heterogeneity": extra or None,
    }
    return _assemble(frames, out, settings)


def _site_people(mrow: pd.Series, size: float, rng, first_id: int) -> tuple[pd.DataFrame, list]:
    """One site's persons: groups of the published sizes, with their characteristics."""
    site = mrow["municipality"]
    arms = [a.strip() for a in mrow["arms"].split(";")]
    participants = mrow["participants_cpb2022"] if site == "Deventer" else mrow["participants"]
    n_group = max(2, int(round(participants / (len(arms) + 1) * size)))
    groups = ["control"] + arms
    sizes = [n_group] * len(groups)
    if pd.notna(mrow["randomised_population"]):
        groups.append("reference")
        sizes.append(int(round((mrow["randomised_population"] - participants) * size)))
    arm_col = np.repeat(groups, sizes)
    people = characteristics(rng, len(arm_col))
    people.insert(0, "arm", arm_col)
    people.insert(0, "municipality", site)
    people.insert(0, "person_id", np.arange(first_id, first_id + len(people)))
    return people, arms


def _assemble(frames: list, out: dict, settings: dict) -> SimulatedPopulation:
    data = pd.concat(frames, ignore_index=True)
    data.attrs.update(note=POPULATION_NOTE, site_noun="municipality")
    truth = pd.DataFrame(out["truth"])
    truth.attrs["note"] = POPULATION_NOTE
    comp = pd.DataFrame(out["components"], columns=["outcome", "site", "component", "effect"])
    comp = comp.drop_duplicates(["outcome", "site", "component"]).reset_index(drop=True)
    sub = pd.DataFrame(
        out["subgroups"],
        columns=["outcome", "site", "component", "subgroup", "subgroup_level", "effect"],
    )
    sub.attrs["note"] = POPULATION_NOTE
    return SimulatedPopulation(data, truth, comp, settings, sub)
