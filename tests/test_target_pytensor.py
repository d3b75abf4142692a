"""The PyTensor target against the oracle (``oracle.targets.pytensor``), and its declaration measured.

As in ``tests/test_targets.py``: each check runs the target isolated in worker processes with a small budget, no test
asserts that PyTensor is right or wrong, each asserts that the oracle reports what this machine's PyTensor does,
every finding confirmed by its upstream reproducer run without conv-oracle (`tests.findings.confirm`), and each
declared item is measured here against PyTensor called directly. Compiled functions are cached per options (each
compilation costs far more than a call). Skips where pytensor is not installed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.targets import confirmed, isolated, narrowed

pytest.importorskip("pytensor")

TARGET = "oracle.targets.pytensor"
NARROWED = "oracle.targets.pytensor:undilated"


_confirmed = functools.partial(confirmed, max_examples=5)
"""Checks whose findings are confirmed upstream, at this file's budget."""








@pytest.fixture(scope="module")
def compiled():
    """``f(x, w)``: PyTensor's own cross-correlation (NCHW), compiled once per ``(dtype, dilation)``."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.tensor.conv import abstract_conv

    cache = {}

    def get(dtype, dilation=(1, 1)):
        if (dtype, dilation) not in cache:
            x, w = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
            y = abstract_conv.conv2d(x, w, filter_flip=False, filter_dilation=dilation)
            cache[dtype, dilation] = pytensor.function([x, w], y)
        return cache[dtype, dilation]

    return get


def test_pytensor_dilated_nan_finding_is_pytensors(compiled, tmp_path):
    """Where PyTensor's dilated kernel (written into zeros) turns a NaN that no window reads into NaN outputs, the
    NaN and inf properties report it on a dilated case, confirmed by the upstream reproducer; where it does not,
    they hold."""
    x = np.array([1.0, np.nan, 1.0]).reshape(1, 1, 1, 3)  # the middle pixel: between the two taps of dilation 2
    spreads = bool(np.isnan(compiled("float64", (1, 2))(x, np.ones((1, 1, 1, 2)))).any())
    report = _confirmed(narrowed(TARGET, dtypes=("float64",)), ["NaN propagation", "inf propagation"], tmp_path,
                        max_examples=5)
    verdicts = {o.name: o.verdict for o in report.outcomes}
    if not spreads:
        assert set(verdicts.values()) == {"passed"}, report.text()
        return
    outcome = next(o for o in report.outcomes if o.name == "NaN propagation")
    assert outcome.verdict == "failed", report.text()
    assert max(outcome.case.geometry.dilation) > 1
    assert "its window does not hold the NaN" in outcome.failure.line


def test_pytensor_undilated_findings_are_pytensors(tmp_path):
    """The variant narrowed past the dilated NaN draws no dilation; whatever fails is PyTensor's."""
    variant = isolated(NARROWED)
    assert variant.support.dilation is False
    _confirmed(variant, ["forward", "dx", "NaN propagation", "memory layouts"], tmp_path, max_examples=4)


def test_pytensor_transposed_findings_are_pytensors(tmp_path):
    _confirmed(isolated(TARGET), ["transposed forward", "transposed backward", "transposed adjoint"], tmp_path)


def test_pytensor_dtypes_are_those_it_computes_in(compiled):
    """Declared dtypes are exactly those PyTensor's conv2d computes in here (float16 compiles, then raises)."""
    from oracle import load

    working = []
    for dtype in ("float16", "float32", "float64"):
        try:
            compiled(dtype)(np.ones((1, 1, 3, 3), dtype), np.ones((1, 1, 2, 2), dtype))
        except ValueError as error:
            assert "not available for this type" in str(error)
            continue
        working.append(dtype)
    assert load(TARGET).support.dtypes == tuple(working)


def test_pytensor_output_padding_rule_is_the_strides():
    """An ``output_shape`` one row past what the stride allows (output padding at the stride, below the dilation)
    raises (declared ``"stride"``); below the stride it runs."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.tensor.conv import abstract_conv

    from oracle import load

    def transposed(size, rows, stride, dilation):
        """``rows`` rows out of ``size`` input rows and a 2-row kernel: full ``(size - 1)*stride + dilation + 1``."""
        x, w = pt.tensor4(dtype="float64"), pt.tensor4(dtype="float64")
        y = abstract_conv.conv2d_transpose(x, w, (None, None, rows, 1), input_dilation=(stride, 1),
                                           filter_dilation=(dilation, 1), filter_flip=False)
        return pytensor.function([x, w], y)(np.ones((1, 1, size, 1)), np.ones((1, 1, 2, 1))).shape[2]

    assert transposed(2, 5, stride=2, dilation=1) == 5  # full 4 rows, output padding 1 < stride 2
    try:
        transposed(1, 4, stride=1, dilation=2)  # full 3 rows, output padding 1 = stride 1 < dilation 2
        rule = "contract"
    except ValueError:
        rule = "stride"
    assert load(TARGET).support.output_padding == rule


def test_pytensor_compiled_functions_are_cached():
    from oracle.targets import pytensor as target

    x, w = np.ones((1, 2, 4, 4)), np.ones((3, 2, 2, 2))
    target.conv2d(x, w, stride=(1, 2))
    before = target.pytensor_compiled.cache_info()
    y = target.conv2d(x, w, stride=(1, 2))
    after = target.pytensor_compiled.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert y.shape == (1, 3, 3, 2) and np.all(y == 8)
