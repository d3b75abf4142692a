"""OpenVINO's CPU plugin (`oracle.targets.openvino`) against the oracle.

As in ``tests/test_targets.py``: each check runs the target isolated in worker processes with a small budget, and
no test asserts that OpenVINO is right or wrong (its kernels depend on the CPU, its precision on the plugin's
default hint): each asserts that the oracle reports what this machine's OpenVINO does, every finding confirmed by
its upstream reproducer, which calls OpenVINO alone (`tests/findings.py`). The precision each hint is declared
with is measured with inputs whose products and float32 sums are exact. Skips where OpenVINO is not installed.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest

import naive
from oracle import load
from oracle.reference.precision import FORMATS, storage_dtype
from tests.targets import confirmed, isolated, narrowed

openvino = pytest.importorskip("openvino")
from oracle.targets import openvino as target  # noqa: E402

DEFAULT, F32 = "oracle.targets.openvino", "oracle.targets.openvino:f32"


_confirmed = functools.partial(confirmed, max_examples=4)
"""Checks whose findings are confirmed upstream, at this file's budget."""








def _verdict(report, name):
    return next(o for o in report.outcomes if o.name == name)


def _nchw(x, w):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def _ov(x, w, b=None, *, dtype, hint, **options):
    """OpenVINO itself (the library function, no adapter, no oracle) on NHWC ``x`` and HWIO ``w``."""
    xs, ws = _nchw(x, w)
    return target.ov_conv2d(xs, ws, b, dtype=dtype, hint=hint, **options).transpose(0, 2, 3, 1)


def _declared(variant, dtype):
    """``(input format or None, result format, bias apart)`` as the variant declares ``dtype``'s ``y``."""
    support = variant.support
    inputs = support.value("input_rounding", dtype=dtype, function="conv2d", result="y")
    output = support.value("output_rounding", dtype=dtype, function="conv2d", result="y")
    apart = support.value("bias", dtype=dtype, function="conv2d") == "rounded apart"
    return (None if inputs == "none" else inputs), (output if isinstance(output, str) else dtype), apart


# --- the declaration ------------------------------------------------------------------------------------------


def test_openvino_declaration_follows_the_plugins_precision_hint():
    """The hint is read from a compiled model, and the declaration says what that hint computes."""
    assert target.f32.precision == "f32"
    for variant, hint in ((load(DEFAULT), target._default.precision), (load(F32), "f32")):
        lowered = target.LOWERED.get(hint)
        for dtype in ("float16", "float32", "float64"):
            inputs, result, apart = _declared(variant, dtype)
            if lowered:
                assert (inputs, result, apart) == (lowered if dtype != lowered else None,
                                                   lowered if dtype != lowered else dtype, True)
            elif dtype == "float64":
                assert (inputs, result) == ("float32", "float32")
            else:
                assert (inputs, result, apart) == (None, dtype, False)
        assert _declared(variant, "bfloat16") == (None, "bfloat16", True)


@pytest.mark.parametrize("name", [DEFAULT, F32])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_openvino_results_are_the_declared_rounding_of_exact_sums(name, dtype):
    """Two kinds of inputs: values of 8 bits (exact in bfloat16) with 3x3 kernels over 16 channels, whose products
    and sums are exact in float32, so each result is the exact sum rounded as declared; and float16 values of 10
    bits with a 1x1 kernel over 4 channels, whose float32 sums of products are exact too, so rounding the inputs
    to bfloat16 shows. Every element is the declared computation, or the sum rounded once to the storage dtype
    (fewer roundings than declared: the bf16 hint returns a float32 convolution's own output unrounded)."""
    variant, rng = load(name), np.random.default_rng(0)
    inputs, result, apart = _declared(variant, dtype)
    storage = FORMATS[dtype].round
    rounded = (lambda a: a) if inputs is None else FORMATS[inputs].round
    cases = [(rng.integers(-15, 16, s) * 2.0 ** rng.integers(-3, 2, s) for s in ((2, 5, 5, 16), (3, 3, 16, 6), (6,))),
             (rng.integers(-1023, 1024, s) * 2.0 ** rng.integers(-9, -6, s) for s in ((2, 4, 4, 4), (1, 1, 4, 6),
                                                                                      (6,)))]
    for x, w, b in cases:
        x, w, b = storage(x), storage(w), storage(b)
        if dtype == "float64" and inputs and not FORMATS[inputs].representable(x):
            continue  # float64 under a lowered hint: judged by the forward property's bound, not bit for bit
        for bias in (None, b):
            kind = storage_dtype(dtype)
            got = variant.run("conv2d", x.astype(kind), w.astype(kind), None if bias is None else bias.astype(kind),
                              padding="same")
            got = np.asarray(got, dtype=np.float64)
            s = naive.conv2d(rounded(x), rounded(w), padding="same")
            once = storage(s if bias is None else s + bias)
            if bias is None:
                declared = storage(FORMATS[result].round(s))
            elif apart:
                declared = storage(FORMATS[result].round(s) + bias)
            else:
                declared = storage(FORMATS[result].round(s + bias))
            assert ((got == declared) | (got == once)).all(), (name, dtype, bias is not None)


