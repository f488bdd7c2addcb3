"""Convergence diagnostics checked after every fit.

Thresholds follow Vehtari et al. (2021): R-hat <= 1.01, bulk and tail ESS >= 100
per chain, and no divergent transitions.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import arviz as az
import numpy as np

from ..errors import ConvergenceWarning
from ..record import Diagnostics, VariableDiagnostics

__all__ = ["ESS_PER_CHAIN_MIN", "RHAT_MAX", "check_convergence", "diagnose"]

RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100


def diagnose(idata: az.InferenceData, var_names: Sequence[str]) -> Diagnostics:
    """Compute R-hat, bulk/tail ESS (worst over each variable) and divergences.

    Parameters
    ----------
    idata : arviz.InferenceData
    var_names : sequence of str
        Sampled quantities to check (the free parameters and their transforms); those
        absent from the posterior are skipped.

    Returns
    -------
    Diagnostics
        The worst value of each variable's elements, and no problems listed yet
        (:func:`check_convergence` finds them).
    """
    post = idata.posterior
    names = [v for v in var_names if v in post]
    # R-hat compares chains: with one there is nothing to compare (ArviZ would warn)
    rhat = az.rhat(post, var_names=names) if post.sizes["chain"] > 1 else None
    bulk = az.ess(post, var_names=names, method="bulk")
    tail = az.ess(post, var_names=names, method="tail")
    return Diagnostics(
        divergences=int(idata.sample_stats["diverging"].sum()),
        chains=int(post.sizes["chain"]),
        draws=int(post.sizes["draw"]),
        variables={
            v: VariableDiagnostics(
                rhat=float(np.nanmax(rhat[v].values)) if rhat is not None else float("nan"),
                ess_bulk=float(np.nanmin(bulk[v].values)),
                ess_tail=float(np.nanmin(tail[v].values)),
            )
            for v in names
        },
        problems=(),
    )


def check_convergence(report: Diagnostics, stacklevel: int = 2) -> Diagnostics:
    """Find the problems in a :func:`diagnose` report and warn once if there are any.

    Parameters
    ----------
    report : Diagnostics
        From :func:`diagnose`.
    stacklevel : int
        Passed to :func:`warnings.warn`, so that the warning points at the user's call.

    Returns
    -------
    Diagnostics
        ``report`` with ``problems``: one sentence per problem, empty when all checks pass.
    """
    problems = []
    ess_min = ESS_PER_CHAIN_MIN * report.chains
    if report.chains < 2:
        problems.append(
            "R-hat cannot be checked with one chain: chains cannot be compared; use chains=4"
        )
    if report.divergences:
        problems.append(
            f"{report.divergences} divergent transition(s): the posterior has regions the "
            "sampler cannot explore; raise target_accept (e.g. 0.99) or use a tighter prior on "
            "tau"
        )
    for name, d in report.variables.items():
        if d.rhat > RHAT_MAX:
            problems.append(
                f"R-hat of {name!r} is {d.rhat:.3f} (> {RHAT_MAX}): chains disagree; increase "
                "tune and draws"
            )
        worst = min(d.ess_bulk, d.ess_tail)
        if worst < ess_min:
            problems.append(
                f"ESS of {name!r} is {worst:.0f} (< {ess_min} = {ESS_PER_CHAIN_MIN} per chain): "
                "increase draws, or tune if R-hat is high too"
            )
    if problems:
        warnings.warn(
            "Sampling diagnostics found problems; estimates may be unreliable:\n- "
            + "\n- ".join(problems),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return dataclasses.replace(report, problems=tuple(problems))
