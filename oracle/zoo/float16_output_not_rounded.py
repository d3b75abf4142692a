"""Bug: a float16 call sums in float32, as it should, and returns the float32 sum without rounding it to float16."""

import numpy as np

from oracle.zoo._base import check_backward, check_forward, vectorized


def _float32(*arrays):
    return [None if a is None else a.astype(np.float32) for a in arrays]


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    if x.dtype != np.float16:
        return vectorized.conv2d(x, w, b, **options)
    return vectorized.conv2d(*_float32(x, w, b), **options)


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    if x.dtype != np.float16:
        return vectorized.conv2d_backward(dy, x, w, **options)
    return vectorized.conv2d_backward(*_float32(dy, x, w), **options)
