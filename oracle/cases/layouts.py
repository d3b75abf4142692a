"""Memory layouts: the same values in other memory, as real callers hand arrays over.

Each `MemoryLayout` rearranges one argument (an array of the variant's own layout, whose axes ``letters`` name,
e.g. ``"NHWC"`` or ``"OIHW"``) without changing a single value: Fortran order; the memory of the other common
layout seen through permuted strides (a channels-last view of an NCHW buffer, an HWIO view of an OIHW one); a
strided slice of a larger buffer; a view with negative strides; size-1 axes with strides no contiguous array has
(numpy still calls it C-contiguous); a read-only copy. Fast kernels that read raw memory get each of these wrong in
their own way (pytorch#82060, pytorch#99519, mygrad's 1x1 views).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

OTHER = {"NHWC": "NCHW", "NCHW": "NHWC", "HWIO": "OIHW", "OIHW": "HWIO"}


@dataclass(frozen=True)
class MemoryLayout:
    """A way to hand over an array: ``arrange(a, letters)`` returns the same values in other memory."""

    name: str
    words: str
    arrange: Callable[[np.ndarray, str], np.ndarray]


def fortran(a: np.ndarray, letters: str) -> np.ndarray:
    return np.asfortranarray(a) if a.ndim > 1 else a.copy()


def permuted(a: np.ndarray, letters: str) -> np.ndarray:
    """The memory of the other common layout (NCHW for NHWC, OIHW for HWIO, and back), seen in ``letters`` order."""
    if a.ndim != 4:
        return a.copy()
    memory = OTHER.get(letters, "NCHW" if sorted(letters) == sorted("NHWC") else "OIHW")
    order = [letters.index(m) for m in memory]
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


def strided(a: np.ndarray, letters: str) -> np.ndarray:
    """Every other element of a buffer twice as long on every axis, from an offset of one."""
    buffer = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
    view = buffer[tuple(slice(1, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def flipped(a: np.ndarray, letters: str) -> np.ndarray:
    """A view with negative strides on every axis (a reversed copy, read backwards)."""
    return np.flip(np.flip(a).copy())


def odd_size1_strides(a: np.ndarray, letters: str) -> np.ndarray:
    """C-contiguous values whose size-1 axes carry a stride no contiguous array has (numpy still flags it
    C-contiguous: a kernel that takes such strides at their word reads wrong memory)."""
    copy = np.ascontiguousarray(a).copy()
    strides = tuple(s if n != 1 else 7 * copy.itemsize * max(copy.size, 1) for s, n in zip(copy.strides, a.shape))
    return as_strided(copy, shape=a.shape, strides=strides, writeable=False)


def read_only(a: np.ndarray, letters: str) -> np.ndarray:
    copy = a.copy()
    copy.flags.writeable = False
    return copy


LAYOUTS: tuple[MemoryLayout, ...] = (
    MemoryLayout("Fortran order", "a Fortran-ordered copy", fortran),
    MemoryLayout("permuted strides", "a view of the other layout's memory (permuted strides)", permuted),
    MemoryLayout("strided slice", "a strided slice of a larger buffer", strided),
    MemoryLayout("negative strides", "a view with negative strides", flipped),
    MemoryLayout("odd size-1 strides", "an array whose size-1 axes have odd strides", odd_size1_strides),
    MemoryLayout("read-only", "a read-only copy", read_only),
)
