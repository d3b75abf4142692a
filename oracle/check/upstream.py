"""Reproducers a library's maintainers can run: one standalone script per finding on a bundled target, with
nothing of conv-oracle in it.

A target that names the functions making its library's call (``conv_oracle_upstream``, see
`oracle.targets.variant.upstream_recipe`; they use that library and numpy alone) gets, for each root cause of a
failed check, a script holding: the minimal case's arrays inline; those functions, verbatim, and the call made
through them as the check made it (the same layout, memory layout, dtype and options, the calls before it where
the finding needs them); a float64 reference written as plain loops (`REFERENCE`); and the comparison. It prints
both values and exits 1 while the bug is there, 0 once the library gives the right answer, so it can go into an
issue as it is, and into the library's own test suite once fixed.

Findings of these kinds get one: wrong values (a result element farther from the float64 loops than the bound a
correct computation in the declared precision keeps, printed as a number), a NaN or inf where plain arithmetic
puts none (or none where it puts one), a result of the wrong shape, an exception on a valid call, and a call that
crashes, exits or hangs the process (made in a child process, so the script can say how it died). Memory layouts
and the calls that came before are rebuilt as the check made them.
"""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from oracle.cases.transposed import TransposedCase
from oracle.check.runner import REPEATS, Outcome
from oracle.check.transfer import Packed
from oracle.properties.memory import history_sequence
from oracle.reference.tolerance import INF, MAYBE_INF
from oracle.targets.variant import Variant

