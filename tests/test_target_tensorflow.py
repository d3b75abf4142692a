"""TensorFlow (``oracle.targets.tensorflow``) against the oracle, as tests/test_targets.py holds the other targets.

Each check runs with a small budget, TensorFlow isolated in worker processes. What TensorFlow does depends on the
CPU (oneDNN picks its kernels by CPU features, and takes some cases the Eigen kernels refuse), so no test asserts
that it is right or wrong: each asserts that the oracle reports what this machine's TensorFlow does, every finding
confirmed by its upstream reproducer run without conv-oracle (`tests/findings.py`), and the precision the target
declares is measured with inputs whose float32 sums are exact. The file skips where TensorFlow is not installed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import naive  # noqa: E402
from oracle import load  # noqa: E402
from oracle.reference.precision import FORMATS  # noqa: E402
from oracle.targets.standalone import pads_of, transposed_crops  # noqa: E402
from tests.targets import confirmed, exact_values, failed, held, narrowed  # noqa: E402

TARGET = "oracle.targets.tensorflow"
NARROWED = "oracle.targets.tensorflow:narrowed"


def _rounded_once(variant, dtype, transposed, bias, trials=2):
    """How many elements differ from the exact sum rounded once to ``dtype``, by ``(function, result)``: one
    group, explicit padding 1 (every gradient takes it), exact-sum inputs as tests/test_targets.py draws them."""
    rng, fmt, wrong = np.random.default_rng(0), FORMATS[dtype], {}
    forward, backward = ("conv_transpose2d", "conv_transpose2d_backward") if transposed else ("conv2d",
                                                                                              "conv2d_backward")
    options = {"stride": 1, "padding": 1, "dilation": 1, "groups": 1, **({"output_padding": 0} if transposed else {})}
    for _ in range(trials):
        x = exact_values(rng, (2, 6, 6, 24), dtype)
        w = exact_values(rng, (3, 3, 8, 24) if transposed else (3, 3, 24, 8), dtype)
        b, dy = exact_values(rng, (8,), dtype) if bias else None, exact_values(rng, (2, 6, 6, 8), dtype)
        x64, w64, dy64 = (a.astype(np.float64) for a in (x, w, dy))
        b64 = None if b is None else b.astype(np.float64)
        results = {(forward, "y"): (variant.run(forward, x, w, b, **options),
                                    getattr(naive, forward)(x64, w64, b64, **options))}
        grads = zip(variant.run(backward, dy, x, w, **options), getattr(naive, backward)(dy64, x64, w64, **options))
        results.update({(backward, name): pair for name, pair in zip(("dx", "dw", "db"), grads)})
        for key, (got, want) in results.items():
            wrong[key] = wrong.get(key, 0) + int((got.astype(np.float64) != fmt.round(want)).sum())
    return wrong


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_tensorflow_precision_is_as_declared(dtype):
    """Every result the declaration says is summed in float32 and rounded once is, element for element, the exact
    sum rounded once; the ones it declares summed in the half format (float16 ``dx``, ``dw`` and the transposed
    ``y``; bfloat16 those and ``db``) are judged by that bound in the checks below. With a bias, the half dtypes
    round twice (``bias_add`` after the rounded convolution): declared ``'rounded apart'``."""
    variant = load(TARGET)
    support = variant.support
    for transposed in (False, True):
        wrong = _rounded_once(variant, dtype, transposed, bias=False)
        for (function, result), count in wrong.items():
            declared = support.for_dtype("accumulation", dtype, function, result)
            if declared in ("float32", "float64"):
                assert count == 0, (function, result, wrong)
    with_bias = _rounded_once(variant, dtype, False, bias=True, trials=1)[("conv2d", "y")]
    assert (with_bias > 0) <= (support.value("bias", dtype=dtype, function="conv2d") == "rounded apart")


def test_tensorflow_same_is_tensorflows_own():
    """The adapter hands ``'same'`` to TensorFlow as its own ``'SAME'``: it is the contract's SAME_UPPER (the odd
    pixel of padding at the bottom and right) for every stride and dilation, and the transposed ``'SAME'``
    (``H_out = H*s``) crops the odd row at the bottom, the contract's (declared ``same`` left at ``"upper"``)."""
    rng = np.random.default_rng(1)
    for size, kernel, stride, dilation in (((7, 6), (2, 3), (1, 1), (2, 1)), ((7, 8), (4, 3), (2, 3), (1, 1)),
                                           ((5, 5), (2, 2), (1, 1), (1, 1)), ((6, 7), (3, 2), (1, 1), (3, 2))):
        x, w = tf.constant(rng.normal(size=(1, *size, 2))), tf.constant(rng.normal(size=(*kernel, 2, 3)))
        (pt, pb), (pl, pr) = pads_of("same", size, kernel, stride, dilation)
        explicit = [[0, 0], [pt, pb], [pl, pr], [0, 0]]
        same = tf.nn.conv2d(x, w, [1, *stride, 1], "SAME", dilations=[1, *dilation, 1])
        np.testing.assert_array_equal(same, tf.nn.conv2d(x, w, [1, *stride, 1], explicit, dilations=[1, *dilation, 1]))
    for size, kernel, stride in (((3, 4), (4, 3), (2, 2)), ((3, 3), (2, 5), (3, 2)), ((2, 3), (1, 2), (3, 3))):
        x, w = tf.constant(rng.normal(size=(1, *size, 2))), tf.constant(rng.normal(size=(*kernel, 3, 2)))
        out = [n * s for n, s in zip(size, stride)]
        same = tf.nn.conv2d_transpose(x, w, [1, *out, 3], [1, *stride, 1], "SAME")
        ((pt, pb), (pl, pr)), extra = transposed_crops("same", 0, size, kernel, stride, (1, 1))
        want = naive.conv_transpose2d(x.numpy(), w.numpy(), stride=stride, padding=((pt, pb), (pl, pr)),
                                      output_padding=extra)
        np.testing.assert_allclose(same.numpy(), want, rtol=1e-12, atol=1e-12)


