"""Arrays sent to a worker process with their memory as it is: strides, offset, gaps and the read-only flag.

The memory-layouts property hands a variant a Fortran-ordered copy, a view with negative strides, a strided slice
of a larger buffer or a read-only array; pickling would turn each into a plain C-ordered copy, and the variant in
the worker would never see the layout. `pack` copies the bytes the array spans (from its lowest to its highest
address, gaps included) and says where the array sits in them; `unpack` rebuilds an array with the same shape,
strides, offset and flags over a copy of those bytes. `changed` tells whether the bytes were written while the
variant held them (the inputs-unmodified property judges that), and `write_back` puts the written bytes into the
caller's array, so a variant that modifies its input in the worker modifies it for the caller too.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from oracle.reference.precision import storage_dtype

try:
    from numpy.lib.array_utils import byte_bounds
except ImportError:  # numpy < 2
    from numpy import byte_bounds  # type: ignore[attr-defined,no-redef]


class Packed:
    """An array's memory: the bytes it spans, and its ``dtype``, ``shape``, ``strides``, the ``offset`` of its first
    element in ``memory`` and whether it is writeable. (A class with slots that pickles as a tuple: thousands cross
    between processes in a check.)"""

    __slots__ = ("dtype", "memory", "offset", "shape", "strides", "writeable")

    def __init__(self, memory: bytes, dtype: np.dtype, shape: tuple[int, ...], strides: tuple[int, ...],
                 offset: int, writeable: bool) -> None:
        self.memory, self.dtype, self.shape, self.strides, self.offset, self.writeable = (
            memory, dtype, shape, strides, offset, writeable)

    def __reduce__(self):
        return _packed, (self.memory, self.dtype.name, self.shape, self.strides, self.offset, self.writeable)


_DTYPES: dict[str, np.dtype] = {}


def dtype_named(name: str) -> np.dtype:
    """The dtype of ``name``, looked up once per process (``"bfloat16"`` imports ml_dtypes, half a second: a worker
    process calls this before it forks others, so that they do not each pay it in their first bfloat16 call)."""
    found = _DTYPES.get(name)
    if found is None:
        found = _DTYPES[name] = storage_dtype(name)
    return found


def _packed(memory: bytes, dtype: str, shape: tuple[int, ...], strides: tuple[int, ...], offset: int,
            writeable: bool) -> Packed:
    """A `Packed` from its pickled fields (the dtype by name: a dtype object costs more to unpickle than the rest)."""
    return Packed(memory, dtype_named(dtype), shape, strides, offset, writeable)


def _span(a: np.ndarray) -> tuple[int, int]:
    """The lowest address and the number of bytes ``a`` spans."""
    low, high = byte_bounds(a)
    return low, high - low


def pack(value: Any) -> Any:
    """A `Packed` for a numeric array of any layout; anything else (None, an int, a list, an object array) as it is."""
    if not isinstance(value, np.ndarray) or value.dtype.hasobject or value.size == 0:
        return value
    if value.flags.c_contiguous and value.flags.writeable and value.strides == _c_strides(value):
        return Packed(value.tobytes(), value.dtype, value.shape, value.strides, 0, True)
    low, size = _span(value)
    return Packed(ctypes.string_at(low, size), value.dtype, value.shape, value.strides, value.ctypes.data - low,
                  bool(value.flags.writeable))


def _c_strides(a: np.ndarray) -> tuple[int, ...]:
    """The strides of a C-ordered array of ``a``'s shape (numpy calls an array with odd strides on size-1 axes
    C-contiguous too: those take the general path)."""
    strides, step = [], a.itemsize
    for n in reversed(a.shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def unpack(value: Any) -> Any:
    """An array with the packed one's shape, strides, offset and flags over a writable copy of its bytes; anything
    else as it is."""
    if not isinstance(value, Packed):
        return value
    buffer = bytearray(value.memory)
    array = np.ndarray(value.shape, value.dtype, buffer=buffer, offset=value.offset, strides=value.strides)
    array.flags.writeable = value.writeable
    return array


def changed(array: Any, packed: Any) -> bytes | None:
    """The bytes ``array`` (rebuilt by `unpack` from ``packed``) spans now, if they differ from the packed ones."""
    if not isinstance(packed, Packed):
        return None
    low, size = _span(array)
    now = ctypes.string_at(low, size)
    return now if now != packed.memory else None


def write_back(array: np.ndarray, memory: bytes) -> bool:
    """Write ``memory`` (the bytes `changed` found) over what ``array`` spans; False where ``array`` is read-only
    (a variant could not have written it in the caller's process either)."""
    if not array.flags.writeable:
        return False
    low, size = _span(array)
    if size != len(memory):
        return False
    ctypes.memmove(low, memory, size)
    return True
