"""Hypothesis profiles for the suite: ``--hypothesis-profile ci`` (the default), ``dev`` or ``thorough``."""

from oracle.settings import register_profiles

register_profiles()
