"""A survey's run: each target loaded once in worker processes, then checked once per storage dtype it declares,
its declaration narrowed to that dtype, so that every (property, dtype) pair has a verdict of its own.

A cell's ``status`` is one of `STATUSES`:

- ``held``: the property held on that dtype;
- ``finding``: the variant failed it (a wrong value, a wrong shape, an exception on a valid call...); ``case`` is
  the minimal case, ``report`` the check's report and ``reproducer`` its script;
- ``crashed``: a call ended the worker (a signal, an abort, an exit) or gave no answer in its time limit;
- ``not declared``: the variant declares the dtype or the operation away;
- ``not offered``: the variant has no function the property calls;
- ``not applicable``: no point of a block sweep fits the declaration;
- ``oracle failed``: the oracle itself failed (a bug of conv-oracle: please report it).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oracle.cases.strategies import precision_of
from oracle.check.jobs import task_names
from oracle.check.report import Report
from oracle.check.runner import Outcome
from oracle.check.session import check_variant
from oracle.targets import BUNDLED, IMPORT_NAMES
from oracle.targets.support import DTYPES
from oracle.targets.variant import Variant, VariantError

STATUSES = ("held", "finding", "crashed", "not declared", "not offered", "not applicable", "oracle failed")
SKIPPED_TASKS = ("references agree",)
"""Tasks about the oracle, not the target: not surveyed."""
CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_fp16", "asimd",
                "sve")
"""CPU flags by which oneDNN, MLAS, XLA and OpenVINO pick their kernels."""


@dataclass(frozen=True)
class Cell:
    """One property on one dtype of one target."""

    status: str
    line: str = ""
    case: str = ""
    report: str = ""
    reproducer: str = ""
    upstream: str = ""


@dataclass
class Row:
    """One target: ``cells[property][dtype]``; ``error`` where it could not be loaded (then no cells)."""

    target: str
    library: str
    version: str
    declared: list[str] = field(default_factory=list)
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""


@dataclass
class Survey:
    """What a survey found: its rows, the machine, the budget."""

    rows: list[Row]
    machine: dict[str, str]
    dtypes: tuple[str, ...]
    max_examples: int
    seed: int
    started: str
    seconds: float = 0.0

    @property
    def properties(self) -> list[str]:
        """Every property some row has a cell for, in report order."""
        seen: list[str] = []
        for row in self.rows:
            seen += [name for name in row.cells if name not in seen]
        return seen


def machine() -> dict[str, str]:
    """The machine a survey ran on: its CPU, the flags kernels are chosen by, its cores, OS and Python."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        info = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        model = found.group(1).strip() if found else model
        listed = re.search(r"^(flags|Features)\s*:\s*(.+)$", info, re.M)
        flags = set(listed.group(2).split()) if listed else set()
    except OSError:
        pass
    features = [f for f in CPU_FEATURES if f in flags]
    return {"cpu": model, "features": ", ".join(features) or "none of " + ", ".join(CPU_FEATURES[:6]),
            "cores": str(os.cpu_count() or 1), "os": platform.platform(), "python": platform.python_version()}


def installed_bundled() -> list[str]:
    """The bundled targets whose library is installed here."""
    found = []
    for target, distribution in BUNDLED.items():
        if importlib.util.find_spec(IMPORT_NAMES.get(distribution, distribution)) is not None:
            found.append(target)
    return found


def library_of(target: str) -> tuple[str, str]:
    """``(distribution, version)`` of a bundled target's library; for another target, its top-level package's
    distribution where one is installed, else ``("", "")``."""
    distribution = BUNDLED.get(target) or BUNDLED.get(target.split(":")[0])
    if distribution is None:
        top = target.split(":")[0].split(".")[0]
        names = importlib.metadata.packages_distributions().get(top, [])
        distribution = names[0] if names else ""
    if not distribution:
        return "", ""
    try:
        return distribution, importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return distribution, ""


