"""Declarations (issue 10): each limit a real library has can be declared, and a variant declaring it is held to
exactly what it claims: it passes when correct, and a bug planted inside its declared support is caught."""

import re

import numpy as np
import pytest

from oracle import Support, check_variant
from oracle.cases.strategies import conv_cases
from oracle.check.runner import all_properties, run_property
from oracle.properties import PROPERTIES
from oracle.reference.truth import get_reference
from oracle.targets.support import DeclarationError
from oracle.targets.variant import from_object
from tests import declared

pytest.importorskip("torch")
TORCH = get_reference("torch")
QUICK = {"max_examples": 25, "report_dir": None}
WHERE_LIMITS_BITE = ["forward", "dx", "dw", "shapes and dtypes", "block sweep", "bad input"]
"""The properties a limit changes: what is drawn (forward, dx, dw), the sweep, the bad-input table."""


def _failed(report):
    return [o.name for o in report.outcomes if o.verdict == "failed"]


@pytest.mark.parametrize("limited", declared.LIMITS, ids=lambda cls: cls.__name__)
def test_declared_limit_passes_when_correct(limited):
    report = check_variant(limited(), only=WHERE_LIMITS_BITE, **QUICK)
    assert report.passed, report.text()


@pytest.mark.parametrize("limited", declared.LIMITS[:-2], ids=lambda cls: cls.__name__)
def test_declared_limit_catches_a_bug_inside_the_declaration(limited):
    variant = from_object(limited(bug=True))
    outcome = run_property(variant, all_properties(variant), TORCH, max_examples=25, shrink=False)
    assert outcome.verdict == "failed" and not outcome.failure.line.startswith("ORACLE"), outcome.failure


def test_declared_any_error_asks_only_for_an_error_and_never_garbage():
    """``validates: "any error"``: a library's own errors satisfy the bad-input table; returning instead of
    raising does not."""
    assert check_variant(declared.AnyError(), only=["bad input"], **QUICK).passed
    report = check_variant(declared.AnyError(bug=True), only=["bad input"], **QUICK)
    assert _failed(report) == ["bad input"] and "returned" in report.text(), report.text()
    assert "an error of its own (validates: 'any error')" in report.text()


def test_declared_same_convention_is_what_the_variant_is_judged_by():
    """The same SAME_LOWER variant passes when it says so, and fails when it lets the contract's SAME_UPPER
    stand: the oracle tells the conventions apart."""
    variant = declared.SameLower()
    undeclared = from_object(variant).support.replace(same="upper")
    report = check_variant(from_object(variant).__class__(variant.__name__, undeclared, {"conv2d": variant.conv2d}),
                           only=["forward"], **QUICK)
    assert _failed(report) == ["forward"], report.text()
    assert "padding='same'" in report.text()


def test_declared_int_stride_is_passed_as_an_int():
    """A variant that takes one int stride receives ints only (it raises TypeError on a pair: it passed above)."""
    from hypothesis import given, settings

    @settings(max_examples=50, database=None)
    @given(case=conv_cases(support={"stride": "int", "dilation": False}))
    def draw(case):
        assert type(case.stride) is int and case.dilation == 1 and type(case.dilation) is int

    draw()


def test_declared_no_argument_checking_shows_the_table_as_not_declared():
    report = check_variant(declared.Unchecked(), only=["bad input"], **QUICK)
    assert report.passed
    assert "skip  bad input            not declared: no argument checking" in report.text()
    undeclared = from_object(declared.Unchecked())
    undeclared = undeclared.__class__(undeclared.name, undeclared.support.replace(validates=True),
                                      undeclared.functions, undeclared.origin)
    report = check_variant(undeclared, only=["bad input"], **QUICK)
    text = report.text()
    assert _failed(report) == ["bad input"]
    assert "--- bad input: the contract's table (CONTRACT.md) ---" in text
    for entry in ("stride_zero", "x_not_4d", "mixed_dtypes"):
        assert re.search(rf"\n  {entry}\s+\S", text), text
    line = next(line for line in text.splitlines() if line.startswith("  FAIL  bad input"))
    assert "…" not in line and "entries fail:" in line


