"""``conv-oracle selftest``: the oracle checked against the mutant zoo and the bundled implementations.

Every mutant must be caught and every correct implementation must pass: an oracle that cannot fail, or fails on
correct code, is worse than none. Each variant runs isolated, in worker processes (`oracle.check.isolation`), so
the mutants that crash, exit or hang are caught like the others; it gets one search in which every example is
checked against every applicable property (the named edge cases included), then the block sweeps, then the
bad-input table. A mutant that cannot even be imported (`oracle.zoo.IMPORT_MUTANTS`) is caught when loading it
fails with a one-line error. A correct implementation that cannot be loaded fails the selftest; one that needs an
optional package (scipy) that is not installed is skipped, and the summary says so.

The correct implementations are this project's own and its examples. Third-party libraries (PyTorch, JAX, ...) are
not among them: what a library does depends on the machine it runs on, so its verdicts are findings, which
``conv-oracle check`` and ``conv-oracle survey`` report, never a condition of the selftest.
"""

from __future__ import annotations

import importlib.util
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from oracle.check.isolation import load_isolated
from oracle.check.runner import all_properties, run_property, run_sweep
from oracle.properties import bad_input
from oracle.properties.compare import Mismatch
from oracle.reference.truth import get_reference
from oracle.targets.variant import VariantError
from oracle.zoo import IMPORT_MUTANTS, MUTANTS

CORRECT: dict[str, str | None] = {
    "naive": None,
    "vectorized": None,
    "oracle.examples.fft_conv": None,
    "oracle.examples.nchw_conv": None,
    "oracle.examples.scipy_conv": "scipy",
}
"""The correct implementations, each with the optional package it needs (None: it must always load)."""


@dataclass
class Verdict:
    target: str
    should_fail: bool
    failed: bool
    examples: int
    seconds: float
    line: str
    loaded: bool = True

    @property
    def right(self) -> bool:
        return self.loaded and self.failed == self.should_fail


def judge(target: str, should_fail: bool, reference, max_examples: int, seed: int | None,
          shrink: bool = True) -> Verdict:
    """Load ``target`` isolated and run every property on it (those of the transposed operation too, where it
    offers it), then the sweeps and the bad-input table."""
    variant = load_isolated(target)
    try:
        return _judged(variant, target, should_fail, reference, max_examples, seed, shrink)
    finally:
        variant.runtime.close()


def _judged(variant, target: str, should_fail: bool, reference, max_examples: int, seed: int | None,
            shrink: bool) -> Verdict:
    start = time.perf_counter()
    outcome = run_property(variant, all_properties(variant), reference, max_examples=max_examples, seed_value=seed,
                           shrink=shrink)
    if outcome.verdict != "failed" and variant.offers("conv_transpose2d"):
        outcome = run_property(variant, all_properties(variant, transposed=True), reference,
                               max_examples=max_examples, seed_value=seed, shrink=shrink)
    line = outcome.failure.line if outcome.failure is not None else ""
    failed = outcome.verdict == "failed"
    examples = outcome.first_failure_at or outcome.examples
    for transposed in (False, True):
        if failed or (transposed and not variant.offers("conv_transpose2d")):
            continue
        swept = run_sweep(variant, reference, transposed=transposed)
        if swept.verdict == "failed":
            failed, line = True, f"{swept.name} at {swept.note.removeprefix('sweep point ')}: {swept.failure.line}"
    if not failed and variant.support.validates:
        try:
            bad_input(variant)
        except Mismatch as failure:
            failed, line = True, f"bad input: {failure.line}"
    return Verdict(target, should_fail, failed, examples, time.perf_counter() - start, line)


def refused(target: str) -> Verdict:
    """A mutant that cannot be imported: caught when loading it fails with `VariantError`, as the command's exit 2."""
    start = time.perf_counter()
    try:
        variant = load_isolated(target)
    except VariantError as error:
        return Verdict(target, True, True, 0, time.perf_counter() - start, f"refused at import: {error}")
    variant.runtime.close()
    return Verdict(target, True, False, 0, time.perf_counter() - start, "it was imported")


def _missing(package: str | None) -> bool:
    return package is not None and importlib.util.find_spec(package) is None


_RUNNER: dict[str, Any] = {}
"""A runner process's reference (`_start_runner`)."""


