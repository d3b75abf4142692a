"""The reference 2-D convolution: the formula of design.md, one loop per index.

    y[n, i, j, o] = b[o] + sum_{p, q, c} xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] * w[p, q, c, o]

with ``xp`` the zero-padded input, ``Cg = C_in // groups`` and ``g = o // (C_out // groups)``. The loops run over
batch, output channel, input channel of the group and output position; the sum over the kernel taps ``(p, q)``
is one elementwise product of the window with ``w[:, :, c, o]``. The backward pass is the same loop read
backwards: each ``dy[n, i, j, o]`` is scattered over the window that made ``y[n, i, j, o]`` (into ``dx``) and
multiplied with that window (into ``dw``); the padding is cropped off ``dx`` at the end.

Sums are accumulated in float64 and rounded once to the input's dtype, so float32 results are as accurate as a
float32 result can be. Slow on purpose: it is read, not run on large inputs.
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
        x: ``(N, H, W, C_in)``, float32 or float64.
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
            first_channel = (o // o_group) * c_group
            for c in range(c_group):
                for i in range(g.h_out):
                    for j in range(g.w_out):
                        rows, cols = _window(g, i, j)
                        # sum_{p, q} xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] * w[p, q, c, o]
                        y[n, i, j, o] += np.sum(xp[n, rows, cols, first_channel + c] * w64[:, :, c, o])
    if b is not None:
        y += b.astype(np.float64)
    return y.astype(x.dtype)


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
            first_channel = (o // o_group) * c_group
            for c in range(c_group):
                for i in range(g.h_out):
                    for j in range(g.w_out):
                        rows, cols = _window(g, i, j)
                        # dL/dxp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] += dy[n, i, j, o] * w[p, q, c, o]
                        dxp[n, rows, cols, first_channel + c] += dy64[n, i, j, o] * w64[:, :, c, o]
                        # dL/dw[p, q, c, o] += dy[n, i, j, o] * xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c]
                        dw[:, :, c, o] += dy64[n, i, j, o] * xp[n, rows, cols, first_channel + c]
    (pt, _), (pl, _) = g.pads
    dx = dxp[:, pt : pt + g.h, pl : pl + g.w, :]
    db = dy64.sum(axis=(0, 1, 2))
    return Conv2dGrads(dx.astype(x.dtype), dw.astype(x.dtype), db.astype(x.dtype))
