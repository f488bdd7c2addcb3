"""Evaluate candidate designs under a prior: the fast path (closed forms, no MCMC).

For each draw of the design prior the true effects of every site of the design are drawn
(new sites: ``mu + tau * eps``; existing sites: their own posterior draws); the closed
forms of :mod:`pwbayes.design.normal` give each decision's probability given that truth;
averages over draws and sites fill the table.
"""

from __future__ import annotations

import numbers
import time
import warnings
import zlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..arms import default_parser
from ..data import published
from ..errors import DesignError, quote_values
from ..postprocess.seeds import check_seed
from .contrast import contrast_rows
from .importance import MIN_ESS, ImportanceUpdate, importance_update
from .normal import (
    arm_covariance,
    critical,
    decide,
    summarise,
    unpooled_variance,
)
from .prior import PriorDraws, prior_draws
from .spec import Design

__all__ = ["COLUMNS", "RULES", "base_rates", "evaluate", "priors"]

#: New sites are exchangeable: their own effects after pooling are evaluated on this many.
NEW_SITES_EVALUATED = 2

#: How decisions are made (the table's ``attrs["rules"]``).
RULES = (
    "assurance and type S/M follow each row's analysis: 'unpooled' = each site alone, the "
    "two-sided test at the design's level (0.90 as published); 'pooled' = the 90% interval "
    "after pooling excludes zero. Conclusive: after pooling the new data with the old, "
    "P(effect > 0) > 0.95 or < 0.05"
)

#: The columns of an evaluation table, in order.
COLUMNS = [
    "design", "estimand", "level", "name", "sites", "persons", "n_arms", "persons_per_arm",
    "arm_set", "analysis", "assurance",
    "p_significant", "p_conclusive", "type_s", "type_m", "se_unpooled", "prior_sd",
    "posterior_sd", "sd_reduction", "half_width_90", "effective_draws",
]  # fmt: skip


