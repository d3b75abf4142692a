"""JAX's ``jax.lax.conv_general_dilated`` as a target, on JAX's default device (the CPU here), in the input's dtype.

    conv-oracle check oracle.targets.jax

It is also the worked example of an adapter for a framework whose convolution takes the layout as an argument:
``dimension_numbers=("NHWC", "HWIO", "NHWC")`` names the contract's own layout, so nothing is transposed and the
variant keeps the contract's layout. The options map one to one: ``window_strides=stride``,
``rhs_dilation=dilation``, ``feature_group_count=groups``, and the padding forms as ``(low, high)`` pairs per axis
(``'valid'`` and ``'same'`` as JAX's own ``'VALID'`` and ``'SAME'``: JAX's ``'SAME'`` is SAME_UPPER over the dilated
kernel, the contract's). JAX's convolution has no bias: the adapter asks for float32 sums at least
(``preferred_element_type``), adds the bias there and rounds once; the backward pass is ``jax.vjp`` of that same
function with respect to ``x``, ``w`` and a bias, so ``db`` is JAX's gradient of the bias. Each set of options is
compiled by ``jax.jit`` (once per shape and dtype). float64 is enabled (``jax_enable_x64``): without it JAX
computes a float64 call in float32. It declares what JAX does:

- JAX raises its own exceptions (``TypeError``, ``ValueError`` in its own words) for bad arguments, and accepts
  some the contract refuses: no argument checking is declared, so the bad-input table is not asked of it.
- On the CPU, XLA computes a float16 or bfloat16 convolution in float32: the compiled HLO converts both operands
  to float32, convolves, and converts the result once, forward and in both backward convolutions. Measured with
  inputs whose float32 sums are exact (``tests/test_targets.py``): ``y``, ``dx``, ``dw`` and ``db`` are the exact
  sums rounded once, so the half dtypes keep the contract's default precision and nothing is declared. (The
  plain ``conv_general_dilated(x, w) + b`` in a half dtype would round twice, and its gradient would sum ``db`` in
  the half dtype; the adapter does not write it so.)
- In float64, a depthwise convolution (one input channel per group) spreads a NaN or inf of one group's input to
  every group's outputs at that position (XLA's float64 path; float32 and the half dtypes do not). That is JAX's
  behaviour, reported by the NaN and inf properties; nothing is declared to hide it.

The transposed operation is ``jax.lax.conv_transpose`` with ``transpose_kernel=True`` (the gradient of the
convolution with the same kernel, as Keras's ``Conv2DTranspose``): the contract's ``w (KH, KW, C_out // groups,
C_in)`` is the convolution's HWIO kernel, read as it is. Its explicit padding pads the stride-dilated input, so the
adapter passes ``(dh*(KH - 1) - pt, dh*(KH - 1) - pb + oph)`` per axis (negative where the padding crops more than
the kernel's span). ``lax.conv_transpose`` takes no ``feature_group_count``: the adapter runs it once per group and
concatenates the outputs. The backward pass is ``jax.vjp`` of it. It holds every transposed property here (run one
group at a time, the float64 depthwise spread above cannot show in it).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from oracle.geometry import TransposedGeometry, as_pair

jax.config.update("jax_enable_x64", True)

DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
"""x, w and y in the contract's layout: JAX reads them as they are."""

conv_oracle_support = {"validates": False}


def _padding(padding: Any) -> str | tuple[tuple[int, int], tuple[int, int]]:
    """The contract's padding forms as JAX takes them: ``'VALID'``, ``'SAME'``, or ``((pt, pb), (pl, pr))``."""
    if isinstance(padding, str):
        return padding.upper()
    if np.ndim(padding) == 0:
        return ((int(padding), int(padding)),) * 2
    if np.ndim(padding) == 1:
        return tuple((int(p), int(p)) for p in padding)  # type: ignore[return-value]
    return tuple((int(before), int(after)) for before, after in padding)  # type: ignore[return-value]


