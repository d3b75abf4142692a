"""Bug: the transposed convolution scatters output channels in blocks of 8, and the tail after the last full block is
dropped when it holds 1 to 3 channels (C_out = 9, 10, 11, 17, ...): those outputs are left at the bias."""

from oracle.zoo._base import conv_transpose2d_backward, vectorized  # noqa: F401

conv2d = vectorized.conv2d
conv2d_backward = vectorized.conv2d_backward


def conv_transpose2d(x, w, b=None, **options):
    y = vectorized.conv_transpose2d(x, w, b, **options)
    c_out = y.shape[3]
    tail = c_out % 8
    if c_out > 8 and 1 <= tail <= 3:
        y[..., c_out - tail :] = 0 if b is None else b[c_out - tail :]
    return y
