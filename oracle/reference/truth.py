"""The truth a variant is judged against: a float64 reference's results and their per-element bounds.

Two references are available: PyTorch with autograd (`oracle.reference.torch_reference`, the default, an outside
implementation) and `naive`, the loops (used where PyTorch is absent). Both answer in float64 from the case's
stored values (every storage format converts to float64 exactly); the bounds come from
`oracle.reference.tolerance`, with the abs-value convolution computed by the same reference, for the precision
the variant declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from oracle.reference import tolerance, torch_reference
from oracle.reference.precision import Precision
from oracle.reference.tolerance import Bound

if TYPE_CHECKING:
    from oracle.cases.strategies import ConvCase


def _float64(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.asarray(a, dtype=np.float64)


def naive_reference() -> Any:
    """`naive` run in float64 (its inputs are cast up exactly), as a reference with torch's interface."""
    import naive

    def conv2d(x, w, b=None, **options):
        return naive.conv2d(_float64(x), _float64(w), _float64(b), **options)

    def conv2d_backward(dy, x, w, **options):
        return naive.conv2d_backward(_float64(dy), _float64(x), _float64(w), **options)

    def conv_transpose2d(x, w, b=None, **options):
        return naive.conv_transpose2d(_float64(x), _float64(w), _float64(b), **options)

    def conv_transpose2d_backward(dy, x, w, **options):
        return naive.conv_transpose2d_backward(_float64(dy), _float64(x), _float64(w), **options)

    return SimpleNamespace(name="naive", conv2d=conv2d, conv2d_backward=conv2d_backward,
                           conv_transpose2d=conv_transpose2d, conv_transpose2d_backward=conv_transpose2d_backward)


def get_reference(name: str = "auto") -> Any:
    """``'torch'``, ``'naive'``, or ``'auto'`` (torch where installed, else naive)."""
    if name == "auto":
        name = "torch" if torch_reference.available() else "naive"
    if name == "torch":
        if not torch_reference.available():
            raise ValueError("reference='torch' needs PyTorch installed; got no importable torch")
        return SimpleNamespace(
            name="torch", conv2d=torch_reference.conv2d, conv2d_backward=torch_reference.conv2d_backward,
            conv_transpose2d=torch_reference.conv_transpose2d,
            conv_transpose2d_backward=torch_reference.conv_transpose2d_backward,
        )
    if name == "naive":
        return naive_reference()
    raise ValueError(f"reference must be 'torch', 'naive' or 'auto'; got reference={name!r}")


@dataclass(frozen=True)
class Expected:
    """One result as it should be: its ``value`` in float64, the `Bound` of each element, and the ``dtype`` the
    variant must return it in."""

    value: np.ndarray
    bound: Bound
    dtype: np.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape


@dataclass(frozen=True)
class Truth:
    """The reference's answer for one case: ``y``, and with the backward pass ``dx``, ``dw``, ``db``."""

    y: Expected
    dx: Expected | None = None
    dw: Expected | None = None
    db: Expected | None = None

    def __getitem__(self, name: str) -> Expected:
        return getattr(self, name)


def truth(reference: Any, case: ConvCase, *, backward: bool = False, precision: Precision | None = None) -> Truth:
    """The reference's answer for ``conv2d(case.x, case.w, case.b, **case.options)`` (and, with ``backward``, for
    ``conv2d_backward(case.dy, case.x, case.w, ...)``), each element with its bound.

    ``precision`` is how the variant computes (default: the case's, `ConvCase.computation`). In exact mode, every
    element whose partial sums are all exact must equal the reference to the bit (bound 0).
    """
    precision = precision or case.computation
    options = case.reference_options
    groups = options["groups"]
    counts = tolerance.budget(case.x.shape, case.w.shape, case.geometry.out, groups, case.b is not None)
    length = int(np.prod(case.geometry.padded))
    dtype = precision.result_dtype
    ax, aw = np.abs(_float64(case.x)), np.abs(_float64(case.w))
    ab = None if case.b is None else np.abs(_float64(case.b))
    largest = max((float(np.max(a, initial=0.0)) for a in (ax, aw, np.abs(_float64(case.dy)))), default=0.0)

    kh, kw = case.w.shape[:2]
    blocks = {"y": kh * kw, "dx": kh * kw, "dw": case.x.shape[0], "db": 2 * case.x.shape[0]}

    def bound(name: str, abs_result: np.ndarray, value: np.ndarray, n: int, norms=None) -> Bound:
        how = precision.of(name)
        if how.error == "normwise" and norms is not None:
            return tolerance.normwise(*norms(), length, value, how, ab if name == "y" else None)
        return tolerance.elementwise(abs_result, value, n, how, exact=case.exact, largest_input=largest,
                                     blocks=blocks[name] if name in how.partials else 0)

    y = reference.conv2d(case.x, case.w, case.b, **options)
    abs_y = reference.conv2d(ax, aw, ab, **options)
    expected_y = Expected(y, bound("y", abs_y, y, counts.y, lambda: _normwise_y(case.x, case.w, groups)), dtype)
    if not backward:
        return Truth(expected_y)
    grads = reference.conv2d_backward(case.dy, case.x, case.w, **options)
    absolute = reference.conv2d_backward(np.abs(_float64(case.dy)), ax, aw, **options)
    norms = (lambda: _normwise_dx(case.dy, case.w, groups), lambda: _normwise_dw(case.x, case.dy, groups), None)
    results = [Expected(g, bound(name, a, g, n, m), precision.of(name).result_dtype)
               for name, g, a, n, m in zip(("dx", "dw", "db"), grads, absolute, counts[1:], norms)]
    return Truth(expected_y, *results)


