"""Summary-level hierarchical model: pooling site x arm effect estimates.

::

    y_k ~ Normal(theta_k + b_{m[k]} * suspect_k, s_k)
    theta_k = sum_c x_{a[k],c} beta_{m[k],c} (+ interaction_{a[k]} for combined arms)
    beta_{m,c} = mu_c + tau_c z_{m,c},  z ~ Normal(0, 1)          (pooling="partial")
                 (+ sum_j gamma_{c,j} x_{m,j} with site-level moderators x, standardised)
    beta_{m,c} = mu_c                                              (pooling="full")
    beta_{m,c} ~ prior, independently                              (pooling="none")

The suspect-comparison bias ``b`` is shared by all flagged rows of one site,
because all arms of a site are compared with the same comparison group.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pymc as pm

from ..arms import ArmParser, default_parser
from ..data.moderators import Moderators, moderator_values, site_moderators
from ..data.validate import SummaryData, validate_summary
from ..errors import DataError
from ..priors import default_priors, resolve_priors
from ..record import ModelRecord, Row, SummarySection
from .base import ModelBase, check_sites, weak_tau
from .summary_graph import build_graph

if TYPE_CHECKING:
    from ..results import SummaryResult

__all__ = ["POOLING", "SummaryModel"]

POOLING = ("partial", "none", "full")


class SummaryModel(ModelBase):
    """Hierarchical model of effect estimates (one row per site x arm).

    Building the model validates the data and sets the priors; nothing is sampled
    until :meth:`fit`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per site x arm with an estimate and its standard error. Not modified.
    site, estimate, se : str
        Column names.
    arm : str, optional
        Column of arm labels (``"Zelf in Actie + Werken Loont"``); ``None`` treats the
        table as one component ``"effect"`` (classic meta-analysis, e.g. eight schools).
    pooling : {"partial", "none", "full"}
        Partial pooling (hierarchical), each site on its own, or one common effect.
    priors : mapping, optional
        Overrides of :attr:`priors`, e.g. ``{"tau": pw.Prior("HalfNormal", sigma=3)}``
        or ``{"mu[werken_loont]": pw.Prior("Normal", mu=2, sigma=2)}``.
    interactions : bool
        Add an effect per combined arm beyond the sum of its components, with the
        sceptical ``interaction`` prior.
    suspect : list of str or str, optional
        Sites whose comparison group is suspect (e.g. ``["Nijmegen", "Tilburg"]``,
        Box 2 of the report), or a boolean column flagging rows.
    suspect_action : {"bias", "exclude"}
        Give suspect rows a bias term per site (prior ``bias``), or leave them out.
    note : str, optional
        A caption repeated on plots and reports; defaults to ``data.attrs["note"]``
        (the bundled example says it is SYNTHETIC).
    unit : str, optional
        Unit of the estimates, for tables, plots and reports (``"percentage points"``,
        ``"SAT points"``); defaults to ``data.attrs["unit"]``, else "the outcome's scale".
    site_noun : str, optional
        What a site is (``"municipality"``, ``"school"``); defaults to
        ``data.attrs["site_noun"]``, else ``"site"``.
    parser : ArmParser, optional
        Arm-label parser; defaults to the package-wide one.
    moderators : list of str, optional
        Site-level columns (one value per site: the comparison group's level, randomisation
        before or after enrolment...) that may explain why effects differ between sites
        (meta-regression; ``pooling="partial"`` only). Standardised over the sites; each
        gets a coefficient per component with the ``moderator`` prior.
    """

    CHECKED = ("mu", "tau", "z", "beta", "theta", "interaction", "bias", "moderator_effect")

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        site: str,
        estimate: str,
        se: str,
        arm: str | None = None,
        pooling: str = "partial",
        priors: Mapping | None = None,
        interactions: bool = False,
        suspect: Sequence[str] | str | None = None,
        suspect_action: str = "bias",
        note: str | None = None,
        unit: str | None = None,
        site_noun: str | None = None,
        parser: ArmParser | None = None,
        moderators: Sequence[str] | None = None,
    ):
        if pooling not in POOLING:
            raise DataError(f"pooling={pooling!r} is not allowed; use one of {POOLING}.")
        self.parser = parser or default_parser()
        self.data: SummaryData = validate_summary(
            data,
            site=site,
            arm=arm,
            estimate=estimate,
            se=se,
            parser=self.parser,
            suspect=suspect,
            suspect_action=suspect_action,
        )
        self.pooling = pooling
        self.interactions = bool(interactions)
        self.suspect_action = suspect_action
        self.note = note if note is not None else data.attrs.get("note")
        self.unit = _text("unit", unit or data.attrs.get("unit") or "the outcome's scale")
        self.site_noun = _text("site_noun", site_noun or data.attrs.get("site_noun") or "site")
        self.combined_arms = [a for a in self.data.arms if len(self.data.arm_components[a]) > 1]
        self.bias_sites = (
            list(pd.unique(self.data.rows.loc[self.data.rows["suspect"], "site"]))
            if suspect_action == "bias"
            else []
        )
        used = {"partial": ["mu", "tau"], "full": ["mu"], "none": ["beta"]}[pooling]
        if self.interactions:
            if not self.combined_arms:
                raise DataError(
                    "interactions=True but no arm combines components; every arm is a single "
                    f"component ({self.data.arms}). Leave interactions off."
                )
            used.append("interaction")
        if self.bias_sites:
            used.append("bias")
        self.moderators: Moderators | None = None
        if moderators is not None:
            if pooling != "partial":
                raise DataError(
                    f"moderators need pooling='partial' (got {pooling!r}): they explain "
                    "the differences between sites that partial pooling models."
                )
            self.moderators = site_moderators(data, site, moderators, self.data.sites)
            used.append("moderator")
        self._priors = resolve_priors(
            priors, default_priors(self.data.rows["se"]), used, self.data.components
        )
        check_sites(len(self.data.sites), pooling == "partial", priors, self.site_noun)
        rows = self.data.rows
        self.weak_tau = {}
        if pooling == "partial":
            sites_with = {
                c: rows.loc[
                    [c in self.data.arm_components[a] for a in rows["arm"]], "site"
                ].nunique()
                for c in self.data.components
            }
            self.weak_tau = weak_tau(sites_with, self.site_noun)
        self._held_out = np.zeros(len(rows))  # 1: the row's likelihood is left out
        self._model = None

    def leave_out(self, site: str) -> SummaryModel:
        """Return this model with ``site``'s rows held out of the likelihood.

        The graph is the same (the mask is data), so the refit reuses the compiled sampler;
        the held-out site's effects are then its predictive from the other sites, and its
        rows stay in the result (``log_likelihood`` at them is the held-out density).

        Parameters
        ----------
        site : str
            One of the model's sites.

        Returns
        -------
        SummaryModel
        """
        if site not in self.data.sites:
            raise DataError(f"leave_out({site!r}): not a site; sites: {self.data.sites}.")
        if self.pooling != "partial":
            raise DataError(
                f"leave_out needs pooling='partial' (got {self.pooling!r}): without the "
                "hierarchy a held-out site has nothing to be predicted from."
            )
        out = copy.copy(self)
        out._held_out = (self.data.rows["site"] == site).to_numpy(dtype=float)
        out._model = None
        return out

    @property
    def held_out_sites(self) -> list[str]:
        """Return the sites whose rows are held out of the likelihood."""
        rows = self.data.rows
        return list(pd.unique(rows.loc[self._held_out > 0, "site"]))

    # ------------------------------------------------------------------ inspection
    @property
    def coords(self) -> dict[str, list[str]]:
        """Coordinates of the model's dims, with the real site, component and arm names."""
        coords = {
            "site": self.data.sites,
            "component": self.data.components,
            "arm": self.data.arms,
            "row": self.data.row_labels,
        }
        if self.interactions:
            coords["combined_arm"] = self.combined_arms
        if self.bias_sites:
            coords["bias_site"] = self.bias_sites
        if self.moderators is not None:
            coords["moderator"] = self.moderators.names
        return coords

    def __repr__(self) -> str:
        d = self.data
        lines = [
            f"SummaryModel(pooling={self.pooling!r}, interactions={self.interactions})",
            f"  {len(d.rows)} rows, {len(d.sites)} sites: {', '.join(d.sites)}",
            f"  components: {', '.join(d.components)}",
            f"  arms: {'; '.join(d.arms)}",
        ]
        if len(d.excluded):
            lines.append(f"  excluded (suspect comparison): {', '.join(_row_names(d.excluded))}")
        if self.bias_sites:
            lines.append(f"  bias term (suspect comparison): {', '.join(self.bias_sites)}")
        if self.moderators is not None:
            lines.append(f"  site-level moderators: {', '.join(self.moderators.names)}")
        lines += [f"  tau[{c}]: {why}" for c, why in self.weak_tau.items()]
        lines.append("  priors:")
        lines += [f"    {k} ~ {v!r}" for k, v in self.priors.items()]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def model_record(self) -> ModelRecord:
        """Describe the model: data layout, options and priors in force."""
        d = self.data
        return ModelRecord(
            kind="SummaryModel",
            note=self.note,
            columns=dict(d.columns),
            scale=self.unit,
            site_noun=self.site_noun,
            weak_tau=dict(self.weak_tau),
            pooling=self.pooling,
            sites=tuple(d.sites),
            components=tuple(d.components),
            component_labels={c: self.parser.components.get(c, c) for c in d.components},
            arms=tuple(d.arms),
            arm_components={a: tuple(c) for a, c in d.arm_components.items()},
            rows=_rows(d.rows),
            priors=self._priors.to_dict(),
            summary=SummarySection(
                interactions=self.interactions,
                suspect_action=self.suspect_action,
                suspect_rows=tuple(_row_names(d.rows[d.rows["suspect"]])),
                excluded_rows=_rows(d.excluded),
                bias_sites=tuple(self.bias_sites),
                held_out_sites=tuple(self.held_out_sites),
                moderators=moderator_values(self.moderators),
            ),
        )

    def _structure_parts(self) -> tuple:
        """Identify the graph up to the values of ``estimate`` and ``se``."""
        d = self.data
        return (
            self.pooling,
            self.interactions,
            sorted((k, tuple(v)) for k, v in self.coords.items()),
            # prior families only: their parameters are data (a refit with new values reuses
            # the compiled sampler)
            sorted((k, p.dist) for k, p in self._priors.base.items()),
            d.site_index.tobytes(),
            d.arm_index.tobytes(),
            d.design.tobytes(),
            d.rows["suspect"].to_numpy().tobytes(),
        )

    # ------------------------------------------------------------------ building
    def _build(self) -> pm.Model:
        return build_graph(
            self.data,
            self.coords,
            self._priors,
            pooling=self.pooling,
            combined_arms=self.combined_arms if self.interactions else None,
            bias_sites=self.bias_sites,
            held_out=self._held_out,
            moderators=self.moderators.standardised if self.moderators is not None else None,
        )

    def data_values(self) -> dict:
        """Return the values of the graph's ``pm.Data`` containers (swapped into a sampler).

        The estimates, their SEs, the held-out mask and the prior parameters: read from the
        graph itself, so that the list cannot drift from what :func:`build_graph` creates.
        """
        return {v.name: v.get_value() for v in self.model.data_vars}

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        draws: int = 2000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int | None = None,
        *,
        target_accept: float = 0.95,
        sampler: str = "auto",
        progress: bool | None = None,
    ) -> SummaryResult:
        """Sample the posterior.

        Parameters
        ----------
        draws, tune : int
            Kept draws and tuning steps per chain. 2000 draws x 4 chains give a bulk ESS
            above 1,000 for every ``mu`` and ``tau`` of the example in about a second.
        chains : int
            Number of chains (run on up to as many cores as the machine has).
        random_seed : int, optional
            Fixes the sampler and the new-site draws.
        target_accept : float
            NUTS target acceptance; 0.95 avoids divergences in small hierarchical models.
        sampler : {"auto", "nutpie", "pymc"}
            ``"auto"`` uses nutpie when installed (fast), else PyMC's NUTS.
        progress : bool, optional
            Progress bar; by default shown when writing to a terminal.

        Returns
        -------
        SummaryResult
            With ``.idata``, ``.record``, ``.effects()``, ``.plot_forest()``, ``.save()``;
            convergence problems are reported by one :class:`~pwbayes.ConvergenceWarning`.
        """
        return self._fit(  # type: ignore[return-value]
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            target_accept=target_accept,
            sampler=sampler,
            progress=progress,
        )


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{name}={value!r} must be a non-empty text, e.g. 'percentage points'.")
    return value.strip()


def _row_names(rows: pd.DataFrame) -> list[str]:
    return [f"{s}: {a}" for s, a in zip(rows["site"], rows["arm"], strict=True)]


def _rows(rows: pd.DataFrame) -> tuple[Row, ...]:
    return tuple(
        Row(str(s), str(a), float(y), float(se))
        for s, a, y, se in zip(rows["site"], rows["arm"], rows["estimate"], rows["se"], strict=True)
    )
