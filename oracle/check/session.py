"""Checking a variant end to end: `check_variant` runs every task of a check (`oracle.check.jobs`), attributes
each failure to its root cause, writes the reproducers and returns the `oracle.check.report.Report`;
`assert_variant` does the same inside a contributor's pytest file and fails the test with the report.

A variant named by an import string runs isolated (`oracle.check.isolation`): a crash, an exit or a hang of one of
its calls is a failure of the property that made it, and the check goes on. The tasks may run side by side
(``jobs``); their outcomes are then taken in report order, so a report is the same whatever order they finish in.
A property that holds on its own cases is then tried on the minimal cases of the properties before it that
failed, and a property that failed is reported on an earlier one's case where it fails there for the same cause:
one root cause, one block.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from oracle.check import reproducer, upstream
from oracle.check.jobs import EXTRA_TASKS, PROPERTY, Plan, Tasks, can_share, default_jobs, task_names
from oracle.check.report import Report, cause, same_case, verdict_line
from oracle.check.runner import Interrupted, Outcome, check_values
from oracle.properties import PROPERTIES, Property
from oracle.properties.compare import Mismatch, shown_in
from oracle.reference.torch_reference import one_thread
from oracle.reference.truth import get_reference
from oracle.targets.variant import Variant, from_object, load

DEFAULT_EXAMPLES = 100
EXTRA_PROPERTIES = EXTRA_TASKS


def default_report_dir() -> Path:
    """Where reproducers go unless asked otherwise: a folder of the system's temporary directory (never the
    working directory)."""
    import getpass

    return Path(tempfile.gettempdir()) / f"conv-oracle-reports-{getpass.getuser()}"


class OracleFailure(AssertionError):
    """A variant failed the oracle; the message is the whole report."""


def roots_and_theirs(outcomes: list[Outcome], root: Outcome) -> list[Outcome]:
    """``root`` and the outcomes already reported on its case."""
    return [o for o in outcomes if o is root or o.root == root.name or (o.case is not None and o.verdict == "failed"
                                                                        and same_case(o.case, root.case))]


def _attributed(outcome: Outcome, earlier: list[Outcome], variant: Variant, reference: Any) -> Outcome:
    """``outcome`` with its failure on the case of an earlier root cause where it fails there: a property that held
    fails on it for any reason; one that failed on its own case, for the same `cause`."""
    prop = PROPERTY.get(outcome.name) or SWEEPS.get(outcome.name)
    if prop is None or outcome.verdict == "skipped" or (outcome.failure is not None
                                                         and outcome.failure.line.startswith("ORACLE")):
        return outcome
    earlier_outcomes = earlier
    roots: list[Outcome] = []
    for o in earlier:
        if o.verdict == "failed" and o.case is not None and o.name in PROPERTY \
                and PROPERTY[o.name].transposed == prop.transposed and not o.history.startswith("it held when") \
                and not any(same_case(r.case, o.case) for r in roots):
            roots.append(o)
    for root in roots:
        if outcome.verdict == "failed" and same_case(root.case, outcome.case):
            return outcome
        if not _fits(root.case, variant, prop):  # a case this property's functions do not take
            continue
        for case in _as_tried(root.case):
            if variant.runtime is not None:
                variant.runtime.fresh()
            try:
                prop.check(variant, case, reference)
            except Mismatch as failure:
                if failure.line.startswith("ORACLE"):
                    continue
                if outcome.verdict == "failed" and cause(failure) != cause(outcome.failure):
                    continue
                kept = outcome.extra if outcome.name in SWEEPS else {}  # the sweep's failing points say more
                if case is not root.case:  # the root's case with a dy to propagate: one case for the whole block
                    for earlier in (o for o in roots_and_theirs(earlier_outcomes, root)):
                        earlier.case = case
                return dataclasses.replace(outcome, verdict="failed", case=case, failure=failure, note=root.note,
                                           history="", calls=None, extra=kept, root=root.root or root.name)
            except Exception:  # the oracle's own trouble on another property's case: keep the outcome as found
                continue
    return outcome


SWEEPS = {name: Property(name, check_values, transposed=name.startswith("transposed"), uses_backward=True)
          for name in ("block sweep", "transposed block sweep")}
"""The sweeps as properties of one case, to try an earlier root cause's case on (one bug, one block)."""


