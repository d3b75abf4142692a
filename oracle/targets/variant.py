"""What a conv variant is, what it may declare it does not support, and how a TARGET string is loaded.

A variant is any object with ``conv2d`` and, optionally, ``conv2d_backward`` (design.md, Variants). It may
carry ``conv_oracle_support``: a `Support`, or a dict of its fields, e.g.

    conv_oracle_support = {"backward": False, "dilation": False, "dtypes": ("float64",), "error": "normwise"}

The oracle then draws only cases inside that declaration and lists it in its report.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

PADDING_FORMS = ("int", "pair", "sides", "valid", "same")
"""``int``: ``p``; ``pair``: ``(ph, pw)``; ``sides``: ``((pt, pb), (pl, pr))``; ``'valid'``; ``'same'``."""


def padding_form(padding: Any) -> str:
    """Which of `PADDING_FORMS` a padding argument takes."""
    if isinstance(padding, str):
        return padding
    if np.ndim(padding) == 0:
        return "int"
    return "pair" if np.ndim(padding) == 1 else "sides"


class VariantError(Exception):
    """A TARGET that cannot be checked: not importable, no ``conv2d``, or a malformed declaration."""


@dataclass(frozen=True)
class Support:
    """What a variant supports; every field narrows what the oracle generates for it.

    Attributes:
        backward: has ``conv2d_backward``.
        dtypes: the dtypes it accepts, a subset of ``("float32", "float64")``.
        stride, dilation, groups, bias: supports strides / dilations above 1, groups above 1, a bias.
        padding: the padding forms it accepts, a subset of `PADDING_FORMS`.
        nan: propagates NaN and inf exactly as plain arithmetic does (an FFT spreads them everywhere).
        error: ``"elementwise"`` (a direct method: every element within its own bound) or ``"normwise"``
            (FFT, Winograd: elements within a bound scaled by the whole output; see `oracle.reference.tolerance`).
        max_batch: the largest N to generate.
    """

    backward: bool = True
    dtypes: tuple[str, ...] = ("float32", "float64")
    stride: bool = True
    dilation: bool = True
    groups: bool = True
    bias: bool = True
    padding: tuple[str, ...] = PADDING_FORMS
    nan: bool = True
    error: str = "elementwise"
    max_batch: int = 2

    def __post_init__(self) -> None:
        bad_dtypes = set(self.dtypes) - {"float32", "float64"}
        if not self.dtypes or bad_dtypes:
            raise VariantError(f"support dtypes must be a non-empty subset of float32, float64; got {self.dtypes}")
        if not self.padding or set(self.padding) - set(PADDING_FORMS):
            raise VariantError(f"support padding must be a non-empty subset of {PADDING_FORMS}; got {self.padding}")
        if self.error not in ("elementwise", "normwise"):
            raise VariantError(f"support error must be 'elementwise' or 'normwise'; got {self.error!r}")
        if self.max_batch < 1:
            raise VariantError(f"support max_batch must be >= 1; got {self.max_batch}")

    def limits(self) -> list[str]:
        """What is declared unsupported, in words, for the report ('' when nothing is)."""
        default = Support()
        said = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                said.append(f"{f.name}={value!r}" if not isinstance(value, bool) else f"no {f.name}")
        return said


@dataclass(frozen=True)
class Variant:
    name: str
    conv2d: Callable[..., Any]
    conv2d_backward: Callable[..., Any] | None
    support: Support


def as_support(declared: object) -> Support:
    if declared is None:
        return Support()
    if isinstance(declared, Support):
        return declared
    if isinstance(declared, dict):
        known = {f.name for f in fields(Support)}
        unknown = set(declared) - known
        if unknown:
            raise VariantError(f"conv_oracle_support has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in declared.items()}
        return Support(**values)
    raise VariantError(f"conv_oracle_support must be a dict or oracle.Support; got {type(declared).__name__}")


def from_object(obj: object, name: str | None = None) -> Variant:
    """A `Variant` from a module or any object with ``conv2d`` (and optionally ``conv2d_backward``)."""
    name = name or getattr(obj, "__name__", None) or type(obj).__name__
    conv2d = getattr(obj, "conv2d", None)
    if not callable(conv2d):
        raise VariantError(f"{name} has no callable conv2d")
    backward = getattr(obj, "conv2d_backward", None)
    support = as_support(getattr(obj, "conv_oracle_support", None))
    if backward is None and support.backward:
        support = Support(**{**support.__dict__, "backward": False})
    if support.backward and not callable(backward):
        raise VariantError(f"{name}.conv2d_backward is not callable")
    return Variant(name, conv2d, backward if support.backward else None, support)


def load(target: str) -> Variant:
    """Load ``package.module`` or ``package.module:attribute`` as a `Variant`; `VariantError` when it cannot.

    The current directory is searched first, as ``python -m`` and pytest do, so a contributor's module is
    found where they run the command.
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise VariantError(f"target must be 'package.module' or 'package.module:attribute'; got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an import can fail in any way; the user needs one line
        raise VariantError(f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    obj: object = module
    if attribute:
        for part in attribute.split("."):
            if not hasattr(obj, part):
                raise VariantError(f"{module_name!r} has no attribute {attribute!r}")
            obj = getattr(obj, part)
    return from_object(obj, target)
