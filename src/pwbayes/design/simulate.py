"""The exact path: check a design by simulating experiments and analysing them for real.

Each replication draws the true effects from the design prior (one posterior draw; new
sites get ``mu + tau * eps``), simulates the persons of every site of the design, and
analyses them as a researcher would:

- **unpooled**: the published per-site method (:func:`pwbayes.site_estimates`: a linear
  model per site with robust standard errors), tested two-sided at the design's level;
- **pooled** (``fit=True``): the summary model of pwbayes on the old site x arm rows of
  the prior's fit plus the new ones, with the prior fit's priors; P(effect > 0) > 0.95 or
  < 0.05 is conclusive. Fits of one structure reuse the compiled sampler.

Replications run through joblib, so any joblib backend works; on a Dask cluster::

    from dask.distributed import Client
    from joblib import parallel_config

    client = Client("scheduler-address:8786")
    with parallel_config(backend="dask"):
        table = pw.design.simulate(design, fit, replications=400, n_jobs=-1)
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ..data.site_estimates import site_estimates
from ..errors import ConvergenceWarning, DesignError
from ..postprocess.seeds import check_seed
from .evaluate import base_rates
from .exact_table import exact_rows
from .normal import critical
from .prior import PriorDraws, prior_draws
from .spec import Design

__all__ = ["simulate"]

#: Columns of the table, besides those of the design (``design``, ``name``...).
FIGURES = ["assurance", "p_significant", "p_conclusive", "type_s", "type_m"]


def simulate(
    design: Design,
    prior: object,
    *,
    replications: int = 100,
    fit: bool = True,
    draws: int = 1000,
    tune: int = 500,
    chains: int = 2,
    random_seed: int | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Simulate ``replications`` experiments of ``design`` and analyse each for real.

    Parameters
    ----------
    design : Design
        Binary outcome (persons are 0/1) or a score with ``outcome_sd`` (normal).
    prior : SummaryResult or PersonResult (or EffectPrior with ``fit=False``)
        The design prior; with ``fit=True`` also the old data and the priors of the
        pooled analysis (its record's site x arm rows).
    replications : int
        Simulated experiments.
    fit : bool
        Also fit the pooled model in every replication (seconds each); ``False``: the
        unpooled analysis only (P(conclusive) is then missing).
    draws, tune, chains : int
        Sampler settings of the pooled fits.
    random_seed : int, optional
        Fixes the truths, the persons and the fits.
    n_jobs : int
        joblib workers (``-1``: all cores); the active joblib backend is used.

    Returns
    -------
    pandas.DataFrame
        One row per estimand, with the figures of :func:`evaluate`, their Monte Carlo
        standard errors (``*_mcse``) and ``replications``.
    """
    if not isinstance(design, Design):
        raise DesignError("simulate: give one pw.design.Design.")
    if (
        isinstance(replications, bool)
        or not isinstance(replications, numbers.Integral)
        or replications < 2
    ):
        raise DesignError(f"replications={replications!r}: give a whole number of at least 2.")
    if design.analysis == "pooled" and not fit:
        raise DesignError(
            "simulate(fit=False) analyses each site alone; a design with analysis='pooled' "
            "needs fit=True (the pooled model in every replication)."
        )
    if design.subgroup is not None or design.contrast is not None:
        raise DesignError("simulate: subgroup designs are evaluated by the fast path only.")
    replications = int(replications)
    check_seed(random_seed)
    old = _old_rows(prior) if fit else None
    seeds = np.random.SeedSequence(random_seed).spawn(replications + 1)
    truth = prior_draws(prior, draws=replications, random_seed=_int(seeds[0]))
    if truth.draws < replications:
        raise DesignError(
            f"replications={replications}: the prior has {truth.draws} draws; use at most that."
        )
    rates = base_rates(design, truth)
    jobs = (
        delayed(_replicate)(
            design, _one_draw(truth, r), rates, old, (draws, tune, chains), _int(seeds[r + 1])
        )  # fmt: skip
        for r in range(replications)
    )
    runs = Parallel(n_jobs=n_jobs)(jobs)
    problems = sum(run.pop("_problems") for run in runs)
    if problems:
        warnings.warn(
            f"{problems} of {replications} pooled fits had convergence problems (divergences, "
            "R-hat or ESS); their decisions are kept. Raise tune and draws if many.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return _table(design, runs, fit)


def _int(seed: np.random.SeedSequence) -> int:
    return int(seed.generate_state(1)[0])


def _old_rows(prior: object) -> pd.DataFrame:
    record = getattr(prior, "record", None)
    if record is None:
        raise DesignError(
            "simulate(fit=True) pools the new data with the old: give a fitted result as the "
            "prior (its site x arm rows are the old data), or fit=False for the unpooled "
            "analysis only."
        )
    rows = [(r.site, r.arm, r.estimate, r.se) for r in record.model.rows
            if r.estimate is not None and r.se is not None]  # fmt: skip
    old = pd.DataFrame(rows, columns=["site", "arm", "estimate", "se"])
    old.attrs["priors"] = dict(record.model.priors)
    return old


def _one_draw(truth: PriorDraws, r: int) -> dict:
    """Return the r-th draw of the prior as plain arrays (cheap to send to a worker)."""
    return {
        "components": truth.components,
        "mu": truth.mu[r],
        "tau": truth.tau[r],
        "sites": {s: v[r] for s, v in truth.sites.items()},
    }


def _replicate(design: Design, draw: dict, rates, old, settings, seed: int) -> dict:
    """One simulated experiment: truths, persons, unpooled estimates, pooled fit."""
    rng = np.random.default_rng(seed)
    comps = draw["components"]
    people, truths = [], {}
    for site, rate in zip(design.site_names, rates, strict=True):
        if design.new_sites:
            beta = draw["mu"] + draw["tau"] * rng.standard_normal(len(comps))
        else:
            beta = draw["sites"][site]
        truths[site] = dict(zip(comps, beta, strict=True))
        people.append(_persons(design, site, rate, truths[site], rng))
    persons = pd.concat(people, ignore_index=True)
    family = "bernoulli" if rates[0] is not None else "normal"
    est = site_estimates(persons, outcome="y", site="site", arm="arm", family=family)
    out: dict = {"truths": truths, "mu": dict(zip(comps, draw["mu"], strict=True)),
                 "estimates": est[["site", "arm", "estimate", "se"]], "_problems": 0}  # fmt: skip
    if old is not None:
        out.update(_pooled_fit(design, old, est, settings, seed))
    return out


def _persons(design: Design, site: str, rate, beta: dict, rng) -> pd.DataFrame:
    groups = [("control", design.comparison, 0.0)]
    groups += [(arm, n, sum(beta[c] for c in design.components[arm]))
               for arm, n in design.arms.items()]  # fmt: skip
    frames = []
    for arm, n, effect in groups:
        if rate is None:
            y = rng.normal(effect, design.outcome_sd, n)
        else:
            y = rng.random(n) < np.clip((rate + effect) / 100, 0.0, 1.0)
        frames.append(pd.DataFrame({"site": site, "arm": arm, "y": y.astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _pooled_fit(design: Design, old: pd.DataFrame, est: pd.DataFrame, settings, seed) -> dict:
    from ..models.summary import SummaryModel

    rows = pd.concat([old, est[["site", "arm", "estimate", "se"]]], ignore_index=True)
    model = SummaryModel(rows, site="site", arm="arm", estimate="estimate", se="se",
                         priors=old.attrs["priors"])  # fmt: skip
    draws, tune, chains = settings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = model.fit(draws=draws, tune=tune, chains=chains, random_seed=seed % 2**31,
                           progress=False)  # fmt: skip
    post = result.idata.posterior
    beta = post["beta"].sel(site=design.site_names)
    p_site = {(s, str(c)): float((beta.sel(site=s, component=c) > 0).mean())
              for s in design.site_names for c in beta.component.values}  # fmt: skip
    p_arm = {}
    for arm, comps in design.components.items():
        total = sum(beta.sel(component=c) for c in comps)
        for s in design.site_names:
            p_arm[(s, arm)] = float((total.sel(site=s) > 0).mean())
    p_mu = {str(c): float((post["mu"].sel(component=c) > 0).mean()) for c in post.component.values}
    problems = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {"p_site": p_site, "p_arm": p_arm, "p_mu": p_mu, "_problems": int(problems)}


def _table(design: Design, runs: list[dict], fit: bool) -> pd.DataFrame:
    table = pd.DataFrame(exact_rows(design, runs, fit, critical(design.level)))
    table.attrs.update(
        replications=len(runs),
        rules="as pw.design.evaluate; by simulated experiments and real analyses",
    )
    return table