@functools.lru_cache(maxsize=64)  # each holds its compiled shapes: bounded, as memory is
def _compiled(stride: tuple[int, int], padding: str | tuple, dilation: tuple[int, int], groups: int):
    """``(forward, backward)`` for these options, each compiled by ``jax.jit`` (once per shape and dtype).

    ``forward(x, w, b)``: the convolution summed in float32 at least (``preferred_element_type``), the bias added
    there, the result rounded once to the storage dtype. ``backward(dy, x, w)``: ``jax.vjp`` of it at ``dy``.
    """
    options = {"window_strides": stride, "padding": padding if isinstance(padding, str) else list(padding),
               "rhs_dilation": dilation, "dimension_numbers": DIMENSION_NUMBERS, "feature_group_count": groups}

    def forward(x, w, b):
        sums = jnp.promote_types(x.dtype, jnp.float32)
        y = lax.conv_general_dilated(x, w, preferred_element_type=sums, **options)
        return (y if b is None else y + b.astype(sums)).astype(x.dtype)

    def backward(dy, x, w):
        _, vjp = jax.vjp(forward, x, w, jnp.zeros(w.shape[3], dtype=w.dtype))
        return vjp(dy)

    return jax.jit(forward), jax.jit(backward)


def _functions(stride: Any, padding: Any, dilation: Any, groups: int):
    return _compiled(as_pair(stride), _padding(padding), as_pair(dilation), int(groups))


@functools.lru_cache(maxsize=64)
def _compiled_transposed(stride: tuple[int, int], padding: tuple, dilation: tuple[int, int], groups: int):
    """``(forward, backward)`` of the transposed convolution for these options (``padding`` as the ``(low, high)``
    pairs ``lax.conv_transpose`` takes), each compiled by ``jax.jit``."""

    def forward(x, w, b):
        sums = jnp.promote_types(x.dtype, jnp.float32)
        c_in = x.shape[3] // groups
        parts = [lax.conv_transpose(x[..., g * c_in : (g + 1) * c_in], w[..., g * c_in : (g + 1) * c_in],
                                    strides=stride, padding=list(padding), rhs_dilation=dilation,
                                    dimension_numbers=DIMENSION_NUMBERS, transpose_kernel=True,
                                    preferred_element_type=sums) for g in range(groups)]
        y = jnp.concatenate(parts, axis=3) if groups > 1 else parts[0]
        return (y if b is None else y + b.astype(sums)).astype(x.dtype)

    def backward(dy, x, w):
        _, vjp = jax.vjp(forward, x, w, jnp.zeros(w.shape[2] * groups, dtype=w.dtype))
        return vjp(dy)

    return jax.jit(forward), jax.jit(backward)


def _transposed_functions(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    g = TransposedGeometry.of(x_shape[1:3], w_shape[:2], stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation)
    pads = tuple((d * (k - 1) - before, d * (k - 1) - after + op)
                 for d, k, (before, after), op in zip(g.dilation, g.kernel, g.pads, g.output_padding))
    return _compiled_transposed(g.stride, pads, g.dilation, int(groups))


def _numpy(a: jax.Array) -> np.ndarray:
    """A JAX array as a numpy array of its own (writable, sharing no memory with JAX's buffer)."""
    return np.array(a, copy=True)


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, H_out, W_out, C_out)`` for NHWC ``x`` and HWIO ``w``; see CONTRACT.md for the contract."""
    forward, _ = _functions(stride, padding, dilation, groups)
    return _numpy(forward(jnp.asarray(x), jnp.asarray(w), None if b is None else jnp.asarray(b)))


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``jax.vjp`` of the forward pass with a (zero) bias, at ``dy``."""
    _, backward = _functions(stride, padding, dilation, groups)
    dx, dw, db = backward(jnp.asarray(dy), jnp.asarray(x), jnp.asarray(w))
    return _numpy(dx), _numpy(dw), _numpy(db)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``y (N, H_out, W_out, C_out)`` for NHWC ``x`` and ``w (KH, KW, C_out // groups, C_in)``, by
    ``lax.conv_transpose`` (once per group)."""
    forward, _ = _transposed_functions(x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    return _numpy(forward(jnp.asarray(x), jnp.asarray(w), None if b is None else jnp.asarray(b)))


def conv_transpose2d_backward(dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``jax.vjp`` of the transposed forward pass with a (zero) bias, at ``dy``."""
    _, backward = _transposed_functions(x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    dx, dw, db = backward(jnp.asarray(dy), jnp.asarray(x), jnp.asarray(w))
    return _numpy(dx), _numpy(dw), _numpy(db)