def test_tensorflow_float16_gradients_refuse_dilation_and_groups():
    """What ``dilation`` and ``groups`` left out of the gradients rest on: TensorFlow's CPU gradient kernels refuse
    a dilation and grouped filters its forward pass takes (the oneDNN kernels of float32 and bfloat16 take them
    with ``'SAME'`` and ``'VALID'`` padding only, and a declaration has no scope by padding form)."""
    x = tf.ones((1, 5, 5, 2), tf.float16)
    for w, dilation in ((tf.ones((2, 2, 2, 2), tf.float16), 2), (tf.ones((2, 2, 1, 2), tf.float16), 1)):
        tf.nn.conv2d(x, w, 1, "VALID", dilations=dilation)  # the forward pass takes it
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = tf.nn.conv2d(x, w, 1, "VALID", dilations=dilation)
        with pytest.raises(tf.errors.InvalidArgumentError):
            tape.gradient(y, [x, w])
    declared = load(TARGET).support
    assert declared.value("dilation", function="conv2d_backward") is False
    assert declared.value("groups", function="conv2d_backward") is False


def test_tensorflow_empty_batch_is_reported_where_tensorflow_gives_the_input_shape(tmp_path):
    """Seen with TensorFlow 2.21 on x86-64: ``tf.nn.conv2d`` of an empty batch returns a result of the input's
    shape (so ``bias_add`` then refuses a bias of ``C_out``). The oracle reports it exactly where TensorFlow, called
    directly, does it; ``:narrowed`` leaves it out."""
    y = tf.nn.conv2d(tf.zeros((0, 5, 5, 2)), tf.zeros((3, 3, 2, 3)), 1, [[0, 0], [1, 1], [1, 1], [0, 0]])
    report = confirmed(narrowed(TARGET, dtypes=("float32",)), ["forward"], tmp_path, max_examples=2)
    if tuple(y.shape) == (0, 5, 5, 3):
        held(report, ["forward"])
        return
    outcome = failed(report, "forward")
    line = outcome.failure.line
    assert outcome.case.x.shape[0] == 0 and ("y.shape=" in line or "raised InvalidArgumentError" in line), line


