"""The namespace helper's process tree: children of a process from ``/proc``, and the sweep that
kills every process an attempt left (escaped with ``setsid`` or orphaned) and waits until they are dead.

Imported by the namespace helper (engine/zygote.py, run as ``python -I -S``): standard library only,
apart from the other ``zygote_*`` modules.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable

_SWEEP_SECONDS = 2.0


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
