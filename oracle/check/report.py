"""Writing what a person reads: the `Report` of a check (`oracle.check.session.check_variant`).

A report says what was checked (the declaration, the precision of each dtype, the reference, how the variant's
calls were isolated, versions, seed and budget), one verdict line per property, then one block per root cause: the
properties that failed on the same minimal case are reported together, with the case, the first difference and
its bound, where the differences lie, the geometry with the differing outputs marked, where the variant raised
(file and line in its own code, and in the library where that is another), how a call that died ended and what
its process said, and a reproducer. `Report.text` is what ``conv-oracle check`` prints.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase, precision_of
from oracle.check.locate import describe
from oracle.check.runner import Outcome
from oracle.explain import case_picture
from oracle.properties import PROPERTIES
from oracle.properties.bad_inputs import table_lines
from oracle.properties.compare import Mismatch
from oracle.targets.variant import Variant

CONVENTIONS = {
    "upper": "'same' = SAME_UPPER (TensorFlow/ONNX): H_out = ceil(H/s), the odd padding pixel at the bottom/right",
    "lower": "'same' = SAME_LOWER (as declared): H_out = ceil(H/s), the odd padding pixel at the top/left",
    "input": "'same' = H_out = H at every stride (as declared), the odd padding pixel at the bottom/right",
    "torch": "'same' = PyTorch's (as declared): stride 1 only, the odd padding pixel at the bottom/right",
}
TRANSPOSED_CONVENTIONS = {
    "upper": "transposed 'same' = H_out = H*s (TensorFlow's), the odd cropped row at the bottom/right",
    "lower": "transposed 'same' = H_out = H*s, the odd cropped row at the top/left (as declared)",
}
TRANSPOSED_UNJUDGED = "transposed 'same' not judged: its declared convention has no transposed form"


@dataclass
class Report:
    variant: Variant
    reference: str
    seed: int | None
    max_examples: int
    outcomes: list[Outcome] = field(default_factory=list)
    reproducers: dict[str, Path] = field(default_factory=dict)
    upstream: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    database: bool = False
    tasks: list[str] = field(default_factory=list)
    isolation: str | None = None
    interrupted: list[str] = field(default_factory=list)

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
        offered = [f for f in ("conv2d", "conv2d_backward") if not self.variant.offers(f)]
        if offered and support.backward:
            limits = [*limits, f"it has no {' and no '.join(offered)}"]
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
            from oracle.reference import torch_reference

            why = ("--reference naive" if torch_reference.available() else "PyTorch is not installed")
            lines.append(f"  WARNING:     {why}: the loops of naive are the truth, so a bug naive "
                         "shares goes unseen" + (", and naive judged by itself proves nothing"
                                                 if self.variant.name == "naive" else ""))
        seed = ("random" if self.seed is None else str(self.seed)) + (
            "; failures kept in the example database and replayed first" if self.database else "")
        isolation = self.isolation or ("none: every call in this process" + (
            " (--in-process)" if self.variant.origin.target else " (an object of this process)"))
        sweeps = [t for t in self.tasks if t.endswith("block sweep")]
        swept = f"; the {' and the '.join(sweeps)}" if sweeps else ""
        lines += [
            f"  versions:    python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}, "
            f"hypothesis {hypothesis.__version__}",
            f"  isolation:   {isolation}",
            f"  budget:      {self.max_examples} generated cases per property, then the named edge cases{swept}; "
            f"seed {seed}",
            f"  convention:  {CONVENTIONS[support.value('same', function='conv2d')]}",
        ]
        if self.variant.offers("conv_transpose2d"):
            same = support.value("same", function="conv_transpose2d")
            lines.append(f"               {TRANSPOSED_CONVENTIONS.get(same, TRANSPOSED_UNJUDGED)}")
        return lines

    def text(self) -> str:
        """The whole report: header, one verdict line per property, then `tail`."""
        lines = [*self.header(), ""]
        lines += [verdict_line(o, self.outcomes, self.name_width) for o in self.outcomes]
        return "\n".join([*lines, self.tail()])

    def groups(self) -> list[list[Outcome]]:
        """The failures, one list per root cause, in report order: outcomes that failed on the same case, or that
        raised the same exception from the same place, or ended their worker the same way in the same place, on
        whatever case (one bug in the variant's own code, met by several properties)."""
        groups: list[list[Outcome]] = []
        history = self.history_root()
        if history is not None:  # failures that held when run alone: one bug of state, call history's
            groups.append([history, *(o for o in self.outcomes if o is not history and _by_history(o))])
        for o in self.outcomes:
            if o.verdict != "failed" or (history is not None and (o is history or _by_history(o))):
                continue
            for group in groups:
                if o.case is not None and (same_case(group[0].case, o.case) or o.root == group[0].name):
                    group.append(o)
                    break
                if _same_raise(group[0], o):
                    group.append(o)
                    break
            else:
                groups.append([o])
        return groups

    def history_root(self) -> Outcome | None:
        """The call history property's failure, where it failed because of what ran before (not alone)."""
        return next((o for o in self.outcomes if o.verdict == "failed" and o.name.endswith("call history")
                     and o.failure is not None and not o.failure.alone), None)

    def tail(self) -> str:
        """Each root cause's block and reproducer, then the verdict."""
        lines = []
        for group in self.groups():
            lines += ["", *failure_block(group, self.reproducers.get(group[0].name), self.variant.support.layouts)]
            if group[0].name in self.upstream and self.variant.upstream is not None:
                library = self.variant.upstream["library"]
                lines.append(f"  upstream reproducer ({library} and numpy only): python "
                             f"{_shown(self.upstream[group[0].name])}")
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


def cause(failure: Mismatch) -> tuple[Any, ...]:
    """What a failure is, for telling whether two failures are one bug: how a call died and where, the type and
    place of what it raised, an input modified, a result aliased or reused, or (anything else) wrong values."""
    if failure.stage == "died" and failure.died is not None:
        return ("died", failure.died.how.split(" in ")[0].split(":")[0], failure.raised_at)
    if failure.stage == "raised":
        return ("raised", failure.line.split(":")[0].split(" raised ")[-1], failure.raised_at, failure.library_at)
    if failure.stage in ("modified", "aliased", "reused"):
        return (failure.stage,)
    return ("values",)


def _by_history(o: Outcome) -> bool:
    """Whether a failure held when its case ran again alone, in a fresh call: it came from what ran before."""
    return o.verdict == "failed" and o.history.startswith("it held when the same case ran again")


def _same_raise(a: Outcome, b: Outcome) -> bool:
    """Whether two failures raised the same exception from the same line, or died the same way at the same place
    (where the place is known)."""
    if a.failure is None or b.failure is None or a.failure.stage not in ("raised", "died"):
        return False
    first, second = cause(a.failure), cause(b.failure)
    return first == second and any(part for part in first[2:])


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
        if o.name.endswith("block sweep"):
            count = f"{o.examples} points"
        return f"  ok    {o.name:{width}} {count:>10}  {o.seconds:5.1f}s"
    earlier = next((e for e in outcomes if e is not o and e.verdict == "failed" and e.case is not None
                    and (same_case(e.case, o.case) or o.root == e.name)), None)
    raised = next((e for e in outcomes if e is not o and e.verdict == "failed" and _same_raise(e, o)), None)
    if _by_history(o):
        found = "history"
        line = "fails only after other calls, not alone in a fresh call (call history; one root cause, below)"
    elif earlier is not None and outcomes.index(earlier) < outcomes.index(o):
        found = "same case"
        line = f"fails on the case {earlier.name} failed on (one root cause, reported below)"
    elif raised is not None and outcomes.index(raised) < outcomes.index(o):
        found = "same error"
        line = f"fails the way {raised.name} does, at the same place (one root cause, reported below)"
    else:
        found = {"bad input": "table", "block sweep": "sweep", "transposed block sweep": "sweep"}.get(
            o.name, "edge case" if o.note else f"case {o.first_failure_at}")
        line = o.failure.line if o.failure else ""
        if o.name != "bad input":
            line = line if len(line) <= 110 else line[:109] + "…"
    return f"  FAIL  {o.name:{width}} {found:>10}  {o.seconds:5.1f}s  {line}"


def case_text(case: Any, layouts: tuple[str, str] | None = None) -> str:
    """A case as a report shows it: its repr, with the shapes of ``x`` and ``w`` in the variant's declared layout
    (``layouts``, where it is not the contract's) and the contract's following."""
    text = repr(case)
    if layouts is None or layouts == ("NHWC", "HWIO"):
        return text
    for name, shape, contract, letters in (("x", case.x.shape, "NHWC", layouts[0]),
                                           ("w", case.w.shape, "HWIO", layouts[1])):
        shown = tuple(shape[contract.index(letter)] for letter in letters)
        text = text.replace(f"{name}.shape={shape}", f"{name}.shape={shown} ({letters}; {contract} {shape})", 1)
    return text


def failure_block(group: list[Outcome], path: Path | None, layouts: tuple[str, str] | None = None) -> list[str]:
    """The block of one root cause: the properties it fails, the case, the first difference, where, the geometry,
    where the variant raised, and the reproducer (shapes and indices in the variant's declared ``layouts``)."""
    first = group[0]
    names = ", ".join(o.name for o in group)
    if first.name == "bad input" and first.case is None:
        rows = first.failure.table or []
        return ["--- bad input: the contract's table (CONTRACT.md) ---", *("  " + r for r in table_lines(rows))]
    title = f"the {first.note}" if first.note else "minimal counterexample" if first.case is not None else "no case"
    lines = [f"--- {names}: {title} ---"]
    if first.case is not None:
        lines.append(f"  case:  {case_text(first.case, layouts)}")
        if first.case.precision is not None:
            lines.append(f"  precision: {first.case.precision.describe()}")
    said_once: set[str] = set()
    messages: dict[str, list[Outcome]] = {}
    for o in group:
        if o.failure is not None:
            messages.setdefault(_message(o.failure.line), []).append(o)
    for outcomes in messages.values():
        label = f"{', '.join(o.name for o in outcomes)}: " if len(messages) > 1 else ""
        shown_line = outcomes[0].failure.line
        lines.append(f"  {label}first difference:  {shown_line}")
        for o in outcomes:
            where = o.failure.raised_at
            if where and where not in said_once:
                said_once.add(where)
                died = o.failure.died
                verb = "raised" if died is None else "hung" if died.hung else died.how.split(":")[0].split(" with")[0]
                lines.append(f"  {verb} at:  {where}")
            library = o.failure.library_at
            if library and library not in said_once:
                said_once.add(library)
                lines.append(f"  inside the library at:  {library}")
        died = outcomes[0].failure.died
        if died is not None and "said" not in said_once and died.said():
            said_once.add("said")
            lines.append("  the process said:")
            lines += [f"    {line}" for line in died.said()]
    failure = first.failure
    shown = (failure.case if failure is not None else None) or first.case  # call history: the call that failed
    if shown is not first.case:
        lines.append(f"  failing call's case:  {case_text(shown, layouts)}")
    if failure is not None and shown is not None:
        where = describe(failure.name, failure.bad, shown)
        if where:
            lines.append(f"  where: {'; '.join(where)}")
        for line in failure.differences(limit=3):
            lines.append(f"    {line}")
    said_extra: set[str] = set()
    histories = [o.name for o in group if o.history.startswith("it held when")]
    for o in group:
        for key, value in o.extra.items():
            if (key, value) not in said_extra:
                said_extra.add((key, value))
                lines.append(f"  {key}: {value}")
        if o.history and not o.history.startswith("it held when"):
            lines.append(f"  history: {o.name} {o.history}")
    if histories:
        held = next(o.history for o in group if o.history.startswith("it held when"))
        lines.append(f"  history: {', '.join(histories)}: {held}")
    if shown is not None:
        bad = failure.bad if failure is not None else None
        lines += ["  " + line for line in case_picture(shown, bad, failure.name if failure else "")]
    if path is not None:
        more = "  (add --alone for the failing call only)" if failure is not None and failure.step else ""
        lines.append(f"  reproducer: python {_shown(path)}{more}")
    return lines


def _message(line: str) -> str:
    """A failure line without the call it names (``[conv2d(...)]``): two properties that met the same failure in
    different calls say the same thing."""
    import re

    line = re.sub(r" \[(conv2d|conv_transpose2d)[^\[]*\]$", "", line)
    return re.sub(r", (with contiguous arguments too|alone too, in a fresh call)[^\[]*$", "", line)


def _shown(path: Path) -> str:
    """A reproducer's path as a person types it: relative to the working directory where it lies under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def stderr_progress() -> Callable[[str], None] | None:
    """A one-line progress display on a terminal's stderr (None when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        sys.stderr.write("\r" + text.ljust(60) + ("" if text else "\r"))
        sys.stderr.flush()

    return show
