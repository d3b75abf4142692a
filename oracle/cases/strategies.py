"""Hypothesis strategies for convolution cases that are valid by construction.

`conv_cases` draws, in order: dtype, value mode, which dimension (if any) reaches far, groups and channels, the
padding form, per axis kernel, dilation and stride, then the pads and an output size, and only then the input
size that yields it, ``H = (H_out - 1)*sh + span - pt - pb + extra`` with ``0 <= extra < sh`` rows that no window
reads. ``'same'`` padding depends on the input size, so there the input size is drawn and the pads follow, by the
variant's convention.

**Sizes.** Most cases are small: fast to run and readable when they fail. In about half of them one dimension
*reaches*: it is drawn from the sizes where fast kernels block and leave tails (`BLOCK_SIZES`: 1-9, 15-17, 31-33,
63-65 channels, output rows or columns; kernels up to 7; strides and dilations up to 17; padding up to 17, past the
kernel; N up to 17), the others stay small, so a case never grows in two directions at once and the loops of
`naive` stay quick on it. Sizes shrink towards the small ones, so a channel-tail bug is reported at the smallest
channel count that shows it.

**Values** come in two modes. *exact*: small integers, so every sum is exact and any correct implementation must
agree to the bit (in float16 and bfloat16 only where every partial sum fits the format, see
`oracle.reference.tolerance`). *real*: floats, compared under the tolerance model; in float16, scaled up by a
drawn factor (shrinking to 1) so that some results overflow to inf. An array is a sparse set of elements drawn one
by one by Hypothesis, plus a pseudo-random background (from a drawn seed) kept on a drawn number of elements:
dense and cheap to draw, yet every part of it shrinks to zero, so a minimal failing case is mostly zeros and points
at one input pixel and one weight. Every value is one of the storage format's.

**Declarations.** Nothing outside the variant's `Support` is drawn: its dtypes, options and their forms (an int
where it takes one stride for both axes), its ``'same'`` convention, square inputs or kernels, symmetric padding,
strides that tile the input exactly, its batch limits.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle.cases.layouts import LAYOUTS
from oracle.geometry import Geometry, as_pair
from oracle.reference.precision import Precision, storage_dtype
from oracle.targets.support import Support
from oracle.targets.variant import padding_form

EXACT_RANGE = 3
"""Exact mode draws integers in ``[-3, 3]`` (sparse) plus ``[-3, 3]`` (background)."""

BLOCK_SIZES = (*range(1, 10), 15, 16, 17, 31, 32, 33, 63, 64, 65)
"""Sizes at the block boundaries of fast kernels: every size below 10, and each side of 16, 32 and 64."""


def favour(*bands: tuple[tuple[int, ...], int]) -> tuple[int, ...]:
    """Sizes with weights, ascending: each ``(sizes, weight)`` band repeated ``weight`` times. Drawn with
    ``sampled_from``, a band of weight 3 comes three times as often, and shrinking still walks down to the smallest
    size that fails."""
    return tuple(sorted(size for sizes, weight in bands for size in sizes * weight))


@dataclass(frozen=True)
class Reach:
    """How far each dimension may reach when it is the one that does (one per case at most): the block sizes,
    the far ones favoured, so that a default check (100 cases per property, each property its own cases) reaches
    every size class (`case_classes`)."""

    channels: tuple[int, ...] = favour((tuple(range(1, 10)), 1), ((15, 16, 17), 2), ((31, 32, 33), 3),
                                       ((63, 64, 65), 4))
    groups: tuple[int, ...] = favour((tuple(range(1, 10)), 1), ((15, 16, 17), 2), ((31, 32, 33), 3),
                                     ((63, 64, 65), 4))
    batch: tuple[int, ...] = favour((tuple(range(0, 10)), 1), ((15, 16, 17), 3))
    out: tuple[int, ...] = favour((tuple(range(1, 10)), 1), ((15, 16, 17), 2), ((31, 32, 33), 4))
    kernel: tuple[int, ...] = favour((tuple(range(1, 7)), 1), ((7,), 3))
    stride: tuple[int, ...] = favour((tuple(range(1, 10)), 1), ((15, 16, 17), 2))
    dilation: tuple[int, ...] = favour((tuple(range(1, 10)), 1), ((15, 16, 17), 2))
    pad: tuple[int, ...] = favour((tuple(range(0, 10)), 1), ((15, 16, 17), 2))


REACH = Reach()
DIMENSIONS = ("C_in per group", "C_out per group", "groups", "N", "H_out", "W_out", "KH", "KW", "sh", "sw", "dh",
              "dw", "padding")
"""The dimensions that may reach, as `case_classes` names them."""


class DrawnCase:
    """What every drawn case has: its storage dtype, its computation, and copies with fields replaced."""

    x: np.ndarray
    precision: Precision | None

    @property
    def dtype(self) -> np.dtype:
        return self.x.dtype

    @property
    def computation(self) -> Precision:
        """`precision`, or what the storage dtype alone implies."""
        return self.precision or Precision(self.dtype.name)

    def replace(self, **changes: Any) -> Any:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return type(self)(**{**values, **changes})


@dataclass(frozen=True)
class ConvCase(DrawnCase):
    """One drawn convolution.

    Arrays: ``x (N, H, W, C_in)``, ``w (KH, KW, C_in // groups, C_out)``, ``b (C_out,)`` or None,
    ``dy (N, H_out, W_out, C_out)``, all in the storage dtype. Options in the form the variant receives them
    (`options`) and resolved for a reference (`reference_options`: pairs, explicit pads). ``exact``: the values are
    small integers. ``same``: the ``'same'`` convention the variant declares. ``precision``: how it computes this
    dtype (None: what the dtype alone implies). ``nan_at``: where the NaN and inf properties put their value;
    ``memory``: the memory layout (of `oracle.cases.layouts.LAYOUTS`) the memory-layouts property hands it over in.
    """

    x: np.ndarray = field(repr=False)
    w: np.ndarray = field(repr=False)
    b: np.ndarray | None = field(repr=False)
    dy: np.ndarray = field(repr=False)
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    exact: bool = False
    nan_at: tuple[int, int, int, int] = (0, 0, 0, 0)
    same: str = "upper"
    precision: Precision | None = field(default=None, repr=False)
    memory: str = "Fortran order"

    @property
    def options(self) -> dict[str, Any]:
        """The keyword arguments the variant receives."""
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}

    @property
    def reference_options(self) -> dict[str, Any]:
        """The same convolution for a reference: strides and dilations as pairs, padding as ``((pt, pb), (pl,
        pr))`` (``'same'`` resolved by the variant's convention)."""
        g = self.geometry
        return {"stride": g.stride, "padding": g.pads, "dilation": g.dilation, "groups": self.groups}

    @property
    def geometry(self) -> Geometry:
        return Geometry.of(self.x.shape[1:3], self.w.shape[:2], stride=self.stride, padding=self.padding,
                           dilation=self.dilation, same=self.same)

    def __repr__(self) -> str:
        bias = "no bias" if self.b is None else "bias"
        mode = "exact" if self.exact else "real"
        same = f" ({self.same})" if self.padding == "same" and self.same != "upper" else ""
        return (f"ConvCase(x.shape={self.x.shape}, w.shape={self.w.shape}, {self.dtype.name}, {bias}, "
                f"stride={self.stride!r}, padding={self.padding!r}{same}, dilation={self.dilation!r}, "
                f"groups={self.groups}, {mode} values)")


def precision_of(support: Support, dtype: str, operation: str = "conv2d") -> Precision:
    """How ``support`` declares it computes ``dtype`` in ``operation`` (``"conv2d"`` or ``"conv_transpose2d"``):
    ``y`` by the operation, ``dx``, ``dw`` and ``db`` by its backward pass, where those differ."""
    partials = support.resolved((operation,), dtype).rounds_partials

    def one(function: str, result: str) -> Precision:
        output = support.value("output_rounding", dtype=dtype, function=function, result=result)
        bias = support.value("bias", dtype=dtype, function=function) == "rounded apart" and result == "y"
        return Precision(dtype, support.value("input_rounding", dtype=dtype, function=function, result=result),
                         support.value("accumulation", dtype=dtype, function=function, result=result),
                         output_rounding=output is not False, error=support.error, partials=partials,
                         output_format=output if isinstance(output, str) else "", bias_apart=bias)

    y = one(operation, "y")
    others = tuple((name, one(f"{operation}_backward", name)) for name in ("dx", "dw", "db"))
    return dataclasses.replace(y, results=tuple((name, p) for name, p in others if p != y))


def fit(case: ConvCase, support: Support, functions: tuple[str, ...] = ("conv2d",)) -> ConvCase | None:
    """``case`` as a variant with ``support`` receives it in ``functions`` (options in the forms it takes, its
    ``'same'`` and its precision; the bias dropped where it has none), or None where the case lies outside its
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
    if padding_form(case.padding) not in support.padding:
        return None
    fitted = case.replace(b=case.b if support.bias else None, same=support.same, **options)
    g = fitted.geometry
    n, h, w = case.x.shape[:3]
    kh, kw = case.w.shape[:2]
    rejected = (
        (case.padding == "same" and support.same == "torch" and g.stride != (1, 1))
        or (case.padding == "same" and not support.same_dilation and g.dilation != (1, 1))
        or (not support.stride_dilation and any(s > 1 and d > 1 for s, d in zip(g.stride, g.dilation)))
        or (not support.asymmetric_padding and any(a != b for a, b in g.pads))
        or (not support.leftover_rows and any((p - e) % s for p, e, s in zip(g.padded, g.span, g.stride)))
        or ("input" in support.square and h != w) or ("kernel" in support.square and kh != kw)
        or n < support.min_batch or (support.max_batch is not None and n > support.max_batch)
        or min(g.out) < 1
    )
    if rejected:
        return None
    if fitted.dy.shape[1:3] != g.out:  # another 'same' convention gives another output size
        fitted = fitted.replace(dy=np.resize(case.dy, (n, *g.out, case.dy.shape[3])))
    precision = precision_of(declaration, case.dtype.name)
    return fitted.replace(precision=None if precision.plain else precision)


def _option(draw, label: str, value: tuple[int, int], declared: bool | str) -> Any:
    """An int when both axes agree, unless a coin asks for the pair; always an int where the variant takes one
    (declared ``'int'`` or unsupported). The coin is drawn every time, so shrinking a pair to equal values keeps
    the rest of the case in place, and it shrinks to the plainest form, the int."""
    as_pair = draw(st.booleans(), label=f"{label} as a pair")
    if declared is not True or (value[0] == value[1] and not as_pair):
        return value[0]
    return value


def _dimension(draw, label: str, low: int, high: int, far: tuple[int, ...], reaching: bool,
               least: int = 0, most: int | None = None) -> int:
    """A small size in ``low..high``, or one of ``far`` when this dimension is the one that reaches; both kept
    within ``least..most``."""
    if reaching:
        values = [v for v in far if v >= least and (most is None or v <= most)]
        return draw(st.sampled_from(values or [max(least, low)]), label=label)
    high = high if most is None else min(high, most)
    return draw(st.integers(max(low, least), max(high, max(low, least))), label=label)


def draw_array(draw, label: str, shape: tuple[int, ...], dtype: np.dtype, exact: bool, scale: float = 1.0
               ) -> np.ndarray:
    """An array of ``shape`` (inside an ``@st.composite`` strategy, whose ``draw`` it takes): sparse elements
    drawn one by one, plus a pseudo-random background on ``kept`` elements, times ``scale``, every value one of
    ``dtype``'s.

    ``kept`` (how many background elements survive) and every drawn element shrink to 0, so the shrinker can
    thin a dense array down to the one pixel a failure needs. Scaled arrays (the float16 overflow cases) keep their
    whole background: dense large values, so that sums do overflow.
    """
    if exact:
        elements = st.integers(-EXACT_RANGE, EXACT_RANGE).map(float)
        work = np.dtype(np.float64)
    else:
        width = {"float16": 16, "float64": 64}.get(dtype.name, 32)
        work = np.dtype(f"float{width}")
        elements = st.floats(-2, 2, width=width, allow_subnormal=False)
    values = draw(hnp.arrays(work, shape, elements=elements, fill=st.just(0.0)), label=label).astype(np.float64)
    size = math.prod(shape)
    kept = size if scale > 1 else draw(st.integers(0, size), label=f"{label} background elements kept") if size else 0
    if kept:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label=f"{label} background seed"))
        if exact:
            background = rng.integers(-EXACT_RANGE, EXACT_RANGE + 1, size).astype(float)
        else:
            background = rng.standard_normal(size)
        background[rng.permutation(size)[kept:]] = 0.0
        values = values + background.reshape(shape)
    return (values * scale).astype(dtype)


def draw_magnitude(draw, precision: Any, exact: bool) -> float:
    """The factor an array's values are drawn at (inside an ``@st.composite`` strategy): 1, or for real values
    judged in a float16 result or sum (``precision``, a `Precision`) sometimes 256 or 1024, so that sums overflow."""
    if exact or "float16" not in (precision.result.name, precision.accumulation):
        return 1.0
    return draw(st.sampled_from([1.0, 1.0, 256.0, 1024.0]), label="magnitude (float16 overflow)")


def draw_nan_and_memory(draw, x_shape: tuple[int, ...]) -> tuple[tuple[int, ...], str]:
    """Where a case puts its NaN (an index into ``x (N, H, W, C_in)``) and the memory layout its arrays are handed
    over in (`oracle.cases.layouts`), drawn inside an ``@st.composite`` strategy."""
    nan_at = tuple(draw(st.integers(0, max(m - 1, 0)), label=f"NaN {a}") for a, m in zip("NHWC", x_shape))
    memory = draw(st.sampled_from([layout.name for layout in LAYOUTS]), label="memory layout")
    return nan_at, memory


def _check_bound(name: str, value: object, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int; got {name}={value!r}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}; got {name}={value!r}")


def conv_cases(
    *,
    support: Support | Mapping[str, Any] | None = None,
    exact: bool | None = None,
    reach: bool = True,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 4,
    max_out: int = 3,
    max_group_channels: int = 3,
    functions: tuple[str, ...] = ("conv2d",),
) -> st.SearchStrategy[ConvCase]:
    """Valid convolution cases inside ``support``.

    Args:
        support: what the variant under test declares (a `Support` or a dict of its fields); nothing outside it
            is drawn.
        functions: the variant's functions the cases are for (``("conv2d", "conv2d_backward")`` for a property
            that calls both): only what every one of them supports is drawn.
        exact: True for exact (small integer) values, False for real ones, None to draw either.
        reach: let one dimension per case reach the block sizes of `Reach` (False: every case small).
        max_kernel, max_stride, max_dilation, max_pad, max_out: per-axis upper bounds of KH/KW, strides,
            dilations, each pad, and H_out/W_out in the small cases.
        max_group_channels: upper bound of input and output channels per group in the small cases.
    """
    if support is not None and not isinstance(support, (Support, Mapping)):
        raise TypeError("support must be an oracle.Support or a dict of its fields; "
                        f"got support of type {type(support).__name__}")
    if exact not in (None, True, False):
        raise TypeError(f"exact must be True, False or None; got exact={exact!r}")
    if not isinstance(reach, bool):
        raise TypeError(f"reach must be True or False; got reach={reach!r}")
    for name, value in (("max_kernel", max_kernel), ("max_stride", max_stride), ("max_dilation", max_dilation),
                        ("max_out", max_out), ("max_group_channels", max_group_channels)):
        _check_bound(name, value, 1)
    _check_bound("max_pad", max_pad, 0)
    small = {"kernel": max_kernel, "stride": max_stride, "dilation": max_dilation, "pad": max_pad, "out": max_out,
             "channels": max_group_channels}
    return _conv_cases(Support.of(support), exact, reach, small, tuple(functions))


@st.composite
def _conv_cases(draw, declared: Support, exact: bool | None, reach: bool, small: dict[str, int],
                functions: tuple[str, ...]) -> ConvCase:
    dtype_name = draw(st.sampled_from(dtypes_in_draw_order(declared)), label="dtype")
    dtype = storage_dtype(dtype_name)
    precision = precision_of(declared, dtype_name)
    support = declared.resolved(functions, dtype_name)
    is_exact = draw(st.booleans(), label="exact values") if exact is None else exact
    reaching = draw(st.sampled_from(["none"] * len(DIMENSIONS) + list(DIMENSIONS)), label="reaching") \
        if reach else "none"

    def dim(label: str, low: int, high: int, far: tuple[int, ...], name: str, **limits: int) -> int:
        return _dimension(draw, label, low, high, far, reaching == name, **limits)

    groups = dim("groups", 1, 3, REACH.groups, "groups") if support.groups else 1
    c_in = groups * dim("C_in per group", 1, small["channels"], REACH.channels, "C_in per group")
    c_out = groups * dim("C_out per group", 1, small["channels"], REACH.channels, "C_out per group")
    form = draw(st.sampled_from(support.padding), label="padding form")
    mirror = "input" in support.square  # a square input: both axes drawn alike
    axes: list[dict[str, int]] = [{}, {}]
    for axis, a in zip("HW", axes):
        if axis == "W" and (mirror or "kernel" in support.square):
            a["kernel"] = axes[0]["kernel"]
        else:
            a["kernel"] = dim(f"K{axis}", 1, small["kernel"], REACH.kernel, f"K{axis}")
    for key, option, far in (("dilation", support.dilation, REACH.dilation),
                             ("stride", support.stride, REACH.stride)):
        torch_same = key == "stride" and form == "same" and support.same == "torch"
        undilated_same = key == "dilation" and form == "same" and not support.same_dilation
        most = 1 if option is False or torch_same or undilated_same else None
        if key == "stride" and not support.stride_dilation and max(a["dilation"] for a in axes) > 1:
            most = 1  # never a stride and a dilation above 1 together (drawn per axis, kept simple: none)
        axes[0][key] = dim(f"{key[0]}h", 1, small[key], far, f"{key[0]}h", most=most)
        alike = option == "int" or most == 1 or mirror
        axes[1][key] = axes[0][key] if alike else dim(f"{key[0]}w", 1, small[key], far, f"{key[0]}w")

    padding, size = _padding_and_size(draw, form, axes, support, small, reaching)
    kernel = (axes[0]["kernel"], axes[1]["kernel"])
    stride = (axes[0]["stride"], axes[1]["stride"])
    dilation = (axes[0]["dilation"], axes[1]["dilation"])
    geometry = Geometry.of(size, kernel, stride=stride, padding=padding, dilation=dilation, same=support.same)
    if not support.asymmetric_padding:
        assume(all(a == b for a, b in geometry.pads))  # 'same' with an odd total padding
    assert min(geometry.out) >= 1 and min(size) >= 1, "strategy built an invalid geometry"

    most_batch = support.max_batch if support.max_batch is not None else max(REACH.batch)
    if reaching == "N":
        n = _dimension(draw, "N", 0, 0, REACH.batch, True, least=support.min_batch, most=most_batch)
    else:
        # N = 0 one time in eight or so; shrinks to N = 1
        batches = [b for b in [1, 2, 1, 2, 1, 2, 1, 0] if support.min_batch <= b <= most_batch]
        n = draw(st.sampled_from(batches or [support.min_batch]), label="N")
    scale = draw_magnitude(draw, precision, is_exact)
    x = draw_array(draw, "x", (n, *size, c_in), dtype, is_exact, scale)
    w = draw_array(draw, "w", (*kernel, c_in // groups, c_out), dtype, is_exact, scale)
    with_bias = support.bias and draw(st.booleans(), label="bias")
    b = draw_array(draw, "b", (c_out,), dtype, is_exact, scale) if with_bias else None
    dy = draw_array(draw, "dy", (n, *geometry.out, c_out), dtype, is_exact, scale)
    nan_at, memory = draw_nan_and_memory(draw, x.shape)
    return ConvCase(
        x, w, b, dy,
        stride=_option(draw, "stride", stride, support.stride),
        padding=padding,
        dilation=_option(draw, "dilation", dilation, support.dilation),
        groups=groups,
        exact=is_exact,
        nan_at=nan_at,
        same=support.same,
        precision=None if precision.plain else precision,
        memory=memory,
    )


def dtypes_in_draw_order(support: Support) -> list[str]:
    """The storage dtypes ``support`` takes, in the order cases draw them: shrinking goes to the first, float64,
    where errors are smallest and reports plainest."""
    return sorted(support.dtypes, key=("float64", "float32", "float16", "bfloat16").index)


def _padding_and_size(draw, form: str, axes: list[dict[str, int]], support: Support, small: dict[str, int],
                      reaching: str) -> tuple[Any, tuple[int, int]]:
    """The padding argument and the input size ``(H, W)`` that yield a drawn output size (module docstring).

    The same draws are made, in the same order, whatever the form (four pads, then per axis the rows past the last
    window and the output size), so that shrinking from one form to a plainer one keeps the rest of the case.
    """
    spans = [a["dilation"] * (a["kernel"] - 1) + 1 for a in axes]
    mirror = "input" in support.square  # a square input: both axes drawn alike
    top, bottom, left, right = (_dimension(draw, f"pad {side}", 0, small["pad"], REACH.pad, reaching == "padding")
                                for side in ("top", "bottom", "left", "right"))
    if not support.asymmetric_padding:
        bottom, right = top, left
    if mirror:
        left, right = top, bottom
    pads = {"int": ((top, top), (top, top)), "pair": ((top, top), (left, left)),
            "sides": ((top, bottom), (left, right))}.get(form, ((0, 0), (0, 0)))
    size: list[int] = []
    for axis, a, span, (before, after) in zip("HW", axes, spans, pads):
        s = a["stride"]
        if axis == "W" and mirror:
            size.append(size[0])
            continue
        if form == "same":
            # H = (H_out - 1)*s + r, 1 <= r <= s, gives ceil(H / s) = H_out; r <= span leaves no unread row
            last = s if support.leftover_rows else max(1, min(s, span))
            r = 1 + draw(st.integers(0, last - 1), label=f"{axis} rows past the last window")
            out = _dimension(draw, f"{axis}_out", 1, small["out"], REACH.out, reaching == f"{axis}_out")
            size.append((out - 1) * s + r)
            continue
        extra = draw(st.integers(0, s - 1), label=f"{axis} rows past the last window") if support.leftover_rows \
            else 0
        # smallest output size that leaves the input at least one row: H >= 1
        least = max(1, math.ceil((1 + before + after - span - extra) / s) + 1)
        out = _dimension(draw, f"{axis}_out", least, least + small["out"] - 1, REACH.out, reaching == f"{axis}_out",
                         least=least)
        size.append((out - 1) * s + span - before - after + extra)
    padding = {"same": "same", "valid": "valid", "int": top, "pair": (top, left), "sides": pads}[form]
    return padding, (size[0], size[1])


def case_classes(case: ConvCase) -> set[str]:
    """The edge-case and size classes a case belongs to, for the meta-tests that show each is reached."""
    g = case.geometry
    classes = {f"padding:{padding_form(case.padding)}", case.dtype.name, "exact" if case.exact else "real"}
    n, h, w, c_in = case.x.shape
    kh, kw, c_group, c_out = case.w.shape
    pads = [p for side in g.pads for p in side]
    checks = {
        "N=0": n == 0,
        "size-1 dimension": 1 in (h, w, c_in, kh, kw, c_out) or 1 in g.out,
        "rectangular kernel": kh != kw,
        "padding >= kernel": any(p >= k for p, k in zip((g.pads[0][0], g.pads[1][0]), (kh, kw))) and max(pads) > 0,
        "stride > kernel": any(s > k for s, k in zip(g.stride, (kh, kw))),
        "dilation > 1": max(g.dilation) > 1,
        "groups > 1": case.groups > 1,
        "depthwise": case.groups > 1 and case.w.shape[2] == 1,
        "bias": case.b is not None,
        "no bias": case.b is None,
        "rows no window reads": not (g.read(0).all() and g.read(1).all()),
        "kernel fills padded input": any(p == e for p, e in zip(g.padded, g.span)),
        "asymmetric padding": any(a != b for a, b in g.pads),
        "window of padding only": bool(g.all_padding_windows(0) or g.all_padding_windows(1)),
        # sizes where kernels block (the reach)
        "C_in per group > 64": c_group > 64,
        "C_out > 64": c_out > 64,
        "H_out or W_out > 32": max(g.out) > 32,
        "N > 8": n > 8,
        "kernel 7": max(kh, kw) == 7,
        "stride > 4": max(g.stride) > 4,
        "dilation > 3": max(g.dilation) > 3,
        "padding > 8": max(pads) > 8,
        "padding > kernel": any(p > k for p, k in zip(pads, (kh, kh, kw, kw))),
        "channel tail of 4": c_in > 4 and c_in % 4 != 0,
        "groups > 8": case.groups > 8,
    }
    return classes | {name for name, hit in checks.items() if hit}
