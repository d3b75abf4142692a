"""How long a default ``conv-oracle check`` takes: an earlier commit's (in process, one property after another)
against this one's, isolated with ``--jobs 1`` and ``--jobs 2`` (and ``--in-process``), each target in turn,
the configurations interleaved round by round so that a drift of the machine's speed touches all of them alike.

    python benchmarks/check_times.py --before eeb4ff9 --rounds 2 naive vectorized oracle.targets.torch
    python benchmarks/check_times.py --configurations jobs-1,jobs-2 vectorized

``--before`` is checked out into a temporary worktree and run from there (same environment, its own source
first on the import path). Prints each run's wall time, then per target and configuration the median and its
ratio to the earlier commit's median. Run nothing else meanwhile: two timings at once on two cores measure each
other.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = {
    "before": [],
    "in-process": ["--in-process", "--jobs", "1"],
    "jobs-1": ["--jobs", "1"],
    "jobs-2": ["--jobs", "2"],
}


def run(target: str, configuration: str, before: Path | None, work: Path) -> tuple[float, int]:
    """Wall seconds and exit status of one default check."""
    env = dict(os.environ)
    if configuration == "before":
        command = [sys.executable, "-m", "oracle", "check", target]
        env["PYTHONPATH"] = str(before) + os.pathsep + env.get("PYTHONPATH", "")
    else:
        command = [sys.executable, "-m", "oracle", "check", target, *CONFIGURATIONS[configuration],
                   "--report-dir", str(work / "reports")]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--before", help="a commit to compare with (run from a temporary worktree)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--configurations", default=",".join(CONFIGURATIONS),
                        help=f"a comma-separated choice of {', '.join(CONFIGURATIONS)} (default all)")
    args = parser.parse_args()
    chosen = args.configurations.split(",")
    if set(chosen) - set(CONFIGURATIONS):
        parser.error(f"--configurations must name some of {', '.join(CONFIGURATIONS)}; got {args.configurations!r}")
    configurations = [c for c in chosen if c != "before" or args.before]
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work, before = Path(scratch), None
        if args.before:
            before = work / "before"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(before), args.before],
                           check=True)
        try:
            for round_ in range(args.rounds):
                for target in args.targets:
                    for configuration in configurations:
                        seconds, status = run(target, configuration, before, work)
                        times.setdefault((target, configuration), []).append(seconds)
                        print(f"round {round_ + 1}  {target:32} {configuration:13} {seconds:7.1f}s  exit {status}",
                              flush=True)
        finally:
            if before is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    print(f"\nmedians of {args.rounds} rounds; ratio to the earlier commit's")
    for target in args.targets:
        base = statistics.median(times[(target, "before")]) if (target, "before") in times else None
        for configuration in configurations:
            median = statistics.median(times[(target, configuration)])
            ratio = f"{median / base:5.2f}x" if base else ""
            print(f"  {target:32} {configuration:13} {median:7.1f}s  {ratio}")


if __name__ == "__main__":
    main()
