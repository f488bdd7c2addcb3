"""Plain numpy dtypes at the boundary, whatever backend made the frame.

pandas offers nullable (``Int64``, ``boolean``, ``string``) and pyarrow-backed dtypes
(``read_csv(dtype_backend="pyarrow")``, Parquet). The models work on numpy arrays, where
such columns behave differently or fail (a pyarrow boolean outcome raised
``ArrowTypeError``), so every frame is converted once, on a copy, when it enters pwbayes.
This module needs pandas only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["numpy_dtypes"]


def numpy_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with numpy dtypes (a copy when any column changes; missing as NaN).

    Integers and booleans without missing values keep their kind; with missing values they
    become floats with NaN; text becomes ``object``. Categories, numpy columns and pandas'
    default text dtype are kept as they are.
    """
    changed = {}
    for col in df.columns:
        s = df[col]
        dtype = s.dtype
        if isinstance(dtype, np.dtype) or isinstance(dtype, pd.CategoricalDtype):
            continue
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan:
            continue  # pandas' default text dtype behaves like object already
        changed[col] = _to_numpy(s)
    if not changed:
        return df
    out = df.copy()
    for col, values in changed.items():
        out[col] = values
    return out


def _to_numpy(s: pd.Series) -> pd.Series:
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype):
        if missing.any():
            return pd.Series(s.astype("float64").to_numpy(na_value=np.nan), index=s.index)
        return pd.Series(s.to_numpy(dtype=bool), index=s.index)
    if pd.api.types.is_integer_dtype(s.dtype) and not missing.any():
        return pd.Series(s.to_numpy(dtype="int64"), index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    if pd.api.types.is_string_dtype(s.dtype):
        values = s.to_numpy(dtype=object, na_value=np.nan)
        return pd.Series(values, index=s.index, dtype=object)
    return s  # dates and others: as they are (validation names them if they do not fit)
