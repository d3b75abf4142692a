"""NaN and inf propagate as plain arithmetic: exactly to the outputs whose window holds them."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, run
from oracle.properties.compare import Mismatch, check_shape_dtype
from oracle.targets.variant import Variant


def nan_propagation(variant: Variant, case: ConvCase, reference: Any) -> None:
    """A NaN in ``x`` makes exactly the outputs whose window holds it NaN (those of its group, through padding,
    stride and dilation), whatever the weights."""
    if case.x.shape[0] == 0:
        return
    x = case.x.copy()
    x[case.nan_at] = np.nan
    marker = np.zeros(case.x.shape)
    marker[case.nan_at] = 1.0
    holds = reference.conv2d(marker, np.ones(case.w.shape), None, **case.options) > 0
    with np.errstate(invalid="ignore"):
        y = run(variant, case, "conv2d", x, case.w, case.b)
    call = call_text(case, "conv2d") + f" with x[{','.join(map(str, case.nan_at))}]=nan"
    check_shape_dtype("y", y, holds.shape, case.dtype, call)
    wrong = np.isnan(y) != holds
    if wrong.any():
        idx = tuple(np.argwhere(wrong)[0])
        state = "NaN" if np.isnan(y[idx]) else f"{y[idx]:.6g}"
        should = "NaN: its window holds the NaN" if holds[idx] else "finite: its window does not hold the NaN"
        raise Mismatch(f"y[{','.join(map(str, idx))}]={state}, but should be {should} [{call}]", name="y",
                       stage="nan", bad=wrong)


def _ieee_class(a: np.ndarray) -> np.ndarray:
    """0 finite, 1 NaN, 2 +inf, 3 -inf, elementwise."""
    return np.select([np.isnan(a), np.isposinf(a), np.isneginf(a)], [1, 2, 3], 0)


def inf_propagation(variant: Variant, case: ConvCase, reference: Any) -> None:
    """An inf in ``x`` gives, element by element, the NaN, +inf or -inf that plain arithmetic gives
    (``inf * 0`` is NaN, ``inf * w`` takes ``w``'s sign), exactly where the reference does."""
    if case.x.shape[0] == 0:
        return
    x = case.x.copy()
    x[case.nan_at] = np.inf
    with np.errstate(invalid="ignore"):  # inf * 0 is meant to happen here
        expected = _ieee_class(reference.conv2d(x, case.w, case.b, **case.options))
        y = run(variant, case, "conv2d", x, case.w, case.b)
    call = call_text(case, "conv2d") + f" with x[{','.join(map(str, case.nan_at))}]=inf"
    check_shape_dtype("y", y, expected.shape, case.dtype, call)
    got = _ieee_class(y)
    wrong = got != expected
    if wrong.any():
        idx = tuple(np.argwhere(wrong)[0])
        names = ("finite", "NaN", "+inf", "-inf")
        raise Mismatch(f"y[{','.join(map(str, idx))}]={y[idx]:.6g}, but should be {names[expected[idx]]} as in "
                       f"the reference [{call}]", name="y", stage="inf", bad=wrong)

