"""What every result offers: the posterior, its record, the effects table, save.

A result holds what passed the disclosure gate (:mod:`pwbayes.postprocess.disclosure`):
every table here is made from it, and leaves out what the gate emptied. Nothing here
samples; plots are imported when asked for.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, PwbayesError
from ..intervals import HDI_PROB, check_interval, hdi
from ..record import Diagnostics, FitRecord
from .io import save_result
from .moderation import moderator_table
from .reference import common_effect

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ResultBase"]

#: Columns of the effects table (then ``threshold, p_gt_threshold`` and, with subgroups,
#: ``subgroup, subgroup_level``).
COLUMNS = ["level", "site", "component", "arm", "estimand", "mean", "sd", "hdi_low",
           "hdi_high", "p_positive"]  # fmt: skip

#: Estimands of the effects table, in order: (estimand, level, dims).
ESTIMANDS = (
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


def _masked_nan(record: logging.LogRecord) -> bool:
    """Drop ArviZ's note on NaN entries (see :meth:`ResultBase.summary`)."""
    return "Array contains NaN-value" not in record.getMessage()


class ResultBase:
    """The posterior of a fit, with its :class:`~pwbayes.record.FitRecord`.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior (``mu``, ``tau``, ``beta``, ``theta``, ``theta_new``, ``mu_arm``,
        ``theta_new_arm``...), sample stats, the site x arm estimates (``observed_data``)
        and standard errors (``constant_data``), past disclosure control.
    record : FitRecord
        What the model was, how it was sampled, checked and disclosed.
    """

    #: Values of the ``level`` column of :meth:`effects`.
    LEVELS = ("site", "pooled", "new_site", "subgroup")

    def __init__(self, idata: az.InferenceData, record: FitRecord):
        self.idata = idata
        self.record = record

    # ------------------------------------------------------------------ basics
    @property
    def priors(self) -> dict[str, str]:
        """The priors the fit used."""
        return self.record.model.prior_table

    @property
    def diagnostics(self) -> Diagnostics:
        """R-hat, ESS and divergences checked after the fit."""
        return self.record.diagnostics

    @property
    def note(self) -> str | None:
        """Caption of the data (e.g. that the example is SYNTHETIC)."""
        return self.record.model.note

    def __repr__(self) -> str:
        d, m = self.diagnostics, self.record.model
        status = "ok" if not d.problems else f"{len(d.problems)} problem(s)"
        return (
            f"{type(self).__name__}(pooling={m.pooling!r}, sites={len(m.sites)}, "
            f"components={list(m.components)}, chains={d.chains}, draws={d.draws}, "
            f"diagnostics={status})"
        )

    def _draws(self, name: str) -> xr.DataArray:
        return self.idata.posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...)

    def _variable(self, estimand: str, scale: str) -> str:
        """Posterior variable holding ``estimand`` on ``scale``."""
        if scale not in ("outcome", "model"):
            raise DataError(f"scale={scale!r} is not allowed; use 'outcome' or 'model'.")
        return estimand

    def _scale_name(self, scale: str) -> str:
        return self.record.model.scale

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
        levels = self._check_levels(level)
        hdi_prob = check_interval(hdi_prob)
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
        ):
            raise DataError(
                f"threshold={threshold!r} must be a finite number on the effects' scale "
                f"({self._scale_name(scale)}), e.g. 2.0, or None."
            )
        m = self.record.model
        ran = {(r.site, r.arm) for r in m.rows}
        observed = {(s, c) for s, a in ran for c in m.arm_components[a]}
        masks = {
            "beta": lambda lab: (lab["site"], lab["component"]) in observed,
            "beta_sub": lambda lab: (lab["site"], lab["component"]) in observed,
            "theta_sub": lambda lab: (lab["site"], lab["arm"]) in ran,
        }
        rows = []
        for estimand, level_, dims in ESTIMANDS:
            if level_ in levels:
                var = self._variable(estimand, scale)
                rows += self._rows(
                    estimand, level_, dims, hdi_prob, threshold, masks.get(estimand), var
                )
        columns = COLUMNS + (["threshold", "p_gt_threshold"] if threshold is not None else [])
        if "subgroup" in levels and self.record.model.subgroups is not None:
            columns += ["subgroup", "subgroup_level"]
        return self._annotate(pd.DataFrame.from_records(rows, columns=columns), hdi_prob, scale)

    def _rows(self, name, level, key_dims, hdi_prob, threshold, mask, var) -> list[dict]:
        if var not in self.idata.posterior:
            return []
        da = self._draws(var)
        flat = da.values.reshape(da.shape[0], -1)
        low, high = hdi(flat, hdi_prob)
        index = pd.MultiIndex.from_product([da.coords[d].values for d in key_dims])
        cells = {r.label: (r.site, r.arm) for r in self.record.model.rows}
        out = []
        for j, key in enumerate(index):
            labels = dict(zip(key_dims, key, strict=True))
            col = flat[:, j]
            if (mask is not None and not mask(labels)) or np.isnan(col).all():
                continue  # not run there, or suppressed (disclosure control)
            rec: dict[str, Any] = {
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
            if "row" in labels:  # a site x arm row: "site: arm"
                rec["site"], rec["arm"] = cells[labels["row"]]
            if "subgroup" in labels:
                rec["subgroup"], rec["subgroup_level"] = str(labels["subgroup"]).split(": ", 1)
            if threshold is not None:
                rec["threshold"] = threshold
                rec["p_gt_threshold"] = (col > threshold).mean()
            out.append(rec)
        return out

    def _annotate(self, df: pd.DataFrame, hdi_prob: float, scale: str) -> pd.DataFrame:
        """Attach the interval mass, scale, caption and disclosure notes to a table."""
        df.attrs["hdi_prob"] = hdi_prob
        df.attrs["scale"] = self._scale_name(scale)
        if self.note:
            df.attrs["note"] = self.note
        if self.record.model.weak_tau:
            df.attrs["tau_rests_on_prior"] = dict(self.record.model.weak_tau)
        disclosure = self.record.disclosure
        if disclosure is not None:
            df.attrs["min_cell"] = disclosure.min_cell
            df.attrs["suppressed"] = list(disclosure.suppressed)
        return df

    def _new_site_table(self, comps: np.ndarray, arms: np.ndarray, hdi_prob: float):
        """Table of a new site's effect draws (component rows, then arm rows), annotated.

        Columns emptied by disclosure control (NaN draws) are left out.
        """
        m = self.record.model
        rows = []
        for draws, labels, key in ((comps, m.components, "component"), (arms, m.arms, "arm")):
            hidden = np.isnan(draws).any(axis=0)
            low, high = hdi(np.where(hidden, 0.0, draws), hdi_prob)
            for j, label in enumerate(labels):
                col = draws[:, j]
                if hidden[j]:
                    continue
                rows.append({"component": label if key == "component" else None,
                             "arm": label if key == "arm" else None, "mean": col.mean(),
                             "sd": col.std(ddof=1), "hdi_low": low[j], "hdi_high": high[j],
                             "p_positive": (col > 0).mean()})  # fmt: skip
        return self._annotate(pd.DataFrame(rows), hdi_prob, "outcome")

    def _check_levels(self, level) -> tuple[str, ...]:
        if level is None:
            return self.LEVELS
        levels = (level,) if isinstance(level, str) else tuple(level)
        bad = [v for v in levels if v not in self.LEVELS]
        if bad:
            raise DataError(f"level={bad!r} is not allowed; use any of {self.LEVELS}.")
        if "subgroup" in levels and self.record.model.subgroups is None:
            raise PwbayesError(
                "level='subgroup' needs a model with subgroups: PersonModel(..., "
                "subgroups=['basic_qualification', ...])."
            )
        return levels

    def heterogeneity(self, hdi_prob: float = HDI_PROB) -> pd.DataFrame:
        """Between-site SD ``tau`` of each component (empty unless ``pooling="partial"``).

        Returns
        -------
        pandas.DataFrame
            Columns ``component, mean, sd, median, hdi_low, hdi_high``; components whose
            ``tau`` disclosure control emptied are left out.
        """
        columns = ["component", "mean", "sd", "median", "hdi_low", "hdi_high"]
        if "tau" not in self.idata.posterior:
            return pd.DataFrame(columns=columns)
        da = self._draws("tau")
        keep = ~np.isnan(da.values).all(axis=0)
        values = da.values[:, keep]
        low, high = hdi(values, hdi_prob) if keep.any() else (values[0], values[0])
        table = pd.DataFrame(
            {
                "component": da.coords["component"].values[keep],
                "mean": values.mean(0),
                "sd": values.std(0, ddof=1),
                "median": np.median(values, 0),
                "hdi_low": low,
                "hdi_high": high,
            },
            columns=columns,
        )
        return self._annotate(table, hdi_prob, "model")  # tau is on the model's scale

    def common_effect(self) -> pd.DataFrame:
        """Return the fully pooled (common-effect) reference per arm, exact (:mod:`.reference`)."""
        return common_effect(self.record.model)

    def summary(self, var_names: Sequence[str] = ("mu", "tau", "beta", "theta")) -> pd.DataFrame:
        """ArviZ summary (mean, sd, 90% HDI, MCSE, ESS, R-hat) of the named variables.

        Entries that disclosure control emptied are left out.
        """
        names = [v for v in var_names if v in self.idata.posterior]
        # ArviZ logs "Array contains NaN-value." for the entries disclosure control
        # emptied; they are dropped from the table, so that message would only mislead
        log = logging.getLogger("arviz")
        log.addFilter(_masked_nan)
        try:
            table = az.summary(self.idata, var_names=names, hdi_prob=HDI_PROB)
        finally:
            log.removeFilter(_masked_nan)
        return table[table["mean"].notna()]

    # ------------------------------------------------------------------ plots
    def plot_forest(self, **kwargs: Any) -> Figure:
        """Forest plot per arm: each site alone, partially pooled, fully pooled.

        See :func:`pwbayes.plots.forest.plot_forest` for the options.
        """
        from ..plots.forest import plot_forest

        return plot_forest(self, **kwargs)

    # ------------------------------------------------------------------ persistence
    def moderator_effects(self, hdi_prob: float = HDI_PROB) -> pd.DataFrame:
        """Effects of the site-level moderators per component (meta-regression).

        Returns
        -------
        pandas.DataFrame
            ``component, moderator``, the change in the component's effect (on the model's
            scale, ``attrs["scale"]``: log-odds for a binary person-level outcome) per SD of the
            moderator over the sites (``per_sd_*``) and per unit (``per_unit_*``: for an
            indicator, having it), ``p_positive``. ``attrs["explained"]``: per component
            the share of its between-site variance that the moderators explain
            (``share_mean, share_low, share_high``) and the number of sites that ran it.
        """
        hdi_prob = check_interval(hdi_prob)
        effects, explained = moderator_table(self.idata.posterior, self.record.model, hdi_prob)
        # on the model's scale (log-odds for a binary person-level outcome)
        effects = self._annotate(effects, hdi_prob, "model")
        effects.attrs["explained"] = explained.to_dict("records")
        return effects

    def plot_moderators(self, title: str | None = None) -> Figure:
        """Plot the moderator effects per component, with the share of tau they explain."""
        from ..plots.moderators import plot_moderators

        return plot_moderators(self, title=title)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the posterior and its record to one NetCDF file.

        The file holds what passed disclosure control: the posterior, sample stats, the
        site x arm estimates and standard errors (not person-level) and the record. Read
        it back with :func:`pwbayes.load_result`.

        Parameters
        ----------
        path : str or Path
            Target file, conventionally ``*.nc``; its folder must exist.
        overwrite : bool
            Replace an existing file (default: refuse).

        Returns
        -------
        Path
        """
        return save_result(self.idata, self.record, path, overwrite)
