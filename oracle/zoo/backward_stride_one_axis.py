"""Bug: the backward pass uses the row stride for both axes when it spreads dy for dx."""

import numpy as np

from oracle.zoo._base import geometry, vectorized, with_options

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    g = geometry(x, w, options)
    sh, sw = g.stride
    if sh == sw:
        return grads
    # dx from a convolution whose column stride is the row stride, cropped or zero-padded to x's width
    h_pad = with_options(options, stride=(sh, sh), padding=g.pads)
    wide = (g.out[1] - 1) * sh + g.span[1] - sum(g.pads[1])
    if wide < 1:
        return grads
    x_like = np.zeros((x.shape[0], x.shape[1], wide, x.shape[3]), dtype=x.dtype)
    dx_wide = vectorized.conv2d_backward(dy, x_like, w, **h_pad).dx
    dx = np.zeros_like(x)
    cols = min(wide, x.shape[2])
    dx[:, :, :cols] = dx_wide[:, :, :cols]
    return vectorized.Conv2dGrads(dx, grads.dw, grads.db)
