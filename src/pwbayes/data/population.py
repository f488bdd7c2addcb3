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

__all__ = [
    "COVARIATES",
    "POPULATION_NOTE",
    "REGISTER_OUTCOMES",
    "SURVEY_OUTCOMES",
    "SimulatedPopulation",
    "simulate_participants",
]

POPULATION_NOTE = (
    "SYNTHETIC person-level population made by pwbayes to match the published facts; "
    "NOT real participants"
)
REGISTER_OUTCOMES = ("work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml")
SURVEY_OUTCOMES = ("wellbeing_0_10", "social_trust_0_10", "job_search_hours_week")
#: Background characteristics (the nine covariates of the published linear models).
COVARIATES = (
    "age",
    "female",
    "migration_background",
    "basic_qualification",
    "household_type",
    "benefit_duration_years",
    "prior_earnings",
    "distance_to_labour_market",
    "health_problems",
)
_SURVEY_DEFAULT_LEVEL = {
    "wellbeing_0_10": 6.2,
    "social_trust_0_10": 5.8,
    "job_search_hours_week": 2.0,
}
_SURVEY_SD = {"wellbeing_0_10": 1.6, "social_trust_0_10": 1.8, "job_search_hours_week": 2.5}
#: Published significant effects get this size (percentage points / points) ...
_SIGNIFICANT_PP = 6.0
#: ... non-significant ones this size, with the published sign.
_NOT_SIGNIFICANT_PP = 1.5
_SUSPECT_SITES = ("Nijmegen", "Tilburg")
_CATEGORICAL = (
    "basic_qualification",
    "distance_to_labour_market",
    "female",
    "migration_background",
    "health_problems",
    "household_type",
)
#: ``heterogeneity="utrecht"``: extra log-odds per component and subgroup level, after the
#: first Utrecht analyses (lower-educated participants gained more from Zelf in Actie and
#: Extra Hulp; people far from the labour market from Extra Hulp only). The size, 1.0
#: log-odds (about 20 percentage points at a 25% base rate), is one the experiments' own
#: numbers resolve: at the default size a pooled difference between two levels has a
#: standard error of about 3.7 points in the unpooled regressions, and with 0.7 log-odds
#: the subgroup model gave P > 0.9 for the true sign in only some seeds
#: (``docs/benchmarks.md``)
UTRECHT_HETEROGENEITY = {
    "zelf_in_actie": {"basic_qualification": {"False": 1.0}},
    "extra_hulp": {
        "basic_qualification": {"False": 1.0},
        "distance_to_labour_market": {"large": 1.0},
    },
}


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


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _calibrate(readiness: np.ndarray, target: float) -> float:
    """Intercept a with mean(expit(a + readiness)) == target (bisection)."""
    lo, hi = -15.0, 15.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _expit(mid + readiness).mean() < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _shift_for_pp(base: np.ndarray, target_pp: float) -> float:
    """Log-odds shift whose average probability change over ``base`` is ``target_pp``."""
    lo, hi = -10.0, 10.0
    p0 = _expit(base).mean()
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if 100 * (_expit(base + mid).mean() - p0) < target_pp:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _characteristics(rng, n: int) -> pd.DataFrame:
    age = np.clip(np.round(rng.normal(42, 11, n)), 18, 66).astype(int)
    duration = np.clip(np.round(rng.lognormal(np.log(3.5), 0.8, n), 1), 0.5, 25.0)
    works_before = rng.random(n) < 0.3
    prior = np.where(works_before, np.round(rng.lognormal(np.log(500), 0.7, n), -1), 0.0)
    return pd.DataFrame(
        {
            "age": age,
            "female": rng.random(n) < 0.5,
            "migration_background": rng.random(n) < 0.45,
            "basic_qualification": rng.random(n) < 0.40,
            "household_type": rng.choice(
                ["single", "single_parent", "couple"], n, p=[0.55, 0.25, 0.20]
            ),
            "benefit_duration_years": duration,
            "prior_earnings": prior,
            "distance_to_labour_market": rng.choice(
                ["small", "medium", "large"], n, p=[0.25, 0.40, 0.35]
            ),
            "health_problems": rng.random(n) < 0.5,
        }
    )


