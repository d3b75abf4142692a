"""Memory: the same values in any memory layout give the same results, and no result depends on the calls made
before it."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.cases.layouts import LAYOUTS, MemoryLayout
from oracle.cases.strategies import ConvCase
from oracle.properties.calling import call_text, grads, operation, run
from oracle.properties.compare import Mismatch, assert_close
from oracle.reference.truth import Truth, truth_of
from oracle.targets.variant import Variant

ARGUMENTS = {"conv2d": ("x", "w", "b"), "conv2d_backward": ("dy", "x", "w"), "conv_transpose2d": ("x", "w", "b"),
             "conv_transpose2d_backward": ("dy", "x", "w")}
LAYOUT = {layout.name: layout for layout in LAYOUTS}


def _results(variant: Variant, case: ConvCase, function: str, arrange=None) -> dict[str, Any]:
    if not function.endswith("_backward"):
        return {"y": run(variant, case, function, case.x, case.w, case.b, arrange=arrange)}
    return dict(zip(("dx", "dw", "db"), grads(variant, case, arrange=arrange)))


def _check(variant: Variant, case: ConvCase, function: str, expected: Truth, arrange, suffix: str) -> None:
    for name, value in _results(variant, case, function, arrange).items():
        assert_close(name, value, expected[name], call=f"{call_text(case, function)} {suffix}")


def _only(layout: MemoryLayout, position: int) -> list:
    """``layout`` applied to the argument at ``position`` alone."""
    return [layout.arrange if i == position else None for i in range(3)]


def memory_layouts(variant: Variant, case: ConvCase, reference: Any) -> None:
    """Every argument handed over in the case's memory layout (a Fortran-ordered copy, a view of another layout's
    memory, a strided slice, a view with negative strides, odd strides on size-1 axes, or read-only) gives the
    results that contiguous arguments give: the reference's, within each element's bound. A failure names the
    argument that causes it; where contiguous arguments fail too, the layout is not the cause, and the failure says
    so (``alone``: it is the value properties' failure)."""
    forward = operation(case)
    functions = [forward] + ([f"{forward}_backward"] if variant.offers(f"{forward}_backward") else [])
    expected = truth_of(reference, case, backward=len(functions) > 1)
    for layout in (LAYOUT[case.memory],):
        for function in functions:
            every = ", ".join(a for a in ARGUMENTS[function] if not (a == "b" and case.b is None))
            try:
                _check(variant, case, function, expected, layout.arrange, f"with {every} each as {layout.words}")
            except Mismatch as failure:
                failure.arranged = (layout.name, tuple(every.split(", ")))
                _fresh(variant)
                try:
                    _check(variant, case, function, expected, None, "with contiguous arguments")
                except Mismatch as plain:
                    raise _not_the_cause(plain, "with contiguous arguments too: the layout is not the cause") \
                        from None
                raise _narrowed(variant, case, function, expected, layout) or failure from None


def _fresh(variant: Variant) -> None:
    """The next call in a fresh process where the variant is isolated (a fresh call, whatever ran before it)."""
    if variant.runtime is not None:
        variant.runtime.fresh()


def _not_the_cause(failure: Mismatch, why: str) -> Mismatch:
    """``failure``, marked as one that the property's own condition (a layout, a history) did not cause."""
    failure.alone = True
    line = failure.line
    if " [" in line and line.endswith("]"):
        said, call = line.rsplit(" [", 1)
        return failure.retitle(f"{said}, {why} [{call}")
    return failure.retitle(f"{line}, {why}")


def _narrowed(variant: Variant, case: ConvCase, function: str, expected: Truth, layout: MemoryLayout
              ) -> Mismatch | None:
    """The failure with ``layout`` on one argument alone, the first that fails so (None if none does)."""
    for position, name in enumerate(ARGUMENTS[function]):
        if name == "b" and case.b is None:
            continue
        try:
            _check(variant, case, function, expected, _only(layout, position), f"with {name} alone as {layout.words}")
        except Mismatch as failure:
            failure.arranged = (layout.name, (name,))
            return failure
    return None


def _other_values(case: ConvCase, seed: int, shape_of: ConvCase | None = None) -> ConvCase:
    """``case`` with other values (of the same kind: exact integers stay integers), shaped like ``shape_of``."""
    like = shape_of or case
    rng = np.random.default_rng(seed)

    def fresh(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        values = rng.integers(-3, 4, a.shape).astype(np.float64) if case.exact else rng.standard_normal(a.shape)
        return values.astype(case.dtype)

    return like.replace(x=fresh(like.x), w=fresh(like.w), b=fresh(like.b), dy=fresh(like.dy))


def history_sequence(case: ConvCase) -> list[tuple[str, ConvCase]]:
    """The calls of `call_history`, labelled for reports: the case, one of other shapes, then each shape again with
    other values (of ``conv2d``, or of ``conv_transpose2d`` for a transposed case)."""
    n, h, w, c = case.x.shape
    s_h, s_w = case.geometry.stride
    grown = case.replace(x=np.zeros((max(n, 1), h + s_h, w + s_w, c), dtype=case.dtype))
    grown = grown.replace(dy=np.zeros((max(n, 1), *grown.geometry.out, case.dy.shape[3]), dtype=case.dtype))
    other = _other_values(case, 1, grown)
    return [("the case", case),
            ("other shapes", other),
            ("the case's shapes again, other values", _other_values(case, 2)),
            ("the other shapes again, other values", _other_values(other, 3))]


JUDGED = (2, 3)
"""The calls of the sequence `call_history` judges: those whose shapes an earlier call of the sequence had. (A
first call is every other property's business; judged here, a failure could come from calls made before the
sequence, which a reproducer cannot replay.)"""


def call_history(variant: Variant, case: ConvCase, reference: Any) -> None:
    """Calls in sequence (the case, one of other shapes, then each shape again with other values): the repeated
    shapes give their own reference's results, not anything left by the call before them (stale buffers, caches
    keyed on shapes alone). A failure names the calls that led to it; its reproducer replays them. Where the failing
    call fails alone too, in a fresh call, the history is not the cause, and the failure says so (``alone``)."""
    forward = operation(case)
    functions = [forward] + ([f"{forward}_backward"] if variant.offers(f"{forward}_backward") else [])
    sequence = history_sequence(case)
    for step, (label, each) in enumerate(sequence):
        if step not in JUDGED:
            for function in functions:
                _results(variant, each, function)
            continue
        expected = truth_of(reference, each, backward=len(functions) > 1)
        for function in functions:
            try:
                _check(variant, each, function, expected, None, f"(call {step + 1} of {len(sequence)})")
            except Mismatch as failure:
                _fresh(variant)
                try:
                    _check(variant, each, function, expected, None, "(alone, in a fresh call)")
                except Mismatch as alone:
                    alone.case = each  # the call that fails, alone: no history to replay
                    raise _not_the_cause(alone, f"alone too, in a fresh call: not call {step + 1} of "
                                                f"{len(sequence)}'s history") from None
                failure.step, failure.case = step, each
                before = "; ".join(f"{i + 1}: {text}" for i, (text, _) in enumerate(sequence[:step]))
                raise failure.retitle(f"call {step + 1} of {len(sequence)} ({label}) is wrong after {before}: "
                                      f"{failure.line}") from None
