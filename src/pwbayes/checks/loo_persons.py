"""Leave one person out: PSIS-LOO of a person fit, released per site (binary outcome).

``arviz.loo`` (Pareto-smoothed importance sampling, Vehtari, Gelman & Gabry 2017) on every
person's Bernoulli log-likelihood, without refitting: the expected log predictive density
of a new person of an existing site, the number to compare person models by (with or
without covariates, subgroups, moderators). Persons who share a likelihood row (a collapsed
cell) and their outcome have the same log-likelihood in every draw, so each row is
evaluated twice (its events and its non-events) and counted as often as it has persons:
exactly the per-person computation.

Per-person values never leave: the table gives per site the sum over its persons, its
standard error and the effective number of parameters ``p_loo``, and how many persons have
a Pareto k above 0.7 (where PSIS is not to be trusted) as a count that disclosure control
may show (``"fewer than 10"`` for 0 to 9, as every count of persons). Rows resting on an
effect that disclosure control emptied are left out, so the persons are counted in tens
(``"about 110"``). A site left with fewer than ``min_cell`` persons gets no figures and is
not in the total (which would give its figures away by difference); the total's count of
high-k persons is rounded to tens when a site's was hidden.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
from scipy import special

from ..data.disclosure import MIN_CELL, count_text, is_small
from ..errors import DataError
from .loo import PARETO_K_LIMIT
from .person_rows import check_person_fit, eta_at

if TYPE_CHECKING:
    from ..models.person import PersonModel
    from ..results import PersonResult

__all__ = ["LooPersons", "person_loo_persons"]


@dataclass(frozen=True)
class LooPersons:
    """What leaving each person out showed, per site and in total.

    Attributes
    ----------
    sites : pandas.DataFrame
        One row per site and a last row ``"all"`` (the sites with figures): ``site,
        persons`` (in tens), ``elpd_loo`` (summed over the persons), ``se``, ``p_loo`` and
        ``high_k`` (persons with Pareto k above 0.7, as a count disclosure allows).
    noun : str
        What a site is.
    note : str, optional
        The data's caption.
    """

    sites: pd.DataFrame
    noun: str = "site"
    note: str | None = None

    @property
    def elpd_loo(self) -> float:
        """Expected log predictive density of the persons, summed."""
        return float(self.sites["elpd_loo"].iloc[-1])

    def line(self) -> str:
        """One sentence for a report."""
        total = self.sites.iloc[-1]
        return (
            f"Leaving each person out (PSIS-LOO): elpd_loo {total.elpd_loo:.1f} (SE "
            f"{total.se:.1f}), p_loo {total.p_loo:.1f}; persons with Pareto k > "
            f"{PARETO_K_LIMIT}: {total.high_k}."
        )

    def __repr__(self) -> str:
        return f"LooPersons({self.line()})"


def person_loo_persons(result: PersonResult, model: PersonModel, chunk: int = 2000) -> LooPersons:
    """PSIS-LOO over the persons of a person fit, summed per site.

    Parameters
    ----------
    result : PersonResult
        The fit of ``model``.
    model : PersonModel
        The fitted model (its persons are needed; a result holds none).
    chunk : int
        Likelihood rows per pass (memory: draws x ``2 chunk`` numbers).

    Returns
    -------
    LooPersons
    """
    m, post = result.record.model, result.idata.posterior
    if m.kind != "PersonModel" or list(m.sites) != list(model.data.sites):
        raise DataError(
            "loo_persons(model): give the PersonModel this result was fitted from; the "
            f"result's sites are {list(m.sites)}, the model's {list(model.data.sites)}."
        )
    check_person_fit(post, model, "leave-one-person-out")
    rows = model.cells
    parts = [_psis(post, model, np.arange(a, min(a + chunk, rows.size)))
             for a in range(0, rows.size, chunk)]  # fmt: skip
    elpd, lpd, k = (np.concatenate([p[i] for p in parts], axis=1) for i in range(3))
    counts = np.stack([rows.k, rows.n - rows.k])  # (events, non-events) per row
    min_cell = result.record.disclosure.min_cell if result.record.disclosure else MIN_CELL
    table, released = [], np.zeros_like(elpd, dtype=bool)
    for s, site in enumerate(m.sites):
        keep = np.isfinite(elpd) & (rows.site_index == s)[None]
        table.append(_site_row(site, elpd, lpd, k, counts, keep, min_cell))
        if np.isfinite(table[-1][2]):
            released |= keep
    # the total covers the released sites only: with a hidden site in it, the difference
    # would give the hidden site's figures away; its count of high-k persons is rounded to
    # tens when a site's was hidden, for the same reason
    total = list(_site_row("all", elpd, lpd, k, counts, released, min_cell))
    high = [_high_k(k, counts, released & (rows.site_index == s)[None])
            for s in range(len(m.sites))]  # fmt: skip
    if any(is_small(h, min_cell) for h in high) and not is_small(sum(high), min_cell):
        total[5] = count_text(sum(high), min_cell, exact=False)
    columns = ["site", "persons", "elpd_loo", "se", "p_loo", "high_k"]
    return LooPersons(pd.DataFrame([*table, tuple(total)], columns=columns), m.site_noun, m.note)


def _psis(post, model: PersonModel, index: np.ndarray):
    """``(elpd_i, lpd_i, k_i)`` of a chunk of rows, each ``(2, rows)``: events, non-events."""
    eta = eta_at(post, model, slice(None), index)
    ok = ~np.isnan(eta).any(axis=0)  # rows resting on an emptied effect: left out
    eta = np.where(ok, eta, 0.0)
    soft = np.logaddexp(0.0, eta)
    loglik = np.concatenate([eta - soft, -soft], axis=1)  # log p, log(1 - p)
    finite = np.concatenate([ok, ok])
    n = loglik.shape[1]
    elpd, lpd, k = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    if finite.any():
        shape = (post.sizes["chain"], post.sizes["draw"], int(finite.sum()))
        idata = az.InferenceData(
            posterior=post[["mu"]],
            log_likelihood=az.dict_to_dataset({"y": loglik[:, finite].reshape(shape)}),
        )
        with warnings.catch_warnings():
            # a high Pareto k is counted in the table, not a warning
            warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
            loo = az.loo(idata, pointwise=True)
        elpd[finite], k[finite] = np.asarray(loo.loo_i), np.asarray(loo.pareto_k)
        lpd[finite] = special.logsumexp(loglik[:, finite], axis=0) - np.log(len(loglik))
    return tuple(v.reshape(2, -1) for v in (elpd, lpd, k))


def _site_row(site, elpd, lpd, k, counts, keep, min_cell) -> tuple:
    """One row of the table: sums over the persons of ``keep`` (where a count is kept)."""
    w = np.where(keep, counts, 0.0)
    persons = float(w.sum())
    # rounded to tens: rows resting on an emptied effect are left out, and an exact count
    # beside the site's known size would give the size of that small cell away
    shown = count_text(int(persons), min_cell, exact=False)
    if is_small(persons, min_cell):
        return (site, shown, np.nan, np.nan, np.nan, "")
    e = np.where(keep, elpd, 0.0)
    total = float((w * e).sum())
    var = float((w * (e - total / persons) ** 2).sum()) / persons  # over the persons
    p_loo = float((w * (np.where(keep, lpd, 0.0) - e)).sum())
    return (site, shown, total, float(np.sqrt(persons * var)), p_loo,
            count_text(_high_k(k, counts, keep), min_cell))  # fmt: skip


def _high_k(k: np.ndarray, counts: np.ndarray, keep: np.ndarray) -> int:
    """Persons of ``keep`` whose Pareto k is above the limit."""
    return int(np.where(keep & (np.nan_to_num(k) > PARETO_K_LIMIT), counts, 0).sum())
