"""The tasks of a check, and running them side by side: each property's search, the block sweeps, the bad-input
table and the references' self-check is one task (`run_task`); with ``jobs`` above 1, runner processes take them
as they come (`run_tasks`), each with its own reference and its own isolated variant.

A task depends on nothing but its `Plan` and its name: each search draws from its own seed and starts in a fresh
worker, so the tasks give the same outcomes whether they run one after another in this process or side by side
in others, in whatever order they finish.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from oracle.check.runner import Outcome, run_property, run_sweep
from oracle.properties import PROPERTIES, applicable, bad_input, references_agree
from oracle.properties.compare import Mismatch, shown_in
from oracle.reference.truth import get_reference, naive_reference
from oracle.targets.support import Support
from oracle.targets.variant import Variant, load

EXTRA_TASKS = ("block sweep", "transposed block sweep", "bad input", "references agree")
"""The tasks beside the case-driven properties, in report order."""


@dataclass(frozen=True)
class Plan:
    """What a check runs, in a form another process can rebuild it from: the TARGET (None for an object that lives
    in this process only), whether its calls run in worker processes, its declared ``support`` (as checked: a
    test may narrow it), the time limit of a call, the reference, the budget, the seed, a Hypothesis profile, the
    example database (a directory or Redis spec, or a database object) and the key it files examples under; and
    the threads each worker's libraries compute on (None: their own choice), a share of the cores where several
    processes run at once; ``shared``, the zygote runner processes fork their workers from (`Runtime.shared`)."""

    target: str | None
    isolate: bool
    support: Support
    timeout: float | None = None
    reference: str = "torch"
    max_examples: int = 100
    seed: int | None = 0
    profile: str | None = None
    database: Any = None
    database_key: str = ""
    threads: int | None = None
    shared: tuple[str, dict[str, Any]] | None = None

    def variant(self) -> Variant:
        """The variant as this plan checks it, loaded in this process (its calls in workers when isolated)."""
        if self.target is None:
            raise ValueError("a plan without a target cannot be rebuilt in another process")
        if self.isolate:
            from oracle.check.isolation import load_isolated

            loaded = load_isolated(self.target, timeout=self.timeout, threads=self.threads, shared=self.shared)
        else:
            loaded = load(self.target)
        return dataclasses.replace(loaded, support=self.support)

    def example_database(self) -> Any:
        """The Hypothesis example database of ``database`` (a spec string is opened here)."""
        if isinstance(self.database, str):
            return open_database(self.database)
        return self.database


def open_database(spec: str) -> Any:
    """A Hypothesis example database: a directory, or ``redis://HOST:PORT[/DB]`` (Hypothesis's Redis database)."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase

        return RedisExampleDatabase(redis.Redis.from_url(spec))
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(spec)


def task_names(variant: Variant, only: list[str] | None = None) -> list[str]:
    """Every task of a check of ``variant``, in report order (``only``: those named)."""
    transposed = variant.offers("conv_transpose2d")
    names = [p.name for p in PROPERTIES if transposed or not p.transposed]
    names += [n for n in EXTRA_TASKS if transposed or n != "transposed block sweep"]
    return [n for n in names if not only or n in only]


PROPERTY = {p.name: p for p in PROPERTIES}


def run_task(name: str, variant: Variant, reference: Any, plan: Plan,
             on_example: Callable[[int], None] | None = None) -> Outcome:
    """One task's `Outcome` (its failures in the variant's declared layout)."""
    with shown_in(variant.support.layouts):
        return _run_task(name, variant, reference, plan, on_example)


def _run_task(name: str, variant: Variant, reference: Any, plan: Plan,
              on_example: Callable[[int], None] | None) -> Outcome:
    if name in PROPERTY:
        prop = PROPERTY[name]
        if not applicable(prop, variant):
            missing = [f for f in prop.functions if not variant.offers(f)]
            if missing and not (variant.support.backward is False and missing[0].endswith("_backward")):
                why = f"not offered: it has no {missing[0]}"
            elif missing:
                why = "forward only (declared)"
            else:
                why = "declared: no exact NaN and inf propagation"
            return Outcome(name, "skipped", note=why)
        return run_property(variant, prop, reference, max_examples=plan.max_examples, seed_value=plan.seed,
                            profile=plan.profile, on_example=on_example, database=plan.example_database(),
                            database_key=plan.database_key or variant.name)
    if name in ("block sweep", "transposed block sweep"):
        forward = "conv_transpose2d" if name.startswith("transposed") else "conv2d"
        if not variant.offers(forward):
            return Outcome(name, "skipped", note=f"not offered: it has no {forward}")
        return run_sweep(variant, reference, on_example, transposed=name.startswith("transposed"))
    if name == "bad input":
        return bad_input_outcome(variant)
    if name == "references agree":
        if reference.name != "torch":
            return Outcome(name, "skipped",
                           note="the reference is naive itself (--reference naive, or PyTorch not installed)")
        return references_outcome(reference, variant)
    raise ValueError(f"task must be a property name or one of {EXTRA_TASKS}; got {name!r}")


