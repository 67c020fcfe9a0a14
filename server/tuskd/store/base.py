"""The metadata store interface the services use: transactions with typed PFS methods.

A :class:`Store` hands out transactions: ``with store.write() as tx`` is one atomic write
(serialised with every other write), ``with store.read() as tx`` a consistent snapshot. A write
is a unit of work: the caller opens it and passes ``tx`` down to whatever writes in it; events
emitted on it (``tx.emit``) reach their sinks after COMMIT, in commit order, and after-commit
actions run after that (store/outbox.py). Writes still nest for older code: a ``write()`` (or
``read()``) opened on a thread that is already inside a write joins it (a savepoint).

Timestamps are integer microseconds since the Unix epoch (UTC); ids are store-assigned integers
that never leave the service layer (the API speaks names and global IDs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from tuskd.domain.pfs import FileEntry, RepoKey

__all__ = [
    "BranchRow",
    "CommitRow",
    "LayerEntry",
    "PfsTx",
    "RepoRow",
    "Store",
    "Tx",
    "reading",
]


@dataclass(frozen=True, slots=True)
class RepoRow:
    id: int
    key: RepoKey
    description: str
    created_us: int


@dataclass(frozen=True, slots=True)
class BranchRow:
    id: int
    repo_id: int
    name: str
    head_id: int | None
    created_us: int
    updated_us: int


@dataclass(frozen=True, slots=True)
class CommitRow:
    id: int
    repo_id: int
    set_id: str
    branch: str | None
    parent_id: int | None
    origin: int
    description: str
    error: str
    started_us: int
    finishing_us: int | None
    finished_us: int | None
    diff_layer_id: int | None
    size_bytes: int


class LayerEntry(NamedTuple):
    """One change in a layer: ``blob`` None is a tombstone (the path is deleted)."""

    path: str
    blob: str | None
    size: int


class Tx(Protocol):
    """What every transaction offers, whatever tables it touches."""

    @property
    def writable(self) -> bool: ...

    def emit(self, sink: Callable[[Sequence[Any]], None], event: Any) -> None:
        """Collect ``event`` for ``sink``: delivered once the outermost transaction has committed,
        after every earlier commit's events, together with this unit's other events for
        ``sink`` (never on rollback). Sinks are quick and in-memory and never write."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the outermost transaction has committed and its events are
        delivered (never on rollback). It may write (a new unit of work)."""
        ...


class PfsTx(Tx, Protocol):
    """Typed access to the PFS tables: repos, branches, commits, provenance and file layers."""

    # -- repos ------------------------------------------------------------------------------
    def insert_repo(self, key: RepoKey, description: str, created_us: int) -> RepoRow: ...
    def get_repo(self, key: RepoKey) -> RepoRow | None: ...
    def get_repo_by_id(self, repo_id: int) -> RepoRow: ...
    def update_repo_description(self, repo_id: int, description: str) -> None: ...
    def list_repos(self, type: str | None = None, projects: Sequence[str] = ()) -> list[RepoRow]: ...
    def delete_repo(self, repo_id: int) -> None: ...

    # -- branches ---------------------------------------------------------------------------
    def insert_branch(self, repo_id: int, name: str, head_id: int | None, now_us: int) -> BranchRow: ...
    def get_branch(self, repo_id: int, name: str) -> BranchRow | None: ...
    def get_branch_by_id(self, branch_id: int) -> BranchRow: ...
    def list_branches(self, repo_id: int | None = None) -> list[BranchRow]: ...
    def set_branch_head(self, branch_id: int, head_id: int | None, now_us: int) -> None: ...
    def branches_with_head(self, commit_id: int) -> list[BranchRow]: ...
    def set_branch_provenance(self, branch_id: int, prov_ids: Sequence[int]) -> None: ...
    def branch_provenance_edges(self) -> list[tuple[int, int]]: ...
    def delete_branch(self, branch_id: int) -> None: ...

    # -- commits ----------------------------------------------------------------------------
    def insert_commit(
        self,
        *,
        repo_id: int,
        set_id: str,
        branch: str | None,
        parent_id: int | None,
        origin: int,
        description: str,
        started_us: int,
        diff_layer_id: int | None,
        finishing_us: int | None = None,
        finished_us: int | None = None,
        size_bytes: int = 0,
    ) -> CommitRow: ...
    def get_commit(self, commit_id: int) -> CommitRow | None: ...
    def find_commit(self, repo_id: int, set_id: str) -> CommitRow | None: ...
    def commits_in_set(self, set_id: str) -> list[CommitRow]: ...
    def commit_children(self, commit_id: int) -> list[CommitRow]: ...
    def iter_commits(
        self,
        repo_id: int,
        *,
        newest_first: bool = True,
        origin: int | None = None,
        branch: str | None = None,
        after_id: int | None = None,
        started_before_us: int | None = None,
        started_after_us: int | None = None,
    ) -> Iterator[CommitRow]: ...
    def set_commit_finishing(self, commit_id: int, at_us: int, error: str, description: str | None) -> None: ...
    def set_commit_finished(self, commit_id: int, at_us: int, size_bytes: int) -> None: ...
    def set_commit_parent(self, commit_id: int, parent_id: int | None) -> None: ...
    def delete_commit(self, commit_id: int) -> None: ...
    def add_commit_provenance(self, commit_id: int, prov_id: int) -> None: ...
    def commit_provenance(self, commit_id: int) -> list[int]: ...
    def commit_subvenance(self, commit_id: int) -> list[int]: ...
    def commit_set_ids(self, project: str | None = None) -> list[str]: ...

    # -- file layers ------------------------------------------------------------------------
    def create_layer(self, repo_id: int) -> int: ...
    def layer_size(self, layer_id: int) -> int: ...
    def put_layer_entries(self, layer_id: int, entries: Iterable[LayerEntry]) -> None: ...
    def delete_layer_entries(self, layer_id: int, paths: Iterable[str]) -> None: ...
    def refresh_layer_size(self, layer_id: int) -> int: ...
    def scan_layer(self, layer_id: int, lower: str = "", upper: str | None = None) -> Iterator[LayerEntry]: ...
    def get_layer_entry(self, layer_id: int, path: str) -> LayerEntry | None: ...
    def copy_missing_entries(self, src_layer_id: int, dst_layer_id: int) -> int: ...
    def commit_stack(self, commit_id: int) -> list[int]: ...
    def set_commit_stack(self, commit_id: int, layer_ids: Sequence[int]) -> None: ...
    def merge_layers(self, repo_id: int, layer_ids: Sequence[int], drop_tombstones: bool) -> int: ...
    def tree_get(self, stack: Sequence[int], path: str) -> FileEntry | None: ...
    def tree_scan(self, stack: Sequence[int], lower: str = "", upper: str | None = None) -> Iterator[FileEntry]: ...
    def tree_size_delta(self, parent_stack: Sequence[int], layer_id: int) -> int: ...
    def gc_layers(self, repo_id: int) -> int: ...


class Store(Protocol):
    """A metadata store: opens transactions; ``close`` releases its connections."""

    def read(self, snapshot: bool = True) -> AbstractContextManager[PfsTx]:
        """A read transaction. ``snapshot=False`` skips the transaction around it, for callers
        that run exactly one statement (atomic on its own): cheaper on hot single-row reads."""
        ...

    def write(self, join: object | None = None) -> AbstractContextManager[PfsTx]:
        """A write transaction: the unit of work, passed explicitly to whatever writes in it.
        Opening one (or a read) on a thread already inside a write raises ``ImplicitJoin``;
        ``join=tx`` (that thread's open write) is a nested step: a savepoint of ``tx``."""
        ...

    def close(self) -> None: ...


def reading(store: Store, tx: PfsTx | None) -> AbstractContextManager[PfsTx]:
    """The caller's transaction when it passes one (a read in its unit of work), else a new read
    snapshot of ``store``."""
    return nullcontext(tx) if tx is not None else store.read()
