"""Design specs (TOML) that ``pwbayes design`` runs: a prior, candidate designs, outputs.

A design spec has a ``[prior]`` (an analysis spec to fit first, a saved result, or
explicit effects), candidate designs (a ``[grid]`` sweep and/or a list of ``[[designs]]``),
optionally one ``[contrast]`` or ``[subgroup]`` for every design, ``[evaluate]`` settings
and an ``[output]`` folder. Paths are relative to the spec's folder. The format is
documented in ``docs/specs.md``; ``models/design_*.toml`` are worked specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import PwbayesError, SpecError
from .spec import check_sections, read_toml

__all__ = ["designs_from_spec", "grid_options", "load_design_spec", "prior_from_spec"]

_ALLOWED: dict[str, set[str] | None] = {
    "title": None,
    "prior": {"spec", "result", "mu", "tau", "mu_sd", "unit", "outcome"},
    "grid": {"persons_per_arm", "arms", "sites", "comparison", "analysis", "base_rate",
             "outcome_sd", "outcome", "level"},
    "designs": None,
    "contrast": {"variable", "levels", "share", "difference"},
    "subgroup": None,
    "evaluate": {"draws", "analysis_draws", "random_seed"},
    "output": {"folder", "show", "level", "target"},
}  # fmt: skip
_DESIGN_KEYS = {"name", "arms", "comparison", "sites", "analysis", "base_rate", "outcome_sd",
                "outcome", "level"}  # fmt: skip


def load_design_spec(path: str | Path) -> dict:
    """Read and check a design spec; ``spec["_base"]`` is its folder.

    Raises
    ------
    SpecError
        For a missing file, invalid TOML, unknown sections or keys, or no designs.
    """
    path = Path(path)
    spec = read_toml(path, "Design spec")
    where = str(path)
    check_sections(spec, _ALLOWED, where)
    designs = spec.get("designs", [])
    if not isinstance(designs, list):
        raise SpecError(f"{where}: write each design as [[designs]] (double brackets).")
    for k, design in enumerate(designs):
        if not isinstance(design, Mapping) or "arms" not in design or "comparison" not in design:
            raise SpecError(
                f"{where}: [[designs]] number {k + 1} needs arms = {{...}} and comparison = ..."
            )
        unknown = set(design) - _DESIGN_KEYS
        if unknown:
            raise SpecError(
                f"{where}: [[designs]] number {k + 1}: unknown key(s) {sorted(unknown)}; "
                f"allowed: {sorted(_DESIGN_KEYS)}."
            )
    if "grid" not in spec and not spec.get("designs"):
        raise SpecError(f"{where}: give candidate designs: a [grid] or [[designs]] entries.")
    prior = spec.get("prior", {})
    sources = [k for k in ("spec", "result", "mu") if k in prior]
    if len(sources) != 1:
        raise SpecError(
            f"{where}: [prior] needs exactly one of spec = 'analysis.toml' (fit it first), "
            "result = 'fit.nc' or mu = {component = effect} (explicit); got "
            f"{sources or 'none'}."
        )
    spec["_base"] = str(path.resolve().parent)
    return spec


def prior_from_spec(spec: Mapping[str, Any], *, fit_settings: Mapping[str, Any] | None = None):
    """Return the prior of a design spec: a fitted result or an explicit EffectPrior.

    ``[prior] spec`` fits that analysis spec with its own sampling settings (updated by
    ``fit_settings``); ``result`` loads a saved result.
    """
    from .design import EffectPrior

    prior = spec["prior"]
    base = Path(spec.get("_base", "."))
    if "mu" in prior:
        options = {k: prior[k] for k in ("tau", "mu_sd", "unit", "outcome") if k in prior}
        return _built(lambda: EffectPrior(mu=prior["mu"], **options), "[prior]")
    if "result" in prior:
        from .results import load_result

        return load_result(base / prior["result"])
    from .spec import load_spec, model_from_spec

    analysis = load_spec(base / prior["spec"])
    model = model_from_spec(analysis)
    settings = {**analysis.get("sampling", {}), **(fit_settings or {})}
    return model.fit(**settings)


def designs_from_spec(spec: Mapping[str, Any]) -> list:
    """Return the candidate designs of ``[[designs]]`` (the grid is run by ``grid``)."""
    from .design import Design

    common = _common(spec)
    out = []
    for k, entry in enumerate(spec.get("designs", [])):
        out.append(_built(lambda e=entry: Design(**{**common, **e}), f"[[designs]] {k + 1}"))
    return out


def grid_options(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the keyword arguments of ``pw.design.grid`` from ``[grid]``, or None."""
    if "grid" not in spec:
        return None
    grid = dict(spec["grid"])
    for key in ("persons_per_arm", "arms"):
        if key not in grid:
            raise SpecError(f"[grid] needs {key} (e.g. persons_per_arm = [100, 300, 900]).")
    return {**_common(spec), **grid}


def _common(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return what applies to every design: the outcome, ``[contrast]`` and ``[subgroup]``.

    The outcome (whose published comparison levels are the base rates) is ``[prior]
    outcome``, or the ``[data] filter`` outcome of the analysis spec the prior is fitted from.
    """
    from .design import Contrast

    out: dict[str, Any] = {}
    outcome = _prior_outcome(spec)
    if outcome is not None:
        out["outcome"] = outcome
    if "contrast" in spec:
        c = dict(spec["contrast"])
        if "levels" in c:
            c["levels"] = tuple(c["levels"])
        out["contrast"] = _built(lambda: Contrast(**c), "[contrast]")
    if "subgroup" in spec:
        if not isinstance(spec["subgroup"], Mapping):
            raise SpecError(
                f"[subgroup] = {spec['subgroup']!r}: give a table, e.g. [subgroup] "
                'basic_qualification = "False".'
            )
        out["subgroup"] = dict(spec["subgroup"])
    return out


def _prior_outcome(spec: Mapping[str, Any]) -> str | None:
    prior = spec.get("prior", {})
    if "outcome" in prior or "spec" not in prior:
        return prior.get("outcome")
    from .spec import load_spec

    analysis = load_spec(Path(spec.get("_base", ".")) / prior["spec"])
    outcome = analysis.get("data", {}).get("filter", {}).get("outcome")
    return outcome if isinstance(outcome, str) else None


def _built(make, where: str):
    try:
        return make()
    except TypeError as err:
        raise SpecError(f"{where}: {err}") from None
    except PwbayesError as err:
        raise SpecError(f"{where}: {err}") from None
