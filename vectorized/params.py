"""Argument checking for the take-based convolution, written apart from `naive`'s (see CONTRACT.md, Independence).

`spec` turns the arguments of ``conv2d`` / ``conv2d_backward`` into a `Spec`: every size the computation
needs, padding resolved to ``((pt, pb), (pl, pr))``. A broken rule raises ``ValueError`` for a value and
``TypeError`` for a type, the rule first, then what was got.
"""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

import numpy as np

NUMPY_FLOATS = frozenset({np.dtype("float16"), np.dtype("float32"), np.dtype("float64")})
"""Storage dtypes numpy has; the fourth, bfloat16, is ml_dtypes' and known by name (``dtype.name`` costs
microseconds, so it is asked only of other dtypes)."""


def is_float(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a storage dtype: float16, bfloat16, float32 or float64."""
    return dtype in NUMPY_FLOATS or dtype.name == "bfloat16"


def is_half(dtype: np.dtype) -> bool:
    """Whether storage dtype ``dtype`` is a half format (float16, bfloat16), computed in float32 and rounded once
    at the end: the only storage dtypes of two bytes."""
    return dtype.itemsize == 2


class Spec(NamedTuple):
    """Sizes of one convolution: ``x (n, h, w, c_in)``, ``w (kh, kw, c_in // groups, c_out)``, output
    ``(n, ho, wo, c_out)``, ``pads = ((pt, pb), (pl, pr))``."""

    n: int
    h: int
    w: int
    c_in: int
    kh: int
    kw: int
    c_out: int
    groups: int
    sh: int
    sw: int
    dh: int
    dw: int
    pads: tuple[tuple[int, int], tuple[int, int]]
    ho: int
    wo: int
    dtype: np.dtype


def _integer(v: object) -> bool:
    # type(v) is int: the common case, without the cost of an abstract-class check
    return type(v) is int or (isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)))


def _two(name: str, value: object) -> tuple[int, int]:
    """An int or a pair of ints, each at least 1, as a pair."""
    items = (value, value) if _integer(value) else value
    if not (isinstance(items, (tuple, list)) and len(items) == 2 and all(map(_integer, items))):
        raise TypeError(f"{name} must be an int or a pair of ints; got {name}={value!r}")
    if items[0] < 1 or items[1] < 1:
        raise ValueError(f"{name} must be >= 1 on each axis; got {name}={value!r}")
    return int(items[0]), int(items[1])


def _same_upper(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, (total + 1) // 2


def _resolve_padding(padding: object, sizes, kernel, strides, dilations) -> tuple[tuple[int, int], ...]:
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same' when a string; got padding={padding!r}")
        if padding == "valid":
            return ((0, 0), (0, 0))
        return tuple(_same_upper(*axis) for axis in zip(sizes, kernel, strides, dilations))
    if _integer(padding):
        sides = ((padding, padding), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(map(_integer, padding)):
            sides = tuple((p, p) for p in padding)
        elif all(isinstance(p, (tuple, list)) and len(p) == 2 and all(map(_integer, p)) for p in padding):
            sides = tuple(tuple(p) for p in padding)
        else:
            sides = None
    else:
        sides = None
    if sides is None:
        raise TypeError(
            "padding must be an int, (ph, pw), ((pt, pb), (pl, pr)), 'valid' or 'same'; "
            f"got padding={padding!r}"
        )
    if any(p < 0 for side in sides for p in side):
        raise ValueError(f"padding must be >= 0 on every side; got padding={padding!r}")
    return tuple((int(a), int(b)) for a, b in sides)


def array(name: str, value: object, ndim: int, dtype: np.dtype | None = None) -> np.ndarray:
    """Check that ``value`` is an ndarray of ``ndim`` dimensions and a float dtype (``dtype`` when given)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {name} of type {type(value).__name__}")
    if dtype is None and not is_float(value.dtype):
        raise TypeError(f"{name}.dtype must be float16, bfloat16, float32 or float64; got {name}.dtype={value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"{name}.dtype must equal x.dtype; got {name}.dtype={value.dtype}, x.dtype={dtype}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got {name}.shape={value.shape}")
    return value


def _operands(x: object, w: object, groups: object) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``w`` checked: 4-D float arrays of one dtype, every dimension >= 1 but N; ``groups`` an int."""
    x = array("x", x, 4)
    w = array("w", w, 4, x.dtype)
    if 0 in x.shape[1:]:
        raise ValueError(f"x must have H, W and C_in >= 1 (only N may be 0); got x.shape={x.shape}")
    if 0 in w.shape:
        raise ValueError(f"w must have every dimension >= 1; got w.shape={w.shape}")
    if not _integer(groups):
        raise TypeError(f"groups must be an int; got groups={groups!r}")
    return x, w


def _bias(b: object, dtype: np.dtype, c_out: int, origin: str = "") -> None:
    """``b`` is None or ``(C_out,)`` of ``dtype`` (``origin`` says where C_out comes from)."""
    if b is not None and array("b", b, 1, dtype).shape != (c_out,):
        raise ValueError(f"b.shape must be (C_out,) = ({c_out},){origin}; got b.shape={b.shape}")


def spec(x: object, w: object, b: object, stride: object, padding: object, dilation: object,
         groups: object) -> Spec:
    """Validate the arguments of a convolution and return its `Spec`."""
    x, w = _operands(x, w, groups)
    n, h, wd, c_in = x.shape
    kh, kw, cg, c_out = w.shape
    if not (groups >= 1 and c_in % groups == 0 and c_out % groups == 0):
        raise ValueError(
            f"groups must be >= 1 and divide both C_in and C_out; got groups={groups}, "
            f"x.shape={x.shape} (C_in={c_in}), w.shape={w.shape} (C_out={c_out})"
        )
    if cg * groups != c_in:
        raise ValueError(
            "w.shape[2] must equal x.shape[3] // groups (C_in per group); "
            f"got w.shape={w.shape}, x.shape={x.shape}, groups={groups}"
        )
    _bias(b, x.dtype, c_out)
    sh, sw = _two("stride", stride)
    dh, dw = _two("dilation", dilation)
    pads = _resolve_padding(padding, (h, wd), (kh, kw), (sh, sw), (dh, dw))
    ho = (h + pads[0][0] + pads[0][1] - (kh - 1) * dh - 1) // sh + 1
    wo = (wd + pads[1][0] + pads[1][1] - (kw - 1) * dw - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(
            "the dilated kernel must fit in the padded input (H_out and W_out >= 1); got padded input "
            f"{h + sum(pads[0])}x{wd + sum(pads[1])}, dilated kernel {(kh - 1) * dh + 1}x{(kw - 1) * dw + 1} "
            f"(x.shape={x.shape}, w.shape={w.shape}, padding={padding!r}, dilation={(dh, dw)})"
        )
    return Spec(n, h, wd, c_in, kh, kw, c_out, int(groups), sh, sw, dh, dw, pads, ho, wo, x.dtype)


def gradient(dy: object, s: Spec) -> np.ndarray:
    """Check ``dy`` against the forward output: shape ``(n, ho, wo, c_out)``, dtype of ``x``."""
    dy = array("dy", dy, 4, s.dtype)
    if dy.shape != (s.n, s.ho, s.wo, s.c_out):
        raise ValueError(
            f"dy.shape must be (N, H_out, W_out, C_out) = {(s.n, s.ho, s.wo, s.c_out)}; got dy.shape={dy.shape}"
        )
    return dy


def transposed_spec(x: object, w: object, b: object, stride: object, padding: object, output_padding: object,
                    dilation: object, groups: object) -> Spec:
    """Validate the arguments of a transposed convolution and return the `Spec` of the convolution whose input
    gradient it is: that convolution's input is the transposed output ``(n, H_out, W_out, C_out)``, its output
    is ``x (n, H, W, C_in)``, its weight ``w (KH, KW, C_out // G, C_in)``."""
    x, w = _operands(x, w, groups)
    n, h, wd, c_in = x.shape
    kh, kw, og, c_in_w = w.shape
    if not (groups >= 1 and c_in % groups == 0):
        raise ValueError(f"groups must be >= 1 and divide C_in; got groups={groups}, x.shape={x.shape} (C_in={c_in})")
    if c_in_w != c_in:
        raise ValueError(f"w.shape[3] must equal x.shape[3] (C_in); got w.shape={w.shape}, x.shape={x.shape}")
    c_out = og * groups
    _bias(b, x.dtype, c_out, " (w.shape[2] * groups)")
    sh, sw = _two("stride", stride)
    dh, dw = _two("dilation", dilation)
    items = (output_padding, output_padding) if _integer(output_padding) else output_padding
    if not (isinstance(items, (tuple, list)) and len(items) == 2 and all(map(_integer, items))):
        raise TypeError(f"output_padding must be an int or a pair of ints; got output_padding={output_padding!r}")
    if not (0 <= items[0] < max(sh, dh) and 0 <= items[1] < max(sw, dw)):
        raise ValueError(
            "output_padding must be >= 0 and < max(stride, dilation) on each axis; "
            f"got output_padding={output_padding!r}, stride={(sh, sw)}, dilation={(dh, dw)}"
        )
    if isinstance(padding, str) and padding == "same":
        if tuple(items) != (0, 0):
            raise ValueError(f"output_padding must be 0 with padding='same' (H_out = H*sh); got "
                             f"output_padding={output_padding!r}")
        # the input gradient of conv2d(padding='same') of an input of H*sh rows: H_out = H*sh
        pads = (_same_upper(h * sh, kh, sh, dh), _same_upper(wd * sw, kw, sw, dw))
        return Spec(n, h * sh, wd * sw, c_out, kh, kw, c_in, int(groups), sh, sw, dh, dw, pads, h, wd, x.dtype)
    pads = _resolve_padding(padding, (h, wd), (kh, kw), (sh, sw), (dh, dw))
    h_out = (h - 1) * sh - sum(pads[0]) + dh * (kh - 1) + 1 + int(items[0])
    w_out = (wd - 1) * sw - sum(pads[1]) + dw * (kw - 1) + 1 + int(items[1])
    if h_out < 1 or w_out < 1:
        raise ValueError(
            "padding must leave H_out and W_out >= 1, H_out = (H - 1)*sh - pt - pb + dh*(KH - 1) + 1 + oph; got "
            f"H_out={h_out}, W_out={w_out} (x.shape={x.shape}, w.shape={w.shape}, padding={padding!r}, "
            f"stride={(sh, sw)}, dilation={(dh, dw)}, output_padding={output_padding!r})"
        )
    return Spec(n, h_out, w_out, c_out, kh, kw, c_in, int(groups), sh, sw, dh, dw, pads, h, wd, x.dtype)
