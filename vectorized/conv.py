r"""Fast 2-D convolution in numpy: one ``np.take`` and one matrix product per batch chunk (see `gather`).

Forward: pad, gather the windows into columns, multiply by ``w`` reshaped to ``(KH*KW*Cg, C_out)``.

Backward: ``dw = cols.T @ dy`` from the same columns; ``db = dy.sum``; ``dx`` by take-based correlations
of ``dy`` with the flipped kernel, one per stride phase, derived in `vectorized.input_grad`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vectorized.gather import columns, correlate, window_cells
from vectorized.input_grad import input_gradient, input_gradient_bytes, phases, product_cells
from vectorized.params import Spec, gradient, is_half, spec
from vectorized.scratch import scratch

CHUNK_BYTES = 4 * 2**20
"""Default bound, in bytes, on the column buffer of one batch chunk (with its index array). Small on purpose:
columns that stay in cache between the gather and the product make the whole faster (on the benchmark
machine 4 MiB beats 64 MiB by 1.2-2.2x, e.g. mid float32 forward 9.3 -> 7.2 ms)."""


class Conv2dGrads(NamedTuple):
    """Gradients of a convolution: ``dx`` like ``x``, ``dw`` like ``w``, ``db (C_out,)``."""

    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


def clear_caches() -> None:
    """Forget every cached index array (they are rebuilt on the next call; for cold-cache timing)."""
    for cached in (window_cells, phases, product_cells):
        cached.cache_clear()


def _chunk_size(s: Spec, chunk_bytes: int | None) -> int:
    """Images per chunk so that the columns of a chunk, forward or for ``dx``, stay under ``chunk_bytes``."""
    limit = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"chunk_bytes must be a positive int; got chunk_bytes={chunk_bytes!r}")
    if limit < 1:
        raise ValueError(f"chunk_bytes must be a positive int; got chunk_bytes={chunk_bytes!r}")
    forward = s.ho * s.wo * s.kh * s.kw * (s.c_in * s.dtype.itemsize + 8 * s.groups)
    backward = input_gradient_bytes(s)
    return max(1, limit // max(forward, backward, 1))


def _float32(*arrays: np.ndarray | None) -> list[np.ndarray | None]:
    return [None if a is None else a.astype(np.float32) for a in arrays]


def _pad(x: np.ndarray, pads) -> np.ndarray:
    """``x`` zero-padded by ``((pt, pb), (pl, pr))``, C-contiguous, in the ``"padded"`` scratch buffer (``x``
    itself when it is C-contiguous and unpadded)."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0 and x.flags.c_contiguous:
        return x
    n, h, w, c = x.shape
    xp = scratch("padded", (n, h + pt + pb, w + pl + pr, c), x.dtype)
    xp[:, :pt] = 0
    xp[:, pt + h :] = 0
    xp[:, pt : pt + h, :pl] = 0
    xp[:, pt : pt + h, pl + w :] = 0
    xp[:, pt : pt + h, pl : pl + w] = x
    return xp


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    chunk_bytes: int | None = None,
) -> np.ndarray:
    """2-D cross-correlation of NHWC ``x (N, H, W, C_in)`` with HWIO ``w (KH, KW, C_in // groups, C_out)``.

    Arguments as in `naive.conv2d`; float16 and bfloat16 are computed in float32 and rounded once at the end.
    ``chunk_bytes`` bounds the column buffer of one batch chunk (default
    `CHUNK_BYTES`; at least one image is processed at a time). Returns ``y (N, H_out, W_out, C_out)`` in the
    dtype of ``x``, ``H_out = (H + pt + pb - dh*(KH - 1) - 1) // sh + 1``, likewise ``W_out``.
    """
    s = spec(x, w, b, stride, padding, dilation, groups)
    if is_half(s.dtype):
        # products and sums in float32 (numpy has no fast half matrix product), the result rounded once
        y = conv2d(*_float32(x, w, b), stride=stride, padding=padding, dilation=dilation, groups=groups,
                   chunk_bytes=chunk_bytes)
        with np.errstate(over="ignore"):  # past the format's range is inf, as rounding says
            return y.astype(s.dtype)
    step = _chunk_size(s, chunk_bytes)
    wc = np.ascontiguousarray(w)
    y = np.empty((s.n, s.ho, s.wo, s.c_out), dtype=s.dtype)
    for start in range(0, s.n, step):
        xp = _pad(x[start : start + step], s.pads)
        correlate(xp, wc, s.groups, (s.sh, s.sw), (s.dh, s.dw), (s.ho, s.wo), y[start : start + step])
    if b is not None:
        y += b
    return y


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    chunk_bytes: int | None = None,
) -> Conv2dGrads:
    """Gradients of `conv2d` given ``dy (N, H_out, W_out, C_out)``.

    Returns ``Conv2dGrads(dx, dw, db)``: ``dx`` of ``x.shape``, ``dw`` of ``w.shape``, ``db (C_out,)`` with
    ``db = dy.sum(axis=(0, 1, 2))``, all in the dtype of ``x``. ``chunk_bytes`` as in `conv2d`.
    """
    s = spec(x, w, None, stride, padding, dilation, groups)
    dy = gradient(dy, s)
    if is_half(s.dtype):
        grads = conv2d_backward(*_float32(dy, x, w), stride=stride, padding=padding, dilation=dilation,
                                groups=groups, chunk_bytes=chunk_bytes)
        with np.errstate(over="ignore"):
            return Conv2dGrads(*(g.astype(s.dtype) for g in grads))
    step = _chunk_size(s, chunk_bytes)
    wc = np.ascontiguousarray(w)
    cg, og, taps = s.c_in // s.groups, s.c_out // s.groups, s.kh * s.kw
    dx = np.empty(x.shape, dtype=s.dtype)
    dw = np.zeros((s.groups, taps * cg, og), dtype=s.dtype)
    for start in range(0, s.n, step):
        dy_chunk = np.ascontiguousarray(dy[start : start + step])
        xp = _pad(x[start : start + step], s.pads)
        cols = columns(xp, s.groups, (s.kh, s.kw), (s.sh, s.sw), (s.dh, s.dw), (s.ho, s.wo))
        dy_groups = dy_chunk.reshape(-1, s.groups, og).transpose(1, 0, 2)  # (G, n*Ho*Wo, C_out // G)
        dw += np.matmul(cols.transpose(0, 2, 1), dy_groups)
        input_gradient(dy_chunk, wc, s, dx[start : start + step])
    dw = np.ascontiguousarray(dw.transpose(1, 0, 2)).reshape(s.kh, s.kw, cg, s.c_out)
    # db = dy.sum(axis=(0, 1, 2)) as a matrix-vector product: ten times faster than numpy's reduction over
    # the leading axes, and like any order of summation within the same error bound
    rows = dy.reshape(-1, s.c_out)
    db = np.ones(rows.shape[0], dtype=s.dtype) @ rows
    return Conv2dGrads(dx, dw, db)
