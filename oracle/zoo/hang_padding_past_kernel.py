"""Bug: the loop over padded rows steps by ``kernel - padding`` rows, which is 0 or less when the padding on top
exceeds the kernel's height: it never ends (the call hangs)."""

import time

from oracle.zoo._base import check_forward, geometry, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    g = geometry(x, w, options)
    if g.pads[0][0] > g.kernel[0]:
        while True:  # the step is never positive
            time.sleep(0.05)
    return vectorized.conv2d(x, w, b, **options)


conv2d_backward = vectorized.conv2d_backward
