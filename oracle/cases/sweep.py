"""The block sweep: each dimension walked over the sizes where fast kernels block, the others minimal; for
``conv2d`` (`sweep_cases`) and for ``conv_transpose2d`` (`transposed_sweep_cases`).

A fast kernel processes channels, output columns, rows or images in blocks of 4, 8, 16 or more, and a size that
is not a multiple of the block leaves a tail that takes another path. The generated cases reach those sizes now
and then; the sweep reaches every one of them, every time, in seconds: C_in, C_out, groups, N, H_out, W_out over
`BLOCK_SIZES` (1-9, 15-17, 31-33, 63-65), KH and KW over 1-7, strides and dilations over 1-9 and 15-17, each pad
over 0-9 and 15-17. The minimal base is ``x (1, 3, 3, 1)``, ``w (2, 2, 1, 1)``, a 2x2 output, so that strides,
dilations and the kernel each change which pixels a window reads. Values are small integers (exact mode), so a
wrong element is wrong to the bit; in each dtype the variant takes.

The transposed sweep does the same around ``x (1, 2, 2, 1)``, ``w (2, 2, 1, 1)`` (a 3x3 output): C_in, C_out and
groups over `BLOCK_SIZES` (the tails around 8, 16, 32 and 64), the output rows and columns over them (ragged tiles of
the scatter), N, kernels, dilations, the crop of each side, and every stride with every output padding it allows
(each stride phase of the output, the rows no kernel tap reaches among them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from oracle.cases.strategies import BLOCK_SIZES, REACH, ConvCase, fit
from oracle.cases.transposed import TransposedCase, fit_transposed
from oracle.reference.precision import storage_dtype
from oracle.targets.support import Support


@dataclass(frozen=True)
class Shape:
    """One sweep point before values: sizes and options in the contract's terms."""

    n: int = 1
    h_out: int = 2
    w_out: int = 2
    c_in: int = 1
    c_out: int = 1
    groups: int = 1
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))

    def size(self) -> tuple[int, int]:
        """The input size that gives ``(h_out, w_out)``: ``(H_out - 1)*s + d*(K - 1) + 1 - pt - pb``, at least 1
        (where the padding alone makes more output rows than that, there are more)."""
        sizes = []
        for out, k, s, d, (before, after) in zip((self.h_out, self.w_out), self.kernel, self.stride, self.dilation,
                                                 self.pads):
            sizes.append(max(1, (out - 1) * s + d * (k - 1) + 1 - before - after))
        return sizes[0], sizes[1]


def _points(support: Support) -> Iterator[tuple[str, Shape]]:
    """``(label, shape)`` for every dimension and size."""
    for c in BLOCK_SIZES:
        yield f"C_in={c}", Shape(c_in=c)
        yield f"C_out={c}", Shape(c_out=c)
        yield f"groups={c}", Shape(c_in=c, c_out=c, groups=c)
        yield f"H_out={c}", Shape(h_out=c)
        yield f"W_out={c}", Shape(w_out=c)
    for n in sorted(set(REACH.batch)):
        yield f"N={n}", Shape(n=n)
    for k in sorted(set(REACH.kernel)):
        yield f"KH={k}", Shape(kernel=(k, 2))
        yield f"KW={k}", Shape(kernel=(2, k))
    for s in sorted(set(REACH.stride)):
        yield f"sh={s}", Shape(stride=(s, 1))
        yield f"sw={s}", Shape(stride=(1, s))
    for d in sorted(set(REACH.dilation)):
        yield f"dh={d}", Shape(dilation=(d, 1))
        yield f"dw={d}", Shape(dilation=(1, d))
    for p in sorted(set(REACH.pad)):
        yield f"pad top={p}", Shape(pads=((p, 0), (0, 0)))
        yield f"pad bottom={p}", Shape(pads=((0, p), (0, 0)))
        yield f"pad left={p}", Shape(pads=((0, 0), (p, 0)))
        yield f"pad right={p}", Shape(pads=((0, 0), (0, p)))


