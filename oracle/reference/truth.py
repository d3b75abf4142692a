"""The truth a variant is judged against: a float64 reference's results and their per-element bounds.

Two references are available: PyTorch with autograd (`oracle.reference.torch_reference`, the default, an outside
implementation) and `naive`, the loops (used where PyTorch is absent). Both answer in float64; the bounds come
from `oracle.reference.tolerance` with the abs-value convolution computed by the same reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from oracle.geometry import Geometry
from oracle.reference import tolerance, torch_reference


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

    ``error`` is ``"elementwise"`` or ``"normwise"`` (`oracle.reference.tolerance`). With ``exact``, every bound is 0:
    the case's values are small integers, every sum is exact in the dtype, and any correct implementation must
    agree to the bit.
    """
    dtype = x.dtype
    geometry = Geometry.of(x.shape[1:3], w.shape[:2], **{k: v for k, v in options.items() if k != "groups"})
    counts = tolerance.budget(x.shape, w.shape, geometry.out, options.get("groups", 1), b is not None)
    y = reference.conv2d(x, w, b, **options)

    groups = options.get("groups", 1)
    length = int(np.prod(geometry.padded))
    ax, aw = np.abs(x), np.abs(w)
    ab = None if b is None else np.abs(b)
    if exact:
        y_bound = np.zeros(y.shape)
    elif error == "normwise":
        y_bound = tolerance.normwise_bound(*_normwise_y(x, w, groups), length, dtype)
    else:
        y_bound = tolerance.elementwise_bound(reference.conv2d(ax, aw, ab, **options), counts.y, dtype)
    if dy is None:
        return Truth(y, y_bound)
    grads = reference.conv2d_backward(dy, x, w, **options)
    absolute = reference.conv2d_backward(np.abs(dy), ax, aw, **options)
    if exact:
        bounds = [np.zeros(g.shape) for g in grads]
    else:
        bounds = [tolerance.elementwise_bound(a, n, dtype) for a, n in zip(absolute, counts[1:])]
        if error == "normwise":
            bounds[0] = tolerance.normwise_bound(*_normwise_dx(dy, w, groups), length, dtype)
            bounds[1] = tolerance.normwise_bound(*_normwise_dw(x, dy, groups), length, dtype)
    return Truth(y, y_bound, grads.dx, bounds[0], grads.dw, bounds[1], grads.db, bounds[2])


def _group_norms(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, groups)`` Frobenius norms of each image's channel groups of NHWC ``a``."""
    n, h, w, c = a.shape
    return np.sqrt((a.astype(np.float64) ** 2).reshape(n, h * w, groups, c // groups).sum(axis=(1, 3)))


def _normwise_y(x: np.ndarray, w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    c_out = w.shape[3]
    x_norms = np.repeat(_group_norms(x, groups), c_out // groups, axis=1)  # (N, C_out)
    w_norms = np.sqrt((w.astype(np.float64) ** 2).sum(axis=(0, 1, 2)))  # (C_out,)
    return x_norms[:, None, None, :], w_norms


def _normwise_dx(dy: np.ndarray, w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    c_in = w.shape[2] * groups
    dy_norms = np.repeat(_group_norms(dy, groups), c_in // groups, axis=1)  # (N, C_in)
    w64 = w.astype(np.float64) ** 2
    kh, kw, cg, c_out = w.shape
    w_norms = np.sqrt(w64.reshape(kh, kw, cg, groups, c_out // groups).sum(axis=(0, 1, 4)).T.reshape(-1))
    return dy_norms[:, None, None, :], w_norms


def _normwise_dw(x: np.ndarray, dy: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    c_out = dy.shape[3]
    x_norms = np.sqrt((x.astype(np.float64) ** 2).sum(axis=(0, 1, 2))).reshape(groups, -1)  # (G, Cg)
    x_norms = x_norms[np.arange(c_out) // (c_out // groups)].T  # (Cg, C_out): the channel dw[..., c, o] reads
    dy_norms = np.sqrt((dy.astype(np.float64) ** 2).sum(axis=(0, 1, 2)))  # (C_out,)
    return x_norms, dy_norms
