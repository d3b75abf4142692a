"""The contract's table of bad input: each entry must raise its exception with a message naming what went wrong.

Every `BadInput` calls ``conv2d``, ``conv2d_backward`` or, where the variant offers it, the transposed operation
with one rule broken and says which exception it expects and which words its message must hold: the argument's
name and the value it got (``{x.shape}`` stands for the shape of ``x`` as the variant receives it, in its own
layout). The words are implementation-neutral, so any variant can be held to them.

The table follows the variant's declaration (`oracle.targets.support.Support`): an entry that uses a feature the
variant declares it lacks (a pair stride where it takes one int, a dtype it does not take, groups where it has
none) asks only for a clear error of some kind (``ValueError``, ``TypeError`` or ``NotImplementedError``), and a
variant that declares no argument checking (``validates: False``) is not asked at all. `bad_input` checks every
entry and reports all that fail, as a table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle.properties.compare import Mismatch
from oracle.reference.precision import storage_dtype
from oracle.targets.support import DTYPES, Support
from oracle.targets.variant import Variant, VariantDied, padding_form

CLEAR_ERRORS = (ValueError, TypeError, NotImplementedError)
"""What an undeclared feature may raise instead of the entry's own exception."""


@dataclass(frozen=True)
class BadInput:
    """One broken rule: ``call(dtype, other_dtype)`` builds ``(args, options)`` for ``function`` in the contract's
    layout (``other_dtype``: a second dtype, for mixing)."""

    name: str
    error: type[Exception]
    words: tuple[str, ...]
    call: Callable[[np.dtype, np.dtype], tuple[tuple[Any, ...], dict[str, Any]]]
    function: str = "conv2d"
    options: dict[str, Any] = field(default_factory=dict)

    def pattern(self, words: tuple[str, ...]) -> str:
        """A regular expression matching a message that holds every word, in any order."""
        return "".join(f"(?=[\\s\\S]*{re.escape(word)})" for word in words)


