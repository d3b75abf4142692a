"""A PyTorch-style variant: NCHW input and output, OIHW weights, one tap at a time. It declares its layout, and the
oracle transposes at the boundary, so it plugs in with no adapter.

``x (N, C_in, H, W)``, ``w (C_out, C_in // groups, KH, KW)``, ``y (N, C_out, H_out, W_out)``. The convolution is a sum
over the kernel taps ``(p, q)`` of one matrix product each: the strided slice of the padded input that tap reads,
times the tap's weights. The backward pass is the same loop read backwards: each tap's ``dy @ w`` is added into
the slice it read (``dx``) and ``dy`` times the slice into the tap's weights (``dw``).

Check it: ``conv-oracle check oracle.examples.nchw_conv``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

conv_oracle_support = {"layout": "NCHW"}


class Grads(NamedTuple):
    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


class _Plan(NamedTuple):
    pads: tuple[tuple[int, int], tuple[int, int]]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]


def _ints(name: str, value: object) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else value
    if isinstance(value, bool) or not (isinstance(pair, (tuple, list)) and len(pair) == 2
                                       and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints; got {name}={value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be >= 1 on each axis; got {name}={value!r}")
    return pair[0], pair[1]


def _pads(padding: object, size: tuple[int, int], span: tuple[int, int], stride: tuple[int, int]):
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":  # SAME_UPPER: H_out = ceil(H / s), the odd pixel after
        totals = [max((math.ceil(n / s) - 1) * s + e - n, 0) for n, e, s in zip(size, span, stride)]
        return tuple((t // 2, t - t // 2) for t in totals)
    if isinstance(padding, str):
        raise ValueError(f"padding must be 'valid' or 'same' when a string; got padding={padding!r}")
    if isinstance(padding, int) and not isinstance(padding, bool):
        pads = ((padding, padding), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(isinstance(p, int) for p in padding):
        pads = ((padding[0], padding[0]), (padding[1], padding[1]))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(v, int) for v in p) for p in padding):
        pads = tuple(tuple(p) for p in padding)
    else:
        raise TypeError(f"padding must be an int, (ph, pw), ((pt, pb), (pl, pr)), 'valid' or 'same'; "
                        f"got padding={padding!r}")
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"padding must be >= 0 on every side; got padding={padding!r}")
    return pads


def _check(x, w, b, stride, padding, dilation, groups) -> _Plan:
    for name, a, ndim in (("x", x, 4), ("w", w, 4), ("b", b, 1)):
        if name == "b" and a is None:
            continue
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray; got {name} of type {type(a).__name__}")
        if a.dtype.name not in ("float16", "bfloat16", "float32", "float64") or a.dtype != x.dtype:
            raise TypeError(f"{name}.dtype must be a float dtype equal to x.dtype; got {name}.dtype={a.dtype}, "
                            f"x.dtype={x.dtype}")
        if a.ndim != ndim:
            raise ValueError(f"{name} must have {ndim} dimensions; got {name}.shape={a.shape}")
    if min(x.shape[1:]) < 1 or min(w.shape) < 1:
        raise ValueError(f"x (but N) and w must have every dimension >= 1; got x.shape={x.shape}, w.shape={w.shape}")
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError(f"groups must be an int; got groups={groups!r}")
    c_out, c_group = w.shape[:2]
    if groups < 1 or x.shape[1] % groups or c_out % groups:
        raise ValueError(f"groups must be >= 1 and divide C_in and C_out; got groups={groups}, x.shape={x.shape}, "
                         f"w.shape={w.shape}")
    if c_group * groups != x.shape[1]:
        raise ValueError(f"w.shape[1] must equal C_in // groups; got w.shape={w.shape}, x.shape={x.shape}, "
                         f"groups={groups}")
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"b.shape must be (C_out,) = ({c_out},); got b.shape={b.shape}")
    stride, dilation = _ints("stride", stride), _ints("dilation", dilation)
    span = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation))
    pads = _pads(padding, x.shape[2:], span, stride)
    out = tuple((n + sum(p) - e) // s + 1 for n, p, e, s in zip(x.shape[2:], pads, span, stride))
    if min(out) < 1:
        raise ValueError(f"the dilated kernel must fit in the padded input; got x.shape={x.shape}, "
                         f"kernel {span[0]}x{span[1]} dilated, padding={padding!r}")
    return _Plan(pads, stride, dilation, out)


def _tap(plan: _Plan, p: int, q: int) -> tuple[slice, slice]:
    """The rows and columns of the padded input that tap ``(p, q)`` reads for every output position."""
    (sh, sw), (dh, dw), (ho, wo) = plan.stride, plan.dilation, plan.out
    return slice(p * dh, p * dh + (ho - 1) * sh + 1, sh), slice(q * dw, q * dw + (wo - 1) * sw + 1, sw)


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
    plan = _check(x, w, b, stride, padding, dilation, groups)
    n = x.shape[0]
    c_out, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), *plan.pads)).reshape(n, groups, cg, *np.add(
        x.shape[2:], [sum(p) for p in plan.pads]))
    wg = w.astype(np.float64).reshape(groups, c_out // groups, cg, kh, kw)
    y = np.zeros((n, groups, c_out // groups, *plan.out))
    for p in range(kh):
        for q in range(kw):
            rows, cols = _tap(plan, p, q)
            y += np.einsum("ngchw,goc->ngohw", xp[:, :, :, rows, cols], wg[:, :, :, p, q])
    y = y.reshape(n, c_out, *plan.out)
    if b is not None:
        y += b.astype(np.float64)[:, None, None]
    return y.astype(x.dtype)


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
    """``Grads(dx, dw, db)`` in the layouts of ``x``, ``w`` and ``(C_out,)``, for ``dy (N, C_out, H_out, W_out)``."""
    plan = _check(x, w, None, stride, padding, dilation, groups)
    n = x.shape[0]
    c_out, cg, kh, kw = w.shape
    expected = (n, c_out, *plan.out)
    if not isinstance(dy, np.ndarray) or dy.dtype != x.dtype or dy.shape != expected:
        shape, dtype = getattr(dy, "shape", None), getattr(dy, "dtype", type(dy).__name__)
        error = ValueError if isinstance(dy, np.ndarray) and dy.dtype == x.dtype else TypeError
        raise error(f"dy must be an array of x.dtype={x.dtype} and shape (N, C_out, H_out, W_out) = {expected}; "
                    f"got dy.shape={shape}, dy.dtype={dtype}")
    hp, wp = (s + sum(p) for s, p in zip(x.shape[2:], plan.pads))
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), *plan.pads)).reshape(n, groups, cg, hp, wp)
    wg = w.astype(np.float64).reshape(groups, c_out // groups, cg, kh, kw)
    dyg = dy.astype(np.float64).reshape(n, groups, c_out // groups, *plan.out)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(wg)
    for p in range(kh):
        for q in range(kw):
            rows, cols = _tap(plan, p, q)
            dxp[:, :, :, rows, cols] += np.einsum("ngohw,goc->ngchw", dyg, wg[:, :, :, p, q])
            dw[:, :, :, p, q] = np.einsum("ngohw,ngchw->goc", dyg, xp[:, :, :, rows, cols])
    (pt, _), (pl, _) = plan.pads
    dx = dxp.reshape(n, x.shape[1], hp, wp)[:, :, pt : pt + x.shape[2], pl : pl + x.shape[3]]
    db = dy.astype(np.float64).sum(axis=(0, 2, 3))
    return Grads(dx.astype(x.dtype), dw.reshape(w.shape).astype(w.dtype), db.astype(x.dtype))
