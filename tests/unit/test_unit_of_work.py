"""Write transactions as units of work: events are delivered after COMMIT (never on rollback, nor
those of a rolled-back savepoint), before the after-commit actions; and a modify-file session does
no blob I/O while it holds the write lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from tuskd.blobs.base import BlobRef
from tuskd.blobs.local import LocalBlobStore
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, CommitEvent, CommitEventKind, CommitRef, RepoKey
from tuskd.domain.states import JobState
from tuskd.services.events import EventHub
from tuskd.services.jobs import JobService
from tuskd.services.pfs import PfsService
from tuskd.services.triggers import JobTrigger
from tuskd.store.base import Tx
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_meta import SqliteMetaTx
from tuskd.store.sqlite_pps import SqlitePpsTx


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "meta.db")
    yield s
    s.close()


def test_events_are_delivered_after_commit_then_the_actions_run(store: SqliteStore) -> None:
    log: list[str] = []

    def sink(events: Sequence[Any]) -> None:
        log.append("deliver " + ",".join(events))

    with store.write() as tx:
        tx.after_commit(lambda: log.append("action"))
        tx.emit(sink, "a")
        tx.emit(sink, "b")
        tx.create_layer(tx.insert_repo(RepoKey.of("r"), "", 0).id)
        assert log == []  # nothing leaves before COMMIT
    assert log == ["deliver a,b", "action"]


def test_a_rollback_drops_the_events_and_a_savepoint_rollback_its_own(store: SqliteStore) -> None:
    delivered: list[Any] = []
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.emit(delivered.extend, "lost")
        raise RuntimeError("rolled back")
    with store.write() as tx:
        tx.emit(delivered.extend, "kept")
        with pytest.raises(RuntimeError), store.write(join=tx) as inner:  # a nested write: a savepoint
            inner.emit(delivered.extend, "inner")
            inner.after_commit(lambda: delivered.append("inner action"))
            raise RuntimeError("savepoint rolled back")
    assert delivered == ["kept"]


class _LockWatchingBlobs(LocalBlobStore):
    """A real blob store that notes every write, flush or read made while the metadata write
    lock is held (this test is single-threaded: a held lock is this thread's transaction)."""

    def __init__(self, root: Path, store: SqliteStore) -> None:
        super().__init__(root)
        self._store = store
        self.under_lock: list[str] = []

    def _note(self, what: str) -> None:
        if self._store._write_lock.locked():
            self.under_lock.append(what)

    def put_stream(self, chunks: Iterable[bytes], *, durable: bool = True) -> BlobRef:
        self._note("put_stream")
        return super().put_stream(chunks, durable=durable)

    def flush(self) -> None:
        self._note("flush")
        super().flush()

    def read_chunks(self, blob: str, offset: int = 0, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        self._note("read_chunks")
        return super().read_chunks(blob, offset, chunk_size)


def test_appends_to_files_changed_meanwhile_do_no_blob_io_under_the_write_lock(
    store: SqliteStore, tmp_path: Path
) -> None:
    blobs = _LockWatchingBlobs(tmp_path / "blobs", store)
    svc = PfsService(store, blobs, EventHub(), meta_tables=SqliteMetaTx)  # type: ignore[arg-type]
    repo = RepoKey.of("logs")
    svc.create_repo(repo)
    commit = svc.start_commit(BranchKey(repo, "master"))
    ref = CommitRef(repo, id=commit.commit.id)
    svc.put_file(ref, "/log", [b"a"])
    svc.put_file(ref, "/src", [b"S"])
    session = svc.begin_modify(ref)
    session.add_file("/log", [b"!"], append=True)  # staged against "a"
    session.copy_file("/copy", ref, "/src", append=True)
    svc.put_file(ref, "/log", [b"changed"])  # another writer rewrites /log before the commit
    svc.put_file(ref, "/copy", [b"old-"])
    session.commit()
    assert b"".join(svc.get_file(ref, "/log")) == b"changed!"
    assert b"".join(svc.get_file(ref, "/copy")) == b"old-S"
    assert blobs.under_lock == []


def _finish_statements(svc: PfsService, store: SqliteStore, repo: RepoKey) -> int:
    """SQL statements run on the writer connection by one finish_commit."""
    commit = svc.start_commit(BranchKey(repo, "master"))
    statements: list[str] = []
    store._writer.set_trace_callback(statements.append)
    try:
        svc.finish_commit(CommitRef(repo, id=commit.commit.id))
    finally:
        store._writer.set_trace_callback(None)
    return len(statements)


def test_commit_events_go_only_to_observers_of_their_kind_and_unread_ones_are_not_built(
    store: SqliteStore, tmp_path: Path
) -> None:
    svc = PfsService(store, LocalBlobStore(tmp_path / "blobs"), EventHub(), meta_tables=SqliteMetaTx)  # type: ignore[arg-type]
    repo = RepoKey.of("r")
    svc.create_repo(repo)
    seen: list[CommitEventKind] = []

    def started_only(tx: object, event: object) -> None:
        if isinstance(event, CommitEvent):
            seen.append(event.kind)

    svc.add_observer(started_only, commit_kinds={CommitEventKind.STARTED})
    unread = _finish_statements(svc, store, repo)
    assert seen == [CommitEventKind.STARTED]
    remove = svc.add_observer(lambda tx, event: None)  # takes every kind: FINISHING/FINISHED are built
    read = _finish_statements(svc, store, repo)
    remove()
    assert unread < read


def test_kill_hooks_are_told_after_the_kill_commits(store: SqliteStore, tmp_path: Path) -> None:
    hub = EventHub()
    pfs = PfsService(store, LocalBlobStore(tmp_path / "blobs"), hub, meta_tables=SqliteMetaTx)  # type: ignore[arg-type]
    jobs = JobService(store, lambda tx: SqlitePpsTx(cast(SqliteTx, tx)), hub)
    trigger = JobTrigger(jobs)
    pfs.add_observer(trigger, commit_kinds=JobTrigger.COMMIT_KINDS)
    out = RepoKey.of("edges")
    pfs.create_repo(out)
    commit = pfs.start_commit(BranchKey(out, "master"))
    key = JobKey("default", "edges", commit.commit.id)
    with store.write() as tx:
        jobs.create_job(cast(Tx, tx), key, 1, "edges", "master")
    told: list[tuple[JobKey, str, JobState]] = []

    def hook(k: JobKey, reason: str) -> None:
        with sqlite3.connect(store.path) as conn:  # its own connection: committed data only
            (state,) = conn.execute("SELECT state FROM jobs WHERE job_id = ?", (k.id,)).fetchone()
        told.append((k, reason, JobState(state)))

    trigger.add_kill_hook(hook)
    pfs.drop_commit_set(commit.commit.id)
    assert told == [(key, f"commit set {commit.commit.id} was dropped", JobState.JOB_KILLED)]


def test_an_after_commit_action_may_write_again_and_its_events_follow(store: SqliteStore) -> None:
    delivered: list[Any] = []

    def write_again() -> None:
        with store.write() as again:  # a new unit of work, with the next ticket
            again.emit(delivered.extend, "second")

    with store.write() as tx:
        tx.emit(delivered.extend, "first")
        tx.after_commit(write_again)
    assert delivered == ["first", "second"]
    assert store.outbox_waiting() == 0
