"""The bundled targets against the oracle: JAX, ONNX's reference evaluator and PyTorch (CPU, both memory formats).

Each test checks a few properties with a small budget, the target isolated in worker processes (a library that
crashes on this machine crashes a worker, not the test). What a library does depends on the machine, so no test
asserts that a library is right or wrong: each asserts that the oracle reports what this machine's library does,
every finding confirmed by its upstream reproducer, which calls the library alone (`tests/findings.py`). The
precision each target declares for the half dtypes is measured here with inputs whose float32 sums are exact: a
result summed in float32 (or wider) and rounded once is then the exact sum rounded once, element for element. Tests
skip when a library is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from oracle import load
from tests.targets import BUDGET, checked, confirmed, failed, held, isolated, narrowed, rounded_once

# --- JAX ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jax_target():
    pytest.importorskip("jax")
    load("oracle.targets.jax")  # enables float64 in JAX, for the tests that call JAX directly too
    return "oracle.targets.jax"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_jax_forward_findings_are_jaxs(jax_target, dtype, tmp_path):
    confirmed(narrowed(jax_target, dtypes=(dtype,)), ["forward"], tmp_path, max_examples=5)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_jax_backward_findings_are_jaxs(jax_target, dtype, tmp_path):
    confirmed(narrowed(jax_target, dtypes=(dtype,)), ["dx", "dw", "db"], tmp_path, max_examples=5)


def test_jax_contract_findings_are_jaxs(jax_target, tmp_path):
    names = ["shapes and dtypes", "fresh results", "memory layouts"]
    confirmed(narrowed(jax_target, dtypes=("float16",)), names, tmp_path, max_examples=5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_jax_transposed_findings_are_jaxs(jax_target, dtype, tmp_path):
    """``lax.conv_transpose`` (once per group, the padding as the dilated input's): every value property."""
    names = ["transposed forward", "transposed backward"]
    confirmed(narrowed(jax_target, dtypes=(dtype,)), names, tmp_path, max_examples=5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_jax_half_dtypes_sum_in_float32_and_round_once(jax_target, dtype):
    assert rounded_once(load(jax_target), dtype, bias=True, backward=True) == {"y": 0, "dx": 0, "dw": 0, "db": 0}


def test_jax_float64_depthwise_nan_is_reported_where_jax_spreads_it(jax_target, tmp_path):
    """Seen on x86-64 CPUs with XLA 0.10: in float64 a depthwise convolution spreads one group's NaN to every
    group's outputs. The oracle reports it exactly where JAX itself, called directly, does it."""
    import jax.numpy as jnp
    from jax import lax

    # JAX itself, no adapter: one input channel per group, a NaN in group 1's input
    x = np.array([1.0, np.nan]).reshape(1, 1, 1, 2)
    y = lax.conv_general_dilated(jnp.asarray(x, np.float64), jnp.ones((1, 1, 1, 2), np.float64), (1, 1), "VALID",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=2)
    spreads = bool(np.isnan(float(y[0, 0, 0, 0])))
    report = confirmed(narrowed(jax_target, dtypes=("float64",)), ["NaN propagation", "inf propagation"],
                        tmp_path, max_examples=BUDGET)
    if not spreads:
        held(report, ["NaN propagation", "inf propagation"])
        return
    outcome = failed(report, "NaN propagation")
    assert outcome.case.groups > 1 and outcome.case.dtype == np.float64
    assert "its window does not hold the NaN" in outcome.failure.line


# --- ONNX -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_target():
    pytest.importorskip("onnx")
    return "oracle.targets.onnx"


def test_onnx_forward_holds_where_it_rounds_once(onnx_target):
    """Everything but float16 (below): bfloat16, float32 and float64 hold every forward property."""
    names = ["forward", "shapes and dtypes", "inputs unmodified", "fresh results", "memory layouts", "call history"]
    report = checked(narrowed(onnx_target, dtypes=("bfloat16", "float32", "float64")), names, max_examples=20)
    held(report, names)
    assert {o.name: o.verdict for o in checked(onnx_target, ["dx"]).outcomes}["dx"] == "skipped"


def test_onnx_float16_with_a_bias_rounds_twice_and_the_report_shows_it(onnx_target):
    variant = load(onnx_target)
    assert "float16" in variant.support.dtypes  # declared as the contract asks: the finding is reported
    assert rounded_once(variant, "bfloat16", bias=True) == {"y": 0}
    # float16: W @ im2col(X) is rounded once, but the bias is added to the rounded product, rounding twice
    assert rounded_once(variant, "float16", bias=False) == {"y": 0}
    assert rounded_once(variant, "float16", bias=True)["y"] > 0
    report = checked(narrowed(onnx_target, dtypes=("float16",)), ["forward"], max_examples=20)
    outcome = failed(report, "forward")
    assert outcome.case.b is not None and "rounding to float16" in outcome.failure.line


def test_onnx_dilation_spreads_nan_through_inserted_zeros(onnx_target):
    report = checked(onnx_target, ["NaN propagation", "inf propagation"], max_examples=20)
    outcome = failed(report, "NaN propagation")
    assert max(outcome.case.geometry.dilation) > 1
    assert "its window does not hold the NaN" in outcome.failure.line
    failed(report, "inf propagation")
    undilated = checked(narrowed(onnx_target, dilation=False), ["NaN propagation", "inf propagation"], 20)
    held(undilated, ["NaN propagation", "inf propagation"])


def test_onnx_transposed_groups_and_dilated_output_padding_are_reported(onnx_target):
    """ConvTranspose in ONNX's reference evaluator: without groups and dilation, on a batch of one or more, every
    transposed property holds; with groups each group takes the wrong weights and bias; an output padding the
    dilation allows (at least the stride, below the dilation) makes it raise, as an empty batch does."""
    from oracle.cases.transposed import TRANSPOSED_EDGE_CASES
    from oracle.properties.compare import Mismatch
    from oracle.properties.transposed import transposed_forward
    from oracle.reference.truth import get_reference

    names = ["transposed forward", "transposed adjoint", "transposed contract"]
    plain = narrowed(onnx_target, groups=False, dilation=False, min_batch=1, dtypes=("float32", "float64"))
    held(checked(plain, names, max_examples=20), names)
    empty = next(e for e in TRANSPOSED_EDGE_CASES if e.name == "empty_batch").case("float64")
    with pytest.raises(Mismatch, match="conv_transpose2d raised TypeError"):
        transposed_forward(load(onnx_target), empty, get_reference("naive"))
    grouped = checked(narrowed(onnx_target, dilation=False, min_batch=1, dtypes=("float64",)),
                     ["transposed forward"], 40)
    assert failed(grouped, "transposed forward").case.groups > 1
    dilated = checked(narrowed(onnx_target, groups=False, min_batch=1, dtypes=("float64",)),
                     ["transposed forward"], 40)
    outcome = failed(dilated, "transposed forward")
    g = outcome.case.geometry
    assert "raised ValueError" in outcome.failure.line
    assert any(s <= op < d for op, s, d in zip(g.output_padding, g.stride, g.dilation))


# --- PyTorch --------------------------------------------------------------------------------------------------

TORCH_TARGETS = ["oracle.targets.torch", "oracle.targets.torch:channels_last"]


@pytest.mark.parametrize("target", TORCH_TARGETS)
def test_torch_cpu_findings_in_float32_and_float64_are_torchs(target, tmp_path):
    pytest.importorskip("torch")
    confirmed(narrowed(target, dtypes=("float32", "float64")), ["forward", "dx", "memory layouts"], tmp_path,
               max_examples=10)


@pytest.mark.parametrize("target", TORCH_TARGETS)
def test_torch_cpu_half_findings_are_torchs(target, tmp_path):
    """PyTorch's CPU float16/bfloat16 paths, as declared (float32 sums; partial sums that may be rounded to the
    half format, per kernel tap into ``dx`` and the transposed ``y``): whatever fails is PyTorch's, here."""
    pytest.importorskip("torch")
    names = ["forward", "dx", "transposed forward", "transposed backward", "NaN propagation"]
    confirmed(narrowed(target, dtypes=("float16", "bfloat16")), names, tmp_path, max_examples=20)


def test_torch_channels_last_float32_forward_that_crashes_here_is_reported_so(tmp_path):
    """Seen on an Intel Xeon with AMX (torch 2.13.0+cpu): an NHWC view handed to ``F.conv2d`` with a 1x1 kernel,
    stride (1, 2), padding (0, 3) and dilation (1, 2) kills the process with SIGSEGV. Where PyTorch crashes on it, the
    check reports the crash with its case and an upstream reproducer that crashes too; where it does not, the case
    passes."""
    pytest.importorskip("torch")
    import subprocess
    import sys

    probe = ("import numpy as np, torch, torch.nn.functional as F\n"
             "x = torch.from_numpy(np.zeros((2, 2, 1, 1), np.float32)).permute(0, 3, 1, 2)\n"
             "w = torch.from_numpy(np.zeros((1, 1, 1, 1), np.float32)).permute(3, 2, 0, 1)\n"
             "F.conv2d(x, w, torch.zeros(1), stride=(1, 2), padding=(0, 3), dilation=(1, 2))\n")
    crashes = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120).returncode < 0
    from oracle.cases.strategies import ConvCase
    from oracle.properties import forward
    from oracle.properties.compare import Mismatch
    from oracle.reference.truth import get_reference

    zeros = np.zeros((2, 2, 1, 1), np.float32)
    case = ConvCase(zeros, np.zeros((1, 1, 1, 1), np.float32), np.zeros(1, np.float32), np.zeros((2, 2, 4, 1),
                    np.float32), stride=(1, 2), padding=(0, 3), dilation=(1, 2))
    variant = isolated("oracle.targets.torch:channels_last")
    if not crashes:
        forward(variant, case, get_reference())
        return
    with pytest.raises(Mismatch, match="conv2d crashed: SIGSEGV"):
        forward(variant, case, get_reference())
