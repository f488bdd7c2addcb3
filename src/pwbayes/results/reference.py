"""The fully pooled (common-effect) reference of the forest plots, computed exactly.

The conjugate normal linear model ``y ~ Normal(X mu, diag(s^2))`` with ``mu ~ Normal(m0,
sd0)`` over the site x arm rows of a record: no sampling needed. Only rows with an estimate
take part, so a row that disclosure control emptied never enters it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..priors import Prior, default_priors
from ..record import ModelRecord

__all__ = ["common_effect"]


def common_effect(record: ModelRecord) -> pd.DataFrame:
    """Exact posterior of the common effect of every arm, from the record's rows.

    The prior is the model's ``mu`` prior when it is a Normal on the outcome's scale
    (summary models), else the default ``mu`` prior for these standard errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm, mean, sd``; empty when no row has an estimate.
    """
    rows = [r for r in record.rows if r.estimate is not None and r.se is not None and r.se > 0]
    if not rows:
        return pd.DataFrame(columns=["arm", "mean", "sd"])
    se = np.array([r.se for r in rows], dtype=float)
    y = np.array([r.estimate for r in rows], dtype=float)
    prior = default_priors(se.tolist())["mu"]
    own = record.priors.get("mu")
    if record.kind == "SummaryModel" and own is not None and own["dist"] == "Normal":
        prior = Prior.from_value(own)
    design = np.array(record.design(), dtype=float).reshape(len(record.arms), -1)
    x = design[[record.arms.index(r.arm) for r in rows]]
    w = 1.0 / se**2
    prior_prec = 1.0 / prior.params["sigma"] ** 2
    cov = np.linalg.inv(x.T @ (x * w[:, None]) + np.eye(x.shape[1]) * prior_prec)
    mean = cov @ (x.T @ (w * y) + prior_prec * prior.params["mu"])
    return pd.DataFrame(
        {
            "arm": list(record.arms),
            "mean": design @ mean,
            "sd": np.sqrt(np.einsum("ac,cd,ad->a", design, cov, design)),
        }
    )
