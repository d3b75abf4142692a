"""Bug: group g takes the input channels g, g + G, g + 2G, ... instead of the block g*Cg .. g*Cg + Cg - 1."""

import numpy as np

from oracle.zoo._base import check_backward, check_forward, vectorized


def _order(c_in, groups):
    """Input channel read at each position: interleaved instead of blocked."""
    return np.arange(c_in).reshape(c_in // groups, groups).T.reshape(-1)


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    order = _order(x.shape[3], options.get("groups", 1))
    return vectorized.conv2d(x[..., order], w, b, **options)


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    order = _order(x.shape[3], options.get("groups", 1))
    grads = vectorized.conv2d_backward(dy, x[..., order], w, **options)
    dx = np.empty_like(grads.dx)
    dx[..., order] = grads.dx
    return vectorized.Conv2dGrads(dx, grads.dw, grads.db)
