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

- XLA compiles every new shape, dtype and set of options, so a new shape per generated case makes a check
  spend its time compiling. The default declares a budget of shapes (``"shapes": 24``, `oracle.cases.budget`): the
  generated cases of each property and dtype take the shapes of the first 24 named edge cases and sweep points,
  with their values drawn freely. ``oracle.targets.jax:every_shape`` draws a new shape for every case.
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

The library calls are the functions ``jax_*`` below, which use JAX and numpy alone: the adapter calls them, and a
finding's upstream reproducer (`oracle.check.upstream`) copies them verbatim.

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

import jax
import numpy as np

from oracle.targets.variant import narrowed_variant

jax.config.update("jax_enable_x64", True)

DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
"""x, w and y in the contract's layout: JAX reads them as they are."""

SHAPES = 24
"""XLA compiles every new shape (a second or more each): the generated cases of a property take the shapes of the
first 24 named edge cases and sweep points of each dtype (`oracle.cases.budget`), their values drawn freely."""

conv_oracle_support = {"validates": False, "shapes": SHAPES}


def jax_pair(value):
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def jax_padding(padding):
    """The contract's padding forms as JAX takes them: ``'VALID'``, ``'SAME'``, or ``((pt, pb), (pl, pr))``."""
    if isinstance(padding, str):
        return padding.upper()
    if np.ndim(padding) == 0:
        return ((int(padding), int(padding)),) * 2
    if np.ndim(padding) == 1:
        return tuple((int(p), int(p)) for p in padding)
    return tuple((int(before), int(after)) for before, after in padding)


@functools.lru_cache(maxsize=64)  # each holds its compiled shapes: bounded, as memory is
def jax_compiled(stride, padding, dilation, groups):
    """``(forward, backward)`` of ``lax.conv_general_dilated`` for these options, each compiled by ``jax.jit``:
    ``forward(x, w, b)`` sums in float32 at least (``preferred_element_type``), adds the bias there and rounds the
    result once to the storage dtype; ``backward(dy, x, w)`` is ``jax.vjp`` of it at ``dy`` (with a zero bias)."""
    import jax.numpy as jnp
    from jax import lax

    options = {"window_strides": stride, "padding": padding if isinstance(padding, str) else list(padding),
               "rhs_dilation": dilation, "dimension_numbers": ("NHWC", "HWIO", "NHWC"),
               "feature_group_count": groups}

    def forward(x, w, b):
        sums = jnp.promote_types(x.dtype, jnp.float32)
        y = lax.conv_general_dilated(x, w, preferred_element_type=sums, **options)
        return (y if b is None else y + b.astype(sums)).astype(x.dtype)

    def backward(dy, x, w):
        _, vjp = jax.vjp(forward, x, w, jnp.zeros(w.shape[3], dtype=w.dtype))
        return vjp(dy)

    return jax.jit(forward), jax.jit(backward)


def jax_array(a, dtype):
    """A numpy array as a JAX array of storage ``dtype`` (bfloat16 from float32 values, exactly)."""
    import jax.numpy as jnp

    return None if a is None else jnp.asarray(a, dtype={"bfloat16": jnp.bfloat16}.get(dtype, dtype))


def jax_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32", backward_of=None):
    """``y`` of ``lax.conv_general_dilated`` (NHWC, HWIO) as float64 numpy; with ``backward_of=dy``,
    ``(dx, dw, db)`` by ``jax.vjp``."""
    forward, backward = jax_compiled(jax_pair(stride), jax_padding(padding), jax_pair(dilation), int(groups))
    if backward_of is None:
        return np.asarray(forward(jax_array(x, dtype), jax_array(w, dtype), jax_array(b, dtype)), dtype=np.float64)
    grads = backward(jax_array(backward_of, dtype), jax_array(x, dtype), jax_array(w, dtype))
    return tuple(np.asarray(g, dtype=np.float64) for g in grads)


@functools.lru_cache(maxsize=64)
def jax_compiled_transposed(stride, padding, dilation, groups):
    """``(forward, backward)`` of ``lax.conv_transpose`` for these options (``padding`` as the ``(low, high)`` pairs
    it takes), once per group (it takes no ``feature_group_count``), each compiled by ``jax.jit``."""
    import jax.numpy as jnp
    from jax import lax

    def forward(x, w, b):
        sums = jnp.promote_types(x.dtype, jnp.float32)
        c_in = x.shape[3] // groups
        parts = [lax.conv_transpose(x[..., g * c_in : (g + 1) * c_in], w[..., g * c_in : (g + 1) * c_in],
                                    strides=stride, padding=list(padding), rhs_dilation=dilation,
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"), transpose_kernel=True,
                                    preferred_element_type=sums) for g in range(groups)]
        y = jnp.concatenate(parts, axis=3) if groups > 1 else parts[0]
        return (y if b is None else y + b.astype(sums)).astype(x.dtype)

    def backward(dy, x, w):
        _, vjp = jax.vjp(forward, x, w, jnp.zeros(w.shape[2] * groups, dtype=w.dtype))
        return vjp(dy)

    return jax.jit(forward), jax.jit(backward)


