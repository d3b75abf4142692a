"""Bug: the transposed convolution computed as a correlation of the zero-inserted input with the kernel as it
is, not flipped: each input pixel lands on its window mirrored."""

from oracle.zoo._base import conv2d, conv2d_backward, conv_transpose2d_backward, transposed_geometry, vectorized

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, **options):
    transposed_geometry(x, w, options)
    return vectorized.conv_transpose2d(x, w[::-1, ::-1], b, **options)
