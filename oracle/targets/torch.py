"""PyTorch's own ``conv2d`` and ``conv_transpose2d`` as a target, in the input's own dtype, on any device.

    conv-oracle check oracle.targets.torch                      # CPU; NCHW arrays, handed over as they come
    conv-oracle check oracle.targets.torch:channels_last        # CPU; NHWC arrays seen through NCHW views
    conv-oracle check oracle.targets.torch:cuda                 # any device torch offers: cuda, mps, xpu, ...
    conv-oracle check oracle.targets.torch:cuda_channels_last

It is also the worked example of an adapter for a framework. The library calls are the functions ``torch_*`` below,
which use torch and numpy alone: the adapter calls them, and a finding's upstream reproducer
(`oracle.check.upstream`) copies them verbatim, so PyTorch's maintainers run the very call that failed.

- **Arrays as they come.** ``torch.from_numpy`` shares an array's memory and strides, so the memory layouts the
  oracle hands over (Fortran order, strided slices, odd strides on size-1 axes, read-only arrays) reach torch as
  they are; an array torch cannot take (negative strides) is copied, and a bfloat16 one converted (numpy has no
  bfloat16 torch can read; the values are exact in float32). The default target declares PyTorch's layout (NCHW,
  OIHW): the oracle transposes at the boundary. ``:channels_last`` declares the contract's NHWC and hands torch
  ``from_numpy(x).permute(0, 3, 1, 2)``: the NCHW view of NHWC memory through which a user's NHWC data reaches
  torch, channels-last strides and all, and the same view of HWIO weights.
- **Padding** is PyTorch's own where it has the form (an int or a pair, ``'valid'``, ``'same'`` at stride 1);
  asymmetric pads go through ``F.pad``, and ``'same'`` above stride 1 (which PyTorch refuses) as SAME_UPPER pads.
  The transposed convolution crops what PyTorch's symmetric padding cannot.
- **Backward** by autograd, with a zero bias that requires a gradient, so ``db`` comes from PyTorch's convolution
  backward as a training step gets it.

It declares what PyTorch does, as measured:

- PyTorch raises ``RuntimeError`` for bad arguments, not the contract's ``ValueError``/``TypeError``: no argument
  checking is declared, so the bad-input table is not asked of it.
- On the CPU, float16 and bfloat16 backward passes may round their partial sums to the half format, per kernel tap
  into ``dx``, per image into ``dw`` and ``db`` (``rounds_partials``; measured on an AVX-512 CPU without AMX; an
  AMX CPU rounds once, which the declaration allows too: it widens the bound, it never narrows it).
- On CUDA, float32 convolutions run on TF32 tensor cores while ``torch.backends.cudnn.allow_tf32`` is set (the
  default): the target then declares float32 inputs rounded to TF32.

What it reports depends on the machine (CPU features pick oneDNN's kernels): README.md's survey says what it found
where. Findings on one machine (an Intel Xeon with AMX and avx512_bf16, torch 2.13.0+cpu) include bfloat16
``conv_transpose2d`` with groups spreading a NaN into another group's outputs, and a heap corruption in a bfloat16
channels-last backward pass, which kills the process (the check survives it: `oracle.check.isolation`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

STORAGE = ("float16", "bfloat16", "float32", "float64")


def torch_tensor(a, dtype, device="cpu"):
    """A numpy array as a tensor of storage ``dtype``: its own memory and strides where ``torch.from_numpy`` takes
    them, a copy where it cannot (negative strides); a bfloat16 tensor from float32 values (exact)."""
    import warnings

    kinds = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
             "float64": torch.float64}
    if a is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a read-only array: torch warns that its tensor could write it
        try:
            t = torch.from_numpy(a)
        except ValueError:  # negative strides
            t = torch.from_numpy(a.copy())
    return t.to(device=device, dtype=kinds[dtype])


def torch_padding(padding, size, kernel, stride, dilation):
    """``padding`` as ``(conv2d's own padding argument, F.pad's (left, right, top, bottom) or None)``: an int, a
    pair, ``'valid'`` and ``'same'`` at stride 1 as PyTorch takes them; asymmetric pads, and ``'same'`` above stride 1
    (SAME_UPPER: ``H_out = ceil(H / s)``, the odd pixel at the bottom and right), through ``F.pad``."""
    import math

    if isinstance(padding, str):
        if padding == "valid" or stride == (1, 1):
            return padding, None
        sides = []
        for n, k, s, d in zip(size, kernel, stride, dilation):
            total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
            sides.append((total // 2, total - total // 2))
    elif np.ndim(padding) == 0:
        return int(padding), None
    elif np.ndim(padding) == 1:
        return (int(padding[0]), int(padding[1])), None
    else:
        sides = [(int(a), int(b)) for a, b in padding]
    (pt, pb), (pl, pr) = sides
    if pt == pb and pl == pr:
        return (pt, pl), None
    return 0, (pl, pr, pt, pb)


def torch_pair(value):
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def torch_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, dtype="float32", layout="NCHW",
                 device="cpu", backward_of=None):
    """``y`` of ``torch.nn.functional.conv2d`` as float64 numpy, in ``layout``: ``"NCHW"`` (``x (N, C_in, H, W)``,
    ``w (C_out, C_in // groups, KH, KW)``) or ``"NHWC"`` (``x (N, H, W, C_in)``, ``w (KH, KW, C_in // groups,
    C_out)``, handed to torch as NCHW views). With ``backward_of=dy`` (in ``layout``): ``(dx, dw, db)`` by
    autograd instead."""
    import warnings

    F = torch.nn.functional
    xt = torch_tensor(x, dtype, device)
    wt = torch_tensor(w, dtype, device)
    if layout == "NHWC":
        xt, wt = xt.permute(0, 3, 1, 2), wt.permute(3, 2, 0, 1)
    size, kernel = tuple(xt.shape[2:]), tuple(wt.shape[2:])
    stride, dilation = torch_pair(stride), torch_pair(dilation)
    own, pad = torch_padding(padding, size, kernel, stride, dilation)
    backward = backward_of is not None
    bt = torch.zeros(wt.shape[0], dtype=wt.dtype, device=device) if backward else torch_tensor(b, dtype, device)
    if backward:
        xt, wt, bt = xt.requires_grad_(), wt.requires_grad_(), bt.requires_grad_()
    with torch.set_grad_enabled(backward), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'same' with an even kernel: torch warns that it pads a copy
        y = F.conv2d(xt if pad is None else F.pad(xt, pad), wt, bt, stride=stride, padding=own, dilation=dilation,
                     groups=groups)
        if not backward:
            return (y.permute(0, 2, 3, 1) if layout == "NHWC" else y).detach().cpu().double().numpy()
        dyt = torch_tensor(backward_of, dtype, device)
        dyt = dyt.permute(0, 3, 1, 2) if layout == "NHWC" else dyt
        dx, dw, db = torch.autograd.grad(y, (xt, wt, bt), dyt)
    if layout == "NHWC":
        dx, dw = dx.permute(0, 2, 3, 1), dw.permute(2, 3, 1, 0)
    return tuple(t.detach().cpu().double().numpy() for t in (dx, dw, db))


def torch_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                           dtype="float32", layout="NCHW", device="cpu", backward_of=None):
    """``y`` of ``torch.nn.functional.conv_transpose2d`` as float64 numpy, in ``layout``: ``"NCHW"`` (``x (N, C_in,
    H, W)``, ``w (C_in, C_out // groups, KH, KW)``) or ``"NHWC"`` (``w (KH, KW, C_out // groups, C_in)``). Padding
    crops ``(H - 1)*s + d*(K - 1) + 1`` rows: PyTorch crops the same from both sides, the rest is cropped here;
    ``'same'`` gives ``H*s`` rows (TensorFlow's). With ``backward_of=dy``: ``(dx, dw, db)`` by autograd."""
    F = torch.nn.functional
    xt = torch_tensor(x, dtype, device)
    wt = torch_tensor(w, dtype, device)
    if layout == "NHWC":
        xt, wt = xt.permute(0, 3, 1, 2), wt.permute(3, 2, 0, 1)
    stride, dilation, extra = torch_pair(stride), torch_pair(dilation), torch_pair(output_padding)
    full = [(n - 1) * s + d * (k - 1) + 1 for n, s, d, k in zip(xt.shape[2:], stride, dilation, wt.shape[2:])]
    if isinstance(padding, str):
        crops = [(0, 0), (0, 0)]
        if padding == "same":  # the input gradient of conv2d(padding='same') on H*s rows: crop the excess
            crops, extra = [], []
            for f, n, s in zip(full, xt.shape[2:], stride):
                total = f - n * s
                crop = max(total, 0)
                crops.append((crop // 2, crop - crop // 2))
                extra.append(max(-total, 0))
    elif np.ndim(padding) == 0:
        crops = [(int(padding), int(padding))] * 2
    elif np.ndim(padding) == 1:
        crops = [(int(p), int(p)) for p in padding]
    else:
        crops = [(int(a), int(b)) for a, b in padding]
    common = tuple(min(c) for c in crops)
    backward = backward_of is not None
    c_out = wt.shape[1] * groups
    bt = torch.zeros(c_out, dtype=wt.dtype, device=device) if backward else torch_tensor(b, dtype, device)
    if backward:
        xt, wt, bt = xt.requires_grad_(), wt.requires_grad_(), bt.requires_grad_()
    with torch.set_grad_enabled(backward):
        y = F.conv_transpose2d(xt, wt, bt, stride=stride, padding=common, output_padding=tuple(extra),
                               groups=groups, dilation=dilation)
        (pt, pb), (pl, pr) = ((c[0] - m, c[1] - m) for c, m in zip(crops, common))
        y = y[:, :, pt : y.shape[2] - pb, pl : y.shape[3] - pr]
        if not backward:
            return (y.permute(0, 2, 3, 1) if layout == "NHWC" else y).detach().cpu().double().numpy()
        dyt = torch_tensor(backward_of, dtype, device)
        dyt = dyt.permute(0, 3, 1, 2) if layout == "NHWC" else dyt
        dx, dw, db = torch.autograd.grad(y, (xt, wt, bt), dyt)
    if layout == "NHWC":
        dx, dw = dx.permute(0, 2, 3, 1), dw.permute(2, 3, 1, 0)
    return tuple(t.detach().cpu().double().numpy() for t in (dx, dw, db))


UPSTREAM_FUNCTIONS = (torch_tensor, torch_padding, torch_pair, torch_conv2d, torch_conv_transpose2d)
"""The functions an upstream reproducer copies: they need torch and numpy alone."""


def _plain(a: np.ndarray | None) -> np.ndarray | None:
    """An array torch can read: bfloat16 (``ml_dtypes``) as float32, exactly; any other as it is."""
    if a is None or a.dtype.name != "bfloat16":
        return a
    return a.astype(np.float32)


def _stored(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float64 result back in the storage dtype (exact: its values are the storage format's)."""
    return np.ascontiguousarray(a).astype(dtype)


class TorchConv:
    """PyTorch on ``device`` as a variant; with ``channels_last``, NHWC arrays seen by torch through NCHW views."""

    def __init__(self, device: str = "cpu", channels_last: bool = False) -> None:
        self.device, self.channels_last = device, channels_last
        self.layout = "NHWC" if channels_last else "NCHW"
        self.__name__ = f"oracle.targets.torch:{device}{'_channels_last' if channels_last else ''}"

    @property
    def conv_oracle_support(self) -> dict[str, Any]:
        support: dict[str, Any] = {"layout": self.layout, "validates": False}
        if self.device == "cpu":
            support["rounds_partials"] = ("dx", "dw", "db")
        if self.device.startswith("cuda") and torch.backends.cudnn.allow_tf32:
            support["input_rounding"] = {"float32": "tf32"}
        return support

    @property
    def conv_oracle_upstream(self) -> dict[str, Any]:
        """What an upstream reproducer needs (`oracle.check.upstream`): the library, its version, the functions
        that make its call and how each of the contract's functions calls them."""
        call = {"device": self.device, "layout": self.layout}
        return {"library": "torch", "version": torch.__version__, "imports": "import torch",
                "functions": UPSTREAM_FUNCTIONS,
                "calls": {"conv2d": ("torch_conv2d", call), "conv2d_backward": ("torch_conv2d", call),
                          "conv_transpose2d": ("torch_conv_transpose2d", call),
                          "conv_transpose2d_backward": ("torch_conv_transpose2d", call)}}

    def _options(self, x: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
        return {**options, "dtype": x.dtype.name, "layout": self.layout, "device": self.device}

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        """``y`` in the declared layout (``(N, C_out, H_out, W_out)``, or NHWC for ``channels_last``)."""
        options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        return _stored(torch_conv2d(_plain(x), _plain(w), _plain(b), **self._options(x, options)), x.dtype)

    def conv2d_backward(self, dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
        """``(dx, dw, db)`` by autograd (``db`` the gradient of a bias), in the declared layout."""
        options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        grads = torch_conv2d(_plain(x), _plain(w), backward_of=_plain(dy), **self._options(x, options))
        return tuple(_stored(g, x.dtype) for g in grads)

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        """``y`` of the transposed convolution, in the declared layout."""
        options = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation,
                   "groups": groups}
        return _stored(torch_conv_transpose2d(_plain(x), _plain(w), _plain(b), **self._options(x, options)),
                       x.dtype)

    def conv_transpose2d_backward(self, dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        """``(dx, dw, db)`` of the transposed convolution by autograd, in the declared layout."""
        options = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation,
                   "groups": groups}
        grads = torch_conv_transpose2d(_plain(x), _plain(w), backward_of=_plain(dy), **self._options(x, options))
        return tuple(_stored(g, x.dtype) for g in grads)


_default = TorchConv()
conv_oracle_support = _default.conv_oracle_support
conv_oracle_upstream = _default.conv_oracle_upstream
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
    device = device.replace("_", ":")
    try:
        torch.empty(0, device=device)
    except Exception as error:  # not a device name, or a device this build or machine lacks
        raise AttributeError(f"PyTorch {torch.__version__} has no device {device!r} here: {error}") from None
    return TorchConv(device, channels_last=name.endswith("_channels_last"))
