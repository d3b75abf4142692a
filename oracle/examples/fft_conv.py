"""A contributed variant: 2-D convolution by FFT (numpy.fft), forward only.

Each (image, output channel) is the sum over the group's input channels of a full 2-D correlation computed as
``irfft2(rfft2(x_padded) * conj(rfft2(w_dilated)))`` on a grid large enough that nothing wraps around, read at
the strided output positions. Its rounding errors are bounded normwise (by the norms of whole images and
filters), not element by element, and a NaN anywhere spreads through the whole transform: it declares both,
so the oracle judges it by the normwise bound and skips the exact-NaN property.

Check it: ``conv-oracle check oracle.examples.fft_conv``.
"""

from __future__ import annotations

import numpy as np

from vectorized.params import spec

conv_oracle_support = {"backward": False, "nan": False, "error": "normwise"}


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, H_out, W_out, C_out)`` for NHWC ``x`` and HWIO ``w``, by FFT; see CONTRACT.md for the contract."""
    # the contract's argument checking, borrowed from vectorized: this variant replaces only the arithmetic
    s = spec(x, w, b, stride, padding, dilation, groups)
    stride, dilation, (pt, pb), (pl, pr) = (s.sh, s.sw), (s.dh, s.dw), *s.pads
    n, kh, kw, cg, c_out = s.n, s.kh, s.kw, s.c_in // groups, s.c_out
    work = np.float64 if x.dtype == np.float64 else np.float32  # half formats are transformed in float32
    xp = np.pad(x.astype(work), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    wd_full = np.zeros((*span, cg, c_out), dtype=work)
    wd_full[:: dilation[0], :: dilation[1]] = w
    hp, wp = xp.shape[1:3]
    ho, wo = (hp - span[0]) // stride[0] + 1, (wp - span[1]) // stride[1] + 1
    grid = (hp, wp)  # correlation outputs 0 .. hp - span read no wrapped values on an hp x wp grid
    fx = np.fft.rfft2(xp, s=grid, axes=(1, 2))  # (N, hp, wp//2+1, C_in)
    fw = np.conj(np.fft.rfft2(wd_full, s=grid, axes=(0, 1)))  # (hp, wp//2+1, Cg, C_out)
    o_group = c_out // groups
    y = np.empty((n, ho, wo, c_out), dtype=work)
    for g in range(groups):
        fxg = fx[..., g * cg : (g + 1) * cg]
        fwg = fw[..., g * o_group : (g + 1) * o_group]
        prod = np.einsum("nhwc,hwco->nhwo", fxg, fwg)
        full = np.fft.irfft2(prod, s=grid, axes=(1, 2))
        y[..., g * o_group : (g + 1) * o_group] = full[:, : ho * stride[0] : stride[0], : wo * stride[1] : stride[1]]
    if b is not None:
        y += b.astype(work)
    with np.errstate(over="ignore"):  # past the format's range is inf, as rounding says
        return y.astype(x.dtype)  # rounded once, the bias included
