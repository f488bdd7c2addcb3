"""Running the sampler: nutpie (default) with PyMC's NUTS as the fallback.

nutpie compiles the PyMC model with numba and samples in Rust. The choice was measured
(``benchmarks/speed.py``; ``docs/benchmarks.md``, "The default sampler"): per second of
sampling nutpie gave 10.6x the effective draws of ``pm.sample`` on the summary example,
2.1x on the full synthetic population and 4.0x at national scale, and 3.3-14x Stan's; a
second fit of a model of the same structure reuses the compiled sampler (0.8 s on the
summary example against 7 s for ``pm.sample``). Its cost is numba's one-time compilation
on a new machine (cached on disk afterwards): on a machine's very first fit PyMC's NUTS
gives 1.2-1.4x the effective draws per second of wall time. nutpie installs from PyPI as a
wheel and is a dependency; ``sampler="auto"`` uses it when it is importable and falls back
to PyMC's NUTS otherwise; the sampler used is recorded in
``result.record.sampling.sampler``. numpyro was measured and not adopted: the
person model's likelihood and whitening are numba Ops with no JAX implementation, and
on the summary model its fast first compile is outweighed by nutpie's reuse of the
compiled sampler within a session.
"""

from __future__ import annotations

import importlib.util
import operator
import os
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import arviz as az
import pymc as pm

from .errors import DataError

__all__ = ["SAMPLERS", "available_sampler", "check_settings", "compile_model", "run_sampler"]

SAMPLERS = ("auto", "nutpie", "pymc")

#: Compiled nutpie models by structure key (least recently used dropped first).
_COMPILED: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 16


def available_sampler(requested: str = "auto") -> str:
    """Resolve ``"auto"`` to ``"nutpie"`` when it is installed, else ``"pymc"``.

    Parameters
    ----------
    requested : {"auto", "nutpie", "pymc"}

    Returns
    -------
    str
    """
    if requested not in SAMPLERS:
        raise DataError(f"sampler={requested!r} is not allowed; use one of {SAMPLERS}.")
    has_nutpie = importlib.util.find_spec("nutpie") is not None
    if requested == "nutpie" and not has_nutpie:
        raise ImportError("sampler='nutpie' needs the nutpie package: pip install nutpie")
    if requested == "auto":
        return "nutpie" if has_nutpie else "pymc"
    return requested


def check_settings(
    draws: object, tune: object, chains: object, target_accept: object, progress: object
) -> dict[str, Any]:
    """Check the sampler settings of ``fit()``; return them as plain Python values.

    Whole numbers may be numpy integers. ``tune=0`` is refused (nutpie stops with a panic,
    and an unadapted sampler is useless anyway); one chain is allowed, but R-hat cannot be
    checked (the diagnostics say so).

    Raises
    ------
    DataError
        Naming the setting, its value and what is allowed.
    """
    out: dict[str, Any] = {}
    for name, value, example in (
        ("draws", draws, 1000),
        ("tune", tune, 1000),
        ("chains", chains, 4),
    ):
        try:
            if isinstance(value, bool):
                raise TypeError
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            number = 0
        if number < 1:
            raise DataError(f"{name}={value!r} must be a whole number >= 1, e.g. {name}={example}.")
        out[name] = int(number)
    if (
        isinstance(target_accept, bool)
        or not isinstance(target_accept, int | float)
        or not (0 < float(target_accept) < 1)
    ):
        raise DataError(
            f"target_accept={target_accept!r} must be a number between 0 and 1, e.g. 0.95."
        )
    if progress is not None and not isinstance(progress, bool):
        raise DataError(f"progress={progress!r} must be True, False or None.")
    return {**out, "target_accept": float(target_accept), "progress": progress}


def compile_model(
    model: pm.Model,
    sampler: str,
    *,
    key: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Any:
    """Compile ``model`` for ``sampler`` (nutpie only; PyMC compiles inside ``pm.sample``).

    Parameters
    ----------
    model : pymc.Model
    sampler : {"nutpie", "pymc"}
    key : str, optional
        Structure key: models with the same key differ only in their ``pm.Data``
        values, so a compiled model is reused with ``data`` swapped in (compiling takes
        seconds, sampling the summary example well under one).
    data : mapping, optional
        Current values of the model's ``pm.Data`` containers.
    """
    if sampler != "nutpie":
        return None
    import nutpie

    if key is not None and key in _COMPILED:
        _COMPILED.move_to_end(key)
        return _COMPILED[key].with_data(**(data or {}))
    compiled = nutpie.compile_pymc_model(model)
    if key is not None:
        _COMPILED[key] = compiled
        while len(_COMPILED) > _CACHE_SIZE:
            _COMPILED.popitem(last=False)
    return compiled


def run_sampler(
    model: pm.Model,
    *,
    sampler: str,
    compiled: Any,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    target_accept: float,
    progress: bool | None,
) -> az.InferenceData:
    """Sample the posterior and return InferenceData with ``posterior`` and ``sample_stats``.

    The posterior holds the model's named variables (free and deterministic), not the
    sampler's unconstrained coordinates (``tau_log__``...).

    The settings are checked first (:func:`check_settings`).

    Parameters
    ----------
    model : pymc.Model
    sampler : {"nutpie", "pymc"}
    compiled : object
        From :func:`compile_model` (ignored for PyMC).
    draws, tune, chains : int
        Kept draws and tuning steps per chain; number of chains.
    random_seed : int, optional
    target_accept : float
        NUTS target acceptance; higher means smaller steps and fewer divergences.
    progress : bool, optional
        Show a progress bar; ``None`` shows one when the output is a terminal.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    if sampler == "nutpie":
        import nutpie

        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=min(chains, os.cpu_count() or 1),
            seed=random_seed,
            target_accept=target_accept,
            progress_bar=progress,
            save_warmup=False,
        )
    else:
        with model:
            idata = pm.sample(
                draws=draws,
                tune=tune,
                chains=chains,
                cores=min(chains, os.cpu_count() or 1),
                random_seed=random_seed,
                target_accept=target_accept,
                progressbar=progress,
                compute_convergence_checks=False,
                return_inferencedata=True,
                idata_kwargs={"log_likelihood": False},
            )
    named = [v.name for v in (*model.free_RVs, *model.deterministics)]
    return az.InferenceData(
        posterior=idata.posterior[[v for v in named if v in idata.posterior]],
        sample_stats=idata.sample_stats,
    )
