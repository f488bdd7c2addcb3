"""Site-level moderators of a fit: effects, share of tau explained, prediction.

Both models hold ``beta_{m,c} = mu_c + sum_j g_{c,j} x_{m,j} + tau_c z_{m,c}`` with the
moderators ``x`` standardised over the fitted sites (``record.model.moderators`` keeps their
raw values; the person model's effects are on its scale, log-odds if binary). The share of
the between-site variance of component ``c`` that the moderators explain is, draw by draw
(Gelman & Pardoe 2006, the group level's R²), ``V_c / (V_c + tau_c^2)`` with ``V_c`` the
variance over the sites that ran ``c`` of ``sum_j g_{c,j} x_{m,j}``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from ..data.moderators import Moderators
from ..errors import DataError
from ..intervals import HDI_PROB, hdi
from ..record import ModelRecord

__all__ = ["moderator_shift", "moderator_table", "new_site_draws", "standardised"]


def standardised(
    record: ModelRecord, order: list[str] | None = None
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Moderator names, standardised values (site x moderator), centre and scale.

    ``order``: the names in the order of the posterior's ``moderator`` coordinate (a record
    written by an earlier pwbayes may hold them sorted).
    """
    mods = record.moderators
    if not mods:
        return [], np.zeros((len(record.sites), 0)), np.zeros(0), np.ones(0)
    if order is not None:
        mods = {name: mods[name] for name in order}
    # standardised as the model did (one piece of code for both)
    m = Moderators.of_values(list(mods), np.column_stack([np.asarray(v) for v in mods.values()]))
    return m.names, m.standardised, m.center, m.scale


