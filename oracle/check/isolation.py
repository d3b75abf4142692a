"""Running a variant in worker processes the oracle owns: a crash, an exit or a hang ends a worker, never the check.

`load_isolated` starts a `Runtime` for a TARGET and returns a `oracle.targets.variant.Variant` whose functions
send each call to the runtime's current worker (`oracle.check.worker`). The properties call it as they call any
variant: arguments go over in their memory layout (`oracle.check.transfer`), results come back as arrays, an
exception the variant raised is raised here under its own name, an input the variant wrote is written here, a
result that shared memory with an input there is known to here (`oracle.targets.variant.shares_memory`), and a
result that a later call changes (a reused buffer) changes here too. A call that ends the worker raises
`oracle.targets.variant.VariantDied`: ``crashed: SIGSEGV``, ``exited with status 0``, or ``no answer in 4.2 s``
when it outlasts its time limit (`TimeLimit`). The next call starts a fresh worker.

Workers are forked from a zygote that imported the target once, so a fresh worker costs a fork, not an import;
`Runtime.fresh` gives the next call a fresh worker (each property's search starts in one, so that no search sees
what another left behind), and `Runtime.replay` runs recorded calls in a fresh worker and says how it ended.
"""

from __future__ import annotations

import itertools
import os
import pickle
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.check.transfer import Packed, pack, write_back
from oracle.check.worker import HELD_CALLS, SIMPLE_ERRORS, Foreign, receive, send
from oracle.targets.variant import RemoteError, Variant, VariantDied, VariantError, note_alias, telling_lines

IMPORT_LIMIT = 60.0
"""Seconds a target may take to import (TensorFlow takes several) before the check gives up on it (or the time limit
of a call, where one is given and it is longer)."""
HISTORY = 200
"""Calls a worker's record keeps, for replaying the calls before one that crashed."""
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""The thread counts of the pools libraries compute in (OpenMP: PyTorch, oneDNN; OpenBLAS and MKL: numpy)."""


def _work(args: Sequence[Any]) -> float:
    """A call's size, for scaling its time limit: the product of the sizes of its two largest arrays (the input
    and the weights, roughly the multiply-adds) plus a constant for the call's fixed cost."""
    sizes = [*sorted((a.size for a in args if isinstance(a, np.ndarray)), reverse=True), 1, 1]
    return float(sizes[0]) * float(sizes[1]) + 1e5


class TimeLimit:
    """How long a call may take before it counts as a hang.

    Fixed (``seconds``), or following the variant's own calls: ``factor`` times the time the slowest comparable
    call took, scaled up by the size of the new call where it is larger (`_work`), and at least ``floor``. Until a
    function has answered once, its calls get ``first`` seconds (a first call may compile, or load kernels). Once a
    search has seen a hang (``hung``), a call's limit lies between ``shrinking`` and ``floor``: Hypothesis shrinks
    the hang through many calls that hang too, each of which would otherwise wait as long as 20 times the slowest
    call ever made; the minimal case is judged again with the full limit (`oracle.check.runner`), so a limit too
    short while shrinking can mislead the shrinking, never the verdict.
    """

    def __init__(self, seconds: float | None = None, *, factor: float = 20.0, floor: float = 2.0,
                 first: float = 60.0, shrinking: float = 0.5) -> None:
        self.seconds, self.factor, self.floor, self.first, self.shrinking = seconds, factor, floor, first, shrinking
        self.seen: dict[str, tuple[float, float]] = {}  # per function: the slowest call, the slowest per unit of work
        self.hung = False

    def __call__(self, function: str, args: Sequence[Any]) -> float:
        if self.seconds is not None:
            return self.seconds
        floor = self.shrinking if self.hung else self.floor
        seen = self.seen.get(function)
        if seen is None:
            return floor if self.hung else self.first
        slowest, rate = seen  # max over calls i of t_i * max(1, work / w_i) = max(slowest, work * rate)
        if self.hung:  # shrinking a hang: at most the usual floor, not as long as the slowest call ever made
            return max(floor, min(self.floor, self.factor * max(slowest, rate * _work(args))))
        return max(floor, self.factor * max(slowest, rate * _work(args)))

    def observe(self, function: str, args: Sequence[Any], seconds: float) -> None:
        slowest, rate = self.seen.get(function, (0.0, 0.0))
        self.seen[function] = (max(slowest, seconds), max(rate, seconds / _work(args)))

    def describe(self) -> str:
        if self.seconds is not None:
            return f"{self.seconds:g} s a call (--timeout)"
        return (f"{self.factor:g}x the slowest comparable call, at least {self.floor:g} s ({self.first:g} s until a "
                "function first answers)")