def _padding(pads: tuple[tuple[int, int], tuple[int, int]], support: Support) -> object | None:
    """``pads`` in the plainest form the variant takes (None if it takes none that says them)."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr and "int" in support.padding:
        return pt
    if pt == pb and pl == pr and "pair" in support.padding:
        return (pt, pl)
    if "sides" in support.padding:
        return pads
    if pt == pb == pl == pr == 0 and "valid" in support.padding:
        return "valid"
    return None


def _declared(shape: Shape, support: Support) -> Shape:
    """A sweep point as the variant can take it: mirrored onto both axes for square inputs or kernels, one stride
    or dilation for both axes where it takes an int, padding made symmetric where it takes no other."""
    def both(pair: tuple[int, int]) -> tuple[int, int]:
        return (max(pair), max(pair))

    kernel, stride, dilation, pads = shape.kernel, shape.stride, shape.dilation, shape.pads
    h_out, w_out = shape.h_out, shape.w_out
    if "kernel" in support.square or "input" in support.square:
        kernel = both(kernel)
    if "input" in support.square:
        stride, dilation, h_out = both(stride), both(dilation), max(h_out, w_out)
        w_out = h_out
        pads = ((max(max(p) for p in pads),) * 2,) * 2
    if support.stride == "int":
        stride = both(stride)
    if support.dilation == "int":
        dilation = both(dilation)
    if not support.asymmetric_padding:
        pads = tuple((max(p), max(p)) for p in pads)  # type: ignore[assignment]
    return Shape(shape.n, h_out, w_out, shape.c_in, shape.c_out, shape.groups, kernel, stride, dilation, pads)


def _plainest(pair: tuple[int, int]) -> int | tuple[int, int]:
    return pair[0] if pair[0] == pair[1] else pair


def sweep_cases(support: Support | None = None, functions: tuple[str, ...] = ("conv2d",)
                ) -> list[tuple[str, ConvCase]]:
    """Every sweep point inside ``support`` for ``functions``, in every dtype it takes, labelled ``C_in=6
    (float32)``."""
    declared = support or Support()
    cases, seen = [], set()
    for dtype_name in declared.dtypes:
        dtype = storage_dtype(dtype_name)
        rng = np.random.default_rng(0)
        support = declared.resolved(functions, dtype_name)  # scoped keys as plain values for these functions
        for label, point in _points(support):
            shape = _declared(point, support)
            padding = _padding(shape.pads, support)
            if padding is None:
                continue
            size = shape.size()
            x = rng.integers(-3, 4, (shape.n, *size, shape.c_in)).astype(dtype)
            w = rng.integers(-3, 4, (*shape.kernel, shape.c_in // shape.groups, shape.c_out)).astype(dtype)
            b = rng.integers(-3, 4, shape.c_out).astype(dtype)
            case = ConvCase(x, w, b, np.zeros((0, 1, 1, 1)), stride=_plainest(shape.stride), padding=padding,
                            dilation=_plainest(shape.dilation), groups=shape.groups, exact=True)
            out = case.geometry.out  # the point's output size, or larger where the padding alone makes it so
            dy = rng.integers(-3, 4, (shape.n, *out, shape.c_out)).astype(dtype)
            case = fit(case.replace(dy=dy), declared, functions)
            if case is None:
                continue
            key = (dtype_name, repr(case))
            if key not in seen:
                seen.add(key)
                cases.append((f"{label} ({dtype_name})", case))
    return cases


@dataclass(frozen=True)
class TransposedShape:
    """One transposed sweep point before values: the input size ``(h, w)``, channels, kernel and options."""

    n: int = 1
    h: int = 2
    w: int = 2
    c_in: int = 1
    c_out: int = 1
    groups: int = 1
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    output_padding: tuple[int, int] = (0, 0)


def _transposed_points() -> Iterator[tuple[str, TransposedShape]]:
    """``(label, shape)`` for every dimension and size of the transposed sweep."""
    for c in BLOCK_SIZES:
        yield f"C_in={c}", TransposedShape(c_in=c)
        yield f"C_out={c}", TransposedShape(c_out=c)
        yield f"groups={c}", TransposedShape(c_in=c, c_out=c, groups=c)
        if c > 1:  # H_out = H + 1 with a 2-row kernel at stride 1
            yield f"H_out={c}", TransposedShape(h=c - 1)
            yield f"W_out={c}", TransposedShape(w=c - 1)
    for n in sorted(set(REACH.batch)):
        yield f"N={n}", TransposedShape(n=n)
    for k in sorted(set(REACH.kernel)):
        yield f"KH={k}", TransposedShape(kernel=(k, 2))
        yield f"KW={k}", TransposedShape(kernel=(2, k))
    for s in sorted(set(REACH.stride)):
        for op in sorted({0, s - 1}):
            yield f"sh={s} oph={op}", TransposedShape(stride=(s, 1), output_padding=(op, 0))
            yield f"sw={s} opw={op}", TransposedShape(stride=(1, s), output_padding=(0, op))
    for d in sorted(set(REACH.dilation)):
        yield f"dh={d}", TransposedShape(dilation=(d, 1))
        yield f"dw={d}", TransposedShape(dilation=(1, d))
    for p in range(0, 3):  # the crop: at most the 3 rows of full a 2x2 input and kernel make, less one
        yield f"crop top={p}", TransposedShape(h=3, pads=((p, 0), (0, 0)))
        yield f"crop bottom={p}", TransposedShape(h=3, pads=((0, p), (0, 0)))
        yield f"crop left={p}", TransposedShape(w=3, pads=((0, 0), (p, 0)))
        yield f"crop right={p}", TransposedShape(w=3, pads=((0, 0), (0, p)))


def transposed_sweep_cases(support: Support | None = None, functions: tuple[str, ...] = ("conv_transpose2d",)
                           ) -> list[tuple[str, TransposedCase]]:
    """Every transposed sweep point inside ``support`` for ``functions``, in every dtype it takes, labelled
    ``C_out=9 (float32)``."""
    declared = support or Support()
    if not declared.transposed:
        return []
    cases, seen = [], set()
    for dtype_name in declared.dtypes:
        dtype = storage_dtype(dtype_name)
        rng = np.random.default_rng(0)
        support = declared.resolved(functions, dtype_name)  # scoped keys as plain values for these functions
        for label, shape in _transposed_points():
            if "kernel" in support.square and shape.kernel[0] != shape.kernel[1]:
                shape = TransposedShape(**{**shape.__dict__, "kernel": (max(shape.kernel),) * 2})
            padding = _padding(shape.pads, support)
            if padding is None:
                continue
            x = rng.integers(-3, 4, (shape.n, shape.h, shape.w, shape.c_in)).astype(dtype)
            w = rng.integers(-3, 4, (*shape.kernel, shape.c_out // shape.groups, shape.c_in)).astype(dtype)
            b = rng.integers(-3, 4, shape.c_out).astype(dtype)
            case = TransposedCase(x, w, b, x, stride=_plainest(shape.stride), padding=padding,
                                  output_padding=_plainest(shape.output_padding), dilation=_plainest(shape.dilation),
                                  groups=shape.groups, exact=True)
            dy = rng.integers(-3, 4, (shape.n, *case.geometry.out, shape.c_out)).astype(dtype)
            case = fit_transposed(case.replace(dy=dy), declared, functions)
            if case is None:
                continue
            key = (dtype_name, repr(case))
            if key not in seen:
                seen.add(key)
                cases.append((f"{label} ({dtype_name})", case))
    return cases
