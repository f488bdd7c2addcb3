"""Reading data files as researchers in CBS remote access have them.

:func:`read_data` chooses the reader by the file's extension:

* ``.csv``, ``.txt``, ``.tsv``: text with any separator (detected when not given) and a
  decimal point or comma (Dutch exports write ``;`` and ``,``), in any encoding;
* ``.parquet``;
* ``.dta`` (Stata) and ``.sav`` / ``.zsav`` (SPSS): value labels become categories, so
  that ``1 = "Controle"`` arrives as ``"Controle"``.

Columns come back with numpy dtypes (text as ``object``, missing values as NaN), whatever
the reader's own backend, so that the models see the same data from every format. This
module needs pandas (with pyarrow for Parquet and pyreadstat for SPSS).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError
from .dtypes import numpy_dtypes

__all__ = ["READERS", "read_data"]

#: File extensions and what reads them.
READERS = {
    ".csv": "text",
    ".txt": "text",
    ".tsv": "text",
    ".parquet": "Parquet",
    ".dta": "Stata",
    ".sav": "SPSS",
    ".zsav": "SPSS",
}


def read_data(
    path: str | Path,
    *,
    separator: str | None = None,
    decimal: str = ".",
    encoding: str = "utf-8",
) -> pd.DataFrame:
    r"""Read a data file into a DataFrame, by its extension.

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.txt``/``.tsv``, ``.parquet``, ``.dta`` or ``.sav``/``.zsav`` file.
    separator : str, optional
        Column separator of a text file (``","``, ``";"``, ``"\t"``...); detected from the
        file when not given (``.tsv``: a tab).
    decimal : {".", ","}
        Decimal mark of a text file; Dutch exports use ``","``.
    encoding : str
        Encoding of a text or SPSS file, e.g. ``"utf-8"``, ``"latin-1"``, ``"cp1252"``.

    Returns
    -------
    pandas.DataFrame
        With numpy dtypes; value labels of Stata and SPSS files as categories.

    Raises
    ------
    DataError
        For a missing file, an unknown extension, or a file the reader cannot read; the
        message names the file and what was wrong.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a folder; give the data file inside it.")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{str(path)!r}: cannot read files of type {path.suffix or '(no extension)'!r}; "
            f"pwbayes reads {', '.join(sorted(READERS))}. Export the data to one of these."
        )
    if not path.is_file():
        raise DataError(f"Data file {str(path)!r} not found.")
    if decimal not in (".", ","):
        raise DataError(f"decimal={decimal!r} is not allowed; use '.' or ','.")
    try:
        df = _read(path, kind, separator, decimal, encoding)
    except (UnicodeDecodeError, LookupError) as err:
        raise DataError(
            f"{str(path)!r} could not be read as {encoding!r} text ({err}); give its encoding, "
            "e.g. encoding = 'latin-1' or 'cp1252'."
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise DataError(f"{str(path)!r} could not be read as a {kind} file: {err}") from None
    if df.empty:
        raise DataError(f"{str(path)!r} holds no rows.")
    return numpy_dtypes(df)


def _read(path: Path, kind: str, separator, decimal: str, encoding: str) -> pd.DataFrame:
    if kind == "text":
        sep = "\t" if separator is None and path.suffix.lower() == ".tsv" else separator
        return pd.read_csv(
            path,
            sep=sep,
            decimal=decimal,
            encoding=_without_bom(encoding),
            engine="python" if sep is None else "c",  # the python engine detects separators
        )
    if kind == "Parquet":
        return pd.read_parquet(path)
    if kind == "Stata":
        return pd.read_stata(path, convert_categoricals=True)
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover - a dependency
        raise DataError("Reading SPSS files needs pyreadstat: pip install pyreadstat.") from None
    df, _ = pyreadstat.read_sav(  # pyreadstat reads the file's own encoding by default
        str(path),
        apply_value_formats=True,
        formats_as_category=True,
        encoding=None if encoding == "utf-8" else encoding,
    )
    return df


def _without_bom(encoding: str) -> str:
    """Read UTF-8 as ``utf-8-sig``: a byte-order mark (Excel writes one) is not a column name."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
