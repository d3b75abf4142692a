"""A named table of the convolution configurations where implementations go wrong.

Each `EdgeCase` is a readable name and one configuration; `EdgeCase.arrays` fills it with reproducible values.
The table is run by the test suite against every bundled implementation and by ``conv-oracle check`` against
any variant, before the generated cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle.cases.layouts import LAYOUTS
from oracle.cases.strategies import ConvCase, fit
from oracle.reference.precision import storage_dtype
from oracle.targets.support import Support


@dataclass(frozen=True)
class EdgeCase:
    """One configuration: ``x (N, H, W, C_in)`` and ``w (KH, KW, C_in // groups, C_out)`` shapes and options."""

    name: str
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    options: dict[str, Any] = field(default_factory=dict)
    bias: bool = True
    why: str = ""
    scale: float = 1.0

    def arrays(self, dtype: np.dtype | type | str = np.float64, seed: int = 0):
        """``(x, w, b, dy)`` filled from a seeded generator; ``dy`` has the shape of the forward output."""
        from oracle.geometry import Geometry

        dtype = storage_dtype(np.dtype(dtype).name if not isinstance(dtype, str) else dtype)
        rng = np.random.default_rng(seed)
        geometry = Geometry.of(
            self.x_shape[1:3],
            self.w_shape[:2],
            stride=self.options.get("stride", 1),
            padding=self.options.get("padding", 0),
            dilation=self.options.get("dilation", 1),
        )
        x = (rng.standard_normal(self.x_shape) * self.scale).astype(dtype)
        w = (rng.standard_normal(self.w_shape) * self.scale).astype(dtype)
        b = (rng.standard_normal(self.w_shape[3]) * self.scale).astype(dtype) if self.bias else None
        dy = (rng.standard_normal((self.x_shape[0], *geometry.out, self.w_shape[3])) * self.scale).astype(dtype)
        return x, w, b, dy


EDGE_CASES: tuple[EdgeCase, ...] = (
    EdgeCase("padding_ge_kernel", (2, 5, 6, 3), (2, 2, 3, 4), {"padding": 3},
             why="windows that read padding only"),
    EdgeCase("padding_ge_kernel_strided", (1, 4, 5, 2), (2, 3, 2, 2), {"padding": (4, 3), "stride": (3, 2)}),
    EdgeCase("stride_gt_kernel", (2, 9, 10, 2), (2, 2, 2, 3), {"stride": (3, 4)},
             why="rows between windows that no window reads"),
    EdgeCase("unread_rows_and_columns", (1, 8, 10, 2), (3, 3, 2, 2), {"stride": 3},
             why="trailing rows and columns no window reads: dx must be zero there"),
    EdgeCase("asymmetric_padding", (2, 6, 7, 3), (3, 3, 3, 2), {"padding": ((2, 0), (1, 3))}),
    EdgeCase("asymmetric_padding_strided", (1, 7, 6, 2), (2, 3, 2, 3),
             {"padding": ((0, 3), (2, 1)), "stride": (2, 3)}),
    EdgeCase("same_stride1", (2, 6, 5, 2), (3, 3, 2, 3), {"padding": "same"}),
    EdgeCase("same_stride2_even_kernel", (2, 7, 8, 3), (4, 2, 3, 2), {"padding": "same", "stride": 2},
             why="SAME_UPPER puts the odd pixel at the bottom / right"),
    EdgeCase("same_dilated_strided", (1, 9, 8, 2), (3, 2, 2, 2),
             {"padding": "same", "stride": (2, 3), "dilation": (2, 3)}),
    EdgeCase("valid", (2, 6, 7, 2), (3, 2, 2, 2), {"padding": "valid"}),
    EdgeCase("dilation_fills_padded_input", (1, 3, 4, 2), (3, 2, 2, 2), {"padding": 1, "dilation": (2, 5)},
             why="the dilated kernel spans the padded input exactly: a 1x1 output"),
    EdgeCase("dilation_strided", (2, 9, 9, 2), (2, 3, 2, 2), {"dilation": (3, 2), "stride": (2, 1), "padding": 1}),
    EdgeCase("depthwise", (2, 6, 6, 4), (3, 3, 1, 4), {"groups": 4, "padding": 1}),
    EdgeCase("depthwise_multiplier", (1, 5, 6, 3), (3, 2, 1, 6), {"groups": 3, "stride": 2}),
    EdgeCase("groups", (2, 5, 5, 4), (3, 3, 2, 6), {"groups": 2, "padding": (1, 0)}),
    EdgeCase("rectangular_kernel", (2, 7, 6, 3), (3, 2, 3, 2), {"padding": (1, 2)},
             why="KH != KW and H != W: a transposed kernel or image cannot pass"),
    EdgeCase("kernel_1x1_one_channel", (2, 4, 5, 1), (1, 1, 1, 1), {},
             why="KH*KW*C_in = 1, where the seed article's layer raised IndexError"),
    EdgeCase("empty_batch", (0, 5, 5, 2), (3, 3, 2, 3), {"padding": 1}),
    EdgeCase("input_1x1", (2, 1, 1, 3), (1, 1, 3, 2), {}),
    EdgeCase("input_1x1_padded", (1, 1, 1, 2), (3, 3, 2, 2), {"padding": 1}),
    EdgeCase("no_bias", (2, 5, 4, 2), (2, 2, 2, 2), {"stride": (1, 2)}, bias=False),
    EdgeCase("large_values", (2, 4, 5, 3), (3, 2, 3, 2), {"padding": 1}, scale=300.0,
             why="values of a few hundred: float16 results past 65504 must be inf, the others exact to a rounding"),
    # the special paths libraries take, reached in every check whatever the seed
    EdgeCase("kernel_1x1_strided", (2, 7, 8, 5), (1, 1, 5, 6), {"stride": 2},
             why="ResNet's projection shortcut: libraries run a 1x1 kernel as a plain matrix product, here strided"),
    EdgeCase("kernel_1x1_strided_one_axis", (1, 5, 7, 3), (1, 1, 3, 4), {"stride": (1, 3)}),
    EdgeCase("kernel_full_width_strided", (1, 6, 5, 1), (2, 5, 1, 3), {"stride": (1, 2)},
             why="a kernel as wide as the input, a column stride, several output rows, one input channel"),
    EdgeCase("kernel_full_width_padded_strided", (2, 5, 3, 2), (3, 5, 2, 2), {"stride": (2, 3), "padding": 1},
             why="a kernel as wide as the padded input, strided on both axes"),
    EdgeCase("kernel_full_height_strided", (1, 5, 6, 1), (5, 2, 1, 3), {"stride": (2, 1)},
             why="a kernel as tall as the input, a row stride, several output columns, one input channel"),
    EdgeCase("one_input_channel", (2, 5, 6, 1), (3, 3, 1, 4), {"padding": 1},
             why="C_in = 1: a path of its own in many libraries (no channel loop to vectorise)"),
    EdgeCase("kernel_larger_than_input", (1, 2, 3, 2), (4, 5, 2, 3), {"padding": 2},
             why="a kernel larger than the input, fitting only with the padding"),
    EdgeCase("all_padding_windows_strided", (1, 2, 2, 3), (2, 2, 3, 2), {"padding": 3, "stride": 2},
             why="most windows read padding only: each such output is the bias alone"),
    EdgeCase("same_stride_gt_kernel", (1, 8, 14, 2), (1, 2, 2, 3), {"padding": "same", "stride": (4, 5)},
             why="'same' with a stride well past the kernel: (out - 1) * stride + kernel - size is -3 and -2, and "
                 "the padding 0 (halved unclamped, -1 on top and left, it shifts every window)"),
)


def edge_case_examples(support: Support | None = None, functions: tuple[str, ...] = ("conv2d",)
                       ) -> list[tuple[str, ConvCase]]:
    """The named edge cases that lie inside ``support`` for ``functions``, in every dtype it takes, as `ConvCase`
    values labelled ``name (dtype)``; each is handed over in the next of the memory layouts
    (`oracle.cases.layouts`), in turn."""
    support = support or Support()
    cases = []
    for number, (edge, dtype) in enumerate((e, d) for e in EDGE_CASES for d in support.dtypes):
        x, w, b, dy = edge.arrays(dtype)
        options = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, **edge.options}
        memory = LAYOUTS[number % len(LAYOUTS)].name
        case = fit(ConvCase(x, w, b, dy, **options, nan_at=tuple(max(m // 2, 0) for m in x.shape), memory=memory),
                   support, functions)
        if case is not None:
            cases.append((f"{edge.name} ({dtype})", case))
    return cases
