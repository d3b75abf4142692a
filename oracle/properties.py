"""The properties a convolution must have, each a function ``check(variant, case, reference)`` that returns
quietly or raises `oracle.compare.Mismatch` with one line saying what differed.

They are the same whether run by the test suite (``tests/test_properties.py``) or by ``conv-oracle check``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle import tolerance
from oracle.bad_inputs import BAD_INPUTS
from oracle.compare import Mismatch, assert_close, check_shape_dtype, describe_call
from oracle.reference import truth
from oracle.strategies import ConvCase
from oracle.variant import Variant


def _call(case: ConvCase, function: str) -> str:
    return describe_call(function, case.x.shape, case.w.shape, case.options, dtype=case.dtype,
                         bias=case.b is not None)


def _exact(variant: Variant, case: ConvCase) -> bool:
    return case.exact and variant.support.error == "elementwise"


def _run(variant: Variant, case: ConvCase, function: str, *args: Any, **kwargs: Any) -> Any:
    """Call the variant; an exception it raises on a valid case is itself a failure."""
    fn = variant.conv2d if function == "conv2d" else variant.conv2d_backward
    try:
        return fn(*args, **case.options, **kwargs)
    except Exception as error:
        raise Mismatch(f"{function} raised {type(error).__name__}: {error} [{_call(case, function)}]",
                       name=function, stage="raised") from error


def _grads(variant: Variant, case: ConvCase, x=None, w=None, dy=None) -> tuple[Any, Any, Any]:
    x = case.x if x is None else x
    w = case.w if w is None else w
    dy = case.dy if dy is None else dy
    grads = _run(variant, case, "conv2d_backward", dy, x, w)
    try:
        dx, dw, db = grads
    except (TypeError, ValueError):
        raise Mismatch(f"conv2d_backward returned {type(grads).__name__}, but should return (dx, dw, db) "
                       f"[{_call(case, 'conv2d_backward')}]", name="grads", stage="type") from None
    return dx, dw, db


def forward(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y`` equals the reference's within each element's bound (exactly, for exact values)."""
    t = truth(reference, case.x, case.w, case.b, None, case.options, exact=_exact(variant, case),
              error=variant.support.error)
    y = _run(variant, case, "conv2d", case.x, case.w, case.b)
    assert_close("y", y, t.y, t.y_bound, dtype=case.dtype, call=_call(case, "conv2d"))


def _gradient(which: int) -> Callable[[Variant, ConvCase, Any], None]:
    name = "dx dw db".split()[which]

    def check(variant: Variant, case: ConvCase, reference: Any) -> None:
        t = truth(reference, case.x, case.w, case.b, case.dy, case.options, exact=_exact(variant, case),
                  error=variant.support.error)
        actual = _grads(variant, case)[which]
        expected = (t.dx, t.dw, t.db)[which]
        bound = (t.dx_bound, t.dw_bound, t.db_bound)[which]
        assert_close(name, actual, expected, bound, dtype=case.dtype, call=_call(case, "conv2d_backward"))

    check.__name__ = name
    check.__doc__ = f"``{name}`` equals the reference's (autograd) within each element's bound."
    return check