REFERENCE = '''
def reference_conv2d(x, w, b, stride, pads, dilation, groups):
    """float64 loops over the definition: y[n, i, j, o] = b[o] + sum over p, q, c of
    xp[n, i*sh + p*dh, j*sw + q*dw, g*Cg + c] * w[p, q, c, o], with xp the input zero-padded by pads,
    x (N, H, W, C_in), w (KH, KW, C_in // groups, C_out), g = o // (C_out // groups)."""
    (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = stride, dilation, pads
    n_, h, wd, c_in = x.shape
    kh, kw, cg, c_out = w.shape
    xp = np.zeros((n_, h + pt + pb, wd + pl + pr, c_in))
    xp[:, pt : pt + h, pl : pl + wd] = x
    h_out, w_out = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n_, h_out, w_out, c_out))
    for n in range(n_):
        for i in range(h_out):
            for j in range(w_out):
                for o in range(c_out):
                    g = o // (c_out // groups)
                    total = 0.0 if b is None else float(b[o])
                    for p in range(kh):
                        for q in range(kw):
                            for c in range(cg):
                                total += xp[n, i * sh + p * dh, j * sw + q * dw, g * cg + c] * w[p, q, c, o]
                    y[n, i, j, o] = total
    return y


def reference_conv2d_backward(dy, x, w, stride, pads, dilation, groups):
    """(dx, dw, db) by the chain rule, loop by loop: each dy[n, i, j, o] times the weights of its window into dx,
    times the inputs of its window into dw; db sums dy."""
    (sh, sw), (dh, dw_), ((pt, pb), (pl, pr)) = stride, dilation, pads
    n_, h, wd, c_in = x.shape
    kh, kw, cg, c_out = w.shape
    xp = np.zeros((n_, h + pt + pb, wd + pl + pr, c_in))
    xp[:, pt : pt + h, pl : pl + wd] = x
    dxp, dw = np.zeros_like(xp), np.zeros(w.shape)
    for n, i, j, o in np.ndindex(*dy.shape):
        g = o // (c_out // groups)
        for p in range(kh):
            for q in range(kw):
                for c in range(cg):
                    r, s = i * sh + p * dh, j * sw + q * dw_
                    dxp[n, r, s, g * cg + c] += dy[n, i, j, o] * w[p, q, c, o]
                    dw[p, q, c, o] += dy[n, i, j, o] * xp[n, r, s, g * cg + c]
    return dxp[:, pt : pt + h, pl : pl + wd], dw, dy.sum(axis=(0, 1, 2))


def reference_conv_transpose2d(x, w, b, stride, pads, output_padding, dilation, groups):
    """float64 loops: each x[n, i, j, c] times its weights, scattered over
    full[n, i*sh + p*dh, j*sw + q*dw, g*Cog + o], then y = b + full cropped by pads (zero past its end),
    x (N, H, W, C_in), w (KH, KW, C_out // groups, C_in)."""
    (sh, sw), (dh, dw), ((pt, pb), (pl, pr)), (oph, opw) = stride, dilation, pads, output_padding
    n_, h, wd, c_in = x.shape
    kh, kw, cog, _ = w.shape
    fh, fw = (h - 1) * sh + dh * (kh - 1) + 1, (wd - 1) * sw + dw * (kw - 1) + 1
    full = np.zeros((n_, fh + oph, fw + opw, cog * groups))
    for n, i, j, c in np.ndindex(*x.shape):
        g = c // (c_in // groups)
        for p in range(kh):
            for q in range(kw):
                for o in range(cog):
                    full[n, i * sh + p * dh, j * sw + q * dw, g * cog + o] += x[n, i, j, c] * w[p, q, o, c]
    y = full[:, pt : fh + oph - pb, pl : fw + opw - pr]
    return y + (0.0 if b is None else b)


def reference_conv_transpose2d_backward(dy, x, w, stride, pads, output_padding, dilation, groups):
    """(dx, dw, db): dy placed back where the crop took y from (zero where it was cropped), then each dx[n, i, j, c]
    gathers dy over its window times its weights, each dw[p, q, o, c] the inputs times dy; db sums dy."""
    (sh, sw), (dh, dw_), ((pt, pb), (pl, pr)), (oph, opw) = stride, dilation, pads, output_padding
    n_, h, wd, c_in = x.shape
    kh, kw, cog, _ = w.shape
    fh, fw = (h - 1) * sh + dh * (kh - 1) + 1 + oph, (wd - 1) * sw + dw_ * (kw - 1) + 1 + opw
    full = np.zeros((n_, fh, fw, dy.shape[3]))
    full[:, pt : pt + dy.shape[1], pl : pl + dy.shape[2]] = dy[:, : fh - pt, : fw - pl]
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for n, i, j, c in np.ndindex(*x.shape):
        g = c // (c_in // groups)
        for p in range(kh):
            for q in range(kw):
                for o in range(cog):
                    grad = full[n, i * sh + p * dh, j * sw + q * dw_, g * cog + o]
                    dx[n, i, j, c] += grad * w[p, q, o, c]
                    dw[p, q, o, c] += grad * x[n, i, j, c]
    return dx, dw, dy.sum(axis=(0, 1, 2))
'''
"""The float64 loops every upstream reproducer carries: the contract's definitions, nothing clever."""

LAYOUT_SOURCE = '''
def arrange(a, name, letters):
    """The same values in the memory the check handed them over in."""
    if name == "Fortran order":
        return np.asfortranarray(a)
    if name == "permuted strides":  # the other common layout's memory (NCHW for NHWC, OIHW for HWIO), seen here
        memory = {"NHWC": "NCHW", "NCHW": "NHWC", "HWIO": "OIHW", "OIHW": "HWIO"}.get(letters, "NCHW")
        order = [letters.index(m) for m in memory]
        return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))
    if name == "strided slice":  # every other element of a larger buffer
        buffer = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
        view = buffer[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if name == "negative strides":
        return np.flip(np.flip(a).copy())
    if name == "odd size-1 strides":
        copy = np.ascontiguousarray(a).copy()
        strides = tuple(s if n != 1 else 7 * copy.itemsize * max(copy.size, 1) for s, n in zip(copy.strides, a.shape))
        return np.lib.stride_tricks.as_strided(copy, shape=a.shape, strides=strides, writeable=False)
    if name == "read-only":
        copy = a.copy()
        copy.flags.writeable = False
        return copy
    return a
'''


