"""The result of a :class:`~pwbayes.SummaryModel` fit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataError
from ..intervals import HDI_PROB, check_interval
from .base import ResultBase
from .moderation import new_site_draws

if TYPE_CHECKING:
    from ..checks.loo import LooSites
    from ..checks.ppc import PredictiveCheck
    from ..checks.sensitivity import Sensitivity
    from ..priors import Prior

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

    def loo_sites(
        self,
        *,
        interval: float = 0.9,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        random_seed: int | None = None,
        progress: bool = False,
    ) -> LooSites:
        """Leave each site out: refit, and compare its estimates with their prediction.

        The model is rebuilt from the record and refitted once per site with that site's
        rows held out (one compiled sampler for all refits). See
        :func:`pwbayes.checks.loo.loo_sites`.

        Parameters
        ----------
        interval : float
            Mass of the central predictive interval of each held-out estimate.
        draws, tune, chains : int
            Sampler settings of each refit.
        random_seed : int, optional
        progress : bool
            Print one line per refit.

        Returns
        -------
        LooSites
            ``.rows`` (per site x arm: predictive interval, inside, log predictive density,
            PSIS-LOO and Pareto k), ``.sites``, ``.coverage``, ``.elpd``, ``.plot()``.
        """
        from ..checks.loo import loo_sites

        return loo_sites(self, interval=interval, draws=draws, tune=tune, chains=chains,
                         random_seed=random_seed, progress=progress)  # fmt: skip

    def sensitivity(
        self,
        *,
        priors: dict[str, Prior] | None = None,
        typical: float | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        random_seed: int | None = None,
        progress: bool = False,
    ) -> Sensitivity:
        """How much do the priors decide? Power-scaling, and refits under other tau priors.

        See :func:`pwbayes.checks.sensitivity.sensitivity`: the default alternatives halve
        and double the fitted prior's scale and add two calibrated to published evidence
        on how much employment programmes' effects vary between places.

        Parameters
        ----------
        priors : dict of str to Prior, optional
            Priors for ``tau`` to refit under, by name (default: the four alternatives).
        typical : float, optional
            A typical effect size (the estimates' unit) scaling the calibrated priors;
            default: the root mean square of the pooled effects' posterior means.
        draws, tune, chains : int
            Sampler settings of each refit.
        random_seed : int, optional
        progress : bool
            Print one line per refit.

        Returns
        -------
        Sensitivity
            ``.table`` (pooled and new-site effects per prior, and their shift in posterior
            SDs), ``.psens`` (power-scaling), ``.line()``, ``.plot()``.
        """
        from ..checks.sensitivity import sensitivity

        return sensitivity(self, priors=priors, typical=typical, draws=draws, tune=tune,
                           chains=chains, random_seed=random_seed, progress=progress)  # fmt: skip

    def predictive_check(
        self, *, interval: float = 0.9, random_seed: int | None = None
    ) -> PredictiveCheck:
        """Posterior predictive check: the estimates against estimates replicated from the fit.

        No refit. See :func:`pwbayes.checks.ppc.predictive_check`.

        Parameters
        ----------
        interval : float
            Mass of the central replication interval per row.
        random_seed : int, optional

        Returns
        -------
        PredictiveCheck
            ``.rows`` (per site x arm), ``.statistics`` (chi-square discrepancy and spread,
            with posterior predictive p-values), ``.line()``, ``.plot()``.
        """
        from ..checks.ppc import predictive_check

        return predictive_check(self, interval=interval, random_seed=random_seed)

    def predict_site(
        self,
        moderators: dict[str, float] | None = None,
        *,
        hdi_prob: float = HDI_PROB,
        random_seed: int | None = None,
    ) -> pd.DataFrame:
        """Effect of each component and arm in a site that did not take part.

        The new-site predictive: a site effect drawn from the hierarchy, ``mu + tau * eps``,
        plus, with moderators, their part at the new site's values.

        Parameters
        ----------
        moderators : dict, optional
            The new site's raw value of every moderator of the model, e.g.
            ``{"comparison_level_pct": 35}``; default: the fitted sites' average.
        hdi_prob : float
        random_seed : int, optional

        Returns
        -------
        pandas.DataFrame
            ``component, arm, mean, sd, hdi_low, hdi_high, p_positive`` (component rows, then
            arm rows); ``attrs["moderators"]`` the values used.
        """
        hdi_prob = check_interval(hdi_prob)
        m = self.record.model
        if "tau" not in self.idata.posterior:
            raise DataError("predict_site needs pooling='partial' (a hierarchy to draw from).")
        rng = np.random.default_rng(random_seed)
        comps, arms = new_site_draws(self.idata.posterior, m, moderators, rng)
        table = self._new_site_table(comps, arms, hdi_prob)
        table.attrs["moderators"] = dict(moderators) if moderators else "the sites' average"
        return table
