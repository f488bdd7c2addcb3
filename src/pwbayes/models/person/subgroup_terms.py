"""Subgroup terms of the person-level model ("what works for whom").

Each component's effect gains a term per level of each subgroup variable::

    beta_{m,c} + delta_{c,v,l[i]} (+ delta_site_{m,c,v,l[i]})   for person i in site m
    delta_{c,v,.} = tau_sub_c * z,   z ~ ZeroSumNormal(1)   over the levels of v
    delta_site_{m,c,v,.} = tau_sub_site_c * z_m,   z_m ~ ZeroSumNormal(1)

The terms sum to zero over the levels of each variable, so ``beta`` and ``mu`` stay the
effect averaged over the levels and the terms are identified by the data alone. Their
between-level SD ``tau_sub`` is estimated per component (HalfNormal prior), from the
levels of all subgroup variables together, and shrinks the level differences towards zero
when the data do not support them: ten subgroups do not make ten false discoveries. (One
SD per component and variable was tried first: with a two-level variable it rests on a
single difference, and its chains mixed badly, bulk ESS 78 of 4,000 draws.)
Rows are grouped by their combination of levels, so the likelihood keeps
one linear predictor per site x arm x combination cell.

After sampling, :mod:`pwbayes.postprocess.subgroups` adds the effects per level on the
model's scale and, for binary outcomes, in percentage points by g-computation over the
participants of each level.
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from ...data.subgroups import SubgroupLayout
from ...priors import ResolvedPriors

__all__ = ["subgroup_terms"]


def subgroup_terms(
    layout: SubgroupLayout, priors: ResolvedPriors, components: list[str], by_site: bool
):
    """Create the subgroup terms inside a model; return their sum per combination.

    The model's coordinates must hold ``component``, ``site``, ``subgroup``,
    and ``<variable>_level`` for each variable.

    Returns
    -------
    (per_group, per_site_group)
        ``(component, combination)`` tensor, and ``(site, component, combination)`` or
        ``None`` without ``by_site``.
    """
    select = layout.selector().T  # (levels, combinations)
    tau_sub = _sd_rv("tau_sub", priors, components)
    delta = pm.Deterministic(
        "delta",
        _zero_sum_terms("z_sub", layout, tau_sub, ("component",)),
        dims=("component", "subgroup"),
    )
    per_group = pt.dot(delta, select)
    if not by_site:
        return per_group, None
    tau_site = _sd_rv("tau_sub_site", priors, components)
    delta_site = pm.Deterministic(
        "delta_site",
        _zero_sum_terms("z_sub_site", layout, tau_site[None], ("site", "component")),
        dims=("site", "component", "subgroup"),
    )
    return per_group, pt.tensordot(delta_site, select, axes=[[2], [0]])


def _sd_rv(name: str, priors: ResolvedPriors, components: list[str]):
    """Per-component SDs with the prior of ``name``, as a ``(component, 1)`` column.

    The prior's parameters are data (a model with other values reuses the compiled sampler).
    """
    dist, params = priors.params(name, components)
    data = {k: pm.Data(f"{name}_prior_{k}", v) for k, v in params.items()}
    return getattr(pm, dist)(name, **data, dims="component")[:, None]


def _zero_sum_terms(name: str, layout: SubgroupLayout, sd, lead_dims: tuple[str, ...]):
    """Non-centred zero-sum terms of every variable, concatenated along ``subgroup``."""
    parts = []
    for var in layout.variables:
        z = pm.ZeroSumNormal(f"{name}_{var}", sigma=1.0, dims=(*lead_dims, f"{var}_level"))
        parts.append(sd * z)
    return pt.concatenate(parts, axis=-1)
