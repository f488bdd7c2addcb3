"""A :class:`~pwbayes.SummaryModel` rebuilt from the record of its fit.

A summary model's record holds everything the model was made of: the site x arm rows
(estimates and SEs, which are not person-level), the options and the priors in force. So a
saved or in-memory :class:`~pwbayes.SummaryResult` can be refitted (leave one site out,
other priors) without the caller's data frame.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..arms import ArmParser, normalise_label
from ..errors import RecordError
from ..record import ModelRecord
from .summary import SummaryModel

__all__ = ["summary_model_from_record"]


def summary_model_from_record(record: ModelRecord, priors: Mapping | None = None) -> SummaryModel:
    """Rebuild the summary model that ``record`` describes.

    Parameters
    ----------
    record : ModelRecord
        ``result.record.model`` of a :class:`~pwbayes.SummaryResult`.
    priors : mapping, optional
        Priors replacing the recorded ones (same keys as ``SummaryModel(priors=...)``;
        ``"tau"`` replaces the recorded ``"tau[...]"`` too); the others stay as recorded.

    Returns
    -------
    SummaryModel
        Same rows, options and priors; sites held out in the record are held out again.

    Raises
    ------
    RecordError
        For a record of another kind of model, or rows without an estimate.
    """
    if record.kind != "SummaryModel" or record.summary is None:
        raise RecordError(
            f"only a SummaryModel can be rebuilt from its record; this one is a {record.kind}. "
            "For a PersonModel pass the model itself (its person data are not in the result)."
        )
    section = record.summary
    suspect = set(section.suspect_rows)
    rows = [*record.rows, *section.excluded_rows]
    if any(r.estimate is None or r.se is None for r in rows):
        raise RecordError("the record has site x arm rows without an estimate or SE.")
    names = {k: v for k, v in record.columns.items() if v is not None}  # the user's columns
    flag = next(f for f in ("suspect", "_suspect", "__suspect") if f not in names.values())
    values = {
        "site": [r.site for r in rows],
        "arm": [r.arm for r in rows],
        "estimate": [r.estimate for r in rows],
        "se": [r.se for r in rows],
    }
    data = pd.DataFrame({names[k]: v for k, v in values.items() if k in names})
    data[flag] = [r.label in suspect or r in section.excluded_rows for r in rows]
    site_of = {s: k for k, s in enumerate(record.sites)}
    for name, per_site in section.moderators.items():
        data[name] = [per_site[site_of[r.site]] if r.site in site_of else np.nan for r in rows]
    merged = dict(record.priors)
    for key in priors or {}:  # a variable's prior replaces its per-component ones as well
        merged = {k: v for k, v in merged.items() if not k.startswith(f"{key}[")}
    merged.update(priors or {})
    model = SummaryModel(
        data,
        site=names["site"],
        estimate=names["estimate"],
        se=names["se"],
        arm=names.get("arm"),
        pooling=record.pooling,
        priors=merged,
        interactions=section.interactions,
        suspect=flag if data[flag].any() else None,
        suspect_action=section.suspect_action,
        note=record.note,
        unit=record.scale,
        site_noun=record.site_noun,
        parser=_parser(record),
        moderators=list(section.moderators) or None,
    )
    for site in section.held_out_sites:
        model = model.leave_out(site)
    return model


def _parser(record: ModelRecord) -> ArmParser:
    """Return a parser that reads the recorded arm labels into the recorded components."""
    parser = ArmParser()
    for comp in record.components:
        if comp not in parser.components:
            parser.register(comp, record.component_labels.get(comp, comp))
    for arm, comps in record.arm_components.items():
        if len(comps) == 1:  # a label of the user's own parser's making
            parser.aliases[normalise_label(arm)] = tuple(comps)
    return parser
