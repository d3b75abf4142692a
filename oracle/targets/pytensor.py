"""PyTensor's ``pytensor.tensor.conv.abstract_conv.conv2d`` (``AbstractConv2d``) and ``conv2d_transpose`` as a
target, in the input's dtype, gradients by ``pytensor.grad``.

    conv-oracle check oracle.targets.pytensor                   # everything PyTensor offers, as measured
    conv-oracle check oracle.targets.pytensor:undilated         # narrowed past the dilated-NaN finding below

PyTensor builds a symbolic graph and compiles it. The adapter builds, per set of options and dtype, the graph a
user's model would hold: ``abstract_conv.conv2d(x, w, border_mode, subsample=stride, filter_dilation=dilation,
num_groups=groups, filter_flip=False)`` (``filter_flip=False``: cross-correlation, the contract's operation; PyTensor
flips by default), plus ``b.dimshuffle('x', 0, 'x', 'x')`` where there is a bias, and compiles it once with
``pytensor.function`` (cached by ``functools.lru_cache``: a compilation costs far more than a call). The backward
pass is ``pytensor.grad`` of that graph, with a zero bias, given ``dy`` as the known gradient of ``y``. The
transposed operation is ``abstract_conv.conv2d_transpose`` (``AbstractConv2d_gradInputs``) with the contract's output
size as its ``output_shape`` (which carries the output padding) and ``input_dilation=stride``. PyTensor 2.36 has
no C implementation of these ops: they run their ``perform`` method, numpy and scipy's ``_convolve2d``, looped
per image, group and channel pair. The layout is PyTensor's, ``NCHW`` with ``(C_out, C_in // groups, KH, KW)``
weights (``(C_in, C_out // groups, KH, KW)`` transposed): the oracle transposes at the boundary. Every padding
form is resolved to pads by the adapter and handed over as ``border_mode`` (``'valid'``, an int, a pair, or a pair
of pairs): PyTensor's ``'half'`` is not the contract's ``'same'`` above stride 1 or with an even kernel, so the
contract's ``'same'`` (SAME_UPPER) goes as the pads it means. The library calls are the functions ``pytensor_*``
below (with `oracle.targets.standalone`'s helpers), which use pytensor and numpy alone: the adapter calls them, and
a finding's upstream reproducer (`oracle.check.upstream`) copies them verbatim.

It declares, each item measured here (pytensor 2.36.2; ``tests/test_target_pytensor.py``):

- ``dtypes``: float32 and float64. A float16 graph compiles but its ``perform`` raises ``ValueError: convolve2d not
  available for this type``; bfloat16 is no PyTensor dtype.
- ``output_padding``: ``"stride"``. An output padding at least the stride (below the dilation, which the contract
  allows) is an ``output_shape`` the forward convolution cannot give: ``conv2d_transpose`` raises ``ValueError:
  invalid input_shape for gradInputs``. (Its gradient, on such a case, returns a ``dx`` of the wrong shape instead
  of raising; the declaration leaves those cases out of both functions, and says so here.)
- ``validates``: False. The adapter resolves every option to numbers itself (pairs, pads), so PyTensor never sees
  the argument a user passed, and the bad-input table would judge the adapter; it is not asked.

What it reports here (nothing is declared to hide it): **a dilation spreads NaN and inf.** ``perform`` dilates the
kernel by writing it into an array of zeros (``dilated_kern``) and convolves with that, so an input pixel that only
an inserted zero reads gives ``0 * NaN = NaN`` (``0 * inf = NaN``) in an output whose window does not hold it, in
``conv2d`` and in ``conv2d_transpose``: the NaN and inf properties report it, with an upstream reproducer.
``oracle.targets.pytensor:undilated`` declares no dilation, so those properties reach every other case.
"""

from __future__ import annotations

import functools

import numpy as np
import pytensor

from oracle.targets.standalone import FUNCTIONS, pads_of, pair, transposed_crops
from oracle.targets.variant import narrowed_variant

conv_oracle_support: dict = {"layout": "NCHW", "dtypes": ("float32", "float64"), "output_padding": "stride",
                             "validates": False}


