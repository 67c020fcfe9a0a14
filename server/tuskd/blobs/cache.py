"""A bounded local directory of blobs fetched from a remote store: ``<root>/objects/<sha256>``.

The cache is what a remote blob store (tuskd.blobs.s3) reads through and what the job engine
hardlinks datum inputs from. Entries are complete, read-only (0444) files: a fetch writes a temp
file under ``<root>/tmp`` (same filesystem) and renames it into place only once its sha256 matched
its name, so an entry is never half a blob. The cache is never the source of truth: an entry
whose content no longer matches its name (someone wrote through a hard link) is dropped and
fetched again.

One server at a time: the cache holds an exclusive ``flock`` on its root (with a ``LOCK`` file
naming the holder, tuskd.datadir) from construction until :meth:`BlobCache.close`, since a
second server would remove the first one's spools at start-up and evict entries it has pinned;
a second server on the same directory is refused with FailedPrecondition (BLOB_CACHE_IN_USE).

Size is bounded: when the entries add up to more than ``max_bytes``, the least recently used are
removed until they fit. An entry that is pinned (being read into a datum tree, or just fetched
for a caller that has not opened it yet) is never removed; a removed entry that is hardlinked
elsewhere stays readable there (only the cache's name goes). One blob bigger than the whole
cache is still served: it stays until it is unpinned, then goes first.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

from tuskd.datadir import DataDirLock

from .base import READ_CHUNK, Signature, Spool, signature

__all__ = ["BlobCache", "Spool"]

log = logging.getLogger(__name__)


class BlobCache:
    def __init__(self, root: Path | str, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("a blob cache needs a positive size")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        # Before anything is touched: another server's cache would lose its spools and entries.
        self._dir_lock = DataDirLock(
            self.root,
            what="the blob cache directory",
            remedy="give each server its own --blob-cache-dir",
            reason="BLOB_CACHE_IN_USE",
        )
        self._release = weakref.finalize(self, self._dir_lock.release)  # also when dropped unclosed
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        for entry in self._tmp.iterdir():  # spools a crash left behind
            with contextlib.suppress(OSError):
                entry.unlink()
        self._lock = threading.Lock()
        # blob -> size, least recently used first; the signature once the content was checked.
        self._entries: OrderedDict[str, int] = OrderedDict()
        self._verified: dict[str, Signature] = {}
        self._pins: dict[str, int] = {}
        self._bytes = 0
        self._load()

    def close(self) -> None:
        """Let another server use the directory (entries stay for the next start)."""
        self._release()

    def _load(self) -> None:
        found: list[tuple[float, str, int]] = []
        for entry in self._objects.iterdir():
            with contextlib.suppress(OSError):
                st = entry.stat()
                found.append((st.st_atime, entry.name, st.st_size))
        for _, blob, size in sorted(found):  # oldest access first: the first to go
            self._entries[blob] = size
            self._bytes += size
        with self._lock:
            self._evict()

    # -- entries ----------------------------------------------------------------------------

    def path(self, blob: str) -> Path:
        return self._objects / blob

    def holds(self, blob: str) -> bool:
        with self._lock:
            return blob in self._entries

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def spool(self) -> Spool:
        return Spool(self._tmp)

    def lookup(self, blob: str) -> Path | None:
        """The entry's path if the cache holds ``blob`` with matching content (now pinned: the
        caller must :meth:`unpin` it), else None (a damaged entry is dropped on the way)."""
        path = self.path(blob)
        with self._lock:
            if blob not in self._entries:
                return None
            self._entries.move_to_end(blob)
            self._pins[blob] = self._pins.get(blob, 0) + 1
        try:
            st = os.stat(path)
            if self._verified.get(blob) != signature(st) and not self._rehash(blob, path):
                self.unpin(blob)
                self._drop(blob, "its content no longer matches its name")
                return None
        except FileNotFoundError:
            self.unpin(blob)
            self._drop(blob, "its file is gone")
            return None
        except BaseException:
            self.unpin(blob)
            raise
        return path

    def _rehash(self, blob: str, path: Path) -> bool:
        hasher = hashlib.sha256()
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            while chunk := f.read(READ_CHUNK):
                hasher.update(chunk)
        if hasher.hexdigest() != blob:
            return False
        with self._lock:
            self._verified[blob] = signature(st)
        return True

    def adopt(self, spool: Spool, blob: str) -> Path:
        """Make the closed, checked ``spool`` the entry for ``blob`` (pinned, as by lookup)."""
        path = self.path(blob)
        os.chmod(spool.path, 0o444)
        os.replace(spool.path, path)
        st = os.stat(path)
        with self._lock:
            old = self._entries.pop(blob, None)
            self._bytes += st.st_size - (old or 0)
            self._entries[blob] = st.st_size
            self._verified[blob] = signature(st)
            self._pins[blob] = self._pins.get(blob, 0) + 1
            self._evict()
        return path

    def unpin(self, blob: str) -> None:
        with self._lock:
            left = self._pins.get(blob, 0) - 1
            if left > 0:
                self._pins[blob] = left
            else:
                self._pins.pop(blob, None)
            self._evict()

    def _drop(self, blob: str, why: str) -> None:
        log.warning("blob cache: dropping %s (%s); it will be fetched again", blob, why)
        with self._lock:
            if self._pins.get(blob):
                return  # someone else holds a checked copy under this name
            self._remove(blob)

    def _remove(self, blob: str) -> None:
        # Called with the lock held.
        size = self._entries.pop(blob, None)
        self._verified.pop(blob, None)
        if size is not None:
            self._bytes -= size
        with contextlib.suppress(FileNotFoundError):
            self.path(blob).unlink()

    def _evict(self) -> None:
        # Called with the lock held: least recently used first, pinned entries kept.
        if self._bytes <= self.max_bytes:
            return
        for blob in list(self._entries):
            if self._bytes <= self.max_bytes:
                break
            if not self._pins.get(blob):
                self._remove(blob)

    @contextlib.contextmanager
    def pinned(self, blob: str, fetch: Callable[[], Path]) -> Iterator[Path]:
        """Yield the entry for ``blob`` pinned for the duration (``fetch`` fills a miss and
        returns it pinned), then unpin it."""
        path = self.lookup(blob) or fetch()
        try:
            yield path
        finally:
            self.unpin(blob)
