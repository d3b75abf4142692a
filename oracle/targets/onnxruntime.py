"""ONNX Runtime (``onnxruntime.InferenceSession`` on the CPUExecutionProvider) running a one-node ``Conv`` model
(and a ``ConvTranspose`` one for the transposed operation), forward only.

    conv-oracle check oracle.targets.onnxruntime                     # ORT_ENABLE_ALL: NCHWc kernels of MLAS
    conv-oracle check oracle.targets.onnxruntime:unoptimized         # ORT_DISABLE_ALL: the plain Conv kernel
    conv-oracle check oracle.targets.onnxruntime:auto_pad            # 'same', 'valid' through ONNX's auto_pad
    conv-oracle check oracle.targets.onnxruntime:auto_pad_narrowed   # the same, past its two known bugs

The model is built as `oracle.targets.onnx` builds it (opset 22, ``X`` NCHW, ``W`` OIHW for ``Conv`` and
``(C_in, C_out // groups, KH, KW)`` for ``ConvTranspose``, the attributes ``strides``, ``dilations``, ``group``,
``pads`` as ``[pt, pl, pb, pr]`` and ``output_padding``), with one difference: ``W`` and ``B`` are constant
initializers of the model, as in a deployed model, because ONNX Runtime's NCHWc layout transform rewrites only a
``Conv`` whose weights are constant (with ``W`` a graph input, ORT_ENABLE_ALL leaves the plain ``Conv``). So a
session is made per operator, dtype, attributes, optimization level *and weights* (``ort_session``, cached), one
intra-op thread. The default target runs at ORT_ENABLE_ALL, what ``InferenceSession`` does unless told otherwise:
its optimized graph here is ``ReorderInput -> Conv (com.microsoft.nchwc) -> ReorderOutput`` (or, with few input
channels, the NCHWc ``Conv`` reading NCHW directly) for every shape probed (1 to 32 channels, grouped and
depthwise): MLAS's NCHWc kernels; ``:unoptimized`` runs ORT_DISABLE_ALL, the plain
``Conv`` (MLAS's im2col and SGEMM). Both resolve every padding form to explicit ``pads`` (``'same'`` as SAME_UPPER,
the contract's), as a converter that knows the input size writes them. ``:auto_pad`` passes ``'same'`` and
``'valid'`` through ONNX's ``auto_pad`` attribute (``SAME_UPPER``, ``VALID``) and lets ONNX Runtime compute the pads:
that is where its known bugs are (below).

The library calls are the functions ``ort_*`` below (with `oracle.targets.standalone`'s helpers), which use onnx,
onnxruntime and numpy alone: the adapter calls them, and a finding's upstream reproducer (`oracle.check.upstream`)
copies them verbatim. It declares, each item measured with onnxruntime 1.32.0 on an AMD EPYC (AVX-512, avx512_bf16,
no AMX) (``tests/test_target_onnxruntime.py``):

- Forward only: the default onnxruntime package has no training operators, so no gradient to call.
- ``dtypes`` float16 and float32. This x86-64 build's CPU provider has ``Conv`` and ``ConvTranspose`` kernels for
  float only: a float64 or bfloat16 model fails to load (``NOT_IMPLEMENTED: Could not find an
  implementation for Conv(22)``), at every optimization level. float16 runs at every level, ORT_DISABLE_ALL too:
  session initialization inserts ``Cast`` nodes to float32 around a node with no float16 kernel, so ``X``, ``W``
  and ``B`` are converted exactly, summed in float32 with the bias, and the result is rounded once to float16. That
  is the contract's default precision for float16, and nothing is declared: measured with inputs whose float32
  sums are exact, every element is the exact sum rounded once, with and without a bias, at both levels.
- ``output_padding`` ``"stride"``: ``ConvTranspose`` refuses an output padding at or above the stride, where the
  dilation allows it (``stride <= op < dilation``, which PyTorch takes), with ``INVALID_ARGUMENT: ... output_padding
  (1) may be too large for stride (1)``: a clear refusal of ONNX Runtime's own rule (TensorFlow's), not a wrong
  result. With the contract's rule the transposed properties report that refusal (the test shows it).
- No argument checking: ONNX Runtime raises its own ``InvalidArgument`` and ``Fail`` in its own words, and the
  adapter's own parsing (``pair``, ``pads_of``) takes some arguments the contract refuses, so the bad-input table is
  not asked of it. Asked anyway (``validates: "any error"``), it shows one thing of ONNX Runtime's own: a ``Conv``
  whose kernel is empty (``KH`` or ``KW`` of 0) never returns at ORT_DISABLE_ALL (the call spins, using the CPU,
  until killed), and at ORT_ENABLE_ALL returns zeros of ``H + 1`` rows instead of refusing. Not judged, as
  declared; said here so that nobody feeds it one.

``:auto_pad`` declares one more refusal, also measured: ``Conv`` with ``auto_pad`` ``SAME_UPPER`` and a dilation
raises ``INVALID_ARGUMENT: Dilation not supported for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER``
(``same_dilation`` False for ``conv2d``; ``ConvTranspose`` computes it right, and is judged on it). And it has two
known bugs, which its check reports and nothing declared hides:

- ``Conv`` with ``SAME_UPPER`` where the stride exceeds the kernel: ONNX Runtime computes the total padding
  ``(ceil(H/s) - 1)*s + k - H`` without clamping it at 0, so it pads by a negative amount and the windows are read
  shifted: ``H = 4``, ``k = 1``, ``s = 4`` gives ``x[1]`` where the contract (TensorFlow's SAME) gives ``x[0]``
  (related: onnxruntime#10086).
- ``ConvTranspose`` with ``SAME_UPPER`` where the kernel is shorter than the stride returns the uncropped
  ``(H - 1)*s + k`` rows, ``s - k`` fewer than the ``H*s`` that ``auto_pad`` SAME defines (``H = 2``, ``k = 1``,
  ``s = 3``: 4 rows, not 6); the shape property reports it.

Either bug makes ``:auto_pad``'s check stop at its minimal case. ``:auto_pad_narrowed`` is ``:auto_pad`` declared
with ``same`` ``"torch"`` (``'same'`` at stride 1 only, and no transposed ``'same'``): it leaves out every case on
which those bugs show, so the rest of ``auto_pad`` (``SAME_UPPER`` at stride 1, ``VALID``) is checked; it proves
nothing about ``'same'`` above stride 1, which is what ``:auto_pad`` is for. The default target and
``:unoptimized`` resolve the pads themselves and are not narrowed.

What ``conv-oracle check`` reports here (onnxruntime 1.32.0, seed 0, 100 cases per property): the default target,
``:unoptimized`` and ``:auto_pad_narrowed`` pass every property they are asked (exit 0). ``:auto_pad`` exits 1 with
the two bugs above as its two root causes: the shifted windows, the short output by the transposed properties.
A random search seldom draws the shift (it needs ``H mod s`` at least 2 above the kernel); the named edge case
``same_stride_gt_kernel`` has it, so every check's forward property reaches it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import onnx  # noqa: F401  (the models are built with it: a missing onnx fails here, not at a call)
import onnxruntime

from oracle.targets.standalone import FUNCTIONS, pads_of, pair, transposed_crops

OPSET = 22
"""Conv-22 and ConvTranspose-22, as `oracle.targets.onnx` builds them."""


@functools.lru_cache(maxsize=128)
def ort_session(operator, dtype, attributes, level, constants):
    """An ``InferenceSession`` (CPUExecutionProvider, one intra-op thread) on the one-node model ``Y = operator(X,
    W[, B])`` (``Conv`` or ``ConvTranspose``, opset 22) with ``attributes`` (a tuple of ``(name, value)``), ``X`` a
    tensor of ``dtype`` and ``W`` (and ``B``) constant initializers, as a deployed model holds its weights (ONNX
    Runtime's NCHWc layout transform rewrites only a ``Conv`` whose weights are constant): ``constants`` is a tuple
    of ``(name, shape, bytes)``. ``level``: the graph optimization level, ``"all"`` (ORT_ENABLE_ALL, the default of
    ``InferenceSession``) or ``"disable"`` (ORT_DISABLE_ALL)."""
    from onnx import TensorProto, helper

    kind = {"float16": TensorProto.FLOAT16, "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE,
            "bfloat16": TensorProto.BFLOAT16}[dtype]
    initializers = [helper.make_tensor(name, kind, shape, data, raw=True) for name, shape, data in constants]
    names = ["X", *(name for name, _, _ in constants)]
    node = helper.make_node(operator, names, ["Y"], **{k: list(v) if isinstance(v, tuple) else v
                                                      for k, v in attributes})
    graph = helper.make_graph([node], operator, [helper.make_tensor_value_info("X", kind, None)],
                              [helper.make_tensor_value_info("Y", kind, None)], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = {"all": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
                                        "extended": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                        "basic": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                        "disable": onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL}[level]
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def ort_constants(w, b, dtype):
    """``W`` (and ``B``) as the ``(name, shape, bytes)`` of initializers of storage ``dtype``."""
    arrays = [("W", w)] + ([] if b is None else [("B", b)])
    return tuple((name, tuple(int(n) for n in a.shape), np.ascontiguousarray(a, dtype=dtype).tobytes())
                 for name, a in arrays)


def ort_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32", level="all",
               auto_pad=False):
    """``Y = Conv(X, W[, B])`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)`` (float values of
    storage ``dtype``), as float64 numpy. Every padding form is resolved to ``pads = [pt, pl, pb, pr]``; with
    ``auto_pad``, ``'same'`` and ``'valid'`` are passed as ONNX's ``auto_pad="SAME_UPPER"`` and ``"VALID"``."""
    attributes = [("strides", pair(stride)), ("dilations", pair(dilation)), ("group", int(groups))]
    if auto_pad and isinstance(padding, str):
        attributes.append(("auto_pad", "SAME_UPPER" if padding == "same" else "VALID"))
    else:
        (pt, pb), (pl, pr) = pads_of(padding, x.shape[2:], w.shape[2:], stride, dilation)
        attributes.append(("pads", (pt, pl, pb, pr)))
    session = ort_session("Conv", dtype, tuple(attributes), level, ort_constants(w, b, dtype))
    (y,) = session.run(None, {"X": np.ascontiguousarray(x, dtype=dtype)})
    return np.asarray(y, dtype=np.float64)


def ort_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                         dtype="float32", level="all", auto_pad=False):
    """``Y = ConvTranspose(X, W[, B])`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``, as
    float64 numpy: the pads and output padding resolved here (``'same'`` as the contract's: ``H*s`` rows, the odd
    row cropped at the bottom); with ``auto_pad``, ``'same'`` and ``'valid'`` are passed as ONNX's
    ``auto_pad="SAME_UPPER"`` and ``"VALID"``."""
    attributes = [("strides", pair(stride)), ("dilations", pair(dilation)), ("group", int(groups))]
    if auto_pad and isinstance(padding, str):
        attributes += [("auto_pad", "SAME_UPPER" if padding == "same" else "VALID"),
                       ("output_padding", pair(output_padding))]
    else:
        ((pt, pb), (pl, pr)), extra = transposed_crops(padding, output_padding, x.shape[2:], w.shape[2:], stride,
                                                        dilation)
        attributes += [("pads", (pt, pl, pb, pr)), ("output_padding", extra)]
    session = ort_session("ConvTranspose", dtype, tuple(attributes), level, ort_constants(w, b, dtype))
    (y,) = session.run(None, {"X": np.ascontiguousarray(x, dtype=dtype)})
    return np.asarray(y, dtype=np.float64)


UPSTREAM_FUNCTIONS = (*FUNCTIONS, ort_session, ort_constants, ort_conv2d, ort_conv_transpose2d)
"""The functions an upstream reproducer copies: they need onnx, onnxruntime and numpy alone."""


class OrtConv:
    """ONNX Runtime at graph optimization ``level`` as a variant; with ``auto_pad``, ``'same'`` and ``'valid'`` passed
    through ONNX's ``auto_pad``."""

    def __init__(self, name: str, level: str = "all", auto_pad: bool = False, narrowed: bool = False) -> None:
        self.level, self.auto_pad, self.narrowed = level, auto_pad, narrowed
        self.__name__ = name

    @property
    def conv_oracle_support(self) -> dict[str, Any]:
        """The declaration (module docstring): measured, each item."""
        support: dict[str, Any] = {"layout": "NCHW", "backward": False, "validates": False,
                                   "dtypes": ("float16", "float32"), "output_padding": "stride"}
        if self.auto_pad:
            support["same_dilation"] = {"conv2d": False}  # refused: "Dilation not supported for AutoPadType"
        if self.narrowed:
            support["same"] = "torch"  # past the two auto_pad bugs: 'same' at stride 1 only, no transposed 'same'
        return support

    @property
    def conv_oracle_upstream(self) -> dict[str, Any]:
        call = {"level": self.level, "auto_pad": self.auto_pad}
        return {"library": "onnxruntime", "version": onnxruntime.__version__,
                "imports": "import functools\nimport math\n\nimport onnx\nimport onnxruntime",
                "functions": UPSTREAM_FUNCTIONS,
                "calls": {"conv2d": ("ort_conv2d", call), "conv_transpose2d": ("ort_conv_transpose2d", call)}}

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
        y = ort_conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                       dtype=x.dtype.name, level=self.level, auto_pad=self.auto_pad)
        return y.astype(x.dtype)

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``."""
        y = ort_conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                                 dilation=dilation, groups=groups, dtype=x.dtype.name, level=self.level,
                                 auto_pad=self.auto_pad)
        return y.astype(x.dtype)


_default = OrtConv("oracle.targets.onnxruntime")
conv_oracle_support = _default.conv_oracle_support
conv_oracle_upstream = _default.conv_oracle_upstream
conv2d = _default.conv2d
conv_transpose2d = _default.conv_transpose2d
unoptimized = OrtConv("oracle.targets.onnxruntime:unoptimized", level="disable")
auto_pad = OrtConv("oracle.targets.onnxruntime:auto_pad", auto_pad=True)
auto_pad_narrowed = OrtConv("oracle.targets.onnxruntime:auto_pad_narrowed", auto_pad=True, narrowed=True)
