"""The result of a :class:`~pwbayes.SummaryModel` fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import ResultBase

__all__ = ["SummaryResult"]


class SummaryResult(ResultBase):
    """Posterior of a :class:`~pwbayes.SummaryModel` fit (see :class:`ResultBase`)."""

    def pooling_factors(self) -> pd.DataFrame:
        """How far each site x arm estimate is pulled towards the pooled mean.

        The pooling factor of row k is ``E[s_k^2 / (s_k^2 + tau_k^2)]`` over the posterior,
        where ``tau_k^2 = sum_c x_kc tau_c^2`` is the between-site variance of that arm's
        effect (Gelman & Pardoe 2006; baggr's "pooling"): 0 means the site keeps its own
        estimate, 1 means it is replaced by the pooled mean. ``pooling="none"`` gives 0 and
        ``"full"`` 1.

        Returns
        -------
        pandas.DataFrame
            Columns ``site, arm, estimate, se, posterior_mean, pooling_factor``.
        """
        m = self.record.model
        rows = pd.DataFrame(
            {
                "site": [r.site for r in m.rows],
                "arm": [r.arm for r in m.rows],
                "estimate": [r.estimate for r in m.rows],
                "se": [r.se for r in m.rows],
            }
        )
        rows["posterior_mean"] = self._draws("theta").values.mean(0)
        if m.pooling == "partial":
            tau2 = self._draws("tau").values ** 2
            design = np.array(m.design(), dtype=float).reshape(len(m.arms), -1)
            var_between = tau2 @ design[[m.arms.index(a) for a in rows["arm"]]].T
            s2 = rows["se"].to_numpy(dtype=float) ** 2
            rows["pooling_factor"] = (s2 / (s2 + var_between)).mean(0)
        else:
            rows["pooling_factor"] = 1.0 if m.pooling == "full" else 0.0
        return rows
