"""Results of a fit: the posterior and its record, tables, plots on request, save and load.

:class:`SummaryResult` and :class:`PersonResult` are siblings over :class:`ResultBase`;
:func:`load_result` reads a saved result back (refusing what it cannot restore).
"""

from __future__ import annotations

from pathlib import Path

import arviz as az

from ..errors import RecordError
from ..intervals import HDI_PROB, hdi
from ..record import FitRecord
from .base import ResultBase
from .io import read_result
from .person import PersonResult
from .summary import SummaryResult

__all__ = [
    "HDI_PROB",
    "PersonResult",
    "ResultBase",
    "SummaryResult",
    "hdi",
    "load_result",
    "result_for",
]

_CLASSES: dict[str, type[ResultBase]] = {
    "SummaryModel": SummaryResult,
    "PersonModel": PersonResult,
}


def result_for(idata: az.InferenceData, record: FitRecord) -> ResultBase:
    """Wrap ``idata`` in the result class of ``record``'s model kind."""
    if record.model.kind not in _CLASSES:
        raise RecordError(
            f"the record's model kind {record.model.kind!r} is unknown; known: {sorted(_CLASSES)}."
        )
    return _CLASSES[record.model.kind](idata, record)


def load_result(path: str | Path) -> ResultBase:
    """Read a result written by :meth:`ResultBase.save`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    SummaryResult or PersonResult

    Raises
    ------
    RecordError
        For a file that is not a readable pwbayes result: not NetCDF, truncated, written by
        something else, of another format version, or with a damaged record. The message
        says what was found.
    """
    return result_for(*read_result(path))
