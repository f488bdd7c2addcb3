"""Refits made by the checks: their warnings passed on, convergence problems gathered.

Every check that refits a model (leave one site out, other priors) fits it quietly: a
refit's :class:`~pwbayes.ConvergenceWarning` is collected, so that the check says once
which refits had problems (and keeps their results); every other warning is passed on
as it came.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import ConvergenceWarning

__all__ = ["quiet_refit", "warn_problems"]


def quiet_refit(model: Any, **settings: Any) -> tuple[Any, bool]:
    """Fit ``model`` (``progress=False``); return the result and whether it had problems."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(progress=False, **settings)
    troubled = False
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            troubled = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return fit, troubled


def warn_problems(which: Sequence[str], refits: str, kept: str) -> None:
    """One warning naming the refits with convergence problems (nothing if none had)."""
    if which:
        warnings.warn(
            f"the refits {refits} {', '.join(which)} had convergence problems (divergences, "
            f"R-hat or ESS); their {kept} are kept. Raise tune and draws.",
            ConvergenceWarning,
            stacklevel=3,
        )
