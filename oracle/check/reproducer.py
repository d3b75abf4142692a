"""Reproducers: standalone scripts that rebuild a failing case's exact arrays and run the failing properties again.

A reproducer records where its variant was imported from, so it runs from any directory, and is named after the
target, the property and the moment it was written, so two runs never overwrite each other's. A call history
failure replays the whole sequence of calls that leads to it; ``--alone`` makes only the failing call, as the
first call of a fresh process.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

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


def script(origin: Origin, target: str, properties: list[str], case: ConvCase, reference: str,
           step: int | None = None) -> str:
    """The reproducer's source: ``properties`` of ``target`` on ``case``, judged by ``reference``."""
    root = f"sys.path.insert(0, {origin.import_root!r})  # where {target} was imported from\n" \
        if origin.import_root else ""
    alone = ""
    if step is not None:
        alone = f'''
if "--alone" in sys.argv:  # only the failing call of the sequence, as the first call of this process
    label, case = history_sequence(case)[{step}]
    print(f"call {step + 1} alone: {{label}}")
    check = check_values
'''
    return f'''"""conv-oracle reproducer: {', '.join(map(repr, properties))} of {target}.

Rebuilds the minimal counterexample's arrays exactly and runs the property again; prints what differs.
Run it from any directory: python {{this file}}{' [--alone]' if step is not None else ''}
"""

import sys

{root}import numpy as np

from oracle.cases.strategies import ConvCase
from oracle.cases.transposed import TransposedCase
from oracle.check.reproducer import replay
from oracle.check.runner import check_values
from oracle.properties.memory import history_sequence
from oracle.reference.precision import Precision, storage_dtype
from oracle.targets.variant import load

variant = load({target!r})
x = {_literal(case.x)}
w = {_literal(case.w)}
b = {_literal(case.b)}
dy = {_literal(case.dy)}
case = {_constructor(case)}
check = None
{alone}sys.exit(replay(variant, case, {properties!r}, {reference!r}, check))
'''


def replay(variant, case: ConvCase, properties: list[str], reference: str, check=None) -> int:
    """Run ``properties`` (or ``check``) on ``case``; print the case and what differs; 1 if anything fails."""
    from oracle.properties import PROPERTIES
    from oracle.reference.truth import get_reference

    print(case)
    ref = get_reference(reference)
    checks = [("values", check)] if check is not None else [(p.name, p.check) for p in PROPERTIES
                                                             if p.name in properties]
    if not checks and "block sweep" in properties:
        from oracle.check.runner import check_values

        checks = [("block sweep", check_values)]
    status = 0
    for name, fn in checks:
        try:
            fn(variant, case, ref)
        except AssertionError as failure:
            print(f"{name}: {failure}")
            if getattr(failure, "raised_at", None):
                print(f"  raised at {failure.raised_at}")
            for line in getattr(failure, "differences", lambda: [])():
                print("  " + line)
            status = 1
        else:
            print(f"{name}: the property holds on this case now")
    return status


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def write(directory: str | Path, origin: Origin, target: str, properties: list[str], case: ConvCase,
          reference: str, step: int | None = None) -> Path:
    """Write a reproducer under ``directory`` with a name no other run takes; return its path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{_safe(target)}-{_safe(properties[0])}-{stamp}"
    text = script(origin, target, properties, case, reference, step)
    for attempt in range(1000):
        path = folder / (f"{base}.py" if attempt == 0 else f"{base}-{attempt}.py")
        try:
            with path.open("x") as handle:
                handle.write(text)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free reproducer name under {folder} for {base}")
