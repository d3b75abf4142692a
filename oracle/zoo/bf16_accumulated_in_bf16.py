"""Bug: bfloat16 products summed in bfloat16, each addition rounded to 8 bits, in a kernel that declares (by
default) float32 accumulation."""

import numpy as np

from oracle.zoo._base import check_forward, geometry, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    if x.dtype.name != "bfloat16":
        return vectorized.conv2d(x, w, b, **options)
    g = geometry(x, w, options)
    groups = options.get("groups", 1)
    kh, kw, cg, c_out = w.shape
    og = c_out // groups
    xp = np.pad(x.astype(np.float32), ((0, 0), *g.pads, (0, 0)))
    y = np.zeros((x.shape[0], *g.out, c_out), dtype=x.dtype) if b is None else np.broadcast_to(
        b, (x.shape[0], *g.out, c_out)).copy()
    (sh, sw), (dh, dw), (ho, wo) = g.stride, g.dilation, g.out
    for p in range(kh):
        for q in range(kw):
            taps = xp[:, p * dh : p * dh + (ho - 1) * sh + 1 : sh, q * dw : q * dw + (wo - 1) * sw + 1 : sw]
            for c in range(cg):
                for group in range(groups):
                    outputs = slice(group * og, (group + 1) * og)
                    product = taps[..., group * cg + c, None] * w[p, q, c, outputs].astype(np.float32)
                    y[..., outputs] = (y[..., outputs].astype(np.float32) + product).astype(x.dtype)
    return y


conv2d_backward = vectorized.conv2d_backward
