"""PaddlePaddle's ``paddle.nn.functional.conv2d`` and ``conv2d_transpose`` as a target, on the CPU, in the input's
dtype.

    conv-oracle check oracle.targets.paddle                     # everything Paddle offers, as measured
    conv-oracle check oracle.targets.paddle:same_undilated      # narrowed past the 'SAME' finding below

The adapter hands Paddle what a user's NCHW model hands it: ``data_format='NCHW'`` (Paddle's default), so the
variant declares the layout ``NCHW`` (weights ``(C_out, C_in // groups, KH, KW)``, and ``(C_in, C_out // groups,
KH, KW)`` for the transposed operation) and the oracle transposes at the boundary. Arrays go through
``paddle.to_tensor`` in their own dtype and memory; options go through as the check passes them (an int, or a pair
as a list; padding as an int, ``[ph, pw]``, ``[[0, 0], [0, 0], [pt, pb], [pl, pr]]`` or ``'VALID'``/``'SAME'``), so
Paddle checks them itself. The bias is ``F.conv2d``'s own argument (Paddle adds it as a separate ``add`` op). The
backward pass is ``paddle.grad`` of the forward pass with a zero bias that requires a gradient, at ``dy``
(``grad_outputs``), so ``db`` is Paddle's gradient of a bias. The library calls are the functions ``paddle_*``
below (with `oracle.targets.standalone`'s helpers), which use paddle and numpy alone: the adapter calls them, and a
finding's upstream reproducer (`oracle.check.upstream`) copies them verbatim.

It declares, each item measured here (paddlepaddle 3.3.1, CPU wheel; ``tests/test_target_paddle.py``):

- ``dtypes``: float32 and float64 only. Paddle's CPU kernels ``conv2d``, ``depthwise_conv2d`` and
  ``conv2d_transpose`` are registered for float32 and float64: a float16 or bfloat16 call raises ``RuntimeError
  (NotFound) The kernel with key (CPU, ..., float16) of kernel `conv2d` is not registered``.
- ``output_padding``: ``"stride"``. Paddle takes ``0 <= op < stride``; an output padding at least the stride but
  below the dilation (the contract's rule allows it) raises ``ValueError (InvalidArgument) Output_height and
  padding(padding_up, padding_down) are inconsistent`` although Paddle's own message for a larger one says
  "should be less than either stride or dilation". A clear error on a call it does not take, so declared.
- ``validates``: ``"any error"``. Paddle checks most bad arguments itself (``ValueError`` in its own words, not the
  contract's); the bad-input property holds it to raising *something*, and reports where it does not (below).

The transposed ``'same'`` is the contract's (``H_out = H*s``, TensorFlow's), resolved by the adapter to explicit
pads and output padding (as the JAX and PyTorch adapters do). Paddle's own ``'SAME'`` for ``conv2d_transpose``
means another size, for which the declaration system has no key (`oracle.targets.support.SAME_CONVENTIONS`: every
transposed convention there gives ``H*s``): it pads as ``conv2d``'s ``'SAME'`` would pad the transposed
operation's *input*, ``total = max((ceil(H/s) - 1)*s + K - H, 0)``, so ``H_out = (H - 1)*s + K - total``, with the
dilation dropped as below (``H = 3, s = 2, K = 3``: 5 rows, not 6). It is not judged.

What it reports here (nothing is declared to hide it):

- **'SAME' drops the dilation.** ``F.conv2d(x, w, padding='SAME', dilation=d)`` computes the undilated
  convolution (Paddle resets the dilation to 1 when it resolves ``'SAME'``; its documentation does not say so), in
  ``y`` and in both gradients: wrong values, no error. The forward, dx, dw, memory, call-history and NaN/inf
  properties report it on their first ``'same'`` case with a dilation, a single root cause.
  ``oracle.targets.paddle:same_undilated`` declares ``same_dilation: False`` and checks everything else.
- **Unchecked arguments** (the bad-input property): a kernel larger than the padded input gives a tensor of
  negative shape (``[1, 2, -1, -1]``), whose reading then crashes the process (SIGSEGV), as does a transposed
  padding that crops every row; ``paddle.grad`` takes a ``grad_outputs`` of the wrong shape or dtype and returns
  gradients of the right shape computed from it (a ``dy`` smaller than ``y`` is read past its end: with every
  ``dy`` and weight 1, a grouped transposed ``dx`` came out 26 where no element can exceed 18); a bias of another
  dtype is promoted; a kernel with 0 rows gives an output. Seen on another machine: the wrong-shaped
  ``dy`` through ``conv2d_transpose(groups=2)`` corrupts the heap (``free(): invalid next size``); not reproduced
  here.
"""

