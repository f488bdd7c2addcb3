"""Priors: the defaults, user overrides, and how they are recorded.

A prior is written ``Prior("Normal", mu=0, sigma=10)``. ``priors`` given to a
model map a variable name to a prior; ``"mu[werken_loont]"`` overrides one
component only (same distribution family as the variable's prior, other
parameters). Defaults scale with the data's typical standard error ``s``
(median of ``se``), as baggr does, and are shown by ``model.priors`` before any
sampling and stored in every result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import PriorError

__all__ = ["DISTRIBUTIONS", "Prior", "default_priors", "resolve_priors"]

#: Allowed families: parameter names, and whether the support is positive.
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], bool]] = {
    "Normal": (("mu", "sigma"), False),
    "StudentT": (("nu", "mu", "sigma"), False),
    "Cauchy": (("alpha", "beta"), False),
    "HalfNormal": (("sigma",), True),
    "HalfStudentT": (("nu", "sigma"), True),
    "HalfCauchy": (("beta",), True),
    "Exponential": (("lam",), True),
    "Gamma": (("alpha", "beta"), True),
    "Uniform": (("lower", "upper"), False),
}
#: Variables that accept per-component priors such as ``"tau_sub[extra_hulp]"``.
PER_COMPONENT = ("mu", "tau", "beta", "tau_sub", "tau_sub_site", "moderator")
#: Parameters that must be positive (Cauchy's ``alpha`` is its location).
_SCALE_PARAMS = {"sigma", "beta", "lam", "nu"}

#: What each variable is, for messages and reports.
VARIABLE_DOC = {
    "mu": "pooled (population mean) effect of each component",
    "tau": "between-site SD of each component's effect",
    "beta": "each site's component effect (pooling='none')",
    "interaction": "extra effect of a combined arm beyond the sum of its components",
    "bias": "bias of a suspect comparison group, per flagged site",
    "moderator": "change in each component's effect per SD of a site-level moderator",
    "alpha_mu": "mean of the site intercepts (person-level model)",
    "alpha_sd": "between-site SD of the intercepts (person-level model)",
    "gamma": "effect of each standardised covariate (person-level model)",
    "sigma": "residual SD of a score outcome (person-level model, family='normal')",
    "tau_sub": "SD of each component's effect between the levels of a subgroup variable",
    "tau_sub_site": "between-site SD of the subgroup differences (subgroups_by_site=True)",
}


@dataclass(frozen=True)
class Prior:
    """A prior distribution: a PyMC family name and its parameters.

    Parameters
    ----------
    dist : str
        One of :data:`DISTRIBUTIONS`, e.g. ``"Normal"``.
    **params : float
        The family's parameters, e.g. ``mu=0, sigma=10``.
    """

    dist: str
    params: dict[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, **params: float):
        if dist not in DISTRIBUTIONS:
            raise PriorError(
                f"Unknown prior distribution {dist!r}; allowed: {sorted(DISTRIBUTIONS)}."
            )
        names, _ = DISTRIBUTIONS[dist]
        if set(params) != set(names):
            raise PriorError(
                f"{dist} prior needs exactly the parameters {names}, got {tuple(params)}. "
                f"Example: Prior({dist!r}, {', '.join(f'{n}=1' for n in names)})."
            )
        for key, value in params.items():
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise PriorError(f"{dist} prior parameter {key}={value!r} must be a finite number.")
            if (key in _SCALE_PARAMS or (dist, key) == ("Gamma", "alpha")) and value <= 0:
                raise PriorError(f"{dist} prior parameter {key}={value!r} must be > 0.")
        if dist == "Uniform" and params["lower"] >= params["upper"]:
            raise PriorError(f"Uniform prior needs lower < upper, got {params}.")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", {n: float(params[n]) for n in names})

    @property
    def positive(self) -> bool:
        """Whether the support is (0, inf), as a standard deviation needs."""
        return DISTRIBUTIONS[self.dist][1]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.dist}({inner})"

    def to_dict(self) -> dict:
        """Return ``{"dist": ..., **params}`` (JSON/TOML friendly)."""
        return {"dist": self.dist, **self.params}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x`` (for power-scaling checks of the prior)."""
        from scipy import stats

        x = np.asarray(x, dtype=float)
        if self.dist == "HalfStudentT":
            p = self.params
            out = np.log(2) + stats.t(p["nu"], 0, p["sigma"]).logpdf(x)
            return np.where(x >= 0, out, -np.inf)
        return self._frozen().logpdf(x)

    def draws(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Random draws from the prior (for what a prior alone implies)."""
        if self.dist == "HalfStudentT":
            from scipy import stats

            p = self.params
            return np.abs(stats.t(p["nu"], 0, p["sigma"]).rvs(size=size, random_state=rng))
        return self._frozen().rvs(size=size, random_state=rng)

    def _frozen(self):
        from scipy import stats

        p = self.params
        frozen = {
            "Normal": lambda: stats.norm(p.get("mu"), p.get("sigma")),
            "StudentT": lambda: stats.t(p.get("nu"), p.get("mu"), p.get("sigma")),
            "Cauchy": lambda: stats.cauchy(p.get("alpha"), p.get("beta")),
            "HalfNormal": lambda: stats.halfnorm(scale=p.get("sigma")),
            "HalfCauchy": lambda: stats.halfcauchy(scale=p.get("beta")),
            "Exponential": lambda: stats.expon(scale=1 / p["lam"]),
            "Gamma": lambda: stats.gamma(p.get("alpha"), scale=1 / p["beta"]),
            "Uniform": lambda: stats.uniform(p.get("lower"), p["upper"] - p["lower"]),
        }
        return frozen[self.dist]()

    def widened(self, factor: float) -> Prior:
        """Return the same family with its scale multiplied by ``factor`` (location kept)."""
        scale = {"Normal": "sigma", "StudentT": "sigma", "Cauchy": "beta", "HalfNormal": "sigma",
                 "HalfStudentT": "sigma", "HalfCauchy": "beta"}  # fmt: skip
        params = dict(self.params)
        if self.dist in scale:
            params[scale[self.dist]] *= factor
        elif self.dist in ("Exponential", "Gamma"):
            params["lam" if self.dist == "Exponential" else "beta"] /= factor
        else:  # Uniform: around its centre
            mid, half = (
                (params["lower"] + params["upper"]) / 2,
                (params["upper"] - params["lower"]) / 2,
            )
            params = {"lower": mid - factor * half, "upper": mid + factor * half}
        return Prior(self.dist, **params)

    @classmethod
    def from_value(cls, value: Prior | Mapping) -> Prior:
        """Build from a :class:`Prior` or a mapping ``{"dist": "Normal", "mu": 0, "sigma": 1}``."""
        if isinstance(value, Prior):
            return value
        if isinstance(value, Mapping) and "dist" in value:
            params = {k: v for k, v in value.items() if k != "dist"}
            return cls(value["dist"], **params)
        raise PriorError(
            f"A prior must be Prior('Normal', mu=0, sigma=1) or a mapping with a 'dist' key, "
            f"got {value!r}."
        )


def round_sig2(x: float) -> float:
    """Round to two significant digits, so that default priors read cleanly."""
    return float(f"{x:.2g}")


def default_priors(se: Sequence[float]) -> dict[str, Prior]:
    """Weakly informative defaults on the outcome's scale.

    Parameters
    ----------
    se : sequence of float
        The standard errors of the summary rows; ``s`` is their median.

    Returns
    -------
    dict of str to Prior
        ``mu ~ Normal(0, 2.5 s)``, ``tau ~ HalfNormal(s)``, ``beta ~ Normal(0, 2.5 s)``
        (no pooling), ``interaction ~ Normal(0, 0.5 s)`` (sceptical: combined arms
        are assumed additive unless the data say otherwise), ``bias ~ Normal(0, s)``,
        ``moderator ~ Normal(0, s)`` (per SD of a site-level moderator: about as large as
        the between-site SD, so that moderators are shrunk towards explaining nothing).
    """
    s = round_sig2(float(np.median(np.asarray(se, dtype=float))))
    return {
        "mu": Prior("Normal", mu=0.0, sigma=round_sig2(2.5 * s)),
        "tau": Prior("HalfNormal", sigma=s),
        "beta": Prior("Normal", mu=0.0, sigma=round_sig2(2.5 * s)),
        "interaction": Prior("Normal", mu=0.0, sigma=round_sig2(0.5 * s)),
        "bias": Prior("Normal", mu=0.0, sigma=s),
        "moderator": Prior("Normal", mu=0.0, sigma=s),
    }


_KEY = re.compile(r"^(?P<var>[a-z_]+)(?:\[(?P<comp>[^\]]+)\])?$")


@dataclass(frozen=True)
class ResolvedPriors:
    """Priors in force: one base prior per variable and per-component overrides."""

    base: dict[str, Prior]
    per_component: dict[str, dict[str, Prior]]

    def params(self, var: str, components: Sequence[str]) -> tuple[str, dict[str, np.ndarray]]:
        """Family and per-component parameter vectors of ``var``."""
        base = self.base[var]
        over = self.per_component.get(var, {})
        vectors = {
            name: np.array([over.get(c, base).params[name] for c in components])
            for name in base.params
        }
        return base.dist, vectors

    def table(self) -> dict[str, str]:
        """``{"mu": "Normal(mu=0, sigma=12)", "mu[app]": ...}`` for display and saving."""
        out = {k: repr(v) for k, v in self.base.items()}
        for var, comps in self.per_component.items():
            out.update({f"{var}[{c}]": repr(p) for c, p in comps.items()})
        return out

    def to_dict(self) -> dict[str, dict]:
        """JSON-friendly form; :func:`resolve_priors` accepts it back."""
        out = {k: v.to_dict() for k, v in self.base.items()}
        for var, comps in self.per_component.items():
            out.update({f"{var}[{c}]": p.to_dict() for c, p in comps.items()})
        return out


def resolve_priors(
    user: Mapping | None,
    defaults: Mapping[str, Prior],
    used: Sequence[str],
    components: Sequence[str],
) -> ResolvedPriors:
    """Merge user priors over the defaults and check them.

    Parameters
    ----------
    user : mapping, optional
        ``{"mu": Prior(...), "tau[werken_loont]": {...}}``.
    defaults : mapping
        From :func:`default_priors`.
    used : sequence of str
        Variables the model has (depends on pooling, interactions and bias rows).
    components : sequence of str
        Component names valid inside ``[...]``.

    Returns
    -------
    ResolvedPriors
    """
    base = {v: defaults[v] for v in used}
    per_component: dict[str, dict[str, Prior]] = {}
    overrides = []
    for key, value in (user or {}).items():
        m = _KEY.match(str(key))
        if not m or m["var"] not in base:
            raise PriorError(
                f"Prior for {key!r}: this model has no such variable. Variables with priors: "
                f"{', '.join(f'{v} ({VARIABLE_DOC[v]})' for v in used)}. Use 'mu[component]' "
                "for one component."
            )
        prior = Prior.from_value(value)
        if m["comp"] is None:
            base[m["var"]] = prior
        else:
            overrides.append((m["var"], m["comp"], prior))
    for var, comp, prior in overrides:
        if var not in PER_COMPONENT:
            raise PriorError(
                f"Per-component priors are for {', '.join(PER_COMPONENT)}, not {var!r}."
            )
        if comp not in components:
            raise PriorError(
                f"Prior for '{var}[{comp}]': unknown component {comp!r}; the model's components "
                f"are {list(components)}."
            )
        if prior.dist != base[var].dist:
            raise PriorError(
                f"Prior for '{var}[{comp}]' is {prior.dist} but {var} is {base[var].dist}; a "
                "per-component prior may change the parameters, not the family. Set "
                f"priors['{var}'] to a {prior.dist} prior as well."
            )
        per_component.setdefault(var, {})[comp] = prior
    for var in ("tau", "alpha_sd", "sigma", "tau_sub", "tau_sub_site"):
        if var in base and not base[var].positive:
            raise PriorError(
                f"Prior for {var!r} is {base[var]!r}, but a standard deviation needs a positive "
                "distribution: HalfNormal, HalfStudentT, HalfCauchy, Exponential or Gamma."
            )
    for var in ("mu", "beta", "alpha_mu", "gamma", "interaction", "bias"):
        if var in base and base[var].positive:
            raise PriorError(
                f"Prior for {var!r} is {base[var]!r}, which allows positive values only: it "
                "would rule out negative effects before seeing the data. Use Normal or "
                "StudentT (with a positive mean, if that is the prior belief)."
            )
    return ResolvedPriors(base=base, per_component=per_component)