def declared(variant: Variant) -> list[str]:
    """What ``variant`` declares, as a report's header says it: its limits, then each dtype's precision where it is
    not what the dtype implies."""
    support = variant.support
    lines = list(support.limits())
    lines += [precision_of(support, d).describe() for d in support.dtypes if not precision_of(support, d).usual]
    return lines


def cell_of(outcome: Outcome, report: Report, report_path: Path, root: Path) -> Cell:
    """The cell of one outcome of a check narrowed to one dtype."""
    if outcome.verdict == "passed":
        return Cell("held")
    if outcome.verdict == "skipped":
        note = outcome.note
        status = ("not offered" if note.startswith("not offered") else
                  "not applicable" if note.startswith("not applicable") else "not declared")
        return Cell(status, line=note)
    failure = outcome.failure
    line = failure.line if failure is not None else ""
    if line.startswith("ORACLE FAILURE"):
        status = "oracle failed"
    elif failure is not None and failure.died is not None:
        status = "crashed"
    else:
        status = "finding"
    first = next((g[0].name for g in report.groups() if outcome in g), outcome.name)

    def relative(path: Path | None) -> str:
        return os.path.relpath(path, root) if path is not None else ""

    return Cell(status, line=line, case=repr(outcome.case) if outcome.case is not None else "",
                report=relative(report_path), reproducer=relative(report.reproducers.get(first)),
                upstream=relative(report.upstream.get(first)))


def _slug(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", target)


def run(targets: list[str], out: Path, *, dtypes: tuple[str, ...] = DTYPES, only: list[str] | None = None,
        max_examples: int = 25, seed: int = 0, jobs: int = 1, timeout: float | None = None,
        told: Callable[[str], None] | None = None) -> Survey:
    """Check each target once per dtype of ``dtypes`` it declares; reports go to ``out/reports``, reproducers to
    ``out/reproducers``. ``told`` receives a line as each target and dtype finishes."""
    from oracle.check.isolation import load_isolated

    survey = Survey([], machine(), tuple(dtypes), max_examples, seed, time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    start = time.perf_counter()
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    for target in targets:
        library, version = library_of(target)
        row = Row(target, library, version)
        survey.rows.append(row)
        began = time.perf_counter()
        try:
            variant = load_isolated(target, timeout=timeout, threads=threads)
        except VariantError as error:
            row.error = str(error)
            if told is not None:
                told(f"  {target}: not loaded: {error}")
            continue
        try:
            names = [n for n in task_names(variant, only) if n not in SKIPPED_TASKS]
            row.declared = declared(variant)
            row.cells = {name: {} for name in names}
            for dtype in dtypes:
                if dtype not in variant.support.dtypes:
                    for name in names:
                        row.cells[name][dtype] = Cell("not declared", line=f"{dtype} not declared")
                    continue
                narrowed = dataclasses.replace(variant, support=variant.support.replace(dtypes=(dtype,)))
                report = check_variant(narrowed, target=target, only=names, max_examples=max_examples, seed=seed,
                                       report_dir=out / "reproducers", jobs=jobs, timeout=timeout, isolate=True)
                path = out / "reports" / f"{_slug(target)}-{dtype}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(report.text() + "\n")
                for outcome in report.outcomes:
                    row.cells[outcome.name][dtype] = cell_of(outcome, report, path, out)
                if told is not None:
                    counts = [f"{sum(c[dtype].status == s for c in row.cells.values())} {s}" for s in STATUSES
                              if any(c[dtype].status == s for c in row.cells.values())]
                    told(f"  {target:40} {dtype:9} {', '.join(counts)}  ({report.seconds:.1f}s)")
        finally:
            if variant.runtime is not None:
                variant.runtime.close()
        row.seconds = time.perf_counter() - began
    survey.seconds = time.perf_counter() - start
    return survey


__all__ = ["STATUSES", "Cell", "Row", "Survey", "installed_bundled", "library_of", "machine", "run"]
