"""The PaddlePaddle target against the oracle (``oracle.targets.paddle``), and its declaration measured.

As in ``tests/test_targets.py``: each check runs the target isolated in worker processes with a small budget, no test
asserts that Paddle is right or wrong, each asserts that the oracle reports what this machine's Paddle does, every
finding confirmed by its upstream reproducer run without conv-oracle (`tests.findings.confirm`), and each declared
item is measured here against Paddle called directly. Skips where paddle is not installed.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("paddle")

from tests.targets import checked, confirmed, isolated, narrowed

TARGET = "oracle.targets.paddle"
NARROWED = "oracle.targets.paddle:same_undilated"


_confirmed = functools.partial(confirmed, max_examples=6)
"""Checks whose findings are confirmed upstream, at this file's budget."""










def _verdicts(report):
    return {o.name: o.verdict for o in report.outcomes}


def _paddle():
    import paddle

    paddle.set_device("cpu")
    warnings.filterwarnings("ignore", module="paddle")
    return paddle


def _paddle_drops_same_dilation() -> bool:
    """Paddle itself, no adapter: does ``'SAME'`` with dilation 2 give the undilated convolution?"""
    paddle = _paddle()
    F = paddle.nn.functional
    x = paddle.to_tensor(np.arange(25.0).reshape(1, 1, 5, 5))
    w = paddle.to_tensor(np.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    same = F.conv2d(x, w, padding="SAME", dilation=2).numpy()
    undilated = F.conv2d(x, w, padding=1).numpy()
    return same.shape == undilated.shape and bool(np.array_equal(same, undilated))


def test_paddle_same_dilation_finding_is_paddles(tmp_path):
    """Where Paddle's 'SAME' drops the dilation, the default target reports it (forward on a 'same' case with a
    dilation), confirmed by the upstream reproducer; where it does not, forward, dx and dw hold."""
    report = _confirmed(narrowed(TARGET, dtypes=("float64",)), ["forward", "dx", "dw"], tmp_path)
    if not _paddle_drops_same_dilation():
        assert set(_verdicts(report).values()) == {"passed"}, report.text()
        return
    forward = next(o for o in report.outcomes if o.name == "forward")
    assert forward.verdict == "failed", report.text()
    assert forward.case.padding == "same" and forward.case.geometry.dilation != (1, 1)


def test_paddle_same_undilated_findings_are_paddles(tmp_path):
    """The variant narrowed past 'SAME' with dilation draws no such case; whatever else fails is Paddle's."""
    variant = isolated(NARROWED)
    assert variant.support.same_dilation is False
    names = ["forward", "dx", "dw", "db", "memory layouts", "NaN propagation"]
    _confirmed(variant, names, tmp_path)


def test_paddle_transposed_findings_are_paddles(tmp_path):
    names = ["transposed forward", "transposed backward", "transposed memory layouts", "transposed NaN propagation"]
    _confirmed(isolated(TARGET), names, tmp_path)


def test_paddle_dtypes_are_those_with_cpu_kernels():
    """Declared dtypes are exactly those Paddle's CPU conv2d and conv2d_transpose run in here."""
    from oracle import load

    paddle = _paddle()
    F = paddle.nn.functional
    working = []
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        x = paddle.to_tensor(np.ones((1, 2, 4, 4), np.float32)).astype(dtype)
        w = paddle.to_tensor(np.ones((2, 2, 3, 3), np.float32)).astype(dtype)
        try:
            F.conv2d(x, w)
            F.conv2d_transpose(x, w)
        except RuntimeError as error:
            assert "not registered" in str(error)
            continue
        working.append(dtype)
    variant = load(TARGET)
    assert variant.support.dtypes == tuple(working)


def test_paddle_output_padding_rule_is_the_strides():
    """An output padding at least the stride and below the dilation raises (declared ``"stride"``); below the
    stride it runs."""
    from oracle import load

    paddle = _paddle()
    F = paddle.nn.functional
    x, w = paddle.ones([1, 1, 3, 3], "float64"), paddle.ones([1, 1, 2, 2], "float64")
    assert F.conv2d_transpose(x, w, stride=2, output_padding=1).shape == [1, 1, 7, 7]
    try:
        F.conv2d_transpose(x, w, stride=1, dilation=2, output_padding=1)
        rule = "contract"
    except ValueError:
        rule = "stride"
    assert load(TARGET).support.output_padding == rule


def test_paddle_transposed_same_is_not_the_contracts_and_is_resolved():
    """Paddle's own transposed 'SAME' size is the docstring's ``(H - 1)*s + K - total`` (not ``H*s``, no key
    declares it); the adapter's 'same' gives the contract's ``H*s`` rows."""
    import math

    from oracle import load

    paddle = _paddle()
    F = paddle.nn.functional
    variant = load(TARGET)
    for h, s, k in [(3, 2, 3), (4, 2, 3), (5, 3, 2), (3, 2, 1)]:
        y = F.conv2d_transpose(paddle.ones([1, 1, h, h], "float64"), paddle.ones([1, 1, k, k], "float64"),
                               stride=s, padding="SAME")
        total = max((math.ceil(h / s) - 1) * s + k - h, 0)
        assert y.shape[2] == (h - 1) * s + k - total
        ours = variant.run("conv_transpose2d", np.ones((1, h, h, 1)), np.ones((k, k, 1, 1)), stride=s,
                           padding="same")
        assert ours.shape == (1, h * s, h * s, 1)


_PROBE = """
import warnings
warnings.filterwarnings("ignore")
import numpy as np, paddle
paddle.set_device("cpu")
F = paddle.nn.functional
"""
_KERNEL_TOO_LARGE = "y = F.conv2d(paddle.ones([1, 4, 7, 7], 'float64'), paddle.ones([2, 4, 9, 9], 'float64'))\n" \
                    "print(list(y.shape))"
_DY_WRONG_SHAPE = """
x = paddle.ones([2, 4, 6, 6], "float64"); x.stop_gradient = False
w = paddle.ones([2, 4, 3, 3], "float64"); w.stop_gradient = False
b = paddle.zeros([2], "float64"); b.stop_gradient = False
dx, dw, db = paddle.grad([F.conv2d(x, w, b)], [x, w, b], grad_outputs=[paddle.ones([2, 3, 4, 4], "float64")])
print(list(dx.shape))
"""


def _probe(code):
    """Paddle alone, in a child process: what it printed, or None where it raised or died."""
    run = subprocess.run([sys.executable, "-c", _PROBE + code], capture_output=True, text=True, timeout=120)
    return run.stdout.strip() if run.returncode == 0 else None


def test_paddle_bad_input_is_reported_where_paddle_takes_it():
    """The bad-input table (declared ``"any error"``): an entry fails exactly where Paddle returns or crashes.
    Paddle called directly: a kernel larger than the padded input gives a negative shape, and a ``dy`` of the wrong
    shape is taken by ``paddle.grad``; where it does, the report has those entries failing."""
    kernel_too_large, dy_wrong_shape = _probe(_KERNEL_TOO_LARGE), _probe(_DY_WRONG_SHAPE)
    report = checked(isolated(TARGET), ["bad input"], 1)
    outcome = next(o for o in report.outcomes if o.name == "bad input")
    failing = {row.entry: row.got for row in getattr(outcome.failure, "table", [])}
    negative_shape = kernel_too_large is not None and "-1" in kernel_too_large
    assert ("kernel_larger_than_padded_input" in failing) == negative_shape, report.text()
    assert ("dy_wrong_shape" in failing) == (dy_wrong_shape is not None), report.text()
    assert all(got == "returned" or "crashed" in got or "exited" in got for got in failing.values()), report.text()
