"""Fsck: check that the content every commit refers to is intact in the blob store.

A file of a commit is a row naming a blob (the sha256 of its content) and a size; the blob
store holds the content under that name. Fsck reads every layer any commit uses (the layers of
its tree and its own changes), and for each distinct blob checks that it is stored, that its
length is the size the files record, and that its content hashes to its name. Each problem is
one error, naming the blob and one file (path and commit) that refers to it, so the damage can
be traced; a healthy data directory gives none.

This is what can go wrong in tusk's storage. pachd's own checks (branch and commit provenance
consistency inside its database) have no counterpart here: SQLite foreign keys and one write
transaction per change keep those tables consistent.

``fix`` is refused: the only problems found are lost or damaged content, and the right content
exists nowhere else on the machine, so nothing can honestly be repaired (pachd's ``fix`` has
no fixable problems either). Restore the data directory from a backup (docs/operations.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tuskd.blobs.base import READ_CHUNK, BlobStore
from tuskd.domain.errors import DataLoss, InvalidArgument, NotFound
from tuskd.store.base import LayerEntry, Store

from .pfs_history import pachd_repo

__all__ = ["FsckService"]


@dataclass(frozen=True, slots=True)
class _Use:
    """One file referring to a blob: enough to name it in an error."""

    path: str
    size: int
    commit: str


class FsckService:
    def __init__(self, store: Store, blobs: BlobStore) -> None:
        self._store = store
        self._blobs = blobs

    def _uses(self) -> dict[str, _Use]:
        """Every blob a commit refers to, with the oldest file found that refers to it."""
        uses: dict[str, _Use] = {}
        seen_layers: set[int] = set()
        with self._store.read() as tx:
            for repo in tx.list_repos():
                for row in tx.iter_commits(repo.id, newest_first=False):
                    layers = list(tx.commit_stack(row.id)) if row.finished_us is not None else []
                    if row.diff_layer_id is not None:
                        layers.append(row.diff_layer_id)
                    commit = f"{pachd_repo(repo.key)}@{row.set_id}"
                    for layer in layers:
                        if layer in seen_layers:
                            continue
                        seen_layers.add(layer)
                        entry: LayerEntry
                        for entry in tx.scan_layer(layer):
                            if entry.blob is not None and entry.blob not in uses:
                                uses[entry.blob] = _Use(entry.path, entry.size, commit)
        return uses

    def _problem(self, blob: str, use: _Use) -> str | None:
        where = f"(file {use.path} in commit {use.commit})"
        missing = f"consistency error: blob {blob} {where} is missing from the blob store"
        try:
            # size and verify answer for the store's own copy (for S3 the bucket, not the cache).
            size = self._blobs.size(blob)
        except NotFound:
            return missing
        if size != use.size:
            return f"consistency error: blob {blob} {where} holds {size} bytes, the file records {use.size}"
        try:
            if self._blobs.verify(blob):
                return None
        except NotFound:  # gone between the two looks
            return missing
        except OSError as exc:
            return f"consistency error: blob {blob} {where} cannot be read: {exc.strerror or exc}"
        found: str | None = None
        try:
            # The raw bytes, to name what the content hashes to now (read_chunks would refuse
            # corrupt content with DATA_LOSS, which is what this check exists to report).
            digest = hashlib.sha256()
            with self._blobs.open(blob) as raw:
                while chunk := raw.read(READ_CHUNK):
                    digest.update(chunk)
            found = digest.hexdigest()
        except (OSError, DataLoss, NotFound):
            pass
        if found is None or found == blob:
            # A store with a checked local copy (S3's cache) cannot say what its own copy holds.
            return f"consistency error: blob {blob} {where} is corrupt: its content no longer matches its hash"
        return f"consistency error: blob {blob} {where} is corrupt: its content hashes to {found}"

    def check(self, fix: bool = False, still_wanted: Callable[[], bool] | None = None) -> Iterator[str]:
        """One message per problem found, in blob name order; nothing when all is well.
        ``still_wanted`` returning False ends the check early (the client went away)."""
        if fix:
            raise InvalidArgument(
                "Fsck cannot fix anything in tusk: the problems it finds are lost or damaged file "
                "content, which exists nowhere else on this machine; run Fsck without fix and "
                "restore the data directory from a backup (see docs/operations.md)",
                reason="FSCK_FIX_UNSUPPORTED",
                field="fix",
            )
        uses = self._uses()
        for blob in sorted(uses):
            if still_wanted is not None and not still_wanted():
                return
            problem = self._problem(blob, uses[blob])
            if problem is not None:
                yield problem
