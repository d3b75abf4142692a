"""Hypothesis profiles: ``ci`` (derandomized, the default), ``dev`` (random, quick) and ``thorough`` (many more
examples). Choose one with ``pytest --hypothesis-profile NAME`` or ``conv-oracle check --profile NAME``."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

PROFILES = ("ci", "dev", "thorough")
_SLOW_DRAWS = [HealthCheck.too_slow, HealthCheck.data_too_large]


def register_profiles() -> None:
    """Register the three profiles with Hypothesis (loading none of them)."""
    settings.register_profile(
        "ci",
        derandomize=True,
        deadline=None,
        max_examples=40,
        print_blob=True,
        database=None,
        suppress_health_check=_SLOW_DRAWS,
    )
    settings.register_profile("dev", deadline=None, max_examples=25, suppress_health_check=_SLOW_DRAWS)
    settings.register_profile(
        "thorough",
        deadline=None,
        max_examples=600,
        print_blob=True,
        suppress_health_check=_SLOW_DRAWS,
        phases=list(Phase),
    )
