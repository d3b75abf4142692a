"""Checking a variant end to end and writing what a person reads: the report and its reproducers.

`check_variant` runs every applicable property (`oracle.check.runner`), the block sweep, the bad-input table and
the references' self-check, and returns a `Report`; `Report.text` is what ``conv-oracle check`` prints;
`assert_variant` does the same inside a contributor's pytest file and fails the test with the report.

A report says what was checked (the declaration, the precision of each dtype, the reference, versions, seed and
budget), one verdict line per property, then one block per root cause: the properties that failed on the same
minimal case are reported together, with the case, the first difference and its bound, where the differences lie,
the geometry with the differing outputs marked, where the variant raised (file and line in its own code) and a
reproducer.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase, precision_of
from oracle.check import reproducer
from oracle.check.locate import describe
from oracle.check.runner import Outcome, run_property, run_sweep
from oracle.explain import case_picture
from oracle.properties import PROPERTIES, applicable, bad_input, references_agree
from oracle.properties.bad_inputs import table_lines
from oracle.properties.compare import Mismatch
from oracle.reference.truth import get_reference, naive_reference
from oracle.targets.variant import Variant, from_object, load

CONVENTIONS = {
    "upper": "'same' = SAME_UPPER (TensorFlow/ONNX): H_out = ceil(H/s), the odd padding pixel at the bottom/right",
    "lower": "'same' = SAME_LOWER (as declared): H_out = ceil(H/s), the odd padding pixel at the top/left",
    "input": "'same' = H_out = H at every stride (as declared), the odd padding pixel at the bottom/right",
    "torch": "'same' = PyTorch's (as declared): stride 1 only, the odd padding pixel at the bottom/right",
}
DEFAULT_EXAMPLES = 100
EXTRA_PROPERTIES = ("block sweep", "bad input", "references agree")


class OracleFailure(AssertionError):
    """A variant failed the oracle; the message is the whole report."""


@dataclass
class Report:
    variant: Variant
    reference: str
    seed: int | None
    max_examples: int
    outcomes: list[Outcome] = field(default_factory=list)
    reproducers: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    database: bool = False

    @property
    def name_width(self) -> int:
        """The width of the verdict lines' name column: 20, or the longest name of a property the variant can get
        (the transposed ones where it offers ``conv_transpose2d``)."""
        transposed = self.variant.offers("conv_transpose2d")
        return max(20, *(len(p.name) for p in PROPERTIES if transposed or not p.transposed))

    @property
    def passed(self) -> bool:
        return all(o.verdict != "failed" for o in self.outcomes)

    @property
    def oracle_failed(self) -> bool:
        return any(o.failure is not None and o.failure.line.startswith("ORACLE FAILURE") for o in self.outcomes)

    def header(self) -> list[str]:
        import hypothesis

        try:
            import torch

            torch_version = torch.__version__
        except ImportError:
            torch_version = "not installed"
        support = self.variant.support
        limits = support.limits()
        declared = ", ".join(limits) if limits else "the whole contract (CONTRACT.md), forward and backward"
        reference = f"{self.reference} (float64); error bounds per element (oracle.reference.tolerance)"
        if support.error == "normwise":
            reference += "; normwise, as declared"
        lines = [f"conv-oracle check {self.variant.name}", f"  declared:    {declared}"]
        plain = [d for d in support.dtypes if precision_of(support, d).usual]
        if plain:
            halves = " (half formats summed in float32)" if {"float16", "bfloat16"} & set(plain) else ""
            lines.append(f"  precision:   {', '.join(plain)}: as each dtype implies{halves}, each result rounded once")
        for dtype in support.dtypes:
            if dtype not in plain:
                lines.append(f"  precision:   {precision_of(support, dtype).describe()}")
        lines.append(f"  reference:   {reference}")
        if self.reference == "naive":
            lines.append("  WARNING:     PyTorch is not installed: the loops of naive are the truth, so a bug naive "
                         "shares goes unseen" + (", and naive judged by itself proves nothing"
                                                 if self.variant.name == "naive" else ""))
        seed = self.seed if self.seed is not None else "random" + (
            ": Hypothesis's own search, failures kept in the example database and replayed first" if self.database
            else "")
        lines += [
            f"  versions:    python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}, "
            f"hypothesis {hypothesis.__version__}",
            f"  budget:      {self.max_examples} generated cases per property, then the named edge cases; the block "
            f"sweep; seed {seed}",
            f"  convention:  {CONVENTIONS[support.same]}",
        ]
        return lines

    def text(self) -> str:
        """The whole report: header, one verdict line per property, then `tail`."""
        lines = [*self.header(), ""]
        lines += [verdict_line(o, self.outcomes, self.name_width) for o in self.outcomes]
        return "\n".join([*lines, self.tail()])

    def groups(self) -> list[list[Outcome]]:
        """The failures, one list per root cause: outcomes that failed on the same case, in report order."""
        groups: list[list[Outcome]] = []
        for o in self.outcomes:
            if o.verdict != "failed":
                continue
            for group in groups:
                if o.case is not None and same_case(group[0].case, o.case):
                    group.append(o)
                    break
            else:
                groups.append([o])
        return groups

    def tail(self) -> str:
        """Each root cause's block and reproducer, then the verdict."""
        lines = []
        for group in self.groups():
            lines += ["", *failure_block(group, self.reproducers.get(group[0].name))]
        failed = [o.name for o in self.outcomes if o.verdict == "failed"]
        lines.append("")
        if not failed:
            lines.append(f"PASSED: every property held ({self.seconds:.1f}s)")
        elif self.oracle_failed:
            lines.append(f"FAILED: {', '.join(failed)}; the oracle itself failed (see above) ({self.seconds:.1f}s)")
        else:
            causes = len(self.groups())
            lines.append(f"FAILED: {', '.join(failed)} ({causes} root cause{'s' if causes > 1 else ''} above) "
                         f"({self.seconds:.1f}s)")
        return "\n".join(lines)


