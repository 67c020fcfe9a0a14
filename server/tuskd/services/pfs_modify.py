"""PFS file writes: modify-file sessions (put, append, URL, delete, copy) applied in one transaction.

Content streams to the blob store while staging; :meth:`ModifyOps._apply_session` applies the
staged operations as an overlay, refuses file/directory collisions and writes the commit's diff layer.
No blob I/O happens inside that write: blobs are flushed before it, and an append whose file
changed since staging is concatenated outside it, then the write runs again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from tuskd.blobs.base import BlobRef
from tuskd.domain import paths
from tuskd.domain.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.pfs import BranchKey, CommitInfo, CommitKey, CommitRef, FileEntry, parse_ref
from tuskd.services.url_sources import open_url
from tuskd.store.base import CommitRow, LayerEntry, PfsTx

from .pfs_commits import CommitOps
from .pfs_shared import _Names, commit_set_topic, repo_topic


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

_CONCAT_ROUNDS = 8
"""Writes a session tries when concurrent appends keep changing the files it appends to."""


class _NeedConcat(Exception):
    """Raised inside a session's write: these (base, suffix) blobs must be concatenated first."""

    def __init__(self, pairs: list[tuple[str | None, BlobRef]]) -> None:
        super().__init__(f"{len(pairs)} blob concatenation(s) needed")
        self.pairs = pairs


class ModifySession:
    """A batch of file changes to one commit, applied atomically by :meth:`commit`.

    Content is streamed to the blob store as it arrives (outside any transaction); the metadata
    changes are applied in one write transaction at :meth:`commit`. :meth:`abort` (or leaving
    the ``with`` block by an exception) discards everything: the commit stays exactly as it was.
    """

    def __init__(self, service: ModifyOps, target: CommitRef) -> None:
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

    def commit(self, still_wanted: Callable[[], bool] | None = None, *, tx: PfsTx | None = None) -> CommitInfo:
        """Apply every staged change in one transaction; returns the commit written.

        ``still_wanted`` is asked last, inside the transaction: if it returns False (the client
        went away) everything is rolled back and Aborted is raised.

        ``tx``: apply the changes in the caller's unit of work instead. The caller must have
        flushed the blob store before opening it; an error leaves that transaction for the
        caller to roll back. Appends whose file changed since staging are then concatenated
        inside it (blob I/O under the lock: the engine, the one caller, never appends).
        """
        self._check_open()
        self._state = "committing"
        try:
            self.result = self._svc._apply_session(self._target, self._ops, still_wanted, tx)
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


class ModifyOps(CommitOps):
    """File-writing use cases."""

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
        self,
        target: CommitRef,
        ops: Sequence[_Op],
        still_wanted: Callable[[], bool] | None = None,
        tx: PfsTx | None = None,
    ) -> CommitInfo:
        """Apply ``ops`` in one write. An append whose base changed since it was staged needs a
        new concatenated blob: the write rolls back, the blobs are concatenated with no lock
        held, and the write runs again (no blob I/O between BEGIN and COMMIT). In the caller's
        ``tx`` they are concatenated in place (see :meth:`ModifySession.commit`)."""
        if tx is not None:
            return self._apply_once(target, ops, still_wanted, lambda pair: self._concat(*pair), tx)
        joined: dict[tuple[str | None, str], BlobRef] = {}
        for _ in range(_CONCAT_ROUNDS):
            # Uploaded (and concatenated) blobs become durable before metadata naming them commits.
            self.blobs.flush()
            try:
                return self._apply_once(target, ops, still_wanted, lambda pair: joined.get((pair[0], pair[1].hash)))
            except _NeedConcat as need:
                for base, suffix in need.pairs:
                    joined[(base, suffix.hash)] = self._concat(base, suffix)
        raise Aborted(
            f"the files of this modify-file session on {target} kept changing under concurrent appends "
            f"({_CONCAT_ROUNDS} tries); nothing was applied: retry",
            reason="CONCURRENT_APPENDS",
        )

    def _apply_once(
        self,
        target: CommitRef,
        ops: Sequence[_Op],
        still_wanted: Callable[[], bool] | None,
        joined: Callable[[tuple[str, BlobRef]], BlobRef | None],
        caller_tx: PfsTx | None = None,
    ) -> CommitInfo:
        missing: list[tuple[str | None, BlobRef]] = []

        def append(base: str | None, suffix: BlobRef) -> BlobRef:
            """``base`` + ``suffix`` if already concatenated (else noted; a placeholder for now)."""
            if base is None:
                return suffix
            ready = joined((base, suffix))
            if ready is None:
                missing.append((base, suffix))
                return suffix
            return ready

        with self._writing(caller_tx) as tx:
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
                            blob = append(current_blob, op.suffix)
                    overlay[op.path] = FileEntry(op.path, blob.hash, blob.size)
                elif isinstance(op, _Delete):
                    if op.path != paths.ROOT and view(op.path) is not None:
                        overlay[op.path] = None
                    else:
                        for path in files_under(op.path):
                            overlay[path] = None
                else:
                    self._apply_copy(tx, op, overlay, view, append)
            if missing:
                raise _NeedConcat(missing)  # rolls back; concatenated outside, then again
            self._check_collisions(tx, stack, overlay)
            self._write_overlay(tx, row, overlay)
            self._publish_after(tx, repo_topic(names.repo(row.repo_id)), commit_set_topic(row.set_id))
            if one_off:
                self._finish_tx(tx, row, "", None, False, names)
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
        append: Callable[[str | None, BlobRef], BlobRef],
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
                blob = append(None if current is None else current.blob, BlobRef(entry.blob, entry.size))
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
