"""The namespace helper ("zygote"): a long-lived process that starts user code inside a private
mount namespace holding the Pachyderm ``/pfs`` layout.

Started by :mod:`tuskd.engine.sandbox_helper` as ``python -I -S zygote.py <fd>`` (this file imports the
standard library only, so it starts without the site machinery or tusk's own packages), it:

1. leaves the server's mount namespace (``unshare(CLONE_NEWNS)``; with a user namespace too when
   not root), makes every mount private, and becomes a *child subreaper*: every process user
   code starts stays in this process's tree, whatever it does with sessions and groups.
   As root it also leaves the server's PID namespace: it forks once after
   ``unshare(CLONE_NEWPID)``, the child (PID 1 of the new namespace) serves the requests and
   replaces the server's ``/proc`` with one of its own namespace, and the parent only waits
   for it (and passes SIGTERM/SIGHUP on). User code then sees no process of the host -- no
   ``/proc/<server pid>/root``, the server's mount namespace, where the data directory is
   writable. If PID 1 dies, the kernel kills every process of its namespace; if the parent
   dies, PID 1 is killed (``PR_SET_PDEATHSIG``). The ``pid`` this process reports is then a
   pid of its namespace: the engine translates it (``NSpid`` in the host's ``/proc``).
   Unprivileged, the user namespace already refuses that path, and no PID namespace is made;
2. answers requests on the control socket ``<fd>`` (AF_UNIX, SOCK_SEQPACKET, one JSON message per
   packet), one attempt at a time:

   * ``run``: make ``/pfs`` hold the requested layout (bind mounts, done only when the layout
     differs from what is mounted or a mount is no longer intact), then spawn the command in a
     new session (``posix_spawn``: one vfork and exec, no Python in between) with the stdout
     (and stdin) pipe the engine passed along (SCM_RIGHTS) and reply
     ``{"pid": ...}`` at once, or ``{"fail": <exit code>, "message": ...}`` when it could not
     start (125 layout or working directory, 126 not executable, 127 not found). When the
     process exits: SIGKILL its process group, kill every other process left in the tree
     (escaped with ``setsid`` or orphaned), wait until they are dead, and reply
     ``{"exit": <returncode>, "escaped": [pids]}``. The main process itself stays a zombie
     until the engine's next message, so its pid (the group id the engine may signal for a
     timeout or a cancel) cannot be reused while the engine may still use it.
   * ``reset``: unmount the layout (the helper goes back to a pool).
   * ``quit``, or the socket closing (the server exited or was killed): kill every process of
     the tree and exit.

The engine keeps every decision (timeouts, cancel, retries); this process only does what needs
to happen inside the namespace, on its own CPU.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import errno
import json
import os
import select
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

PFS_ROOT = "/pfs"
OUT_NAME = "out"
MAX_MESSAGE = 1 << 16
"""Requests larger than this travel in a file named by a ``{"file": ...}`` message."""
MAX_FDS = 2
SETUP_FAILED = 125

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MNT_DETACH = 0x2
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1

_SWEEP_SECONDS = 2.0
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Python ignores these; a spawned program must get the default actions back (as subprocess does).
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
# statvfs flags a read-only remount of a bind mount must keep (the kernel refuses to drop the
# ones locked by a less privileged user namespace, and dropping the others is not intended).
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)


class LayoutError(Exception):
    """The /pfs layout could not be mounted."""


_libc: Any = None


def _lib() -> Any:
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
        libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        libc.unshare.argtypes = [ctypes.c_int]
        _libc = libc
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, flags: int, fstype: str | None = None) -> None:
    src = None if source is None else os.fsencode(source)
    kind = None if fstype is None else fstype.encode()
    _check(_lib().mount(src, os.fsencode(target), kind, flags, None), f"mount {source or ''} on {target}")


def _umount(target: str) -> None:
    _check(_lib().umount2(os.fsencode(target), MNT_DETACH), f"umount {target}")


READONLY_ENV = "TUSK_SANDBOX_READONLY"
"""Environment variable (of the helper, not of user code): directories to make read-only in the
namespace, separated by ``os.pathsep`` — the server's data directory."""


