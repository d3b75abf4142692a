"""Bug: a workspace is allocated at the first call, sized for its output, and reused by every later call without
growing; a later call with a larger output writes past its end and the process dies (SIGSEGV). Run alone, in a
fresh process, every call is the first and sizes the workspace for itself: it takes an earlier, smaller call to
crash it."""

import ctypes

from oracle.zoo._base import check_forward, geometry, vectorized

_workspace: list[int] = []  # the elements the workspace holds, fixed by the first call


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    g = geometry(x, w, options)
    needed = x.shape[0] * g.out[0] * g.out[1] * w.shape[3]
    if not _workspace:
        _workspace.append(needed)
    elif needed > _workspace[0]:
        ctypes.string_at(0)  # the write past the workspace's end, as the crash it causes
    return vectorized.conv2d(x, w, b, **options)


conv2d_backward = vectorized.conv2d_backward
