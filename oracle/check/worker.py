"""The worker process: the only process that runs a variant's own code, so that a crash, an exit or a hang in it
ends the worker and never the oracle.

``python -m oracle.check.worker --fd N TARGET`` imports TARGET (`oracle.targets.variant.load`), says what it found
on the socket of file descriptor N, then serves calls. With ``--zygote`` it serves no call itself: it keeps TARGET
imported and forks a fresh worker for every request that hands it a socket, so that a worker that died, or a
search that must start from a fresh process, costs a fork and not an import. It forks only while it has no
more threads than numpy's own (a library that started threads at import is not safe to fork); otherwise the caller
spawns each worker.

A call's arguments arrive `oracle.check.transfer.Packed`, in their memory layout; the answer says what the call
returned (arrays, a tuple of them, or the type of anything else), or what it raised (the type, its message, the
innermost frame in the variant's own code and the innermost frame where it was raised), which of its inputs it
wrote, which results share memory with an input, and which results of earlier calls it has changed since they
were returned (a buffer reused from call to call). Each worker writes what the variant prints, and faulthandler's
traceback when it crashes, to a log file of its own, which the caller reads when the worker dies.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import pickle
import signal
import socket
import struct
import sys
import time
import traceback
from collections import deque
from typing import Any

import numpy as np

from oracle.check.transfer import changed, dtype_named, unpack
from oracle.targets.variant import innermost_frame

HEADER = struct.Struct("!Q")
HELD_CALLS = 4
"""How many calls' results a worker keeps watching for changes made by later calls (the fresh-results properties
compare a first call's results after the calls that follow it: a forward and a backward pass)."""
SIMPLE_ERRORS = (ValueError, TypeError, NotImplementedError, RuntimeError, ArithmeticError, LookupError,
                 AssertionError, MemoryError, RecursionError, SystemError)
"""Exception bases whose instances share one memory layout: an exception the variant raised is rebuilt in the
caller as a subclass of those of them it derives from, so that ``except ValueError`` still catches it there."""


