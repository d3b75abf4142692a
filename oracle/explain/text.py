"""``conv-oracle explain``: the geometry of a convolution drawn in the terminal (and, with matplotlib, as a PNG).

For each axis: the padded input with its padding marked, where the windows start, one window drawn whole, the
output size with the formula filled in, the input rows no window reads (``dx`` is 0 there), the windows that
read padding only, how ``'same'`` was resolved and how other conventions would resolve it, and the padding and
cropping of ``dy`` that the backward pass of `vectorized` uses for ``dx`` (the seed article's ``P - K + 1``
reasoning, per stride phase). For small sizes, the same as a 2-D grid.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from oracle.geometry import Geometry, same_lower_pads, same_upper_pads, validate

AXES = (("rows", "H", "top", "bottom"), ("columns", "W", "left", "right"))
GRID_LIMIT = 40
"""Largest padded size drawn as a 2-D grid."""


def parse_padding(text: str) -> Any:
    """``'2'`` -> 2; ``'2,1'`` -> (2, 1); ``'2,0,1,3'`` -> ((2, 0), (1, 3)); ``'same'`` / ``'valid'`` as they are."""
    text = text.strip()
    if text in ("same", "valid"):
        return text
    try:
        values = [int(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise ValueError(f"padding must be 'same', 'valid', P, PH,PW or PT,PB,PL,PR; got padding={text!r}") from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return tuple(values)
    if len(values) == 4:
        return (values[0], values[1]), (values[2], values[3])
    raise ValueError(f"padding must be 'same', 'valid', P, PH,PW or PT,PB,PL,PR; got padding={text!r}")


def _phases(k: int, s: int, d: int, before: int, size: int) -> list[tuple[int, list[int], list[int], int, int]]:
    """dx phases of one axis: ``(a, taps, shifts, first dy row read, last dy row read)`` (see vectorized)."""
    found = []
    for a in range(s):
        taps = [p for p in range(k) if (p * d - a) % s == 0]
        t0, t1 = math.ceil((before - a) / s), (before + size - 1 - a) // s
        if taps and t1 >= t0:
            shifts = [(p * d - a) // s for p in taps]
            found.append((a, taps, shifts, t0 - max(shifts), t1 - min(shifts)))
    return found


def _axis_strip(g: Geometry, axis: int, window: int) -> list[str]:
    """One axis drawn as strips: the padded input, the window origins, and window ``window`` whole."""
    before, n = g.pads[axis][0], g.size[axis]
    read = g.read(axis)
    cells = []
    for r in range(g.padded[axis]):
        if r < before or r >= before + n:
            cells.append("p")
        else:
            cells.append("·" if read[r - before] else "x")
    origins = [" "] * g.padded[axis]
    for i in range(g.out[axis]):
        origins[i * g.stride[axis]] = "o"
    drawn = [" "] * g.padded[axis]
    start = window * g.stride[axis]
    for t in range(g.kernel[axis]):
        drawn[start + t * g.dilation[axis]] = "#"
    width = max(len(str(g.padded[axis] - 1)), 1)
    idx = " ".join(f"{r:>{width}}" for r in range(g.padded[axis]))

    def strip(chars: list[str]) -> str:
        return " ".join(f"{c:>{width}}" for c in chars)

    return [
        f"  padded index   {idx}",
        f"  padded input   {strip(cells)}   (p padding, · input, x input no window reads)",
        f"  window origins {strip(origins)}",
        f"  window {window:<7} {strip(drawn)}",
    ]


def _axis_text(g: Geometry, axis: int, padding: Any, window: int) -> list[str]:
    name, letter, before_name, after_name = AXES[axis]
    k, s, d = g.kernel[axis], g.stride[axis], g.dilation[axis]
    (before, after), n = g.pads[axis], g.size[axis]
    lines = [f"{name}: {letter} = {n}, K{letter} = {k}, s = {s}, d = {d}, pads {before_name} {before} / "
             f"{after_name} {after}"]
    lines.append(f"  {letter}_out = ({letter} + p{before_name[0]} + p{after_name[0]} - d*(K{letter} - 1) - 1) // s + 1"
                 f" = ({n} + {before} + {after} - {d}*{k - 1} - 1) // {s} + 1 = {g.out[axis]}")
    if g.padded[axis] <= 60:
        lines += _axis_strip(g, axis, window)
    origins = [i * s for i in range(g.out[axis])]
    lines.append(f"  windows start at padded {name} {origins}, each spans {g.span[axis]}")
    unread = [r for r in range(n) if not g.read(axis)[r]]
    lines.append(f"  input {name} no window reads (dx = 0 there): {unread if unread else 'none'}")
    only_pad = g.all_padding_windows(axis)
    lines.append(f"  output {name} whose window reads padding only: {only_pad if only_pad else 'none'}")
    if padding == "same":
        upper, lower = same_upper_pads(n, k, s, d), same_lower_pads(n, k, s, d)
        total = sum(upper)
        lines.append(f"  'same': {letter}_out = ceil({n} / {s}) = {math.ceil(n / s)}; total pad = "
                     f"max(({math.ceil(n / s)} - 1)*{s} + {d}*{k - 1} + 1 - {n}, 0) = {total}")
        lines.append(f"    SAME_UPPER (this project, TensorFlow, ONNX): {upper[0]} {before_name} / {upper[1]} "
                     f"{after_name}   <- used")
        lines.append(f"    SAME_LOWER (ONNX):                           {lower[0]} {before_name} / {lower[1]} "
                     f"{after_name}")
        if s == 1:
            lines.append(f"    PyTorch padding='same':                      {upper[0]} {before_name} / {upper[1]} "
                         f"{after_name} (stride 1 only)")
        else:
            lines.append("    PyTorch padding='same':                      refused at stride > 1")
    lines.append(f"  dx in vectorized: per stride phase a (padded {name} r = a + {s}*t), a stride-1 correlation "
                 f"of dy with the flipped taps")
    found = _phases(k, s, d, before, n)
    for a, taps, _, lo, hi in found:
        pad_lo, pad_hi = -lo, hi - (g.out[axis] - 1)
        how = []
        how.append(f"pad dy {before_name} by {pad_lo}" if pad_lo >= 0 else f"crop {-pad_lo} dy {name} "
                   f"{before_name}")
        how.append(f"pad {after_name} by {pad_hi}" if pad_hi >= 0 else f"crop {-pad_hi} {after_name}")
        lines.append(f"    phase {a}: taps {taps[::-1]} (flipped), dy {name} {lo}..{hi}: {', '.join(how)}")
    reached = {phase[0] for phase in found}
    for a in range(s):
        if a not in reached and not any((p * d - a) % s == 0 for p in range(k)):
            lines.append(f"    phase {a}: no tap reaches it: dx = 0 on those {name}")
    if s == 1:
        lines.append(f"    (stride 1: the article's P - K + 1 = {before} - {d * (k - 1) + 1} + 1 = "
                     f"{before - d * (k - 1)}: {'crop' if before - d * (k - 1) > 0 else 'pad'} dy by "
                     f"{abs(before - d * (k - 1))} {before_name})")
    return lines


def _grid(g: Geometry, window: tuple[int, int], values: np.ndarray | None) -> list[str]:
    (pt, _), (pl, _) = g.pads
    hp, wp = g.padded
    rows_read, cols_read = g.read(0), g.read(1)
    in_window = set()
    for p in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            in_window.add((window[0] * g.stride[0] + p * g.dilation[0], window[1] * g.stride[1] + q * g.dilation[1]))
    origins = set()
    if g.stride != (1, 1):  # at stride 1 every position is an origin: marking them hides the padding
        origins = {(i * g.stride[0], j * g.stride[1]) for i in range(g.out[0]) for j in range(g.out[1])}
    width = 5 if values is not None else max(2, len(str(wp - 1)) + 1)
    lines = ["     " + "".join(f"{c:>{width}}" for c in range(wp))]
    for r in range(hp):
        row = []
        for c in range(wp):
            inside = pt <= r < pt + g.size[0] and pl <= c < pl + g.size[1]
            if values is not None:
                text = f"{values[r - pt, c - pl]:.0f}" if inside else "p"
                text = f"[{text}]" if (r, c) in in_window else text
            else:
                if (r, c) in in_window:
                    text = "#"
                elif (r, c) in origins:
                    text = "o"
                elif not inside:
                    text = "p"
                elif not (rows_read[r - pt] and cols_read[c - pl]):
                    text = "x"
                else:
                    text = "·"
            row.append(f"{text:>{width}}")
        lines.append(f"  {r:>2} " + "".join(row))
    return lines


def explain(
    size: tuple[int, int],
    kernel: tuple[int, int],
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    window: tuple[int, int] | None = None,
    values: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> str:
    """The geometry as text. ``window`` is the output position drawn whole (default: the middle one).

    ``values (H, W, C)`` and ``weights (KH, KW, C)`` (one output channel) put the first channel's numbers in
    the grid and, under it, each channel's window sum and their total checked against `naive.conv2d`. Invalid
    geometry raises what `naive.conv2d` raises.
    """
    validate(size, kernel, stride=stride, padding=padding, dilation=dilation)
    g = Geometry.of(size, kernel, stride=stride, padding=padding, dilation=dilation)
    if window is None:
        window = (g.out[0] // 2, g.out[1] // 2)
    if not (0 <= window[0] < g.out[0] and 0 <= window[1] < g.out[1]):
        raise ValueError(f"window must be an output position inside {g.out}; got window={window}")
    lines = [
        f"conv-oracle explain: input {size[0]}x{size[1]}, kernel {kernel[0]}x{kernel[1]}, stride {g.stride}, "
        f"dilation {g.dilation}, padding {padding!r} -> pads ((top, bottom), (left, right)) = {g.pads}",
        f"output {g.out[0]}x{g.out[1]}; window {window} starts at padded ({window[0] * g.stride[0]}, "
        f"{window[1] * g.stride[1]})",
        "",
    ]
    for axis in (0, 1):
        lines += [*_axis_text(g, axis, padding, window[axis]), ""]
    if max(g.padded) <= GRID_LIMIT:
        legend = "[v] window" if values is not None else "# window, o window origins, x input no window reads"
        if g.stride == (1, 1) and values is None:
            legend = "# window, x input no window reads; at stride 1 every position is a window origin"
        lines.append(f"padded input {g.padded[0]}x{g.padded[1]} (p padding, {legend}):")
        lines += _grid(g, window, None if values is None else values[:, :, 0])
        if values is not None and weights is not None:
            lines += _window_sums(g, window, values, weights)
    return "\n".join(lines)


def _window_sums(g: Geometry, window: tuple[int, int], values: np.ndarray, weights: np.ndarray) -> list[str]:
    """Each channel's window times its filter, their total, and what `naive.conv2d` gives there."""
    import naive

    r0, c0 = window[0] * g.stride[0], window[1] * g.stride[1]
    sums = []
    for c in range(values.shape[2]):
        padded = np.pad(values[:, :, c], g.pads)
        taps = padded[r0 : r0 + g.span[0] : g.dilation[0], c0 : c0 + g.span[1] : g.dilation[1]]
        sums.append(float(np.sum(taps * weights[:, :, c])))
    y = naive.conv2d(values[None].astype(np.float64), weights[:, :, :, None].astype(np.float64),
                     stride=g.stride, padding=g.pads, dilation=g.dilation)
    per_channel = " + ".join(f"{v:.0f}" for v in sums)
    return [f"window {window}: channel sums {per_channel} = {sum(sums):.0f}; naive.conv2d gives "
            f"y[0, {window[0]}, {window[1]}, 0] = {y[0, window[0], window[1], 0]:.0f}"]


