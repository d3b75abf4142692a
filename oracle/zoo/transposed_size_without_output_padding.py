"""Bug: the kernel's loop bound uses the output size without ``output_padding``, ``(H - 1)*sh - pt - pb +
dh*(KH - 1) + 1``: the output has the right shape, but its last ``oph`` rows and ``opw`` columns are never
written (zeros, plus the bias), even where the padding they uncrop holds values."""

import numpy as np

from oracle.zoo._base import (
    conv2d,
    conv2d_backward,
    conv_transpose2d_backward,
    crop,
    full_transposed,
    transposed_geometry,
)

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, **options):
    g = transposed_geometry(x, w, options)
    (pt, _), (pl, _) = g.pads
    (oph, opw), (h_out, w_out) = g.output_padding, g.out
    rows, cols = max(h_out - oph, 0), max(w_out - opw, 0)
    written = crop(full_transposed(x, w, options), (pt, pt + rows), (pl, pl + cols), None)
    y = np.zeros((x.shape[0], h_out, w_out, written.shape[3]), dtype=x.dtype)
    y[:, :rows, :cols] = written
    return y if b is None else y + b
