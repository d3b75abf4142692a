"""The fast path: the take-based numpy convolution (one ``np.take`` and one matrix product), forward and
backward, and the transposed convolution by the stride phases of its input gradient. Needs numpy alone."""

from vectorized.conv import CHUNK_BYTES, Conv2dGrads, clear_caches, conv2d, conv2d_backward
from vectorized.scratch import release as release_scratch
from vectorized.transpose import conv_transpose2d, conv_transpose2d_backward

__all__ = ["CHUNK_BYTES", "Conv2dGrads", "clear_caches", "conv2d", "conv2d_backward", "conv_transpose2d",
           "conv_transpose2d_backward", "release_scratch"]
