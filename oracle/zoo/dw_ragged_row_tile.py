"""Bug: dw accumulated over output rows in tiles of 8, and the ragged last tile (H_out > 8, not a multiple of 8) is
left out of the sum."""

from oracle.zoo._base import check_backward, vectorized

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    h_out = dy.shape[1]
    if h_out > 8 and h_out % 8:
        kept = dy.copy()
        kept[:, h_out - h_out % 8 :] = 0
        return vectorized.Conv2dGrads(grads.dx, vectorized.conv2d_backward(kept, x, w, **options).dw, grads.db)
    return grads
