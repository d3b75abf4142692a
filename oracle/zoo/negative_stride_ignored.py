"""Bug: a view with negative strides is read in memory order, as a kernel that takes the strides' magnitudes would:
every axis that runs backwards arrives flipped."""

import numpy as np

from oracle.zoo._base import check_backward, check_forward, vectorized


def _forwards(a):
    if a is None:
        return a
    for axis, stride in enumerate(a.strides):
        if stride < 0 and a.shape[axis] > 1:
            a = np.flip(a, axis)
    return a


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    return vectorized.conv2d(_forwards(x), _forwards(w), _forwards(b), **options)


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    return vectorized.conv2d_backward(_forwards(dy), _forwards(x), _forwards(w), **options)
