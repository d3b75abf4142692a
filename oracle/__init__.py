"""conv-oracle: Hypothesis strategies, references, a tolerance model and properties for 2-D convolution.

For a contributor's own tests::

    from oracle import assert_variant
    def test_my_conv():
        assert_variant("my_package.my_conv")     # fails with the oracle's report

For custom properties: `conv_cases` (a Hypothesis strategy of valid cases), `truth` (reference results with
per-element bounds), `assert_close` (the uniform failure line).
"""

from oracle.cases.strategies import ConvCase, conv_cases
from oracle.check.report import OracleFailure, assert_variant, check_variant
from oracle.properties.compare import Mismatch, assert_close
from oracle.reference.truth import get_reference, truth
from oracle.targets.variant import Support, Variant

__all__ = [
    "ConvCase",
    "Mismatch",
    "OracleFailure",
    "Support",
    "Variant",
    "assert_close",
    "assert_variant",
    "check_variant",
    "conv_cases",
    "get_reference",
    "truth",
]