from __future__ import annotations

import numpy as np
import paddle

from oracle.targets.standalone import FUNCTIONS, transposed_crops
from oracle.targets.variant import narrowed_variant

paddle.set_device("cpu")

conv_oracle_support: dict = {
    "layout": "NCHW",
    "dtypes": ("float32", "float64"),
    "output_padding": "stride",
    "validates": "any error",
}


def paddle_tensor(a, dtype, grad=False):
    """A numpy array as a CPU tensor, by ``paddle.to_tensor`` (in the array's own dtype: a float16 array as float16,
    a float64 one as float64; bfloat16, which numpy lacks, from float32 values, exactly); with ``grad``, one that
    gradients are taken with respect to."""
    if a is None:
        return None
    t = paddle.to_tensor(a, place=paddle.CPUPlace())
    if dtype == "bfloat16":
        t = t.astype("bfloat16")
    t.stop_gradient = not grad
    return t


def paddle_numpy(t):
    """A tensor's values as float64 numpy (exact: every storage format fits in float64)."""
    return t.astype("float64").numpy()


def paddle_option(value):
    """An int (or any scalar) as it is, a pair as a list: Paddle takes both, and checks them itself."""
    return value if np.ndim(value) == 0 else list(value)


def paddle_padding(padding):
    """The contract's padding forms as Paddle takes them for NCHW: an int, ``[ph, pw]``, ``[[0, 0], [0, 0], [pt,
    pb], [pl, pr]]``, or Paddle's own ``'VALID'`` and ``'SAME'`` (values as they come: Paddle checks them)."""
    if isinstance(padding, str):
        return padding.upper()
    if np.ndim(padding) == 0:
        return padding
    if np.ndim(padding) == 1:
        return list(padding)
    return [[0, 0], [0, 0], list(padding[0]), list(padding[1])]


def paddle_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32", backward_of=None):
    """``y`` of ``paddle.nn.functional.conv2d`` (``x (N, C_in, H, W)``, ``w (C_out, C_in // groups, KH, KW)``,
    ``data_format='NCHW'``, ``'same'`` as Paddle's ``'SAME'``) as float64 numpy; with ``backward_of=dy``, ``(dx,
    dw, db)`` by ``paddle.grad`` of it with a zero bias, at ``dy``."""
    F = paddle.nn.functional
    backward = backward_of is not None
    xt, wt = paddle_tensor(x, dtype, backward), paddle_tensor(w, dtype, backward)
    if backward:
        bt = paddle.zeros([wt.shape[0]], dtype=wt.dtype)
        bt.stop_gradient = False
    else:
        bt = paddle_tensor(b, dtype)
    y = F.conv2d(xt, wt, bt, stride=paddle_option(stride), padding=paddle_padding(padding),
                 dilation=paddle_option(dilation), groups=groups, data_format="NCHW")
    if not backward:
        return paddle_numpy(y)
    grads = paddle.grad([y], [xt, wt, bt], grad_outputs=[paddle_tensor(backward_of, dtype)])
    return tuple(paddle_numpy(g) for g in grads)


