"""Shared plumbing of the mutants: the options resolved to pairs and pads, and `vectorized` to delegate to."""

from __future__ import annotations

from typing import Any

import numpy as np

import vectorized
from oracle.geometry import Geometry, TransposedGeometry

conv2d = vectorized.conv2d
conv2d_backward = vectorized.conv2d_backward


def geometry(x: np.ndarray, w: np.ndarray, options: dict[str, Any]) -> Geometry:
    """The resolved geometry of a call (pads as ``((pt, pb), (pl, pr))``), after `vectorized` has checked the
    arguments: a mutant is wrong only in its planted bug, never in its validation."""
    vectorized.conv2d(x, w, None, **options)
    return Geometry.of(x.shape[1:3], w.shape[:2], stride=options.get("stride", 1),
                       padding=options.get("padding", 0), dilation=options.get("dilation", 1))


def check_forward(x: Any, w: Any, b: Any, options: dict[str, Any]) -> None:
    """Raise what `vectorized.conv2d` raises for these arguments, before a mutant bends them."""
    vectorized.conv2d(x, w, b, **options)


def check_backward(dy: Any, x: Any, w: Any, options: dict[str, Any]) -> None:
    """Raise what `vectorized.conv2d_backward` raises for these arguments, before a mutant bends them."""
    vectorized.conv2d_backward(dy, x, w, **options)


def with_options(options: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**options, **changes}


conv_transpose2d_backward = vectorized.conv_transpose2d_backward


def transposed_geometry(x: np.ndarray, w: np.ndarray, options: dict[str, Any]):
    """The resolved geometry of a transposed call (`oracle.geometry.TransposedGeometry`), after
    `vectorized` has checked the arguments."""
    vectorized.conv_transpose2d(x, w, None, **options)
    return TransposedGeometry.of(x.shape[1:3], w.shape[:2], stride=options.get("stride", 1),
                                 padding=options.get("padding", 0), output_padding=options.get("output_padding", 0),
                                 dilation=options.get("dilation", 1))


def full_transposed(x: np.ndarray, w: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    """The untrimmed transposed output (no padding, no output padding, no bias): every row a window reaches."""
    plain = {k: v for k, v in options.items() if k in ("stride", "dilation", "groups")}
    return vectorized.conv_transpose2d(x, w, None, **plain)


def crop(full: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], b: np.ndarray | None) -> np.ndarray:
    """``full[:, r0:r1, c0:c1]`` with zeros wherever the window leaves ``full`` (either side), plus ``b``."""
    (r0, r1), (c0, c1) = rows, cols
    n, h, w, c = full.shape
    y = np.zeros((n, r1 - r0, c1 - c0, c), dtype=full.dtype)
    a0, a1, b0, b1 = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
    if a0 < a1 and b0 < b1:
        y[:, a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = full[:, a0:a1, b0:b1]
    return y if b is None else y + b
