"""Every bundled implementation against PyTorch (float64, autograd) on the named edge cases, and on bad input."""

import numpy as np
import pytest

from oracle.cases.edge_cases import EDGE_CASES
from oracle.properties.bad_inputs import BAD_INPUTS
from oracle.properties.compare import assert_close, describe_call
from oracle.reference.truth import get_reference, truth
from tests.implementations import IMPLEMENTATIONS

pytest.importorskip("torch")
TORCH = get_reference("torch")


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_edge_case_matches_torch(name, dtype, case):
    impl = IMPLEMENTATIONS[name]
    x, w, b, dy = case.arrays(dtype)
    expected = truth(TORCH, x, w, b, dy, case.options)
    y = impl.conv2d(x, w, b, **case.options)
    call = describe_call("conv2d", x.shape, w.shape, case.options, dtype=dtype, bias=b is not None)
    assert_close("y", y, expected.y, expected.y_bound, dtype=dtype, call=call)
    grads = impl.conv2d_backward(dy, x, w, **case.options)
    call = describe_call("conv2d_backward", x.shape, w.shape, case.options, dtype=dtype)
    assert_close("dx", grads.dx, expected.dx, expected.dx_bound, dtype=dtype, call=call)
    assert_close("dw", grads.dw, expected.dw, expected.dw_bound, dtype=dtype, call=call)
    assert_close("db", grads.db, expected.db, expected.db_bound, dtype=dtype, call=call)


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: c.name)
def test_edge_case_chunked_equals_unchunked(case):
    """Integer values make every sum exact, so chunking must not change a single bit."""
    rng = np.random.default_rng(7)
    x, w, b, dy = (None if a is None else rng.integers(-4, 5, a.shape).astype(np.float32) for a in case.arrays())
    chunked = IMPLEMENTATIONS["vectorized_chunked"]
    whole = IMPLEMENTATIONS["vectorized"]
    assert np.array_equal(chunked.conv2d(x, w, b, **case.options), whole.conv2d(x, w, b, **case.options))
    for a, e in zip(chunked.conv2d_backward(dy, x, w, **case.options), whole.conv2d_backward(dy, x, w, **case.options)):
        assert np.array_equal(a, e)


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=lambda b: b.name)
@pytest.mark.parametrize("name", ["naive", "vectorized"])
def test_bad_input_raises_clear_error(name, bad):
    with pytest.raises(bad.error, match=bad.pattern):
        bad.call(IMPLEMENTATIONS[name])
