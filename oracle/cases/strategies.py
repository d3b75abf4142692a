"""Hypothesis strategies for convolution cases that are valid by construction (no ``.filter``).

`conv_cases` draws, in order: dtype, groups and channels, kernel, dilation, stride, a padding form and its pads,
an output size, and only then the input size that yields it, ``H = (H_out - 1)*sh + span - pt - pb + extra``
with ``0 <= extra < sh`` rows that no window reads. ``'same'`` padding depends on the input size, so there the
input size is drawn and the pads follow. Every case is small, so the naive reference stays fast.

Values come in two modes. *exact*: small integers, so every sum is exact in float32 and float64 and any
correct implementation must agree to the bit. *real*: floats, compared under `oracle.reference.tolerance`. An array is
a sparse set of elements drawn one by one by Hypothesis, plus a pseudo-random background (from a drawn seed)
kept on a drawn number of elements: dense and cheap to draw, yet every part of it shrinks to zero, so a minimal
failing case is mostly zeros and points at one input pixel and one weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle.geometry import Geometry
from oracle.targets.variant import Support, padding_form

EXACT_RANGE = 3
"""Exact mode draws integers in ``[-3, 3]`` (sparse) plus ``[-3, 3]`` (background): every sum stays below 2**24."""



@dataclass(frozen=True)
class ConvCase:
    """One drawn convolution: arrays ``x (N, H, W, C_in)``, ``w (KH, KW, C_in // groups, C_out)``,
    ``b (C_out,)`` or None, ``dy (N, H_out, W_out, C_out)``, the options in the form the variant receives, and
    whether the values are exact (small integers)."""

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

    @property
    def options(self) -> dict[str, Any]:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}

    @property
    def dtype(self) -> np.dtype:
        return self.x.dtype

    @property
    def geometry(self) -> Geometry:
        return Geometry.of(self.x.shape[1:3], self.w.shape[:2], stride=self.stride, padding=self.padding,
                           dilation=self.dilation)

    def __repr__(self) -> str:
        bias = "no bias" if self.b is None else "bias"
        mode = "exact" if self.exact else "real"
        return (f"ConvCase(x.shape={self.x.shape}, w.shape={self.w.shape}, {self.dtype.name}, {bias}, "
                f"stride={self.stride!r}, padding={self.padding!r}, dilation={self.dilation!r}, "
                f"groups={self.groups}, {mode} values)")


def _pair_option(draw, label: str, value: tuple[int, int]) -> Any:
    """An int when both axes agree and a coin says so, else the pair (both forms are part of the contract)."""
    if value[0] == value[1] and draw(st.booleans(), label=f"{label} as int"):
        return value[0]
    return value


def _values(draw, label: str, shape: tuple[int, ...], dtype: np.dtype, exact: bool) -> np.ndarray:
    """An array: sparse elements drawn one by one, plus a pseudo-random background on ``kept`` elements.

    ``kept`` (how many background elements survive) and every drawn element shrink to 0, so the shrinker can
    thin a dense array down to the one pixel a failure needs.
    """
    if exact:
        elements = st.integers(-EXACT_RANGE, EXACT_RANGE).map(float)
    else:
        elements = st.floats(-2, 2, width=32 if dtype == np.float32 else 64, allow_subnormal=False)
    values = draw(hnp.arrays(dtype, shape, elements=elements, fill=st.just(0.0)), label=label)
    size = math.prod(shape)
    kept = draw(st.integers(0, size), label=f"{label} background elements kept") if size else 0
    if kept:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label=f"{label} background seed"))
        if exact:
            background = rng.integers(-EXACT_RANGE, EXACT_RANGE + 1, size).astype(float)
        else:
            background = rng.standard_normal(size)
        background[rng.permutation(size)[kept:]] = 0.0
        values = (values + background.reshape(shape)).astype(dtype)
    return values


def _check_bound(name: str, value: object, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int; got {name}={value!r}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}; got {name}={value!r}")


def conv_cases(
    *,
    support: Support | None = None,
    exact: bool | None = None,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 4,
    max_out: int = 3,
    max_group_channels: int = 3,
) -> st.SearchStrategy[ConvCase]:
    """Valid convolution cases inside ``support``.

    Args:
        support: what the variant under test supports; nothing outside it is drawn.
        exact: True for exact (small integer) values, False for real ones, None to draw either.
        max_kernel, max_stride, max_dilation, max_pad, max_out: per-axis upper bounds of KH/KW, strides,
            dilations, each pad, and H_out/W_out.
        max_group_channels: upper bound of input and output channels per group.
    """
    if support is not None and not isinstance(support, Support):
        raise TypeError(f"support must be an oracle.Support; got support of type {type(support).__name__}")
    if exact not in (None, True, False):
        raise TypeError(f"exact must be True, False or None; got exact={exact!r}")
    for name, value in (("max_kernel", max_kernel), ("max_stride", max_stride), ("max_dilation", max_dilation),
                        ("max_out", max_out), ("max_group_channels", max_group_channels)):
        _check_bound(name, value, 1)
    _check_bound("max_pad", max_pad, 0)
    return _conv_cases(support or Support(), exact, max_kernel, max_stride, max_dilation, max_pad, max_out,
                       max_group_channels)


@st.composite
def _conv_cases(draw, support: Support, exact: bool | None, max_kernel: int, max_stride: int, max_dilation: int,
                max_pad: int, max_out: int, max_group_channels: int) -> ConvCase:
    dtype = np.dtype(draw(st.sampled_from(sorted(support.dtypes, reverse=True)), label="dtype"))
    is_exact = draw(st.booleans(), label="exact values") if exact is None else exact
    groups = draw(st.integers(1, 3), label="groups") if support.groups else 1
    c_in = groups * draw(st.integers(1, max_group_channels), label="C_in per group")
    c_out = groups * draw(st.integers(1, max_group_channels), label="C_out per group")
    kernel = tuple(draw(st.integers(1, max_kernel), label=f"K{axis}") for axis in "HW")
    dilation = tuple(draw(st.integers(1, max_dilation if support.dilation else 1), label=f"d{axis}")
                     for axis in "hw")
    stride = tuple(draw(st.integers(1, max_stride if support.stride else 1), label=f"s{axis}") for axis in "hw")
    form = draw(st.sampled_from(support.padding), label="padding form")
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))

    if form == "same":
        size = tuple(draw(st.integers(1, max_out * s), label=f"{axis} for 'same'") for axis, s in zip("HW", stride))
        padding: Any = "same"
    else:
        if form == "valid":
            pads = ((0, 0), (0, 0))
        elif form == "int":
            p = draw(st.integers(0, max_pad), label="padding")
            pads = ((p, p), (p, p))
        elif form == "pair":
            ph, pw = (draw(st.integers(0, max_pad), label=f"padding {axis}") for axis in "hw")
            pads = ((ph, ph), (pw, pw))
        else:
            pads = tuple(tuple(draw(st.integers(0, max_pad), label=f"pad {side}") for side in sides)
                         for sides in (("top", "bottom"), ("left", "right")))
        padding = {"valid": "valid", "int": pads[0][0], "pair": (pads[0][0], pads[1][0]), "sides": pads}[form]
        size = []
        for axis, s, e, (before, after) in zip("HW", stride, span, pads):
            extra = draw(st.integers(0, s - 1), label=f"{axis} rows no window reads")
            # smallest output size that leaves the input at least one row: H >= 1
            least = max(1, math.ceil((1 + before + after - e - extra) / s) + 1)
            out = draw(st.integers(least, least + max_out - 1), label=f"{axis}_out")
            size.append((out - 1) * s + e - before - after + extra)
        size = tuple(size)

    # N = 0 one time in eight or so; shrinks to N = 1
    batches = [1 + i % support.max_batch for i in range(7)] + [0]
    n = draw(st.sampled_from(batches), label="N")
    geometry = Geometry.of(size, kernel, stride=stride, padding=padding, dilation=dilation)
    assert min(geometry.out) >= 1 and min(size) >= 1, "strategy built an invalid geometry"
    x = _values(draw, "x", (n, *size, c_in), dtype, is_exact)
    w = _values(draw, "w", (*kernel, c_in // groups, c_out), dtype, is_exact)
    b = _values(draw, "b", (c_out,), dtype, is_exact) if support.bias and draw(st.booleans(), label="bias") else None
    dy = _values(draw, "dy", (n, *geometry.out, c_out), dtype, is_exact)
    nan_at = tuple(draw(st.integers(0, max(m - 1, 0)), label=f"NaN {a}") for a, m in zip("NHWC", x.shape))
    return ConvCase(
        x, w, b, dy,
        stride=_pair_option(draw, "stride", stride),
        padding=padding,
        dilation=_pair_option(draw, "dilation", dilation),
        groups=groups,
        exact=is_exact,
        nan_at=nan_at,
    )


def case_classes(case: ConvCase) -> set[str]:
    """The edge-case classes a case belongs to, for the meta-test that shows each is reached."""
    g = case.geometry
    classes = {f"padding:{padding_form(case.padding)}", case.dtype.name, "exact" if case.exact else "real"}
    n, h, w, c_in = case.x.shape
    kh, kw, _, c_out = case.w.shape
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
    }
    return classes | {name for name, hit in checks.items() if hit}
