"""Declarative analysis specs (TOML) that the command line runs.

A spec names the data, the columns, the model options, the priors, the sampling settings
and the output folder. A spec whose ``[columns]`` name an ``outcome`` builds a
:class:`~pwbayes.PersonModel` (one row per person); one that names ``estimate`` and ``se``
a :class:`~pwbayes.SummaryModel` (one row per site x arm). Paths in a spec (``[data]
file``, ``[output] folder``) are relative to the spec's own folder. The format is
documented in ``docs/specs.md``; ``models/`` holds worked specs. Unknown sections, keys or
examples are errors, so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import examples
from .data.readers import read_data
from .errors import DataError, SpecError

__all__ = [
    "SPEC_DOCS",
    "check_sections",
    "kind_of",
    "load_spec",
    "load_spec_data",
    "model_from_spec",
    "read_toml",
    "wants_checks",
]

#: Where the spec format is documented (shown by ``pwbayes fit --help``).
SPEC_DOCS = "docs/specs.md in the pwbayes repository (worked specs: models/*.toml)"

_SUMMARY_MODEL = {"pooling", "interactions", "suspect", "suspect_action", "note", "unit",
                  "site_noun", "moderators"}  # fmt: skip
_PERSON_MODEL = {"family", "comparison", "subgroups", "subgroup_bins", "subgroups_by_site",
                 "min_cell", "likelihood", "parameterization", "missing", "collapse", "note",
                 "unit", "site_noun", "moderators", "site_data"}  # fmt: skip
_ALLOWED: dict[str, set[str] | None] = {
    "title": None,
    "data": {
        "example",
        "file",
        "filter",
        "separator",
        "decimal",
        "encoding",
        "seed",
        "size",
        "heterogeneity",
        "effects",
    },  # fmt: skip
    "columns": {"site", "arm", "estimate", "se", "outcome", "covariates"},
    "model": _SUMMARY_MODEL | _PERSON_MODEL,
    "priors": None,
    "sampling": {"draws", "tune", "chains", "random_seed", "target_accept", "sampler"},
    "output": {"folder", "subgroup_reference", "checks"},
}


def _population(data: Mapping[str, Any]) -> pd.DataFrame:
    settings = {"seed": "random_seed", "size": "size", "heterogeneity": "heterogeneity",
                "effects": "effects"}  # fmt: skip
    kw = {arg: data[key] for key, arg in settings.items() if key in data}
    return examples.simulate_participants(**kw).data


#: Bundled examples: how to make each, and the ``[data]`` keys it takes.
_EXAMPLES: dict[str, tuple[Callable[[Mapping[str, Any]], pd.DataFrame], set[str]]] = {
    "summary_effects": (lambda d: examples.summary_effects(outcome=None), set()),
    "eight_schools": (lambda d: examples.eight_schools(), set()),
    "synthetic_population": (_population, {"seed", "size", "heterogeneity", "effects"}),
}
_FILE_KEYS = {"separator", "decimal", "encoding"}


def load_spec(path: str | Path) -> dict:
    """Read and check a spec file; ``spec["_base"]`` is its folder.

    Raises
    ------
    SpecError
        For a missing file, invalid TOML, or unknown sections/keys.
    """
    path = Path(path)
    spec = read_toml(path, "Spec file")
    check_spec(spec, str(path))
    spec["_base"] = str(path.resolve().parent)
    return spec


def read_toml(path: Path, what: str) -> dict:
    """Read a TOML file; a missing file or invalid TOML is a :class:`SpecError`."""
    if not path.is_file():
        raise SpecError(f"{what} {str(path)!r} not found.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: not valid TOML ({err}).") from None


def check_sections(spec: Mapping[str, Any], allowed: Mapping[str, set[str] | None], where: str):
    """Reject sections not in ``allowed``, and keys not allowed in a section (None: any)."""
    for section, value in spec.items():
        if section.startswith("_"):
            continue
        if section not in allowed:
            raise SpecError(f"{where}: unknown section [{section}]; allowed: {sorted(allowed)}.")
        keys = allowed[section]
        if keys is not None:
            if not isinstance(value, Mapping):
                raise SpecError(f"{where}: [{section}] must be a table of keys, got {value!r}.")
            unknown = sorted(set(value) - keys)
            if unknown:
                raise SpecError(
                    f"{where}: unknown key(s) {unknown} in [{section}]; allowed: {sorted(keys)}."
                )


def kind_of(spec: Mapping[str, Any]) -> str:
    """``"person"`` when ``[columns]`` name an outcome, ``"summary"`` for estimate and se."""
    columns = spec.get("columns", {})
    return "person" if "outcome" in columns else "summary"


def check_spec(spec: dict, where: str = "spec") -> None:
    """Reject unknown sections and keys, and check what each model kind needs."""
    check_sections(spec, _ALLOWED, where)
    for required in ("data", "columns"):
        if required not in spec:
            raise SpecError(f"{where}: the [{required}] section is required.")
    _check_data(spec["data"], where)
    _check_columns(spec, where)


def _check_data(data: Mapping[str, Any], where: str) -> None:
    if ("example" in data) == ("file" in data):
        raise SpecError(f"{where}: [data] needs exactly one of 'example' or 'file'.")
    if "example" in data:
        if data["example"] not in _EXAMPLES:
            raise SpecError(
                f"{where}: unknown example {data['example']!r}; available: {sorted(_EXAMPLES)}."
            )
        extra = set(data) - {"example", "filter"} - _EXAMPLES[data["example"]][1]
    else:
        extra = set(data) - {"file", "filter"} - _FILE_KEYS
    if extra:
        raise SpecError(
            f"{where}: [data] key(s) {sorted(extra)} do not apply to "
            f"{data.get('example') or 'a data file'}."
        )


def _check_columns(spec: Mapping[str, Any], where: str) -> None:
    columns = spec["columns"]
    kind = kind_of(spec)
    needed = {"person": ("site", "arm", "outcome"), "summary": ("site", "estimate", "se")}[kind]
    absent = [k for k in needed if k not in columns]
    if absent:
        raise SpecError(
            f"{where}: [columns] needs {', '.join(needed)} for a {kind}-level model; missing "
            f"{', '.join(absent)}. (An 'outcome' makes it person-level; 'estimate' and 'se' "
            "summary-level.)"
        )
    wrong = {"person": {"estimate", "se"}, "summary": {"outcome", "covariates"}}[kind]
    wrong &= set(columns)
    if wrong:
        raise SpecError(f"{where}: [columns] {sorted(wrong)} do not belong in a {kind} spec.")
    for key, value in columns.items():
        ok = isinstance(value, list) if key == "covariates" else isinstance(value, str)
        if not ok or (key == "covariates" and not all(isinstance(v, str) for v in value)):
            what = "a list of column names" if key == "covariates" else "a column name (text)"
            raise SpecError(f"{where}: [columns] {key} = {value!r} must be {what}.")
    allowed = _PERSON_MODEL if kind == "person" else _SUMMARY_MODEL
    unknown = sorted(set(spec.get("model", {})) - allowed)
    if unknown:
        raise SpecError(
            f"{where}: [model] key(s) {unknown} do not apply to a {kind}-level model; allowed: "
            f"{sorted(allowed)}."
        )
    if "subgroup_reference" in spec.get("output", {}) and kind != "person":
        raise SpecError(f"{where}: [output] subgroup_reference needs a person-level spec.")
    checks = spec.get("output", {}).get("checks")
    if checks is not None and not isinstance(checks, bool):
        raise SpecError(f"{where}: [output] checks = {checks!r} must be true or false.")
    model = spec.get("model", {})
    binary = model.get("family", "bernoulli") == "bernoulli"
    person_ok = kind == "person" and binary and not model.get("subgroups")
    if checks and not (person_ok or (kind == "summary" and _pooling(spec) == "partial")):
        raise SpecError(
            f"{where}: [output] checks = true needs a summary spec with pooling = 'partial', "
            "or a person spec with a binary outcome and no subgroups, so far; remove the key."
        )


def load_spec_data(spec: Mapping[str, Any]) -> pd.DataFrame:
    """Load the spec's data (an example, or a file relative to the spec) and apply its filter."""
    data = spec["data"]
    if "example" in data:
        df = _EXAMPLES[data["example"]][0](data)
    else:
        path = Path(spec.get("_base", ".")) / data["file"]
        options = {k: data[k] for k in _FILE_KEYS if k in data}
        try:
            df = read_data(path, **options)
        except DataError as err:
            raise SpecError(f"[data] file: {err}") from None
    attrs = dict(df.attrs)
    for column, value in data.get("filter", {}).items():
        if column not in df:
            raise SpecError(f"[data] filter names column {column!r}, not in {list(df.columns)}.")
        df = df[df[column] == value]
        if df.empty:
            raise SpecError(f"[data] filter {column} = {value!r} keeps no rows.")
    df = df.reset_index(drop=True)
    df.attrs.update(attrs)
    return df


