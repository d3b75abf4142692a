"""Bug: an input that is neither C- nor Fortran-contiguous is read as raw memory in C order (as a kernel handed the
data pointer would), so a channels-last view of an NCHW buffer arrives scrambled (pytorch#82060, pytorch#99519)."""

import numpy as np

from oracle.zoo._base import check_backward, check_forward, vectorized


def _raw(a):
    if a is None or a.ndim < 2 or a.flags.c_contiguous or a.flags.f_contiguous or min(a.strides) < 0:
        return a
    return np.ravel(a, order="K").reshape(a.shape)  # memory order taken for C order


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    return vectorized.conv2d(_raw(x), _raw(w), b, **options)


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    return vectorized.conv2d_backward(_raw(dy), _raw(x), _raw(w), **options)
