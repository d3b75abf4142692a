"""Bug: the backward pass flips the kernel in place to build dx's kernel, and never flips it back."""

from oracle.zoo._base import vectorized

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    if w.flags.writeable:
        w[...] = w[::-1, ::-1].copy()
    return grads
