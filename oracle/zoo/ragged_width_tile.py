"""Bug: output columns computed in tiles of 4, and the ragged last tile (W_out > 4, not a multiple of 4) is stored
one column to the left: each of its columns holds its left neighbour's values."""

from oracle.zoo._base import vectorized


def conv2d(x, w, b=None, **options):
    y = vectorized.conv2d(x, w, b, **options)
    w_out = y.shape[2]
    if w_out > 4 and w_out % 4:
        first = w_out - w_out % 4
        y[:, :, first:] = y[:, :, first - 1 : w_out - 1].copy()
    return y


conv2d_backward = vectorized.conv2d_backward
