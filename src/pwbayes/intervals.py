"""Highest-density intervals (90% by default, as in the published figures)."""

from __future__ import annotations

import numpy as np

__all__ = ["HDI_PROB", "hdi"]

#: The published figures show 90% intervals; so do we by default.
HDI_PROB = 0.9


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
    x = np.sort(np.asarray(samples, dtype=float), axis=0)
    n = x.shape[0]
    k = int(np.floor(prob * n))
    if k < 1 or k >= n:
        raise ValueError(f"Need more draws for a {prob:.0%} interval; got {n}.")
    widths = x[k:] - x[: n - k]
    start = np.argmin(widths, axis=0)
    low = np.take_along_axis(x, start[None], axis=0)[0]
    high = np.take_along_axis(x, (start + k)[None], axis=0)[0]
    return low, high
