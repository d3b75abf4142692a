"""`vectorized` on its own: its two gather layouts, both dx associations, chunking and caching agree."""

import numpy as np
import pytest

import vectorized
import vectorized.gather
from oracle.cases.edge_cases import EDGE_CASES


def _exact_arrays(case, dtype=np.float64):
    rng = np.random.default_rng(11)
    return [None if a is None else rng.integers(-4, 5, a.shape).astype(dtype) for a in case.arrays()]


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: c.name)
def test_vectorized_row_and_pixel_cells_agree(case, monkeypatch):
    x, w, b, dy = _exact_arrays(case)
    monkeypatch.setattr(vectorized.gather, "ROW_CELL_BYTES", 10**9)
    rows = vectorized.conv2d(x, w, b, **case.options), vectorized.conv2d_backward(dy, x, w, **case.options)
    monkeypatch.setattr(vectorized.gather, "ROW_CELL_BYTES", 0)
    pixels = vectorized.conv2d(x, w, b, **case.options), vectorized.conv2d_backward(dy, x, w, **case.options)
    assert np.array_equal(rows[0], pixels[0])
    for a, e in zip(rows[1], pixels[1]):
        assert np.array_equal(a, e)


@pytest.mark.parametrize("c_in, c_out", [(2, 6), (6, 2), (3, 3)], ids=["Cin<Cout", "Cin>Cout", "Cin=Cout"])
@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (2, 2), (3, 2)])
def test_vectorized_dx_both_associations_match_naive(c_in, c_out, stride, dilation):
    import naive

    rng = np.random.default_rng(5)
    x = rng.integers(-3, 4, (2, 9, 8, c_in)).astype(np.float64)
    w = rng.integers(-3, 4, (3, 2, c_in, c_out)).astype(np.float64)
    options = {"stride": stride, "dilation": dilation, "padding": ((2, 0), (1, 3))}
    dy = rng.integers(-3, 4, naive.conv2d(x, w, **options).shape).astype(np.float64)
    assert np.array_equal(vectorized.conv2d_backward(dy, x, w, **options).dx,
                          naive.conv2d_backward(dy, x, w, **options).dx)


def test_vectorized_chunk_bytes_is_checked():
    x, w = np.ones((2, 4, 4, 1)), np.ones((1, 1, 1, 1))
    with pytest.raises(ValueError, match="chunk_bytes must be a positive int; got chunk_bytes=0"):
        vectorized.conv2d(x, w, chunk_bytes=0)
    with pytest.raises(TypeError, match="chunk_bytes must be a positive int; got chunk_bytes='1MB'"):
        vectorized.conv2d(x, w, chunk_bytes="1MB")


def test_vectorized_index_cache_is_read_only():
    x, w = np.ones((2, 5, 5, 2)), np.ones((3, 3, 2, 2))
    vectorized.conv2d(x, w)
    cells = vectorized.gather.window_cells(2, 5, 5, 1, 3, 3, 1, 1, 1, 1, 3, 3, True)
    with pytest.raises(ValueError, match="read-only"):
        cells[0, 0, 0, 0] = 1


def test_vectorized_chunking_bounds_peak_memory():
    """Memory, not time: tracemalloc counts numpy's allocations, deterministic on any machine."""
    import tracemalloc

    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 12, 12, 8))
    w = rng.standard_normal((3, 3, 8, 8))

    def peak(**options):
        vectorized.release_scratch()
        tracemalloc.start()
        vectorized.conv2d(x, w, padding=1, **options)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    whole, chunked = peak(), peak(chunk_bytes=1)
    columns_per_image = 12 * 12 * 9 * 8 * 8
    assert whole > 16 * columns_per_image  # all 16 images' columns at once
    assert chunked < whole / 4  # one image's columns at a time, plus y
