"""Exceptions and warnings raised by pwbayes.

Every error message names the offending value, what is allowed, and how to fix it.
"""

from __future__ import annotations


class PwbayesError(Exception):
    """Base class of all pwbayes errors."""


class DataError(PwbayesError, ValueError):
    """The input cannot be used as given: data, or an option.

    Data: a missing column, bad values...; options: ``draws=0``, ``hdi_prob=90``, an
    unknown arm...
    """


class ArmError(DataError):
    """An arm label could not be parsed into known intervention components."""


class PriorError(PwbayesError, ValueError):
    """A prior specification is invalid or names an unknown variable."""


class SpecError(PwbayesError, ValueError):
    """A declarative analysis spec (TOML) is invalid."""


class DesignError(PwbayesError, ValueError):
    """A design of a next experiment, or the prior it is evaluated under, cannot be used."""


class RecordError(PwbayesError, ValueError):
    """A saved result or its record cannot be read: foreign, damaged or of another format."""


class DisclosureError(PwbayesError, RuntimeError):
    """An output could not be checked against the disclosure rules, so it is not released.

    Raised when a posterior variable has dimensions that no small-cell rule covers: pwbayes
    refuses to release what it cannot check rather than let it through.
    """


class ConvergenceWarning(UserWarning):
    """The sampler's diagnostics (R-hat, ESS, divergences) indicate a problem."""


def quote_values(values, limit: int = 8) -> str:
    """Format a few offending values for an error message.

    Parameters
    ----------
    values : iterable
        The bad values.
    limit : int
        How many to show before summarising the rest.

    Returns
    -------
    str
        ``'a', 'b' and 3 more``.
    """
    values = [v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v for v in values]
    shown = ", ".join(repr(v) for v in values[:limit])
    if len(values) > limit:
        shown += f" and {len(values) - limit} more"
    return shown
