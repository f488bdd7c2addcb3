"""Effects per subgroup level of a person model ("what works for whom"), after sampling.

On the model's scale each component's effect in a level is ``beta + delta`` (per site; plus
``delta_site`` when the differences vary by site) and ``mu + delta`` pooled; arms sum
their components. For binary outcomes the same effects are computed in percentage points
by g-computation over the participants of each level (:func:`.gcomp.group_shift_effects`).
The sampler's raw zero-sum coordinates (``z_sub_*``) say nothing the ``delta`` do not, and
are dropped.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..data.person import PersonData
from ..data.subgroups import SubgroupLayout
from .gcomp import group_shift_effects

__all__ = ["subgroup_effects", "subgroup_quantities"]

_DIMS = {
    "beta_sub": ("site", "component", "subgroup"),
    "theta_sub": ("site", "arm", "subgroup"),
    "mu_sub": ("component", "subgroup"),
    "mu_arm_sub": ("arm", "subgroup"),
}


def subgroup_effects(
    post: xr.Dataset, data: PersonData, layout: SubgroupLayout, binary: bool
) -> tuple[dict[str, xr.DataArray], list[str]]:
    """Return the effects per level as posterior variables, and the variables to drop."""
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    names = ["alpha", "beta", "mu", "gamma", "delta", "delta_site"]
    flat = {
        k: post[k].values.reshape(chains * draws, *post[k].shape[2:]) for k in names if k in post
    }
    flat.setdefault("gamma", np.zeros((chains * draws, 0)))
    out = subgroup_quantities(flat, data, layout, binary=binary)
    coords = {
        "site": data.sites,
        "component": data.components,
        "arm": data.arms,
        "subgroup": layout.labels,
    }
    new = {}
    for name, values in out.items():
        dims = _DIMS[name.removesuffix("_pp")]
        new[name] = xr.DataArray(
            values.reshape(chains, draws, *values.shape[1:]),
            dims=("chain", "draw", *dims),
            coords={k: coords[k] for k in dims},
        )
    drop = [str(v) for v in post.data_vars if str(v).startswith("z_sub")]
    return new, drop


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
