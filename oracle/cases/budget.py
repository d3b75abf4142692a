"""A budget of distinct shapes, for variants that compile per shape.

XLA (JAX), ``torch.compile``, TVM and Triton compile a kernel for every new shape, dtype and set of options, so a
check that draws a new shape for every case spends its time compiling (JAX's default check: minutes per property).
A variant that declares ``"shapes": K`` gets, per property and dtype, the shapes of at most ``K`` cases: those of
the named edge cases (`oracle.cases.edge_cases`), then of the block sweep (`oracle.cases.sweep`), in their order,
each as the declaration fits it. Every generated case takes one of those shapes, its options and its bias or none;
its values (exact or real, their magnitude, where a NaN goes, its memory layout) are drawn freely. The named edge
cases and the sweep run as always: their shapes are the budget's, so they compile nothing new.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st

from oracle.cases.edge_cases import edge_case_examples
from oracle.cases.strategies import (
    conv_cases,
    draw_array,
    draw_magnitude,
    draw_nan_and_memory,
    dtypes_in_draw_order,
    precision_of,
)
from oracle.cases.sweep import sweep_cases, transposed_sweep_cases
from oracle.cases.transposed import transposed_cases, transposed_edge_case_examples
from oracle.targets.support import Support

_POOLS: dict[tuple[str, tuple[str, ...], str, bool], list[Any]] = {}


def _signature(case: Any) -> tuple[Any, ...]:
    """What a compiler specializes on: the arrays' shapes, the bias or none, and every option."""
    options = {k: getattr(case, k) for k in ("stride", "padding", "dilation", "groups", "output_padding")
               if hasattr(case, k)}
    return (case.x.shape, case.w.shape, case.b is None, case.dy.shape, repr(sorted(options.items())))


def shape_pool(declared: Support, functions: tuple[str, ...], dtype: str, transposed: bool = False) -> list[Any]:
    """The cases whose shapes a budget draws from, for ``functions`` in ``dtype``, at most ``shapes`` of them
    (``declared.shapes`` as resolved for these functions; all of them where it is None)."""
    key = (repr(declared), tuple(functions), dtype, transposed)
    if key not in _POOLS:
        narrowed = declared.replace(dtypes=(dtype,))
        if transposed:
            named = transposed_edge_case_examples(narrowed, functions) + transposed_sweep_cases(narrowed, functions)
        else:
            named = edge_case_examples(narrowed, functions) + sweep_cases(narrowed, functions)
        seen: dict[tuple[Any, ...], Any] = {}
        for _, case in named:
            seen.setdefault(_signature(case), case)
        _POOLS[key] = list(seen.values())
    budget = declared.resolved(functions, dtype).shapes
    return _POOLS[key] if budget is None else _POOLS[key][:budget]


def within_budget(support: Support, functions: tuple[str, ...], *, transposed: bool = False,
                  exact: bool | None = None) -> st.SearchStrategy[Any]:
    """Cases inside ``support`` for ``functions`` (`ConvCase`, or `TransposedCase` where ``transposed``) whose
    shapes are those of the budget ``support.shapes`` declares, per dtype; every case a new shape where it declares
    none (then it is `conv_cases` or `transposed_cases` itself)."""
    if all(support.resolved(functions, d).shapes is None for d in support.dtypes):
        return (transposed_cases if transposed else conv_cases)(support=support, functions=functions, exact=exact)
    return _within_budget(support, tuple(functions), transposed, exact)


@st.composite
def _within_budget(draw: Any, support: Support, functions: tuple[str, ...], transposed: bool,
                   exact: bool | None) -> Any:
    dtype = draw(st.sampled_from(dtypes_in_draw_order(support)), label="dtype")
    pool = shape_pool(support, functions, dtype, transposed)
    if support.resolved(functions, dtype).shapes is None or not pool:
        one = support.replace(dtypes=(dtype,))
        return draw((transposed_cases if transposed else conv_cases)(support=one, functions=functions, exact=exact))
    template = draw(st.sampled_from(pool), label="shape (of the declared budget)")
    is_exact = draw(st.booleans(), label="exact values") if exact is None else exact
    precision = precision_of(support, dtype, "conv_transpose2d" if transposed else "conv2d")
    return revalued(draw, template, is_exact, draw_magnitude(draw, precision, is_exact))


def revalued(draw: Any, template: Any, exact: bool, scale: float = 1.0) -> Any:
    """``template`` (a case of the pool) with new values drawn for ``x``, ``w``, ``b`` and ``dy`` (inside an
    ``@st.composite`` strategy, whose ``draw`` it takes), a new place for the NaN and a new memory layout."""
    dtype = template.x.dtype
    x = draw_array(draw, "x", template.x.shape, dtype, exact, scale)
    w = draw_array(draw, "w", template.w.shape, dtype, exact, scale)
    b = None if template.b is None else draw_array(draw, "b", template.b.shape, dtype, exact, scale)
    dy = draw_array(draw, "dy", template.dy.shape, dtype, exact, scale)
    nan_at, memory = draw_nan_and_memory(draw, x.shape)
    return template.replace(x=x, w=w, b=b, dy=dy, exact=exact, nan_at=nan_at, memory=memory)


__all__ = ["revalued", "shape_pool", "within_budget"]
