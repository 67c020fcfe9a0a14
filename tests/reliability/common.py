"""Helpers shared by the reliability tests: processes found by a marker, files through the client,
pipeline specs, and a server process killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil

import tusk
from tests.conftest import ServerProcess
from tusk.proto.pfs_v2 import pfs_pb2


def wait_for(predicate: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def marked_processes(marker: str) -> list[int]:
    """Live processes (zombies excluded) whose environment or command line contains ``marker``.

    User code inherits the pipeline's ``transform.env``, so a unique value there finds every
    process a datum started, daemons and ``setsid`` escapees included.
    """
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
            if state in (b"Z", b"X"):
                continue
            with open(f"/proc/{name}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if needle in environ or needle in cmdline:
            found.append(int(name))
    return found


def put_files(client: tusk.Client, repo: str, files: dict[str, bytes]) -> str:
    """One commit to ``repo@master`` with ``files``; its ID."""
    with client.pfs.modify_file(f"{repo}@master") as mf:
        for path, data in files.items():
            mf.put_file(path, data)
    return head(client, repo)


def head(client: tusk.Client, repo: str) -> str:
    return str(client.pfs.inspect_commit(f"{repo}@master").commit.id)


def tree(client: tusk.Client, commit: str) -> dict[str, bytes]:
    """path -> content of every file of a commit (``repo@id``)."""
    out = {}
    for info in client.pfs.walk_file(commit, "/"):
        if info.file_type == pfs_pb2.FILE:
            out[info.file.path] = client.pfs.get_file_bytes(commit, info.file.path)
    return out


def pipeline_spec(
    name: str, repo: str, script: str, env: dict[str, str] | None = None, **more: object
) -> dict[str, object]:
    """A CreatePipelineRequest (as a dict) running ``sh -c script`` over ``repo`` with glob ``/*``."""
    return {
        "pipeline": {"name": name},
        "transform": {"cmd": ["sh", "-c", script], "env": env or {}},
        "input": {"pfs": {"repo": repo, "glob": "/*"}},
        **more,
    }


def crash(sp: ServerProcess) -> None:
    """SIGKILL the server process and reap it."""
    sp.proc.send_signal(signal.SIGKILL)
    sp.proc.wait(timeout=10)


def process_tree(pid: int) -> set[tuple[int, float]]:
    """(pid, start time) of every descendant of ``pid``, to tell later whether one survived."""
    try:
        return {(p.pid, p.create_time()) for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def alive(pid: int, created: float) -> bool:
    """The process that had ``pid`` and started at ``created`` still runs (not a zombie)."""
    try:
        proc = psutil.Process(pid)
        return proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