def evaluate(
    design: Design | Iterable[Design],
    prior: object,
    *,
    analysis_prior: object | None = None,
    draws: int = 2000,
    analysis_draws: int = 500,
    random_seed: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Assurance, P(conclusive), type S and M, and expected precision of designs.

    Parameters
    ----------
    design : Design or iterable of Design
        The candidate design(s).
    prior : SummaryResult, PersonResult, EffectPrior or PriorDraws
        The design prior: what the true effects may be.
    analysis_prior : same types, optional
        The prior the new data are pooled with (default: ``prior``).
    draws : int
        Prior draws to average over.
    analysis_draws : int
        Draws of the analysis prior that the new data reweight (the pooled analysis); more
        are slower and needed when a design's data would teach far more than the prior
        (column ``effective_draws`` below 30, with a warning).
    random_seed : int, optional
        Seed of the prior draws and the new sites' effects.
    progress : bool
        Print how far it is every 25 designs, for long lists.

    Returns
    -------
    pandas.DataFrame
        One row per design x estimand (``estimand``: ``component``, ``arm`` or
        ``contrast``; ``level``: ``site`` or ``pooled``); ``attrs`` name the priors,
        the unit and the decision rules.
    """
    designs = [design] if isinstance(design, Design) else list(design)
    if not designs or not all(isinstance(d, Design) for d in designs):
        raise DesignError("evaluate: give a pw.design.Design or a list of them.")
    truth_prior, analysis = priors(prior, analysis_prior, draws, random_seed)
    if analysis.unit != truth_prior.unit:
        raise DesignError(
            f"The analysis prior is in {analysis.unit!r}, the design prior in "
            f"{truth_prior.unit!r}: both must describe the same outcome."
        )
    if (
        isinstance(analysis_draws, bool)
        or not isinstance(analysis_draws, numbers.Integral)
        or (analysis_draws < 2)
    ):
        raise DesignError(f"analysis_draws={analysis_draws!r}: give a whole number, at least 2.")
    rows, start = [], time.perf_counter()
    for k, d in enumerate(designs, 1):
        rows += _evaluate_one(d, truth_prior, analysis, _design_rng(d, random_seed),
                              int(analysis_draws))  # fmt: skip
        if progress and (k % 25 == 0 or k == len(designs)):
            print(
                f"pwbayes design: {k}/{len(designs)} designs ({time.perf_counter() - start:.0f} s)"
            )
    table = pd.DataFrame(rows, columns=COLUMNS)
    limit = min(MIN_ESS, min(analysis_draws, analysis.draws) / 2)  # a point prior: all alike
    rough = table.loc[table.effective_draws < limit, "design"].unique()
    if len(rough):
        warnings.warn(
            f"{len(rough)} design(s) would teach far more than {analysis_draws} draws of the "
            f"prior can show (column effective_draws below {MIN_ESS}), e.g. {rough[0]!r}: "
            "their pooled figures are rough. Give analysis_draws=2000 (slower).",
            UserWarning,
            stacklevel=2,
        )
    table.attrs.update(
        unit=truth_prior.unit,
        design_prior=truth_prior.source,
        analysis_prior=analysis.source,
        rules=RULES,
        weak_tau=list(truth_prior.weak),
    )
    return table


def priors(prior, analysis_prior, draws: int, random_seed) -> tuple[PriorDraws, PriorDraws]:
    """Draw the design prior and the analysis prior (the same unless one is given)."""
    if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 2:
        raise DesignError(f"draws={draws!r}: give a whole number of prior draws, at least 2.")
    check_seed(random_seed)
    seeds = np.random.SeedSequence(random_seed).spawn(2)
    truth = prior_draws(prior, draws=int(draws), random_seed=_int(seeds[0]))
    if analysis_prior is None:
        return truth, truth
    return truth, prior_draws(analysis_prior, draws=int(draws), random_seed=_int(seeds[1]))


def _design_rng(design: Design, random_seed) -> np.random.Generator:
    """Return the design's own generator: the same design gets the same draws in any list."""
    entropy = [zlib.crc32(design.label.encode()), *([] if random_seed is None else [random_seed])]
    return np.random.default_rng(entropy if random_seed is not None else None)


def _int(seed: np.random.SeedSequence) -> int:
    return int(seed.generate_state(1)[0])


def _evaluate_one(
    design: Design, prior: PriorDraws, analysis: PriorDraws, rng, analysis_draws: int
) -> list[dict]:
    comps = tuple(dict.fromkeys(c for cs in design.components.values() for c in cs))
    idx = prior.index(comps, f"design {design.label!r}")
    a_idx = analysis.index(comps, f"design {design.label!r} (analysis prior)")
    x = np.array([[c in cs for c in comps] for cs in design.components.values()], float)
    n_arm = np.array(list(design.arms.values()), float)
    for site in [] if design.new_sites else design.site_names:
        _truth(design, prior, site, idx, rng)  # an unknown site is named before anything else
    rates = base_rates(design, prior)
    shift, a_shift = _subgroup_shift(design, prior, idx), _subgroup_shift(design, analysis, a_idx)
    # The state: the pooled effects, then each site's (draws x components).
    truth = [prior.mu[:, idx] + shift]
    own: list[np.ndarray | None] = []
    per_site, analyst = [], []
    for site, rate in zip(design.site_names, rates, strict=True):
        beta = _truth(design, prior, site, idx, rng) + shift
        truth.append(beta)
        own.append(None if design.new_sites else analysis.sites[site][:, a_idx] + a_shift)
        _check_rates(design, site, rate, beta @ x.T)
        s = arm_covariance(beta @ x.T, n_arm, design.comparison, base_rate=rate,
                           outcome_sd=design.outcome_sd)  # fmt: skip
        per_site.append((beta, s))
        # As the summary model sees them: each row with its own SE, the rows independent
        # (the shared comparison group's covariance is not in a table of estimates).
        typical = (beta @ x.T).mean(axis=0, keepdims=True)
        assumed = arm_covariance(typical, n_arm, design.comparison, base_rate=rate,
                                 outcome_sd=design.outcome_sd)[0]  # fmt: skip
        analyst.append(np.diag(np.diag(assumed)))
    pooled_update = importance_update(
        analysis.mu[:, a_idx] + a_shift, analysis.tau[:, a_idx], own, x, analyst,
        [s for _, s in per_site], np.concatenate(truth, axis=1), rng, analysis_draws,
    )  # fmt: skip

    base = {"design": design.label, "sites": len(rates), "persons": design.persons,
            "analysis": design.analysis, "n_arms": len(design.arms),
            "persons_per_arm": round(float(np.mean(n_arm))), "arm_set": " | ".join(design.arms),
            "effective_draws": round(pooled_update.ess)}  # fmt: skip
    rows = _site_rows(design, comps, x, per_site, pooled_update, base)
    if design.new_sites:
        rows += _pooled_rows(design, comps, pooled_update, base)
    if design.contrast is not None:
        rows += contrast_rows(design, comps, x, per_site, (prior, idx), (analysis, a_idx), base)
    return rows


def _check_rates(design: Design, site: str, rate: float | None, theta: np.ndarray) -> None:
    """Warn when the prior's effects push an arm's rate outside 0-100% in many draws."""
    if rate is None:
        return
    outside = float(np.mean((rate + theta <= 0) | (rate + theta >= 100)))
    if outside > 0.01:
        warnings.warn(
            f"design {design.label!r}, {site}: in {outside:.0%} of the prior draws an arm's "
            f"rate (base rate {rate:g}% + effect) falls outside 0-100%; it is clipped to "
            "0.5-99.5%, so the figures are rough. Check base_rate against the effects.",
            UserWarning,
            stacklevel=4,
        )


def base_rates(design: Design, prior: PriorDraws) -> list[float | None]:
    """Return the comparison level of each site, in percent; None for a score outcome."""
    names = design.site_names
    if not prior.binary:
        if design.outcome_sd is None:
            raise DesignError(
                f"The prior's outcome is a score ({prior.unit}); give the design its "
                "standard deviation within a group, outcome_sd=..."
            )
        return [None] * len(names)
    if design.base_rate is not None:
        rate = design.base_rate
        return (
            [float(rate[n]) for n in names]
            if isinstance(rate, Mapping)
            else [float(rate)] * len(names)
        )
    outcome = design.outcome or prior.outcome
    if outcome is None:
        raise DesignError(
            f"The prior ({prior.source}) does not name its outcome; give the design "
            "outcome='work_gt_8h' (its published comparison levels are the base rates) or "
            "base_rate=... (percent)."
        )
    levels = published.comparison_outcomes()
    levels = levels[(levels.outcome == outcome) & (levels.unit == "percent")]
    if levels.empty:
        raise DesignError(
            f"No published comparison level for outcome {outcome!r}; give the design "
            "base_rate=... (percent)."
        )
    by_site = dict(zip(levels.municipality, levels.value.astype(float), strict=True))
    if design.new_sites:
        return [float(np.median(list(by_site.values())))] * len(names)
    missing = [n for n in names if n not in by_site]
    if missing:
        raise DesignError(
            f"No published comparison level of {outcome!r} for {quote_values(missing)} "
            f"(known: {quote_values(sorted(by_site))}); give base_rate=..."
        )
    return [by_site[n] for n in names]


def _truth(design: Design, prior: PriorDraws, site: str, idx: list[int], rng) -> np.ndarray:
    """Draw the true component effects of one site of the design."""
    if design.new_sites:
        eps = rng.standard_normal((prior.draws, len(idx)))
        return prior.mu[:, idx] + prior.tau[:, idx] * eps
    if site not in prior.sites:
        raise DesignError(
            f"sites: {site!r} is not a site of the prior ({prior.source}); its sites are "
            f"{quote_values(sorted(prior.sites))}. For a new municipality give sites=1."
        )
    return prior.sites[site][:, idx]


def _subgroup_shift(design: Design, prior: PriorDraws, idx: list[int]) -> np.ndarray | float:
    """How much the effects in the design's subgroup level differ from the pooled ones."""
    if design.subgroup is None:
        return 0.0
    ((variable, level),) = design.subgroup.items()
    key = (variable, str(level))
    if key not in prior.subgroups:
        known = prior.levels(variable)
        raise DesignError(
            f"subgroup {variable}={level!r}: the prior ({prior.source}) has no such level; "
            + (
                f"its levels are {quote_values(known)}."
                if known
                else "fit a PersonModel with subgroups=[...] to design for a subgroup."
            )  # fmt: skip
        )
    return prior.subgroups[key][:, idx] - prior.mu[:, idx]


def _site_rows(design, comps, x, per_site, update: ImportanceUpdate, base) -> list[dict]:
    """Rows for each component and combined arm: a site's own effect, over the sites."""
    parser = default_parser()
    n = len(comps)
    targets = [("component", parser.label((c,)), np.eye(n)[i]) for i, c in enumerate(comps)]
    targets += [("arm", label, row) for label, row in zip(design.components, x, strict=True)
                if row.sum() > 1]  # fmt: skip
    rows = []
    for estimand, name, coef in targets:
        unpooled, pooled, se, prior_sd, post_sd = [], [], [], [], []
        for j, (beta, s) in enumerate(per_site):
            truth = beta @ coef
            pooled_too = not design.new_sites or j < NEW_SITES_EVALUATED
            var = unpooled_variance(coef, x, s)
            if var is not None:
                sd = np.sqrt(var)
                unpooled.append(decide(truth, sd, critical(design.level) * sd, truth))
                se.append(sd)
            if not pooled_too:
                continue  # new sites are exchangeable: two of them suffice
            weights = np.zeros(update.size)
            weights[(j + 1) * n : (j + 2) * n] = coef  # site j's block
            pooled.append(update.decide(weights, truth))
            prior_sd.append(update.prior_sd(weights))
            post_sd.append(update.posterior_sd(weights))
        figures = summarise(design.analysis, unpooled, pooled, se, prior_sd, post_sd)
        rows.append({**base, "estimand": estimand, "level": "site", "name": name, **figures})
    return rows


def _pooled_rows(design, comps, update: ImportanceUpdate, base) -> list[dict]:
    """Return rows for the pooled effect of each component once the new sites join."""
    rows = []
    for i, comp in enumerate(comps):
        weights = np.zeros(update.size)
        weights[i] = 1.0
        decisions = [update.decide(weights, update.truth @ weights)]
        figures = summarise(design.analysis, [], decisions, [], [update.prior_sd(weights)],
                            [update.posterior_sd(weights)])  # fmt: skip
        if design.analysis == "unpooled":  # no pooled test without pooling
            figures.update(assurance=np.nan, p_significant=np.nan, type_s=np.nan, type_m=np.nan)
        rows.append({**base, "estimand": "component", "level": "pooled",
                     "name": default_parser().label((comp,)), **figures})  # fmt: skip
    return rows
