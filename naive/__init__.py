"""The reference: 2-D convolution and transposed convolution, forward and backward, as plain loops over the
formula (numpy only)."""

from naive.conv import Conv2dGrads, conv2d, conv2d_backward
from naive.transpose import conv_transpose2d, conv_transpose2d_backward

__all__ = ["Conv2dGrads", "conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]
