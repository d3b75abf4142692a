"""The reference: 2-D convolution forward and backward as plain loops over the formula (numpy only)."""

from naive.conv import Conv2dGrads, conv2d, conv2d_backward

__all__ = ["Conv2dGrads", "conv2d", "conv2d_backward"]
