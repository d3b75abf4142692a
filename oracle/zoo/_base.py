"""Shared plumbing of the mutants: the options resolved to pairs and pads, and `vectorized` to delegate to."""

from __future__ import annotations

from typing import Any

import numpy as np

import vectorized
from oracle.geometry import Geometry

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
