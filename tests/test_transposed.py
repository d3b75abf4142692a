"""The transposed convolution: naive and vectorized against PyTorch's ``conv_transpose2d`` (autograd) on the whole
transposed strategy and every named edge case in every dtype, the adjoint identity with ``conv2d``, the bad-input
entries of ``output_padding``, the output size, the strategy's reach and ``explain --transposed``."""

import math

import numpy as np
import pytest
from hypothesis import given, settings

import naive
import vectorized
from oracle.cases.transposed import (
    TRANSPOSED_EDGE_CASES,
    TransposedCase,
    transposed_case_classes,
    transposed_cases,
    transposed_edge_case_examples,
)
from oracle.properties import PROPERTIES, applicable
from oracle.properties.bad_inputs import check_table
from oracle.properties.compare import Mismatch
from oracle.properties.ieee import inf_propagation, nan_propagation
from oracle.properties.memory import memory_layouts
from oracle.properties.transposed import (
    transposed_adjoint,
    transposed_backward,
    transposed_contract,
    transposed_forward,
)
from oracle.reference.truth import get_reference, truth_transposed
from oracle.targets.support import DTYPES
from oracle.targets.variant import from_object
from tests.implementations import IMPLEMENTATIONS

pytest.importorskip("torch")
TORCH = get_reference("torch")
VARIANTS = {name: from_object(impl, name) for name, impl in IMPLEMENTATIONS.items()}
by_variant = pytest.mark.parametrize("name", list(VARIANTS))


@by_variant
@given(case=transposed_cases())
def test_transposed_forward_matches_pytorch(name, case):
    transposed_forward(VARIANTS[name], case, TORCH)


@by_variant
@given(case=transposed_cases())
def test_transposed_backward_matches_pytorch(name, case):
    transposed_backward(VARIANTS[name], case, TORCH)


@by_variant
@given(case=transposed_cases())
def test_transposed_adjoint_identity_holds(name, case):
    transposed_adjoint(VARIANTS[name], case, TORCH)


@by_variant
@given(case=transposed_cases(exact=True))
def test_transposed_adjoint_identity_is_exact_for_integers(name, case):
    if case.dtype.name == "float64":  # float64 sums of small integers are exact: every bound is 0
        assert not truth_transposed(TORCH, case).y.bound.total.any()
    transposed_adjoint(VARIANTS[name], case, TORCH)


@by_variant
@given(case=transposed_cases())
def test_transposed_inputs_unmodified_and_results_fresh(name, case):
    transposed_contract(VARIANTS[name], case, TORCH)


@by_variant
@given(case=transposed_cases())
def test_transposed_memory_layouts_give_the_same_results(name, case):
    memory_layouts(VARIANTS[name], case, TORCH)


@by_variant
@given(case=transposed_cases())
def test_transposed_nan_and_inf_propagate_exactly_to_the_windows_that_hold_them(name, case):
    nan_propagation(VARIANTS[name], case, TORCH)
    inf_propagation(VARIANTS[name], case, TORCH)


def _variant(conv_transpose2d):
    return from_object(type("Planted", (), {"conv2d": staticmethod(vectorized.conv2d),
                                            "conv_transpose2d": staticmethod(conv_transpose2d)})())


def test_transposed_memory_layouts_catch_a_kernel_that_reads_memory_order():
    """A kernel that flattens ``x`` in memory order (``order="K"``) scrambles a Fortran-ordered input."""
    def planted(x, w, b=None, **options):
        return vectorized.conv_transpose2d(x.ravel(order="K").reshape(x.shape), w, b, **options)

    case = TRANSPOSED_EDGE_CASES[2].case("float64").replace(memory="Fortran order")
    transposed_forward(_variant(planted), case, TORCH)  # contiguous arguments: right
    with pytest.raises(Mismatch, match=r"with x alone as"):
        memory_layouts(_variant(planted), case, TORCH)


