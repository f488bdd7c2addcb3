"""The result of a fit: posterior, tidy effects table, diagnostics, save and load.

This module needs ArviZ, xarray, numpy and pandas; plots are imported only when
asked for, and nothing here samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from .errors import DataError, PwbayesError

__all__ = [
    "HDI_PROB",
    "PersonResult",
    "SummaryResult",
    "add_derived_quantities",
    "hdi",
    "load_result",
]

#: The published figures show 90% intervals; so do we by default.
HDI_PROB = 0.9
_CONFIG_ATTR = "pwbayes_config"


def hdi(samples: np.ndarray, prob: float = HDI_PROB) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval of each column of ``samples`` (draws along axis 0).

    Parameters
    ----------
    samples : numpy.ndarray
        Shape ``(n_draws, ...)``.
    prob : float
        Interval mass, e.g. 0.9.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
    """
    x = np.sort(np.asarray(samples, dtype=float), axis=0)
    n = x.shape[0]
    k = int(np.floor(prob * n))
    if k < 1 or k >= n:
        raise ValueError(f"Need more draws for a {prob:.0%} interval; got {n}.")
    widths = x[k:] - x[: n - k]
    start = np.argmin(widths, axis=0)
    low = np.take_along_axis(x, start[None], axis=0)[0]
    high = np.take_along_axis(x, (start + k)[None], axis=0)[0]
    return low, high


def _arm_design(config: dict) -> np.ndarray:
    comps = config["components"]
    out = np.zeros((len(config["arms"]), len(comps)))
    for a, arm in enumerate(config["arms"]):
        for c in config["arm_components"][arm]:
            out[a, comps.index(c)] = 1.0
    return out


def add_derived_quantities(
    idata: az.InferenceData, config: dict, random_seed: int | None
) -> az.InferenceData:
    """Add new-site and arm-level quantities to the posterior (in place) and the data groups.

    ``theta_new = mu + tau * eps`` with ``eps ~ Normal(0, 1)`` drawn per posterior draw
    (seeded by ``random_seed``); ``mu_arm`` and ``theta_new_arm`` sum the components
    of each arm (plus its interaction term, if any).
    """
    post = idata.posterior
    rng = np.random.default_rng(None if random_seed is None else [random_seed, 7])
    x_arm = xr.DataArray(
        _arm_design(config),
        dims=("arm", "component"),
        coords={"arm": config["arms"], "component": config["components"]},
    )
    new = {}
    if "mu" in post:
        theta_new = post["mu"]
        if "tau" in post:
            eps = rng.standard_normal(post["tau"].shape)
            theta_new = post["mu"] + post["tau"] * xr.DataArray(eps, dims=post["tau"].dims)
        new["theta_new"] = theta_new
        extra = 0.0
        if "interaction" in post:
            extra = (
                post["interaction"]
                .rename(combined_arm="arm")
                .reindex(arm=config["arms"], fill_value=0.0)
            )
        new["mu_arm"] = xr.dot(post["mu"], x_arm, dim="component") + extra
        new["theta_new_arm"] = xr.dot(theta_new, x_arm, dim="component") + extra
    for name, value in new.items():
        post[name] = value.transpose("chain", "draw", ...)
    rows = config["rows"]
    row_coord = {"row": [f"{s}: {a}" for s, a in zip(rows["site"], rows["arm"], strict=True)]}
    groups = {
        "observed_data": xr.Dataset({"y": ("row", np.asarray(rows["estimate"]))}, coords=row_coord),
        "constant_data": xr.Dataset({"se": ("row", np.asarray(rows["se"]))}, coords=row_coord),
    }
    missing = {k: v for k, v in groups.items() if k not in idata.groups()}
    if missing:
        idata.add_groups(missing)
    return idata


