"""Convolution geometry along the two spatial axes: padding resolved, output size, which rows windows read; and
the transposed convolution's (`TransposedGeometry`: the rows every input pixel's window reaches, the crop, the output
padding).

This is the oracle's own reading of the contract's size rules, used to build cases, drive PyTorch and draw
pictures. It trusts its caller to pass a valid configuration (the strategies build only valid ones); for
checking a user's arguments, `validate` defers to the reference `naive`, so that the oracle's error is the
reference's error, word for word.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Pads = tuple[tuple[int, int], tuple[int, int]]


def as_pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """An int or a pair as a pair of ints."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def same_upper_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow / ONNX SAME_UPPER padding of one axis: ``(before, after)``, the odd pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def same_lower_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """ONNX SAME_LOWER padding of one axis: as SAME_UPPER, with the odd pixel before (top / left)."""
    before, after = same_upper_pads(size, kernel, stride, dilation)
    return after, before


def same_input_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """``'same'`` as ``H_out = H`` at every stride (numpy-ml): total ``s*(H - 1) + d*(K - 1) + 1 - H``, the odd
    pixel after."""
    total = stride * (size - 1) + dilation * (kernel - 1) + 1 - size
    return total // 2, total - total // 2


SAME_PADS = {"upper": same_upper_pads, "lower": same_lower_pads, "input": same_input_pads, "torch": same_upper_pads}
"""Each ``'same'`` convention of `oracle.targets.support.SAME_CONVENTIONS`, as pads of one axis."""


def resolve_pads(
    padding: int | tuple | str,
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    same: str = "upper",
) -> Pads:
    """Any padding form of the contract as ``((pt, pb), (pl, pr))``; ``'same'`` by convention ``same``
    (SAME_UPPER, the contract's, unless a variant declares another)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"padding must be 'valid' or 'same' when a string; got padding={padding!r}")
        pads = SAME_PADS[same]
        return tuple(pads(*axis) for axis in zip(size, kernel, stride, dilation))  # type: ignore[return-value]
    if np.ndim(padding) == 0:
        return (int(padding),) * 2, (int(padding),) * 2
    if np.ndim(padding) == 1:
        return (int(padding[0]),) * 2, (int(padding[1]),) * 2
    return (int(padding[0][0]), int(padding[0][1])), (int(padding[1][0]), int(padding[1][1]))


@dataclass(frozen=True)
class Geometry:
    """The spatial geometry of one convolution; every pair is ``(rows, columns)``."""

    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads

    @classmethod
    def of(
        cls,
        size: tuple[int, int],
        kernel: tuple[int, int],
        *,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple | str = 0,
        dilation: int | tuple[int, int] = 1,
        same: str = "upper",
    ) -> Geometry:
        stride, dilation = as_pair(stride), as_pair(dilation)
        size, kernel = as_pair(size), as_pair(kernel)
        return cls(size, kernel, stride, dilation, resolve_pads(padding, size, kernel, stride, dilation, same))

    @property
    def span(self) -> tuple[int, int]:
        """Extent of the dilated kernel: ``d*(K - 1) + 1`` per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))  # type: ignore[return-value]

    @property
    def padded(self) -> tuple[int, int]:
        return tuple(n + sum(p) for n, p in zip(self.size, self.pads))  # type: ignore[return-value]

    @property
    def out(self) -> tuple[int, int]:
        """``H_out = (H + pt + pb - dh*(KH - 1) - 1) // sh + 1``, likewise ``W_out`` (floor)."""
        return tuple((p - e) // s + 1 for p, e, s in zip(self.padded, self.span, self.stride))  # type: ignore[return-value]

    def read(self, axis: int) -> np.ndarray:
        """Boolean mask over the unpadded input along ``axis``: True where some window reads the row."""
        mask = np.zeros(self.padded[axis], dtype=bool)
        for i in range(self.out[axis]):
            start = i * self.stride[axis]
            mask[start : start + self.span[axis] : self.dilation[axis]] = True
        before = self.pads[axis][0]
        return mask[before : before + self.size[axis]]

    def all_padding_windows(self, axis: int) -> list[int]:
        """Output indices along ``axis`` whose window reads padding only."""
        before, n = self.pads[axis][0], self.size[axis]
        found = []
        for i in range(self.out[axis]):
            taps = range(i * self.stride[axis], i * self.stride[axis] + self.span[axis], self.dilation[axis])
            if not any(before <= t < before + n for t in taps):
                found.append(i)
        return found


@dataclass(frozen=True)
class TransposedGeometry:
    """Every size of one transposed convolution (``x (N, H, W, C_in)`` to ``y (N, H_out, W_out, C_out)``)."""

    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    output_padding: tuple[int, int]

    @property
    def full(self) -> tuple[int, int]:
        """Rows and columns every input pixel's window reaches: ``(H - 1)*sh + dh*(KH - 1) + 1``."""
        return tuple((n - 1) * s + d * (k - 1) + 1
                     for n, s, d, k in zip(self.size, self.stride, self.dilation, self.kernel))

    @property
    def out(self) -> tuple[int, int]:
        """``(H_out, W_out)``: ``full - pt - pb + op``."""
        return tuple(f - sum(p) + op for f, p, op in zip(self.full, self.pads, self.output_padding))

    @classmethod
    def of(cls, size, kernel, *, stride=1, padding=0, output_padding=0, dilation=1, same: str = "upper"
           ) -> TransposedGeometry:
        """Resolve the options as the contract does (``'same'``: the input gradient of ``conv2d(padding='same')``
        on ``H*sh`` rows, SAME_UPPER, so the odd row is cropped at the bottom; with ``same="lower"``, SAME_LOWER's,
        the odd row cropped at the top)."""
        stride, dilation, size, kernel = as_pair(stride), as_pair(dilation), tuple(size), tuple(kernel)
        if padding == "same":  # the input gradient of conv2d(padding='same') of an input of H*sh rows
            grown = tuple(n * s for n, s in zip(size, stride))
            pads = resolve_pads("same", grown, kernel, stride, dilation, "lower" if same == "lower" else "upper")
            cropped = cls(size, kernel, stride, dilation, pads, (0, 0)).out
            return cls(size, kernel, stride, dilation, pads, tuple(g - c for g, c in zip(grown, cropped)))
        pads = resolve_pads(padding, size, kernel, stride, dilation)
        return cls(size, kernel, stride, dilation, pads, as_pair(output_padding))


def validate(
    size: tuple[int, int],
    kernel: tuple[int, int],
    *,
    stride: object = 1,
    padding: object = 0,
    dilation: object = 1,
) -> None:
    """Refuse a geometry that ``conv2d`` refuses, in the geometry's own words: sizes and kernel of at least 1, the
    options as `naive.conv2d` checks them (its error, word for word), and the dilated kernel inside the padded
    input."""
    import naive

    for name, pair in (("input size", size), ("kernel size", kernel)):
        if min(as_pair(pair)) < 1:
            raise ValueError(f"{name} must be >= 1 on each axis; got {tuple(as_pair(pair))}")
    h, w = as_pair(size)
    naive.conv2d(np.zeros((0, h, w, 1)), np.zeros((1, 1, 1, 1)), stride=stride, padding=padding, dilation=dilation)
    g = Geometry.of(size, kernel, stride=stride, padding=padding, dilation=dilation)
    if min(g.out) < 1:
        raise ValueError(
            "the dilated kernel must fit in the padded input (H_out and W_out >= 1); got input "
            f"{h}x{w} padded to {g.padded[0]}x{g.padded[1]}, kernel {g.kernel[0]}x{g.kernel[1]} dilated to "
            f"{g.span[0]}x{g.span[1]} (padding={padding!r}, dilation={dilation!r})")
