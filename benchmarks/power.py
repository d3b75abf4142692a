"""The oracle's power, measured: a default ``conv-oracle check`` of every mutant of the zoo and of the correct
implementations, one after another (never two at once: this machine has two cores).

    python benchmarks/power.py [--mutants NAME ...] [--correct]

For each mutant: the first property (in report order) that fails, the generated cases and seconds it took to find
the failure (before shrinking), the whole check's time, and the minimal case reported. For each correct
implementation: its verdict and time (a correct implementation must pass: zero false alarms).
"""

from __future__ import annotations

import argparse
import time

from oracle.check.selftest import CORRECT
from oracle.check.session import check_variant
from oracle.zoo import MUTANTS


def _first_failure(report):
    elapsed = 0.0
    for outcome in report.outcomes:
        if outcome.verdict == "failed":
            found = outcome.first_failure_seconds if outcome.first_failure_seconds is not None else outcome.seconds
            cases = outcome.first_failure_at or outcome.examples
            return outcome, cases, elapsed + found
        elapsed += outcome.seconds
    return None, 0, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", nargs="*", default=None, help="mutant names (default: the whole zoo)")
    parser.add_argument("--correct", action="store_true", help="also check every correct implementation")
    args = parser.parse_args()
    mutants = MUTANTS if args.mutants is None else args.mutants
    print(f"{'mutant':30} {'caught by':18} {'cases':>6} {'to fail':>8} {'check':>7}  minimal case")
    for name in mutants:
        start = time.perf_counter()
        report = check_variant(f"oracle.zoo.{name}", report_dir=None)
        total = time.perf_counter() - start
        outcome, cases, seconds = _first_failure(report)
        if outcome is None:
            print(f"{name:30} {'MISSED':18} {'':>6} {'':>8} {total:6.1f}s")
            continue
        where = "edge case" if outcome.note.startswith("named") else "sweep" if outcome.name == "block sweep" \
            else f"case {cases}"
        case = repr(outcome.case) if outcome.case is not None else outcome.failure.line
        print(f"{name:30} {outcome.name:18} {where:>10} {seconds:7.1f}s {total:6.1f}s  {case}", flush=True)
    if args.correct:
        print()
        for target in CORRECT:
            start = time.perf_counter()
            try:
                report = check_variant(target, report_dir=None)
            except Exception as error:  # an optional package missing: say so
                print(f"{target:36} not checked: {error}")
                continue
            failed = [o.name for o in report.outcomes if o.verdict == "failed"]
            verdict = "passed" if report.passed else f"FAILED: {', '.join(failed)}"
            print(f"{target:36} {verdict:24} {time.perf_counter() - start:6.1f}s", flush=True)


if __name__ == "__main__":
    main()
