"""Run one attempt of a datum's user code and report how it ended.

The user process sees Pachyderm's layout: its inputs under ``/pfs/<input name>`` and its output
directory at ``/pfs/out``. Two ways of providing that, chosen once per server process by a cheap
probe (``detect_isolation``):

* ``Isolation.NAMESPACE`` (preferred; root, or an unprivileged user namespace): the command runs
  under ``unshare --mount --propagation private``. A short ``/bin/sh`` wrapper mounts, from a
  per-attempt fstab in one ``mount -a`` call, the attempt's pfs root (a directory in its scratch
  dir) on ``/pfs``, every input read-only on ``/pfs/<name>`` and the out dir writable on
  ``/pfs/out``, then execs the command. Nothing is copied, nothing leaks into the host's
  mount table, and the mounts vanish with the last process of the attempt. The host needs an
  (empty) ``/pfs`` directory as mount point; the probe creates it when it is missing.
* ``Isolation.FALLBACK`` (no namespaces, or no ``/pfs`` mount point): the pfs root is a directory
  of symlinks (``<name>`` -> input dir, ``out`` -> out dir) and is the process's working
  directory, so relative paths (``in/a.txt``, ``out/b.txt``) work. Environment values and the
  working directory that start with ``/pfs`` are rewritten to the real host paths, but literal
  ``/pfs/...`` paths in the code itself do NOT work, and inputs are not write-protected. A
  warning is logged once when the probe settles on this mode.

In both modes the default working directory is the pfs root (``/pfs`` in a namespace), and a
relative ``working_dir`` is relative to it. The read-only inputs guard against mistakes, not
malice: user code runs with the server's privileges and, as root in its namespace, could remount
them.

Process hygiene: the user process leads its own session and process group. A timeout or the cancel
event sends SIGTERM to the whole group, waits ``TERM_GRACE_SECONDS``, then sends SIGKILL. When the
main process ends on its own, whatever it left running in its group is killed too; in namespace
mode, processes that escaped the group (``setsid``) are found by their view of ``/pfs`` and killed
as well (in fallback mode such escapees are out of reach). When ``run_attempt`` returns, no
process of the attempt is alive (zombies waiting for init to reap them are dead). Output (stdout
and stderr on one pipe) is kept with bounded memory: the head and the tail, with a marker where
the middle was dropped.

Exit codes the sandbox itself produces: 125 when the /pfs layout or the working directory cannot
be set up, 126 when the command is not executable and 127 when it is not found (as a shell would).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

TERM_GRACE_SECONDS = 0.5
"""How long a process group gets between SIGTERM and SIGKILL."""

PFS_ROOT = "/pfs"
OUT_NAME = "out"

_POLL_SECONDS = 0.05  # how often the cancel event is looked at (an Event cannot be polled on)
_DRAIN_SECONDS = 1.0  # how long to wait for the output pipe to close once the group is dead
_REAP_SECONDS = 2.0  # how long to wait for killed leftovers to die before giving up with a warning
_READ_CHUNK = 1 << 18
_PIPE_SIZE = 1 << 20
_MARKER_RESERVE = 64  # room kept in the log for the elision marker
_SETUP_FAILED = 125
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")

# $1 mount binary, $2 fstab, $3 working dir, then the user's command. Mount errors go to the
# attempt's log, so the user sees why the attempt failed.
_WRAPPER = (
    '"$1" -n -a -T "$2" || { echo "tusk-sandbox: could not mount the /pfs layout" >&2; exit 125; }\n'
    'cd "$3" || { echo "tusk-sandbox: cannot change to working directory $3" >&2; exit 125; }\n'
    "shift 3\n"
    'exec "$@"\n'
)


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
    """Host directory that appears, writable, at ``/pfs/out``; created when missing."""
    scratch_dir: Path
    """Private directory of this attempt: holds the pfs root, TMPDIR and the fstab."""
    timeout: float | None = None
    log_limit: int = 1 << 20
    """Bytes of combined stdout+stderr kept; beyond it the head and the tail are kept."""


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """How one attempt ended; exactly one of exit_code and signal is set once the process ran."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    cancelled: bool
    duration: float
    log: bytes
    log_truncated: bool
    timeout: float | None = None
    """The timeout that applied, so ``describe`` can name it."""

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
        if self.signal is not None:
            return f"killed by signal {self.signal}"
        return f"exit code {self.exit_code}"


