"""Bug: ``'same'`` in the transposed convolution crops its odd row at the top and its odd column at the left
(the pads of SAME_LOWER) instead of at the bottom and right, as TensorFlow does."""

from oracle.geometry import same_lower_pads
from oracle.zoo._base import conv2d, conv2d_backward, conv_transpose2d_backward, transposed_geometry, vectorized

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, **options):
    g = transposed_geometry(x, w, options)
    if options.get("padding") != "same":
        return vectorized.conv_transpose2d(x, w, b, **options)
    pads = tuple(same_lower_pads(n * s, k, s, d) for n, k, s, d in zip(g.size, g.kernel, g.stride, g.dilation))
    ops = tuple(n * s - (f - sum(p)) for n, s, f, p in zip(g.size, g.stride, g.full, pads))
    return vectorized.conv_transpose2d(x, w, b, **{**options, "padding": pads, "output_padding": ops})
