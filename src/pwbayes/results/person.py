"""The result of a :class:`~pwbayes.PersonModel` fit: effects on two scales, subgroups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data.subgroups import reference_levels
from ..intervals import HDI_PROB, hdi
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
        if scale == "model":
            return "log-odds" if self._binary else "points"
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
