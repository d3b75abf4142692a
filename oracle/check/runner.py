"""Running the properties against a variant with Hypothesis, and keeping what a report needs.

`run_property` searches for a counterexample to one property: first the minimal cases that earlier properties
failed on (so that one root cause is reported once, with every property it breaks), then cases Hypothesis kept in
its example database from earlier runs, then generated cases inside the variant's declared support, then the
named edge cases of `oracle.cases.edge_cases`. When a generated case fails, Hypothesis shrinks it; the last
failing case it replays is the minimal one, kept with its failure, and run once more: a case that holds when run
again failed because of what ran before it, and the outcome says so.

`run_sweep` walks the block sweep of `oracle.cases.sweep`, forward and backward.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis.database import ExampleDatabase

from oracle.cases.edge_cases import edge_case_examples
from oracle.cases.strategies import ConvCase, conv_cases
from oracle.cases.sweep import sweep_cases
from oracle.cases.transposed import TransposedCase, transposed_cases, transposed_edge_case_examples
from oracle.check.settings import register_profiles
from oracle.properties import PROPERTIES, Property, applicable
from oracle.properties.calling import call_text, grads, run
from oracle.properties.compare import Mismatch, assert_close
from oracle.reference.truth import truth
from oracle.targets.variant import Variant

DEPENDS_ON_HISTORY = ("it held when the same case ran again: the result depends on what ran before it (see the "
                      "call history property)")


@dataclass
class Outcome:
    """What one property's search found: ``verdict`` is ``"passed"``, ``"failed"`` or ``"skipped"``."""

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
    known: Sequence[ConvCase] = (),
) -> Outcome:
    """Search for a counterexample to ``prop`` on ``variant``; return the `Outcome` (minimal case if failed).

    ``known``: cases other properties failed on, tried first. ``database``: a Hypothesis example database that
    keeps failing cases between runs, under ``database_key`` (e.g. the target's name) and the property's name.
    """
    state: dict[str, Any] = {"examples": 0, "first": None, "found": None, "case": None, "failure": None}
    start = time.perf_counter()

    def first_failure() -> None:
        if state["first"] is None:
            state["first"], state["found"] = state["examples"], time.perf_counter() - start

    def test(case: ConvCase) -> None:
        state["examples"] += 1
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
    test._hypothesis_internal_add_digest = f"{database_key}\0{prop.name}".encode()  # type: ignore[attr-defined]
    strategy = transposed_cases(support=variant.support) if prop.transposed else conv_cases(support=variant.support)
    run = given(case=strategy)(test)
    for case in known:
        if isinstance(case, TransposedCase) == prop.transposed:
            run = example(case=case)(run)
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    run = settings(parent, max_examples=max_examples, database=database, deadline=None, print_blob=False,
                   report_multiple_bugs=False, phases=phases,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])(run)
    if seed_value is not None:
        run = seed(property_seed(seed_value, prop.name))(run)
    try:
        run()
    except Exception as error:
        failure = state["failure"]
        if failure is None:
            failure = Mismatch(f"{type(error).__name__}: {error}", name=prop.name, stage="raised")
        case, failure = plainest(prop, variant, state["case"], failure, reference)
        outcome = Outcome(prop.name, "failed", state["examples"], state["first"], 0.0, case, failure,
                          first_failure_seconds=state["found"])
        outcome.history = _replayed(prop, variant, case, reference)
        outcome.seconds = time.perf_counter() - start
        return outcome
    if edge_cases:
        named = transposed_edge_case_examples if prop.transposed else edge_case_examples
        for name, case in named(variant.support):
            try:
                test(case)
            except Mismatch as failure:
                return Outcome(prop.name, "failed", state["examples"], state["first"], time.perf_counter() - start,
                               case, failure, note=f"named edge case {name}", first_failure_seconds=state["found"],
                               history=_replayed(prop, variant, case, reference))
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


def plainest(prop: Property, variant: Variant, case: ConvCase | None, failure: Mismatch, reference: Any
             ) -> tuple[ConvCase | None, Mismatch]:
    """After Hypothesis's shrinking: one image, and each option that plays no part in the failure in its plainest
    form, as long as the property still fails (and the case stays inside the variant's declaration)."""
    from oracle.cases.strategies import fit

    improved = isinstance(case, ConvCase) and not failure.line.startswith("ORACLE")
    while improved:
        improved = False
        for candidate in _plainer(case):
            fitted = fit(candidate, variant.support)
            if fitted is None or fitted.options != candidate.options:
                continue
            try:
                prop.check(variant, fitted, reference)
            except Mismatch as again:
                if not again.line.startswith("ORACLE"):
                    case, failure, improved = fitted, again, True
                    break
            except Exception:  # the oracle's own trouble on a candidate: keep what Hypothesis found
                continue
    return case, failure


def _replayed(prop: Property, variant: Variant, case: ConvCase | None, reference: Any) -> str:
    """`DEPENDS_ON_HISTORY` when the failing case holds when run once more, else ''."""
    if case is None:
        return ""
    try:
        prop.check(variant, case, reference)
    except Exception:
        return ""
    return DEPENDS_ON_HISTORY


def check_values(variant: Variant, case: ConvCase, reference: Any) -> None:
    """``y``, and with a backward pass ``dx``, ``dw``, ``db``, against the reference (one truth for all four)."""
    backward = variant.offers("conv2d_backward")
    expected = truth(reference, case, backward=backward)
    y = run(variant, case, "conv2d", case.x, case.w, case.b)
    assert_close("y", y, expected.y, call=call_text(case, "conv2d"))
    if backward:
        for name, value in zip(("dx", "dw", "db"), grads(variant, case)):
            assert_close(name, value, expected[name], call=call_text(case, "conv2d_backward"))


def run_sweep(variant: Variant, reference: Any, on_example: Callable[[int], None] | None = None) -> Outcome:
    """The block sweep (`oracle.cases.sweep`), forward and backward; a failure is the first failing point (the
    smallest size of its dimension), with every failing point listed."""
    start = time.perf_counter()
    points = sweep_cases(variant.support)
    failed: list[tuple[str, ConvCase, Mismatch]] = []
    for count, (label, case) in enumerate(points, 1):
        if on_example is not None:
            on_example(count)
        try:
            check_values(variant, case, reference)
        except Mismatch as failure:
            failed.append((label, case, failure))
    seconds = time.perf_counter() - start
    if not failed:
        return Outcome("block sweep", "passed", len(points), None, seconds)
    label, case, failure = failed[0]
    listed = ", ".join(f for f, _, _ in failed[:12]) + (", ..." if len(failed) > 12 else "")
    return Outcome("block sweep", "failed", len(points), 1 + [p[0] for p in points].index(label), seconds, case,
                   failure, note=f"sweep point {label}",
                   extra={"failing points": f"{len(failed)} of {len(points)}: {listed}"})


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
