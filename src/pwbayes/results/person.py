"""The result of a :class:`~pwbayes.PersonModel` fit: effects on two scales, subgroups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data.disclosure import MIN_CELL
from ..data.subgroups import reference_levels
from ..errors import PwbayesError
from ..intervals import HDI_PROB, check_interval, hdi
from .base import ResultBase

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PersonResult"]

#: Subgroup estimands of :meth:`PersonResult.subgroup_contrasts`: (estimand, key, level).
_CONTRASTS = (
    ("mu_sub", "component", "pooled"),
    ("mu_arm_sub", "arm", "pooled"),
    ("beta_sub", "component", "site"),
    ("theta_sub", "arm", "site"),
)


class PersonResult(ResultBase):
    """Posterior of a :class:`~pwbayes.PersonModel` fit.

    The posterior holds the model-scale parameters (``alpha``, ``gamma``, ``mu``, ``tau``,
    ``beta``: log-odds for binary outcomes) and, for binary outcomes, their outcome-scale
    counterparts from g-computation (``beta_pp``, ``theta_pp``, ``mu_pp``, ``mu_arm_pp``,
    ``theta_new_pp``, ``theta_new_arm_pp``: percentage points; for scores the two scales
    coincide). No person-level data are kept.
    """

    @property
    def _binary(self) -> bool:
        person = self.record.model.person
        return person is not None and person.family == "bernoulli"

    def _variable(self, estimand: str, scale: str) -> str:
        super()._variable(estimand, scale)
        return f"{estimand}_pp" if scale == "outcome" and self._binary else estimand

    def _scale_name(self, scale: str) -> str:
        if scale == "model" and self._binary:
            return "log-odds"
        return self.record.model.scale

    def subgroup_contrasts(
        self,
        reference: str | dict[str, str] | None = None,
        hdi_prob: float = HDI_PROB,
        scale: str = "outcome",
    ) -> pd.DataFrame:
        """Posterior of the difference in effect between subgroup levels.

        Parameters
        ----------
        reference : str or dict, optional
            Reference level, for every variable or per variable (``{"basic_qualification":
            "True"}``); default each variable's first level.
        hdi_prob : float
            Interval mass (default 0.9).
        scale : {"outcome", "model"}
            Percentage points (binary outcomes, default) or the model's scale.

        Returns
        -------
        pandas.DataFrame
            One row per site (and pooled, ``site`` empty) x component or arm x variable x
            non-reference level: ``level`` (``site`` or ``pooled``), ``site``,
            ``component``, ``arm``, ``subgroup``, ``subgroup_level``, ``reference``,
            ``mean``, ``sd``, ``hdi_low``, ``hdi_high`` of the difference (level minus
            reference) and ``p_positive`` = P(difference > 0). Contrasts resting on a
            suppressed cell are left out (``attrs["suppressed"]``).
        """
        self._check_levels("subgroup")
        refs = self._references(reference)
        m = self.record.model
        ran = {(r.site, r.arm) for r in m.rows}
        observed = {(s, c) for s, a in ran for c in m.arm_components[a]}
        records = []
        for estimand, key, level in _CONTRASTS:
            da = self._draws(self._variable(estimand, scale))
            sites = [None] if level == "pooled" else list(da.coords["site"].values)
            for site in sites:
                here = da if site is None else da.sel(site=site)
                for name in here.coords[key].values:
                    if site is not None and (site, name) not in (
                        observed if key == "component" else ran
                    ):
                        continue
                    labels = {"level": level, "site": site, "component": None, "arm": None}
                    labels[key] = name
                    records += _differences(here.sel({key: name}), refs, labels, hdi_prob)
        columns = ["level", "site", "component", "arm", "subgroup", "subgroup_level", "reference",
                   "mean", "sd", "hdi_low", "hdi_high", "p_positive"]  # fmt: skip
        table = pd.DataFrame.from_records(records, columns=columns)
        return self._annotate(table, hdi_prob, scale)

    def _references(self, reference) -> dict[str, str]:
        """Return the reference level of every subgroup variable, checked."""
        assert self.record.model.subgroups is not None
        return reference_levels(self.record.model.subgroups.levels, reference)

    def covariate_effects(self, hdi_prob: float = HDI_PROB) -> pd.DataFrame:
        """Covariate coefficients on the original scale of each covariate.

        The model uses standardised covariates; the coefficient per original unit is
        ``gamma / sd`` (log-odds per unit for binary outcomes). Covariates whose
        coefficient disclosure control emptied (an indicator that fewer than ``min_cell``
        persons share) are left out.

        Returns
        -------
        pandas.DataFrame
            Columns ``covariate, per_sd, per_unit, per_unit_hdi_low, per_unit_hdi_high``.
        """
        columns = ["covariate", "per_sd", "per_unit", "per_unit_hdi_low", "per_unit_hdi_high"]
        person = self.record.model.person
        if "gamma" not in self.idata.posterior or person is None:
            return pd.DataFrame(columns=columns)
        g = self._draws("gamma").values
        sd = np.array([np.nan if v is None else v for v in person.covariate_sd], dtype=float)
        keep = ~np.isnan(g).all(axis=0) & np.isfinite(sd)
        per_unit = g[:, keep] / sd[keep]
        low, high = hdi(per_unit, hdi_prob) if keep.any() else (per_unit[0], per_unit[0])
        table = pd.DataFrame(
            {
                "covariate": np.array(person.covariates)[keep],
                "per_sd": g[:, keep].mean(0),
                "per_unit": per_unit.mean(0),
                "per_unit_hdi_low": low,
                "per_unit_hdi_high": high,
            },
            columns=columns,
        )
        return self._annotate(table, hdi_prob, "model")

    def plot_subgroups(self, raw: pd.DataFrame | None = None, **kwargs: Any) -> Figure:
        """Subgroup forest plot; see :func:`pwbayes.plots.subgroups.plot_subgroups`."""
        from ..plots.subgroups import plot_subgroups

        return plot_subgroups(self, raw, **kwargs)

    def predict_site(
        self,
        population: pd.DataFrame | dict,
        *,
        base_rate: float | None = None,
        moderators: dict[str, float] | None = None,
        hdi_prob: float = HDI_PROB,
        random_seed: int | None = None,
    ) -> pd.DataFrame:
        """Effect of each component and arm in a municipality that did not take part.

        A new site's effects are drawn from the hierarchy and averaged over the target
        population (g-computation): see :mod:`pwbayes.results.person_predict`.

        Parameters
        ----------
        population : pandas.DataFrame or dict
            Persons with the model's covariate and subgroup columns (at least ``min_cell``),
            or margins: per column ``{value: share}``, combined as if independent. A binned
            subgroup variable takes its levels (``"[18, 35)"``) or numbers inside them; with
            subgroups the effect is averaged over the population's levels.
        base_rate : float, optional
            The municipality's share with the outcome without intervention (e.g. 0.235); by
            default its intercept is drawn from the hierarchy as well.
        moderators : dict, optional
            With site-level moderators: the municipality's raw value of each, e.g.
            ``{"randomisation=before_enrolment": 1}``; default the fitted sites' average.
        hdi_prob : float
        random_seed : int, optional

        Returns
        -------
        pandas.DataFrame
            ``component, arm, mean, sd, hdi_low, hdi_high, p_positive`` (percentage points
            for a binary outcome); component rows, then arm rows; ``attrs["base_rate"]`` and
            ``attrs["moderators"]`` say what was assumed.
        """
        from .person_predict import population_cells, predict_new_site

        m = self.record.model
        if "tau" not in self.idata.posterior or "mu" not in self.idata.posterior:
            raise PwbayesError("predict_site needs the pooled mu and tau of the fit.")
        hdi_prob = check_interval(hdi_prob)
        if base_rate is not None and not self._binary:
            raise PwbayesError(
                f"base_rate={base_rate!r} applies to a binary outcome; this fit's outcome is a "
                "score (its effects do not depend on a base rate). Leave base_rate out."
            )
        disclosure = self.record.disclosure
        min_cell = disclosure.min_cell if disclosure is not None else MIN_CELL
        cells = population_cells(population, m, min_cell)
        rng = np.random.default_rng(random_seed)
        comps, arms = predict_new_site(
            self.idata.posterior, m, cells, base_rate, rng, moderators=moderators
        )
        table = self._new_site_table(comps, arms, hdi_prob)
        table.attrs["base_rate"] = (
            base_rate if base_rate is not None else "drawn from the hierarchy"
        )
        table.attrs["moderators"] = dict(moderators) if moderators else "the sites' average"
        return table

    def loo_sites(
        self,
        model: Any,
        *,
        interval: float = 0.9,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        random_seed: int | None = None,
        progress: bool = False,
    ) -> Any:
        """Leave each site out: refit without its persons and predict it for them.

        See :func:`pwbayes.checks.loo_person.person_loo_sites`. The model is needed (a result
        holds no persons). For a binary outcome with the exact likelihood each site is held
        out of the likelihood (:meth:`~pwbayes.PersonModel.leave_out`: the compiled sampler is
        reused); otherwise its persons are dropped and each refit compiles.

        Parameters
        ----------
        model : PersonModel
            The model this result was fitted from.
        interval, draws, tune, chains, random_seed, progress
            As for :meth:`pwbayes.SummaryResult.loo_sites`.

        Returns
        -------
        LooSites
        """
        from ..checks.loo_person import person_loo_sites

        return person_loo_sites(self, model, interval=interval, draws=draws, tune=tune,
                                chains=chains, random_seed=random_seed,
                                progress=progress)  # fmt: skip

    def loo_persons(self, model: Any) -> Any:
        """Leave each person out: PSIS-LOO over the persons, summed per site (binary outcome).

        See :mod:`pwbayes.checks.loo_persons`: the expected log predictive density of a new
        person of an existing site (to compare person models by), with its SE, ``p_loo``
        and how many persons have a Pareto k above 0.7. No per-person value is released.

        Parameters
        ----------
        model : PersonModel
            The model this result was fitted from (a result holds no persons).

        Returns
        -------
        LooPersons
            ``.sites`` (per site and ``"all"``), ``.elpd_loo``, ``.line()``.
        """
        from ..checks.loo_persons import person_loo_persons

        return person_loo_persons(self, model)

    def predictive_check(
        self,
        model: Any,
        *,
        interval: float = 0.9,
        draws: int = 500,
        random_seed: int | None = None,
    ) -> Any:
        """Posterior predictive check: each site x group's share with the outcome, replicated.

        See :func:`pwbayes.checks.ppc_person.person_predictive_check` (binary outcome, no
        subgroups; cells of at least ``min_cell`` persons).

        Parameters
        ----------
        model : PersonModel
            The model this result was fitted from (a result holds no persons).
        interval : float
        draws : int
            Posterior draws used.
        random_seed : int, optional

        Returns
        -------
        PredictiveCheck
        """
        from ..checks.ppc_person import person_predictive_check

        return person_predictive_check(self, model, interval=interval, draws=draws,
                                       random_seed=random_seed)  # fmt: skip

    def sensitivity(
        self,
        model: Any,
        *,
        priors: dict | None = None,
        typical: float | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        random_seed: int | None = None,
        progress: bool = False,
    ) -> Any:
        """How much do the priors decide? Power-scaling, and refits under other tau priors.

        As :meth:`pwbayes.SummaryResult.sensitivity`, on the model's scale (log-odds for a
        binary outcome; the pooled effects in the table are in percentage points). The
        model is needed for its persons; the refits reuse the compiled sampler (exact
        likelihood). Binary
        outcome (subgroups included), so far. See :func:`pwbayes.checks.sensitivity.sensitivity`.

        Returns
        -------
        Sensitivity
        """
        from ..checks.sensitivity import sensitivity

        return sensitivity(self, model, priors=priors, typical=typical, draws=draws, tune=tune,
                           chains=chains, random_seed=random_seed, progress=progress)  # fmt: skip


def _differences(values, refs: dict[str, str], labels: dict, hdi_prob: float) -> list[dict]:
    """Each non-reference level minus the reference, for one site and component or arm."""
    out = []
    levels: dict[str, list[str]] = {}
    for label in values.coords["subgroup"].values:
        var, lev = str(label).split(": ", 1)
        levels.setdefault(var, []).append(lev)
    for var, ref in refs.items():
        base = values.sel(subgroup=f"{var}: {ref}").values
        for lev in levels[var]:
            if lev == ref:
                continue
            diff = values.sel(subgroup=f"{var}: {lev}").values - base
            if np.isnan(diff).all():
                continue
            low, high = hdi(diff, hdi_prob)
            out.append(
                {
                    **labels,
                    "subgroup": var,
                    "subgroup_level": lev,
                    "reference": ref,
                    "mean": diff.mean(),
                    "sd": diff.std(ddof=1),
                    "hdi_low": float(low),
                    "hdi_high": float(high),
                    "p_positive": (diff > 0).mean(),
                }
            )
    return out
