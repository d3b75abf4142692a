"""Comparing a result with the truth: shape, then dtype, then values, each stage named in one failure line.

A failure reads like ``dw[3,1,0,2]=0.51, but should be 0.49 (|err| 2.1e-02 > bound 1.4e-05) [call]``: the
first differing element, its value, the truth, the error against its own bound, and the call that made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from oracle.reference.tolerance import INF, MAYBE_INF, Bound
from oracle.reference.truth import Expected


class Mismatch(AssertionError):
    """A result that is not what it should be. ``line`` is the one-line verdict; ``bad`` marks every element
    outside its bound (None when the shape or dtype was already wrong).

    Some properties say more: ``values`` ``(actual, expected, bound)`` for a value mismatch; ``raised_at``, where the
    variant raised (the innermost frame in its own code), ``library_at``, the innermost frame of all where that is
    another (a library's); ``died``, the `oracle.targets.variant.VariantDied` of a call that ended the process
    running it (stage ``"died"``); ``table``, the failing rows of the bad-input table; ``case`` and ``step``, the
    call of a call history sequence that failed (another case than the property's own) and its index; ``alone``, a
    memory-layouts or call-history failure that contiguous arguments, or a fresh call, show too (the property's
    own condition did not cause it)."""

    def __init__(self, line: str, *, name: str, stage: str, bad: np.ndarray | None = None,
                 values: tuple[np.ndarray, np.ndarray, Bound] | None = None, raised_at: str | None = None,
                 library_at: str | None = None, died: Any = None):
        super().__init__(line)
        self.line, self.name, self.stage, self.bad = line, name, stage, bad
        self.values = values
        self.raised_at, self.library_at, self.died = raised_at, library_at, died
        self.table: list | None = None
        self.case: Any = None
        self.step: int | None = None
        self.alone = False  # a layout or history property's failure that the plain call shows too
        self.layouts = SHOWN_LAYOUT.get()  # the layout its indices are shown in
        self.arranged: tuple[str, tuple[str, ...]] | None = None  # memory layouts: the layout, and of which arguments

    def __reduce__(self):
        return _rebuilt, (self.line, self.name, self.stage, self.__dict__)

    def retitle(self, line: str) -> Mismatch:
        """Replace the one-line verdict (keeping everything else)."""
        self.line = line
        self.args = (line,)
        return self

    def differences(self, limit: int = 10) -> list[str]:
        """One line per differing element (the first ``limit``): index, value, truth, error and bound."""
        if self.bad is None or self.values is None:
            return []
        actual, expected, bound = self.values
        lines = []
        for idx in map(tuple, np.argwhere(self.bad)[:limit]):
            with np.errstate(invalid="ignore"):
                err = abs(actual[idx] - expected[idx])
            lines.append(f"{_named(self.name, idx, self.layouts)} = {actual[idx]:.9g}, should be "
                         f"{_should(expected, bound, idx)} "
                         f"(|err| {err:.1e}, bound {bound.describe(idx)})")
        more = int(self.bad.sum()) - len(lines)
        return lines + ([f"... and {more} more"] if more > 0 else [])


def _rebuilt(line: str, name: str, stage: str, state: dict[str, Any]) -> Mismatch:
    """A `Mismatch` from its pickled state (it crosses processes when properties run in parallel)."""
    mismatch = Mismatch(line, name=name, stage=stage)
    mismatch.__dict__.update(state)
    return mismatch


SHOWN_LAYOUT: ContextVar[tuple[str, str] | None] = ContextVar("shown_layout", default=None)
"""The layout a variant declares (activation and weight letters), while it is judged: failure lines then give
indices and shapes in it, the contract's following in brackets (None: the contract's own)."""


@contextmanager
def shown_in(layouts: tuple[str, str]) -> Iterator[None]:
    """Failures met meanwhile speak the variant's layout (``("NCHW", "OIHW")``), where it is not the contract's."""
    token = SHOWN_LAYOUT.set(None if layouts == ("NHWC", "HWIO") else layouts)
    try:
        yield
    finally:
        SHOWN_LAYOUT.reset(token)


def _in_layout(name: str, values: tuple[int, ...], layouts: tuple[str, str] | None) -> tuple[int, ...] | None:
    """A result's index or shape (in the contract's layout) in the variant's; None where it is the same."""
    if layouts is None or len(values) != 4:
        return None
    contract, letters = ("HWIO", layouts[1]) if name in ("w", "dw") else ("NHWC", layouts[0])
    return tuple(values[contract.index(letter)] for letter in letters)


def _index(idx: tuple[int, ...]) -> str:
    return ",".join(str(int(i)) for i in idx)


def _named(name: str, idx: tuple[int, ...], layouts: tuple[str, str] | None) -> str:
    """``y[0,1,0,0]``, or in a declared layout ``y[0,1,0,0] (NHWC y[0,0,1,0])``."""
    shown = _in_layout(name, idx, layouts)
    if shown is None:
        return f"{name}[{_index(idx)}]"
    contract = "HWIO" if name in ("w", "dw") else "NHWC"
    return f"{name}[{_index(shown)}] ({contract} {name}[{_index(idx)}])"


