"""What every model shares: priors in force, the PyMC model built on first access, fit().

A model is a specification: building it validates the data and sets the priors; the PyMC
graph is built when :attr:`ModelBase.model` is first read and nothing is sampled until
:meth:`ModelBase.fit`. The fit itself (sampling, post-processing, the result) is the job of
:mod:`pwbayes.fitting`, which ``fit()`` hands over to: the one place where a model reaches
a later layer, imported when called.

Subclasses implement the interface that :mod:`pwbayes.fitting` uses: :attr:`coords`,
:meth:`_build`, :meth:`_structure_parts`, :meth:`data_values`, :meth:`model_record`
and (person-level models) :meth:`postprocess_inputs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pymc as pm

from .._text import plural
from ..arms import ArmParser
from ..errors import DataError
from ..priors import Prior, ResolvedPriors

if TYPE_CHECKING:
    from ..record import ModelRecord
    from ..results import ResultBase

__all__ = [
    "ModelBase",
    "check_sites",
    "kernel_version",
    "moderation",
    "prior_rv",
    "scalar_rv",
    "weak_tau",
]


class ModelBase:
    """Scaffolding shared by :class:`~pwbayes.SummaryModel` and :class:`~pwbayes.PersonModel`."""

    #: Variables whose R-hat, ESS and divergences are checked after sampling.
    CHECKED: ClassVar[tuple[str, ...]] = ()

    parser: ArmParser
    note: str | None
    _priors: ResolvedPriors
    _model: pm.Model | None = None

    # ------------------------------------------------------------------ inspection
    @property
    def priors(self) -> dict[str, Prior]:
        """The priors in force (defaults merged with user overrides), before any sampling."""
        out = dict(self._priors.base)
        for var, comps in self._priors.per_component.items():
            out.update({f"{var}[{c}]": p for c, p in comps.items()})
        return out

    @property
    def coords(self) -> dict[str, list[str]]:
        """Coordinates of the model's dims, with real names."""
        raise NotImplementedError

    @property
    def model(self) -> pm.Model:
        """The PyMC model (built on first access; never sampled here)."""
        if self._model is None:
            self._model = self._build()
        return self._model

    def _build(self) -> pm.Model:
        raise NotImplementedError

    # ------------------------------------------------------------------ what fitting uses
    def structure_key(self) -> str:
        """Identify the compiled graph: models with the same key differ only in data values.

        A fit of a model with a key already compiled in this process reuses the compiled
        sampler with :meth:`data_values` swapped in.
        """
        parts = (type(self).__name__, *self._structure_parts())
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def _structure_parts(self) -> tuple:
        raise NotImplementedError

    def data_values(self) -> dict[str, Any]:
        """Return the current values of the model's ``pm.Data`` containers."""
        raise NotImplementedError

    def model_record(self) -> ModelRecord:
        """Describe the model (:class:`~pwbayes.record.ModelRecord`), before disclosure control."""
        raise NotImplementedError

    def postprocess_inputs(self) -> Any:
        """Return what post-processing needs besides the draws and the record (None: nothing)."""
        return None

    def _fit(self, **settings: Any) -> ResultBase:
        from ..fitting import fit_model  # the model's one door to the later layers

        return fit_model(self, **settings)


# ---------------------------------------------------------------------------- few sites
def weak_tau(sites_with: dict[str, int], noun: str) -> dict[str, str]:
    """Components whose between-site SD rests (mostly) on its prior, and why.

    With one site a component's ``tau`` has nothing to learn from; with two or three, little.
    """
    out = {}
    for comp, n in sites_with.items():
        if n < 2:
            out[comp] = f"seen in one {noun} only: its between-{noun} SD is its prior's"
        elif n <= 3:
            out[comp] = (
                f"seen in {n} {plural(noun)} only: its between-{noun} SD rests largely on its prior"
            )
    return out


def check_sites(n_sites: int, pooled: bool, user_priors: object, noun: str) -> None:
    """Refuse partial pooling of one site unless the prior of ``tau`` is given explicitly."""
    given = isinstance(user_priors, Mapping) and any(str(k).startswith("tau") for k in user_priors)
    if n_sites < 2 and pooled and not given:
        raise DataError(
            f"The data hold one {noun}: how much {plural(noun)} differ (tau) cannot be learned "
            "from one. "
            "Use pooling='none' (summary model), or give a prior for tau that says how much "
            "they differ, e.g. priors={'tau': pw.Prior('HalfNormal', sigma=2)}."
        )


# ---------------------------------------------------------------------------- graph helpers
def prior_rv(
    name: str, priors: ResolvedPriors, var: str, labels: Sequence[str], dims, *, as_data=False
):
    """Create the vector random variable ``name`` with the (per-label) prior of ``var``.

    With ``as_data`` the prior's parameters are ``pm.Data`` containers
    (``"{name}_prior_{param}"``), so that a model with other prior values reuses the
    compiled sampler.
    """
    dist, params = priors.params(var, labels)
    if as_data:
        params = {k: pm.Data(f"{name}_prior_{k}", v) for k, v in params.items()}
    return getattr(pm, dist)(name, **params, dims=dims)


def scalar_rv(name: str, prior: Prior, *, as_data: bool = False):
    """Create a scalar random variable with ``prior`` (its parameters ``pm.Data`` if asked)."""
    params: dict = dict(prior.params)
    if as_data:
        params = {k: pm.Data(f"{name}_prior_{k}", v) for k, v in params.items()}
    return getattr(pm, prior.dist)(name, **params)


def moderation(priors: ResolvedPriors, comps: Sequence[str], values: np.ndarray):
    """Create the site-level moderators' effects ``g`` and their part ``x_m . g_c``.

    Must be called inside a ``pm.Model`` with the ``component``, ``site`` and ``moderator``
    coordinates. Creates ``moderator_effect`` (component x moderator, the ``moderator``
    prior, its parameters ``pm.Data``) and ``moderator_values`` (site x moderator).

    Parameters
    ----------
    priors : ResolvedPriors
    comps : sequence of str
        The components, in order.
    values : numpy.ndarray
        Standardised moderators (site x moderator).

    Returns
    -------
    (g, shift)
        ``moderator_effect`` and ``x g'`` (site x component).
    """
    dist, params = priors.params("moderator", comps)
    n = values.shape[1]  # parameters as full (component, moderator) arrays: the RV's shape
    shaped = {k: pm.Data(f"moderator_effect_prior_{k}", np.repeat(v[:, None], n, axis=1))
              for k, v in params.items()}  # fmt: skip
    effect = getattr(pm, dist)("moderator_effect", **shaped, dims=("component", "moderator"))
    x = pm.Data("moderator_values", values, dims=("site", "moderator"))
    return effect, pm.math.dot(x, effect.T)


@cache
def kernel_version(path: str) -> int:
    """Version of a module's numba kernels for PyTensor's compile cache: its source's hash.

    PyTensor caches compiled graphs on disk under a key made of each Op's identity and this
    number, so editing a kernel module invalidates the graphs that use it.
    """
    return int(hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12], 16)
