"""The properties a convolution must have, each a function ``check(variant, case, reference)`` that returns
quietly or raises `oracle.properties.compare.Mismatch` with one line saying what differed.

They are the same whether run by the test suite (``tests/test_properties.py``) or by ``conv-oracle check``:
`values` (the results against the reference, and the adjoint identities), `contract` (shapes, dtypes, inputs
unmodified, fresh results), `memory` (memory layouts, call history), `ieee` (NaN and inf propagation), and
`bad_inputs` (the table of bad arguments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oracle.properties.bad_inputs import bad_input
from oracle.properties.contract import fresh_results, inputs_unmodified, shapes_and_dtypes
from oracle.properties.ieee import inf_propagation, nan_propagation
from oracle.properties.memory import call_history, memory_layouts
from oracle.properties.transposed import (
    transposed_adjoint,
    transposed_backward,
    transposed_contract,
    transposed_forward,
)
from oracle.properties.values import adjoint, forward, gradient, references_agree
from oracle.targets.variant import Variant


@dataclass(frozen=True)
class Property:
    """A named property: ``check(variant, case, reference)``; ``backward`` when it needs the backward pass,
    ``nan`` when it needs exact NaN and inf propagation, ``transposed`` when it judges ``conv_transpose2d`` (on
    `oracle.cases.transposed.TransposedCase` values) rather than ``conv2d``."""

    name: str
    check: Callable[[Variant, Any, Any], None]
    backward: bool = False
    nan: bool = False
    transposed: bool = False
    uses_backward: bool = False

    @property
    def functions(self) -> tuple[str, ...]:
        """The variant's functions the property needs."""
        base = "conv_transpose2d" if self.transposed else "conv2d"
        return (base, f"{base}_backward") if self.backward else (base,)

    def calls(self, variant: Variant) -> tuple[str, ...]:
        """The variant's functions the property calls on it: those it needs, and the backward pass where it uses
        one the variant offers (the contract properties check every result there is)."""
        base = "conv_transpose2d" if self.transposed else "conv2d"
        if self.uses_backward and variant.offers(f"{base}_backward"):
            return (base, f"{base}_backward")
        return self.functions

    @property
    def doc(self) -> str:
        return " ".join((self.check.__doc__ or "").split())


PROPERTIES: tuple[Property, ...] = (
    Property("forward", forward),
    Property("dx", gradient(0), backward=True),
    Property("dw", gradient(1), backward=True),
    Property("db", gradient(2), backward=True),
    Property("adjoint", adjoint, backward=True),
    Property("shapes and dtypes", shapes_and_dtypes, uses_backward=True),
    Property("inputs unmodified", inputs_unmodified, uses_backward=True),
    Property("fresh results", fresh_results, uses_backward=True),
    Property("memory layouts", memory_layouts, uses_backward=True),
    Property("call history", call_history, uses_backward=True),
    Property("NaN propagation", nan_propagation, nan=True),
    Property("inf propagation", inf_propagation, nan=True),
    Property("transposed forward", transposed_forward, transposed=True),
    Property("transposed backward", transposed_backward, backward=True, transposed=True),
    Property("transposed adjoint", transposed_adjoint, transposed=True, uses_backward=True),
    Property("transposed contract", transposed_contract, transposed=True, uses_backward=True),
    Property("transposed memory layouts", memory_layouts, transposed=True, uses_backward=True),
    Property("transposed call history", call_history, transposed=True, uses_backward=True),
    Property("transposed NaN propagation", nan_propagation, nan=True, transposed=True),
    Property("transposed inf propagation", inf_propagation, nan=True, transposed=True),
)
"""The case-driven properties, in report order. The block sweep, `bad_input` and `references_agree` run beside
them. The transposed ones apply where the variant offers ``conv_transpose2d``."""


def applicable(prop: Property, variant: Variant) -> bool:
    """Whether ``variant`` offers every function ``prop`` calls (and, for the NaN and inf properties, declares exact
    propagation in them)."""
    if not all(variant.offers(f) for f in prop.functions):
        return False
    return not (prop.nan and not variant.support.resolved(prop.calls(variant)).nan)


__all__ = ["PROPERTIES", "Property", "adjoint", "applicable", "bad_input", "call_history", "forward",
           "fresh_results", "gradient", "inf_propagation", "inputs_unmodified", "memory_layouts", "nan_propagation",
           "references_agree", "shapes_and_dtypes", "transposed_adjoint", "transposed_backward", "transposed_contract",
           "transposed_forward"]
