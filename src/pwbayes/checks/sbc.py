"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

If the sampler and the model's code are right, then for parameters drawn from the prior
and data simulated from them, the rank of each true value among (nearly independent)
posterior draws is uniform. :func:`sbc_summary` and :func:`sbc_person` run that loop for the
summary model and the person-level binary model with fixed priors; :func:`uniformity`
tests the ranks (chi-square over equal-width bins); :func:`pwbayes.plots.sbc.plot_ranks`
draws the histograms.

Replications run in parallel through joblib, so any joblib backend works; on a Dask
cluster::

    from dask.distributed import Client
    from joblib import parallel_config

    client = Client("scheduler-address:8786")
    with parallel_config(backend="dask"):
        ranks = pw.checks.sbc.sbc_summary(data, n=1000, n_jobs=-1)

Each worker compiles the model once and reuses it for every replication it runs (the data
enter as containers).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from ..errors import ConvergenceWarning
from ..priors import Prior

__all__ = ["sbc_person", "sbc_summary", "scalar_labels", "uniformity"]

#: Posterior draws kept per replication (thinned evenly): ranks run from 0 to this.
N_RANK_DRAWS = 99


def _thin(values: np.ndarray, n: int) -> np.ndarray:
    """Keep ``n`` evenly spaced draws (draws along axis 0) to cut autocorrelation."""
    idx = np.linspace(0, len(values) - 1, n).round().astype(int)
    return values[idx]


def _ranks(post, truth: Mapping[str, np.ndarray], n_rank: int) -> dict[str, np.ndarray]:
    """Rank of each true value among the thinned posterior draws, per variable."""
    out = {}
    for name, true in truth.items():
        draws = post[name].stack(sample=("chain", "draw")).transpose("sample", ...).values
        draws = _thin(draws, n_rank)
        out[name] = (draws < np.asarray(true)[None]).sum(axis=0)
    return out


def _labels(post, names) -> dict[str, list[str]]:
    """Flat labels of every scalar, e.g. ``beta[Utrecht, extra_hulp]``, per variable."""
    out = {}
    for name in names:
        da = post[name]
        dims = [d for d in da.dims if d not in ("chain", "draw")]
        keys = np.array(np.meshgrid(*[da.coords[d].values for d in dims], indexing="ij"))
        flat = keys.reshape(len(dims), -1).T if dims else [()]
        out[name] = [f"{name}[{', '.join(map(str, k))}]" if dims else name for k in flat]
    return out


