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


@pytest.mark.parametrize("limited", declared.LIMITS[:-1], ids=lambda cls: cls.__name__)
def test_declared_limit_catches_a_bug_inside_the_declaration(limited):
    variant = from_object(limited(bug=True))
    outcome = run_property(variant, all_properties(variant), TORCH, max_examples=25, shrink=False)
    assert outcome.verdict == "failed" and not outcome.failure.line.startswith("ORACLE"), outcome.failure


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
    ({"stride": "pair"}, "conv_oracle_support['stride'] must be True, False or 'int'; got 'pair'"),
    ({"dtypes": ()}, "must be a non-empty tuple of names"),
    ({"same": "middle"}, "conv_oracle_support['same'] must be one of ('upper', 'lower', 'input', 'torch')"),
    ({"accumulation": {"float16": "float8"}}, "conv_oracle_support['accumulation']['float16'] must be one of"),
    ({"accumulation": {"int8": "float32"}}, "keys must be dtypes among"),
    ({"min_batch": -1}, "conv_oracle_support['min_batch'] must be an int >= 0; got -1"),
    ({"max_batch": 0}, "must be None or an int >= max(1, min_batch) = 1; got 0"),
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


