"""Leave one site out, person model: refit without each site and predict it for its persons.

For each site the person model is made again without that site's persons
(:func:`pwbayes.models.person.refit.without_site`: a graph of its own, so each refit
compiles) and fitted; the held-out site is then predicted as a municipality that did not
take part (:meth:`~pwbayes.PersonResult.predict_site`), for its own participants and at its
own comparison group's rate. Its published-method estimates (the record's site x arm
rows, which disclosure control has already checked) are compared with the predictive
distribution of an estimate, ``effect + se * eps``, exactly as for the summary model
(:mod:`.loo`): interval, inside, log predictive density.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
from scipy import special, stats

from ..errors import ConvergenceWarning, DataError
from ..intervals import check_interval
from .loo import LooSites

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
    from ..models.person.refit import without_site
    from ..results.person_predict import predict_new_site, standardised_cells

    interval = check_interval(interval)
    m = result.record.model
    if list(m.sites) != list(model.data.sites) or m.kind != "PersonModel":
        raise DataError("loo_sites(model): give the PersonModel this result was fitted from.")
    d, rng = model.data, np.random.default_rng(random_seed)
    parts, problems = [], []
    for k, site in enumerate(m.sites):
        if progress:
            print(f"pwbayes loo: refit {k + 1}/{len(m.sites)} without {site}", flush=True)
        s = d.sites.index(site)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            refit = without_site(model, site).fit(
                draws=draws, tune=tune, chains=chains, progress=False,
                random_seed=None if random_seed is None else random_seed + k,
            )  # fmt: skip
        problems += [site] * any(issubclass(w.category, ConvergenceWarning) for w in caught)
        persons = (d.site_index == s) & d.participant
        x_raw = d.x[persons] * d.covariate_sd + d.covariate_mean
        cells, weights = standardised_cells(x_raw, np.ones(int(persons.sum())), refit.record.model)
        comparison = (d.site_index == s) & (d.arm_index == -1)
        rate = float(d.y[comparison].mean()) if model.family == "bernoulli" else None
        _, arms = predict_new_site(refit.idata.posterior, refit.record.model, cells, weights,
                                   rate, rng)  # fmt: skip
        arm_of = {a: j for j, a in enumerate(refit.record.model.arms)}
        chains_ = refit.idata.posterior.sizes["chain"]
        parts.append(_rows(m, site, arms, arm_of, interval, rng, chains_))
    if problems:
        warnings.warn(
            f"the refits without {', '.join(problems)} had convergence problems; their "
            "predictions are kept. Raise tune and draws.",
            ConvergenceWarning,
            stacklevel=2,
        )
    rows = pd.concat([p[0] for p in parts], ignore_index=True)
    for col in ("elpd_psis", "pareto_k"):
        rows[col] = np.nan
    rows["psis_ok"] = False
    sites = pd.DataFrame([(site, len(r), lpd, bool(r["inside"].all()) if len(r) else True)
                          for (r, lpd), site in zip(parts, m.sites, strict=True)],
                         columns=["site", "rows", "lpd", "inside"])  # fmt: skip
    known = set(zip(rows["site"], rows["arm"], strict=True))
    skipped = tuple(r.label for r in m.rows
                    if r.estimate is not None and (r.site, r.arm) not in known)  # fmt: skip
    return LooSites(rows, sites, interval, m.scale, m.site_noun, m.note, skipped)


def _rows(m, site, arms, arm_of, interval, rng, chains) -> tuple[pd.DataFrame, float]:
    """Return the held-out site's rows (with an estimate, of an arm the refit knows)."""
    own = [r for r in m.rows if r.site == site and r.estimate is not None and r.se is not None
           and r.arm in arm_of]  # fmt: skip
    if not own:
        return pd.DataFrame(), 0.0
    effect = np.column_stack([arms[:, arm_of[r.arm]] for r in own])
    y = np.array([r.estimate for r in own])
    se = np.array([r.se for r in own])
    logdens = stats.norm.logpdf(y, effect, se)
    replicated = effect + se * rng.standard_normal(effect.shape)
    tail = (1 - interval) / 2
    low, high = np.quantile(replicated, [tail, 1 - tail], axis=0)
    e_low, e_high = np.quantile(effect, [tail, 1 - tail], axis=0)
    n = len(effect)
    dens = np.exp(logdens - logdens.max(0)).reshape(chains, -1, len(own))
    ess = az.ess(az.convert_to_dataset({"d": dens}, dims={"d": ["row"]}))["d"].values
    rows = pd.DataFrame({
        "site": site, "arm": [r.arm for r in own], "estimate": y, "se": se,
        "pred_mean": effect.mean(0), "pred_low": low, "pred_high": high,
        "inside": (y >= low) & (y <= high),
        "lpd": special.logsumexp(logdens, axis=0) - np.log(n), "ess": ess,
        "effect_mean": effect.mean(0), "effect_low": e_low, "effect_high": e_high,
    })  # fmt: skip
    return rows, float(special.logsumexp(logdens.sum(1)) - np.log(n))
