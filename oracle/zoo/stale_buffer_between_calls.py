"""Bug: dx is built in a buffer recycled from the previous call's input of the same shape, and the rows and columns
that no window reads are never written: they hold that input's values (tinygrad's CPU backend did this). The first
call of a shape gets a fresh, zeroed buffer, and is right."""

import numpy as np

from oracle.zoo._base import geometry, vectorized

conv2d = vectorized.conv2d
_recycled: dict = {}


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    g = geometry(x, w, options)
    key = (x.shape, x.dtype.str)
    buffer = _recycled.get(key, np.zeros_like(x))
    read = np.outer(g.read(0), g.read(1))
    dx = np.where(read[None, :, :, None], grads.dx, buffer)
    _recycled[key] = x.copy()
    return vectorized.Conv2dGrads(dx.astype(x.dtype), grads.dw, grads.db)
