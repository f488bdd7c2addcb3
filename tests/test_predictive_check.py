"""Posterior predictive check of a summary fit, against the exact answer at known parameters."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pwbayes as pw

N_DRAWS = 4000


def _point_posterior(estimates, se, truth):
    """A result whose posterior is (all but) a point: every site's effect is ``truth``.

    Then the replicated estimates are ``truth + se * eps``, and the chi-square discrepancy of
    the observed table has the exact p-value ``chi2.sf(T, n)``.
    """
    n = len(estimates)
    data = pd.DataFrame({"site": [f"S{k}" for k in range(n)], "estimate": estimates, "se": se})
    model = pw.SummaryModel(data, site="site", estimate="estimate", se="se")
    shape = (2, N_DRAWS // 2)
    rng = np.random.default_rng(0)

    def jitter(*dims):  # draws that are not all alike, so that R-hat and ESS are defined
        return 1e-9 * rng.standard_normal((*shape, *dims))

    post = {
        "mu": truth + jitter(1),
        "tau": 1e-9 + np.abs(jitter(1)),
        "z": jitter(n, 1),
        "beta": truth + jitter(n, 1),
        "theta": truth + jitter(n),
    }
    dims = {"mu": ["component"], "tau": ["component"], "z": ["site", "component"],
            "beta": ["site", "component"], "theta": ["row"]}  # fmt: skip
    coords = {k: model.coords[k] for k in ("site", "component", "row")}
    idata = az.from_dict(posterior=post, sample_stats={"diverging": np.zeros(shape, bool)},
                         coords=coords, dims=dims)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)  # constant draws
        return pw.result_from_draws(model, idata, random_seed=1, sampler="fake")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chi_square_p_value_is_exact_at_known_parameters(seed):
    rng = np.random.default_rng(seed)
    se = rng.uniform(1, 4, 12)
    y = 2.0 + se * rng.standard_normal(12)
    check = _point_posterior(y, se, 2.0).predictive_check(random_seed=seed)
    stat = check.statistics.set_index("statistic")
    exact = stats.chi2.sf(((y - 2.0) ** 2 / se**2).sum(), 12)
    p = stat.loc["chi_square", "p_value"]
    assert abs(p - exact) < 4 * np.sqrt(exact * (1 - exact) / N_DRAWS) + 1e-3, (p, exact)
    # per row: P(y_rep >= y) = 1 - Phi((y - truth) / se)
    exact_rows = stats.norm.sf((y - 2.0) / se)
    mcse = 4 * np.sqrt(exact_rows * (1 - exact_rows) / N_DRAWS) + 1e-3
    assert (np.abs(check.rows.p_row - exact_rows) < mcse).all()
    assert np.allclose(check.rows.rep_low, 2.0 + se * stats.norm.ppf(0.05), atol=4 * se * 0.05)


def test_a_common_effect_cannot_reproduce_heterogeneous_estimates():
    """Estimates that differ far more than their SEs allow: the spread's p-value is tiny."""
    rng = np.random.default_rng(5)
    se = np.full(10, 1.0)
    y = 2.0 + rng.normal(0, 8, 10) + se * rng.standard_normal(10)
    check = _point_posterior(y, se, 2.0).predictive_check(random_seed=5)
    stat = check.statistics.set_index("statistic")
    assert stat.loc["spread", "p_value"] < 0.01
    assert stat.loc["chi_square", "p_value"] < 0.01
    assert "outside their 90% replication interval" in check.line()
    fig = check.plot()
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "outside estimate" in labels
    assert "p = 0.00" in fig.axes[2].get_title()