def case_picture(case: Any, bad: np.ndarray | None, name: str) -> list[str]:
    """A failing case's output grid with the differing elements marked (X), for ``check`` reports."""
    g = case.geometry
    if not isinstance(g, Geometry):  # a transposed case
        lines = [f"geometry: input {g.size[0]}x{g.size[1]}, kernel {g.kernel[0]}x{g.kernel[1]}, stride {g.stride}, "
                 f"dilation {g.dilation}, full {g.full[0]}x{g.full[1]}, cropped {g.pads}, output padding "
                 f"{g.output_padding}, output {g.out[0]}x{g.out[1]} (conv-oracle explain --transposed draws it)"]
        if bad is None or name != "y" or bad.ndim != 4:
            return lines
        marks = bad.any(axis=(0, 3))
        lines.append("  output y (X differs, · agrees):")
        return lines + ["    " + " ".join("X" if m else "·" for m in marks[r]) for r in range(marks.shape[0])]
    lines = [f"geometry: input {g.size[0]}x{g.size[1]}, kernel {g.kernel[0]}x{g.kernel[1]}, stride {g.stride}, "
             f"dilation {g.dilation}, pads {g.pads}, output {g.out[0]}x{g.out[1]}"]
    for axis in (0, 1):
        unread = [r for r in range(g.size[axis]) if not g.read(axis)[r]]
        only_pad = g.all_padding_windows(axis)
        lines.append(f"  {AXES[axis][0]}: unread input {unread or 'none'}, padding-only windows {only_pad or 'none'}")
    if bad is None or name not in ("y", "dx") or bad.ndim != 4:
        return lines
    marks = bad.any(axis=(0, 3))
    what = "output y" if name == "y" else "input gradient dx"
    lines.append(f"  {what} (X differs, · agrees):")
    for r in range(marks.shape[0]):
        lines.append("    " + " ".join("X" if m else "·" for m in marks[r]))
    return lines
