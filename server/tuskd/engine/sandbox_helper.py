"""The engine's client of one namespace helper (a zygote process, see engine/zygote.py): starting it,
sending requests with descriptors, receiving its messages, stopping it and sweeping its namespace."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuskd.engine import zygote
from tuskd.engine.procs import kill_namespace, pid_in_namespace
from tuskd.engine.sandbox_attempt import _describe_exit
from tuskd.engine.sandbox_layout import _DEFAULT_PATH
from tuskd.engine.sandbox_output import _readable
from tuskd.engine.zygote_procs import children

log = logging.getLogger(__name__)

_HELPER_START_SECONDS = 15.0  # a starting helper must say it is ready within this
_HELPER_REPLY_SECONDS = 15.0  # ... and answer a request within this
_HELPER_STOP_SECONDS = 5.0

_ZYGOTE_SCRIPT = str(Path(zygote.__file__).resolve())


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
            self.init_pid = children(self.pid)[0] if ready.get("pid_namespace") else None
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
        for child in children(self.init_pid, single_threaded=True):
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
