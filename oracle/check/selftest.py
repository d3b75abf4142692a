"""``conv-oracle selftest``: the oracle checked against the mutant zoo and the bundled implementations.

Every mutant must be caught and every correct implementation must pass: an oracle that cannot fail, or fails on
correct code, is worse than none. Each variant gets one search in which every example is checked against
every applicable property, then the bad-input table.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from oracle import properties
from oracle.check.runner import all_properties, run_property
from oracle.properties.compare import Mismatch
from oracle.reference.truth import get_reference
from oracle.targets.variant import VariantError, load
from oracle.zoo import MUTANTS

CORRECT = ("naive", "vectorized", "examples.fft_conv")


@dataclass
class Verdict:
    target: str
    should_fail: bool
    failed: bool
    examples: int
    seconds: float
    line: str

    @property
    def right(self) -> bool:
        return self.failed == self.should_fail


def judge(target: str, should_fail: bool, reference, max_examples: int, seed: int | None,
          shrink: bool = True) -> Verdict:
    variant = load(target)
    start = time.perf_counter()
    outcome = run_property(variant, all_properties(variant), reference, max_examples=max_examples, seed_value=seed,
                           shrink=shrink)
    line = outcome.failure.line if outcome.failure is not None else ""
    failed = outcome.verdict == "failed"
    examples = outcome.first_failure_at or outcome.examples
    if not failed:
        try:
            properties.bad_input(variant)
        except Mismatch as failure:
            failed, line = True, f"bad input: {failure.line}"
    return Verdict(target, should_fail, failed, examples, time.perf_counter() - start, line)


def run(*, reference: str = "auto", max_examples: int = 100, seed: int | None = 0,
        out: Callable[[str], None] = print) -> list[Verdict]:
    ref = get_reference(reference)
    importlib.import_module("oracle.zoo")
    verdicts = []
    out(f"conv-oracle selftest: {len(MUTANTS)} mutants must be caught, {len(CORRECT)} implementations must pass "
        f"(reference {ref.name}, up to {max_examples} cases each, seed {seed})")
    out(f"  {'variant':42} {'verdict':8} {'cases':>6} {'time':>7}  first failure")
    for target, should_fail in [(f"oracle.zoo.{m}", True) for m in MUTANTS] + [(c, False) for c in CORRECT]:
        try:
            v = judge(target, should_fail, ref, max_examples, seed)
        except VariantError as error:
            out(f"  {target:42} {'skipped':8} {'':>6} {'':>7}  {error} (run from the repository's root)")
            continue
        verdict = ("caught" if v.failed else "MISSED") if should_fail else ("passed" if not v.failed else "FAILED")
        out(f"  {target:42} {verdict:8} {v.examples:>6} {v.seconds:6.2f}s  {v.line[:110]}")
        verdicts.append(v)
    wrong = [v.target for v in verdicts if not v.right]
    out("")
    out("selftest PASSED: every mutant caught, every implementation passed" if not wrong
        else f"selftest FAILED: {', '.join(wrong)}")
    return verdicts
