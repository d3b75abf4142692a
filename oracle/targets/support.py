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

**Scopes.** A real library differs by operation, by dtype and by result: its gradients refuse a dilation its
forward pass takes, it sums float16 ``y`` in float32 but ``dx`` in float16. Every key but the structural ones
(``backward``, ``transposed``, ``layout``, ``dtypes``, ``error``) takes, instead of one value, a dict from *scopes*
to values: a scope is words separated by spaces, each a dtype (``"float16"``), a function (``"conv2d"``,
``"conv2d_backward"``, ``"conv_transpose2d"``, ``"conv_transpose2d_backward"``), a group of them (``"forward"``,
``"backward"``, ``"convolution"``, ``"transposed"``) or, for the precision keys, a result (``"y"``, ``"dx"``,
``"dw"``, ``"db"``). Where several scopes fit, the one of most words wins; where none does, the contract's
default::

    "accumulation": {"float16 dx": "float16", "float16 dw": "float16", "bfloat16 db": "bfloat16"},
    "dilation": {"backward": False},                # the gradients refuse what the forward pass takes
    "same": {"transposed": "lower"},                # another convention for the transposed operation

A property that calls several functions (the adjoint calls ``conv2d`` and ``conv2d_backward``) gets only what all
of them support (`Support.resolved`).