# --- findings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["oracle.targets.openvino:narrowed", "oracle.targets.openvino:f32_narrowed"])
def test_openvino_narrowed_findings_are_openvinos(name, tmp_path):
    """The variants narrowed past the known bugs: whatever they still report, OpenVINO alone confirms."""
    names = ["forward", "NaN propagation", "inf propagation", "transposed forward"]
    _confirmed(narrowed(name, dtypes=("float32", "float64")), names, tmp_path, max_examples=4)


def test_openvino_float64_inf_is_reported_where_openvino_clamps_it(tmp_path):
    """openvino#37968: the plugin converts float64 to float32 by clamping, inf to FLT_MAX."""
    x, w = np.array([np.inf]).reshape(1, 1, 1, 1), np.ones((1, 1, 1, 1))
    clamps = bool(np.isfinite(_ov(x, w, dtype="float64", hint="f32")).all())
    report = _confirmed(narrowed("oracle.targets.openvino:f32_narrowed", dtypes=("float64",)),
                        ["inf propagation"], tmp_path)
    outcome = _verdict(report, "inf propagation")
    assert outcome.verdict == ("failed" if clamps else "passed"), report.text()


def test_openvino_transposed_same_is_reported_where_openvino_crops_the_odd_row_at_the_top(tmp_path):
    """SAME_UPPER of ConvolutionBackpropData: OpenVINO's specification puts the odd cropped row at the end."""
    x, w = np.arange(1.0, 4.0).reshape(1, 3, 1, 1), np.ones((2, 1, 1, 1))
    y = target.ov_conv_transpose2d(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), padding="same",
                                   dtype="float32", hint="f32")[0, 0, :, 0]
    at_top = y.tolist() == [3.0, 5.0, 3.0]  # full = [1, 3, 5, 3]: the contract keeps [1, 3, 5]
    variant = narrowed(F32, dtypes=("float32",), padding={"transposed": ("same",)})
    report = _confirmed(variant, ["transposed forward"], tmp_path, max_examples=3)
    outcome = _verdict(report, "transposed forward")
    assert outcome.verdict == ("failed" if at_top else "passed"), report.text()
    if at_top:
        assert outcome.case.padding == "same"


def test_openvino_full_width_strided_kernel_with_one_input_channel_is_reported_where_it_errs(tmp_path):
    """Seen with OpenVINO 2026.4.1 on an AMD EPYC (f32 and bf16 hints, every dtype): one input channel, a kernel of
    two rows spanning the whole input width, a column stride of 2: wrong values."""
    rng = np.random.default_rng(0)
    x, w = rng.integers(-3, 4, (1, 6, 5, 1)).astype(float), rng.integers(-3, 4, (2, 5, 1, 3)).astype(float)
    wrong = not np.array_equal(_ov(x, w, dtype="float32", hint="f32", stride=(1, 2)),
                               naive.conv2d(x, w, stride=(1, 2)))
    report = _confirmed(narrowed(F32, dtypes=("float32",)), ["forward"], tmp_path, max_examples=1)
    outcome = _verdict(report, "forward")
    if not wrong:
        return  # another kernel here: whatever failed was confirmed above
    assert outcome.verdict == "failed", report.text()


def test_openvino_bf16_padding_only_windows_crash_is_reported_so():
    """Seen with OpenVINO 2026.4.1 on an AMD EPYC with avx512_bf16: a bfloat16 kernel on a 1x1 input, kernel 1x2,
    stride (1, 3), dilation (1, 2), padding (0, 4), where every window reads padding only, kills the process with
    SIGSEGV in ``infer()``. Where it crashes, the check reports the crash with its case; where it does not, the
    case passes."""
    from oracle.cases.strategies import ConvCase, fit
    from oracle.properties import forward
    from oracle.properties.compare import Mismatch
    from oracle.reference.truth import get_reference

    probe = ("import numpy as np\nfrom oracle.targets.openvino import ov_conv2d\n"
             "ov_conv2d(np.ones((1, 1, 1, 1), np.float32), np.ones((1, 1, 1, 2), np.float32), stride=(1, 3), "
             "padding=((0, 0), (4, 4)), dilation=(1, 2), dtype='bfloat16', hint='f32')\n")
    crashes = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120).returncode < 0
    variant, kind = isolated(F32), storage_dtype("bfloat16")
    case = fit(ConvCase(np.ones((1, 1, 1, 1), kind), np.ones((1, 2, 1, 1), kind), None, np.ones((1, 1, 3, 1), kind),
                        stride=(1, 3), padding=((0, 0), (4, 4)), dilation=(1, 2)), variant.support)
    if not crashes:
        forward(variant, case, get_reference())
        return
    with pytest.raises(Mismatch, match="conv2d crashed: SIGSEGV"):
        forward(variant, case, get_reference())
