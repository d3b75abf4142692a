"""The case strategy: valid by construction, reaching every edge-case class, shrinking to mostly zeros."""

import dataclasses
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, seed, settings

import naive
from oracle.cases.strategies import case_classes, conv_cases
from oracle.targets.variant import Support

CLASSES = {
    "N=0", "size-1 dimension", "rectangular kernel", "padding >= kernel", "stride > kernel", "dilation > 1",
    "groups > 1", "depthwise", "bias", "no bias", "rows no window reads", "kernel fills padded input",
    "asymmetric padding", "window of padding only", "float16", "bfloat16", "float32", "float64", "exact", "real",
    "padding:int", "padding:pair", "padding:sides", "padding:valid", "padding:same",
}
SIZE_CLASSES = {
    "C_in per group > 64", "C_out > 64", "H_out or W_out > 32", "N > 8", "kernel 7", "stride > 4", "dilation > 3",
    "padding > 8", "padding > kernel", "groups > 8", "channel tail of 4",
}


def test_strategy_reaches_every_edge_case_class():
    seen = Counter()

    @settings(max_examples=400, derandomize=True, database=None)
    @given(case=conv_cases())
    def draw(case):
        seen.update(case_classes(case))

    draw()
    missing = CLASSES - set(seen)
    assert not missing, f"never drawn in 400 cases: {sorted(missing)}"
    assert min(seen[c] for c in CLASSES) >= 10, f"rarely drawn: {seen.most_common()[-5:]}"


def test_strategy_reaches_every_size_class_within_a_default_check():
    """A default check draws 100 cases per property, each property from its own seed; over those draws every size
    class where fast kernels block is reached, several times."""
    from oracle.check.runner import property_seed
    from oracle.properties import PROPERTIES

    seen = Counter()
    for prop in PROPERTIES:
        @seed(property_seed(0, prop.name))
        @settings(max_examples=100, derandomize=False, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=conv_cases())
        def draw(case):
            seen.update(case_classes(case))

        draw()
    missing = SIZE_CLASSES - set(seen)
    assert not missing, f"never drawn in a default check: {sorted(missing)}"
    assert min(seen[c] for c in SIZE_CLASSES) >= 3, {c: seen[c] for c in SIZE_CLASSES}


@given(case=conv_cases())
def test_strategy_cases_are_valid_and_shaped_by_contract(case):
    y = naive.conv2d(case.x, case.w, case.b, **case.options)  # raises if the case were invalid
    assert y.shape == (case.x.shape[0], *case.geometry.out, case.w.shape[3])
    assert case.dy.shape == y.shape
    assert case.x.dtype == case.w.dtype == case.dy.dtype


@given(case=conv_cases(exact=True))
def test_strategy_exact_values_are_small_integers(case):
    for a in (case.x, case.w, case.dy) + (() if case.b is None else (case.b,)):
        assert np.array_equal(a, np.round(a)) and np.abs(a).max(initial=0) <= 6


@given(case=conv_cases(support=Support(dtypes=("float64",), dilation=False, groups=False, stride=False,
                                       bias=False, padding=("valid",), max_batch=1)))
def test_strategy_stays_inside_a_declared_support(case):
    assert case.dtype == np.float64 and case.b is None and case.padding == "valid"
    assert case.groups == 1 and case.geometry.dilation == (1, 1) and case.geometry.stride == (1, 1)
    assert case.x.shape[0] <= 1


def test_strategy_shrinks_a_channel_tail_to_the_smallest_channel_count():
    """A bug that needs C_in > 4 with 2 or 3 channels past the last block of 4 is reported at C_in = 6, not at 63."""
    case = find(conv_cases(), lambda c: c.x.shape[3] > 4 and c.x.shape[3] % 4 in (2, 3),
                settings=settings(database=None, derandomize=True, max_examples=2000))
    assert case.x.shape[3] == 6


def test_strategy_shrinks_options_to_their_plainest_form():
    """Options that play no part in a failure shrink to stride 1, dilation 1 and an int padding, as ints."""
    case = find(conv_cases(), lambda c: c.b is not None and np.count_nonzero(c.b) >= 1,
                settings=settings(database=None, derandomize=True, max_examples=500))
    assert case.stride == 1 and case.dilation == 1 and case.padding == 0 and case.groups == 1


def test_strategy_shrinks_to_mostly_zeros():
    """A failure that needs one nonzero input pixel and one nonzero weight shrinks to exactly that."""
    case = find(conv_cases(), lambda c: np.count_nonzero(c.x) >= 1 and np.count_nonzero(c.w) >= 1,
                settings=settings(database=None, derandomize=True, max_examples=500))
    assert np.count_nonzero(case.x) == 1 and np.count_nonzero(case.w) == 1
    assert case.x.size <= 4 and case.w.size <= 4


def test_strategy_options_are_checked():
    with pytest.raises(ValueError, match="max_kernel must be >= 1; got max_kernel=0"):
        conv_cases(max_kernel=0)
    with pytest.raises(TypeError, match=r"max_pad must be an int; got max_pad=1\.5"):
        conv_cases(max_pad=1.5)
    with pytest.raises(TypeError, match=r"support must be an oracle\.Support or a dict of its fields"):
        conv_cases(support=("backward",))
    with pytest.raises(ValueError, match=r"conv_oracle_support\['dtypes'\] must be"):
        conv_cases(support={"dtypes": ("float8",)})


def test_strategy_shape_budget_draws_at_most_that_many_shapes_per_dtype_with_new_values():
    """A variant that compiles per shape declares ``shapes``: its cases take the shapes of the first named edge
    cases (then sweep points) of each dtype, and only their values vary."""
    from oracle.cases.budget import shape_pool, within_budget

    support = Support.of({"shapes": 3})
    shapes, values = {}, set()

    def signature(case):
        return case.x.shape, case.w.shape, case.b is None, repr(case.options)

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=within_budget(support, ("conv2d",)),
           transposed=within_budget(support, ("conv_transpose2d",), transposed=True))
    def draw(case, transposed):
        shapes.setdefault(("conv2d", case.dtype.name), set()).add(signature(case))
        shapes.setdefault(("transposed", transposed.dtype.name), set()).add(signature(transposed))
        values.add(case.x.tobytes())

    draw()
    assert all(1 <= len(found) <= 3 for found in shapes.values()) and len(shapes) == 8
    pool = {signature(c) for c in shape_pool(support, ("conv2d",), "float32")}
    assert shapes["conv2d", "float32"] <= pool and len(values) > 20


def test_strategy_shape_budget_still_catches_a_planted_bug():
    from oracle import check_variant
    from oracle.targets.variant import load

    variant = load("oracle.zoo.padding_wrong_side")
    budgeted = dataclasses.replace(variant, support=variant.support.replace(shapes=8))
    report = check_variant(budgeted, only=["forward"], max_examples=30, report_dir=None, isolate=False)
    outcome = report.outcomes[0]
    assert outcome.verdict == "failed" and outcome.first_failure_at is not None  # by a generated case of the budget
    assert not outcome.note.startswith("named edge case"), report.text()