class SummaryResult:
    """Posterior of a :class:`~pwbayes.SummaryModel` fit.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior (``mu``, ``tau``, ``beta``, ``theta``, ``theta_new``, ``mu_arm``,
        ``theta_new_arm``...), sample stats, observed estimates and standard errors.
    config : dict
        Model configuration: columns, pooling, priors in force, suspect rows, sampler
        settings, diagnostics.
    """

    def __init__(self, idata: az.InferenceData, config: dict):
        self.idata = idata
        self.config = config

    # ------------------------------------------------------------------ basics
    @property
    def priors(self) -> dict[str, str]:
        """The priors the fit used."""
        return dict(self.config["prior_table"])

    @property
    def diagnostics(self) -> dict:
        """R-hat, ESS and divergences checked after the fit (see :mod:`pwbayes.diagnostics`)."""
        return self.config["diagnostics"]

    @property
    def note(self) -> str | None:
        """Caption of the data (e.g. that the example is SYNTHETIC)."""
        return self.config.get("note")

    def __repr__(self) -> str:
        d = self.diagnostics
        status = "ok" if not d["problems"] else f"{len(d['problems'])} problem(s)"
        return (
            f"SummaryResult(pooling={self.config['pooling']!r}, sites={len(self.config['sites'])}, "
            f"components={self.config['components']}, chains={d['chains']}, draws={d['draws']}, "
            f"diagnostics={status})"
        )

    def _draws(self, name: str) -> xr.DataArray:
        return self.idata.posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...)

    #: Estimands of the effects table, in order: (estimand, level, dims).
    _ESTIMANDS = (
        ("beta", "site", ("site", "component")),
        ("theta", "site", ("row",)),
        ("mu", "pooled", ("component",)),
        ("mu_arm", "pooled", ("arm",)),
        ("theta_new", "new_site", ("component",)),
        ("theta_new_arm", "new_site", ("arm",)),
    )

    def _variable(self, estimand: str, scale: str) -> str:
        """Posterior variable holding ``estimand`` on ``scale`` (same name for summaries)."""
        if scale not in ("outcome", "model"):
            raise ValueError(f"scale={scale!r} is not allowed; use 'outcome' or 'model'.")
        return estimand

    def _rows(self, name, level, key_dims, hdi_prob, threshold, mask=None, var=None) -> list[dict]:
        var = var or name
        if var not in self.idata.posterior:
            return []
        da = self._draws(var)
        flat = da.values.reshape(da.shape[0], -1)
        low, high = hdi(flat, hdi_prob)
        index = (
            pd.MultiIndex.from_product([da.coords[d].values for d in key_dims])
            if len(key_dims) > 1
            else [(v,) for v in da.coords[key_dims[0]].values]
        )
        out = []
        for j, key in enumerate(index):
            labels = dict(zip(key_dims, key, strict=True))
            if mask is not None and not mask(labels):
                continue
            col = flat[:, j]
            rec = {
                "level": level,
                "site": labels.get("site"),
                "component": labels.get("component"),
                "arm": labels.get("arm"),
                "estimand": name,
                "mean": col.mean(),
                "sd": col.std(ddof=1),
                "hdi_low": low[j],
                "hdi_high": high[j],
                "p_positive": (col > 0).mean(),
            }
            if threshold is not None:
                rec["threshold"] = threshold
                rec["p_gt_threshold"] = (col > threshold).mean()
            out.append(rec)
        return out

    # ------------------------------------------------------------------ tables
    def effects(
        self, hdi_prob: float = HDI_PROB, threshold: float | None = None, scale: str = "outcome"
    ) -> pd.DataFrame:
        """Tidy table of effects: one row per estimand.

        Parameters
        ----------
        hdi_prob : float
            Mass of the highest-density interval (default 0.9, as the published figures).
        threshold : float, optional
            Also report ``P(effect > threshold)`` in column ``p_gt_threshold``.
        scale : {"outcome", "model"}
            The outcome's scale (percentage points for binary outcomes, default) or the
            model's own (log-odds for a person-level binary model; identical for the
            summary model).

        Returns
        -------
        pandas.DataFrame
            Columns ``level`` (``site``, ``pooled``, ``new_site``), ``site``,
            ``component``, ``arm``, ``estimand`` (posterior variable), ``mean``, ``sd``,
            ``hdi_low``, ``hdi_high``, ``p_positive`` (and ``threshold``,
            ``p_gt_threshold``). Site-level component effects are listed only where the
            site ran an arm containing the component.
        """
        cfg = self.config
        observed = {
            (s, c)
            for s, a in zip(cfg["rows"]["site"], cfg["rows"]["arm"], strict=True)
            for c in cfg["arm_components"][a]
        }
        rows = []
        for estimand, level, dims in self._ESTIMANDS:
            mask = None
            if estimand == "beta":

                def mask(lab):
                    return (lab["site"], lab["component"]) in observed

            found = self._rows(
                estimand,
                level,
                dims,
                hdi_prob,
                threshold,
                mask=mask,
                var=self._variable(estimand, scale),
            )
            if estimand == "theta":
                for rec, s, a in zip(found, cfg["rows"]["site"], cfg["rows"]["arm"], strict=True):
                    rec.update(site=s, arm=a)
            rows += found
        df = pd.DataFrame.from_records(rows)
        df.attrs["hdi_prob"] = hdi_prob
        df.attrs["scale"] = self._scale_name(scale)
        if self.note:
            df.attrs["note"] = self.note
        return df

    def _scale_name(self, scale: str) -> str:
        return "outcome scale"

    def heterogeneity(self, hdi_prob: float = HDI_PROB) -> pd.DataFrame:
        """Between-site SD ``tau`` of each component (empty unless ``pooling="partial"``).

        Returns
        -------
        pandas.DataFrame
            Columns ``component, mean, sd, median, hdi_low, hdi_high``.
        """
        if "tau" not in self.idata.posterior:
            return pd.DataFrame(
                columns=["component", "mean", "sd", "median", "hdi_low", "hdi_high"]
            )
        da = self._draws("tau")
        low, high = hdi(da.values, hdi_prob)
        return pd.DataFrame(
            {
                "component": da.coords["component"].values,
                "mean": da.values.mean(0),
                "sd": da.values.std(0, ddof=1),
                "median": np.median(da.values, 0),
                "hdi_low": low,
                "hdi_high": high,
            }
        )

    def pooling_factors(self) -> pd.DataFrame:
        """How far each site x arm estimate is pulled towards the pooled mean.

        The pooling factor of row k is ``E[s_k^2 / (s_k^2 + tau_k^2)]`` over the posterior,
        where ``tau_k^2 = sum_c x_kc tau_c^2`` is the between-site variance of that arm's
        effect (Gelman & Pardoe 2006; baggr's "pooling"): 0 means the site keeps its own
        estimate, 1 means it is replaced by the pooled mean. ``pooling="none"`` gives 0 and
        ``"full"`` 1.

        Returns
        -------
        pandas.DataFrame
            Columns ``site, arm, estimate, se, posterior_mean, pooling_factor``.
        """
        cfg = self.config
        rows = pd.DataFrame(cfg["rows"])[["site", "arm", "estimate", "se"]].copy()
        theta = self._draws("theta").values
        rows["posterior_mean"] = theta.mean(0)
        if cfg["pooling"] == "partial":
            tau2 = self._draws("tau").values ** 2
            x_arm = _arm_design(cfg)
            arm_idx = [cfg["arms"].index(a) for a in rows["arm"]]
            var_between = tau2 @ x_arm[arm_idx].T
            s2 = rows["se"].to_numpy() ** 2
            rows["pooling_factor"] = (s2 / (s2 + var_between)).mean(0)
        else:
            rows["pooling_factor"] = 1.0 if cfg["pooling"] == "full" else 0.0
        return rows

    def summary(self, var_names=("mu", "tau", "beta", "theta")) -> pd.DataFrame:
        """ArviZ summary (mean, sd, 90% HDI, MCSE, ESS, R-hat) of the named variables."""
        names = [v for v in var_names if v in self.idata.posterior]
        return az.summary(self.idata, var_names=names, hdi_prob=HDI_PROB)

    # ------------------------------------------------------------------ plots
    def plot_forest(self, **kwargs):
        """Forest plot per arm: each site alone, partially pooled, fully pooled.

        See :func:`pwbayes.plots.forest.plot_forest` for the options.
        """
        from .plots.forest import plot_forest

        return plot_forest(self, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write posterior and model configuration to one NetCDF file.

        The file holds the posterior, sample stats, the summary rows (estimates and
        standard errors, which are not person-level) and the configuration as JSON.

        Parameters
        ----------
        path : str or Path
            Target file, conventionally ``*.nc``.

        Returns
        -------
        Path
        """
        path = Path(path)
        idata = self.idata.copy()
        idata.posterior.attrs[_CONFIG_ATTR] = json.dumps(self.config, default=_json_default)
        idata.to_netcdf(str(path), engine="h5netcdf")
        return path


class PersonResult(SummaryResult):
    """Posterior of a :class:`~pwbayes.PersonModel` fit.

    The posterior holds the model-scale parameters (``alpha``, ``gamma``, ``mu``, ``tau``,
    ``beta``: log-odds for binary outcomes) and, for binary outcomes, their outcome-scale
    counterparts from g-computation (``beta_pp``, ``theta_pp``, ``mu_pp``, ``mu_arm_pp``,
    ``theta_new_pp``, ``theta_new_arm_pp``: percentage points; for scores the two scales
    coincide). No person-level data are kept.
    """

    def _variable(self, estimand: str, scale: str) -> str:
        super()._variable(estimand, scale)
        binary = self.config["family"] == "bernoulli"
        return f"{estimand}_pp" if scale == "outcome" and binary else estimand

    def _scale_name(self, scale: str) -> str:
        if scale == "model":
            return "log-odds" if self.config["family"] == "bernoulli" else "points"
        return self.config["scale"]

    def pooling_factors(self) -> pd.DataFrame:
        """Not defined for the person-level model (no per-site standard errors)."""
        raise PwbayesError(
            "pooling_factors() needs summary rows with standard errors; fit a SummaryModel "
            "to pw.site_estimates(...) for them."
        )

    def covariate_effects(self, hdi_prob: float = HDI_PROB) -> pd.DataFrame:
        """Covariate coefficients on the original scale of each covariate.

        The model uses standardised covariates; the coefficient per original unit is
        ``gamma / sd`` (log-odds per unit for binary outcomes).

        Returns
        -------
        pandas.DataFrame
            Columns ``covariate, per_sd, per_unit, per_unit_hdi_low, per_unit_hdi_high``.
        """
        if "gamma" not in self.idata.posterior:
            return pd.DataFrame(columns=["covariate", "per_sd", "per_unit"])
        g = self._draws("gamma").values
        per_unit = g / np.asarray(self.config["covariate_sd"])
        low, high = hdi(per_unit, hdi_prob)
        return pd.DataFrame(
            {
                "covariate": self.config["covariates"],
                "per_sd": g.mean(0),
                "per_unit": per_unit.mean(0),
                "per_unit_hdi_low": low,
                "per_unit_hdi_high": high,
            }
        )


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"Cannot save {type(obj).__name__} in the configuration.")


def load_result(path: str | Path) -> SummaryResult:
    """Read a result written by :meth:`SummaryResult.save`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    SummaryResult
    """
    idata = az.from_netcdf(str(path), engine="h5netcdf")
    idata.load()  # read everything now, so the file is not held open
    attrs = idata.posterior.attrs
    if _CONFIG_ATTR not in attrs:
        raise DataError(f"{path} was not written by pwbayes (no {_CONFIG_ATTR!r} attribute).")
    config = json.loads(attrs.pop(_CONFIG_ATTR))
    cls = PersonResult if config.get("model") == "PersonModel" else SummaryResult
    return cls(idata, config)
