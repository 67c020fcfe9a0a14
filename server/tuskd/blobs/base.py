"""The blob store interface: immutable byte strings named by the sha256 of their content.

A blob is written once, never changed, and shared by every file (in any repo or commit) with
the same content. Implementations must make a blob visible under its name only when it is
complete and durable, and must hold a stream of any length in bounded memory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Protocol, runtime_checkable

from tuskd.domain.errors import ResourceExhausted

__all__ = [
    "EMPTY_BLOB",
    "READ_CHUNK",
    "BlobRef",
    "BlobStore",
    "Signature",
    "Spool",
    "disk_full",
    "is_blob_hash",
    "place_file",
    "signature",
]

READ_CHUNK: Final = 1 << 20
_HASH = re.compile(r"^[0-9a-f]{64}$")
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

Signature = tuple[int, int, int]
"""(inode, size, modification time in ns) of a local file: unchanged while it is unchanged."""


def signature(st: os.stat_result) -> Signature:
    return st.st_ino, st.st_size, st.st_mtime_ns


def disk_full(exc: BaseException, where: Path) -> ResourceExhausted | None:
    """``exc`` as the client-facing error when it says the disk holding ``where`` is full."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return ResourceExhausted(
            f"the disk holding {where} is full ({exc.strerror or os.strerror(exc.errno or 0)}): "
            "nothing was written; free some space and retry",
            reason="DISK_FULL",
        )
    return None


class Spool:
    """A temp file in ``directory`` being written and hashed, one chunk in memory at a time:
    how every store takes a stream in before it knows the stream's name. The owner renames
    :attr:`path` into place once :meth:`close` told the hash, or calls :meth:`discard`."""

    def __init__(self, directory: Path, prefix: str = "spool-") -> None:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hasher = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    def write_all(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            if chunk:
                self.write(chunk)

    def close(self, *, fsync: bool = False) -> str:
        """Close the file (``fsync``: its content made durable first); the sha256 written."""
        if fsync:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._file.close()
        return self._hasher.hexdigest()

    def discard(self) -> None:
        """Close and remove the file (nothing happens to a file already renamed away)."""
        with contextlib.suppress(OSError):  # a full disk fails the flush of what is buffered
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def is_blob_hash(value: str) -> bool:
    return bool(_HASH.match(value))


def place_file(source: Path, dest: Path, *, link: bool) -> bool:
    """Make ``dest`` a hard link to ``source`` when ``link`` and the filesystem allow it, else
    a copy; False when ``dest`` already exists (left alone). FileNotFoundError when ``source``
    is gone. The shared last step of every store's :meth:`BlobStore.materialize`."""
    try:
        if link:
            os.link(source, dest)
        else:
            shutil.copyfile(source, dest)
    except FileExistsError:
        return False
    except OSError as exc:
        if not link or exc.errno not in (errno.EXDEV, errno.EMLINK, errno.EPERM):
            raise
        shutil.copyfile(source, dest)
    return True


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A stored blob: lowercase hex sha256 of the content, and its length in bytes."""

    hash: str
    size: int


EMPTY_BLOB: Final = BlobRef(hashlib.sha256(b"").hexdigest(), 0)


@runtime_checkable
class BlobStore(Protocol):
    reads_are_checked: bool
    """True when :meth:`open` and :meth:`read_chunks` only ever serve content already checked
    against its name (DataLoss before the first byte): a caller need not :meth:`check` first.
    False when a read checks as it streams (DataLoss possibly after some chunks)."""

    def put_stream(self, chunks: Iterable[bytes], *, durable: bool = True) -> BlobRef:
        """Store the concatenation of ``chunks``; if the iterable raises, nothing is stored.

        The blob is complete whenever its name is visible. With ``durable=False`` the name may
        still be lost in a power cut until :meth:`flush` returns.
        """
        ...

    def put_bytes(self, data: bytes, *, durable: bool = True) -> BlobRef:
        """Store ``data`` (a convenience for small content)."""
        ...

    def flush(self) -> None:
        """Make every blob stored so far durable (call before committing metadata naming them)."""
        ...

    def open(self, blob: str) -> BinaryIO:
        """A binary reader of the blob; NotFound if it is not stored. A store that reads
        through a local copy checks that copy first (DataLoss when it does not match)."""
        ...

    def read_chunks(self, blob: str, offset: int = 0, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """The blob's content from ``offset`` in chunks of at most ``chunk_size`` bytes; raises
        DataLoss (possibly after some chunks) when the content no longer matches the name."""
        ...

    def materialize(self, blob: str, dest: Path, *, link: bool = True) -> bool:
        """Make ``dest`` (which must not exist) a file with the blob's content: a hard link to
        a local copy when ``link`` and the filesystem allow it (never write through it), else a
        copy. False when ``dest`` already exists (left as it is); DataLoss when the content no
        longer matches the name; NotFound when the blob is not stored."""
        ...

    def exists(self, blob: str) -> bool:
        """Whether the store itself holds the blob: a remote store asks the remote side (a
        local cache's copy does not count), so a True answer means metadata may name it."""
        ...

    def verify(self, blob: str) -> bool:
        """Read the whole blob and tell whether its content still matches its name (NotFound
        when it is missing). For Fsck: costs a full read."""
        ...

    def check(self, blob: str) -> None:
        """Raise DataLoss when the blob is found corrupt; cheap once the blob was verified and
        is unchanged since (what "unchanged" means is the implementation's)."""
        ...

    def size(self, blob: str) -> int:
        """Length in bytes of the store's own copy (never a cache's); NotFound if it is not stored."""
        ...
