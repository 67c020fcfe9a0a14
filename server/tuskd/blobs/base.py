"""The blob store interface: immutable byte strings named by the sha256 of their content.

A blob is written once, never changed, and shared by every file (in any repo or commit) with
the same content. Implementations must make a blob visible under its name only when it is
complete and durable, and must hold a stream of any length in bounded memory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Protocol, runtime_checkable

__all__ = ["EMPTY_BLOB", "READ_CHUNK", "BlobRef", "BlobStore", "is_blob_hash", "place_file"]

READ_CHUNK: Final = 1 << 20
_HASH = re.compile(r"^[0-9a-f]{64}$")


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

    def exists(self, blob: str) -> bool: ...

    def verify(self, blob: str) -> bool:
        """Read the whole blob and tell whether its content still matches its name (NotFound
        when it is missing). For Fsck: costs a full read."""
        ...

    def check(self, blob: str) -> None:
        """Raise DataLoss when the blob is found corrupt; cheap once the blob was verified and
        is unchanged since (what "unchanged" means is the implementation's)."""
        ...

    def size(self, blob: str) -> int:
        """Length in bytes; NotFound if it is not stored."""
        ...
