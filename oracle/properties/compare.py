"""Comparing a result with the truth: shape, then dtype, then values, each stage named in one failure line.

A failure reads like ``dw[3,1,0,2]=0.51, but should be 0.49 (|err| 2.1e-02 > bound 1.4e-05) [call]``: the
first differing element, its value, the truth, the error against its own bound, and the call that made it.
"""

from __future__ import annotations

import numpy as np


class Mismatch(AssertionError):
    """A result that is not what it should be. ``line`` is the one-line verdict; ``bad`` marks every element
    outside its bound (None when the shape or dtype was already wrong)."""

    def __init__(self, line: str, *, name: str, stage: str, bad: np.ndarray | None = None,
                 values: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        super().__init__(line)
        self.line, self.name, self.stage, self.bad = line, name, stage, bad
        self.values = values  # (actual, expected, bound) as float64, for a value mismatch

    def differences(self, limit: int = 10) -> list[str]:
        """One line per differing element (the first ``limit``): index, value, truth, error and bound."""
        if self.bad is None or self.values is None:
            return []
        actual, expected, bound = self.values
        lines = []
        for idx in map(tuple, np.argwhere(self.bad)[:limit]):
            err = abs(actual[idx] - expected[idx])
            lines.append(f"{self.name}[{_index(idx)}] = {actual[idx]:.9g}, should be {expected[idx]:.9g} "
                         f"(|err| {err:.1e}, bound {bound[idx]:.1e})")
        more = int(self.bad.sum()) - len(lines)
        return lines + ([f"... and {more} more"] if more > 0 else [])


def _index(idx: tuple[int, ...]) -> str:
    return ",".join(str(int(i)) for i in idx)


def check_shape_dtype(name: str, actual: object, shape: tuple[int, ...], dtype: np.dtype, call: str) -> None:
    if not isinstance(actual, np.ndarray):
        raise Mismatch(
            f"{name} is a {type(actual).__name__}, but should be a numpy.ndarray [{call}]", name=name, stage="type"
        )
    if actual.shape != tuple(shape):
        raise Mismatch(f"{name}.shape={actual.shape}, but should be {tuple(shape)} [{call}]", name=name,
                       stage="shape")
    if actual.dtype != dtype:
        raise Mismatch(f"{name}.dtype={actual.dtype}, but should be {np.dtype(dtype)} [{call}]", name=name,
                       stage="dtype")


def assert_close(
    name: str, actual: object, expected: np.ndarray, bound: np.ndarray, *, dtype: np.dtype, call: str
) -> None:
    """Fail with a `Mismatch` unless ``actual`` has ``expected``'s shape, ``dtype``, and every
    ``|actual - expected| <= bound`` (NaN must meet NaN; a bound of 0 asks for equality)."""
    check_shape_dtype(name, actual, expected.shape, np.dtype(dtype), call)
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(a - e)
        ok = (err <= bound) | (np.isnan(a) & np.isnan(e)) | (a == e)
    if ok.all():
        return
    bad = ~ok
    first = tuple(np.argwhere(bad)[0])
    b = float(np.broadcast_to(bound, e.shape)[first])
    bound_text = "0 (exact)" if b == 0 else f"{b:.1e}"
    line = (
        f"{name}[{_index(first)}]={a[first]:.6g}, but should be {e[first]:.6g} "
        f"(|err| {err[first]:.1e} > bound {bound_text}) [{call}]"
    )
    raise Mismatch(line, name=name, stage="values", bad=bad,
                   values=(a, e, np.broadcast_to(np.asarray(bound, dtype=np.float64), e.shape)))


def describe_call(function: str, x_shape, w_shape, options: dict, *, dtype, bias: bool | None = None) -> str:
    """``conv2d(x.shape=(2, 5, 5, 3), w.shape=(3, 3, 3, 4), float32, stride=(2, 1), padding=...)``."""
    parts = [f"x.shape={tuple(x_shape)}", f"w.shape={tuple(w_shape)}", np.dtype(dtype).name]
    if bias is not None and function == "conv2d":
        parts.append("bias" if bias else "no bias")
    parts += [f"{k}={v!r}" for k, v in options.items()]
    return f"{function}({', '.join(parts)})"
