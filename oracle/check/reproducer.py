"""Reproducers: standalone scripts that rebuild a failing case's exact arrays and run the failing properties again.

A reproducer records where its variant was imported from, so it runs from any directory, and is named after the
target, the property and the moment it was written, so two runs never overwrite each other's. It calls the variant
in a worker process, as the check did, so a crash is reported with how it ended (``--in-process`` calls it in the
script's own process, for a debugger). A call history failure replays the whole sequence of calls that leads to it;
``--alone`` makes only the failing call, as the first call of a fresh process. A call that died only after other
calls replays those calls first, in a fresh worker.
"""

from __future__ import annotations

import base64
import pickle
import re
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.cases.transposed import TransposedCase
from oracle.targets.variant import Origin


def _literal(a: np.ndarray | None) -> str:
    """Python source that rebuilds ``a`` exactly (through float64, which holds every storage format's values)."""
    if a is None:
        return "None"
    values = np.asarray(a, dtype=np.float64).tolist()
    return f"np.array({values!r}).reshape({a.shape}).astype(storage_dtype({a.dtype.name!r}))"


def _constructor(case: ConvCase | TransposedCase) -> str:
    """Python source that builds ``case`` from the arrays ``x``, ``w``, ``b``, ``dy``."""
    if isinstance(case, TransposedCase):
        return (f"TransposedCase(x, w, b, dy, stride={case.stride!r}, padding={case.padding!r}, "
                f"output_padding={case.output_padding!r},\n                      dilation={case.dilation!r}, "
                f"groups={case.groups!r}, exact={case.exact!r}, precision={case.precision!r},\n"
                f"                      nan_at={case.nan_at!r}, memory={case.memory!r})")
    return (f"ConvCase(x, w, b, dy, stride={case.stride!r}, padding={case.padding!r}, dilation={case.dilation!r},\n"
            f"                groups={case.groups!r}, exact={case.exact!r}, nan_at={case.nan_at!r}, "
            f"same={case.same!r},\n                precision={case.precision!r}, memory={case.memory!r})")


def _calls_literal(calls: list[Any]) -> str:
    """Python source that rebuilds recorded calls exactly (their arrays in their memory layout)."""
    blob = base64.b64encode(zlib.compress(pickle.dumps(calls, protocol=4), 9)).decode()
    rows = [blob[i : i + 100] for i in range(0, len(blob), 100)]
    return "pickle.loads(zlib.decompress(base64.b64decode(\n    " + "\n    ".join(map(repr, rows)) + ")))"


def script(origin: Origin, target: str, properties: list[str], case: ConvCase, reference: str,
           step: int | None = None, calls: list[Any] | None = None) -> str:
    """The reproducer's source: ``properties`` of ``target`` on ``case``, judged by ``reference``; with ``calls``,
    first the recorded calls that make the last of them die (in a fresh worker)."""
    root = f"sys.path.insert(0, {origin.import_root!r})  # where {target} was imported from\n" \
        if origin.import_root else ""
    alone = ""
    options = ""
    if step is not None:
        options += ('parser.add_argument("--alone", action="store_true",\n                    help="only the failing '
                    'call of the sequence, as the first call of a fresh process")\n')
        alone = f'''if args.alone:
    label, case = history_sequence(case)[{step}]
    print(f"call {step + 1} alone: {{label}}")
    check = check_values
'''
    recorded = f"calls = {_calls_literal(calls)}\n" if calls else "calls = None\n"
    imports = "import base64\nimport pickle\nimport zlib\n" if calls else ""
    what = ("Replays the calls that make the variant's worker die, then rebuilds the minimal counterexample's arrays "
            "exactly\nand runs the property again" if calls else
            "Rebuilds the minimal counterexample's arrays exactly and runs the property again")
    return f'''"""conv-oracle reproducer: {', '.join(map(repr, properties))} of {target}.

{what}; prints what differs, or how the call died.
Run it from any directory: python {{this file}} [--in-process]{' [--alone]' if step is not None else ''}
"""

import argparse
{imports}import sys

{root}import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.cases.transposed import TransposedCase
from oracle.check.reproducer import load_variant, replay
from oracle.check.runner import check_values
from oracle.properties.memory import history_sequence
from oracle.reference.precision import Precision, storage_dtype

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--in-process", action="store_true",
                    help="call the variant in this process, for a debugger (a crash then ends this script)")
{options}args = parser.parse_args()
variant = load_variant({target!r}, in_process=args.in_process)
x = {_literal(case.x)}
w = {_literal(case.w)}
b = {_literal(case.b)}
dy = {_literal(case.dy)}
case = {_constructor(case)}
{recorded}check = None
{alone}sys.exit(replay(variant, case, {properties!r}, {reference!r}, check, calls=calls))
'''


