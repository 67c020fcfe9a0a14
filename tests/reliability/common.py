"""Helpers shared by the reliability tests: processes found by a marker, files through the client."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import tusk
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
