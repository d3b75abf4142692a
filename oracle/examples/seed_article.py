"""The seed article's worked example, run through `naive`.

A 6x8 image with three channels filled with 0..143 in order (red row 0 is 0..7, green starts at 48), a 5x3
filter per channel filled the same way (0..44), padding (2, 1), stride 1 and then 2. Run it:
``python -m oracle.examples.seed_article``.
"""

from __future__ import annotations

import numpy as np

import naive


def seed_image() -> np.ndarray:
    """``x (1, 6, 8, 3)``: channel-major 0..143, so ``x[0, 0, :, 0]`` is 0..7 and ``x[0, 0, 0, 1]`` is 48."""
    return np.arange(3 * 6 * 8, dtype=np.float64).reshape(3, 6, 8).transpose(1, 2, 0)[None].copy()


def seed_filter() -> np.ndarray:
    """``w (5, 3, 3, 1)``: one 5x3 filter per input channel, 0..44 in the same order, one output channel."""
    return np.arange(3 * 5 * 3, dtype=np.float64).reshape(3, 5, 3).transpose(1, 2, 0)[..., None].copy()


def main() -> None:
    x, w = seed_image(), seed_filter()
    print(f"x.shape={x.shape} (red row 0: {x[0, 0, :, 0].astype(int).tolist()}, green starts at "
          f"{int(x[0, 0, 0, 1])}), w.shape={w.shape}, padding=(2, 1)")
    y1 = naive.conv2d(x, w, padding=(2, 1), stride=1)
    y2 = naive.conv2d(x, w, padding=(2, 1), stride=2)
    print(f"stride 1: y.shape={y1.shape}  (H_out = (6 + 2 + 2 - 5) // 1 + 1 = 6, W_out = (8 + 1 + 1 - 3) // 1 + 1 = 8)")
    print(f"          the window starting at (4, 3) of the padded image gives y[0, 4, 3, 0] = {y1[0, 4, 3, 0]:.0f}")
    print(f"stride 2: y.shape={y2.shape}  (H_out = (10 - 5) // 2 + 1 = 3, W_out = (10 - 3) // 2 + 1 = 4)")
    print("          windows start at rows 0, 2, 4 and columns 0, 2, 4, 6: (4, 3) is not one of them;")
    print(f"          its neighbour (4, 2) gives y[0, 2, 1, 0] = {y2[0, 2, 1, 0]:.0f}")


if __name__ == "__main__":
    main()
