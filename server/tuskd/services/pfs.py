"""PFS use cases with Pachyderm 2.x semantics: repos, branches, commits, commit sets and files.

Every write runs in one store transaction; observers (the job engine) are called inside it with
a :class:`~tuskd.domain.pfs.CommitEvent` or :class:`~tuskd.domain.pfs.RepoEvent`, so their own
writes commit or roll back together with the PFS change. Waiters are woken through the
:class:`~tuskd.services.events.EventHub` after the transaction commits.

Semantics decided here (see docs/pfs-storage.md for the storage side):

* CreateRepo creates no branch, as in Pachyderm 2.x; ``master`` appears with the first commit
  to it (StartCommit and ModifyFile create a missing branch), and is the default branch name.
* StartCommit on a branch whose head is still open is FAILED_PRECONDITION ("parent commit ...
  has not been finished"); so is starting a commit on a branch with provenance (an output branch).
* Starting a commit (or moving a head with CreateBranch) propagates: every branch downstream
  (subvenant) gets an open AUTO commit in the same commit set, whose direct provenance is the
  new heads of its provenance branches. That is how a pipeline's output branch follows its inputs.
* FinishCommit moves a commit to FINISHING and, once its parent is FINISHED (at once in the
  usual case), to FINISHED, materialising its file tree. Children waiting in FINISHING follow.
* Squash/drop of a commit set are refused while other commit sets depend on it. Squash folds
  each commit's changes into its children (it needs children); drop removes head commits only.
* ModifyFile on a branch whose head is open writes into that commit; otherwise it opens and
  finishes a commit around the changes (``pachctl put file``). Writing to a finished commit
  named by ID is FAILED_PRECONDITION. Within one session, operations apply in order: the last
  write of a path wins, ``append`` appends to what the path holds at that point.
* GetFile of a directory or glob streams the matched files concatenated in path order.
"""

from __future__ import annotations

import logging
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from tuskd.blobs.base import READ_CHUNK, BlobRef, BlobStore
from tuskd.domain import paths
from tuskd.domain.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from tuskd.domain.globs import compile_glob
from tuskd.domain.ids import check_global_id, new_global_id
from tuskd.domain.pfs import (
    DEFAULT_BRANCH,
    BranchInfo,
    BranchKey,
    CommitEvent,
    CommitEventKind,
    CommitInfo,
    CommitKey,
    CommitRef,
    CommitSetInfo,
    CommitState,
    FileDiff,
    FileEntry,
    FileInfo,
    FileType,
    OriginKind,
    PfsEvent,
    RepoEvent,
    RepoEventKind,
    RepoInfo,
    RepoKey,
    TreeNode,
    aggregate_tree,
    check_branch_name,
    check_user_repo_type,
    layers_to_merge,
    parse_ref,
    walk_tree,
)
from tuskd.services.url_sources import UrlLimits, open_url
from tuskd.store.base import BranchRow, CommitRow, LayerEntry, PfsTx, RepoRow, Store, Tx
from tuskd.store.meta import MetaKind, MetaTx

from .events import CancelToken, EventHub

__all__ = [
    "MAX_LIST_NUMBER",
    "ModifySession",
    "Observer",
    "PfsService",
    "commit_set_topic",
    "repo_topic",
]

log = logging.getLogger(__name__)

Observer = Callable[[PfsTx, PfsEvent], None]

MAX_LIST_NUMBER = 100_000
_GLOB_CHARS = frozenset("*?[{(\\")
# Hash of an empty directory listing (the root of an empty commit).
_EMPTY_DIR_HASH = list(aggregate_tree((), "/"))[-1].hash


def repo_topic(repo: RepoKey) -> str:
    """Event topic published whenever anything about ``repo`` (its commits, branches) changes."""
    return f"pfs/repo/{repo.project}/{repo.name}/{repo.type}"


def commit_set_topic(set_id: str) -> str:
    """Event topic published whenever a commit of the commit set changes."""
    return f"pfs/commitset/{set_id}"


