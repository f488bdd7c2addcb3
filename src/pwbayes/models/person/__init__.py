"""Person-level hierarchical model (one row per participant).

::

    y_i ~ Bernoulli(logit^-1(eta_i))            family="bernoulli"
    y_i ~ Normal(eta_i, sigma)                  family="normal" (baseline score as covariate)
    eta_i = alpha_{m[i]} + X_i gamma + sum_c x_{a[i],c} beta_{m[i],c}
    alpha_m ~ Normal(alpha_mu, alpha_sd),       beta_{m,c} ~ Normal(mu_c + x_m g_c, tau_c)

(``x_m g_c``: site-level moderators, if any.)

The package is split by job: :mod:`.options` (what is allowed, default priors, the
likelihood chosen), :mod:`.cells` (likelihood rows and cells), :mod:`.stage_one` and
:mod:`.glm` (the Gaussian approximation behind whitening and the national-scale model),
:mod:`.graph`, :mod:`.marginal` and :mod:`.subgroup_terms` (the PyMC graph), and
:mod:`.kernels` (numba). Effects on the outcome's scale, subgroup effects and disclosure
control are computed after sampling (:mod:`pwbayes.postprocess`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import pymc as pm

from ...arms import ArmParser, default_parser
from ...data.disclosure import MIN_CELL, check_min_cell
from ...data.person import PersonData, validate_person
from ...data.site_estimates import estimates_from
from ...data.small_cells import policy_for
from ...data.subgroups import SubgroupLayout, bin_subgroups, subgroup_edges
from ...priors import resolve_priors
from ..base import ModelBase, check_sites, weak_tau
from . import options, stage_one
from .cells import likelihood_rows
from .describe import describe
from .graph import GraphSpec, build_graph
from .inputs import PersonInputs
from .record import person_record

if TYPE_CHECKING:
    from ...record import ModelRecord
    from ...results import PersonResult

__all__ = ["PersonModel"]


class PersonModel(ModelBase):
    """Hierarchical model of person-level outcomes with partial pooling across sites.

    Building validates and encodes the data and sets the priors; nothing is sampled
    until :meth:`fit`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; not modified.
    site, arm, outcome : str
        Column names.
    covariates : sequence of str
        Background characteristics (numeric, boolean or categorical); for a score
        outcome include its baseline value.
    family : {"bernoulli", "normal"}
        Binary outcome (logit link) or score.
    comparison : str or mapping, optional
        Comparison group label, for all sites or per site, e.g.
        ``{"Groningen": "reference"}`` for register outcomes. Default ``"control"``.
    priors : mapping, optional
        Overrides of :attr:`priors` (``mu``, ``tau``, ``alpha_mu``, ``alpha_sd``, ``gamma``,
        ``sigma``; per component as ``"mu[extra_hulp]"``).
    missing : {"raise", "drop"}
        Rows with missing values: refuse (default) or drop with a warning.
    collapse : {"auto", True, False}
        Collapse rows with identical site, arm and covariates into binomial counts
        (bernoulli only). ``"auto"`` collapses when that at least halves the rows.
    parameterization : {"whitened", "noncentered", "centered"}
        How the sampler sees each site's intercept and component effects (exact
        likelihood; the posterior is the same). ``"whitened"`` (default): standardised by
        the Gaussian approximation of their posterior from one maximum-likelihood fit
        (an exact change of variables, see :mod:`.kernels.whitening`);
        ``"noncentered"``: ``beta = mu + tau * z``; ``"centered"``: ``beta ~ Normal(mu,
        tau)``. On the full synthetic population whitened took 15 leapfrog steps per draw
        where non-centred took 32, with 2-4x the effective draws of ``tau``
        (``docs/benchmarks.md``). Falls back to ``"noncentered"`` with a warning if the
        maximum-likelihood fit fails.
    likelihood : {"auto", "exact", "normal_approx"}
        ``"exact"`` evaluates the likelihood of every row (or collapsed cell) at every
        step. ``"normal_approx"`` replaces it by its normal approximation in the site
        intercepts, site x arm effects and covariate effects (maximum likelihood and
        inverse information), integrates those out exactly and samples only the
        hyperparameters; accurate when every site x group cell holds many events and
        non-events, and fast whatever the number of rows (national scale). ``"auto"``
        (default) uses the approximation from 100,000 rows on when every site x group
        cell has at least 100 events and 100 non-events (100 people for a score), and
        the exact likelihood otherwise. The choice is shown by ``repr`` and recorded in
        the result.
    subgroups : sequence of str
        Subgroup variables ("what works for whom"): each component's effect gains a term
        per level of each variable, shrunk towards zero by a between-level SD ``tau_sub``
        estimated from the data (:mod:`.subgroup_terms`); each variable also enters as a
        categorical covariate. Categorical or boolean columns are used as they are; a
        numeric one with more than 6 distinct values is cut into quartiles (or as
        ``subgroup_bins`` says). Needs the exact likelihood.
    subgroup_bins : mapping, optional
        Per numeric subgroup variable, a number of quantile bins or the bin edges, e.g.
        ``{"age": [18, 27, 50, 67]}``.
    subgroups_by_site : bool
        Let the subgroup differences also vary between sites (SD ``tau_sub_site``);
        default ``False``: the same differences in every site.
    moderators : sequence of str, optional
        Site-level moderators (meta-regression, "why do sites differ"): columns with one
        value per site, e.g. when randomisation happened. Numbers and booleans are used as
        they are, a two-level text column becomes an indicator; they are standardised over
        the sites, and each gets an effect per component with the ``moderator`` prior, so
        that ``mu`` is the effect at the sites' average. Needs the exact likelihood and at
        least two more sites than moderators.
    site_data : pandas.DataFrame, optional
        Where the moderators are: one row per site, with the ``site`` column. Default:
        ``data``, where a moderator must then be the same on every row of a site.
    min_cell : int
        Statistical disclosure control: every figure that rests on a site x arm (x subgroup
        level) cell of fewer persons, or on a covariate value that fewer persons share, is
        removed from the result, its tables, plots and saved files, with a note (default
        10, CBS's rule; below 10 warns, 0 is refused).
    note : str, optional
        Caption for plots and reports; defaults to ``data.attrs["note"]``.
    unit : str, optional
        Unit of a score outcome (``family="normal"``), e.g. ``"points on a 0-10 scale"``;
        default ``"points"``. Binary outcomes are reported in percentage points.
    site_noun : str, optional
        What a site is (``"municipality"``); defaults to ``data.attrs["site_noun"]``, else
        ``"site"``.
    parser : ArmParser, optional

    Attributes
    ----------
    data : PersonData
        The validated, encoded data.
    cells : LikelihoodRows
        The rows the likelihood sums over (collapsed or not), with their counts.
    whitening, stage_one
        The stage-one approximations in use (``None`` when not used).
    disclosure : DisclosurePolicy
        The small cells of the data, applied to every output of a fit.

    Notes
    -----
    A model holds the person-level data and aggregates of them (``data``, ``cells``,
    ``stage_one``) in memory, as its inputs: they are not outputs and pass no disclosure
    control. What leaves the remote-access environment is made from a fit's result, which
    has passed it: export results, tables, plots, saved results and reports, never models.
    """

    CHECKED = (
        *("alpha_mu", "alpha_sd", "alpha", "mu", "tau", "z", "beta", "gamma", "sigma"),
        "moderator_effect",
        *("tau_sub", "delta", "tau_sub_site", "delta_site"),
    )

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        site: str,
        arm: str,
        outcome: str,
        covariates: Sequence[str] = (),
        family: str = "bernoulli",
        comparison: str | Mapping[str, str] | None = None,
        priors: Mapping | None = None,
        missing: str = "raise",
        collapse: str | bool = "auto",
        parameterization: str = "whitened",
        likelihood: str = "auto",
        subgroups: Sequence[str] = (),
        subgroup_bins: Mapping[str, int | Sequence[float]] | None = None,
        subgroups_by_site: bool = False,
        moderators: Sequence[str] | None = None,
        site_data: pd.DataFrame | None = None,
        min_cell: int = MIN_CELL,
        note: str | None = None,
        unit: str | None = None,
        site_noun: str | None = None,
        parser: ArmParser | None = None,
    ):
        # what the model was made from, to make it again without a site (leave-one-out)
        self._arguments = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        subgroups = [subgroups] if isinstance(subgroups, str) else list(subgroups)
        options.check_options(
            family=family,
            collapse=collapse,
            parameterization=parameterization,
            likelihood=likelihood,
            subgroups=subgroups,
            subgroups_by_site=subgroups_by_site,
        )
        self.parser = parser or default_parser()
        self.family = family
        self.min_cell = check_min_cell(min_cell)
        self.subgroups_by_site = subgroups_by_site
        self.subgroup_bins = options.subgroup_bins(subgroup_bins, subgroups)
        # the exact edges of binned subgroup variables (in memory: refits cut the same way)
        self._subgroup_edges = subgroup_edges(data, subgroups, subgroup_bins) if subgroups else {}
        self.data: PersonData = validate_person(
            bin_subgroups(data, subgroups, subgroup_bins) if subgroups else data,
            site=site,
            arm=arm,
            outcome=outcome,
            covariates=covariates,
            family=family,
            comparison=comparison,
            missing=missing,
            parser=self.parser,
            subgroups=subgroups,
            min_cell=self.min_cell,
        )
        d = self.data
        self.subgroup_layout = SubgroupLayout(d.subgroups) if subgroups else None
        self.note = note if note is not None else data.attrs.get("note")
        self.unit, self.site_noun = options.units(family, unit, site_noun, data.attrs)
        # the published method per site: the record's rows, emptied by the disclosure gate
        self._site_table = estimates_from(d, family=family, note=self.note)
        self.moderators = options.moderators_of(data, site, moderators, site_data, d.sites)
        moderated = self.moderators is not None
        self.likelihood = options.choose_likelihood(likelihood, d, family, moderated)
        self.cells = likelihood_rows(d, family, collapse, self.likelihood, self.subgroup_layout)
        used = options.used_priors(d, family, self.likelihood, subgroups_by_site, moderated)
        defaults = options.default_priors(d, family, self.min_cell)
        self._priors = resolve_priors(priors, defaults, used, d.components)
        self.whitening = None
        if self.likelihood == "exact" and parameterization == "whitened":
            self.whitening = stage_one.whitening(d, self.cells, family, self._priors)
            if self.whitening is None:
                parameterization = "noncentered"
        self.parameterization = parameterization if self.likelihood == "exact" else None
        self.stage_one = None
        if self.likelihood == "normal_approx":
            self.stage_one = stage_one.normal_approx(d, self.cells, family, self._priors)
        self.disclosure = policy_for(d, self.min_cell, subgroups_by_site)
        check_sites(len(d.sites), True, priors, self.site_noun)
        ran = {(m, a) for m, a in zip(d.site_index, d.arm_index, strict=True) if a >= 0}
        sites_with = {
            c: len({m for m, a in ran if c in d.arm_components[d.arms[a]]}) for c in d.components
        }
        self.weak_tau = weak_tau(sites_with, self.site_noun)
        #: Sites whose persons are held out of the likelihood (:meth:`leave_out`).
        self.held_out_sites: tuple[str, ...] = ()
        self._model = None

    def leave_out(self, site: str) -> PersonModel:
        """Return this model with ``site``'s persons held out of the likelihood.

        The graph is the same (the site's counts become zero, which is data), so the refit
        reuses the compiled sampler; the site's effects are then drawn from the hierarchy
        given the other sites. Binary outcomes with the exact likelihood (else see
        :func:`~pwbayes.models.person.refit.without_site`).

        Parameters
        ----------
        site : str
            One of the model's sites.

        Returns
        -------
        PersonModel
        """
        from .refit import held_out

        return held_out(self, site)

    # ------------------------------------------------------------------ inspection
    @property
    def coords(self) -> dict[str, list[str]]:
        """Coordinates with real site, component, arm and covariate names."""
        d = self.data
        out = {"site": d.sites, "component": d.components, "arm": d.arms, "covariate": d.covariates}
        if self.whitening is not None:
            out["site_parameter"] = ["intercept", *d.components]
        if self.moderators is not None:
            out["moderator"] = self.moderators.names
        if self.subgroup_layout is not None:
            out["subgroup"] = self.subgroup_layout.labels
            out.update({f"{v}_level": lev for v, lev in self.subgroup_layout.levels.items()})
        if self.stage_one is not None:
            out["psi"] = out["psi_"] = self.stage_one.layout.names
        elif self.family == "normal":  # the bernoulli likelihood is one Op, no obs dims
            out["obs"] = [str(i) for i in range(self.cells.size)]
        return out

    def __repr__(self) -> str:
        return describe(self)

    # ------------------------------------------------------------------ what fitting uses
    def _build(self) -> pm.Model:
        return build_graph(
            GraphSpec(
                data=self.data,
                rows=self.cells,
                priors=self._priors,
                coords=self.coords,
                family=self.family,
                parameterization=self.parameterization,
                whitening=self.whitening,
                stage_one=self.stage_one,
                layout=self.subgroup_layout,
                by_site=self.subgroups_by_site,
                moderators=self.moderators.standardised if self.moderators is not None else None,
            )
        )

    def _structure_parts(self) -> tuple:
        return (
            self.family,
            self.cells.collapsed,
            self.cells.size,
            self.parameterization,
            self.likelihood,
            bool(self.data.covariates),
            sorted((k, tuple(v)) for k, v in self.coords.items() if k != "obs"),
            # prior families only: their parameters are data of the graph
            sorted((k, p.dist) for k, p in self._priors.base.items()),
            self.subgroups_by_site,
            self.data.design.tobytes(),
        )

    def data_values(self) -> dict:
        """Return the values of the graph's ``pm.Data`` containers (swapped into a sampler).

        Read from the graph itself: the data, the stage-one approximations and (exact
        likelihood) the prior parameters, so that the list cannot drift from the graph.
        """
        return {v.name: v.get_value() for v in self.model.data_vars}

    def model_record(self) -> ModelRecord:
        """Describe the model (no person-level data; counts of persons as text)."""
        return person_record(self)

    def postprocess_inputs(self) -> PersonInputs:
        """Person-level inputs of post-processing (in memory only)."""
        return PersonInputs(self.data, self.subgroup_layout, self.stage_one, self.disclosure)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int | None = None,
        *,
        target_accept: float | None = None,
        sampler: str = "auto",
        progress: bool | None = None,
    ) -> PersonResult:
        """Sample the posterior and compute effects on the outcome's scale.

        Parameters are as for :meth:`pwbayes.SummaryModel.fit`, except the default
        ``target_accept``: 0.8 with the whitened parameterisation (its geometry is close
        to a standard normal: on the full synthetic population 9.4 leapfrog steps per draw
        and no divergences, against 15 steps at 0.95), 0.95 otherwise (the funnels of the
        non-centred and centred forms need small steps).

        Returns
        -------
        PersonResult
        """
        if target_accept is None:
            target_accept = 0.8 if self.whitening is not None else 0.95
        return self._fit(  # type: ignore[return-value]
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            target_accept=target_accept,
            sampler=sampler,
            progress=progress,
        )
