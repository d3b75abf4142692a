"""Searching for counterexamples: one property's search with Hypothesis, the block sweep, and what a report needs.

`run_property` searches for a counterexample to one property: cases Hypothesis kept in its example database from
earlier runs, then generated cases inside the variant's declared support, then the named edge cases of
`oracle.cases.edge_cases`. When a generated case fails, Hypothesis shrinks it; the last failing case it replays is
the minimal one, kept with its failure, made plainer where an option plays no part (`plainest`), and run once more
in a fresh call: a case that holds when run again failed because of what ran before it, and the outcome says so.

Each search starts in a fresh worker where the variant is isolated (`oracle.check.isolation`), draws from its own
seed (`property_seed`), and draws nothing from the literals of the modules loaded in this process (Hypothesis
mixes the constants of "local" modules into its draws: the oracle's own source in a checkout, the variant's
module), so a seeded search finds the same cases in any process, from a wheel or a checkout, alone or beside
others. A call that crashed, exited or hung its worker is a failure like any other; where the minimal case does
not die alone in a fresh worker, `death_history` finds the calls before it that make it die.

`run_sweep` walks the block sweep of `oracle.cases.sweep`, forward and backward, and that of the transposed
operation where the variant has one.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.database import ExampleDatabase

from oracle.cases.budget import within_budget
from oracle.cases.edge_cases import edge_case_examples
from oracle.cases.strategies import ConvCase, fit
from oracle.cases.sweep import sweep_cases, transposed_sweep_cases
from oracle.cases.transposed import TransposedCase, transposed_edge_case_examples
from oracle.check.settings import register_profiles
from oracle.properties import PROPERTIES, Property, applicable
from oracle.properties.calling import call_text, grads, run
from oracle.properties.compare import Mismatch, assert_close
from oracle.reference.truth import truth, truth_transposed
from oracle.targets.variant import Variant

DEPENDS_ON_HISTORY = ("it held when the same case ran again in a fresh call: the result depends on what ran before "
                      "it (see the call history property)")


@dataclass
class Outcome:
    """What one property's search found: ``verdict`` is ``"passed"``, ``"failed"`` or ``"skipped"``.

    ``calls``: where a call died only after others, the calls (`oracle.check.isolation.Call`) that make it die in a
    fresh worker, the dying one last. ``root``: the earlier property whose minimal case this one failed on (one root
    cause, reported with it).
    """

    name: str
    verdict: str
    examples: int = 0
    first_failure_at: int | None = None
    seconds: float = 0.0
    case: ConvCase | None = None
    failure: Mismatch | None = None
    note: str = ""
    history: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    first_failure_seconds: float | None = None
    calls: list[Any] | None = None
    root: str | None = None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a search: the property and the case that was running."""

    def __init__(self, name: str, case: Any) -> None:
        super().__init__(name)
        self.name, self.case = name, case

    def __reduce__(self):
        return Interrupted, (self.name, self.case)


