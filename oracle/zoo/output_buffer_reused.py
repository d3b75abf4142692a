"""Bug: the forward result is written into a module-level buffer reused by every call of the same shape."""

import numpy as np

from oracle.zoo._base import vectorized

_buffers: dict = {}


def conv2d(x, w, b=None, **options):
    y = vectorized.conv2d(x, w, b, **options)
    out = _buffers.setdefault((y.shape, y.dtype), np.empty_like(y))
    out[...] = y
    return out


conv2d_backward = vectorized.conv2d_backward
