"""Helpers the bundled targets' library calls share: numpy and the standard library alone, no other part of
conv-oracle, so that an upstream reproducer (`oracle.check.upstream`) copies them beside the call.

Each resolves one of the contract's options into the plain numbers a library takes; each repeats in a few lines
what `oracle.geometry` says at length (the oracle's own geometry is not copied into reproducers).
"""

from __future__ import annotations

import math

import numpy as np


def pair(value):
    """An int or a pair as a pair of ints."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def pads_of(padding, size, kernel, stride, dilation):
    """The contract's ``padding`` (an int, a pair, ``((pt, pb), (pl, pr))``, ``'valid'`` or ``'same'``) as
    ``((pt, pb), (pl, pr))`` for an input of ``size`` rows and columns; ``'same'`` is SAME_UPPER: ``H_out =
    ceil(H / s)``, the odd pixel of padding at the bottom and right."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        sides = []
        for n, k, s, d in zip(size, kernel, pair(stride), pair(dilation)):
            total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
            sides.append((total // 2, total - total // 2))
        return tuple(sides)
    if np.ndim(padding) == 0:
        return (int(padding), int(padding)), (int(padding), int(padding))
    if np.ndim(padding) == 1:
        return (int(padding[0]),) * 2, (int(padding[1]),) * 2
    return (int(padding[0][0]), int(padding[0][1])), (int(padding[1][0]), int(padding[1][1]))


def transposed_crops(padding, output_padding, size, kernel, stride, dilation):
    """The contract's transposed ``padding`` and ``output_padding`` as ``(((pt, pb), (pl, pr)), (oph, opw))``: the
    rows cropped off ``full = (H - 1)*s + d*(K - 1) + 1`` and the rows added at the end. ``'same'`` gives ``H*s``
    rows (TensorFlow's ``conv2d_transpose``): ``max(full - H*s, 0)`` cropped, the odd row at the bottom, and the
    rows a kernel shorter than the stride leaves missing added as output padding."""
    if padding != "same":
        return pads_of(padding, size, kernel, stride, dilation), pair(output_padding)
    crops, extra = [], []
    for n, k, s, d in zip(size, kernel, pair(stride), pair(dilation)):
        total = (n - 1) * s + d * (k - 1) + 1 - n * s
        crop = max(total, 0)
        crops.append((crop // 2, crop - crop // 2))
        extra.append(max(-total, 0))
    return tuple(crops), tuple(extra)


def storage_array(a, dtype):
    """Float values as an array of storage ``dtype`` for a library that takes numpy arrays: bfloat16 through
    ``ml_dtypes`` (the bfloat16 of numpy-based libraries such as ONNX and JAX), the others as numpy's own."""
    if a is None:
        return None
    if dtype == "bfloat16":
        import ml_dtypes

        return np.asarray(a, dtype=np.float32).astype(ml_dtypes.bfloat16)
    return np.asarray(a).astype(dtype, copy=False)


FUNCTIONS = (pair, pads_of, transposed_crops, storage_array)
"""Every helper, in an order an upstream reproducer can define them in."""
