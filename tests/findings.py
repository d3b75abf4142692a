"""Findings on third-party libraries, confirmed without the oracle.

What a library does depends on the machine it runs on (oneDNN, MLAS, XLA pick kernels by CPU features), so the
suite never asserts that a third-party library is correct, or that it has a bug. It asserts that the oracle reports
what this machine's library does: every root cause a check of a bundled target reports comes with an upstream
reproducer (`oracle.check.upstream`: the library's own call, float64 loops, numpy, nothing of conv-oracle), and that
script, run where conv-oracle cannot be imported, must find the same bug (exit 1). A finding the library's own call
does not show would be the oracle's false alarm.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BLOCKED = ("oracle", "naive", "vectorized")


def without_conv_oracle(folder: Path) -> dict[str, str]:
    """An environment in which ``import oracle`` (and naive, vectorized) fails, as where conv-oracle is not
    installed."""
    blocker = folder / "no-conv-oracle"
    for name in BLOCKED:
        (blocker / name).mkdir(parents=True, exist_ok=True)
        (blocker / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError('No module named {name!r}', name={name!r})\n")
    return {**os.environ, "PYTHONPATH": str(blocker)}


def confirm(report, folder: Path) -> list[str]:
    """Run the upstream reproducer of every root cause of ``report`` without conv-oracle; each must exit 1 having
    printed what the library did (no traceback). Returns their outputs' last lines; fails on any that does not
    confirm, or any root cause that has none."""
    env = without_conv_oracle(folder)
    said = []
    for group in report.groups():
        first = group[0].name
        script = report.upstream.get(first)
        assert script is not None, f"{first}: a finding with no upstream reproducer\n{report.text()}"
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=folder,
                             timeout=600)
        assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr, (
            f"{first}: the upstream reproducer {script} does not confirm the finding (exit {run.returncode}):\n"
            f"{run.stdout}{run.stderr}")
        said.append(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip())
    return said
