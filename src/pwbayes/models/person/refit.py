"""A person model made again from its inputs: without one site (leave-one-site-out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pandas.api.types import is_bool_dtype, is_numeric_dtype

from ...data.checks import site_labels
from ...data.subgroups import interval_edges
from ...errors import DataError

if TYPE_CHECKING:
    from . import PersonModel

__all__ = ["with_priors", "without_site"]


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
    """Return the edges of every binned subgroup variable, read from its level labels."""
    assert model.subgroup_layout is not None
    data = model._arguments["data"]
    bins = {}
    for var, levels in model.subgroup_layout.levels.items():
        edges = interval_edges(levels)
        numeric = is_numeric_dtype(data[var]) and not is_bool_dtype(data[var])
        if edges is not None and numeric:
            bins[var] = [float(e) for e in edges]
    return bins or None


def with_priors(model: PersonModel, priors: Mapping) -> PersonModel:
    """Return the model with ``priors`` replacing its own (``"tau"`` replaces ``"tau[...]"``)."""
    from . import PersonModel

    arguments = dict(model._arguments)
    own = arguments.get("priors") or {}
    replaced = {str(k).split("[")[0] for k in priors}
    merged = {k: v for k, v in own.items() if str(k).split("[")[0] not in replaced}
    merged.update(priors)
    arguments["priors"] = merged
    return PersonModel(arguments.pop("data"), **arguments)
