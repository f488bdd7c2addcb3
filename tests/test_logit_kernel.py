"""The fused logit-binomial likelihood Op: value and gradient against scipy, in both backends."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import expit, log_expit

from pwbayes.models.person.kernels.logit import logit_loglik


def _reference(cells, gamma, cell_idx, data):
    k, n, x = data[:, 0], data[:, 1], data[:, 2:]
    eta = cells[cell_idx] + x @ gamma
    # k * eta - n * softplus(eta) = k * log(sigmoid(eta)) + (n - k) * log(sigmoid(-eta))
    logp = np.sum(k * log_expit(eta) + (n - k) * log_expit(-eta))
    r = k - n * expit(eta)
    return logp, np.bincount(cell_idx, weights=r, minlength=len(cells)), x.T @ r


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
@pytest.mark.parametrize("n_cov", [0, 3])
def test_value_and_gradient(mode, n_cov):
    rng = np.random.default_rng(3)
    rows = 40
    cell_idx = rng.integers(0, 5, rows)
    n = rng.integers(1, 9, rows).astype(float)
    k = np.floor(rng.random(rows) * (n + 1))
    data = np.column_stack([k, n, rng.normal(size=(rows, n_cov))])
    cells_v = np.array([-800.0, -3.0, 0.0, 40.0, 800.0])  # extremes: no overflow
    gamma_v = rng.normal(size=n_cov)
    cells, gamma = pt.vector("cells"), pt.vector("gamma")
    logp = logit_loglik(cells, gamma, cell_idx, data)
    fn = pytensor.function([cells, gamma], [logp, *pytensor.grad(logp, [cells, gamma])], mode=mode)
    got = fn(cells_v, gamma_v)
    want = _reference(cells_v, gamma_v, cell_idx, data)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-10)


def test_no_second_derivative():
    cells = pt.vector("cells")
    data = np.array([[1.0, 1.0], [0.0, 1.0]])
    g = pytensor.grad(logit_loglik(cells, np.zeros(0), np.array([0, 1]), data), cells)
    with pytest.raises(NotImplementedError, match="Second derivatives"):
        pytensor.grad(g.sum(), cells)