def _should(expected: np.ndarray, bound: Bound, idx: tuple[int, ...]) -> str:
    value = float(expected[idx])
    if bound.inf is not None and bound.inf[idx] == INF:
        return f"{'-' if value < 0 else '+'}inf (the exact {value:.6g} overflows)"
    if bound.inf is not None and bound.inf[idx] == MAYBE_INF:
        return f"{value:.6g} or inf (near the overflow)"
    return f"{value:.6g}"


def check_shape_dtype(name: str, actual: object, shape: tuple[int, ...], dtype: np.dtype, call: str) -> None:
    if not isinstance(actual, np.ndarray):
        raise Mismatch(
            f"{name} is a {type(actual).__name__}, but should be a numpy.ndarray [{call}]", name=name, stage="type"
        )
    if actual.shape != tuple(shape):
        layouts = SHOWN_LAYOUT.get()
        got, want = _in_layout(name, actual.shape, layouts), _in_layout(name, tuple(shape), layouts)
        if got is not None and want is not None:
            contract = "HWIO" if name in ("w", "dw") else "NHWC"
            raise Mismatch(f"{name}.shape={got}, but should be {want} ({contract}: {actual.shape}, but should be "
                           f"{tuple(shape)}) [{call}]", name=name, stage="shape")
        raise Mismatch(f"{name}.shape={actual.shape}, but should be {tuple(shape)} [{call}]", name=name,
                       stage="shape")
    if actual.dtype != dtype:
        raise Mismatch(f"{name}.dtype={actual.dtype}, but should be {np.dtype(dtype)} [{call}]", name=name,
                       stage="dtype")


def within(actual: np.ndarray, expected: np.ndarray, bound: Bound) -> np.ndarray:
    """Elementwise: ``|actual - expected| <= bound``, NaN meets NaN, and inf where `Bound.inf` asks for or allows it."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(a - e) <= bound.total) | (np.isnan(a) & np.isnan(e)) | (a == e)
    if bound.inf is not None:
        signed_inf = np.isinf(a) & (np.sign(a) == np.sign(e))
        ok = np.where(bound.inf == INF, signed_inf, ok)
        ok |= (bound.inf == MAYBE_INF) & (signed_inf | np.isnan(a) | np.isinf(a))
    return ok


def assert_close(name: str, actual: object, expected: Expected | np.ndarray, bound: np.ndarray | None = None, *,
                 dtype: np.dtype | None = None, call: str = "") -> None:
    """Fail with a `Mismatch` unless ``actual`` has ``expected``'s shape and dtype, and every element is within its
    bound of ``expected`` (NaN must meet NaN; a bound of 0 asks for equality; inf where overflow asks for it).

    ``expected`` is an `oracle.reference.truth.Expected` (it carries its bound and dtype), or an array with its
    ``bound`` (an array broadcasting to it) and ``dtype`` given.
    """
    if isinstance(expected, Expected):
        value, limits, dtype = expected.value, expected.bound, expected.dtype
    else:
        if bound is None or dtype is None:
            raise TypeError("assert_close needs bound= and dtype= when expected is an array; "
                            f"got bound={'None' if bound is None else 'an array'}, dtype={dtype!r}")
        value = np.asarray(expected, dtype=np.float64)
        limits = Bound(np.broadcast_to(np.asarray(bound, dtype=np.float64), value.shape))
    check_shape_dtype(name, actual, value.shape, np.dtype(dtype), call)
    ok = within(actual, value, limits)
    if ok.all():
        return
    a = np.asarray(actual, dtype=np.float64)
    bad = ~ok
    first = tuple(np.argwhere(bad)[0])
    with np.errstate(invalid="ignore"):
        err = abs(a[first] - value[first])
    total = np.broadcast_to(limits.total, value.shape)
    limits = Bound(total, {k: np.broadcast_to(v, value.shape) for k, v in limits.parts.items()}, limits.inf)
    line = (f"{_named(name, first, SHOWN_LAYOUT.get())}={a[first]:.6g}, but should be {_should(value, limits, first)} "
            f"(|err| {err:.1e} > bound {limits.describe(first)}) [{call}]")
    raise Mismatch(line, name=name, stage="values", bad=bad, values=(a, value, limits))


def describe_call(function: str, x_shape, w_shape, options: dict, *, dtype, bias: bool | None = None) -> str:
    """``conv2d(x.shape=(2, 5, 5, 3), w.shape=(3, 3, 3, 4), float32, stride=(2, 1), padding=...)``; the shapes in
    the layout the variant declares, where it is judged in one (`shown_in`), the contract's following."""
    layouts = SHOWN_LAYOUT.get()
    shapes = []
    for name, shape in (("x", tuple(x_shape)), ("w", tuple(w_shape))):
        shown = _in_layout(name, shape, layouts)
        shapes.append(f"{name}.shape={shape}" if shown is None else
                      f"{name}.shape={shown} ({'HWIO' if name == 'w' else 'NHWC'} {shape})")
    parts = [*shapes, np.dtype(dtype).name]
    if bias is not None and function == "conv2d":
        parts.append("bias" if bias else "no bias")
    parts += [f"{k}={v!r}" for k, v in options.items()]
    return f"{function}({', '.join(parts)})"
