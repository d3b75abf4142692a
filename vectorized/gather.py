"""The take-based convolution core: gather every window with one ``np.take``, then one matrix product.

A window of output ``(i, j)`` reads the padded input ``xp (n, Hp, Wp, C)`` at the pixels
``(i*sh + p*dh, j*sw + q*dw)``, ``p < KH``, ``q < KW``, and, in group ``g``, the ``Cg = C // G`` channels
``g*Cg .. g*Cg + Cg - 1``. ``np.take`` gathers *cells*, the longest runs of memory that every window reads
whole (a numpy ``void`` per run):

- with ``groups == 1`` and ``dw == 1``, a row of a window, ``KW*C`` values from pixel ``(r, s)`` on, is
  contiguous: a cell per pixel, overlapping its neighbours, numbered ``(m*Hp + r)*Wp + s``; a window is
  ``KH`` cells. ``np.take`` copies such an overlapping view whole first, so this pays only where a pixel is
  short (`ROW_CELL_BYTES`): with ``C = 3`` it gathers a third as many cells, each three times as long;
- otherwise a cell is the ``Cg`` channels of one group at one pixel, numbered ``((m*Hp + r)*Wp + s)*G + g``;
  a window is ``KH*KW`` cells.

`window_cells` precomputes the cell numbers of every window as ``(G, n, Ho*Wo, cells per window)``; one
``np.take`` gathers them and a float view unpacks the result into columns ``(G, n*Ho*Wo, KH*KW*Cg)`` whose
last axis runs over ``(p, q, c)``, the order of ``w.reshape(KH*KW*Cg, C_out)``. The convolution is then a
dense layer: ``cols @ w``, one matrix product per group.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vectorized.scratch import scratch

ROW_CELL_BYTES = 64
"""Pixels shorter than this gather as whole window rows (where ``groups == 1`` and ``dw == 1``)."""


def _row_cells(groups: int, dw: int, pixel_bytes: int) -> bool:
    """Whether a cell is a whole window row (``KW*C`` values) rather than one pixel's group channels."""
    return groups == 1 and dw == 1 and pixel_bytes < ROW_CELL_BYTES


@lru_cache(maxsize=512)
def window_cells(
    n: int, hp: int, wp: int, groups: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int,
    rows: bool,
) -> np.ndarray:
    """Cell numbers ``(G, n, Ho*Wo, KH if rows else KH*KW)`` of every window (read-only, cached per geometry)."""
    origins = (np.arange(ho)[:, None] * (sh * wp) + np.arange(wo)[None, :] * sw).reshape(-1)
    if rows:
        taps = np.arange(kh) * (dh * wp)
    else:
        taps = (np.arange(kh)[:, None] * (dh * wp) + np.arange(kw)[None, :] * dw).reshape(-1)
    pixels = (np.arange(n) * (hp * wp))[:, None, None] + origins[None, :, None] + taps[None, None, :]
    cells = pixels[None] * groups + np.arange(groups)[:, None, None, None]
    cells.flags.writeable = False
    return cells


def _as_cells(xp: np.ndarray, groups: int, kw: int, rows: bool) -> np.ndarray:
    """A read-only 1-D view of the C-contiguous ``xp`` whose elements are its cells (see module docstring)."""
    c = xp.shape[3]
    if rows:
        run = kw * c * xp.itemsize
        count = (xp.size - kw * c) // c + 1
        cells = np.ndarray((count,), dtype=np.dtype((np.void, run)), buffer=xp, strides=(c * xp.itemsize,))
    else:
        cells = xp.reshape(-1).view(np.dtype((np.void, c // groups * xp.itemsize)))
    cells.flags.writeable = False
    return cells


def columns(xp: np.ndarray, groups: int, kernel: tuple[int, int], stride: tuple[int, int],
            dilation: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """Every window of the C-contiguous padded input ``xp (n, Hp, Wp, C)``: ``(G, n*Ho*Wo, KH*KW*Cg)``.

    The columns live in the ``"cols"`` scratch buffer: valid until the next call.
    """
    n, hp, wp, c = xp.shape
    rows = _row_cells(groups, dilation[1], c * xp.itemsize)
    cells = window_cells(n, hp, wp, groups, *kernel, *stride, *dilation, *out, rows)
    source = _as_cells(xp, groups, kernel[1], rows)
    gathered = scratch("cols", cells.shape, source.dtype)
    np.take(source, cells, out=gathered, mode="clip")  # every cell number is in range: "clip" never clips
    return gathered.view(xp.dtype).reshape(groups, n * out[0] * out[1], kernel[0] * kernel[1] * (c // groups))


def correlate(xp: np.ndarray, w: np.ndarray, groups: int, stride: tuple[int, int], dilation: tuple[int, int],
              out: tuple[int, int], y: np.ndarray | None = None) -> np.ndarray:
    """Unpadded cross-correlation of ``xp (n, Hp, Wp, C)`` with HWIO ``w (KH, KW, C // G, C_out)``.

    Writes ``y (n, Ho, Wo, C_out)`` for the output size ``out = (Ho, Wo)`` into the C-contiguous ``y`` when
    given, else into a new array; returns it.
    """
    kh, kw, cg, c_out = w.shape
    n = xp.shape[0]
    if y is None:
        y = np.empty((n, *out, c_out), dtype=xp.dtype)
    cols = columns(xp, groups, (kh, kw), stride, dilation, out)
    if groups == 1:
        np.matmul(cols[0], w.reshape(kh * kw * cg, c_out), out=y.reshape(-1, c_out))
        return y
    w_groups = w.reshape(kh * kw * cg, groups, c_out // groups).transpose(1, 0, 2)
    products = scratch("products", (groups, cols.shape[1], c_out // groups), xp.dtype)
    np.matmul(cols, w_groups, out=products)
    y.reshape(-1, groups, c_out // groups)[...] = products.transpose(1, 0, 2)
    return y
