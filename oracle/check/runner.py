"""Running the properties against a variant with Hypothesis, and keeping what a report needs.

`run_property` searches for a counterexample to one property: first generated cases inside the variant's
declared support, then the named edge cases of `oracle.cases.edge_cases`. When a generated case fails, Hypothesis
shrinks it; the last failing case it replays is the minimal one, kept with its failure. A failing edge case
is reported as it is, under its name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings

from oracle.cases.edge_cases import EDGE_CASES, EdgeCase
from oracle.cases.strategies import ConvCase, conv_cases
from oracle.check.settings import register_profiles
from oracle.properties import Property
from oracle.properties.compare import Mismatch
from oracle.targets.variant import Support, Variant, padding_form


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
    extra: dict[str, Any] = field(default_factory=dict)


def edge_case_examples(support: Support) -> list[tuple[str, ConvCase]]:
    """The named edge cases that lie inside ``support``, in every supported dtype, as `ConvCase` values."""
    cases = []
    for edge in EDGE_CASES:
        if not _inside(edge, support):
            continue
        for dtype in support.dtypes:
            x, w, b, dy = edge.arrays(np.dtype(dtype))
            options = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, **edge.options}
            case = ConvCase(x, w, b if support.bias else None, dy, **options, exact=False,
                            nan_at=tuple(max(m // 2, 0) for m in x.shape))
            cases.append((f"{edge.name} ({dtype})", case))
    return cases


def _inside(edge: EdgeCase, support: Support) -> bool:
    o = edge.options
    if not support.stride and o.get("stride", 1) != 1:
        return False
    if not support.dilation and o.get("dilation", 1) != 1:
        return False
    if not support.groups and o.get("groups", 1) != 1:
        return False
    if edge.x_shape[0] > support.max_batch:
        return False
    return padding_form(o.get("padding", 0)) in support.padding


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
) -> Outcome:
    """Search for a counterexample to ``prop`` on ``variant``; return the `Outcome` (minimal case if failed)."""
    state: dict[str, Any] = {"examples": 0, "first": None, "case": None, "failure": None}

    def test(case: ConvCase) -> None:
        state["examples"] += 1
        if on_example is not None:
            on_example(state["examples"])
        try:
            prop.check(variant, case, reference)
        except Mismatch as failure:
            state["first"] = state["first"] or state["examples"]
            state["case"], state["failure"] = case, failure
            raise
        except Exception as error:  # the variant's own exceptions arrive as Mismatch: this is the oracle's
            failure = Mismatch(f"ORACLE FAILURE: the oracle itself raised {type(error).__name__}: {error} "
                               f"[{case!r}]", name=prop.name, stage="oracle")
            state["first"] = state["first"] or state["examples"]
            state["case"], state["failure"] = case, failure
            raise failure from error

    if profile:
        register_profiles()
    parent = settings.get_profile(profile) if profile else settings.default
    run = given(case=conv_cases(support=variant.support))(test)
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    run = settings(parent, max_examples=max_examples, database=None, deadline=None, print_blob=False,
                   report_multiple_bugs=False, phases=phases,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])(run)
    if seed_value is not None:
        run = seed(seed_value)(run)
    start = time.perf_counter()
    try:
        run()
    except Exception as error:
        failure = state["failure"]
        if failure is None:
            failure = Mismatch(f"{type(error).__name__}: {error}", name=prop.name, stage="raised")
        return Outcome(prop.name, "failed", state["examples"], state["first"], time.perf_counter() - start,
                       state["case"], failure)
    if edge_cases:
        for name, case in edge_case_examples(variant.support):
            try:
                test(case)
            except Mismatch as failure:
                return Outcome(prop.name, "failed", state["examples"], state["first"], time.perf_counter() - start,
                               case, failure, note=f"named edge case {name}")
    return Outcome(prop.name, "passed", state["examples"], None, time.perf_counter() - start)

def all_properties(variant: Variant) -> Property:
    """One property that checks every applicable property in turn, for a quick verdict (``selftest``)."""
    from oracle.properties import PROPERTIES, applicable

    chosen = [p for p in PROPERTIES if applicable(p, variant)]

    def check(v: Variant, case: ConvCase, reference: Any) -> None:
        for prop in chosen:
            try:
                prop.check(v, case, reference)
            except Mismatch as failure:
                failure.line = f"{prop.name}: {failure.line}"
                failure.args = (failure.line,)
                raise

    return Property("all properties", check)
