"""Run one attempt of a datum's user code and report how it ended.

The user process sees Pachyderm's layout: its inputs under ``/pfs/<input name>`` and its output
directory at ``/pfs/out``. Two ways of providing that, chosen once per server process by a cheap
probe (``detect_isolation``):

* ``Isolation.NAMESPACE`` (preferred; root, or an unprivileged user namespace): attempts are
  started by a long-lived namespace helper, the *zygote* (``engine/zygote.py``, one per
  :class:`Sandbox`), that lives in a private mount namespace of its own. The helper bind-mounts
  the attempt's pfs root (a directory of mount points in the scratch dir) on ``/pfs``, every
  input read-only on ``/pfs/<name>`` and the out dir writable on ``/pfs/out`` -- once: the
  engine reuses one sandbox per worker slot, whose directories stay in place datum after
  datum, so later attempts find the layout mounted and only check it is intact (a changed
  layout is remounted, which costs a few system calls). Per attempt the engine sends the
  command, environment and working directory over a socket with the ends of its output (and
  stdin) pipes; the helper spawns the process (``subprocess``'s fast vfork path) and reports
  its pid at once, then its exit status. Nothing is copied, nothing leaks into the host's
  mount table. The host needs an (empty) ``/pfs`` directory as mount point; the probe creates
  it when it is missing.
* ``Isolation.FALLBACK`` (no namespaces, or no ``/pfs`` mount point): the pfs root is a directory
  of symlinks (``<name>`` -> input dir, ``out`` -> out dir) and is the process's working
  directory, so relative paths (``in/a.txt``, ``out/b.txt``) work. Environment values and the
  working directory that start with ``/pfs`` are rewritten to the real host paths, but literal
  ``/pfs/...`` paths in the code itself do NOT work, and inputs are not write-protected. A
  warning is logged once when the probe settles on this mode. The engine starts the process
  itself.

In both modes the default working directory is the pfs root (``/pfs`` in a namespace), and a
relative ``working_dir`` is relative to it. The read-only inputs guard against mistakes, not
malice: user code runs with the server's privileges and, as root in its namespace, could remount
them (the helper checks the mounts before every attempt and remounts what was changed).

Process hygiene: the user process leads its own session and process group. The engine owns
timeouts and cancel: either sends SIGTERM to the whole group, waits ``TERM_GRACE_SECONDS``, then
sends SIGKILL. When the main process ends, whatever it left running in its group is killed
too. In namespace mode the helper is a *child subreaper*, so every process user code starts,
even one that left the group (``setsid``) or was orphaned, stays in the helper's process tree:
once the main process has exited the helper kills whatever is left in its tree before it
reports the exit (reading its own ``/proc/<pid>/task/<tid>/children`` costs one small read; no
``/proc`` scan). As a second line, processes in the helper's mount namespace are looked for in
``/proc`` after a timeout or a cancel, when a helper dies, and when a helper is retired or handed
back to the pool (the end of a job). In fallback mode escapees are out of reach. When an
attempt returns, no process of it is alive (zombies waiting for a parent to reap them are dead).
Output (stdout and stderr on one pipe, which the engine reads directly) is kept with bounded
memory: the head and the tail, with a marker where the middle was dropped.

A helper that dies (killed, crashed) during an attempt fails that attempt with the reason
``sandbox helper died (...)`` -- the datum's next try gets a new helper; one that died between
attempts is replaced silently.

Exit codes the sandbox itself produces: 125 when the /pfs layout or the working directory cannot
be set up, 126 when the command is not executable and 127 when it is not found (as a shell would).
"""

from __future__ import annotations

import abc
import contextlib
import enum
import errno
import fcntl
import json
import logging
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuskd.engine import zygote
from tuskd.engine.procs import kill_namespace, pid_in_namespace, wait_group_dead

log = logging.getLogger(__name__)

TERM_GRACE_SECONDS = 0.5
"""How long a process group gets between SIGTERM and SIGKILL."""

PFS_ROOT = zygote.PFS_ROOT
OUT_NAME = zygote.OUT_NAME

