"""Bug: batch chunking drops the last chunk (``range(0, N - step, step)``); chunks of one image here, so any
N > 1 loses its last image."""

import numpy as np

from oracle.zoo._base import vectorized

STEP = 1


def conv2d(x, w, b=None, **options):
    y = vectorized.conv2d(x, w, b, **options)
    out = np.zeros_like(y)
    for start in range(0, max(x.shape[0] - STEP, 1), STEP):
        out[start : start + STEP] = y[start : start + STEP]
    return out


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    dx = np.zeros_like(grads.dx)
    for start in range(0, max(x.shape[0] - STEP, 1), STEP):
        dx[start : start + STEP] = grads.dx[start : start + STEP]
    return vectorized.Conv2dGrads(dx, grads.dw, grads.db)
