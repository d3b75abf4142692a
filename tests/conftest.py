"""Hypothesis profiles for the suite: ``--hypothesis-profile ci`` (the default), ``dev`` or ``thorough``."""

import os

from oracle.settings import register_profiles

register_profiles()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest -n: one torch thread per worker, or workers' thread pools fight over the cores
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
