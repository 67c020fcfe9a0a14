"""Collect what a datum's user code left in ``/pfs/out``: regular files only, bounded in size
and in time.

The out dir holds whatever user code made, and the server reads it with its own privileges
(often root), so nothing in it is trusted:

* Nothing is followed or opened but a regular file. The tree is walked with ``lstat``; a
  symbolic link (to a file, to a directory, to ``/proc/kmsg``), a FIFO, a socket or a device
  anywhere under ``/pfs/out`` fails the datum with a reason naming the entry, before any byte
  is read. Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again with ``fstat``
  (a regular file, the very inode the walk saw), so an entry swapped after the walk is refused
  too, and no open or read can block. Empty directories are ignored (PFS has no place for them).
* Size: the apparent sizes (``st_size``; a sparse file counts at its full length) of all the
  datum's files are summed before anything is read; over ``limit``
  (:data:`DEFAULT_OUTPUT_LIMIT` unless the server is configured otherwise) the datum fails at
  once with a reason naming the limit. Bytes read are counted too, in case a file grows.
* Time: files are read a chunk at a time, and between chunks the datum's cancel event (StopJob,
  job_timeout, a server shutdown) and its deadline (datum_timeout, counted from the start of
  the attempt) are looked at; either stops the collection at once and the partial blob is
  removed.
* Names must be valid UTF-8 (PFS paths are strings).

Everything else -- an unreadable directory, an I/O error -- is a datum failure with the reason
too. Collected files become blobs (not yet durable: the caller flushes the store before
recording them).
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tuskd.blobs.base import READ_CHUNK, BlobStore
from tuskd.config import DEFAULT_OUTPUT_LIMIT  # the server's default; re-exported here

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "CollectedFile",
    "OutputCancelled",
    "OutputError",
    "collect_outputs",
    "format_bytes",
]

_NOT_REGULAR = "outputs must be regular files or directories"
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class CollectedFile:
    """A file user code wrote to ``/pfs/out``: its path there (``/b.txt``) and the blob stored."""

    path: str
    blob: str
    size: int


class OutputError(Exception):
    """The outputs cannot be collected; the message is the datum's failure reason."""


class OutputCancelled(Exception):
    """The datum was cancelled (StopJob, job_timeout, shutdown) while its outputs were read."""


@dataclass(frozen=True, slots=True)
class _Found:
    path: str  # in PFS: /dir/a.txt
    host: str
    dev: int
    ino: int
    size: int


def format_bytes(count: int) -> str:
    """``1073741824`` -> ``1 GiB``, ``1258291200`` -> ``1.17 GiB``, ``512`` -> ``512 bytes``."""
    for shift, unit in ((40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")):
        if count >= 1 << shift:
            return f"{round(count / (1 << shift), 2):g} {unit}"
    return f"{count} bytes"


def collect_outputs(
    out_dir: Path,
    blobs: BlobStore,
    *,
    limit: int = DEFAULT_OUTPUT_LIMIT,
    cancel: threading.Event | None = None,
    deadline: float | None = None,
    timeout: float | None = None,
) -> list[CollectedFile]:
    """Store every file under ``out_dir`` as a blob; returns them in path order.

    ``deadline`` (``time.monotonic()``) ends the collection with the reason ``timed out after
    <timeout> while collecting outputs``; ``cancel`` with :class:`OutputCancelled`.
    """
    found = sorted(_walk(out_dir), key=lambda f: f.path)
    total = sum(f.size for f in found)
    if total > limit:
        files = f"{len(found)} file{'s' if len(found) != 1 else ''}"
        raise OutputError(_over_limit(limit, f"{format_bytes(total)} in {files}"))

    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise OutputCancelled()
        if deadline is not None and time.monotonic() >= deadline:
            took = f"{timeout:g}s" if timeout is not None else "its deadline"
            raise OutputError(f"timed out after {took} while collecting outputs")

    collected: list[CollectedFile] = []
    budget = [limit]
    for item in found:
        check()
        ref = blobs.put_stream(_read(item, budget, limit, check), durable=False)
        collected.append(CollectedFile(item.path, ref.hash, ref.size))
    return collected


def _over_limit(limit: int, found: str) -> str:
    return (
        f"outputs exceed the per-datum limit of {format_bytes(limit)} (datum_output_limit, tusk serve "
        f"--datum-output-limit): {found}"
    )


def _walk(out_dir: Path) -> Iterator[_Found]:
    """Every regular file under ``out_dir`` (lstat only: nothing followed, nothing opened)."""
    todo: list[tuple[str, str]] = [(str(out_dir), "")]
    while todo:  # a stack, not recursion: user code may nest directories thousands deep
        host_dir, prefix = todo.pop()
        try:
            with os.scandir(host_dir) as entries:
                listed = list(entries)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputError(f"output directory {prefix or '/'} cannot be read: {exc.strerror}") from None
        for entry in listed:
            path = f"{prefix}/{entry.name}"
            try:
                path.encode()
            except UnicodeEncodeError:
                shown = os.fsencode(entry.name).decode("utf-8", "backslashreplace")
                raise OutputError(f"output name {prefix}/{shown} is not valid UTF-8") from None
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise OutputError(f"output {path} cannot be read: {exc.strerror}") from None
            if stat.S_ISDIR(st.st_mode):
                todo.append((entry.path, path))
            elif stat.S_ISREG(st.st_mode):
                yield _Found(path, entry.path, st.st_dev, st.st_ino, st.st_size)
            else:
                what = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
                raise OutputError(f"output {path} is {what}: {_NOT_REGULAR}")


def _read(item: _Found, budget: list[int], limit: int, check: Callable[[], None]) -> Iterator[bytes]:
    """The content of one found file, a chunk at a time, ``check()`` before each chunk."""
    try:
        fd = os.open(item.host, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"output {item.path} is a symbolic link: {_NOT_REGULAR}") from None
        raise OutputError(f"output {item.path} cannot be read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (item.dev, item.ino):
            raise OutputError(f"output {item.path} changed while it was collected: {_NOT_REGULAR}")
        while True:
            check()
            try:
                chunk = os.read(fd, READ_CHUNK)
            except OSError as exc:
                raise OutputError(f"output {item.path} cannot be read: {exc.strerror}") from None
            if not chunk:
                return
            budget[0] -= len(chunk)
            if budget[0] < 0:  # it grew after the walk (a process the sandbox could not reach)
                raise OutputError(_over_limit(limit, f"{item.path} grew while it was collected"))
            yield chunk
    finally:
        os.close(fd)
