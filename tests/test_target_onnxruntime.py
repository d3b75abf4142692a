"""The ONNX Runtime target (`oracle.targets.onnxruntime`) against the oracle: its declaration measured, its findings
confirmed.

As in `tests/test_targets.py`, no test asserts that ONNX Runtime is right or wrong (MLAS picks its kernels by CPU):
each asserts that the oracle reports what this machine's onnxruntime does, every finding confirmed by its upstream
reproducer run without conv-oracle (`tests/findings.py`), and that each declared item is what onnxruntime does
here: the dtypes its CPU provider runs, the precision of float16 (measured with inputs whose float32 sums are
exact), and the refusals declared (an output padding at the stride; ``auto_pad`` SAME with a dilation). The known
``auto_pad`` bugs are asserted reported exactly where onnxruntime, called directly, shows them.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from oracle import load
from oracle.targets.onnxruntime import ort_constants, ort_conv2d, ort_conv_transpose2d, ort_session
from tests.findings import without_conv_oracle
from tests.targets import BUDGET, checked, confirmed, failed, held, isolated, narrowed, rounded_once

TARGET = "oracle.targets.onnxruntime"
LEVELS = {TARGET: "all", f"{TARGET}:unoptimized": "disable"}
AUTO_PAD, NARROWED = f"{TARGET}:auto_pad", f"{TARGET}:auto_pad_narrowed"


def _raises(function, *args, **options) -> Exception | None:
    """The exception ``function(*args, **options)`` raises, or None."""
    try:
        function(*args, **options)
    except Exception as error:  # onnxruntime's own exception classes
        return error
    return None


def _reported_and_confirmed(target, name, prop, case, tmp_path):
    """The oracle's property ``prop`` on one ``case`` of ``target`` (isolated): None where it holds, else the
    `Mismatch` it reports, whose upstream reproducer (`oracle.check.upstream`) must confirm it without conv-oracle."""
    from oracle.check import upstream
    from oracle.check.runner import Outcome
    from oracle.properties.compare import Mismatch
    from oracle.reference.truth import get_reference

    variant = isolated(target)
    try:
        prop(variant, case, get_reference())
    except Mismatch as failure:
        script = upstream.write(tmp_path, variant, Outcome(name, "failed", case=case, failure=failure), [name], target)
        assert script is not None, failure.line
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                             env=without_conv_oracle(tmp_path), timeout=300)
        assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr, run.stdout + run.stderr
        return failure
    return None


@pytest.mark.parametrize("target", LEVELS)
def test_declared_dtypes_are_those_the_cpu_provider_runs(target):
    """float32 and float16 (through inserted casts, at every level) load; float64 and bfloat16 have no CPU kernel."""
    import ml_dtypes  # noqa: F401  (numpy's 'bfloat16')

    declared = load(target).support.dtypes
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        for operator, attributes in (("Conv", (("pads", (0, 0, 0, 0)),)), ("ConvTranspose", ())):
            constants = ort_constants(np.ones((1, 1, 1, 1)), None, dtype)
            error = _raises(ort_session.__wrapped__, operator, dtype, attributes, LEVELS[target], constants)
            assert (error is None) == (dtype in declared), f"{operator} {dtype}: {error}"
            if error is not None:
                assert "NOT_IMPLEMENTED" in str(error)


def _transposed_rounded_once(variant, trials=4):
    """How many elements of float16 ``conv_transpose2d`` (with a bias; groups, stride 2, padding 1) differ from the
    exact result rounded once to float16; the inputs' float32 sums are exact (`tests.test_targets._rounded_once`)."""
    import naive
    from oracle.reference.precision import FORMATS
    from tests.targets import exact_values

    rng, wrong = np.random.default_rng(1), 0
    for trial in range(trials):
        groups = 4 if trial % 2 else 1
        x, w = exact_values(rng, (2, 5, 5, 24), "float16"), exact_values(rng, (3, 3, 8 // groups, 24), "float16")
        b = exact_values(rng, (8,), "float16")
        options = {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 1, "groups": groups}
        got = variant.run("conv_transpose2d", x, w, b, **options)
        want = naive.conv_transpose2d(*(a.astype(np.float64) for a in (x, w, b)), **options)
        wrong += int((got.astype(np.float64) != FORMATS["float16"].round(want)).sum())
    return wrong


@pytest.mark.parametrize("target", LEVELS)
def test_float16_sums_in_float32_and_rounds_once(target):
    """The casts ONNX Runtime inserts around a float32 kernel: the exact sum (with its bias) rounded once, in
    ``Conv`` and ``ConvTranspose``."""
    variant = load(target)
    assert rounded_once(variant, "float16", bias=True) == {"y": 0}
    assert rounded_once(variant, "float16", bias=False) == {"y": 0}
    assert _transposed_rounded_once(variant) == 0


@pytest.mark.parametrize(("target", "names"), [
    (TARGET, ["forward", "NaN propagation", "transposed forward"]),
    (f"{TARGET}:unoptimized", ["forward", "transposed forward"])])
def test_findings_are_onnxruntimes(target, names, tmp_path):
    """Both levels, both operators, float16 and float32: whatever the oracle reports, onnxruntime does alone."""
    confirmed(narrowed(target), names, tmp_path, max_examples=BUDGET)


def test_conv_transpose_output_padding_at_the_stride_is_refused_as_declared(tmp_path):
    """``stride <= op < dilation`` (the contract's rule allows it): ONNX Runtime refuses it; the declaration says
    so, and with the contract's rule the oracle reports the refusal, which onnxruntime confirms alone."""
    x, w = np.ones((1, 1, 3, 1), np.float32), np.ones((1, 1, 2, 1), np.float32)
    refused = _raises(ort_conv_transpose2d, x, w, stride=1, dilation=(2, 1), output_padding=(1, 0))
    assert (load(TARGET).support.output_padding == "stride") == (refused is not None)
    if refused is None:
        return
    contract = narrowed(TARGET, output_padding="contract", groups=False, dtypes=("float32",))
    report = confirmed(contract, ["transposed forward"], tmp_path, max_examples=40)
    outcome = failed(report, "transposed forward")
    g = outcome.case.geometry
    assert "raised InvalidArgument" in outcome.failure.line
    assert any(s <= op < d for op, s, d in zip(g.output_padding, g.stride, g.dilation))


def test_auto_pad_same_with_dilation_is_refused_as_declared(tmp_path):
    x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)
    refused = _raises(ort_conv2d, x, w, padding="same", dilation=2, auto_pad=True)
    assert (load(AUTO_PAD).support.value("same_dilation", function="conv2d") is False) == (refused is not None)
    if refused is None:
        return
    # 'same' at stride 1 only (no other auto_pad bug), every case 'same'
    lifted = narrowed(NARROWED, same_dilation=True, dtypes=("float32",), padding=("same",))
    outcome = failed(confirmed(lifted, ["forward"], tmp_path, max_examples=10), "forward")
    assert outcome.case.padding == "same" and max(outcome.case.geometry.dilation) > 1
    assert "Dilation not supported" in outcome.failure.line


def test_auto_pad_same_above_the_kernel_is_reported_where_onnxruntime_shifts_windows(tmp_path):
    """Seen with onnxruntime 1.32 on x86-64: ``Conv`` with ``auto_pad=SAME_UPPER`` and a stride above the kernel pads
    by a negative amount (``H = 4``, ``k = 1``, ``s = 4`` reads ``x[1]``, not ``x[0]``). A small random search
    seldom draws it (it needs ``H mod s`` at least 2 above the kernel), so the oracle's forward property is run on
    that case: it reports the shift where onnxruntime, called directly, makes it, and the upstream reproducer of the
    report confirms it without conv-oracle."""
    from oracle.cases.strategies import ConvCase
    from oracle.properties import forward

    x = np.arange(1.0, 5.0, dtype=np.float32).reshape(1, 1, 4, 1)
    shifts = ort_conv2d(x, np.ones((1, 1, 1, 1), np.float32), stride=(4, 1), padding="same", auto_pad=True)[0, 0, 0, 0]
    case = ConvCase(x.reshape(1, 4, 1, 1), np.ones((1, 1, 1, 1), np.float32), None, np.ones((1, 1, 1, 1), np.float32),
                    stride=(4, 1), padding="same")
    failure = _reported_and_confirmed(AUTO_PAD, "forward", forward, case, tmp_path)
    assert (failure is not None) == (shifts != 1.0)
    if failure is not None:
        assert failure.name == "y" and "should be 1" in failure.line


def test_auto_pad_shifted_windows_are_reached_by_a_named_edge_case_whatever_the_seed(tmp_path):
    """The shift needs ``H mod s`` at least 2 above the kernel, which a small random search seldom draws: the named
    edge case ``same_stride_gt_kernel`` has it on both axes, so the forward property of every check reaches it."""
    x = np.arange(1.0, 5.0, dtype=np.float32).reshape(1, 1, 4, 1)
    shifts = ort_conv2d(x, np.ones((1, 1, 1, 1), np.float32), stride=(4, 1), padding="same", auto_pad=True)[0, 0, 0, 0]
    report = confirmed(narrowed(AUTO_PAD, dtypes=("float32",)), ["forward"], tmp_path, max_examples=1)
    if shifts == 1.0:
        held(report, ["forward"])
    else:
        assert failed(report, "forward").note == "named edge case same_stride_gt_kernel (float32)", report.text()


def test_auto_pad_transposed_same_below_the_stride_is_reported_where_onnxruntime_returns_fewer_rows(tmp_path):
    """Seen with onnxruntime 1.32: ``ConvTranspose`` with ``auto_pad=SAME_UPPER`` and a kernel shorter than the stride
    returns ``(H - 1)*s + k`` rows instead of ``H*s``. The oracle reports the shape where onnxruntime gives it."""
    rows = ort_conv_transpose2d(np.ones((1, 1, 2, 1), np.float32), np.ones((1, 1, 1, 1), np.float32), stride=(3, 1),
                                padding="same", auto_pad=True).shape[2]
    report = confirmed(narrowed(AUTO_PAD, dtypes=("float32",)), ["transposed forward"], tmp_path, max_examples=20)
    if rows == 6:
        held(report, ["transposed forward"])
        return
    outcome = failed(report, "transposed forward")
    assert outcome.case.padding == "same" and "y.shape=" in outcome.failure.line
    assert any(s > k for s, k in zip(outcome.case.geometry.stride, outcome.case.w.shape))


def test_auto_pad_narrowed_findings_are_onnxruntimes(tmp_path):
    """Past the two bugs (``'same'`` at stride 1, no transposed ``'same'``): whatever is left is onnxruntime's."""
    names = ["forward", "transposed forward", "call history"]
    report = confirmed(narrowed(NARROWED), names, tmp_path, max_examples=BUDGET)
    assert "same='torch'" in report.text()
    assert checked(narrowed(NARROWED), ["dx"]).outcomes[0].verdict == "skipped"
