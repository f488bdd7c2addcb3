"""What post-processing needs from a person model besides the draws and the record.

Person-level data, in memory only: :mod:`pwbayes.postprocess` uses them for the
outcome-scale effects (g-computation over each site's participants), the subgroup
effects, the conditional draws of the national-scale model and the small-cell rules.
Nothing of it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...data.person import PersonData
from ...data.small_cells import DisclosurePolicy
from ...data.subgroups import SubgroupLayout
from .stage_one import StageOne

__all__ = ["PersonInputs"]


@dataclass(frozen=True)
class PersonInputs:
    """Person-level inputs of post-processing (never saved).

    Attributes
    ----------
    data : PersonData
    layout : SubgroupLayout or None
        Subgroup variables and their combinations.
    stage_one : StageOne or None
        The normal approximation (``likelihood="normal_approx"``): its site effects are
        drawn after sampling.
    policy : DisclosurePolicy
        The small cells, applied as the last step.
    """

    data: PersonData
    layout: SubgroupLayout | None
    stage_one: StageOne | None
    policy: DisclosurePolicy