def _floats(a: np.ndarray | None) -> str:
    if a is None:
        return "None"
    return f"np.array({np.asarray(a, dtype=np.float64).tolist()!r}).reshape({tuple(a.shape)})"


def _numpy_dtype(dtype: str) -> str:
    """The numpy dtype an array of storage ``dtype`` is handed to the library in (bfloat16 as float32 values)."""
    return "float32" if dtype == "bfloat16" else dtype


def _packed(value: Any) -> str:
    """Source that rebuilds an argument of a recorded call: its exact memory (bytes, strides, offset)."""
    if not isinstance(value, Packed):
        return repr(value)
    if value.dtype.name == "bfloat16":  # as float32 values, the way the target hands them over
        array = np.ndarray(value.shape, value.dtype, buffer=bytearray(value.memory), offset=value.offset,
                           strides=value.strides)
        return f"{_floats(array)}.astype(np.float32)"
    return (f"np.ndarray({value.shape}, np.dtype({value.dtype.str!r}), buffer=bytearray.fromhex("
            f"{value.memory.hex()!r}), offset={value.offset}, strides={value.strides})")


def _axes(letters: str, contract: str) -> tuple[int, ...]:
    return tuple(contract.index(letter) for letter in letters)


def kind(outcome: Outcome) -> str | None:
    """What an upstream reproducer checks for this outcome (None: a kind it does not reproduce)."""
    failure = outcome.failure
    if failure is None or outcome.case is None or failure.line.startswith("ORACLE"):
        return None
    if failure.stage in ("died", "raised", "nan", "inf", "shape", "dtype", "type"):
        return failure.stage
    if failure.stage == "values" and failure.values is not None and failure.bad is not None:
        return "values"
    return None


def script(variant: Variant, outcome: Outcome, names: list[str]) -> str | None:
    """The upstream reproducer of ``outcome`` (the first of a root cause's ``names``), or None where the variant
    has no recipe or the finding is of a kind it cannot show."""
    recipe = variant.upstream
    what = kind(outcome)
    if recipe is None or what is None:
        return None
    failure, case = outcome.failure, outcome.case
    transposed = isinstance(case, TransposedCase)
    shown = failure.case if failure.case is not None else case  # call history: the call that failed
    forward = "conv_transpose2d" if transposed else "conv2d"
    function = failure.name if failure.name in (forward, f"{forward}_backward") else (
        forward if failure.name == "y" else f"{forward}_backward")
    if what == "died" and failure.died is not None and failure.died.calls:
        function = failure.died.calls[-1].function
    if function not in recipe["calls"]:
        return None
    activations, weights = variant.support.layouts
    x_axes, w_axes = _axes(activations, "NHWC"), _axes(weights, "HWIO")
    dtype = shown.dtype.name
    g = shown.geometry
    options = dict(shown.options)
    reference_options = {"stride": g.stride, "pads": g.pads, "dilation": g.dilation, "groups": shown.groups}
    if transposed:
        reference_options["output_padding"] = g.output_padding
    lines = [_header(variant, recipe, outcome, names, what)]
    lines += ["import subprocess", "import sys", "", "import numpy as np", recipe["imports"], "",
              recipe["source"], REFERENCE, LAYOUT_SOURCE]
    lines += _case_lines(shown, dtype, x_axes, w_axes, options, reference_options)
    library_name, extra = recipe["calls"][function]
    lines.append(f"EXTRA = {extra!r}  # how the target calls {library_name}")
    lines += _call_lines(library_name, function, dtype, x_axes, w_axes)
    arranged = getattr(failure, "arranged", None)
    if arranged:
        lines.append(f"ARRANGED = {arranged!r}  # the memory the check handed these arguments over in")
    else:
        lines.append("ARRANGED = None")
    history = _history_lines(outcome, failure, recipe, library_name, transposed)
    lines += history
    lines += _check_lines(what, failure, shown, function, forward, transposed, recipe)
    return "\n".join(lines) + "\n"