def _as_tried(case: Any) -> list[Any]:
    """An earlier root cause's case as another property tries it: as it is, and, where its ``dy`` is all zeros (a
    forward property's minimal case: Hypothesis shrinks what it does not read), with a ``dy`` of ones, so that a
    backward property meets the same convolution with something to propagate."""
    tried = [case]
    if not np.any(case.dy) and case.dy.size:  # distinct small integers: no symmetry hides a misplaced gradient
        values = (np.arange(case.dy.size) % 7 + 1).reshape(case.dy.shape)
        tried.append(case.replace(dy=values.astype(case.dy.dtype)))
    return tried


def _fits(case: Any, variant: Variant, prop: Any) -> bool:
    """Whether ``case`` lies inside what ``variant`` declares for the functions ``prop`` calls."""
    from oracle.cases.strategies import fit
    from oracle.cases.transposed import TransposedCase, fit_transposed

    functions = prop.calls(variant)
    fitted = (fit_transposed if isinstance(case, TransposedCase) else fit)(case, variant.support, functions)
    return fitted is not None and fitted.options == case.options


def _prepare(variant: Any, target: str | None, isolate: bool | None, timeout: float | None,
             threads: int | None = None) -> tuple[Variant, str | None, bool]:
    """The variant to check, the import string that names it (None for an object of this process alone), and
    whether it can be rebuilt from that string in another process. Import strings are isolated unless
    ``isolate`` is False; objects run in this process unless ``isolate`` is True and they have an import string."""
    from oracle.check.isolation import load_isolated

    if isinstance(variant, str):
        target = target or variant
        loaded = load_isolated(variant, timeout=timeout, threads=threads) if isolate is not False else load(variant)
        return loaded, target, True
    if isinstance(variant, Variant):
        name = target or variant.origin.target
        if variant.runtime is not None:
            return variant, name, name is not None
        if isolate and name:
            isolated = load_isolated(name, timeout=timeout, threads=threads)
            return dataclasses.replace(isolated, name=variant.name, support=variant.support), name, True
        return variant, name, False
    checked = from_object(variant, target, target=target)
    name = target or checked.origin.target or (variant.__name__ if isinstance(variant, ModuleType) else None)
    if isolate and name:
        isolated = load_isolated(name, timeout=timeout, threads=threads)
        return dataclasses.replace(isolated, support=checked.support), name, True
    return checked, name, False


