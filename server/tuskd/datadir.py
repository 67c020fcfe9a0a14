"""One server per data directory: an exclusive lock on ``<data dir>/LOCK`` for the server's life.

Two servers on one data directory would run the same jobs twice, and the second one's start-up
kills "leftover" user processes (they carry the data directory's engine ID) and removes the
datum work directories of the first. So the server takes an ``flock`` on ``LOCK`` before it
opens anything else and holds it until it has closed everything. The kernel drops the lock when
the process dies, however it dies, so a crash never leaves a stale lock behind. The file holds
the holder's PID, for the error message only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from tuskd.domain.errors import FailedPrecondition

__all__ = ["LOCK_NAME", "DataDirLock"]

LOCK_NAME = "LOCK"


class DataDirLock:
    """Held from construction until :meth:`release`; FailedPrecondition when another holds it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        # os.open makes the descriptor non-inheritable: user processes never hold the lock.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"another tusk server (pid {holder})" if holder else "another tusk server"
            raise FailedPrecondition(
                f"the data directory {data_dir} is in use by {who}: stop it first, or give this "
                "server its own --data-dir",
                reason="DATA_DIR_IN_USE",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd
        with contextlib.suppress(OSError):  # informative only; a full disk must not stop a start
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