def _ts(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _opt_ts(us: int | None) -> datetime | None:
    return None if us is None else _ts(us)


def _check_number(number: int, reverse: bool) -> None:
    if number < 0:
        raise InvalidArgument(f"number must not be negative (got {number})")
    if number > MAX_LIST_NUMBER:
        raise InvalidArgument(f"cannot return more than {MAX_LIST_NUMBER} entries at a time (got {number})")
    if reverse and number == 0:
        raise InvalidArgument("number must be > 0 when reverse is true")


def _closure(start: int, edges: dict[int, set[int]]) -> set[int]:
    seen: set[int] = set()
    todo = list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


@dataclass
class _Tree:
    """A commit opened for reading: its key, its layer stack, and the FileInfo.committed time."""

    row: CommitRow
    key: CommitKey
    stack: list[int]
    committed: datetime | None


class _Names:
    """Per-operation cache of repo and branch names by store id."""

    def __init__(self, tx: PfsTx) -> None:
        self.tx = tx
        self._repos: dict[int, RepoKey] = {}
        self._branches: dict[int, BranchKey] = {}

    def repo(self, repo_id: int) -> RepoKey:
        key = self._repos.get(repo_id)
        if key is None:
            key = self._repos[repo_id] = self.tx.get_repo_by_id(repo_id).key
        return key

    def branch(self, branch_id: int) -> BranchKey:
        key = self._branches.get(branch_id)
        if key is None:
            row = self.tx.get_branch_by_id(branch_id)
            key = self._branches[branch_id] = BranchKey(self.repo(row.repo_id), row.name)
        return key

    def commit(self, row: CommitRow) -> CommitKey:
        return CommitKey(self.repo(row.repo_id), row.set_id, row.branch)


# --------------------------------------------------------------------------------------------
# Modify-file sessions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Put:
    path: str
    blob: BlobRef
    # For appends: the appended bytes, and the blob they were appended to when ``blob`` was
    # computed (None: the path was empty). Re-checked when the session commits.
    suffix: BlobRef | None = None
    base: str | None = None


@dataclass(frozen=True)
class _Delete:
    path: str


@dataclass(frozen=True)
class _Copy:
    dst: str
    src: CommitRef
    src_path: str
    append: bool


_Op = _Put | _Delete | _Copy


class ModifySession:
    """A batch of file changes to one commit, applied atomically by :meth:`commit`.

    Content is streamed to the blob store as it arrives (outside any transaction); the metadata
    changes are applied in one write transaction at :meth:`commit`. :meth:`abort` (or leaving
    the ``with`` block by an exception) discards everything: the commit stays exactly as it was.
    """

    def __init__(self, service: PfsService, target: CommitRef) -> None:
        self._svc = service
        self._target = target
        self._ops: list[_Op] = []
        # Latest staged content per path, to precompute appends without a transaction.
        self._staged: dict[str, BlobRef | None] = {}
        self._state = "open"
        self.result: CommitInfo | None = None

    @property
    def target(self) -> CommitRef:
        return self._target

    def _check_open(self) -> None:
        if self._state != "open":
            raise FailedPrecondition(f"this modify-file session is already {self._state}")

    # -- staging ----------------------------------------------------------------------------

    def add_file(self, path: str, chunks: Iterable[bytes], append: bool = False) -> BlobRef:
        """Stage ``path`` := the streamed content (``append``: its current content + the stream)."""
        self._check_open()
        path = paths.normalize_file_path(path)
        blobs = self._svc.blobs
        if not append:
            ref = blobs.put_stream(chunks, durable=False)
            self._ops.append(_Put(path, ref))
            self._staged[path] = ref
            return ref
        suffix = blobs.put_stream(chunks, durable=False)
        if path in self._staged:
            current = self._staged[path]
            base = None if current is None else current.hash
        else:
            base = self._svc._peek_blob(self._target, path)
        blob = self._svc._concat(base, suffix)
        self._ops.append(_Put(path, blob, suffix, base))
        self._staged[path] = blob
        return blob

    def put_blob(self, path: str, ref: BlobRef) -> None:
        """Stage ``path`` := a blob already in the blob store (no copy, no write, no fsync).

        For content stored as blobs before (the job engine's outputs). :meth:`commit` flushes
        the blob store before it records anything, so a blob put with ``durable=False`` is
        durable before a commit names it (and a flushed one costs nothing more). NotFound when
        the blob is not stored, InvalidArgument when its size is not ``ref.size``.
        """
        self._check_open()
        path = paths.normalize_file_path(path)
        size = self._svc.blobs.size(ref.hash)
        if size != ref.size:
            raise InvalidArgument(f"blob {ref.hash} holds {size} bytes, not {ref.size}")
        self._ops.append(_Put(path, ref))
        self._staged[path] = ref

    def add_file_url(self, path: str, url: str, recursive: bool = False, append: bool = False) -> list[BlobRef]:
        """Stage content fetched from ``file://`` or ``http(s)://`` (``recursive`` for directories),
        within the server's URL limits (:mod:`tuskd.services.url_sources`)."""
        self._check_open()
        path = paths.normalize_path(path)
        refs: list[BlobRef] = []
        for rel, chunks in open_url(url, recursive, self._svc.url_limits):
            target = paths.join(path, rel) if rel else paths.normalize_file_path(path)
            refs.append(self.add_file(target, chunks, append))
        return refs

    def delete_file(self, path: str) -> None:
        """Stage the deletion of a file, or of a directory's whole subtree (``/`` empties the commit)."""
        self._check_open()
        path = paths.normalize_path(path)
        self._ops.append(_Delete(path))
        for staged in [p for p in self._staged if paths.is_within(p, path)]:
            self._staged[staged] = None

    def copy_file(self, dst: str, src: CommitRef, src_path: str, append: bool = False) -> None:
        """Stage a copy of file or directory ``src_path`` of commit ``src`` to ``dst`` (no data copied)."""
        self._check_open()
        dst = paths.normalize_path(dst, what="destination path")
        src_path = paths.normalize_path(src_path, what="source path")
        parse_ref(src)
        self._ops.append(_Copy(dst, src, src_path, append))
        for staged in [p for p in self._staged if paths.is_within(p, dst)]:
            del self._staged[staged]

    @property
    def pending(self) -> int:
        """Number of staged operations."""
        return len(self._ops)

    # -- ending -----------------------------------------------------------------------------

    def commit(self, still_wanted: Callable[[], bool] | None = None) -> CommitInfo:
        """Apply every staged change in one transaction; returns the commit written.

        ``still_wanted`` is asked last, inside the transaction: if it returns False (the client
        went away) everything is rolled back and Aborted is raised.
        """
        self._check_open()
        self._state = "committing"
        try:
            self.result = self._svc._apply_session(self._target, self._ops, still_wanted)
        except BaseException:
            self._state = "aborted"
            raise
        self._state = "committed"
        return self.result

    def abort(self) -> None:
        """Discard the staged changes (uploaded blobs stay, unreferenced and harmless)."""
        if self._state == "open":
            self._state = "aborted"
        self._ops.clear()

    def __enter__(self) -> ModifySession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and self._state == "open":
            self.commit()
        else:
            self.abort()


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


class PfsService:
    """Versioned data: every pfs_v2.API use case, transport-agnostic."""

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
        self._observers: list[Observer] = []

    # -- observers and notifications --------------------------------------------------------

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(tx, event)`` inside the write transaction of every PFS event.

        An observer may write through ``tx`` (same transaction) or raise to veto the whole
        operation. Returns a function that removes the observer.
        """
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def _emit(self, tx: PfsTx, event: PfsEvent) -> None:
        for observer in list(self._observers):
            observer(tx, event)

    def _publish_after(self, tx: PfsTx, *topics: str) -> None:
        tx.after_commit(lambda: self.events.publish(*topics))

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

    # ==========================================================================================
    # Repos
    # ==========================================================================================

    def create_repo(
        self, repo: RepoKey, description: str = "", update: bool = False, *, system: bool = False
    ) -> RepoInfo:
        """Create ``repo``; with ``update`` an existing one gets the new description instead.

        Only ``system`` callers (the pipeline service) may create repos of a type other than user.
        """
        if not system:
            check_user_repo_type(repo)
        with self.store.write() as tx:
            row = tx.get_repo(repo)
            if row is not None:
                if not update:
                    raise AlreadyExists(f"repo {repo.qualified} already exists", reason="REPO_EXISTS", repo=str(repo))
                tx.update_repo_description(row.id, description)
                row = tx.get_repo_by_id(row.id)
            else:
                row = tx.insert_repo(repo, description, self._now())
                self._emit(tx, RepoEvent(RepoEventKind.CREATED, repo))
            self._publish_after(tx, repo_topic(repo))
            return self._repo_info(tx, row)

    def inspect_repo(self, repo: RepoKey) -> RepoInfo:
        with self.store.read() as tx:
            return self._repo_info(tx, self._repo_row(tx, repo))

    def list_repos(self, type: str = "", projects: Sequence[str] = ()) -> list[RepoInfo]:
        """Repos, newest first; ``type`` "" means every type, ``projects`` empty every project."""
        with self.store.read() as tx:
            return [self._repo_info(tx, r) for r in tx.list_repos(type or None, projects)]

    def delete_repo(self, repo: RepoKey, force: bool = False) -> bool:
        """Delete a repo with its branches, commits and file trees; False if there was none.

        Refused (FAILED_PRECONDITION) while a branch of another repo has one of its branches in
        its provenance (a pipeline reads it), unless ``force``, which also cuts those links.
        A repo that does not exist is not an error (as pachd): the answer says nothing was deleted.
        """
        with self.store.write() as tx:
            row = tx.get_repo(repo)
            if row is None:
                return False
            self._delete_repo_tx(tx, row, force)
            return True

    def delete_repos(self, projects: Sequence[str] = (), force: bool = False) -> list[RepoKey]:
        """Delete every user repo of ``projects`` (all projects when empty), in one transaction."""
        with self.store.write() as tx:
            deleted = []
            for row in tx.list_repos(None, projects):
                if tx.get_repo(row.key) is not None:
                    self._delete_repo_tx(tx, row, force)
                    deleted.append(row.key)
            return deleted

    def metadata_owner(self, tx: PfsTx, target: RepoKey | BranchKey | CommitRef) -> tuple[MetaKind, int]:
        """The kind and store id that a metadata map of ``target`` hangs off (NOT_FOUND if none)."""
        if isinstance(target, RepoKey):
            return MetaKind.REPO, self._repo_row(tx, target).id
        if isinstance(target, BranchKey):
            return MetaKind.BRANCH, self._branch_row(tx, self._repo_row(tx, target.repo), target.name).id
        return MetaKind.COMMIT, self._resolve(tx, target).id

    def _delete_repo_tx(self, tx: PfsTx, row: RepoRow, force: bool) -> None:
        names = _Names(tx)
        own = {b.id for b in tx.list_branches(row.id)}
        dependents: dict[int, set[int]] = {}
        for branch_id, prov_id in tx.branch_provenance_edges():
            if prov_id in own and branch_id not in own:
                dependents.setdefault(branch_id, set()).add(prov_id)
        if dependents and not force:
            users = ", ".join(sorted(str(names.branch(b)) for b in dependents))
            raise FailedPrecondition(
                f'cannot delete repo "{row.key}": it is in the provenance of {users}; delete those first or use force',
                reason="REPO_HAS_SUBVENANCE",
                repo=str(row.key),
            )
        self._emit(tx, RepoEvent(RepoEventKind.DELETING, row.key, force))
        prov, _ = self._branch_graph(tx)
        for branch_id, cut in dependents.items():
            tx.set_branch_provenance(branch_id, sorted(prov.get(branch_id, set()) - cut))
        topics = {repo_topic(row.key)}
        for commit in tx.iter_commits(row.id, newest_first=True):
            topics.add(commit_set_topic(commit.set_id))
            if commit.finished_us is None:
                info = self._commit_info(tx, commit, names)
                self._emit(tx, CommitEvent(CommitEventKind.DELETED, info, cause=f'repo "{row.key}" was deleted'))
        tx.delete_repo(row.id)
        self._publish_after(tx, *sorted(topics))

    def delete_all(self) -> None:
        """Delete every repo (forcefully), as pfs_v2.API/DeleteAll does."""
        with self.store.write() as tx:
            for row in tx.list_repos():
                if tx.get_repo(row.key) is not None:
                    self._delete_repo_tx(tx, row, force=True)

    # ==========================================================================================
    # Branches
    # ==========================================================================================

    def create_branch(
        self,
        branch: BranchKey,
        head: CommitRef | None = None,
        provenance: Sequence[BranchKey] = (),
        new_commit_set: bool = False,
    ) -> BranchInfo:
        """Create or update a branch: point it at ``head`` and/or set its direct provenance.

        Missing provenance branches are created with an empty commit. A branch that gets no head
        or new provenance gets a new AUTO commit (open if it has provenance), and moving a head
        propagates downstream in one new commit set. ``new_commit_set`` is accepted for
        compatibility: every CreateBranch already uses its own commit set.
        """
        check_branch_name(branch.name)
        for p in provenance:
            check_branch_name(p.name)
            if p.repo == branch.repo:
                raise InvalidArgument(f'repo "{branch.repo}" cannot be in the provenance of its own branch')
        del new_commit_set  # every CreateBranch already opens its own commit set
        with self.store.write() as tx:
            names = _Names(tx)
            repo = self._repo_row(tx, branch.repo)
            set_id = new_global_id()
            now = self._now()
            prov_rows: list[BranchRow] = []
            for p in dict.fromkeys(provenance):
                prepo = self._repo_row(tx, p.repo)
                prow = tx.get_branch(prepo.id, p.name)
                if prow is None:
                    empty = self._new_commit(tx, prepo, set_id, p.name, None, OriginKind.AUTO, "", (), names)
                    prow = tx.insert_branch(prepo.id, p.name, empty.id, now)
                    self._finish_tx(tx, empty, "", None, False, names)
                prov_rows.append(prow)
            existing = tx.get_branch(repo.id, branch.name)
            graph = self._branch_graph(tx)
            if existing is not None:
                for prow in prov_rows:
                    if prow.id == existing.id or existing.id in _closure(prow.id, graph[0]):
                        raise InvalidArgument(
                            f'branch "{branch}" cannot have "{names.branch(prow.id)}" in its provenance: '
                            "that would make a cycle"
                        )
            head_row = self._resolve(tx, head) if head is not None else None
            if head_row is not None and head_row.repo_id != repo.id:
                raise InvalidArgument(f'head commit {names.commit(head_row)} is not in repo "{repo.key}"')
            old_prov = graph[0].get(existing.id, set()) if existing is not None else set()
            new_prov = {p.id for p in prov_rows}
            if existing is None:
                row = tx.insert_branch(repo.id, branch.name, head_row.id if head_row else None, now)
            else:
                row = existing
                if head_row is not None:
                    tx.set_branch_head(row.id, head_row.id, now)
            tx.set_branch_provenance(row.id, sorted(new_prov))
            current_head = head_row.id if head_row is not None else row.head_id
            propagate = head_row is not None
            if current_head is None or (new_prov and new_prov != old_prov):
                prov_heads = [p.head_id for p in (tx.get_branch_by_id(i) for i in sorted(new_prov)) if p.head_id]
                fresh = self._new_commit(
                    tx, repo, set_id, branch.name, current_head, OriginKind.AUTO, "", prov_heads, names
                )
                tx.set_branch_head(row.id, fresh.id, now)
                if not new_prov:
                    self._finish_tx(tx, fresh, "", None, False, names)
                propagate = True
            if propagate:
                self._propagate(tx, [row.id], set_id, names)
            self._publish_after(tx, repo_topic(repo.key))
            return self._branch_info(tx, tx.get_branch_by_id(row.id), self._branch_graph(tx), names)

    def inspect_branch(self, branch: BranchKey) -> BranchInfo:
        with self.store.read() as tx:
            repo = self._repo_row(tx, branch.repo)
            row = self._branch_row(tx, repo, branch.name)
            return self._branch_info(tx, row, self._branch_graph(tx), _Names(tx))

    def list_branches(self, repo: RepoKey | None = None, reverse: bool = False) -> list[BranchInfo]:
        """Branches of ``repo`` (or of every repo), newest first (``reverse``: oldest first)."""
        with self.store.read() as tx:
            repo_id = self._repo_row(tx, repo).id if repo is not None else None
            rows = tx.list_branches(repo_id)
            if reverse:
                rows.reverse()
            graph = self._branch_graph(tx)
            names = _Names(tx)
            return [self._branch_info(tx, r, graph, names) for r in rows]

    def delete_branch(self, branch: BranchKey, force: bool = False) -> None:
        """Delete a branch (its commits stay). Refused while other branches have it in their
        provenance, unless ``force``, which also removes it from their provenance."""
        with self.store.write() as tx:
            names = _Names(tx)
            repo = self._repo_row(tx, branch.repo)
            row = self._branch_row(tx, repo, branch.name)
            prov, subv = self._branch_graph(tx)
            users = subv.get(row.id, set())
            if users and not force:
                shown = ", ".join(sorted(str(names.branch(u)) for u in users))
                raise FailedPrecondition(
                    f'cannot delete branch "{branch}": it is in the provenance of {shown}; use force',
                    reason="BRANCH_HAS_SUBVENANCE",
                )
            for user in users:
                tx.set_branch_provenance(user, sorted(prov.get(user, set()) - {row.id}))
            tx.delete_branch(row.id)
            self._publish_after(tx, repo_topic(repo.key))

    # ==========================================================================================
    # Commits
    # ==========================================================================================

    def _new_commit(
        self,
        tx: PfsTx,
        repo: RepoRow,
        set_id: str,
        branch: str | None,
        parent_id: int | None,
        origin: OriginKind,
        description: str,
        provenance: Sequence[int],
        names: _Names,
    ) -> CommitRow:
        if tx.find_commit(repo.id, set_id) is not None:
            raise FailedPrecondition(
                f'repo "{repo.key}" already has a commit in commit set {set_id}: '
                "two branches of one repo cannot both follow the same commit"
            )
        layer = tx.create_layer(repo.id)
        row = tx.insert_commit(
            repo_id=repo.id,
            set_id=set_id,
            branch=branch,
            parent_id=parent_id,
            origin=int(origin),
            description=description,
            started_us=self._now(),
            diff_layer_id=layer,
        )
        for prov_id in dict.fromkeys(provenance):
            tx.add_commit_provenance(row.id, prov_id)
        self._emit(tx, CommitEvent(CommitEventKind.STARTED, self._commit_info(tx, row, names)))
        self._publish_after(tx, repo_topic(repo.key), commit_set_topic(set_id))
        return row

    def _propagate(self, tx: PfsTx, branch_ids: Sequence[int], set_id: str, names: _Names) -> None:
        """Open an AUTO commit in ``set_id`` on every branch downstream of ``branch_ids``."""
        prov, subv = self._branch_graph(tx)
        targets: set[int] = set()
        for branch_id in branch_ids:
            targets |= _closure(branch_id, subv)
        targets -= set(branch_ids)
        in_set: dict[int, int] = {}
        for branch_id in branch_ids:
            head_id = tx.get_branch_by_id(branch_id).head_id
            if head_id is not None:
                in_set[branch_id] = head_id
        for target in sorted(targets, key=lambda t: (len(_closure(t, prov)), t)):
            branch = tx.get_branch_by_id(target)
            if branch.head_id is not None:
                head = tx.get_commit(branch.head_id)
                if head is not None and head.set_id == set_id:
                    in_set[target] = head.id
                    continue
            prov_commits: list[int] = []
            for p in sorted(prov.get(target, ())):
                if p in in_set:
                    prov_commits.append(in_set[p])
                else:
                    p_head = tx.get_branch_by_id(p).head_id
                    if p_head is not None:
                        prov_commits.append(p_head)
            repo = tx.get_repo_by_id(branch.repo_id)
            row = self._new_commit(
                tx, repo, set_id, branch.name, branch.head_id, OriginKind.AUTO, "", prov_commits, names
            )
            tx.set_branch_head(target, row.id, self._now())
            in_set[target] = row.id

    def start_commit(
        self,
        branch: BranchKey,
        parent: CommitRef | None = None,
        description: str = "",
        set_id: str | None = None,
    ) -> CommitInfo:
        """Open a USER commit on ``branch`` (created if missing) in a new commit set, or in
        ``set_id`` (a transaction's commits share its set)."""
        check_branch_name(branch.name)
        with self.store.write() as tx:
            names = _Names(tx)
            row = self._start_tx(tx, branch, parent, description, names, set_id)
            return self._commit_info(tx, row, names)

    def _start_tx(
        self,
        tx: PfsTx,
        branch: BranchKey,
        parent: CommitRef | None,
        description: str,
        names: _Names,
        set_id: str | None = None,
    ) -> CommitRow:
        repo = self._repo_row(tx, branch.repo)
        row = tx.get_branch(repo.id, branch.name)
        if row is not None and self._branch_graph(tx)[0].get(row.id):
            raise FailedPrecondition(
                f'cannot start a commit on branch "{branch}": it has provenance (it is an output branch)',
                reason="COMMIT_ON_OUTPUT_BRANCH",
            )
        if parent is not None:
            parent_row: CommitRow | None = self._resolve(tx, parent)
            assert parent_row is not None
            if parent_row.repo_id != repo.id:
                raise InvalidArgument(f'parent commit {parent} is not in repo "{repo.key}"')
        elif row is not None and row.head_id is not None:
            parent_row = tx.get_commit(row.head_id)
        else:
            parent_row = None
        if parent_row is not None and parent_row.finishing_us is None:
            raise FailedPrecondition(
                f"parent commit {names.commit(parent_row)} has not been finished",
                reason="PARENT_NOT_FINISHED",
                commit=parent_row.set_id,
            )
        set_id = set_id or new_global_id()
        commit = self._new_commit(
            tx,
            repo,
            set_id,
            branch.name,
            parent_row.id if parent_row is not None else None,
            OriginKind.USER,
            description,
            (),
            names,
        )
        now = self._now()
        if row is None:
            row = tx.insert_branch(repo.id, branch.name, commit.id, now)
        else:
            tx.set_branch_head(row.id, commit.id, now)
        self._propagate(tx, [row.id], set_id, names)
        return commit

    def finish_commit(
        self,
        commit: CommitRef,
        description: str = "",
        error: str = "",
        force: bool = False,
    ) -> CommitInfo:
        """Finish a commit; a non-empty ``error`` marks it failed (visible in CommitInfo.error).

        An empty ``description`` keeps the current one. ``force`` is passed to observers (the
        job engine refuses to let users finish pipeline output commits without it).
        """
        with self.store.write() as tx:
            names = _Names(tx)
            row = self._resolve(tx, commit)
            if row.finishing_us is not None:
                raise FailedPrecondition(
                    f"commit {names.commit(row)} is already finished", reason="COMMIT_FINISHED", commit=row.set_id
                )
            self._finish_tx(tx, row, error, description or None, force, names)
            finished = tx.get_commit(row.id)
            assert finished is not None
            return self._commit_info(tx, finished, names)

    def _finish_tx(
        self,
        tx: PfsTx,
        row: CommitRow,
        error: str,
        description: str | None,
        force: bool,
        names: _Names,
    ) -> None:
        tx.set_commit_finishing(row.id, self._now(), error, description)
        current = tx.get_commit(row.id)
        assert current is not None
        self._emit(tx, CommitEvent(CommitEventKind.FINISHING, self._commit_info(tx, current, names), force))
        self._complete(tx, current, names)

    def _complete(self, tx: PfsTx, row: CommitRow, names: _Names) -> None:
        """FINISHING -> FINISHED once the parent is finished; children waiting on it follow."""
        pending = [row]
        while pending:
            commit = pending.pop()
            parent = tx.get_commit(commit.parent_id) if commit.parent_id is not None else None
            if parent is not None and parent.finished_us is None:
                continue
            self._materialise(tx, commit, parent)
            done = tx.get_commit(commit.id)
            assert done is not None
            self._emit(tx, CommitEvent(CommitEventKind.FINISHED, self._commit_info(tx, done, names)))
            self._publish_after(tx, repo_topic(names.repo(done.repo_id)), commit_set_topic(done.set_id))
            for child in tx.commit_children(commit.id):
                if child.finishing_us is not None and child.finished_us is None:
                    pending.append(child)

    def _materialise(self, tx: PfsTx, commit: CommitRow, parent: CommitRow | None) -> None:
        """Freeze a commit's tree: parent stack + its diff, compacted; record its size."""
        stack = tx.commit_stack(parent.id) if parent is not None else []
        size = parent.size_bytes if parent is not None else 0
        diff = commit.diff_layer_id
        if diff is not None and tx.refresh_layer_size(diff) > 0:
            size += tx.tree_size_delta(stack, diff)
            stack = [*stack, diff]
            merge = layers_to_merge([tx.layer_size(layer) for layer in stack])
            if merge:
                merged = tx.merge_layers(commit.repo_id, stack[-merge:], drop_tombstones=merge == len(stack))
                stack = stack[:-merge]
                if tx.layer_size(merged) > 0:
                    stack.append(merged)
        tx.set_commit_stack(commit.id, stack)
        tx.set_commit_finished(commit.id, self._now(), max(size, 0))

    def inspect_commit(
        self,
        commit: CommitRef,
        wait: CommitState = CommitState.UNKNOWN,
        *,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
    ) -> CommitInfo:
        """A commit's info; with ``wait``, block until it reaches that state (READY: every direct
        provenance commit is finished). A branch reference is resolved once, before waiting."""
        with self.store.read() as tx:
            row = self._resolve(tx, commit)
            names = _Names(tx)
            key = names.commit(row)
            if wait <= CommitState.STARTED:
                return self._commit_info(tx, row, names)
        return self._wait_commit(row.id, key, wait, timeout, cancel)

    def _reached(self, tx: PfsTx, row: CommitRow, state: CommitState) -> tuple[bool, set[RepoKey]]:
        """Whether ``row`` is in ``state``; plus the repos whose changes could change the answer."""
        if state <= CommitState.STARTED:
            return True, set()
        if state == CommitState.READY:
            if row.finished_us is not None:
                return True, set()
            names = _Names(tx)
            repos: set[RepoKey] = set()
            ready = True
            for prov_id in tx.commit_provenance(row.id):
                prov = tx.get_commit(prov_id)
                if prov is not None and prov.finished_us is None:
                    ready = False
                    repos.add(names.repo(prov.repo_id))
            return ready, repos
        if state == CommitState.FINISHING:
            return row.finishing_us is not None, set()
        return row.finished_us is not None, set()

    def _wait_commit(
        self,
        commit_id: int,
        key: CommitKey,
        state: CommitState,
        timeout: float | None,
        cancel: CancelToken | None,
    ) -> CommitInfo:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.events.subscribe(repo_topic(key.repo), cancel=cancel) as sub:
            while True:
                with self.store.read() as tx:
                    row = tx.get_commit(commit_id)
                    if row is None:
                        raise NotFound(f"commit {key} was deleted while waiting for it", reason="COMMIT_DELETED")
                    reached, watch = self._reached(tx, row, state)
                    if reached:
                        return self._commit_info(tx, row)
                topics = [repo_topic(r) for r in watch]
                if any(t not in sub.topics for t in topics):
                    self.events.add_topics(sub, topics)
                    continue  # re-read: a change may have landed before those topics were watched
                sub.check()
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not sub.wait(remaining):
                    raise DeadlineExceeded(f"commit {key} did not reach {state.name} in time")
                sub.check()

    def list_commits(
        self,
        repo: RepoKey,
        from_: CommitRef | None = None,
        to: CommitRef | None = None,
        number: int = 0,
        reverse: bool = False,
        all: bool = False,
        origin_kind: OriginKind = OriginKind.UNKNOWN,
        started_time: datetime | None = None,
    ) -> Iterator[CommitInfo]:
        """Commits of a repo, newest first (``reverse``: oldest first), at most ``number`` (0: all).

        With ``to`` (and optionally ``from_``), the ancestry of ``to`` back to (excluding)
        ``from_``. ``started_time`` keeps commits started before it (after it when reversed).
        ``all`` disables the ``origin_kind`` filter.
        """
        if number < 0:
            raise InvalidArgument(f"number must not be negative (got {number})")
        if from_ is not None and to is None:
            raise InvalidArgument("cannot use a 'from' commit without a 'to' commit")
        if reverse and to is not None:
            raise InvalidArgument("cannot list commits in reverse while using 'from' or 'to'")
        with self.store.read() as tx:
            repo_id = self._repo_row(tx, repo).id
            to_id = self._resolve(tx, to).id if to is not None else None
            from_id = self._resolve(tx, from_).id if from_ is not None else None
        origin = None if all or origin_kind == OriginKind.UNKNOWN else int(origin_kind)
        return self._list_commits(repo_id, to_id, from_id, number, reverse, origin, started_time)

    def _list_commits(
        self,
        repo_id: int,
        to_id: int | None,
        from_id: int | None,
        number: int,
        reverse: bool,
        origin: int | None,
        started_time: datetime | None,
    ) -> Iterator[CommitInfo]:
        remaining = number or -1
        with self.store.read() as tx:
            names = _Names(tx)
            if to_id is None:
                bound = None if started_time is None else int(started_time.timestamp() * 1_000_000)
                rows = tx.iter_commits(
                    repo_id,
                    newest_first=not reverse,
                    origin=origin,
                    started_before_us=bound if not reverse else None,
                    started_after_us=bound if reverse else None,
                )
                for row in rows:
                    if remaining == 0:
                        return
                    remaining -= 1
                    yield self._commit_info(tx, row, names)
                return
            cursor = tx.get_commit(to_id)
            while cursor is not None and cursor.id != from_id and remaining != 0:
                if origin is None or cursor.origin == origin:
                    remaining -= 1
                    yield self._commit_info(tx, cursor, names)
                cursor = tx.get_commit(cursor.parent_id) if cursor.parent_id is not None else None

    def subscribe_commits(
        self,
        repo: RepoKey,
        branch: str = "",
        from_: CommitRef | None = None,
        state: CommitState = CommitState.STARTED,
        all: bool = False,
        origin_kind: OriginKind = OriginKind.UNKNOWN,
        *,
        cancel: CancelToken | None = None,
    ) -> Iterator[CommitInfo]:
        """Every commit of ``repo`` (on ``branch`` if given) in creation order, each once it has
        reached ``state``: first the existing ones after ``from_`` (all, without it), then new
        ones as they come. Runs until cancelled, or the repo is deleted (NOT_FOUND)."""
        if branch:
            check_branch_name(branch)
        with self.store.read() as tx:
            repo_id = self._repo_row(tx, repo).id
            cursor = self._resolve(tx, from_).id if from_ is not None else 0
        origin = None if all or origin_kind == OriginKind.UNKNOWN else int(origin_kind)
        return self._subscribe(repo, repo_id, branch or None, cursor, state, origin, cancel)

    def _subscribe(
        self,
        repo: RepoKey,
        repo_id: int,
        branch: str | None,
        cursor: int,
        state: CommitState,
        origin: int | None,
        cancel: CancelToken | None,
    ) -> Iterator[CommitInfo]:
        with self.events.subscribe(repo_topic(repo), cancel=cancel) as sub:
            while True:
                info: CommitInfo | None = None
                with self.store.read() as tx:
                    current = tx.get_repo(repo)
                    if current is None or current.id != repo_id:
                        raise NotFound(f'repo "{repo}" was deleted', reason="REPO_NOT_FOUND")
                    row = next(
                        tx.iter_commits(repo_id, newest_first=False, origin=origin, branch=branch, after_id=cursor),
                        None,
                    )
                    if row is not None:
                        reached, watch = self._reached(tx, row, state)
                        if reached:
                            info = self._commit_info(tx, row)
                            cursor = row.id
                        else:
                            topics = [repo_topic(r) for r in watch]
                            if any(t not in sub.topics for t in topics):
                                self.events.add_topics(sub, topics)
                                continue
                if info is not None:
                    yield info
                    continue
                sub.check()
                sub.wait()
                sub.check()

    # ==========================================================================================
    # Commit sets
    # ==========================================================================================

    def _set_rows(self, tx: PfsTx, set_id: str) -> list[CommitRow]:
        rows = tx.commits_in_set(set_id)
        if not rows:
            raise NotFound(f"commit set {set_id} not found", reason="COMMIT_SET_NOT_FOUND", commit_set=set_id)
        return rows

    def _set_with_provenance(self, tx: PfsTx, set_id: str) -> list[CommitRow]:
        """The set's commits plus the commits they depend on from other sets, upstream first."""
        rows = {r.id: r for r in self._set_rows(tx, set_id)}
        for row in list(rows.values()):
            for prov_id in tx.commit_provenance(row.id):
                if prov_id not in rows:
                    prov = tx.get_commit(prov_id)
                    if prov is not None:
                        rows[prov_id] = prov
        order: list[CommitRow] = []
        seen: set[int] = set()

        def visit(row: CommitRow) -> None:
            if row.id in seen:
                return
            seen.add(row.id)
            for prov_id in tx.commit_provenance(row.id):
                if prov_id in rows:
                    visit(rows[prov_id])
            order.append(row)

        for commit_id in sorted(rows):
            visit(rows[commit_id])
        return order

    def inspect_commit_set(
        self,
        set_id: str,
        wait: bool = False,
        *,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
    ) -> list[CommitInfo]:
        """The commits of a commit set (with the commits they depend on from other sets, as
        Pachyderm does), upstream first; with ``wait``, once all of them are finished."""
        check_global_id(set_id, "commit set")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.events.subscribe(commit_set_topic(set_id), cancel=cancel) as sub:
            while True:
                with self.store.read() as tx:
                    names = _Names(tx)
                    rows = self._set_with_provenance(tx, set_id)
                    pending = [r for r in rows if r.finished_us is None]
                    if not wait or not pending:
                        return [self._commit_info(tx, r, names) for r in rows]
                    topics = [repo_topic(names.repo(r.repo_id)) for r in pending]
                if any(t not in sub.topics for t in topics):
                    self.events.add_topics(sub, topics)
                    continue
                sub.check()
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not sub.wait(remaining):
                    raise DeadlineExceeded(f"commit set {set_id} did not finish in time")
                sub.check()

    def list_commit_sets(self, project: str = "") -> Iterator[CommitSetInfo]:
        """Commit sets, newest first (by their newest commit), optionally of one project."""
        with self.store.read() as tx:
            ids = tx.commit_set_ids(project or None)
        for set_id in ids:
            with self.store.read() as tx:
                if not tx.commits_in_set(set_id):
                    continue
                names = _Names(tx)
                rows = self._set_with_provenance(tx, set_id)
                commits = tuple(self._commit_info(tx, r, names) for r in rows)
            yield CommitSetInfo(set_id, commits)

    def _check_no_subvenant_sets(self, tx: PfsTx, set_id: str, rows: Sequence[CommitRow], verb: str) -> None:
        others: set[str] = set()
        for row in rows:
            for sub_id in tx.commit_subvenance(row.id):
                sub = tx.get_commit(sub_id)
                if sub is not None and sub.set_id != set_id:
                    others.add(sub.set_id)
        if others:
            raise FailedPrecondition(
                f"cannot {verb} commit set {set_id}: commit sets {', '.join(sorted(others))} depend on it; "
                f"{verb} those first",
                reason="COMMIT_SET_HAS_SUBVENANCE",
                commit_set=set_id,
            )

    def squash_commit_set(self, set_id: str) -> None:
        """Remove a commit set's commits, folding each one's changes into its children.

        Every commit must have children (squashing a head would lose data: drop it instead),
        and no other commit set may depend on this one.
        """
        check_global_id(set_id, "commit set")
        with self.store.write() as tx:
            names = _Names(tx)
            rows = self._set_rows(tx, set_id)
            self._check_no_subvenant_sets(tx, set_id, rows, "squash")
            for row in rows:
                if not tx.commit_children(row.id):
                    raise FailedPrecondition(
                        f"cannot squash commit {names.commit(row)}: it has no children; drop its commit set instead",
                        reason="SQUASH_WITHOUT_CHILDREN",
                    )
            self.remove_commits(tx, rows, squash=True, cause=f"commit set {set_id} was squashed")

    def drop_commit_set(self, set_id: str) -> None:
        """Remove a commit set whose commits are all heads (no children); branch heads move back
        to the parents, and no other commit set may depend on this one."""
        check_global_id(set_id, "commit set")
        with self.store.write() as tx:
            names = _Names(tx)
            rows = self._set_rows(tx, set_id)
            self._check_no_subvenant_sets(tx, set_id, rows, "drop")
            for row in rows:
                if tx.commit_children(row.id):
                    raise FailedPrecondition(
                        f"cannot drop commit {names.commit(row)}: it has children; "
                        "drop the commit sets of its descendants first",
                        reason="DROP_WITH_CHILDREN",
                    )
            self.remove_commits(tx, rows, squash=False, cause=f"commit set {set_id} was dropped")

    def remove_commits(self, tx: PfsTx, rows: Sequence[CommitRow], *, squash: bool, cause: str) -> None:
        """Delete commits the caller has checked; with ``squash`` each one's changes move into
        its children first (they become children of its parent). ``cause`` ends the unfinished jobs
        of removed output commits (KILLED, with it as their reason). Used by services/pfs_history.py."""
        names = _Names(tx)
        for stale in rows:
            row = tx.get_commit(stale.id) or stale  # an earlier removal may have re-parented it
            if squash:
                for child in tx.commit_children(row.id):
                    if row.diff_layer_id is not None and child.diff_layer_id is not None:
                        tx.copy_missing_entries(row.diff_layer_id, child.diff_layer_id)
                    tx.set_commit_parent(child.id, row.parent_id)
            self._remove_commit(tx, row, names, cause)
        self._gc(tx, rows)

    def resolve_commit(self, tx: PfsTx, ref: CommitRef) -> CommitRow:
        """The row ``ref`` names inside ``tx`` (NotFound as every lookup here)."""
        return self._resolve(tx, ref)

    def commit_info_of(self, tx: PfsTx, row: CommitRow) -> CommitInfo:
        """The API's view of a commit row read inside ``tx``."""
        return self._commit_info(tx, row)

    def _remove_commit(self, tx: PfsTx, row: CommitRow, names: _Names, cause: str) -> None:
        info = self._commit_info(tx, row, names)
        now = self._now()
        for branch in tx.branches_with_head(row.id):
            if row.parent_id is not None:
                tx.set_branch_head(branch.id, row.parent_id, now)
            else:
                # Every branch keeps a head: an empty one, as Pachyderm does.
                tx.set_branch_head(branch.id, None, now)
                repo = tx.get_repo_by_id(branch.repo_id)
                empty = self._new_commit(tx, repo, new_global_id(), branch.name, None, OriginKind.AUTO, "", (), names)
                tx.set_branch_head(branch.id, empty.id, now)
                self._finish_tx(tx, empty, "", None, False, names)
        tx.delete_commit(row.id)
        self._emit(tx, CommitEvent(CommitEventKind.DELETED, info, cause=cause))
        self._publish_after(tx, repo_topic(info.commit.repo), commit_set_topic(row.set_id))

    def _gc(self, tx: PfsTx, rows: Iterable[CommitRow]) -> None:
        for repo_id in {r.repo_id for r in rows}:
            tx.gc_layers(repo_id)

    # ==========================================================================================
    # Files: writing
    # ==========================================================================================

    def begin_modify(self, target: CommitRef) -> ModifySession:
        """Start a modify-file session on a commit (by ID) or a branch (its open head, or a new
        commit opened and finished around the changes). Problems with the target are raised
        now; they are checked again when the session commits."""
        with self.store.read() as tx:
            self._writable(tx, target, create=False)
        return ModifySession(self, target)

    def put_file(self, target: CommitRef, path: str, chunks: Iterable[bytes], append: bool = False) -> CommitInfo:
        """One-file convenience over :meth:`begin_modify`."""
        with self.begin_modify(target) as session:
            session.add_file(path, chunks, append)
        assert session.result is not None
        return session.result

    def _writable(self, tx: PfsTx, target: CommitRef, create: bool) -> tuple[CommitRow | None, bool]:
        """The commit a session writes to, and whether it is a one-off to finish afterwards."""
        spec = parse_ref(target)
        if spec.commit_id is not None or spec.ancestors:
            row = self._resolve(tx, target)
            if row.finishing_us is not None:
                raise FailedPrecondition(
                    f"commit {CommitKey(target.repo, row.set_id)} is finished: it cannot be modified",
                    reason="COMMIT_FINISHED",
                    commit=row.set_id,
                )
            return row, False
        assert spec.branch is not None
        repo = self._repo_row(tx, target.repo)
        branch = tx.get_branch(repo.id, spec.branch)
        if branch is not None and branch.head_id is not None:
            head = tx.get_commit(branch.head_id)
            if head is not None and head.finishing_us is None:
                return head, False
        if branch is not None and self._branch_graph(tx)[0].get(branch.id):
            raise FailedPrecondition(
                f'cannot write to branch "{target.repo}@{spec.branch}": it has provenance (an output branch) '
                "and no open commit",
                reason="COMMIT_ON_OUTPUT_BRANCH",
            )
        if not create:
            return None, True
        return self._start_tx(tx, BranchKey(repo.key, spec.branch), None, "", _Names(tx)), True

    def _peek_blob(self, target: CommitRef, path: str) -> str | None:
        """The blob ``path`` holds now in the commit a session on ``target`` would build on."""
        with self.store.read() as tx:
            try:
                row = self._resolve(tx, target)
            except NotFound:
                return None  # a branch without commits yet: the path is empty
            entry = tx.tree_get(self._stack(tx, row), path)
            return None if entry is None else entry.blob

    def _concat(self, base: str | None, suffix: BlobRef) -> BlobRef:
        if base is None:
            return suffix
        if suffix.size == 0:
            return BlobRef(base, self.blobs.size(base))

        def chunks() -> Iterator[bytes]:
            yield from self.blobs.read_chunks(base)
            yield from self.blobs.read_chunks(suffix.hash)

        return self.blobs.put_stream(chunks(), durable=False)

    def _apply_session(
        self, target: CommitRef, ops: Sequence[_Op], still_wanted: Callable[[], bool] | None = None
    ) -> CommitInfo:
        # Uploaded blobs become durable before any metadata naming them can commit.
        self.blobs.flush()
        with self.store.write() as tx:
            names = _Names(tx)
            row, one_off = self._writable(tx, target, create=True)
            assert row is not None
            stack = self._stack(tx, row)
            overlay: dict[str, FileEntry | None] = {}

            def view(path: str) -> FileEntry | None:
                if path in overlay:
                    return overlay[path]
                return tx.tree_get(stack, path)

            def files_under(directory: str) -> list[str]:
                lower, upper = paths.subtree_range(directory)
                found = {e.path for e in tx.tree_scan(stack, lower, upper) if overlay.get(e.path, e) is not None}
                found.update(p for p, e in overlay.items() if e is not None and p.startswith(lower))
                return sorted(found)

            for op in ops:
                if isinstance(op, _Put):
                    blob = op.blob
                    if op.suffix is not None:
                        current = view(op.path)
                        current_blob = None if current is None else current.blob
                        if current_blob != op.base:
                            blob = self._concat(current_blob, op.suffix)
                    overlay[op.path] = FileEntry(op.path, blob.hash, blob.size)
                elif isinstance(op, _Delete):
                    if op.path != paths.ROOT and view(op.path) is not None:
                        overlay[op.path] = None
                    else:
                        for path in files_under(op.path):
                            overlay[path] = None
                else:
                    self._apply_copy(tx, op, overlay, view)
            self._check_collisions(tx, stack, overlay)
            self._write_overlay(tx, row, overlay)
            self._publish_after(tx, repo_topic(names.repo(row.repo_id)), commit_set_topic(row.set_id))
            if one_off:
                self._finish_tx(tx, row, "", None, False, names)
            self.blobs.flush()  # blobs concatenated inside the transaction (rare appends)
            if still_wanted is not None and not still_wanted():
                raise Aborted("the modify-file session was cancelled; nothing was applied")
            done = tx.get_commit(row.id)
            assert done is not None
            return self._commit_info(tx, done, names)

    def _apply_copy(
        self,
        tx: PfsTx,
        op: _Copy,
        overlay: dict[str, FileEntry | None],
        view: Callable[[str], FileEntry | None],
    ) -> None:
        src = self._resolve(tx, op.src)
        src_stack = self._stack(tx, src)
        single = tx.tree_get(src_stack, op.src_path) if op.src_path != paths.ROOT else None
        if single is not None:
            if op.dst == paths.ROOT:
                raise InvalidArgument(f"cannot copy file {op.src_path} onto the root directory")
            pairs = [(op.dst, single)]
        else:
            lower, upper = paths.subtree_range(op.src_path)
            pairs = [
                (paths.join(op.dst, paths.relative_to(e.path, op.src_path)), e)
                for e in tx.tree_scan(src_stack, lower, upper)
            ]
            if not pairs and op.src_path != paths.ROOT:
                raise NotFound(f'file "{op.src_path}" not found in commit {op.src}', reason="FILE_NOT_FOUND")
        for dst, entry in pairs:
            if op.append:
                current = view(dst)
                blob = self._concat(None if current is None else current.blob, BlobRef(entry.blob, entry.size))
                overlay[dst] = FileEntry(dst, blob.hash, blob.size)
            else:
                overlay[dst] = FileEntry(dst, entry.blob, entry.size)

    def _check_collisions(self, tx: PfsTx, stack: list[int], overlay: dict[str, FileEntry | None]) -> None:
        """Refuse a final tree where one path is both a file and a directory."""
        live = [p for p, e in overlay.items() if e is not None]
        if not live:
            return
        new_dirs: set[str] = set()
        for path in live:
            new_dirs.update(paths.ancestors(path))
        checked: set[str] = set()
        for path in live:
            if path in new_dirs:
                raise self._collision(path)
            for ancestor in paths.ancestors(path):
                if ancestor in checked:
                    continue
                checked.add(ancestor)
                entry = overlay[ancestor] if ancestor in overlay else tx.tree_get(stack, ancestor)
                if entry is not None:
                    raise self._collision(ancestor)
            if stack:
                lower, upper = paths.subtree_range(path)
                for existing in tx.tree_scan(stack, lower, upper):
                    if overlay.get(existing.path, existing) is not None:
                        raise self._collision(path)

    @staticmethod
    def _collision(path: str) -> FailedPrecondition:
        return FailedPrecondition(
            f'path collision: "{path}" would be both a file and a directory',
            reason="PATH_COLLISION",
            path=path,
        )

    def _write_overlay(self, tx: PfsTx, row: CommitRow, overlay: dict[str, FileEntry | None]) -> None:
        if not overlay:
            return
        layer = row.diff_layer_id
        assert layer is not None
        parent = tx.get_commit(row.parent_id) if row.parent_id is not None else None
        parent_final = parent is None or parent.finished_us is not None
        parent_stack = self._stack(tx, parent) if parent is not None else []
        puts: list[LayerEntry] = []
        drops: list[str] = []
        for path in sorted(overlay):
            entry = overlay[path]
            if entry is not None:
                puts.append(LayerEntry(path, entry.blob, entry.size))
            elif parent_final and tx.tree_get(parent_stack, path) is None:
                drops.append(path)  # nothing to hide below: forget this commit's own version
            else:
                puts.append(LayerEntry(path, None, 0))
        tx.put_layer_entries(layer, puts)
        tx.delete_layer_entries(layer, drops)
        tx.refresh_layer_size(layer)

    # ==========================================================================================
    # Files: reading
    # ==========================================================================================

    def _open(self, tx: PfsTx, ref: CommitRef) -> _Tree:
        row = self._resolve(tx, ref)
        names = _Names(tx)
        return _Tree(row, names.commit(row), self._stack(tx, row), _opt_ts(row.finished_us))

    def _info(self, tree: _Tree, node: TreeNode) -> FileInfo:
        return FileInfo(
            commit=tree.key,
            path=node.key,
            file_type=FileType.DIR if node.is_dir else FileType.FILE,
            size_bytes=node.size,
            hash=node.hash,
            committed=tree.committed,
        )

    def _file_not_found(self, path: str, tree: _Tree) -> NotFound:
        return NotFound(
            f"file {path} not found in repo {tree.key.repo.qualified} at commit {tree.key.id}",
            reason="FILE_NOT_FOUND",
            path=path,
            commit=tree.key.id,
        )

    def _walk(self, tx: PfsTx, tree: _Tree, root: str) -> Iterator[TreeNode]:
        """Pre-order nodes of the subtree at ``root`` (nothing if it holds no file).

        Two passes over the same sorted scan: the first sizes and hashes the directories
        (memory: one node per directory), the second emits in order.
        """
        single = tx.tree_get(tree.stack, root) if root != paths.ROOT else None
        if single is not None:
            yield TreeNode(root, False, single.size, single.blob)
            return
        lower, upper = paths.subtree_range(root)
        dirs: dict[str, TreeNode] = {}
        files = 0
        for node in aggregate_tree(tx.tree_scan(tree.stack, lower, upper), root):
            if node.is_dir:
                dirs[node.key] = node
            else:
                files += 1
        if files:
            yield from walk_tree(tx.tree_scan(tree.stack, lower, upper), root, dirs)

    def inspect_file(self, commit: CommitRef, path: str) -> FileInfo:
        """A file, or a directory with its total size (the root always exists)."""
        path = paths.normalize_path(path)
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            if path != paths.ROOT:
                entry = tx.tree_get(tree.stack, path)
                if entry is not None:
                    return self._info(tree, TreeNode(path, False, entry.size, entry.blob))
            lower, upper = paths.subtree_range(path)
            files = tx.tree_scan(tree.stack, lower, upper)
            first = next(files, None)
            if first is None:
                if path != paths.ROOT:
                    raise self._file_not_found(path, tree)
                return self._info(tree, TreeNode(paths.ROOT, True, 0, _EMPTY_DIR_HASH))

            def all_files() -> Iterator[FileEntry]:
                yield first
                yield from files

            *_, root = aggregate_tree(all_files(), path)
            return self._info(tree, root)

    def list_files(
        self,
        commit: CommitRef,
        path: str = "/",
        number: int = 0,
        reverse: bool = False,
        marker: str | None = None,
    ) -> Iterator[FileInfo]:
        """The children of directory ``path`` (or the file itself), in path order.

        ``marker`` (a path previously returned) resumes after it (before it when ``reverse``);
        ``number`` caps the count (0: no cap; required when ``reverse``).
        """
        _check_number(number, reverse)
        path = paths.normalize_path(path)
        mark = _marker_key(marker)
        return self._paged(self._children(commit, path), number, reverse, mark)

    def _children(self, commit: CommitRef, path: str) -> Iterator[FileInfo]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            if path != paths.ROOT:
                entry = tx.tree_get(tree.stack, path)
                if entry is not None:
                    yield self._info(tree, TreeNode(path, False, entry.size, entry.blob))
                    return
            lower, upper = paths.subtree_range(path)
            want = paths.depth(path) + 1
            found = False
            for node in aggregate_tree(tx.tree_scan(tree.stack, lower, upper), path):
                if node.key != paths.ROOT and paths.depth(node.path) == want:
                    found = True
                    yield self._info(tree, node)
            if not found and path != paths.ROOT:
                raise self._file_not_found(path, tree)

    def _paged(self, infos: Iterator[FileInfo], number: int, reverse: bool, mark: str | None) -> Iterator[FileInfo]:
        if not reverse:
            count = 0
            for info in infos:
                if mark is not None and info.path <= mark:
                    continue
                if number and count >= number:
                    return
                count += 1
                yield info
            return
        tail: list[FileInfo] = []
        for info in infos:
            if mark is not None and info.path >= mark:
                continue
            tail.append(info)
            if len(tail) > number:
                del tail[0]
        yield from reversed(tail)

    def walk_files(
        self,
        commit: CommitRef,
        path: str = "/",
        number: int = 0,
        reverse: bool = False,
        marker: str | None = None,
    ) -> Iterator[FileInfo]:
        """``path`` and everything under it, directories before their content, in path order."""
        _check_number(number, reverse)
        path = paths.normalize_path(path)
        return self._paged(self._walk_infos(commit, path), number, reverse, _marker_key(marker))

    def _walk_infos(self, commit: CommitRef, path: str) -> Iterator[FileInfo]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            found = False
            for node in self._walk(tx, tree, path):
                found = True
                yield self._info(tree, node)
            if not found and path != paths.ROOT:
                raise self._file_not_found(path, tree)

    def glob_files(
        self, commit: CommitRef, pattern: str, path_range: tuple[str, str] | None = None
    ) -> Iterator[FileInfo]:
        """Files and directories matching a Pachyderm glob, in path order.

        ``path_range`` keeps paths with ``lower <= path < upper`` (empty bounds are open).
        """
        glob = compile_glob(pattern)
        root = _glob_root(glob.pattern)
        return self._glob(commit, glob.pattern, root, path_range)

    def _glob(
        self, commit: CommitRef, pattern: str, root: str, path_range: tuple[str, str] | None
    ) -> Iterator[FileInfo]:
        glob = compile_glob(pattern)
        lower, upper = path_range or ("", "")
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            for node in self._walk(tx, tree, root):
                if lower and node.key < lower:
                    continue
                if upper and node.key >= upper:
                    continue
                if glob.match(node.path):
                    yield self._info(tree, node)

    def _selected(self, tx: PfsTx, tree: _Tree, path: str) -> Iterator[TreeNode]:
        """What GetFile/GetFileTAR of ``path`` covers, pre-order: a file; a directory with its
        subtree; or, for a glob, every match with the subtree of matched directories, each once."""
        norm = paths.normalize_path(path)
        if norm != paths.ROOT:
            entry = tx.tree_get(tree.stack, norm)
            if entry is not None:
                yield TreeNode(norm, False, entry.size, entry.blob)
                return
        if not any(ch in _GLOB_CHARS for ch in path):
            found = False
            for node in self._walk(tx, tree, norm):
                found = True
                yield node
            if not found and norm != paths.ROOT:
                raise self._file_not_found(norm, tree)
            return
        glob = compile_glob(path)
        covered: str | None = None
        found = False
        for node in self._walk(tx, tree, _glob_root(glob.pattern)):
            if covered is not None and node.key.startswith(covered):
                yield node
                continue
            covered = None
            if glob.match(node.path):
                found = True
                if node.is_dir:
                    covered = node.key
                yield node
        if not found:
            raise self._file_not_found(path, tree)

    def get_file(self, commit: CommitRef, path: str, offset: int = 0) -> Iterator[bytes]:
        """The content of a file; of a directory or glob: the matched files concatenated."""
        if offset < 0:
            raise InvalidArgument(f"offset must not be negative (got {offset})")
        return self._get_file(commit, path, offset)

    def _get_file(self, commit: CommitRef, path: str, offset: int) -> Iterator[bytes]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            skip = offset
            for node in self._selected(tx, tree, path):
                if node.is_dir:
                    continue
                if skip >= node.size:
                    skip -= node.size
                    continue
                yield from self.blobs.read_chunks(node.hash, skip)
                skip = 0

    def get_file_tar(self, commit: CommitRef, path: str) -> Iterator[bytes]:
        """A tar stream (PAX) of a file, a directory's subtree, or a glob's matches; names are
        relative to the root (``dir/a.txt``), directories included."""
        return self._get_tar(commit, path)

    def _get_tar(self, commit: CommitRef, path: str) -> Iterator[bytes]:
        with self.store.read() as tx:
            tree = self._open(tx, commit)
            mtime = int((tree.committed or datetime.now(UTC)).timestamp())
            buffer = bytearray()
            for node in self._selected(tx, tree, path):
                if node.key == paths.ROOT:
                    continue
                info = tarfile.TarInfo(node.key.lstrip("/"))
                info.mtime = mtime
                if node.is_dir:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    buffer += info.tobuf(tarfile.PAX_FORMAT)
                    continue
                info.size = node.size
                info.mode = 0o644
                buffer += info.tobuf(tarfile.PAX_FORMAT)
                for chunk in self.blobs.read_chunks(node.hash):
                    buffer += chunk
                    if len(buffer) >= READ_CHUNK:
                        yield bytes(buffer)
                        buffer.clear()
                buffer += b"\0" * (-node.size % tarfile.BLOCKSIZE)
            buffer += b"\0" * (2 * tarfile.BLOCKSIZE)
            yield bytes(buffer)

    def diff_files(
        self,
        new: CommitRef,
        new_path: str = "/",
        old: CommitRef | None = None,
        old_path: str | None = None,
        shallow: bool = False,
    ) -> Iterator[FileDiff]:
        """Paths that differ between ``new`` and ``old`` (default: the parent of ``new``), files and
        directories, in path order, one answer per path. ``shallow`` stops at the direct children
        of the path."""
        new_path = paths.normalize_path(new_path)
        old_path = new_path if old_path is None else paths.normalize_path(old_path)
        with self.store.read() as tx:
            self._resolve(tx, new)
            if old is not None:
                self._resolve(tx, old)
        return self._diff(new, new_path, old, old_path, shallow)

    def _diff(
        self, new: CommitRef, new_path: str, old: CommitRef | None, old_path: str, shallow: bool
    ) -> Iterator[FileDiff]:
        with self.store.read() as tx:
            new_tree = self._open(tx, new)
            old_tree: _Tree | None
            if old is not None:
                old_tree = self._open(tx, old)
            elif new_tree.row.parent_id is not None:
                parent = tx.get_commit(new_tree.row.parent_id)
                assert parent is not None
                names = _Names(tx)
                old_tree = _Tree(parent, names.commit(parent), self._stack(tx, parent), _opt_ts(parent.finished_us))
            else:
                old_tree = None

            def keyed(tree: _Tree | None, root: str) -> Iterator[tuple[str, TreeNode]]:
                if tree is None:
                    return
                root_key = paths.dir_key(root)
                for node in self._walk(tx, tree, root):
                    rel = "" if node.key in (root, root_key) else node.key[len(root_key) :]
                    if shallow and "/" in rel.rstrip("/"):
                        continue
                    # Both sides are matched by their full path, as pachd does: a file diffed
                    # against another path is one side removed and the other added.
                    yield node.key, node

            olds = keyed(old_tree, old_path)
            news = keyed(new_tree, new_path)
            o = next(olds, None)
            n = next(news, None)
            while o is not None or n is not None:
                if n is None or (o is not None and o[0] < n[0]):
                    assert o is not None and old_tree is not None
                    yield FileDiff(self._info(old_tree, o[1]), None)
                    o = next(olds, None)
                elif o is None or n[0] < o[0]:
                    yield FileDiff(None, self._info(new_tree, n[1]))
                    n = next(news, None)
                else:
                    assert old_tree is not None
                    if o[1].hash != n[1].hash or o[1].is_dir != n[1].is_dir:
                        yield FileDiff(self._info(old_tree, o[1]), self._info(new_tree, n[1]))
                    o = next(olds, None)
                    n = next(news, None)


def _marker_key(marker: str | None) -> str | None:
    """A pagination marker in listing spelling (directories keep their trailing ``/``)."""
    if not marker:
        return None
    norm = paths.normalize_path(marker, what="pagination marker")
    return paths.dir_key(norm) if marker.endswith("/") else norm


def _glob_root(pattern: str) -> str:
    """The deepest directory that holds every possible match of a normalised pattern."""
    for i, ch in enumerate(pattern):
        if ch in _GLOB_CHARS:
            return paths.parent(pattern[:i] + "x")
    return paths.parent(pattern)