def test_declared_limit_asks_the_table_only_for_a_clear_error():
    """No dilation declared: dilation's bad-input entries ask for any clear error, and NotImplementedError is one."""
    report = check_variant(declared.NoDilation(), only=["bad input"], **QUICK)
    assert report.passed, report.text()


@pytest.mark.parametrize("declaration, words", [
    ({"padding": "int"}, "got the str 'int' (write ('int',))"),
    ({"stride": "pair"}, "conv_oracle_support['stride'] must be True, False or 'int', or a dict of them by scope; "
                         "got 'pair'"),
    ({"dilation": {"backwards": False}}, "conv_oracle_support['dilation'] scopes must be words among backward, "
                                         "bfloat16, conv2d"),
    ({"accumulation": {"float16 dz": "float16"}}, "scopes must be words among"),
    ({"validates": "sometimes"}, "conv_oracle_support['validates'] must be True, False or 'any error'"),
    ({"bias": "late"}, "conv_oracle_support['bias'] must be True, False or 'rounded apart'"),
    ({"output_padding": "dilation"}, "conv_oracle_support['output_padding'] must be one of ('contract', 'stride'), "
                                     "or False"),
    ({"output_rounding": "float8"}, "conv_oracle_support['output_rounding'] must be True, False or one of"),
    ({"dtypes": ()}, "must be a non-empty tuple of names"),
    ({"same": "middle"}, "conv_oracle_support['same'] must be one of ('upper', 'lower', 'input', 'torch')"),
    ({"accumulation": {"float16": "float8"}}, "conv_oracle_support['accumulation']['float16'] must be one of"),
    ({"accumulation": {"int8": "float32"}}, "scopes must be words among"),
    ({"min_batch": -1}, "conv_oracle_support['min_batch'] must be an int >= 0, or a dict of them by scope; got -1"),
    ({"max_batch": 0}, "conv_oracle_support['max_batch'] must be None or an int >= 1, or a dict of them by scope; "
                       "got 0"),
    ({"min_batch": 3, "max_batch": 2}, "must be None or an int >= max(1, min_batch) = 3; got 2"),
    ({"rounds_partials": ("dz",)}, "conv_oracle_support['rounds_partials'] must be a tuple of names from"),
    ({"square": ("both",)}, "conv_oracle_support['square'] must be a tuple of names from ('input', 'kernel')"),
    ({"layout": "NCHW/OIHX"}, "conv_oracle_support['layout'] must be 'NHWC', 'NCHW', or 'ACTIVATIONS/WEIGHTS'"),
    ({"backwards": False}, "got unknown key backwards"),
])
def test_declaration_errors_name_the_key_the_rule_and_the_value(declaration, words):
    with pytest.raises(DeclarationError) as refused:
        Support.of(declaration)
    assert words in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_declared_layout_is_transposed_at_the_boundary_both_ways():
    """An NCHW/OIHW variant receives NCHW and OIHW arrays, and its y, dx, dw come back in the contract's layout."""
    from oracle.examples import nchw_conv

    variant = from_object(nchw_conv)
    assert variant.support.layouts == ("NCHW", "OIHW")
    x = np.arange(2 * 3 * 4 * 6, dtype=np.float64).reshape(2, 3, 4, 6)
    w = np.arange(5 * 4 * 6 * 2, dtype=np.float64).reshape(5, 4, 6, 2) % 7
    assert variant.into("activations", x).shape == (2, 6, 3, 4)
    assert variant.into("weights", w).shape == (2, 6, 5, 4)
    import vectorized

    assert np.array_equal(variant.run("conv2d", x, w, None, padding=1), vectorized.conv2d(x, w, padding=1))
    dy = np.ones((2, 1, 3, 2))
    for got, want in zip(variant.run("conv2d_backward", dy, x, w, padding=1),
                         vectorized.conv2d_backward(dy, x, w, padding=1)):
        assert np.array_equal(got, want)


