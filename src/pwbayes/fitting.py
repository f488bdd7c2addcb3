"""From a model to a result: sample, post-process (disclosure control last), wrap.

:func:`fit_model` is what ``model.fit()`` runs. :func:`result_from_draws` runs the same
post-processing on draws made elsewhere (another sampler, or simulated draws in tests),
so that every result, however its draws were made, passes the same steps and the same
disclosure gate.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Protocol

import arviz as az
import pymc as pm

from .postprocess import Seeds, finish, seeds_for
from .record import ModelRecord, Sampling
from .results import ResultBase, result_for
from .sampling import available_sampler, check_settings, compile_model, run_sampler

__all__ = ["Fittable", "fit_model", "result_from_draws"]


class Fittable(Protocol):
    """What a model offers the fit (:class:`pwbayes.models.base.ModelBase` implements it)."""

    CHECKED: ClassVar[tuple[str, ...]]

    @property
    def model(self) -> pm.Model:
        """The PyMC model."""
        ...

    def structure_key(self) -> str:
        """Identify the compiled graph (same key: only data values differ)."""
        ...

    def data_values(self) -> dict[str, Any]:
        """Return the values of the model's data containers."""
        ...

    def model_record(self) -> ModelRecord:
        """Describe the model."""
        ...

    def postprocess_inputs(self) -> Any:
        """Return what post-processing needs besides draws and record."""
        ...


def fit_model(
    model: Fittable,
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    target_accept: float,
    sampler: str,
    progress: bool | None,
) -> ResultBase:
    """Compile (once per structure), sample and post-process ``model``.

    Parameters are those of :meth:`pwbayes.SummaryModel.fit`.

    Returns
    -------
    SummaryResult or PersonResult
    """
    settings = check_settings(draws, tune, chains, target_accept, progress)
    engine = available_sampler(sampler)
    seeds = seeds_for(random_seed)
    start = time.perf_counter()
    compiled = compile_model(
        model.model, engine, key=model.structure_key(), data=model.data_values()
    )
    compiled_at = time.perf_counter()
    idata = run_sampler(
        model.model,
        sampler=engine,
        compiled=compiled,
        random_seed=seeds.sampler,
        **settings,
    )
    seconds = (compiled_at - start, time.perf_counter() - compiled_at)
    sampling = Sampling(
        engine,
        settings["draws"],
        settings["chains"],
        settings["tune"],
        seeds.sampler,
        settings["target_accept"],
    )
    return _result(model, idata, sampling, seeds, seconds, stacklevel=5)


def result_from_draws(
    model: Fittable,
    draws: az.InferenceData,
    *,
    random_seed: int | None = None,
    sampler: str = "external",
) -> ResultBase:
    """Turn draws of a model's parameters into a result, as a fit does.

    Parameters
    ----------
    model : SummaryModel or PersonModel
    draws : arviz.InferenceData
        ``posterior`` with the model's parameters (dims and coordinates as in
        ``model.coords``) and ``sample_stats`` with ``diverging``.
    random_seed : int, optional
        Seeds the post-processing's random draws (new-site effects...).
    sampler : str
        What made the draws, for the record.

    Returns
    -------
    SummaryResult or PersonResult
        Post-processed and past the disclosure gate, like :meth:`~pwbayes.SummaryModel.fit`'s.
    """
    post = draws.posterior
    sampling = Sampling(
        sampler, int(post.sizes["draw"]), int(post.sizes["chain"]), None, random_seed, None
    )
    return _result(model, draws, sampling, seeds_for(random_seed), (0.0, 0.0), stacklevel=3)


def _result(
    model: Fittable,
    draws: az.InferenceData,
    sampling: Sampling,
    seeds: Seeds,
    seconds: tuple[float, float],
    stacklevel: int,
) -> Any:
    idata, record = finish(
        draws,
        model.model_record(),
        sampling,
        seeds=seeds,
        checked=model.CHECKED,
        person=model.postprocess_inputs(),
        seconds=seconds,
        stacklevel=stacklevel + 1,
    )
    return result_for(idata, record)
