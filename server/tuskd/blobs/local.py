"""Content-addressed blobs in a local directory: ``<root>/objects/ab/cd/<sha256>``.

Writes stream into a temp file under ``<root>/tmp`` (same filesystem), hashing as they go; the
file is fsynced, made read-only and renamed into place, and the directory is fsynced. A name
therefore only ever points at complete, durable content. Identical content is stored once: if
the name already exists the temp file is simply removed. A stream that raises midway leaves
neither a blob nor a temp file behind. Memory use is one chunk at a time, whatever the size.

Blobs are mode 0444 because the job engine hardlinks them into datum trees: a user process
must not be able to rewrite a blob that other files and commits share.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from tuskd.domain.errors import InvalidArgument, NotFound

from .base import READ_CHUNK, BlobRef, is_blob_hash

__all__ = ["LocalBlobStore"]

log = logging.getLogger(__name__)

_STALE_TEMP_SECONDS = 3600.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """The default :class:`~tuskd.blobs.base.BlobStore`: a directory on this machine."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temp_files()

    def _remove_stale_temp_files(self) -> None:
        # Left by a crash mid-upload; young ones may belong to a live writer sharing the dir.
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for entry in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()

    # -- names ------------------------------------------------------------------------------

    def _object_path(self, blob: str) -> Path:
        if not is_blob_hash(blob):
            raise InvalidArgument(f"{blob[:80]!r} is not a blob name (64 lowercase hex characters)")
        return self._objects / blob[:2] / blob[2:4] / blob

    def path(self, blob: str) -> Path:
        return self._object_path(blob)

    def exists(self, blob: str) -> bool:
        return self._object_path(blob).is_file()

    def size(self, blob: str) -> int:
        try:
            return self._object_path(blob).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {blob} not found") from None

    # -- writing ----------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> BlobRef:
        return self.put_stream((data,))

    def put_stream(self, chunks: Iterable[bytes]) -> BlobRef:
        fd, tmp_name = tempfile.mkstemp(prefix="put-", dir=self._tmp)
        tmp = Path(tmp_name)
        try:
            hasher = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    if not chunk:
                        continue
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            final = self._object_path(digest)
            if final.exists():
                tmp.unlink()
                return BlobRef(digest, size)
            self._make_parent(final)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            return BlobRef(digest, size)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def _make_parent(self, final: Path) -> None:
        fan_in, fan_out = final.parent.parent, final.parent
        if fan_out.is_dir():
            return
        created_outer = not fan_in.is_dir()
        fan_out.mkdir(parents=True, exist_ok=True)
        # A new directory entry is durable only once its parent directory is synced.
        _fsync_dir(fan_in)
        if created_outer:
            _fsync_dir(self._objects)

    # -- reading ----------------------------------------------------------------------------

    def open(self, blob: str) -> BinaryIO:
        try:
            return open(self._object_path(blob), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {blob} not found") from None

    def read_chunks(self, blob: str, offset: int = 0, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        with self.open(blob) as f:
            if offset:
                f.seek(offset)
            while chunk := f.read(chunk_size):
                yield chunk
