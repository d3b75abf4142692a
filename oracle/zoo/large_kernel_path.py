"""Bug: kernels of 5 and more take a separate path (as im2col libraries switch to FFT or a direct loop there), and
that path convolves: it flips the kernel, where every other path correlates."""

from oracle.zoo._base import check_forward, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    if max(w.shape[:2]) >= 5:
        w = w[::-1, ::-1]
    return vectorized.conv2d(x, w, b, **options)


conv2d_backward = vectorized.conv2d_backward
