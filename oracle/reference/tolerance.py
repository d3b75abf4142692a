r"""How close is close enough: one error bound per element, from floating-point error analysis.

Every element of a convolution's result, forward or backward, is a sum of ``n`` products:

    y[n, i, j, o]  = b[o] + sum over KH*KW*Cg products x*w           n = KH*KW*Cg (+1 with a bias)
    dx[n, h, v, c] =        sum over at most KH*KW*Cog products dy*w n = KH*KW*(C_out // groups)
    dw[p, q, c, o] =        sum over N*H_out*W_out products dy*x     n = N*H_out*W_out
    db[o]          =        sum over N*H_out*W_out terms dy          n = N*H_out*W_out

Computed in floating point with unit roundoff ``u`` (2**-24 for float32, 2**-53 for float64), in *any* order
of summation, with or without fused multiply-adds, such a sum satisfies (Higham, Accuracy and Stability of
Numerical Algorithms, 2nd ed., eq. 3.5 and §3.1)

    |fl(s) - s| <= gamma_n * sum |terms|,        gamma_n = n*u / (1 - n*u).

``sum |terms|`` is the same convolution run on absolute values: ``conv(|x|, |w|) + |b|`` forward,
``conv_backward(|dy|, |x|, |w|)`` backward. The bound of an element is therefore

    bound = (gamma_n(u_test) + gamma_n(u_ref)) * (1 + gamma_n(u_ref)) * abs_conv + n * tiny(dtype)

where ``u_test`` is the unit roundoff of the dtype under test (an implementation that rounds a float64
accumulation to float32 once is inside ``gamma_n(u_32)`` for ``n >= 1``), ``u_ref`` that of the float64
reference, whose own error counts too, the factor ``(1 + gamma_n(u_ref))`` covers the rounding of
``abs_conv`` itself, and ``n * tiny`` covers products that underflow (even flushed to zero). The bound is tight
where values cancel (``abs_conv`` is then much larger than the result, and the error can be that large too),
and it is loose nowhere else: it grows with ``n`` and the magnitudes, not with a fixed ``rtol`` or ``atol``.

A float64 computation that secretly runs in float32 has errors near ``u_32 * abs_conv``, about 10**8 times
the float64 bound: it fails. A correct float32 or float64 one cannot exceed the bound: it passes.
``tests/test_tolerance.py`` shows both.

Some methods (FFT, Winograd) are stable only normwise: an element's error scales with the norms of whole
images and filters, not with its own ``abs_conv``. For a convolution computed by FFTs of length ``L``,
``||fl(x * w) - x * w||_2 <= c * u * log2(L) * ||x||_2 * ||w||_2`` (Higham, ch. 24); summed over the input
channels of a group and bounded by Cauchy-Schwarz, each output element gets

    bound(y[n, :, :, o]) = c * u_test * log2(L) * ||x[n, :, :, group of o]||_F * ||w[:, :, :, o]||_F

(and alike for ``dx`` from ``dy`` and ``w``, ``dw`` from ``x`` and ``dy``). A variant declares
``error="normwise"`` to be judged so; a direct method never is, so its bound stays elementwise.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

NORMWISE_CONSTANT = 4.0


def unit_roundoff(dtype: np.dtype | type) -> float:
    """``u = eps / 2``: 2**-24 for float32, 2**-53 for float64."""
    return float(np.finfo(dtype).eps) / 2


def gamma(n: int, u: float) -> float:
    """``gamma_n = n*u / (1 - n*u)``, the relative error bound of a sum of ``n`` products."""
    if n * u >= 1:
        return math.inf
    return n * u / (1 - n * u)


class Budget(NamedTuple):
    """The terms per element of each result of one convolution (see the module docstring)."""

    y: int
    dx: int
    dw: int
    db: int


def budget(x_shape, w_shape, out_hw, groups: int, bias: bool) -> Budget:
    kh, kw, c_group, c_out = w_shape
    n_out = x_shape[0] * out_hw[0] * out_hw[1]
    return Budget(kh * kw * c_group + int(bias), kh * kw * (c_out // groups), n_out, n_out)


def elementwise_bound(abs_result: np.ndarray, n: int, dtype: np.dtype | type) -> np.ndarray:
    """Per-element error bound for a sum of ``n`` products whose absolute values sum to ``abs_result``."""
    u_test, u_ref = unit_roundoff(dtype), unit_roundoff(np.float64)
    scale = (gamma(n, u_test) + gamma(n, u_ref)) * (1 + gamma(n, u_ref))
    return scale * np.asarray(abs_result, dtype=np.float64) + n * float(np.finfo(dtype).tiny)


def normwise_bound(a: np.ndarray, b: np.ndarray, length: int, dtype: np.dtype | type) -> np.ndarray:
    """``c * u * log2(L) * a * b``: ``a`` and ``b`` are the Frobenius norms that meet in each element, already
    broadcast to the result's shape (see the module docstring)."""
    scale = NORMWISE_CONSTANT * unit_roundoff(dtype) * max(1.0, math.log2(max(length, 2)))
    return scale * np.asarray(a, np.float64) * np.asarray(b, np.float64) + float(np.finfo(dtype).tiny)
