r"""The transposed convolution, as the input gradient of the convolution it transposes: no zeros inserted.

``conv_transpose2d(x, w)`` with ``x (n, H, W, C_in)`` and ``w (KH, KW, C_out // G, C_in)`` is ``dx`` of the
convolution of an input ``(n, H_out, W_out, C_out)`` with the same ``w`` (HWIO from ``C_out`` to ``C_in``
channels) and the same stride, padding and dilation, at ``dy = x``: `transposed_spec` describes that convolution,
and `vectorized.input_grad` computes its ``dx`` by stride phases, so the cost is that of the products that are
not zero. Rows of the output past the last one any window reaches (``output_padding`` past the bottom padding)
lie in no phase's reach and are 0 before the bias.

The backward pass is that convolution run forward. The rows of ``full``, the untrimmed transposed output
``L = (H - 1)*sh + dh*(KH - 1) + 1`` long, are ``dy``'s rows ``-pt .. L - pt - 1``: ``dy`` padded above by ``pt``
and padded or cropped below to that length (zero where the crop removed rows, and no window reads the rows that
output padding added). Then ``dx = correlate(dy_full, w)`` and ``dw = columns(dy_full)^T @ x``, as `conv2d` and
`conv2d_backward` compute them.
"""

from __future__ import annotations

import numpy as np

from vectorized.conv import Conv2dGrads, _chunk_size, _float32
from vectorized.gather import columns, correlate
from vectorized.input_grad import input_gradient
from vectorized.params import Spec, array, is_half, transposed_spec


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
    chunk_bytes: int | None = None,
) -> np.ndarray:
    """2-D transposed convolution of NHWC ``x (N, H, W, C_in)`` with ``w (KH, KW, C_out // groups, C_in)``.

    Arguments as in `naive.conv_transpose2d`; float16 and bfloat16 are computed in float32 and rounded once.
    Returns ``y (N, H_out, W_out, C_out)`` in the dtype of ``x``,
    ``H_out = (H - 1)*sh - pt - pb + dh*(KH - 1) + 1 + oph`` (``H*sh`` for 'same'), likewise ``W_out``.
    """
    s = transposed_spec(x, w, b, stride, padding, output_padding, dilation, groups)
    if is_half(s.dtype):
        y = conv_transpose2d(*_float32(x, w, b), stride=stride, padding=padding, output_padding=output_padding,
                             dilation=dilation, groups=groups, chunk_bytes=chunk_bytes)
        with np.errstate(over="ignore"):  # past the format's range is inf, as rounding says
            return y.astype(s.dtype)
    step = _chunk_size(s, chunk_bytes)  # images per chunk, as the convolution's backward pass chunks them
    wc = np.ascontiguousarray(w)
    y = np.empty((s.n, s.h, s.w, s.c_in), dtype=s.dtype)
    for start in range(0, s.n, step):
        input_gradient(np.ascontiguousarray(x[start : start + step]), wc, s, y[start : start + step])
    if b is not None:
        y += b
    return y


def _full(dy: np.ndarray, s: Spec) -> np.ndarray:
    """``dy`` as the rows and columns of the untrimmed transposed output, C-contiguous (module docstring)."""
    n, h_out, w_out, c = dy.shape
    rows = (s.ho - 1) * s.sh + s.dh * (s.kh - 1) + 1
    cols = (s.wo - 1) * s.sw + s.dw * (s.kw - 1) + 1
    (pt, _), (pl, _) = s.pads
    full = np.zeros((n, rows, cols, c), dtype=dy.dtype)
    kept_rows, kept_cols = max(0, min(h_out, rows - pt)), max(0, min(w_out, cols - pl))
    full[:, pt : pt + kept_rows, pl : pl + kept_cols] = dy[:, :kept_rows, :kept_cols]
    return full


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
    """Gradients of `conv_transpose2d` given ``dy (N, H_out, W_out, C_out)``.

    Returns ``Conv2dGrads(dx, dw, db)``: ``dx`` of ``x.shape``, ``dw`` of ``w.shape``, ``db (C_out,)`` with
    ``db = dy.sum(axis=(0, 1, 2))``, all in the dtype of ``x``.
    """
    s = transposed_spec(x, w, None, stride, padding, output_padding, dilation, groups)
    dy = array("dy", dy, 4, s.dtype)
    if dy.shape != (s.n, s.h, s.w, s.c_in):
        raise ValueError(f"dy.shape must be (N, H_out, W_out, C_out) = {(s.n, s.h, s.w, s.c_in)}; "
                         f"got dy.shape={dy.shape}")
    if is_half(s.dtype):
        grads = conv_transpose2d_backward(*_float32(dy, x, w), stride=stride, padding=padding,
                                          output_padding=output_padding, dilation=dilation, groups=groups)
        with np.errstate(over="ignore"):
            return Conv2dGrads(*(g.astype(s.dtype) for g in grads))
    cg, og = s.c_in // s.groups, s.c_out // s.groups  # C_out // G and C_in // G of the transposed operation
    rows = dy.reshape(-1, s.c_in)
    db = np.ones(rows.shape[0], dtype=s.dtype) @ rows
    if s.n == 0:
        return Conv2dGrads(np.zeros(x.shape, s.dtype), np.zeros(w.shape, s.dtype), db)
    full = _full(dy, s)
    wc = np.ascontiguousarray(w)
    dx = correlate(full, wc, s.groups, (s.sh, s.sw), (s.dh, s.dw), (s.ho, s.wo))
    cols = columns(full, s.groups, (s.kh, s.kw), (s.sh, s.sw), (s.dh, s.dw), (s.ho, s.wo))
    x_groups = np.ascontiguousarray(x).reshape(-1, s.groups, og).transpose(1, 0, 2)  # (G, n*H*W, C_in // G)
    dw = np.matmul(cols.transpose(0, 2, 1), x_groups)  # (G, KH*KW*(C_out // G), C_in // G)
    dw = np.ascontiguousarray(dw.transpose(1, 0, 2)).reshape(s.kh, s.kw, cg, s.c_out)
    return Conv2dGrads(dx, dw, db)
