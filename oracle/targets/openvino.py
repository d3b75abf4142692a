"""OpenVINO's CPU plugin running one-node models: ``Convolution``, ``GroupConvolution``, ``ConvolutionBackpropData``
and ``GroupConvolutionBackpropData``, with a bias as an ``Add``, forward only.

    conv-oracle check oracle.targets.openvino          # the plugin's default inference precision hint
    conv-oracle check oracle.targets.openvino:f32      # INFERENCE_PRECISION_HINT f32
    conv-oracle check oracle.targets.openvino:narrowed        # narrowed past the known bugs (below)
    conv-oracle check oracle.targets.openvino:f32_narrowed

It is also the worked example of an adapter for a runtime that compiles a graph: each call builds the one-node
model OpenVINO would run (``x``, ``w`` and the bias as ``Parameter`` inputs; OpenVINO's convolutions take no bias,
so it is an ``Add`` of a ``(1, C_out, 1, 1)`` tensor), compiles it for the CPU plugin once per operator, dtype,
shapes, attributes and precision hint (cached), and infers. The variant declares OpenVINO's layout (``NCHW``
data, ``OIHW`` filters; ``GroupConvolution`` takes them reshaped to ``(groups, C_out // groups, C_in // groups, KH,
KW)``, the transposed ones ``(groups, C_in // groups, C_out // groups, KH, KW)``), so the oracle transposes at the
boundary. Explicit padding becomes ``pads_begin``, ``pads_end`` (and ``output_padding``); ``'same'`` is OpenVINO's
own ``auto_pad='same_upper'`` (for ``ConvolutionBackpropData`` with ``output_shape = (H*s, W*s)``, without which
``auto_pad`` crops nothing); ``'valid'`` is ``auto_pad='valid'`` for ``Convolution`` and pads of 0 for the
transposed operation. bfloat16 tensors are written and read as their 16 bits (numpy has no bfloat16). The library
calls are the functions ``ov_*`` below (with `oracle.targets.standalone`'s helpers), which use OpenVINO and numpy
alone: the adapter calls them, and a finding's upstream reproducer (`oracle.check.upstream`) copies them verbatim.

**The precision hint.** The CPU plugin computes in the format of its ``INFERENCE_PRECISION_HINT``, whatever the
model's element type: ``bf16`` by default on a CPU with bfloat16 instructions (avx512_bf16, AMX), ``f32`` on one
without (``f16`` on some others). The target reads the hint the plugin actually uses from a compiled model
(``ov_precision``) and declares accordingly; ``:f32`` asks for ``f32``. Measured here (OpenVINO 2026.4.1, AMD EPYC
with avx512_bf16, no AMX) with inputs whose products and float32 sums are exact (``tests/test_target_openvino.py``):

- ``bf16`` (the default here): float16, float32 and float64 inputs are rounded to bfloat16 and their products
  summed in float32 (``input_rounding``; a float16 model too: the hint lowers it to bfloat16, 8 bits where float16
  has 11). Where the convolution's output feeds the bias ``Add``, or a conversion back to float16 or float64, it
  is rounded to bfloat16 first (``output_rounding: "bfloat16"``, held in the storage dtype), and the bias is added
  to that rounded result (``bias: "rounded apart"``). A float32 convolution without a bias, the model's output
  itself, comes back as the unrounded float32 sum: the declaration allows it (a bound for rounding to bfloat16
  holds for no rounding). float64 is computed in float32 at best (``accumulation``); its results keep that bound
  but are not always the nearest bfloat16 (with inputs of 10 bits, about one element in five is one bfloat16 ulp
  off), so float64 is measured by the forward property's bound rather than bit for bit. bfloat16 storage is summed
  in float32 and rounded once, its bias added apart.
- ``f32`` (``:f32``, and the default on a CPU without bfloat16): float32 as the contract asks; float16 summed in
  float32 and rounded once, the bias included (the plugin fuses the ``Add``); float64 computed in float32
  (``input_rounding``, ``accumulation`` and ``output_rounding`` ``"float32"``, results held in float64); bfloat16
  summed in float32, its bias added to the rounded result (``"rounded apart"``).
- ``f16`` (not measured: no such CPU here): declared as ``bf16`` with float16 in its place.

It declares what OpenVINO does, and nothing to hide a bug:

- Forward only: OpenVINO runs inference, no gradients. No argument checking: OpenVINO raises its own exceptions
  (or crashes) on bad arguments, so the bad-input table is not asked of it.
- ``output_padding`` follows the contract's rule (``op < max(stride, dilation)``): measured, OpenVINO takes an
  output padding the dilation allows but the stride does not, and computes it right.
- Infinities in float64: the plugin converts float64 to float32 (or bfloat16) by clamping, so an inf becomes
  FLT_MAX (3.4e38; 3.39e38 under ``bf16``) and the outputs it reaches are finite (openvino#37968). That is a bug
  of OpenVINO's conversion, reported by the inf propagation property; nothing is declared to hide it.
- Transposed ``'same'``: OpenVINO's ``ConvolutionBackpropData`` with ``auto_pad='same_upper'`` crops the odd row at
  the top (left), where its own specification (``SAME_UPPER``: floor of the padding at the beginning, ceil at the
  end) and TensorFlow's ``conv2d_transpose`` put it at the bottom (right). Declaring ``same: {"transposed":
  "lower"}`` would pass it, but that would be declaring away a contradiction of its specification: it is kept as
  a finding (the transposed properties report it on any odd crop).
- Findings of the CPU plugin's kernels on this machine (each confirmed by its upstream reproducer). With one input
  channel, a kernel of at least two rows spanning the whole input width and a column stride above 1: wrong values
  in every dtype and hint (the edge case ``kernel_full_width_strided``). The bfloat16 kernels (every dtype under
  ``bf16``, bfloat16 under ``f32``): with one input channel and a batch of 2, a NaN or inf spreads one column to
  the left; with one input channel per group and a batch above 1, one wrong output on a 1x1 input with kernel 2x3,
  stride (1, 2), padding 1; and a crash of the process (SIGSEGV in ``infer()``) where windows read padding only,
  e.g. a 1x1 input and kernel with padding (0, 1), or a 1x1 input, kernel 1x2, stride (1, 3), dilation (1, 2),
  padding (0, 4) (not every such window: a 3x3 input padded by 4 on every side computes). The oracle isolates calls
  in worker processes, so the crash is reported as a failure, with its case.

Those bugs drown most properties of the default check (each fails on the first case it meets, and later
properties on the same case). Two variants are narrowed past them, and keep the rest of the declaration:

- ``:narrowed`` (the default hint): stride 1 only (the wrong values of the one-channel full-width kernel and of
  the grouped bfloat16 kernel need a stride above 1); for the convolution, ``'valid'`` and ``'same'`` padding only,
  ``'same'`` without dilation (no window then reads padding only: the crash); no transposed ``'same'`` (the odd
  row). What it still reports here: the float64 infinities and the bfloat16 kernels' NaN one column to the left.
- ``:f32_narrowed`` (the ``f32`` hint): float16, float32 and float64 only (no bfloat16 kernel runs: no crash, no
  NaN to the left), stride 1 only and no transposed ``'same'``, every padding form kept. What it still reports
  here: the float64 infinities.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import openvino

from oracle.targets.standalone import pads_of, pair, transposed_crops

STORAGE = ("float16", "bfloat16", "float32", "float64")


@functools.lru_cache(maxsize=64)  # each holds a compiled model: bounded, as memory is
def ov_compiled(operator, dtype, shapes, attributes, bias, hint):
    """The CPU plugin's compiled one-node model ``y = operator(x, w) [+ b]`` for tensors of storage ``dtype`` and
    ``shapes = (x.shape, w.shape)``, every input a ``Parameter``; ``attributes`` a tuple of ``(name, value)``;
    ``hint`` the ``INFERENCE_PRECISION_HINT`` asked for (None: the plugin's default)."""
    import openvino as ov
    import openvino.opset13 as ops

    kind = {"float16": ov.Type.f16, "bfloat16": ov.Type.bf16, "float32": ov.Type.f32, "float64": ov.Type.f64}[dtype]
    x = ops.parameter(list(shapes[0]), kind, name="x")
    w = ops.parameter(list(shapes[1]), kind, name="w")
    make = {"Convolution": ops.convolution, "GroupConvolution": ops.group_convolution,
            "ConvolutionBackpropData": ops.convolution_backprop_data,
            "GroupConvolutionBackpropData": ops.group_convolution_backprop_data}[operator]
    given = {k: list(v) if isinstance(v, tuple) else v for k, v in attributes}
    if "output_shape" in given:  # ConvolutionBackpropData's spatial output shape: an input of its own
        given["output_shape"] = ops.constant(np.array(given["output_shape"], dtype=np.int64))
    y = make(x, w, **given)
    parameters = [x, w]
    if bias:
        b = ops.parameter([1, y.get_output_partial_shape(0)[1].get_length(), 1, 1], kind, name="b")
        y = ops.add(y, b)
        parameters.append(b)
    config = {} if hint is None else {"INFERENCE_PRECISION_HINT": hint}
    return ov_core().compile_model(ov.Model([y], parameters), "CPU", config)


@functools.lru_cache(maxsize=1)
def ov_core():
    """One ``openvino.Core`` for every model."""
    import openvino as ov

    return ov.Core()


def ov_precision(hint=None):
    """The inference precision the CPU plugin actually uses for a float32 model compiled with ``hint`` (None: its
    default), as OpenVINO names it: ``'bf16'`` on a CPU with bfloat16 instructions, ``'f32'`` without, ``'f16'`` on
    some others; read from a compiled model (``INFERENCE_PRECISION_HINT``), not assumed."""
    compiled = ov_compiled("Convolution", "float32", ((1, 1, 1, 1), (1, 1, 1, 1)),
                           (("strides", (1, 1)), ("dilations", (1, 1)), ("pads_begin", (0, 0)),
                            ("pads_end", (0, 0))), False, hint)
    return compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()


def ov_tensor(a, dtype):
    """Float values as an OpenVINO tensor of storage ``dtype``: bfloat16 from float32 values (exact), written as
    their top 16 bits (numpy has no bfloat16); the others as a C-contiguous numpy array of that dtype."""
    import openvino as ov

    if dtype == "bfloat16":
        bits = (np.ascontiguousarray(a, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
        tensor = ov.Tensor(ov.Type.bf16, list(bits.shape))
        tensor.data.view(np.uint16)[...] = bits
        return tensor
    return ov.Tensor(np.ascontiguousarray(a, dtype=dtype))


def ov_values(tensor):
    """An output tensor's values as a fresh float64 array (bfloat16 read from its bits)."""
    import openvino as ov

    if tensor.element_type == ov.Type.bf16:
        return (tensor.data.view(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return np.array(tensor.data, dtype=np.float64)


def ov_run(operator, x, w, b, attributes, dtype, hint):
    """Compile (once per operator, dtype, shapes and attributes) and infer; ``y`` as float64."""
    compiled = ov_compiled(operator, dtype, (tuple(x.shape), tuple(w.shape)), attributes, b is not None, hint)
    request = compiled.create_infer_request()
    feeds = {"x": ov_tensor(x, dtype), "w": ov_tensor(w, dtype)}
    if b is not None:
        feeds["b"] = ov_tensor(np.reshape(b, (1, -1, 1, 1)), dtype)
    request.infer(feeds)
    return ov_values(request.get_output_tensor(0))


def ov_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32", hint=None):
    """``y`` of ``Convolution`` (``GroupConvolution`` with groups) for ``x (N, C_in, H, W)`` and ``w (C_out, C_in //
    groups, KH, KW)``, as float64: ``'same'`` and ``'valid'`` as OpenVINO's own ``auto_pad`` (``same_upper``,
    ``valid``), the other forms as explicit ``pads_begin``, ``pads_end``."""
    attributes = [("strides", pair(stride)), ("dilations", pair(dilation))]
    if isinstance(padding, str):
        attributes += [("pads_begin", (0, 0)), ("pads_end", (0, 0)),
                       ("auto_pad", {"same": "same_upper", "valid": "valid"}[padding])]
    else:
        (pt, pb), (pl, pr) = pads_of(padding, x.shape[2:], w.shape[2:], stride, dilation)
        attributes += [("pads_begin", (pt, pl)), ("pads_end", (pb, pr))]
    operator = "Convolution"
    if groups > 1:  # GroupConvolution's filters: (groups, C_out // groups, C_in // groups, KH, KW)
        operator, w = "GroupConvolution", np.reshape(w, (groups, w.shape[0] // groups, *w.shape[1:]))
    return ov_run(operator, x, w, b, tuple(attributes), dtype, hint)


def ov_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                        dtype="float32", hint=None):
    """``y`` of ``ConvolutionBackpropData`` (``GroupConvolutionBackpropData`` with groups) for ``x (N, C_in, H, W)``
    and ``w (C_in, C_out // groups, KH, KW)``, as float64: pads and output padding explicit (``'valid'`` as pads
    0), ``'same'`` as OpenVINO's own ``auto_pad='same_upper'`` with ``output_shape`` ``(H*s, W*s)``."""
    attributes = [("strides", pair(stride)), ("dilations", pair(dilation))]
    if padding == "same":  # auto_pad places the crop of an output of H*s rows, asked for by output_shape
        attributes += [("auto_pad", "same_upper"), ("output_shape", tuple(n * s for n, s in zip(x.shape[2:],
                                                                                            pair(stride))))]
    else:
        ((pt, pb), (pl, pr)), extra = transposed_crops(padding, output_padding, x.shape[2:], w.shape[2:], stride,
                                                        dilation)
        attributes += [("pads_begin", (pt, pl)), ("pads_end", (pb, pr)), ("output_padding", extra)]
    operator = "ConvolutionBackpropData"
    if groups > 1:  # its filters: (groups, C_in // groups, C_out // groups, KH, KW)
        operator, w = "GroupConvolutionBackpropData", np.reshape(w, (groups, w.shape[0] // groups, *w.shape[1:]))
    return ov_run(operator, x, w, b, tuple(attributes), dtype, hint)


UPSTREAM_FUNCTIONS = (pair, pads_of, transposed_crops, ov_compiled, ov_core, ov_precision, ov_tensor, ov_values,
                      ov_run, ov_conv2d, ov_conv_transpose2d)
"""The functions an upstream reproducer copies, in an order it can define them in: OpenVINO and numpy alone."""

LOWERED = {"bf16": "bfloat16", "f16": "float16"}
"""The format a precision hint below f32 computes float16, float32 and float64 models in."""


def _plain(a: np.ndarray | None) -> np.ndarray | None:
    """An array as the library functions take it: bfloat16 (``ml_dtypes``) as float32 values, exactly."""
    return a if a is None or a.dtype.name != "bfloat16" else a.astype(np.float32)


def _stored(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float64 result back in the storage dtype (exact: its values are the storage format's)."""
    return np.ascontiguousarray(a).astype(dtype)


class OpenVinoConv:
    """OpenVINO's CPU plugin as a variant, compiling with ``INFERENCE_PRECISION_HINT`` ``hint`` (None: the
    plugin's default), in ``layout`` (NCHW); ``support`` narrows the declaration (an attribute variant)."""

    def __init__(self, hint: str | None = None, name: str = "", **support: Any) -> None:
        self.hint, self.narrowed = hint, support
        self.__name__ = f"oracle.targets.openvino{':' + name if name else ''}"

    @property
    def precision(self) -> str:
        """The inference precision the plugin uses here: ``'bf16'``, ``'f16'`` or ``'f32'`` (module docstring)."""
        return ov_precision(self.hint)

    @property
    def conv_oracle_support(self) -> dict[str, Any]:
        support: dict[str, Any] = {"layout": "NCHW", "backward": False, "validates": False}
        lowered = LOWERED.get(self.precision)
        if lowered is None:  # f32: float64 computed in float32, bfloat16's bias added apart
            support["input_rounding"] = {"float64": "float32"}
            support["accumulation"] = {"float64": "float32"}
            support["output_rounding"] = {"float64": "float32"}
            support["bias"] = {"bfloat16": "rounded apart"}
        else:  # every other dtype computed in the lowered format, the bias added after rounding to it
            other = tuple(d for d in STORAGE if d != lowered)
            support["input_rounding"] = dict.fromkeys(other, lowered)
            support["accumulation"] = {"float64": "float32"}
            support["output_rounding"] = dict.fromkeys(other, lowered)
            support["bias"] = "rounded apart"
        support.update(self.narrowed)
        return support

    @property
    def conv_oracle_upstream(self) -> dict[str, Any]:
        """What an upstream reproducer needs (`oracle.check.upstream`)."""
        call = {"hint": self.hint}
        return {"library": "openvino", "version": openvino.__version__,
                "imports": "import functools\nimport math\n\nimport openvino", "functions": UPSTREAM_FUNCTIONS,
                "calls": {"conv2d": ("ov_conv2d", call), "conv_transpose2d": ("ov_conv_transpose2d", call)}}

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
        y = ov_conv2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding, dilation=dilation,
                      groups=groups, dtype=x.dtype.name, hint=self.hint)
        return _stored(y, x.dtype)

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``."""
        y = ov_conv_transpose2d(_plain(x), _plain(w), _plain(b), stride=stride, padding=padding,
                                output_padding=output_padding, dilation=dilation, groups=groups,
                                dtype=x.dtype.name, hint=self.hint)
        return _stored(y, x.dtype)


_default = OpenVinoConv()
conv_oracle_support = _default.conv_oracle_support
conv_oracle_upstream = _default.conv_oracle_upstream
conv2d = _default.conv2d
conv_transpose2d = _default.conv_transpose2d
f32 = OpenVinoConv("f32", "f32")

NO_TRANSPOSED_SAME = ("int", "pair", "sides", "valid")
narrowed = OpenVinoConv(None, "narrowed", stride=False, same_dilation=False,
                        padding={"convolution": ("valid", "same"), "transposed": NO_TRANSPOSED_SAME})
"""The default hint past the known bugs (module docstring): stride 1, no window of padding only, no transposed
'same'."""
f32_narrowed = OpenVinoConv("f32", "f32_narrowed", dtypes=("float16", "float32", "float64"), stride=False,
                            padding={"transposed": NO_TRANSPOSED_SAME})
"""The f32 hint past the known bugs (module docstring): no bfloat16 kernel, stride 1, no transposed 'same'."""
