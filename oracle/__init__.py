"""conv-oracle: Hypothesis strategies, references, a tolerance model and properties for 2-D convolution.

For a contributor's own tests::

    from oracle import assert_variant
    def test_my_conv():
        assert_variant("my_package.my_conv")     # fails with the oracle's report

For custom properties: `conv_cases` (a Hypothesis strategy of valid cases; `transposed_cases` for the transposed
operation), `truth` (reference results with per-element bounds; `truth_transposed`), `assert_close` (the uniform
failure line), `conv_settings` (Hypothesis settings without a deadline, as the oracle runs its own: no
deadline, a reference call can take longer than one, and no health check about slow or large draws, as cases that
reach the block sizes are both).
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "ConvCase": "oracle.cases.strategies",
    "conv_cases": "oracle.cases.strategies",
    "TransposedCase": "oracle.cases.transposed",
    "transposed_cases": "oracle.cases.transposed",
    "OracleFailure": "oracle.check.session",
    "assert_variant": "oracle.check.session",
    "check_variant": "oracle.check.session",
    "Mismatch": "oracle.properties.compare",
    "assert_close": "oracle.properties.compare",
    "Precision": "oracle.reference.precision",
    "Expected": "oracle.reference.truth",
    "Truth": "oracle.reference.truth",
    "get_reference": "oracle.reference.truth",
    "truth": "oracle.reference.truth",
    "truth_transposed": "oracle.reference.truth",
    "DeclarationError": "oracle.targets.support",
    "Support": "oracle.targets.support",
    "VariantError": "oracle.targets.support",
    "Variant": "oracle.targets.variant",
    "from_object": "oracle.targets.variant",
    "load": "oracle.targets.variant",
}
"""Each public name and the module it lives in: imported when first used, so that a worker process that imports
one module of the package (`oracle.check.worker`) does not import Hypothesis and the rest."""


def __getattr__(name: str) -> Any:
    if name == "conv_settings":
        from hypothesis import HealthCheck, settings

        value = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    elif name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
    else:
        raise AttributeError(f"module 'oracle' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


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
