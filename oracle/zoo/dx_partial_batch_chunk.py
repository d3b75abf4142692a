"""Bug: dx computed in chunks of 4 images, and a partial last chunk (N > 4, not a multiple of 4) is never written:
those images' dx keep the zeros it was allocated with."""

from oracle.zoo._base import vectorized

conv2d = vectorized.conv2d
CHUNK = 4


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    n = x.shape[0]
    if n > CHUNK and n % CHUNK:
        grads.dx[n - n % CHUNK :] = 0
    return grads
