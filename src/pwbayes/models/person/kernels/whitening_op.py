"""The whitened site effects as a PyTensor Op (:mod:`.whitening` holds the maths and kernels).

``site_effects(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w)`` returns the site intercepts,
the site x component effects and the log density of the change of variables. Registering
the numba implementations (with a key for PyTensor's compile cache) is the only thing this
module does on import.
"""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from ...base import kernel_version
from . import whitening
from .whitening import effects_backward, effects_forward

__all__ = ["site_effects"]

#: Cache key of the numba implementations: both modules' sources.
_VERSION = kernel_version(__file__) + kernel_version(whitening.__file__)


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

    def make_node(self, blocks, alpha_mu, mu, alpha_sd, tau, gamma, w):  # type: ignore[override]
        inputs = [
            pt.as_tensor_variable(v).astype("float64")
            for v in (blocks, alpha_mu, mu, alpha_sd, tau, gamma, w)
        ]
        ndims = tuple(v.ndim for v in inputs)
        if ndims != (3, 0, 1, 0, 1, 1, 2):
            raise TypeError(f"SiteEffects: unexpected input dimensions {ndims}.")
        return Apply(self, inputs, [pt.dvector(), pt.dmatrix(), pt.dscalar()])

    def perform(self, node, inputs, outputs):
        for out, value in zip(outputs, effects_forward(*_scalars(inputs)), strict=True):
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
        return [DisconnectedType()(), *_GRAD(*inputs, *grads)]  # type: ignore[misc]


class SiteEffectsGrad(Op):
    """Vector-Jacobian product of :class:`SiteEffects` (first derivatives only)."""

    __props__ = ()

    def make_node(self, *inputs):
        tensors = [pt.as_tensor_variable(v).astype("float64") for v in inputs]
        return Apply(self, tensors, [tensors[i].type() for i in range(1, 7)])

    def perform(self, node, inputs, outputs):
        for out, value in zip(outputs, effects_backward(*_scalars(inputs)), strict=True):
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
    alpha, beta, logdens = effects_forward(blocks, am[()], mu, asd[()], tau, gamma, w)
    return alpha, beta, np.asarray(logdens)


@numba.njit(cache=True, error_model="numpy")
def _backward_op(blocks, am, mu, asd, tau, gamma, w, ga, gb, gld):  # pragma: no cover
    r = effects_backward(blocks, am[()], mu, asd[()], tau, gamma, w, ga, gb, gld[()])
    return np.asarray(r[0]), r[1], np.asarray(r[2]), r[3], r[4], r[5]


@register_funcify_default_op_cache_key(SiteEffects)
def _numba_funcify_forward(op, node, **kwargs):
    return _forward_op, _VERSION


@register_funcify_default_op_cache_key(SiteEffectsGrad)
def _numba_funcify_backward(op, node, **kwargs):
    return _backward_op, _VERSION


_OP = SiteEffects()
_GRAD = SiteEffectsGrad()


def site_effects(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w):
    """Return ``(alpha, beta, log density)``: whitened site effects (module docstring)."""
    alpha, beta, logdens = _OP(blocks, alpha_mu, mu, alpha_sd, tau, gamma, w)  # type: ignore[misc]
    return alpha, beta, logdens
