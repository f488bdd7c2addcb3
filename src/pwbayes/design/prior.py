"""What is known before the next experiment: draws of the effects it will meet.

A design is evaluated under a *prior*: a fitted pwbayes result (what the six experiments
taught: the pooled effect ``mu``, the between-site SD ``tau``, each site's own effect and,
for person-level fits with subgroups, the effect in each subgroup level) or an explicit
:class:`EffectPrior`. Both become :class:`PriorDraws`, draws on the outcome's own scale
(percentage points for a binary outcome).

For a person-level fit ``tau`` is on the log-odds scale; it is carried to percentage
points at the comparison level of a typical site, ``tau * 100 * p (1 - p)`` with
``p = expit(alpha_mu)`` per draw (the delta method).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..arms import default_parser
from ..errors import DesignError, quote_values

__all__ = ["EffectPrior", "PriorDraws", "prior_draws"]

BINARY_UNIT = "percentage points"


@dataclass(frozen=True)
class EffectPrior:
    """An explicit prior for the effects of the next experiment.

    Parameters
    ----------
    mu : mapping of str to float
        Component (or its Dutch label) -> pooled effect, in the outcome's units.
    tau : mapping of str to float, optional
        Component -> between-site SD (default 0: every site has the same effect).
    mu_sd : mapping of str to float, optional
        Component -> uncertainty (SD) of the pooled effect (default 0: known exactly).
    unit : str
        The effects' unit; ``"percentage points"`` means a binary outcome.
    outcome : str, optional
        The outcome, for the published comparison levels (e.g. ``"work_gt_8h"``); without
        it a design needs ``outcome=`` or ``base_rate=``.
    """

    mu: Mapping[str, float]
    tau: Mapping[str, float] = field(default_factory=dict)
    mu_sd: Mapping[str, float] = field(default_factory=dict)
    unit: str = BINARY_UNIT
    outcome: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.unit, str) or (
            self.unit != BINARY_UNIT
            and difflib.get_close_matches(self.unit.lower(), [BINARY_UNIT], cutoff=0.8)
        ):
            raise DesignError(
                f"EffectPrior unit={self.unit!r}: a binary outcome's effects are in "
                f"{BINARY_UNIT!r} (exactly); a score's in its own unit, e.g. 'points'."
            )
        parser = default_parser()
        mu = self._components("mu", self.mu, parser)
        if not mu:
            raise DesignError("EffectPrior(mu=...) needs at least one component's effect.")
        object.__setattr__(self, "mu", mu)
        for name in ("tau", "mu_sd"):
            values = self._components(name, getattr(self, name), parser)
            stray = sorted(set(values) - set(mu))
            if stray:
                raise DesignError(f"EffectPrior {name} names {quote_values(stray)}, not in mu.")
            if any(v < 0 for v in values.values()):
                raise DesignError(f"EffectPrior {name}={values}: SDs cannot be negative.")
            object.__setattr__(self, name, values)

    @staticmethod
    def _components(name: str, values: object, parser) -> dict[str, float]:
        if not isinstance(values, Mapping):
            raise DesignError(
                f"EffectPrior {name}={values!r}: give a mapping of component to value, "
                "e.g. {'extra_hulp': 3.0}."
            )
        out: dict[str, float] = {}
        for key, value in values.items():
            comps = parser.parse(str(key), allow_empty=False)
            if len(comps) != 1:
                raise DesignError(f"EffectPrior {name}: {key!r} is an arm, give one component.")
            if comps[0] in out:
                raise DesignError(f"EffectPrior {name} names {comps[0]!r} twice (as {key!r}).")
            real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not real or not math.isfinite(value):
                raise DesignError(f"EffectPrior {name}[{key!r}]={value!r}: give a finite number.")
            out[comps[0]] = float(value)
        return out


@dataclass(frozen=True)
class PriorDraws:
    """Draws of the effects a next experiment meets, on the outcome's scale.

    ``mu`` and ``tau`` are ``(draws, component)``; ``sites`` maps an existing site to
    draws of its own effects; ``subgroups`` maps ``(variable, level)`` to draws of the
    pooled effect in that level.
    """

    components: tuple[str, ...]
    mu: np.ndarray
    tau: np.ndarray
    sites: dict[str, np.ndarray]
    subgroups: dict[tuple[str, str], np.ndarray]
    unit: str
    outcome: str | None
    source: str
    weak: tuple[str, ...] = ()

    @property
    def binary(self) -> bool:
        """Whether the outcome is binary (effects in percentage points)."""
        return self.unit == BINARY_UNIT

    @property
    def draws(self) -> int:
        """The number of draws."""
        return self.mu.shape[0]

    def index(self, components: tuple[str, ...], what: str) -> list[int]:
        """Positions of ``components``; refuse those the prior knows nothing about."""
        unknown = [c for c in components if c not in self.components]
        if unknown:
            raise DesignError(
                f"{what}: the prior ({self.source}) knows nothing about "
                f"{quote_values(unknown)}; it has {quote_values(self.components)}. Drop that "
                "arm, or give an explicit pw.design.EffectPrior for it."
            )
        return [self.components.index(c) for c in components]

    def levels(self, variable: str) -> list[str]:
        """Return the prior's levels of a subgroup variable."""
        return [lvl for var, lvl in self.subgroups if var == variable]


