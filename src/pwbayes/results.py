"""The result of a fit: posterior, tidy effects table, diagnostics, save and load.

This module needs ArviZ, xarray, numpy and pandas; plots are imported only when
asked for, and nothing here samples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
            f"{type(self).__name__}(pooling={self.config['pooling']!r}, "
            f"sites={len(self.config['sites'])}, "
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
        ("beta_sub", "subgroup", ("site", "component", "subgroup")),
        ("theta_sub", "subgroup", ("site", "arm", "subgroup")),
        ("mu_sub", "subgroup", ("component", "subgroup")),
        ("mu_arm_sub", "subgroup", ("arm", "subgroup")),
    )
    #: Values of the ``level`` column.
    LEVELS = ("site", "pooled", "new_site", "subgroup")

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
            if np.isnan(col).all():  # suppressed (disclosure control)
                continue
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
            if "row" in labels:  # a summary row: "site: arm"
                rec["site"], rec["arm"] = self._row_cells()[labels["row"]]
            if "subgroup" in labels:
                rec["subgroup"], rec["subgroup_level"] = str(labels["subgroup"]).split(": ", 1)
            if threshold is not None:
                rec["threshold"] = threshold
                rec["p_gt_threshold"] = (col > threshold).mean()
            out.append(rec)
        return out

    def _row_cells(self) -> dict[str, tuple[str, str]]:
        """``{"site: arm": (site, arm)}`` for the labels of the ``row`` coordinate."""
        rows = self.config["rows"]
        return {f"{s}: {a}": (s, a) for s, a in zip(rows["site"], rows["arm"], strict=True)}

    # ------------------------------------------------------------------ tables
    def effects(
        self,
        hdi_prob: float = HDI_PROB,
        threshold: float | None = None,
        scale: str = "outcome",
        level: str | Sequence[str] | None = None,
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
        level : str or sequence of str, optional
            Only these levels (``"site"``, ``"pooled"``, ``"new_site"``, ``"subgroup"``);
            default all.

        Returns
        -------
        pandas.DataFrame
            Columns ``level`` (``site``, ``pooled``, ``new_site``, ``subgroup``), ``site``,
            ``component``, ``arm``, ``estimand`` (posterior variable), ``mean``, ``sd``,
            ``hdi_low``, ``hdi_high``, ``p_positive`` (and ``threshold``,
            ``p_gt_threshold``). Site-level component effects are listed only where the
            site ran an arm containing the component. A model with subgroups adds rows of
            level ``subgroup`` with columns ``subgroup`` (the variable) and
            ``subgroup_level``: per site (``site`` set) and pooled over sites (``site``
            empty). Rows resting on a cell of fewer than ``min_cell`` persons are left out
            (disclosure control); ``attrs["suppressed"]`` says which.
        """
        cfg = self.config
        levels = self._check_levels(level)
        observed = {
            (s, c)
            for s, a in zip(cfg["rows"]["site"], cfg["rows"]["arm"], strict=True)
            for c in cfg["arm_components"][a]
        }
        ran = set(zip(cfg["rows"]["site"], cfg["rows"]["arm"], strict=True))
        rows = []
        for estimand, level_, dims in self._ESTIMANDS:
            if level_ not in levels:
                continue
            mask = None
            if estimand in ("beta", "beta_sub"):

                def mask(lab):
                    return (lab["site"], lab["component"]) in observed

            elif estimand == "theta_sub":

                def mask(lab):
                    return (lab["site"], lab["arm"]) in ran

            found = self._rows(
                estimand,
                level_,
                dims,
                hdi_prob,
                threshold,
                mask=mask,
                var=self._variable(estimand, scale),
            )
            rows += found
        df = pd.DataFrame.from_records(rows)
        return self._annotate(df, hdi_prob, scale)

    def _annotate(self, df: pd.DataFrame, hdi_prob: float, scale: str) -> pd.DataFrame:
        """Attach the interval mass, scale, caption and disclosure notes to a table."""
        df.attrs["hdi_prob"] = hdi_prob
        df.attrs["scale"] = self._scale_name(scale)
        if self.note:
            df.attrs["note"] = self.note
        disclosure = self.config.get("disclosure")
        if disclosure:
            df.attrs["min_cell"] = disclosure["min_cell"]
            df.attrs["suppressed"] = list(disclosure["suppressed"])
        return df

    def _check_levels(self, level) -> tuple[str, ...]:
        if level is None:
            return self.LEVELS
        levels = (level,) if isinstance(level, str) else tuple(level)
        bad = [v for v in levels if v not in self.LEVELS]
        if bad:
            raise DataError(f"level={bad!r} is not allowed; use any of {self.LEVELS}.")
        if "subgroup" in levels and not self.config.get("subgroups"):
            raise PwbayesError(
                "level='subgroup' needs a model with subgroups: PersonModel(..., "
                "subgroups=['basic_qualification', ...])."
            )
        return levels

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
        sub = self.config.get("subgroups")
        if not sub:
            self._check_levels("subgroup")
        levels = sub["levels"]
        refs = {v: lev[0] for v, lev in levels.items()}
        if isinstance(reference, str):
            refs = dict.fromkeys(levels, reference)
        elif reference is not None:
            unknown = sorted(set(reference) - set(levels))
            if unknown:
                raise DataError(f"reference names unknown subgroup(s) {unknown}; {list(levels)}.")
            refs.update({k: str(v) for k, v in reference.items()})
        for var, ref in refs.items():
            if ref not in levels[var]:
                raise DataError(
                    f"reference={ref!r} is not a level of {var!r}; levels: {levels[var]}."
                )
        cfg = self.config
        ran = set(zip(cfg["rows"]["site"], cfg["rows"]["arm"], strict=True))
        observed = {(s, c) for s, a in ran for c in cfg["arm_components"][a]}
        records = []
        for estimand, key, level in (
            ("mu_sub", "component", "pooled"),
            ("mu_arm_sub", "arm", "pooled"),
            ("beta_sub", "component", "site"),
            ("theta_sub", "arm", "site"),
        ):
            da = self._draws(self._variable(estimand, scale))
            sites = [None] if level == "pooled" else list(da.coords["site"].values)
            for site in sites:
                here = da if site is None else da.sel(site=site)
                for name in here.coords[key].values:
                    pair = (site, name)
                    if site is not None and pair not in (observed if key == "component" else ran):
                        continue
                    values = here.sel({key: name})
                    for var, ref in refs.items():
                        base = values.sel(subgroup=f"{var}: {ref}").values
                        for lev in levels[var]:
                            if lev == ref:
                                continue
                            diff = values.sel(subgroup=f"{var}: {lev}").values - base
                            if np.isnan(diff).all():
                                continue
                            low, high = hdi(diff, hdi_prob)
                            records.append(
                                {
                                    "level": level,
                                    "site": site,
                                    "component": name if key == "component" else None,
                                    "arm": name if key == "arm" else None,
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
        return self._annotate(pd.DataFrame.from_records(records), hdi_prob, scale)

    def plot_subgroups(self, raw: pd.DataFrame | None = None, **kwargs):
        """Subgroup forest plot; see :func:`pwbayes.plots.subgroups.plot_subgroups`."""
        from .plots.subgroups import plot_subgroups

        return plot_subgroups(self, raw, **kwargs)

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
