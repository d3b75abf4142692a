"""The property suite: every property of `oracle.properties` over the bundled implementations.

Each test draws cases with `oracle.cases.strategies.conv_cases` (the profile sets how many: ``ci`` 40, ``thorough``
600) and runs one property against naive, vectorized and vectorized's chunked path.
"""

import numpy as np
import pytest
from hypothesis import given

from oracle import properties
from oracle.cases.layouts import LAYOUTS
from oracle.cases.strategies import conv_cases
from oracle.reference.truth import get_reference
from oracle.targets.variant import from_object
from tests.implementations import IMPLEMENTATIONS

pytest.importorskip("torch")
TORCH = get_reference("torch")
NAIVE = get_reference("naive")
VARIANTS = {name: from_object(impl, name) for name, impl in IMPLEMENTATIONS.items()}
PROPERTY = {p.name: p.check for p in properties.PROPERTIES}
by_variant = pytest.mark.parametrize("name", list(VARIANTS))


@by_variant
@given(case=conv_cases())
def test_forward_matches_reference(name, case):
    properties.forward(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_dx_matches_reference(name, case):
    PROPERTY["dx"](VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_dw_matches_reference(name, case):
    PROPERTY["dw"](VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_db_matches_reference(name, case):
    PROPERTY["db"](VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_adjoint_identities_hold(name, case):
    properties.adjoint(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases(exact=True))
def test_adjoint_identities_are_exact_for_integers(name, case):
    properties.adjoint(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_shapes_and_dtypes_follow_contract(name, case):
    properties.shapes_and_dtypes(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_inputs_are_never_modified(name, case):
    properties.inputs_unmodified(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_results_are_fresh(name, case):
    properties.fresh_results(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_nan_propagates_exactly_to_windows_holding_it(name, case):
    properties.nan_propagation(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_inf_propagates_as_plain_arithmetic(name, case):
    properties.inf_propagation(VARIANTS[name], case, TORCH)


@by_variant
def test_bad_input_raises_as_design_says(name):
    properties.bad_input(VARIANTS[name])


@given(case=conv_cases())
def test_references_torch_and_naive_agree(case):
    properties.references_agree(TORCH, NAIVE, case)


@given(case=conv_cases())
def test_naive_and_vectorized_agree(case):
    """vectorized judged with naive as the reference: exact for integers, within the bounds otherwise."""
    properties.forward(VARIANTS["vectorized"], case, NAIVE)
    PROPERTY["dx"](VARIANTS["vectorized"], case, NAIVE)
    PROPERTY["dw"](VARIANTS["vectorized"], case, NAIVE)


@by_variant
@given(case=conv_cases())
def test_any_memory_layout_gives_the_same_result(name, case):
    properties.memory_layouts(VARIANTS[name], case, TORCH)


@by_variant
@given(case=conv_cases())
def test_no_result_depends_on_the_calls_before_it(name, case):
    properties.call_history(VARIANTS[name], case, TORCH)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
@given(case=conv_cases(exact=True))
def test_every_memory_layout_reaches_the_variant_with_the_same_values(layout, case):
    """Each layout changes the memory, never a value: what the variant receives equals the contiguous array."""
    variant = VARIANTS["vectorized"]
    plain = variant.arguments("conv2d_backward", (case.dy, case.x, case.w))
    arranged = variant.arguments("conv2d_backward", (case.dy, case.x, case.w), layout.arrange)
    for a, b in zip(plain, arranged):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.array_equal(a, b)