def pytensor_border(pads):
    """``((pt, pb), (pl, pr))`` as the ``border_mode`` ``AbstractConv2d`` takes: ``'valid'``, an int, a pair, or a
    pair of pairs."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return "valid"
    if pt == pb == pl == pr:
        return int(pt)
    if pt == pb and pl == pr:
        return (int(pt), int(pl))
    return ((int(pt), int(pb)), (int(pl), int(pr)))


@functools.lru_cache(maxsize=128)
def pytensor_compiled(operation, dtype, border, stride, dilation, groups, bias, backward, output_size=None):
    """A compiled PyTensor function for ``operation`` (``"conv2d"`` or ``"conv2d_transpose"``) with these options
    (NCHW, cross-correlation: ``filter_flip=False``): ``f(x, w[, b])`` gives ``y``; with ``backward``, ``f(x, w,
    dy)`` gives ``(dx, dw, db)`` by ``pytensor.grad`` with a zero bias. Compiled once per options and dtype."""
    import pytensor.tensor as pt
    from pytensor.tensor.conv import abstract_conv

    x, w = pt.tensor4("x", dtype=dtype), pt.tensor4("w", dtype=dtype)
    b = pt.vector("b", dtype=dtype)
    if operation == "conv2d":
        y = abstract_conv.conv2d(x, w, border_mode=border, subsample=stride, filter_flip=False,
                                 filter_dilation=dilation, num_groups=groups)
    else:
        shape = (None, None, *output_size)
        y = abstract_conv.conv2d_transpose(x, w, shape, border_mode=border, input_dilation=stride, filter_flip=False,
                                           filter_dilation=dilation, num_groups=groups)
    if backward:
        dy = pt.tensor4("dy", dtype=dtype)
        y = y + b.dimshuffle("x", 0, "x", "x")
        grads = pytensor.grad(None, [x, w, b], known_grads={y: dy})
        return pytensor.function([x, w, b, dy], grads, on_unused_input="ignore")
    if bias:
        return pytensor.function([x, w, b], y + b.dimshuffle("x", 0, "x", "x"))
    return pytensor.function([x, w], y)


def pytensor_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32", backward_of=None):
    """``y`` of ``abstract_conv.conv2d`` (``x (N, C_in, H, W)``, ``w (C_out, C_in // groups, KH, KW)``) as float64
    numpy, every padding form resolved to pads (``'same'`` as SAME_UPPER); with ``backward_of=dy``, ``(dx, dw,
    db)`` by ``pytensor.grad``."""
    pads = pads_of(padding, x.shape[2:], w.shape[2:], stride, dilation)
    backward = backward_of is not None
    f = pytensor_compiled("conv2d", dtype, pytensor_border(pads), pair(stride), pair(dilation), int(groups),
                          b is not None, backward)
    if backward:
        zero = np.zeros(w.shape[0], dtype=dtype)
        return tuple(np.asarray(g, dtype=np.float64) for g in f(x, w, zero, backward_of))
    return np.asarray(f(x, w) if b is None else f(x, w, b), dtype=np.float64)


def pytensor_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                              dtype="float32", backward_of=None):
    """``y`` of ``abstract_conv.conv2d_transpose`` (``x (N, C_in, H, W)``, ``w (C_in, C_out // groups, KH, KW)``) as
    float64 numpy: the crop as its ``border_mode``, the output padding in its ``output_shape``; with
    ``backward_of=dy``, ``(dx, dw, db)`` by ``pytensor.grad``."""
    stride, dilation = pair(stride), pair(dilation)
    crops, extra = transposed_crops(padding, output_padding, x.shape[2:], w.shape[2:], stride, dilation)
    size = tuple((n - 1) * s - c[0] - c[1] + d * (k - 1) + 1 + op
                 for n, s, c, d, k, op in zip(x.shape[2:], stride, crops, dilation, w.shape[2:], extra))
    backward = backward_of is not None
    f = pytensor_compiled("conv2d_transpose", dtype, pytensor_border(crops), stride, dilation, int(groups),
                          b is not None, backward, size)
    if backward:
        zero = np.zeros(w.shape[1] * int(groups), dtype=dtype)
        return tuple(np.asarray(g, dtype=np.float64) for g in f(x, w, zero, backward_of))
    return np.asarray(f(x, w) if b is None else f(x, w, b), dtype=np.float64)


UPSTREAM_FUNCTIONS = (*FUNCTIONS, pytensor_border, pytensor_compiled, pytensor_conv2d, pytensor_conv_transpose2d)
"""The functions an upstream reproducer copies: they need pytensor and numpy alone."""

conv_oracle_upstream = {
    "library": "pytensor", "version": pytensor.__version__,
    "imports": "import functools\nimport math\n\nimport pytensor",
    "functions": UPSTREAM_FUNCTIONS,
    "calls": {"conv2d": ("pytensor_conv2d", {}), "conv2d_backward": ("pytensor_conv2d", {}),
              "conv_transpose2d": ("pytensor_conv_transpose2d", {}),
              "conv_transpose2d_backward": ("pytensor_conv_transpose2d", {})},
}


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
    y = pytensor_conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                        dtype=x.dtype.name)
    return y.astype(x.dtype)


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``pytensor.grad`` of the forward pass with a (zero) bias, at ``dy``."""
    grads = pytensor_conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups,
                            dtype=x.dtype.name, backward_of=dy)
    return tuple(g.astype(x.dtype) for g in grads)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``."""
    y = pytensor_conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                                  dilation=dilation, groups=groups, dtype=x.dtype.name)
    return y.astype(x.dtype)


def conv_transpose2d_backward(dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``pytensor.grad`` of the transposed forward pass with a (zero) bias, at ``dy``."""
    grads = pytensor_conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding,
                                      dilation=dilation, groups=groups, dtype=x.dtype.name, backward_of=dy)
    return tuple(g.astype(x.dtype) for g in grads)


undilated = narrowed_variant(
    __name__,
    "undilated",
    """PyTensor without dilation (``dilation: False``): a dilated kernel, written into an array of zeros, spreads
    a NaN or inf of an input pixel only an inserted zero reads (the module's docstring), and the NaN and inf
    properties of the default check stop at their first dilated case. This variant leaves out every dilated case,
    so those properties reach the rest (padding, strides, groups); the default target keeps reporting the
    finding.""",
    dilation=False,
)
