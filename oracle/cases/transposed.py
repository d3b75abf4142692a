"""Transposed-convolution cases, valid by construction, and their named edge cases.

`transposed_cases` draws, per axis, the kernel, stride and dilation, the input size, then ``output_padding`` in
``0 .. max(stride, dilation) - 1`` (every value PyTorch allows), then the pads, each at most what leaves
``H_out = (H - 1)*sh - pt - pb + dh*(KH - 1) + 1 + oph >= 1``: padding up to the kernel's span and past it.
``'same'`` takes ``output_padding`` 0 and gives ``H_out = H*sh``. One dimension per case may reach the block
sizes, as in `oracle.cases.strategies`; values come in the same two modes (exact and real) and every storage dtype
the variant declares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracle.cases.layouts import LAYOUTS
from oracle.cases.strategies import DrawnCase, draw_array, draw_nan_and_memory, dtypes_in_draw_order, precision_of
from oracle.geometry import TransposedGeometry, as_pair
from oracle.reference.precision import Precision, storage_dtype
from oracle.targets.support import Support
from oracle.targets.variant import padding_form


@dataclass(frozen=True)
class TransposedCase(DrawnCase):
    """One drawn transposed convolution.

    Arrays: ``x (N, H, W, C_in)``, ``w (KH, KW, C_out // groups, C_in)``, ``b (C_out,)`` or None,
    ``dy (N, H_out, W_out, C_out)``, all in the storage dtype. ``exact``: small integer values. ``precision``: how
    the variant computes this dtype (None: what the dtype implies). ``nan_at``: where the NaN and inf properties put
    their value in ``x``; ``memory``: the memory layout (of `oracle.cases.layouts.LAYOUTS`) the memory-layouts
    property hands the arguments over in.
    """

    x: np.ndarray = field(repr=False)
    w: np.ndarray = field(repr=False)
    b: np.ndarray | None = field(repr=False)
    dy: np.ndarray = field(repr=False)
    stride: Any = 1
    padding: Any = 0
    output_padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    exact: bool = False
    precision: Precision | None = field(default=None, repr=False)
    nan_at: tuple[int, int, int, int] = (0, 0, 0, 0)
    memory: str = "Fortran order"
    same: str = "upper"

    @property
    def options(self) -> dict[str, Any]:
        """The keyword arguments the variant receives."""
        return {"stride": self.stride, "padding": self.padding, "output_padding": self.output_padding,
                "dilation": self.dilation, "groups": self.groups}

    @property
    def reference_options(self) -> dict[str, Any]:
        """The same operation for a reference: pairs, explicit pads, output padding resolved."""
        g = self.geometry
        return {"stride": g.stride, "padding": g.pads, "output_padding": g.output_padding, "dilation": g.dilation,
                "groups": self.groups}

    @property
    def geometry(self) -> TransposedGeometry:
        return TransposedGeometry.of(self.x.shape[1:3], self.w.shape[:2], stride=self.stride, padding=self.padding,
                                     output_padding=self.output_padding, dilation=self.dilation, same=self.same)

    def __repr__(self) -> str:
        bias = "no bias" if self.b is None else "bias"
        mode = "exact" if self.exact else "real"
        same = f" ({self.same})" if self.padding == "same" and self.same != "upper" else ""
        return (f"TransposedCase(x.shape={self.x.shape}, w.shape={self.w.shape}, {self.dtype.name}, {bias}, "
                f"stride={self.stride!r}, padding={self.padding!r}{same}, output_padding={self.output_padding!r}, "
                f"dilation={self.dilation!r}, groups={self.groups}, {mode} values)")


TRANSPOSED_SAME = ("upper", "lower")
"""The ``'same'`` conventions judged for the transposed operation (`oracle.targets.support.SAME_CONVENTIONS`)."""


def fit_transposed(case: TransposedCase, support: Support,
                   functions: tuple[str, ...] = ("conv_transpose2d",)) -> TransposedCase | None:
    """``case`` as a variant with ``support`` receives it in ``functions``, or None where it lies outside its
    declaration."""
    if case.dtype.name not in support.dtypes:
        return None
    declaration = support
    support = support.resolved(functions, case.dtype.name)
    if case.groups != 1 and not support.groups:
        return None
    options = {}
    for name in ("stride", "dilation"):
        pair, declared = as_pair(getattr(case, name)), getattr(support, name)
        if (declared == "int" and pair[0] != pair[1]) or (declared is False and pair != (1, 1)):
            return None
        options[name] = getattr(case, name) if declared is True else pair[0]
    if padding_form(case.padding) not in support.padding or (
            case.padding == "same" and support.same not in TRANSPOSED_SAME):
        return None
    case = case.replace(same=support.same)
    g = case.geometry
    n, h, w = case.x.shape[:3]
    kh, kw = case.w.shape[:2]
    limit = {"contract": [max(s, d) for s, d in zip(g.stride, g.dilation)], "stride": list(g.stride),
             False: [1, 1]}[support.output_padding]
    if ((not support.asymmetric_padding and any(a != b for a, b in g.pads))
            or ("input" in support.square and h != w) or ("kernel" in support.square and kh != kw)
            or n < support.min_batch or (support.max_batch is not None and n > support.max_batch)
            or (case.padding != "same" and any(op >= m for op, m in zip(g.output_padding, limit)))
            or (case.padding == "same" and not support.same_dilation and g.dilation != (1, 1))
            or (not support.stride_dilation and any(s > 1 and d > 1 for s, d in zip(g.stride, g.dilation)))
            or min(g.out) < 1):
        return None
    precision = precision_of(declaration, case.dtype.name, "conv_transpose2d")
    return case.replace(b=case.b if support.bias else None, precision=None if precision.plain else precision,
                        **options)


def transposed_cases(*, support: Support | None = None, exact: bool | None = None, reach: bool = True,
                     functions: tuple[str, ...] = ("conv_transpose2d",)) -> st.SearchStrategy[TransposedCase]:
    """Valid transposed-convolution cases inside ``support``, for ``functions`` (see the module docstring)."""
    return _transposed_cases(Support.of(support), exact, reach, tuple(functions))


def _small_or_far(draw, label: str, low: int, high: int, far: tuple[int, ...], reaching: bool) -> int:
    if reaching:
        return draw(st.sampled_from(far), label=label)
    return draw(st.integers(low, high), label=label)


FAR_CHANNELS = (4, 5, 8, 9, 15, 16, 17, 31, 32, 33)
"""Channels per group where one reaches: the block boundaries up to 33 (the loops of `naive` run a transposed case
pixel by pixel, so the largest sizes stay with the forward strategy)."""
DIMENSIONS = ("C_in per group", "C_out per group", "groups", "N", "H", "W", "KH", "KW", "sh", "sw", "dh", "dw",
              "padding")


@st.composite
def _transposed_cases(draw, declared: Support, exact: bool | None, reach: bool,
                      functions: tuple[str, ...]) -> TransposedCase:
    dtype_name = draw(st.sampled_from(dtypes_in_draw_order(declared)), label="dtype")
    dtype = storage_dtype(dtype_name)
    precision = precision_of(declared, dtype_name, "conv_transpose2d")
    support = declared.resolved(functions, dtype_name)
    is_exact = draw(st.booleans(), label="exact values") if exact is None else exact
    reaching = draw(st.sampled_from(["none"] * len(DIMENSIONS) + list(DIMENSIONS)), label="reaching") \
        if reach else "none"

    def dim(label: str, low: int, high: int, far: tuple[int, ...]) -> int:
        return _small_or_far(draw, label, low, high, far, reaching == label)

    groups = dim("groups", 1, 3, (4, 8, 16, 17)) if support.groups else 1
    depthwise = groups > 1 and draw(st.booleans(), label="depthwise")  # one channel per group in and out
    c_in = groups * (1 if depthwise else dim("C_in per group", 1, 3, FAR_CHANNELS))
    c_out = groups * (1 if depthwise else dim("C_out per group", 1, 3, FAR_CHANNELS))
    forms = [f for f in support.padding if f != "same" or support.same in TRANSPOSED_SAME]
    form = draw(st.sampled_from(forms), label="padding form")
    axes: list[dict[str, int]] = [{}, {}]
    for axis, a in zip("HW", axes):
        square_kernel = axis == "W" and "kernel" in support.square
        a["kernel"] = axes[0]["kernel"] if square_kernel else dim(f"K{axis}", 1, 3, (4, 5, 6, 7))
        square_input = axis == "W" and "input" in support.square
        a["size"] = axes[0]["size"] if square_input else dim(axis, 1, 4, (7, 8, 9, 15, 16, 17))
    for key, option, far in (("dilation", support.dilation, (2, 3, 4, 5)), ("stride", support.stride, (4, 5, 8, 9))):
        label = f"{key[0]}h"
        never = option is False or (key == "dilation" and form == "same" and not support.same_dilation) or (
            key == "stride" and not support.stride_dilation and max(a["dilation"] for a in axes) > 1)
        axes[0][key] = 1 if never else dim(label, 1, 3, far)
        alike = option is not True or "input" in support.square or never
        axes[1][key] = axes[0][key] if alike else dim(f"{key[0]}w", 1, 3, far)
    for a, axis in zip(axes, "hw"):
        largest = {"contract": max(a["stride"], a["dilation"]), "stride": a["stride"], False: 1}[
            support.output_padding]
        a["op"] = 0 if form == "same" else draw(st.integers(0, largest - 1), label=f"output padding {axis}")
        a["full"] = (a["size"] - 1) * a["stride"] + a["dilation"] * (a["kernel"] - 1) + 1
    far_pad = reaching == "padding"
    if form == "same":
        padding: Any = "same"
    elif form == "valid":
        padding = "valid"
    else:
        sides = []
        for a, axis in zip(axes, "hw"):
            room = a["full"] + a["op"] - 1  # pt + pb at most this: H_out >= 1
            most = min(room, 17 if far_pad else a["kernel"] + 1)
            before = draw(st.integers(0, most), label=f"p{axis} before")
            after = before if form in ("int", "pair") or not support.asymmetric_padding else \
                draw(st.integers(0, min(most, room - before)), label=f"p{axis} after")
            if before + after > room:
                before = after = room // 2
            sides.append((before, after))
        if form == "int":
            value = min(sides[0][0], sides[1][0])
            padding = value
        elif form == "pair":
            padding = (sides[0][0], sides[1][0])
        else:
            padding = tuple(sides)
    size = (axes[0]["size"], axes[1]["size"])
    kernel = (axes[0]["kernel"], axes[1]["kernel"])
    stride = (axes[0]["stride"], axes[1]["stride"])
    dilation = (axes[0]["dilation"], axes[1]["dilation"])
    output_padding = (axes[0]["op"], axes[1]["op"])
    geometry = TransposedGeometry.of(size, kernel, stride=stride, padding=padding, output_padding=output_padding,
                                     dilation=dilation, same=support.same)
    assert min(geometry.out) >= 1, "strategy built an invalid transposed geometry"
    most_batch = support.max_batch if support.max_batch is not None else 17
    batches = [b for b in ([9, 16, 17] if reaching == "N" else [1, 2, 1, 2, 0]) if support.min_batch <= b <= most_batch]
    n = draw(st.sampled_from(batches or [support.min_batch]), label="N")
    x = draw_array(draw, "x", (n, *size, c_in), dtype, is_exact)
    w = draw_array(draw, "w", (*kernel, c_out // groups, c_in), dtype, is_exact)
    b = draw_array(draw, "b", (c_out,), dtype, is_exact) if support.bias and draw(st.booleans(), label="bias") else None
    dy = draw_array(draw, "dy", (n, *geometry.out, c_out), dtype, is_exact)
    nan_at, memory = draw_nan_and_memory(draw, x.shape)

    def option(label: str, pair: tuple[int, int], declared: bool | str = True) -> Any:
        as_pair_coin = draw(st.booleans(), label=f"{label} as a pair")
        return pair[0] if declared is not True or (pair[0] == pair[1] and not as_pair_coin) else pair

    return TransposedCase(x, w, b, dy, stride=option("stride", stride, support.stride), padding=padding,
                          output_padding=option("output_padding", output_padding),
                          dilation=option("dilation", dilation, support.dilation), groups=groups, exact=is_exact,
                          precision=None if precision.plain else precision, nan_at=nan_at, memory=memory,
                          same=support.same if support.same in TRANSPOSED_SAME else "upper")


@dataclass(frozen=True)
class TransposedEdgeCase:
    """A named transposed case: ``x`` and ``w`` shapes and options; arrays from a seed."""

    name: str
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    options: dict[str, Any]

    def case(self, dtype: str, seed: int = 0, exact: bool = False) -> TransposedCase:
        rng = np.random.default_rng(seed)
        groups = self.options.get("groups", 1)
        draw = (lambda shape: rng.integers(-3, 4, shape).astype(float)) if exact else rng.standard_normal
        x, w = draw(self.x_shape), draw(self.w_shape)
        b = draw((self.w_shape[2] * groups,))
        case = TransposedCase(x, w, b, x, exact=exact, **self.options)
        n = self.x_shape[0]
        dy = draw((n, *case.geometry.out, self.w_shape[2] * groups))
        kind = storage_dtype(dtype)
        return case.replace(x=x.astype(kind), w=w.astype(kind), b=b.astype(kind), dy=dy.astype(kind))


TRANSPOSED_EDGE_CASES: tuple[TransposedEdgeCase, ...] = (
    TransposedEdgeCase("output_padding_at_its_maximum", (1, 3, 4, 2), (3, 3, 2, 2),
                       {"stride": 3, "output_padding": 2, "padding": 1}),
    TransposedEdgeCase("output_padding_from_dilation", (1, 2, 3, 1), (2, 2, 1, 1),
                       {"stride": (1, 2), "dilation": 3, "output_padding": (2, 1)}),
    TransposedEdgeCase("stride_larger_than_kernel", (2, 3, 3, 2), (2, 2, 3, 2), {"stride": (4, 3)}),
    TransposedEdgeCase("padding_of_the_kernel_size", (1, 4, 4, 1), (3, 3, 2, 1), {"stride": 2, "padding": 3}),
    TransposedEdgeCase("padding_past_the_kernel", (1, 5, 4, 2), (2, 3, 1, 2),
                       {"stride": 3, "padding": ((4, 5), (3, 1)), "output_padding": (2, 1)}),
    TransposedEdgeCase("dilation_with_stride", (2, 3, 4, 2), (3, 2, 2, 2),
                       {"stride": 2, "dilation": (2, 3), "padding": (1, 2)}),
    TransposedEdgeCase("groups", (1, 3, 3, 4), (2, 3, 3, 4), {"stride": 2, "groups": 2, "output_padding": 1}),
    TransposedEdgeCase("depthwise", (2, 4, 3, 3), (3, 3, 1, 3), {"stride": (2, 1), "groups": 3, "padding": 1}),
    TransposedEdgeCase("input_1x1", (2, 1, 1, 3), (3, 2, 2, 3), {"stride": 2}),
    TransposedEdgeCase("same_even_kernel_stride_2", (1, 3, 4, 2), (4, 2, 2, 2), {"stride": 2, "padding": "same"}),
    TransposedEdgeCase("same_odd_crop", (1, 3, 3, 1), (4, 3, 1, 1), {"stride": (1, 2), "padding": "same"}),
    TransposedEdgeCase("same_kernel_smaller_than_stride", (1, 2, 3, 1), (1, 2, 2, 1),
                       {"stride": 3, "padding": "same"}),
    TransposedEdgeCase("empty_batch", (0, 3, 3, 2), (2, 2, 2, 2), {"stride": 2, "output_padding": 1}),
    TransposedEdgeCase("kernel_1x1_strided", (2, 3, 4, 5), (1, 1, 6, 5), {"stride": 2, "output_padding": 1}),
    TransposedEdgeCase("one_input_channel", (1, 3, 3, 1), (3, 3, 4, 1), {"stride": 2, "padding": 1}),
    TransposedEdgeCase("channel_tails", (1, 2, 3, 9), (2, 2, 17, 9), {"stride": (2, 1)}),
)
"""Named transposed edge cases: output padding at its maximum (from the stride and from the dilation), stride
larger than the kernel, padding of the kernel size and more, dilation with stride, groups and depthwise, a 1x1
input, ``'same'`` at stride 2 with an even kernel, with an odd number of rows and columns to crop, and with a
kernel smaller than the stride, an empty batch; a 1x1 kernel at stride 2 (the upsampling path), one input channel,
and channel counts past the blocks of 8 and 16."""


def transposed_case_classes(case: TransposedCase) -> set[str]:
    """The classes a case belongs to, for the meta-test that the strategy reaches each."""
    g = case.geometry
    found = set()
    if any(op > 0 for op in g.output_padding):
        found.add("output padding")
    if any(op == max(s, d) - 1 and op > 0 for op, s, d in zip(g.output_padding, g.stride, g.dilation)):
        found.add("output padding at its maximum")
    if any(s > k for s, k in zip(g.stride, g.kernel)):
        found.add("stride > kernel")
    if any(max(p) >= k for p, k in zip(g.pads, g.kernel)):
        found.add("padding >= kernel")
    if any(a != b for a, b in g.pads):
        found.add("asymmetric padding")
    if case.padding == "same":
        found.add("same")
    if any(d > 1 for d in g.dilation) and any(s > 1 for s in g.stride):
        found.add("dilation with stride")
    if case.groups > 1:
        found.add("groups")
    if case.groups > 1 and case.w.shape[2] == 1 and case.x.shape[3] == case.groups:
        found.add("depthwise")
    if case.x.shape[1:3] == (1, 1):
        found.add("1x1 input")
    if case.x.shape[0] == 0:
        found.add("empty batch")
    if max(case.x.shape[3], case.w.shape[2] * case.groups) > 8:
        found.add("channels past 8")
    if max(case.x.shape[1:3]) > 8:
        found.add("input past 8")
    if math.prod(g.out) > 0 and max(g.out) > 16:
        found.add("output past 16")
    return found


def transposed_edge_case_examples(support: Support | None = None,
                                  functions: tuple[str, ...] = ("conv_transpose2d",)
                                  ) -> list[tuple[str, TransposedCase]]:
    """The named transposed edge cases inside ``support``, in every dtype it takes, labelled ``name (dtype)``."""
    support = support or Support()
    cases = []
    for number, (edge, dtype) in enumerate((e, d) for e in TRANSPOSED_EDGE_CASES for d in support.dtypes):
        example = edge.case(dtype)
        example = example.replace(nan_at=tuple(max(m // 2, 0) for m in example.x.shape),
                                  memory=LAYOUTS[number % len(LAYOUTS)].name)
        case = fit_transposed(example, support, functions)
        if case is not None:
            cases.append((f"{edge.name} ({dtype})", case))
    return cases
