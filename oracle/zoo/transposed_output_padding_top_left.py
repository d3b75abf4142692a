"""Bug: ``output_padding`` adds its rows at the top and its columns at the left instead of the bottom and right:
the whole output is shifted down and right by it."""

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
    return crop(full_transposed(x, w, options), (pt - oph, pt - oph + h_out), (pl - opw, pl - opw + w_out), b)
