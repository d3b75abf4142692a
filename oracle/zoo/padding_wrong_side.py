"""Bug: asymmetric padding applied on the wrong sides (top/bottom and left/right swapped)."""

from oracle.zoo._base import geometry, vectorized, with_options


def _swap(x, w, options):
    (pt, pb), (pl, pr) = geometry(x, w, options).pads
    return with_options(options, padding=((pb, pt), (pr, pl)))


def conv2d(x, w, b=None, **options):
    return vectorized.conv2d(x, w, b, **_swap(x, w, options))


def conv2d_backward(dy, x, w, **options):
    return vectorized.conv2d_backward(dy, x, w, **_swap(x, w, options))