_POLL_SECONDS = 0.05  # how often the cancel event is looked at (an Event cannot be polled on)
_DRAIN_SECONDS = 1.0  # how long to wait for the output pipe to close once the group is dead
_HELPER_START_SECONDS = 15.0  # a starting helper must say it is ready within this
_HELPER_REPLY_SECONDS = 15.0  # ... and answer a request within this
_HELPER_STOP_SECONDS = 5.0
_READ_CHUNK = 1 << 18
_PIPE_SIZE = 1 << 20
_MARKER_RESERVE = 64  # room kept in the log for the elision marker
_SETUP_FAILED = zygote.SETUP_FAILED
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")
_ZYGOTE_SCRIPT = str(Path(zygote.__file__).resolve())


class Isolation(enum.Enum):
    """How the /pfs layout is provided to user code (see the module docstring)."""

    NAMESPACE = "namespace"
    FALLBACK = "fallback"


@dataclass(frozen=True, kw_only=True)
class AttemptSpec:
    """Everything needed to run user code once for one datum."""

    cmd: Sequence[str]
    stdin: Sequence[str] = ()
    """Lines joined with newlines (plus a trailing newline) and fed to ``cmd`` on stdin."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment (PACH_JOB_ID, PACH_DATUM_ID, <input name>=<path>...), over a minimal base."""
    working_dir: str | None = None
    inputs: Mapping[str, Path] = field(default_factory=dict)
    """Input name -> host directory (or file) whose content appears at ``/pfs/<name>``."""
    out_dir: Path
    """Host directory that appears, writable, at ``/pfs/out``; created when missing. Keep it
    (empty it, do not replace it) between attempts: a sandbox keeps it mounted."""
    scratch_dir: Path
    """Private directory of this attempt: holds the pfs root and TMPDIR. Keep it in place
    between attempts, like ``out_dir``."""
    timeout: float | None = None
    log_limit: int = 1 << 20
    """Bytes of combined stdout+stderr kept; beyond it the head and the tail are kept."""


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """How one attempt ended; exactly one of exit_code and signal is set once the process ran
    (neither when the sandbox failed: see ``sandbox_error``)."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    cancelled: bool
    duration: float
    log: bytes
    log_truncated: bool
    timeout: float | None = None
    """The timeout that applied, so ``describe`` can name it."""
    sandbox_error: str | None = None
    """Set when the sandbox itself failed during the attempt (its helper died): the reason."""

    @property
    def succeeded(self) -> bool:
        """True when the process exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out and not self.cancelled

    def describe(self) -> str:
        """Say how the attempt ended the way users read it: ``exit code 3``, ``timed out after 30s``."""
        if self.cancelled:
            return "stopped"
        if self.timed_out:
            return f"timed out after {format_seconds(self.timeout or self.duration)}"
        if self.sandbox_error is not None:
            return self.sandbox_error
        if self.signal is not None:
            return f"killed by signal {self.signal}"
        return f"exit code {self.exit_code}"


def format_seconds(seconds: float) -> str:
    """``30`` -> ``30s``, ``0.5`` -> ``0.5s``."""
    return f"{seconds:g}s"


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    return f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"


# -- the probe ------------------------------------------------------------------------------------

_probe_lock = threading.Lock()
_probed: Isolation | None = None


def detect_isolation() -> Isolation:
    """Probe once (cached) whether attempts can get a private /pfs mount namespace."""
    global _probed
    with _probe_lock:
        if _probed is None:
            _probed = Isolation.NAMESPACE if _probe() else Isolation.FALLBACK
            if _probed is Isolation.FALLBACK:
                log.warning(
                    "no private mount namespace for user code: /pfs/... paths will not work, only "
                    "relative paths from the working directory and the environment variables do"
                )
            else:
                log.info("user code runs in private mount namespaces (namespace helpers)")
        return _probed


