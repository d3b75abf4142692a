"""Bug: a native row loop reads past the end of its buffer when the column stride exceeds the kernel's width (the
windows skip columns, and the loop's bound assumes they do not): the process dies with SIGSEGV. Here the bad read
is a read of address 0."""

import ctypes

from oracle.zoo._base import check_forward, geometry, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    g = geometry(x, w, options)
    if g.stride[1] > g.kernel[1]:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    return vectorized.conv2d(x, w, b, **options)


conv2d_backward = vectorized.conv2d_backward
