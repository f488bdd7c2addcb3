"""A person model for leave-one-site-out and prior refits: a site held out, dropped, or new priors.

:func:`held_out` keeps the graph and zeroes a site's counts (and its whitening block), so
the refit reuses the compiled sampler; :func:`without_site` makes the model again from its
inputs without the site's persons (a graph of its own).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...data.checks import site_labels
from ...errors import DataError

if TYPE_CHECKING:
    from . import PersonModel

__all__ = ["can_hold_out", "held_out", "with_priors", "without_site"]


def can_hold_out(family: str, likelihood: str | None) -> bool:
    """Whether a person model of this family and likelihood can hold a site out.

    A binary outcome with the exact likelihood: its counts are data. Otherwise a site is
    dropped (:func:`without_site`) and the refit compiles a graph of its own.
    """
    return family == "bernoulli" and likelihood == "exact"


def held_out(model: PersonModel, site: str) -> PersonModel:
    """Return the model with ``site``'s persons held out of the likelihood (same graph).

    The site's likelihood rows keep their place with zero events and trials, so they add
    nothing; its whitening block becomes the identity (non-centred: the site has no data),
    so its effects are drawn from the hierarchy given the other sites. The graph's structure
    is unchanged, so a fit reuses the compiled sampler. Binary outcomes, exact likelihood.

    Parameters
    ----------
    model : PersonModel
    site : str
        One of its sites (holding it out twice is holding it out once).

    Returns
    -------
    PersonModel
        A copy; ``held_out_sites`` names the sites held out.
    """
    if site not in model.data.sites:
        raise DataError(f"held_out({site!r}): not a site; sites: {model.data.sites}.")
    if not can_hold_out(model.family, model.likelihood):
        raise DataError(
            "holding a site out of the likelihood needs a binary outcome and the exact "
            f"likelihood (this model: {model.family!r}, {model.likelihood!r}); use "
            "without_site, which drops the site's persons."
        )
    m = model.data.sites.index(site)
    out = copy.copy(model)
    rows = model.cells
    keep = rows.site_index != m
    out.cells = dataclasses.replace(rows, k=rows.k * keep, n=rows.n * keep)
    if model.whitening is not None:
        blocks = model.whitening.blocks.copy()
        blocks[m] = 0.0
        out.whitening = dataclasses.replace(model.whitening, blocks=blocks)
    out.held_out_sites = tuple(dict.fromkeys((*model.held_out_sites, site)))
    out._model = None
    return out


def without_site(model: PersonModel, site: str) -> PersonModel:
    """Return the model with ``site``'s persons left out (same options and priors).

    Unlike the summary model's :meth:`~pwbayes.SummaryModel.leave_out`, the site is dropped
    from the data, so the refit compiles a graph of its own. Binned subgroup variables keep
    the full model's bins (not the quantiles of the other sites), so that the held-out
    site's persons keep their levels.
    """
    from . import PersonModel

    if site not in model.data.sites:
        raise DataError(f"without_site({site!r}): not a site; sites: {model.data.sites}.")
    if model.held_out_sites:
        raise DataError(
            f"without_site({site!r}) on a model with sites held out of its likelihood "
            f"({list(model.held_out_sites)}): drop the site from the full model instead."
        )
    if len(model.data.sites) < 3:
        raise DataError("leaving a site out needs at least three sites (two remain to pool).")
    arguments = dict(model._arguments)
    data = arguments.pop("data")
    labels = site_labels(data[arguments["site"]], arguments["site"])
    comparison = arguments.get("comparison")
    if isinstance(comparison, Mapping):
        arguments["comparison"] = {k: v for k, v in comparison.items() if str(k) != site}
    if model.subgroup_layout is not None:
        arguments["subgroup_bins"] = _bins_in_use(model)
    out = PersonModel(data[(labels != site).to_numpy()], **arguments)
    expected = int((model.data.site_index != model.data.sites.index(site)).sum())
    if len(out.data.y) != expected:
        raise DataError(
            "the data frame this model was made from has changed since (the rows of the other "
            "sites differ): make the model again from the data, fit it, then leave sites out."
        )
    return out


def _bins_in_use(model: PersonModel) -> dict[str, list[float]] | None:
    """Return the exact edges of every binned subgroup variable (not the labels' rounding)."""
    edges = {var: [float(e) for e in cut] for var, cut in model._subgroup_edges.items()}
    return edges or None


def with_priors(model: PersonModel, priors: Mapping) -> PersonModel:
    """Return the model with ``priors`` replacing its own (``"tau"`` replaces ``"tau[...]"``)."""
    from . import PersonModel

    arguments = dict(model._arguments)
    own = arguments.get("priors") or {}
    replaced = {str(k).split("[")[0] for k in priors}
    merged = {k: v for k, v in own.items() if str(k).split("[")[0] not in replaced}
    merged.update(priors)
    arguments["priors"] = merged
    out = PersonModel(arguments.pop("data"), **arguments)
    for site in model.held_out_sites:  # a held-out model stays held out
        out = held_out(out, site)
    return out
