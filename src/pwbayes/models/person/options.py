"""The person model's options: what is allowed, the default priors, the likelihood chosen.

Everything here is decided before any graph is built, from the validated data alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import logit

from ...data.disclosure import is_small
from ...data.moderators import Moderators, site_moderators
from ...data.person import PersonData
from ...errors import DataError
from ...priors import Prior, round_sig2
from . import glm

__all__ = [
    "COLLAPSE",
    "LIKELIHOODS",
    "PARAMETERIZATIONS",
    "check_options",
    "choose_likelihood",
    "default_priors",
    "moderators_of",
    "used_priors",
]

COLLAPSE = ("auto", True, False)
LIKELIHOODS = ("auto", "exact", "normal_approx")
PARAMETERIZATIONS = ("whitened", "noncentered", "centered")


def check_options(
    *,
    family: str,
    collapse: object,
    parameterization: str,
    likelihood: str,
    subgroups: Sequence[str],
    subgroups_by_site: object,
) -> None:
    """Refuse option values that are not allowed, naming the allowed ones."""
    if collapse not in COLLAPSE:
        raise DataError(f"collapse={collapse!r} is not allowed; use one of {COLLAPSE}.")
    if collapse is True and family != "bernoulli":
        raise DataError("collapse=True needs family='bernoulli'; scores are modelled per row.")
    if parameterization not in PARAMETERIZATIONS:
        raise DataError(
            f"parameterization={parameterization!r} is not allowed; use one of {PARAMETERIZATIONS}."
        )
    if likelihood not in LIKELIHOODS:
        raise DataError(f"likelihood={likelihood!r} is not allowed; use one of {LIKELIHOODS}.")
    if not isinstance(subgroups_by_site, bool):
        raise DataError(f"subgroups_by_site={subgroups_by_site!r} must be True or False.")
    if subgroups_by_site and not subgroups:
        raise DataError("subgroups_by_site=True needs subgroups=[...].")


def default_priors(data: PersonData, family: str, min_cell: int) -> dict[str, Prior]:
    """Weakly informative defaults on the model's scale (log-odds, or the score's units).

    A site-level moderator's effect per SD (``moderator``) has the scale of ``tau``: about
    as large as the between-site differences, so it is shrunk towards explaining nothing.

    For a binary outcome the intercepts are centred on the logit of the overall rate,
    rounded to two significant digits; when events or non-events number fewer than
    ``min_cell`` that centre would let their count be derived, so it is rounded to a whole
    number of log-odds instead.
    """
    y = data.y
    if family == "bernoulli":
        events = int(y.sum())
        p = float(np.clip(y.mean(), 0.01, 0.99))
        rare = is_small(min(events, len(y) - events), min_cell)
        centre = float(np.round(logit(p))) if rare else round_sig2(logit(p))
        return {
            "alpha_mu": Prior("Normal", mu=centre, sigma=1.5),
            "alpha_sd": Prior("HalfNormal", sigma=1.0),
            "gamma": Prior("Normal", mu=0.0, sigma=1.0),
            "mu": Prior("Normal", mu=0.0, sigma=1.0),
            "tau": Prior("HalfNormal", sigma=0.5),
            "tau_sub": Prior("HalfNormal", sigma=0.5),
            "tau_sub_site": Prior("HalfNormal", sigma=0.25),
            "moderator": Prior("Normal", mu=0.0, sigma=0.5),
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
        "moderator": Prior("Normal", mu=0.0, sigma=round_sig2(0.5 * s)),
        "sigma": Prior("HalfNormal", sigma=s),
    }


def used_priors(
    data: PersonData, family: str, likelihood: str, subgroups_by_site: bool, moderated: bool
) -> list[str]:
    """List the variables with a prior in a model of these options."""
    used = ["alpha_mu", "alpha_sd", "mu", "tau"] + (["moderator"] if moderated else [])
    if data.covariates:
        used.append("gamma")
    if data.subgroups:
        used += ["tau_sub", "tau_sub_site"] if subgroups_by_site else ["tau_sub"]
    if family == "normal" and likelihood == "exact":
        used.append("sigma")
    return used


def choose_likelihood(requested: str, data: PersonData, family: str, moderated: bool) -> str:
    """Resolve ``likelihood="auto"`` and check the others against the data."""
    if requested == "exact":
        return requested
    needs = ["subgroups"] * bool(data.subgroups) + ["moderators"] * moderated
    if needs:
        if requested == "normal_approx":
            raise DataError(
                f"likelihood='normal_approx' has no {' or '.join(needs)}; use "
                f"likelihood='exact' (or 'auto') with {' and '.join(needs)}."
            )
        return "exact"
    ok = glm.cells_reach(data, family, glm.AUTO_MIN_CELL)
    if requested == "auto":
        big = len(data.y) >= glm.AUTO_MIN_ROWS
        return "normal_approx" if big and ok else "exact"
    if not ok:
        warnings.warn(
            "likelihood='normal_approx' with a small cell: a site x group cell has fewer than "
            f"{glm.AUTO_MIN_CELL} events or non-events, and the normal approximation is "
            f"accurate when every cell has at least {glm.AUTO_MIN_CELL}. Consider "
            "likelihood='exact'.",
            UserWarning,
            stacklevel=4,
        )
    return requested


def units(family: str, unit, site_noun, attrs: Mapping) -> tuple[str, str]:
    """Return the unit of the effects and the noun of a site, checked."""
    if family == "bernoulli" and unit not in (None, "percentage points"):
        raise DataError(
            f"unit={unit!r}: effects on a binary outcome are in percentage points; unit is for "
            "family='normal'."
        )
    unit = unit or ("percentage points" if family == "bernoulli" else "points")
    noun = site_noun or attrs.get("site_noun") or "site"
    for name, value in (("unit", unit), ("site_noun", noun)):
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{name}={value!r} must be a non-empty text, e.g. 'municipality'.")
    return unit.strip(), noun.strip()


def subgroup_bins(bins: Mapping[str, int | Sequence[float]] | None, subgroups: Sequence[str]):
    """Split ``subgroup_bins`` into edges and quantile counts, as the record keeps them.

    Bins of a column that is not a subgroup are refused rather than ignored.
    """
    unused = sorted(set(bins or {}) - set(subgroups))
    if unused:
        raise DataError(
            f"subgroup_bins names column(s) {unused} that are not subgroups "
            f"(subgroups={list(subgroups)}); add them to subgroups or drop their bins."
        )
    edges = {
        k: tuple(float(e) for e in v) for k, v in (bins or {}).items() if not isinstance(v, int)
    }
    quantiles = {k: int(v) for k, v in (bins or {}).items() if isinstance(v, int)}
    return edges, quantiles


def moderators_of(
    data: pd.DataFrame,
    site: str,
    columns: Sequence[str] | None,
    site_data: pd.DataFrame | None,
    sites: Sequence[str],
) -> Moderators | None:
    """Return the site-level moderators, from ``site_data`` (a row per site) or the persons."""
    if columns is None:
        if site_data is not None:
            raise DataError(
                "site_data is given but moderators is not: name the site-level columns to use, "
                "e.g. moderators=['randomisation']."
            )
        return None
    if site_data is not None and not isinstance(site_data, pd.DataFrame):
        raise DataError(
            f"site_data={type(site_data).__name__}: give a DataFrame with one row per site."
        )
    if site_data is None:  # on the persons' rows: rows the model drops may lack them
        return site_moderators(data, site, columns, sites, skip_missing=True)
    return site_moderators(site_data, site, columns, sites)
