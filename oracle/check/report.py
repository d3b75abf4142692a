"""Checking a variant end to end and writing what a person reads: the report and the reproducer script.

`check_variant` runs every applicable property (`oracle.check.runner`), the bad-input table and the references'
self-check, and returns a `Report`; `Report.text` is what ``conv-oracle check`` prints; `assert_variant` does
the same inside a contributor's pytest file and fails the test with the report.
"""

from __future__ import annotations

import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oracle import properties
from oracle.cases.strategies import ConvCase
from oracle.check.locate import describe
from oracle.check.runner import Outcome, run_property
from oracle.explain import case_picture
from oracle.properties.compare import Mismatch
from oracle.reference.truth import get_reference
from oracle.targets.variant import Variant, from_object, load

CONVENTION = "'same' = SAME_UPPER (TensorFlow/ONNX): H_out = ceil(H/s), the odd padding pixel at the bottom/right"
DEFAULT_EXAMPLES = 200


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
        limits = self.variant.support.limits()
        return [
            f"conv-oracle check {self.variant.name}",
            f"  declared:    {', '.join(limits) if limits else 'everything in design.md (forward and backward)'}",
            f"  reference:   {self.reference} (float64); error bounds per element (oracle.reference.tolerance)"
            + ("; normwise, as declared" if self.variant.support.error == "normwise" else ""),
            f"  versions:    python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}, "
            f"hypothesis {hypothesis.__version__}",
            f"  budget:      {self.max_examples} generated cases per property, then the named edge cases; "
            f"seed {self.seed if self.seed is not None else 'random'}",
            f"  convention:  {CONVENTION}",
        ]

    def text(self) -> str:
        """The whole report: header, one verdict line per property, then `tail`."""
        lines = [*self.header(), ""]
        lines += [_verdict_line(o) for o in self.outcomes]
        return "\n".join([*lines, self.tail()])

    def tail(self) -> str:
        """Each failure's minimal case and reproducer, then the verdict."""
        lines = []
        for o in self.outcomes:
            if o.verdict == "failed":
                lines += ["", *_failure_block(o, self.reproducers.get(o.name))]
        failed = [o.name for o in self.outcomes if o.verdict == "failed"]
        lines.append("")
        if not failed:
            lines.append(f"PASSED: every property held ({self.seconds:.1f}s)")
        elif self.oracle_failed:
            lines.append(f"FAILED: {', '.join(failed)}; the oracle itself failed (see above) ({self.seconds:.1f}s)")
        else:
            lines.append(f"FAILED: {', '.join(failed)} ({self.seconds:.1f}s)")
        return "\n".join(lines)


def _verdict_line(o: Outcome) -> str:
    if o.verdict == "skipped":
        return f"  skip  {o.name:20} {o.note}"
    if o.verdict == "passed":
        count = f"{o.examples} cases" if o.examples else "table"
        return f"  ok    {o.name:20} {count:>10}  {o.seconds:5.1f}s"
    if o.note:
        found = "edge case"
    elif o.name == "bad input":
        found = "table"
    else:
        found = f"case {o.first_failure_at}" if o.first_failure_at else ""
    line = o.failure.line if o.failure else ""
    line = line if len(line) <= 110 else line[:109] + "…"
    return f"  FAIL  {o.name:20} {found:>10}  {o.seconds:5.1f}s  {line}"


def _failure_block(o: Outcome, reproducer: Path | None) -> list[str]:
    if o.note:
        title = f"the {o.note}"
    elif o.case is None:
        title = "the table of design.md" if o.name == "bad input" else "no case"
    else:
        title = "minimal counterexample"
    lines = [f"--- {o.name}: {title} ---"]
    if o.case is not None:
        lines.append(f"  case:  {o.case!r}")
    if o.failure is not None:
        lines.append(f"  first difference:  {o.failure.line}")
        where = describe(o.failure.name, o.failure.bad, o.case) if o.case is not None else []
        if where:
            lines.append(f"  where: {'; '.join(where)}")
    if o.case is not None:
        bad = o.failure.bad if o.failure is not None else None
        lines += ["  " + line for line in case_picture(o.case, bad, o.failure.name if o.failure else "")]
    if reproducer is not None:
        lines.append(f"  reproducer: python {reproducer}")
    return lines


def _literal(a: np.ndarray | None) -> str:
    if a is None:
        return "None"
    return f"np.array({a.tolist()!r}, dtype=np.{a.dtype.name}).reshape({a.shape})"


