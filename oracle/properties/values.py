"""The values a convolution computes: ``y``, ``dx``, ``dw``, ``db`` against the reference within each element's
bound, and the adjoint identities that need no reference answer."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, grads, run
from oracle.properties.compare import Mismatch, assert_close, check_shape_dtype
from oracle.reference.precision import Precision
from oracle.reference.tolerance import FINITE
from oracle.reference.truth import truth
from oracle.targets.variant import Variant


def forward(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y`` equals the reference's within each element's bound (exactly, for exact values)."""
    t = truth(reference, case)
    y = run(variant, case, "conv2d", case.x, case.w, case.b)
    assert_close("y", y, t.y, call=call_text(case, "conv2d"))


def gradient(which: int) -> Callable[[Variant, ConvCase, Any], None]:
    name = "dx dw db".split()[which]

    def check(variant: Variant, case: ConvCase, reference: Any) -> None:
        t = truth(reference, case, backward=True)
        actual = grads(variant, case)[which]
        assert_close(name, actual, t[name], call=call_text(case, "conv2d_backward"))

    check.__name__ = name
    check.__doc__ = f"``{name}`` equals the reference's (autograd) within each element's bound."
    return check


def adjoint(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``<conv2d(x, w), dy> = <x, dx> = <w, dw>``: the backward pass is the adjoint of the forward, with no
    reference answer needed. Exact for exact values; otherwise within the bounds of the results involved, each
    weighted by the other factor (``sum |dy| * bound(y)`` and ``sum |x| * bound(dx)``), where nothing overflows."""
    unbiased = case.replace(b=None)
    y = run(variant, case, "conv2d", case.x, case.w, None)
    dx, dw, _ = grads(variant, case)
    dtype = case.computation.result_dtype
    call = call_text(case, "conv2d_backward")
    for name, value, like in (("y", y, case.dy), ("dx", dx, case.x), ("dw", dw, case.w)):
        check_shape_dtype(name, value, like.shape, dtype, call)
    t = truth(reference, unbiased, backward=True)
    if any(e.bound.inf is not None and (e.bound.inf != FINITE).any() for e in (t.y, t.dx, t.dw)):
        return  # a result that may overflow has no inner product to compare
    f64 = np.float64
    products = {"<conv2d(x, w), dy>": (y, case.dy, t.y.bound.total),
                "<x, dx>": (dx, case.x, t.dx.bound.total),
                "<w, dw>": (dw, case.w, t.dw.bound.total)}
    sums, slack = {}, {}
    for side, (result, other, bound) in products.items():
        terms = result.astype(f64) * other.astype(f64)
        sums[side] = math.fsum(terms.ravel())
        # the result's own error, weighted; and the rounding of each float64 product (exact below float64)
        slack[side] = math.fsum((np.abs(other.astype(f64)) * bound).ravel())
        if result.dtype == f64:
            slack[side] += 2**-52 * math.fsum(np.abs(terms).ravel())
    forward_side = sums.pop("<conv2d(x, w), dy>")
    for side, value in sums.items():
        bound = slack["<conv2d(x, w), dy>"] + slack[side]
        if not abs(forward_side - value) <= bound:
            bound_text = "0 (exact)" if bound == 0 else f"{bound:.1e}"
            raise Mismatch(
                f"{side}={value:.9g}, but should be <conv2d(x, w), dy>={forward_side:.9g} "
                f"(|err| {abs(forward_side - value):.1e} > bound {bound_text}) [{call}]",
                name=side, stage="adjoint")


def references_agree(reference: Any, other: Any, case: ConvCase) -> None:
    """The oracle's own check: two references (PyTorch and naive) agree on the case within float64 bounds."""
    exact64 = Precision("float64")
    t = truth(reference, case, backward=True, precision=exact64)
    o = truth(other, case, backward=True, precision=exact64)
    for name in ("y", "dx", "dw", "db"):
        expected, actual = t[name], o[name]
        try:
            assert_close(name, actual.value, expected.value, expected.bound.total + actual.bound.total,
                         dtype=np.float64, call=call_text(case, "conv2d_backward"))
        except Mismatch as error:
            raise error.retitle(f"ORACLE FAILURE: references {reference.name} and {other.name} disagree: "
                                f"{error.line}") from None