def same_case(a: ConvCase | None, b: ConvCase | None) -> bool:
    """Whether two cases are the same convolution on the same values."""
    if a is None or b is None:
        return False
    if a is b:
        return True

    def equal(p: np.ndarray | None, q: np.ndarray | None) -> bool:
        if p is None or q is None:
            return p is q
        return p.shape == q.shape and np.array_equal(p, q, equal_nan=True)

    return repr(a) == repr(b) and all(equal(getattr(a, k), getattr(b, k)) for k in ("x", "w", "b", "dy"))


def verdict_line(o: Outcome, outcomes: list[Outcome] = (), width: int = 20) -> str:
    """``  ok    forward      242 cases   2.7s`` or ``  FAIL  dx   case 12   0.4s  dx[0,1,0,0]=...``, the name in a
    column ``width`` wide."""
    if o.verdict == "skipped":
        return f"  skip  {o.name:{width}} {o.note}"
    if o.verdict == "passed":
        count = f"{o.examples} cases" if o.examples else "table"
        if o.name == "block sweep":
            count = f"{o.examples} points"
        return f"  ok    {o.name:{width}} {count:>10}  {o.seconds:5.1f}s"
    earlier = next((e for e in outcomes if e is not o and e.verdict == "failed" and e.case is not None
                    and same_case(e.case, o.case)), None)
    if earlier is not None and outcomes.index(earlier) < outcomes.index(o):
        found = "same case"
        line = f"fails on the case {earlier.name} failed on (one root cause, reported below)"
    else:
        found = {"bad input": "table", "block sweep": "sweep"}.get(o.name, "edge case" if o.note else
                                                                    f"case {o.first_failure_at}")
        line = o.failure.line if o.failure else ""
        if o.name != "bad input":
            line = line if len(line) <= 110 else line[:109] + "…"
    return f"  FAIL  {o.name:{width}} {found:>10}  {o.seconds:5.1f}s  {line}"


def failure_block(group: list[Outcome], path: Path | None) -> list[str]:
    """The block of one root cause: the properties it fails, the case, the first difference, where, the geometry,
    where the variant raised, and the reproducer."""
    first = group[0]
    names = ", ".join(o.name for o in group)
    if first.name == "bad input" and first.case is None:
        rows = first.failure.table or []
        return ["--- bad input: the contract's table (CONTRACT.md) ---", *("  " + r for r in table_lines(rows))]
    title = f"the {first.note}" if first.note else "minimal counterexample" if first.case is not None else "no case"
    lines = [f"--- {names}: {title} ---"]
    if first.case is not None:
        lines.append(f"  case:  {first.case!r}")
        if first.case.precision is not None:
            lines.append(f"  precision: {first.case.precision.describe()}")
    for o in group:
        if o.failure is None:
            continue
        label = f"{o.name}: " if len(group) > 1 else ""
        lines.append(f"  {label}first difference:  {o.failure.line}")
        if o.failure.raised_at:
            lines.append(f"  {label}raised at:  {o.failure.raised_at}")
    failure = first.failure
    shown = (failure.case if failure is not None else None) or first.case  # call history: the call that failed
    if shown is not first.case:
        lines.append(f"  failing call's case:  {shown!r}")
    if failure is not None and shown is not None:
        where = describe(failure.name, failure.bad, shown)
        if where:
            lines.append(f"  where: {'; '.join(where)}")
        for line in failure.differences(limit=3):
            lines.append(f"    {line}")
    for o in group:
        for key, value in o.extra.items():
            lines.append(f"  {key}: {value}")
        if o.history:
            lines.append(f"  history: {o.name} {o.history}")
    if shown is not None:
        bad = failure.bad if failure is not None else None
        lines += ["  " + line for line in case_picture(shown, bad, failure.name if failure else "")]
    if path is not None:
        more = "  (add --alone for the failing call only)" if failure is not None and failure.step else ""
        lines.append(f"  reproducer: python {path}{more}")
    return lines