def wants_checks(spec: Mapping[str, Any]) -> bool:
    """Whether the fit is followed by the model checks.

    Default: partially pooled summary specs (their refits reuse the compiled sampler); a
    person spec asks for them with ``[output] checks = true``.
    """
    default = kind_of(spec) == "summary" and _pooling(spec) == "partial"
    return bool(spec.get("output", {}).get("checks", default))


def _pooling(spec: Mapping[str, Any]) -> str:
    return str(spec.get("model", {}).get("pooling", "partial"))


def output_folder(spec: Mapping[str, Any], default: str = "pwbayes-results") -> Path:
    """Return the output folder of a spec, relative to the spec's folder."""
    folder = Path(spec.get("output", {}).get("folder", default))
    return folder if folder.is_absolute() else Path(spec.get("_base", ".")) / folder


def model_from_spec(spec: Mapping[str, Any]):
    """Build (not fit) the model a spec describes: a SummaryModel or a PersonModel."""
    df = load_spec_data(spec)
    options = dict(spec.get("model", {}))
    if kind_of(spec) == "person":
        from .models.person import PersonModel

        columns = dict(spec["columns"])
        if "site_data" in options:
            options["site_data"] = _site_data(spec, options["site_data"])
        return PersonModel(df, **columns, **options, priors=spec.get("priors"))
    from .models.summary import SummaryModel

    return SummaryModel(df, **spec["columns"], **options, priors=spec.get("priors"))


def _site_data(spec: Mapping[str, Any], where: object) -> pd.DataFrame:
    """Read the table of sites of ``[model] site_data``: ``"published"`` or a file."""
    if where == "published":
        from .data.published import municipalities

        return municipalities()
    if not isinstance(where, str):
        raise SpecError(
            f"[model] site_data = {where!r}: give a file of one row per site (relative to the "
            'spec), or "published" for the published facts about the six municipalities.'
        )
    try:
        return read_data(Path(spec.get("_base", ".")) / where)
    except DataError as err:
        raise SpecError(f"[model] site_data: {err}") from None