def _kept_flags(path: str) -> int:
    """The mount flags a bind remount of ``path`` must keep (the kernel refuses to drop them)."""
    kept = 0
    flags = os.statvfs(path).f_flag
    for st_flag, ms_flag in _KEPT_FLAGS:
        if flags & st_flag:
            kept |= ms_flag
    return kept


def protect(paths: str) -> None:
    """Make each directory in ``paths`` read-only inside this namespace (recursively), so user
    code cannot touch the store, the blobs or other datums' files through their host paths."""
    for path in filter(None, paths.split(os.pathsep)):
        if os.path.isdir(path):
            _mount(path, path, MS_BIND | MS_REC)
            _mount(None, path, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(path))


def ensure_writable(path: str) -> None:
    """Give a directory under a protected one its own writable mount (once: a mount that is
    already writable is left alone, so mounts never pile up)."""
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        _mount(path, path, MS_BIND)
        _mount(None, path, MS_REMOUNT | MS_BIND | _kept_flags(path))


def enter_namespace() -> None:
    """Leave the server's mount namespace, make mounts private, become a child subreaper."""
    lib = _lib()
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER
    _check(lib.unshare(flags), "unshare")
    if uid != 0:
        for name, value in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(value)
    _mount(None, "/", MS_REC | MS_PRIVATE)
    _check(lib.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


def enter_pid_namespace() -> bool:
    """As root: fork into a new PID namespace (see the module docstring). Returns in the child
    (PID 1), with its own ``/proc`` mounted; the parent never returns: it waits for the child
    and exits with its status. False (nothing changed) when not root."""
    if os.geteuid() != 0:
        return False
    lib = _lib()
    _check(lib.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
    child = os.fork()
    if child == 0:
        _check(lib.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
        with contextlib.suppress(OSError):
            _umount("/proc")  # the host's, with whatever is mounted below it
        _mount("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc")
        return True
    _wait_for_init(child)
    raise AssertionError("unreachable")


def _wait_for_init(child: int) -> None:
    """The parent's whole life: pass termination signals on, exit as the child did."""

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, forward)
    for fd in range(3, 1024):  # the control socket: the engine must see it close with the child
        with contextlib.suppress(OSError):
            os.close(fd)
    while True:
        try:
            _, status = os.waitpid(child, 0)
        except InterruptedError:
            continue
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


# -- processes -----------------------------------------------------------------------------------


def children(pid: int, single_threaded: bool = False) -> list[int]:
    """Direct children of ``pid`` (every thread's), from /proc (``[]`` when it is gone)."""
    found: list[int] = []
    try:
        tids = [str(pid)] if single_threaded else os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                found.extend(int(p) for p in fh.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue
            return _children_by_scan(pid)  # a kernel without CONFIG_PROC_CHILDREN
        except OSError:
            continue
    return found


def _children_by_scan(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None and stat[1] == pid:
                found.append(int(name))
    return found


def stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, parent, group...), or
    None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, or None when it is gone."""
    fields = stat_fields(pid)
    return None if fields is None else (fields[0].decode(), int(fields[1]))


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _descendants(roots: Iterable[int]) -> list[int]:
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(children(pid))
    return seen


def _reap(pid: int) -> bool:
    """Collect ``pid`` if it is our child and has exited; True when it is gone."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def sweep(keep: int | None = None, deadline_seconds: float = _SWEEP_SECONDS) -> list[int]:
    """SIGKILL every process in our tree except ``keep`` (the zombie main process the engine
    may still signal), reap what becomes our zombie, and wait until all are dead."""
    me = os.getpid()
    killed: list[int] = []
    deadline = time.monotonic() + deadline_seconds
    while True:
        roots = [pid for pid in children(me, single_threaded=True) if pid != keep]
        live = False
        for pid in roots:
            if _reap(pid):
                continue
            for victim in _descendants([pid]):
                if _alive(victim):
                    live = True
                    with contextlib.suppress(OSError):
                        os.kill(victim, signal.SIGKILL)
                    if victim not in killed:
                        killed.append(victim)
        if not roots:
            return killed
        if time.monotonic() >= deadline:
            print(f"tusk-zygote: processes still alive after SIGKILL: {roots}", file=sys.stderr)
            return killed
        if live:
            time.sleep(0.001)
        else:
            time.sleep(0.0002)  # zombies of other parents: they are being reaped


# -- the /pfs layout -----------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


class Layout:
    """What ``/pfs`` shows: ``root`` (a private directory of mount points) on /pfs, each input
    read-only on /pfs/<name>, ``out`` writable on /pfs/out."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.root: str = spec["root"]
        self.inputs: list[tuple[str, str, bool]] = [(n, h, bool(d)) for n, h, d in spec["inputs"]]
        self.out: str = spec["out"]
        self.tmp: str = spec.get("tmp", "")  # the user code's TMPDIR: writable like out
        self.names = {name for name, _, _ in self.inputs} | {OUT_NAME}

    def key(self) -> tuple[object, ...]:
        return (self.root, tuple(self.inputs), self.out)

    def intact(self) -> bool:
        """The mounts show the right directories (a replaced source or a mount user code
        removed shows up here), and the inputs are still read-only."""
        if not _same(self.root, PFS_ROOT) or not _same(self.out, f"{PFS_ROOT}/{OUT_NAME}"):
            return False
        for name, host, _ in self.inputs:
            target = f"{PFS_ROOT}/{name}"
            if not _same(host, target):
                return False
            try:
                if not os.statvfs(target).f_flag & os.ST_RDONLY:
                    return False
            except OSError:
                return False
        return True

    def prune_root(self) -> None:
        """Remove what user code left in the /pfs root itself (not under a mount point)."""
        with os.scandir(self.root) as entries:
            stray = [e for e in entries if e.name not in self.names]
        for entry in stray:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)

    def mount(self) -> None:
        # What this attempt may write, carved out of the read-only data directory.
        for path in (os.path.dirname(self.root), self.out, self.tmp):
            if path and os.path.isdir(path):
                ensure_writable(path)
        os.makedirs(self.root, exist_ok=True)
        self.prune_root()
        for name, _, is_dir in self.inputs:
            point = os.path.join(self.root, name)
            if is_dir:
                if not os.path.isdir(point):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(point)
                    os.mkdir(point)
            elif not os.path.isfile(point):
                if os.path.isdir(point):
                    os.rmdir(point)
                open(point, "ab").close()
        os.makedirs(os.path.join(self.root, OUT_NAME), exist_ok=True)
        _mount(self.root, PFS_ROOT, MS_BIND)
        for name, host, _ in self.inputs:
            target = f"{PFS_ROOT}/{name}"
            _mount(host, target, MS_BIND)
            _mount(None, target, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(target))
        _mount(self.out, f"{PFS_ROOT}/{OUT_NAME}", MS_BIND)


class WorkingDirError(Exception):
    """The working directory does not exist (exit 125)."""


def find_program(name: str, path: str) -> str:
    """Where ``name`` is on ``path`` (execvp's rules, by stat instead of failed execs): the first
    executable file; else the first file found (its exec fails with EACCES, exit 126); else
    FileNotFoundError (exit 127). A name with a slash is used as it is."""
    if "/" in name:
        return name
    found = None
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            found = found or candidate
    if found is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
    return found


def spawn(cmd: Sequence[str], env: dict[str, str], cwd: str, stdin_fd: int, out_fd: int) -> int:
    """Start ``cmd`` in a new session with stdin and stdout+stderr on the given descriptors;
    its pid. Every other descriptor of this process is close-on-exec. OSError as exec reports
    it; WorkingDirError when the working directory is bad."""
    program = find_program(cmd[0], env.get("PATH", _DEFAULT_PATH))
    return _spawn(program, cmd, env, cwd, stdin_fd, out_fd)


def _spawn(program: str, cmd: Sequence[str], env: dict[str, str], cwd: str, stdin_fd: int, out_fd: int) -> int:
    try:
        os.chdir(cwd)  # this process is single-threaded: the child starts there
    except OSError as exc:
        raise WorkingDirError(f"cannot change to working directory {cwd}") from exc
    try:
        return os.posix_spawn(
            program,
            list(cmd),
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_fd, 0),
                (os.POSIX_SPAWN_DUP2, out_fd, 1),
                (os.POSIX_SPAWN_DUP2, out_fd, 2),
            ],
            setsid=True,
            setsigdef=_RESET_SIGNALS,
        )
    finally:
        os.chdir("/")


class Zygote:
    """The request loop (see the module docstring)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.layout: Layout | None = None
        self.mounted = False
        self.child: int | None = None  # pid of the attempt's main process (a zombie once done)
        self.pidfd: int | None = None
        self.out_fd: int | None = None  # our copy of the output pipe, held until the exit is sent
        self.running = False
        self.devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)

    # -- messages --------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        self.sock.send(json.dumps(message).encode())

    def receive(self) -> tuple[dict[str, Any], list[int]] | None:
        """The next request and the fds it carried; None when the engine went away."""
        try:
            data, ancillary, flags, _ = self.sock.recvmsg(
                MAX_MESSAGE, socket.CMSG_SPACE(MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC
            )
        except ConnectionError:
            return None
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
        if not data:
            for fd in fds:
                os.close(fd)
            return None
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            for fd in fds:
                os.close(fd)
            raise ValueError("request truncated")
        message = json.loads(data)
        if "file" in message:
            with open(message["file"], "rb") as fh:
                message = json.loads(fh.read())
        return message, fds

    # -- the loop --------------------------------------------------------------------------

    def serve(self) -> None:
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        while True:
            timeout = None
            if self.running and self.pidfd is None:
                timeout = 10  # no pidfd (old kernel): look at the child now and then
            events = poller.poll(timeout)
            if self.running and (self.pidfd is None or any(fd == self.pidfd for fd, _ in events)):
                if self.pidfd is not None:
                    poller.unregister(self.pidfd)
                if not self._child_finished():
                    if self.pidfd is not None:
                        poller.register(self.pidfd, select.POLLIN)
                else:
                    self._finish_attempt()
            if not any(fd == self.sock.fileno() for fd, _ in events):
                continue
            got = self.receive()
            if got is None:
                return
            message, fds = got
            self._collect_previous()
            op = message.get("op")
            if op == "run":
                self._run(message, fds)
                if self.running and self.pidfd is not None:
                    poller.register(self.pidfd, select.POLLIN)
                continue
            for fd in fds:
                os.close(fd)
            if op == "reset":
                self._unmount()
                self.send({"ok": True})
            elif op == "quit":
                return
            else:
                self.send({"error": "ValueError", "message": f"unknown request {op!r}"})

    def _child_finished(self) -> bool:
        assert self.child is not None
        try:
            info = os.waitid(os.P_PID, self.child, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _finish_attempt(self) -> None:
        """The main process exited (a zombie, not reaped): kill what it left, report."""
        assert self.child is not None
        pid = self.child
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        returncode = -1
        if info is not None:
            returncode = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # its group still exists: the zombie leader holds it
        escaped = sweep(keep=pid)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.running = False
        self.send({"exit": returncode, "escaped": escaped})
        self._release_output()

    def _release_output(self) -> None:
        # The engine sees end of file only now, with the exit message already waiting: one
        # wake-up for it per attempt.
        if self.out_fd is not None:
            os.close(self.out_fd)
            self.out_fd = None

    def _collect_previous(self) -> None:
        """The engine moved on: the previous attempt's main process may be reaped now."""
        if self.child is not None and not self.running:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.child, 0)
            self.child = None

    def _unmount(self, force: bool = False) -> None:
        if self.mounted or force:
            with contextlib.suppress(OSError):
                _umount(PFS_ROOT)  # lazily, with every mount below it
            self.mounted = False
        self.layout = None

    def _prepare(self, spec: dict[str, Any]) -> None:
        layout = Layout(spec)
        if self.mounted and self.layout is not None and self.layout.key() == layout.key() and layout.intact():
            layout.prune_root()
            return
        self._unmount()
        try:
            layout.mount()
        except OSError as exc:
            self._unmount(force=True)  # whatever part of it was mounted
            raise LayoutError(f"could not mount the /pfs layout: {exc}") from None
        self.layout = layout
        self.mounted = True

    def _run(self, message: dict[str, Any], fds: Sequence[int]) -> None:
        child: int | None = None
        try:
            child = self._start(message, fds)
        finally:
            # Replies go out before the descriptors close: the engine reads them at end of file.
            for fd in fds[1:] if child is not None else fds:
                os.close(fd)
        if child is None:
            return
        self.out_fd = fds[0]
        self.child = child
        self.running = True
        try:
            self.pidfd = os.pidfd_open(child)
        except (AttributeError, OSError):
            self.pidfd = None
        self.send({"pid": child})

    def _start(self, message: dict[str, Any], fds: Sequence[int]) -> int | None:
        """Spawn the request's command; None (a reply sent) when it could not start."""
        if self.running or not fds:
            self.send({"error": "RuntimeError", "message": "an attempt is already running or has no output"})
            return None
        out_fd = fds[0]
        in_fd = fds[1] if len(fds) > 1 else self.devnull
        try:
            self._prepare(message["layout"])
        except LayoutError as exc:
            self.send({"fail": SETUP_FAILED, "message": str(exc)})
            return None
        cmd = message["cmd"]
        try:
            return spawn(cmd, message["env"], message["cwd"], in_fd, out_fd)
        except WorkingDirError as exc:
            self.send({"fail": SETUP_FAILED, "message": str(exc)})
        except OSError as exc:
            code = 127 if exc.errno == errno.ENOENT else 126
            what = "command not found" if code == 127 else exc.strerror
            self.send({"fail": code, "message": f"{cmd[0]}: {what}"})
        except (ValueError, TypeError) as exc:
            self.send({"error": "ValueError", "message": str(exc)})
        return None

    def shutdown(self) -> None:
        """Kill everything in the tree (the main process too) and reap it."""
        if self.child is not None and self.running:
            with contextlib.suppress(OSError):
                os.killpg(self.child, signal.SIGKILL)
        sweep()  # the main process too: it is one of our children
        self.child = None
        self._release_output()
        self._unmount()


def main(argv: Sequence[str]) -> int:
    sock = socket.socket(fileno=int(argv[1]))
    sock.set_inheritable(False)  # user code must not get it (spawn relies on close-on-exec)
    try:
        enter_namespace()
        protect(os.environ.get(READONLY_ENV, ""))
    except OSError as exc:
        with contextlib.suppress(OSError):
            sock.send(json.dumps({"fatal": f"no private mount namespace: {exc}"}).encode())
        return 1
    try:
        pid_namespace = enter_pid_namespace()
    except OSError as exc:
        with contextlib.suppress(OSError):
            sock.send(json.dumps({"fatal": f"no private PID namespace: {exc}"}).encode())
        return 1
    zygote = Zygote(sock)

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        zygote.send({"ready": True, "pid_namespace": pid_namespace})
        zygote.serve()
    except (ConnectionError, SystemExit, KeyboardInterrupt):
        pass
    finally:
        zygote.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
