"""The small cells of one person-level data set, and what rests on them.

:class:`DisclosurePolicy` is computed when a :class:`~pwbayes.PersonModel` is built and
applied by the last step of every fit (:mod:`pwbayes.postprocess.disclosure`) to every
output. The rule (:func:`.disclosure.is_small`) and the notes
(:func:`.disclosure.suppression_note`) are :mod:`.disclosure`'s. This module needs numpy
and pandas only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .disclosure import is_small, suppression_note
from .person import PersonData

__all__ = ["DisclosurePolicy", "policy_for"]


@dataclass(frozen=True)
class DisclosurePolicy:
    """The small cells of one person-level data set, and what rests on them.

    A site x arm quantity rests on its arm and its site's comparison group (arm ``None``);
    a site's component effect on every arm of the site containing the component; a site's
    intercept on its comparison group; a pooled quantity of some arms on those arms and the
    comparison groups summed over sites (it is hidden when the comparison groups are small
    or every one of the arms is); a covariate's coefficient on the persons with and without
    it when it takes at most three values. Cells with nobody in them count as small.

    The subgroup terms of a variable sum to zero over its levels, so the others would give
    a small level away: a pooled quantity of one level rests on every level of its
    variable, and so does a site's when the terms vary by site (``by_site``). Held in
    memory only: it is never saved.

    Attributes
    ----------
    min_cell : int
    small : frozenset
        ``(site, arm)`` and ``(site, arm, variable, level)`` cells below ``min_cell``.
    small_pooled : frozenset
        ``(arm, None, None)`` and ``(arm, variable, level)`` below ``min_cell`` summed over
        sites (arm ``None``: the comparison groups).
    rare_covariates : frozenset
        Covariate columns of at most three values (indicators...) of which one is held by
        fewer than ``min_cell`` persons: with the count, their mean and SD would give the
        number away.
    arms_of : dict
        Per site, the arms it ran and their components.
    levels : dict
        The levels of each subgroup variable.
    by_site : bool
        Whether the subgroup terms vary by site.
    notes : tuple of str
        One :func:`suppression_note` per suppressed cell.
    """

    min_cell: int
    small: frozenset
    small_pooled: frozenset
    rare_covariates: frozenset
    arms_of: dict
    levels: dict
    by_site: bool
    notes: tuple[str, ...]

    def site_arm(self, site, arm, var=None, level=None) -> bool:
        """Whether a site x arm quantity (of one level) rests on a small cell."""
        if var is None:
            return (site, arm) in self.small or (site, None) in self.small
        levels = self.levels[var] if self.by_site else [level]
        return any(
            (site, arm, var, lev) in self.small or (site, None, var, lev) in self.small
            for lev in levels
        )

    def site_component(self, site, comp, var=None, level=None) -> bool:
        """Whether a site's component effect (of one level) rests on a small cell."""
        arms = [a for a, comps in self.arms_of.get(site, {}).items() if comp in comps]
        return any(self.site_arm(site, a, var, level) for a in arms)

    def pooled(self, arms, var=None, level=None) -> bool:
        """Whether a quantity pooled over sites rests on small cells only (see the class)."""
        levels = [level] if var is None else self.levels[var]
        return any(
            (None, var, lev) in self.small_pooled
            or all((a, var, lev) in self.small_pooled for a in arms)
            for lev in levels
        )

    def covariate(self, name) -> bool:
        """Whether a covariate's coefficient (or mean) rests on a rare indicator value."""
        return name in self.rare_covariates


def policy_for(data: PersonData, min_cell: int, by_site: bool = False) -> DisclosurePolicy:
    """Find the small cells of validated person-level data (site x arm, x subgroup level).

    ``by_site``: the model's subgroup terms vary by site (see :class:`DisclosurePolicy`).
    """
    n_sites, n_arms = len(data.sites), len(data.arms)
    cell = data.site_index * (n_arms + 1) + data.arm_index + 1  # arm column 0: comparison
    ran = np.bincount(cell, minlength=n_sites * (n_arms + 1)).reshape(n_sites, n_arms + 1)
    arm_name = [None, *data.arms]
    arms_of = {
        s: {a: tuple(data.arm_components[a]) for j, a in enumerate(data.arms) if ran[m, j + 1]}
        for m, s in enumerate(data.sites)
    }
    small: set = set()
    pooled: set = set()
    notes: list[str] = []

    def visit(counts, tail):
        """Record the small cells of a (sites, arms + 1) table of counts."""
        extra = {} if not tail else {tail[0]: tail[1]}
        every = f"every level of {tail[0]} (its terms sum to zero)" if tail else ""
        for m, s in enumerate(data.sites):
            for j in np.flatnonzero(ran[m]):  # cells that exist overall
                if is_small(counts[m, j], min_cell):
                    small.add((s, arm_name[j], *tail))
                    what = {"arm": arm_name[j]} if j else {"comparison group": data.comparison[s]}
                    also = every if by_site else ""
                    notes.append(suppression_note(min_cell, {"site": s, **what, **extra}, also))
        for col, total in enumerate(counts.sum(axis=0)):
            if is_small(total, min_cell) and ran[:, col].any():
                pooled.add((arm_name[col], *(tail or (None, None))))
                what = {"arm": arm_name[col]} if col else {"comparison group": "all"}
                cell = {"site": "all sites", **what, **extra}
                notes.append(suppression_note(min_cell, cell, every))

    visit(ran, ())
    for v, (var, levels) in enumerate(data.subgroups.items()):
        idx = cell * len(levels) + data.subgroup_index[:, v]
        n = np.bincount(idx, minlength=ran.size * len(levels)).reshape(*ran.shape, -1)
        for k, level in enumerate(levels):
            visit(n[:, :, k], (var, level))
    rare = set()
    for k, name in enumerate(data.covariates):
        # with at most three values, the number of persons with each follows from the
        # count, mean and SD: a rare value makes the covariate's figures rest on it
        raw = pd.Series(np.round(data.x[:, k] * data.covariate_sd[k] + data.covariate_mean[k], 9))
        counts = raw.value_counts(sort=False)
        if len(counts) <= 3 and is_small(counts.min(), min_cell):
            rare.add(name)
            notes.append(suppression_note(min_cell, {"covariate": name}))
    return DisclosurePolicy(
        min_cell=min_cell,
        small=frozenset(small),
        small_pooled=frozenset(pooled),
        rare_covariates=frozenset(rare),
        arms_of=arms_of,
        levels={v: list(levels) for v, levels in data.subgroups.items()},
        by_site=by_site,
        notes=tuple(notes),
    )
