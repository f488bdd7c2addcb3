"""Declarative analysis specs (TOML) that the command line runs.

A spec names the data, the columns, the model options, the priors, the sampling
settings and the output folder::

    title = "Work > 8 hours a week (SYNTHETIC example)"
    [data]
    example = "summary_effects"        # or: file = "table.csv" (relative to the spec)
    filter = { outcome = "work_gt_8h" } # keep rows whose column equals the value
    [columns]
    site = "municipality"
    arm = "arm"
    estimate = "estimate"
    se = "se"
    [model]
    pooling = "partial"
    interactions = false
    suspect = ["Nijmegen", "Tilburg"]
    suspect_action = "bias"
    [priors]
    tau = { dist = "HalfNormal", sigma = 3 }
    [sampling]
    draws = 2000
    chains = 4
    random_seed = 1
    [output]
    folder = "results/work_gt_8h"      # relative to the working directory

Unknown sections or keys are errors, so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from . import examples
from .errors import SpecError

__all__ = ["load_spec", "load_spec_data", "model_from_spec"]

_ALLOWED = {
    "title": None,
    "data": {"example", "file", "filter"},
    "columns": {"site", "arm", "estimate", "se"},
    "model": {"pooling", "interactions", "suspect", "suspect_action"},
    "priors": None,
    "sampling": {"draws", "tune", "chains", "random_seed", "target_accept", "sampler"},
    "output": {"folder"},
}
_EXAMPLES = {
    "summary_effects": lambda: examples.summary_effects(outcome=None),
    "eight_schools": examples.eight_schools,
}


def load_spec(path: str | Path) -> dict:
    """Read and check a spec file; ``spec["_base"]`` is its folder.

    Raises
    ------
    SpecError
        For a missing file, invalid TOML, or unknown sections/keys.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Spec file {str(path)!r} not found.")
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML ({err}).") from None
    check_spec(spec, str(path))
    spec["_base"] = str(path.resolve().parent)
    return spec


def check_spec(spec: dict, where: str = "spec") -> None:
    """Reject unknown sections and keys, and require ``[data]`` and ``[columns]``."""
    for section, value in spec.items():
        if section.startswith("_"):
            continue
        if section not in _ALLOWED:
            raise SpecError(f"{where}: unknown section [{section}]; allowed: {sorted(_ALLOWED)}.")
        keys = _ALLOWED[section]
        if keys is not None:
            unknown = sorted(set(value) - keys)
            if unknown:
                raise SpecError(
                    f"{where}: unknown key(s) {unknown} in [{section}]; allowed: {sorted(keys)}."
                )
    for required in ("data", "columns"):
        if required not in spec:
            raise SpecError(f"{where}: the [{required}] section is required.")
    data = spec["data"]
    if ("example" in data) == ("file" in data):
        raise SpecError(f"{where}: [data] needs exactly one of 'example' or 'file'.")
    if "example" in data and data["example"] not in _EXAMPLES:
        raise SpecError(
            f"{where}: unknown example {data['example']!r}; available: {sorted(_EXAMPLES)}."
        )


def load_spec_data(spec: dict) -> pd.DataFrame:
    """Load the spec's data and apply its filter."""
    data = spec["data"]
    if "example" in data:
        df = _EXAMPLES[data["example"]]()
    else:
        path = Path(spec.get("_base", ".")) / data["file"]
        if not path.is_file():
            raise SpecError(f"Data file {str(path)!r} (from [data] file) not found.")
        df = pd.read_csv(path)
    note = df.attrs.get("note")
    for column, value in data.get("filter", {}).items():
        if column not in df:
            raise SpecError(f"[data] filter names column {column!r}, not in {list(df.columns)}.")
        df = df[df[column] == value]
        if df.empty:
            raise SpecError(f"[data] filter {column} = {value!r} keeps no rows.")
    df = df.reset_index(drop=True)
    if note:
        df.attrs["note"] = note
    return df


def model_from_spec(spec: dict):
    """Build (not fit) the :class:`~pwbayes.SummaryModel` a spec describes."""
    from .models.summary import SummaryModel

    return SummaryModel(
        load_spec_data(spec), **spec["columns"], **spec.get("model", {}), priors=spec.get("priors")
    )
