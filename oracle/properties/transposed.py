"""The properties of the transposed convolution (CONTRACT.md, Transposed convolution): ``y``, ``dx``, ``dw``, ``db``
against the reference within each element's bound, the adjoint identity with ``conv2d``, and the rules every
result keeps (right shape and dtype, inputs unmodified, fresh results)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from oracle.cases.transposed import TransposedCase
from oracle.properties.calling import call_text, grads, invoke, run
from oracle.properties.compare import Mismatch, assert_close, check_shape_dtype
from oracle.properties.contract import _same
from oracle.reference.tolerance import FINITE, U_REFERENCE, gamma
from oracle.reference.truth import truth_transposed
from oracle.targets.variant import Variant, shares_memory

FORWARD, BACKWARD = "conv_transpose2d", "conv_transpose2d_backward"


def transposed_forward(variant: Variant, case: TransposedCase, reference: Any) -> None:
    """``y`` of ``conv_transpose2d`` equals the reference's within each element's bound (exactly, for exact
    values): its shape first (``H_out`` with the output padding), then its dtype, then its values."""
    t = truth_transposed(reference, case)
    y = run(variant, case, FORWARD, case.x, case.w, case.b)
    assert_close("y", y, t.y, call=call_text(case, FORWARD))


def transposed_backward(variant: Variant, case: TransposedCase, reference: Any) -> None:
    """``dx``, ``dw`` and ``db`` of ``conv_transpose2d_backward`` equal the reference's (autograd) within each
    element's bound, each checked for shape, then dtype, then values."""
    t = truth_transposed(reference, case, backward=True)
    for name, actual in zip(("dx", "dw", "db"), grads(variant, case)):
        assert_close(name, actual, t[name], call=call_text(case, BACKWARD))


