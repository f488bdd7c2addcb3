"""How much do the priors decide? Power-scaling, and refits under other priors for tau.

Two views (Kallioinen et al. 2024, "Detecting and diagnosing prior and likelihood
sensitivity with power-scaling"; ArviZ's ``psens``):

* **Power-scaling**: the posterior's change when the prior of ``mu`` and ``tau`` (or the
  likelihood) is raised to a power near 1, from the fit's own draws, no refit. A prior
  sensitivity of 0.05 or more says the prior matters; with a likelihood sensitivity
  below 0.05 the data say little (the prior decides), with both high prior and data
  disagree.
* **Refits** under other priors for the between-site SD ``tau``, all with the same
  compiled sampler where the family stays (:func:`tau_alternatives`): half and twice the
  fitted prior's scale, and two calibrated to published evidence on how much the
  effects of employment programmes vary between places, scaled by the size of the
  pooled effects (``typical``):

  - Vivalt (2020, JEEA 18(6)): predicting a programme's effect from the average of
    similar studies misses by about as much as the effect itself (97% on average);
    spread about as large as the effect: ``tau ~ HalfNormal`` with median ``typical``.
  - de Chaisemartin & Deeb (2024, arXiv 2405.17254): across 200+ French job-placement
    agencies (Behaghel et al. 2014's counselling experiment), the SD of the effects
    across agencies is, as a lower bound, more than three times the average effect:
    ``tau ~ HalfNormal`` with median ``3 * typical``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError
from ..priors import Prior
from .refits import quiet_refit, warn_problems

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..models.person import PersonModel
    from ..record import ModelRecord
    from ..results import PersonResult, SummaryResult

__all__ = [
    "CONFLICT",
    "PSENS_LIMIT",
    "STRONG_PRIOR",
    "Sensitivity",
    "sensitivity",
    "tau_alternatives",
]

#: Power-scaling sensitivity from which a prior (or likelihood) counts as influential.
PSENS_LIMIT = 0.05
#: Median of a HalfNormal(sigma=1).
_HALF_NORMAL_MEDIAN = float(stats.halfnorm.ppf(0.5))
_FITTED = "as fitted"
CONFLICT = "prior-data conflict"
STRONG_PRIOR = "strong prior / weak likelihood"


@dataclass(frozen=True)
class Sensitivity:
    """How the pooled effects move with the prior.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per prior x component x estimand (``mu``: pooled; ``theta_new``: a new
        site): ``prior, tau_prior, source, component, estimand, mean, sd, hdi_low,
        hdi_high, p_positive, tau_median, shift`` (the mean's move from the fitted one,
        in the fitted posterior SDs).
    psens : pandas.DataFrame
        Power-scaling per variable and component: ``variable, component, prior,
        likelihood, diagnosis``.
    typical : float
        The effect size that scales the calibrated priors (``unit``).
    weak_tau : dict
        Components whose ``tau`` rests on its prior (few sites), and why.
    """

    table: pd.DataFrame
    psens: pd.DataFrame
    typical: float
    unit: str
    weak_tau: dict
    labels: dict
    note: str | None = None
    #: Priors whose refits had convergence problems (their rows are kept).
    problems: tuple[str, ...] = ()

    def largest_shift(self, component: str | None = None) -> pd.Series:
        """Return the row of ``mu`` that moves most (in posterior SDs) under another prior."""
        rows = self.table[(self.table.estimand == "mu") & (self.table.prior != _FITTED)]
        if component is not None:
            rows = rows[rows.component == component]
        return rows.loc[rows["shift"].abs().idxmax()]

    def line(self) -> str:
        """One sentence for a report."""
        top = self.largest_shift()
        flagged = self.psens[self.psens.diagnosis != "-"]
        named = [f"{r.variable}[{r.component}] ({r.diagnosis})" for r in flagged.itertuples()]
        what = "; power-scaling flags " + (", ".join(named) if named else "no prior")
        return (
            f"Under {self.table.prior.nunique() - 1} other priors for tau the pooled effects "
            f"move by at most {abs(top['shift']):.2f} posterior SDs ({top.component} under "
            f"'{top.prior}': {top['mean']:+.2f} {self.unit}){what}.{self.weak_line()}"
            + (f" Refits with convergence problems: {', '.join(self.problems)}." if self.problems
               else "")
        )  # fmt: skip

    def weak_line(self) -> str:
        """How far the pooled effect moves where tau rests on its prior ('' if nowhere)."""
        parts = []
        for comp in self.weak_tau:
            rows = self.table[(self.table.component == comp) & (self.table.estimand == "mu")]
            if len(rows):
                top = self.largest_shift(comp)
                low, high = rows["mean"].min(), rows["mean"].max()
                parts.append(f"{comp} from {low:+.2f} to {high:+.2f} (at most "
                             f"{abs(top['shift']):.2f} SDs)")  # fmt: skip
        if not parts:
            return ""
        return (
            " Where tau rests on its prior, the pooled effect moves over these priors: "
            + "; ".join(parts)
            + "."
        )

    def __repr__(self) -> str:
        return f"Sensitivity({self.line()})"

    def plot(self) -> Figure:
        """Pooled effect per component under each prior, side by side."""
        from ..plots.prior_sensitivity import plot_prior_sensitivity

        return plot_prior_sensitivity(self)


def typical_effect(result: SummaryResult | PersonResult) -> float:
    """Size of the pooled effects: root mean square of the components' posterior means.

    On the model's scale (a person model's: log-odds). A unit for the calibrated priors,
    not evidence; at least a tenth of the median SE of the estimates (summary model) or of
    the median of the fitted prior for ``tau`` (person model), so that null effects still
    give a usable prior.
    """
    record = result.record.model
    means = result.idata.posterior["mu"].mean(("chain", "draw")).values
    if record.kind == "PersonModel":
        draws = Prior.from_value(record.priors["tau"]).draws(20_000, np.random.default_rng(0))
        floor = 0.1 * float(np.median(draws))
    else:
        floor = 0.1 * float(np.median([r.se for r in record.rows if r.se is not None]))
    return max(float(np.sqrt(np.nanmean(means**2))), floor)


def tau_alternatives(record: ModelRecord, typical: float) -> dict[str, tuple[dict, str]]:
    """Priors for ``tau`` to refit under: name -> (priors, where they come from).

    ``priors`` maps ``"tau"`` (and, where the fit had them, ``"tau[component]"``) to a
    :class:`~pwbayes.Prior`: halving and doubling scale every component's own prior.
    """
    own = {k: Prior.from_value(v) for k, v in record.priors.items()
           if k == "tau" or k.startswith("tau[")}  # fmt: skip
    calibrated = typical / _HALF_NORMAL_MEDIAN
    return {
        "half as wide": ({k: p.widened(0.5) for k, p in own.items()},
                         "the fitted prior's scale halved"),
        "twice as wide": ({k: p.widened(2.0) for k, p in own.items()},
                          "the fitted prior's scale doubled"),
        "spread = effect": (
            {"tau": Prior("HalfNormal", sigma=round(calibrated, 3))},
            "Vivalt (2020): effects vary between settings about as much as their size",
        ),
        "spread = 3 x effect": (
            {"tau": Prior("HalfNormal", sigma=round(3 * calibrated, 3))},
            "de Chaisemartin & Deeb (2024): SD across job-placement agencies > 3x the mean",
        ),
    }  # fmt: skip


def _text(priors: dict) -> str:
    """``HalfNormal(sigma=3.6)``, with per-component priors after it."""
    base = repr(Prior.from_value(priors["tau"]))
    extra = [f"{k} ~ {Prior.from_value(v)!r}" for k, v in priors.items() if k != "tau"]
    return base + (f" ({'; '.join(extra)})" if extra else "")


def sensitivity(
    result: SummaryResult | PersonResult,
    model: PersonModel | None = None,
    *,
    priors: dict[str, Prior] | None = None,
    typical: float | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    progress: bool = False,
) -> Sensitivity:
    """Power-scaling sensitivity and refits under other priors for ``tau``.

    Parameters
    ----------
    result : SummaryResult or PersonResult
        A fit with ``pooling="partial"`` (summary) or a person fit (binary outcome, so
        far).
    model : PersonModel, optional
        For a person fit: the model it was fitted from (a result holds no persons). Each
        of its refits compiles a graph of its own (about 10-30 s each).
    priors : dict of str to Prior, optional
        Priors for ``tau`` to refit under, by name; default :func:`tau_alternatives`.
    typical : float, optional
        Size of a typical effect (the estimates' unit) that scales the calibrated priors;
        default :func:`typical_effect` of the fit.
    draws, tune, chains, random_seed : optional
        Settings of each refit.
    progress : bool
        Print one line per refit.

    Returns
    -------
    Sensitivity
    """
    record = result.record.model
    make = _refitter(result, model)
    if typical is None:
        typical = typical_effect(result)
    elif isinstance(typical, bool) or not isinstance(typical, int | float) or not typical > 0:
        raise DataError(f"typical={typical!r} must be a positive number ({record.scale}).")
    chosen = tau_alternatives(record, typical) if priors is None else _named(priors)
    fitted = {k: v for k, v in record.priors.items() if k == "tau" or k.startswith("tau[")}
    tables = [_effects(result, _FITTED, _text(fitted), "the fit's own prior")]
    problems = []
    for k, (name, (priors_, source)) in enumerate(chosen.items()):
        if progress:
            print(f"pwbayes sensitivity: refit {k + 1}/{len(chosen)}: tau ~ {_text(priors_)}",
                  flush=True)  # fmt: skip
        seed = None if random_seed is None else random_seed + k
        refit, troubled = quiet_refit(make(priors_), draws=draws, tune=tune, chains=chains,
                                      random_seed=seed)  # fmt: skip
        problems += [name] * troubled
        tables.append(_effects(refit, name, _text(priors_), source))
    warn_problems([repr(p) for p in problems], "under", "rows")
    table = pd.concat(tables, ignore_index=True)
    base = table[table.prior == _FITTED].set_index(["component", "estimand"])
    key = pd.MultiIndex.from_frame(table[["component", "estimand"]])
    table["shift"] = (table["mean"].to_numpy() - base["mean"].reindex(key).to_numpy()) / base[
        "sd"
    ].reindex(key).to_numpy()
    return Sensitivity(table, power_scaling(result, model), float(typical), record.scale,
                       dict(record.weak_tau), dict(record.component_labels),
                       record.note, tuple(problems))  # fmt: skip


def _refitter(result, model):
    """How to make the model again with other priors for tau (checked before any refit)."""
    record = result.record.model
    if record.kind == "PersonModel":
        from ..models.person.refit import with_priors
        from .person_rows import check_person_fit

        if model is None or list(model.data.sites) != list(record.sites):
            raise DataError(
                "sensitivity(model) of a person fit needs the PersonModel it was fitted from "
                "(a result holds no persons): fit.sensitivity(model)."
            )
        check_person_fit(result.idata.posterior, model, "sensitivity analysis")
        return lambda priors: with_priors(model, priors)
    if record.kind != "SummaryModel" or record.pooling != "partial":
        raise DataError(
            "sensitivity() refits a summary model with pooling='partial' (it varies the prior "
            f"of tau); this fit is a {record.kind} with pooling={record.pooling!r}."
        )
    from ..models.summary_record import summary_model_from_record

    return lambda priors: summary_model_from_record(record, priors=priors)


def _named(priors: dict) -> dict[str, tuple[dict, str]]:
    if not isinstance(priors, dict) or not priors:
        raise DataError(
            f"priors={priors!r}: give a dict of name -> prior for tau, e.g. "
            "{'wide': pw.Prior('HalfNormal', sigma=10)}."
        )
    return {str(k): ({"tau": Prior.from_value(v)}, "given") for k, v in priors.items()}


def _effects(fit: SummaryResult | PersonResult, name: str, prior: str, source: str) -> pd.DataFrame:
    eff = fit.effects(level=["pooled", "new_site"])
    eff = eff[eff.estimand.isin(["mu", "theta_new"])]
    tau = fit.heterogeneity().set_index("component")["median"]
    out = eff[["component", "estimand", "mean", "sd", "hdi_low", "hdi_high", "p_positive"]].copy()
    out.insert(0, "source", source)
    out.insert(0, "tau_prior", prior)
    out.insert(0, "prior", name)
    out["tau_median"] = tau.reindex(out.component).to_numpy()
    return out


def power_scaling(
    result: SummaryResult | PersonResult, model: PersonModel | None = None
) -> pd.DataFrame:
    """Power-scaling sensitivity of ``mu`` and ``tau`` to their priors and to the data.

    The likelihood is the summary model's (site x arm estimates), or for a person fit the
    binomial likelihood of ``model``'s rows, summed per draw.

    Returns
    -------
    pandas.DataFrame
        ``variable, component, prior, likelihood, diagnosis``: ``"prior-data conflict"``
        (both at least 0.05), ``"strong prior / weak likelihood"`` (prior at least 0.05,
        likelihood below), else ``"-"``.
    """
    from .loo import expected_estimates
    from .person_rows import person_loglik_totals

    m = result.record.model
    post = result.idata.posterior
    comps = list(post["mu"].coords["component"].values)
    log_prior = {}
    for var in ("mu", "tau"):
        values = post[var].values
        log_prior[var] = np.stack(
            [_prior(m.priors, var, c).logpdf(values[..., j]) for j, c in enumerate(comps)], -1
        )
    if m.kind == "PersonModel":
        assert model is not None
        loglik = person_loglik_totals(post, model)[..., None]
    else:
        mean, y, se = expected_estimates(result)  # type: ignore[arg-type]
        shape = (post.sizes["chain"], post.sizes["draw"], len(y))
        loglik = stats.norm.logpdf(y, mean, se).reshape(shape)
    idata = az.InferenceData(
        posterior=post[["mu", "tau"]],
        log_prior=az.dict_to_dataset(
            log_prior, dims={v: ["component"] for v in log_prior}, coords={"component": comps}
        ),  # fmt: skip
        log_likelihood=az.dict_to_dataset({"y": loglik}, dims={"y": ["row"]}),
    )
    prior = az.psens(idata, component="prior", var_names=["mu", "tau"])
    lik = az.psens(idata, component="likelihood", var_names=["mu", "tau"])
    rows = []
    for var in ("mu", "tau"):
        for c in comps:
            p, q = float(prior[var].sel(component=c)), float(lik[var].sel(component=c))
            diagnosis = "-"
            if p >= PSENS_LIMIT:
                diagnosis = CONFLICT if q >= PSENS_LIMIT else STRONG_PRIOR
            rows.append((var, c, p, q, diagnosis))
    return pd.DataFrame(rows, columns=["variable", "component", "prior", "likelihood", "diagnosis"])


def _prior(priors: dict, var: str, comp: str) -> Prior:
    return Prior.from_value(priors.get(f"{var}[{comp}]", priors[var]))