def format_seconds(seconds: float) -> str:
    """``30`` -> ``30s``, ``0.5`` -> ``0.5s``."""
    return f"{seconds:g}s"


@dataclass(frozen=True)
class _Launcher:
    """The namespace command prefix and mount binary the probe found working."""

    prefix: tuple[str, ...]
    mount: str


_probe_lock = threading.Lock()
_probed = False
_launcher: _Launcher | None = None


def detect_isolation() -> Isolation:
    """Probe once (cached) whether attempts can get a private /pfs mount namespace."""
    global _probed, _launcher
    with _probe_lock:
        if not _probed:
            _launcher = _probe()
            _probed = True
            if _launcher is None:
                log.warning(
                    "no private mount namespace for user code: /pfs/... paths will not work, only "
                    "relative paths from the working directory and the environment variables do"
                )
            else:
                log.info("user code runs in private mount namespaces (%s)", " ".join(_launcher.prefix))
        return Isolation.NAMESPACE if _launcher is not None else Isolation.FALLBACK


def _probe() -> _Launcher | None:
    unshare = shutil.which("unshare")
    mount = shutil.which("mount")
    if unshare is None or mount is None or not os.access("/bin/sh", os.X_OK):
        log.info("unshare, mount or /bin/sh missing: no mount namespaces")
        return None
    if not _ensure_mountpoint():
        return None
    if os.geteuid() == 0:
        prefix: tuple[str, ...] = (unshare, "--mount", "--propagation", "private")
    else:
        prefix = (unshare, "--user", "--map-root-user", "--mount", "--propagation", "private")
    with tempfile.TemporaryDirectory(prefix="tusk-probe-") as tmp:
        base = Path(tmp)
        (base / "in").mkdir()
        (base / "in" / "probe").write_bytes(b"")
        (base / "out").mkdir()
        root = base / "pfs"
        fstab = base / "fstab"
        _write_layout(root, fstab, {"in": base / "in"}, base / "out")
        check = "test -f /pfs/in/probe && ! (: > /pfs/in/w) 2>/dev/null && : > /pfs/out/ok"
        args = [*prefix, "/bin/sh", "-c", _WRAPPER, "tusk-sandbox", mount, str(fstab), PFS_ROOT]
        try:
            done = subprocess.run(
                [*args, "/bin/sh", "-c", check],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("mount namespace probe failed: %s", exc)
            return None
        ok = done.returncode == 0 and (base / "out" / "ok").exists() and not (base / "in" / "w").exists()
        if not ok:
            log.info(
                "mount namespace probe failed (exit %s): %s",
                done.returncode,
                (done.stdout + done.stderr).decode(errors="replace").strip(),
            )
            return None
    return _Launcher(prefix, mount)


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


def _fstab_escape(path: str) -> str:
    # fstab fields are whitespace separated; libmount unmangles these octal escapes.
    out = path.replace("\\", "\\134")
    for char, code in ((" ", "\\040"), ("\t", "\\011"), ("\n", "\\012")):
        out = out.replace(char, code)
    return out


def _fresh_dir(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _write_layout(root: Path, fstab: Path, inputs: Mapping[str, Path], out_dir: Path) -> None:
    """Namespace mode: empty mount points under ``root`` and the fstab that fills them."""
    _fresh_dir(root)
    lines = [f"{_fstab_escape(str(root))} {PFS_ROOT} none bind 0 0"]
    for name, host in sorted(inputs.items()):
        host = host.absolute()
        if host.is_dir():
            (root / name).mkdir()
        else:
            (root / name).touch()
        lines.append(f"{_fstab_escape(str(host))} {PFS_ROOT}/{_fstab_escape(name)} none bind,ro 0 0")
    (root / OUT_NAME).mkdir()
    lines.append(f"{_fstab_escape(str(out_dir.absolute()))} {PFS_ROOT}/{OUT_NAME} none bind 0 0")
    fstab.write_text("\n".join(lines) + "\n")


def _link_layout(root: Path, inputs: Mapping[str, Path], out_dir: Path) -> None:
    """Fallback mode: the pfs root is a directory of symlinks to the real directories."""
    _fresh_dir(root)
    for name, host in inputs.items():
        (root / name).symlink_to(host.absolute())
    (root / OUT_NAME).symlink_to(out_dir.absolute())


def _check_inputs(inputs: Mapping[str, Path]) -> None:
    for name, host in inputs.items():
        if not name or "/" in name or name in (".", "..", OUT_NAME) or "\0" in name:
            raise ValueError(f"input name {name!r} cannot appear under {PFS_ROOT}")
        if not host.exists():
            raise FileNotFoundError(f"input {name!r}: {host} does not exist")


def _base_env(scratch_tmp: Path) -> dict[str, str]:
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.setdefault("HOME", "/")
    env.setdefault("LANG", "C.UTF-8")
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


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[2])


def _live_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _is_dead(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is None or stat[0] in ("Z", "X")


def _wait_dead(pids: Sequence[int], deadline: float) -> bool:
    pending = [pid for pid in pids if not _is_dead(pid)]
    while pending:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
        pending = [pid for pid in pending if not _is_dead(pid)]
    return True


def _kill_namespace_stragglers(root_id: tuple[int, int]) -> list[int]:
    """SIGKILL processes whose ``/pfs`` is this attempt's pfs root (they escaped the group)."""
    try:
        own_ns = os.readlink("/proc/self/ns/mnt")
    except OSError:
        return []
    killed = []
    for pid in _live_pids():
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") == own_ns:
                continue
            st = os.stat(f"/proc/{pid}/root{PFS_ROOT}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == root_id:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
            killed.append(pid)
    if killed:
        log.info("killed %d process(es) that left the attempt's process group: %s", len(killed), killed)
    return killed


class _Supervisor:
    """Pumps one running process: output in, stdin out, exit, timeout and cancel."""

    def __init__(self, proc: subprocess.Popen[bytes], stdin_data: bytes, log_limit: int) -> None:
        self.proc = proc
        self.buffer = _LogBuffer(log_limit)
        self.exited = False
        self._poller = select.poll()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(proc.pid)
            self._poller.register(self._pidfd, select.POLLIN)
        except (AttributeError, OSError):
            self._pidfd = None  # old kernel: fall back to waitid polling
        assert proc.stdout is not None
        self._out: int | None = proc.stdout.fileno()
        with contextlib.suppress(OSError):  # a smaller pipe only costs more wake-ups
            fcntl.fcntl(self._out, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._poller.register(self._out, select.POLLIN)
        self._stdin: int | None = None
        self._stdin_data = memoryview(stdin_data)
        if proc.stdin is not None:
            self._stdin = proc.stdin.fileno()
            os.set_blocking(self._stdin, False)
            self._poller.register(self._stdin, select.POLLOUT)

    def pump(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for output, stdin room or exit, and handle what came."""
        if self._pidfd is None and not self.exited:
            timeout = min(timeout, 0.01)
        for fd, events in self._poller.poll(max(timeout, 0.0) * 1000):
            if fd == self._out:
                self._read()
            elif fd == self._stdin:
                self._write_stdin(events)
            elif fd == self._pidfd:
                self.exited = True
                self._poller.unregister(fd)
        if self._pidfd is None and not self.exited:
            self.exited = self._exited_without_reaping()

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
            self._out = None

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
            self._stdin = None
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def _exited_without_reaping(self) -> bool:
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def signal_group(self, sig: int) -> None:
        # Only called before the main process is reaped: while it is a zombie its pid, and so
        # the group id, cannot be handed to another process.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

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
                log.warning("pid %d: output pipe still held open by an escaped process", self.proc.pid)
                return
            self.pump(min(remaining, _POLL_SECONDS))

    def close(self) -> None:
        self._close_stdin()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


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


def run_attempt(spec: AttemptSpec, cancel: threading.Event, *, isolation: Isolation | None = None) -> AttemptResult:
    """Run ``spec.cmd`` once in the /pfs layout and wait until it and everything it started is gone.

    ``isolation`` forces a mode (tests use it to exercise the fallback); by default the probed
    mode is used. Raises ValueError for an empty command or a bad input name, FileNotFoundError
    for a missing input, OSError when the scratch dir cannot be prepared.
    """
    if not spec.cmd:
        raise ValueError("an attempt needs a command")
    _check_inputs(spec.inputs)
    detected = detect_isolation()
    mode = isolation or detected
    launcher = _launcher if mode is Isolation.NAMESPACE else None
    if mode is Isolation.NAMESPACE and launcher is None:
        raise RuntimeError("mount namespaces are not available here")
    if cancel.is_set():
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

    scratch = spec.scratch_dir
    root = scratch / "pfs"
    tmp = scratch / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env(tmp)
    # A relative working_dir is taken relative to /pfs, in both modes.
    working_dir = os.path.join(PFS_ROOT, spec.working_dir) if spec.working_dir else PFS_ROOT
    started = time.monotonic()
    if launcher is not None:
        fstab = scratch / "fstab"
        _write_layout(root, fstab, spec.inputs, spec.out_dir)
        env.update(spec.env)
        args = [*launcher.prefix, "/bin/sh", "-c", _WRAPPER, "tusk-sandbox", launcher.mount, str(fstab)]
        args.append(working_dir)
        args.extend(spec.cmd)
        cwd = str(scratch)
    else:
        _link_layout(root, spec.inputs, spec.out_dir)
        paths = _PfsPaths(root, spec.inputs, spec.out_dir)
        env.update({key: paths.host(value) for key, value in spec.env.items()})
        cwd = paths.host(working_dir)
        if not os.path.isdir(cwd):
            return _exec_failure(
                _SETUP_FAILED, f"cannot change to working directory {working_dir}", started, spec.timeout
            )
        args = list(spec.cmd)
    root_st = root.stat()
    stdin_data = ("\n".join(spec.stdin) + "\n").encode() if spec.stdin else b""

    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        if launcher is not None:
            raise
        if exc.errno == errno.ENOENT:
            return _exec_failure(127, f"{spec.cmd[0]}: command not found", started, spec.timeout)
        if exc.errno in (errno.EACCES, errno.ENOEXEC, errno.EISDIR, errno.EPERM):
            return _exec_failure(126, f"{spec.cmd[0]}: {exc.strerror}", started, spec.timeout)
        raise

    try:
        sup = _Supervisor(proc, stdin_data, spec.log_limit)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    timed_out = cancelled = False
    try:
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
            log.info("pid %d: %s, stopping its process group", proc.pid, "timed out" if timed_out else "cancelled")
            sup.terminate()
        duration = time.monotonic() - started
        # Leftovers in the group die before the main process is reaped (see signal_group).
        sup.signal_group(signal.SIGKILL)
        stragglers = _kill_namespace_stragglers((root_st.st_dev, root_st.st_ino)) if launcher else []
        sup.drain(time.monotonic() + _DRAIN_SECONDS)
        returncode = proc.wait()
        _wait_group_dead(proc.pid, stragglers)
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


def _wait_group_dead(pgid: int, stragglers: Sequence[int]) -> None:
    """Wait until every killed process of the attempt is dead (zombies count as dead)."""
    deadline = time.monotonic() + _REAP_SECONDS
    members: list[int] = list(stragglers)
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty: the common case, no /proc scan needed
    else:
        for pid in _live_pids():
            stat = _proc_stat(pid)
            if stat is not None and stat[1] == pgid:
                members.append(pid)
    if members and not _wait_dead(members, deadline):
        log.warning("processes of group %d still alive %.0fs after SIGKILL", pgid, _REAP_SECONDS)