def _start_runner(reference: str) -> None:
    """A runner process of ``selftest --jobs``: Ctrl-C is the parent's to handle."""
    from oracle.check.jobs import share_cores

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    share_cores()
    _RUNNER["reference"] = get_reference(reference)


def _verdict_or_refusal(target: str, should_fail: bool, reference: Any, max_examples: int, seed: int | None
                        ) -> Verdict | VariantError:
    """`judge`'s verdict, or the error that says why ``target`` cannot be loaded."""
    try:
        return judge(target, should_fail, reference, max_examples, seed)
    except VariantError as error:
        return error


def _judge_in_runner(task: tuple[str, bool, int, int | None]) -> Verdict | VariantError:
    target, should_fail, max_examples, seed = task
    return _verdict_or_refusal(target, should_fail, _RUNNER["reference"], max_examples, seed)


def _verdicts(targets: list[tuple[str, bool]], reference: str, ref: Any, max_examples: int, seed: int | None,
              jobs: int) -> Iterator[Verdict | VariantError]:
    """The verdict on each of ``targets``, in their order: judged here one after another, or by ``jobs`` runner
    processes side by side (each judge is seeded and isolated on its own, so the verdicts are the same)."""
    if jobs == 1 or len(targets) < 2:
        for target, should_fail in targets:
            yield _verdict_or_refusal(target, should_fail, ref, max_examples, seed)
        return
    from oracle.check.jobs import process_context

    pool = process_context().Pool(jobs, initializer=_start_runner, initargs=(reference,))
    try:
        yield from pool.imap(_judge_in_runner, [(t, f, max_examples, seed) for t, f in targets])
        pool.close()
    finally:
        pool.terminate()  # at Ctrl-C, the judges under way end with their runners (and their workers with them)
        pool.join()


def run(*, reference: str = "auto", max_examples: int = 100, seed: int | None = 0, jobs: int = 1,
        out: Callable[[str], None] = print) -> list[Verdict]:
    """Judge every mutant and every correct implementation, with ``jobs`` of them side by side; print one line each,
    in a fixed order, and the verdict."""
    ref = get_reference(reference)
    targets = [(f"oracle.zoo.{m}", True, None) for m in MUTANTS] + [(c, False, p) for c, p in CORRECT.items()]
    mutants = len(MUTANTS) + len(IMPORT_MUTANTS)
    verdicts, skipped = [], []
    out(f"conv-oracle selftest: {mutants} mutants must be caught, {len(CORRECT)} implementations must pass "
        f"(reference {ref.name}, up to {max_examples} cases each, seed {seed}, {jobs} at a time)")
    out(f"  {'variant':42} {'verdict':10} {'cases':>6} {'time':>7}  first failure")
    judged = _verdicts([(t, f) for t, f, p in targets if not _missing(p)], reference, ref, max_examples, seed, jobs)
    for target, should_fail, package in targets:
        if _missing(package):
            out(f"  {target:42} {'skipped':10} {'':>6} {'':>7}  needs {package}, which is not installed")
            skipped.append(target)
            continue
        v = next(judged)
        if isinstance(v, VariantError):
            error = v
            v = Verdict(target, should_fail, False, 0, 0.0, str(error), loaded=False)
            out(f"  {target:42} {'NOT LOADED':10} {'':>6} {'':>7}  {error}")
            verdicts.append(v)
            continue
        verdict = ("caught" if v.failed else "MISSED") if should_fail else ("passed" if not v.failed else "FAILED")
        out(f"  {target:42} {verdict:10} {v.examples:>6} {v.seconds:6.2f}s  {v.line[:110]}")
        verdicts.append(v)
    for mutant in IMPORT_MUTANTS:
        v = refused(f"oracle.zoo.{mutant}")
        out(f"  {v.target:42} {'caught' if v.failed else 'MISSED':10} {'':>6} {v.seconds:6.2f}s  {v.line[:110]}")
        verdicts.append(v)
    wrong = [v.target for v in verdicts if not v.right]
    out("")
    if wrong:
        out(f"selftest FAILED: {', '.join(wrong)}")
    else:
        tail = f" ({len(skipped)} skipped: {', '.join(skipped)})" if skipped else ""
        out(f"selftest PASSED: every mutant caught, every implementation passed{tail}")
    return verdicts
