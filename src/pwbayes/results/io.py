"""Saving a result (posterior and record) to NetCDF, and reading it back with checks.

The record is stored as JSON in the posterior group's attributes (``pwbayes_record``), with
its format version beside it (``pwbayes_format``). Reading refuses, with
:class:`~pwbayes.errors.RecordError` and a message saying what was found: a file that is
not NetCDF or is truncated, a NetCDF file pwbayes did not write, a record of another
format version (pwbayes 0.1's unversioned configuration included), and a damaged record.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az

from ..errors import DataError, RecordError
from ..record import FORMAT_VERSION, FitRecord, format_message

__all__ = ["FORMAT_ATTR", "RECORD_ATTR", "read_result", "save_result"]

RECORD_ATTR = "pwbayes_record"
FORMAT_ATTR = "pwbayes_format"
#: Where pwbayes 0.1 (format 1) kept its configuration.
_FORMAT_1_ATTR = "pwbayes_config"


def save_result(
    idata: az.InferenceData, record: FitRecord, path: str | Path, overwrite: bool = False
) -> Path:
    """Write ``idata`` with ``record`` to one NetCDF file; return its path.

    Refuses a folder that does not exist, and an existing file unless ``overwrite``.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(
            f"{str(path)!r} is a folder; give a file name, e.g. {str(path / 'fit.nc')!r}."
        )
    if not path.parent.is_dir():
        raise DataError(
            f"Cannot save to {str(path)!r}: the folder {str(path.parent)!r} does not exist. "
            "Create it first, e.g. Path(...).mkdir(parents=True)."
        )
    if path.exists() and not overwrite:
        raise DataError(f"{str(path)!r} exists; pass overwrite=True to replace it.")
    out = idata.copy()
    out.posterior.attrs[RECORD_ATTR] = record.to_json()
    out.posterior.attrs[FORMAT_ATTR] = FORMAT_VERSION
    out.to_netcdf(str(path), engine="h5netcdf")
    return path


def read_result(path: str | Path) -> tuple[az.InferenceData, FitRecord]:
    """Read a file written by :func:`save_result`; see the module for what is refused."""
    path = Path(path)
    if path.is_dir():
        raise RecordError(f"{str(path)!r} is a folder, not a saved result (a .nc file).")
    if not path.is_file():
        raise RecordError(f"{str(path)!r}: no such file.")
    try:
        idata = az.from_netcdf(str(path), engine="h5netcdf")
        idata.load()  # read everything now, so the file is not held open
    except Exception as err:  # h5py/h5netcdf/xarray raise many kinds for a bad file
        raise RecordError(
            f"{str(path)!r} is not a readable NetCDF file ({type(err).__name__}: {err}); it is "
            "truncated, damaged or not a pwbayes result."
        ) from None
    if "posterior" not in idata.groups():
        raise RecordError(f"{str(path)!r} has no posterior group: it was not written by pwbayes.")
    attrs = dict(idata.posterior.attrs)
    if RECORD_ATTR not in attrs:
        if _FORMAT_1_ATTR in attrs:
            raise RecordError(f"{str(path)!r}: {format_message(1, '0.1')}")
        raise RecordError(
            f"{str(path)!r} was not written by pwbayes (its posterior has no {RECORD_ATTR!r} "
            "attribute)."
        )
    version = attrs.pop(FORMAT_ATTR, None)
    version = int(version) if hasattr(version, "__int__") else version
    if version != FORMAT_VERSION:
        written_by = _written_by(attrs[RECORD_ATTR])
        raise RecordError(f"{str(path)!r}: {format_message(version, written_by)}")
    try:
        record = FitRecord.from_json(str(attrs.pop(RECORD_ATTR)))
    except RecordError as err:
        raise RecordError(f"{str(path)!r}: {err}") from None
    idata.posterior.attrs = attrs
    return idata, record


def _written_by(text: object) -> object:
    """Return the pwbayes version a record names, if it can be read at all (for messages)."""
    try:
        return json.loads(str(text)).get("pwbayes_version")
    except (ValueError, AttributeError):
        return None
