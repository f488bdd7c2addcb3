"""How the SYNTHETIC population's characteristics and outcomes are drawn.

The person-level counterpart of the published facts: characteristics, a latent job
readiness, each site's comparison-group level hit by calibrating its intercept, and
effects of the published sign and size or additive in the components. Used by
:func:`~pwbayes.data.population.simulate_participants`; the order of the random draws is
part of the contract (the same seed gives the same population). This module needs numpy
and pandas only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = [
    "COVARIATES",
    "REGISTER_OUTCOMES",
    "SURVEY_OUTCOMES",
    "SUSPECT_SITES",
    "UTRECHT_HETEROGENEITY",
    "characteristics",
    "check_heterogeneity",
    "readiness",
    "register_outcomes",
    "survey_outcomes",
]

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
SUSPECT_SITES = ("Nijmegen", "Tilburg")
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


def characteristics(rng, n: int) -> pd.DataFrame:
    """Draw the nine background characteristics of ``n`` persons."""
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


def readiness(df: pd.DataFrame, rng) -> np.ndarray:
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


def register_outcomes(people, site, arms, ready, is_comp, participant, u, ctx, out) -> None:
    """Draw the register outcomes of one site into ``people``; append the truth to ``out``."""
    parser, effects, extra, site_effects = (
        ctx["parser"],
        ctx["effects"],
        ctx["extra"],
        ctx["site_effects"],
    )
    levels, found, rng = ctx["levels"], ctx["found"], ctx["rng"]
    arm_col = people["arm"].to_numpy()
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
                    out["components"] += [
                        {"outcome": o, "site": site, "component": c,
                         "effect": site_effects.get(c, 0.0)}
                        for o in REGISTER_OUTCOMES
                        for c in comps
                    ]  # fmt: skip
            else:
                s = _shift_for_pp(
                    base[participant], _published_pp(found, outcome, site, arm, comps, rng)
                )
            s = s + _subgroup_shift(people, extra, comps)
            shift[in_arm] = s[in_arm]
            gain = _expit(base[participant] + s[participant]) - _expit(base[participant])
            out["truth"].append(
                {"outcome": outcome, "site": site, "arm": parser.label(comps),
                 "effect": 100 * float(gain.mean())}
            )  # fmt: skip
        out["subgroups"] += [
            {"outcome": outcome, "site": site, "component": c, "subgroup": var,
             "subgroup_level": str(level),
             "effect": site_effects.get(c, 0.0) + levels_extra.get(str(level), 0.0)}
            for c, variables in extra.items()
            for var, levels_extra in variables.items()
            for level in sorted(people[var].astype(str).unique())
            if any(c in parser.parse(a, allow_empty=False) for a in arms)
        ]  # fmt: skip
        p = np.minimum(_expit(base + shift), prob_cap)
        people[outcome] = u < p
        prob_cap = p if outcome == "work_gt_8h" else prob_cap


def survey_outcomes(people, site, arms, ready, participant, ctx, out) -> None:
    """Draw the survey outcomes (with baselines) of one site into ``people``."""
    parser, effects, site_effects = ctx["parser"], ctx["effects"], ctx["site_effects"]
    levels, found, rng = ctx["levels"], ctx["found"], ctx["rng"]
    arm_col = people["arm"].to_numpy()
    for outcome in SURVEY_OUTCOMES:
        level = levels.get((outcome, site), _SURVEY_DEFAULT_LEVEL[outcome])
        sd = _SURVEY_SD[outcome]
        baseline = level + 0.4 * sd * (ready - ready.mean()) + rng.normal(0, 0.8 * sd, len(people))
        effect = np.zeros(len(people))
        for arm in arms:
            comps = parser.parse(arm, allow_empty=False)
            if isinstance(effects, Mapping):
                e = 0.5 * sum(site_effects.get(c, 0.0) for c in comps) * sd
            else:
                e = _published_pp(found, outcome, site, arm, comps, rng) / 6.0 * 0.25 * sd
            effect[arm_col == arm] = e
            out["truth"].append(
                {"outcome": outcome, "site": site, "arm": parser.label(comps), "effect": float(e)}
            )
        final = level + 0.5 * (baseline - level) + effect + rng.normal(0, 0.7 * sd, len(people))
        lo, hi = (0.0, 10.0) if outcome.endswith("0_10") else (0.0, 40.0)
        people[f"{outcome}_baseline"] = np.clip(np.round(baseline, 1), lo, hi)
        people[outcome] = np.clip(np.round(final, 1), lo, hi)
        # the reference group filled in no questionnaires
        people.loc[~participant, [outcome, f"{outcome}_baseline"]] = np.nan


def check_heterogeneity(heterogeneity, effects, parser) -> dict:
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
    out: dict[str, dict[str, dict[str, float]]] = {}
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
