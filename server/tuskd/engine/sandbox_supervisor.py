"""Supervising one running attempt: pumping its output and stdin, learning of its exit (from our own
child in fallback mode, from the helper's messages in namespace mode), stopping its process group on
a timeout or a cancel. See :mod:`tuskd.engine.sandbox`."""

from __future__ import annotations

import abc
import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable

from tuskd.engine import zygote
from tuskd.engine.sandbox_attempt import AttemptSpec
from tuskd.engine.sandbox_helper import _HELPER_REPLY_SECONDS, _Helper
from tuskd.engine.sandbox_output import _LogBuffer, _readable

log = logging.getLogger(__name__)

TERM_GRACE_SECONDS = 0.5
"""How long a process group gets between SIGTERM and SIGKILL."""

_POLL_SECONDS = 0.05  # how often the cancel event is looked at (an Event cannot be polled on)
_DRAIN_SECONDS = 1.0  # how long to wait for the output pipe to close once the group is dead

_READ_CHUNK = 1 << 18
_PIPE_SIZE = 1 << 20


class _Supervisor(abc.ABC):
    """Pumps one running process: output in, stdin out; subclasses learn when it exited."""

    def __init__(self, out_fd: int, stdin_fd: int | None, stdin_data: bytes, log_limit: int) -> None:
        self.buffer = _LogBuffer(log_limit)
        self.exited = False
        self._poller = select.poll()
        self._watch: int | None = None  # the descriptor that brings news of the exit
        self._out: int | None = out_fd
        with contextlib.suppress(OSError):  # a smaller pipe only costs more wake-ups
            fcntl.fcntl(out_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._poller.register(out_fd, select.POLLIN)
        self._stdin = stdin_fd
        self._stdin_data = memoryview(stdin_data)
        if stdin_fd is not None:
            os.set_blocking(stdin_fd, False)
            self._poller.register(stdin_fd, select.POLLOUT)

    # -- what subclasses provide ------------------------------------------------------------

    @abc.abstractmethod
    def group(self) -> int | None:
        """The process group to signal (the main process's pid), or None when it may not be."""

    @abc.abstractmethod
    def _on_watch(self, events: int) -> None:
        """News on the watched descriptor: set ``exited`` once the process has exited."""

    def _on_output_closed(self) -> None:  # noqa: B027 - optional hook, a no-op unless overridden
        """The output pipe reached end of file."""

    def _max_wait(self) -> float | None:
        """A bound on one poll, for a subclass that must look instead of being told."""
        return None

    def _after_poll(self) -> None:  # noqa: B027 - optional hook, a no-op unless overridden
        """Called after every poll."""

    # -- pumping ----------------------------------------------------------------------------

    def _set_watch(self, fd: int | None, events: int = select.POLLIN) -> None:
        if self._watch is not None:
            self._poller.unregister(self._watch)
        self._watch = fd
        if fd is not None:
            self._poller.register(fd, events)

    def pump(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for output, stdin room or exit, and handle what came."""
        bound = self._max_wait()
        if bound is not None and not self.exited:
            timeout = min(timeout, bound)
        for fd, events in self._poller.poll(max(timeout, 0.0) * 1000):
            if fd == self._out:
                self._read()
            elif fd == self._stdin:
                self._write_stdin(events)
            elif fd == self._watch and not self.exited:
                self._on_watch(events)
        if not self.exited:
            self._after_poll()

    def _read(self) -> None:
        assert self._out is not None
        try:
            chunk = os.read(self._out, _READ_CHUNK)
        except BlockingIOError:
            return
        if chunk:
            self.buffer.add(chunk)
        else:
            self._poller.unregister(self._out)
            os.close(self._out)
            self._out = None
            self._on_output_closed()

    def _write_stdin(self, events: int) -> None:
        assert self._stdin is not None
        if events & select.POLLOUT and self._stdin_data:
            try:
                written = os.write(self._stdin, self._stdin_data[:65536])
                self._stdin_data = self._stdin_data[written:]
            except BlockingIOError:
                return
            except OSError:
                self._stdin_data = memoryview(b"")  # the process stopped reading (EPIPE)
        if not self._stdin_data or events & (select.POLLERR | select.POLLHUP):
            self._close_stdin()

    def _close_stdin(self) -> None:
        if self._stdin is not None:
            self._poller.unregister(self._stdin)
            os.close(self._stdin)
            self._stdin = None

    def signal_group(self, sig: int) -> None:
        pgid = self.group()
        if pgid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def pump_until_exit(self, deadline: float | None) -> None:
        while not self.exited:
            remaining = _POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return
            self.pump(min(remaining, _POLL_SECONDS))

    def terminate(self) -> None:
        """SIGTERM the group, give it the grace period, then SIGKILL it."""
        self.signal_group(signal.SIGTERM)
        self.pump_until_exit(time.monotonic() + TERM_GRACE_SECONDS)
        self.signal_group(signal.SIGKILL)
        self.pump_until_exit(None)

    def drain(self, deadline: float) -> None:
        self._close_stdin()
        while self._out is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("pid %s: output pipe still held open by an escaped process", self.group())
                return
            self.pump(min(remaining, _POLL_SECONDS))

    def close(self) -> None:
        self._close_stdin()
        if self._out is not None:
            self._poller.unregister(self._out)
            os.close(self._out)
            self._out = None


class _ChildSupervisor(_Supervisor):
    """Fallback mode: our own child, its exit seen through a pidfd (or by looking)."""

    def __init__(
        self, proc: subprocess.Popen[bytes], out_fd: int, stdin_fd: int | None, stdin_data: bytes, log_limit: int
    ) -> None:
        super().__init__(out_fd, stdin_fd, stdin_data, log_limit)
        self.proc = proc
        self.reaped = False  # set once the pid may be reused: no more signals
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # old kernel: waitid polling instead
            self._pidfd = os.pidfd_open(proc.pid)
        self._set_watch(self._pidfd)

    def group(self) -> int | None:
        # Never once reaped: while the main process is a zombie its pid, and so the group id,
        # cannot be handed to another process.
        return None if self.reaped else self.proc.pid

    def _on_watch(self, events: int) -> None:
        self.exited = True
        self._set_watch(None)

    def _max_wait(self) -> float | None:
        return 0.01 if self._pidfd is None else None

    def _after_poll(self) -> None:
        if self._pidfd is None:
            try:
                info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                self.exited = True
                return
            self.exited = info is not None

    def close(self) -> None:
        super().close()
        if self._pidfd is not None:
            self._set_watch(None)
            os.close(self._pidfd)
            self._pidfd = None


class _HelperSupervisor(_Supervisor):
    """Namespace mode: a process the helper started, learnt about from the helper's messages.

    The helper sends ``pid`` at once and ``exit`` once the process and what it left are dead,
    and keeps its end of the output pipe open until then: so a fast attempt wakes the engine
    once (end of file, with both messages waiting) instead of once per message. The helper
    socket is watched for hang-ups only until then. The main process stays unreaped until the
    engine's next request, so its pid can be signalled safely up to the end of the attempt.
    """

    def __init__(self, helper: _Helper, out_fd: int, stdin_fd: int | None, stdin_data: bytes, log_limit: int) -> None:
        super().__init__(out_fd, stdin_fd, stdin_data, log_limit)
        self.helper = helper
        self.pid: int | None = None  # the host's pid of the main process, looked up when needed
        self._reported: int | None = None  # its pid as the helper reported it
        self.returncode: int | None = None
        self.escaped: list[int] = []
        self.failure: tuple[int, str] | None = None  # the helper could not start the command
        self.error: str | None = None  # it refused the request
        self.died = False
        self._set_watch(helper.sock.fileno(), 0)  # hang-ups only

    def group(self) -> int | None:
        if self._reported is None and not self.exited:
            self._take_messages(block=_HELPER_REPLY_SECONDS, until=lambda: self._reported is not None)
        if self.pid is None and self._reported is not None:
            # Looked up only here (a timeout, a cancel, a dead helper): the lookup scans the
            # helper's children in /proc, a cost most attempts never need to pay.
            self.pid = self.helper.host_pid(self._reported)
            if self.pid is None:  # cannot be: the process stays a zombie until our next request
                log.warning("sandbox helper %d: attempt process %s not found", self.helper.pid, self._reported)
        return self.pid

    def _on_watch(self, events: int) -> None:
        self._take_messages()

    def _on_output_closed(self) -> None:
        self._take_messages()
        if not self.exited and self._watch is not None:
            self._set_watch(self._watch, select.POLLIN)  # the exit message comes next

    def _take_messages(self, block: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Handle every message waiting; with ``block``, wait up to that long for ``until``."""
        deadline = None if block is None else time.monotonic() + block
        while not self.exited and not (until is not None and until()):
            try:
                data = self.helper.sock.recv(zygote.MAX_MESSAGE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if deadline is None:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not _readable(self.helper.sock.fileno(), remaining):
                    log.warning("sandbox helper %d did not answer in %gs", self.helper.pid, block)
                    self.helper.proc.kill()  # hung: it is replaced like a dead one
                    self.died = self.exited = True
                    return
                continue
            except ConnectionError:
                data = b""
            if not data:
                self.died = self.exited = True
                return
            message = json.loads(data)
            if "pid" in message:
                self._reported = int(message["pid"])
            elif "exit" in message:
                self.returncode = int(message["exit"])
                self.escaped = list(message.get("escaped") or [])
                self.exited = True
            elif "fail" in message:
                self.failure = (int(message["fail"]), str(message["message"]))
                self.exited = True
            elif "error" in message:
                self.error = str(message.get("message", message))
                self.exited = True
            else:
                log.warning("sandbox helper %d: unexpected message %s", self.helper.pid, message)


def _supervise(sup: _Supervisor, spec: AttemptSpec, cancel: threading.Event, started: float) -> tuple[bool, bool]:
    """Pump until the process exits, stopping its group on timeout or cancel: (timed out, cancelled)."""
    timed_out = cancelled = False
    deadline = None if spec.timeout is None else started + spec.timeout
    while not sup.exited:
        if cancel.is_set():
            cancelled = True
            break
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            timed_out = True
            break
        wait = _POLL_SECONDS if deadline is None else min(_POLL_SECONDS, deadline - now)
        sup.pump(wait)
    if timed_out or cancelled:
        log.info("pid %s: %s, stopping its process group", sup.group(), "timed out" if timed_out else "cancelled")
        sup.terminate()
    return timed_out, cancelled