def check_variant(
    variant: Variant | Any,
    *,
    target: str | None = None,
    reference: str = "auto",
    max_examples: int = DEFAULT_EXAMPLES,
    seed: int | None = 0,
    profile: str | None = None,
    only: list[str] | None = None,
    report_dir: str | Path | None = "",
    database: Any = None,
    progress: Callable[[str], None] | None = None,
    echo: Callable[[str], None] | None = None,
    isolate: bool | None = None,
    jobs: int = 1,
    timeout: float | None = None,
    database_key: str | None = None,
) -> Report:
    """Run every property that applies to ``variant`` (an import string, a `Variant`, a module or an object with
    ``conv2d``).

    ``isolate``: run every call in a worker process, so that a crash, an exit or a hang is a finding and not the
    end of the check (default: for an import string; ``timeout`` fixes a call's time limit, else it follows the
    variant's own call times). ``jobs``: tasks run side by side in that many processes (a variant named by an
    import string only). ``target`` is the import string written into reproducers (default: the one the variant
    was loaded by); reproducers go to ``report_dir`` (default: a folder of the system's temporary directory; None:
    none written). ``database`` is a Hypothesis example database (or a directory or ``redis://`` spec) that keeps
    failing cases between runs and replays them first, then draws as ``seed`` says (the same cases and minimal cases
    as without one); each property's cases are filed under ``database_key`` (default: the target's name) and the
    property's name, or under ``database_key`` alone where it is a pytest node id (``a::b``). ``echo`` receives the
    header and each verdict line as soon as it is known, ``progress`` a running count of cases.
    """
    known = [p.name for p in PROPERTIES] + list(EXTRA_PROPERTIES)
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise ValueError(f"property must be one of {', '.join(map(repr, known))}; got {', '.join(map(repr, unknown))}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1; got jobs={jobs!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a number of seconds > 0, or None; got timeout={timeout!r}")
    owned = isinstance(variant, str)
    threads = max(1, default_jobs() // jobs) if jobs > 1 else None
    checked, target, rebuildable = _prepare(variant, target, isolate, timeout, threads)
    ref = get_reference(reference)
    plan = Plan(target if rebuildable else None, checked.runtime is not None, checked.support, timeout, ref.name,
                max_examples, seed, profile, database, database_key or target or checked.name)
    if jobs > 1 and not can_share(plan):
        jobs = 1
    if jobs > 1:  # the runners' workers share the cores (each computes on its share) and this process's zygote
        shared = checked.runtime.shared() if checked.runtime is not None else None
        plan = dataclasses.replace(plan, threads=threads or max(1, default_jobs() // jobs), shared=shared)
    names = task_names(checked, only)
    report = Report(checked, ref.name, seed, max_examples, database=database is not None, tasks=names,
                    isolation=checked.runtime.describe() if checked.runtime is not None else None)
    if echo is not None:
        for line in [*report.header(), ""]:
            echo(line)

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if echo is not None:
            echo(verdict_line(outcome, report.outcomes, report.name_width))

    def ticker(name: str) -> Callable[[int], None] | None:
        if progress is None:
            return None
        unit = "points" if "sweep" in name else "cases"
        progress(f"  ...   {name:20}")

        def tick(n: int) -> None:
            if n % 5 == 0:
                progress(f"  ...   {name:20} {n:>4} {unit}")

        return tick

    start = time.perf_counter()
    tasks = Tasks(plan, names, jobs, checked, ref, ticker)
    finished: dict[int, Outcome] = {}
    threads = one_thread() if checked.runtime is not None else nullcontext()
    try:
        threads.__enter__()
        for index, result in tasks:
            if isinstance(result, BaseException):
                raise result
            finished[index] = result
            if progress is not None:
                progress("" if jobs == 1 else f"  ...   {len(finished)} of {len(names)} tasks done")
            while len(report.outcomes) in finished:
                with shown_in(checked.support.layouts):
                    attributed = _attributed(finished[len(report.outcomes)], report.outcomes, checked, ref)
                record(attributed)
    except KeyboardInterrupt as stop:
        interrupted = [stop] if isinstance(stop, Interrupted) else []
        interrupted += [e for e in tasks.interrupted() if isinstance(e, Interrupted)]
        report.interrupted = _interrupted(interrupted, report_dir, checked, target, ref.name)
        if echo is not None:
            for line in report.interrupted:
                echo(line)
        raise
    finally:
        threads.__exit__(None, None, None)
        if progress is not None:
            progress("")
        tasks.close()
        if owned and checked.runtime is not None:
            checked.runtime.close()
    report.seconds = time.perf_counter() - start
    if report_dir is not None and target is not None:
        folder = report_dir if report_dir != "" else default_report_dir()
        for group in report.groups():
            first = group[0]
            if first.case is None:
                continue
            names = [o.name for o in group]
            report.reproducers[first.name] = reproducer.write(
                folder, checked.origin, target, names, first.case, ref.name,
                first.failure.step if first.failure is not None else None, calls=first.calls)
            shown = next((o for o in group if upstream.kind(o) is not None), None)
            if checked.upstream is not None and shown is not None:
                found = upstream.write(folder, checked, shown, names, target)
                if found is not None:
                    report.upstream[first.name] = found
    return report


def _interrupted(stops: list[Interrupted], report_dir: Any, variant: Variant, target: str | None,
                 reference: str) -> list[str]:
    """What was running when Ctrl-C came, each with a reproducer of its case where one can be written."""
    lines = []
    for stop in stops:
        line = f"interrupted: {stop.name} was running {stop.case!r}"
        if stop.case is not None and target is not None and report_dir is not None:
            folder = report_dir if report_dir != "" else default_report_dir()
            path = reproducer.write(folder, variant.origin, target, [stop.name], stop.case, reference)
            line += f"\n  reproducer: python {path}"
        lines.append(line)
    return lines or ["interrupted before any case ran"]


def assert_variant(variant: Any, **options: Any) -> Report:
    """For a contributor's pytest file: check ``variant`` (an import string, module or object); fail the test
    with the whole report if any property fails. Options as in `check_variant`."""
    __tracebackhide__ = True  # pytest shows the report, not the oracle's frames
    report = check_variant(variant, **options)
    if not report.passed:
        raise OracleFailure("\n" + report.text()) from None
    return report
