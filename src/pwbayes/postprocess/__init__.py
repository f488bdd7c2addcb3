"""Post-processing: from the sampler's draws to what a result holds, in one fixed order.

:func:`finish` is the one place that runs the steps, each a function over the draws and
the model's record that returns new variables:

1. conditional draws of the site effects (national-scale model, :mod:`.conditional`);
2. new-site and arm effects (:mod:`.derived`);
3. effects on the outcome's scale, by g-computation (person model, :mod:`.outcome_scale`);
4. effects per subgroup level (:mod:`.subgroups`);
5. the site x arm rows as data groups (:mod:`.derived`);
6. convergence diagnostics (:mod:`.diagnostics`);
7. disclosure control, last: every output passes it (:mod:`.disclosure`).

The random numbers of steps 1-3 come from streams spawned once from the seed
(:mod:`.seeds`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import arviz as az

from ..models.person.inputs import PersonInputs
from ..record import FitRecord, ModelRecord, Sampling, Timings
from .conditional import site_effects_given_hyperparameters
from .derived import data_groups, new_site_and_arms
from .diagnostics import check_convergence, diagnose
from .disclosure import disclose
from .outcome_scale import outcome_scale
from .seeds import Seeds, seeds_for
from .subgroups import subgroup_effects

__all__ = ["Seeds", "finish", "seeds_for"]


def finish(
    draws: az.InferenceData,
    record: ModelRecord,
    sampling: Sampling,
    *,
    seeds: Seeds,
    checked: Sequence[str],
    person: PersonInputs | None = None,
    seconds: tuple[float, float] = (0.0, 0.0),
    stacklevel: int = 2,
) -> tuple[az.InferenceData, FitRecord]:
    """Run every post-processing step on ``draws``, disclosure control last.

    Parameters
    ----------
    draws : arviz.InferenceData
        The sampler's ``posterior`` and ``sample_stats`` (other groups are not read).
    record : ModelRecord
        The model's record (:meth:`pwbayes.models.base.ModelBase.model_record`).
    sampling : Sampling
        How the draws were made.
    seeds : Seeds
        From :func:`seeds_for`.
    checked : sequence of str
        Variables whose convergence is checked.
    person : PersonInputs, optional
        Person-level inputs (person models only).
    seconds : (float, float)
        Compile and sampling time, for the record.
    stacklevel : int
        Of the convergence warning, so that it points at the user's call.

    Returns
    -------
    (idata, FitRecord)
        What a result holds, past the disclosure gate.
    """
    start = time.perf_counter()
    post = draws.posterior
    if person is not None and person.stage_one is not None:
        post = post.assign(
            site_effects_given_hyperparameters(post, person.stage_one, seeds.conditional)
        )
    post = post.assign(new_site_and_arms(post, record, seeds.new_site))
    if person is not None:
        post = post.assign(outcome_scale(post, record, person.data, seeds.outcome_scale))
        if person.layout is not None:
            binary = record.person is not None and record.person.family == "bernoulli"
            new, drop = subgroup_effects(post, person.data, person.layout, binary)
            post = post.assign(new).drop_vars(drop)
    idata = az.InferenceData(posterior=post, sample_stats=draws.sample_stats, **data_groups(record))
    diagnostics = check_convergence(diagnose(idata, checked), stacklevel=stacklevel + 1)
    idata, record, disclosure = disclose(idata, record, person.policy if person else None)
    timings = Timings(
        compile_s=round(seconds[0], 2),
        sample_s=round(seconds[1], 2),
        postprocess_s=round(time.perf_counter() - start, 2),
    )
    return idata, FitRecord(record, sampling, timings, diagnostics, disclosure)