def _header(variant: Variant, recipe: dict[str, Any], outcome: Outcome, names: list[str], what: str) -> str:
    line = outcome.failure.line
    line = line if len(line) <= 300 else line[:299] + "…"
    return f'''"""{recipe["library"]} {recipe["version"]}: {line}

Found by conv-oracle ({", ".join(names)} of {variant.name}) on {machine()}, {time.strftime("%Y-%m-%d")}.
This script needs {recipe["library"]} and numpy only. It makes the call that failed, as the check made it, compares
it with a float64 reference written as plain loops, prints both, and exits 1 while the bug is there (0 once the
library gives the right answer).
"""
'''


def machine() -> str:
    """The machine a finding was seen on: processor, and the CPU features oneDNN, MLAS and XLA choose kernels by."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as info:
            text = info.read()
        model = re.search(r"model name\s*:\s*(.+)", text)
        found = set(re.search(r"flags\s*:\s*(.+)", text).group(1).split())
        wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_fp16", "amx_tile", "avx_vnni")
        flags = ", ".join(f for f in wanted if f in found) or "no AVX-512 or AMX"
        name = model.group(1).strip() if model else platform.processor()
    except (OSError, AttributeError):
        name = platform.processor() or platform.machine()
    return f"{name} ({platform.machine()}{'; ' + flags if flags else ''})"


def _case_lines(case: Any, dtype: str, x_axes, w_axes, options, reference_options) -> list[str]:
    return [
        "",
        "# The minimal case, in NHWC (x, y, dy) and HWIO (w) as float64 values of the storage format",
        f"DTYPE = {dtype!r}  # the storage dtype: the library computes in it"
        + (" (bfloat16 values handed over as float32, exactly)" if dtype == "bfloat16" else ""),
        f"x = {_floats(case.x)}",
        f"w = {_floats(case.w)}",
        f"b = {_floats(case.b)}",
        f"dy = {_floats(case.dy)}",
        f"OPTIONS = {options!r}  # as the library call takes them",
        f"GEOMETRY = {reference_options!r}  # the same, resolved, for the loops",
        f"X_AXES, W_AXES = {x_axes!r}, {w_axes!r}  # NHWC and HWIO to the layout the target hands the library",
    ]


def _call_lines(library_name: str, function: str, dtype: str, x_axes, w_axes) -> list[str]:
    numpy_dtype = _numpy_dtype(dtype)
    backward = function.endswith("_backward")
    return [
        "",
        "",
        "def library(x, w, b=None, dy=None, arranged=None, options=None):",
        '    """The call, as the check made it: arrays in the target\'s layout (and the memory ``arranged`` names,',
        '    ``(layout, roles)``), results back in NHWC and HWIO, as float64."""',
        "    def held(a, role, axes, letters):",
        "        if a is None:",
        "            return None",
        f"        a = np.ascontiguousarray(np.asarray(a).transpose(axes)).astype(np.{numpy_dtype})",
        "        return arrange(a, arranged[0], letters) if arranged and role in arranged[1] else a",
        "",
        "    letters = ''.join('NHWC'[i] for i in X_AXES)",
        "    wletters = ''.join('HWIO'[i] for i in W_AXES)",
        "    xs, ws = held(x, 'x', X_AXES, letters), held(w, 'w', W_AXES, wletters)",
        "    bs = None if b is None else held(np.asarray(b).reshape(1, 1, 1, -1), 'b', (0, 1, 2, 3), 'NHWC')",
        "    bs = None if bs is None else bs.reshape(-1)",
        "    every = {**(options or OPTIONS), **EXTRA}",
        *(["    results = " + library_name + "(xs, ws, None, backward_of=held(dy, 'dy', X_AXES, letters), "
           "dtype=DTYPE, **every)",
           "    back = (np.argsort(X_AXES), np.argsort(W_AXES), None)",
           "    return tuple(r if axes is None else np.asarray(r).transpose(axes) for r, axes in zip(results, back))"]
          if backward else
          ["    y = " + library_name + "(xs, ws, bs, dtype=DTYPE, **every)",
           "    return np.asarray(y).transpose(np.argsort(X_AXES))"]),
        "",
    ]


