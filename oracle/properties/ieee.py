"""NaN and inf propagate as plain arithmetic: exactly to the outputs whose window holds them.

In float16 large values overflow on their own: where the finite case's result may overflow (`Bound.inf`), an
output whose window holds no NaN or inf may be inf as the overflow rule says (`oracle.reference.tolerance`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, operation, run
from oracle.properties.compare import Mismatch, check_shape_dtype
from oracle.reference.tolerance import FINITE, INF
from oracle.reference.truth import truth_of
from oracle.targets.variant import Variant

NAMES = ("finite", "NaN", "+inf", "-inf")


def _overflow(case: ConvCase, reference: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(inf, y)``: `Bound.inf` of the finite case's ``y`` and ``y`` itself, where its formats can overflow on
    values this size; None where they cannot (float32, float64)."""
    precision = case.computation
    if min(precision.result.max, precision.summed.max) > 1e30:
        return None
    expected = truth_of(reference, case).y
    return (expected.bound.inf, expected.value) if expected.bound.inf is not None else None


def _ieee_class(a: np.ndarray) -> np.ndarray:
    """0 finite, 1 NaN, 2 +inf, 3 -inf, elementwise."""
    a = np.asarray(a, dtype=np.float64)
    return np.select([np.isnan(a), np.isposinf(a), np.isneginf(a)], [1, 2, 3], 0)


def _allowed(expected: np.ndarray, got: np.ndarray, overflow: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Where ``got`` (IEEE classes) is right: the expected class, or what overflow of the finite part allows."""
    ok = got == expected
    if overflow is not None:
        inf, y = overflow
        signed = np.where(y < 0, 3, 2)
        ok = np.where((inf == INF) & (expected == 0), got == signed, ok)
        ok |= (inf != FINITE) & (inf != INF)  # may overflow: any class
        ok |= (inf == INF) & (expected != 0) & (got == 1)  # inf plus an overflow of the other sign: NaN
    return ok


def nan_propagation(variant: Variant, case: ConvCase, reference: Any) -> None:
    """A NaN in ``x`` makes exactly the outputs whose window holds it NaN (those of its group, through padding,
    stride and dilation), whatever the weights."""
    if case.x.shape[0] == 0:
        return
    x = case.x.copy()
    x[case.nan_at] = np.nan
    marker = np.zeros(case.x.shape)
    marker[case.nan_at] = 1.0
    function = operation(case)
    holds = getattr(reference, function)(marker, np.ones(case.w.shape), None, **case.reference_options) > 0
    with np.errstate(invalid="ignore"):
        y = run(variant, case, function, x, case.w, case.b)
    call = call_text(case, function) + f" with x[{','.join(map(str, case.nan_at))}]=nan"
    check_shape_dtype("y", y, holds.shape, case.computation.result_dtype, call)
    got = _ieee_class(y)
    wrong = np.where(holds, got != 1, ~_allowed(np.zeros_like(got), got, _overflow(case, reference)))
    if wrong.any():
        idx = tuple(np.argwhere(wrong)[0])
        state = NAMES[got[idx]] if got[idx] else f"{float(y[idx]):.6g}"
        should = "NaN: its window holds the NaN" if holds[idx] else "finite: its window does not hold the NaN"
        raise Mismatch(f"y[{','.join(map(str, idx))}]={state}, but should be {should} [{call}]", name="y",
                       stage="nan", bad=wrong)


def inf_propagation(variant: Variant, case: ConvCase, reference: Any) -> None:
    """An inf in ``x`` gives, element by element, the NaN, +inf or -inf that plain arithmetic gives
    (``inf * 0`` is NaN, ``inf * w`` takes ``w``'s sign), exactly where the reference does."""
    if case.x.shape[0] == 0:
        return
    x = case.x.copy()
    x[case.nan_at] = np.inf
    function = operation(case)
    with np.errstate(invalid="ignore"):  # inf * 0 is meant to happen here
        expected = _ieee_class(getattr(reference, function)(x, case.w, case.b, **case.reference_options))
        y = run(variant, case, function, x, case.w, case.b)
    call = call_text(case, function) + f" with x[{','.join(map(str, case.nan_at))}]=inf"
    check_shape_dtype("y", y, expected.shape, case.computation.result_dtype, call)
    got = _ieee_class(y)
    wrong = ~_allowed(expected, got, _overflow(case, reference))
    if wrong.any():
        idx = tuple(np.argwhere(wrong)[0])
        raise Mismatch(f"y[{','.join(map(str, idx))}]={float(y[idx]):.6g}, but should be {NAMES[expected[idx]]} as "
                       f"in the reference [{call}]", name="y", stage="inf", bad=wrong)
