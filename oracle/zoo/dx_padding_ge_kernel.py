"""Bug: where the padding is as wide as the dilated kernel or wider, dx crops dy one row / column short
(the article's ``P - K + 1 > 0`` branch off by one)."""

from oracle.zoo._base import geometry, vectorized, with_options

conv2d = vectorized.conv2d


def conv2d_backward(dy, x, w, **options):
    grads = vectorized.conv2d_backward(dy, x, w, **options)
    g = geometry(x, w, options)
    (pt, pb), (pl, pr) = g.pads
    if pt < g.span[0] and pl < g.span[1]:
        return grads
    shift_r, shift_c = int(pt >= g.span[0]), int(pl >= g.span[1])
    shifted = with_options(options, padding=((pt - shift_r, pb + shift_r), (pl - shift_c, pr + shift_c)))
    dx = vectorized.conv2d_backward(dy, x, w, **shifted).dx
    return vectorized.Conv2dGrads(dx, grads.dw, grads.db)
