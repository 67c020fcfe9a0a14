"""One server per data directory: an exclusive lock on the data directory itself, for the
server's life, and a ``LOCK`` file that says who holds it.

Two servers on one data directory would run the same jobs twice, and the second one's start-up
kills "leftover" user processes (they carry the data directory's engine ID) and removes the
datum work directories of the first. So the server takes an ``flock`` on the **directory** (an
open descriptor of it) before it opens anything else, and holds it until it has closed
everything. A lock on a file inside would not do: a cleanup script or an ``rsync --delete``
restore may remove or replace that file while the server runs, and a second server would then
lock the new file. The directory cannot go away without the data going with it. The kernel
drops the lock when the process dies, however it dies, so a crash never leaves a stale lock.

``LOCK`` holds the holder's identity (pid, address, host, start time) for the second server's
error message only. The holder checks it every few seconds (``watch``) and writes it again if
it was removed or replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

from tuskd.domain.errors import FailedPrecondition

__all__ = ["LOCK_NAME", "DataDirLock"]

log = logging.getLogger(__name__)

LOCK_NAME = "LOCK"
# How often the holder checks that LOCK still names it.
CHECK_SECONDS = 2.0


class DataDirLock:
    """Held from construction until :meth:`release`; FailedPrecondition when another holds it.

    ``what``, ``remedy`` and ``reason`` shape that error, so the same lock guards other
    directories one server must own alone (the S3 blob cache: tuskd.blobs.cache)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        what: str = "the data directory",
        remedy: str = "give this server its own --data-dir",
        reason: str = "DATA_DIR_IN_USE",
    ) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        # os.open makes the descriptor non-inheritable: user processes never hold the lock.
        fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FailedPrecondition(
                f"{what} {data_dir} is in use by {_describe(self.path)}: stop it first, or {remedy}",
                reason=reason,
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd
        self.identity: dict[str, object] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "address": "",
        }
        self._written: tuple[int, int] | None = None  # (st_dev, st_ino) of the LOCK we wrote
        self._stop = threading.Event()
        self._writing = threading.Lock()  # announce() and the watcher both write LOCK
        self._watcher: threading.Thread | None = None
        self._write()

    def announce(self, address: str) -> None:
        """Record the address the server listens on (known once it has bound it)."""
        self.identity["address"] = address
        self._write()

    def watch(self) -> None:
        """Start checking, every CHECK_SECONDS, that LOCK still names this server."""
        self._watcher = threading.Thread(target=self._watch, name="data-dir-lock", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            try:
                st = os.stat(self.path)
                # A new file can get the freed inode number of the old one: compare the content too.
                intact = (st.st_dev, st.st_ino) == self._written and self.path.read_text() == self._text()
            except (OSError, UnicodeDecodeError):
                intact = False
            if not intact:
                log.warning(
                    "the data directory's LOCK file was removed or replaced; this server still holds "
                    "the data directory and writes LOCK again",
                    extra={"path": str(self.path)},
                )
                self._write()

    def _write(self) -> None:
        """Write LOCK atomically (temp file + rename); informative only, so errors are logged."""
        with self._writing:
            self._write_locked()

    def _write_locked(self) -> None:
        tmp = self.data_dir / f".{LOCK_NAME}.{os.getpid()}"
        try:
            tmp.write_text(self._text())
            os.replace(tmp, self.path)
            st = os.stat(self.path)
            self._written = (st.st_dev, st.st_ino)
        except OSError as exc:  # a full disk must not stop a start
            log.warning("cannot write the data directory's LOCK file", extra={"error": str(exc)})
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _text(self) -> str:
        return json.dumps(self.identity) + "\n"

    def release(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _describe(path: Path) -> str:
    """"another tusk server (pid N, address A, host H, since T)" from the holder's LOCK file."""
    try:
        raw = path.read_text(errors="replace").strip()
    except OSError:
        raw = ""
    try:
        who = json.loads(raw)
    except ValueError:
        who = {"pid": raw} if raw.isdigit() else {}  # written by an older server: just the pid
    if not isinstance(who, dict):
        who = {}
    facts = [f"{key} {who[key]}" for key in ("pid", "address", "host") if who.get(key)]
    if who.get("started"):
        facts.append(f"since {who['started']}")
    return f"another tusk server ({', '.join(facts)})" if facts else "another tusk server"
