"""Hints where a failure is one declaration away: the error fits a precision the variant did not declare, or the
variant refused a dtype or an option it may not support.

A kernel on tensor cores that did not declare TF32, a half kernel that sums in its own format, a float64 call
computed in float32: each fails with an error far above its bound, and the fix may be a line of
``conv_oracle_support`` rather than a bug hunt. `precision_hint` judges the failing result again under each
declaration of precision that could explain it and names the first under which every element holds; `raise_hint`
names the key that would say the variant does not take what it raised on. A hint says what would explain the
failure; only the variant's author knows whether the variant does compute so, and the report says that too.
"""

from __future__ import annotations

from typing import Any

from oracle.cases.strategies import precision_of
from oracle.properties.compare import Mismatch, within
from oracle.reference.truth import truth_of
from oracle.targets.support import Support

CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "float64": [{"input_rounding": "float32", "accumulation": "float32"}],
    "float32": [{"input_rounding": "tf32"}, {"input_rounding": "bfloat16"}, {"input_rounding": "float16"}],
    "float16": [{"rounds_partials": ("y", "dx", "dw", "db")}, {"accumulation": "float16"},
                {"output_rounding": False}],
    "bfloat16": [{"rounds_partials": ("y", "dx", "dw", "db")}, {"accumulation": "bfloat16"},
                 {"output_rounding": False}],
}
"""Per storage dtype, declarations of precision that explain common kernels, most likely first."""


def _declared(change: dict[str, Any], dtype: str) -> str:
    """``'input_rounding': {'float32': 'tf32'}``: the change, scoped to the dtype it was found in."""
    return ", ".join(f"{key!r}: {{{dtype!r}: {value!r}}}" for key, value in change.items())


def precision_hint(support: Support, case: Any, failure: Mismatch, reference: Any) -> str | None:
    """The first declaration of precision under which every element of the failing result holds, as a hint."""
    if failure.stage != "values" or failure.values is None or failure.name not in ("y", "dx", "dw", "db"):
        return None
    actual = failure.values[0]
    dtype = case.dtype.name
    operation = "conv_transpose2d" if hasattr(case, "output_padding") else "conv2d"
    for change in CANDIDATES.get(dtype, []):
        scoped = {key: {dtype: value} for key, value in change.items()}
        try:
            declared = support.replace(**{**{k: v for k, v in scoped.items()}})
            precision = precision_of(declared, dtype, operation)
            expected = truth_of(reference, case.replace(precision=None), backward=failure.name != "y",
                                precision=precision)[failure.name]
        except Exception:  # a candidate the case cannot be judged under: try the next
            continue
        if expected.value.shape == actual.shape and within(actual, expected.value, expected.bound).all():
            return (f"every difference of {failure.name} fits a variant that declares {_declared(change, dtype)}: "
                    "if it computes so, say so in conv_oracle_support (CONTRACT.md, Dtypes and precision); if not, "
                    "this is the bug")
    return None


WORDS = {
    "dtype": ("dtype", "float16", "half", "bfloat16", "not implemented for", "notimplemented", "unsupported type",
              "data type", "no kernel", "could not find an implementation"),
    "dilation": ("dilation", "dilated", "rhs_dilation"),
    "groups": ("group",),
    "stride": ("stride",),
    "padding": ("padding", "pad"),
    "batch": ("batch", "empty", "zero-size", "size 0", "numel"),
}


def raise_hint(support: Support, case: Any, failure: Mismatch, function: str) -> str | None:
    """The key that would say the variant does not take what it raised on (where its message and the case both
    point at one)."""
    if failure.stage != "raised":
        return None
    message = failure.line.lower()
    g = case.geometry
    dtype = case.dtype.name
    uses = {
        "dtype": dtype in ("float16", "bfloat16"),
        "dilation": g.dilation != (1, 1),
        "groups": case.groups > 1,
        "stride": g.stride != (1, 1),
        "padding": any(p for side in g.pads for p in side),
        "batch": case.x.shape[0] == 0,
    }
    keys = {
        "dtype": f"'dtypes': {tuple(d for d in support.dtypes if d != dtype)!r}",
        "dilation": f"'dilation': {{{function!r}: False}}",
        "groups": f"'groups': {{{function!r}: False}}",
        "stride": f"'stride': {{{function!r}: False}}",
        "padding": f"'padding': {tuple(f for f in support.value('padding', function=function) if f != 'sides')!r} "
                   "or 'asymmetric_padding': False",
        "batch": "'min_batch': 1",
    }
    for name, words in WORDS.items():
        if uses[name] and any(word in message for word in words):
            return (f"{function} raised on a case with {name if name != 'dtype' else dtype}: if the variant does not "
                    f"take it, declare {keys[name]} (CONTRACT.md, Variants); if it should, this is the bug")
    return None
