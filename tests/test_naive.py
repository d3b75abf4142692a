"""`naive` alone: the geometry it must get right by construction, its messages, dtypes and layouts."""

import re

import numpy as np
import pytest

import naive


def test_naive_dx_is_zero_on_rows_no_window_reads():
    x = np.random.default_rng(1).standard_normal((1, 7, 8, 1))
    w = np.ones((2, 2, 1, 1))
    dy = np.ones((1, 2, 3, 1))
    dx = naive.conv2d_backward(dy, x, w, stride=3).dx
    # windows start at rows 0, 3 and columns 0, 3, 6: rows 2, 5, 6 and columns 2, 5 are never read
    assert np.all(dx[0, [2, 5, 6], :, 0] == 0)
    assert np.all(dx[0, :, [2, 5], 0] == 0)
    assert np.all(dx[0, [0, 1, 3, 4], :][:, [0, 1, 3, 4, 6, 7]] == 1)


def test_naive_same_puts_odd_pixel_after():
    # H=4, K=2, s=2: H_out=2, total pad = (2-1)*2 + 2 - 4 = 0; H=5, K=4, s=2: H_out=3, total=3 -> (1, 2)
    x = np.arange(5 * 5, dtype=np.float64).reshape(1, 5, 5, 1)
    w = np.zeros((4, 4, 1, 1))
    w[0, 0] = 1.0  # picks the window's top-left pixel, which is padding exactly when the pad before is 1
    y = naive.conv2d(x, w, padding="same", stride=2)
    assert y.shape == (1, 3, 3, 1)
    assert np.all(y[0, 0, :, 0] == 0) and np.all(y[0, :, 0, 0] == 0)
    assert y[0, 1, 1, 0] == x[0, 1, 1, 0]


def test_naive_error_message_states_rule_then_value():
    x, w = np.ones((2, 9, 9, 6)), np.ones((3, 3, 4, 8))
    message = "w.shape[2] must equal x.shape[3] // groups (C_in per group); got w.shape=(3, 3, 4, 8), " \
              "x.shape=(2, 9, 9, 6), groups=1"
    with pytest.raises(ValueError, match=re.escape(message)):
        naive.conv2d(x, w)


def test_naive_keeps_dtype_and_inputs():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    dy = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    before = [a.copy() for a in (x, w, dy)]
    y = naive.conv2d(x, w)
    grads = naive.conv2d_backward(dy, x, w)
    assert y.dtype == grads.dx.dtype == grads.dw.dtype == grads.db.dtype == np.float32
    for a, b in zip((x, w, dy), before):
        assert np.array_equal(a, b)


def test_naive_accepts_any_memory_layout():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 5, 3))
    w = rng.standard_normal((3, 2, 3, 2))
    x_f, w_ro = np.asfortranarray(x), w.copy()
    w_ro.flags.writeable = False
    x_view = np.concatenate([x, x], axis=2)[:, :, ::2, :]
    assert np.array_equal(naive.conv2d(x_f, w_ro), naive.conv2d(x, w))
    assert np.array_equal(naive.conv2d(x_view, w), naive.conv2d(np.ascontiguousarray(x_view), w))


def test_naive_seed_article_example():
    from oracle.examples.seed_article import seed_filter, seed_image

    x, w = seed_image(), seed_filter()
    assert x[0, 0, :, 0].tolist() == list(range(8)) and x[0, 0, 0, 1] == 48
    y1 = naive.conv2d(x, w, padding=(2, 1))
    y2 = naive.conv2d(x, w, padding=(2, 1), stride=2)
    assert y1.shape == (1, 6, 8, 1) and y2.shape == (1, 3, 4, 1)
    # the window starting at padded (4, 3) covers image rows 2..5 plus one padding row, image columns 2..4
    window = x[0, 2:6, 2:5, :]
    assert y1[0, 4, 3, 0] == np.sum(window * w[:4, :, :, 0]) == 76686
    assert y2[0, 2, 1, 0] == y1[0, 4, 2, 0]
