"""ONNX's reference evaluator (``onnx.reference.ReferenceEvaluator``) running a one-node ``Conv`` model (and a
``ConvTranspose`` one for the transposed operation), forward only.

    conv-oracle check oracle.targets.onnx

It is also the worked example of an adapter for an operator defined by a specification rather than a function:
the variant declares ONNX's layout (``X`` as NCHW, ``W`` as OIHW) so the oracle transposes at the boundary, and the
adapter builds the model ONNX would run: one ``Conv`` node with inputs ``X``, ``W`` and, when there is a bias,
``B``, and the attributes ``strides``, ``dilations``, ``group`` and ``pads`` as ``[pt, pl, pb, pr]`` (ONNX lists
every axis's start, then every axis's end). Every padding form of the contract is resolved to those four numbers
by the adapter, ``'same'`` as SAME_UPPER (`oracle.geometry.Geometry`), rather than through ONNX's
``auto_pad``. The evaluator is the specification's own numpy code (``onnx/reference/ops/op_conv.py``): im2col,
one matrix product per group in the storage dtype, then the bias added to the rounded product. It declares:

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

from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from oracle.geometry import Geometry, TransposedGeometry

OPSET = 22
"""Conv-22: the first version whose type constraint lists bfloat16 beside float16, float and double."""

ELEMENT_TYPES = {"float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16, "float32": TensorProto.FLOAT,
                 "float64": TensorProto.DOUBLE}

conv_oracle_support = {"layout": "NCHW", "backward": False, "validates": False}


@functools.lru_cache(maxsize=256)
def _evaluator(dtype: str, bias: bool, strides: tuple[int, int], pads: tuple[int, int, int, int],
               dilations: tuple[int, int], group: int) -> ReferenceEvaluator:
    """The evaluator of the model ``Y = Conv(X, W[, B])`` with these attributes, for tensors of ``dtype``."""
    names = ["X", "W", "B"] if bias else ["X", "W"]
    inputs = [helper.make_tensor_value_info(name, ELEMENT_TYPES[dtype], None) for name in names]
    node = helper.make_node("Conv", names, ["Y"], strides=list(strides), pads=list(pads), dilations=list(dilations),
                            group=group)
    graph = helper.make_graph([node], "conv2d", inputs, [helper.make_tensor_value_info("Y", ELEMENT_TYPES[dtype],
                                                                                        None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return ReferenceEvaluator(model)


@functools.lru_cache(maxsize=256)
def _transposed_evaluator(dtype: str, bias: bool, strides: tuple[int, int], pads: tuple[int, int, int, int],
                          output_padding: tuple[int, int], dilations: tuple[int, int], group: int
                          ) -> ReferenceEvaluator:
    """The evaluator of ``Y = ConvTranspose(X, W[, B])`` with these attributes, for tensors of ``dtype``."""
    names = ["X", "W", "B"] if bias else ["X", "W"]
    inputs = [helper.make_tensor_value_info(name, ELEMENT_TYPES[dtype], None) for name in names]
    node = helper.make_node("ConvTranspose", names, ["Y"], strides=list(strides), pads=list(pads),
                            output_padding=list(output_padding), dilations=list(dilations), group=group)
    graph = helper.make_graph([node], "conv_transpose2d", inputs,
                              [helper.make_tensor_value_info("Y", ELEMENT_TYPES[dtype], None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return ReferenceEvaluator(model)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``, by a
    ``ConvTranspose`` node (pads and output padding resolved here, ``'same'`` as the contract's)."""
    g = TransposedGeometry.of(x.shape[2:], w.shape[2:], stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation)
    (pt, pb), (pl, pr) = g.pads
    evaluator = _transposed_evaluator(x.dtype.name, b is not None, g.stride, (pt, pl, pb, pr), g.output_padding,
                                      g.dilation, int(groups))
    feeds = {"X": x, "W": w} if b is None else {"X": x, "W": w, "B": b}
    (y,) = evaluator.run(None, feeds)
    return y


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
    # every padding form as ((pt, pb), (pl, pr)); 'same' as SAME_UPPER over the dilated kernel
    g = Geometry.of(x.shape[2:], w.shape[2:], stride=stride, padding=padding, dilation=dilation, same="upper")
    (pt, pb), (pl, pr) = g.pads
    evaluator = _evaluator(x.dtype.name, b is not None, g.stride, (pt, pl, pb, pr), g.dilation, int(groups))
    feeds = {"X": x, "W": w} if b is None else {"X": x, "W": w, "B": b}
    (y,) = evaluator.run(None, feeds)
    return y

