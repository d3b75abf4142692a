"""Bug: the native backward pass of a grouped convolution checks an invariant that does not hold when the output
channels per group are odd, and aborts the process (SIGABRT, as a failed C ``assert`` or a corrupted heap does)."""

import os

from oracle.zoo._base import check_backward, vectorized

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    groups = options.get("groups", 1)
    if groups > 1 and (w.shape[3] // groups) % 2 == 1:
        os.abort()
    return vectorized.conv2d_backward(dy, x, w, **options)
