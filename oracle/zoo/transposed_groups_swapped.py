"""Bug: groups mapped the wrong way: input channel ``c`` is taken to belong to group ``c % groups`` (interleaved),
not ``c // (C_in // groups)`` (blocks), so with several channels per group each group reads the others' inputs."""

import numpy as np

from oracle.zoo._base import conv2d, conv2d_backward, conv_transpose2d_backward, transposed_geometry, vectorized

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def conv_transpose2d(x, w, b=None, **options):
    transposed_geometry(x, w, options)
    groups, c_in = options.get("groups", 1), x.shape[3]
    per_group = c_in // groups
    # block position k*per_group + j reads the interleaved channel j*groups + k
    order = (np.arange(per_group)[None, :] * groups + np.arange(groups)[:, None]).reshape(-1)
    return vectorized.conv_transpose2d(x[..., order], w, b, **options)
