"""Bug: the kernel is read with its two spatial axes swapped (w indexed [q, p] where the gather runs [p, q])."""

from oracle.zoo._base import check_backward, check_forward, vectorized


def _scrambled(w):
    return w.transpose(1, 0, 2, 3).reshape(w.shape)


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    return vectorized.conv2d(x, _scrambled(w), b, **options)


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    grads = vectorized.conv2d_backward(dy, x, _scrambled(w), **options)
    kh, kw = w.shape[:2]
    dw = grads.dw.reshape(kw, kh, *w.shape[2:]).transpose(1, 0, 2, 3)
    return vectorized.Conv2dGrads(grads.dx, dw, grads.db)
