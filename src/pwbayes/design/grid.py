"""Sweep designs: persons per arm x which arms x number of municipalities."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence

import pandas as pd

from ..errors import DesignError
from .evaluate import evaluate
from .spec import Contrast, Design

__all__ = ["grid"]


def grid(
    prior: object,
    *,
    persons_per_arm: Sequence[int],
    arms: Sequence[Sequence[str]],
    sites: Sequence[int] = (1,),
    comparison: int | None = None,
    analysis: str = "unpooled",
    base_rate: float | None = None,
    subgroup: dict[str, str] | None = None,
    contrast: Contrast | None = None,
    outcome_sd: float | None = None,
    outcome: str | None = None,
    level: float = 0.90,
    analysis_prior: object | None = None,
    draws: int = 2000,
    analysis_draws: int = 500,
    random_seed: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Evaluate every combination of persons per arm, set of arms and number of sites.

    Parameters
    ----------
    prior : SummaryResult, PersonResult or EffectPrior
        The design prior (see :func:`evaluate`).
    persons_per_arm : sequence of int
        Persons per arm per site.
    arms : sequence of sequences of str
        Sets of arms, e.g. ``[["Extra Hulp"], ["Extra Hulp", "Werken Loont"]]``.
    sites : sequence of int
        Numbers of new municipalities.
    comparison : int, optional
        Persons in the comparison group per site; default: as many as per arm.
    analysis, base_rate, subgroup, contrast, outcome_sd, outcome, level
        As in :class:`Design`, the same for every design.
    analysis_prior, draws, analysis_draws, random_seed, progress
        As in :func:`evaluate`; all designs share one set of prior draws.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`evaluate` (its ``arm_set`` column tells arm sets of the same
        size apart).
    """
    persons_per_arm, sites = _values("persons_per_arm", persons_per_arm), _values("sites", sites)
    if (
        isinstance(arms, str)
        or not isinstance(arms, Sequence)
        or not arms
        or any(isinstance(a, str) for a in arms)
    ):
        raise DesignError(
            f"grid: arms={arms!r}; give a list of arm sets, e.g. [['Extra Hulp'], "
            "['Extra Hulp', 'Werken Loont']]."
        )
    designs = [
        Design(
            arms=dict.fromkeys(arm_set, n), comparison=n if comparison is None else comparison,
            sites=n_sites, analysis=analysis, base_rate=base_rate, subgroup=subgroup,
            contrast=contrast, outcome_sd=outcome_sd, outcome=outcome, level=level,
        )
        for n, arm_set, n_sites in itertools.product(persons_per_arm, arms, sites)
    ]  # fmt: skip
    return evaluate(designs, prior, analysis_prior=analysis_prior, draws=draws,
                    analysis_draws=analysis_draws, random_seed=random_seed,
                    progress=progress)  # fmt: skip


def _values(name: str, values: object) -> list:
    """Return a list of sweep values: one number becomes a list of one."""
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        return [values]
    try:
        out = list(values)  # type: ignore[call-overload]
    except TypeError:
        out = []
    if not out or isinstance(values, str):
        raise DesignError(f"grid: {name}={values!r}; give whole numbers, e.g. [100, 300, 900].")
    return out
