"""What a variant declares about itself: the operations, layout, dtypes, precision and limits it has.

A variant carries ``conv_oracle_support``, a dict of the fields of `Support` (or a `Support`); every field it
leaves out defaults to what the contract (CONTRACT.md) asks of every implementation, so a variant declares only
how it differs. The oracle then draws only cases inside the declaration, judges each result by the precision
it declares, and lists the declaration in its report::

    conv_oracle_support = {
        "layout": "NCHW",                  # x, y, dy, dx as (N, C, H, W); w, dw as (C_out, C_in // groups, KH, KW)
        "dtypes": ("float16", "float32"),  # the storage dtypes it takes
        "input_rounding": {"float32": "tf32"},
        "stride": "int",                   # one stride for both axes, passed as an int
        "same": "lower",                   # its 'same' puts the odd pixel of padding first
        "validates": False,                # no argument checking: the bad-input table is not asked of it
    }

Every rule is checked by `Support.__post_init__`; a broken one raises `DeclarationError` naming the key, the
rule and what it got.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

PADDING_FORMS = ("int", "pair", "sides", "valid", "same")
"""``int``: ``p``; ``pair``: ``(ph, pw)``; ``sides``: ``((pt, pb), (pl, pr))``; ``'valid'``; ``'same'``."""

DTYPES = ("float16", "bfloat16", "float32", "float64")
"""The storage dtypes of the contract (bfloat16 is `ml_dtypes.bfloat16`)."""

SAME_CONVENTIONS = ("upper", "lower", "input", "torch")
"""What ``padding='same'`` means: ``upper`` SAME_UPPER (the contract: ``H_out = ceil(H / s)``, the odd pixel of
padding after), ``lower`` SAME_LOWER (the odd pixel before), ``input`` ``H_out = H`` at every stride (the odd pixel
after), ``torch`` SAME_UPPER at stride 1 only (PyTorch refuses 'same' above stride 1)."""

INPUT_ROUNDINGS = ("none", "tf32", "bfloat16", "float16")
"""Formats a variant may round its inputs to before multiplying (``none``: the inputs as stored)."""

ACCUMULATIONS = ("float16", "bfloat16", "float32", "float64")
"""Formats a variant may sum its products in."""

DEFAULT_ACCUMULATION = {"float16": "float32", "bfloat16": "float32", "float32": "float32", "float64": "float64"}
"""What a plain dtype implies: half formats are summed in float32 (as every half kernel does), the others in
their own format."""

SQUARE = ("input", "kernel")
RESULTS = ("y", "dx", "dw", "db")
LAYOUTS = {"NHWC": "NHWC/HWIO", "NCHW": "NCHW/OIHW"}
"""Short names of layouts; a layout is ``ACTIVATIONS/WEIGHTS``: any order of ``NHWC`` for ``x, y, dy, dx`` and of
``HWIO`` for ``w, dw`` (``I`` is the channels per group)."""


class VariantError(ValueError):
    """A TARGET that cannot be checked: not importable, no ``conv2d``, or a malformed declaration."""


class DeclarationError(VariantError):
    """A ``conv_oracle_support`` that breaks a rule: an unknown key, or a value of the wrong type or range."""


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Support:
    """What a variant supports; every field narrows what the oracle draws or how it judges.

    Operations:
        backward: has ``conv2d_backward`` (found by the oracle when not declared); ``conv_transpose2d_backward``
            too, where it has the transposed operation.
        transposed: offers ``conv_transpose2d`` (found by the oracle when not declared; False: not judged even
            where the variant has one).
    Layout:
        layout: ``"NHWC"`` (the contract: ``x (N, H, W, C_in)``, ``w (KH, KW, C_in // groups, C_out)``), ``"NCHW"``
            (PyTorch's ``(N, C, H, W)`` and ``(C_out, C_in // groups, KH, KW)``), or ``"ACTIVATIONS/WEIGHTS"``
            with any order of the letters, e.g. ``"NCHW/HWIO"``. The oracle transposes at the boundary.
    Dtypes and precision (each precision key is one value for every dtype, or a dict ``{dtype: value}``):
        dtypes: the storage dtypes it takes, a subset of `DTYPES`.
        input_rounding: the format inputs are rounded to before multiplying (`INPUT_ROUNDINGS`; ``"tf32"`` for a
            float32 kernel on tensor cores).
        accumulation: the format products are summed in (`ACCUMULATIONS`; default `DEFAULT_ACCUMULATION`).
        output_rounding: the result is rounded to the storage dtype (False: returned in the accumulation format).
        rounds_partials: the results (of ``"y", "dx", "dw", "db"``) summed block by block into a result held in the
            storage dtype, each block's sum rounded and added there: per kernel tap for ``y`` and ``dx``, per image
            for ``dw`` and ``db`` (PyTorch's CPU half backward does this for ``dx``, ``dw`` and ``db``).
        error: ``"elementwise"`` (a direct method: every element within its own bound) or ``"normwise"`` (FFT,
            Winograd: elements within a bound scaled by the whole output; see `oracle.reference.tolerance`).
        nan: NaN and inf propagate exactly as plain arithmetic does (an FFT spreads them everywhere).
    Options:
        stride, dilation: True (any, as an int or a pair), False (1 only, passed as the int 1), or ``"int"``
            (one value for both axes, passed as an int).
        groups, bias: supports groups above 1, a bias.
        padding: the padding forms it accepts, a subset of `PADDING_FORMS`.
        same: what its ``'same'`` means, one of `SAME_CONVENTIONS`.
        asymmetric_padding: accepts different padding before and after (False: ``pt == pb`` and ``pl == pr``;
            ``'same'`` is then drawn only where its total padding is even).
        leftover_rows: accepts a stride that leaves input rows or columns no window reads (False: the stride
            tiles the padded input exactly, ``(H + pt + pb - dh*(KH - 1) - 1) % sh == 0``).
    Shapes:
        square: ``("input",)`` for ``H == W`` only, ``("kernel",)`` for ``KH == KW`` only, or both.
        min_batch, max_batch: the smallest and largest N to draw (max_batch None: no limit of its own).
    Errors:
        validates: checks its arguments (False: the bad-input table is not asked of it, and says so).
    """

    backward: bool = True
    transposed: bool = True
    layout: str = "NHWC"
    dtypes: tuple[str, ...] = DTYPES
    input_rounding: str | Mapping[str, str] = "none"
    accumulation: str | Mapping[str, str] | None = None
    output_rounding: bool | Mapping[str, bool] = True
    rounds_partials: tuple[str, ...] = ()
    error: str = "elementwise"
    nan: bool = True
    stride: bool | str = True
    dilation: bool | str = True
    groups: bool = True
    bias: bool = True
    padding: tuple[str, ...] = PADDING_FORMS
    same: str = "upper"
    asymmetric_padding: bool = True
    leftover_rows: bool = True
    square: tuple[str, ...] = ()
    min_batch: int = 0
    max_batch: int | None = None
    validates: bool = True

    def __post_init__(self) -> None:
        for key in ("backward", "transposed", "nan", "groups", "bias", "asymmetric_padding", "leftover_rows",
                    "validates"):
            _rule(key, getattr(self, key), _is_bool, "True or False")
        _rule("layout", self.layout, lambda v: isinstance(v, str) and _parse_layout(v) is not None,
              "'NHWC', 'NCHW', or 'ACTIVATIONS/WEIGHTS' with the letters of NHWC and of HWIO in any order")
        object.__setattr__(self, "dtypes", _subset("dtypes", self.dtypes, DTYPES))
        object.__setattr__(self, "padding", _subset("padding", self.padding, PADDING_FORMS))
        object.__setattr__(self, "square", _subset("square", self.square, SQUARE, empty=True))
        object.__setattr__(self, "rounds_partials", _subset("rounds_partials", self.rounds_partials, RESULTS,
                                                            empty=True))
        for key in ("stride", "dilation"):
            _rule(key, getattr(self, key), lambda v: _is_bool(v) or v == "int", "True, False or 'int'")
        _rule("same", self.same, lambda v: v in SAME_CONVENTIONS, f"one of {SAME_CONVENTIONS}")
        _rule("error", self.error, lambda v: v in ("elementwise", "normwise"), "'elementwise' or 'normwise'")
        _rule("min_batch", self.min_batch, lambda v: _is_count(v) and v >= 0, "an int >= 0")
        _rule("max_batch", self.max_batch, lambda v: v is None or (_is_count(v) and v >= max(1, self.min_batch)),
              f"None or an int >= max(1, min_batch) = {max(1, self.min_batch)}")
        _per_dtype(self, "input_rounding", lambda v: v in INPUT_ROUNDINGS, f"one of {INPUT_ROUNDINGS}")
        _per_dtype(self, "accumulation", lambda v: v in ACCUMULATIONS, f"one of {ACCUMULATIONS}", optional=True)
        _per_dtype(self, "output_rounding", _is_bool, "True or False")

    @classmethod
    def of(cls, declared: object) -> Support:
        """A `Support` from a declaration: None (everything), a `Support`, a dict of its fields, or an object (a
        module, a class, an instance) that carries ``conv_oracle_support``."""
        if declared is None:
            return cls()
        if isinstance(declared, Support):
            return declared
        if isinstance(declared, Mapping):
            known = [f.name for f in fields(cls)]
            unknown = sorted(set(declared) - set(known))
            if unknown:
                raise DeclarationError(f"conv_oracle_support keys must be among {', '.join(known)}; "
                                       f"got unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in declared.items()})
        if hasattr(declared, "conv_oracle_support"):
            return cls.of(declared.conv_oracle_support)
        if callable(getattr(declared, "conv2d", None)):
            return cls()
        raise DeclarationError("conv_oracle_support must be a dict of Support fields or an oracle.Support; "
                               f"got {type(declared).__name__}")

    def replace(self, **changes: Any) -> Support:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Support(**{**values, **changes})

    @property
    def layouts(self) -> tuple[str, str]:
        """``(activation letters, weight letters)``, e.g. ``("NCHW", "OIHW")``."""
        return _parse_layout(self.layout)  # type: ignore[return-value]

    def for_dtype(self, key: str, dtype: str) -> Any:
        """The value of a precision key (``input_rounding``, ``accumulation``, ``output_rounding``) for ``dtype``."""
        value = getattr(self, key)
        if isinstance(value, Mapping):
            value = value.get(dtype, None)
        if value is None:
            value = {"input_rounding": "none", "accumulation": DEFAULT_ACCUMULATION[dtype],
                     "output_rounding": True}[key]
        return value

    def limits(self) -> list[str]:
        """How the declaration differs from the contract, in words, for the report (empty when it does not)."""
        default = Support()
        said = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            if isinstance(value, bool):
                said.append(_FALSE_WORDS.get(f.name, f"no {f.name.replace('_', ' ')}"))
            else:
                said.append(f"{f.name}={_show(value)}")
        return said


_FALSE_WORDS = {
    "backward": "forward only",
    "transposed": "no transposed convolution",
    "validates": "no argument checking",
    "asymmetric_padding": "symmetric padding only",
    "leftover_rows": "the stride tiles the padded input exactly",
    "nan": "no exact NaN and inf propagation",
    "output_rounding": "result not rounded to the storage dtype",
}


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v!r}" for k, v in value.items()) + "}"
    return repr(value)


def _rule(key: str, value: object, ok, rule: str, dtype: str | None = None) -> None:
    """The one validation helper: ``key`` (for ``dtype``) must satisfy ``ok``, described by ``rule``."""
    try:
        good = bool(ok(value))
    except TypeError:
        good = False
    if not good:
        where = f"[{key!r}]" + ("" if dtype is None else f"[{dtype!r}]")
        raise DeclarationError(f"conv_oracle_support{where} must be {rule}; got {value!r}")


def _subset(key: str, value: object, allowed: tuple[str, ...], empty: bool = False) -> tuple[str, ...]:
    """A tuple (or list) of names from ``allowed``; a bare string gets a hint to wrap it."""
    if isinstance(value, str):
        raise DeclarationError(f"conv_oracle_support[{key!r}] must be a tuple of names from {allowed}; "
                               f"got the str {value!r} (write ({value!r},))")
    rule = f"a {'' if empty else 'non-empty '}tuple of names from {allowed}"
    _rule(key, value, lambda v: isinstance(v, (tuple, list)) and (empty or len(v) > 0)
          and all(isinstance(n, str) and n in allowed for n in v), rule)
    return tuple(value)  # type: ignore[arg-type]


def _per_dtype(support: Support, key: str, ok, rule: str, optional: bool = False) -> None:
    value = getattr(support, key)
    if optional and value is None:
        return
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(DTYPES))
        if unknown:
            raise DeclarationError(f"conv_oracle_support[{key!r}] keys must be dtypes among {DTYPES}; "
                                   f"got {', '.join(map(repr, unknown))}")
        for dtype, each in value.items():
            _rule(key, each, ok, rule, dtype)
        object.__setattr__(support, key, dict(value))
    else:
        _rule(key, value, ok, f"{rule}, or a dict of them by dtype")


def _parse_layout(text: str) -> tuple[str, str] | None:
    text = LAYOUTS.get(text, text)
    activations, _, weights = text.partition("/")
    if sorted(activations) == sorted("NHWC") and sorted(weights) == sorted("HWIO"):
        return activations, weights
    return None
