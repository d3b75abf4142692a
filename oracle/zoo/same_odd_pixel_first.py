"""Bug: 'same' padding puts the odd pixel at the top / left (SAME_LOWER) instead of the bottom / right."""

from oracle.geometry import same_lower_pads
from oracle.zoo._base import geometry, vectorized, with_options


def _lower(x, w, options):
    if options.get("padding") != "same":
        return options
    g = geometry(x, w, options)
    pads = tuple(same_lower_pads(*axis) for axis in zip(g.size, g.kernel, g.stride, g.dilation))
    return with_options(options, padding=pads)


def conv2d(x, w, b=None, **options):
    return vectorized.conv2d(x, w, b, **_lower(x, w, options))


def conv2d_backward(dy, x, w, **options):
    return vectorized.conv2d_backward(dy, x, w, **_lower(x, w, options))
