"""Every bundled implementation against PyTorch (float64, autograd) on the named edge cases and the block sweep, in
every dtype of the contract, and on bad input."""

import numpy as np
import pytest

from oracle.cases.edge_cases import EDGE_CASES, edge_case_examples
from oracle.cases.sweep import sweep_cases
from oracle.check.runner import check_values
from oracle.properties.bad_inputs import check_table
from oracle.reference.truth import get_reference
from oracle.targets.variant import from_object
from tests.implementations import IMPLEMENTATIONS

pytest.importorskip("torch")
TORCH = get_reference("torch")
VARIANTS = {name: from_object(impl, name) for name, impl in IMPLEMENTATIONS.items()}
EDGE_EXAMPLES = edge_case_examples()
SWEEP = sweep_cases()


@pytest.mark.parametrize("label, case", EDGE_EXAMPLES, ids=[label for label, _ in EDGE_EXAMPLES])
@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_edge_case_matches_torch(name, label, case):
    check_values(VARIANTS[name], case, TORCH)


@pytest.mark.parametrize("name", ["naive", "vectorized"])
def test_block_sweep_matches_torch(name):
    for _label, case in SWEEP:
        check_values(VARIANTS[name], case, TORCH)


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


@pytest.mark.parametrize("name", ["naive", "vectorized"])
def test_bad_input_raises_clear_error(name):
    rows = check_table(VARIANTS[name])
    assert len(rows) >= 25
    failing = [r for r in rows if not r.ok]
    assert not failing, failing
