"""Bug: a float32 kernel rounds its input to TF32 (10 mantissa bits) before multiplying, as tensor cores do, but
not its weights, and declares plain float32."""

import numpy as np

from oracle.reference.precision import FORMATS
from oracle.zoo._base import check_forward, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    if x.dtype != np.float32:
        return vectorized.conv2d(x, w, b, **options)
    return vectorized.conv2d(FORMATS["tf32"].round(x).astype(np.float32), w, b, **options)


conv2d_backward = vectorized.conv2d_backward
