"""The record of a fit: what the model was, how it was sampled, checked and disclosed.

A :class:`FitRecord` is typed and versioned. It is saved beside the posterior
(:meth:`pwbayes.results.ResultBase.save`) and read back by :func:`pwbayes.load_result`,
which refuses a record it cannot restore: a foreign or damaged file, or one of another
format version. Sections that only one kind of model has (``summary``, ``person``,
``subgroups``, ``disclosure``) are ``None`` for the other: no placeholders.

Format versions:

1. pwbayes 0.1: an unversioned configuration dict (``pwbayes_config``); not read any more.
2. pwbayes 0.2: this record (``pwbayes_record`` and ``pwbayes_format``).

This module needs the standard library only.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._typed import build, plain
from ._version import __version__
from .errors import RecordError

__all__ = [
    "FORMAT_VERSION",
    "Diagnostics",
    "DisclosureSection",
    "FitRecord",
    "ModelRecord",
    "NormalApproxSection",
    "PersonSection",
    "Row",
    "Sampling",
    "SubgroupSection",
    "SummarySection",
    "Timings",
    "VariableDiagnostics",
]

#: Version of the saved format that this pwbayes writes and reads.
FORMAT_VERSION = 2


@dataclass(frozen=True)
class Row:
    """One site x arm row: the site's own estimate and standard error (``None``: none).

    For a person-level model these are the published method's unpooled estimates; a row
    resting on a small cell keeps its names and loses its numbers.
    """

    site: str
    arm: str
    estimate: float | None
    se: float | None

    @property
    def label(self) -> str:
        """The ``row`` coordinate: ``"site: arm"``."""
        return f"{self.site}: {self.arm}"


@dataclass(frozen=True)
class SummarySection:
    """Options of a :class:`~pwbayes.SummaryModel`."""

    interactions: bool
    suspect_action: str
    suspect_rows: tuple[str, ...]
    excluded_rows: tuple[Row, ...]
    bias_sites: tuple[str, ...]
    #: Sites whose rows were held out of the likelihood (leave-one-site-out refits).
    held_out_sites: tuple[str, ...] = ()
    #: Site-level moderators: name -> value per site (in the order of ``sites``).
    moderators: dict[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class NormalApproxSection:
    """Stage one of ``likelihood="normal_approx"``: the parameters integrated out."""

    parameters: tuple[str, ...]
    iterations: int
    sigma_hat: float | None


@dataclass(frozen=True)
class PersonSection:
    """Options and data description of a :class:`~pwbayes.PersonModel`.

    Counts of persons are text: a number, or ``"fewer than 10"`` where disclosure control
    hides it; the number of persons is rounded to tens (``"about 1400"``) when some count
    was hidden, so that a difference cannot give it away. The mean and SD of a covariate are
    ``None`` when it takes at most three values and one of them is held by fewer than
    ``min_cell`` persons (with the count, they would give that number away).
    """

    family: str
    comparison: dict[str, str]
    covariate_columns: tuple[str, ...]
    dropped: dict[str, str]
    n_persons: str
    collapsed: bool
    likelihood: str
    parameterization: str | None
    normal_approx: NormalApproxSection | None
    covariates: tuple[str, ...]
    covariate_mean: tuple[float | None, ...]
    covariate_sd: tuple[float | None, ...]
    #: Site-level moderators: name -> value per site (in the order of ``sites``).
    moderators: dict[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    #: Sites whose persons were held out of the likelihood (leave-one-site-out refits).
    held_out_sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubgroupSection:
    """Subgroup variables of a person-level model, their levels and bins."""

    levels: dict[str, tuple[str, ...]]
    by_site: bool
    bins: dict[str, tuple[float, ...]]
    quantile_bins: dict[str, int]

    @property
    def labels(self) -> list[str]:
        """The ``subgroup`` coordinate: ``"variable: level"`` for every level."""
        return [f"{v}: {lev}" for v, levels in self.levels.items() for lev in levels]


@dataclass(frozen=True)
class DisclosureSection:
    """Statistical disclosure control applied to every output (never a count of persons).

    ``masked_values`` counts the posterior entries (not persons) set to NaN per variable.
    """

    min_cell: int
    suppressed: tuple[str, ...]
    masked_values: dict[str, int]


@dataclass(frozen=True)
class ModelRecord:
    """What the model was: data layout, options and priors (no person-level data).

    ``scale`` is the unit of the effects on the outcome's scale (``"percentage points"``,
    ``"SAT points"``); ``site_noun`` what a site is (``"municipality"``, ``"school"``);
    ``weak_tau`` names the components whose between-site SD rests (mostly) on its prior,
    and why (seen in one or a few sites).
    """

    kind: str
    note: str | None
    columns: dict[str, str | None]
    scale: str
    site_noun: str
    pooling: str
    sites: tuple[str, ...]
    components: tuple[str, ...]
    component_labels: dict[str, str]
    arms: tuple[str, ...]
    arm_components: dict[str, tuple[str, ...]]
    rows: tuple[Row, ...]
    priors: dict[str, dict[str, float | str]]
    summary: SummarySection | None = None
    person: PersonSection | None = None
    subgroups: SubgroupSection | None = None
    weak_tau: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def moderators(self) -> dict[str, tuple[float, ...]]:
        """Site-level moderators of either kind of model: name -> raw value per site."""
        section = self.summary if self.summary is not None else self.person
        return dict(section.moderators) if section is not None else {}

    @property
    def row_labels(self) -> list[str]:
        """The ``row`` coordinate, in order."""
        return [r.label for r in self.rows]

    @property
    def prior_table(self) -> dict[str, str]:
        """The priors as text, e.g. ``{"tau": "HalfNormal(sigma=3.6)"}``."""
        out = {}
        for name, spec in self.priors.items():
            params = ", ".join(f"{k}={v:g}" for k, v in spec.items() if k != "dist")
            out[name] = f"{spec['dist']}({params})"
        return out

    def design(self) -> list[list[float]]:
        """Arm-by-component indicators (arms x components), as nested lists."""
        return [
            [1.0 if c in self.arm_components[a] else 0.0 for c in self.components]
            for a in self.arms
        ]


@dataclass(frozen=True)
class Sampling:
    """How the draws were made: the sampler and its settings (``"external"``: given draws)."""

    sampler: str
    draws: int
    chains: int
    tune: int | None
    random_seed: int | None
    target_accept: float | None


@dataclass(frozen=True)
class Timings:
    """Wall time of each stage of the fit, in seconds."""

    compile_s: float
    sample_s: float
    postprocess_s: float


@dataclass(frozen=True)
class VariableDiagnostics:
    """Worst R-hat and bulk/tail ESS over one variable's elements."""

    rhat: float
    ess_bulk: float
    ess_tail: float


