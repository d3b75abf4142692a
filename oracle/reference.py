"""The truth a variant is judged against: a float64 reference's results and their per-element bounds.

Two references are available: PyTorch with autograd (`oracle.torch_reference`, the default, an outside
implementation) and `naive`, the loops (used where PyTorch is absent). Both answer in float64; the bounds come
from `oracle.tolerance` with the abs-value convolution computed by the same reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from oracle import tolerance, torch_reference
from oracle.geometry import Geometry


def naive_reference() -> Any:
    """`naive` run in float64 (its inputs are cast up exactly), as a reference with torch's interface."""
    import naive

    def conv2d(x, w, b=None, **options):
        b64 = None if b is None else np.asarray(b, np.float64)
        return naive.conv2d(np.asarray(x, np.float64), np.asarray(w, np.float64), b64, **options)

    def conv2d_backward(dy, x, w, **options):
        return naive.conv2d_backward(
            np.asarray(dy, np.float64), np.asarray(x, np.float64), np.asarray(w, np.float64), **options
        )

    return SimpleNamespace(name="naive", conv2d=conv2d, conv2d_backward=conv2d_backward)


def get_reference(name: str = "auto") -> Any:
    """``'torch'``, ``'naive'``, or ``'auto'`` (torch where installed, else naive)."""
    if name == "auto":
        name = "torch" if torch_reference.available() else "naive"
    if name == "torch":
        if not torch_reference.available():
            raise ValueError("reference='torch' needs PyTorch installed; got no importable torch")
        return SimpleNamespace(
            name="torch", conv2d=torch_reference.conv2d, conv2d_backward=torch_reference.conv2d_backward
        )
    if name == "naive":
        return naive_reference()
    raise ValueError(f"reference must be 'torch', 'naive' or 'auto'; got reference={name!r}")


@dataclass(frozen=True)
class Truth:
    """Reference results in float64 with the bound of each element, for one case and one dtype under test."""

    y: np.ndarray
    y_bound: np.ndarray
    dx: np.ndarray | None = None
    dx_bound: np.ndarray | None = None
    dw: np.ndarray | None = None
    dw_bound: np.ndarray | None = None
    db: np.ndarray | None = None
    db_bound: np.ndarray | None = None


def truth(
    reference: Any,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    dy: np.ndarray | None,
    options: dict,
    *,
    exact: bool = False,
    error: str = "elementwise",
) -> Truth:
    """The reference's answer for ``conv2d(x, w, b, **options)`` (and its backward with ``dy`` when given).

    With ``exact``, every bound is 0: the case's values are small integers, every sum is exact in the dtype, and
    any correct implementation must agree to the bit.
    """
    dtype = x.dtype
    geometry = Geometry.of(x.shape[1:3], w.shape[:2], **{k: v for k, v in options.items() if k != "groups"})
    counts = tolerance.budget(x.shape, w.shape, geometry.out, options.get("groups", 1), b is not None)
    y = reference.conv2d(x, w, b, **options)

    def bound(absolute: np.ndarray, n: int, length: int) -> np.ndarray:
        if exact:
            return np.zeros(absolute.shape)
        if error == "normwise":
            return tolerance.normwise_bound(absolute, length, dtype)
        return tolerance.elementwise_bound(absolute, n, dtype)

    ax, aw = np.abs(x), np.abs(w)
    ab = None if b is None else np.abs(b)
    fft_length = int(np.prod(geometry.padded))
    y_bound = bound(reference.conv2d(ax, aw, ab, **options), counts.y, fft_length)
    if dy is None:
        return Truth(y, y_bound)
    grads = reference.conv2d_backward(dy, x, w, **options)
    absolute = reference.conv2d_backward(np.abs(dy), ax, aw, **options)
    return Truth(
        y, y_bound,
        grads.dx, bound(absolute.dx, counts.dx, fft_length),
        grads.dw, bound(absolute.dw, counts.dw, fft_length),
        grads.db, bound(absolute.db, counts.db, fft_length),
    )
