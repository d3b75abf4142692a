"""What the contract asks beyond the values: shapes and dtypes, inputs never modified, fresh results."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, grads, run
from oracle.properties.compare import Mismatch, check_shape_dtype
from oracle.targets.variant import Variant


def shapes_and_dtypes(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y (N, H_out, W_out, C_out)``; ``dx``, ``dw``, ``db`` shaped like ``x``, ``w``, ``(C_out,)``; all in the
    inputs' dtype."""
    h_out, w_out = case.geometry.out
    n, c_out = case.x.shape[0], case.w.shape[3]
    y = run(variant, case, "conv2d", case.x, case.w, case.b)
    check_shape_dtype("y", y, (n, h_out, w_out, c_out), case.dtype, call_text(case, "conv2d"))
    if variant.conv2d_backward is not None:
        call = call_text(case, "conv2d_backward")
        for name, value, shape in zip(("dx", "dw", "db"), grads(variant, case),
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
        run(variant, case, function, *args)
        for name, value in arrays.items():
            if not np.array_equal(value, before[name], equal_nan=True):
                idx = tuple(np.argwhere(~((value == before[name]) | (np.isnan(value) & np.isnan(before[name]))))[0])
                where = ",".join(map(str, idx))
                raise Mismatch(f"{function} modified its input: {name}[{where}]={value[idx]:.6g}, but was "
                               f"{before[name][idx]:.6g} [{call_text(case, function)}]", name=name, stage="modified")


def fresh_results(variant: Variant, case: ConvCase, reference: Any) -> None:
    """Results alias no input, and a second call with other data leaves the first call's results unchanged."""
    first: dict[str, np.ndarray] = {"y": run(variant, case, "conv2d", case.x, case.w, case.b)}
    if variant.conv2d_backward is not None:
        first.update(zip(("dx", "dw", "db"), grads(variant, case)))
    for name, value in first.items():
        for input_name, array in _inputs(case).items():
            if isinstance(value, np.ndarray) and np.shares_memory(value, array):
                raise Mismatch(f"{name} shares memory with the input {input_name} [{call_text(case, 'conv2d')}]",
                               name=name, stage="aliased")
    kept = {k: np.array(v, copy=True) for k, v in first.items()}
    x2, w2, dy2 = case.x * -2 + 1, case.w * 3 - 1, case.dy * -1 + 2
    b2 = None if case.b is None else case.b + 1
    run(variant, case, "conv2d", x2, w2, b2)
    if variant.conv2d_backward is not None:
        grads(variant, case, x2, w2, dy2)
    for name, value in first.items():
        if not np.array_equal(value, kept[name], equal_nan=True):
            idx = tuple(np.argwhere(value != kept[name])[0])
            raise Mismatch(f"{name}[{','.join(map(str, idx))}] of a first call changed from {kept[name][idx]:.6g} "
                           f"to {value[idx]:.6g} when the variant was called again with other data: the result "
                           f"is a reused buffer [{call_text(case, 'conv2d')}]", name=name, stage="reused")