def _x(shape=(2, 6, 6, 4), dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _w(shape=(3, 3, 4, 2), dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _fwd(**options):
    return lambda d, o: ((_x(dtype=d), _w(dtype=d), None), options)


def _arrays(*shapes_and_dtypes, options=None, bias=None):
    """``(x, w, b)`` from ``(shape, 'this'|'other')`` pairs (or a non-array value as it is)."""
    def build(d, o):
        arrays = [np.ones(spec[0], dtype=d if spec[1] == "this" else o) if isinstance(spec, tuple) else spec
                  for spec in shapes_and_dtypes]
        if bias is not None:
            arrays.append(np.ones(bias[0], dtype=d if bias[1] == "this" else o))
        while len(arrays) < 3:
            arrays.append(None)
        return tuple(arrays), dict(options or {})
    return build


def _bwd(dy_shape=(2, 4, 4, 2), dy_dtype="this", **options):
    def build(d, o):
        return (np.ones(dy_shape, dtype=d if dy_dtype == "this" else o), _x(dtype=d), _w(dtype=d)), options
    return build


def _transposed(w_shape=(3, 3, 2, 4), **options):
    return lambda d, o: ((_x((2, 3, 3, 4), d), _w(w_shape, d), None), options)


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput("stride_zero", ValueError, ("stride", "(0, 1)"), _fwd(stride=(0, 1))),
    BadInput("stride_negative", ValueError, ("stride", "-2"), _fwd(stride=-2)),
    BadInput("stride_float", TypeError, ("stride", "1.5"), _fwd(stride=1.5)),
    BadInput("stride_triple", TypeError, ("stride", "(1, 1, 1)"), _fwd(stride=(1, 1, 1))),
    BadInput("dilation_zero", ValueError, ("dilation", "0"), _fwd(dilation=0)),
    BadInput("padding_negative", ValueError, ("padding", "-1"), _fwd(padding=(-1, 0))),
    BadInput("padding_negative_side", ValueError, ("padding", "-2"), _fwd(padding=((0, 1), (-2, 0)))),
    BadInput("padding_unknown_string", ValueError, ("padding", "full"), _fwd(padding="full")),
    BadInput("padding_float", TypeError, ("padding", "0.5"), _fwd(padding=0.5)),
    BadInput("groups_not_dividing", ValueError, ("groups", "3"), _fwd(groups=3)),
    BadInput("groups_zero", ValueError, ("groups", "0"), _fwd(groups=0)),
    BadInput("kernel_larger_than_padded_input", ValueError, ("kernel", "{x.shape}"),
             _arrays(((1, 7, 7, 4), "this"), ((9, 9, 4, 2), "this"), options={"padding": 0})),
    BadInput("dilated_kernel_larger_than_padded_input", ValueError, ("kernel",), _fwd(dilation=4)),
    BadInput("x_not_4d", ValueError, ("x", "(6, 6, 4)"), _arrays(((6, 6, 4), "this"), ((3, 3, 4, 2), "this"))),
    BadInput("w_not_4d", ValueError, ("w", "(3, 3, 4)"), _arrays(((2, 6, 6, 4), "this"), ((3, 3, 4), "this"))),
    BadInput("w_channels_mismatch", ValueError, ("w.shape", "{w.shape}"),
             _arrays(((2, 6, 6, 4), "this"), ((3, 3, 3, 2), "this"))),
    BadInput("x_integer_dtype", TypeError, ("x", "int64"),
             lambda d, o: ((np.ones((2, 6, 6, 4), dtype=np.int64), _w(dtype=d), None), {})),
    BadInput("mixed_dtypes", TypeError, ("w", "{w.dtype}", "{x.dtype}"),
             _arrays(((2, 6, 6, 4), "this"), ((3, 3, 4, 2), "other"))),
    BadInput("x_not_an_array", TypeError, ("x", "list"),
             lambda d, o: (([[[[1.0]]]], _w((1, 1, 1, 1), dtype=d), None), {})),
    BadInput("bias_wrong_shape", ValueError, ("b", "(3,)"),
             _arrays(((2, 6, 6, 4), "this"), ((3, 3, 4, 2), "this"), bias=((3,), "this"))),
    BadInput("bias_wrong_dtype", TypeError, ("b", "{b.dtype}"),
             _arrays(((2, 6, 6, 4), "this"), ((3, 3, 4, 2), "this"), bias=((2,), "other"))),
    BadInput("empty_kernel", ValueError, ("w", "{w.shape}"), _arrays(((2, 6, 6, 4), "this"), ((0, 3, 4, 2), "this"))),
    BadInput("dy_wrong_shape", ValueError, ("dy", "{dy.shape}"), _bwd(dy_shape=(2, 4, 4, 3)),
             function="conv2d_backward"),
    BadInput("dy_wrong_dtype", TypeError, ("dy", "{dy.dtype}"), _bwd(dy_dtype="other"), function="conv2d_backward"),
    BadInput("backward_stride_zero", ValueError, ("stride", "0"), _bwd(stride=0), function="conv2d_backward"),
    # the transposed operation: x (2, 3, 3, 4), w (3, 3, 2, 4) in its layout (KH, KW, C_out // groups, C_in)
    BadInput("transposed_output_padding_too_large", ValueError, ("output_padding", "2"),
             _transposed(stride=2, output_padding=2), function="conv_transpose2d"),
    BadInput("transposed_output_padding_negative", ValueError, ("output_padding", "-1"),
             _transposed(stride=2, output_padding=-1), function="conv_transpose2d"),
    BadInput("transposed_output_padding_float", TypeError, ("output_padding", "0.5"),
             _transposed(stride=2, output_padding=0.5), function="conv_transpose2d"),
    BadInput("transposed_output_padding_with_same", ValueError, ("output_padding", "same"),
             _transposed(stride=2, padding="same", output_padding=1), function="conv_transpose2d"),
    BadInput("transposed_padding_crops_everything", ValueError, ("padding", "4"),
             _transposed(padding=4), function="conv_transpose2d"),
    BadInput("transposed_w_channels_mismatch", ValueError, ("w.shape", "{w.shape}"),
             _transposed(w_shape=(3, 3, 2, 3)), function="conv_transpose2d"),
    BadInput("transposed_groups_not_dividing", ValueError, ("groups", "3"), _transposed(groups=3),
             function="conv_transpose2d"),
    BadInput("transposed_dy_wrong_shape", ValueError, ("dy", "{dy.shape}"),
             lambda d, o: ((np.ones((2, 5, 5, 3), dtype=d), _x((2, 3, 3, 4), d), _w((3, 3, 2, 4), d)), {}),
             function="conv_transpose2d_backward"),
)


def _first_dtype(support: Support) -> tuple[np.dtype, np.dtype]:
    """The dtype the table is built in (the variant's first of float64, float32, float16, bfloat16) and another one
    for mixing (a second declared dtype if there is one)."""
    ordered = [d for d in ("float64", "float32", "float16", "bfloat16") if d in support.dtypes]
    other = ordered[1] if len(ordered) > 1 else next(d for d in ("float32", "float64") if d != ordered[0])
    return storage_dtype(ordered[0]), storage_dtype(other)


def undeclared(support: Support, args: tuple[Any, ...], options: dict[str, Any], function: str) -> str | None:
    """What a call uses that the variant declares it lacks (None: everything in it is declared)."""
    for name, value in (("stride", options.get("stride", 1)), ("dilation", options.get("dilation", 1))):
        declared = getattr(support, name)
        if declared is False and value != 1:
            return f"{name}={value!r}, and it declares no {name}"
        if declared == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            return f"{name}={value!r} is not an int, and it declares one int {name}"
    if not support.groups and options.get("groups", 1) != 1:
        return f"groups={options['groups']!r}, and it declares no groups"
    padding = options.get("padding", 0)
    form = padding_form(padding) if not isinstance(padding, str) else ("same" if padding == "same" else "valid")
    if isinstance(padding, str) and padding not in ("valid", "same"):
        if not {"valid", "same"} & set(support.padding):
            return f"padding={padding!r} is a string, and it declares no string padding"
    elif form not in support.padding:
        return f"padding={padding!r} is of the form {form!r}, and it declares {support.padding}"
    elif form == "sides" and not support.asymmetric_padding and any(a != b for a, b in padding):
        return f"padding={padding!r} is asymmetric, and it declares symmetric padding only"
    arrays = dict(zip(("dy", "x", "w") if function.endswith("_backward") else ("x", "w", "b"), args))
    if arrays.get("b") is not None and not support.bias:
        return "a bias, and it declares no bias"
    for name, a in arrays.items():
        if isinstance(a, np.ndarray) and a.dtype.name in DTYPES and a.dtype.name not in support.dtypes:
            return f"{name}.dtype={a.dtype.name}, and it declares dtypes {support.dtypes}"
    x, w = arrays.get("x"), arrays.get("w")
    if "input" in support.square and isinstance(x, np.ndarray) and x.ndim == 4 and x.shape[1] != x.shape[2]:
        return f"x.shape={x.shape} is not square, and it declares square inputs"
    if "kernel" in support.square and isinstance(w, np.ndarray) and w.ndim == 4 and w.shape[0] != w.shape[1]:
        return f"w.shape={w.shape} is not square, and it declares square kernels"
    return None


def _words(bad: BadInput, variant: Variant, passed: list[Any]) -> tuple[str, ...]:
    names = ("dy", "x", "w") if bad.function.endswith("_backward") else ("x", "w", "b")
    values = {}
    for name, a in zip(names, passed):
        if isinstance(a, np.ndarray):
            values[f"{name}.shape"], values[f"{name}.dtype"] = str(a.shape), str(a.dtype)
    return tuple(re.sub(r"\{(\w+\.\w+)\}", lambda m: values.get(m.group(1), m.group(0)), w) for w in bad.words)


@dataclass(frozen=True)
class Row:
    """One entry of the table as checked: what it expects, what it got, whether that is right."""

    entry: str
    expected: str
    got: str
    ok: bool


def check_table(variant: Variant) -> list[Row]:
    """Every entry that applies to ``variant``, checked (a variant whose checking is declared ``"any error"`` only
    for raising some exception: never returning, never dying)."""
    dtype, other = _first_dtype(variant.support)
    rows = []
    for bad in BAD_INPUTS:
        if not variant.offers(bad.function):
            continue
        support = variant.support.resolved((bad.function,), dtype.name)
        if support.validates is False:
            continue
        args, options = bad.call(dtype, other)
        passed = variant.arguments(bad.function, args)
        words = _words(bad, variant, passed)
        lacking = undeclared(support, args, options, bad.function)
        loose = support.validates == "any error"
        if loose:
            expected = "an error of its own (validates: 'any error')"
        elif lacking:
            expected = f"a clear error (it uses {lacking})"
        else:
            expected = f"{bad.error.__name__} naming {' and '.join(map(repr, words))}"
        try:
            variant.functions[bad.function](*passed, **options)
        except VariantDied as died:
            got, ok = f"the call {died.how}", False
        except (Exception, SystemExit) as error:
            got = f"{type(error).__name__}: {error}"
            if loose:
                ok = True
            elif lacking:
                ok = isinstance(error, CLEAR_ERRORS)
            else:
                ok = isinstance(error, bad.error) and re.search(bad.pattern(words), str(error)) is not None
                if isinstance(error, bad.error) and not ok:
                    missing = [w for w in words if w not in str(error)]
                    got += f" (does not name {' and '.join(map(repr, missing))})"
        else:
            got, ok = "returned", False
        rows.append(Row(bad.name, expected, got, ok))
    return rows


def bad_input(variant: Variant) -> None:
    """Every entry of the contract's bad-input table that applies raises its exception, with a message naming the
    argument and the value; all failing entries are reported together, as a table."""
    rows = check_table(variant)
    failing = [r for r in rows if not r.ok]
    if failing:
        names = ", ".join(r.entry for r in failing)
        error = Mismatch(f"{len(failing)} of {len(rows)} entries fail: {names}", name="bad input", stage="table")
        error.table = failing
        raise error


def table_lines(rows: list[Row], width: int = 118) -> list[str]:
    """The failing entries as an aligned table: entry, expected, got (long texts wrapped, never cut)."""
    import textwrap

    first = max(len("entry"), *(len(r.entry) for r in rows))
    second = 44
    third = max(20, width - first - second - 4)
    lines = [f"{'entry':{first}}  {'expected':{second}}  got"]
    for r in rows:
        left, middle = textwrap.wrap(r.expected, second) or [""], textwrap.wrap(r.got, third) or [""]
        for i in range(max(len(left), len(middle))):
            lines.append(f"{r.entry if i == 0 else '':{first}}  {left[i] if i < len(left) else '':{second}}  "
                         f"{middle[i] if i < len(middle) else ''}".rstrip())
    return lines
