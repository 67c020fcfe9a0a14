"""Processes seen through ``/proc``: their state, their namespaces, killing what is left.

Shared by the sandbox (engine/sandbox.py), which kills what an attempt left, and the engine's
start-up (engine/scheduler.py), which kills what a crashed server left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Sequence

from tuskd.engine.zygote_procs import stat_fields

log = logging.getLogger(__name__)

REAP_SECONDS = 2.0
"""How long to wait for killed leftovers to die before giving up with a warning."""


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a process, or None when it is gone."""
    fields = stat_fields(pid)
    return None if fields is None else (fields[0].decode(), int(fields[2]))


def live_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def is_dead(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is None or stat[0] in ("Z", "X")


def wait_dead(pids: Sequence[int], deadline: float) -> bool:
    pending = [pid for pid in pids if not is_dead(pid)]
    while pending:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
        pending = [pid for pid in pending if not is_dead(pid)]
    return True


def pid_in_namespace(pid: int) -> int | None:
    """The pid a process has in its own (innermost) PID namespace (``NSpid`` in /proc)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return pid


def namespace_id(pid: int | str) -> tuple[int, int] | None:
    """(device, inode) of a process's mount namespace, or None when it is gone."""
    try:
        st = os.stat(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None
    return st.st_dev, st.st_ino


def kill_namespace(ns: tuple[int, int], exclude: Sequence[int] = (), wait: float = REAP_SECONDS) -> list[int]:
    """SIGKILL every process whose mount namespace is ``ns`` (but ``exclude``) and wait until
    they are dead; returns their pids. Costs one ``/proc`` scan."""
    skip = {os.getpid(), *exclude}
    killed = []
    for pid in live_pids():
        if pid in skip or namespace_id(pid) != ns:
            continue
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    if killed and not wait_dead(killed, time.monotonic() + wait):
        log.warning("processes %s still alive %.0fs after SIGKILL", killed, wait)
    return killed


def wait_group_dead(pgid: int) -> None:
    """Wait until every killed process of the group is dead (zombies count as dead)."""
    deadline = time.monotonic() + REAP_SECONDS
    members: list[int] = []
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty: the common case, no /proc scan needed
    else:
        for pid in live_pids():
            stat = proc_stat(pid)
            if stat is not None and stat[1] == pgid:
                members.append(pid)
    if members and not wait_dead(members, deadline):
        log.warning("processes of group %d still alive %.0fs after SIGKILL", pgid, REAP_SECONDS)