def load_variant(target: str, *, in_process: bool = False) -> Any:
    """The variant a reproducer checks: isolated in a worker process (a crash is reported, not suffered), or in
    this process for a debugger."""
    if in_process:
        from oracle.targets.variant import load

        return load(target)
    from oracle.check.isolation import load_isolated

    return load_isolated(target)


def replay(variant, case: ConvCase, properties: list[str], reference: str, check=None, calls=None) -> int:
    """Replay ``calls`` (if any), then run ``properties`` (or ``check``) on ``case``; print the case and what
    differs or how a call died; 1 if anything fails."""
    from oracle.properties import PROPERTIES
    from oracle.reference.truth import get_reference

    if calls:
        print(f"{len(calls)} recorded calls, in a fresh worker: {', '.join(c.function for c in calls)}")
        if variant.runtime is not None:
            died = variant.runtime.replay(calls)
            if died is not None:
                print(f"call {len(calls)} ({calls[-1].function}) {died.how}" + (f" at {died.where}" if died.where
                                                                                 else ""))
                if died.said():
                    print("  the process said:\n    " + "\n    ".join(died.said()))
                return 1
            print("the recorded calls did not end the worker this time")
        else:
            from oracle.check.transfer import unpack

            for call in calls:  # in this process: a crash ends this script, where a debugger can catch it
                try:
                    variant.functions[call.function](*[unpack(a) for a in call.packed], **call.options)
                except Exception as error:
                    print(f"{call.function} raised {type(error).__name__}: {error}")
    print(case)
    ref = get_reference(reference)
    checks = [("values", check)] if check is not None else [(p.name, p.check) for p in PROPERTIES
                                                             if p.name in properties]
    if not checks and any(p.endswith("block sweep") for p in properties):
        from oracle.check.runner import check_values

        checks = [("block sweep", check_values)]
    status = 0
    for name, fn in checks:
        if variant.runtime is not None:
            variant.runtime.fresh()
        try:
            fn(variant, case, ref)
        except AssertionError as failure:
            print(f"{name}: {failure}")
            if getattr(failure, "raised_at", None):
                print(f"  raised at {failure.raised_at}")
            for line in getattr(failure, "differences", lambda: [])():
                print("  " + line)
            died = getattr(failure, "died", None)
            if died is not None and died.said():
                print("  the process said:\n    " + "\n    ".join(died.said()))
            status = 1
        else:
            print(f"{name}: the property holds on this case now")
    return status


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def write(directory: str | Path, origin: Origin, target: str, properties: list[str], case: ConvCase,
          reference: str, step: int | None = None, calls: list[Any] | None = None) -> Path:
    """Write a reproducer under ``directory`` with a name no other run takes; return its path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{_safe(target)}-{_safe(properties[0])}-{stamp}"
    text = script(origin, target, properties, case, reference, step, calls)
    for attempt in range(1000):
        path = folder / (f"{base}.py" if attempt == 0 else f"{base}-{attempt}.py")
        try:
            with path.open("x") as handle:
                handle.write(text)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free reproducer name under {folder} for {base}")
