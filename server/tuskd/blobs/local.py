"""Content-addressed blobs in a local directory: ``<root>/objects/ab/cd/<sha256>``.

Writes stream into a temp file under ``<root>/tmp`` (same filesystem), hashing as they go; the
file is fsynced, made read-only and renamed into place. A name therefore only ever points at
complete content, even after a crash. Identical content is stored once: if the name already
exists the temp file is simply removed. A stream that raises midway leaves neither a blob nor a
temp file behind. Memory use is one chunk at a time, whatever the size.

The new directory entry is made durable either at once (fsync of the directory) or, with
``durable=False``, by a later :meth:`LocalBlobStore.flush` that covers every such put with one
``syncfs`` call: many small files then cost one fsync each instead of three. Callers flush
before they commit metadata that refers to the blobs.

Blobs are mode 0444 because the job engine hardlinks them into datum trees: a user process
must not be able to rewrite a blob that other files and commits share.

Reads check that content still matches its name, where it is cheap: the first read of a blob by
this process hashes it (a whole read hashes as it streams; a read from an offset, and
:meth:`LocalBlobStore.check`, hash the whole blob first), and the blob's inode, size and
modification time are remembered; later reads of the same, unchanged file skip the hash. A
write to a blob changes its modification time (unless the writer resets it on purpose), so it
is hashed again at its next read. A mismatch raises DataLoss (gRPC DATA_LOSS): damaged content
is never served silently. :meth:`LocalBlobStore.verify` always hashes the whole blob (Fsck).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from tuskd.domain.errors import DataLoss, InvalidArgument, NotFound

from .base import READ_CHUNK, BlobRef, Signature, Spool, disk_full, is_blob_hash, place_file
from .base import signature as file_signature

__all__ = ["LocalBlobStore"]

log = logging.getLogger(__name__)

_STALE_TEMP_SECONDS = 3600.0
_VERIFIED_MAX = 1 << 16  # blobs whose verified (inode, size, mtime) are remembered


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        fn: Callable[[int], int] | None = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    except OSError:
        return None
    return fn


_SYNCFS = _load_syncfs()


class LocalBlobStore:
    """The default :class:`~tuskd.blobs.base.BlobStore`: a directory on this machine."""

    reads_are_checked = False  # the first read of a blob checks it as it streams

    def __init__(self, root: Path | str, *, exclusive: bool = False) -> None:
        """``exclusive``: this process alone writes under ``root`` (the server holds the data
        directory's lock), so every temp file found now was left by a crash and is removed.
        Otherwise only temp files older than an hour are (they may be a live writer's)."""
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temp_files(0.0 if exclusive else _STALE_TEMP_SECONDS)
        # Directories holding renames not yet made durable (puts with durable=False).
        self._dirty: set[Path] = set()
        self._dirty_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # blob -> (inode, size, mtime) when its content last matched its name (bounded, LRU).
        self._verified: OrderedDict[str, Signature] = OrderedDict()
        self._verified_lock = threading.Lock()

    def _remove_stale_temp_files(self, older_than: float) -> None:
        # Left by a crash mid-upload (a 200 MiB upload cut short keeps 200 MiB of disk).
        cutoff = time.time() - older_than
        removed = 0
        for entry in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if older_than <= 0 or entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        if removed:
            log.info("removed %d temp file(s) of uploads a crash cut short", removed)

    # -- names ------------------------------------------------------------------------------

    def _object_path(self, blob: str) -> Path:
        if not is_blob_hash(blob):
            raise InvalidArgument(f"{blob[:80]!r} is not a blob name (64 lowercase hex characters)")
        return self._objects / blob[:2] / blob[2:4] / blob

    def path(self, blob: str) -> Path:
        """Where the blob lives on this machine (local store only; tests corrupt blobs there)."""
        return self._object_path(blob)

    def exists(self, blob: str) -> bool:
        return self._object_path(blob).is_file()

    def materialize(self, blob: str, dest: Path, *, link: bool = True) -> bool:
        self.check(blob)  # DataLoss for damaged content (cheap once verified)
        source = self._object_path(blob)
        try:
            return place_file(source, dest, link=link)
        except FileNotFoundError:
            if not source.exists():
                raise NotFound(f"blob {blob} not found") from None
            raise

    def size(self, blob: str) -> int:
        try:
            return self._object_path(blob).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {blob} not found") from None

    # -- writing ----------------------------------------------------------------------------

    def put_bytes(self, data: bytes, *, durable: bool = True) -> BlobRef:
        return self.put_stream((data,), durable=durable)

    def put_stream(self, chunks: Iterable[bytes], *, durable: bool = True) -> BlobRef:
        try:
            return self._put_stream(chunks, durable)
        except OSError as exc:
            full = disk_full(exc, self.root)
            if full is not None:
                raise full from exc
            raise

    def _put_stream(self, chunks: Iterable[bytes], durable: bool) -> BlobRef:
        spool = Spool(self._tmp, prefix="put-")
        try:
            spool.write_all(chunks)
            digest = spool.close(fsync=True)
            ref = BlobRef(digest, spool.size)
            final = self._object_path(digest)
            if final.exists():
                spool.discard()
                return ref
            self._make_parent(final, durable)
            os.chmod(spool.path, 0o444)
            os.replace(spool.path, final)
            if durable:
                _fsync_dir(final.parent)
            else:
                with self._dirty_lock:
                    self._dirty.add(final.parent)
            return ref
        except BaseException:
            spool.discard()
            raise

    def flush(self) -> None:
        """Make every earlier ``durable=False`` put durable (one syncfs where available)."""
        try:
            self._flush()
        except OSError as exc:
            full = disk_full(exc, self.root)
            if full is not None:
                raise full from exc
            raise

    def _flush(self) -> None:
        with self._flush_lock:
            with self._dirty_lock:
                dirty, self._dirty = self._dirty, set()
            if not dirty:
                return
            if _SYNCFS is not None and len(dirty) > 4:
                fd = os.open(self._objects, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    if _SYNCFS(fd) == 0:
                        return
                    log.warning("syncfs failed (errno %d); syncing directories one by one", ctypes.get_errno())
                finally:
                    os.close(fd)
            for directory in dirty:
                _fsync_dir(directory)

    def _make_parent(self, final: Path, durable: bool) -> None:
        fan_in, fan_out = final.parent.parent, final.parent
        if fan_out.is_dir():
            return
        created_outer = not fan_in.is_dir()
        fan_out.mkdir(parents=True, exist_ok=True)
        # A new directory entry is durable only once its parent directory is synced.
        touched = [fan_in, self._objects] if created_outer else [fan_in]
        if durable:
            for directory in touched:
                _fsync_dir(directory)
        else:
            with self._dirty_lock:
                self._dirty.update(touched)

    # -- reading ----------------------------------------------------------------------------

    def open(self, blob: str) -> BinaryIO:
        try:
            return open(self._object_path(blob), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {blob} not found") from None

    def read_chunks(self, blob: str, offset: int = 0, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        with self.open(blob) as f:
            signature = file_signature(os.fstat(f.fileno()))
            known = self._known(blob, signature)
            if offset:
                if not known:
                    self.check(blob)
                f.seek(offset)
                known = True
            hasher = None if known else hashlib.sha256()
            while chunk := f.read(chunk_size):
                if hasher is not None:
                    hasher.update(chunk)
                yield chunk
            if hasher is not None:
                self._settle(blob, hasher.hexdigest(), signature)

    # -- integrity --------------------------------------------------------------------------

    def verify(self, blob: str) -> bool:
        with self.open(blob) as f:
            signature = file_signature(os.fstat(f.fileno()))
            hasher = hashlib.sha256()
            while chunk := f.read(READ_CHUNK):
                hasher.update(chunk)
        ok = hasher.hexdigest() == blob
        with self._verified_lock:
            if ok:
                self._verified[blob] = signature
                self._verified.move_to_end(blob)
                while len(self._verified) > _VERIFIED_MAX:
                    self._verified.popitem(last=False)
            else:
                self._verified.pop(blob, None)
        return ok

    def check(self, blob: str) -> None:
        try:
            signature = file_signature(os.stat(self._object_path(blob)))
        except FileNotFoundError:
            raise NotFound(f"blob {blob} not found") from None
        if not self._known(blob, signature) and not self.verify(blob):
            raise self._corrupt(blob)

    def _known(self, blob: str, signature: Signature) -> bool:
        with self._verified_lock:
            return self._verified.get(blob) == signature

    def _settle(self, blob: str, digest: str, signature: Signature) -> None:
        if digest != blob:
            raise self._corrupt(blob)
        with self._verified_lock:
            self._verified[blob] = signature
            while len(self._verified) > _VERIFIED_MAX:
                self._verified.popitem(last=False)

    def _corrupt(self, blob: str) -> DataLoss:
        log.error("blob %s is corrupt: its content no longer matches its hash", blob)
        return DataLoss(
            f"blob {blob} is corrupt: its content no longer matches its hash (it was changed on "
            "disk); the files that hold it cannot be read until it is restored",
            blob=blob,
        )