def _readiness(df: pd.DataFrame, rng) -> np.ndarray:
    """Latent job readiness on the log-odds scale (plus a person-level random part)."""
    distance = (
        df["distance_to_labour_market"]
        .map({"small": 0.0, "medium": -0.6, "large": -1.2})
        .to_numpy()
    )
    household = (
        df["household_type"].map({"single": 0.0, "single_parent": -0.3, "couple": 0.1}).to_numpy()
    )
    return (
        0.5 * df["basic_qualification"].to_numpy()
        - 0.5 * df["health_problems"].to_numpy()
        - 0.2 * np.log(df["benefit_duration_years"].to_numpy())
        + 0.7 * (df["prior_earnings"].to_numpy() > 0)
        - 0.02 * (df["age"].to_numpy() - 42)
        - 0.15 * df["migration_background"].to_numpy()
        - 0.1 * df["female"].to_numpy()
        + distance
        + household
        + rng.normal(0, 0.5, len(df))
    )


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
    extra = _check_heterogeneity(heterogeneity, effects, parser)
    rng = np.random.default_rng(random_seed)
    design = published.municipalities()
    levels = published.comparison_outcomes().set_index(["outcome", "municipality"])["value"]
    found = published.findings().set_index(["outcome", "municipality", "arm"])

    frames, truth_rows, comp_rows, sub_rows = [], [], [], []
    next_id = 0
    for _, mrow in design.iterrows():
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
        people = _characteristics(rng, len(arm_col))
        people.insert(0, "arm", arm_col)
        people.insert(0, "municipality", site)
        people.insert(0, "person_id", np.arange(next_id, next_id + len(people)))
        next_id += len(people)
        ready = _readiness(people, rng)
        if suspect_controls and site in _SUSPECT_SITES:
            ready = ready + 0.6 * (arm_col == "control")
        comparison = "reference" if "reference" in groups else "control"
        is_comp = arm_col == comparison
        participant = arm_col != "reference"
        u = rng.random(len(people))
        site_effects = {
            c: rng.normal(v, between_site_sd)
            for c, v in (effects.items() if isinstance(effects, Mapping) else [])
        }
        prob_cap = np.ones(len(people))
        for outcome in REGISTER_OUTCOMES:
            a = _calibrate(ready[is_comp], levels[(outcome, site)] / 100.0)
            base = a + ready
            shift = np.zeros(len(people))
            for arm in arms:
                comps = parser.parse(arm, allow_empty=False)
                in_arm = arm_col == arm
                if isinstance(effects, Mapping):
                    s = sum(site_effects.get(c, 0.0) for c in comps)
                    if outcome == REGISTER_OUTCOMES[0]:
                        comp_rows += [
                            {
                                "outcome": o,
                                "site": site,
                                "component": c,
                                "effect": site_effects.get(c, 0.0),
                            }
                            for o in REGISTER_OUTCOMES
                            for c in comps
                        ]
                else:
                    s = _shift_for_pp(
                        base[participant], _published_pp(found, outcome, site, arm, comps, rng)
                    )
                s = s + _subgroup_shift(people, extra, comps)
                shift[in_arm] = s[in_arm]
                truth_rows.append(
                    {
                        "outcome": outcome,
                        "site": site,
                        "arm": parser.label(comps),
                        "effect": 100
                        * float(
                            (
                                _expit(base[participant] + s[participant])
                                - _expit(base[participant])
                            ).mean()
                        ),
                    }
                )
            sub_rows += [
                {
                    "outcome": outcome,
                    "site": site,
                    "component": c,
                    "subgroup": var,
                    "subgroup_level": str(level),
                    "effect": site_effects.get(c, 0.0) + levels_extra.get(str(level), 0.0),
                }
                for c, variables in extra.items()
                for var, levels_extra in variables.items()
                for level in sorted(people[var].astype(str).unique())
                if any(c in parser.parse(a, allow_empty=False) for a in arms)
            ]
            p = np.minimum(_expit(base + shift), prob_cap)
            people[outcome] = u < p
            prob_cap = p if outcome == "work_gt_8h" else prob_cap
        for outcome in SURVEY_OUTCOMES:
            level = levels.get((outcome, site), _SURVEY_DEFAULT_LEVEL[outcome])
            sd = _SURVEY_SD[outcome]
            baseline = (
                level + 0.4 * sd * (ready - ready.mean()) + rng.normal(0, 0.8 * sd, len(people))
            )
            effect = np.zeros(len(people))
            for arm in arms:
                comps = parser.parse(arm, allow_empty=False)
                if isinstance(effects, Mapping):
                    e = 0.5 * sum(site_effects.get(c, 0.0) for c in comps) * sd
                else:
                    e = _published_pp(found, outcome, site, arm, comps, rng) / 6.0 * 0.25 * sd
                effect[arm_col == arm] = e
                truth_rows.append(
                    {
                        "outcome": outcome,
                        "site": site,
                        "arm": parser.label(comps),
                        "effect": float(e),
                    }
                )
            control_mean = level
            final = (
                control_mean
                + 0.5 * (baseline - level)
                + effect
                + rng.normal(0, 0.7 * sd, len(people))
            )
            lo, hi = (0.0, 10.0) if outcome.endswith("0_10") else (0.0, 40.0)
            people[f"{outcome}_baseline"] = np.clip(np.round(baseline, 1), lo, hi)
            people[outcome] = np.clip(np.round(final, 1), lo, hi)
            # the reference group filled in no questionnaires
            people.loc[~participant, [outcome, f"{outcome}_baseline"]] = np.nan
        frames.append(people)

    data = pd.concat(frames, ignore_index=True)
    data.attrs["note"] = POPULATION_NOTE
    truth = pd.DataFrame(truth_rows)
    truth.attrs["note"] = POPULATION_NOTE
    comp = pd.DataFrame(comp_rows, columns=["outcome", "site", "component", "effect"])
    comp = comp.drop_duplicates(["outcome", "site", "component"]).reset_index(drop=True)
    settings = {
        "random_seed": random_seed,
        "effects": effects if isinstance(effects, str) else dict(effects),
        "size": size,
        "between_site_sd": between_site_sd,
        "suspect_controls": suspect_controls,
    }
    settings["heterogeneity"] = extra or None
    sub = pd.DataFrame(
        sub_rows, columns=["outcome", "site", "component", "subgroup", "subgroup_level", "effect"]
    )
    sub.attrs["note"] = POPULATION_NOTE
    return SimulatedPopulation(data, truth, comp, settings, sub)


