"""A candidate design of the next experiment: arms, persons, sites, analysis.

A :class:`Design` is a plain, validated description; it evaluates nothing. Persons are
counted **per site**: ``arms={"Extra Hulp": 300}, comparison=300, sites=3`` is 1800
persons. Arm labels are parsed into components as everywhere in pwbayes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..arms import default_parser
from ..errors import DesignError, quote_values

__all__ = ["ANALYSES", "Contrast", "Design"]

#: How the new data are analysed: each site alone (as published) or pooled with the old.
ANALYSES = ("unpooled", "pooled")


def _count(name: str, value: object, noun: str = "persons", example: int = 300) -> int:
    """Check a positive whole number (numpy integers accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise DesignError(
            f"{name}={value!r}: give a whole number of {noun} of at least 1, e.g. {example}."
        )
    return int(value)


def _real(name: str, value: object) -> float:
    """Check a finite number (numpy numbers accepted, booleans not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise DesignError(f"{name}={value!r}: give a finite number.")
    return float(value)


@dataclass(frozen=True)
class Contrast:
    """A difference in a component's effect between two levels of a subgroup variable.

    Parameters
    ----------
    variable : str
        The subgroup variable, e.g. ``"basic_qualification"``.
    levels : tuple of str, optional
        ``(level, reference)``: the contrast is level minus reference. Default: the
        prior's first two levels (required when the difference is given explicitly).
    share : float
        Share of the persons (in every arm and the comparison group) in ``level``.
    difference : float, optional
        The true difference to resolve, in the outcome's units (e.g. 5 percentage
        points). Default: drawn from the prior's subgroup effects.
    """

    variable: str
    levels: tuple[str, str] | None = None
    share: float = 0.5
    difference: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.variable, str) or not self.variable:
            raise DesignError(f"Contrast variable={self.variable!r}: give a column name.")
        if self.levels is not None:
            if isinstance(self.levels, str) or not isinstance(self.levels, Sequence):
                raise DesignError(
                    f"Contrast levels={self.levels!r}: give two levels, (level, reference), "
                    "e.g. ('False', 'True')."
                )
            levels = tuple(str(v) for v in self.levels)
            if len(levels) != 2 or levels[0] == levels[1]:
                raise DesignError(
                    f"Contrast levels={self.levels!r}: give two different levels, "
                    "(level, reference), e.g. ('False', 'True')."
                )
            object.__setattr__(self, "levels", levels)
        if not isinstance(self.share, numbers.Real) or not 0 < _real("share", self.share) < 1:
            raise DesignError(
                f"Contrast share={self.share!r}: the share of persons in the first level "
                "must lie strictly between 0 and 1, e.g. 0.4."
            )
        if self.difference is not None:
            object.__setattr__(self, "difference", _real("Contrast difference", self.difference))


@dataclass(frozen=True)
class Design:
    """One candidate design of the next experiment.

    Parameters
    ----------
    arms : mapping of str to int
        Arm label -> persons per arm **per site**, e.g. ``{"Extra Hulp": 300}``.
        Labels are parsed into components (Dutch or snake_case).
    comparison : int
        Persons in the comparison group per site.
    sites : int or sequence of str
        A number of new municipalities, or names of existing ones (``["Utrecht"]``):
        their own posterior is the prior and their published comparison level the base
        rate.
    base_rate : float or mapping, optional
        The comparison group's level of a binary outcome, in percent (21 for 21%), for
        all sites or per site name. Default: the published final-month level of the named
        sites, or of a typical (median) site for new ones.
    analysis : {"unpooled", "pooled"}
        ``"unpooled"``: each site analysed alone and tested at the published 90% two-sided
        level; ``"pooled"``: pwbayes on the old and new data (a 90% interval that
        excludes zero).
    subgroup : mapping, optional
        Only persons of one level, e.g. ``{"basic_qualification": "False"}``.
    contrast : Contrast, optional
        Also evaluate a subgroup difference of each component's effect.
    outcome_sd : float, optional
        The outcome's standard deviation within a group, for a score outcome.
    outcome : str, optional
        The outcome whose published comparison level is the default base rate (e.g.
        ``"work_gt_8h"``); default: the prior's (a person-level fit knows it).
    level : float
        Two-sided level of the unpooled test (0.90, as published).
    name : str, optional
        A label for tables and plots; default built from the design.
    """

    arms: Mapping[str, int]
    comparison: int
    sites: int | Sequence[str] = 1
    base_rate: float | Mapping[str, float] | None = None
    analysis: str = "unpooled"
    subgroup: Mapping[str, str] | None = None
    contrast: Contrast | None = None
    outcome_sd: float | None = None
    outcome: str | None = None
    level: float = 0.90
    name: str | None = None
    components: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.arms, Mapping) or not self.arms:
            raise DesignError(
                f"arms={self.arms!r}: give a mapping of arm label to persons per arm, "
                "e.g. {'Extra Hulp': 300}."
            )
        parser = default_parser()
        parsed: dict[str, tuple[str, ...]] = {}
        sizes: dict[str, int] = {}
        for label, n in self.arms.items():
            comps = parser.parse(str(label))
            if not comps:
                raise DesignError(
                    f"arms: {label!r} is a comparison group; give it as comparison=..., "
                    "and only intervention arms in arms."
                )
            canonical = parser.label(comps)
            if canonical in parsed:
                raise DesignError(f"arms {quote_values(list(self.arms))} name the same arm twice.")
            parsed[canonical] = comps
            sizes[canonical] = _count(f"arms[{label!r}]", n)
        object.__setattr__(self, "arms", sizes)
        object.__setattr__(self, "components", parsed)
        object.__setattr__(self, "comparison", _count("comparison", self.comparison))
        object.__setattr__(self, "sites", _sites(self.sites))
        if self.analysis not in ANALYSES:
            raise DesignError(f"analysis={self.analysis!r}; allowed: {quote_values(ANALYSES)}.")
        _check_base_rate(self.base_rate, self.site_names)
        _check_subgroup(self.subgroup)
        if self.contrast is not None and not isinstance(self.contrast, Contrast):
            raise DesignError(
                f"contrast={self.contrast!r}: give pw.design.Contrast(variable=..., ...)."
            )
        level = self.level
        if (
            not isinstance(level, numbers.Real)
            or isinstance(level, bool | numbers.Integral)
            or (not 0.5 <= float(level) < 1)
        ):
            raise DesignError(
                f"level={level!r}: give the two-sided level of the test as a fraction, "
                "e.g. 0.90 (not 90)."
            )
        object.__setattr__(self, "level", float(level))
        if self.outcome_sd is not None and not _real("outcome_sd", self.outcome_sd) > 0:
            raise DesignError(f"outcome_sd={self.outcome_sd!r} must be a positive number.")
        if isinstance(self.base_rate, Mapping):
            object.__setattr__(self, "base_rate", dict(self.base_rate))  # a copy of the caller's
        if self.subgroup is not None:
            object.__setattr__(self, "subgroup", {str(k): str(v) for k, v in self.subgroup.items()})
            if self.contrast is not None and self.contrast.variable in self.subgroup:
                raise DesignError(
                    f"subgroup={self.subgroup} and contrast of {self.contrast.variable!r}: a "
                    "contrast between levels needs persons of both; drop one of them."
                )

    @property
    def new_sites(self) -> bool:
        """Whether the sites are new municipalities (not named existing ones)."""
        return isinstance(self.sites, int)

    @property
    def site_names(self) -> list[str]:
        """The sites' names: existing ones, or ``new site 1`` ... for new ones."""
        if isinstance(self.sites, int):
            return [f"new site {i + 1}" for i in range(self.sites)]
        return list(self.sites)

    @property
    def persons(self) -> int:
        """All persons over all sites."""
        return (sum(self.arms.values()) + self.comparison) * len(self.site_names)

    @property
    def label(self) -> str:
        """A short description, e.g. ``2 arms x 300 + comparison 300, 3 new sites``."""
        if self.name:
            return self.name
        sizes = set(self.arms.values())
        arms = (
            f"{len(self.arms)} arm{'s' if len(self.arms) > 1 else ''} x {sizes.pop()}"
            if len(sizes) == 1
            else ", ".join(f"{a} {n}" for a, n in self.arms.items())
        )
        where = (
            f"{self.sites} new site{'s' if self.sites != 1 else ''}"
            if isinstance(self.sites, int)
            else ", ".join(self.sites)
        )
        return f"{arms} + comparison {self.comparison}, {where}"

    @classmethod
    def from_total(
        cls,
        total: int,
        arms: Sequence[str],
        *,
        allocation: Mapping[str, float] | None = None,
        **options: object,
    ) -> Design:
        """Split ``total`` persons per site over the arms and the comparison group.

        Parameters
        ----------
        total : int
            Persons per site.
        arms : sequence of str
            Arm labels.
        allocation : mapping, optional
            Share of ``total`` per arm label and ``"comparison"``; must add up to 1.
            Default: equal shares.
        **options
            The other arguments of :class:`Design` (``sites``, ``analysis``...).

        Returns
        -------
        Design
        """
        total = _count("total", total)
        groups = [*arms, "comparison"]
        shares = (
            dict(allocation) if allocation is not None else dict.fromkeys(groups, 1 / len(groups))
        )
        unknown = sorted(set(shares) - set(groups))
        missing = sorted(set(groups) - set(shares))
        if unknown or missing:
            raise DesignError(
                f"allocation names {quote_values(unknown)} and lacks {quote_values(missing)}; "
                f"give a share for each of {quote_values(groups)}."
            )
        values = {g: _real(f"allocation[{g!r}]", v) for g, v in shares.items()}
        if any(v <= 0 for v in values.values()):
            raise DesignError(f"allocation {shares}: every share must be positive.")
        added = sum(values.values())
        if abs(added - 1) > 1e-6:
            raise DesignError(f"allocation adds up to {added:g}, not 1: {shares}.")
        n = _split(total, [values[g] for g in groups])
        comparison = n.pop()
        return cls(arms=dict(zip(arms, n, strict=True)), comparison=comparison, **options)  # type: ignore[arg-type]


