"""conv-oracle: Hypothesis strategies, references, a tolerance model and properties for 2-D convolution.

For a contributor's own tests::

    from oracle import assert_variant
    def test_my_conv():
        assert_variant("my_package.my_conv")     # fails with the oracle's report

For custom properties: `conv_cases` (a Hypothesis strategy of valid cases; `transposed_cases` for the transposed
operation), `truth` (reference results with per-element bounds; `truth_transposed`), `assert_close` (the uniform
failure line), `conv_settings` (Hypothesis settings without a deadline, as the oracle runs its own).
"""

from hypothesis import HealthCheck, settings

from oracle.cases.strategies import ConvCase, conv_cases
from oracle.cases.transposed import TransposedCase, transposed_cases
from oracle.check.report import OracleFailure, assert_variant, check_variant
from oracle.properties.compare import Mismatch, assert_close
from oracle.reference.precision import Precision
from oracle.reference.truth import Expected, Truth, get_reference, truth, truth_transposed
from oracle.targets.support import DeclarationError, Support, VariantError
from oracle.targets.variant import Variant, from_object, load

conv_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Hypothesis settings for tests over `conv_cases`: no deadline (a reference call can take longer than one), and no
health check about slow or large draws (cases that reach the block sizes are both)."""

__all__ = [
    "ConvCase",
    "DeclarationError",
    "Expected",
    "Mismatch",
    "OracleFailure",
    "Precision",
    "Support",
    "TransposedCase",
    "Truth",
    "Variant",
    "VariantError",
    "assert_close",
    "assert_variant",
    "check_variant",
    "conv_cases",
    "conv_settings",
    "from_object",
    "get_reference",
    "load",
    "transposed_cases",
    "truth",
    "truth_transposed",
]
