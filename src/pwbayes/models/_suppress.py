"""Statistical disclosure control of a person-level fit.

Every posterior quantity that rests on a site x arm cell (or a site x arm x subgroup level
cell) of fewer than ``min_cell`` persons is set to NaN in the result before anything can
read it, so tables, plots and saved files never show it; the result records a note per
suppressed cell (never the count). A quantity rests on a cell when the cell is its arm or
its site's comparison group; a component effect rests on every arm of the site containing
the component; a pooled subgroup effect rests on the level's persons summed over sites.
Cells with nobody in them count as small. Rules use the coordinate labels of each
variable, so they apply to whatever the posterior holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import xarray as xr

from ..data.person import PersonData

__all__ = ["Suppression", "apply_suppression", "suppression"]


@dataclass(frozen=True)
class Suppression:
    """Small cells of one data set.

    Attributes
    ----------
    min_cell : int
    small : set
        ``(site, arm)`` and ``(site, arm, variable, level)`` cells below ``min_cell``; the
        comparison group is arm ``None``.
    small_pooled : set
        ``(arm, variable, level)`` with fewer persons summed over sites (arm ``None``: the
        comparison groups).
    arms_of : dict
        Per site, the arms it ran with their components.
    notes : list of str
    """

    min_cell: int
    small: frozenset
    small_pooled: frozenset
    arms_of: dict
    notes: list

    def config(self) -> dict:
        """Return what the result records (no counts)."""
        return {"min_cell": self.min_cell, "suppressed": list(self.notes)}

    # -------------------------------------------------------------- rules per estimand
    def site_arm(self, site, arm, var=None, level=None) -> bool:
        """Return whether a site x arm quantity (of one level) rests on a small cell."""
        tail = () if var is None else (var, level)
        return (site, arm, *tail) in self.small or (site, None, *tail) in self.small

    def site_component(self, site, comp, var=None, level=None) -> bool:
        """Return whether a site's component effect (of one level) rests on a small cell."""
        arms = [a for a, comps in self.arms_of.get(site, {}).items() if comp in comps]
        return any(self.site_arm(site, a, var, level) for a in arms)

    def pooled(self, arms, var, level) -> bool:
        """Return whether a pooled effect of one level rests on small cells only.

        True when the comparison groups of the level, summed over sites, are small, or when
        every arm in ``arms`` is.
        """
        return (None, var, level) in self.small_pooled or all(
            (a, var, level) in self.small_pooled for a in arms
        )


def suppression(data: PersonData, layout, min_cell: int) -> Suppression:
    """Find the small cells of ``data`` (site x arm, and x level of each subgroup variable)."""
    n_sites, n_arms = len(data.sites), len(data.arms)
    cell = data.site_index * (n_arms + 1) + data.arm_index + 1  # arm column 0: comparison
    ran = np.bincount(cell, minlength=n_sites * (n_arms + 1)).reshape(n_sites, n_arms + 1)
    arms_of = {
        s: {a: list(data.arm_components[a]) for j, a in enumerate(data.arms) if ran[m, j + 1]}
        for m, s in enumerate(data.sites)
    }
    arm_name = [None, *data.arms]
    small, small_pooled, notes = set(), set(), []

    def note(site, j, tail=""):
        who = f"arm={arm_name[j]}" if j else f"comparison group {data.comparison[site]!r}"
        notes.append(f"suppressed (fewer than {min_cell} persons): site={site}, {who}{tail}")

    for m, s in enumerate(data.sites):
        for j in np.flatnonzero(ran[m]):
            if ran[m, j] < min_cell:
                small.add((s, arm_name[j]))
                note(s, j)
    if layout is not None:
        for v, (var, levels) in enumerate(layout.levels.items()):
            idx = cell * len(levels) + data.subgroup_index[:, v]
            n = np.bincount(idx, minlength=ran.size * len(levels)).reshape(*ran.shape, -1)
            for k, level in enumerate(levels):
                for m, s in enumerate(data.sites):
                    for j in np.flatnonzero(ran[m]):  # cells that exist overall
                        if n[m, j, k] < min_cell:
                            small.add((s, arm_name[j], var, level))
                            note(s, j, f", {var}={level}")
                total = n[:, :, k].sum(axis=0)
                for j in range(n_arms + 1):
                    if total[j] < min_cell:
                        small_pooled.add((arm_name[j], var, level))
                        if not any((s, arm_name[j], var, level) in small for s in data.sites):
                            who = f"arm={arm_name[j]}" if j else "comparison groups"
                            notes.append(
                                f"suppressed (fewer than {min_cell} persons over all sites): "
                                f"{who}, {var}={level}"
                            )
    return Suppression(min_cell, frozenset(small), frozenset(small_pooled), arms_of, notes)


def apply_suppression(idata, config: dict, supp: Suppression) -> None:
    """Set every suppressed quantity to NaN (in place) and record the notes in ``config``."""
    post = idata.posterior
    rows = config["rows"]
    row_cell = {
        f"{s}: {a}": (s, a) for s, a in zip(rows["site"], rows["arm"], strict=True)
    }  # the labels of the ``row`` coordinate
    levels = (config.get("subgroups") or {}).get("levels", {})
    pairs = {f"{v}: {lev}": (v, lev) for v, var_levels in levels.items() for lev in var_levels}
    comps_of = config["arm_components"]

    def rule(dims, lab):
        sub = pairs.get(lab.get("subgroup"), (None, None))
        if dims == ("row",):
            return supp.site_arm(*row_cell[lab["row"]])
        if dims in (("site", "component"), ("site", "component", "subgroup")):
            return supp.site_component(lab["site"], lab["component"], *sub)
        if dims == ("site", "arm", "subgroup"):
            return supp.site_arm(lab["site"], lab["arm"], *sub)
        if dims == ("component", "subgroup"):
            arms = [a for a, comps in comps_of.items() if lab["component"] in comps]
            return supp.pooled(arms, *sub)
        if dims == ("arm", "subgroup"):
            return supp.pooled([lab["arm"]], *sub)
        return False

    masked = {}
    for name, da in post.data_vars.items():
        dims = tuple(d for d in da.dims if d not in ("chain", "draw"))
        if not dims or "site_parameter" in dims:
            continue
        labels = [da.coords[d].values for d in dims]
        grid = np.array(
            [rule(dims, dict(zip(dims, key, strict=True))) for key in product(*labels)]
        ).reshape([len(v) for v in labels])
        if grid.any():
            post[name] = da.where(~xr.DataArray(grid, dims=dims))
            masked[str(name)] = int(grid.sum())
    # the unpooled site x arm estimates of suppressed cells go too
    keep = [not supp.site_arm(s, a) for s, a in zip(rows["site"], rows["arm"], strict=True)]
    for key in ("estimate", "se"):
        if key in rows:
            rows[key] = [v if k else None for v, k in zip(rows[key], keep, strict=True)]
    config["disclosure"] = {**supp.config(), "masked_values": masked}
