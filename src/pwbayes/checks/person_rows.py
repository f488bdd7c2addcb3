"""A person fit's linear predictor and log likelihood per likelihood row, from its draws.

The checks that need the likelihood outside the compiled graph (predictive check,
power-scaling) compute it here with numpy: binary outcome, no subgroups, for every row of
:attr:`~pwbayes.PersonModel.cells` (persons, or binomial counts of persons who share site,
group and covariates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ..errors import DataError

if TYPE_CHECKING:
    import xarray as xr

    from ..models.person import PersonModel

__all__ = ["check_person_fit", "person_eta", "person_loglik_totals", "replicated_events"]


def check_person_fit(post: xr.Dataset, model: PersonModel, what: str) -> None:
    """Refuse what the numpy likelihood does not cover, with the reason."""
    if model.family != "bernoulli" or model.subgroup_layout is not None:
        raise DataError(
            f"{what} for a person model is available for a binary outcome without subgroups, "
            "so far."
        )
    covariates = list(post["gamma"].coords["covariate"].values) if "gamma" in post else []
    if covariates != list(model.data.covariates):
        raise DataError(
            "disclosure control removed the effects of covariate(s) "
            f"{sorted(set(model.data.covariates) - set(covariates))} from this fit, so its "
            f"likelihood cannot be evaluated for the {what}; refit without them."
        )
    if np.isnan(post["alpha"].values).any() or np.isnan(post["beta"].values).any():
        raise DataError(
            f"disclosure control emptied some site or component effects of this fit, so the "
            f"{what} cannot evaluate its likelihood."
        )


def person_eta(alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, model: PersonModel):
    """Linear predictor per draw and likelihood row: ``(draws, rows)``."""
    rows = model.cells
    design = np.vstack([np.zeros((1, beta.shape[2])), model.data.design])  # 0: comparison
    shift = np.einsum("dsc,gc->dsg", beta, design)
    return (alpha[:, rows.site_index] + gamma @ rows.x.T
            + shift[:, rows.site_index, rows.arm_index + 1])  # fmt: skip


def person_loglik_totals(post: xr.Dataset, model: PersonModel, chunk: int = 200) -> np.ndarray:
    """Binomial log likelihood summed over all rows, per draw: ``(chain, draw)``.

    Without ``log C(n, k)`` (the same in every draw), in chunks of draws so that memory
    stays small at national scale.
    """
    chains, draws = post.sizes["chain"], post.sizes["draw"]

    def flat(name: str) -> np.ndarray:
        values = post[name].values
        return values.reshape(chains * draws, *values.shape[2:])

    alpha, beta = flat("alpha"), flat("beta")
    gamma = flat("gamma") if "gamma" in post else np.zeros((len(alpha), 0))
    k, n = model.cells.k, model.cells.n
    out = np.empty(len(alpha))
    for start in range(0, len(alpha), chunk):
        part = slice(start, start + chunk)
        eta = person_eta(alpha[part], beta[part], gamma[part], model)
        # k log p + (n - k) log(1 - p) = k eta - n log(1 + e^eta)
        out[part] = eta @ k - np.logaddexp(0.0, eta) @ n
    return out.reshape(chains, draws)


def replicated_events(eta: np.ndarray, model: PersonModel, rng) -> np.ndarray:
    """Events drawn per draw and likelihood row from ``expit(eta)``."""
    return rng.binomial(model.cells.n.astype(int), special.expit(eta))
