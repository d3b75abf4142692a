"""Where the differences lie: a failing result's mask of bad elements, described in the geometry's words.

``only the top padding band``, ``only the last output row``, ``only channels of group 2 of 3``: a padding bug
reads differently from a transposed kernel, and the words say which, before anyone reads a number.
"""

from __future__ import annotations

import numpy as np

from oracle.cases.strategies import ConvCase


def _span(values: list[int]) -> str:
    if len(values) == 1:
        return str(values[0])
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values))


def _output_rows(case: ConvCase, axis: int) -> dict[str, set[int]]:
    """Output rows (axis 0) or columns (axis 1) by what their window reads."""
    g = case.geometry
    before, size = g.pads[axis][0], g.size[axis]
    bands: dict[str, set[int]] = {"before": set(), "after": set()}
    for i in range(g.out[axis]):
        first = i * g.stride[axis]
        last = first + g.span[axis] - 1
        if first < before:
            bands["before"].add(i)
        if last >= before + size:
            bands["after"].add(i)
    return bands


def describe(name: str, bad: np.ndarray | None, case: ConvCase) -> list[str]:
    """Phrases locating the True elements of ``bad`` (shaped like result ``name``) in the case's geometry."""
    if bad is None or not bad.any():
        return []
    words = []
    axes = np.nonzero(bad)
    total = int(bad.sum())
    words.append(f"{total} of {bad.size} elements differ")
    groups = case.groups
    if name in ("y", "dx"):
        n_bad = sorted(set(axes[0].tolist()))
        if len(n_bad) < bad.shape[0]:
            words.append(f"only image{'s' if len(n_bad) > 1 else ''} n={_span(n_bad)} of N={bad.shape[0]}")
        rows, cols = sorted(set(axes[1].tolist())), sorted(set(axes[2].tolist()))
        side = {0: ("top", "bottom", "row"), 1: ("left", "right", "column")}
        for axis, found in ((0, rows), (1, cols)):
            before, after, unit = side[axis]
            count = bad.shape[1 + axis]
            if len(found) == count:
                continue
            g = case.geometry
            if not hasattr(g, "span"):  # a transposed case: rows past the end of full come from output padding
                past = set(range(max(g.full[axis] - g.pads[axis][0], 0), count))
                if name == "y" and past and set(found) <= past:
                    words.append(f"only output {unit}s {_span(found)}, past the end of full (output padding)")
                else:
                    words.append(f"only {'output' if name == 'y' else 'input'} {unit}s {_span(found)} of "
                                 f"0..{count - 1}")
            elif name == "y":
                bands = _output_rows(case, axis)
                if bands["before"] and set(found) <= bands["before"]:
                    words.append(f"only output {unit}s {_span(found)}, whose windows read the {before} padding")
                elif bands["after"] and set(found) <= bands["after"]:
                    words.append(f"only output {unit}s {_span(found)}, whose windows read the {after} padding")
                elif found == [count - 1]:
                    words.append(f"only the last output {unit}")
                else:
                    words.append(f"only output {unit}s {_span(found)} of 0..{count - 1}")
            else:
                read = case.geometry.read(axis)
                unread = [i for i in range(count) if not read[i]]
                if unread and set(found) <= set(unread):
                    words.append(f"only input {unit}s {_span(found)}, which no window reads (dx must be 0)")
                else:
                    words.append(f"only input {unit}s {_span(found)} of 0..{count - 1}")
        channels = sorted(set(axes[3].tolist()))
    elif name == "dw":
        taps = sorted(set(zip(axes[0].tolist(), axes[1].tolist())))
        kh, kw = bad.shape[:2]
        if len(taps) < kh * kw:
            words.append("only kernel taps " + ", ".join(f"({p},{q})" for p, q in taps[:6])
                         + (" ..." if len(taps) > 6 else "") + f" of {kh}x{kw}")
        channels = sorted(set(axes[3].tolist()))
    else:
        channels = sorted(set(axes[-1].tolist()))
    width = bad.shape[-1]
    per_group = width // groups
    if len(channels) < width:
        touched = sorted({c // per_group for c in channels})
        if groups > 1 and len(touched) < groups:
            words.append(f"only channels {_span(channels)}: group{'s' if len(touched) > 1 else ''} "
                         f"{_span(touched)} of groups 0..{groups - 1}")
        else:
            words.append(f"only channels {_span(channels)} of 0..{width - 1}")
    return words