@contextmanager
def own_constants() -> Iterator[None]:
    """Hypothesis draws without the literals of this process's local modules (only its own fixed constants): the
    same seed draws the same cases wherever the oracle is installed and whatever the variant's module holds."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # a Hypothesis without local constants
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if original is None:
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    if cache is not None:
        cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        if cache is not None:
            cache.clear()


def run_property(
    variant: Variant,
    prop: Property,
    reference: Any,
    *,
    max_examples: int = 100,
    seed_value: int | None = 0,
    profile: str | None = None,
    edge_cases: bool = True,
    shrink: bool = True,
    on_example: Callable[[int], None] | None = None,
    database: ExampleDatabase | None = None,
    database_key: str = "",
) -> Outcome:
    """Search for a counterexample to ``prop`` on ``variant``; return the `Outcome` (minimal case if failed).

    ``database``: a Hypothesis example database that keeps failing cases between runs, under ``database_key``
    (e.g. the target's name) and the property's name. A search that finds only a hang that does not come back
    when run again (a machine that paused) is run once more, with five times the time limit.
    """
    outcome = _search(variant, prop, reference, max_examples, seed_value, profile, edge_cases, shrink, on_example,
                      database, database_key)
    runtime = variant.runtime
    if (outcome.verdict == "failed" and runtime is not None and outcome.failure is not None
            and outcome.failure.died is not None and outcome.failure.died.hung and outcome.history
            and outcome.calls is None and runtime.limit.seconds is None):
        runtime.limit.factor *= 5
        try:
            outcome = _search(variant, prop, reference, max_examples, seed_value, profile, edge_cases, shrink,
                              on_example, database, database_key)
        finally:
            runtime.limit.factor /= 5
    return outcome


_INTERRUPTED = [False]
"""Whether Ctrl-C came during the running search (set by `interruptible`'s handler)."""


def _interrupt(signum: int, frame: Any) -> None:
    _INTERRUPTED[0] = True
    raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C ends the search even where Python swallows the KeyboardInterrupt it raises ("Exception ignored in"
    a garbage collector callback, as Hypothesis installs one): the next case raises it again. Only in the main
    thread, and only over Python's own handler."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    _INTERRUPTED[0] = False
    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _INTERRUPTED[0] = False


def digest_of(database_key: str, name: str) -> bytes:
    """What a property's search adds to Hypothesis's digest of its test, so that its example database key is the
    target's and the property's: ``database_key`` as it is where it holds ``::`` (a pytest node id, as pytest's and
    HypoFuzz's Hypothesis tests are keyed), else ``database_key`` and ``name``."""
    return database_key.encode() if "::" in database_key else f"{database_key}\0{name}".encode()


def property_test(variant: Variant, prop: Property, reference: Any, *, max_examples: int = 100,
                  seed_value: int | None = 0, profile: str | None = None, shrink: bool = True,
                  on_example: Callable[[int], None] | None = None, database: ExampleDatabase | None = None,
                  database_key: str = "", state: dict[str, Any] | None = None) -> Callable[[], None]:
    """The Hypothesis test that searches for a counterexample to ``prop`` on ``variant``: ``given`` the cases of the
    variant's declaration, with the oracle's settings; calling it runs the search and raises the minimal failure.
    ``state`` (a dict) receives the count of cases, the first failure's index and time, and the failing case and
    `Mismatch`."""
    state = {} if state is None else state
    state.update({"examples": 0, "first": None, "found": None, "case": None, "failure": None, "current": None})
    start = time.perf_counter()

    def first_failure() -> None:
        if state["first"] is None:
            state["first"], state["found"] = state["examples"], time.perf_counter() - start

    def test(case: ConvCase) -> None:
        if _INTERRUPTED[0]:
            raise KeyboardInterrupt
        state["examples"] += 1
        state["current"] = case
        if on_example is not None:
            on_example(state["examples"])
        try:
            prop.check(variant, case, reference)
        except Mismatch as failure:
            first_failure()
            state["case"], state["failure"] = case, failure
            raise
        except Exception as error:  # the variant's own exceptions arrive as Mismatch: this is the oracle's
            failure = Mismatch(f"ORACLE FAILURE: the oracle itself raised {type(error).__name__}: {error} "
                               f"[{case!r}]", name=prop.name, stage="oracle")
            first_failure()
            state["case"], state["failure"] = case, failure
            raise failure from error

    if profile:
        register_profiles()
    parent = settings.get_profile(profile) if profile else settings.default
    test._hypothesis_internal_add_digest = digest_of(database_key, prop.name)  # type: ignore[attr-defined]
    functions = prop.calls(variant)
    strategy = within_budget(variant.support, functions, transposed=prop.transposed)
    search = given(case=strategy)(test)
    if seed_value is not None:  # before the settings: seed() alone turns the example database off
        search = seed(property_seed(seed_value, prop.name))(search)
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    # A database means a search that varies from run to run: under a derandomized parent (Hypothesis loads its "ci"
    # profile wherever $CI is set) the database would be unused, and HypoFuzz refuses a derandomized test.
    return settings(parent, max_examples=max_examples, database=database, deadline=None, print_blob=False,
                    derandomize=parent.derandomize and database is None, report_multiple_bugs=False, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])(search)


def _search(variant: Variant, prop: Property, reference: Any, max_examples: int, seed_value: int | None,
            profile: str | None, edge_cases: bool, shrink: bool, on_example: Callable[[int], None] | None,
            database: ExampleDatabase | None, database_key: str) -> Outcome:
    state: dict[str, Any] = {}
    start = time.perf_counter()
    if variant.runtime is not None:
        variant.runtime.new_search()
    search = property_test(variant, prop, reference, max_examples=max_examples, seed_value=seed_value,
                           profile=profile, shrink=shrink, on_example=on_example, database=database,
                           database_key=database_key, state=state)
    test = search.hypothesis.inner_test  # type: ignore[attr-defined]
    try:
        with own_constants(), interruptible():
            search()
    except KeyboardInterrupt:
        raise Interrupted(prop.name, state["current"]) from None
    except Exception as error:
        failure = state["failure"]
        if failure is None:
            failure = Mismatch(f"{type(error).__name__}: {error}", name=prop.name, stage="raised")
        case, failure = plainest(prop, variant, state["case"], failure, reference)
        outcome = Outcome(prop.name, "failed", state["examples"], state["first"], 0.0, case, failure,
                          first_failure_seconds=state["found"])
        _judge_again(prop, variant, outcome, reference)
        outcome.seconds = time.perf_counter() - start
        return outcome
    if edge_cases:
        named = transposed_edge_case_examples if prop.transposed else edge_case_examples
        for name, case in named(variant.support, prop.calls(variant)):
            state["current"] = case
            try:
                test(case)
            except Mismatch as failure:
                outcome = Outcome(prop.name, "failed", state["examples"], state["first"], 0.0, case, failure,
                                  note=f"named edge case {name}", first_failure_seconds=state["found"])
                _judge_again(prop, variant, outcome, reference)
                outcome.seconds = time.perf_counter() - start
                return outcome
            except KeyboardInterrupt:
                raise Interrupted(prop.name, case) from None
    return Outcome(prop.name, "passed", state["examples"], None, time.perf_counter() - start)


def property_seed(seed_value: int, name: str) -> int:
    """The seed one property draws its cases from: each property its own cases, all of them fixed by one seed."""
    return (seed_value + zlib.crc32(name.encode())) % 2**32


def _plainer(case: ConvCase) -> list[ConvCase]:
    """The case with one image, or with one option in its plainest form (stride 1, dilation 1, padding 0) where the
    kernel still fits; ``dy`` cut or repeated to the new output's shape."""
    found = []
    if case.x.shape[0] > 1:
        found.append(case.replace(x=case.x[:1].copy(), dy=case.dy[:1].copy(),
                                  nan_at=(0, *case.nan_at[1:])))
    for option, plain in (("stride", 1), ("dilation", 1), ("padding", 0)):
        if getattr(case, option) == plain:
            continue
        candidate = case.replace(**{option: plain})
        out = candidate.geometry.out
        if min(out) < 1 or (case.padding == "same" and option == "padding" and case.same == "input"):
            continue
        found.append(candidate.replace(dy=np.resize(case.dy, (case.dy.shape[0], *out, case.dy.shape[3]))))
    return found


def _same_kind(failure: Mismatch, again: Mismatch) -> bool:
    """Whether a plainer case fails as the original did: any failure of the values for a value failure; the same
    way of raising or dying for a call that raised or died (a crash made plainer must still crash)."""
    if again.line.startswith("ORACLE"):
        return False
    if failure.stage in ("died", "raised"):
        return again.stage == failure.stage
    return True


def plainest(prop: Property, variant: Variant, case: ConvCase | None, failure: Mismatch, reference: Any
             ) -> tuple[ConvCase | None, Mismatch]:
    """After Hypothesis's shrinking: one image, and each option that plays no part in the failure in its plainest
    form, as long as the property still fails the same way (and the case stays inside the variant's
    declaration)."""
    improved = isinstance(case, ConvCase) and not failure.line.startswith("ORACLE")
    while improved:
        improved = False
        for candidate in _plainer(case):
            fitted = fit(candidate, variant.support, prop.calls(variant))
            if fitted is None or fitted.options != candidate.options:
                continue
            try:
                prop.check(variant, fitted, reference)
            except Mismatch as again:
                if _same_kind(failure, again):
                    case, failure, improved = fitted, again, True
                    break
            except Exception:  # the oracle's own trouble on a candidate: keep what Hypothesis found
                continue
    return case, failure


def _hint(variant: Variant, outcome: Outcome, reference: Any) -> None:
    """A hint, where the failure is one declaration away (`oracle.check.hints`)."""
    from oracle.check.hints import precision_hint, raise_hint

    failure = outcome.failure
    case = failure.case if failure.case is not None else outcome.case
    try:
        said = precision_hint(variant.support, case, failure, reference) or raise_hint(
            variant.support, case, failure, failure.name)
    except Exception:  # a hint is a courtesy: never the check's failure
        said = None
    if said:
        outcome.extra["hint"] = said


def _judge_again(prop: Property, variant: Variant, outcome: Outcome, reference: Any) -> None:
    """Run the failing case once more, alone, in a fresh call (a fresh worker where the variant is isolated): if it
    holds, the failure came from what ran before it (`DEPENDS_ON_HISTORY`); a call that died is then replayed with
    the calls before it (`death_history`). Where the failure is one declaration away, a hint says which."""
    case, failure = outcome.case, outcome.failure
    if case is None or failure is None:
        return
    if not failure.line.startswith("ORACLE"):
        _hint(variant, outcome, reference)
    if variant.runtime is not None:
        variant.runtime.new_search()
    try:
        prop.check(variant, case, reference)
    except Mismatch as again:
        if failure.died is not None and again.died is not None:
            outcome.failure = again  # as found with the full time limit, in a fresh worker
        return
    except Exception:
        return
    outcome.history = DEPENDS_ON_HISTORY
    if failure.died is not None and variant.runtime is not None:
        outcome.calls, said = death_history(variant.runtime, failure.died.calls)
        outcome.history = said


REPEATS = 100
"""How many times a dying call is made again in one fresh worker, where the calls before it do not make it die: a
heap corruption often kills the process only some calls later."""


def death_history(runtime: Any, calls: Sequence[Any], budget: int = 48) -> tuple[list[Any] | None, str]:
    """The fewest of ``calls`` (the dying call last) that still end a fresh worker, by delta debugging over the calls
    before the last one; or, where they do not, the dying call made again and again in one worker until it dies;
    with what a report says of them. None where nothing ends a fresh worker again (a crash that depends on more
    than these calls, or on chance)."""
    calls = list(calls)
    if not calls:
        return None, "it did not die again when run alone in a fresh worker"
    last, before = calls[-1], calls[:-1]
    if runtime.replay([*before, last]) is None:
        for count in (REPEATS,):
            died = runtime.replay([last] * count)
            if died is not None:
                made = len(died.calls)
                return [last] * made, (f"it did not die alone in a fresh worker, but does when made again and again "
                                       f"in one (call {made}): what an earlier call corrupts shows later")
        return None, (f"it did not die again in a fresh worker, alone, after the {len(before)} calls that ran "
                      f"before it there, or made {REPEATS} times: it depends on more than these calls, or on chance")
    parts = 2
    while len(before) >= 1 and budget > 0:
        size = math.ceil(len(before) / parts)
        for start in range(0, len(before), size):
            candidate = before[:start] + before[start + size:]
            budget -= 1
            if runtime.replay([*candidate, last]) is not None:
                before, parts = candidate, max(parts - 1, 2)
                break
            if budget <= 0:
                break
        else:
            if size == 1:
                break
            parts = min(parts * 2, len(before))
    kept = [*before, last]
    return kept, (f"it did not die alone in a fresh worker, but does after {len(before)} earlier "
                  f"call{'s' if len(before) != 1 else ''}: {', '.join(c.function for c in before)}"
                  if before else "it died again in a fresh worker")


def check_values(variant: Variant, case: Any, reference: Any) -> None:
    """``y``, and with a backward pass ``dx``, ``dw``, ``db``, against the reference (one truth for all four): of
    ``conv2d``, or of ``conv_transpose2d`` for a transposed case."""
    transposed = isinstance(case, TransposedCase)
    forward = "conv_transpose2d" if transposed else "conv2d"
    backward = variant.offers(f"{forward}_backward")
    expected = (truth_transposed if transposed else truth)(reference, case, backward=backward)
    y = run(variant, case, forward, case.x, case.w, case.b)
    assert_close("y", y, expected.y, call=call_text(case, forward))
    if backward:
        for name, value in zip(("dx", "dw", "db"), grads(variant, case)):
            assert_close(name, value, expected[name], call=call_text(case, f"{forward}_backward"))


def run_sweep(variant: Variant, reference: Any, on_example: Callable[[int], None] | None = None, *,
              transposed: bool = False) -> Outcome:
    """The block sweep (`oracle.cases.sweep`), forward and backward, of ``conv2d`` (of ``conv_transpose2d`` with
    ``transposed``); a failure is the first failing point (the smallest size of its dimension), with every failing
    point listed."""
    name = "transposed block sweep" if transposed else "block sweep"
    start = time.perf_counter()
    if variant.runtime is not None:
        variant.runtime.new_search()
    forward = "conv_transpose2d" if transposed else "conv2d"
    functions = (forward, f"{forward}_backward") if variant.offers(f"{forward}_backward") else (forward,)
    points = (transposed_sweep_cases if transposed else sweep_cases)(variant.support, functions)
    failed: list[tuple[str, ConvCase, Mismatch]] = []
    with interruptible():
        for count, (label, case) in enumerate(points, 1):
            if on_example is not None:
                on_example(count)
            try:
                if _INTERRUPTED[0]:  # a Ctrl-C that a garbage-collector callback swallowed
                    raise KeyboardInterrupt
                check_values(variant, case, reference)
            except Mismatch as failure:
                failed.append((label, case, failure))
            except KeyboardInterrupt:
                raise Interrupted(name, case) from None
    seconds = time.perf_counter() - start
    if not points:
        return Outcome(name, "skipped", 0, None, seconds, note="not applicable: no sweep point fits the declaration")
    if not failed:
        return Outcome(name, "passed", len(points), None, seconds)
    label, case, failure = failed[0]
    listed = ", ".join(f for f, _, _ in failed[:12]) + (", ..." if len(failed) > 12 else "")
    at = 1 + [p[0] for p in points].index(label)
    outcome = Outcome(name, "failed", len(points), at, seconds, case, failure, note=f"sweep point {label}",
                      extra={"failing points": f"{len(failed)} of {len(points)}: {listed}"})
    sweep = Property(name, check_values, transposed=transposed)
    _judge_again(sweep, variant, outcome, reference)
    return outcome


def all_properties(variant: Variant, *, transposed: bool = False) -> Property:
    """One property that checks every applicable property in turn, for a quick verdict (``selftest``): those of
    ``conv2d``, or with ``transposed`` those of ``conv_transpose2d``."""
    chosen = [p for p in PROPERTIES if applicable(p, variant) and p.transposed == transposed]

    def check(v: Variant, case: ConvCase, reference: Any) -> None:
        for prop in chosen:
            try:
                prop.check(v, case, reference)
            except Mismatch as failure:
                raise failure.retitle(f"{prop.name}: {failure.line}") from None

    return Property("all transposed properties" if transposed else "all properties", check, transposed=transposed)