@dataclass(frozen=True)
class Call:
    """A call as a worker received it: the function, its arguments (packed) and its options."""

    function: str
    packed: tuple[Any, ...]
    options: dict[str, Any]


@dataclass
class _Worker:
    pid: int
    channel: socket.socket
    log: str
    process: subprocess.Popen | None  # spawned workers only; forked ones are the zygote's children
    calls: deque


def _signal_name(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    return name + (" (abort)" if name == "SIGABRT" else "")


def how_it_ended(status: int | None) -> str:
    """``crashed: SIGSEGV`` or ``exited with status 3`` from a wait status (None: unknown)."""
    if status is None:
        return "ended (its exit status is unknown)"
    if os.WIFSIGNALED(status):
        return f"crashed: {_signal_name(os.WTERMSIG(status))}"
    if os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)}"
    return f"ended with wait status {status}"


def _tail(path: str, limit: int = 3000) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - limit))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _crash_frame(output: str, owns) -> str | None:
    """The innermost frame of the variant's own code in faulthandler's report (``file:line in function``)."""
    import linecache
    import re

    for match in re.finditer(r'File "([^"]+)", line (\d+) in (\S+)', output):
        filename, line, function = match.group(1), int(match.group(2)), match.group(3)
        if owns(filename):
            source = linecache.getline(filename, line).strip()
            return f"{filename}:{line} in {function}" + (f": {source}" if source else "")
    return None


def _python_path() -> str:
    """This process's import path, for the workers: a module found here is found there."""
    entries = [p for p in sys.path if p and os.path.isdir(p)]
    if os.environ.get("PYTHONPATH"):
        entries.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(dict.fromkeys(entries))


_ERROR_CLASSES: dict[tuple[str, tuple[str, ...]], type] = {}


def rebuilt_error(info: dict[str, Any]) -> RemoteError:
    """The exception a variant raised in a worker, as an instance of a class with its name and simple bases."""
    key = (info["type"], info["bases"])
    cls = _ERROR_CLASSES.get(key)
    if cls is None:
        known = {b.__name__: b for b in SIMPLE_ERRORS}
        bases = [known[name] for name in info["bases"]]
        bases = [b for b in bases if not any(o is not b and issubclass(o, b) for o in bases)]
        cls = type(info["type"], (RemoteError, *bases), {"__module__": "variant"})
        _ERROR_CLASSES[key] = cls
    error = cls(info["message"])
    error.raised_at, error.library_at, error.remote_traceback = info["raised_at"], info["library_at"], \
        info["traceback"]
    return error


def _foreign(value: Foreign) -> Foreign:
    """A `Foreign` whose class bears the name of the type it stands for (so a report says ``a Tensor``)."""
    cls = type(value.type_name, (Foreign,), {"__module__": value.module})
    return cls(value.type_name, value.module, value.text)


def _decode(value: Any) -> Any:
    if isinstance(value, Foreign):
        return _foreign(value)
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "sequence":
        items = [_decode(v) for v in value[2]]
        return items if value[1] else tuple(items)
    return value


def _flat(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _flat(v)]
    return []


