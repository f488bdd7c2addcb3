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

After sampling, :func:`subgroup_quantities` adds the effects per level on the model's
scale and, for binary outcomes, in percentage points by g-computation over the
participants of each level (:func:`._gcomp.group_shift_effects`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..data.person import PersonData
from ..priors import ResolvedPriors
from ._gcomp import group_shift_effects

__all__ = ["SubgroupLayout", "subgroup_quantities", "subgroup_terms"]


@dataclass(frozen=True)
class SubgroupLayout:
    """Subgroup variables, their levels and the combinations of levels.

    Attributes
    ----------
    levels : dict of str to list of str
        Levels of each variable, in order.
    """

    levels: dict[str, list[str]]

    @property
    def variables(self) -> list[str]:
        """Subgroup variables, in order."""
        return list(self.levels)

    @property
    def labels(self) -> list[str]:
        """Coordinate ``subgroup``: ``"variable: level"`` for every level of every variable."""
        return [f"{v}: {lev}" for v, levels in self.levels.items() for lev in levels]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """``(variable, level)`` of every entry of :attr:`labels`."""
        return [(v, lev) for v, levels in self.levels.items() for lev in levels]

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of levels of each variable."""
        return tuple(len(v) for v in self.levels.values())

    @property
    def n_groups(self) -> int:
        """Number of combinations of levels."""
        return int(np.prod(self.shape))

    def group_of(self, subgroup_index: np.ndarray) -> np.ndarray:
        """Return the combination index of rows given their level in each variable."""
        return np.ravel_multi_index(tuple(subgroup_index.T), self.shape).astype(int)

    def selector(self) -> np.ndarray:
        """Return the 0/1 ``(combinations, levels)`` matrix of the levels in each combination."""
        combos = np.array(np.unravel_index(np.arange(self.n_groups), self.shape)).T
        out = np.zeros((self.n_groups, len(self.labels)))
        start = 0
        for v, n in enumerate(self.shape):
            out[np.arange(self.n_groups), start + combos[:, v]] = 1.0
            start += n
        return out

    def members(self, variable: str, level: str, groups: np.ndarray) -> np.ndarray:
        """Boolean mask over ``groups`` (combination indices): those with this level."""
        v = self.variables.index(variable)
        combos = np.array(np.unravel_index(groups, self.shape)).T
        return combos[:, v] == self.levels[variable].index(level)


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
    """Per-component SDs with the prior of ``name``, as a ``(component, 1)`` column."""
    dist, params = priors.params(name, components)
    return getattr(pm, dist)(name, **params, dims="component")[:, None]


def _zero_sum_terms(name: str, layout: SubgroupLayout, sd, lead_dims: tuple[str, ...]):
    """Non-centred zero-sum terms of every variable, concatenated along ``subgroup``."""
    parts = []
    for var in layout.variables:
        z = pm.ZeroSumNormal(f"{name}_{var}", sigma=1.0, dims=(*lead_dims, f"{var}_level"))
        parts.append(sd * z)
    return pt.concatenate(parts, axis=-1)


# ---------------------------------------------------------------------------- after sampling
def subgroup_quantities(
    post: dict[str, np.ndarray],
    data: PersonData,
    layout: SubgroupLayout,
    binary: bool,
) -> dict[str, np.ndarray]:
    """Effects per subgroup level from flattened posterior draws.

    Parameters
    ----------
    post : dict
        ``alpha (N, S)``, ``beta (N, S, C)``, ``mu (N, C)``, ``gamma (N, K)``, ``delta
        (N, C, L)`` and optionally ``delta_site (N, S, C, L)``.
    data : PersonData
    layout : SubgroupLayout
    binary : bool
        Also compute percentage points by g-computation.

    Returns
    -------
    dict
        Model scale: ``beta_sub (N, S, C, L)``, ``theta_sub (N, S, A, L)``, ``mu_sub
        (N, C, L)``, ``mu_arm_sub (N, A, L)``; for binary outcomes also the same names
        with ``_pp`` (percentage points).
    """
    design = data.design  # (A, C)
    delta = post["delta"]
    site_delta = post.get("delta_site", 0.0)
    beta_sub = post["beta"][..., None] + delta[:, None] + site_delta
    mu_sub = post["mu"][..., None] + delta
    out = {
        "beta_sub": beta_sub,
        "theta_sub": np.einsum("ac,nscl->nsal", design, beta_sub),
        "mu_sub": mu_sub,
        "mu_arm_sub": np.einsum("ac,ncl->nal", design, mu_sub),
    }
    if binary:
        out.update(_percentage_points(post, data, layout))
    return out


def _percentage_points(post, data: PersonData, layout: SubgroupLayout) -> dict[str, np.ndarray]:
    """G-computation per site x combination of levels, then averaged within each level."""
    keep = data.participant
    group = layout.group_of(data.subgroup_index[keep])
    keys = np.column_stack([data.site_index[keep], group, data.x[keep]])
    cells, weights = np.unique(keys, axis=0, return_counts=True)
    site_c, group_c, x_c = cells[:, 0].astype(int), cells[:, 1].astype(int), cells[:, 2:]
    present, group_c = np.unique(group_c, return_inverse=True)
    select = layout.selector()[present]  # (present combinations, levels)
    design = data.design
    # the shift of each component and arm for site m and combination g (site's and pooled)
    per_group = post["delta"] @ select.T  # (N, C, G)
    site_group = post["beta"][..., None] + per_group[:, None]
    if "delta_site" in post:
        site_group = site_group + post["delta_site"] @ select.T
    pooled_group = np.broadcast_to((post["mu"][..., None] + per_group)[:, None], site_group.shape)
    comp = np.concatenate([site_group, pooled_group], axis=2)  # (N, S, 2C, G)
    n_comp = design.shape[1]
    arms = np.concatenate(
        [
            np.einsum("ac,nscg->nsag", design, comp[:, :, :n_comp]),
            np.einsum("ac,nscg->nsag", design, comp[:, :, n_comp:]),
        ],
        axis=2,
    )
    shifts = np.concatenate([comp, arms], axis=2).transpose(0, 1, 3, 2)  # (N, S, G, J)
    acc = group_shift_effects(
        site_c,
        group_c,
        x_c,
        weights.astype(float),
        post["alpha"],
        post["gamma"],
        np.ascontiguousarray(shifts),
    )
    n_sites, n_arms = len(data.sites), len(data.arms)
    w = np.zeros((n_sites, len(present)))
    np.add.at(w, (site_c, group_c), weights)
    n_draws, n_levels = acc.shape[0], len(layout.labels)
    site_level = np.full((n_draws, n_sites, shifts.shape[3], n_levels), np.nan)
    pooled_level = np.full((n_draws, shifts.shape[3], n_levels), np.nan)
    for j, (var, level) in enumerate(layout.pairs):
        mask = layout.members(var, level, present)
        w_site = w[:, mask].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            site_level[..., j] = acc[:, :, mask].sum(axis=2) / w_site[None, :, None]
        if w_site.sum() > 0:
            pooled_level[..., j] = acc[:, :, mask].sum(axis=(1, 2)) / w_site.sum()
    pp = 100.0 * site_level, 100.0 * pooled_level
    a0 = 2 * n_comp
    return {
        "beta_sub_pp": pp[0][:, :, :n_comp],
        "theta_sub_pp": pp[0][:, :, a0 : a0 + n_arms],
        "mu_sub_pp": pp[1][:, n_comp:a0],
        "mu_arm_sub_pp": pp[1][:, a0 + n_arms :],
    }
