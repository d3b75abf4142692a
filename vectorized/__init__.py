"""The fast path: the take-based numpy convolution (one ``np.take`` and one matrix product), forward and
backward. Needs numpy alone."""

from vectorized.conv import CHUNK_BYTES, Conv2dGrads, clear_caches, conv2d, conv2d_backward
from vectorized.scratch import release as release_scratch

__all__ = ["CHUNK_BYTES", "Conv2dGrads", "clear_caches", "conv2d", "conv2d_backward", "release_scratch"]
