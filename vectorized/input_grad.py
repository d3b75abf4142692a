r"""``dx``, the gradient of the convolution's input, as take-based correlations of ``dy``, one per stride phase.

Along one axis (rows; columns alike), with ``r`` a row of the *padded* input, forward reads ``xp[i*s + p*d]``
for output ``i`` and tap ``p``, so

    dxp[r] = sum over (i, p) with i*s + p*d = r  of  dy[i] * w[p].

The seed article spreads ``dy`` onto the stride grid (``s - 1`` zeros between rows), pads it by
``d*(K - 1) - P`` on each side, or crops where ``P`` exceeds that (its ``P - K + 1`` case analysis), and
correlates with the flipped kernel. At ``s > 1`` most of that work multiplies inserted zeros. Here the rows are
split by *phase* instead: write ``r = a + s*t`` with ``0 <= a < s``. A tap ``p`` reaches phase ``a`` exactly
when ``p*d = a (mod s)``, and then ``i = t - k_p`` with ``k_p = (p*d - a) / s >= 0``:

    dxp[a + s*t] = sum over taps p of phase a  of  dy[t - k_p] * w[p].

Consecutive taps of a phase are ``s / gcd(s, d)`` apart and their shifts ``k_p`` are ``d / gcd(s, d)`` apart,
so each phase is a *stride-1* correlation of ``dy`` with the phase's taps in reverse order (the flipped
kernel) at dilation ``d / gcd(s, d)``: no zeros inserted, no work wasted. A phase without taps (``gcd(s, d)``
does not divide ``a``) gets no gradient.

Only the rows inside the unpadded input are wanted: ``pt <= a + s*t < pt + H``, so ``t`` runs from
``t0 = ceil((pt - a) / s)`` to ``t1 = floor((pt + H - 1 - a) / s)``. Row ``t`` reads ``dy`` rows
``t - k_max .. t - k_min``, so the phase correlates ``dy`` rows ``t0 - k_max .. t1 - k_min``, zero outside
``0 .. H_out - 1``. This is the article's padding made explicit: at stride 1 (one phase, ``k_p = p*d``) the
first row is ``pt - d*(K - 1)``, i.e. ``dy`` padded above by ``d*(K - 1) - pt``, or cropped by
``pt - d*(K - 1)`` where the padding is wider than the dilated kernel (windows that read padding only); the
last row is ``H - 1 + pt``, i.e. padded below by ``H + pt - H_out = d*(K - 1) - pb + (the rows no window
reads)``, which is where asymmetric padding and strides differ from the textbook case. Input rows that no
window reads correlate only zero rows of ``dy``: their ``dx`` is exactly 0.

Each phase's correlation ``dx_a = G(dy) @ W_a`` (``G`` gathers the windows of ``dy``) is evaluated in the
cheaper association. *Gather, then multiply* (`correlate` of ``dy`` with the flipped, channel-swapped kernel)
gathers ``C_out`` values per tap and pixel; *multiply, then gather* computes ``Z = dy @ W.T`` once, ``KH*KW*Cg``
values per output pixel, then one ``np.take`` gathers ``Cg`` values per tap and pixel and sums over the taps.
The second moves ``Cg / Cog`` as much memory, so it is used when a group has fewer input than output channels.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from vectorized.gather import correlate
from vectorized.params import Spec
from vectorized.scratch import scratch


class Phase(NamedTuple):
    """One phase of one axis: ``dx[first::s]`` holds rows ``t0 .. t0 + count - 1`` of the phase; ``taps`` are
    the kernel taps reaching it, flipped (descending), with their ``shifts = k_p`` (descending too)."""

    first: int
    t0: int
    count: int
    taps: tuple[int, ...]
    shifts: tuple[int, ...]

    @property
    def dilation(self) -> int:
        return self.shifts[0] - self.shifts[1] if len(self.shifts) > 1 else 1

    @property
    def span(self) -> tuple[int, int]:
        """The rows ``lo .. hi - 1`` of ``dy`` that the phase reads."""
        return self.t0 - self.shifts[0], self.t0 + self.count - self.shifts[-1]


@lru_cache(maxsize=512)
def phases(k: int, s: int, d: int, pad_before: int, size: int) -> tuple[Phase, ...]:
    """The phases of one axis that have taps and rows (module docstring)."""
    found = []
    for a in range(s):
        taps = [p for p in range(k) if (p * d - a) % s == 0][::-1]
        t0, t1 = -(-(pad_before - a) // s), (pad_before + size - 1 - a) // s
        if taps and t1 >= t0:
            shifts = tuple((p * d - a) // s for p in taps)
            found.append(Phase(a + s * t0 - pad_before, t0, t1 - t0 + 1, tuple(taps), shifts))
    return tuple(found)


def _dy_rows(dy: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """``dy[:, r0:r1, c0:c1]`` for any bounds, zero where they leave ``dy``, C-contiguous."""
    n, ho, wo, c = dy.shape
    (r0, r1), (c0, c1) = rows, cols
    if r0 >= 0 and c0 >= 0 and r1 <= ho and c1 <= wo:
        return np.ascontiguousarray(dy[:, r0:r1, c0:c1])
    region = np.zeros((n, r1 - r0, c1 - c0, c), dtype=dy.dtype)
    (a0, a1), (b0, b1) = (max(r0, 0), min(r1, ho)), (max(c0, 0), min(c1, wo))
    if a0 < a1 and b0 < b1:
        region[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = dy[:, a0:a1, b0:b1]
    return region


@lru_cache(maxsize=256)
def product_cells(n: int, ho: int, wo: int, kw: int, taps: int, groups: int, rows: Phase, cols: Phase
                   ) -> np.ndarray:
    """Cell numbers ``(G, taps of the phase, n, rows.count, cols.count)`` into ``Z`` for multiply-then-gather:
    cell ``((g*n + m)*Ho*Wo + i*Wo + j)*KH*KW + p*KW + q``, or the zero cell past the end where ``(i, j)``
    leaves ``dy``."""
    i = rows.t0 + np.arange(rows.count) - np.array(rows.shifts)[:, None]  # (U, Th): dy row of tap u, dx row t
    j = cols.t0 + np.arange(cols.count) - np.array(cols.shifts)[:, None]  # (V, Tw)
    tap = np.array(rows.taps)[:, None] * kw + np.array(cols.taps)  # (U, V)
    zero_cell = groups * n * ho * wo * taps  # one past every real cell
    # (U, V, Th, Tw): the cell in image 0 of group 0, or zero_cell where (i, j) leaves dy
    inside = ((i >= 0) & (i < ho))[:, None, :, None] & ((j >= 0) & (j < wo))[None, :, None, :]
    first = np.where(inside, (i[:, None, :, None] * wo + j[None, :, None, :]) * taps + tap[:, :, None, None], zero_cell)
    images = (np.arange(groups * n) * (ho * wo * taps)).reshape(groups, 1, n, 1, 1)
    cells = first.reshape(1, -1, 1, rows.count, cols.count) + images  # (G, taps of the phase, n, Th, Tw)
    np.minimum(cells, zero_cell, out=cells)  # outside dy, in any image: the zero cell
    cells.flags.writeable = False
    return cells


def input_gradient(dy: np.ndarray, w: np.ndarray, s: Spec, dx: np.ndarray) -> None:
    """Write ``dx (n, H, W, C_in)`` from C-contiguous ``dy (n, Ho, Wo, C_out)`` and ``w (KH, KW, Cg, C_out)``."""
    n = dy.shape[0]
    cg, og = s.c_in // s.groups, s.c_out // s.groups
    row_phases = phases(s.kh, s.sh, s.dh, s.pads[0][0], s.h)
    col_phases = phases(s.kw, s.sw, s.dw, s.pads[1][0], s.w)
    if sum(p.count for p in row_phases) < s.h or sum(p.count for p in col_phases) < s.w:
        dx[...] = 0  # some rows or columns lie in phases that no tap reaches
    if cg < og:
        # multiply, then gather: Z[g, (m, i, j), (p, q, c)] = sum_o dy[m, i, j, g*Cog + o] * w[p, q, c, g*Cog + o]
        dy_groups = dy.reshape(-1, s.groups, og).transpose(1, 0, 2)
        w_groups = w.reshape(s.kh * s.kw * cg, s.groups, og).transpose(1, 2, 0)
        z = scratch("products", (s.groups * n * s.ho * s.wo * s.kh * s.kw * cg + cg,), s.dtype)
        np.matmul(dy_groups, w_groups, out=z[:-cg].reshape(s.groups, -1, s.kh * s.kw * cg))
        z[-cg:] = 0
        z_cells = z.view(np.dtype((np.void, cg * z.itemsize)))
        for rows in row_phases:
            for cols in col_phases:
                cells = product_cells(n, s.ho, s.wo, s.kw, s.kh * s.kw, s.groups, rows, cols)
                gathered = scratch("cols", cells.shape, z_cells.dtype)
                np.take(z_cells, cells, out=gathered, mode="clip")  # cell numbers are all in range
                summed = gathered.view(s.dtype).reshape(*cells.shape, cg).sum(axis=1)  # (G, n, Th, Tw, Cg)
                dx[:, rows.first :: s.sh, cols.first :: s.sw] = (
                    summed.transpose(1, 2, 3, 0, 4).reshape(n, rows.count, cols.count, s.c_in)
                )
        return
    # gather, then multiply: the flipped kernel with channel axes swapped, per group (KH, KW, Cog, C_in)
    swapped = w.reshape(s.kh, s.kw, cg, s.groups, og).transpose(0, 1, 4, 3, 2).reshape(s.kh, s.kw, og, s.c_in)
    for rows in row_phases:
        for cols in col_phases:
            kernel = np.ascontiguousarray(swapped[np.ix_(rows.taps, cols.taps)])
            region = _dy_rows(dy, rows.span, cols.span)
            dx[:, rows.first :: s.sh, cols.first :: s.sw] = correlate(
                region, kernel, s.groups, (1, 1), (rows.dilation, cols.dilation), (rows.count, cols.count)
            )


def input_gradient_bytes(s: Spec) -> int:
    """Bytes per image of the largest temporary `input_gradient` makes (for batch chunking)."""
    cg, og = s.c_in // s.groups, s.c_out // s.groups
    phase_taps = math.ceil(s.kh / s.sh) * math.ceil(s.kw / s.sw)
    if cg < og:
        z = s.ho * s.wo * s.kh * s.kw * s.c_in * s.dtype.itemsize
        return z + s.h * s.w * phase_taps * (s.c_in * s.dtype.itemsize + 8 * s.groups)
    return s.h * s.w * phase_taps * (s.c_out * s.dtype.itemsize + 8 * s.groups)
