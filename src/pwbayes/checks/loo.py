"""Leave one site out: does the model predict a site it has not seen.

For each site the summary model is refitted with that site's rows held out of the
likelihood (:meth:`~pwbayes.SummaryModel.leave_out`: the same compiled sampler). The
held-out site's effects are then its new-site predictive from the other sites, and its
published estimates are compared with the predictive distribution of an estimate,
``theta_k (+ bias) + se_k * eps``:

* the log predictive density of each row and of each site's rows together
  (``log mean_s prod_k Normal(y_k | mean_sk, se_k)``), the quantity baggr's ``loocv``
  sums;
* whether each estimate falls inside its central predictive interval (90% by default):
  over many sites about 90% should.

Beside it, Pareto-smoothed importance sampling (PSIS-LOO, ``arviz.loo``) leaves out one
*row* of the full fit without refitting; its Pareto k says where that shortcut is valid
(k <= 0.7).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
from scipy import special, stats

from .._text import plural
from ..errors import DataError
from ..intervals import check_interval
from .refits import quiet_refit, warn_problems

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results import SummaryResult

__all__ = [
    "PARETO_K_LIMIT",
    "LooSites",
    "expected_estimates",
    "held_out_rows",
    "loo_sites",
    "psis_rows",
]

#: Above this Pareto k the PSIS estimate of a row is not to be trusted (Vehtari et al. 2024).
PARETO_K_LIMIT = 0.7


@dataclass(frozen=True)
class LooSites:
    """What leaving each site out showed.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per site x arm: ``site, arm, estimate, se`` (the site's own), ``pred_mean,
        pred_low, pred_high`` (the predictive of its estimate from the other sites),
        ``inside``, ``lpd`` (log predictive density of the row), ``ess`` (effective draws
        behind it: its Monte Carlo error grows as ``1/sqrt(ess)``), ``effect_mean,
        effect_low, effect_high`` (the predicted true effect), ``elpd_psis, pareto_k``
        (PSIS-LOO of the row from the full fit) and ``psis_ok`` (k <= 0.7).
    sites : pandas.DataFrame
        One row per site: ``site, rows, lpd`` (its rows together), ``inside`` (all rows).
    interval : float
        Mass of the central predictive intervals.
    unit, noun : str
        The estimates' unit and what a site is (``"municipality"``).
    note : str, optional
        The data's caption.
    """

    rows: pd.DataFrame
    sites: pd.DataFrame
    interval: float
    unit: str
    noun: str = "site"
    note: str | None = None
    #: Rows that could not be predicted (an arm whose component only the held-out site ran).
    skipped: tuple[str, ...] = ()
    #: Sites whose refits had convergence problems (their predictions are kept).
    problems: tuple[str, ...] = ()

    @property
    def coverage(self) -> float:
        """Share of held-out estimates inside their predictive interval."""
        return float(self.rows["inside"].mean())

    @property
    def elpd(self) -> float:
        """Sum over sites of the held-out log predictive density."""
        return float(self.sites["lpd"].sum())

    def line(self) -> str:
        """One sentence for a report."""
        rows = self.rows
        bad = int((~rows["psis_ok"]).sum())
        psis = (
            f"PSIS-LOO: {bad} of {len(rows)} rows with Pareto k > {PARETO_K_LIMIT} (there only "
            "the refits are valid)."
            if rows["pareto_k"].notna().any()
            else "PSIS-LOO cannot leave a whole site of persons out (see loo_persons for "
            "leaving one person out)."
        )
        if self.problems:
            psis += f" Refits with convergence problems: {', '.join(self.problems)}."
        if self.skipped:
            psis += f" Not predictable ({len(self.skipped)}): {'; '.join(self.skipped)}."
        return (
            f"Leaving each {self.noun} out ({len(self.sites)} {plural(self.noun)} with estimates "
            "to predict): "
            f"{int(rows['inside'].sum())} of "
            f"{len(rows)} held-out estimates fall inside their {self.interval:.0%} predictive "
            f"interval ({self.coverage:.0%}); summed log predictive density {self.elpd:.2f}. "
            + psis
        )

    def __repr__(self) -> str:
        return f"LooSites({self.line()})"

    def plot(self) -> Figure:
        """Forest plot: each held-out estimate against its predictive interval."""
        from ..plots.loo_sites import plot_loo_sites

        return plot_loo_sites(self)


def loo_sites(
    result: SummaryResult,
    *,
    interval: float = 0.9,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    progress: bool = False,
) -> LooSites:
    """Refit without each site and compare its estimates with their prediction.

    Parameters
    ----------
    result : SummaryResult
        A fit with ``pooling="partial"`` (the model is rebuilt from its record).
    interval : float
        Mass of the central predictive interval (default 0.9, as the published tests).
    draws, tune, chains : int
        Sampler settings of each refit.
    random_seed : int, optional
        Seeds the refits (site k gets ``random_seed + k``) and the predictive draws.
    progress : bool
        Print one line per refit.

    Returns
    -------
    LooSites
    """
    from ..models.summary_record import summary_model_from_record

    interval = check_interval(interval)
    record = result.record.model
    if record.kind != "SummaryModel":
        raise DataError(
            "loo_sites() refits the summary model; a PersonModel's leave-one-site-out check "
            "is not available yet."
        )
    model = summary_model_from_record(record)
    rng = np.random.default_rng(random_seed)
    parts, problems = [], []
    for k, site in enumerate(record.sites):
        if progress:
            print(f"pwbayes loo: refit {k + 1}/{len(record.sites)} without {site}", flush=True)
        seed = None if random_seed is None else random_seed + k
        refit, troubled = quiet_refit(model.leave_out(site), draws=draws, tune=tune,
                                      chains=chains, random_seed=seed)  # fmt: skip
        problems += [site] * troubled
        parts.append(_held_out_rows(refit, site, interval, rng))
    warn_problems(problems, "without", "predictions")
    rows = pd.concat([p[0] for p in parts], ignore_index=True)
    psis = psis_rows(result)
    rows = rows.merge(psis, on=["site", "arm"], how="left")
    sites = pd.DataFrame(
        [(site, len(r), lpd, bool(r["inside"].all()))
         for (r, lpd), site in zip(parts, record.sites, strict=True)],
        columns=["site", "rows", "lpd", "inside"],
    )  # fmt: skip
    return LooSites(rows, sites, interval, record.scale, record.site_noun, record.note,
                    problems=tuple(problems))  # fmt: skip


def expected_estimates(result: SummaryResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws of each row's expected estimate (theta plus any bias), the estimates and SEs.

    Returns
    -------
    tuple of ndarray
        ``(draws x rows, rows, rows)``.
    """
    m = result.record.model
    post = result.idata.posterior
    theta = post["theta"].stack(sample=("chain", "draw")).transpose("sample", "row").values
    mean = theta.copy()
    if "bias" in post and m.summary is not None:
        bias = post["bias"].stack(sample=("chain", "draw")).transpose("sample", "bias_site")
        suspect = set(m.summary.suspect_rows)
        for j, row in enumerate(m.rows):
            if row.label in suspect and row.site in m.summary.bias_sites:
                mean[:, j] += bias.sel(bias_site=row.site).values
    y = np.array([r.estimate for r in m.rows], dtype=float)
    se = np.array([r.se for r in m.rows], dtype=float)
    return mean, y, se


def _held_out_rows(refit: SummaryResult, site: str, interval: float, rng) -> tuple:
    """Return the held-out site's rows (interval, density, inside) and the site's lpd."""
    mean, y, se = expected_estimates(refit)
    m = refit.record.model
    keep = np.array([r.site == site for r in m.rows])
    post = refit.idata.posterior
    theta = post["theta"].stack(sample=("chain", "draw")).transpose("sample", "row").values
    arms = [r.arm for r, k in zip(m.rows, keep, strict=True) if k]
    return held_out_rows(site, arms, y[keep], se[keep], mean[:, keep], theta[:, keep],
                         post.sizes["chain"], interval, rng)  # fmt: skip


def held_out_rows(
    site: str,
    arms: list[str],
    y: np.ndarray,
    se: np.ndarray,
    mean: np.ndarray,
    effect: np.ndarray,
    chains: int,
    interval: float,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, float]:
    """Return a held-out site's estimates against their prediction (rows of ``LooSites``).

    Parameters
    ----------
    site, arms
        The site and the arm of each of its estimates ``y`` (with SEs ``se``).
    mean, effect : ndarray
        Draws (chain-major, ``draws x rows``) of each estimate's expected value and of the
        true effect (the same for the person model; the summary model adds any bias).
    chains : int
        Number of chains in the draws (for the effective draws).

    Returns
    -------
    (rows, lpd)
        The rows, and the log predictive density of all of them together.
    """
    logdens = stats.norm.logpdf(y, mean, se)  # (sample, row)
    n = mean.shape[0]
    dens = np.exp(logdens - logdens.max(0)).reshape(chains, -1, logdens.shape[1])
    ess = az.ess(az.convert_to_dataset({"d": dens}, dims={"d": ["row"]}))["d"].values
    replicated = mean + se * rng.standard_normal(mean.shape)
    tail = (1 - interval) / 2
    low, high = np.quantile(replicated, [tail, 1 - tail], axis=0)
    e_low, e_high = np.quantile(effect, [tail, 1 - tail], axis=0)
    rows = pd.DataFrame(
        {
            "site": site,
            "arm": arms,
            "estimate": y,
            "se": se,
            "pred_mean": mean.mean(0),
            "pred_low": low,
            "pred_high": high,
            "inside": (y >= low) & (y <= high),
            "lpd": special.logsumexp(logdens, axis=0) - np.log(n),
            "ess": ess,
            "effect_mean": effect.mean(0),
            "effect_low": e_low,
            "effect_high": e_high,
        }
    )
    return rows, float(special.logsumexp(logdens.sum(1)) - np.log(n))


def psis_rows(result: SummaryResult) -> pd.DataFrame:
    """PSIS-LOO per site x arm row of a summary fit, without refitting.

    Returns
    -------
    pandas.DataFrame
        Columns ``site, arm, elpd_psis, pareto_k, psis_ok`` (Pareto k at most 0.7).
    """
    mean, y, se = expected_estimates(result)
    post = result.idata.posterior
    shape = (post.sizes["chain"], post.sizes["draw"], len(y))
    loglik = stats.norm.logpdf(y, mean, se).reshape(shape)
    m = result.record.model
    idata = az.InferenceData(
        posterior=post[["theta"]],
        log_likelihood=az.dict_to_dataset(
            {"y": loglik}, dims={"y": ["row"]}, coords={"row": m.row_labels}
        ),
    )
    with warnings.catch_warnings():
        # a high Pareto k is the column pareto_k and psis_ok = False, not a warning
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        loo = az.loo(idata, pointwise=True)
    k = np.asarray(loo.pareto_k)
    return pd.DataFrame(
        {
            "site": [r.site for r in m.rows],
            "arm": [r.arm for r in m.rows],
            "elpd_psis": np.asarray(loo.loo_i),
            "pareto_k": k,
            "psis_ok": k <= PARETO_K_LIMIT,
        }
    )