def _split(total: int, shares: list[float]) -> list[int]:
    """Split ``total`` by ``shares`` into whole numbers that add up (largest remainders)."""
    exact = [total * s for s in shares]
    out = [math.floor(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - out[i], reverse=True)
    for i in order[: total - sum(out)]:
        out[i] += 1
    if min(out) < 1:
        raise DesignError(f"total={total} is too small to give every group a person: {out}.")
    return out


def _sites(sites: object) -> int | tuple[str, ...]:
    if isinstance(sites, numbers.Integral) and not isinstance(sites, bool):
        return _count("sites", sites, "new municipalities", 3)
    if isinstance(sites, str) or not isinstance(sites, Sequence) or not sites:
        raise DesignError(
            f"sites={sites!r}: give a number of new municipalities (3) or a list of existing "
            "ones (['Utrecht', 'Deventer'])."
        )
    names = tuple(str(s).strip() for s in sites)
    if len(set(names)) < len(names) or "" in names:
        raise DesignError(f"sites={list(sites)!r}: names must be non-empty and different.")
    return names


def _check_base_rate(rate: object, sites: list[str]) -> None:
    if rate is None:
        return
    values = dict(rate) if isinstance(rate, Mapping) else {"all sites": rate}
    if isinstance(rate, Mapping):
        missing = sorted(set(sites) - set(values))
        extra = sorted(set(values) - set(sites))
        if missing or extra:
            parts = [f"gives no level for {quote_values(missing)}"] if missing else []
            parts += [f"names {quote_values(extra)}, not a site of the design"] if extra else []
            raise DesignError(
                f"base_rate {' and '.join(parts)} (sites: {quote_values(sites)}); give one "
                "level per site or one number for all."
            )
    for where, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not 0 < float(value) < 100
        ):
            raise DesignError(
                f"base_rate for {where}: {value!r}; give the comparison group's level in "
                "percent, strictly between 0 and 100 (21 for 21%)."
            )
        if float(value) < 1:
            raise DesignError(
                f"base_rate for {where}: {value!r} looks like a proportion; give percent "
                f"({float(value) * 100:g} for {float(value):g})."
            )


def _check_subgroup(subgroup: object) -> None:
    if subgroup is None:
        return
    if not isinstance(subgroup, Mapping) or len(subgroup) != 1:
        raise DesignError(
            f"subgroup={subgroup!r}: give one variable and its level, e.g. "
            "{'basic_qualification': 'False'}."
        )
