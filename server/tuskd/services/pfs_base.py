"""The state every PFS mixin shares: the store, blobs, events, observers, lookups and info builders.

See :mod:`tuskd.services.pfs` for the semantics; :class:`PfsBase` holds no use case of its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Iterator

from tuskd.blobs.base import BlobStore
from tuskd.domain.errors import NotFound
from tuskd.domain.pfs import (
    DEFAULT_BRANCH,
    BranchInfo,
    BranchKey,
    CommitEvent,
    CommitEventKind,
    CommitInfo,
    CommitKey,
    CommitRef,
    OriginKind,
    PfsEvent,
    RepoInfo,
    RepoKey,
    parse_ref,
)
from tuskd.services.url_sources import UrlLimits
from tuskd.store.base import BranchRow, CommitRow, PfsTx, RepoRow, Store, Tx, reading
from tuskd.store.meta import MetaKind, MetaTx

from .events import EventHub, TopicsChanged
from .pfs_shared import Observer, _closure, _Names, _opt_ts, _ts


class PfsBase:
    """Construction, observers, lookups (``_resolve``) and the info builders of every PFS use case."""

    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        events: EventHub,
        *,
        meta_tables: Callable[[Tx], MetaTx],
        clock: Callable[[], int] | None = None,
        url_limits: UrlLimits | None = None,
    ) -> None:
        self.store = store
        self._meta = meta_tables
        self.blobs = blobs
        self.events = events
        self.url_limits = url_limits or UrlLimits()
        self._clock = clock or (lambda: time.time_ns() // 1000)
        self._observers: list[tuple[Observer, frozenset[CommitEventKind] | None]] = []

    # -- observers and notifications --------------------------------------------------------

    def add_observer(
        self, observer: Observer, *, commit_kinds: Collection[CommitEventKind] | None = None
    ) -> Callable[[], None]:
        """Call ``observer(tx, event)`` inside the write transaction of every PFS event.

        An observer may write through ``tx`` (same transaction) or raise to veto the whole
        operation. ``commit_kinds`` limits the commit events it is given (None: all): a commit
        event no observer takes is not built (its CommitInfo costs several queries). Returns a
        function that removes the observer.
        """
        entry = (observer, None if commit_kinds is None else frozenset(commit_kinds))
        self._observers.append(entry)
        return lambda: self._observers.remove(entry)

    def _emit(self, tx: PfsTx, event: PfsEvent) -> None:
        for observer, kinds in list(self._observers):
            if kinds is None or not isinstance(event, CommitEvent) or event.kind in kinds:
                observer(tx, event)

    def _emit_commit(
        self, tx: PfsTx, kind: CommitEventKind, row: CommitRow, names: _Names | None = None, force: bool = False
    ) -> None:
        """A commit event, built only if some observer takes this kind."""
        if any(kinds is None or kind in kinds for _, kinds in self._observers):
            self._emit(tx, CommitEvent(kind, self._commit_info(tx, row, names), force))

    @contextlib.contextmanager
    def _writing(self, tx: PfsTx | None) -> Iterator[PfsTx]:
        """A nested step of the caller's unit of work when it passes one (a savepoint: this
        operation rolls back on its own if it fails), else a new write transaction."""
        with self.store.write(join=tx) as own:
            yield own

    @contextlib.contextmanager
    def _reading(self, tx: PfsTx | None) -> Iterator[PfsTx]:
        """The caller's transaction when it passes one, else a new read snapshot."""
        with reading(self.store, tx) as own:
            yield own

    def _publish_after(self, tx: PfsTx, *topics: str) -> None:
        """Wake the waiters of ``topics`` once ``tx`` commits (in commit order: the outbox)."""
        tx.emit(self.events.deliver, TopicsChanged(topics))

    def _now(self) -> int:
        return self._clock()

    # -- lookups ----------------------------------------------------------------------------

    def _repo_row(self, tx: PfsTx, repo: RepoKey) -> RepoRow:
        row = tx.get_repo(repo)
        if row is None:
            raise NotFound(f"repo {repo.qualified} not found", reason="REPO_NOT_FOUND", repo=str(repo))
        return row

    def _branch_row(self, tx: PfsTx, repo: RepoRow, name: str) -> BranchRow:
        row = tx.get_branch(repo.id, name)
        if row is None:
            raise NotFound(
                f'branch "{name}" not found in repo {repo.key.qualified}',
                reason="BRANCH_NOT_FOUND",
                repo=str(repo.key),
                branch=name,
            )
        return row

    def _commit_not_found(self, ref: CommitRef | str, repo: RepoKey) -> NotFound:
        text = ref if isinstance(ref, str) else (ref.id or ref.branch)
        return NotFound(
            f"commit {repo.qualified}@{text} not found", reason="COMMIT_NOT_FOUND", repo=str(repo), commit=text
        )

    def _resolve(self, tx: PfsTx, ref: CommitRef) -> CommitRow:
        repo = self._repo_row(tx, ref.repo)
        spec = parse_ref(ref)
        row: CommitRow | None
        if spec.commit_id is not None:
            row = tx.find_commit(repo.id, spec.commit_id)
            if row is None:
                raise self._commit_not_found(spec.commit_id, repo.key)
        else:
            assert spec.branch is not None
            branch = self._branch_row(tx, repo, spec.branch)
            if branch.head_id is None:
                raise NotFound(f'branch "{spec.branch}" in repo "{repo.key}" has no head commit')
            row = tx.get_commit(branch.head_id)
            assert row is not None
        for _ in range(spec.ancestors):
            if row.parent_id is None:
                raise self._commit_not_found(ref, repo.key)
            row = tx.get_commit(row.parent_id)
            assert row is not None
        return row

    def _stack(self, tx: PfsTx, row: CommitRow | None) -> list[int]:
        """The layer stack of a commit's tree; unfinished commits stack their diffs on an ancestor."""
        chain: list[int] = []
        cur = row
        while cur is not None and cur.finished_us is None:
            if cur.diff_layer_id is not None:
                chain.append(cur.diff_layer_id)
            cur = tx.get_commit(cur.parent_id) if cur.parent_id is not None else None
        base = tx.commit_stack(cur.id) if cur is not None else []
        chain.reverse()
        return base + chain

    def _size(self, tx: PfsTx, row: CommitRow) -> int:
        if row.finished_us is not None or row.diff_layer_id is None:
            return row.size_bytes
        parent = tx.get_commit(row.parent_id) if row.parent_id is not None else None
        base = self._size(tx, parent) if parent is not None else 0
        return max(0, base + tx.tree_size_delta(self._stack(tx, parent), row.diff_layer_id))

    # -- infos ------------------------------------------------------------------------------

    def _commit_info(self, tx: PfsTx, row: CommitRow, names: _Names | None = None) -> CommitInfo:
        names = names or _Names(tx)
        parent = tx.get_commit(row.parent_id) if row.parent_id is not None else None

        def keys(ids: Iterable[int]) -> tuple[CommitKey, ...]:
            out = []
            for commit_id in ids:
                other = tx.get_commit(commit_id)
                if other is not None:
                    out.append(names.commit(other))
            return tuple(out)

        return CommitInfo(
            commit=names.commit(row),
            origin=OriginKind(row.origin),
            description=row.description,
            parent=None if parent is None else names.commit(parent),
            children=tuple(names.commit(c) for c in tx.commit_children(row.id)),
            started=_ts(row.started_us),
            finishing=_opt_ts(row.finishing_us),
            finished=_opt_ts(row.finished_us),
            direct_provenance=keys(tx.commit_provenance(row.id)),
            direct_subvenance=keys(tx.commit_subvenance(row.id)),
            error=row.error,
            size_bytes=self._size(tx, row),
            metadata=self._meta(tx).metadata(MetaKind.COMMIT, row.id),
        )

    def _repo_info(self, tx: PfsTx, row: RepoRow) -> RepoInfo:
        branches = sorted(tx.list_branches(row.id), key=lambda b: b.name)
        size = 0
        for b in branches:
            if b.name == DEFAULT_BRANCH and b.head_id is not None:
                head = tx.get_commit(b.head_id)
                if head is not None:
                    size = self._size(tx, head)
        return RepoInfo(
            repo=row.key,
            created=_ts(row.created_us),
            description=row.description,
            branches=tuple(BranchKey(row.key, b.name) for b in branches),
            size_bytes=size,
            metadata=self._meta(tx).metadata(MetaKind.REPO, row.id),
        )

    def _branch_graph(self, tx: PfsTx) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
        prov: dict[int, set[int]] = {}
        subv: dict[int, set[int]] = {}
        for branch_id, prov_id in tx.branch_provenance_edges():
            prov.setdefault(branch_id, set()).add(prov_id)
            subv.setdefault(prov_id, set()).add(branch_id)
        return prov, subv

    def _branch_info(
        self,
        tx: PfsTx,
        row: BranchRow,
        graph: tuple[dict[int, set[int]], dict[int, set[int]]],
        names: _Names,
    ) -> BranchInfo:
        prov, subv = graph

        def keys(ids: Iterable[int]) -> tuple[BranchKey, ...]:
            return tuple(sorted(names.branch(i) for i in ids))

        head = tx.get_commit(row.head_id) if row.head_id is not None else None
        return BranchInfo(
            branch=BranchKey(names.repo(row.repo_id), row.name),
            head=None if head is None else names.commit(head),
            provenance=keys(_closure(row.id, prov)),
            subvenance=keys(_closure(row.id, subv)),
            direct_provenance=keys(prov.get(row.id, ())),
            created_at=_ts(row.created_us),
            updated_at=_ts(row.updated_us),
            metadata=self._meta(tx).metadata(MetaKind.BRANCH, row.id),
        )
