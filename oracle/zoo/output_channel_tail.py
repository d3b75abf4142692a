"""Bug: output channels computed in blocks of 8, and a ragged last block (C_out > 8, not a multiple of 8) is never
stored: those channels keep the zeros the result was allocated with."""

from oracle.zoo._base import vectorized


def conv2d(x, w, b=None, **options):
    y = vectorized.conv2d(x, w, b, **options)
    c_out = y.shape[3]
    if c_out > 8 and c_out % 8:
        y[..., c_out - c_out % 8 :] = 0
    return y


conv2d_backward = vectorized.conv2d_backward
