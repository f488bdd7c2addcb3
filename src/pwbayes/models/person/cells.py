"""The person model's likelihood layout: rows, collapsed cells and their linear predictors.

Rows that share site, arm, combination of subgroup levels and every covariate value are
collapsed into binomial counts (exact: the log-likelihood differs from the row-level one
by a constant). Every likelihood row belongs to one cell, a site x (comparison, arm) x
combination of subgroup levels, whose linear predictor the graph computes once.
This module needs numpy only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...data.person import PersonData
from ...data.subgroups import SubgroupLayout

__all__ = ["LikelihoodRows", "likelihood_rows"]


@dataclass(frozen=True)
class LikelihoodRows:
    """The rows the likelihood sums over: persons, or collapsed cells with counts.

    Attributes
    ----------
    collapsed : bool
        Whether persons were collapsed into binomial counts.
    site_index, arm_index, group_index : numpy.ndarray
        Site, arm (``-1``: comparison group) and combination of subgroup levels per row.
    x : numpy.ndarray
        Standardised covariates per row.
    k, n : numpy.ndarray
        Events and trials per row (``n`` is 1 for a person).
    n_arms, n_groups : int
        Arms and combinations of subgroup levels (1 without subgroups).
    """

    collapsed: bool
    site_index: np.ndarray
    arm_index: np.ndarray
    group_index: np.ndarray
    x: np.ndarray
    k: np.ndarray
    n: np.ndarray
    n_arms: int
    n_groups: int

    @property
    def size(self) -> int:
        """Number of likelihood rows."""
        return len(self.site_index)

    def take(self, index: np.ndarray) -> LikelihoodRows:
        """Return the rows at ``index`` (cells and counts unchanged otherwise)."""
        return dataclasses.replace(
            self,
            site_index=self.site_index[index],
            arm_index=self.arm_index[index],
            group_index=self.group_index[index],
            x=self.x[index],
            k=self.k[index],
            n=self.n[index],
        )

    def cell_index(self) -> np.ndarray:
        """Cell (site x (comparison, arm) x subgroup combination) of each row."""
        n_cells = self.n_arms + 1  # column 0: the comparison group
        return (self.site_index * n_cells + (self.arm_index + 1)) * self.n_groups + self.group_index

    def loglik_data(self) -> np.ndarray:
        """``[k, n, x]`` per row: events, trials, covariates (the logit kernel's input)."""
        return np.column_stack([self.k, self.n, self.x])

    def glm_rows(self, family: str, y: np.ndarray) -> dict:
        """Keyword arguments of :func:`.glm.glm_mode` for these rows."""
        rows = {"site_index": self.site_index, "arm_index": self.arm_index, "x": self.x}
        if family == "normal":
            return {**rows, "family": "normal", "y": y}
        return {**rows, "family": "bernoulli", "k": self.k, "n": self.n}


def likelihood_rows(
    data: PersonData,
    family: str,
    collapse: str | bool,
    likelihood: str,
    layout: SubgroupLayout | None,
) -> LikelihoodRows:
    """Collapse persons into binomial counts where allowed and worth it.

    Bernoulli outcomes only; ``collapse="auto"`` collapses when that at least halves the
    rows, and always for the normal approximation (whose stage one is cheaper on cells).
    """
    group = (
        layout.group_of(data.subgroup_index)
        if layout is not None
        else np.zeros(len(data.y), dtype=int)
    )
    n_groups = layout.n_groups if layout is not None else 1
    rows = LikelihoodRows(
        collapsed=False,
        site_index=data.site_index,
        arm_index=data.arm_index,
        group_index=group,
        x=data.x,
        k=data.y,
        n=np.ones_like(data.y),
        n_arms=len(data.arms),
        n_groups=n_groups,
    )
    if family != "bernoulli" or (collapse is False and likelihood == "exact"):
        return rows
    keys = np.column_stack([data.site_index, data.arm_index, group, data.x])
    uniq, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    if collapse == "auto" and len(uniq) > 0.5 * len(data.y) and likelihood == "exact":
        return rows
    return LikelihoodRows(
        collapsed=True,
        site_index=uniq[:, 0].astype(int),
        arm_index=uniq[:, 1].astype(int),
        group_index=uniq[:, 2].astype(int),
        x=uniq[:, 3:],
        k=np.bincount(inverse.ravel(), weights=data.y, minlength=len(uniq)),
        n=counts.astype(float),
        n_arms=len(data.arms),
        n_groups=n_groups,
    )
