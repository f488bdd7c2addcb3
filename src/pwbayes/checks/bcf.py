"""Optional non-parametric check of subgroup effects: Bayesian causal forests (stochtree).

The parametric subgroup model of :class:`~pwbayes.PersonModel` says in advance which
differences it looks for (one term per level of each named variable). A Bayesian causal
forest (Hahn, Murray & Carvalho 2020) does not: it lets the effect vary with every
characteristic given. If both agree on the level averages, the parametric model has not
missed the shape of the heterogeneity; if they disagree, look closer.

:func:`bcf_subgroup_effects` fits one arm against the comparison groups of the sites that
ran it, with the outcome as a linear probability (effects in percentage points, as the
published figures), the site as a characteristic, and the known randomisation share per
site as the propensity score; it returns the posterior of the average effect in each
subgroup level. Needs the ``bcf`` extra (``pip install "pwbayes[bcf]"``, which installs
``stochtree``). Cells of fewer than ``min_cell`` persons are suppressed as everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..arms import ArmParser, comparison_roles, default_parser
from ..data.disclosure import MIN_CELL, check_min_cell, is_small, suppression_note
from ..data.subgroups import bin_subgroups
from ..errors import ArmError, DataError
from ..intervals import HDI_PROB, hdi

__all__ = ["bcf_subgroup_effects"]


def bcf_subgroup_effects(
    data: pd.DataFrame,
    *,
    arm_label: str,
    outcome: str,
    subgroups: Sequence[str],
    covariates: Sequence[str] = (),
    site: str = "municipality",
    arm: str = "arm",
    comparison: str | Mapping[str, str] | None = None,
    subgroup_bins: Mapping | None = None,
    draws: int = 500,
    burnin: int = 500,
    hdi_prob: float = HDI_PROB,
    min_cell: int = MIN_CELL,
    random_seed: int | None = None,
    parser: ArmParser | None = None,
) -> pd.DataFrame:
    """Average effect of one arm in each subgroup level, from a Bayesian causal forest.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; not modified.
    arm_label : str
        The arm to check (any spelling the arm parser accepts, e.g. ``"Extra Hulp"``).
    outcome : str
        A 0/1 outcome; effects are in percentage points.
    subgroups : sequence of str
        Subgroup variables whose levels are reported (numeric ones binned as in
        ``PersonModel``); they, ``covariates`` and the site are the forest's characteristics.
    covariates : sequence of str
        Further numeric or boolean characteristics.
    site, arm : str
        Column names.
    comparison : str or mapping
        Comparison group label, for all sites or per site.
    subgroup_bins : mapping, optional
        As for ``PersonModel``.
    draws, burnin : int
        Retained and discarded MCMC iterations (after 10 grow-from-root warm starts).
    hdi_prob : float
        Interval mass.
    min_cell : int
        Levels with fewer persons in the arm or the comparison groups are suppressed.
    random_seed : int, optional
    parser : ArmParser, optional

    Returns
    -------
    pandas.DataFrame
        ``arm, subgroup, subgroup_level, mean, sd, hdi_low, hdi_high, p_positive``;
        ``attrs["suppressed"]`` lists suppressed levels.
    """
    try:
        from stochtree import BCFModel
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            'bcf_subgroup_effects needs stochtree: pip install "pwbayes[bcf]".'
        ) from None
    min_cell = check_min_cell(min_cell)
    parser = parser or default_parser()
    subgroups, covariates = list(subgroups), list(covariates)
    missing = [c for c in [site, arm, outcome, *subgroups, *covariates] if c not in data]
    if missing:
        raise DataError(f"column(s) {missing} not found; columns: {list(map(str, data.columns))}.")
    df, z = _arm_and_comparison(
        bin_subgroups(data, subgroups, subgroup_bins), arm_label, site, arm, comparison, parser
    )
    y = df[outcome].astype(float).to_numpy()
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataError(f"column {outcome!r} must be 0/1 for bcf_subgroup_effects.")
    features = pd.get_dummies(
        df[[site, *subgroups]].astype(str), drop_first=False, dtype=float
    ).join(df[covariates].astype(float))
    propensity = pd.Series(z).groupby(df[site].astype(str).to_numpy()).transform("mean")
    model = BCFModel()
    model.sample(
        X_train=features.to_numpy(),
        Z_train=z,
        y_train=y,
        propensity_train=propensity.to_numpy(),
        num_gfr=10,
        num_burnin=burnin,
        num_mcmc=draws,
        general_params={"random_seed": -1 if random_seed is None else int(random_seed)},
    )
    tau = 100.0 * np.asarray(model.tau_hat_train)  # (persons, draws), pp
    rows, suppressed = [], []
    for var in subgroups:
        values = df[var].astype(str).to_numpy()
        for lev in sorted(set(values)):
            here = values == lev
            if is_small(min((here & (z == 1)).sum(), (here & (z == 0)).sum()), min_cell):
                cell = {"arm": arm_label, var: lev}
                suppressed.append(suppression_note(min_cell, cell))
                continue
            avg = tau[here].mean(axis=0)  # effect averaged over the level's persons
            low, high = hdi(avg[:, None], hdi_prob)
            rows.append({"arm": arm_label, "subgroup": var, "subgroup_level": lev,
                         "mean": avg.mean(), "sd": avg.std(ddof=1), "hdi_low": low[0],
                         "hdi_high": high[0], "p_positive": (avg > 0).mean()})  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs.update(suppressed=suppressed, min_cell=min_cell, hdi_prob=hdi_prob)
    if data.attrs.get("note"):
        out.attrs["note"] = data.attrs["note"]
    return out


def _arm_and_comparison(df, arm_label, site, arm, comparison, parser):
    """Select the rows of one arm and of the comparison groups of the sites that ran it.

    Returns the rows and the treatment indicator (1: the arm); the comparison groups follow
    the one rule of :func:`~pwbayes.arms.comparison_roles`.
    """
    target = parser.parse(arm_label, allow_empty=False)
    labels = df[arm].astype(str)
    parsed = {lab: parser.parse(lab, allow_empty=True) for lab in pd.unique(labels)}
    is_arm = labels.map(lambda lab: parsed[lab] == target).to_numpy()
    sites = df[site].astype(str)
    try:
        roles = comparison_roles(sites.tolist(), labels.tolist(), comparison, parser)
    except ArmError as err:
        raise DataError(f"Column {arm!r} (arm): {err}") from None
    is_comp = np.array(roles) == "comparison"
    sites_with_arm = set(sites[is_arm])
    if not sites_with_arm:
        raise DataError(f"no rows of arm {arm_label!r} in column {arm!r}.")
    keep = (is_arm | is_comp) & sites.isin(sites_with_arm).to_numpy()
    return df.loc[keep], is_arm[keep].astype(float)