def _probe() -> bool:
    if not os.access("/bin/sh", os.X_OK):
        log.info("/bin/sh missing: no mount namespaces")
        return False
    if not _ensure_mountpoint():
        return False
    with tempfile.TemporaryDirectory(prefix="tusk-probe-") as tmp:
        base = Path(tmp)
        (base / "in").mkdir()
        (base / "in" / "probe").write_bytes(b"")
        check = "test -f /pfs/in/probe && ! (: > /pfs/in/w) 2>/dev/null && : > /pfs/out/ok"
        spec = AttemptSpec(
            cmd=["/bin/sh", "-c", check],
            inputs={"in": base / "in"},
            out_dir=base / "out",
            scratch_dir=base / "scratch",
            timeout=10,
        )
        sandbox = Sandbox(isolation=Isolation.NAMESPACE)
        try:
            result = sandbox._run_helper(spec, threading.Event(), _check_inputs(spec.inputs))
        except (OSError, ValueError, HelperError) as exc:
            log.info("mount namespace probe failed: %s", exc)
            return False
        finally:
            sandbox.close()
        ok = result.exit_code == 0 and (base / "out" / "ok").exists() and not (base / "in" / "w").exists()
        if not ok:
            log.info(
                "mount namespace probe failed (%s): %s",
                result.describe(),
                result.log.decode(errors="replace").strip(),
            )
        return ok


def _ensure_mountpoint() -> bool:
    if os.path.isdir(PFS_ROOT):
        return True
    try:
        os.mkdir(PFS_ROOT, 0o755)
    except FileExistsError:
        return os.path.isdir(PFS_ROOT)
    except OSError as exc:
        log.info("cannot create the %s mount point: %s", PFS_ROOT, exc)
        return False
    return True


# -- layouts and environment -----------------------------------------------------------------------