def send(channel: socket.socket, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    channel.sendall(HEADER.pack(len(data)) + data)


def _exactly(channel: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = channel.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(channel: socket.socket) -> Any:
    """The next message, or `EOFError` when the other end is gone."""
    header = _exactly(channel, HEADER.size)
    if header is None:
        raise EOFError("the other end closed the channel")
    data = _exactly(channel, HEADER.unpack(header)[0])
    if data is None:
        raise EOFError("the other end closed the channel mid-message")
    return pickle.loads(data)


def describe_error(error: BaseException, variant: Any) -> dict[str, Any]:
    """What the caller needs to raise the same error: its type's name, the simple bases it derives from, its
    message, where it was raised in the variant's own code and where it was raised at all (a library's frame)."""
    bases = tuple(b.__name__ for b in SIMPLE_ERRORS if isinstance(error, b))
    raised_at = variant.origin.raised_at(error.__traceback__)
    library_at = innermost_frame(error.__traceback__)
    return {"type": type(error).__name__, "bases": bases, "message": str(error), "raised_at": raised_at,
            "library_at": library_at if library_at != raised_at else None,
            "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))[-4000:]}


class Foreign:
    """Something a variant returned that is not a numpy array or a plain number: its type's name stands in for it
    in the caller (which never imports the variant's modules)."""

    def __init__(self, type_name: str, module: str, text: str) -> None:
        self.type_name, self.module, self.text = type_name, module, text

    def __repr__(self) -> str:
        return f"<{self.module}.{self.type_name}: {self.text}>"


PLAIN = (int, float, bool, complex, str, bytes, type(None), np.generic)


def encode(value: Any) -> Any:
    """A result as the caller may unpickle it without importing the variant: arrays (numeric dtypes), plain
    numbers, tuples of them (a named tuple as a plain tuple), and a `Foreign` for anything else."""
    if isinstance(value, np.ndarray) and not value.dtype.hasobject:
        return value
    if isinstance(value, PLAIN) and not isinstance(value, np.ndarray):
        return value
    if type(value) in (tuple, list) or (isinstance(value, tuple) and hasattr(value, "_fields")):
        return ("sequence", type(value) is list, [encode(v) for v in value])
    kind = type(value)
    text = repr(value)
    return Foreign(kind.__name__, kind.__module__, text if len(text) < 200 else text[:199] + "…")


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    return []


class Served:
    """A loaded variant serving calls: it runs each, and watches the results of the last `HELD_CALLS` calls."""

    def __init__(self, variant: Any) -> None:
        self.variant = variant
        self.held: deque[tuple[int, list[tuple[np.ndarray, bytes]]]] = deque(maxlen=HELD_CALLS)

    def call(self, call_id: int, function: str, packed: list[Any], options: dict[str, Any]) -> tuple:
        args = [unpack(p) for p in packed]
        start = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                value = self.variant.functions[function](*args, **options)
        except (Exception, SystemExit) as error:
            seconds = time.perf_counter() - start
            return ("raised", call_id, describe_error(error, self.variant), self._written(args, packed), seconds)
        seconds = time.perf_counter() - start
        results = _arrays(value)
        aliases = [(i, j) for i, r in enumerate(results) for j, a in enumerate(args)
                   if isinstance(a, np.ndarray) and np.may_share_memory(r, a) and np.shares_memory(r, a)]
        earlier = self._changed_earlier()
        self.held.append((call_id, [(r, r.tobytes()) for r in results]))
        return ("returned", call_id, encode(value), self._written(args, packed), aliases, earlier, seconds)

    @staticmethod
    def _written(args: list[Any], packed: list[Any]) -> dict[int, bytes]:
        written = {}
        for i, (a, p) in enumerate(zip(args, packed)):
            if isinstance(a, np.ndarray) and a.flags.writeable:  # a read-only one cannot have been written
                now = changed(a, p)
                if now is not None:
                    written[i] = now
        return written

    def _changed_earlier(self) -> dict[tuple[int, int], np.ndarray]:
        """Results of earlier calls whose values changed since they were returned (the new values)."""
        found = {}
        for index, (call_id, results) in enumerate(self.held):
            renewed = []
            for position, (array, before) in enumerate(results):
                now = array.tobytes()
                if now != before:
                    found[(call_id, position)] = array.copy()
                renewed.append((array, now))
            self.held[index] = (call_id, renewed)
        return found


SPIN = 0.0003
"""Seconds a worker polls for the next call before sleeping on it (a call often follows the last one at once, and a
process woken from sleep on a virtual machine takes tens of microseconds to run again)."""


def _spin(channel: socket.socket) -> None:
    import select

    end = time.perf_counter() + SPIN
    while time.perf_counter() < end and not select.select([channel], [], [], 0)[0]:
        pass


def serve(channel: socket.socket, variant: Any) -> None:
    """Answer calls on ``channel`` until it closes."""
    served = Served(variant)
    while True:
        try:
            _spin(channel)
            message = receive(channel)
        except EOFError:
            return
        if message[0] == "call":
            _, call_id, function, packed, options = message
            send(channel, served.call(call_id, function, packed, options))
        elif message[0] == "exit":
            return


def _quiet(log_path: str) -> None:
    """Send what the variant prints (and faulthandler's report of a crash) to ``log_path``; ignore Ctrl-C, which
    is the caller's to handle."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    faulthandler.enable(file=sys.stderr, all_threads=True)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)  # where a hung call is, when asked
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load(target: str, say) -> Any:
    """Import ``target`` and ``say`` what it is (or why it cannot be checked); None if it cannot."""
    from oracle.targets.variant import VariantError, load

    dtype_named("bfloat16")  # here, not in a worker's first bfloat16 call, whose time (and so time limits) it inflated
    try:
        variant = load(target)
    except SystemExit as error:
        say(("refused", f"cannot import {target.partition(':')[0]!r}: it called sys.exit({error.code!r}) while it "
                        "was imported"))
        return None
    except VariantError as error:  # load says in one line why a target cannot be imported or checked
        say(("refused", str(error)))
        return None
    except Exception as error:
        say(("refused", f"cannot load {target!r}: {type(error).__name__}: {error}"))
        return None
    say(("ready", {"name": variant.name, "support": variant.support, "functions": sorted(variant.functions),
                   "origin": variant.origin, "upstream": variant.upstream, "pid": os.getpid()}))
    return variant


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def zygote(target: str, channel: socket.socket, listen: str | None = None) -> None:
    """Import ``target`` once, then fork a worker for each socket handed over, and say how each one ended.

    ``channel`` is a packet socket to the process that started this one: one pickled message a packet, each way.
    Requests: ``("fork", log)`` with the worker's socket attached; ``("status", pid)``, the wait status of a worker
    that ended. With ``listen``, other processes of the same check (runners of parallel jobs) connect to that path
    and make the same requests on connections of their own. It ends when ``channel`` closes.
    """
    import select

    def say(where: socket.socket, message: Any) -> None:
        where.send(pickle.dumps(message))

    baseline = _threads()  # numpy's BLAS pool, which forks safely (it shuts down and restarts around a fork)
    variant = _load(target, lambda message: say(channel, message))
    if variant is None:
        return
    import gc

    gc.freeze()  # the workers share the imported modules' pages: a collection in one would copy them all
    listener = None
    if listen:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(listen)
        listener.listen(64)
    channels = [channel]
    ended: dict[int, int] = {}
    while True:
        readable = select.select(channels + ([listener] if listener else []), [], [])[0]
        for ready in readable:
            if ready is listener:
                channels.append(listener.accept()[0])
                continue
            try:
                message, fds, _, _ = socket.recv_fds(ready, 1 << 16, 4)
            except OSError:
                message, fds = b"", []
            if not message:
                if ready is channel:
                    return
                channels.remove(ready)
                ready.close()
                continue
            request = pickle.loads(message)
            if request[0] == "fork":
                _reap(ended)
                threads = _threads()
                if threads > baseline or not fds:
                    for fd in fds:
                        os.close(fd)
                    say(ready, ("cannot fork", threads))
                    continue
                pid = os.fork()
                if pid == 0:  # the worker
                    for other in [*channels, *([listener] if listener else [])]:
                        other.close()
                    _quiet(request[1])
                    worker = socket.socket(fileno=fds[0])
                    try:
                        serve(worker, variant)
                    finally:
                        os._exit(0)
                os.close(fds[0])
                say(ready, ("forked", pid))
            elif request[0] == "status":
                pid = request[1]
                if pid not in ended:
                    try:
                        ended[pid] = os.waitpid(pid, 0)[1]
                    except ChildProcessError:
                        ended[pid] = None  # type: ignore[assignment]
                say(ready, ("status", pid, ended.pop(pid)))


def _reap(ended: dict[int, int]) -> None:
    """Collect the workers that have ended (closed by the caller, or dead), keeping their statuses."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = status


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m oracle.check.worker")
    parser.add_argument("target")
    parser.add_argument("--fd", type=int, required=True, help="the socket to the caller")
    parser.add_argument("--zygote", action="store_true", help="fork a worker per request instead of serving")
    parser.add_argument("--log", help="where a serving worker writes what the variant prints")
    parser.add_argument("--listen", help="with --zygote: a socket path other processes connect to")
    args = parser.parse_args(argv)
    channel = socket.socket(fileno=args.fd)
    if args.zygote:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        zygote(args.target, channel, args.listen)
        return
    _quiet(args.log or os.devnull)
    variant = _load(args.target, lambda message: send(channel, message))
    if variant is not None:
        serve(channel, variant)


if __name__ == "__main__":
    main()
