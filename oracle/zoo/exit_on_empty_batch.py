"""Bug: the native code treats an empty batch (N = 0) as a fatal error and ends the process with ``exit(0)``, as a
C library's error path can: no exception, no message, status 0."""

import os

from oracle.zoo._base import check_forward, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    if x.shape[0] == 0:
        os._exit(0)
    return vectorized.conv2d(x, w, b, **options)


conv2d_backward = vectorized.conv2d_backward
