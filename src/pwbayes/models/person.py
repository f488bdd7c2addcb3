"""Person-level hierarchical model (one row per participant).

::

    y_i ~ Bernoulli(logit^-1(eta_i))            family="bernoulli"
    y_i ~ Normal(eta_i, sigma)                  family="normal" (baseline score as covariate)
    eta_i = alpha_{m[i]} + X_i gamma + sum_c x_{a[i],c} beta_{m[i],c}
    alpha_m ~ Normal(alpha_mu, alpha_sd),       beta_{m,c} ~ Normal(mu_c, tau_c)

With ``subgroups=[...]`` the component effects gain shrunk terms per subgroup level
(:mod:`._subgroups`). Figures resting on cells of fewer than ``min_cell`` persons are
removed from the result (:mod:`._suppress`, statistical disclosure control).

The sampler sees each site's (alpha_m, beta_m) whitened by a stage-one normal
approximation and mu standardised given tau (``parameterization="whitened"``, exact
changes of variables: :mod:`._whitening`). Covariates are standardised inside the model.
Rows that share site, arm and every covariate value are collapsed into binomial counts
(exact: the log-likelihood differs from the row-level one by a constant). Effects are
reported on the outcome's scale by g-computation: the average, over each site's own
participants, of the predicted difference between arm and comparison (percentage points
for binary outcomes).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Mapping, Sequence

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.special import logit

from ..arms import ArmParser, default_parser
from ..data.disclosure import MIN_CELL, check_min_cell
from ..data.person import PersonData, validate_person
from ..data.site_estimates import estimates_from
from ..data.subgroups import bin_subgroups
from ..data.validate import validate_summary
from ..errors import DataError, PriorError
from ..priors import Prior, default_priors, resolve_priors, round_sig2
from ..results import PersonResult, add_derived_quantities
from . import _normal_approx as approx
from ._common import check, prior_rv, sample, scalar_rv
from ._gcomp import shift_effects
from ._logit_kernel import logit_loglik
from ._subgroups import SubgroupLayout, subgroup_quantities, subgroup_terms
from ._suppress import apply_suppression, suppression
from ._whitening import site_blocks, site_effects
from .summary import fixed_effect_reference

__all__ = ["PersonModel"]

COLLAPSE = ("auto", True, False)
LIKELIHOODS = ("auto", "exact", "normal_approx")
PARAMETERIZATIONS = ("whitened", "noncentered", "centered")
#: penalty on psi in the stage-one fit behind ``parameterization="whitened"``: keeps it
#: finite when a cell has no events (prior SD 10 on the logit scale); it only shapes the
#: change of variables, never the posterior
STAGE_ONE_RIDGE = 0.01


class PersonModel:
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
        (an exact change of variables, see :mod:`pwbayes.models._whitening`);
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
        estimated from the data (:mod:`pwbayes.models._subgroups`); each variable also
        enters as a categorical covariate. Categorical or boolean columns are used as
        they are; a numeric one with more than 6 distinct values is cut into quartiles
        (or as ``subgroup_bins`` says). Needs the exact likelihood.
    subgroup_bins : mapping, optional
        Per numeric subgroup variable, a number of quantile bins or the bin edges, e.g.
        ``{"age": [18, 27, 50, 67]}``.
    subgroups_by_site : bool
        Let the subgroup differences also vary between sites (SD ``tau_sub_site``);
        default ``False``: the same differences in every site.
    min_cell : int
        Statistical disclosure control: every reported figure that rests on a site x arm
        (x subgroup level) cell of fewer persons is suppressed in tables, plots and saved
        results, with a note (default 10, CBS's rule; below 10 warns, 0 is refused).
    note : str, optional
        Caption for plots and reports; defaults to ``data.attrs["note"]``.
    parser : ArmParser, optional
    """

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
        min_cell: int = MIN_CELL,
        note: str | None = None,
        parser: ArmParser | None = None,
    ):
        if collapse not in COLLAPSE:
            raise DataError(f"collapse={collapse!r} is not allowed; use one of {COLLAPSE}.")
        if collapse is True and family != "bernoulli":
            raise DataError("collapse=True needs family='bernoulli'; scores are modelled per row.")
        self.parser = parser or default_parser()
        self.family = family
        self.min_cell = check_min_cell(min_cell)
        if isinstance(subgroups, str):
            subgroups = [subgroups]
        if not isinstance(subgroups_by_site, bool):
            raise DataError(f"subgroups_by_site={subgroups_by_site!r} must be True or False.")
        if subgroups_by_site and not subgroups:
            raise DataError("subgroups_by_site=True needs subgroups=[...].")
        self.subgroups_by_site = subgroups_by_site
        self._subgroup_bins = {
            k: v if isinstance(v, int) else [float(e) for e in v]
            for k, v in (subgroup_bins or {}).items()
        }
        self.data: PersonData = validate_person(
            bin_subgroups(data, list(subgroups), subgroup_bins) if subgroups else data,
            site=site,
            arm=arm,
            outcome=outcome,
            covariates=covariates,
            family=family,
            comparison=comparison,
            missing=missing,
            parser=self.parser,
            subgroups=subgroups,
        )
        self._layout = SubgroupLayout(self.data.subgroups) if subgroups else None
        self.note = note if note is not None else data.attrs.get("note")
        self.site_table = estimates_from(self.data, family=family, note=self.note)
        if parameterization not in PARAMETERIZATIONS:
            raise DataError(
                f"parameterization={parameterization!r} is not allowed; use one of "
                f"{PARAMETERIZATIONS}."
            )
        self.likelihood = self._choose_likelihood(likelihood)
        self._patterns = self._collapse(collapse)
        self._defaults = self._default_priors()
        used = ["alpha_mu", "alpha_sd", "mu", "tau"]
        if self.data.covariates:
            used.append("gamma")
        if self._layout is not None:
            used += ["tau_sub", "tau_sub_site"] if subgroups_by_site else ["tau_sub"]
        if family == "normal" and self.likelihood == "exact":
            used.append("sigma")
        self._priors = resolve_priors(priors, self._defaults, used, self.data.components)
        self._whitening = None
        if self.likelihood == "exact" and parameterization == "whitened":
            self._whitening = self._stage_one_blocks()
            if self._whitening is None:
                parameterization = "noncentered"
        self.parameterization = parameterization if self.likelihood == "exact" else None
        self._approx = self._normal_approx() if self.likelihood == "normal_approx" else None
        self._model: pm.Model | None = None
        self._compiled: dict[str, object] = {}
        self._suppression = suppression(self.data, self._layout, self.min_cell)

    # ------------------------------------------------------------------ set-up
    def _default_priors(self) -> dict[str, Prior]:
        y = self.data.y
        if self.family == "bernoulli":
            p = float(np.clip(y.mean(), 0.01, 0.99))
            return {
                "alpha_mu": Prior("Normal", mu=round_sig2(logit(p)), sigma=1.5),
                "alpha_sd": Prior("HalfNormal", sigma=1.0),
                "gamma": Prior("Normal", mu=0.0, sigma=1.0),
                "mu": Prior("Normal", mu=0.0, sigma=1.0),
                "tau": Prior("HalfNormal", sigma=0.5),
                "tau_sub": Prior("HalfNormal", sigma=0.5),
                "tau_sub_site": Prior("HalfNormal", sigma=0.25),
            }
        s = round_sig2(float(y.std()))
        return {
            "alpha_mu": Prior("Normal", mu=round_sig2(float(y.mean())), sigma=round_sig2(2 * s)),
            "alpha_sd": Prior("HalfNormal", sigma=s),
            "gamma": Prior("Normal", mu=0.0, sigma=s),
            "mu": Prior("Normal", mu=0.0, sigma=s),
            "tau": Prior("HalfNormal", sigma=round_sig2(0.5 * s)),
            "tau_sub": Prior("HalfNormal", sigma=round_sig2(0.5 * s)),
            "tau_sub_site": Prior("HalfNormal", sigma=round_sig2(0.25 * s)),
            "sigma": Prior("HalfNormal", sigma=s),
        }

    def _choose_likelihood(self, likelihood) -> str:
        if likelihood not in LIKELIHOODS:
            raise DataError(f"likelihood={likelihood!r} is not allowed; use one of {LIKELIHOODS}.")
        if likelihood == "exact":
            return likelihood
        if self.data.subgroups:
            if likelihood == "normal_approx":
                raise DataError(
                    "likelihood='normal_approx' has no subgroup terms; use likelihood='exact' "
                    "(or 'auto') with subgroups."
                )
            return "exact"
        ok, smallest = approx.check_cells(self.data, self.family, approx.AUTO_MIN_CELL)
        if likelihood == "auto":
            big = len(self.data.y) >= approx.AUTO_MIN_ROWS
            return "normal_approx" if big and ok else "exact"
        if likelihood == "normal_approx" and not ok:
            warnings.warn(
                f"likelihood='normal_approx' with a small cell ({smallest}); the normal "
                f"approximation is accurate when every site x group cell has at least "
                f"{approx.AUTO_MIN_CELL}. Consider likelihood='exact'.",
                UserWarning,
                stacklevel=3,
            )
        return likelihood

    def _normal_approx(self) -> dict:
        """Stage one of ``likelihood="normal_approx"``: maximum likelihood of psi."""
        d = self.data
        layout = approx.layout_of(d)
        dist, params = self._priors.params("gamma", d.covariates) if d.covariates else ("", {})
        if d.covariates and dist != "Normal":
            raise PriorError(
                f"likelihood='normal_approx' needs a Normal prior on gamma; got {dist}. Use a "
                "Normal prior or likelihood='exact'."
            )
        psi_hat, cov, info = approx.fit_glm(layout, **self._stage_one_rows())
        return {
            "layout": layout,
            "mu_scaling": approx.fixed_effect_centre(layout, psi_hat, cov, self._mu_prior_var()),
            "psi_hat": psi_hat,
            "psi_cov": cov,
            "info": info,
            "gamma_mean": params.get("mu", np.zeros(0)),
            "gamma_sd": params.get("sigma", np.zeros(0)),
        }

    def _stage_one_rows(self) -> dict:
        """Rows for the stage-one fit: collapsed cells with counts, people, or scores."""
        d, p = self.data, self._patterns
        if self.family == "normal":
            return {"site_index": d.site_index, "arm_index": d.arm_index, "x": d.x,
                    "family": "normal", "y": d.y}  # fmt: skip
        if p["collapsed"]:
            return {"site_index": p["site_index"], "arm_index": p["arm_index"], "x": p["x"],
                    "family": "bernoulli", "k": p["k"], "n": p["n"]}  # fmt: skip
        return {"site_index": d.site_index, "arm_index": d.arm_index, "x": d.x,
                "family": "bernoulli", "k": d.y, "n": np.ones_like(d.y)}  # fmt: skip

    def _mu_prior_var(self):
        """Prior variance of ``mu``: regularises the fixed-effect centring of ``mu`` only."""
        _, mu_params = self._priors.params("mu", self.data.components)
        return mu_params["sigma"] ** 2 if "sigma" in mu_params else 1e4  # 1e4: no sigma

    def _stage_one_blocks(self) -> dict | None:
        """Per-site blocks of the stage-one approximation (``parameterization="whitened"``)."""
        layout = approx.layout_of(self.data)
        try:
            psi, information, _ = approx.glm_mode(
                layout, **self._stage_one_rows(), ridge=STAGE_ONE_RIDGE
            )
        except (DataError, np.linalg.LinAlgError) as err:
            warnings.warn(
                f"parameterization='whitened' needs a maximum-likelihood fit, which failed "
                f"({err}); using 'noncentered' (the posterior is the same, sampling may be "
                "slower).",
                UserWarning,
                stacklevel=4,
            )
            return None
        # any centre and scale give the same posterior; these make mu's funnel round
        cov = np.linalg.inv(information + STAGE_ONE_RIDGE * np.eye(layout.size))
        centre = approx.fixed_effect_centre(layout, psi, cov, self._mu_prior_var())
        return {
            "whiten_blocks": site_blocks(layout, psi, information),
            "mu_scaling": np.stack(centre),
        }

    def _collapse(self, collapse) -> dict:
        d = self.data
        keys = np.column_stack([d.site_index, d.arm_index, self._group_index(), d.x])
        if self.family != "bernoulli" or (collapse is False and self.likelihood == "exact"):
            return {"collapsed": False, "rows": len(d.y)}
        uniq, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        small = len(uniq) > 0.5 * len(d.y)
        if collapse == "auto" and small and self.likelihood == "exact":
            return {"collapsed": False, "rows": len(d.y)}
        inverse = inverse.ravel()
        return {
            "collapsed": True,
            "rows": len(uniq),
            "site_index": uniq[:, 0].astype(int),
            "arm_index": uniq[:, 1].astype(int),
            "group_index": uniq[:, 2].astype(int),
            "x": uniq[:, 3:],
            "n": counts.astype(float),
            "k": np.bincount(inverse, weights=d.y, minlength=len(uniq)),
        }

    def _group_index(self) -> np.ndarray:
        """Return the combination of subgroup levels of every row (0 without subgroups)."""
        if self._layout is None:
            return np.zeros(len(self.data.y), dtype=int)
        return self._layout.group_of(self.data.subgroup_index)

    # ------------------------------------------------------------------ inspection
    @property
    def priors(self) -> dict[str, Prior]:
        """Priors in force (defaults merged with overrides), on the model's scale."""
        out = dict(self._priors.base)
        for var, comps in self._priors.per_component.items():
            out.update({f"{var}[{c}]": p for c, p in comps.items()})
        return out

    @property
    def coords(self) -> dict[str, list[str]]:
        """Coordinates with real site, component, arm and covariate names."""
        out = {
            "site": self.data.sites,
            "component": self.data.components,
            "arm": self.data.arms,
            "covariate": self.data.covariates,
        }
        if self._whitening is not None:
            out["site_parameter"] = ["intercept", *self.data.components]
        if self._layout is not None:
            out["subgroup"] = self._layout.labels
            out.update({f"{v}_level": lev for v, lev in self._layout.levels.items()})
        if self._approx is not None:
            out["psi"] = out["psi_"] = self._approx["layout"].names
        elif self.family == "normal":  # the bernoulli likelihood is one Op, no obs dims
            out["obs"] = [str(i) for i in range(self._patterns["rows"])]
        return out

    @property
    def model(self) -> pm.Model:
        """The PyMC model (built on first access; never sampled here)."""
        if self._model is None:
            self._model = self._build()
        return self._model

    def __repr__(self) -> str:
        d = self.data
        n = len(d.y)
        lines = [
            f"PersonModel(family={self.family!r}, outcome={d.columns['outcome']!r})",
            f"  {n} rows ({int(d.participant.sum())} participants), {len(d.sites)} sites: "
            f"{', '.join(d.sites)}",
            f"  components: {', '.join(d.components)}",
            f"  covariates: {', '.join(d.covariates) or 'none'}",
            f"  comparison: {', '.join(f'{s}={c}' for s, c in d.comparison.items())}",
        ]
        if self._approx is not None:
            lines.append(
                f"  likelihood: normal approximation in {self._approx['layout'].size} parameters "
                f"(from {self._patterns['rows']} rows), which are integrated out"
            )
        elif self._patterns["collapsed"]:
            lines.append(f"  likelihood: binomial over {self._patterns['rows']} collapsed cells")
        if self._approx is not None:
            lines.append("  site x component effects: drawn from their conditional posterior")
        elif self._whitening is not None:
            lines.append(
                "  site effects: whitened by a stage-one normal approximation (exact change "
                "of variables)"
            )
        else:
            lines.append(f"  site x component effects: {self.parameterization}")
        if self._layout is not None:
            where = "varying by site" if self.subgroups_by_site else "the same in every site"
            lines.append(
                f"  subgroups ({where}): "
                + "; ".join(f"{v} = {', '.join(lev)}" for v, lev in self._layout.levels.items())
            )
        notes = self._suppression.notes
        lines.append(
            f"  disclosure control: cells under {self.min_cell} persons are suppressed"
            + (f" ({len(notes)} such cell(s), see model.config()['disclosure'])" if notes else "")
        )
        lines += [f"  left out: {k} ({v} rows)" for k, v in d.dropped.items()]
        lines.append("  priors (model scale):")
        lines += [f"    {k} ~ {v!r}" for k, v in self.priors.items()]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ building
    def _observations(self):
        """Site, arm, combination of subgroup levels and covariates of each likelihood row."""
        p = self._patterns
        if p["collapsed"]:
            return p["site_index"], p["arm_index"], p["group_index"], p["x"]
        return self.data.site_index, self.data.arm_index, self._group_index(), self.data.x

    def _cell_index(self) -> np.ndarray:
        """Likelihood cell (site x (comparison, arm) x subgroup combination) of each row."""
        site_idx, arm_idx, group_idx, _ = self._observations()
        n_cells = len(self.data.arms) + 1  # column 0: the comparison group
        n_groups = self._layout.n_groups if self._layout is not None else 1
        return (site_idx * n_cells + (arm_idx + 1)) * n_groups + group_idx

    def _loglik_data(self) -> np.ndarray:
        """``[k, n, x]`` per likelihood row (bernoulli): events, trials, covariates."""
        p = self._patterns
        if p["collapsed"]:
            return np.column_stack([p["k"], p["n"], p["x"]])
        return np.column_stack([self.data.y, np.ones(len(self.data.y)), self.data.x])

    def _build(self) -> pm.Model:
        d = self.data
        x = self._observations()[3]
        design = np.vstack([np.zeros((1, len(d.components))), d.design])
        comps = d.components
        with pm.Model(coords=self.coords) as model:
            alpha_mu = scalar_rv("alpha_mu", self._priors.base["alpha_mu"])
            alpha_sd = scalar_rv("alpha_sd", self._priors.base["alpha_sd"])
            if self._approx is not None:
                a = self._approx
                approx.build_marginal(
                    a["layout"],
                    a["psi_hat"],
                    a["psi_cov"],
                    {
                        "alpha_mu": alpha_mu,
                        "alpha_sd": alpha_sd,
                        "tau": prior_rv("tau", self._priors, "tau", comps, "component"),
                    },
                    self._priors.params("mu", comps),
                    a["mu_scaling"],
                    a["gamma_mean"],
                    a["gamma_sd"],
                )
                return model
            # a data container, so that data sets of the same shape share the compiled model
            cell_idx = pm.Data("cell_idx", self._cell_index())
            tau = prior_rv("tau", self._priors, "tau", comps, "component")
            if self._whitening is not None:
                layout = approx.layout_of(d)
                mu_prior = self._priors.params("mu", comps)
                mu = approx.standardised_mu(layout, mu_prior, self._whitening["mu_scaling"], tau)
            else:
                mu = prior_rv("mu", self._priors, "mu", comps, "component")
            gamma = None
            if d.covariates:
                gamma = prior_rv("gamma", self._priors, "gamma", d.covariates, "covariate")
            if self._whitening is not None:
                alpha, beta = self._whitened_site_effects(alpha_mu, alpha_sd, mu, tau, gamma)
            elif self.parameterization == "centered":
                # every site has hundreds of people, so its intercept is well identified
                alpha = pm.Normal("alpha", alpha_mu, alpha_sd, dims="site")
                beta = pm.Normal("beta", mu, tau, dims=("site", "component"))
            else:
                alpha = pm.Normal("alpha", alpha_mu, alpha_sd, dims="site")
                z = pm.Normal("z", 0.0, 1.0, dims=("site", "component"))
                beta = pm.Deterministic("beta", mu + tau * z, dims=("site", "component"))
            # linear predictor of every site x (comparison, arm) x subgroup-combination cell
            cells = alpha[:, None] + pm.math.dot(beta, design.T)
            if self._layout is None:
                cells = cells.flatten()
            else:
                per_group, per_site = subgroup_terms(
                    self._layout, self._priors, comps, self.subgroups_by_site
                )
                terms = pm.math.dot(design, per_group)[None]  # (1, arm, combination)
                if per_site is not None:
                    terms = terms + pt.tensordot(per_site, design, axes=[[1], [1]]).dimshuffle(
                        0, 2, 1
                    )
                cells = (cells[:, :, None] + terms).flatten()
            if self.family == "bernoulli":
                # the binomial kernel without log C(n, k), which does not depend on the
                # parameters: summed over cells it equals the row-level Bernoulli one
                data = pm.Data("loglik_data", self._loglik_data())
                gamma_ = gamma if gamma is not None else np.zeros(0)
                pm.Potential("loglik", logit_loglik(cells, gamma_, cell_idx, data))
            else:
                eta = cells[cell_idx]
                if d.covariates:
                    xdata = pm.Data("x", x, dims=("obs", "covariate"))
                    eta = eta + pm.math.dot(xdata, gamma)
                sigma = scalar_rv("sigma", self._priors.base["sigma"])
                y = pm.Data("y_obs", d.y, dims="obs")
                pm.Normal("y", mu=eta, sigma=sigma, observed=y, dims="obs")
        return model

    def _whitened_site_effects(self, alpha_mu, alpha_sd, mu, tau, gamma):
        """``alpha`` and ``beta`` through :func:`._whitening.site_effects` (inside the model)."""
        w = self._whitening
        alpha, beta, logdens = site_effects(
            pm.Data("whiten_blocks", w["whiten_blocks"]),
            alpha_mu,
            mu,
            alpha_sd,
            tau,
            gamma if gamma is not None else np.zeros(0),
            pm.Flat("site_w", dims=("site", "site_parameter")),
        )
        # the prior of the whitened effects and the Jacobian of the change of variables
        pm.Potential("whitening", logdens)
        alpha = pm.Deterministic("alpha", alpha, dims="site")
        beta = pm.Deterministic("beta", beta, dims=("site", "component"))
        return alpha, beta

    def config(self) -> dict:
        """Model configuration (JSON-serialisable; no person-level data)."""
        d = self.data
        table = self.site_table
        # an arm and comparison group without any variation (e.g. no events in a small
        # cell) have no unpooled standard error: they keep their row, not its estimate
        usable = np.isfinite(table["se"]) & (table["se"] > 0)
        rows = {
            "site": table["site"].tolist(),
            "arm": table["arm"].tolist(),
            "estimate": [
                v if ok else None for v, ok in zip(table["estimate"], usable, strict=True)
            ],
            "se": [v if ok else None for v, ok in zip(table["se"], usable, strict=True)],
            "suspect": [False] * len(table),
        }
        fixed = None
        if usable.any():
            summary = validate_summary(
                table[usable], site="site", arm="arm", estimate="estimate", se="se",
                parser=self.parser,
            )  # fmt: skip
            fixed = fixed_effect_reference(summary, default_priors(summary.rows["se"])["mu"])
        return {
            "model": "PersonModel",
            "family": self.family,
            "scale": "percentage points" if self.family == "bernoulli" else "points",
            "columns": d.columns,
            "pooling": "partial",
            "comparison": d.comparison,
            "dropped": d.dropped,
            "collapsed": bool(self._patterns["collapsed"]),
            "parameterization": self.parameterization,
            "likelihood": self.likelihood,
            "n_obs": int(len(d.y)),
            "n_likelihood_rows": int(self._patterns["rows"]),
            "normal_approx": None
            if self._approx is None
            else {
                "parameters": self._approx["layout"].names,
                **{k: float(v) for k, v in self._approx["info"].items()},
            },
            "priors": self._priors.to_dict(),
            "prior_table": {k: repr(v) for k, v in self.priors.items()},
            "note": self.note,
            "sites": d.sites,
            "components": d.components,
            "arms": d.arms,
            "arm_components": {a: list(c) for a, c in d.arm_components.items()},
            "component_labels": {c: self.parser.components.get(c, c) for c in d.components},
            "covariates": d.covariates,
            "covariate_mean": d.covariate_mean.tolist(),
            "covariate_sd": d.covariate_sd.tolist(),
            "subgroups": None
            if self._layout is None
            else {
                "levels": self._layout.levels,
                "labels": self._layout.labels,
                "by_site": self.subgroups_by_site,
                "bins": self._subgroup_bins,
            },
            "disclosure": self._suppression.config(),
            "rows": rows,
            "excluded": {k: [] for k in rows},
            "suspect_rows": [],
            "excluded_rows": [],
            "suspect_action": "bias",
            "fixed_effect": fixed,
        }

    def _structure_key(self) -> str:
        d = self.data
        parts = (
            self.family,
            self._patterns["collapsed"],
            self._patterns["rows"],
            self.parameterization,
            self.likelihood,
            bool(self.data.covariates),
            sorted((k, tuple(v)) for k, v in self.coords.items() if k != "obs"),
            sorted(self._priors.table().items()),
            self.subgroups_by_site,
            d.design.tobytes(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def _data_values(self) -> dict:
        if self._approx is not None:
            a = self._approx
            return {
                "psi_hat": a["psi_hat"],
                "psi_cov": a["psi_cov"],
                "mu_scaling": np.stack(a["mu_scaling"]),
            }
        values = dict(self._whitening or {})
        values["cell_idx"] = self._cell_index()
        if self.family == "bernoulli":
            values["loglik_data"] = self._loglik_data()
        else:
            values["y_obs"] = self.data.y
            if self.data.covariates:
                values["x"] = self.data.x
        return values

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
            target_accept = 0.8 if self._whitening is not None else 0.95
        start = time.perf_counter()
        idata, config = sample(
            self,
            data=self._data_values(),
            sampler=sampler,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            target_accept=target_accept,
            progress=progress,
        )
        # keep no person-level data (PyMC's sampler adds observed and constant data)
        idata = az.InferenceData(posterior=idata.posterior, sample_stats=idata.sample_stats)
        result = self._finish(idata, config, random_seed)
        config["timings"]["effects_s"] = round(
            time.perf_counter() - start - sum(config["timings"].values()), 2
        )
        return result

    def _finish(self, idata, config: dict, random_seed) -> PersonResult:
        """Add derived quantities, check convergence and apply disclosure control."""
        if self._approx is not None:
            self._add_conditional_draws(idata, random_seed)
        idata = add_derived_quantities(idata, config, random_seed)
        self._add_outcome_scale(idata, config, random_seed)
        if self._layout is not None:
            self._add_subgroup_effects(idata)
        check(
            idata,
            config,
            (
                *("alpha_mu", "alpha_sd", "alpha", "mu", "tau", "z", "beta", "gamma", "sigma"),
                *("tau_sub", "delta", "tau_sub_site", "delta_site"),
            ),
        )
        apply_suppression(idata, config, self._suppression)
        return PersonResult(idata, config)

    def _add_subgroup_effects(self, idata) -> None:
        """Add the effects per subgroup level (model scale and, if binary, pp)."""
        import xarray as xr

        post = idata.posterior
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        names = ["alpha", "beta", "mu", "gamma", "delta", "delta_site"]
        flat = {
            k: post[k].values.reshape(chains * draws, *post[k].shape[2:])
            for k in names
            if k in post
        }
        flat.setdefault("gamma", np.zeros((chains * draws, 0)))
        d = self.data
        out = subgroup_quantities(flat, d, self._layout, binary=self.family == "bernoulli")
        coords = {
            "site": d.sites,
            "component": d.components,
            "arm": d.arms,
            "subgroup": self._layout.labels,
        }
        dims = {
            "beta_sub": ("site", "component", "subgroup"),
            "theta_sub": ("site", "arm", "subgroup"),
            "mu_sub": ("component", "subgroup"),
            "mu_arm_sub": ("arm", "subgroup"),
        }
        for name, values in out.items():
            dd = dims[name.removesuffix("_pp")]
            post[name] = xr.DataArray(
                values.reshape(chains, draws, *values.shape[1:]),
                dims=("chain", "draw", *dd),
                coords={k: coords[k] for k in dd},
            )
        # the sampler's raw zero-sum draws say nothing the deltas do not
        for name in [v for v in post.data_vars if str(v).startswith("z_sub")]:
            del post[name]

    def _add_conditional_draws(self, idata, random_seed) -> None:
        """``likelihood="normal_approx"``: draw alpha, beta, gamma given each draw of h."""
        import xarray as xr

        post = idata.posterior
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        hyper = {
            k: post[k].values.reshape(chains * draws, *post[k].shape[2:])
            for k in ("alpha_mu", "alpha_sd", "mu", "tau")
        }
        a = self._approx
        rng = np.random.default_rng(None if random_seed is None else [random_seed, 13])
        out = approx.conditional_draws(
            a["layout"], a["psi_hat"], a["psi_cov"], hyper, a["gamma_mean"], a["gamma_sd"], rng
        )
        d = self.data
        dims = {"alpha": ("site",), "beta": ("site", "component"), "gamma": ("covariate",)}
        coords = {"site": d.sites, "component": d.components, "covariate": d.covariates}
        for name, values in out.items():
            if name == "gamma" and not d.covariates:
                continue
            post[name] = xr.DataArray(
                values.reshape(chains, draws, *values.shape[1:]),
                dims=("chain", "draw", *dims[name]),
                coords={k: coords[k] for k in dims[name]},
            )

    # ------------------------------------------------------------------ g-computation
    def _participant_cells(self):
        """Participants collapsed to (site, covariates) cells with counts."""
        d = self.data
        keep = d.participant
        keys = np.column_stack([d.site_index[keep], d.x[keep]])
        uniq, counts = np.unique(keys, axis=0, return_counts=True)
        return uniq[:, 0].astype(int), uniq[:, 1:], counts.astype(float)

    def _add_outcome_scale(self, idata, config, random_seed) -> None:
        """Add ``theta`` (site x arm rows) and the ``*_pp`` effects to the posterior."""
        import xarray as xr

        post = idata.posterior
        d = self.data
        rows = config["rows"]
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        flat = {
            k: post[k].values.reshape(chains * draws, *post[k].shape[2:])
            for k in ("alpha", "beta", "mu", "tau", "alpha_mu", "alpha_sd", "theta_new")
        }
        design = d.design
        site_of_row = [d.sites.index(s) for s in rows["site"]]
        arm_of_row = [d.arms.index(a) for a in rows["arm"]]
        theta = np.stack(
            [flat["beta"][:, m] @ design[a] for m, a in zip(site_of_row, arm_of_row, strict=True)],
            axis=1,
        )
        row_labels = [f"{s}: {a}" for s, a in zip(rows["site"], rows["arm"], strict=True)]

        def put(name, values, dims, coords):
            arr = values.reshape(chains, draws, *values.shape[1:])
            post[name] = xr.DataArray(arr, dims=("chain", "draw", *dims), coords=coords)

        put("theta", theta, ("row",), {"row": row_labels})
        if self.family == "normal":  # linear: the model's scale is the outcome's scale
            return

        site_c, x_c, w_c = self._participant_cells()
        n_draws = chains * draws
        n_sites, n_comp = len(d.sites), len(d.components)
        gamma = (
            post["gamma"].values.reshape(n_draws, -1) if d.covariates else np.zeros((n_draws, 0))
        )
        rng = np.random.default_rng(None if random_seed is None else [random_seed, 11])
        alpha_new = flat["alpha_mu"] + flat["alpha_sd"] * rng.standard_normal(n_draws)
        # single-component arms shift by their component's effect, so only combined arms
        # need shifts of their own
        single = {a: int(np.argmax(design[a])) for a in range(len(d.arms)) if design[a].sum() == 1}
        combined = [a for a in range(len(d.arms)) if a not in single]
        site_rows = [[j for j, m in enumerate(site_of_row) if m == s] for s in range(n_sites)]
        combined_rows = [[j for j in rows_m if arm_of_row[j] not in single] for rows_m in site_rows]
        width = max((len(r) for r in combined_rows), default=0)
        mu_arm = flat["mu"] @ design[combined].T
        new_arm = flat["theta_new"] @ design[combined].T
        shifts_site = np.zeros((n_draws, n_sites, 2 * n_comp + width + len(combined)))
        shifts_site[:, :, :n_comp] = flat["beta"]
        shifts_site[:, :, n_comp : 2 * n_comp] = flat["mu"][:, None, :]
        for m, rows_m in enumerate(combined_rows):
            shifts_site[:, m, 2 * n_comp : 2 * n_comp + len(rows_m)] = theta[:, rows_m]
        shifts_site[:, :, 2 * n_comp + width :] = mu_arm[:, None, :]
        shifts_new = np.concatenate([flat["theta_new"], new_arm], axis=1)
        acc_site, acc_new = shift_effects(
            site_c, x_c, w_c, flat["alpha"], gamma, alpha_new, shifts_site, shifts_new
        )
        w_site = np.bincount(site_c, weights=w_c, minlength=n_sites)
        per_site = 100 * acc_site / w_site[None, :, None]
        pooled = 100 * acc_site.sum(axis=1) / w_c.sum()
        new = 100 * acc_new / w_c.sum()
        out = {
            "beta_pp": per_site[:, :, :n_comp],
            "theta_pp": np.empty((n_draws, len(site_of_row))),
            "mu_pp": pooled[:, n_comp : 2 * n_comp],
            "mu_arm_pp": np.empty((n_draws, len(d.arms))),
            "theta_new_pp": new[:, :n_comp],
            "theta_new_arm_pp": np.empty((n_draws, len(d.arms))),
        }
        for j, (m, a) in enumerate(zip(site_of_row, arm_of_row, strict=True)):
            if a in single:
                out["theta_pp"][:, j] = per_site[:, m, single[a]]
            else:
                out["theta_pp"][:, j] = per_site[:, m, 2 * n_comp + combined_rows[m].index(j)]
        for a in range(len(d.arms)):
            if a in single:
                out["mu_arm_pp"][:, a] = out["mu_pp"][:, single[a]]
                out["theta_new_arm_pp"][:, a] = out["theta_new_pp"][:, single[a]]
            else:
                k = combined.index(a)
                out["mu_arm_pp"][:, a] = pooled[:, 2 * n_comp + width + k]
                out["theta_new_arm_pp"][:, a] = new[:, n_comp + k]
        coords = {"site": d.sites, "component": d.components, "arm": d.arms, "row": row_labels}
        dims = {
            "beta_pp": ("site", "component"),
            "theta_pp": ("row",),
            "mu_pp": ("component",),
            "mu_arm_pp": ("arm",),
            "theta_new_pp": ("component",),
            "theta_new_arm_pp": ("arm",),
        }
        for name, values in out.items():
            put(name, values, dims[name], {k: coords[k] for k in dims[name]})
