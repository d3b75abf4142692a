"""Hypothesis profiles for the suite: ``--hypothesis-profile ci`` (the default), ``dev`` or ``thorough``."""

import os

from hypothesis import settings

from oracle.check.settings import register_profiles

register_profiles()
settings.load_profile("ci")  # --hypothesis-profile, read after this file, overrides it

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest -n: one torch thread per worker, or workers' thread pools fight over the cores
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