def reproducer_script(target: str, prop_name: str, case: ConvCase, reference: str) -> str:
    """A standalone script rebuilding the exact arrays of ``case`` and re-running the property on ``target``."""
    return f'''"""conv-oracle reproducer: property {prop_name!r} of {target}.

Rebuilds the minimal counterexample's arrays exactly and runs the property again; prints the difference.
"""

import numpy as np

from oracle.properties import PROPERTIES
from oracle.reference.truth import get_reference
from oracle.cases.strategies import ConvCase
from oracle.targets.variant import load

variant = load({target!r})
x = {_literal(case.x)}
w = {_literal(case.w)}
b = {_literal(case.b)}
dy = {_literal(case.dy)}
case = ConvCase(x, w, b, dy, stride={case.stride!r}, padding={case.padding!r}, dilation={case.dilation!r},
                groups={case.groups!r}, exact={case.exact!r}, nan_at={case.nan_at!r})
print(case)
check = {{p.name: p.check for p in PROPERTIES}}[{prop_name!r}]
try:
    check(variant, case, get_reference({reference!r}))
except AssertionError as failure:
    print(failure)
    for line in getattr(failure, "differences", lambda: [])():
        print("  " + line)
    raise SystemExit(1)
print("the property holds on this case now")
'''


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


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
    progress: Callable[[str], None] | None = None,
    echo: Callable[[str], None] | None = None,
) -> Report:
    """Run every property that applies to ``variant`` (a `Variant`, a module or an object with ``conv2d``).

    ``target`` is the import string written into reproducers (default: the variant's name); reproducers go to
    ``report_dir`` (None: none written). ``echo`` receives the header and each verdict line as soon as it is
    known (the command line prints them), ``progress`` a running count of cases.
    """
    known = [p.name for p in properties.PROPERTIES] + ["bad input", "references agree"]
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise ValueError(f"property must be one of {', '.join(map(repr, known))}; got {', '.join(map(repr, unknown))}")
    if not isinstance(variant, Variant):
        variant = from_object(variant, target)
    target = target or variant.name
    ref = get_reference(reference)
    report = Report(variant, ref.name, seed, max_examples)
    if echo is not None:
        for line in [*report.header(), ""]:
            echo(line)

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if echo is not None:
            echo(_verdict_line(outcome))

    start = time.perf_counter()
    for prop in properties.PROPERTIES:
        if only and prop.name not in only:
            continue
        if not properties.applicable(prop, variant):
            why = "forward only (declared)" if prop.backward else "declared: no exact NaN and inf propagation"
            record(Outcome(prop.name, "skipped", note=why))
            continue
        tick = None
        if progress is not None:
            progress(f"  ...   {prop.name:20}")

            def tick(n: int, name: str = prop.name) -> None:
                if n % 5 == 0:
                    progress(f"  ...   {name:20} {n:>4} cases")

        outcome = run_property(variant, prop, ref, max_examples=max_examples, seed_value=seed, profile=profile,
                               on_example=tick)
        if progress is not None:
            progress("")
        record(outcome)
        if outcome.verdict == "failed" and outcome.case is not None and report_dir is not None:
            path = Path(report_dir) / f"{_safe(target)}-{_safe(prop.name)}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(reproducer_script(target, prop.name, outcome.case, ref.name))
            report.reproducers[prop.name] = path
    if not only or "bad input" in only:
        record(_bad_input(variant))
    if (not only or "references agree" in only) and ref.name == "torch":
        record(_references_agree(ref, variant))
    report.seconds = time.perf_counter() - start
    return report


def _bad_input(variant: Variant) -> Outcome:
    start = time.perf_counter()
    try:
        properties.bad_input(variant)
    except Mismatch as failure:
        return Outcome("bad input", "failed", 1, 1, time.perf_counter() - start, None, failure)
    return Outcome("bad input", "passed", 0, None, time.perf_counter() - start)


def _references_agree(ref: Any, variant: Variant) -> Outcome:
    """The oracle's self-check: PyTorch and naive agree on the named edge cases this variant is checked on."""
    from oracle.check.runner import edge_case_examples
    from oracle.reference.truth import naive_reference

    start = time.perf_counter()
    cases = edge_case_examples(variant.support)
    for name, case in cases:
        try:
            properties.references_agree(ref, naive_reference(), case)
        except Mismatch as failure:
            return Outcome("references agree", "failed", 1, 1, time.perf_counter() - start, case, failure,
                           note=f"named edge case {name}")
    return Outcome("references agree", "passed", len(cases), None, time.perf_counter() - start)


def assert_variant(variant: Any, **options: Any) -> Report:
    """For a contributor's pytest file: check ``variant`` (an import string, module or object); fail the test
    with the whole report if any property fails. Options as in `check_variant`."""
    if isinstance(variant, str):
        options.setdefault("target", variant)
        variant = load(variant)
    report = check_variant(variant, **options)
    if not report.passed:
        raise OracleFailure("\n" + report.text())
    return report


def stderr_progress() -> Callable[[str], None] | None:
    """A one-line progress display on a terminal's stderr (None when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        sys.stderr.write("\r" + text.ljust(60) + ("" if text else "\r"))
        sys.stderr.flush()

    return show
