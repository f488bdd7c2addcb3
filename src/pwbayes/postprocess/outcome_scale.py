"""Effects of a person model on the outcome's scale: site x arm rows and g-computation.

``theta`` (one per site x arm row) sums each site's component effects, on the model's
scale. For a binary outcome every effect is also reported in percentage points
(``*_pp``): the average, over each site's own participants, of the predicted difference
between arm and comparison (g-computation, :mod:`.gcomp`), so that the effects are
comparable to the published linear-model estimates. A new site's effects use a new
site's intercept, drawn from the hierarchy.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..data.person import PersonData
from ..record import ModelRecord
from .gcomp import shift_effects

__all__ = ["outcome_scale"]

_DIMS = {
    "beta_pp": ("site", "component"),
    "theta_pp": ("row",),
    "mu_pp": ("component",),
    "mu_arm_pp": ("arm",),
    "theta_new_pp": ("component",),
    "theta_new_arm_pp": ("arm",),
}


def outcome_scale(
    post: xr.Dataset, record: ModelRecord, data: PersonData, rng: np.random.Generator
) -> dict[str, xr.DataArray]:
    """``theta`` and, for binary outcomes, the percentage-point effects."""
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    flat = {
        k: post[k].values.reshape(chains * draws, *post[k].shape[2:])
        for k in ("alpha", "beta", "mu", "alpha_mu", "alpha_sd", "theta_new")
    }
    site_of_row = [data.sites.index(r.site) for r in record.rows]
    arm_of_row = [data.arms.index(r.arm) for r in record.rows]
    design = data.design
    theta = np.stack(
        [flat["beta"][:, m] @ design[a] for m, a in zip(site_of_row, arm_of_row, strict=True)],
        axis=1,
    )
    coords = {
        "site": data.sites,
        "component": data.components,
        "arm": data.arms,
        "row": record.row_labels,
    }

    def put(values: np.ndarray, dims: tuple[str, ...]) -> xr.DataArray:
        arr = values.reshape(chains, draws, *values.shape[1:])
        return xr.DataArray(arr, dims=("chain", "draw", *dims), coords={d: coords[d] for d in dims})

    out = {"theta": put(theta, ("row",))}
    if record.person is None or record.person.family != "bernoulli":
        return out  # linear: the model's scale is the outcome's scale
    gamma = post["gamma"].values.reshape(chains * draws, -1) if "gamma" in post else None
    pp = _percentage_points(flat, theta, gamma, data, site_of_row, arm_of_row, rng)
    out.update({name: put(values, _DIMS[name]) for name, values in pp.items()})
    return out


def _participant_cells(data: PersonData):
    """Participants collapsed to (site, covariates) cells with counts."""
    keep = data.participant
    keys = np.column_stack([data.site_index[keep], data.x[keep]])
    uniq, counts = np.unique(keys, axis=0, return_counts=True)
    return uniq[:, 0].astype(int), uniq[:, 1:], counts.astype(float)


def _percentage_points(flat, theta, gamma, data, site_of_row, arm_of_row, rng):
    """G-computation of every effect: per site, pooled over participants, and a new site."""
    n_draws = len(flat["alpha"])
    n_sites, n_comp, design = len(data.sites), len(data.components), data.design
    gamma = gamma if gamma is not None else np.zeros((n_draws, 0))
    alpha_new = flat["alpha_mu"] + flat["alpha_sd"] * rng.standard_normal(n_draws)
    # single-component arms shift by their component's effect, so only combined arms
    # need shifts of their own
    single = {a: int(np.argmax(design[a])) for a in range(len(data.arms)) if design[a].sum() == 1}
    combined = [a for a in range(len(data.arms)) if a not in single]
    combined_rows = [
        [j for j, (m, a) in enumerate(zip(site_of_row, arm_of_row, strict=True))
         if m == s and a not in single]
        for s in range(n_sites)
    ]  # fmt: skip
    width = max((len(r) for r in combined_rows), default=0)
    shifts_site = np.zeros((n_draws, n_sites, 2 * n_comp + width + len(combined)))
    shifts_site[:, :, :n_comp] = flat["beta"]
    shifts_site[:, :, n_comp : 2 * n_comp] = flat["mu"][:, None, :]
    for m, rows_m in enumerate(combined_rows):
        shifts_site[:, m, 2 * n_comp : 2 * n_comp + len(rows_m)] = theta[:, rows_m]
    shifts_site[:, :, 2 * n_comp + width :] = (flat["mu"] @ design[combined].T)[:, None, :]
    shifts_new = np.concatenate([flat["theta_new"], flat["theta_new"] @ design[combined].T], 1)
    site_c, x_c, w_c = _participant_cells(data)
    acc_site, acc_new = shift_effects(
        site_c, x_c, w_c, flat["alpha"], gamma, alpha_new, shifts_site, shifts_new
    )
    w_site = np.bincount(site_c, weights=w_c, minlength=n_sites)
    per_site = 100 * acc_site / w_site[None, :, None]
    pooled = 100 * acc_site.sum(axis=1) / w_c.sum()
    new = 100 * acc_new / w_c.sum()
    out = {
        "beta_pp": per_site[:, :, :n_comp],
        "theta_pp": np.empty((n_draws, len(site_of_row))),
        "mu_pp": pooled[:, n_comp : 2 * n_comp],
        "mu_arm_pp": np.empty((n_draws, len(data.arms))),
        "theta_new_pp": new[:, :n_comp],
        "theta_new_arm_pp": np.empty((n_draws, len(data.arms))),
    }
    for j, (m, a) in enumerate(zip(site_of_row, arm_of_row, strict=True)):
        col = single[a] if a in single else 2 * n_comp + combined_rows[m].index(j)
        out["theta_pp"][:, j] = per_site[:, m, col]
    for a in range(len(data.arms)):
        if a in single:
            out["mu_arm_pp"][:, a] = out["mu_pp"][:, single[a]]
            out["theta_new_arm_pp"][:, a] = out["theta_new_pp"][:, single[a]]
        else:
            k = combined.index(a)
            out["mu_arm_pp"][:, a] = pooled[:, 2 * n_comp + width + k]
            out["theta_new_arm_pp"][:, a] = new[:, n_comp + k]
    return out
