"""The disclosure gate: the last step of every fit, which every output passes.

Every group of the InferenceData (posterior, observed and constant data, sample stats) and
the model record go through :func:`disclose` before a result exists; tables, plots, saved
files and reports are made from what it lets through. What rests on a small cell of the
:class:`~pwbayes.data.small_cells.DisclosurePolicy` is set to NaN (posterior draws, the
site x arm estimates and standard errors) or ``None`` (the record's estimates, and the
mean and SD of a rare indicator covariate). Counts of persons never reach the record as
numbers that could be small (:func:`~pwbayes.data.disclosure.count_text`).

The rule for a variable is chosen by its dimensions (:data:`RULES`); a variable with a
dimension no rule covers, or with other coordinates, is not let through
(:class:`~pwbayes.errors.DisclosureError`); sample stats with per-parameter dimensions (the
sampler's internals) are dropped, and of the attributes only those of :data:`SAFE_ATTRS`
pass, so that nothing new can slip past unchecked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from itertools import product

import arviz as az
import numpy as np
import xarray as xr

from ..data.small_cells import DisclosurePolicy
from ..errors import DisclosureError
from ..record import DisclosureSection, ModelRecord, Row

__all__ = ["RULES", "SAFE_ATTRS", "disclose"]

_DRAW_DIMS = ("chain", "draw")
#: Attributes of an InferenceData group that pass: where and how the draws were made.
SAFE_ATTRS = frozenset(
    {
        "created_at",
        "arviz_version",
        "inference_library",
        "inference_library_version",
        "modeling_interface",
        "modeling_interface_version",
        "sampling_time",
        "tuning_steps",
    }
)

#: Which small-cell rule each combination of dimensions follows (see the policy's docs).
RULES: dict[tuple[str, ...], str] = {
    (): "everyone",
    ("component",): "pooled component",
    ("arm",): "pooled arm",
    ("site",): "site intercept",
    ("row",): "site x arm",
    ("covariate",): "covariate",
    ("site", "component"): "site component",
    ("site", "site_parameter"): "site parameter",
    ("component", "subgroup"): "pooled component",
    # a moderator's effect on a component is pooled over the sites that ran it, as mu is
    ("component", "moderator"): "pooled component",
    ("arm", "subgroup"): "pooled arm",
    ("site", "component", "subgroup"): "site component",
    ("site", "arm", "subgroup"): "site x arm",
}


def disclose(
    idata: az.InferenceData, record: ModelRecord, policy: DisclosurePolicy | None
) -> tuple[az.InferenceData, ModelRecord, DisclosureSection | None]:
    """Apply ``policy`` to every group of ``idata`` and to ``record``.

    Parameters
    ----------
    idata : arviz.InferenceData
    record : ModelRecord
    policy : DisclosurePolicy or None
        ``None`` for a model without persons (summary rows): nothing rests on a known
        cell, and everything passes unchanged.

    Returns
    -------
    (idata, record, section)
        New objects (the inputs are not modified); ``section`` says what was suppressed.
    """
    if policy is None:
        return idata, record, None
    test = _Cells(policy, record)
    masked: dict[str, int] = {}
    groups = {}
    for group in idata.groups():
        ds = idata[group]
        attrs = {k: v for k, v in ds.attrs.items() if k in SAFE_ATTRS}
        if group == "sample_stats":
            keep = [v for v in ds.data_vars if set(ds[v].dims) <= set(_DRAW_DIMS)]
            groups[group] = xr.Dataset({v: ds[v].variable for v in keep}, attrs=attrs)
            continue
        out = {}
        for name, da in ds.data_vars.items():
            out[name], n = _mask(da, test, f"{group}/{name}")
            if n:
                masked[str(name) if group == "posterior" else f"{group}/{name}"] = n
        groups[group] = xr.Dataset(out, attrs=attrs)
    rule = test.rule("site x arm")  # the ``row`` dimension's, as observed_data and theta
    rows = tuple(
        Row(r.site, r.arm, None, None) if rule({"row": r.label}) else r for r in record.rows
    )
    person = record.person
    if person is not None:
        rare = [policy.covariate(c) for c in person.covariates]

        def hide(values: tuple) -> tuple:
            return tuple(None if r else v for v, r in zip(values, rare, strict=True))

        person = dataclasses.replace(
            person,
            covariate_mean=hide(person.covariate_mean),
            covariate_sd=hide(person.covariate_sd),
        )
    section = DisclosureSection(policy.min_cell, policy.notes, masked)
    gated = dataclasses.replace(record, rows=rows, person=person)
    return az.InferenceData(**groups), gated, section


def _mask(da: xr.DataArray, test: _Cells, where: str) -> tuple[xr.DataArray, int]:
    """``da`` with the entries resting on small cells set to NaN, and how many.

    Only its values and the coordinates of its dimensions pass; its attributes do not.
    """
    dims = tuple(str(d) for d in da.dims if d not in _DRAW_DIMS)
    extra = sorted(str(c) for c in da.coords if c not in da.dims)
    if dims not in RULES or extra:
        raise DisclosureError(
            f"{where} has dimensions {dims} and other coordinates {extra}: no small-cell rule "
            f"covers it, so it is not released. Rules: {sorted(RULES)}; other coordinates are "
            "never released. (A pwbayes bug: please report it.)"
        )
    da = da.copy(deep=False)
    da.attrs = {}
    rule = test.rule(RULES[dims])
    labels = [[str(v) for v in da.coords[d].values] for d in dims]
    grid = np.array(
        [rule(dict(zip(dims, key, strict=True))) for key in product(*labels)], dtype=bool
    ).reshape([len(v) for v in labels])
    if not grid.any():
        return da, 0
    return da.where(~xr.DataArray(grid, dims=dims)), int(grid.sum())


class _Cells:
    """The policy's rules, looked up by the coordinate labels of one entry."""

    def __init__(self, policy: DisclosurePolicy, record: ModelRecord):
        self.policy = policy
        self.row_cell = {r.label: (r.site, r.arm) for r in record.rows}
        levels = record.subgroups.levels if record.subgroups else {}
        self.level = {f"{v}: {lev}": (v, lev) for v, ls in levels.items() for lev in ls}
        self.arms_with = {
            c: [a for a, comps in record.arm_components.items() if c in comps]
            for c in record.components
        }
        self.arms = list(record.arms)
        self.components_of = dict(record.arm_components)

    def rule(self, name: str) -> Callable[[dict], bool]:
        """Return the test of one entry's labels for rule ``name`` (see :data:`RULES`).

        An arm's effect is the sum of its components' effects, so it is hidden wherever
        one of its components' effects is, and the other way round: the same number is
        never hidden under one name and shown under another.
        """
        p = self.policy
        rules: dict[str, Callable[[dict], bool]] = {
            "everyone": lambda lab: p.pooled(self.arms),
            "pooled component": lambda lab: p.pooled(
                self.arms_with[lab["component"]], *self._sub(lab)
            ),
            "pooled arm": self._pooled_arm,
            "site intercept": lambda lab: p.site_arm(lab["site"], None),
            "site x arm": self._site_arm,
            "covariate": lambda lab: p.covariate(lab["covariate"]),
            "site component": lambda lab: p.site_component(
                lab["site"], lab["component"], *self._sub(lab)
            ),
            "site parameter": lambda lab: (
                p.site_arm(lab["site"], None)
                if lab["site_parameter"] == "intercept"
                else p.site_component(lab["site"], lab["site_parameter"])
            ),
        }
        return rules[name]

    def _pooled_arm(self, lab: dict) -> bool:
        arm, sub, p = lab["arm"], self._sub(lab), self.policy
        return p.pooled([arm], *sub) or any(
            p.pooled(self.arms_with[c], *sub) for c in self.components_of[arm]
        )

    def _site_arm(self, lab: dict) -> bool:
        (site, arm), sub, p = self._cell(lab), self._sub(lab), self.policy
        return p.site_arm(site, arm, *sub) or any(
            p.site_component(site, c, *sub) for c in self.components_of[arm]
        )

    def _sub(self, lab: dict) -> tuple:
        return self.level[lab["subgroup"]] if "subgroup" in lab else ()

    def _cell(self, lab: dict) -> tuple:
        return self.row_cell[lab["row"]] if "row" in lab else (lab["site"], lab["arm"])
