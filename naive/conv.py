"""The reference 2-D convolution: the formula of the contract (CONTRACT.md), one loop per index.

    y[n, i, j, o] = b[o] + sum_{p, q, c} xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] * w[p, q, c, o]

with ``xp`` the zero-padded input, ``Cg = C_in // groups`` and ``g = o // (C_out // groups)``. The loops run over
batch, output channel and output position; the sum over the kernel taps and the group's channels ``(p, q, c)``
is one elementwise product of the window, ``(KH, KW, Cg)``, with ``w[:, :, :, o]``. The backward pass is the same
loop read backwards: each ``dy[n, i, j, o]`` is scattered over the window that made ``y[n, i, j, o]`` (into ``dx``)
and multiplied with that window (into ``dw``); the padding is cropped off ``dx`` at the end.

Sums are accumulated in float64 and rounded once to the input's dtype (float16, bfloat16, float32 or float64), so
every result is as accurate as its dtype allows. Slow on purpose: it is read, not run on large inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from naive.params import Geometry, check_dy, parse


class Conv2dGrads(NamedTuple):
    """Gradients of a convolution: ``dx`` like ``x``, ``dw`` like ``w``, ``db`` of shape ``(C_out,)``."""

    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


def _window(g: Geometry, i: int, j: int) -> tuple[slice, slice]:
    """Rows and columns of the padded input that output position ``(i, j)`` reads (dilation as the step)."""
    (sh, sw), (dh, dw) = g.stride, g.dilation
    rows = slice(i * sh, i * sh + dh * (g.kh - 1) + 1, dh)
    cols = slice(j * sw, j * sw + dw * (g.kw - 1) + 1, dw)
    return rows, cols


def _rounded(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float64 ``a`` rounded once to ``dtype``. numpy rounds float64 to float16 and float32 directly; bfloat16
    (ml_dtypes) goes through float32, which could round twice, so float32 first rounds *to odd* (an inexact value
    keeps the odd neighbour): to nearest from there is the nearest bfloat16 to ``a`` (Boldo and Melquiond)."""
    with np.errstate(over="ignore"):  # past the format's range is inf, as rounding says
        if dtype.name != "bfloat16":
            return a.astype(dtype)
        a32 = a.astype(np.float32)
    with np.errstate(invalid="ignore"):
        even = (a32.view(np.uint32) & 1) == 0
        inexact = a32.astype(np.float64) != a
    toward = np.where(a > a32, np.float32(np.inf), np.float32(-np.inf))
    return np.where(inexact & even & np.isfinite(a32), np.nextafter(a32, toward), a32).astype(dtype)


def _padded(x: np.ndarray, g: Geometry) -> np.ndarray:
    """``x`` in float64, zero-padded by ``g.pads``: shape ``(N, H + pt + pb, W + pl + pr, C_in)``."""
    return np.pad(x.astype(np.float64), ((0, 0), g.pads[0], g.pads[1], (0, 0)))


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D cross-correlation of NHWC ``x`` with HWIO ``w``.

    Args:
        x: ``(N, H, W, C_in)``, float16, bfloat16, float32 or float64.
        w: ``(KH, KW, C_in // groups, C_out)``, dtype of ``x``.
        b: ``(C_out,)``, dtype of ``x``, or None.
        stride, dilation: an int or ``(sh, sw)``, each >= 1.
        padding: an int, ``(ph, pw)``, ``((pt, pb), (pl, pr))``, ``'valid'`` or ``'same'`` (SAME_UPPER).
        groups: divides ``C_in`` and ``C_out``.

    Returns:
        y: ``(N, H_out, W_out, C_out)`` in the dtype of ``x``, where
        ``H_out = (H + pt + pb - dh*(KH - 1) - 1) // sh + 1`` and likewise ``W_out``.
    """
    g = parse(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    xp = _padded(x, g)
    w64 = w.astype(np.float64)
    c_group, o_group = g.c_in // g.groups, g.c_out // g.groups
    y = np.zeros((g.n, g.h_out, g.w_out, g.c_out))
    for n in range(g.n):
        for o in range(g.c_out):
            group = slice((o // o_group) * c_group, (o // o_group + 1) * c_group)  # the channels g*Cg + c
            for i in range(g.h_out):
                for j in range(g.w_out):
                    rows, cols = _window(g, i, j)
                    # sum_{p, q, c} xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] * w[p, q, c, o]
                    y[n, i, j, o] = np.sum(xp[n, rows, cols, group] * w64[:, :, :, o])
    if b is not None:
        y += b.astype(np.float64)
    return _rounded(y, x.dtype)


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Conv2dGrads:
    """Gradients of `conv2d` with respect to ``x``, ``w`` and ``b``, given ``dy = dL/dy``.

    Args:
        dy: ``(N, H_out, W_out, C_out)``, the shape of ``conv2d(x, w, ...)``, dtype of ``x``.
        x, w, stride, padding, dilation, groups: as in `conv2d`.

    Returns:
        ``Conv2dGrads(dx, dw, db)``: ``dx`` of ``x.shape``, ``dw`` of ``w.shape``, ``db`` of ``(C_out,)``, all in
        the dtype of ``x``; ``db = dy.sum(axis=(0, 1, 2))``.
    """
    g = parse(x, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = check_dy(dy, x, g)
    xp = _padded(x, g)
    w64, dy64 = w.astype(np.float64), dy.astype(np.float64)
    c_group, o_group = g.c_in // g.groups, g.c_out // g.groups
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w64)
    for n in range(g.n):
        for o in range(g.c_out):
            group = slice((o // o_group) * c_group, (o // o_group + 1) * c_group)  # the channels g*Cg + c
            for i in range(g.h_out):
                for j in range(g.w_out):
                    rows, cols = _window(g, i, j)
                    # dL/dxp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] += dy[n, i, j, o] * w[p, q, c, o]
                    dxp[n, rows, cols, group] += dy64[n, i, j, o] * w64[:, :, :, o]
                    # dL/dw[p, q, c, o] += dy[n, i, j, o] * xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c]
                    dw[:, :, :, o] += dy64[n, i, j, o] * xp[n, rows, cols, group]
    (pt, _), (pl, _) = g.pads
    dx = dxp[:, pt : pt + g.h, pl : pl + g.w, :]
    db = dy64.sum(axis=(0, 1, 2))
    return Conv2dGrads(_rounded(dx, x.dtype), _rounded(dw, x.dtype), _rounded(db, x.dtype))
