r"""Fast 2-D convolution in numpy: one ``np.take`` and one matrix product per batch chunk (see `gather`).

Forward: pad, gather the windows into columns, multiply by ``w`` reshaped to ``(KH*KW*Cg, C_out)``.

Backward: ``dw = cols.T @ dy`` from the same columns; ``db = dy.sum``; ``dx`` is again a take-based
convolution, of ``dy`` with the kernel flipped and its channel axes swapped. Along one axis (rows; columns
alike), with ``r`` a row of the *padded* input, forward reads ``xp[i*s + p*d]`` for output ``i`` and tap ``p``,
so

    dxp[r] = sum over (i, p) with i*s + p*d = r  of  dy[i] * w[p].

The article spreads ``dy`` onto the stride grid (``s - 1`` zeros between rows), pads it by ``d*(K - 1) - P``
on each side (or crops where ``P`` exceeds that: its ``P - K + 1`` case analysis) and correlates with the
flipped kernel. At ``s > 1`` that multiplies mostly by the inserted zeros. Here the rows are split by *phase*
instead: write ``r = a + s*t`` with ``0 <= a < s``. A tap ``p`` reaches phase ``a`` exactly when
``p*d = a (mod s)``, and then ``i = t - k_p`` with ``k_p = (p*d - a) / s >= 0``, so

    dxp[a + s*t] = sum over taps p of phase a  of  dy[t - k_p] * w[p].

Consecutive taps of a phase are ``s / gcd(s, d)`` apart and their ``k_p`` ``d / gcd(s, d)`` apart: each
phase is a *stride-1* correlation of ``dy`` with the phase's taps in reverse order (the flipped kernel) at
dilation ``d / gcd(s, d)``, with no zeros inserted. A phase with no taps (``gcd(s, d)`` does not divide
``a``) gets no gradient.

Only the rows of ``dxp`` inside the unpadded input are wanted: ``pt <= a + s*t < pt + H``, so ``t`` runs from
``t0 = ceil((pt - a) / s)`` to ``t1 = floor((pt + H - 1 - a) / s)``. Output ``t`` reads ``dy`` rows
``t - k_max .. t - k_min``, so the phase correlates the ``dy`` rows ``t0 - k_max .. t1 - k_min``, where a row
outside ``0 .. H_out - 1`` is zero. This is the article's padding logic made explicit: at stride 1 (one phase,
``k_p = p*d``) the first row is ``pt - d*(K - 1)``, i.e. ``dy`` padded by ``d*(K - 1) - pt`` above, or
cropped by ``pt - d*(K - 1)`` when the padding is wider than the dilated kernel (windows that read padding
only); the last row gives the padding below from ``pb`` alike, which is where asymmetric padding differs from
symmetric. Input rows that no window reads (between strided windows or past the last one) correlate only
zero rows of ``dy``: their ``dx`` is exactly 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from vectorized.gather import columns, correlate
from vectorized.params import Spec, gradient, spec

CHUNK_BYTES = 64 * 2**20
"""Default bound, in bytes, on the column buffer of one batch chunk (with its index array)."""


class Conv2dGrads(NamedTuple):
    """Gradients of a convolution: ``dx`` like ``x``, ``dw`` like ``w``, ``db (C_out,)``."""

    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


def _chunk_size(s: Spec, chunk_bytes: int | None) -> int:
    """Images per chunk so that the columns of a chunk, forward or for ``dx``, stay under ``chunk_bytes``."""
    limit = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"chunk_bytes must be a positive int; got chunk_bytes={chunk_bytes!r}")
    taps = s.kh * s.kw
    forward = s.ho * s.wo * taps * (s.c_in * s.dtype.itemsize + 8 * s.groups)
    phase_taps = math.ceil(s.kh / s.sh) * math.ceil(s.kw / s.sw)
    backward = s.h * s.w * phase_taps * (s.c_out * s.dtype.itemsize + 8 * s.groups)
    return max(1, limit // max(forward, backward, 1))


def _pad(x: np.ndarray, pads) -> np.ndarray:
    """``x`` zero-padded by ``((pt, pb), (pl, pr))`` as a C-contiguous array; ``x`` itself when it already is."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return np.ascontiguousarray(x)
    n, h, w, c = x.shape
    xp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
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

    Arguments as in `naive.conv2d`; ``chunk_bytes`` bounds the column buffer of one batch chunk (default
    `CHUNK_BYTES`; at least one image is processed at a time). Returns ``y (N, H_out, W_out, C_out)`` in the
    dtype of ``x``, ``H_out = (H + pt + pb - dh*(KH - 1) - 1) // sh + 1``, likewise ``W_out``.
    """
    s = spec(x, w, b, stride, padding, dilation, groups)
    step = _chunk_size(s, chunk_bytes)
    wc = np.ascontiguousarray(w)
    y = np.empty((s.n, s.ho, s.wo, s.c_out), dtype=s.dtype)
    for start in range(0, s.n, step):
        xp = _pad(x[start : start + step], s.pads)
        y[start : start + step] = correlate(xp, wc, s.groups, (s.sh, s.sw), (s.dh, s.dw), (s.ho, s.wo))
    if b is not None:
        y += b
    return y


def _phases(k: int, s: int, d: int, pad_before: int, size: int, out: int):
    """The phases of one axis of ``dx``: ``(first, taps, dilation, (lo, hi))`` for each phase that has taps and
    rows, where ``dx[first::s]`` gets the correlation of ``dy[lo:hi]`` (zero outside ``0 .. out - 1``) with the
    kernel taps ``taps`` (in flipped order) at the given dilation (module docstring)."""
    g = math.gcd(s, d)
    for a in range(s):
        taps = [p for p in range(k) if (p * d - a) % s == 0]
        t0, t1 = -(-(pad_before - a) // s), (pad_before + size - 1 - a) // s
        if not taps or t1 < t0:
            continue
        shifts = [(p * d - a) // s for p in taps]
        yield a + s * t0 - pad_before, taps[::-1], d // g, (t0 - max(shifts), t1 - min(shifts) + 1)


def _dy_region(dy: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """``dy[:, lo:hi, lo:hi]`` for any bounds, zero where they leave ``dy``, C-contiguous."""
    n, ho, wo, c = dy.shape
    (r0, r1), (c0, c1) = rows, cols
    if r0 >= 0 and c0 >= 0 and r1 <= ho and c1 <= wo:
        return np.ascontiguousarray(dy[:, r0:r1, c0:c1])
    region = np.zeros((n, r1 - r0, c1 - c0, c), dtype=dy.dtype)
    src_r, src_c = (max(r0, 0), min(r1, ho)), (max(c0, 0), min(c1, wo))
    if src_r[0] < src_r[1] and src_c[0] < src_c[1]:
        region[:, src_r[0] - r0 : src_r[1] - r0, src_c[0] - c0 : src_c[1] - c0] = (
            dy[:, src_r[0] : src_r[1], src_c[0] : src_c[1]]
        )
    return region


def _input_gradient(dy: np.ndarray, w: np.ndarray, s: Spec) -> np.ndarray:
    """``dx (n, H, W, C_in)`` as one stride-1 take-based correlation per stride phase (module docstring)."""
    n = dy.shape[0]
    cg, og = s.c_in // s.groups, s.c_out // s.groups
    # flipped kernel with channel axes swapped, per group: (KH, KW, C_out // G, C_in)
    swapped = w.reshape(s.kh, s.kw, cg, s.groups, og).transpose(0, 1, 4, 3, 2).reshape(s.kh, s.kw, og, s.c_in)
    dx = np.zeros((n, s.h, s.w, s.c_in), dtype=s.dtype)
    rows = list(_phases(s.kh, s.sh, s.dh, s.pads[0][0], s.h, s.ho))
    cols = list(_phases(s.kw, s.sw, s.dw, s.pads[1][0], s.w, s.wo))
    for r_first, r_taps, r_dil, r_span in rows:
        for c_first, c_taps, c_dil, c_span in cols:
            kernel = np.ascontiguousarray(swapped[np.ix_(r_taps, c_taps)])
            region = _dy_region(dy, r_span, c_span)
            out = (r_span[1] - r_span[0] - r_dil * (len(r_taps) - 1),
                   c_span[1] - c_span[0] - c_dil * (len(c_taps) - 1))
            dx[:, r_first :: s.sh, c_first :: s.sw] = correlate(region, kernel, s.groups, (1, 1),
                                                                 (r_dil, c_dil), out)
    return dx


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
        dx[start : start + step] = _input_gradient(dy_chunk, wc, s)
    dw = np.ascontiguousarray(dw.transpose(1, 0, 2)).reshape(s.kh, s.kw, cg, s.c_out)
    db = dy.sum(axis=(0, 1, 2))
    return Conv2dGrads(dx, dw, db)
