"""A forward pass built on ``scipy.signal.correlate``: each output channel of each image is the sum over its group's
input channels of a 'valid' 2-D correlation of the padded image with the filter, read at the strided positions.
Forward only, and no dilation: scipy has none, and a filter dilated by inserting zeros would multiply the pixels
between its taps by 0, so a NaN or inf there would spread where the contract says it must not.
``method='direct'`` keeps the error element by element (scipy's FFT method would be normwise, see
`oracle.examples.fft_conv`). Needs scipy.

Check it: ``conv-oracle check oracle.examples.scipy_conv``.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from vectorized.params import spec

conv_oracle_support = {"backward": False, "dilation": False, "dtypes": ("float32", "float64")}


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """``y (N, H_out, W_out, C_out)`` for NHWC ``x`` and HWIO ``w``; see CONTRACT.md for the contract."""
    # the contract's argument checking, borrowed from vectorized: this variant replaces only the arithmetic
    s = spec(x, w, b, stride, padding, dilation, groups)
    (pt, pb), (pl, pr) = s.pads
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    cg, og = s.c_in // groups, s.c_out // groups
    y = np.zeros((s.n, s.ho, s.wo, s.c_out), dtype=x.dtype)
    for n in range(s.n):
        for o in range(s.c_out):
            g = o // og
            full = sum(signal.correlate(xp[n, :, :, g * cg + c], w[:, :, c, o], mode="valid", method="direct")
                       for c in range(cg))
            y[n, :, :, o] = full[: s.ho * s.sh : s.sh, : s.wo * s.sw : s.sw]
    if b is not None:
        y += b
    return y