class Runtime:
    """The worker processes of one TARGET: a zygote that imported it and forks a fresh worker on demand (or, where
    forking is not safe, workers spawned one by one), the current worker, and the time limit of its calls."""

    def __init__(self, target: str, *, timeout: float | None = None, import_timeout: float = IMPORT_LIMIT,
                 threads: int | None = None, shared: tuple[str, dict[str, Any]] | None = None) -> None:
        self.target, self.threads = target, threads
        self.limit = TimeLimit(timeout)
        self.import_timeout = max(import_timeout, timeout or 0.0)
        self.directory = tempfile.mkdtemp(prefix="conv-oracle-workers-")
        self.worker: _Worker | None = None
        self.zygote: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.forking = True
        self.info: dict[str, Any] = {}
        self.deaths = 0
        self._ids = itertools.count(1)
        self._returned: dict[tuple[int, int], weakref.ref] = {}
        self._finalizer = weakref.finalize(self, _shutdown, self.directory, [None])
        _RUNTIMES.add(self)
        if shared is None:
            self._start_zygote()
        else:
            self._attach(*shared)

    def shared(self) -> tuple[str, dict[str, Any]] | None:
        """What another process of this check needs to fork its workers from this runtime's zygote (None where
        there is none to share): its socket path and what the target is."""
        if self.zygote is None or not self.forking:
            return None
        return os.path.join(self.directory, "zygote.socket"), self.info

    def _attach(self, path: str, info: dict[str, Any]) -> None:
        """Fork workers from another runtime's zygote (of the process that started this one), over a connection of
        this runtime's own."""
        control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        control.connect(path)
        self.control, self.info = control, info
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _shutdown, self.directory, [None, control])

    # --- processes ---------------------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """The workers' environment: this one's, the import path of this process, and thread pools that wait
        without spinning (OpenMP's idle threads would spin on the core this process needs next); with ``threads``,
        that many threads per pool, unless the environment says otherwise."""
        env = {**os.environ, "PYTHONPATH": _python_path(), "PYTHONFAULTHANDLER": "1"}
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if self.threads is not None:
            for name in THREAD_VARIABLES:
                env.setdefault(name, str(self.threads))
        return env

    def _log(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def _start_zygote(self) -> None:
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log = open(self._log("zygote.log"), "ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "oracle.check.worker", self.target, "--fd", str(theirs.fileno()), "--zygote",
                 "--listen", os.path.join(self.directory, "zygote.socket")],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, env=self._environment())
        finally:
            theirs.close()
            log.close()
        self.zygote, self.control = process, control
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _shutdown, self.directory, [process, control])
        message = self._control_answer(self.import_timeout, importing=True)
        if message[0] == "refused":
            self.close()
            raise VariantError(message[1])
        self.info = message[1]

    def _control_answer(self, timeout: float, importing: bool = False) -> Any:
        """The zygote's next message (or a `VariantError` saying how it ended while importing)."""
        ready, _, _ = select.select([self.control], [], [], timeout)
        module = self.target.partition(":")[0]
        if not ready:
            self.close()
            raise VariantError(f"cannot import {module!r}: no answer in {timeout:g} s while it was imported")
        try:
            data = self.control.recv(1 << 20)
        except OSError:
            data = b""
        if not data:
            status = _wait_status(self.zygote) if self.zygote is not None else None
            output = telling_lines(_tail(self._log("zygote.log"), 2000), 1)
            said = f" ({output[-1][:200]})" if output else ""
            self.close()
            what = "while it was imported" if importing else "(the process that imports it)"
            raise VariantError(f"cannot import {module!r}: it {how_it_ended(status)} {what}{said}")
        return pickle.loads(data)

    def _control(self, message: Any, fds: Sequence[int] = ()) -> Any:
        socket.send_fds(self.control, [pickle.dumps(message)], list(fds))
        return self._control_answer(60.0)

    def _new_worker(self) -> _Worker:
        number = next(self._ids)
        log = self._log(f"worker-{number}.log")
        ours, theirs = socket.socketpair()
        if self.forking:
            try:
                answer = self._control(("fork", log), [theirs.fileno()])
            finally:
                theirs_fd = theirs.detach()
                os.close(theirs_fd)
            if answer[0] == "forked":
                return _Worker(answer[1], ours, log, None, deque(maxlen=HISTORY))
            self.forking = False  # the target started threads: forking it is not safe, spawn instead
            ours.close()
            ours, theirs = socket.socketpair()
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "oracle.check.worker", self.target, "--fd", str(theirs.fileno()), "--log", log],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, env=self._environment())
        theirs.close()
        ready, _, _ = select.select([ours], [], [], self.import_timeout)
        message = receive(ours) if ready else None
        if message is None or message[0] != "ready":
            process.kill()
            raise VariantError(f"cannot start a worker for {self.target!r}: "
                               f"{message[1] if message else 'no answer while it was imported'}")
        return _Worker(process.pid, ours, log, process, deque(maxlen=HISTORY))

    def _status(self, worker: _Worker) -> int | None:
        if worker.process is not None:
            return _wait_status(worker.process)
        try:
            answer = self._control(("status", worker.pid))
        except (OSError, VariantError):
            return None
        return answer[2] if answer[0] == "status" else None

    def _end(self, worker: _Worker, how: str | None = None) -> VariantDied | None:
        """Close ``worker``; where it died (``how`` given, or found), the `VariantDied` that says how."""
        if self.worker is worker:
            self.worker = None
        worker.channel.close()
        if how is None:
            return None
        self.deaths += 1
        output = _tail(worker.log)
        owns = self.info.get("origin").owns if self.info.get("origin") is not None else (lambda f: False)
        return VariantDied(how, where=_crash_frame(output, owns), output=_last_lines(output), calls=worker.calls)

    def new_search(self) -> None:
        """A search begins: a fresh worker, and the full time limit again (`TimeLimit.hung` cleared)."""
        self.fresh()
        self.limit.hung = False

    def fresh(self) -> None:
        """The next call goes to a fresh worker (the current one, if any, is closed)."""
        if self.worker is not None:
            worker = self.worker
            self._end(worker)
            if worker.process is not None:
                worker.process.wait()

    # --- calls -------------------------------------------------------------------------------------------------

    def call(self, function: str, args: Sequence[Any], options: dict[str, Any]) -> Any:
        """Run ``function(*args, **options)`` in the current worker (a fresh one if there is none)."""
        if self.worker is None:
            self.worker = self._new_worker()
        worker = self.worker
        call_id = next(self._ids)
        packed = tuple(pack(a) for a in args)
        worker.calls.append(Call(function, packed, options))
        limit = self.limit(function, args)
        started = _now()
        try:
            send(worker.channel, ("call", call_id, function, packed, options))
            ready = _answered(worker.channel, limit)
            if not ready:
                _kill(worker, where_first=True)
                self._status(worker)
                self.limit.hung = True
                raise self._end(worker, f"no answer in {limit:.1f} s")
            message = receive(worker.channel)
        except (EOFError, OSError):
            raise self._end(worker, how_it_ended(self._status(worker))) from None
        seconds = _now() - started
        for index, memory in message[3].items():
            if isinstance(args[index], np.ndarray):
                write_back(args[index], memory)
        self.limit.observe(function, args, seconds)
        if message[0] == "raised":
            raise rebuilt_error(message[2])
        _, _, encoded, _, aliases, earlier, _ = message
        result = _decode(encoded)
        flat = _flat(result)
        for i, j in aliases:
            note_alias(flat[i], args[j])
        for key, value in earlier.items():
            ref = self._returned.get(key)
            mine = ref() if ref is not None else None
            if mine is not None and mine.shape == value.shape:
                mine.flags.writeable = True
                np.copyto(mine, value, casting="unsafe")
        for position, array in enumerate(flat):
            self._returned[(call_id, position)] = weakref.ref(array)
        if len(self._returned) > 8 * HELD_CALLS:
            for key in sorted(self._returned)[: len(self._returned) - 4 * HELD_CALLS]:
                del self._returned[key]
        return result

    def replay(self, calls: Sequence[Call]) -> VariantDied | None:
        """Make ``calls`` in a fresh worker, in order, whatever each returns or raises; the `VariantDied` of the
        one that ends it (None if none does). The worker after it is fresh again."""
        self.fresh()
        from oracle.check.transfer import unpack

        try:
            for call in calls:
                args = [unpack(p) if isinstance(p, Packed) else p for p in call.packed]
                try:
                    self.call(call.function, args, call.options)
                except VariantDied as died:
                    return died
                except Exception:  # a raise is an answer, not a death
                    continue
            return None
        finally:
            self.fresh()

    def describe(self) -> str:
        mode = "forked from a process that imported it once" if self.forking else "each started anew"
        return f"every call in a worker process ({mode}); time limit {self.limit.describe()}"

    def close(self) -> None:
        if self.worker is not None:
            self._end(self.worker)
        self._finalizer()


