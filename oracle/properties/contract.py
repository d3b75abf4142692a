"""What the contract asks beyond the values: shapes and dtypes, inputs never modified, fresh results."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, grads, invoke, run
from oracle.properties.compare import Mismatch, check_shape_dtype
from oracle.targets.variant import Variant, shares_memory


def shapes_and_dtypes(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y (N, H_out, W_out, C_out)``; ``dx``, ``dw``, ``db`` shaped like ``x``, ``w``, ``(C_out,)``; all in the
    storage dtype (in the accumulation format for a variant that declares it does not round its results)."""
    h_out, w_out = case.geometry.out
    n, c_out = case.x.shape[0], case.w.shape[3]
    dtype = case.computation.result_dtype
    y = run(variant, case, "conv2d", case.x, case.w, case.b)
    check_shape_dtype("y", y, (n, h_out, w_out, c_out), dtype, call_text(case, "conv2d"))
    if variant.offers("conv2d_backward"):
        call = call_text(case, "conv2d_backward")
        for name, value, shape in zip(("dx", "dw", "db"), grads(variant, case), (case.x.shape, case.w.shape,
                                                                               (c_out,))):
            check_shape_dtype(name, value, shape, dtype, call)


def _inputs(case: ConvCase) -> dict[str, np.ndarray]:
    arrays = {"x": case.x, "w": case.w, "dy": case.dy}
    if case.b is not None:
        arrays["b"] = case.b
    return arrays


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality where NaN equals NaN, for any float dtype (bfloat16 included)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 == b64) | (np.isnan(a64) & np.isnan(b64))


def inputs_unmodified(variant: Variant, case: ConvCase, reference: Any) -> None:
    """No input array is changed by ``conv2d`` or ``conv2d_backward`` (checked on the arrays as the variant
    receives them, in its own layout)."""
    calls = [("conv2d", ("x", "w", "b"), (case.x, case.w, case.b))]
    if variant.offers("conv2d_backward"):
        calls.append(("conv2d_backward", ("dy", "x", "w"), (case.dy, case.x, case.w)))
    for function, names, args in calls:
        passed = variant.arguments(function, tuple(None if a is None else a.copy() for a in args))
        before = [None if a is None else a.copy() for a in passed]
        invoke(variant, case, function, passed)
        for name, value, old in zip(names, passed, before):
            if value is None or _same(value, old).all():
                continue
            idx = tuple(np.argwhere(~_same(value, old))[0])
            where = ",".join(map(str, idx))
            layout = "" if variant.support.layout == "NHWC" else f" (in its layout {variant.support.layout})"
            raise Mismatch(f"{function} modified its input: {name}[{where}]={float(value[idx]):.6g}, but was "
                           f"{float(old[idx]):.6g}{layout} [{call_text(case, function)}]", name=name,
                           stage="modified")


def fresh_results(variant: Variant, case: ConvCase, reference: Any) -> None:
    """Results alias no input, and a second call with other data leaves the first call's results unchanged."""
    first: dict[str, np.ndarray] = {"y": run(variant, case, "conv2d", case.x, case.w, case.b)}
    if variant.offers("conv2d_backward"):
        first.update(zip(("dx", "dw", "db"), grads(variant, case)))
    for name, value in first.items():
        for input_name, array in _inputs(case).items():
            if isinstance(value, np.ndarray) and shares_memory(value, array):
                raise Mismatch(f"{name} shares memory with the input {input_name} [{call_text(case, 'conv2d')}]",
                               name=name, stage="aliased")
    kept = {k: np.array(v, copy=True) for k, v in first.items()}
    other = case.replace(x=(case.x * -2 + 1).astype(case.dtype), w=(case.w * 3 - 1).astype(case.dtype),
                         dy=(case.dy * -1 + 2).astype(case.dtype),
                         b=None if case.b is None else (case.b + 1).astype(case.dtype))
    run(variant, other, "conv2d", other.x, other.w, other.b)
    if variant.offers("conv2d_backward"):
        grads(variant, other)
    for name, value in first.items():
        if not isinstance(value, np.ndarray) or value.shape != kept[name].shape:
            continue
        changed = ~_same(value, kept[name])
        if changed.any():
            idx = tuple(np.argwhere(changed)[0])
            where, was = ",".join(map(str, idx)), float(kept[name][idx])
            raise Mismatch(f"{name}[{where}] of a first call changed from {was:.6g}"
                           f" to {float(value[idx]):.6g} when the variant was called again with other data: the "
                           f"result is a reused buffer [{call_text(case, 'conv2d')}]", name=name, stage="reused")
