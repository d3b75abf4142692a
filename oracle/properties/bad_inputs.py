"""design.md's table of bad input: each entry must raise its exception with a message naming what went wrong.

Every `BadInput` calls ``conv2d`` (or ``conv2d_backward``) with one rule broken and says which exception it
expects and which words its message must hold: the argument's name and the value it got. The words are
implementation-neutral, so any variant can be held to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.properties.compare import Mismatch
from oracle.targets.variant import Variant


@dataclass(frozen=True)
class BadInput:
    name: str
    error: type[Exception]
    words: tuple[str, ...]
    call: Callable[[Any], Any]
    backward: bool = False

    @property
    def pattern(self) -> str:
        """A regular expression matching a message that holds every word, in any order."""
        return "".join(f"(?=[\\s\\S]*{re.escape(word)})" for word in self.words)


def _x(shape=(2, 6, 6, 4), dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _w(shape=(3, 3, 4, 2), dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _fwd(**options):
    return lambda v: v.conv2d(_x(), _w(), **options)


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput("stride_zero", ValueError, ("stride", "(0, 1)"), _fwd(stride=(0, 1))),
    BadInput("stride_negative", ValueError, ("stride", "-2"), _fwd(stride=-2)),
    BadInput("stride_float", TypeError, ("stride", "1.5"), _fwd(stride=1.5)),
    BadInput("stride_triple", TypeError, ("stride", "(1, 1, 1)"), _fwd(stride=(1, 1, 1))),
    BadInput("dilation_zero", ValueError, ("dilation", "0"), _fwd(dilation=0)),
    BadInput("padding_negative", ValueError, ("padding", "-1"), _fwd(padding=(-1, 0))),
    BadInput("padding_negative_side", ValueError, ("padding", "-2"), _fwd(padding=((0, 1), (-2, 0)))),
    BadInput("padding_unknown_string", ValueError, ("padding", "full"), _fwd(padding="full")),
    BadInput("padding_float", TypeError, ("padding", "0.5"), _fwd(padding=0.5)),
    BadInput("groups_not_dividing", ValueError, ("groups", "3"), _fwd(groups=3)),
    BadInput("groups_zero", ValueError, ("groups", "0"), _fwd(groups=0)),
    BadInput("kernel_larger_than_padded_input", ValueError, ("kernel", "(1, 7, 7, 4)"),
             lambda v: v.conv2d(_x((1, 7, 7, 4)), _w((9, 3, 4, 2)), padding=0)),
    BadInput("dilated_kernel_larger_than_padded_input", ValueError, ("kernel",),
             _fwd(dilation=4)),
    BadInput("x_not_4d", ValueError, ("x", "(6, 6, 4)"), lambda v: v.conv2d(np.ones((6, 6, 4)), _w())),
    BadInput("w_not_4d", ValueError, ("w", "(3, 3, 4)"), lambda v: v.conv2d(_x(), np.ones((3, 3, 4)))),
    BadInput("w_channels_mismatch", ValueError, ("w.shape", "(3, 3, 3, 2)"),
             lambda v: v.conv2d(_x(), _w((3, 3, 3, 2)))),
    BadInput("x_integer_dtype", TypeError, ("x", "int64"),
             lambda v: v.conv2d(np.ones((2, 6, 6, 4), dtype=np.int64), _w())),
    BadInput("x_float16", TypeError, ("x", "float16"),
             lambda v: v.conv2d(np.ones((2, 6, 6, 4), dtype=np.float16), _w())),
    BadInput("mixed_dtypes", TypeError, ("w", "float32", "float64"),
             lambda v: v.conv2d(_x(), _w(dtype=np.float32))),
    BadInput("x_not_an_array", TypeError, ("x", "list"), lambda v: v.conv2d([[[[1.0]]]], _w((1, 1, 1, 1)))),
    BadInput("bias_wrong_shape", ValueError, ("b", "(3,)"), lambda v: v.conv2d(_x(), _w(), np.ones(3))),
    BadInput("bias_wrong_dtype", TypeError, ("b", "float32"),
             lambda v: v.conv2d(_x(), _w(), np.ones(2, dtype=np.float32))),
    BadInput("empty_kernel", ValueError, ("w", "(0, 3, 4, 2)"), lambda v: v.conv2d(_x(), _w((0, 3, 4, 2)))),
    BadInput("dy_wrong_shape", ValueError, ("dy", "(2, 4, 4, 3)"),
             lambda v: v.conv2d_backward(np.ones((2, 4, 4, 3)), _x(), _w()), backward=True),
    BadInput("dy_wrong_dtype", TypeError, ("dy", "float32"),
             lambda v: v.conv2d_backward(np.ones((2, 4, 4, 2), dtype=np.float32), _x(), _w()), backward=True),
    BadInput("backward_stride_zero", ValueError, ("stride", "0"),
             lambda v: v.conv2d_backward(np.ones((2, 4, 4, 2)), _x(), _w(), stride=0), backward=True),
)


def bad_input(variant: Variant) -> None:
    """Every entry of design.md's bad-input table raises its exception, with a message naming the argument
    and the value (`oracle.properties.bad_inputs`)."""
    for bad in BAD_INPUTS:
        if bad.backward and variant.conv2d_backward is None:
            continue
        try:
            bad.call(variant)
        except bad.error as error:
            if not re.search(bad.pattern, str(error)):
                raise Mismatch(f"{bad.name}: {type(error).__name__} {str(error)!r} does not name "
                               f"{' and '.join(map(repr, bad.words))}", name=bad.name, stage="message") from error
        except Exception as error:
            raise Mismatch(f"{bad.name}: raised {type(error).__name__}: {error}, but should raise "
                           f"{bad.error.__name__}", name=bad.name, stage="raised") from error
        else:
            raise Mismatch(f"{bad.name}: returned, but should raise {bad.error.__name__} naming "
                           f"{' and '.join(map(repr, bad.words))}", name=bad.name, stage="returned")

