"""Argument checking for the reference convolution.

Everything `naive.conv2d` and `naive.conv2d_backward` accept is parsed here, into one `Geometry`; every rule
of the contract (CONTRACT.md) that a caller can break raises ``ValueError`` (a value) or ``TypeError`` (a type) with
the rule first and what it got after.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
"""The storage dtypes of the contract, by name (bfloat16 is ml_dtypes', which numpy knows once it is imported)."""


class Geometry(NamedTuple):
    """Every size of one convolution, padding resolved to ``((pt, pb), (pl, pr))``."""

    n: int
    h: int
    w: int
    c_in: int
    kh: int
    kw: int
    c_out: int
    groups: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    h_out: int
    w_out: int


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_pair(name: str, value: object) -> tuple[int, int]:
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints; got {name}={value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be >= 1 on each axis; got {name}={value!r}")
    return pair


def _same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """SAME_UPPER: out = ceil(size / s); the odd pixel of the total pad goes after (bottom / right)."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _pads(padding: object, geometry: tuple[int, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    h, w, kh, kw, sh, sw, dh, dw = geometry
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            return _same_pads(h, kh, sh, dh), _same_pads(w, kw, sw, dw)
        raise ValueError(f"padding must be 'valid' or 'same' when a string; got padding={padding!r}")
    if _is_int(padding):
        pads = ((int(padding),) * 2,) * 2
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(p) for p in padding):
        pads = ((int(padding[0]),) * 2, (int(padding[1]),) * 2)
    elif (
        isinstance(padding, (tuple, list))
        and len(padding) == 2
        and all(isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(v) for v in p) for p in padding)
    ):
        pads = tuple((int(p[0]), int(p[1])) for p in padding)
    else:
        raise TypeError(
            "padding must be an int, (ph, pw), ((pt, pb), (pl, pr)), 'valid' or 'same'; "
            f"got padding={padding!r}"
        )
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"padding must be >= 0 on every side; got padding={padding!r}")
    return pads


def _check_array(name: str, a: object, ndim: int) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {name} of type {type(a).__name__}")
    if a.dtype.name not in FLOAT_DTYPES:
        raise TypeError(f"{name}.dtype must be float16, bfloat16, float32 or float64; got {name}.dtype={a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got {name}.shape={a.shape}")
    return a


def _operands(x: object, w: object) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``w``: 4-D float arrays of one dtype, every dimension >= 1 but N."""
    x = _check_array("x", x, 4)
    w = _check_array("w", w, 4)
    if w.dtype != x.dtype:
        raise TypeError(f"w.dtype must equal x.dtype; got w.dtype={w.dtype}, x.dtype={x.dtype}")
    if min(x.shape[1:]) < 1:
        raise ValueError(f"x must have H, W and C_in >= 1 (only N may be 0); got x.shape={x.shape}")
    if min(w.shape) < 1:
        raise ValueError(f"w must have every dimension >= 1; got w.shape={w.shape}")
    return x, w


def _groups(groups: object) -> int:
    if not _is_int(groups):
        raise TypeError(f"groups must be an int; got groups={groups!r}")
    return int(groups)


def _check_bias(b: object, x: np.ndarray, c_out: int, origin: str = "") -> None:
    """``b`` is None or ``(C_out,)`` of ``x``'s dtype (``origin`` says where C_out comes from)."""
    if b is None:
        return
    b = _check_array("b", b, 1)
    if b.dtype != x.dtype:
        raise TypeError(f"b.dtype must equal x.dtype; got b.dtype={b.dtype}, x.dtype={x.dtype}")
    if b.shape != (c_out,):
        raise ValueError(f"b.shape must be (C_out,) = ({c_out},){origin}; got b.shape={b.shape}")


def parse(
    x: object, w: object, b: object, *, stride: object, padding: object, dilation: object, groups: object
) -> Geometry:
    """Check the arguments of a convolution against the contract; return its resolved `Geometry`."""
    x, w = _operands(x, w)
    n, h, wid, c_in = x.shape
    kh, kw, c_group, c_out = w.shape
    groups = _groups(groups)
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(
            f"groups must be >= 1 and divide both C_in and C_out; got groups={groups}, "
            f"x.shape={x.shape} (C_in={c_in}), w.shape={w.shape} (C_out={c_out})"
        )
    if c_group != c_in // groups:
        raise ValueError(
            "w.shape[2] must equal x.shape[3] // groups (C_in per group); "
            f"got w.shape={w.shape}, x.shape={x.shape}, groups={groups}"
        )
    _check_bias(b, x, c_out)
    sh, sw = _positive_pair("stride", stride)
    dh, dw = _positive_pair("dilation", dilation)
    pads = _pads(padding, (h, wid, kh, kw, sh, sw, dh, dw))
    h_out = (h + sum(pads[0]) - dh * (kh - 1) - 1) // sh + 1
    w_out = (wid + sum(pads[1]) - dw * (kw - 1) - 1) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(
            "the dilated kernel must fit in the padded input (H_out and W_out >= 1); got padded input "
            f"{h + sum(pads[0])}x{wid + sum(pads[1])}, dilated kernel "
            f"{dh * (kh - 1) + 1}x{dw * (kw - 1) + 1} (x.shape={x.shape}, w.shape={w.shape}, "
            f"padding={padding!r}, dilation={(dh, dw)})"
        )
    return Geometry(n, h, wid, c_in, kh, kw, c_out, groups, (sh, sw), (dh, dw), pads, h_out, w_out)


def check_dy(dy: object, x: np.ndarray, g: Geometry) -> np.ndarray:
    """Check that `dy` has the dtype of `x` and the shape ``(N, H_out, W_out, C_out)`` of the forward output."""
    dy = _check_array("dy", dy, 4)
    if dy.dtype != x.dtype:
        raise TypeError(f"dy.dtype must equal x.dtype; got dy.dtype={dy.dtype}, x.dtype={x.dtype}")
    expected = (g.n, g.h_out, g.w_out, g.c_out)
    if dy.shape != expected:
        raise ValueError(f"dy.shape must be (N, H_out, W_out, C_out) = {expected}; got dy.shape={dy.shape}")
    return dy


class TransposedGeometry(NamedTuple):
    """Every size of one transposed convolution, padding resolved to ``((pt, pb), (pl, pr))`` and output padding
    to ``(oph, opw)``. ``x (n, h, w, c_in)``, ``w (kh, kw, c_out // groups, c_in)``, ``y (n, h_out, w_out, c_out)``."""

    n: int
    h: int
    w: int
    c_in: int
    kh: int
    kw: int
    c_out: int
    groups: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    output_padding: tuple[int, int]
    h_out: int
    w_out: int


def _output_padding(value: object, stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"output_padding must be an int or a pair of ints; got output_padding={value!r}")
    limits = (max(stride[0], dilation[0]), max(stride[1], dilation[1]))
    if not all(0 <= op < limit for op, limit in zip(pair, limits)):
        raise ValueError(
            "output_padding must be >= 0 and < max(stride, dilation) on each axis; "
            f"got output_padding={value!r}, stride={stride}, dilation={dilation}"
        )
    return pair


def parse_transposed(
    x: object, w: object, b: object, *, stride: object, padding: object, output_padding: object, dilation: object,
    groups: object
) -> TransposedGeometry:
    """Check the arguments of a transposed convolution against the contract; return its `TransposedGeometry`."""
    x, w = _operands(x, w)
    n, h, wid, c_in = x.shape
    kh, kw, o_group, c_in_w = w.shape
    groups = _groups(groups)
    if groups < 1 or c_in % groups:
        raise ValueError(f"groups must be >= 1 and divide C_in; got groups={groups}, x.shape={x.shape} (C_in={c_in})")
    if c_in_w != c_in:
        raise ValueError(f"w.shape[3] must equal x.shape[3] (C_in); got w.shape={w.shape}, x.shape={x.shape}")
    c_out = o_group * groups
    _check_bias(b, x, c_out, " (w.shape[2] * groups)")
    sh, sw = _positive_pair("stride", stride)
    dh, dw = _positive_pair("dilation", dilation)
    op = _output_padding(output_padding, (sh, sw), (dh, dw))
    if isinstance(padding, str) and padding == "same":
        if op != (0, 0):
            raise ValueError(f"output_padding must be 0 with padding='same' (H_out = H*sh); got "
                             f"output_padding={output_padding!r}")
        # the input gradient of conv2d(padding='same') on an input of H*sh rows (SAME_UPPER)
        pads = (_same_pads(h * sh, kh, sh, dh), _same_pads(wid * sw, kw, sw, dw))
        op = tuple(size * s - ((size - 1) * s - sum(p) + d * (k - 1) + 1)
                   for size, s, p, d, k in ((h, sh, pads[0], dh, kh), (wid, sw, pads[1], dw, kw)))
    else:
        pads = _pads(padding, (h, wid, kh, kw, sh, sw, dh, dw))
    h_out = (h - 1) * sh - sum(pads[0]) + dh * (kh - 1) + 1 + op[0]
    w_out = (wid - 1) * sw - sum(pads[1]) + dw * (kw - 1) + 1 + op[1]
    if h_out < 1 or w_out < 1:
        raise ValueError(
            "padding must leave H_out and W_out >= 1, H_out = (H - 1)*sh - pt - pb + dh*(KH - 1) + 1 + oph; got "
            f"H_out={h_out}, W_out={w_out} (x.shape={x.shape}, w.shape={w.shape}, padding={padding!r}, "
            f"stride={(sh, sw)}, dilation={(dh, dw)}, output_padding={output_padding!r})"
        )
    return TransposedGeometry(n, h, wid, c_in, kh, kw, c_out, groups, (sh, sw), (dh, dw), pads, tuple(op), h_out,
                              w_out)


def check_transposed_dy(dy: object, x: np.ndarray, g: TransposedGeometry) -> np.ndarray:
    """Check that `dy` has the dtype of `x` and the shape ``(N, H_out, W_out, C_out)`` of the transposed output."""
    dy = _check_array("dy", dy, 4)
    if dy.dtype != x.dtype:
        raise TypeError(f"dy.dtype must equal x.dtype; got dy.dtype={dy.dtype}, x.dtype={x.dtype}")
    expected = (g.n, g.h_out, g.w_out, g.c_out)
    if dy.shape != expected:
        raise ValueError(f"dy.shape must be (N, H_out, W_out, C_out) = {expected}; got dy.shape={dy.shape}")
    return dy
