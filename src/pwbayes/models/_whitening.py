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

The transform is one PyTensor Op with numba kernels and a hand-written vector-Jacobian
product. On the six-municipality layout (blocks of 7 x 7) it adds about 40 us to a 430 us
gradient; PyTensor's own batched Cholesky and its gradient cost 1.15 ms per gradient and
97 s to compile (``docs/benchmarks.md``). The kernels are compiled on first use and cached
on disk (the first fit on a new machine compiled for about 60 s instead of 20); registering
the numba implementations is the only thing this module does on import.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from ._common import kernel_version

__all__ = ["site_blocks", "site_effects"]


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
def _backward(h, sd, b, eps, g_xi, g_jac):  # pragma: no cover - compiled
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
def _effects_forward(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w):  # pragma: no cover
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
def _effects_backward(
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


# ---------------------------------------------------------------- PyTensor Ops
class SiteEffects(Op):
    """``(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w) -> (alpha, beta, log density)``.

    ``blocks`` (sites x n x (n + 1 + covariates), data) holds the stage-one ``H``, ``h``
    and ``K`` side by side (:func:`site_blocks`; one array, because each data container
    costs seconds of compile time in nutpie); ``w`` (sites x n, n = 1 + components) are
    the sampler's coordinates. ``log density`` is the prior of ``xi`` plus the
    log-Jacobian of ``w -> xi``; see the module docstring.
    """

    __props__ = ()

    def make_node(self, blocks, alpha_mu, mu, alpha_sd, tau, gamma, w):
        inputs = [
            pt.as_tensor_variable(v).astype("float64")
            for v in (blocks, alpha_mu, mu, alpha_sd, tau, gamma, w)
        ]
        ndims = tuple(v.ndim for v in inputs)
        if ndims != (3, 0, 1, 0, 1, 1, 2):
            raise TypeError(f"SiteEffects: unexpected input dimensions {ndims}.")
        return Apply(self, inputs, [pt.dvector(), pt.dmatrix(), pt.dscalar()])

    def perform(self, node, inputs, outputs):
        for out, value in zip(outputs, _effects_forward(*_scalars(inputs)), strict=True):
            out[0] = np.asarray(value)

    def infer_shape(self, fgraph, node, shapes):
        s, n = shapes[6]
        return [(s,), (s, n - 1), ()]

    def connection_pattern(self, node):
        return [[False] * 3] + [[True] * 3] * 6

    def L_op(self, inputs, outputs, output_grads):
        grads = [
            pt.zeros_like(out) if isinstance(g.type, DisconnectedType) else g
            for out, g in zip(outputs, output_grads, strict=True)
        ]
        return [DisconnectedType()(), *_GRAD(*inputs, *grads)]


class SiteEffectsGrad(Op):
    """Vector-Jacobian product of :class:`SiteEffects` (first derivatives only)."""

    __props__ = ()

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in inputs]
        return Apply(self, inputs, [inputs[i].type() for i in range(1, 7)])

    def perform(self, node, inputs, outputs):
        for out, value in zip(outputs, _effects_backward(*_scalars(inputs)), strict=True):
            out[0] = np.asarray(value)

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[i] for i in range(1, 7)]

    def L_op(self, inputs, outputs, output_grads):
        raise NotImplementedError("Second derivatives of the site whitening are not available.")


def _scalars(inputs):
    """Return the inputs with 0-d arrays (alpha_mu, alpha_sd, a gradient) as floats."""
    return [float(v) if np.ndim(v) == 0 else v for v in inputs]


# numba implementations: PyTensor passes 0-d arrays for scalars. Registered with a cache
# key (the module's hash), so that PyTensor can cache the graphs that use them on disk.
@numba.njit(cache=True, error_model="numpy")
def _forward_op(blocks, am, mu, asd, tau, gamma, w):  # pragma: no cover - compiled
    alpha, beta, logdens = _effects_forward(blocks, am[()], mu, asd[()], tau, gamma, w)
    return alpha, beta, np.asarray(logdens)


@numba.njit(cache=True, error_model="numpy")
def _backward_op(blocks, am, mu, asd, tau, gamma, w, ga, gb, gld):  # pragma: no cover
    r = _effects_backward(blocks, am[()], mu, asd[()], tau, gamma, w, ga, gb, gld[()])
    return np.asarray(r[0]), r[1], np.asarray(r[2]), r[3], r[4], r[5]


@register_funcify_default_op_cache_key(SiteEffects)
def _numba_funcify_forward(op, node, **kwargs):
    return _forward_op, kernel_version(__file__)


@register_funcify_default_op_cache_key(SiteEffectsGrad)
def _numba_funcify_backward(op, node, **kwargs):
    return _backward_op, kernel_version(__file__)


_OP = SiteEffects()
_GRAD = SiteEffectsGrad()


def site_effects(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w):
    """Return ``(alpha, beta, log density)``: whitened site effects (module docstring)."""
    alpha, beta, logdens = _OP(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w)
    return alpha, beta, logdens


# ---------------------------------------------------------------- constant blocks
def site_blocks(layout, psi_hat: np.ndarray, precision: np.ndarray):
    """Per-site pieces of the stage-one quadratic approximation, in ``phi_m`` coordinates.

    ``phi_m = (alpha_m, beta_m)`` maps to site m's elements of psi (its intercept and its
    observed arm cells) by ``A_m``; with ``P`` the stage-one precision of psi:
    ``H_m = A_m' P_mm A_m``, ``h_m = A_m' (P_mm psi_hat_m + P_mg gamma_hat)`` and
    ``K_m = A_m' P_mg`` (``g``: the covariate effects), so that given gamma the
    approximate log-likelihood of ``phi_m`` is ``-phi' H phi / 2 + phi' (h - K gamma)``.

    Returns
    -------
    numpy.ndarray
        ``[H | h | K]`` side by side: shape ``(sites, n, n + 1 + covariates)`` with
        ``n = 1 + components``.
    """
    s, r = layout.n_sites, len(layout.cell_site)
    c = layout.design.shape[1]
    gidx = np.arange(s + r, layout.size)
    h_mat = np.zeros((s, 1 + c, 1 + c))
    h_vec = np.zeros((s, 1 + c))
    k_mat = np.zeros((s, 1 + c, len(gidx)))
    for m in range(s):
        cells = s + np.flatnonzero(layout.cell_site == m)
        ids = np.concatenate([[m], cells])
        amap = np.zeros((len(ids), 1 + c))
        amap[0, 0] = 1.0
        amap[1:, 1:] = layout.design[layout.cell_arm[cells - s]]
        p_mm = precision[np.ix_(ids, ids)]
        p_mg = precision[np.ix_(ids, gidx)]
        h_mat[m] = amap.T @ p_mm @ amap
        h_vec[m] = amap.T @ (p_mm @ psi_hat[ids] + p_mg @ psi_hat[gidx])
        k_mat[m] = amap.T @ p_mg
    return np.concatenate([h_mat, h_vec[:, :, None], k_mat], axis=2)
