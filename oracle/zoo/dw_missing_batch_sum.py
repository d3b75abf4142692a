"""Bug: dw is taken from the last image of the batch only (the sum over the batch forgotten)."""

from oracle.zoo._base import vectorized

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    if x.shape[0] < 2:
        return grads
    last = vectorized.conv2d_backward(dy[-1:], x[-1:], w, **options)
    return vectorized.Conv2dGrads(grads.dx, last.dw, grads.db)