def test_declared_nchw_variant_passes_and_a_planted_bug_in_it_is_caught():
    from types import SimpleNamespace

    from oracle.examples import nchw_conv

    assert check_variant(nchw_conv, only=[*WHERE_LIMITS_BITE, "memory layouts", "inputs unmodified"], **QUICK).passed
    flipped = SimpleNamespace(__name__="nchw flipped rows", conv_oracle_support=nchw_conv.conv_oracle_support,
                              conv2d=lambda x, w, b=None, **o: nchw_conv.conv2d(x, w[:, :, ::-1], b, **o))
    outcome = run_property(from_object(flipped), PROPERTIES[0], TORCH, max_examples=25, shrink=False)
    assert outcome.verdict == "failed" and outcome.failure.name == "y", outcome.failure




# --- the keys real runtimes need (issue 17): each passes declared and fails undeclared -----------------------


def _vectorized_as(name, conv2d, conv2d_backward=None, **support):
    from types import SimpleNamespace

    import vectorized

    return from_object(SimpleNamespace(__name__=name, conv2d=conv2d,
                                       conv2d_backward=conv2d_backward or vectorized.conv2d_backward,
                                       conv_oracle_support={"validates": False, **support}))


def _float16_sums_dx(dy, x, w, **options):
    """dx summed tap by tap into a float16 result (as an Eigen kernel summing in float16 does, or closer), dw and
    db as vectorized computes them."""
    import vectorized
    from oracle.reference.precision import FORMATS

    exact = vectorized.conv2d_backward(dy, x, w, **options)
    fmt, dx = FORMATS["float16"], np.zeros(x.shape)
    for p in range(w.shape[0]):
        for q in range(w.shape[1]):
            tap = np.zeros(w.shape, dtype=np.float32)
            tap[p, q] = w[p, q]
            part = vectorized.conv2d_backward(dy.astype(np.float32), x.astype(np.float32), tap, **options).dx
            dx = fmt.round(dx + fmt.round(part.astype(np.float64)))
    import vectorized as v

    return v.Conv2dGrads(dx.astype(np.float16), exact.dw, exact.db)


def _results_in_bfloat16(x, w, b=None, **options):
    import vectorized
    from oracle.reference.precision import FORMATS

    return FORMATS["bfloat16"].round(vectorized.conv2d(x, w, b, **options)).astype(np.float32)


def _float64_in_float32(x, w, b=None, **options):
    import vectorized

    single = [None if a is None else a.astype(np.float32) for a in (x, w, b)]
    return vectorized.conv2d(*single, **options).astype(np.float64)


def _bias_rounded_apart(x, w, b=None, **options):
    import vectorized

    y = vectorized.conv2d(x, w, None, **options)
    return y if b is None else (y.astype(np.float32) + b.astype(np.float32)).astype(np.float16)


@pytest.mark.parametrize("name, conv2d, backward, support, only", [
    ("float16 dx summed in float16", None, _float16_sums_dx,
     {"dtypes": ("float16",), "accumulation": {"float16 dx": "float16"}}, ["dx"]),
    ("float32 results rounded to bfloat16", _results_in_bfloat16, None,
     {"dtypes": ("float32",), "output_rounding": "bfloat16"}, ["forward"]),
    ("float64 computed in float32", _float64_in_float32, None,
     {"dtypes": ("float64",), "input_rounding": "float32", "accumulation": "float32"}, ["forward"]),
    ("float16 bias added after rounding", _bias_rounded_apart, None,
     {"dtypes": ("float16",), "bias": "rounded apart"}, ["forward"]),
])
def test_declared_precision_of_real_runtimes_is_what_lets_them_pass(name, conv2d, backward, support, only):
    import vectorized

    declared = _vectorized_as(name, conv2d or vectorized.conv2d, backward, **support)
    assert check_variant(declared, only=only, max_examples=60, report_dir=None).passed
    plain = {k: v for k, v in support.items() if k == "dtypes"}
    undeclared = _vectorized_as(name, conv2d or vectorized.conv2d, backward, **plain)
    report = check_variant(undeclared, only=only, max_examples=60, report_dir=None)
    assert not report.passed and not report.oracle_failed, report.text()