def _check_heterogeneity(heterogeneity, effects, parser) -> dict:
    """Validate ``heterogeneity``; return ``{component: {variable: {str(level): extra}}}``."""
    if heterogeneity is None:
        return {}
    if isinstance(heterogeneity, str):
        if heterogeneity != "utrecht":
            raise DataError(
                f"heterogeneity={heterogeneity!r} is not a preset; use 'utrecht' or a mapping "
                "{component: {subgroup variable: {level: extra log-odds}}}."
            )
        heterogeneity = UTRECHT_HETEROGENEITY
    if not isinstance(effects, Mapping):
        raise DataError(
            "heterogeneity needs additive effects, e.g. effects={'extra_hulp': 0.3}; the "
            "published effects are calibrated per arm in percentage points."
        )
    out = {}
    for comp, variables in heterogeneity.items():
        if comp not in parser.known():
            raise DataError(
                f"heterogeneity names unknown component {comp!r}; known: {parser.known()}."
            )
        for var, levels in variables.items():
            if var not in _CATEGORICAL:
                raise DataError(
                    f"heterogeneity: {var!r} is not a categorical characteristic of the "
                    f"synthetic population; use one of {list(_CATEGORICAL)}."
                )
            out.setdefault(comp, {})[var] = {str(k): float(v) for k, v in levels.items()}
    return out


def _subgroup_shift(people: pd.DataFrame, extra: dict, comps) -> np.ndarray:
    """Extra log-odds of each person for an arm with components ``comps``."""
    shift = np.zeros(len(people))
    for c in comps:
        for var, levels in extra.get(c, {}).items():
            shift += people[var].astype(str).map(levels).fillna(0.0).to_numpy()
    return shift


def _published_pp(found, outcome, site, arm, comps, rng) -> float:
    key = (outcome, site, arm)
    if key in found.index:
        row = found.loc[key]
        size = _SIGNIFICANT_PP if row["significant_90"] == "yes" else _NOT_SIGNIFICANT_PP
        sign = {"positive": 1.0, "negative": -1.0}.get(row["direction"])
        return size * (sign if sign is not None else rng.choice([-1.0, 1.0]))
    return float(len(comps)) * 1.0 * rng.choice([-1.0, 1.0])