def test_transposed_nan_property_catches_dilation_by_inserted_zeros():
    """A kernel dilated by inserting zero taps multiplies NaN by 0 where no real tap reads it (ONNX's Conv)."""
    def planted(x, w, b=None, *, dilation=1, **options):
        d = (dilation, dilation) if isinstance(dilation, int) else dilation
        dilated = np.zeros(((w.shape[0] - 1) * d[0] + 1, (w.shape[1] - 1) * d[1] + 1, *w.shape[2:]), w.dtype)
        dilated[:: d[0], :: d[1]] = w
        return vectorized.conv_transpose2d(x, dilated, b, **options)

    case = next(e for e in TRANSPOSED_EDGE_CASES if e.name == "dilation_with_stride").case("float64")
    case = case.replace(nan_at=(0, 1, 1, 0))
    transposed_forward(_variant(planted), case, TORCH)  # finite values: right
    with pytest.raises(Mismatch, match=r"y\[.*\]=NaN, but should be finite: its window does not hold the NaN"):
        nan_propagation(_variant(planted), case, TORCH)


@pytest.mark.parametrize("name", ["naive", "vectorized"])
@pytest.mark.parametrize("label, case", transposed_edge_case_examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_transposed_edge_case_matches_pytorch(name, label, case):
    for check in (transposed_forward, transposed_backward, transposed_adjoint, memory_layouts, nan_propagation,
                  inf_propagation):
        check(VARIANTS[name], case, TORCH)


def test_transposed_edge_cases_cover_every_dtype_and_their_classes():
    examples = transposed_edge_case_examples()
    assert len(examples) == len(TRANSPOSED_EDGE_CASES) * len(DTYPES)
    classes = set().union(*(transposed_case_classes(case) for _, case in examples))
    assert {"output padding at its maximum", "stride > kernel", "padding >= kernel", "dilation with stride",
            "groups", "depthwise", "1x1 input", "same", "empty batch"} <= classes


def test_transposed_strategy_reaches_every_class():
    """300 derandomized draws reach every class of transposed case at least 5 times."""
    counts: dict[str, int] = {}

    @settings(max_examples=300, derandomize=True, database=None)
    @given(case=transposed_cases())
    def draw(case):
        for c in transposed_case_classes(case):
            counts[c] = counts.get(c, 0) + 1

    draw()
    expected = {"output padding", "output padding at its maximum", "stride > kernel", "padding >= kernel",
                "asymmetric padding", "same", "dilation with stride", "groups", "depthwise", "1x1 input",
                "empty batch", "channels past 8", "input past 8", "output past 16"}
    assert {c: counts.get(c, 0) for c in expected if counts.get(c, 0) < 5} == {}


@pytest.mark.parametrize("module", [naive, vectorized], ids=["naive", "vectorized"])
@pytest.mark.parametrize("size, kernel, options, out", [
    ((3, 4), (3, 2), {"stride": 2, "padding": 1, "output_padding": 1}, (6, 7)),  # (4-1)*2 - 2 + 1 + 1 + 1
    ((2, 2), (3, 3), {"stride": 1, "dilation": 3, "output_padding": 2}, (10, 10)),  # op up to max(s, d) - 1
    ((3, 5), (4, 1), {"stride": (2, 3), "padding": "same"}, (6, 15)),  # 'same': H*sh
    ((1, 1), (2, 2), {"stride": 5, "padding": "same"}, (5, 5)),  # kernel smaller than the stride
    ((4, 4), (3, 3), {"padding": ((0, 3), (2, 1))}, (3, 3)),
])
def test_transposed_output_size_is_the_contracts(module, size, kernel, options, out):
    y = module.conv_transpose2d(np.ones((1, *size, 2)), np.ones((*kernel, 3, 2)), **options)
    assert y.shape == (1, *out, 3)


def test_transposed_same_crops_the_odd_row_at_the_bottom():
    """Kernel 4 at stride 1: 3 rows to crop for H_out = H; TensorFlow crops 1 at the top and 2 at the bottom."""
    x = np.zeros((1, 3, 1, 1))
    x[0, 0, 0, 0] = 1.0
    w = np.arange(1.0, 5.0).reshape(4, 1, 1, 1)
    for module in (naive, vectorized):
        y = module.conv_transpose2d(x, w, padding="same")
        assert y[0, :, 0, 0].tolist() == [2.0, 3.0, 4.0]  # full rows 1..3 of [1, 2, 3, 4, 0, 0]


@pytest.mark.parametrize("module", [naive, vectorized], ids=["naive", "vectorized"])
def test_transposed_bad_output_padding_is_a_clear_error(module):
    rows = [r for r in check_table(from_object(module, module.__name__)) if r.entry.startswith("transposed")]
    assert len(rows) == 8 and all(r.ok for r in rows), [r for r in rows if not r.ok]
    with pytest.raises(ValueError, match=r"output_padding must be >= 0 and < max\(stride, dilation\) on each axis; "
                                         r"got output_padding=\(1, 3\), stride=\(2, 2\), dilation=\(1, 3\)"):
        module.conv_transpose2d(np.ones((1, 2, 2, 1)), np.ones((2, 2, 1, 1)), stride=2, dilation=(1, 3),
                                output_padding=(1, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transposed_keeps_the_dtype_and_leaves_inputs_alone(dtype):
    case = TRANSPOSED_EDGE_CASES[0].case(dtype)
    for module in (naive, vectorized):
        before = [a.copy() for a in (case.x, case.w, case.b, case.dy)]
        y = module.conv_transpose2d(case.x, case.w, case.b, **case.options)
        grads = module.conv_transpose2d_backward(case.dy, case.x, case.w, **case.options)
        assert {y.dtype.name, *(g.dtype.name for g in grads)} == {dtype}
        assert all(np.array_equal(a, b) for a, b in zip(before, (case.x, case.w, case.b, case.dy)))


def test_transposed_properties_apply_only_where_the_variant_offers_them():
    import oracle.zoo.padding_wrong_side as plain

    names = {p.name for p in PROPERTIES if p.transposed}
    assert names == {"transposed forward", "transposed backward", "transposed adjoint", "transposed contract",
                     "transposed memory layouts", "transposed call history", "transposed NaN propagation",
                     "transposed inf propagation"}
    assert not any(applicable(p, from_object(plain)) for p in PROPERTIES if p.transposed)
    declared_off = type("Off", (), {"conv2d": staticmethod(vectorized.conv2d),
                                    "conv_transpose2d": staticmethod(vectorized.conv_transpose2d),
                                    "conv_oracle_support": {"transposed": False}})()
    assert not from_object(declared_off).offers("conv_transpose2d")


def test_transposed_forward_property_catches_a_kernel_not_flipped():
    import oracle.zoo.transposed_kernel_not_flipped as mutant

    case = TRANSPOSED_EDGE_CASES[2].case("float64")
    with pytest.raises(Mismatch, match=r"y\[.*\]=.*, but should be .* \(\|err\| .* > bound .*\) \[conv_transpose2d"):
        transposed_forward(from_object(mutant), case, TORCH)


def test_transposed_case_repr_and_options():
    case = TransposedCase(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 2, 1)), None, np.zeros((1, 6, 6, 2)), stride=2,
                          padding=1, output_padding=1)
    assert case.geometry.out == (4, 4) and case.geometry.full == (5, 5)
    assert case.options == {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 1, "groups": 1}
    assert repr(case).startswith("TransposedCase(x.shape=(1, 2, 2, 1), w.shape=(3, 3, 2, 1), float64, no bias")
    assert math.prod(case.geometry.out) == 16


def test_explain_transposed_shows_size_crops_and_contributions(capsys):
    from oracle.cli import main

    assert main(["explain", "--transposed", "--input", "3,3", "--kernel", "3,3", "--stride", "2", "--padding", "1",
                 "--output-padding", "1"]) == 0
    out = capsys.readouterr().out
    assert "H_out = full - pt - pb + op = 7 - 1 - 1 + 1 = 6" in out
    assert "full: c o o o o o o" in out
    assert "y row 1 = full 2: x[1]*w[0], x[0]*w[2]" in out
    assert "contract, TensorFlow (SAME_UPPER): ((0, 1), (0, 1)), an odd row cropped at the bottom" in out
    assert main(["explain", "--input", "3,3", "--kernel", "2,2", "--output-padding", "1"]) == 2
    assert "--output-padding needs --transposed" in capsys.readouterr().err