def _conv2d_of(reference: Any, case: TransposedCase, z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``conv2d(z, w)`` by the reference, with the transposed case's stride, pads and dilation: the operation the
    transposed one is the adjoint of, cut to the ``H x W`` rows and columns of ``x`` (with output padding past the
    stride, the convolution of ``z`` has more)."""
    g = case.geometry
    options = {"stride": g.stride, "padding": g.pads, "dilation": g.dilation, "groups": case.groups}
    return reference.conv2d(z, w, None, **options)[:, : g.size[0], : g.size[1]]


def transposed_adjoint(variant: Variant, case: TransposedCase, reference: Any) -> None:
    """``<conv_transpose2d(x, w), z> = <x, conv2d(z, w)>`` with ``z = dy`` and the convolution of the same weight,
    stride, padding and dilation (the definition of the transposed operation), and, where the variant has the
    backward pass, ``= <x, dx> = <w, dw>`` too. Exact for exact values; otherwise within the bounds of the
    results involved, each weighted by the other factor, where nothing overflows."""
    y = run(variant, case, FORWARD, case.x, case.w, None)
    unbiased = case.replace(b=None)
    dtype = case.computation.result_dtype
    check_shape_dtype("y", y, case.dy.shape, dtype, call_text(case, FORWARD))
    backward = variant.offers(BACKWARD)
    t = truth_transposed(reference, unbiased, backward=backward)
    f64 = np.float64
    z, x, w = case.dy.astype(f64), case.x.astype(f64), case.w.astype(f64)
    conv = _conv2d_of(reference, case, z, w)
    conv_abs = _conv2d_of(reference, case, np.abs(z), np.abs(w))
    n = case.w.shape[0] * case.w.shape[1] * case.w.shape[2]
    sides = {"<x, conv2d(z, w)>": (math.fsum((x * conv).ravel()),
                                   (gamma(n + 1, U_REFERENCE)) * math.fsum((np.abs(x) * conv_abs).ravel()))}
    results = [("y", y, z, t.y)]
    if backward:
        dx, dw, _ = grads(variant, case)
        call = call_text(case, BACKWARD)
        check_shape_dtype("dx", dx, case.x.shape, dtype, call)
        check_shape_dtype("dw", dw, case.w.shape, dtype, call)
        results += [("dx", dx, x, t.dx), ("dw", dw, w, t.dw)]
    if any(e.bound.inf is not None and (e.bound.inf != FINITE).any() for *_, e in results):
        return  # a result that may overflow has no inner product to compare
    for name, result, other, expected in results:
        terms = result.astype(f64) * other
        side = {"y": "<conv_transpose2d(x, w), z>", "dx": "<x, dx>", "dw": "<w, dw>"}[name]
        weighted = math.fsum((np.abs(other) * expected.bound.total).ravel())
        rounding = 2**-52 * math.fsum(np.abs(terms).ravel()) if result.dtype == f64 else 0.0
        sides[side] = (math.fsum(terms.ravel()), weighted + rounding)
    left_name = "<conv_transpose2d(x, w), z>"
    left, left_slack = sides.pop(left_name)
    for side, (value, side_slack) in sides.items():
        bound = left_slack + side_slack
        if not abs(left - value) <= bound:
            bound_text = "0 (exact)" if bound == 0 else f"{bound:.1e}"
            raise Mismatch(f"{left_name}={left:.9g}, but should be {side}={value:.9g} (|err| {abs(left - value):.1e}"
                           f" > bound {bound_text}) [{call_text(case, FORWARD)}]", name=side, stage="adjoint")


def transposed_contract(variant: Variant, case: TransposedCase, reference: Any) -> None:
    """No input is changed by ``conv_transpose2d`` or its backward pass, no result aliases an input, and a second
    call with other data leaves the first call's results unchanged."""
    calls = [(FORWARD, ("x", "w", "b"), (case.x, case.w, case.b))]
    if variant.offers(BACKWARD):
        calls.append((BACKWARD, ("dy", "x", "w"), (case.dy, case.x, case.w)))
    first: dict[str, Any] = {}
    for function, names, args in calls:
        passed = variant.arguments(function, tuple(None if a is None else a.copy() for a in args))
        before = [None if a is None else a.copy() for a in passed]
        returned = variant.results(function, invoke(variant, case, function, passed))
        for name, value, old in zip(names, passed, before):
            if value is not None and not _same(value, old).all():
                idx = tuple(np.argwhere(~_same(value, old))[0])
                raise Mismatch(f"{function} modified its input: {name}[{','.join(map(str, idx))}]="
                               f"{float(value[idx]):.6g}, but was {float(old[idx]):.6g} "
                               f"[{call_text(case, function)}]", name=name, stage="modified")
        outputs = ("y",) if function == FORWARD else ("dx", "dw", "db")
        values = (returned,) if function == FORWARD else tuple(returned)
        for name, value in zip(outputs, values):
            for input_name, array in zip(names, passed):
                if isinstance(value, np.ndarray) and array is not None and shares_memory(value, array):
                    raise Mismatch(f"{name} shares memory with the input {input_name} [{call_text(case, function)}]",
                                   name=name, stage="aliased")
            first[name] = value
    kept = {k: np.array(v, copy=True) for k, v in first.items() if isinstance(v, np.ndarray)}
    other = case.replace(x=(case.x * -2 + 1).astype(case.dtype), w=(case.w * 3 - 1).astype(case.dtype),
                         dy=(case.dy * -1 + 2).astype(case.dtype),
                         b=None if case.b is None else (case.b + 1).astype(case.dtype))
    run(variant, other, FORWARD, other.x, other.w, other.b)
    if variant.offers(BACKWARD):
        grads(variant, other)
    for name, value in kept.items():
        changed = ~_same(first[name], value)
        if changed.any():
            idx = tuple(np.argwhere(changed)[0])
            raise Mismatch(f"{name}[{','.join(map(str, idx))}] of a first call changed from {float(value[idx]):.6g} "
                           f"to {float(first[name][idx]):.6g} when the variant was called again with other data: the"
                           f" result is a reused buffer [{call_text(case, FORWARD)}]", name=name, stage="reused")
