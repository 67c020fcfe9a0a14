"""Processes a crashed earlier server left behind, found and killed at engine start.

Every user process and every sandbox helper carries ``TUSK_ENGINE_ID=<id of this data dir>`` in
its environment; :func:`kill_leftover_processes` scans ``/proc`` for it and SIGKILLs every process
in those processes' private mount namespaces, then them and their process groups. (Helpers
normally do this themselves when their server dies; in fallback mode a process that scrubbed its
environment and left its process group escapes; see docs/jobs.md.)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import time
from pathlib import Path

from tuskd.engine.job_runner import ENGINE_ID_ENV
from tuskd.engine.procs import kill_namespace, namespace_id

__all__ = ["engine_id_for", "kill_leftover_processes"]

log = logging.getLogger(__name__)


def engine_id_for(data_dir: Path) -> str:
    """The marker user processes of the server on ``data_dir`` carry in their environment."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]


def kill_leftover_processes(engine_id: str, wait: float = 5.0) -> int:
    """SIGKILL every process (and its process group) whose environment names ``engine_id``, and
    every process in the private mount namespaces of those (the sandbox helpers' namespaces:
    this also finds user processes that scrubbed their environment)."""
    marker = f"{ENGINE_ID_ENV}={engine_id}".encode()
    own = {os.getpid()}
    own_ns = namespace_id("self")
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in own:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if marker in env.split(b"\0"):
            found.append(int(name))
    # Namespaces first, while the helpers that hold them are alive (so no other can take
    # their identity).
    for ns in {namespace_id(pid) for pid in found} - {own_ns, None}:
        assert ns is not None
        found.extend(p for p in kill_namespace(ns, wait=wait) if p not in found)
    for pid in found:
        with contextlib.suppress(OSError):
            pgid = os.getpgid(pid)
            if pgid != os.getpgid(0):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    for pid in found:
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    state = fh.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                break
            if state in (b"Z", b"X"):
                break
            time.sleep(0.01)
    if found:
        log.warning("killed %d user process(es) left by an earlier server: %s", len(found), found)
    return len(found)
