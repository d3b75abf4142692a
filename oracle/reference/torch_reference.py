"""PyTorch's ``conv2d`` with autograd as the outside reference, in float64, in the contract's layouts (CONTRACT.md).

PyTorch works in NCHW / OIHW with symmetric padding and refuses ``padding='same'`` at a stride above 1. Here
the padding is resolved first (SAME_UPPER for ``'same'``, see `oracle.geometry`) and applied with
``torch.nn.functional.pad``, which takes asymmetric pads; the convolution itself then runs unpadded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from oracle.geometry import Geometry, TransposedGeometry


class TorchGrads(NamedTuple):
    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


@contextmanager
def one_thread() -> Iterator[None]:
    """PyTorch computes on one thread meanwhile (its setting restored after): the reference's convolutions are
    small, and where the variant runs in another process, torch's idle threads would spin on the core it needs."""
    if not available():
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _run(x, w, b, stride, padding, dilation, groups, dy=None):
    import torch
    import torch.nn.functional as F

    geometry = Geometry.of(x.shape[1:3], w.shape[:2], stride=stride, padding=padding, dilation=dilation)
    (pt, pb), (pl, pr) = geometry.pads
    # contiguous NCHW / OIHW leaves: some of torch's CPU kernels reject permuted views in the backward pass
    xt = torch.tensor(np.asarray(x, dtype=np.float64)).permute(0, 3, 1, 2).contiguous().requires_grad_()
    wt = torch.tensor(np.asarray(w, dtype=np.float64)).permute(3, 2, 0, 1).contiguous().requires_grad_()
    bt = torch.zeros(w.shape[3], dtype=torch.float64) if b is None else torch.tensor(np.asarray(b, np.float64))
    bt.requires_grad_()
    xpad = F.pad(xt, (pl, pr, pt, pb))
    y = F.conv2d(xpad, wt, bt, stride=geometry.stride, dilation=geometry.dilation, groups=groups)
    if dy is None:
        return y.detach().permute(0, 2, 3, 1).numpy().copy()
    dyt = torch.tensor(np.asarray(dy, dtype=np.float64)).permute(0, 3, 1, 2).contiguous()
    dx, dw, db = torch.autograd.grad(y, (xt, wt, bt), dyt, allow_unused=True)
    return TorchGrads(
        dx.permute(0, 2, 3, 1).numpy().copy(),
        dw.permute(2, 3, 1, 0).numpy().copy(),
        db.numpy().copy(),
    )


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """``y (N, H_out, W_out, C_out)`` in float64 for NHWC ``x`` and HWIO ``w`` of any float dtype."""
    return _run(x, w, b, stride, padding, dilation, groups)


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> TorchGrads:
    """``(dx, dw, db)`` in float64 by autograd through `conv2d`, shaped like ``x``, ``w`` and ``(C_out,)``."""
    return _run(x, w, None, stride, padding, dilation, groups, dy=dy)


def _run_transposed(x, w, b, stride, padding, output_padding, dilation, groups, dy=None):
    """PyTorch's ``conv_transpose2d`` unpadded (the whole ``full``), extended by the output padding, cropped by
    the pads, then the bias: any pads, asymmetric included, and any output padding (PyTorch's own takes symmetric
    padding only)."""
    import torch
    import torch.nn.functional as F

    g = TransposedGeometry.of(x.shape[1:3], w.shape[:2], stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation)
    (pt, pb), (pl, pr) = g.pads
    (oph, opw) = g.output_padding
    xt = torch.tensor(np.asarray(x, dtype=np.float64)).permute(0, 3, 1, 2).contiguous().requires_grad_()
    # (KH, KW, C_out // groups, C_in) -> PyTorch's (C_in, C_out // groups, KH, KW)
    wt = torch.tensor(np.asarray(w, dtype=np.float64)).permute(3, 2, 0, 1).contiguous().requires_grad_()
    c_out = w.shape[2] * groups
    bt = torch.zeros(c_out, dtype=torch.float64) if b is None else torch.tensor(np.asarray(b, np.float64))
    bt.requires_grad_()
    full = F.conv_transpose2d(xt, wt, None, stride=g.stride, dilation=g.dilation, groups=groups)
    extended = F.pad(full, (0, opw, 0, oph))  # output padding: zero rows at the bottom, columns at the right
    rows, cols = extended.shape[2], extended.shape[3]
    y = extended[:, :, pt : rows - pb, pl : cols - pr] + bt.reshape(1, -1, 1, 1)
    if dy is None:
        return y.detach().permute(0, 2, 3, 1).numpy().copy()
    dyt = torch.tensor(np.asarray(dy, dtype=np.float64)).permute(0, 3, 1, 2).contiguous()
    dx, dw, db = torch.autograd.grad(y, (xt, wt, bt), dyt, allow_unused=True)
    return TorchGrads(dx.permute(0, 2, 3, 1).numpy().copy(), dw.permute(2, 3, 1, 0).numpy().copy(),
                      db.numpy().copy())


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1) -> np.ndarray:
    """``y (N, H_out, W_out, C_out)`` in float64 for NHWC ``x`` and ``w (KH, KW, C_out // groups, C_in)``."""
    return _run_transposed(x, w, b, stride, padding, output_padding, dilation, groups)


def conv_transpose2d_backward(dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1
                              ) -> TorchGrads:
    """``(dx, dw, db)`` in float64 by autograd through `conv_transpose2d`."""
    return _run_transposed(x, w, None, stride, padding, output_padding, dilation, groups, dy=dy)