def paddle_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                            dtype="float32", backward_of=None):
    """``y`` of ``paddle.nn.functional.conv2d_transpose`` (``x (N, C_in, H, W)``, ``w (C_in, C_out // groups, KH,
    KW)``, ``data_format='NCHW'``) as float64 numpy; with ``backward_of=dy``, ``(dx, dw, db)`` by ``paddle.grad``.
    ``'same'`` is the contract's (``H*s`` rows, the odd row cropped at the bottom), resolved here to explicit pads
    and output padding: Paddle's own ``'SAME'`` means another size (the module's docstring)."""
    F = paddle.nn.functional
    if isinstance(padding, str) and padding == "same":
        if np.any(np.asarray(output_padding) != 0):
            raise ValueError(f"output_padding must be 0 with padding='same'; got output_padding={output_padding!r}")
        crops, output_padding = transposed_crops(padding, 0, x.shape[2:], w.shape[2:], stride, dilation)
        padding = [[0, 0], [0, 0], list(crops[0]), list(crops[1])]
    else:
        padding = paddle_padding(padding)
    backward = backward_of is not None
    xt, wt = paddle_tensor(x, dtype, backward), paddle_tensor(w, dtype, backward)
    if backward:
        bt = paddle.zeros([wt.shape[1] * groups], dtype=wt.dtype)
        bt.stop_gradient = False
    else:
        bt = paddle_tensor(b, dtype)
    y = F.conv2d_transpose(xt, wt, bt, stride=paddle_option(stride), padding=padding,
                           output_padding=paddle_option(output_padding), dilation=paddle_option(dilation),
                           groups=groups, data_format="NCHW")
    if not backward:
        return paddle_numpy(y)
    grads = paddle.grad([y], [xt, wt, bt], grad_outputs=[paddle_tensor(backward_of, dtype)])
    return tuple(paddle_numpy(g) for g in grads)


UPSTREAM_FUNCTIONS = (*FUNCTIONS, paddle_tensor, paddle_numpy, paddle_option, paddle_padding, paddle_conv2d,
                      paddle_conv_transpose2d)
"""The functions an upstream reproducer copies: they need paddle and numpy alone."""

conv_oracle_upstream = {
    "library": "paddlepaddle", "version": paddle.__version__,
    "imports": "import math\n\nimport paddle\n\npaddle.set_device('cpu')",
    "functions": UPSTREAM_FUNCTIONS,
    "calls": {"conv2d": ("paddle_conv2d", {}), "conv2d_backward": ("paddle_conv2d", {}),
              "conv_transpose2d": ("paddle_conv_transpose2d", {}),
              "conv_transpose2d_backward": ("paddle_conv_transpose2d", {})},
}


def _plain(a):
    """Values as the library functions take them: bfloat16 (``ml_dtypes``) as float32, exactly."""
    return a if a is None or a.dtype.name != "bfloat16" else a.astype(np.float32)


def _stored(a, dtype):
    """A float64 result back in the storage dtype (exact: its values are the storage format's)."""
    return np.ascontiguousarray(a).astype(dtype)


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
    y = paddle_conv2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding, dilation=dilation,
                      groups=groups, dtype=x.dtype.name)
    return _stored(y, x.dtype)


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``paddle.grad`` of the forward pass with a (zero) bias, at ``dy``."""
    grads = paddle_conv2d(_plain(x), _plain(w), stride=stride, padding=padding, dilation=dilation, groups=groups,
                          dtype=x.dtype.name, backward_of=_plain(dy))
    return tuple(_stored(g, x.dtype) for g in grads)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``."""
    y = paddle_conv_transpose2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding,
                                output_padding=output_padding, dilation=dilation, groups=groups, dtype=x.dtype.name)
    return _stored(y, x.dtype)


def conv_transpose2d_backward(dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``(dx, dw, db)`` by ``paddle.grad`` of the transposed forward pass with a (zero) bias, at ``dy``."""
    grads = paddle_conv_transpose2d(_plain(x), _plain(w), stride=stride, padding=padding,
                                    output_padding=output_padding, dilation=dilation, groups=groups,
                                    dtype=x.dtype.name, backward_of=_plain(dy))
    return tuple(_stored(g, x.dtype) for g in grads)


same_undilated = narrowed_variant(
    __name__,
    "same_undilated",
    """Paddle with ``'same'`` drawn only without dilation (``same_dilation: False``): Paddle's ``'SAME'`` drops the
    dilation, silently, in ``conv2d`` and both its gradients (the module's docstring), which fails the forward, dx,
    dw and NaN properties of the default check on their first ``'same'`` case with a dilation, so that nothing else
    in them is seen. This variant leaves out exactly those cases (``'same'`` with a dilation above 1) and checks
    everything else; the default target keeps reporting the finding.""",
    same_dilation=False,
)
