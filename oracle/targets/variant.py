"""A conv variant as the oracle calls it: its functions, its declaration, its layout boundary and where it lives.

A variant is any object with ``conv2d`` and, optionally, ``conv2d_backward``, ``conv_transpose2d`` and
``conv_transpose2d_backward`` (CONTRACT.md, Variants), and a
``conv_oracle_support`` declaration (`oracle.targets.support`). `load` imports one from a TARGET string,
`from_object` wraps a module or object already at hand.

The oracle works in the contract's layout (``x (N, H, W, C_in)``, ``w (KH, KW, C_in // groups, C_out)``); a
variant that declares another layout gets its arrays transposed on the way in (C-contiguous copies) and its
results transposed back on the way out, by `Variant.run`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace, TracebackType
from typing import Any

import numpy as np

from oracle.targets.support import PADDING_FORMS, DeclarationError, Support, VariantError

__all__ = ["PADDING_FORMS", "DeclarationError", "Origin", "RemoteError", "Support", "Variant", "VariantDied",
           "VariantError", "from_object", "load", "narrowed_variant", "padding_form", "shares_memory"]

ACTIVATIONS, WEIGHTS, VECTOR = "activations", "weights", "vector"
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conv2d": ((ACTIVATIONS, WEIGHTS, VECTOR), (ACTIVATIONS,)),
    "conv2d_backward": ((ACTIVATIONS, ACTIVATIONS, WEIGHTS), (ACTIVATIONS, WEIGHTS, VECTOR)),
    "conv_transpose2d": ((ACTIVATIONS, WEIGHTS, VECTOR), (ACTIVATIONS,)),
    "conv_transpose2d_backward": ((ACTIVATIONS, ACTIVATIONS, WEIGHTS), (ACTIVATIONS, WEIGHTS, VECTOR)),
}
"""Per function: the kind of each positional argument, and of each result (one result: a 1-tuple)."""
Arrange = Callable[[np.ndarray, str], np.ndarray]
"""A memory layout: ``arrange(array, letters)`` returns the same values in other memory."""


class VariantDied(Exception):
    """A call into a variant that ended the process running it, or gave no answer within its time limit.

    ``how`` says which, as a report says it: ``"crashed: SIGSEGV"``, ``"exited with status 0"``, ``"no answer in
    4.2 s"``; ``where``, the innermost frame in the variant's own code that the crash report showed (None if none);
    ``output``, the last lines the process wrote (a crash report, a C library's complaint); ``calls``, the calls that
    process had made, oldest first, the last the one that died (each ``(function, packed arguments, options)``).
    """

    def __init__(self, how: str, *, where: str | None = None, output: str = "", calls: Sequence[Any] = ()):
        super().__init__(how)
        self.how, self.where, self.output, self.calls = how, where, output, list(calls)

    @property
    def hung(self) -> bool:
        return self.how.startswith("no answer")

    def said(self, count: int = 6) -> list[str]:
        """The last lines of what the process wrote that say something (see `telling_lines`)."""
        return telling_lines(self.output, count)


def telling_lines(output: str, count: int = 6) -> list[str]:
    """The last ``count`` lines of a dead process's output that say something: the crash's own words (a C
    library's ``corrupted double-linked list``, Python's ``Fatal Python error: Segmentation fault``), without the
    stack listing of faulthandler's report."""
    noise = ("File ", "Stack (most recent", "Extension modules", "Current thread", "Thread 0x", "<no Python frame>")
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    return [line for line in lines if not line.lstrip().startswith(noise)][-count:]

    def __reduce__(self):
        return _died, (self.how, self.where, self.output, self.calls)


def _died(how: str, where: str | None, output: str, calls: list[Any]) -> VariantDied:
    return VariantDied(how, where=where, output=output, calls=calls)


class RemoteError(Exception):
    """An exception a variant raised in another process, rebuilt here: its class has the original's name and the
    simple bases it derived from (``ValueError``, ``TypeError``, ...), so that ``except ValueError`` catches it;
    ``raised_at`` is the innermost frame in the variant's own code, ``library_at`` the innermost frame of all where
    that is another (a library's), ``remote_traceback`` the traceback as the other process printed it."""

    raised_at: str | None = None
    library_at: str | None = None
    remote_traceback: str = ""


_ALIASES: dict[int, tuple[Any, list[Any]]] = {}
"""Results of calls made in another process that shared memory with an argument there: ``id(result)`` to weak
references to the result and to those arguments (here)."""


def note_alias(result: np.ndarray, argument: np.ndarray) -> None:
    """Record that ``result`` shared memory with ``argument`` in the process that computed it."""
    import weakref

    for key in [k for k, (ref, _) in _ALIASES.items() if ref() is None]:
        del _ALIASES[key]
    _ref, arguments = _ALIASES.setdefault(id(result), (weakref.ref(result), []))
    arguments.append(weakref.ref(argument))


def shares_memory(result: Any, argument: Any) -> bool:
    """Whether a result shares memory with an argument of the call that made it: here, or in the worker process
    that ran the call (see `note_alias`)."""
    if not (isinstance(result, np.ndarray) and isinstance(argument, np.ndarray)):
        return False
    if np.shares_memory(result, argument):
        return True
    for candidate in (result, result.base):
        found = _ALIASES.get(id(candidate))
        if found is not None and found[0]() is candidate and any(a() is argument for a in found[1]):
            return True
    return False


def padding_form(padding: Any) -> str:
    """Which of `PADDING_FORMS` a padding argument takes."""
    if isinstance(padding, str):
        return padding
    if np.ndim(padding) == 0:
        return "int"
    return "pair" if np.ndim(padding) == 1 else "sides"


@dataclass(frozen=True)
class Origin:
    """Where a variant's code lives: the import string it was loaded by (None for an object handed over), the
    directory its top package was imported from, and its own source files and package directories."""

    target: str | None = None
    import_root: str | None = None
    paths: tuple[str, ...] = ()

    def owns(self, filename: str) -> bool:
        """Whether ``filename`` is part of the variant's own code."""
        path = os.path.abspath(filename)
        return any(path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in self.paths)

    def raised_at(self, traceback: TracebackType | None) -> str | None:
        """``file:line in function: source line`` of the innermost frame in the variant's own code."""
        found = None
        while traceback is not None:
            code = traceback.tb_frame.f_code
            if self.owns(code.co_filename):
                found = (code.co_filename, traceback.tb_lineno, code.co_name)
            traceback = traceback.tb_next
        return None if found is None else frame_text(*found)


def frame_text(filename: str, line: int, function: str) -> str:
    """``file:line in function: source line``."""
    import linecache

    source = linecache.getline(filename, line).strip()
    return f"{filename}:{line} in {function}" + (f": {source}" if source else "")


def innermost_frame(traceback: TracebackType | None) -> str | None:
    """``file:line in function: source line`` of the innermost frame of a traceback: where an exception was
    raised, in a library's code as in the variant's."""
    last = None
    while traceback is not None:
        last, traceback = traceback, traceback.tb_next
    if last is None:
        return None
    code = last.tb_frame.f_code
    return frame_text(code.co_filename, last.tb_lineno, code.co_name)


def _permutation(letters: str, contract: str) -> tuple[int, ...]:
    """Axes that take an array in ``contract`` order to ``letters`` order."""
    return tuple(contract.index(letter) for letter in letters)


@dataclass(frozen=True)
class Variant:
    """A variant: ``name``, its ``support``, its functions by contract name, and its `Origin`.

    ``runtime`` is None for a variant called in this process; for one isolated in worker processes
    (`oracle.check.isolation`), the object that runs them, and its ``functions`` send each call there.
    ``upstream`` is what a reproducer for the library's maintainers needs, where the variant says it
    (``conv_oracle_upstream``, see `upstream_recipe`); None otherwise.
    """

    name: str
    support: Support
    functions: dict[str, Callable[..., Any]]
    origin: Origin = Origin()
    runtime: Any = None
    upstream: dict[str, Any] | None = None

    def offers(self, function: str) -> bool:
        return function in self.functions

    @property
    def conv2d(self) -> Callable[..., Any]:
        return self.functions["conv2d"]

    @property
    def conv2d_backward(self) -> Callable[..., Any] | None:
        return self.functions.get("conv2d_backward")

    def into(self, kind: str, a: Any) -> Any:
        """A contract-layout argument as the variant takes it (4-D arrays of another layout transposed into a
        C-contiguous copy; anything else as it is)."""
        order = self._order(kind)
        if order is None or not isinstance(a, np.ndarray) or a.ndim != 4:
            return a
        return np.ascontiguousarray(a.transpose(order))

    def out(self, kind: str, a: Any) -> Any:
        """A result of the variant in the contract's layout (a view); anything not a 4-D array as it is."""
        order = self._order(kind)
        if order is None or not isinstance(a, np.ndarray) or a.ndim != 4:
            return a
        return a.transpose(np.argsort(order))

    def _order(self, kind: str) -> tuple[int, ...] | None:
        if kind == VECTOR:
            return None
        activations, weights = self.support.layouts
        order = _permutation(activations, "NHWC") if kind == ACTIVATIONS else _permutation(weights, "HWIO")
        return None if order == (0, 1, 2, 3) else order

    def letters(self, kind: str) -> str:
        """The axes of an argument of ``kind`` as the variant takes it, e.g. ``"NCHW"``, ``"HWIO"``, ``"C"``."""
        return "C" if kind == VECTOR else self.support.layouts[0 if kind == ACTIVATIONS else 1]

    def arguments(self, function: str, args: tuple[Any, ...],
                  arrange: Arrange | Sequence[Arrange | None] | None = None) -> list[Any]:
        """The positional arguments of ``function`` as the variant receives them: in its layout, then passed
        through ``arrange(array, letters)`` (a memory layout, see `oracle.cases.layouts`) when given: one for
        every argument, or one per argument (None: as it is)."""
        kinds = SIGNATURES[function][0]
        passed = [self.into(kind, a) for kind, a in zip(kinds, args)]
        if arrange is None:
            return passed
        each = list(arrange) if isinstance(arrange, Sequence) else [arrange] * len(passed)
        return [fn(a, self.letters(kind)) if fn is not None and isinstance(a, np.ndarray) else a
                for fn, kind, a in zip(each, kinds, passed)]

    def results(self, function: str, returned: Any) -> Any:
        """What ``function`` returned, in the contract's layout: one array, or a tuple for the backward pass
        (anything that is not a sequence of the right length is returned as it is, for the properties to
        report)."""
        kinds = SIGNATURES[function][1]
        if len(kinds) == 1:
            return self.out(kinds[0], returned)
        try:
            items = tuple(returned)
        except TypeError:
            return returned
        if len(items) != len(kinds):
            return returned
        return tuple(self.out(kind, a) for kind, a in zip(kinds, items))

    def run(self, function: str, *args: Any, arrange: Arrange | Sequence[Arrange | None] | None = None,
            **options: Any) -> Any:
        """Call ``function`` on contract-layout arguments; return its results in the contract's layout."""
        passed = self.arguments(function, args, arrange)
        return self.results(function, self.functions[function](*passed, **options))


def _origin(obj: object, target: str | None) -> Origin:
    """The `Origin` of a module or object: its module's file (its package's directory when it is one) and the
    files of its functions."""
    paths: list[str] = []
    if isinstance(obj, ModuleType):
        module: ModuleType | None = obj
    else:
        owner = obj if isinstance(obj, type) else type(obj)
        module = None if owner.__module__ in ("builtins", "types") else sys.modules.get(owner.__module__)
    root = None
    if module is not None and getattr(module, "__file__", None):
        file = Path(module.__file__).resolve()
        own = file.parent if file.name == "__init__.py" else file
        paths.append(str(own))
        depth = module.__name__.count(".") + (1 if file.name == "__init__.py" else 0)
        root = str(file.parents[depth])
    for name in ("conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"):
        code = getattr(getattr(obj, name, None), "__code__", None)
        if code is not None:
            paths.append(str(Path(code.co_filename).resolve()))
    return Origin(target, root, tuple(dict.fromkeys(paths)))


def from_object(obj: object, name: str | None = None, *, target: str | None = None) -> Variant:
    """A `Variant` from a module or any object with ``conv2d`` or ``conv_transpose2d`` (and optionally their
    backward passes)."""
    if isinstance(obj, Variant):
        return obj
    name = name or target or getattr(obj, "__name__", None) or type(obj).__name__
    if isinstance(obj, type):  # its methods would be called unbound, the arguments shifted by one
        raise VariantError(f"{name} is a class: name an instance of it (module:attribute, where attribute = "
                           f"{obj.__name__}()), whose conv2d is a bound method")
    functions: dict[str, Callable[..., Any]] = {}
    conv2d, transposed = getattr(obj, "conv2d", None), getattr(obj, "conv_transpose2d", None)
    if not callable(conv2d) and not callable(transposed):
        raise VariantError(f"{name} must have a callable conv2d(x, w, b=None, *, stride, padding, dilation, groups) "
                           "or conv_transpose2d(x, w, b=None, *, stride, padding, output_padding, dilation, groups); "
                           f"got {'none' if conv2d is None else type(conv2d).__name__}")
    support = Support.of(obj)
    if not callable(conv2d) and not support.transposed:
        raise VariantError(f"{name} must have a callable conv2d(x, w, b=None, *, stride, padding, dilation, groups) "
                           "or conv_transpose2d(x, w, b=None, *, stride, padding, output_padding, dilation, groups); "
                           f"got {'none' if conv2d is None else type(conv2d).__name__}")
    if conv2d is not None:
        if not callable(conv2d):
            raise VariantError(f"{name}.conv2d must be callable; got {type(conv2d).__name__}")
        functions["conv2d"] = conv2d
        backward = getattr(obj, "conv2d_backward", None)
        if backward is not None and support.backward:
            if not callable(backward):
                raise VariantError(f"{name}.conv2d_backward must be callable; got {type(backward).__name__}")
            functions["conv2d_backward"] = backward
    if support.transposed:
        for function in ("conv_transpose2d", "conv_transpose2d_backward"):
            found = getattr(obj, function, None)
            if found is None or (function.endswith("_backward") and not support.backward):
                continue
            if not callable(found):
                raise VariantError(f"{name}.{function} must be callable; got {type(found).__name__}")
            functions[function] = found
    return Variant(name, support, functions, _origin(obj, target), upstream=upstream_recipe(obj))


def upstream_recipe(obj: object) -> dict[str, Any] | None:
    """A variant's ``conv_oracle_upstream`` with its functions as source text: ``library``, ``version``,
    ``imports`` (source), ``source`` (the functions that make the library's call, which need that library and numpy
    alone) and ``calls`` (for each of the contract's functions, the name of the function that makes it and the
    keyword arguments it takes besides the case's own). None where the variant has none."""
    import inspect

    declared = getattr(obj, "conv_oracle_upstream", None)
    if declared is None:
        return None
    source = "\n\n".join(inspect.getsource(f).rstrip() for f in declared.get("functions", ()))
    return {"library": declared["library"], "version": declared.get("version", ""),
            "imports": declared.get("imports", ""), "source": source, "calls": dict(declared.get("calls", {}))}


def load(target: str) -> Variant:
    """Load ``package.module`` or ``package.module:attribute`` as a `Variant`; `VariantError` when it cannot.

    The current directory is searched first, as ``python -m`` and pytest do, so a contributor's module is
    found where they run the command.
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attribute = target.partition(":")
    if not module_name or target.count(":") > 1:
        raise VariantError(f"target must be 'package.module' or 'package.module:attribute'; got {target!r}")
    if module_name.endswith(".py") or os.sep in module_name:
        module = Path(module_name).with_suffix("").as_posix().strip("./").replace("/", ".")
        suggestion = module + (f":{attribute}" if attribute else "")
        raise VariantError(f"target must be a module name, not a file: try {suggestion!r} (run from the directory "
                           f"that holds it); got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an import can fail in any way; the user needs one line
        raise VariantError(f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    obj: object = module
    if attribute:
        for part in attribute.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError as error:  # a module's __getattr__ may say why (a device torch does not have)
                why = "" if "has no attribute" in str(error) else f": {error}"
                raise VariantError(f"{module_name!r} has no attribute {attribute!r}{why}") from None
            except Exception as error:
                raise VariantError(f"cannot load {target!r}: {type(error).__name__}: {error}") from None
    return from_object(obj, target, target=target)


def narrowed_variant(module: str, name: str, doc: str, **support: Any) -> SimpleNamespace:
    """A variant of the target ``module`` (its name; call this at the end of the module) that makes the same calls
    under its declaration narrowed by ``support``: checked as ``module:name``, it gets past a finding that would
    hide what else the library does. ``doc`` says what it leaves out and why."""
    target = sys.modules[module]
    functions = {f: getattr(target, f) for f in SIGNATURES if callable(getattr(target, f, None))}
    return SimpleNamespace(__name__=f"{module}:{name}", __doc__=doc,
                           conv_oracle_support={**target.conv_oracle_support, **support},
                           conv_oracle_upstream=getattr(target, "conv_oracle_upstream", None), **functions)
