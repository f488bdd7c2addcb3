"""What a person model shows of itself: its ``repr`` (counts of persons as disclosure allows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...data.disclosure import count_text
from .record import hides_counts

if TYPE_CHECKING:
    from . import PersonModel

__all__ = ["describe"]


def describe(model: PersonModel) -> str:
    """Return the model's ``repr``: data, likelihood, subgroups, disclosure and priors."""
    d = model.data
    exact = not hides_counts(model)
    lines = [
        f"PersonModel(family={model.family!r}, outcome={d.columns['outcome']!r})",
        f"  {count_text(len(d.y), model.min_cell, exact)} rows "
        f"({count_text(int(d.participant.sum()), model.min_cell, exact)} participants), "
        f"{len(d.sites)} sites: {', '.join(d.sites)}",
        f"  components: {', '.join(d.components)}",
        f"  covariates: {', '.join(d.covariates) or 'none'}",
        f"  comparison: {', '.join(f'{s}={c}' for s, c in d.comparison.items())}",
        *_likelihood_lines(model),
    ]
    if model.subgroup_layout is not None:
        where = "varying by site" if model.subgroups_by_site else "the same in every site"
        lines.append(
            f"  subgroups ({where}): "
            + "; ".join(
                f"{v} = {', '.join(lev)}" for v, lev in model.subgroup_layout.levels.items()
            )
        )
    if model.held_out_sites:
        lines.append(f"  held out of the likelihood: {', '.join(model.held_out_sites)}")
    if model.moderators is not None:
        lines.append(f"  site-level moderators: {', '.join(model.moderators.names)}")
    notes = model.disclosure.notes
    lines.append(
        f"  disclosure control: cells under {model.min_cell} persons are suppressed"
        + (f" ({len(notes)} such cell(s), see model.disclosure.notes)" if notes else "")
    )
    lines += [
        f"  left out: {k} ({count_text(v, model.min_cell)} rows)" for k, v in d.dropped.items()
    ]
    lines += [f"  tau[{c}]: {why}" for c, why in model.weak_tau.items()]
    lines.append("  priors (model scale):")
    lines += [f"    {k} ~ {v!r}" for k, v in model.priors.items()]
    if model.note:
        lines.append(f"  note: {model.note}")
    return "\n".join(lines)


def _likelihood_lines(model: PersonModel) -> list[str]:
    if model.stage_one is not None:
        return [
            f"  likelihood: normal approximation in {model.stage_one.layout.size} parameters "
            f"(from {model.cells.size} rows), which are integrated out",
            "  site x component effects: drawn from their conditional posterior",
        ]
    lines = []
    if model.cells.collapsed:
        lines.append(f"  likelihood: binomial over {model.cells.size} collapsed cells")
    if model.whitening is not None:
        lines.append(
            "  site effects: whitened by a stage-one normal approximation (exact change "
            "of variables)"
        )
    else:
        lines.append(f"  site x component effects: {model.parameterization}")
    return lines
