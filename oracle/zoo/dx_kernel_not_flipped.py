"""Bug: dx correlates dy with the kernel as it is, not flipped (the forward's correlation reused as is)."""

from oracle.zoo._base import vectorized

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    unflipped = vectorized.conv2d_backward(dy, x, w[::-1, ::-1], **options)  # flips it back: never flipped
    return vectorized.Conv2dGrads(unflipped.dx, grads.dw, grads.db)
