"""Calling a variant on a case: an exception it raises on a valid case is itself a failure."""

from __future__ import annotations

from typing import Any

from oracle.cases.strategies import ConvCase
from oracle.properties.compare import Mismatch, describe_call
from oracle.targets.variant import Variant


def call_text(case: ConvCase, function: str) -> str:
    return describe_call(function, case.x.shape, case.w.shape, case.options, dtype=case.dtype,
                         bias=case.b is not None)


def exact(variant: Variant, case: ConvCase) -> bool:
    return case.exact and variant.support.error == "elementwise"


def run(variant: Variant, case: ConvCase, function: str, *args: Any, **kwargs: Any) -> Any:
    """Call the variant; an exception it raises on a valid case is itself a failure."""
    fn = variant.conv2d if function == "conv2d" else variant.conv2d_backward
    try:
        return fn(*args, **case.options, **kwargs)
    except Exception as error:
        raise Mismatch(f"{function} raised {type(error).__name__}: {error} [{call_text(case, function)}]",
                       name=function, stage="raised") from error


def grads(variant: Variant, case: ConvCase, x=None, w=None, dy=None) -> tuple[Any, Any, Any]:
    x = case.x if x is None else x
    w = case.w if w is None else w
    dy = case.dy if dy is None else dy
    grads = run(variant, case, "conv2d_backward", dy, x, w)
    try:
        dx, dw, db = grads
    except (TypeError, ValueError):
        raise Mismatch(f"conv2d_backward returned {type(grads).__name__}, but should return (dx, dw, db) "
                       f"[{call_text(case, 'conv2d_backward')}]", name="grads", stage="type") from None
    return dx, dw, db


