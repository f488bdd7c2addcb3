"""The person model's logit-binomial log-likelihood and its gradient as one PyTensor Op.

::

    eta_i = cells[cell_i] + x_i . gamma
    logp  = sum_i k_i * eta_i - n_i * softplus(eta_i)

(the Bernoulli log-likelihood for ``n = 1``; for collapsed rows the binomial one without
``log C(n, k)``, which does not depend on the parameters). One pass over the rows gives
the value and the gradient in ``cells`` (one linear predictor per site x group) and in
``gamma``: softplus and sigmoid share ``t = exp(-|eta|)``, and the gather, the covariate
product and their transposes (scatter-add, ``x' r``) never become separate graph nodes
(what this bought on its own was not measured; ``docs/benchmarks.md``). Registering the numba
implementation (with a key for PyTensor's compile cache) is the only thing this module
does on import.
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

from ...base import kernel_version

__all__ = ["logit_loglik"]


@numba.njit(cache=True, error_model="numpy")
def _kernel(cells, gamma, cell_idx, data):  # pragma: no cover - compiled
    n_cov = gamma.shape[0]
    logp = 0.0
    g_cells = np.zeros_like(cells)
    g_gamma = np.zeros_like(gamma)
    for i in range(cell_idx.shape[0]):
        c = cell_idx[i]
        k, n = data[i, 0], data[i, 1]
        e = cells[c]
        for j in range(n_cov):
            e += data[i, 2 + j] * gamma[j]
        t = math.exp(-abs(e))
        # log(1 + t) rather than log1p(t): faster, and t <= 1 keeps the error below 1e-16
        softplus = (e if e > 0.0 else 0.0) + math.log(1.0 + t)
        sigmoid = 1.0 / (1.0 + t) if e >= 0.0 else t / (1.0 + t)
        logp += k * e - n * softplus
        r = k - n * sigmoid
        g_cells[c] += r
        for j in range(n_cov):
            g_gamma[j] += r * data[i, 2 + j]
    return np.asarray(logp), g_cells, g_gamma


class LogitLoglik(Op):
    """``(cells, gamma, cell_idx, data) -> (logp, d logp / d cells, d logp / d gamma)``.

    ``data`` holds one row per observation: ``[k, n, x_1 .. x_K]`` (one array, because each
    data container costs seconds of compile time in nutpie).
    """

    __props__ = ()

    def make_node(self, cells, gamma, cell_idx, data):  # type: ignore[override]
        cells, gamma, data = (
            pt.as_tensor_variable(v).astype("float64") for v in (cells, gamma, data)
        )
        cell_idx = pt.as_tensor_variable(cell_idx).astype("int64")
        if (cells.ndim, gamma.ndim, cell_idx.ndim, data.ndim) != (1, 1, 1, 2):
            raise TypeError(
                "LogitLoglik takes cells (vector), gamma (vector), cell_idx (rows) and data "
                "(rows x (2 + covariates))."
            )
        return Apply(
            self, [cells, gamma, cell_idx, data], [pt.dscalar(), cells.type(), gamma.type()]
        )

    def perform(self, node, inputs, outputs):
        for out, value in zip(outputs, _kernel(*inputs), strict=True):
            out[0] = value

    def infer_shape(self, fgraph, node, shapes):
        return [(), shapes[0], shapes[1]]

    def connection_pattern(self, node):
        return [[True, True, True], [True, True, True]] + [[False, False, False]] * 2

    def L_op(self, inputs, outputs, output_grads):
        g_logp, g_cells, g_gamma = output_grads
        if not (
            isinstance(g_cells.type, DisconnectedType)
            and isinstance(g_gamma.type, DisconnectedType)
        ):
            raise NotImplementedError(
                "Second derivatives of the logit likelihood are not available."
            )
        return [g_logp * outputs[1], g_logp * outputs[2]] + [DisconnectedType()()] * 2


@register_funcify_default_op_cache_key(LogitLoglik)
def _numba_funcify_kernel(op, node, **kwargs):
    return _kernel, kernel_version(__file__)


_OP = LogitLoglik()


def logit_loglik(cells, gamma, cell_idx, data):
    """Return the summed logit-binomial log-likelihood, differentiable in ``cells`` and ``gamma``.

    Parameters
    ----------
    cells : tensor (groups,)
        Linear predictor of each site x group (flattened).
    gamma : tensor (covariates,)
    cell_idx : array (rows,)
        Group of each row.
    data : array (rows, 2 + covariates)
        Events ``k``, trials ``n`` (1 for one person per row) and covariates of each row.
    """
    return _OP(cells, gamma, cell_idx, data)[0]  # type: ignore[index]