def truth_of(reference: Any, case: Any, *, backward: bool = False, precision: Precision | None = None) -> Truth:
    """`truth` of a convolution case, `truth_transposed` of a transposed one."""
    judge = truth_transposed if hasattr(case, "output_padding") else truth
    return judge(reference, case, backward=backward, precision=precision)


def truth_transposed(reference: Any, case: Any, *, backward: bool = False, precision: Precision | None = None
                     ) -> Truth:
    """The reference's answer for ``conv_transpose2d(case.x, case.w, case.b, **case.options)`` of a
    `oracle.cases.transposed.TransposedCase` (and, with ``backward``, for ``conv_transpose2d_backward``), each
    element with its elementwise bound.

    Each ``y`` element sums at most ``KH*KW*(C_in // groups)`` products (plus the bias), each ``dx`` element
    ``KH*KW*(C_out // groups)``, each ``dw`` element ``N*H*W`` and each ``db`` element ``N*H_out*W_out`` terms.
    Block sums rounded into the storage dtype (``rounds_partials``) follow the operation each result is of the
    convolution: ``y`` is its ``dx`` (per kernel tap), ``dx`` its ``y``.
    """
    precision = precision or case.computation
    options = case.reference_options
    groups = options["groups"]
    kh, kw, o_group, c_in = case.w.shape
    n, h, w = case.x.shape[:3]
    out = case.geometry.out
    counts = {"y": kh * kw * (c_in // groups) + int(case.b is not None), "dx": kh * kw * o_group, "dw": n * h * w,
              "db": n * out[0] * out[1]}
    blocks = {"y": (kh * kw, "dx"), "dx": (kh * kw, "y"), "dw": (n, "dw"), "db": (2 * n, "db")}
    dtype = precision.result_dtype
    ax, aw = np.abs(_float64(case.x)), np.abs(_float64(case.w))
    ab = None if case.b is None else np.abs(_float64(case.b))
    largest = max((float(np.max(a, initial=0.0)) for a in (ax, aw, np.abs(_float64(case.dy)))), default=0.0)

    def expected(name: str, value: np.ndarray, abs_result: np.ndarray) -> Expected:
        count, (partial, like) = counts[name], blocks[name]
        how = precision.of(name)
        bound = tolerance.elementwise(abs_result, value, count, how, exact=case.exact, largest_input=largest,
                                      blocks=partial if like in how.partials else 0)
        return Expected(value, bound, how.result_dtype if name != "y" else dtype)

    y = reference.conv_transpose2d(case.x, case.w, case.b, **options)
    result = Truth(expected("y", y, reference.conv_transpose2d(ax, aw, ab, **options)))
    if not backward:
        return result
    grads = reference.conv_transpose2d_backward(case.dy, case.x, case.w, **options)
    absolute = reference.conv_transpose2d_backward(np.abs(_float64(case.dy)), ax, aw, **options)
    return Truth(result.y, *(expected(name, g, a) for name, g, a in zip(("dx", "dw", "db"), grads, absolute)))


def _norms(a: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Frobenius norms of ``a`` over ``axis``, scaled by the largest magnitude first (as LAPACK's ``dnrm2``) so
    that squares of tiny or huge values neither underflow to 0 nor overflow to inf."""
    magnitude = np.abs(_float64(a))
    scale = np.max(magnitude, axis=axis, keepdims=True, initial=0.0)
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    return np.squeeze(scale * np.sqrt(((magnitude / scale) ** 2).sum(axis=axis, keepdims=True)), axis=axis)


def _group_norms(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, groups)`` Frobenius norms of each image's channel groups of NHWC ``a``."""
    n, h, w, c = a.shape
    return _norms(a.reshape(n, h * w, groups, c // groups), axis=(1, 3))


def _normwise_y(x: np.ndarray, w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    c_out = w.shape[3]
    x_norms = np.repeat(_group_norms(x, groups), c_out // groups, axis=1)  # (N, C_out)
    w_norms = _norms(w, axis=(0, 1, 2))  # (C_out,)
    return x_norms[:, None, None, :], w_norms


def _normwise_dx(dy: np.ndarray, w: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    c_in = w.shape[2] * groups
    dy_norms = np.repeat(_group_norms(dy, groups), c_in // groups, axis=1)  # (N, C_in)
    kh, kw, cg, c_out = w.shape
    w_norms = _norms(w.reshape(kh, kw, cg, groups, c_out // groups), axis=(0, 1, 4)).T.reshape(-1)  # (C_in,)
    return dy_norms[:, None, None, :], w_norms


def _normwise_dw(x: np.ndarray, dy: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    c_out = dy.shape[3]
    x_norms = _norms(x, axis=(0, 1, 2)).reshape(groups, -1)  # (G, Cg)
    x_norms = x_norms[np.arange(c_out) // (c_out // groups)].T  # (Cg, C_out): the channel dw[..., c, o] reads
    dy_norms = _norms(dy, axis=(0, 1, 2))  # (C_out,)
    return x_norms, dy_norms