def jax_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                         dtype="float32", backward_of=None):
    """``y`` of the transposed convolution by ``lax.conv_transpose`` (``x`` NHWC, ``w (KH, KW, C_out // groups,
    C_in)``) as float64 numpy: the contract's crop of ``(H - 1)*s + d*(K - 1) + 1`` rows becomes JAX's padding of
    the stride-dilated input, ``(d*(K - 1) - pt, d*(K - 1) - pb + op)`` per axis (``'same'``: ``H*s`` rows, the odd
    row cropped at the bottom). With ``backward_of=dy``, ``(dx, dw, db)`` by ``jax.vjp``."""
    stride, dilation, extra = jax_pair(stride), jax_pair(dilation), jax_pair(output_padding)
    kernel, size = w.shape[:2], x.shape[1:3]
    if isinstance(padding, str):
        crops = [(0, 0), (0, 0)]
        if padding == "same":  # the input gradient of conv2d(padding='same') on H*s rows
            crops, extra = [], []
            for n, s, d, k in zip(size, stride, dilation, kernel):
                total = (n - 1) * s + d * (k - 1) + 1 - n * s
                crops.append((max(total, 0) // 2, max(total, 0) - max(total, 0) // 2))
                extra.append(max(-total, 0))
    elif np.ndim(padding) == 0:
        crops = [(int(padding), int(padding))] * 2
    elif np.ndim(padding) == 1:
        crops = [(int(p), int(p)) for p in padding]
    else:
        crops = [(int(a), int(b)) for a, b in padding]
    pads = tuple((d * (k - 1) - before, d * (k - 1) - after + op)
                 for d, k, (before, after), op in zip(dilation, kernel, crops, extra))
    forward, backward = jax_compiled_transposed(stride, pads, dilation, int(groups))
    if backward_of is None:
        return np.asarray(forward(jax_array(x, dtype), jax_array(w, dtype), jax_array(b, dtype)), dtype=np.float64)
    grads = backward(jax_array(backward_of, dtype), jax_array(x, dtype), jax_array(w, dtype))
    return tuple(np.asarray(g, dtype=np.float64) for g in grads)


UPSTREAM_FUNCTIONS = (jax_pair, jax_padding, jax_compiled, jax_array, jax_conv2d, jax_compiled_transposed,
                      jax_conv_transpose2d)
"""The functions an upstream reproducer copies: they need JAX and numpy alone."""

conv_oracle_upstream = {
    "library": "jax", "version": jax.__version__, "imports": "import functools\n\nimport jax\n\n"
                                                            "jax.config.update('jax_enable_x64', True)",
    "functions": UPSTREAM_FUNCTIONS,
    "calls": {"conv2d": ("jax_conv2d", {}), "conv2d_backward": ("jax_conv2d", {}),
              "conv_transpose2d": ("jax_conv_transpose2d", {}),
              "conv_transpose2d_backward": ("jax_conv_transpose2d", {})},
}


def _plain(a: np.ndarray | None) -> np.ndarray | None:
    """An array as the library functions take it: bfloat16 (``ml_dtypes``) as float32 values, exactly."""
    return a if a is None or a.dtype.name != "bfloat16" else a.astype(np.float32)


def _stored(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(a).astype(dtype)


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, H_out, W_out, C_out)`` for NHWC ``x`` and HWIO ``w``; see CONTRACT.md for the contract."""
    y = jax_conv2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding, dilation=dilation, groups=groups,
                   dtype=x.dtype.name)
    return _stored(y, x.dtype)


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``jax.vjp`` of the forward pass with a (zero) bias, at ``dy``."""
    grads = jax_conv2d(_plain(x), _plain(w), stride=stride, padding=padding, dilation=dilation, groups=groups,
                       dtype=x.dtype.name, backward_of=_plain(dy))
    return tuple(_stored(g, x.dtype) for g in grads)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``y (N, H_out, W_out, C_out)`` for NHWC ``x`` and ``w (KH, KW, C_out // groups, C_in)``, by
    ``lax.conv_transpose`` (once per group)."""
    y = jax_conv_transpose2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding,
                             output_padding=output_padding, dilation=dilation, groups=groups, dtype=x.dtype.name)
    return _stored(y, x.dtype)


def conv_transpose2d_backward(dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``jax.vjp`` of the transposed forward pass with a (zero) bias, at ``dy``."""
    grads = jax_conv_transpose2d(_plain(x), _plain(w), stride=stride, padding=padding, output_padding=output_padding,
                                 dilation=dilation, groups=groups, dtype=x.dtype.name, backward_of=_plain(dy))
    return tuple(_stored(g, x.dtype) for g in grads)


every_shape = narrowed_variant(__name__, "every_shape", """JAX with a new shape for every generated case, as any
target that does not compile per shape is checked (``shapes: None``): it reaches the geometries the budget of the
default target leaves out, at the cost of an XLA compilation per case (the default check takes several times as
long).""", shapes=None)