def check_variant(
    variant: Variant | Any,
    *,
    target: str | None = None,
    reference: str = "auto",
    max_examples: int = DEFAULT_EXAMPLES,
    seed: int | None = 0,
    profile: str | None = None,
    only: list[str] | None = None,
    report_dir: str | Path | None = "conv-oracle-reports",
    database: Any = None,
    progress: Callable[[str], None] | None = None,
    echo: Callable[[str], None] | None = None,
) -> Report:
    """Run every property that applies to ``variant`` (an import string, a `Variant`, a module or an object with
    ``conv2d``).

    ``target`` is the import string written into reproducers (default: the one the variant was loaded by);
    reproducers go to ``report_dir`` (None: none written). ``database`` is a Hypothesis example database that
    keeps failing cases between runs and replays them first; with one, the search is Hypothesis's own random one
    (``seed`` is not used: Hypothesis saves no examples of a seeded search). ``echo`` receives the header and each
    verdict line as soon as it is known (the command line prints them), ``progress`` a running count of cases.
    """
    known = [p.name for p in PROPERTIES] + list(EXTRA_PROPERTIES)
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise ValueError(f"property must be one of {', '.join(map(repr, known))}; got {', '.join(map(repr, unknown))}")
    if isinstance(variant, str):
        target = target or variant
        variant = load(variant)
    elif not isinstance(variant, Variant):
        variant = from_object(variant, target, target=target)
    target = target or variant.origin.target
    if database is not None:
        seed = None  # Hypothesis keeps and replays examples only for a search it seeds itself
    ref = get_reference(reference)
    report = Report(variant, ref.name, seed, max_examples, database=database is not None)
    if echo is not None:
        for line in [*report.header(), ""]:
            echo(line)

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if echo is not None:
            echo(verdict_line(outcome, report.outcomes, report.name_width))

    def ticker(name: str, unit: str = "cases") -> Callable[[int], None] | None:
        if progress is None:
            return None
        progress(f"  ...   {name:20}")

        def tick(n: int) -> None:
            if n % 5 == 0:
                progress(f"  ...   {name:20} {n:>4} {unit}")

        return tick

    start = time.perf_counter()
    failing_cases: list[ConvCase] = []
    for prop in PROPERTIES:
        if (only and prop.name not in only) or (prop.transposed and not variant.offers("conv_transpose2d")):
            continue
        if not applicable(prop, variant):
            why = "forward only (declared)" if prop.backward else "declared: no exact NaN and inf propagation"
            record(Outcome(prop.name, "skipped", note=why))
            continue
        outcome = run_property(variant, prop, ref, max_examples=max_examples, seed_value=seed, profile=profile,
                               on_example=ticker(prop.name), database=database, database_key=target or variant.name,
                               known=failing_cases)
        if progress is not None:
            progress("")
        record(outcome)
        if outcome.verdict == "failed" and outcome.case is not None and not any(
                same_case(outcome.case, c) for c in failing_cases):
            failing_cases.append(outcome.case)
    if not only or "block sweep" in only:
        outcome = run_sweep(variant, ref, ticker("block sweep", "points"))
        if progress is not None:
            progress("")
        record(outcome)
    if not only or "bad input" in only:
        record(_bad_input(variant))
    if (not only or "references agree" in only) and ref.name == "torch":
        record(_references_agree(ref, variant))
    report.seconds = time.perf_counter() - start
    if report_dir is not None and target is not None:
        for group in report.groups():
            first = group[0]
            if first.case is None:
                continue
            report.reproducers[first.name] = reproducer.write(
                report_dir, variant.origin, target, [o.name for o in group], first.case, ref.name,
                first.failure.step if first.failure is not None else None)
    return report


def _bad_input(variant: Variant) -> Outcome:
    if not variant.support.validates:
        return Outcome("bad input", "skipped", note="not declared: no argument checking (validates: False)")
    start = time.perf_counter()
    try:
        bad_input(variant)
    except Mismatch as failure:
        return Outcome("bad input", "failed", 1, 1, time.perf_counter() - start, None, failure)
    return Outcome("bad input", "passed", 0, None, time.perf_counter() - start)


def _references_agree(ref: Any, variant: Variant) -> Outcome:
    """The oracle's self-check: PyTorch and naive agree on the named edge cases this variant is checked on."""
    from oracle.cases.edge_cases import edge_case_examples

    start = time.perf_counter()
    cases = edge_case_examples(variant.support)
    for name, case in cases:
        try:
            references_agree(ref, naive_reference(), case)
        except Mismatch as failure:
            return Outcome("references agree", "failed", 1, 1, time.perf_counter() - start, case, failure,
                           note=f"named edge case {name}")
    return Outcome("references agree", "passed", len(cases), None, time.perf_counter() - start)


def assert_variant(variant: Any, **options: Any) -> Report:
    """For a contributor's pytest file: check ``variant`` (an import string, module or object); fail the test
    with the whole report if any property fails. Options as in `check_variant`."""
    __tracebackhide__ = True  # pytest shows the report, not the oracle's frames
    if isinstance(variant, str):
        options.setdefault("target", variant)
        variant = load(variant)
    report = check_variant(variant, **options)
    if not report.passed:
        raise OracleFailure("\n" + report.text()) from None
    return report


def stderr_progress() -> Callable[[str], None] | None:
    """A one-line progress display on a terminal's stderr (None when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        sys.stderr.write("\r" + text.ljust(60) + ("" if text else "\r"))
        sys.stderr.flush()

    return show
