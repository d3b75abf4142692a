"""Calling a variant on a case: an exception it raises on a valid case is itself a failure, reported with the
file and line in the variant's own code where it was raised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.properties.compare import Mismatch, describe_call
from oracle.targets.variant import Arrange, RemoteError, Variant, VariantDied, innermost_frame


def operation(case: Any) -> str:
    """The function a case is of: ``"conv2d"``, or ``"conv_transpose2d"`` for a transposed case."""
    return "conv_transpose2d" if hasattr(case, "output_padding") else "conv2d"


def call_text(case: ConvCase, function: str) -> str:
    """``conv2d(x.shape=..., w.shape=..., float32, bias, stride=..., ...)`` for a failure line."""
    return describe_call(function, case.x.shape, case.w.shape, case.options, dtype=case.dtype,
                         bias=case.b is not None)


def exact(case: ConvCase) -> bool:
    """Whether the case's values are exact and the variant is judged element by element (a normwise method is
    never exact)."""
    return case.exact and case.computation.error == "elementwise"


def invoke(variant: Variant, case: ConvCase, function: str, passed: list[Any]) -> Any:
    """Call the variant's own ``function`` on arguments already in its layout; what it raises on a valid case
    (``SystemExit`` included) becomes a `Mismatch` that says where, and so does a call that crashed, exited or hung
    the worker process running it (stage ``"died"``). numpy's floating-point warnings are silenced: the oracle feeds
    NaN, inf and values past float16's range on purpose, and judges the results instead."""
    try:
        with np.errstate(all="ignore"):
            return variant.functions[function](*passed, **case.options)
    except VariantDied as died:
        at = f" at {died.where}" if died.where else ""
        verb = "gave " if died.hung else ""
        raise Mismatch(f"{function} {verb}{died.how}{at} [{call_text(case, function)}]", name=function,
                       stage="died", raised_at=died.where, died=died) from None
    except (Exception, SystemExit) as error:
        if isinstance(error, RemoteError):  # raised in a worker process, which found both frames
            where, library = error.raised_at, error.library_at
        else:
            where, library = variant.origin.raised_at(error.__traceback__), innermost_frame(error.__traceback__)
            library = None if library == where else library
        at = f" at {where}" if where else ""
        raise Mismatch(f"{function} raised {type(error).__name__}: {error}{at} [{call_text(case, function)}]",
                       name=function, stage="raised", raised_at=where, library_at=library) from error


def run(variant: Variant, case: ConvCase, function: str, *args: Any,
        arrange: Arrange | Sequence[Arrange | None] | None = None) -> Any:
    """``function`` on contract-layout ``args`` (each passed through ``arrange`` in the variant's layout), its
    results back in the contract's layout."""
    return variant.results(function, invoke(variant, case, function, variant.arguments(function, args, arrange)))


def grads(variant: Variant, case: ConvCase, dy: np.ndarray | None = None, x: np.ndarray | None = None,
          w: np.ndarray | None = None, arrange: Arrange | Sequence[Arrange | None] | None = None
          ) -> tuple[Any, Any, Any]:
    """``(dx, dw, db)`` of ``conv2d_backward`` (``conv_transpose2d_backward`` for a transposed case), the case's
    arrays unless others are given."""
    dy = case.dy if dy is None else dy
    x = case.x if x is None else x
    w = case.w if w is None else w
    function = f"{operation(case)}_backward"
    returned = run(variant, case, function, dy, x, w, arrange=arrange)
    if not (isinstance(returned, tuple) and len(returned) == 3):
        raise Mismatch(f"{function} returned {type(returned).__name__}, but should return (dx, dw, db) "
                       f"[{call_text(case, function)}]", name="grads", stage="type")
    return returned