def adjoint(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``<conv2d(x, w), dy> = <x, dx> = <w, dw>``: the backward pass is the adjoint of the forward, with no
    reference answer needed. Exact for exact values; otherwise within the sum of the bounds of the results
    involved, which all reduce to ``S = <conv(|x|, |w|), |dy|>`` (see `oracle.tolerance`)."""
    y = _run(variant, case, "conv2d", case.x, case.w, None)
    dx, dw, _ = _grads(variant, case)
    for name, value, like in (("y", y, case.dy), ("dx", dx, case.x), ("dw", dw, case.w)):
        check_shape_dtype(name, value, like.shape, case.dtype, _call(case, "conv2d_backward"))
    f64 = np.float64
    forward_side = math.fsum((y.astype(f64) * case.dy.astype(f64)).ravel())
    sides = {"<x, dx>": math.fsum((case.x.astype(f64) * dx.astype(f64)).ravel()),
             "<w, dw>": math.fsum((case.w.astype(f64) * dw.astype(f64)).ravel())}
    budget = tolerance.budget(case.x.shape, case.w.shape, case.geometry.out, case.groups, False)
    u, u64 = tolerance.unit_roundoff(case.dtype), tolerance.unit_roundoff(f64)
    s = 0.0
    if not _exact(variant, case):
        s = math.fsum((reference.conv2d(np.abs(case.x), np.abs(case.w), None, **case.options)
                       * np.abs(case.dy.astype(f64))).ravel())
    for side, value in sides.items():
        n_side = budget.dx if side == "<x, dx>" else budget.dw
        bound = 0.0 if _exact(variant, case) else (
            (tolerance.gamma(budget.y, u) + tolerance.gamma(n_side, u) + 4 * u64) * s
            + (budget.y + n_side) * float(np.finfo(case.dtype).tiny) * case.dy.size
        )
        if not abs(forward_side - value) <= bound:
            bound_text = "0 (exact)" if bound == 0 else f"{bound:.1e}"
            raise Mismatch(
                f"{side}={value:.9g}, but should be <conv2d(x, w), dy>={forward_side:.9g} "
                f"(|err| {abs(forward_side - value):.1e} > bound {bound_text}) [{_call(case, 'conv2d_backward')}]",
                name=side, stage="adjoint")


def shapes_and_dtypes(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y (N, H_out, W_out, C_out)``; ``dx``, ``dw``, ``db`` shaped like ``x``, ``w``, ``(C_out,)``; all in the
    inputs' dtype."""
    h_out, w_out = case.geometry.out
    n, c_out = case.x.shape[0], case.w.shape[3]
    y = _run(variant, case, "conv2d", case.x, case.w, case.b)
    check_shape_dtype("y", y, (n, h_out, w_out, c_out), case.dtype, _call(case, "conv2d"))
    if variant.conv2d_backward is not None:
        call = _call(case, "conv2d_backward")
        for name, value, shape in zip(("dx", "dw", "db"), _grads(variant, case),
                                      (case.x.shape, case.w.shape, (c_out,))):
            check_shape_dtype(name, value, shape, case.dtype, call)


def _inputs(case: ConvCase) -> dict[str, np.ndarray]:
    arrays = {"x": case.x, "w": case.w, "dy": case.dy}
    if case.b is not None:
        arrays["b"] = case.b
    return arrays


def inputs_unmodified(variant: Variant, case: ConvCase, reference: Any) -> None:
    """No input array is changed by ``conv2d`` or ``conv2d_backward``."""
    arrays = {k: v.copy() for k, v in _inputs(case).items()}
    before = {k: v.copy() for k, v in arrays.items()}
    calls = [("conv2d", (arrays["x"], arrays["w"], arrays.get("b")))]
    if variant.conv2d_backward is not None:
        calls.append(("conv2d_backward", (arrays["dy"], arrays["x"], arrays["w"])))
    for function, args in calls:
        _run(variant, case, function, *args)
        for name, value in arrays.items():
            if not np.array_equal(value, before[name], equal_nan=True):
                idx = tuple(np.argwhere(~((value == before[name]) | (np.isnan(value) & np.isnan(before[name]))))[0])
                where = ",".join(map(str, idx))
                raise Mismatch(f"{function} modified its input: {name}[{where}]={value[idx]:.6g}, but was "
                               f"{before[name][idx]:.6g} [{_call(case, function)}]", name=name, stage="modified")


def fresh_results(variant: Variant, case: ConvCase, reference: Any) -> None:
    """Results alias no input, and a second call with other data leaves the first call's results unchanged."""
    first: dict[str, np.ndarray] = {"y": _run(variant, case, "conv2d", case.x, case.w, case.b)}
    if variant.conv2d_backward is not None:
        first.update(zip(("dx", "dw", "db"), _grads(variant, case)))
    for name, value in first.items():
        for input_name, array in _inputs(case).items():
            if isinstance(value, np.ndarray) and np.shares_memory(value, array):
                raise Mismatch(f"{name} shares memory with the input {input_name} [{_call(case, 'conv2d')}]",
                               name=name, stage="aliased")
    kept = {k: np.array(v, copy=True) for k, v in first.items()}
    x2, w2, dy2 = case.x * -2 + 1, case.w * 3 - 1, case.dy * -1 + 2
    b2 = None if case.b is None else case.b + 1
    _run(variant, case, "conv2d", x2, w2, b2)
    if variant.conv2d_backward is not None:
        _grads(variant, case, x2, w2, dy2)
    for name, value in first.items():
        if not np.array_equal(value, kept[name], equal_nan=True):
            idx = tuple(np.argwhere(value != kept[name])[0])
            raise Mismatch(f"{name}[{','.join(map(str, idx))}] of a first call changed from {kept[name][idx]:.6g} "
                           f"to {value[idx]:.6g} when the variant was called again with other data: the result "
                           f"is a reused buffer [{_call(case, 'conv2d')}]", name=name, stage="reused")


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
        y = _run(variant, case, "conv2d", x, case.w, case.b)
    call = _call(case, "conv2d") + f" with x[{','.join(map(str, case.nan_at))}]=nan"
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
        y = _run(variant, case, "conv2d", x, case.w, case.b)
    call = _call(case, "conv2d") + f" with x[{','.join(map(str, case.nan_at))}]=inf"
    check_shape_dtype("y", y, expected.shape, case.dtype, call)
    got = _ieee_class(y)
    wrong = got != expected
    if wrong.any():
        idx = tuple(np.argwhere(wrong)[0])
        names = ("finite", "NaN", "+inf", "-inf")
        raise Mismatch(f"y[{','.join(map(str, idx))}]={y[idx]:.6g}, but should be {names[expected[idx]]} as in "
                       f"the reference [{call}]", name="y", stage="inf", bad=wrong)


def references_agree(reference: Any, other: Any, case: ConvCase) -> None:
    """The oracle's own check: two references (PyTorch and naive) agree on the case within float64 bounds."""
    t = truth(reference, case.x, case.w, case.b, case.dy, case.options)
    o = truth(other, case.x, case.w, case.b, case.dy, case.options)
    for name in ("y", "dx", "dw", "db"):
        expected, actual = getattr(t, name), getattr(o, name)
        bound = getattr(t, f"{name}_bound") + getattr(o, f"{name}_bound")
        try:
            assert_close(name, actual, expected, bound, dtype=np.float64, call=_call(case, "conv2d_backward"))
        except Mismatch as error:
            error.line = f"ORACLE FAILURE: references {reference.name} and {other.name} disagree: {error.line}"
            error.args = (error.line,)
            raise


def bad_input(variant: Variant) -> None:
    """Every entry of design.md's bad-input table raises its exception, with a message naming the argument
    and the value (`oracle.bad_inputs`)."""
    for bad in BAD_INPUTS:
        if bad.backward and variant.conv2d_backward is None:
            continue
        try:
            bad.call(variant)
        except bad.error as error:
            if not re.search(bad.pattern, str(error)):
                raise Mismatch(f"{bad.name}: {type(error).__name__} {str(error)!r} does not name "
                               f"{' and '.join(map(repr, bad.words))}", name=bad.name, stage="message") from error
        except Exception as error:
            raise Mismatch(f"{bad.name}: raised {type(error).__name__}: {error}, but should raise "
                           f"{bad.error.__name__}", name=bad.name, stage="raised") from error
        else:
            raise Mismatch(f"{bad.name}: returned, but should raise {bad.error.__name__} naming "
                           f"{' and '.join(map(repr, bad.words))}", name=bad.name, stage="returned")


@dataclass(frozen=True)
class Property:
    name: str
    check: Callable[[Variant, ConvCase, Any], None]
    backward: bool = False
    nan: bool = False

    @property
    def doc(self) -> str:
        return " ".join((self.check.__doc__ or "").split())


PROPERTIES: tuple[Property, ...] = (
    Property("forward", forward),
    Property("dx", _gradient(0), backward=True),
    Property("dw", _gradient(1), backward=True),
    Property("db", _gradient(2), backward=True),
    Property("adjoint", adjoint, backward=True),
    Property("shapes and dtypes", shapes_and_dtypes),
    Property("inputs unmodified", inputs_unmodified),
    Property("fresh results", fresh_results),
    Property("NaN propagation", nan_propagation, nan=True),
    Property("inf propagation", inf_propagation, nan=True),
)
"""The case-driven properties, in report order. `bad_input` and `references_agree` run beside them."""


def applicable(prop: Property, variant: Variant) -> bool:
    return not (prop.backward and variant.conv2d_backward is None) and not (prop.nan and not variant.support.nan)
