"""Bug: a float64 call computes in float32 inside (a hard-coded float32 buffer), then returns float64."""

import numpy as np

from oracle.zoo._base import check_backward, check_forward, vectorized


def _f32(*arrays):
    return [None if a is None else a.astype(np.float32) for a in arrays]


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    return vectorized.conv2d(*_f32(x, w, b), **options).astype(x.dtype)


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    grads = vectorized.conv2d_backward(*_f32(dy, x, w), **options)
    return vectorized.Conv2dGrads(*(g.astype(x.dtype) for g in grads))