def prior_draws(prior: object, *, draws: int = 2000, random_seed: int | None = None) -> PriorDraws:
    """Turn a fitted result or an :class:`EffectPrior` into :class:`PriorDraws`.

    Parameters
    ----------
    prior : SummaryResult, PersonResult, EffectPrior or PriorDraws
        What is known.
    draws : int
        Draws to keep (a fitted result's draws are subsampled without replacement when it
        has more).
    random_seed : int, optional
        Seed of the subsample and of an explicit prior's draws.

    Returns
    -------
    PriorDraws
    """
    if isinstance(prior, PriorDraws):
        return prior
    rng = np.random.default_rng(random_seed)
    if isinstance(prior, EffectPrior):
        return _explicit(prior, draws, rng)
    if hasattr(prior, "idata") and hasattr(prior, "record"):
        return _from_result(prior, draws, rng)
    raise DesignError(
        f"prior={type(prior).__name__}: give a fitted pwbayes result (model.fit(...) or "
        "pw.load_result(...)) or pw.design.EffectPrior(mu=..., tau=..., mu_sd=...)."
    )


def _explicit(prior: EffectPrior, draws: int, rng: np.random.Generator) -> PriorDraws:
    comps = tuple(prior.mu)
    loc = np.array([prior.mu[c] for c in comps])
    sd = np.array([prior.mu_sd.get(c, 0.0) for c in comps])
    tau = np.array([prior.tau.get(c, 0.0) for c in comps])
    mu = loc + sd * rng.standard_normal((draws, len(comps)))
    text = ", ".join(
        f"{c}: mu {prior.mu[c]:g} (sd {prior.mu_sd.get(c, 0):g}), tau {prior.tau.get(c, 0):g}"
        for c in comps
    )
    return PriorDraws(
        components=comps,
        mu=mu,
        tau=np.broadcast_to(tau, mu.shape).copy(),
        sites={},
        subgroups={},
        unit=prior.unit,
        outcome=prior.outcome,
        source=f"explicit ({text})",
    )


def _from_result(result, draws: int, rng: np.random.Generator) -> PriorDraws:
    post = result.idata.posterior
    model = result.record.model
    person = "mu_pp" in post
    stacked = post.stack(sample=("chain", "draw"))
    total = stacked.sizes["sample"]
    keep = np.sort(rng.choice(total, size=min(draws, total), replace=False))

    def take(name: str) -> np.ndarray:
        arr = stacked[name].transpose("sample", ...).to_numpy()
        return np.asarray(arr[keep], dtype=float)

    comps_all = tuple(str(c) for c in post.coords["component"].to_numpy())
    mu = take("mu_pp" if person else "mu")
    if person:
        p = 1.0 / (1.0 + np.exp(-take("alpha_mu")))
        tau = take("tau") * (100.0 * p * (1.0 - p))[:, None]
    else:
        tau = take("tau") if "tau" in post else np.zeros_like(mu)
    known = [i for i, c in enumerate(comps_all) if np.isfinite(mu[:, i]).all()]
    comps = tuple(comps_all[i] for i in known)
    beta = take("beta_pp" if person else "beta")
    site_names = [str(s) for s in post.coords["site"].to_numpy()]
    sites = {s: beta[:, j][:, known] for j, s in enumerate(site_names)}
    subgroups = {}
    if "mu_sub_pp" in post:
        sub = take("mu_sub_pp")  # (draws, component, subgroup)
        for k, label in enumerate(str(s) for s in post.coords["subgroup"].to_numpy()):
            variable, _, level = label.partition(": ")
            subgroups[(variable, level)] = sub[:, known, k]
    outcome = model.columns.get("outcome") if person else None
    return PriorDraws(
        components=comps,
        mu=mu[:, known],
        tau=np.nan_to_num(tau[:, known]),
        sites=sites,
        subgroups=subgroups,
        unit=model.scale,
        outcome=outcome,
        source=f"{model.kind} fit of {len(model.sites)} sites",
        weak=tuple(sorted(model.weak_tau)),
    )
