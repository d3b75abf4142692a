"""Bug: ``padding`` pads the input, as a convolution's does, instead of cropping the output: the output is longer
by ``(sh + 1)*(pt + pb)`` rows instead of shorter by ``pt + pb`` (the lowering of coreai-torch#57, which padded
the input for ``output_padding``, gives an over-long output the same way)."""

import numpy as np

from oracle.zoo._base import conv2d, conv2d_backward, conv_transpose2d_backward, transposed_geometry, vectorized

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, **options):
    g = transposed_geometry(x, w, options)
    padded = np.pad(x, ((0, 0), *g.pads, (0, 0)))
    return vectorized.conv_transpose2d(padded, w, b, **{**options, "padding": 0, "output_padding": g.output_padding})
