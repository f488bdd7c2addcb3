"""A person fit's linear predictor and log likelihood per likelihood row, from its draws.

The checks that need the likelihood outside the compiled graph (predictive check,
power-scaling) compute it here with numpy: binary outcome (subgroup terms included), for
every row of :attr:`~pwbayes.PersonModel.cells` (persons, or binomial counts of persons
who share site, group, subgroup levels and covariates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ..errors import DataError
from ..results.person_predict import flat_draws

if TYPE_CHECKING:
    import xarray as xr

    from ..models.person import PersonModel

__all__ = ["check_person_fit", "eta_at", "person_eta", "person_loglik_totals",
           "replicated_events"]  # fmt: skip


def check_person_fit(post: xr.Dataset, model: PersonModel, what: str) -> None:
    """Refuse what the numpy likelihood does not cover, with the reason."""
    if model.family != "bernoulli":
        raise DataError(f"{what} for a person model is available for a binary outcome, so far.")
    covariates = list(post["gamma"].coords["covariate"].values) if "gamma" in post else []
    hidden = sorted(set(model.data.covariates) - set(covariates))
    if "gamma" in post:  # emptied (NaN) rather than dropped
        empty = np.isnan(post["gamma"].values).all(axis=(0, 1))
        hidden += [c for c, e in zip(covariates, empty, strict=True) if e]
    if hidden:
        raise DataError(
            f"disclosure control removed the effects of covariate(s) {hidden} from this fit "
            f"(a value fewer than min_cell persons share), so its likelihood cannot be "
            f"evaluated for the {what}; refit without them."
        )
    # effects that disclosure control emptied (small cells) are NaN: the rows they enter are
    # left out of the check (person_eta gives them NaN), never filled in


def person_eta(
    alpha: np.ndarray,
    beta: np.ndarray,
    gamma: np.ndarray,
    model: PersonModel,
    delta: np.ndarray | None = None,
    delta_site: np.ndarray | None = None,
    subset: np.ndarray | None = None,
):
    """Linear predictor per draw and likelihood row: ``(draws, rows)``.

    With subgroups, ``delta`` ``(draw, component, level)`` (and ``delta_site`` ``(draw,
    site, component, level)``) add each row's subgroup terms to its arm's components.
    ``subset`` (row indices) limits the rows (default all).
    """
    rows = model.cells if subset is None else model.cells.take(subset)
    design = np.vstack([np.zeros((1, beta.shape[2])), model.data.design])  # 0: comparison
    shift = np.einsum("dsc,gc->dsg", beta, design)
    eta = alpha[:, rows.site_index] + gamma @ rows.x.T + shift[:, rows.site_index,
                                                                rows.arm_index + 1]  # fmt: skip
    layout = model.subgroup_layout
    if layout is None or delta is None:
        return eta
    select = layout.selector()  # (combination, level)
    d_rows = design[rows.arm_index + 1]  # (row, component)
    for g in range(layout.n_groups):  # a loop over combinations keeps memory small
        in_g = rows.group_index == g
        if not in_g.any():
            continue
        per_group = delta @ select[g]  # (draw, component)
        eta[:, in_g] += per_group @ d_rows[in_g].T
        if delta_site is not None:
            per_site = delta_site @ select[g]  # (draw, site, component)
            eta[:, in_g] += np.einsum("drc,rc->dr", per_site[:, rows.site_index[in_g]],
                                      d_rows[in_g])  # fmt: skip
    return eta


def eta_at(
    post: xr.Dataset,
    model: PersonModel,
    index: slice | np.ndarray,
    subset: np.ndarray | None = None,
) -> np.ndarray:
    """Linear predictor ``(draws, rows)`` at the draws ``index`` of the flattened chains.

    ``subset``: the likelihood rows (default all).
    """
    alpha, beta = flat_draws(post, "alpha", index), flat_draws(post, "beta", index)
    gamma = flat_draws(post, "gamma", index) if "gamma" in post else np.zeros((len(alpha), 0))
    delta, delta_site = (flat_draws(post, n, index) if n in post else None
                         for n in ("delta", "delta_site"))  # fmt: skip
    return person_eta(alpha, beta, gamma, model, delta, delta_site, subset)


def person_loglik_totals(post: xr.Dataset, model: PersonModel, chunk: int = 50) -> np.ndarray:
    """Binomial log likelihood summed over the rows, per draw: ``(chain, draw)``.

    Rows whose linear predictor rests on an effect that disclosure control emptied (a
    small cell: NaN in the result) are left out: the likelihood of the released rows.

    Without ``log C(n, k)`` (the same in every draw), in chunks of draws so that memory
    stays small at national scale.
    """
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    k, n = model.cells.k, model.cells.n
    out = np.empty(chains * draws)
    for start in range(0, len(out), chunk):
        part = slice(start, start + chunk)
        eta = eta_at(post, model, part)
        # k log p + (n - k) log(1 - p) = k eta - n log(1 + e^eta); rows resting on an
        # effect that disclosure control emptied are left out (the same rows in every draw)
        keep = ~np.isnan(eta).any(axis=0)
        out[part] = eta[:, keep] @ k[keep] - np.logaddexp(0.0, eta[:, keep]) @ n[keep]
    return out.reshape(chains, draws)


def replicated_events(eta: np.ndarray, model: PersonModel, rng) -> np.ndarray:
    """Events drawn per draw and likelihood row from ``expit(eta)`` (NaN rows: NaN)."""
    missing = np.isnan(eta)
    events = rng.binomial(model.cells.n.astype(int), special.expit(np.where(missing, 0.0, eta)))
    return np.where(missing, np.nan, events)
