"""Quantities derived from the draws of any model: new-site and arm effects, data groups.

``theta_new = mu + tau * eps`` with ``eps ~ Normal(0, 1)`` per draw (the effect in a
new site), and per arm ``mu_arm`` and ``theta_new_arm`` (the sum of the arm's components,
plus its interaction term if the model has one). The site x arm rows of the record become
the ``observed_data`` (estimates) and ``constant_data`` (standard errors) groups.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..record import ModelRecord

__all__ = ["data_groups", "new_site_and_arms"]


def new_site_and_arms(
    post: xr.Dataset, record: ModelRecord, rng: np.random.Generator
) -> dict[str, xr.DataArray]:
    """``theta_new``, ``mu_arm`` and ``theta_new_arm`` (nothing without ``mu``)."""
    if "mu" not in post:
        return {}
    x_arm = xr.DataArray(
        np.array(record.design(), dtype=float).reshape(len(record.arms), len(record.components)),
        dims=("arm", "component"),
        coords={"arm": list(record.arms), "component": list(record.components)},
    )
    theta_new = post["mu"]
    if "tau" in post:
        eps = rng.standard_normal(post["tau"].shape)
        theta_new = post["mu"] + post["tau"] * xr.DataArray(eps, dims=post["tau"].dims)
    extra: xr.DataArray | float = 0.0
    if "interaction" in post:
        extra = (
            post["interaction"]
            .rename(combined_arm="arm")
            .reindex(arm=list(record.arms), fill_value=0.0)
        )
    new = {
        "theta_new": theta_new,
        "mu_arm": xr.dot(post["mu"], x_arm, dim="component") + extra,
        "theta_new_arm": xr.dot(theta_new, x_arm, dim="component") + extra,
    }
    return {name: value.transpose("chain", "draw", ...) for name, value in new.items()}


def data_groups(record: ModelRecord) -> dict[str, xr.Dataset]:
    """``observed_data`` (``y``) and ``constant_data`` (``se``) of the site x arm rows."""
    coord = {"row": record.row_labels}

    def values(name: str) -> np.ndarray:
        found = (getattr(r, name) for r in record.rows)
        return np.array([np.nan if v is None else v for v in found], dtype=float)

    return {
        "observed_data": xr.Dataset({"y": ("row", values("estimate"))}, coords=coord),
        "constant_data": xr.Dataset({"se": ("row", values("se"))}, coords=coord),
    }
