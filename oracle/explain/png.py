"""``conv-oracle explain --png``: the padded input drawn as a picture (needs matplotlib)."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle.geometry import Geometry, validate


def save_png(path: str, size: tuple[int, int], kernel: tuple[int, int], *, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, window: tuple[int, int] | None = None, values: np.ndarray | None = None,
             dashed_stride: tuple[int, int] | None = None) -> None:
    """The padded input as a grid: padding grey, unread input hatched, window ``window`` solid blue, dashed the
    windows one stride away (or, with ``dashed_stride``, the windows of that stride along the window's row, as
    in the seed article's figure); the first channel's numbers in the cells where ``values (H, W, C)`` is given.
    Needs matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--png needs matplotlib: pip install 'conv-oracle[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    validate(size, kernel, stride=stride, padding=padding, dilation=dilation)
    g = Geometry.of(size, kernel, stride=stride, padding=padding, dilation=dilation)
    window = window or (g.out[0] // 2, g.out[1] // 2)
    (pt, _), (pl, _) = g.pads
    hp, wp = g.padded
    fig, ax = plt.subplots(figsize=(max(4.5, wp * 0.55 + 1.5), max(3.5, hp * 0.55 + 1.5)))
    rows_read, cols_read = g.read(0), g.read(1)
    for r in range(hp):
        for c in range(wp):
            inside = pt <= r < pt + g.size[0] and pl <= c < pl + g.size[1]
            hatch = "//" if inside and not (rows_read[r - pt] and cols_read[c - pl]) else None
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#ffffff" if inside else "#d9d9d9", edgecolor="#999999",
                                   hatch=hatch, lw=0.5))
            if values is not None:
                label = f"{values[r - pt, c - pl, 0]:.0f}" if inside else "0"
                ax.text(c + 0.5, r + 0.5, label, ha="center", va="center", fontsize=8,
                        color="black" if inside else "#777777")

    def outline(r0: int, c0: int, style: str, color: str, inset: float) -> None:
        if g.dilation == (1, 1):
            ax.add_patch(Rectangle((c0 + inset, r0 + inset), g.kernel[1] - 2 * inset, g.kernel[0] - 2 * inset,
                                   fill=False, edgecolor=color, linestyle=style, lw=2))
            return
        for p in range(g.kernel[0]):
            for q in range(g.kernel[1]):
                ax.add_patch(Rectangle((c0 + q * g.dilation[1] + inset, r0 + p * g.dilation[0] + inset),
                                       1 - 2 * inset, 1 - 2 * inset, fill=False, edgecolor=color, linestyle=style,
                                       lw=1.6))

    r0, c0 = window[0] * g.stride[0], window[1] * g.stride[1]
    if dashed_stride is not None:
        dashed = [(r0, c) for c in range(0, wp - g.span[1] + 1, dashed_stride[1])]
        note = f"dashed: the windows of stride {dashed_stride} along its row"
    else:
        dashed = [(r0, c0 + g.stride[1]), (r0 + g.stride[0], c0)]
        dashed = [(r, c) for r, c in dashed if r + g.span[0] <= hp and c + g.span[1] <= wp]
        note = "dashed: the windows one stride away"
    for k, (r, c) in enumerate(dashed):
        outline(r, c, "--", "#ff7f0e", 0.12 + 0.06 * (k % 2))
    outline(r0, c0, "-", "#0000cc", 0.04)
    ax.set_xlim(0, wp)
    ax.set_ylim(hp, 0)
    ax.set_aspect("equal")
    ax.set_xticks([c + 0.5 for c in range(wp)], [str(c) for c in range(wp)], fontsize=7)
    ax.set_yticks([r + 0.5 for r in range(hp)], [str(r) for r in range(hp)], fontsize=7)
    ax.set_title(f"input {g.size[0]}x{g.size[1]}, kernel {g.kernel[0]}x{g.kernel[1]}, stride {g.stride}, "
                 f"dilation {g.dilation}, pads {g.pads}\nsolid: window {window} at padded ({r0}, {c0}); {note}\n"
                 "grey: padding; hatched: input no window reads", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
