"""The reference transposed convolution: scatter each input pixel over its window, then crop (CONTRACT.md).

    full[n, i*sh + p*dh, j*sw + q*dw, g*Cog + o] += x[n, i, j, c] * w[p, q, o, c]      (c in group g)
    y[n, r, t, :] = b + full[n, pt + r, pl + t, :]     (zero where pt + r or pl + t is past the end of full)

``full`` is ``((H - 1)*sh + dh*(KH - 1) + 1, (W - 1)*sw + dw*(KW - 1) + 1)``: every row a window reaches.
``padding`` crops ``pt`` rows from its top and ``pb`` from its bottom; ``output_padding`` adds ``oph`` rows at the
bottom (and ``opw`` columns at the right), which no input pixel reaches past the end of ``full``. The backward pass
reads the same loop backwards: ``dx[n, i, j, c]`` gathers ``dy`` over the window that ``x[n, i, j, c]`` was
scattered to, and ``dw`` multiplies that window with ``x``.

Written apart from `naive.conv2d_backward`, whose ``dx`` is the same operation: one cannot hide a bug of the other.
Sums are accumulated in float64 and rounded once to the input's dtype.
"""

from __future__ import annotations

import numpy as np

from naive.conv import Conv2dGrads, _rounded
from naive.params import TransposedGeometry, check_transposed_dy, parse_transposed


def _reach(g: TransposedGeometry, i: int, j: int) -> tuple[slice, slice]:
    """Rows and columns of ``full`` that input pixel ``(i, j)`` is scattered to (dilation as the step)."""
    (sh, sw), (dh, dw) = g.stride, g.dilation
    rows = slice(i * sh, i * sh + dh * (g.kh - 1) + 1, dh)
    cols = slice(j * sw, j * sw + dw * (g.kw - 1) + 1, dw)
    return rows, cols


def _full_shape(g: TransposedGeometry) -> tuple[int, int, int, int]:
    """``full`` extended so that the crop ``[pt : pt + H_out]`` always lies inside it (output padding past its
    end reads zeros)."""
    (pt, _), (pl, _) = g.pads
    rows = max((g.h - 1) * g.stride[0] + g.dilation[0] * (g.kh - 1) + 1, pt + g.h_out)
    cols = max((g.w - 1) * g.stride[1] + g.dilation[1] * (g.kw - 1) + 1, pl + g.w_out)
    return g.n, rows, cols, g.c_out


def conv_transpose2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    output_padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D transposed convolution of NHWC ``x`` with ``w`` in TensorFlow's layout for it.

    Args:
        x: ``(N, H, W, C_in)``, float16, bfloat16, float32 or float64.
        w: ``(KH, KW, C_out // groups, C_in)``, dtype of ``x``.
        b: ``(C_out,)``, dtype of ``x``, or None.
        stride, dilation: an int or ``(sh, sw)``, each >= 1.
        padding: an int, ``(ph, pw)``, ``((pt, pb), (pl, pr))``, ``'valid'`` or ``'same'`` (``H_out = H*sh``;
            the odd row cropped at the bottom, as TensorFlow).
        output_padding: an int or ``(oph, opw)``, ``0 <= op < max(stride, dilation)`` on each axis; 0 with 'same'.
        groups: divides ``C_in`` and ``C_out``.

    Returns:
        y: ``(N, H_out, W_out, C_out)`` in the dtype of ``x``, where
        ``H_out = (H - 1)*sh - pt - pb + dh*(KH - 1) + 1 + oph`` and likewise ``W_out``.
    """
    g = parse_transposed(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                         dilation=dilation, groups=groups)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    c_group, o_group = g.c_in // g.groups, g.c_out // g.groups
    full = np.zeros(_full_shape(g))
    for n in range(g.n):
        for c in range(g.c_in):
            outputs = slice((c // c_group) * o_group, (c // c_group + 1) * o_group)  # the channels g*Cog + o
            for i in range(g.h):
                for j in range(g.w):
                    rows, cols = _reach(g, i, j)
                    # full[n, i*sh + p*dh, j*sw + q*dw, g*Cog + o] += x[n, i, j, c] * w[p, q, o, c]
                    full[n, rows, cols, outputs] += x64[n, i, j, c] * w64[:, :, :, c]
    (pt, _), (pl, _) = g.pads
    y = full[:, pt : pt + g.h_out, pl : pl + g.w_out, :]
    if b is not None:
        y = y + b.astype(np.float64)
    return _rounded(y, x.dtype)


def conv_transpose2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    output_padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Conv2dGrads:
    """Gradients of `conv_transpose2d` with respect to ``x``, ``w`` and ``b``, given ``dy = dL/dy``.

    Args:
        dy: ``(N, H_out, W_out, C_out)``, the shape of ``conv_transpose2d(x, w, ...)``, dtype of ``x``.
        x, w, stride, padding, output_padding, dilation, groups: as in `conv_transpose2d`.

    Returns:
        ``Conv2dGrads(dx, dw, db)``: ``dx`` of ``x.shape``, ``dw`` of ``w.shape``, ``db`` of ``(C_out,)``, all in
        the dtype of ``x``; ``db = dy.sum(axis=(0, 1, 2))``.
    """
    g = parse_transposed(x, w, None, stride=stride, padding=padding, output_padding=output_padding,
                         dilation=dilation, groups=groups)
    dy = check_transposed_dy(dy, x, g)
    x64, w64, dy64 = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
    (pt, _), (pl, _) = g.pads
    dfull = np.zeros(_full_shape(g))  # dL/dfull: dy where the crop kept it, 0 where it was cropped away
    dfull[:, pt : pt + g.h_out, pl : pl + g.w_out, :] = dy64
    c_group, o_group = g.c_in // g.groups, g.c_out // g.groups
    dx = np.zeros_like(x64)
    dw = np.zeros_like(w64)
    for n in range(g.n):
        for c in range(g.c_in):
            outputs = slice((c // c_group) * o_group, (c // c_group + 1) * o_group)
            for i in range(g.h):
                for j in range(g.w):
                    rows, cols = _reach(g, i, j)
                    # dL/dx[n, i, j, c] = sum_{p, q, o} dfull[n, i*sh + p*dh, j*sw + q*dw, g*Cog + o] * w[p, q, o, c]
                    dx[n, i, j, c] = np.sum(dfull[n, rows, cols, outputs] * w64[:, :, :, c])
                    # dL/dw[p, q, o, c] += dfull[n, i*sh + p*dh, j*sw + q*dw, g*Cog + o] * x[n, i, j, c]
                    dw[:, :, :, c] += dfull[n, rows, cols, outputs] * x64[n, i, j, c]
    db = dy64.sum(axis=(0, 1, 2))
    return Conv2dGrads(_rounded(dx, x.dtype), _rounded(dw, x.dtype), _rounded(db, x.dtype))
