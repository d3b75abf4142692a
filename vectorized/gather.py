"""The take-based convolution core: gather every window with one ``np.take``, then one matrix product.

A padded input ``xp (n, Hp, Wp, C)`` is read as ``n*Hp*Wp*G`` *cells*, each the ``Cg = C // G`` contiguous
channels one group sees at one pixel (a numpy ``void`` of ``Cg*itemsize`` bytes). The cell of image ``m``,
pixel ``(r, s)``, group ``g`` has the flat number

    cell(m, r, s, g) = ((m*Hp + r)*Wp + s)*G + g

and the window of output ``(i, j)`` reads the cells ``(i*sh + p*dh, j*sw + q*dw)`` for ``p < KH``, ``q < KW``.
`window_cells` precomputes those numbers as ``(G, n, Ho*Wo, KH*KW)``; one ``np.take`` gathers the cells and a
float view unpacks them into columns ``(G, n*Ho*Wo, KH*KW*Cg)`` whose last axis runs over ``(p, q, c)``, the
order of ``w.reshape(KH*KW*Cg, C_out)``. The convolution is then a dense layer: ``cols @ w`` per group.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=512)
def window_cells(
    n: int, hp: int, wp: int, groups: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int
) -> np.ndarray:
    """Flat cell numbers ``(G, n, Ho*Wo, KH*KW)`` of every window tap (read-only, cached per geometry)."""
    origins = (np.arange(ho)[:, None] * (sh * wp) + np.arange(wo)[None, :] * sw).reshape(-1)
    taps = (np.arange(kh)[:, None] * (dh * wp) + np.arange(kw)[None, :] * dw).reshape(-1)
    images = np.arange(n) * (hp * wp)
    pixels = images[:, None, None] + origins[None, :, None] + taps[None, None, :]
    cells = pixels[None] * groups + np.arange(groups)[:, None, None, None]
    cells.flags.writeable = False
    return cells


def columns(xp: np.ndarray, groups: int, kernel: tuple[int, int], stride: tuple[int, int],
            dilation: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """Every window of the C-contiguous padded input ``xp (n, Hp, Wp, C)``: ``(G, n*Ho*Wo, KH*KW*Cg)``."""
    n, hp, wp, c = xp.shape
    cg = c // groups
    cells = window_cells(n, hp, wp, groups, *kernel, *stride, *dilation, *out)
    as_cells = xp.reshape(-1).view(np.dtype((np.void, cg * xp.itemsize)))
    gathered = np.take(as_cells, cells)  # (G, n, Ho*Wo, KH*KW) cells of Cg values each
    return gathered.view(xp.dtype).reshape(groups, n * out[0] * out[1], kernel[0] * kernel[1] * cg)


def correlate(xp: np.ndarray, w: np.ndarray, groups: int, stride: tuple[int, int], dilation: tuple[int, int],
              out: tuple[int, int]) -> np.ndarray:
    """Unpadded cross-correlation of ``xp (n, Hp, Wp, C)`` with HWIO ``w (KH, KW, C // G, C_out)``.

    Returns ``y (n, Ho, Wo, C_out)``, a new C-contiguous array, for the given output size ``out = (Ho, Wo)``.
    """
    kh, kw, cg, c_out = w.shape
    n = xp.shape[0]
    cols = columns(xp, groups, (kh, kw), stride, dilation, out)
    if groups == 1:
        return (cols[0] @ w.reshape(kh * kw * cg, c_out)).reshape(n, *out, c_out)
    w_groups = w.reshape(kh * kw * cg, groups, c_out // groups).transpose(1, 0, 2)
    y = np.matmul(cols, w_groups)  # (G, n*Ho*Wo, C_out // G)
    return np.ascontiguousarray(y.transpose(1, 0, 2)).reshape(n, *out, c_out)
