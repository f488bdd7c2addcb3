"""The fused g-computation kernel against a direct numpy computation."""

import numpy as np
from scipy.special import expit

from pwbayes.postprocess.gcomp import group_shift_effects, shift_effects


def test_shift_effects_equal_direct_computation():
    rng = np.random.default_rng(3)
    n_draws, n_sites, n_cells, n_cov = 7, 3, 50, 4
    site_c = rng.integers(0, n_sites, n_cells)
    x_c = rng.normal(size=(n_cells, n_cov))
    w_c = rng.integers(1, 20, n_cells).astype(float)
    alpha = rng.normal(-1, 1, (n_draws, n_sites))
    gamma = rng.normal(0, 0.5, (n_draws, n_cov))
    alpha_new = rng.normal(-1, 1, n_draws)
    shifts_site = rng.normal(0, 1, (n_draws, n_sites, 5))
    shifts_new = rng.normal(0, 1, (n_draws, 2))
    got_site, got_new = shift_effects(
        site_c, x_c, w_c, alpha, gamma, alpha_new, shifts_site, shifts_new
    )
    lin = gamma @ x_c.T
    for d in range(n_draws):
        for m in range(n_sites):
            b = alpha[d, m] + lin[d, site_c == m]
            w = w_c[site_c == m]
            for j in range(5):
                want = w @ (expit(b + shifts_site[d, m, j]) - expit(b))
                np.testing.assert_allclose(got_site[d, m, j], want, rtol=1e-12, atol=1e-12)
        b = alpha_new[d] + lin[d]
        for j in range(2):
            want = w_c @ (expit(b + shifts_new[d, j]) - expit(b))
            np.testing.assert_allclose(got_new[d, j], want, rtol=1e-12, atol=1e-12)


def test_shift_effects_without_covariates_and_extreme_values():
    site_c = np.array([0, 0, 1])
    got_site, got_new = shift_effects(
        site_c,
        np.zeros((3, 0)),
        np.ones(3),
        np.array([[800.0, -800.0]]),  # exp overflow must give 0 or 1, never nan
        np.zeros((1, 0)),
        np.array([0.0]),
        np.array([[[-1600.0], [1600.0]]]),
        np.array([[0.0]]),
    )
    np.testing.assert_allclose(got_site, [[[-2.0], [1.0]]])
    np.testing.assert_allclose(got_new, [[0.0]])


def test_group_shift_effects_equal_direct_computation():
    rng = np.random.default_rng(5)
    n_draws, n_sites, n_groups, n_cells, n_cov, n_shift = 4, 2, 3, 40, 2, 3
    site_c = rng.integers(0, n_sites, n_cells)
    group_c = rng.integers(0, n_groups, n_cells)
    x_c = rng.normal(size=(n_cells, n_cov))
    w_c = rng.integers(1, 9, n_cells).astype(float)
    alpha = rng.normal(-1, 1, (n_draws, n_sites))
    gamma = rng.normal(0, 0.5, (n_draws, n_cov))
    shifts = rng.normal(0, 1, (n_draws, n_sites, n_groups, n_shift))
    got = group_shift_effects(site_c, group_c, x_c, w_c, alpha, gamma, shifts)
    lin = gamma @ x_c.T
    for d in range(n_draws):
        for m in range(n_sites):
            for g in range(n_groups):
                cell = (site_c == m) & (group_c == g)
                b = alpha[d, m] + lin[d, cell]
                for j in range(n_shift):
                    want = w_c[cell] @ (expit(b + shifts[d, m, g, j]) - expit(b))
                    np.testing.assert_allclose(got[d, m, g, j], want, rtol=1e-12, atol=1e-12)
