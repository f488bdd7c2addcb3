"""The random streams of one fit, derived once from the user's seed.

The sampler gets the seed itself (so that a fit is reproduced by its seed); every
post-processing step that draws random numbers gets its own independent stream, spawned
from ``numpy.random.SeedSequence(seed)``. ``seed=None`` draws fresh entropy.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

__all__ = ["Seeds", "check_seed", "seeds_for"]


@dataclass(frozen=True)
class Seeds:
    """The seed of the sampler and the generators of the post-processing steps."""

    sampler: int | None
    conditional: np.random.Generator
    new_site: np.random.Generator
    outcome_scale: np.random.Generator


def check_seed(random_seed: object) -> int | None:
    """Return ``random_seed`` as a Python int (or ``None``); refuse anything else."""
    if random_seed is None:
        return None
    try:
        if isinstance(random_seed, bool):
            raise TypeError
        seed = operator.index(random_seed)  # type: ignore[arg-type]
    except TypeError:
        raise DataError(
            f"random_seed={random_seed!r} must be a whole number >= 0 (or None), e.g. 1."
        ) from None
    if seed < 0:
        raise DataError(f"random_seed={seed} must be >= 0, e.g. 1.")
    return int(seed)


def seeds_for(random_seed: object) -> Seeds:
    """Derive the sampler's seed and one generator per post-processing step."""
    seed = check_seed(random_seed)
    streams = np.random.SeedSequence(seed).spawn(3)
    return Seeds(seed, *(np.random.default_rng(s) for s in streams))