SPIN = 0.0003
"""Seconds to poll for a worker's answer before sleeping on it: most calls answer within this, and a process woken
from sleep on a virtual machine takes tens of microseconds to run again, every call."""


def _answered(channel: socket.socket, limit: float) -> bool:
    """Whether ``channel`` has an answer within ``limit`` seconds: polled for `SPIN` seconds, then waited on."""
    import time

    end = time.perf_counter() + min(SPIN, limit)
    while time.perf_counter() < end:
        if select.select([channel], [], [], 0)[0]:
            return True
    return bool(select.select([channel], [], [], max(limit - SPIN, 0.0))[0])


def _last_lines(output: str, count: int = 12) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def _now() -> float:
    import time

    return time.perf_counter()


def _kill(worker: _Worker, where_first: bool = False) -> None:
    """Kill a worker; with ``where_first``, ask it first to write where it is (faulthandler, on SIGUSR1)."""
    try:
        if where_first:
            os.kill(worker.pid, signal.SIGUSR1)
            import time

            time.sleep(0.2)
        os.kill(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_status(process: subprocess.Popen) -> int | None:
    code = process.wait()
    return (-code) & 0x7F if code < 0 else code << 8


def _shutdown(directory: str, held: list[Any]) -> None:
    """End the zygote and every worker it forked (its process group), and remove the logs."""
    process, control = ([*held, None, None])[:2]
    if control is not None:
        try:
            control.close()
        except OSError:
            pass
    if process is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
    shutil.rmtree(directory, ignore_errors=True)


_RUNTIMES: weakref.WeakSet = weakref.WeakSet()


def _forget_runtimes() -> None:
    """In a child forked from this process: the runtimes it inherited are the parent's to end, not the child's."""
    for runtime in list(_RUNTIMES):
        runtime._finalizer.detach()
        runtime.worker = None


os.register_at_fork(after_in_child=_forget_runtimes)


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


_BASELINE_THREADS = _thread_count()  # numpy (imported above) has started its BLAS pool by now


def fork_is_safe() -> bool:
    """Whether this process may fork a child that computes: on Linux, with no more threads than it had once numpy
    was imported (numpy's BLAS pool restarts around a fork; an OpenMP pool that has run does not)."""
    import threading

    return (sys.platform.startswith("linux") and _BASELINE_THREADS is not None
            and _thread_count() <= _BASELINE_THREADS and threading.active_count() == 1)


class RemoteFunction:
    """One of the variant's functions, called in the runtime's worker."""

    def __init__(self, runtime: Runtime, name: str) -> None:
        self.runtime, self.__name__ = runtime, name

    def __call__(self, *args: Any, **options: Any) -> Any:
        return self.runtime.call(self.__name__, args, options)


def load_isolated(target: str, *, timeout: float | None = None, threads: int | None = None,
                  shared: tuple[str, dict[str, Any]] | None = None) -> Variant:
    """``package.module`` or ``package.module:attribute`` as a `Variant` whose every call runs in a worker process
    (with ``threads``, that many threads in each of its libraries' pools; with ``shared``, a `Runtime.shared` of
    another process of the check, forked from its zygote); `VariantError` (one line) when it cannot be imported,
    exits, crashes or hangs while it is."""
    runtime = Runtime(target, timeout=timeout, threads=threads, shared=shared)
    info = runtime.info
    functions = {name: RemoteFunction(runtime, name) for name in info["functions"]}
    return Variant(info["name"], info["support"], functions, info["origin"], runtime=runtime,
                   upstream=info.get("upstream"))
