"""The values a convolution computes: ``y``, ``dx``, ``dw``, ``db`` against the reference within each element's
bound, and the adjoint identities that need no reference."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, exact, grads, run
from oracle.properties.compare import Mismatch, assert_close, check_shape_dtype
from oracle.reference import tolerance
from oracle.reference.truth import truth
from oracle.targets.variant import Variant


def forward(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y`` equals the reference's within each element's bound (exactly, for exact values)."""
    t = truth(reference, case.x, case.w, case.b, None, case.options, exact=exact(variant, case),
              error=variant.support.error)
    y = run(variant, case, "conv2d", case.x, case.w, case.b)
    assert_close("y", y, t.y, t.y_bound, dtype=case.dtype, call=call_text(case, "conv2d"))


def gradient(which: int) -> Callable[[Variant, ConvCase, Any], None]:
    name = "dx dw db".split()[which]

    def check(variant: Variant, case: ConvCase, reference: Any) -> None:
        t = truth(reference, case.x, case.w, case.b, case.dy, case.options, exact=exact(variant, case),
                  error=variant.support.error)
        actual = grads(variant, case)[which]
        expected = (t.dx, t.dw, t.db)[which]
        bound = (t.dx_bound, t.dw_bound, t.db_bound)[which]
        assert_close(name, actual, expected, bound, dtype=case.dtype, call=call_text(case, "conv2d_backward"))

    check.__name__ = name
    check.__doc__ = f"``{name}`` equals the reference's (autograd) within each element's bound."
    return check


def adjoint(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``<conv2d(x, w), dy> = <x, dx> = <w, dw>``: the backward pass is the adjoint of the forward, with no
    reference answer needed. Exact for exact values; otherwise within the sum of the bounds of the results
    involved, which all reduce to ``S = <conv(|x|, |w|), |dy|>`` (see `oracle.reference.tolerance`)."""
    y = run(variant, case, "conv2d", case.x, case.w, None)
    dx, dw, _ = grads(variant, case)
    for name, value, like in (("y", y, case.dy), ("dx", dx, case.x), ("dw", dw, case.w)):
        check_shape_dtype(name, value, like.shape, case.dtype, call_text(case, "conv2d_backward"))
    f64 = np.float64
    forward_side = math.fsum((y.astype(f64) * case.dy.astype(f64)).ravel())
    sides = {"<x, dx>": math.fsum((case.x.astype(f64) * dx.astype(f64)).ravel()),
             "<w, dw>": math.fsum((case.w.astype(f64) * dw.astype(f64)).ravel())}
    budget = tolerance.budget(case.x.shape, case.w.shape, case.geometry.out, case.groups, False)
    u, u64 = tolerance.unit_roundoff(case.dtype), tolerance.unit_roundoff(f64)
    s = 0.0
    if not exact(variant, case):
        s = math.fsum((reference.conv2d(np.abs(case.x), np.abs(case.w), None, **case.options)
                       * np.abs(case.dy.astype(f64))).ravel())
    for side, value in sides.items():
        n_side = budget.dx if side == "<x, dx>" else budget.dw
        bound = 0.0 if exact(variant, case) else (
            (tolerance.gamma(budget.y, u) + tolerance.gamma(n_side, u) + 4 * u64) * s
            + (budget.y + n_side) * float(np.finfo(case.dtype).tiny) * case.dy.size
        )
        if not abs(forward_side - value) <= bound:
            bound_text = "0 (exact)" if bound == 0 else f"{bound:.1e}"
            raise Mismatch(
                f"{side}={value:.9g}, but should be <conv2d(x, w), dy>={forward_side:.9g} "
                f"(|err| {abs(forward_side - value):.1e} > bound {bound_text}) [{call_text(case, 'conv2d_backward')}]",
                name=side, stage="adjoint")




def references_agree(reference: Any, other: Any, case: ConvCase) -> None:
    """The oracle's own check: two references (PyTorch and naive) agree on the case within float64 bounds."""
    t = truth(reference, case.x, case.w, case.b, case.dy, case.options)
    o = truth(other, case.x, case.w, case.b, case.dy, case.options)
    for name in ("y", "dx", "dw", "db"):
        expected, actual = getattr(t, name), getattr(o, name)
        bound = getattr(t, f"{name}_bound") + getattr(o, f"{name}_bound")
        try:
            assert_close(name, actual, expected, bound, dtype=np.float64, call=call_text(case, "conv2d_backward"))
        except Mismatch as error:
            error.line = f"ORACLE FAILURE: references {reference.name} and {other.name} disagree: {error.line}"
            error.args = (error.line,)
            raise