def test_tensorflow_narrowed_is_the_default_less_its_findings():
    """``:narrowed`` declares what the default does, less the empty batch and bfloat16 (the checks below narrow the
    default target, isolated once, the same way)."""
    default, narrowed = load(TARGET).support, load(NARROWED).support
    assert narrowed == default.replace(min_batch=1, dtypes=("float16", "float32", "float64"))


def test_tensorflow_value_findings_are_tensorflows(tmp_path):
    """float16, float32 and float64 on a batch of one or more, as declared: whatever fails is TensorFlow's here."""
    names = ["forward", "dx", "dw", "db", "transposed forward", "transposed backward"]
    confirmed(narrowed(TARGET, min_batch=1, dtypes=("float16", "float32", "float64")), names, tmp_path,
               max_examples=4)


def test_tensorflow_contract_findings_are_tensorflows(tmp_path):
    names = ["shapes and dtypes", "fresh results", "memory layouts", "call history", "NaN propagation"]
    confirmed(narrowed(TARGET, min_batch=1, dtypes=("float32",)), names, tmp_path, max_examples=4)


def test_tensorflow_bfloat16_findings_are_reported_where_tensorflow_shows_them(tmp_path):
    """Seen with TensorFlow 2.21 on an AMD EPYC (avx512_bf16, oneDNN), in bfloat16 on a batch of one or more: with
    an odd ``C_in`` a NaN of the input spreads into the output pixel before its window; with ``C_in = 1``, a column
    stride of 2 and a kernel as wide as the input the values are wrong. The oracle reports each exactly where
    TensorFlow, called directly, shows it, and whatever else it reports in bfloat16 is TensorFlow's too, confirmed
    by its upstream reproducer."""
    x = np.ones((2, 4, 5, 3), np.float32)
    x[1, 2, 2, 0] = np.nan
    y = tf.nn.conv2d(tf.cast(x, tf.bfloat16), tf.ones((1, 1, 3, 1), tf.bfloat16), 1, "VALID")
    spreads = bool(np.isnan(tf.cast(y, tf.float32).numpy()[1, 2, 1, 0]))
    rng = np.random.default_rng(0)
    x, w = (tf.cast(rng.normal(size=shape), tf.bfloat16) for shape in ((1, 6, 5, 1), (2, 5, 1, 3)))
    y = tf.cast(tf.nn.conv2d(x, w, [1, 1, 2, 1], "VALID"), tf.float64).numpy()
    want = naive.conv2d(tf.cast(x, tf.float64).numpy(), tf.cast(w, tf.float64).numpy(), stride=(1, 2))
    wide_wrong = not np.allclose(y, want, rtol=2**-6, atol=2**-6)
    names = ["forward", "dx", "NaN propagation"]
    report = confirmed(narrowed(TARGET, dtypes=("bfloat16",), min_batch=1), names, tmp_path, max_examples=4)
    if spreads:
        outcome = failed(report, "NaN propagation")
        assert outcome.case.x.shape[3] % 2 == 1 and "its window does not hold the NaN" in outcome.failure.line
    else:
        held(report, ["NaN propagation"])
    if wide_wrong:
        outcome = failed(report, "forward")
        g = outcome.case.geometry
        assert outcome.case.x.shape[3] == 1 and g.stride[1] > 1, report.text()
    else:
        held(report, ["forward"])


def test_tensorflow_forward_takes_a_stride_with_a_dilation():
    """Why ``stride_dilation`` is left at the contract's: TensorFlow 2.21 computes a stride above 1 with a dilation
    above 1 (the value properties judge it; here it only must not be refused)."""
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(1, 9, 8, 2)), rng.normal(size=(2, 3, 2, 2))
    options = {"stride": (2, 3), "padding": ((1, 0), (0, 2)), "dilation": (2, 2), "groups": 1}
    got = load(TARGET).run("conv2d", x, w, None, **options)
    np.testing.assert_allclose(got, naive.conv2d(x, w, None, **options), rtol=1e-12, atol=1e-12)