@dataclass(frozen=True)
class Diagnostics:
    """Convergence checks of the draws (:mod:`pwbayes.postprocess.diagnostics`)."""

    divergences: int
    chains: int
    draws: int
    variables: dict[str, VariableDiagnostics]
    problems: tuple[str, ...]

    def line(self) -> str:
        """Say in one line whether the checks passed, and what failed first if not."""
        if not self.problems:
            return "convergence: all checks passed"
        first = self.problems[0].split(":")[0]
        more = f" and {len(self.problems) - 1} more" if len(self.problems) > 1 else ""
        return f"convergence: {first}{more}; results may be unreliable (see the report)"


@dataclass(frozen=True)
class FitRecord:
    """The record of one fit, saved with its posterior.

    Attributes
    ----------
    model : ModelRecord
        What the model was.
    sampling : Sampling
        The sampler and its settings.
    timings : Timings
    diagnostics : Diagnostics
    disclosure : DisclosureSection or None
        Disclosure control (person-level models).
    pwbayes_version : str
        The pwbayes that made the fit.
    format_version : int
        :data:`FORMAT_VERSION` when written.
    """

    model: ModelRecord
    sampling: Sampling
    timings: Timings
    diagnostics: Diagnostics
    disclosure: DisclosureSection | None
    pwbayes_version: str = __version__
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-friendly data (dicts, lists, numbers, text)."""
        return plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitRecord:
        """Rebuild a record from :meth:`to_dict`'s output.

        Raises
        ------
        RecordError
            If the format version is not :data:`FORMAT_VERSION`, or a field is missing,
            unknown or of the wrong type; the message names it.
        """
        if not isinstance(data, Mapping):
            raise RecordError(f"a record must be a mapping, got {type(data).__name__}.")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise RecordError(format_message(version, data.get("pwbayes_version")))
        return build(cls, data, "record")

    def to_json(self) -> str:
        """Return :meth:`to_dict` as JSON text.

        Keys keep their order: the order of a record's mappings (moderators, subgroup
        variables, arms) is the order of the posterior's coordinates.
        """
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> FitRecord:
        """Rebuild a record from :meth:`to_json`'s output (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecordError(
                f"the record is not valid JSON ({err}); the file is damaged."
            ) from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> FitRecord:
        """Return a copy with some fields changed (:func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)


def format_message(version: object, written_by: object) -> str:
    """Explain why a record of format ``version`` cannot be read, and what to do."""
    who = f" by pwbayes {written_by}" if written_by else ""
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return (
            f"the record was written{who} in format {version}; this pwbayes ({__version__}) "
            f"reads format {FORMAT_VERSION}. Upgrade pwbayes to read it."
        )
    if version == 1:
        return (
            f"the record was written{who} in format 1 (pwbayes 0.1's unversioned "
            f"configuration); this pwbayes ({__version__}) reads format {FORMAT_VERSION} only. "
            "Refit the model and save it again: format-1 files of person-level models can "
            "hold figures of cells below min_cell."
        )
    return (
        f"the record has format version {version!r}; this pwbayes ({__version__}) reads "
        f"format {FORMAT_VERSION}. The file is damaged or was not written by pwbayes."
    )