def _fresh_dir(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _link_layout(root: Path, inputs: Mapping[str, Path], out_dir: Path) -> None:
    """Fallback mode: the pfs root is a directory of symlinks to the real directories."""
    _fresh_dir(root)
    for name, host in inputs.items():
        (root / name).symlink_to(host.absolute())
    (root / OUT_NAME).symlink_to(out_dir.absolute())


def _check_inputs(inputs: Mapping[str, Path]) -> dict[str, bool]:
    """Raise for a bad input name or a missing input; name -> whether it is a directory."""
    kinds = {}
    for name, host in inputs.items():
        if not name or "/" in name or name in (".", "..", OUT_NAME) or "\0" in name:
            raise ValueError(f"input name {name!r} cannot appear under {PFS_ROOT}")
        try:
            kinds[name] = stat.S_ISDIR(os.stat(host).st_mode)
        except FileNotFoundError:
            raise FileNotFoundError(f"input {name!r}: {host} does not exist") from None
    return kinds


def _inherited_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.setdefault("HOME", "/")
    env.setdefault("LANG", "C.UTF-8")
    return env


def _base_env(scratch_tmp: Path) -> dict[str, str]:
    env = _inherited_env()
    env["TMPDIR"] = str(scratch_tmp)
    return env


class _PfsPaths:
    """Maps ``/pfs/...`` paths to host paths for fallback mode."""

    def __init__(self, root: Path, inputs: Mapping[str, Path], out_dir: Path) -> None:
        self._root = root
        self._dirs = {name: path.absolute() for name, path in inputs.items()}
        self._dirs[OUT_NAME] = out_dir.absolute()

    def host(self, value: str) -> str:
        if value == PFS_ROOT or value == PFS_ROOT + "/":
            return str(self._root)
        if not value.startswith(PFS_ROOT + "/"):
            return value
        name, _, rest = value[len(PFS_ROOT) + 1 :].partition("/")
        base = self._dirs.get(name)
        if base is None:
            return str(self._root / name / rest) if rest else str(self._root / name)
        return str(base / rest) if rest else str(base)


class _LogBuffer:
    """Combined output with bounded memory: the first and last bytes, the middle counted only."""

    def __init__(self, limit: int) -> None:
        self._limit = max(limit, 0)
        if self._limit >= 2 * _MARKER_RESERVE:
            self._head_cap = (self._limit - _MARKER_RESERVE) // 2
            self._tail_cap = self._limit - _MARKER_RESERVE - self._head_cap
        else:
            self._head_cap = self._limit
            self._tail_cap = 0
        # Keep everything past the head while the total still fits, so short logs stay whole.
        self._tail_keep = self._limit - self._head_cap
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk or self._tail_keep == 0:
            return
        self._tail.append(chunk)
        self._tail_len += len(chunk)
        while self._tail_len - len(self._tail[0]) >= self._tail_keep:
            self._tail_len -= len(self._tail.popleft())

    def value(self) -> tuple[bytes, bool]:
        tail = b"".join(self._tail)
        if self.total <= self._limit:
            return bytes(self._head) + tail, False
        if self._tail_cap == 0:
            return bytes(self._head), True
        elided = self.total - self._head_cap - self._tail_cap
        marker = f"\n[tusk: {elided} bytes of output elided]\n".encode()
        return bytes(self._head) + marker + tail[-self._tail_cap :], True


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
        self.pid: int | None = None
        self.returncode: int | None = None
        self.escaped: list[int] = []
        self.failure: tuple[int, str] | None = None  # the helper could not start the command
        self.error: str | None = None  # it refused the request
        self.died = False
        self._set_watch(helper.sock.fileno(), 0)  # hang-ups only

    def group(self) -> int | None:
        if self.pid is None and not self.exited:
            self._take_messages(block=_HELPER_REPLY_SECONDS, until=lambda: self.pid is not None)
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
                self.pid = self.helper.host_pid(int(message["pid"]))
                if self.pid is None:  # cannot be: the process stays a zombie until our next request
                    log.warning("sandbox helper %d: attempt process %s not found", self.helper.pid, message["pid"])
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


def _exec_failure(code: int, message: str, started: float, timeout: float | None) -> AttemptResult:
    return AttemptResult(
        exit_code=code,
        signal=None,
        timed_out=False,
        cancelled=False,
        duration=time.monotonic() - started,
        log=f"tusk-sandbox: {message}\n".encode(),
        log_truncated=False,
        timeout=timeout,
    )


def _cancelled_before_start(spec: AttemptSpec) -> AttemptResult:
    return AttemptResult(
        exit_code=None,
        signal=None,
        timed_out=False,
        cancelled=True,
        duration=0.0,
        log=b"",
        log_truncated=False,
        timeout=spec.timeout,
    )


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


def _readable(fd: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``fd`` to be readable (or hung up). poll, not select:
    a busy server's descriptors go past select's limit."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(timeout, 0.0) * 1000))


def _pipes(stdin_data: bytes) -> tuple[int, int, int | None, int | None]:
    """(out read end, out write end, stdin read end, stdin write end); no stdin pipe without data."""
    out_r, out_w = os.pipe()
    if not stdin_data:
        return out_r, out_w, None, None
    try:
        in_r, in_w = os.pipe()
    except BaseException:
        os.close(out_r)
        os.close(out_w)
        raise
    return out_r, out_w, in_r, in_w


# -- the namespace helper ------------------------------------------------------------------------------


class HelperError(Exception):
    """A namespace helper could not be started or stopped answering."""


class _Helper:
    """The engine's end of one zygote process (see engine/zygote.py)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        helper_env = {"PATH": os.environ.get("PATH", _DEFAULT_PATH), **env}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-X", "utf8", _ZYGOTE_SCRIPT, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=helper_env,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.pid = self.proc.pid
        self.ns_fd: int | None = None
        self.ns: tuple[int, int] | None = None
        self.init_pid: int | None = None
        try:
            ready = self.receive(_HELPER_START_SECONDS)
            if ready is None or "ready" not in ready:
                why = (ready or {}).get("fatal") or f"it ended ({_describe_exit(self.proc.poll())})"
                raise HelperError(f"the sandbox helper did not start: {why}")
            # Holding the namespace open keeps its identity unique while we may look for it.
            self.ns_fd = os.open(f"/proc/{self.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            st = os.fstat(self.ns_fd)
            self.ns = (st.st_dev, st.st_ino)
            # With a PID namespace the requests are served by the helper's child, its PID 1.
            self.init_pid = zygote.children(self.pid)[0] if ready.get("pid_namespace") else None
        except BaseException:
            self.close(sweep=False)
            raise

    @property
    def own_pids(self) -> tuple[int, ...]:
        """The helper's own processes (not to be killed with what user code left)."""
        return (self.pid,) if self.init_pid is None else (self.pid, self.init_pid)

    def host_pid(self, pid: int) -> int | None:
        """The pid, as the server sees it, of the helper's child ``pid`` (a pid of the helper's
        PID namespace when it has one); None when it is gone."""
        if self.init_pid is None:
            return pid
        for child in zygote.children(self.init_pid, single_threaded=True):
            nspid = pid_in_namespace(child)
            if nspid == pid:
                return child
        return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict[str, Any], fds: Sequence[int] = (), spill: Path | None = None) -> bool:
        """Send one request; False when the helper is gone."""
        data = json.dumps(message).encode()
        if len(data) > zygote.MAX_MESSAGE - 1024 and spill is not None:
            spill.parent.mkdir(parents=True, exist_ok=True)
            spill.write_bytes(data)
            data = json.dumps({"file": str(spill)}).encode()
        try:
            if fds:
                socket.send_fds(self.sock, [data], list(fds))
            else:
                self.sock.send(data)
        except (BrokenPipeError, ConnectionError):
            return False
        return True

    def receive(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message; None when the helper is gone. HelperError on a timeout."""
        if timeout is not None and not _readable(self.sock.fileno(), timeout):
            raise HelperError(f"the sandbox helper (pid {self.pid}) did not answer in {timeout:g}s")
        try:
            data = self.sock.recv(zygote.MAX_MESSAGE)
        except ConnectionError:
            return None
        if not data:
            return None
        message: dict[str, Any] = json.loads(data)
        return message

    def how_it_ended(self) -> str:
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        return _describe_exit(code)

    def close(self, sweep: bool = True) -> None:
        """Stop the helper (it kills its whole tree), then kill anything left in its namespace."""
        with contextlib.suppress(OSError):
            self.send({"op": "quit"})
        self.sock.close()
        try:
            self.proc.wait(timeout=_HELPER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("sandbox helper %d did not stop; killing it", self.pid)
            self.proc.kill()
            self.proc.wait()
        if sweep and self.ns is not None:
            leftovers = kill_namespace(self.ns)
            if leftovers:
                log.warning("killed %d process(es) left in a sandbox helper's namespace: %s", len(leftovers), leftovers)
        if self.ns_fd is not None:
            os.close(self.ns_fd)
            self.ns_fd = None


class Sandbox:
    """Runs attempts one at a time; in namespace mode through one long-lived helper.

    Keep one per worker slot and reuse it: the helper and its mounts are set up once. Not
    thread-safe: one attempt at a time (``close`` may come from another thread once attempts
    are over). ``env`` goes into the helper's own environment (the engine's process marker).
    """

    def __init__(self, *, isolation: Isolation | None = None, env: Mapping[str, str] | None = None) -> None:
        self._isolation = isolation
        self._env = dict(env or {})
        self._helper: _Helper | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._made: tuple[Path, Path] | None = None  # (scratch, out) last made
        self._inherited: dict[str, str] | None = None  # the server's environment user code gets

    @property
    def isolation(self) -> Isolation:
        if self._isolation is None:
            self._isolation = detect_isolation()
        return self._isolation

    @property
    def helper_pid(self) -> int | None:
        """The current helper's pid (tests, diagnostics)."""
        helper = self._helper
        return helper.pid if helper is not None else None

    @property
    def helper_pids(self) -> tuple[int, ...]:
        """The current helper's own processes: its pid, then its PID 1 child when it has one."""
        helper = self._helper
        return helper.own_pids if helper is not None else ()

    def run(self, spec: AttemptSpec, cancel: threading.Event) -> AttemptResult:
        """Run ``spec.cmd`` once in the /pfs layout and wait until it and everything it started
        is gone. Raises ValueError for an empty command or a bad input name, FileNotFoundError
        for a missing input, OSError when the scratch dir cannot be prepared."""
        if not spec.cmd:
            raise ValueError("an attempt needs a command")
        kinds = _check_inputs(spec.inputs)
        mode = self.isolation
        if mode is Isolation.NAMESPACE and detect_isolation() is not Isolation.NAMESPACE:
            raise RuntimeError("mount namespaces are not available here")
        if cancel.is_set():
            return _cancelled_before_start(spec)
        if mode is Isolation.FALLBACK:
            return _run_direct(spec, cancel)
        return self._run_helper(spec, cancel, kinds)

    def reset(self) -> None:
        """Between jobs: unmount the layout and kill anything left in the helper's namespace."""
        helper = self._helper
        if helper is None:
            return
        try:
            if not helper.send({"op": "reset"}) or helper.receive(_HELPER_REPLY_SECONDS) is None:
                raise HelperError("the sandbox helper is gone")
        except (HelperError, OSError) as exc:
            log.info("sandbox helper %d dropped at reset: %s", helper.pid, exc)
            self._drop_helper()
            return
        assert helper.ns is not None
        leftovers = kill_namespace(helper.ns, exclude=helper.own_pids)
        if leftovers:
            log.warning("killed %d process(es) left in a sandbox helper's namespace: %s", len(leftovers), leftovers)

    def close(self) -> None:
        """Stop the helper; no process it started survives."""
        with self._lock:
            self._closed = True
            self._drop_helper()

    def _drop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.close()

    def _live_helper(self) -> _Helper:
        with self._lock:
            if self._closed:
                raise HelperError("the sandbox is closed")
            helper = self._helper
            if helper is not None and not helper.alive():
                log.warning(
                    "sandbox helper %d died between attempts (%s); starting a new one",
                    helper.pid,
                    helper.how_it_ended(),
                )
                self._drop_helper()
                helper = None
            if helper is None:
                helper = self._helper = _Helper(self._env)
            return helper

    def _run_helper(self, spec: AttemptSpec, cancel: threading.Event, kinds: Mapping[str, bool]) -> AttemptResult:
        started = time.monotonic()
        try:
            helper = self._live_helper()
        except (HelperError, OSError) as exc:
            log.warning("could not start a sandbox helper: %s", exc)
            return _sandbox_failure(f"could not start the sandbox helper: {exc}", b"", False, started, spec)
        try:
            # The timeout counts from here: starting a helper is not the attempt's time.
            return self._attempt(helper, spec, kinds, cancel, time.monotonic())
        except BaseException:
            # The helper is in an unknown state (a message half-handled): never reuse it.
            with self._lock:
                if self._helper is helper:
                    self._drop_helper()
            raise

    def _attempt(
        self, helper: _Helper, spec: AttemptSpec, kinds: Mapping[str, bool], cancel: threading.Event, started: float
    ) -> AttemptResult:
        scratch = spec.scratch_dir
        tmp = scratch / "tmp"
        if self._made != (scratch, spec.out_dir):  # a slot's directories stay: made once
            tmp.mkdir(parents=True, exist_ok=True)
            spec.out_dir.mkdir(parents=True, exist_ok=True)
            self._made = (scratch, spec.out_dir)
        if self._inherited is None:
            self._inherited = _inherited_env()
        env = {**self._inherited, "TMPDIR": str(tmp), **spec.env}
        working_dir = os.path.join(PFS_ROOT, spec.working_dir) if spec.working_dir else PFS_ROOT
        layout = {
            "root": str((scratch / "pfs").absolute()),
            "inputs": [[name, str(host.absolute()), kinds[name]] for name, host in sorted(spec.inputs.items())],
            "out": str(spec.out_dir.absolute()),
            "tmp": os.path.abspath(env.get("TMPDIR", str(tmp))),
        }
        request = {"op": "run", "cmd": list(spec.cmd), "env": env, "cwd": working_dir, "layout": layout}
        stdin_data = ("\n".join(spec.stdin) + "\n").encode() if spec.stdin else b""
        out_r, out_w, in_r, in_w = _pipes(stdin_data)
        try:
            fds = [out_w] if in_r is None else [out_w, in_r]
            sent = helper.send(request, fds, spill=scratch / "request.json")
        finally:
            os.close(out_w)
            if in_r is not None:
                os.close(in_r)
        if not sent:
            os.close(out_r)
            if in_w is not None:
                os.close(in_w)
            return self._helper_died(helper, None, (False, False), started, spec)
        sup = _HelperSupervisor(helper, out_r, in_w, stdin_data, spec.log_limit)
        try:
            timed_out, cancelled = _supervise(sup, spec, cancel, started)
            duration = time.monotonic() - started
            if sup.died:
                sup.signal_group(signal.SIGKILL)
                return self._helper_died(helper, sup, (timed_out, cancelled), started, spec)
            if sup.error is not None:
                raise ValueError(sup.error)
            if sup.failure is not None:
                return _exec_failure(*sup.failure, started, spec.timeout)
            if sup.escaped:
                log.info(
                    "killed %d process(es) that left the attempt's process group: %s", len(sup.escaped), sup.escaped
                )
            if timed_out or cancelled:
                assert helper.ns is not None
                stray = kill_namespace(helper.ns, exclude=helper.own_pids)
                if stray:
                    log.warning("killed %d process(es) still in the attempt's namespace: %s", len(stray), stray)
            sup.drain(time.monotonic() + _DRAIN_SECONDS)
        finally:
            sup.close()
        returncode = sup.returncode
        assert returncode is not None
        log_bytes, truncated = sup.buffer.value()
        return AttemptResult(
            exit_code=returncode if returncode >= 0 else None,
            signal=-returncode if returncode < 0 else None,
            timed_out=timed_out,
            cancelled=cancelled,
            duration=duration,
            log=log_bytes,
            log_truncated=truncated,
            timeout=spec.timeout,
        )

    def _helper_died(
        self,
        helper: _Helper,
        sup: _Supervisor | None,
        stopped: tuple[bool, bool] | None,
        started: float,
        spec: AttemptSpec,
    ) -> AttemptResult:
        """The helper went away mid-attempt: kill what is left of the attempt, fail it."""
        how = helper.how_it_ended()
        reason = f"sandbox helper died ({how})"
        log.warning("sandbox helper %d died during an attempt: %s", helper.pid, how)
        with self._lock:
            if self._helper is helper:
                self._helper = None
        helper.close()  # kills whatever is left in its namespace
        log_bytes, truncated = b"", False
        if sup is not None:
            sup.drain(time.monotonic() + _DRAIN_SECONDS)
            log_bytes, truncated = sup.buffer.value()
        timed_out, cancelled = stopped or (False, False)
        return _sandbox_failure(reason, log_bytes, truncated, started, spec, timed_out, cancelled)


def _sandbox_failure(
    reason: str,
    log_bytes: bytes,
    truncated: bool,
    started: float,
    spec: AttemptSpec,
    timed_out: bool = False,
    cancelled: bool = False,
) -> AttemptResult:
    return AttemptResult(
        exit_code=None,
        signal=None,
        timed_out=timed_out,
        cancelled=cancelled,
        duration=time.monotonic() - started,
        log=log_bytes + f"tusk-sandbox: {reason}\n".encode(),
        log_truncated=truncated,
        timeout=spec.timeout,
        sandbox_error=reason,
    )


class SandboxPool:
    """Sandboxes (and their helpers) kept across jobs: a job's slots take them and give them
    back at the job's end, so a helper starts once per worker for the server's life."""

    def __init__(
        self, *, isolation: Isolation | None = None, env: Mapping[str, str] | None = None, max_idle: int = 8
    ) -> None:
        self._isolation = isolation
        self._env = dict(env or {})
        self._max_idle = max_idle
        self._idle: list[Sandbox] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> Sandbox:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Sandbox(isolation=self._isolation, env=self._env)

    def release(self, sandbox: Sandbox) -> None:
        """Take back a sandbox whose attempts are over (its mounts are dropped)."""
        sandbox.reset()
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(sandbox)
                return
        sandbox.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for sandbox in idle:
            sandbox.close()


# -- fallback mode ------------------------------------------------------------------------------


def _run_direct(spec: AttemptSpec, cancel: threading.Event) -> AttemptResult:
    """Fallback mode: the engine starts the process itself, in the symlink layout."""
    scratch = spec.scratch_dir
    root = scratch / "pfs"
    tmp = scratch / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env(tmp)
    working_dir = os.path.join(PFS_ROOT, spec.working_dir) if spec.working_dir else PFS_ROOT
    started = time.monotonic()
    _link_layout(root, spec.inputs, spec.out_dir)
    paths = _PfsPaths(root, spec.inputs, spec.out_dir)
    env.update({key: paths.host(value) for key, value in spec.env.items()})
    cwd = paths.host(working_dir)
    if not os.path.isdir(cwd):
        return _exec_failure(_SETUP_FAILED, f"cannot change to working directory {working_dir}", started, spec.timeout)
    stdin_data = ("\n".join(spec.stdin) + "\n").encode() if spec.stdin else b""
    out_r, out_w, in_r, in_w = _pipes(stdin_data)
    try:
        proc = subprocess.Popen(
            list(spec.cmd),
            stdin=subprocess.DEVNULL if in_r is None else in_r,
            stdout=out_w,
            stderr=out_w,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        os.close(out_r)
        if in_w is not None:
            os.close(in_w)
        if exc.errno == errno.ENOENT:
            return _exec_failure(127, f"{spec.cmd[0]}: command not found", started, spec.timeout)
        if exc.errno in (errno.EACCES, errno.ENOEXEC, errno.EISDIR, errno.EPERM):
            return _exec_failure(126, f"{spec.cmd[0]}: {exc.strerror}", started, spec.timeout)
        raise
    except BaseException:
        os.close(out_r)
        if in_w is not None:
            os.close(in_w)
        raise
    finally:
        os.close(out_w)
        if in_r is not None:
            os.close(in_r)

    try:
        sup = _ChildSupervisor(proc, out_r, in_w, stdin_data, spec.log_limit)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    try:
        timed_out, cancelled = _supervise(sup, spec, cancel, started)
        duration = time.monotonic() - started
        # Leftovers in the group die before the main process is reaped (see signal_group).
        sup.signal_group(signal.SIGKILL)
        sup.drain(time.monotonic() + _DRAIN_SECONDS)
        returncode = proc.wait()
        sup.reaped = True
        wait_group_dead(proc.pid)
    finally:
        if proc.returncode is None:
            # Only reached on an unexpected error above: never leave the group running.
            sup.signal_group(signal.SIGKILL)
            proc.wait()
        sup.close()

    log_bytes, truncated = sup.buffer.value()
    return AttemptResult(
        exit_code=returncode if returncode >= 0 else None,
        signal=-returncode if returncode < 0 else None,
        timed_out=timed_out,
        cancelled=cancelled,
        duration=duration,
        log=log_bytes,
        log_truncated=truncated,
        timeout=spec.timeout,
    )


def run_attempt(
    spec: AttemptSpec,
    cancel: threading.Event,
    *,
    isolation: Isolation | None = None,
    sandbox: Sandbox | None = None,
) -> AttemptResult:
    """Run ``spec.cmd`` once in the /pfs layout and wait until it and everything it started is gone.

    With ``sandbox``, in it (its helper is reused); otherwise in a sandbox of its own, closed
    before returning. ``isolation`` forces a mode for that own sandbox (tests use it to exercise
    the fallback); by default the probed mode is used. Raises ValueError for an empty command or
    a bad input name, FileNotFoundError for a missing input, OSError when the scratch dir cannot
    be prepared.
    """
    if sandbox is not None:
        return sandbox.run(spec, cancel)
    own = Sandbox(isolation=isolation)
    try:
        return own.run(spec, cancel)
    finally:
        own.close()
