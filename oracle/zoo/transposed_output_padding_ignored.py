"""Bug: the transposed convolution ignores ``output_padding``: the output is ``oph`` rows and ``opw`` columns
short (the rows PyTorch's shape inference added in pytorch#98129 are what every consumer then disagrees on)."""

from oracle.zoo._base import conv2d, conv2d_backward, conv_transpose2d_backward, transposed_geometry, vectorized

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, **options):
    g = transposed_geometry(x, w, options)
    if options.get("padding") == "same":
        return vectorized.conv_transpose2d(x, w, b, **options)
    return vectorized.conv_transpose2d(x, w, b, **{**options, "output_padding": 0, "padding": g.pads})