def moderator_table(post: xr.Dataset, record: ModelRecord, hdi_prob: float = HDI_PROB):
    """Effects of the moderators per component, and the share of tau they explain.

    Returns
    -------
    tuple of pandas.DataFrame
        ``effects``: ``component, moderator, per_sd_mean, per_sd_low, per_sd_high,
        per_unit_mean, per_unit_low, per_unit_high, p_positive``; ``explained``:
        ``component, share_mean, share_low, share_high, prior_share_mean, sites`` (NaN for
        a component seen in one site). A component whose draws disclosure control emptied
        has no effect rows and a NaN share. ``prior_share_mean`` is what the priors alone
        imply: with few sites, moderators "explain" much of the variance by chance.
    """
    if not record.moderators or "moderator_effect" not in post:
        raise DataError(
            "This fit has no site-level moderators; fit the model with moderators=[...]."
        )
    names, x, _, scale = standardised(record, _order(post))
    g = post["moderator_effect"].stack(sample=("chain", "draw")).transpose("sample", ...)
    tau = post["tau"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    comps = list(g.coords["component"].values)
    rows, shares = [], []
    ran = {c: sorted({record.sites.index(r.site) for r in record.rows
                      if c in record.arm_components[r.arm]}) for c in comps}  # fmt: skip
    for k, comp in enumerate(comps):
        per_sd = g.values[:, k, :]
        emptied = bool(np.isnan(per_sd).any() or np.isnan(tau[:, k]).any())
        if emptied:  # disclosure control emptied them (small cells): left out, not guessed
            shares.append((comp, np.nan, np.nan, np.nan, np.nan, len(ran[comp])))
            continue
        low, high = hdi(per_sd, hdi_prob)
        ulow, uhigh = hdi(per_sd / scale, hdi_prob)
        for j, name in enumerate(names):
            rows.append((comp, name, per_sd[:, j].mean(), low[j], high[j],
                         (per_sd[:, j] / scale[j]).mean(), ulow[j], uhigh[j],
                         (per_sd[:, j] > 0).mean()))  # fmt: skip
        sites = ran[comp]
        if len(sites) < 2:  # one site: there are no differences to explain
            shares.append((comp, np.nan, np.nan, np.nan, np.nan, len(sites)))
            continue
        v = (x[sites] @ per_sd.T).var(axis=0)  # over the sites, per draw
        share = v / (v + tau[:, k] ** 2)
        s_low, s_high = hdi(share[:, None], hdi_prob)
        prior = _prior_share(record, comp, x[sites])
        shares.append((comp, share.mean(), s_low[0], s_high[0], prior, len(sites)))
    effects = pd.DataFrame(rows, columns=["component", "moderator", "per_sd_mean", "per_sd_low",
                                          "per_sd_high", "per_unit_mean", "per_unit_low",
                                          "per_unit_high", "p_positive"])  # fmt: skip
    names_ = ["component", "share_mean", "share_low", "share_high", "prior_share_mean", "sites"]
    explained = pd.DataFrame(shares, columns=names_)
    return effects, explained


def new_site_draws(
    post: xr.Dataset,
    record: ModelRecord,
    moderators: Mapping[str, float] | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws of a new site's component and arm effects (sample x component, sample x arm).

    ``moderators`` gives the new site's raw moderator values (all of the model's); None:
    the average of the fitted sites.
    """
    mu = post["mu"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    tau = post["tau"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    effect = mu + tau * rng.standard_normal(mu.shape) + moderator_shift(post, record, moderators)
    design = np.array(record.design(), dtype=float).reshape(len(record.arms), -1)
    arms = effect @ design.T
    if "interaction" in post:
        inter = post["interaction"].stack(sample=("chain", "draw")).transpose("sample", ...)
        for j, arm in enumerate(record.arms):
            if arm in list(inter.coords["combined_arm"].values):
                arms[:, j] += inter.sel(combined_arm=arm).values
    return effect, arms


def moderator_shift(
    post: xr.Dataset, record: ModelRecord, moderators: Mapping[str, float] | None
) -> np.ndarray | float:
    """Draws of the moderators' part of a new site's effects (sample x component), or 0.

    ``moderators``: the new site's raw value of each of the model's moderators; None, the
    fitted sites' average (where their part is zero).
    """
    names, _, center, scale = standardised(record, _order(post))
    if moderators is not None and not isinstance(moderators, Mapping):
        raise DataError(f"moderators={moderators!r}: give a dict of moderator -> value.")
    given = dict(moderators or {})
    if given and not names:
        raise DataError(
            f"moderators={given!r}: this fit has no site-level moderators; leave them out."
        )
    if given and set(given) != set(names):
        raise DataError(
            f"moderators={given!r}: give a value for each of the model's moderators "
            f"{names} (and nothing else); a two-level text moderator is its indicator, e.g. "
            "{'randomisation=before_enrolment': 1}."
        )
    if not given:
        return 0.0
    bad = {k: v for k, v in given.items() if not _finite(v)}
    if bad:
        raise DataError(f"moderators {bad!r}: values must be finite numbers.")
    x = (np.array([given[n] for n in names], dtype=float) - center) / scale
    g = post["moderator_effect"].stack(sample=("chain", "draw")).transpose("sample", ...)
    return g.values @ x


def _order(post: xr.Dataset) -> list[str] | None:
    """Return the moderators in the posterior's order (None: the fit has none)."""
    if "moderator_effect" not in post:
        return None
    return [str(v) for v in post["moderator_effect"].coords["moderator"].values]


def _finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return bool(np.isfinite(value))


def _prior_share(record: ModelRecord, comp: str, x: np.ndarray, draws: int = 4000) -> float:
    """Mean share of the between-site variance explained under the priors alone."""
    from ..priors import Prior

    priors = record.priors
    rng = np.random.default_rng(0)  # a property of the priors: the same figure every time
    g = Prior.from_value(priors.get(f"moderator[{comp}]", priors["moderator"]))
    tau = Prior.from_value(priors.get(f"tau[{comp}]", priors["tau"]))
    v = (x @ g.draws((x.shape[1], draws), rng)).var(axis=0)
    return float(np.mean(v / (v + tau.draws(draws, rng) ** 2)))
