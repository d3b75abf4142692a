"""ONNX's reference evaluator (``onnx.reference.ReferenceEvaluator``) running a one-node ``Conv`` model (and a
``ConvTranspose`` one for the transposed operation), forward only.

    conv-oracle check oracle.targets.onnx

It is also the worked example of an adapter for an operator defined by a specification rather than a function: the
variant declares ONNX's layout (``X`` as NCHW, ``W`` as OIHW) so the oracle transposes at the boundary, and the
adapter builds the model ONNX would run: one ``Conv`` node with inputs ``X``, ``W`` and, when there is a bias,
``B``, and the attributes ``strides``, ``dilations``, ``group`` and ``pads`` as ``[pt, pl, pb, pr]`` (ONNX lists
every axis's start, then every axis's end). Every padding form of the contract is resolved to those four numbers by
the adapter, ``'same'`` as SAME_UPPER, rather than through ONNX's ``auto_pad``. The library calls are the functions
``onnx_*`` below (with `oracle.targets.standalone`'s helpers), which use onnx and numpy alone: the adapter calls
them, and a finding's upstream reproducer (`oracle.check.upstream`) copies them verbatim. The evaluator is the
specification's own numpy code (``onnx/reference/ops/op_conv.py``): im2col, one matrix product per group in the
storage dtype, then the bias added to the rounded product. It declares:

- Forward only: ONNX defines no ``Conv`` gradient the evaluator runs.
- No argument checking: the evaluator raises its own ``ValueError`` on some bad shapes and accepts others the
  contract refuses, so the bad-input table is not asked of it.
- Every dtype, as the contract asks, and in float16 the evaluator fails it (measured, ``tests/test_targets.py``):
  numpy multiplies float16 matrices summing in float32 and rounds the product once, but the evaluator then adds
  the bias to that rounded product in float16, rounding twice. Where the bias cancels the sum the error is far
  above one rounding, e.g. ``x = [1, 1]``, ``w = [1, 2**-11]``, ``b = -1``: the product ``1 + 2**-11`` rounds to 1
  and ``y = 0``, where the contract asks ``2**-11``. That is ONNX's behaviour, reported by the forward property;
  nothing is declared to hide it. A bfloat16 product (ml_dtypes) comes back in float32, so the bias is added there
  and the result rounded once, as the contract asks.
- A dilation is computed by inserting zeros between the kernel's taps: a NaN or inf of the input under an
  inserted zero becomes ``0 * NaN = NaN`` in an output whose window does not read it. That is ONNX's behaviour,
  reported by the NaN and inf properties; nothing is declared to hide it.
- ``ConvTranspose`` (``onnx/reference/ops/op_conv_transpose.py``) with ``group > 1`` slices ``W``'s first axis
  (the input channels) by the count of *output* channels per group and hands every group the whole ``B``, so
  each group after the first takes the wrong weights and the first group's bias; and an ``output_padding`` that
  the dilation allows but the stride does not (``stride <= op < dilation``, allowed by the ONNX specification and by
  PyTorch) makes its ``col2im`` raise ``ValueError``; an empty batch makes it raise ``TypeError``. Each is reported
  by the transposed properties.
"""

from __future__ import annotations

import functools

import numpy as np
import onnx

from oracle.targets.standalone import FUNCTIONS, pads_of, pair, storage_array, transposed_crops

OPSET = 22
"""Conv-22: the first version whose type constraint lists bfloat16 beside float16, float and double."""

conv_oracle_support = {"layout": "NCHW", "backward": False, "validates": False}


@functools.lru_cache(maxsize=256)
def onnx_evaluator(operator, dtype, bias, attributes):
    """ONNX's reference evaluator running the one-node model ``Y = operator(X, W[, B])`` (``Conv`` or
    ``ConvTranspose``, opset 22) with ``attributes`` (a tuple of ``(name, value)``), for tensors of ``dtype``."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    kind = {"float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16, "float32": TensorProto.FLOAT,
            "float64": TensorProto.DOUBLE}[dtype]
    names = ["X", "W", "B"] if bias else ["X", "W"]
    inputs = [helper.make_tensor_value_info(name, kind, None) for name in names]
    node = helper.make_node(operator, names, ["Y"], **{k: list(v) if isinstance(v, tuple) else v
                                                      for k, v in attributes})
    graph = helper.make_graph([node], operator, inputs, [helper.make_tensor_value_info("Y", kind, None)])
    return ReferenceEvaluator(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]))


def onnx_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32"):
    """``Y = Conv(X, W[, B])`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)`` (float values of
    storage ``dtype``), as float64 numpy: every padding form resolved to ``pads = [pt, pl, pb, pr]``."""
    (pt, pb), (pl, pr) = pads_of(padding, x.shape[2:], w.shape[2:], stride, dilation)
    attributes = (("strides", pair(stride)), ("pads", (pt, pl, pb, pr)), ("dilations", pair(dilation)),
                  ("group", int(groups)))
    evaluator = onnx_evaluator("Conv", dtype, b is not None, attributes)
    feeds = {"X": storage_array(x, dtype), "W": storage_array(w, dtype)}
    if b is not None:
        feeds["B"] = storage_array(b, dtype)
    (y,) = evaluator.run(None, feeds)
    return np.asarray(y, dtype=np.float64)


def onnx_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                          dtype="float32"):
    """``Y = ConvTranspose(X, W[, B])`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``, as
    float64 numpy: the pads and output padding resolved here (``'same'`` as the contract's)."""
    ((pt, pb), (pl, pr)), extra = transposed_crops(padding, output_padding, x.shape[2:], w.shape[2:], stride,
                                                    dilation)
    attributes = (("strides", pair(stride)), ("pads", (pt, pl, pb, pr)), ("output_padding", extra),
                  ("dilations", pair(dilation)), ("group", int(groups)))
    evaluator = onnx_evaluator("ConvTranspose", dtype, b is not None, attributes)
    feeds = {"X": storage_array(x, dtype), "W": storage_array(w, dtype)}
    if b is not None:
        feeds["B"] = storage_array(b, dtype)
    (y,) = evaluator.run(None, feeds)
    return np.asarray(y, dtype=np.float64)


conv_oracle_upstream = {
    "library": "onnx", "version": onnx.__version__, "imports": "import functools\nimport math\n\nimport onnx",
    "functions": (*FUNCTIONS, onnx_evaluator, onnx_conv2d, onnx_conv_transpose2d),
    "calls": {"conv2d": ("onnx_conv2d", {}), "conv_transpose2d": ("onnx_conv_transpose2d", {})},
}


def _plain(a):
    """Values as the library functions take them: bfloat16 (``ml_dtypes``) as float32, exactly."""
    return a if a is None or a.dtype.name != "bfloat16" else a.astype(np.float32)


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
    y = onnx_conv2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding, dilation=dilation,
                    groups=groups, dtype=x.dtype.name)
    return y.astype(x.dtype)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``, by a
    ``ConvTranspose`` node (pads and output padding resolved here, ``'same'`` as the contract's)."""
    y = onnx_conv_transpose2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation, groups=groups, dtype=x.dtype.name)
    return y.astype(x.dtype)