def test_declared_precision_scopes_reach_one_result_only():
    """``{"float16 dx": "float16"}`` loosens dx's bound, and no other result's."""
    from oracle.cases.strategies import precision_of

    precision = precision_of(Support.of({"accumulation": {"float16 dx": "float16"}}), "float16")
    assert precision.accumulation == "float32" and precision.of("dx").accumulation == "float16"
    assert precision.of("dw").accumulation == "float32"
    assert "dx: inputs as stored, sums in float16" in precision.describe()


def test_declared_scopes_draw_per_function():
    """``{"dilation": {"backward": False}}``: the forward property draws dilations, the backward ones never."""
    from hypothesis import given, settings

    support = Support.of({"dilation": {"backward": False}})
    seen = {"forward": False}

    @settings(max_examples=80, database=None)
    @given(forward=conv_cases(support=support), backward=conv_cases(support=support,
                                                                    functions=("conv2d", "conv2d_backward")))
    def draw(forward, backward):
        seen["forward"] |= forward.geometry.dilation != (1, 1)
        assert backward.geometry.dilation == (1, 1)

    draw()
    assert seen["forward"]


def test_declared_transposed_output_padding_below_the_stride_and_same_lower():
    """TensorFlow, ONNX Runtime and PaddlePaddle take ``output_padding < stride`` only; OpenVINO's transposed
    'same' crops the odd row at the top. Declared, neither is drawn otherwise; a variant doing the latter passes
    declared and fails undeclared."""
    from hypothesis import given, settings

    from oracle.cases.transposed import transposed_cases

    @settings(max_examples=120, database=None)
    @given(case=transposed_cases(support={"output_padding": "stride"}))
    def draw(case):
        g = case.geometry
        assert case.padding == "same" or all(op < s for op, s in zip(g.output_padding, g.stride))

    draw()
    import vectorized
    from oracle.geometry import TransposedGeometry

    def lower(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        if padding != "same":
            return vectorized.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                                               output_padding=output_padding, dilation=dilation, groups=groups)
        g = TransposedGeometry.of(x.shape[1:3], w.shape[:2], stride=stride, padding="same", dilation=dilation,
                                  same="lower")
        return vectorized.conv_transpose2d(x, w, b, stride=stride, padding=g.pads, output_padding=g.output_padding,
                                           dilation=dilation, groups=groups)

    from types import SimpleNamespace

    def variant(same):
        return from_object(SimpleNamespace(__name__="same lower", conv2d=vectorized.conv2d, conv_transpose2d=lower,
                                           conv_oracle_support={"backward": False, "validates": False,
                                                                "dtypes": ("float64",), "padding": ("same",),
                                                                "same": same}))

    assert check_variant(variant({"transposed": "lower"}), only=["transposed forward"], max_examples=40,
                         report_dir=None).passed
    report = check_variant(variant("upper"), only=["transposed forward"], max_examples=40, report_dir=None)
    assert _failed(report) == ["transposed forward"], report.text()


def test_declarations_scoped_padding_keeps_the_block_sweeps_of_other_functions():
    """A padding form scoped to one function narrows the sweep of that function only (a scoped key once read as
    its dict's keys dropped every sweep point)."""
    from oracle.cases.sweep import sweep_cases, transposed_sweep_cases

    plain, scoped = Support(), Support.of({"padding": {"conv2d_backward": ("valid",)}})
    assert len(sweep_cases(scoped)) == len(sweep_cases(plain)) > 0
    assert len(transposed_sweep_cases(scoped)) == len(transposed_sweep_cases(plain)) > 0
    backward = sweep_cases(scoped, ("conv2d", "conv2d_backward"))
    assert backward and all(case.padding == "valid" for _, case in backward)
