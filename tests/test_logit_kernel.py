"""The fused logit-binomial kernel: value and gradient against scipy, in both backends."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import expit, log_expit

from pwbayes.models._logit_kernel import logit_binomial


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_kernel_value_and_gradient(mode):
    eta = pt.vector("eta")
    k, n = np.array([0.0, 1.0, 3.0, 0.0, 7.0, 2.0]), np.array([1.0, 1.0, 5.0, 2.0, 7.0, 9.0])
    logp = logit_binomial(k, n, eta)
    fn = pytensor.function([eta], [logp, pytensor.grad(logp.sum(), eta)], mode=mode)
    x = np.array([-800.0, -3.0, 0.0, 0.5, 40.0, 800.0])
    value, grad = fn(x)
    # k * eta - n * softplus(eta) = k * log(sigmoid(eta)) + (n - k) * log(sigmoid(-eta))
    want = k * log_expit(x) + (n - k) * log_expit(-x)
    np.testing.assert_allclose(value, want, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(grad, k - n * expit(x), rtol=1e-13, atol=1e-13)


def test_kernel_has_no_second_derivative():
    eta = pt.vector("eta")
    g = pytensor.grad(logit_binomial(np.ones(2), 1.0, eta).sum(), eta)
    with pytest.raises(NotImplementedError, match="Second derivatives"):
        pytensor.grad(g.sum(), eta)
