"""``conv-oracle explain --transposed``: the geometry of a transposed convolution drawn in the terminal.

For each axis: ``full``, the untrimmed output every input pixel is scattered over, with the rows the padding crops
and the rows the output padding adds; the output size with the formula filled in; for every output row, the input
rows and kernel taps it takes its contributions from (``y[r] = sum of x[i] * w[p]`` over ``i*s + p*d = pt + r``);
and ``'same'`` under the conventions side by side.
"""

from __future__ import annotations

from typing import Any

from oracle.explain.text import AXES
from oracle.geometry import TransposedGeometry, same_lower_pads


def _contributions(g: TransposedGeometry, axis: int, row: int) -> list[tuple[int, int]]:
    """``(input row, kernel tap)`` pairs that output row ``row`` sums over (none past the end of ``full``)."""
    s, d, k, n = g.stride[axis], g.dilation[axis], g.kernel[axis], g.size[axis]
    f = g.pads[axis][0] + row
    return [(i, p) for p in range(k) for i in [(f - p * d) // s] if (f - p * d) % s == 0 and 0 <= i < n]


def _axis_lines(g: TransposedGeometry, axis: int) -> list[str]:
    name, letter, first, last = AXES[axis]
    n, k, s, d = g.size[axis], g.kernel[axis], g.stride[axis], g.dilation[axis]
    (before, after), op, full, out = g.pads[axis], g.output_padding[axis], g.full[axis], g.out[axis]
    lines = [f"{name} ({letter} = {n}, K{letter} = {k}, stride {s}, dilation {d}, padding ({before}, {after}), "
             f"output padding {op}):",
             f"  full = ({letter} - 1)*s + d*(K{letter} - 1) + 1 = ({n} - 1)*{s} + {d}*({k} - 1) + 1 = {full} {name}",
             f"  {letter}_out = full - pt - pb + op = {full} - {before} - {after} + {op} = {out}"]
    reach = "; ".join(f"{i} -> {' '.join(str(i * s + p * d) for p in range(k))}" for i in range(min(n, 8)))
    lines.append(f"  input {name[:-1]} i reaches full {name} i*s + p*d: {reach}{' ...' if n > 8 else ''}")
    marks = []
    for f in range(max(full, before + out)):
        if before <= f < before + out:
            marks.append("o" if f < full else "+")
        else:
            marks.append("c")
    lines.append(f"  full: {' '.join(marks)}   (c cropped by padding, o kept, + added by output padding: zero "
                 f"before the bias)")
    lines.append(f"  cropped: {before} at the {first}, {max(after - op, 0)} at the {last}"
                 + (f" ({after} of padding, {op} of them given back by the output padding)" if op and after else "")
                 + (f"; {op - after} {name if op - after > 1 else name[:-1]} added past the end of full"
                    if op > after else ""))
    for r in range(min(out, 12)):
        pairs = _contributions(g, axis, r)
        taken = ", ".join(f"x[{i}]*w[{p}]" for i, p in pairs) or "nothing (bias only)"
        lines.append(f"  y {name[:-1]} {r} = full {before + r}: {taken}")
    if out > 12:
        lines.append(f"  ... ({out - 12} more {name})")
    return lines


def explain_transposed(size: tuple[int, int], kernel: tuple[int, int], *, stride: Any = 1, padding: Any = 0,
                       output_padding: Any = 0, dilation: Any = 1) -> str:
    """The geometry of ``conv_transpose2d`` as text; invalid options raise what `naive.conv_transpose2d` raises."""
    import numpy as np

    import naive

    x = np.zeros((1, *size, 1))
    w = np.zeros((*kernel, 1, 1))
    naive.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    g = TransposedGeometry.of(size, kernel, stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation)
    lines = [f"conv-oracle explain --transposed: input {size[0]}x{size[1]}, kernel {kernel[0]}x{kernel[1]}, stride "
             f"{g.stride}, dilation {g.dilation}, padding {padding!r} -> crops ((top, bottom), (left, right)) = "
             f"{g.pads}, output padding {g.output_padding}",
             f"full {g.full[0]}x{g.full[1]} -> output {g.out[0]}x{g.out[1]}", ""]
    for axis in (0, 1):
        lines += [*_axis_lines(g, axis), ""]
    lines += _same_conventions(g)
    return "\n".join(lines).rstrip()


def _same_conventions(g: TransposedGeometry) -> list[str]:
    """``'same'`` (``H_out = H*sh``) under TensorFlow's convention (the contract's) and the other side."""
    lines = ["'same' (H_out = H*sh), conventions side by side (crops (top, bottom), (left, right)):"]
    upper = TransposedGeometry.of(g.size, g.kernel, stride=g.stride, padding="same", dilation=g.dilation)
    lower = tuple(same_lower_pads(n * s, k, s, d) for n, k, s, d in zip(g.size, g.kernel, g.stride, g.dilation))
    lines.append(f"  contract, TensorFlow (SAME_UPPER): {upper.pads}, an odd row cropped at the bottom")
    lines.append(f"  SAME_LOWER:                        {lower}, an odd row cropped at the top")
    lines.append("  PyTorch: no 'same' for conv_transpose2d (padding must be numbers)")
    return lines
