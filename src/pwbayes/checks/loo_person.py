"""Leave one site out, person model: refit without each site and predict it for its persons.

For each site the person model is refitted with that site's persons held out of the
likelihood (:func:`pwbayes.models.person.refit.held_out`: the same graph, so the compiled
sampler is reused; for a score or the normal approximation the persons are dropped,
:func:`~pwbayes.models.person.refit.without_site`, and each refit compiles). The held-out
site is then predicted as a municipality that did not take part
(:meth:`~pwbayes.PersonResult.predict_site`), for its own participants, at its own
comparison group's rate and (with site-level moderators) at its own moderator values. Its
published-method estimates (the record's site x arm rows, which disclosure control has
already checked) are compared with the predictive distribution of an estimate,
``effect + se * eps``, exactly as for the summary model (:mod:`.loo`): interval, inside,
log predictive density.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._text import plural
from ..errors import DataError
from ..intervals import check_interval
from .loo import LooSites, held_out_rows
from .refits import quiet_refit, warn_problems

if TYPE_CHECKING:
    from ..models.person import PersonModel
    from ..results import PersonResult

__all__ = ["person_loo_sites"]


def person_loo_sites(
    result: PersonResult,
    model: PersonModel,
    *,
    interval: float = 0.9,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    progress: bool = False,
) -> LooSites:
    """Refit the person model without each site and compare the site with its prediction.

    Parameters
    ----------
    result : PersonResult
        The fit of ``model`` (its rows are the sites' own estimates).
    model : PersonModel
        The fitted model (its persons are needed; a result holds none).

    Returns
    -------
    LooSites
        As the summary model's; the PSIS columns are empty (no per-row likelihood).
    """
    from ..models.person.refit import can_hold_out, held_out, without_site

    interval = check_interval(interval)
    m = result.record.model
    if m.kind != "PersonModel" or list(m.sites) != list(model.data.sites):
        raise DataError(
            "loo_sites(model): give the PersonModel this result was fitted from; the result's "
            f"sites are {list(m.sites)}, the model's {list(model.data.sites)}."
        )
    rng = np.random.default_rng(random_seed)
    parts, problems, skipped = [], [], []
    for k, site in enumerate(m.sites):
        own = [r for r in m.rows if r.site == site and r.estimate is not None and r.se is not None]
        rate = _comparison_rate(model, site)
        why = _unpredictable(own, rate, model) or _unmoderated(model, site)
        why = why or _level_only_here(model, site)
        if why:  # decided before refitting, from released figures and counts only
            skipped += [f"{r.label} ({why})" for r in own]
            continue
        alone = _components_only_here(model, site)
        skipped += [f"{r.label} (a component only this {m.site_noun} ran)" for r in own
                    if set(model.data.arm_components[r.arm]) & alone]  # fmt: skip
        own = [r for r in own if not set(model.data.arm_components[r.arm]) & alone]
        if not own:
            continue
        if progress:
            print(f"pwbayes loo: refit {k + 1}/{len(m.sites)} without {site}", flush=True)
        # the same graph with the site's counts zeroed (the compiled sampler is reused) where
        # the model allows it; otherwise the site's persons are dropped
        masked = can_hold_out(model.family, model.likelihood)
        refit, troubled = quiet_refit(
            (held_out if masked else without_site)(model, site), draws=draws, tune=tune,
            chains=chains, random_seed=None if random_seed is None else random_seed + k,
        )  # fmt: skip
        problems += [site] * troubled
        rows, lost = _predict(refit, model, site, own, rate, interval, rng)
        skipped += lost
        if rows is not None:
            parts.append(rows)
    warn_problems(problems, "without", "predictions")
    rows = pd.concat([p[0] for p in parts], ignore_index=True) if parts else _EMPTY.copy()
    for col in ("elpd_psis", "pareto_k"):
        rows[col] = np.nan
    rows["psis_ok"] = False
    sites = pd.DataFrame([(r.site.iloc[0], len(r), lpd, bool(r.inside.all())) for r, lpd in parts],
                         columns=["site", "rows", "lpd", "inside"])  # fmt: skip
    return LooSites(rows, sites, interval, m.scale, m.site_noun, m.note, tuple(skipped),
                    tuple(problems))  # fmt: skip


_EMPTY = pd.DataFrame(columns=["site", "arm", "estimate", "se", "pred_mean", "pred_low",
                               "pred_high", "inside", "lpd", "ess", "effect_mean",
                               "effect_low", "effect_high"])  # fmt: skip


def _comparison_rate(model: PersonModel, site: str) -> tuple[float | None, int]:
    """Return the held-out site's comparison-group rate (binary outcomes) and its size."""
    d = model.data
    rows = (d.site_index == d.sites.index(site)) & (d.arm_index == -1)
    if model.family != "bernoulli" or not rows.any():
        return None, int(rows.sum())
    return float(d.y[rows].mean()), int(rows.sum())


def _unpredictable(own: list, rate: tuple[float | None, int], model: PersonModel) -> str:
    """Why the site cannot be checked (never a figure of it), or ''."""
    if not own:
        return "no released estimate"
    value, n = rate
    if model.family == "bernoulli" and (n < model.min_cell or value is None or not 0 < value < 1):
        return "its comparison group gives no usable rate"
    return ""


def _components_only_here(model: PersonModel, site: str) -> set[str]:
    """Components that no other site ran (their effect elsewhere is the prior's)."""
    d = model.data
    others = (d.site_index != d.sites.index(site)) & (d.arm_index >= 0)
    ran = {c for a in np.unique(d.arm_index[others]) for c in d.arm_components[d.arms[a]]}
    return set(d.components) - ran


def _level_only_here(model: PersonModel, site: str) -> str:
    """Why the site's persons cannot be predicted from the others (a level only it has), or ''."""
    d = model.data
    here = d.site_index == d.sites.index(site)
    if d.covariates:
        x_here, x_others = d.x[here], d.x[~here]
        constant = (x_others == x_others[:1]).all(axis=0)  # no information on its effect
        if (constant & (x_here != x_others[:1]).any(axis=0)).any():
            return f"a covariate level only this {model.site_noun} has"
    for v in range(d.subgroup_index.shape[1]):
        if not set(d.subgroup_index[here, v]) <= set(d.subgroup_index[~here, v]):
            return f"a subgroup level only this {model.site_noun} has"
    return ""


def _unmoderated(model: PersonModel, site: str) -> str:
    """Why the other sites cannot carry the model's moderators (site facts only), or ''."""
    mods = model.moderators
    if mods is None:
        return ""
    rest = np.delete(mods.values, model.data.sites.index(site), axis=0)
    if len(rest) < len(mods.names) + 2:
        return f"too few other {model.site_noun}s for {len(mods.names)} moderator(s)"
    same = [n for j, n in enumerate(mods.names) if len(np.unique(rest[:, j])) < 2]
    return f"the other {model.site_noun}s share one value of {same}" if same else ""


def _moderators_of(model: PersonModel, site: str) -> dict[str, float] | None:
    """Return the held-out site's raw moderator values (site facts, not persons), or None."""
    mods = model.moderators
    if mods is None:
        return None
    row = mods.values[model.data.sites.index(site)]
    return {n: float(v) for n, v in zip(mods.names, row, strict=True)}


def _refit_levels(model: PersonModel, refit_record) -> np.ndarray | None:
    """Each person's subgroup levels as indices into the refit's levels (-1: not there).

    A binned level is matched by its interval (a refit whose persons do not reach the top
    edge labels the last bin ``[a, b)``, not ``[a, b]``).
    """
    layout, sub = model.subgroup_layout, refit_record.subgroups
    if layout is None or sub is None:
        return None

    def key(level: str) -> str:
        return level[:-1] if level.startswith("[") and level[-1] in ")]" else level

    out = np.empty_like(model.data.subgroup_index)
    for v, (var, levels) in enumerate(layout.levels.items()):
        known = {key(lev): k for k, lev in enumerate(sub.levels[var])}
        mapping = np.array([known.get(key(lev), -1) for lev in levels])
        out[:, v] = mapping[model.data.subgroup_index[:, v]]
    return out


def _predict(refit, model: PersonModel, site: str, own: list, rate, interval, rng):
    """Predict the held-out site's rows from the refit; rows that cannot be, with why."""
    from ..results.person_predict import predict_new_site, standardised_cells

    d, r = model.data, refit.record.model
    arms = {row.arm: d.arm_components[row.arm] for row in own}
    s = d.sites.index(site)
    full = list(d.covariates)
    names = list(r.person.covariates) if r.person is not None else []
    x_all = d.x * d.covariate_sd + d.covariate_mean if full else d.x
    # components and levels only this site has were found before refitting; what remains
    # is a refit that dropped the site (a score) and so encodes a category's levels anew
    absent = [j for j, n in enumerate(full) if n not in names]
    levels = _refit_levels(model, r)
    anew = levels is not None and (levels[d.site_index == s] < 0).any()
    if anew or (absent and (x_all[d.site_index == s][:, absent] != 0).any()):
        return None, [f"{row.label} (a level the other {plural(r.site_noun)} lack)"
                      for row in own]  # fmt: skip
    x = x_all[:, [full.index(n) for n in names]]
    people = (d.site_index == s) & d.participant
    comparison = (d.site_index == s) & (d.arm_index == -1)
    cells = standardised_cells(
        x[people], np.ones(int(people.sum())), r, None if levels is None else levels[people]
    )
    base = standardised_cells(x[comparison], np.ones(int(comparison.sum())), r,
                              None if levels is None else levels[comparison])  # fmt: skip
    wanted = {row.arm: tuple(c for c in arms[row.arm]) for row in own}
    _, effect = predict_new_site(refit.idata.posterior, r, cells, rate[0], rng,
                                 arm_components=wanted, rate_cells=base,
                                 moderators=_moderators_of(model, site))  # fmt: skip
    y = np.array([row.estimate for row in own])
    se = np.array([row.se for row in own])
    chains = refit.idata.posterior.sizes["chain"]
    return held_out_rows(
        site, [row.arm for row in own], y, se, effect, effect, chains, interval, rng
    ), []
