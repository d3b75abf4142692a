"""PyTorch's own ``conv2d`` and ``conv_transpose2d`` as a target: its default path or channels_last, in the input's
own dtype, on any device.

    conv-oracle check oracle.targets.torch                      # CPU, default memory format
    conv-oracle check oracle.targets.torch:channels_last        # CPU, channels_last input and weights
    conv-oracle check oracle.targets.torch:cuda                 # any device torch offers: cuda, mps, xpu, ...
    conv-oracle check oracle.targets.torch:cuda_channels_last

It is also the worked example of an adapter for a framework: the variant declares PyTorch's layout (NCHW and OIHW)
so the oracle transposes at the boundary; the adapter itself resolves the contract's padding forms that
``torch.nn.functional.conv2d`` lacks (asymmetric pads through ``F.pad``, ``'same'`` at any stride as SAME_UPPER), and
takes the backward pass from autograd. It declares what PyTorch does:

- PyTorch raises ``RuntimeError`` for bad arguments, not the contract's ``ValueError``/``TypeError``: no argument
  checking is declared, so the bad-input table is not asked of it.
- On the CPU, float16 and bfloat16 run a slow path (``_slow_conv2d``, oneDNN is not used for them) that sums in
  float32 and rounds once forward, but backward rounds its partial sums to the half format: per kernel tap into
  ``dx``, per image into ``dw`` and ``db`` (``rounds_partials``; measured with exact references).
- On CUDA, float32 convolutions run on TF32 tensor cores while ``torch.backends.cudnn.allow_tf32`` is set (the
  default): the target then declares float32 inputs rounded to TF32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from oracle.geometry import Geometry, TransposedGeometry, same_upper_pads


def _dtype(dtype: np.dtype) -> torch.dtype:
    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
            "float64": torch.float64}[dtype.name]


def _tensor(a: np.ndarray, device: str, channels_last: bool) -> torch.Tensor:
    """An NCHW/OIHW numpy array as a tensor of its own dtype on ``device`` (bfloat16 through float32, exactly)."""
    # a copy of its own: from_numpy refuses negative strides, which ascontiguousarray keeps on size-1 axes
    t = torch.from_numpy(np.array(a, dtype=np.float32 if a.dtype.name == "bfloat16" else a.dtype, order="C"))
    t = t.to(device=device, dtype=_dtype(a.dtype))
    return t.contiguous(memory_format=torch.channels_last) if channels_last and t.ndim == 4 else t


def _numpy(t: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    t = t.detach().to("cpu")
    if dtype.name == "bfloat16":
        return t.float().numpy().astype(dtype)
    return t.contiguous().numpy().copy()


class TorchConv:
    """``torch.nn.functional.conv2d`` on ``device``, with channels_last memory when asked, as a variant."""

    def __init__(self, device: str = "cpu", channels_last: bool = False) -> None:
        self.device, self.channels_last = device, channels_last
        self.__name__ = f"oracle.targets.torch:{device}{'_channels_last' if channels_last else ''}"

    @property
    def conv_oracle_support(self) -> dict[str, Any]:
        support: dict[str, Any] = {"layout": "NCHW", "validates": False}
        if self.device == "cpu":
            support["rounds_partials"] = ("dx", "dw", "db")
        if self.device.startswith("cuda") and torch.backends.cudnn.allow_tf32:
            support["input_rounding"] = {"float32": "tf32"}
        return support

    def _forward(self, x, w, b, stride, padding, dilation, groups):
        F = torch.nn.functional
        g = Geometry.of(x.shape[2:], w.shape[2:], stride=stride, dilation=dilation,
                        padding=_resolved(padding, x.shape[2:], w.shape[2:], stride, dilation))
        (pt, pb), (pl, pr) = g.pads
        xt = _tensor(x, self.device, self.channels_last).requires_grad_()
        wt = _tensor(w, self.device, self.channels_last).requires_grad_()
        bt = None if b is None else _tensor(b, self.device, False)
        y = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, bt, stride=g.stride, dilation=g.dilation, groups=groups)
        return xt, wt, y

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_out, C_in // groups, KH, KW)``."""
        with torch.no_grad():
            _, _, y = self._forward(x, w, b, stride, padding, dilation, groups)
        return _numpy(y, x.dtype)

    def conv2d_backward(self, dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
        """``(dx, dw, db)`` by autograd; ``db`` is ``dy`` summed over ``N, H, W`` by torch in ``dy``'s dtype."""
        xt, wt, y = self._forward(x, w, None, stride, padding, dilation, groups)
        dyt = _tensor(dy, self.device, self.channels_last)
        dx, dw = torch.autograd.grad(y, (xt, wt), dyt)
        db = dyt.sum(dim=(0, 2, 3))
        return _numpy(dx, x.dtype), _numpy(dw, w.dtype), _numpy(db, dy.dtype)


    def _transposed(self, x, w, b, stride, padding, output_padding, dilation, groups):
        g = TransposedGeometry.of(x.shape[2:], w.shape[2:], stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)
        # PyTorch crops the same padding from both sides: the smaller of the two, the rest cropped here
        common = tuple(min(p) for p in g.pads)
        xt = _tensor(x, self.device, self.channels_last).requires_grad_()
        wt = _tensor(w, self.device, self.channels_last).requires_grad_()
        bt = None if b is None else _tensor(b, self.device, False)
        y = torch.nn.functional.conv_transpose2d(xt, wt, bt, stride=g.stride, padding=common,
                                                 output_padding=g.output_padding, groups=groups, dilation=g.dilation)
        (pt, pb), (pl, pr) = ((p[0] - c, p[1] - c) for p, c in zip(g.pads, common))
        return xt, wt, y[:, :, pt : y.shape[2] - pb, pl : y.shape[3] - pr]

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        """``y (N, C_out, H_out, W_out)`` for ``x (N, C_in, H, W)`` and ``w (C_in, C_out // groups, KH, KW)``, by
        ``torch.nn.functional.conv_transpose2d`` (asymmetric padding and ``'same'`` cropped here)."""
        with torch.no_grad():
            _, _, y = self._transposed(x, w, b, stride, padding, output_padding, dilation, groups)
        return _numpy(y, x.dtype)

    def conv_transpose2d_backward(self, dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        """``(dx, dw, db)`` of `conv_transpose2d` by autograd."""
        xt, wt, y = self._transposed(x, w, None, stride, padding, output_padding, dilation, groups)
        dyt = _tensor(dy, self.device, self.channels_last)
        dx, dw = torch.autograd.grad(y, (xt, wt), dyt)
        db = dyt.sum(dim=(0, 2, 3))
        return _numpy(dx, x.dtype), _numpy(dw, w.dtype), _numpy(db, dy.dtype)


def _resolved(padding: Any, size: tuple[int, int], kernel: tuple[int, int], stride: Any, dilation: Any) -> Any:
    """``'same'`` as SAME_UPPER pads (PyTorch refuses 'same' above stride 1); other forms as they are."""
    if padding != "same":
        return padding
    g = Geometry.of(size, kernel, stride=stride, dilation=dilation)
    return tuple(same_upper_pads(n, k, s, d) for n, k, s, d in zip(size, kernel, g.stride, g.dilation))


_default = TorchConv()
conv_oracle_support = _default.conv_oracle_support
conv2d = _default.conv2d
conv2d_backward = _default.conv2d_backward
conv_transpose2d = _default.conv_transpose2d
conv_transpose2d_backward = _default.conv_transpose2d_backward
channels_last = TorchConv(channels_last=True)


def __getattr__(name: str) -> TorchConv:
    """``cuda``, ``cuda_channels_last``, ``mps``, ...: PyTorch on that device."""
    device, _, rest = name.partition("_channels_last")
    if rest or not device or device.startswith("_"):
        raise AttributeError(name)
    return TorchConv(device.replace("_", ":"), channels_last=name.endswith("_channels_last"))
