"""Helpers shared by the model modules."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import arviz as az
import pymc as pm

from ..diagnostics import check_convergence, diagnose
from ..priors import Prior, ResolvedPriors
from ..sampling import available_sampler, compile_model, run_sampler


@cache
def kernel_version(path: str) -> int:
    """Version of a module's numba kernels for PyTensor's compile cache: its source's hash.

    PyTensor caches compiled graphs on disk under a key made of each Op's identity and this
    number, so editing a kernel module invalidates the graphs that use it.
    """
    return int(hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12], 16)


def prior_rv(name: str, priors: ResolvedPriors, var: str, labels: Sequence[str], dims):
    """Create the vector random variable ``name`` with the (per-label) prior of ``var``."""
    dist, params = priors.params(var, labels)
    return getattr(pm, dist)(name, **params, dims=dims)


def scalar_rv(name: str, prior: Prior):
    """Create a scalar random variable with ``prior``."""
    return getattr(pm, prior.dist)(name, **prior.params)


def sample(owner, *, data: dict, sampler: str, **settings) -> tuple[az.InferenceData, dict]:
    """Compile (once per structure) and sample ``owner.model``; return idata and config.

    ``owner`` is a model object with ``model``, ``_compiled``, ``_structure_key()`` and
    ``config()``; ``data`` holds the current values of its ``pm.Data`` containers;
    ``settings`` are ``draws, tune, chains, random_seed, target_accept, progress``.
    """
    engine = available_sampler(sampler)
    start = time.perf_counter()
    if engine not in owner._compiled:
        owner._compiled[engine] = compile_model(
            owner.model, engine, key=owner._structure_key(), data=data
        )
    compiled = time.perf_counter()
    idata = run_sampler(owner.model, sampler=engine, compiled=owner._compiled[engine], **settings)
    config = owner.config()
    config["sampling"] = {
        "sampler": engine,
        **{k: v for k, v in settings.items() if k != "progress"},
    }
    config["timings"] = {
        "compile_s": round(compiled - start, 2),
        "sample_s": round(time.perf_counter() - compiled, 2),
    }
    return idata, config


def check(idata: az.InferenceData, config: dict, variables: Sequence[str]) -> None:
    """Run the convergence checks on ``variables`` and record them in ``config``."""
    report = diagnose(idata, [v for v in variables if v in idata.posterior])
    report["problems"] = check_convergence(report, stacklevel=4)
    config["diagnostics"] = report