def bad_input_outcome(variant: Variant) -> Outcome:
    """The bad-input table (`oracle.properties.bad_inputs`) as an outcome."""
    checking = [variant.support.resolved((f,)).validates for f in variant.functions]
    if not any(checking):
        return Outcome("bad input", "skipped", note="not declared: no argument checking (validates: False)")
    start = time.perf_counter()
    if variant.runtime is not None:
        variant.runtime.fresh()
    try:
        bad_input(variant)
    except Mismatch as failure:
        return Outcome("bad input", "failed", 1, 1, time.perf_counter() - start, None, failure)
    return Outcome("bad input", "passed", 0, None, time.perf_counter() - start)


def references_outcome(ref: Any, variant: Variant) -> Outcome:
    """The oracle's self-check: PyTorch and naive agree on the named edge cases this variant is checked on."""
    from oracle.cases.edge_cases import edge_case_examples

    start = time.perf_counter()
    cases = edge_case_examples(variant.support, ("conv2d", "conv2d_backward"))
    for name, case in cases:
        try:
            references_agree(ref, naive_reference(), case)
        except Mismatch as failure:
            return Outcome("references agree", "failed", 1, 1, time.perf_counter() - start, case, failure,
                           note=f"named edge case {name}")
    return Outcome("references agree", "passed", len(cases), None, time.perf_counter() - start)


# --- runner processes ----------------------------------------------------------------------------------------

_RUNNER: dict[str, Any] = {}


def _on_interrupt(signum: int, frame: Any) -> None:
    if _RUNNER.get("busy"):
        raise KeyboardInterrupt


def share_cores() -> None:
    """In a runner process, one of several side by side: the reference (torch) computes on one thread, and its idle
    OpenMP threads sleep instead of spinning on the cores the other runners use."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _start_runner(plan: Plan) -> None:
    """A runner process: its own reference, its own variant; Ctrl-C interrupts a task, never the idle runner."""
    signal.signal(signal.SIGINT, _on_interrupt)
    share_cores()
    _RUNNER.update(plan=plan, reference=get_reference(plan.reference), variant=plan.variant(), busy=False)


def _run_in_runner(name: str) -> Outcome:
    _RUNNER["busy"] = True
    try:
        return run_task(name, _RUNNER["variant"], _RUNNER["reference"], _RUNNER["plan"])
    finally:
        _RUNNER["busy"] = False


def process_context() -> Any:
    """How runner processes start: forked from this one where that is safe (Linux, and no thread pool but numpy's
    running here: torch's OpenMP pool, once started, does not survive a fork), so they start with everything this
    process imported; else spawned."""
    from oracle.check.isolation import fork_is_safe

    if fork_is_safe():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def can_share(plan: Plan) -> bool:
    """Whether runner processes can rebuild ``plan``: it names a target, and it pickles."""
    if plan.target is None:
        return False
    try:
        pickle.dumps(plan)
    except Exception:  # an example database object that cannot cross processes, say
        return False
    return True


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Tasks:
    """The tasks of one check, run here one after another where ``jobs`` is 1, else in ``jobs`` runner processes.

    Iterating gives ``(index, outcome)`` of each task as it finishes (an exception where a runner raised one).
    After a Ctrl-C, `interrupted` gives what each runner was running (`oracle.check.runner.Interrupted`)."""

    def __init__(self, plan: Plan, names: list[str], jobs: int, variant: Variant, reference: Any,
                 on_example: Callable[[str], Callable[[int], None] | None] | None = None) -> None:
        self.plan, self.names, self.variant, self.reference, self.on_example = plan, names, variant, reference, \
            on_example
        self.jobs = max(1, min(jobs, len(names)))
        self.executor: ProcessPoolExecutor | None = None
        self.futures: dict[Future, int] = {}

    def __iter__(self) -> Iterator[tuple[int, Outcome | BaseException]]:
        if self.jobs == 1:
            for index, name in enumerate(self.names):
                tick = self.on_example(name) if self.on_example else None
                yield index, run_task(name, self.variant, self.reference, self.plan, tick)
            return
        self.executor = ProcessPoolExecutor(max_workers=self.jobs, mp_context=process_context(),
                                            initializer=_start_runner, initargs=(self.plan,))
        self.futures = {self.executor.submit(_run_in_runner, name): i for i, name in enumerate(self.names)}
        pending = set(self.futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=self.futures.get):
                error = future.exception()
                yield self.futures[future], error if error is not None else future.result()

    def interrupted(self, seconds: float = 5.0) -> list[BaseException]:
        """After a Ctrl-C, the `Interrupted` of each task a runner was running (waiting ``seconds`` at most)."""
        running = [f for f in self.futures if f.running()]
        done, _ = wait(running, timeout=seconds) if running else (set(), set())
        return [f.exception() for f in sorted(done, key=self.futures.get) if f.exception() is not None]

    def close(self) -> None:
        """Stop the runner processes (they hold isolated variants of their own)."""
        if self.executor is None:
            return
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            try:
                process.terminate()
            except Exception:
                pass
        self.executor = None
