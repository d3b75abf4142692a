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


def pytest_terminal_summary(terminalreporter):
    """Without PyTorch, say plainly which tests could not judge against it (not only in -ra's short lines)."""
    from oracle.reference import torch_reference

    if torch_reference.available():
        return
    skipped = terminalreporter.stats.get("skipped", [])
    files = sorted({report.nodeid.split("::")[0] for report in skipped if "torch" in str(report.longrepr)})
    terminalreporter.write_sep("=", "PyTorch is not installed", yellow=True)
    terminalreporter.write_line(
        f"{len(files)} test files judge against PyTorch and were skipped: {', '.join(files) or 'none'}. The rest "
        "judged by naive alone, which cannot catch a bug naive shares. Install torch==2.13.0 to run them.")
