"""Person-level hierarchical model (one row per participant).

::

    y_i ~ Bernoulli(logit^-1(eta_i))            family="bernoulli"
    y_i ~ Normal(eta_i, sigma)                  family="normal" (baseline score as covariate)
    eta_i = alpha_{m[i]} + X_i gamma + sum_c x_{a[i],c} beta_{m[i],c}
    alpha_m ~ Normal(alpha_mu, alpha_sd),       beta_{m,c} = mu_c + tau_c * z_{m,c}

Covariates are standardised inside the model. Rows that share site, arm and every
covariate value are collapsed into binomial counts (exact: the log-likelihood differs
from the row-level one by a constant). Effects are reported on the outcome's scale by
g-computation: the average, over each site's own participants, of the predicted
difference between arm and comparison (percentage points for binary outcomes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.special import expit, logit

from ..arms import ArmParser, default_parser
from ..data.person import PersonData, validate_person
from ..data.site_estimates import estimates_from
from ..data.validate import validate_summary
from ..errors import DataError
from ..priors import Prior, default_priors, resolve_priors, round_sig2
from ..results import PersonResult, add_derived_quantities
from ._common import check, prior_rv, sample, scalar_rv
from .summary import fixed_effect_reference

__all__ = ["PersonModel"]

COLLAPSE = ("auto", True, False)


def _bernoulli_logit_logp(value, eta):
    """Return log Bernoulli(value | logit^-1(eta)) = value * eta - log(1 + exp(eta)).

    Written out rather than ``pm.Bernoulli`` because it compiles to fewer operations
    (no bounds checks, one softplus): about 1.6x faster per gradient on 11,000 rows.
    """
    return value * eta - pt.softplus(eta)


def _binomial_logit_kernel(value, n, eta):
    """Binomial log-likelihood without log C(n, k), which does not depend on parameters.

    Summed over cells it equals the row-level Bernoulli log-likelihood exactly.
    """
    return value * eta - n * pt.softplus(eta)


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
    centered : bool
        Parameterisation of the site x component effects: non-centred
        (``beta = mu + tau * z``, default) or centred (``beta ~ Normal(mu, tau)``). On the
        synthetic population at 3x size (binned covariates) non-centred took 58 leapfrog
        steps per draw and centred 191 (``docs/benchmarks.md``).
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
        centered: bool = False,
        note: str | None = None,
        parser: ArmParser | None = None,
    ):
        if collapse not in COLLAPSE:
            raise DataError(f"collapse={collapse!r} is not allowed; use one of {COLLAPSE}.")
        if collapse is True and family != "bernoulli":
            raise DataError("collapse=True needs family='bernoulli'; scores are modelled per row.")
        self.parser = parser or default_parser()
        self.family = family
        self.data: PersonData = validate_person(
            data,
            site=site,
            arm=arm,
            outcome=outcome,
            covariates=covariates,
            family=family,
            comparison=comparison,
            missing=missing,
            parser=self.parser,
        )
        self.note = note if note is not None else data.attrs.get("note")
        self.site_table = estimates_from(self.data, family=family, note=self.note)
        self._patterns = self._collapse(collapse)
        if centered not in (True, False):
            raise DataError(f"centered={centered!r} is not allowed; use True or False.")
        self.centered = bool(centered)
        self._defaults = self._default_priors()
        used = ["alpha_mu", "alpha_sd", "mu", "tau"]
        if self.data.covariates:
            used.append("gamma")
        if family == "normal":
            used.append("sigma")
        self._priors = resolve_priors(priors, self._defaults, used, self.data.components)
        self._model: pm.Model | None = None
        self._compiled: dict[str, object] = {}

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
            }
        s = round_sig2(float(y.std()))
        return {
            "alpha_mu": Prior("Normal", mu=round_sig2(float(y.mean())), sigma=round_sig2(2 * s)),
            "alpha_sd": Prior("HalfNormal", sigma=s),
            "gamma": Prior("Normal", mu=0.0, sigma=s),
            "mu": Prior("Normal", mu=0.0, sigma=s),
            "tau": Prior("HalfNormal", sigma=round_sig2(0.5 * s)),
            "sigma": Prior("HalfNormal", sigma=s),
        }

    def _collapse(self, collapse) -> dict:
        d = self.data
        keys = np.column_stack([d.site_index, d.arm_index, d.x])
        if self.family != "bernoulli" or collapse is False:
            return {"collapsed": False, "rows": len(d.y)}
        uniq, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        if collapse == "auto" and len(uniq) > 0.5 * len(d.y):
            return {"collapsed": False, "rows": len(d.y)}
        inverse = inverse.ravel()
        return {
            "collapsed": True,
            "rows": len(uniq),
            "site_index": uniq[:, 0].astype(int),
            "arm_index": uniq[:, 1].astype(int),
            "x": uniq[:, 2:],
            "n": counts.astype(float),
            "k": np.bincount(inverse, weights=d.y, minlength=len(uniq)),
        }

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
        return {
            "site": self.data.sites,
            "component": self.data.components,
            "arm": self.data.arms,
            "covariate": self.data.covariates,
            "obs": [str(i) for i in range(self._patterns["rows"])],
        }

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
        if self._patterns["collapsed"]:
            lines.append(f"  likelihood: binomial over {self._patterns['rows']} collapsed cells")
        lines.append(f"  site x component effects: {'centred' if self.centered else 'non-centred'}")
        lines += [f"  left out: {k} ({v} rows)" for k, v in d.dropped.items()]
        lines.append("  priors (model scale):")
        lines += [f"    {k} ~ {v!r}" for k, v in self.priors.items()]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ building
    def _observations(self):
        p = self._patterns
        if p["collapsed"]:
            return p["site_index"], p["arm_index"], p["x"]
        return self.data.site_index, self.data.arm_index, self.data.x

    def _build(self) -> pm.Model:
        d = self.data
        site_idx, arm_idx, x = self._observations()
        n_cells = len(d.arms) + 1  # column 0: the comparison group
        cell_idx = site_idx * n_cells + (arm_idx + 1)
        design = np.vstack([np.zeros((1, len(d.components))), d.design])
        comps = d.components
        with pm.Model(coords=self.coords) as model:
            alpha_mu = scalar_rv("alpha_mu", self._priors.base["alpha_mu"])
            alpha_sd = scalar_rv("alpha_sd", self._priors.base["alpha_sd"])
            # centred: every site has hundreds of people, so its intercept is well identified
            alpha = pm.Normal("alpha", alpha_mu, alpha_sd, dims="site")
            mu = prior_rv("mu", self._priors, "mu", comps, "component")
            tau = prior_rv("tau", self._priors, "tau", comps, "component")
            if self.centered:
                beta = pm.Normal("beta", mu, tau, dims=("site", "component"))
            else:
                z = pm.Normal("z", 0.0, 1.0, dims=("site", "component"))
                beta = pm.Deterministic("beta", mu + tau * z, dims=("site", "component"))
            # linear predictor of every site x (comparison, arm) cell, gathered once per row
            cells = alpha[:, None] + pm.math.dot(beta, design.T)
            eta = cells.flatten()[cell_idx]
            if d.covariates:
                gamma = prior_rv("gamma", self._priors, "gamma", d.covariates, "covariate")
                xdata = pm.Data("x", x, dims=("obs", "covariate"))
                eta = eta + pm.math.dot(xdata, gamma)
            if self.family == "bernoulli" and self._patterns["collapsed"]:
                n = pm.Data("n", self._patterns["n"], dims="obs")
                k = pm.Data("k", self._patterns["k"], dims="obs")
                pm.CustomDist("y", n, eta, logp=_binomial_logit_kernel, observed=k, dims="obs")
            elif self.family == "bernoulli":
                y = pm.Data("y_obs", d.y, dims="obs")
                pm.CustomDist("y", eta, logp=_bernoulli_logit_logp, observed=y, dims="obs")
            else:
                sigma = scalar_rv("sigma", self._priors.base["sigma"])
                y = pm.Data("y_obs", d.y, dims="obs")
                pm.Normal("y", mu=eta, sigma=sigma, observed=y, dims="obs")
        return model

    def config(self) -> dict:
        """Model configuration (JSON-serialisable; no person-level data)."""
        d = self.data
        summary = validate_summary(
            self.site_table,
            site="site",
            arm="arm",
            estimate="estimate",
            se="se",
            parser=self.parser,
        )
        rows = summary.rows.to_dict(orient="list")
        return {
            "model": "PersonModel",
            "family": self.family,
            "scale": "percentage points" if self.family == "bernoulli" else "points",
            "columns": d.columns,
            "pooling": "partial",
            "comparison": d.comparison,
            "dropped": d.dropped,
            "collapsed": bool(self._patterns["collapsed"]),
            "centered": bool(self.centered),
            "n_obs": int(len(d.y)),
            "n_likelihood_rows": int(self._patterns["rows"]),
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
            "rows": rows,
            "excluded": {k: [] for k in rows},
            "suspect_rows": [],
            "excluded_rows": [],
            "suspect_action": "bias",
            "fixed_effect": fixed_effect_reference(summary, default_priors(rows["se"])["mu"]),
        }

    def _structure_key(self) -> str:
        d = self.data
        site_idx, arm_idx, _ = self._observations()
        parts = (
            self.family,
            self._patterns["collapsed"],
            self._patterns["rows"],
            self.centered,
            bool(self.data.covariates),
            sorted((k, tuple(v)) for k, v in self.coords.items() if k != "obs"),
            sorted(self._priors.table().items()),
            site_idx.tobytes(),
            arm_idx.tobytes(),
            d.design.tobytes(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def _data_values(self) -> dict:
        _, _, x = self._observations()
        values = {"x": x} if self.data.covariates else {}
        if self._patterns["collapsed"]:
            values.update(n=self._patterns["n"], k=self._patterns["k"])
        else:
            values["y_obs"] = self.data.y
        return values

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int | None = None,
        *,
        target_accept: float = 0.95,
        sampler: str = "auto",
        progress: bool | None = None,
    ) -> PersonResult:
        """Sample the posterior and compute effects on the outcome's scale.

        Parameters are as for :meth:`pwbayes.SummaryModel.fit`.

        Returns
        -------
        PersonResult
        """
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
        idata = add_derived_quantities(idata, config, random_seed)
        self._add_outcome_scale(idata, config, random_seed)
        check(
            idata,
            config,
            ("alpha_mu", "alpha_sd", "alpha", "mu", "tau", "z", "beta", "gamma", "sigma"),
        )
        return PersonResult(idata, config)

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
        gamma = (
            post["gamma"].values.reshape(n_draws, -1) if d.covariates else np.zeros((n_draws, 0))
        )
        rng = np.random.default_rng(None if random_seed is None else [random_seed, 11])
        alpha_new = flat["alpha_mu"] + flat["alpha_sd"] * rng.standard_normal(n_draws)
        by_site = [site_c == m for m in range(len(d.sites))]
        out = {
            "beta_pp": np.empty((n_draws, len(d.sites), len(d.components))),
            "theta_pp": np.empty((n_draws, len(site_of_row))),
            "mu_pp": np.empty((n_draws, len(d.components))),
            "mu_arm_pp": np.empty((n_draws, len(d.arms))),
            "theta_new_pp": np.empty((n_draws, len(d.components))),
            "theta_new_arm_pp": np.empty((n_draws, len(d.arms))),
        }

        def gcomp(b, w, shift):
            """Average over cells (weights w) of expit(b + shift) - expit(b), in pp."""
            return 100 * ((expit(b + shift[:, None]) - expit(b)) @ w) / w.sum()

        # chunks of draws keep memory at ~chunk x cells floats, whatever the population
        chunk = max(1, int(2e6 // max(len(w_c), 1)))
        for lo in range(0, n_draws, chunk):
            sl = slice(lo, min(lo + chunk, n_draws))
            linear = gamma[sl] @ x_c.T
            base = flat["alpha"][sl][:, site_c] + linear  # each participant's own site
            base_new = alpha_new[sl, None] + linear
            for m, cells in enumerate(by_site):
                for c in range(len(d.components)):
                    out["beta_pp"][sl, m, c] = gcomp(
                        base[:, cells], w_c[cells], flat["beta"][sl, m, c]
                    )
            for j, m in enumerate(site_of_row):
                cells = by_site[m]
                out["theta_pp"][sl, j] = gcomp(base[:, cells], w_c[cells], theta[sl, j])
            for c in range(len(d.components)):
                out["mu_pp"][sl, c] = gcomp(base, w_c, flat["mu"][sl, c])
                out["theta_new_pp"][sl, c] = gcomp(base_new, w_c, flat["theta_new"][sl, c])
            for a in range(len(d.arms)):
                out["mu_arm_pp"][sl, a] = gcomp(base, w_c, flat["mu"][sl] @ design[a])
                out["theta_new_arm_pp"][sl, a] = gcomp(
                    base_new, w_c, flat["theta_new"][sl] @ design[a]
                )
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
