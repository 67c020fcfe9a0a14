"""The namespace helper ("zygote"): a long-lived process that starts user code inside a private
mount namespace holding the Pachyderm ``/pfs`` layout.

Started by :mod:`tuskd.engine.sandbox_helper` as ``python -I -S zygote.py <fd>`` (it and the
``zygote_*`` modules it imports use the standard library only, so it starts without the site
machinery or tusk's other packages: the one path step below puts this source tree on ``sys.path``), it:

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
   * ``reset``: kill every process left in the tree, unmount the layout (the helper goes back
     to a pool), reply ``{"ok": true, "killed": [pids]}``.
   * ``quit``, or the socket closing (the server exited or was killed): kill every process of
     the tree and exit.

The engine keeps every decision (timeouts, cancel, retries); this process only does what needs
to happen inside the namespace, on its own CPU. This module holds the request loop and the
process's start; the namespaces and mounts are in ``zygote_mounts``, the ``/pfs`` layout in
``zygote_layout``, starting a command in ``zygote_spawn`` and the process tree in ``zygote_procs``.
"""

from __future__ import annotations

import array
import contextlib
import errno
import json
import os
import select
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

if __name__ == "__main__":
    # Run as a script under ``-I -S``: the tree holding the ``tuskd`` package is not on the path.
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tuskd.engine.zygote_layout import PFS_ROOT, Layout, LayoutError
from tuskd.engine.zygote_mounts import enter_namespace, enter_pid_namespace, protect, umount
from tuskd.engine.zygote_procs import sweep
from tuskd.engine.zygote_spawn import WorkingDirError, spawn

MAX_MESSAGE = 1 << 16
"""Requests larger than this travel in a file named by a ``{"file": ...}`` message."""
MAX_FDS = 2
SETUP_FAILED = 125

READONLY_ENV = "TUSK_SANDBOX_READONLY"
"""Environment variable (of the helper, not of user code): directories to make read-only in the
namespace, separated by ``os.pathsep`` — the server's data directory."""


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
                leftovers = sweep()  # nothing of the last job outlives it (the tree is ours)
                self._unmount()
                self.send({"ok": True, "killed": leftovers})
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
                umount(PFS_ROOT)  # lazily, with every mount below it
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
