"""The record of a person model: data layout, options and priors, no person-level data.

Counts of persons are written as :func:`~pwbayes.data.disclosure.count_text` (``"fewer
than 10"`` when small, and totals rounded to tens when some count is hidden); the site x
arm estimates, covariate means and SDs are written as they are and pass the disclosure gate
(:mod:`pwbayes.postprocess.disclosure`) before they can leave a fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...data.disclosure import count_text, is_small
from ...data.moderators import moderator_values
from ...record import ModelRecord, NormalApproxSection, PersonSection, Row, SubgroupSection

if TYPE_CHECKING:
    from . import PersonModel

__all__ = ["hides_counts", "person_record"]


def hides_counts(model: PersonModel) -> bool:
    """Whether some count of persons is hidden: then totals are shown rounded to tens."""
    small = any(is_small(n, model.min_cell) for n in model.data.dropped.values())
    return small or bool(model.disclosure.notes)


def person_record(model: PersonModel) -> ModelRecord:
    """Return the :class:`~pwbayes.record.ModelRecord` of ``model``."""
    d, table = model.data, model._site_table
    # an arm and comparison group without any variation (e.g. no events in a small
    # cell) have no unpooled standard error: they keep their row, not its estimate
    rows = tuple(
        Row(str(s), str(a), float(y), float(se))
        if np.isfinite(se) and se > 0
        else Row(str(s), str(a), None, None)
        for s, a, y, se in zip(table["site"], table["arm"], table["estimate"], table["se"],
                               strict=True)
    )  # fmt: skip
    sub = None
    if model.subgroup_layout is not None:
        edges, quantiles = model.subgroup_bins
        sub = SubgroupSection(
            levels={v: tuple(lev) for v, lev in model.subgroup_layout.levels.items()},
            by_site=model.subgroups_by_site,
            bins=edges,
            quantile_bins=quantiles,
        )
    return ModelRecord(
        kind="PersonModel",
        note=model.note,
        columns={k: d.columns[k] for k in ("site", "arm", "outcome")},
        scale=model.unit,
        site_noun=model.site_noun,
        weak_tau=dict(model.weak_tau),
        pooling="partial",
        sites=tuple(d.sites),
        components=tuple(d.components),
        component_labels={c: model.parser.components.get(c, c) for c in d.components},
        arms=tuple(d.arms),
        arm_components={a: tuple(c) for a, c in d.arm_components.items()},
        rows=rows,
        priors={name: prior.to_dict() for name, prior in model.priors.items()},
        person=_person_section(model),
        subgroups=sub,
    )


def _person_section(model: PersonModel) -> PersonSection:
    d, stage = model.data, model.stage_one
    approx = None
    if stage is not None:
        approx = NormalApproxSection(
            parameters=tuple(stage.layout.names),
            iterations=stage.iterations,
            sigma_hat=None if stage.sigma_hat is None else float(stage.sigma_hat),
        )
    return PersonSection(
        family=model.family,
        comparison=dict(d.comparison),
        covariate_columns=tuple(d.columns["covariates"]),
        dropped={k: count_text(v, model.min_cell) for k, v in d.dropped.items()},
        n_persons=count_text(len(d.y), model.min_cell, exact=not hides_counts(model)),
        collapsed=model.cells.collapsed,
        likelihood=model.likelihood,
        parameterization=model.parameterization,
        normal_approx=approx,
        covariates=tuple(d.covariates),
        covariate_mean=tuple(float(v) for v in d.covariate_mean),
        covariate_sd=tuple(float(v) for v in d.covariate_sd),
        moderators=moderator_values(model.moderators),
        held_out_sites=tuple(model.held_out_sites),
    )
