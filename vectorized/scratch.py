"""Reusable scratch buffers for the temporaries of one call (padded input, columns, products).

Allocating tens of megabytes afresh on every call costs more than the gather itself (the kernel maps and
zero-fills every page), so each thread keeps one buffer per *slot* and hands out views of it. A view is valid
until the next request for the same slot on the same thread; no result is ever such a view (results are new
arrays), so nothing a caller holds is overwritten. A slot grows to the largest request it has seen; batch
chunking (`vectorized.CHUNK_BYTES`) bounds that. `release` frees every buffer of the calling thread.
"""

from __future__ import annotations

import math
import threading

import numpy as np

_local = threading.local()


def scratch(slot: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` backed by the thread's ``slot`` buffer."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    buffers = _local.__dict__.setdefault("buffers", {})
    buffer = buffers.get(slot)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = buffers[slot] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def release() -> None:
    """Free the calling thread's scratch buffers."""
    _local.__dict__.pop("buffers", None)