def _fit(model, seed: int, fit_kw: Mapping[str, Any]):
    """Fit one replication; its convergence problems are counted, not warned one by one.

    SBC runs many short fits on purpose; :func:`_collect` says once how many had problems
    (a warning per fit would bury the result, and in joblib workers would get lost).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(random_seed=seed, progress=False, **fit_kw)


def _replication(fit, truth: Mapping[str, np.ndarray]) -> dict:
    """Ranks and labels of the true values in one fit, its divergences and problems."""
    post = fit.idata.posterior
    return {
        "ranks": _ranks(post, truth, N_RANK_DRAWS),
        "labels": _labels(post, truth),
        "divergences": fit.diagnostics.divergences,
        "problems": bool(fit.diagnostics.problems),
    }


def _draw(prior: Prior, rng: np.random.Generator, size) -> np.ndarray:
    """Draw from a Normal or HalfNormal prior (the families SBC here supports)."""
    p = prior.params
    if prior.dist == "Normal":
        return rng.normal(p["mu"], p["sigma"], size)
    if prior.dist == "HalfNormal":
        return np.abs(rng.normal(0.0, p["sigma"], size))
    raise ValueError(f"SBC draws Normal and HalfNormal priors only, not {prior.dist}.")


# ---------------------------------------------------------------------------- summary model
def _summary_one(data, columns, priors, fit_priors, seed, i, fit_kw) -> dict:
    from ..models.summary import SummaryModel

    rng = np.random.default_rng([seed, i])
    model = SummaryModel(data, **columns, priors=fit_priors)
    d = model.data
    comps = d.components
    mu = _draw(priors["mu"], rng, len(comps))
    tau = _draw(priors["tau"], rng, len(comps))
    beta = mu + tau * rng.standard_normal((len(d.sites), len(comps)))
    x_row = d.design[d.arm_index]  # rows x components
    theta = (beta[d.site_index] * x_row).sum(axis=1)
    rows = d.rows
    if len(rows) != len(data):  # simulated estimates are written back row by row
        raise ValueError("sbc_summary: every row of data must be a summary row the model uses.")
    sim = data.copy()
    sim[columns["estimate"]] = theta + rows["se"].to_numpy() * rng.standard_normal(len(rows))
    model = SummaryModel(sim, **columns, priors=fit_priors)
    fit = _fit(model, int(rng.integers(2**31)), fit_kw)
    return _replication(fit, {"mu": mu, "tau": tau, "beta": beta})


def sbc_summary(
    data: pd.DataFrame,
    *,
    n: int = 200,
    site: str = "municipality",
    arm: str = "arm",
    estimate: str = "estimate",
    se: str = "se",
    priors: Mapping[str, Prior] | None = None,
    fit_priors: Mapping[str, Prior] | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
) -> dict:
    """Simulation-based calibration of the summary model (partial pooling).

    Parameters
    ----------
    data : pandas.DataFrame
        Summary rows; their sites, arms and standard errors are kept, the estimates are
        replaced by simulated ones.
    n : int
        Replications.
    site, arm, estimate, se : str
        Column names.
    priors : mapping, optional
        ``mu`` and ``tau`` priors that parameters are drawn from (Normal / HalfNormal);
        default the model's defaults for these standard errors.
    fit_priors : mapping, optional
        Priors of the fitted model (others keep the model's defaults); default
        ``priors``. A different value is a deliberately wrong model, which SBC must
        reject.
    seed : int
        Replication ``i`` uses ``numpy.random.default_rng([seed, i])``.
    n_jobs : int
        joblib workers (``-1``: all cores); the active joblib backend is used.
    draws, tune, chains : int
        Per fit; ranks use :data:`N_RANK_DRAWS` evenly thinned draws.

    Returns
    -------
    dict
        ``ranks`` (variable -> array ``(n, ...)``), ``n_rank_draws``, ``divergences``,
        ``runs_with_problems`` (fits with any convergence problem; one
        :class:`~pwbayes.ConvergenceWarning` says how many).
    """
    from ..priors import default_priors

    columns = {"site": site, "arm": arm, "estimate": estimate, "se": se}
    base = default_priors(data[se].to_numpy())
    priors = {"mu": base["mu"], "tau": base["tau"], **dict(priors or {})}
    fit_priors = dict(fit_priors or priors)
    fit_kw = {"draws": draws, "tune": tune, "chains": chains}
    runs = Parallel(n_jobs=n_jobs)(
        delayed(_summary_one)(data, columns, priors, fit_priors, seed, i, fit_kw) for i in range(n)
    )
    return _collect(runs)


# ---------------------------------------------------------------------------- person model
def _person_one(data, columns, priors, fit_priors, seed, i, fit_kw) -> dict:
    from scipy.special import expit

    from ..models.person import PersonModel

    rng = np.random.default_rng([seed, i])
    model = PersonModel(data, **columns, priors=fit_priors)
    d = model.data
    comps, n_sites = d.components, len(d.sites)
    alpha_mu = _draw(priors["alpha_mu"], rng, None)
    alpha_sd = _draw(priors["alpha_sd"], rng, None)
    alpha = alpha_mu + alpha_sd * rng.standard_normal(n_sites)
    mu = _draw(priors["mu"], rng, len(comps))
    tau = _draw(priors["tau"], rng, len(comps))
    beta = mu + tau * rng.standard_normal((n_sites, len(comps)))
    gamma = _draw(priors["gamma"], rng, len(d.covariates))
    design = np.vstack([np.zeros((1, len(comps))), d.design])  # row 0: comparison
    eta = alpha[d.site_index] + d.x @ gamma
    eta += (beta[d.site_index] * design[d.arm_index + 1]).sum(axis=1)
    y = (rng.random(len(eta)) < expit(eta)).astype(int)
    sim = data.copy()
    sim[columns["outcome"]] = y
    model = PersonModel(sim, **columns, priors=fit_priors)
    fit = _fit(model, int(rng.integers(2**31)), fit_kw)
    truth = {"alpha_mu": alpha_mu, "alpha_sd": alpha_sd, "mu": mu, "tau": tau, "beta": beta}
    if len(d.covariates):
        truth["gamma"] = gamma
    return _replication(fit, truth)


def sbc_person(
    data: pd.DataFrame,
    *,
    n: int = 100,
    site: str = "municipality",
    arm: str = "arm",
    outcome: str = "work_gt_8h",
    covariates: Sequence[str] = ("female",),
    priors: Mapping[str, Prior] | None = None,
    fit_priors: Mapping[str, Prior] | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
) -> dict:
    """Simulation-based calibration of the person-level binary model (exact likelihood).

    ``data`` gives the people (sites, arms, covariates), every row used by the model (drop
    other comparison groups first, e.g. Groningen's reference group); outcomes are simulated from
    parameters drawn from ``priors`` (default: ``alpha_mu ~ Normal(-1, 1)``, ``alpha_sd ~
    HalfNormal(0.5)``, ``mu ~ Normal(0, 0.5)``, ``tau ~ HalfNormal(0.3)``, ``gamma ~
    Normal(0, 0.5)``, on the log-odds scale: effects of the size these experiments could
    have). Other parameters as for :func:`sbc_summary`.
    """
    columns: dict[str, Any] = {
        "site": site,
        "arm": arm,
        "outcome": outcome,
        "covariates": list(covariates),
    }
    default = {
        "alpha_mu": Prior("Normal", mu=-1.0, sigma=1.0),
        "alpha_sd": Prior("HalfNormal", sigma=0.5),
        "mu": Prior("Normal", mu=0.0, sigma=0.5),
        "tau": Prior("HalfNormal", sigma=0.3),
        "gamma": Prior("Normal", mu=0.0, sigma=0.5),
    }
    priors = {**default, **dict(priors or {})}
    fit_priors = dict(fit_priors or priors)
    if not len(covariates):
        priors.pop("gamma")
        fit_priors.pop("gamma", None)
    from ..errors import DataError
    from ..models.person import PersonModel

    used = len(PersonModel(data, **columns, priors=fit_priors).data.y)
    if used != len(data):
        raise DataError(
            f"sbc_person: the model uses {used} of the {len(data)} rows; pass only those (drop "
            "other comparison groups and rows with missing values first)."
        )
    fit_kw = {"draws": draws, "tune": tune, "chains": chains}
    runs = Parallel(n_jobs=n_jobs)(
        delayed(_person_one)(data, columns, priors, fit_priors, seed, i, fit_kw) for i in range(n)
    )
    return _collect(runs)


# ---------------------------------------------------------------------------- ranks
def _collect(runs: list[dict]) -> dict:
    names = runs[0]["ranks"]
    out = {
        "ranks": {k: np.stack([r["ranks"][k] for r in runs]) for k in names},
        "labels": runs[0]["labels"],
        "n_rank_draws": N_RANK_DRAWS,
        "divergences": int(sum(r["divergences"] for r in runs)),
        "runs_with_problems": int(sum(r["problems"] for r in runs)),
    }
    if out["runs_with_problems"]:
        warnings.warn(
            f"{out['runs_with_problems']} of {len(runs)} SBC fits had convergence problems "
            f"({out['divergences']} divergent transitions in all); short fits rank their "
            "draws less reliably, so give more draws before reading a non-uniform rank as "
            "a wrong model.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return out


def uniformity(result: dict, bins: int = 10) -> pd.DataFrame:
    """Chi-square test of uniform ranks for every scalar parameter.

    Ranks ``0..L`` are cut into ``bins`` equal-width bins (``L + 1`` must be divisible by
    ``bins``: 100 ranks into 10 or 20 bins, or 5).

    Returns
    -------
    pandas.DataFrame
        ``parameter, chi2, df, p_value`` (one row per scalar, e.g. ``mu[extra_hulp]``, or
        ``mu[0]`` without labels); the smallest
        p-value against ``0.01 / rows`` (Bonferroni) is the usual overall check.
    """
    n_values = result["n_rank_draws"] + 1
    if n_values % bins:
        raise ValueError(f"bins={bins} must divide the {n_values} possible ranks.")
    rows = []
    for name, ranks in result["ranks"].items():
        flat = ranks.reshape(len(ranks), -1)
        for j, label in enumerate(scalar_labels(result, name)):
            counts = np.bincount(flat[:, j] * bins // n_values, minlength=bins)
            chi2, p = stats.chisquare(counts)
            rows.append({"parameter": label, "chi2": chi2, "df": bins - 1, "p_value": p})
    return pd.DataFrame(rows)


def scalar_labels(result: dict, name: str) -> list[str]:
    """Labels of the scalars of ``name``, e.g. ``beta[Utrecht, extra_hulp]``."""
    return result["labels"][name]
