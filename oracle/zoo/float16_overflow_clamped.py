"""Bug: float16 results past the format's range are clamped to +-65504 (a saturating store), where rounding gives
inf."""

import numpy as np

from oracle.zoo._base import check_backward, check_forward, vectorized

LARGEST = float(np.finfo(np.float16).max)


def _saturated(exact, rounded):
    if rounded.dtype != np.float16:
        return rounded
    over = np.isinf(rounded) & np.isfinite(exact)
    return np.where(over, np.sign(exact) * LARGEST, rounded).astype(np.float16)


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    if x.dtype != np.float16:
        return vectorized.conv2d(x, w, b, **options)
    wide = [None if a is None else a.astype(np.float32) for a in (x, w, b)]
    exact = vectorized.conv2d(*wide, **options)
    with np.errstate(over="ignore"):
        return _saturated(exact, exact.astype(np.float16))


def conv2d_backward(dy, x, w, **options):
    check_backward(dy, x, w, options)
    if x.dtype != np.float16:
        return vectorized.conv2d_backward(dy, x, w, **options)
    wide = vectorized.conv2d_backward(*(a.astype(np.float32) for a in (dy, x, w)), **options)
    with np.errstate(over="ignore"):
        return vectorized.Conv2dGrads(*(_saturated(g, g.astype(np.float16)) for g in wide))
