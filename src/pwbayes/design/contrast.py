"""Can the next experiment resolve a subgroup difference of a component's effect.

The persons of every arm and of the comparison group are split between two levels of a
subgroup variable (``share`` and ``1 - share``). In one site the difference of the
component's effect between the levels is estimated with variance
``V (1 / share + 1 / (1 - share))``, ``V`` the variance of the site's own estimate of the
component. Unpooled, each site tests it alone; pooled, the difference (common to all
sites, as in the person model's subgroup terms) is learned from all sites together and
from the prior's subgroup effects when it has them.
"""

from __future__ import annotations

import numpy as np

from ..arms import default_parser
from ..errors import DesignError, quote_values
from .normal import Z90, critical, decide, site_variances, summarise
from .prior import PriorDraws
from .spec import Design

__all__ = ["contrast_rows"]


def contrast_rows(design: Design, comps, x, per_site, truth_prior, analysis_prior, base):
    """One ``estimand="contrast"`` row per component the sites identify on their own."""
    contrast = design.contrast
    assert contrast is not None
    prior, idx = truth_prior
    analysis, a_idx = analysis_prior
    levels = _levels(contrast, prior)
    rows = []
    for i, comp in enumerate(comps):
        coef = np.eye(len(comps))[i]
        variances = site_variances(coef, x, per_site)
        if variances is None:
            continue
        split = 1.0 / contrast.share + 1.0 / (1.0 - contrast.share)
        site_var = [v * split for v in variances]
        truth = _difference(contrast, prior, levels, idx[i], len(variances[0]))
        z = critical(design.level)
        unpooled = [decide(truth, np.sqrt(v), z * np.sqrt(v), truth) for v in site_var]
        m_old, v_old = _analysis(analysis, levels, contrast.variable, a_idx[i])
        data_var = 1.0 / sum(1.0 / v for v in site_var)
        precision = 1.0 / v_old + 1.0 / data_var
        mean = (m_old / v_old + truth / data_var) / precision
        spread = np.sqrt(1.0 / data_var) / precision
        post_sd = 1.0 / np.sqrt(precision)
        pooled = [decide(mean, spread, Z90 * post_sd, truth)]
        figures = summarise(design.analysis, unpooled, pooled, [np.sqrt(v) for v in site_var],
                            [np.sqrt(v_old)], [post_sd])  # fmt: skip
        name = f"{default_parser().label((comp,))}: {levels[0]} - {levels[1]}"
        rows.append({**base, "estimand": "contrast", "level": contrast.variable, "name": name,
                     **figures})  # fmt: skip
    return rows


def _levels(contrast, prior: PriorDraws) -> tuple[str, str]:
    known = prior.levels(contrast.variable)
    if contrast.levels is not None:
        absent = [lvl for lvl in contrast.levels if lvl not in known]
        if absent and contrast.difference is None:
            raise DesignError(_absent(contrast.variable, absent, known, prior))
        return contrast.levels
    if len(known) < 2:
        if contrast.difference is not None:
            return ("level", "reference")
        raise DesignError(_absent(contrast.variable, [contrast.variable], known, prior))
    return known[0], known[1]


def _absent(variable: str, absent: list[str], known: list[str], prior: PriorDraws) -> str:
    have = f"its levels of {variable!r} are {quote_values(known)}" if known else (
        f"it has no subgroup {variable!r}")  # fmt: skip
    return (
        f"Contrast {variable!r}: the prior ({prior.source}) has no level(s) "
        f"{quote_values(absent)}; {have}. Fit a PersonModel with subgroups=[{variable!r}], "
        "or give the difference to resolve: Contrast(..., difference=5.0)."
    )


def _difference(contrast, prior: PriorDraws, levels, i: int, draws: int) -> np.ndarray:
    if contrast.difference is not None:
        return np.full(draws, float(contrast.difference))
    a, b = (prior.subgroups[(contrast.variable, lvl)][:, i] for lvl in levels)
    return a - b


def _analysis(analysis: PriorDraws, levels, variable: str, i: int) -> tuple[float, float]:
    """Approximate what the old data say about the difference by a normal (flat if nothing)."""
    keys = [(variable, lvl) for lvl in levels]
    if not all(k in analysis.subgroups for k in keys):
        return 0.0, np.inf
    diff = analysis.subgroups[keys[0]][:, i] - analysis.subgroups[keys[1]][:, i]
    return float(np.mean(diff)), max(float(np.var(diff)), 1e-12)
