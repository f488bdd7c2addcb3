"""Sweep designs: persons per arm x which arms x number of municipalities."""

from __future__ import annotations

import itertools
import numbers
import time
import warnings
from collections.abc import Sequence

import pandas as pd

from ..errors import DesignError
from .evaluate import evaluate, priors
from .importance import MIN_ESS
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
    analysis_prior, draws, analysis_draws, random_seed
        As in :func:`evaluate`; all designs share one set of prior draws.
    progress : bool
        Print how far the sweep is, for long sweeps.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`evaluate`, with an ``arm_set`` column.
    """
    persons_per_arm, sites = _values("persons_per_arm", persons_per_arm), _values("sites", sites)
    if isinstance(arms, str) or not isinstance(arms, Sequence) or not arms:
        raise DesignError(
            f"grid: arms={arms!r}; give a list of arm sets, e.g. [['Extra Hulp'], "
            "['Extra Hulp', 'Werken Loont']]."
        )
    if any(isinstance(a, str) for a in arms):
        raise DesignError(
            f"grid: arms={list(arms)!r}; give a list of arm sets, e.g. [['Extra Hulp'], "
            "['Extra Hulp', 'Werken Loont']]."
        )
    truth, analysed = priors(prior, analysis_prior, draws, random_seed)  # as evaluate() does
    combos = list(itertools.product(persons_per_arm, arms, sites))
    tables, start = [], time.perf_counter()
    for k, (n, arm_set, n_sites) in enumerate(combos, 1):
        design = Design(
            arms=dict.fromkeys(arm_set, n), comparison=n if comparison is None else comparison,
            sites=n_sites,
            analysis=analysis, base_rate=base_rate, subgroup=subgroup, contrast=contrast,
            outcome_sd=outcome_sd, outcome=outcome, level=level,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # rough designs: one warning below
            table = evaluate(design, truth, analysis_prior=analysed,
                             analysis_draws=analysis_draws, random_seed=random_seed)  # fmt: skip
        tables.append(table.assign(arm_set=" | ".join(design.arms)))
        if progress and (k % 25 == 0 or k == len(combos)):
            print(
                f"pwbayes design: {k}/{len(combos)} designs ({time.perf_counter() - start:.0f} s)"
            )
    out = pd.concat(tables, ignore_index=True)
    out.attrs = dict(tables[0].attrs)
    limit = min(MIN_ESS, min(analysis_draws, (analysed or truth).draws) / 2)
    rough = out.loc[out.effective_draws < limit, "design"].unique()
    if len(rough):
        warnings.warn(
            f"{len(rough)} of {len(combos)} designs would teach far more than {analysis_draws} "
            f"draws of the prior can show (effective_draws below {MIN_ESS}), e.g. "
            f"{rough[0]!r}: their pooled figures are rough. Give analysis_draws=2000 (slower).",
            UserWarning,
            stacklevel=2,
        )
    return out


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