Every rule is checked by `Support.__post_init__` through one helper; a broken one raises `DeclarationError`
naming the key, the rule and what it got.
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
after), ``torch`` SAME_UPPER at stride 1 only (PyTorch refuses 'same' above stride 1). For the transposed operation
(``H_out = H*s``): ``upper`` crops the odd row at the bottom (TensorFlow's), ``lower`` at the top."""

INPUT_ROUNDINGS = ("none", "float32", "tf32", "bfloat16", "float16")
"""Formats a variant may round its inputs to before multiplying (``none``: the inputs as stored; ``float32``: a
float64 call computed in float32)."""

ACCUMULATIONS = ("float16", "bfloat16", "float32", "float64")
"""Formats a variant may sum its products in."""

RESULT_FORMATS = ("float16", "bfloat16", "float32", "float64")
"""Formats a variant may round its results to, other than the storage dtype (``output_rounding``)."""

DEFAULT_ACCUMULATION = {"float16": "float32", "bfloat16": "float32", "float32": "float32", "float64": "float64"}
"""What a plain dtype implies: half formats are summed in float32 (as every half kernel does), the others in
their own format."""

SQUARE = ("input", "kernel")
RESULTS = ("y", "dx", "dw", "db")
FUNCTIONS = ("conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward")
GROUPS_OF_FUNCTIONS = {
    "forward": ("conv2d", "conv_transpose2d"),
    "backward": ("conv2d_backward", "conv_transpose2d_backward"),
    "convolution": ("conv2d", "conv2d_backward"),
    "transposed": ("conv_transpose2d", "conv_transpose2d_backward"),
}
OUTPUT_PADDING = ("contract", "stride")
"""``output_padding`` rules: ``contract`` (``0 <= op < max(stride, dilation)``, PyTorch's), ``stride`` (``op <
stride`` only, as TensorFlow, ONNX Runtime and PaddlePaddle take it); False for 0 only."""
LAYOUTS = {"NHWC": "NHWC/HWIO", "NCHW": "NCHW/OIHW"}
"""Short names of layouts; a layout is ``ACTIVATIONS/WEIGHTS``: any order of ``NHWC`` for ``x, y, dy, dx`` and of
``HWIO`` for ``w, dw`` (``I`` is the channels per group)."""

OPTION_KEYS = ("stride", "dilation", "groups", "bias", "padding", "same", "same_dilation", "stride_dilation",
               "output_padding", "asymmetric_padding", "leftover_rows", "square", "min_batch", "max_batch", "shapes")
"""Keys that say what cases to draw: scoped by dtype and function."""
PRECISION_KEYS = ("input_rounding", "accumulation", "output_rounding")
"""Keys that say how results are computed: scoped by dtype, function and result."""


class VariantError(ValueError):
    """A TARGET that cannot be checked: not importable, no ``conv2d``, or a malformed declaration."""


class DeclarationError(VariantError):
    """A ``conv_oracle_support`` that breaks a rule: an unknown key, or a value of the wrong type or range."""


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _words(scope: str) -> set[str]:
    return set(scope.split())


def _scope_fits(scope: str, dtype: str | None, function: str | None, result: str | None) -> bool:
    """Whether every word of ``scope`` holds in the context (a word of a kind the context leaves open fails)."""
    for word in scope.split():
        if word in DTYPES:
            if word != dtype:
                return False
        elif word in FUNCTIONS:
            if word != function:
                return False
        elif word in GROUPS_OF_FUNCTIONS:
            if function not in GROUPS_OF_FUNCTIONS[word]:
                return False
        elif word != result:
            return False
    return True


@dataclass(frozen=True)
class Support:
    """What a variant supports; every field narrows what the oracle draws or how it judges. Every field but the
    operations, the layout, the dtypes and ``error`` may be scoped (module docstring).

    Operations:
        backward: has ``conv2d_backward`` (found by the oracle when not declared); ``conv_transpose2d_backward``
            too, where it has the transposed operation.
        transposed: offers ``conv_transpose2d`` (found by the oracle when not declared; False: not judged even
            where the variant has one).
    Layout:
        layout: ``"NHWC"`` (the contract: ``x (N, H, W, C_in)``, ``w (KH, KW, C_in // groups, C_out)``), ``"NCHW"``
            (PyTorch's ``(N, C, H, W)`` and ``(C_out, C_in // groups, KH, KW)``), or ``"ACTIVATIONS/WEIGHTS"``
            with any order of the letters, e.g. ``"NCHW/HWIO"``. The oracle transposes at the boundary.
    Dtypes and precision:
        dtypes: the storage dtypes it takes, a subset of `DTYPES`.
        input_rounding: the format inputs are rounded to before multiplying (`INPUT_ROUNDINGS`; ``"tf32"`` for a
            float32 kernel on tensor cores, ``"float32"`` for a float64 call computed in float32).
        accumulation: the format products are summed in (`ACCUMULATIONS`; default `DEFAULT_ACCUMULATION`).
        output_rounding: True: the result is rounded once to the storage dtype; False: returned in the accumulation
            format (its dtype), unrounded; a format of `RESULT_FORMATS`: rounded to that format and returned in the
            storage dtype (OpenVINO's bf16 precision hint rounds float32 results to bfloat16).
        rounds_partials: the results (of ``"y", "dx", "dw", "db"``) summed block by block into a result held in the
            storage dtype, each block's sum rounded and added there: per kernel tap for ``y`` and ``dx``, per image
            for ``dw`` and ``db`` (PyTorch's CPU half backward does this for ``dx``, ``dw`` and ``db``).
        error: ``"elementwise"`` (a direct method: every element within its own bound) or ``"normwise"`` (FFT,
            Winograd: elements within a bound scaled by the whole output; see `oracle.reference.tolerance`).
        nan: NaN and inf propagate exactly as plain arithmetic does (an FFT spreads them everywhere).
    Options:
        stride, dilation: True (any, as an int or a pair), False (1 only, passed as the int 1), or ``"int"``
            (one value for both axes, passed as an int).
        groups: supports groups above 1.
        bias: True; False (none); or ``"rounded apart"``: the bias is added after the sum of products was rounded
            to the result format, and the sum rounded again (a separate bias-add operation; two roundings).
        padding: the padding forms it accepts, a subset of `PADDING_FORMS`.
        same: what its ``'same'`` means, one of `SAME_CONVENTIONS`.
        same_dilation: ``'same'`` together with a dilation above 1 (False: ``'same'`` only without dilation).
        stride_dilation: a stride and a dilation above 1 on the same axis (False: never both, as Keras refuses).
        output_padding: the transposed operation's ``output_padding``, by a rule of `OUTPUT_PADDING`, or False
            (always 0).
        asymmetric_padding: accepts different padding before and after (False: ``pt == pb`` and ``pl == pr``;
            ``'same'`` is then drawn only where its total padding is even).
        leftover_rows: accepts a stride that leaves input rows or columns no window reads (False: the stride
            tiles the padded input exactly, ``(H + pt + pb - dh*(KH - 1) - 1) % sh == 0``).
    Shapes:
        square: ``("input",)`` for ``H == W`` only, ``("kernel",)`` for ``KH == KW`` only, or both.
        min_batch, max_batch: the smallest and largest N to draw (max_batch None: no limit of its own).
        shapes: None (every case a shape of its own), or at most this many distinct shapes per property and dtype,
            for a variant that compiles per shape (XLA, torch.compile): those of the named edge cases, then of the
            block sweep, their values drawn freely (`oracle.cases.budget`).
    Errors:
        validates: True: bad input raises the contract's error (the bad-input table, word for word); ``"any
            error"``: bad input raises some exception of the variant's own, and never returns or crashes; False:
            no argument checking (the bad-input table is not asked of it, and says so).
    """

    backward: bool = True
    transposed: bool = True
    layout: str = "NHWC"
    dtypes: tuple[str, ...] = DTYPES
    input_rounding: Any = "none"
    accumulation: Any = None
    output_rounding: Any = True
    rounds_partials: Any = ()
    error: str = "elementwise"
    nan: Any = True
    stride: Any = True
    dilation: Any = True
    groups: Any = True
    bias: Any = True
    padding: Any = PADDING_FORMS
    same: Any = "upper"
    same_dilation: Any = True
    stride_dilation: Any = True
    output_padding: Any = "contract"
    asymmetric_padding: Any = True
    leftover_rows: Any = True
    square: Any = ()
    min_batch: Any = 0
    max_batch: Any = None
    shapes: Any = None
    validates: Any = True

    def __post_init__(self) -> None:
        for key in ("backward", "transposed"):
            _rule(key, getattr(self, key), _is_bool, "True or False")
        _rule("layout", self.layout, lambda v: isinstance(v, str) and _parse_layout(v) is not None,
              "'NHWC', 'NCHW', or 'ACTIVATIONS/WEIGHTS' with the letters of NHWC and of HWIO in any order")
        object.__setattr__(self, "dtypes", _subset("dtypes", self.dtypes, DTYPES))
        _rule("error", self.error, lambda v: v in ("elementwise", "normwise"), "'elementwise' or 'normwise'")
        options = ("dtype", "function")
        for key in ("nan", "groups", "asymmetric_padding", "leftover_rows", "same_dilation", "stride_dilation"):
            self._scoped(key, _is_bool, "True or False", options)
        for key in ("stride", "dilation"):
            self._scoped(key, lambda v: _is_bool(v) or v == "int", "True, False or 'int'", options)
        self._scoped("bias", lambda v: _is_bool(v) or v == "rounded apart", "True, False or 'rounded apart'", options)
        self._scoped("padding", lambda v: _subset("padding", v, PADDING_FORMS), f"a tuple of names from "
                     f"{PADDING_FORMS}", options, convert=lambda v: _subset("padding", v, PADDING_FORMS))
        self._scoped("square", lambda v: _subset("square", v, SQUARE, empty=True) is not None,
                     f"a tuple of names from {SQUARE}", options,
                     convert=lambda v: _subset("square", v, SQUARE, empty=True))
        self._scoped("same", lambda v: v in SAME_CONVENTIONS, f"one of {SAME_CONVENTIONS}", options)
        self._scoped("output_padding", lambda v: v is False or v in OUTPUT_PADDING,
                     f"one of {OUTPUT_PADDING}, or False", options)
        self._scoped("min_batch", lambda v: _is_count(v) and v >= 0, "an int >= 0", options)
        self._scoped("max_batch", lambda v: v is None or (_is_count(v) and v >= 1), "None or an int >= 1", options)
        self._scoped("shapes", lambda v: v is None or (_is_count(v) and v >= 1), "None or an int >= 1", options)
        self._scoped("validates", lambda v: _is_bool(v) or v == "any error", "True, False or 'any error'",
                     ("function",))
        self._scoped("rounds_partials", lambda v: _subset("rounds_partials", v, RESULTS, empty=True) is not None,
                     f"a tuple of names from {RESULTS}", ("dtype",),
                     convert=lambda v: _subset("rounds_partials", v, RESULTS, empty=True))
        precision = ("dtype", "function", "result")
        self._scoped("input_rounding", lambda v: v in INPUT_ROUNDINGS, f"one of {INPUT_ROUNDINGS}", precision)
        self._scoped("accumulation", lambda v: v is None or v in ACCUMULATIONS, f"one of {ACCUMULATIONS}",
                     precision)
        self._scoped("output_rounding", lambda v: _is_bool(v) or v in RESULT_FORMATS,
                     f"True, False or one of {RESULT_FORMATS}", precision)
        least, most = self.min_batch, self.max_batch
        if _is_count(least) and _is_count(most) and most < max(1, least):
            raise DeclarationError(f"conv_oracle_support['max_batch'] must be None or an int >= max(1, min_batch) "
                                   f"= {max(1, least)}; got {most!r}")

    def _scoped(self, key: str, ok, rule: str, kinds: tuple[str, ...], convert=None) -> None:
        """Check ``key``: one value satisfying ``ok``, or a dict from scopes (words of ``kinds``) to such values."""
        value = getattr(self, key)
        allowed = set()
        if "dtype" in kinds:
            allowed |= set(DTYPES)
        if "function" in kinds:
            allowed |= set(FUNCTIONS) | set(GROUPS_OF_FUNCTIONS)
        if "result" in kinds:
            allowed |= set(RESULTS)
        if isinstance(value, Mapping):
            checked = {}
            for scope, each in value.items():
                words = _words(scope) if isinstance(scope, str) else set()
                if not words or words - allowed:
                    unknown = ", ".join(sorted(words - allowed)) if words else repr(scope)
                    raise DeclarationError(
                        f"conv_oracle_support[{key!r}] scopes must be words among {', '.join(sorted(allowed))}; got "
                        f"{unknown} in {scope!r}")
                _rule(key, each, ok, rule, scope)
                checked[scope] = convert(each) if convert else each
            object.__setattr__(self, key, checked)
            return
        _rule(key, value, ok, f"{rule}, or a dict of them by scope" if len(kinds) else rule)
        if convert:
            object.__setattr__(self, key, convert(value))

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
        if callable(getattr(declared, "conv2d", None)) or callable(getattr(declared, "conv_transpose2d", None)):
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

    def value(self, key: str, *, dtype: str | None = None, function: str | None = None,
              result: str | None = None) -> Any:
        """The value of ``key`` in a context: the entry of the most words whose scope fits it (a word of a kind the
        context leaves open does not fit), else the contract's default (for ``accumulation``, what ``dtype``
        implies)."""
        declared = getattr(self, key)
        if isinstance(declared, Mapping):
            fitting = [(len(scope.split()), -i, v) for i, (scope, v) in enumerate(declared.items())
                       if _scope_fits(scope, dtype, function, result)]
            if fitting:
                return max(fitting, key=lambda f: (f[0], f[1]))[2]
            declared = getattr(Support(), key)
        if key == "accumulation" and declared is None and dtype is not None:
            return DEFAULT_ACCUMULATION[dtype]
        return declared

    def for_dtype(self, key: str, dtype: str, function: str | None = None, result: str | None = None) -> Any:
        """The value of a precision key (``input_rounding``, ``accumulation``, ``output_rounding``) for ``dtype`` (in
        ``function``, for ``result``)."""
        return self.value(key, dtype=dtype, function=function, result=result)

    def resolved(self, functions: tuple[str, ...] = (), dtype: str | None = None) -> Support:
        """The option keys (and ``nan``, ``validates``, ``rounds_partials``) as plain values for a property that
        calls ``functions`` on cases of ``dtype`` (None: a dtype not yet drawn, entries scoped by one left out):
        what every one of those functions supports. The precision keys stay scoped (`value` reads them per
        result)."""
        functions = tuple(functions) or ("conv2d",)
        changes: dict[str, Any] = {}
        for key in (*OPTION_KEYS, "nan", "validates", "rounds_partials"):
            if not isinstance(getattr(self, key), Mapping):
                continue
            values = [self.value(key, dtype=dtype, function=f) for f in functions]
            changes[key] = _strictest(key, values)
        return self.replace(**changes) if changes else self

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


_ORDER = {"stride": (False, "int", True), "dilation": (False, "int", True), "bias": (False, "rounded apart", True),
          "output_padding": (False, "stride", "contract"), "validates": (False, "any error", True)}


def _strictest(key: str, values: list[Any]) -> Any:
    """What every one of several functions supports, from what each does."""
    if key in _ORDER:
        return min(values, key=_ORDER[key].index)
    if key in ("padding",):
        return tuple(v for v in values[0] if all(v in other for other in values))
    if key in ("square", "rounds_partials"):
        return tuple(dict.fromkeys(v for each in values for v in each))
    if key == "min_batch":
        return max(values)
    if key in ("max_batch", "shapes"):
        finite = [v for v in values if v is not None]
        return min(finite) if finite else None
    if isinstance(values[0], bool):
        return all(values)
    return values[0]  # 'same': the functions of one property share one convention


_FALSE_WORDS = {
    "backward": "forward only",
    "transposed": "no transposed convolution",
    "validates": "no argument checking",
    "asymmetric_padding": "symmetric padding only",
    "leftover_rows": "the stride tiles the padded input exactly",
    "nan": "no exact NaN and inf propagation",
    "output_rounding": "results returned unrounded, in the accumulation format",
    "same_dilation": "'same' only without dilation",
    "stride_dilation": "never a stride and a dilation above 1 on one axis",
    "output_padding": "no output padding",
}


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v!r}" for k, v in value.items()) + "}"
    return repr(value)


