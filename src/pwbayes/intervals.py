"""Highest-density intervals (90% by default, as in the published figures)."""

from __future__ import annotations

import math

import numpy as np

from .errors import DataError

__all__ = ["HDI_PROB", "check_interval", "hdi"]

#: The published figures show 90% intervals; so do we by default.
HDI_PROB = 0.9


def check_interval(hdi_prob: object) -> float:
    """Check an interval mass: a number strictly between 0 and 1 (``90`` is refused)."""
    if (
        isinstance(hdi_prob, bool)
        or not isinstance(hdi_prob, int | float)
        or not 0 < float(hdi_prob) < 1
    ):
        hint = ""
        if isinstance(hdi_prob, int | float) and _percent(hdi_prob):
            hint = f" (for {hdi_prob}% write {hdi_prob / 100:g})"
        raise DataError(f"hdi_prob={hdi_prob!r} must be between 0 and 1, e.g. 0.9{hint}.")
    return float(hdi_prob)


def _percent(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and 1 < value < 100


def hdi(samples: np.ndarray, prob: float = HDI_PROB) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval of each column of ``samples`` (draws along axis 0).

    Parameters
    ----------
    samples : numpy.ndarray
        Shape ``(n_draws, ...)``.
    prob : float
        Interval mass, e.g. 0.9.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
    """
    prob = check_interval(prob)
    x = np.sort(np.asarray(samples, dtype=float), axis=0)
    n = x.shape[0]
    k = int(np.floor(prob * n))
    if k < 1 or k >= n:
        raise DataError(f"A {prob:.0%} interval needs more draws than {n}.")
    widths = x[k:] - x[: n - k]
    start = np.argmin(widths, axis=0)
    low = np.take_along_axis(x, start[None], axis=0)[0]
    high = np.take_along_axis(x, (start + k)[None], axis=0)[0]
    return low, high