def _recorded(call: Any, recipe: dict[str, Any], indent: str = "    ") -> list[str]:
    """Source that makes a recorded call (`oracle.check.isolation.Call`) through the library's own function: its
    arguments rebuilt in their exact memory, its options as the target received them."""
    name, extra = recipe["calls"][call.function]
    dtypes = [p.dtype.name for p in call.packed if isinstance(p, Packed)]
    dtype = dtypes[0] if dtypes else "float32"
    args = ", ".join(_packed(a) for a in call.packed)
    options = {**call.options, **extra}
    if call.function.endswith("_backward"):
        return [f"{indent}_dy, _x, _w = {args}",
                f"{indent}{name}(_x, _w, None, backward_of=_dy, dtype={dtype!r}, **{options!r})"]
    return [f"{indent}_x, _w, _b = {args}", f"{indent}{name}(_x, _w, _b, dtype={dtype!r}, **{options!r})"]


def _history_lines(outcome: Outcome, failure: Any, recipe: dict[str, Any], library_name: str,
                   transposed: bool) -> list[str]:
    """``calls_before()``, the calls made before the failing one where the finding needs them (those recorded
    before a call that died, or the call history property's sequence); for a call that died, ``dying()``, that
    call as it was made."""
    lines = ["", "def calls_before():",
             '    """The calls the check made before the failing one (in a fresh process)."""']
    body: list[str] = []
    calls = outcome.calls or []
    repeated = bool(calls) and all(c is calls[-1] for c in calls)  # made again and again: the child repeats it
    if failure.stage == "died" and calls and not repeated:
        for call in calls[:-1]:
            if call.function in recipe["calls"]:
                body += _recorded(call, recipe)
    elif failure.step is not None:
        for _, each in history_sequence(outcome.case)[: failure.step]:
            body.append(f"    library({_floats(each.x)}, {_floats(each.w)}, {_floats(each.b)}, "
                        f"options={dict(each.options)!r})")
    lines += body or ["    pass"]
    if failure.stage == "died" and failure.died is not None and failure.died.calls:
        last = failure.died.calls[-1]
        if last.function in recipe["calls"]:
            lines += ["", "", "def dying():", '    """The call that died, with its arguments in their exact memory."""',
                      *_recorded(last, recipe)]
    return [*lines, ""]