def _rule(key: str, value: object, ok, rule: str, scope: str | None = None) -> None:
    """The one validation helper: ``key`` (in ``scope``) must satisfy ``ok``, described by ``rule``."""
    try:
        good = bool(ok(value))
    except TypeError:
        good = False
    if not good:
        where = f"[{key!r}]" + ("" if scope is None else f"[{scope!r}]")
        raise DeclarationError(f"conv_oracle_support{where} must be {rule}; got {value!r}")


def _subset(key: str, value: object, allowed: tuple[str, ...], empty: bool = False) -> tuple[str, ...]:
    """A tuple (or list) of names from ``allowed``; a bare string gets a hint to wrap it."""
    if isinstance(value, str):
        raise DeclarationError(f"conv_oracle_support[{key!r}] must be a tuple of names from {allowed}; "
                               f"got the str {value!r} (write ({value!r},))")
    rule = f"a {'' if empty else 'non-empty '}tuple of names from {allowed}"
    if not (isinstance(value, (tuple, list)) and (empty or len(value) > 0)
            and all(isinstance(n, str) and n in allowed for n in value)):
        raise DeclarationError(f"conv_oracle_support[{key!r}] must be {rule}; got {value!r}")
    return tuple(value)  # type: ignore[arg-type]


def _parse_layout(text: str) -> tuple[str, str] | None:
    text = LAYOUTS.get(text, text)
    activations, _, weights = text.partition("/")
    if sorted(activations) == sorted("NHWC") and sorted(weights) == sorted("HWIO"):
        return activations, weights
    return None
