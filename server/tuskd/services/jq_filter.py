"""jqFilter (ListJob, ListJobSet, ListPipeline) evaluated where it cannot hurt the server.

A jq program can loop forever (``def f: f; f``), spin for hours (``last(range(1e12))``) or ask
for gigabytes (``[range(1e9)]``); run in the server it would hold the GIL, outlive the call and
make libjq abort the whole process. So programs run in a small pool of reusable worker
processes (tuskd.services.jq_worker), each with an address-space limit, and each request gets a
wall-clock budget for all of its jq evaluation. When the budget runs out, the client cancels or
its deadline passes, the worker is killed and replaced; the caller gets ResourceExhausted (the
budget, memory) or DeadlineExceeded (the client's deadline), never a crashed server.

Workers are started on first use and then kept, so one call costs a pipe round trip per
document, not a process.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tuskd.domain.errors import DeadlineExceeded, InvalidArgument, ResourceExhausted
from tuskd.services.events import CancelToken
from tuskd.services.jq_worker import EXIT_OUT_OF_MEMORY

log = logging.getLogger(__name__)

__all__ = ["JqLimits", "JqPool"]

# How often a wait for a worker's answer looks at the client's cancel token.
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class JqLimits:
    """What one request's jqFilter may use (ServerConfig.jq_*; docs/operations.md)."""

    workers: int = 2  # processes evaluating filters at once, server-wide
    memory_bytes: int = 512 * 1024 * 1024  # address space of each worker (RLIMIT_AS)
    seconds: float = 10.0  # wall-clock time of all jq evaluation in one request


TuskErrorFactory = Callable[[str], Exception]


class _Stopped(Exception):
    """The worker is gone or was killed; ``why`` says which limit stopped it."""

    def __init__(self, why: TuskErrorFactory) -> None:
        super().__init__()
        self.why = why


class _Worker:
    def __init__(self, memory_bytes: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tuskd.services.jq_worker", str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # libjq's "cannot allocate memory" before it aborts
        )
        self._buffer = b""

    def ask(
        self, program: str, docs: list[str], cpu: float, deadline: float, cancel: CancelToken | None
    ) -> dict[str, str]:
        assert self.proc.stdin is not None
        header = json.dumps({"program": program, "count": len(docs), "cpu": cpu})
        try:
            self.proc.stdin.write("\n".join([header, *docs, ""]).encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Stopped(self._death_reason()) from None
        return json.loads(self._read_line(deadline, cancel))

    def _read_line(self, deadline: float, cancel: CancelToken | None) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if cancel is not None and cancel.cancelled:
                self.kill()
                raise _Stopped(_client_gone)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise _Stopped(_over_time)
            ready, _, _ = select.select([fd], [], [], min(remaining, _POLL_SECONDS))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise _Stopped(self._death_reason())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _death_reason(self) -> TuskErrorFactory:
        code = self.proc.wait()
        if code == -signal.SIGXCPU:
            return _over_time
        if code in (EXIT_OUT_OF_MEMORY, -signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
            return _out_of_memory
        return _crashed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def _client_gone(program: str) -> Exception:
    return DeadlineExceeded(
        f"the call ended (deadline passed or cancelled) while its jqFilter {program!r} ran",
        reason="JQ_CANCELLED",
    )


def _over_time(program: str) -> Exception:
    return ResourceExhausted(
        f"jqFilter {program!r} ran longer than a request's jq filters may (see ServerConfig.jq_seconds "
        "in docs/operations.md); simplify it or narrow the listing with the state, pipeline and "
        "input_commit fields",
        reason="JQ_TIME_LIMIT",
    )


def _out_of_memory(program: str) -> Exception:
    return ResourceExhausted(
        f"jqFilter {program!r} needed more memory than jq filters may use (see ServerConfig.jq_memory_bytes "
        "in docs/operations.md); simplify it",
        reason="JQ_MEMORY_LIMIT",
    )


def _crashed(program: str) -> Exception:
    return ResourceExhausted(f"jqFilter {program!r} stopped its worker process; simplify it", reason="JQ_CRASHED")


class JqPool:
    """Up to ``limits.workers`` jq worker processes, started on demand and reused."""

    def __init__(self, limits: JqLimits) -> None:
        self.limits = limits
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy = 0
        self._closed = False

    def compile(self, program: str, cancel: CancelToken | None = None) -> Callable[[list[object]], list[bool]]:
        """A filter with pachctl's jqFilter semantics over a list of JSON values: a value is kept
        unless the program's first output is ``false`` or ``null`` (or it has none). A program
        that does not compile, or fails at run time, is InvalidArgument; one past a limit
        ResourceExhausted. Pass many values per call: each call is one round trip."""
        left = [self.limits.seconds]  # of the request's budget; only time spent on jq counts
        self._evaluate(program, [], left, cancel)  # compile errors surface here, before any row

        def matches(values: list[object]) -> list[bool]:
            return self._evaluate(program, [json.dumps(v) for v in values], left, cancel)

        return matches

    def _evaluate(self, program: str, docs: list[str], left: list[float], cancel: CancelToken | None) -> list[bool]:
        start = time.monotonic()
        deadline = start + left[0]
        worker = self._checkout(program, deadline, cancel)
        reusable = True
        try:
            answer = worker.ask(program, docs, self.limits.seconds + 1, deadline, cancel)
        except _Stopped as stopped:
            reusable = False
            raise stopped.why(program) from None
        finally:
            self._checkin(worker, reusable and worker.alive)
            left[0] -= time.monotonic() - start
        if "error" in answer:
            verb = "does not compile" if answer["error"] == "compile" else "failed"
            reason = "INVALID_JQ_FILTER" if answer["error"] == "compile" else "JQ_RUNTIME_ERROR"
            raise InvalidArgument(f"jqFilter {program!r} {verb}: {answer['message']}", reason=reason)
        return [c == "1" for c in answer["keep"]]

    def _checkout(self, program: str, deadline: float, cancel: CancelToken | None) -> _Worker:
        with self._cond:
            while not self._idle and self._busy >= self.limits.workers:
                if cancel is not None and cancel.cancelled:
                    raise _client_gone(program)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ResourceExhausted(
                        f"all {self.limits.workers} jq filter workers stayed busy for the whole time "
                        f"a request's jqFilter may take; retry later (ServerConfig.jq_workers)",
                        reason="JQ_WORKERS_BUSY",
                    )
                self._cond.wait(min(remaining, _POLL_SECONDS))
            if self._closed:
                raise ResourceExhausted("the server is shutting down", reason="SHUTTING_DOWN")
            self._busy += 1
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            try:
                worker = _Worker(self.limits.memory_bytes)
            except OSError as exc:
                self._checkin(None, False)
                raise ResourceExhausted(
                    f"cannot start a jq filter worker: {exc.strerror}", reason="JQ_CRASHED"
                ) from None
        return worker

    def _checkin(self, worker: _Worker | None, reusable: bool) -> None:
        if worker is not None and not reusable:
            worker.kill()
        with self._cond:
            self._busy -= 1
            if worker is not None and reusable and not self._closed:
                self._idle.append(worker)
            elif worker is not None and reusable:
                worker.kill()
            self._cond.notify()

    def close(self) -> None:
        """Stop the idle workers; busy ones are stopped as their requests give them back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.kill()
