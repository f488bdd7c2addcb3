"""Per-site whitening of the site effects by a Gaussian approximation of the likelihood.

For the exact person-level likelihood, each site's block ``phi_m = (alpha_m, beta_m)``
(intercept and component effects) has prior ``N(mean, D^2)`` (``mean = (alpha_mu, mu)``,
``D = diag(alpha_sd, tau)``) and, given the covariate effects ``gamma``, a likelihood that
is close to Gaussian with precision ``H_m`` (from one maximum-likelihood fit: "stage
one"). The non-centred parameterisation ``phi_m = mean + D z`` makes the prior easy for the
sampler but leaves the likelihood's correlations (a combined arm ties its components
together; intercept and effects are estimated against the same comparison group) and
gets thinner as the data grow. Whitening writes

    phi_m = mean + D xi_m,     xi_m = B_m^-1 b_m + L_m^-T w_m,
    B_m = I + D H_m D = L_m L_m',   b_m = D (h_m - H_m mean - K_m gamma)

so that ``w_m`` (the sampler's coordinates, ``site_w``) is standard normal under the
Gaussian approximation of the posterior given the hyperparameters and ``gamma``. It is an
exact change of variables for any ``H_m``, ``h_m`` and ``K_m``: the model adds the prior of
``xi`` and the log-Jacobian ``-sum log diag L_m``, so the posterior is the model's own; the
approximation only decides how easy it is to sample. Where a site has no information on a
parameter (a component it did not run), ``B_m`` is the identity there and whitening
reduces to non-centring; as a ``tau`` goes to zero, likewise.

The transform is one PyTensor Op (:mod:`.whitening_op`) with these numba kernels and a
hand-written vector-Jacobian product. On the six-municipality layout (blocks of 7 x 7) it
adds about 40 us to a 430 us gradient; PyTensor's own batched Cholesky and its gradient
cost 1.15 ms per gradient and 97 s to compile (``docs/benchmarks.md``). The kernels are
compiled on first use and cached on disk (the first fit on a new machine compiled for
about 60 s instead of 20).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["effects_backward", "effects_forward"]


# ---------------------------------------------------------------- numba kernels
@numba.njit(cache=True, error_model="numpy")
def _cholesky(h, sd, out):  # pragma: no cover - compiled
    """``out`` = lower Cholesky factor of ``I + D h D``; returns ``sum log diag``."""
    n = sd.shape[0]
    logdiag = 0.0
    for j in range(n):
        acc = 1.0 + sd[j] * h[j, j] * sd[j]
        for k in range(j):
            acc -= out[j, k] * out[j, k]
        d = math.sqrt(acc)
        out[j, j] = d
        logdiag += math.log(d)
        for i in range(j + 1, n):
            acc = sd[i] * h[i, j] * sd[j]
            for k in range(j):
                acc -= out[i, k] * out[j, k]
            out[i, j] = acc / d
        for i in range(j):
            out[i, j] = 0.0
    return logdiag


@numba.njit(cache=True, error_model="numpy")
def _lower_solve(low, x, out):  # pragma: no cover - compiled
    """``out = L^-1 x``."""
    n = x.shape[0]
    for i in range(n):
        acc = x[i]
        for k in range(i):
            acc -= low[i, k] * out[k]
        out[i] = acc / low[i, i]


@numba.njit(cache=True, error_model="numpy")
def _upper_solve(low, x, out):  # pragma: no cover - compiled
    """``out = L^-T x``."""
    n = x.shape[0]
    for i in range(n - 1, -1, -1):
        acc = x[i]
        for k in range(i + 1, n):
            acc -= low[k, i] * out[k]
        out[i] = acc / low[i, i]


@numba.njit(cache=True, error_model="numpy")
def _forward(h, sd, b, eps):  # pragma: no cover - compiled
    s, n = b.shape
    xi = np.empty((s, n))
    low = np.empty((n, n))
    tmp = np.empty(n)
    u = np.empty(n)
    v = np.empty(n)
    logjac = 0.0
    for m in range(s):
        logjac -= _cholesky(h[m], sd, low)
        _lower_solve(low, b[m], tmp)
        _upper_solve(low, tmp, u)
        _upper_solve(low, eps[m], v)
        for i in range(n):
            xi[m, i] = u[i] + v[i]
    return xi, logjac


@numba.njit(cache=True, error_model="numpy")
def _backward(h, sd, b, eps, g_xi, g_jac):  # noqa: C901 (a numba loop nest)  # pragma: no cover
    """Vector-Jacobian product of :func:`_forward` in ``sd``, ``b`` and ``eps``.

    With ``u = B^-1 b``, ``v = L^-T eps``: ``g_eps = L^-1 g``, ``g_b = B^-1 g``, and the
    gradient in (symmetric) ``B`` is ``-sym(g_b u') - g_jac B^-1 / 2 + L^-T sym(P) L^-1``
    with ``P = Phi(L' Lbar)``, ``Lbar = -v g_eps'`` (Cholesky's reverse mode; ``Phi`` keeps
    the lower triangle and halves the diagonal). ``B = I + D H D`` then gives
    ``g_sd_i = sum_j (Bbar_ij + Bbar_ji) H_ij sd_j``.
    """
    s, n = b.shape
    g_sd = np.zeros(n)
    g_b = np.empty((s, n))
    g_eps = np.empty((s, n))
    low = np.empty((n, n))
    inv = np.empty((n, n))  # L^-1
    unit = np.empty(n)
    tmp = np.empty(n)
    u = np.empty(n)
    v = np.empty(n)
    bbar = np.empty((n, n))
    a = np.empty((n, n))
    for m in range(s):
        _cholesky(h[m], sd, low)
        _lower_solve(low, b[m], tmp)
        _upper_solve(low, tmp, u)
        _upper_solve(low, eps[m], v)
        _lower_solve(low, g_xi[m], tmp)
        for i in range(n):
            g_eps[m, i] = tmp[i]
        _upper_solve(low, tmp, g_b[m])
        for j in range(n):
            for i in range(n):
                unit[i] = 1.0 if i == j else 0.0
            _lower_solve(low, unit, tmp)
            for i in range(n):
                inv[i, j] = tmp[i]
        # a = L' Lbar with Lbar = -v g_eps', i.e. a = -(L'v) g_eps'; then P = Phi(a),
        # symmetrised: (P + P') / 2 holds a's lower triangle, halved, on both sides
        for i in range(n):
            acc = 0.0
            for k in range(i, n):
                acc += low[k, i] * v[k]
            tmp[i] = acc
        for i in range(n):
            for j in range(n):
                a[i, j] = -tmp[i] * g_eps[m, j]
        for i in range(n):
            for j in range(n):
                bbar[i, j] = 0.5 * a[max(i, j), min(i, j)]
        # bbar <- L^-T bbar L^-1 (sandwich), then the u and log-Jacobian terms
        for i in range(n):  # a <- bbar L^-1
            for j in range(n):
                acc = 0.0
                for k in range(j, n):
                    acc += bbar[i, k] * inv[k, j]
                a[i, j] = acc
        for i in range(n):
            for j in range(n):
                sand = 0.0  # (L^-T a)_ij
                binv = 0.0  # (L^-T L^-1)_ij
                for k in range(max(i, j), n):
                    binv += inv[k, i] * inv[k, j]
                for k in range(i, n):
                    sand += inv[k, i] * a[k, j]
                bbar[i, j] = sand - 0.5 * (g_b[m, i] * u[j] + u[i] * g_b[m, j]) - 0.5 * g_jac * binv
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += (bbar[i, j] + bbar[j, i]) * h[m, i, j] * sd[j]
            g_sd[i] += acc
    return g_sd, g_b, g_eps


@numba.njit(cache=True, error_model="numpy")
def _prepare(blocks, alpha_mu, mu, alpha_sd, tau, gamma, s, n):  # pragma: no cover
    """``H``, ``mean``, ``sd``, ``lin = h - H mean - K gamma`` and ``b = sd * lin``."""
    h, hvec, kmat = blocks[:, :, :n], blocks[:, :, n], blocks[:, :, n + 1 :]
    mean = np.empty(n)
    sd = np.empty(n)
    mean[0] = alpha_mu
    sd[0] = alpha_sd
    mean[1:] = mu
    sd[1:] = tau
    lin = np.empty((s, n))
    b = np.empty((s, n))
    for m in range(s):
        for i in range(n):
            acc = hvec[m, i]
            for j in range(n):
                acc -= h[m, i, j] * mean[j]
            for j in range(gamma.shape[0]):
                acc -= kmat[m, i, j] * gamma[j]
            lin[m, i] = acc
            b[m, i] = sd[i] * acc
    return h, mean, sd, lin, b


@numba.njit(cache=True, error_model="numpy")
def effects_forward(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w):  # pragma: no cover
    """``(alpha, beta, log density)`` of :class:`SiteEffects`; see the module docstring."""
    s, n = w.shape
    h, mean, sd, _, b = _prepare(blocks, alpha_mu, mu, alpha_sd, tau, gamma, s, n)
    xi, logjac = _forward(h, sd, b, w)
    alpha = np.empty(s)
    beta = np.empty((s, n - 1))
    logdens = logjac
    for m in range(s):
        alpha[m] = mean[0] + sd[0] * xi[m, 0]
        for i in range(n):
            logdens -= 0.5 * xi[m, i] * xi[m, i]
        for i in range(1, n):
            beta[m, i - 1] = mean[i] + sd[i] * xi[m, i]
    return alpha, beta, logdens


@numba.njit(cache=True, error_model="numpy")
def effects_backward(
    blocks, alpha_mu, mu, alpha_sd, tau, gamma, w, g_alpha, g_beta, g_logdens
):  # pragma: no cover - compiled
    """Vector-Jacobian product of :func:`_effects_forward`.

    With ``phi = mean + sd * xi``, ``b = sd * lin``, ``lin = hvec - H mean - K gamma``:
    ``g_xi = sd * g_phi - g_ld * xi`` into :func:`_backward`, then
    ``g_sd += sum_m g_phi * xi + g_b * lin``, ``g_mean = sum_m g_phi - H (sd * g_b)``,
    ``g_gamma = -sum_m K' (sd * g_b)``.
    """
    s, n = w.shape
    g_ld = g_logdens
    h, mean, sd, lin, b = _prepare(blocks, alpha_mu, mu, alpha_sd, tau, gamma, s, n)
    kmat = blocks[:, :, n + 1 :]
    xi, _ = _forward(h, sd, b, w)
    g_phi = np.empty((s, n))
    g_phi[:, 0] = g_alpha
    g_phi[:, 1:] = g_beta
    g_xi = np.empty((s, n))
    for m in range(s):
        for i in range(n):
            g_xi[m, i] = sd[i] * g_phi[m, i] - g_ld * xi[m, i]
    g_sd, g_b, g_w = _backward(h, sd, b, w, g_xi, g_ld)
    g_mean = np.zeros(n)
    g_gamma = np.zeros(gamma.shape[0])
    for m in range(s):
        for i in range(n):
            g_sd[i] += g_phi[m, i] * xi[m, i] + g_b[m, i] * lin[m, i]
            g_mean[i] += g_phi[m, i]
        for j in range(n):
            g_lin = sd[j] * g_b[m, j]
            for i in range(n):
                g_mean[i] -= h[m, j, i] * g_lin
            for i in range(gamma.shape[0]):
                g_gamma[i] -= kmat[m, j, i] * g_lin
    return (
        g_mean[0],
        g_mean[1:].copy(),
        g_sd[0],
        g_sd[1:].copy(),
        g_gamma,
        g_w,
    )