def _check_lines(what: str, failure: Any, case: Any, function: str, forward: str, transposed: bool,
                 recipe: dict[str, Any]) -> list[str]:
    backward = function.endswith("_backward")
    reference = ("reference_conv_transpose2d" if transposed else "reference_conv2d") + ("_backward" if backward
                                                                                        else "")
    if backward:
        expected = f"{reference}(dy, x, w, **GEOMETRY)"
        call = "library(x, w, dy=dy, arranged=ARRANGED)"
    else:
        expected = f"{reference}(x, w, b, **GEOMETRY)"
        call = "library(x, w, b, arranged=ARRANGED)"
    library = recipe["library"]
    main = ["", "", "def main():"] + ([] if what == "died" else ["    calls_before()"])
    if what == "died":
        main += [
            "    if '--call' in sys.argv:  # the child process: the calls before, then the call that dies",
            "        import faulthandler",
            "",
            "        faulthandler.enable()",
            "        calls_before()",
            f"        for _ in range({REPEATS}):  # a corrupted heap can take a few calls to kill the process",
            "            dying()",
            "        print('returned')",
            "        return 0",
            "    child = subprocess.run([sys.executable, __file__, '--call'], capture_output=True, text=True)",
            "    if child.returncode == 0 and 'returned' in child.stdout:",
            f"        print('{function} returned, {REPEATS} times: the process lives')",
            "        return 0",
            "    how = (f'crashed with signal {-child.returncode}' if child.returncode < 0 else",
            "           f'exited with status {child.returncode}')",
            f"    print(f'{function} on this case {{how}}; what it said:')",
            "    said = [line for line in child.stderr.splitlines() if line.strip() and not line.startswith(' ')]",
            "    print('\\n'.join(said[:6]))",
            "    return 1",
        ]
    elif what == "raised":
        main += [
            "    try:",
            f"        {call}",
            "    except Exception as error:  # a valid call: raising is the bug",
            f"        print(f'{library} raised {{type(error).__name__}}: {{error}}')",
            "        return 1",
            f"    print('{function} returned: it no longer raises')",
            "    return 0",
        ]
    elif what in ("nan", "inf"):
        idx = tuple(int(i) for i in np.argwhere(failure.bad)[0])
        value = "np.nan" if what == "nan" else "np.inf"
        main += [
            f"    x[{tuple(case.nan_at)!r}] = {value}  # one {what.replace('nan', 'NaN')} in the input",
            f"    got = {call}",
            f"    want = {expected}  # plain arithmetic: inf * 0 is NaN, inf * w takes w's sign",
            f"    idx = {idx!r}",
            "    print(f'y{list(idx)}: the library gives {got[idx]!r}, plain arithmetic gives {want[idx]!r}')",
            "    same = (np.isnan(got[idx]) and np.isnan(want[idx])) or got[idx] == want[idx] or (",
            "        np.isfinite(got[idx]) and np.isfinite(want[idx]))",
            "    return 0 if same else 1",
        ]
    elif what in ("shape", "dtype", "type"):
        index = {"y": None, "dx": 0, "dw": 1, "db": 2}.get(failure.name)
        pick = "" if index is None or not backward else f"[{index}]"
        main += [
            f"    got = np.asarray({call}{pick})",
            f"    want = np.asarray({expected}{pick})",
            "    print(f'{DTYPE} result of shape {got.shape}; the loops give shape {want.shape}')",
            "    return 0 if got.shape == want.shape else 1",
        ]
    else:
        _actual, expected_values, bound = failure.values
        idx = tuple(int(i) for i in np.argwhere(failure.bad)[0])
        total = float(np.broadcast_to(bound.total, expected_values.shape)[idx])
        infinite = bound.inf is not None and int(np.broadcast_to(bound.inf, expected_values.shape)[idx])
        index = {"y": None, "dx": 0, "dw": 1, "db": 2}.get(failure.name)
        pick = "" if index is None or not backward else f"[{index}]"
        main += [
            f"    got = {call}{pick}",
            f"    want = {expected}{pick}",
            f"    idx = {idx!r}",
            f"    BOUND = {total!r}  # the farthest a correct {case.computation.describe()} result may be",
            f"    print(f'{failure.name}{{list(idx)}}: the library gives {{got[idx]!r}}, the float64 loops give "
            "{want[idx]!r}; a correct result is within {BOUND:.3g} of it')",
        ]
        if infinite == INF:
            main.append("    return 0 if np.isinf(got[idx]) and np.sign(got[idx]) == np.sign(want[idx]) else 1  "
                        "# past the format's range: inf")
        elif infinite == MAYBE_INF:
            main.append("    return 0 if np.isinf(got[idx]) or abs(got[idx] - want[idx]) <= BOUND else 1")
        else:
            main.append("    return 0 if abs(got[idx] - want[idx]) <= BOUND or (np.isnan(got[idx]) and "
                        "np.isnan(want[idx])) else 1")
    return [*main, "", "", "if __name__ == '__main__':", "    sys.exit(main())"]


def write(directory: str | Path, variant: Variant, outcome: Outcome, names: list[str], target: str) -> Path | None:
    """Write the upstream reproducer of ``outcome`` under ``directory``; its path, or None where there is none."""
    text = script(variant, outcome, names)
    if text is None:
        return None
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{target}-{names[0]}-upstream-{time.strftime('%Y%m%d-%H%M%S')}")
    for attempt in range(1000):
        path = folder / (f"{base}.py" if attempt == 0 else f"{base}-{attempt}.py")
        try:
            with path.open("x") as handle:
                handle.write(text)
            return path
        except FileExistsError:
            continue
    return None


