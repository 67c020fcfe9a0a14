"""PFS storage cost and observers against a real SQLite file and a real blob directory (no mocks)."""

from __future__ import annotations

import pytest

from tests.unit.test_pfs_service import at, by_id, listing, put, read, repo, store, svc
from tuskd.blobs.base import BlobRef
from tuskd.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.pfs import (
    BranchKey,
    CommitEvent,
    CommitEventKind,
    FileType,
    OriginKind,
    PfsEvent,
    RepoEvent,
    RepoEventKind,
)
from tuskd.services.pfs import PfsService
from tuskd.store.base import PfsTx
from tuskd.store.sqlite import SqliteStore

__all__ = ["store", "svc"]  # fixtures shared with test_pfs_service.py


# ===============================================================================================
# Storage: cost grows with the change, not the repo
# ===============================================================================================


def rows_for_small_commits(svc: PfsService, store: SqliteStore, repo_name: str, size: int, commits: int) -> float:
    r = repo(repo_name)
    svc.create_repo(r)
    with svc.begin_modify(at(r)) as s:
        for i in range(size):
            s.add_file(f"/data/{i:06d}", [f"{i}".encode()])
    before = store.rows_written
    for i in range(commits):
        put(svc, at(r), {f"/changes/{i}": b"x"})
    return (store.rows_written - before) / commits


def test_commit_cost_does_not_grow_with_repo_size(svc: PfsService, store: SqliteStore) -> None:
    small = rows_for_small_commits(svc, store, "small", 50, 40)
    large = rows_for_small_commits(svc, store, "large", 3000, 40)
    assert large <= small * 1.5 + 5, (small, large)
    r = repo("large")
    assert svc.inspect_file(at(r), "/changes/39").size_bytes == 1
    assert svc.inspect_file(at(r), "/data/002999").size_bytes == 4
    assert len(listing(svc, at(r), "/data")) == 3000


def test_long_history_reads_stay_correct_and_layers_stay_few(svc: PfsService, store: SqliteStore) -> None:
    svc.create_repo(repo())
    expected: dict[str, bytes] = {}
    for i in range(120):
        with svc.begin_modify(at(repo())) as s:
            s.add_file(f"/f{i % 17}", [f"v{i}".encode()])
            expected[f"/f{i % 17}"] = f"v{i}".encode()
            if i % 10 == 9:
                s.delete_file(f"/f{(i + 3) % 17}")
                expected.pop(f"/f{(i + 3) % 17}", None)
    assert {f.path for f in svc.list_files(at(repo()))} == set(expected)
    for path, data in expected.items():
        assert read(svc, at(repo()), path) == data
    with store.read() as tx:
        head = svc.inspect_commit(at(repo())).commit.id
        repo_row = tx.get_repo(repo())
        assert repo_row is not None
        row = tx.find_commit(repo_row.id, head)
        assert row is not None
        assert len(tx.commit_stack(row.id)) <= 8


def test_old_commits_keep_their_trees(svc: PfsService) -> None:
    svc.create_repo(repo())
    commits = [put(svc, at(repo()), {"/f": f"v{i}".encode(), f"/only{i}": b"x"}) for i in range(20)]
    for i, c in enumerate(commits):
        assert read(svc, by_id(c), "/f") == f"v{i}".encode()
        assert len(listing(svc, by_id(c))) == i + 2


# ===============================================================================================
# Observers: other layers write in the same transaction
# ===============================================================================================


def test_observers_see_events_inside_the_transaction(svc: PfsService, store: SqliteStore) -> None:
    seen: list[tuple[str, str]] = []

    def observer(tx: PfsTx, event: PfsEvent) -> None:
        assert tx.writable
        if isinstance(event, CommitEvent):
            seen.append((event.kind.value, event.commit.commit.repo.name))
            info = event.commit
            if event.kind is CommitEventKind.STARTED and info.origin == OriginKind.AUTO and info.direct_provenance:
                # A later PPS layer would create its job row here, in the same transaction.
                svc.create_repo(repo(f"job-{info.commit.repo.name}-{info.commit.id[:8]}"), tx=tx)
        elif isinstance(event, RepoEvent):
            seen.append((event.kind.value, event.repo.name))

    remove = svc.add_observer(observer)
    svc.create_repo(repo("input"))
    svc.create_repo(repo("out"))
    svc.create_branch(BranchKey(repo("out"), "master"), provenance=[BranchKey(repo("input"), "master")])
    svc.finish_commit(at(repo("out")))
    seen.clear()
    started = svc.start_commit(BranchKey(repo("input"), "master"))
    assert ("commit_started", "input") in seen and ("commit_started", "out") in seen
    assert any(r.repo.name == f"job-out-{started.commit.id[:8]}" for r in svc.list_repos())
    svc.finish_commit(by_id(started))
    assert ("commit_finishing", "input") in seen and ("commit_finished", "input") in seen
    remove()
    seen.clear()
    svc.create_repo(repo("quiet"))
    assert seen == []


def test_an_observer_can_veto_and_everything_rolls_back(svc: PfsService) -> None:
    svc.create_repo(repo())

    def veto(tx: PfsTx, event: PfsEvent) -> None:
        if isinstance(event, CommitEvent) and event.kind is CommitEventKind.STARTED:
            svc.create_repo(repo("side-effect"), tx=tx)
            raise FailedPrecondition("no commits today")

    svc.add_observer(veto)
    with pytest.raises(FailedPrecondition, match="no commits today"):
        svc.start_commit(BranchKey(repo(), "master"))
    assert [r.repo.name for r in svc.list_repos()] == ["images"]
    assert list(svc.list_commits(repo())) == []
    assert svc.list_branches(repo()) == []


def test_repo_deleting_event_can_veto(svc: PfsService) -> None:
    svc.create_repo(repo())

    def guard(tx: PfsTx, event: PfsEvent) -> None:
        if isinstance(event, RepoEvent) and event.kind is RepoEventKind.DELETING and not event.force:
            raise FailedPrecondition("a pipeline owns this repo")

    svc.add_observer(guard)
    with pytest.raises(FailedPrecondition, match="pipeline owns"):
        svc.delete_repo(repo())
    assert svc.inspect_repo(repo())
    assert svc.delete_repo(repo(), force=True)


def test_put_blob_records_a_stored_blob_without_copying_it(svc: PfsService, monkeypatch: pytest.MonkeyPatch) -> None:
    svc.create_repo(repo())
    ref = svc.blobs.put_bytes(b"already stored", durable=False)
    blob_file = svc.blobs.path(ref.hash)
    inode = blob_file.stat().st_ino

    def no_writes(*args: object, **kwargs: object) -> None:
        raise AssertionError("put_blob wrote content")

    monkeypatch.setattr(svc.blobs, "put_stream", no_writes)
    with svc.begin_modify(at(repo())) as s:
        s.put_blob("/a.txt", ref)
        s.put_blob("dir/b.txt", ref)
    assert read(svc, at(repo()), "/a.txt") == b"already stored"
    assert read(svc, at(repo()), "/dir/b.txt") == b"already stored"
    assert {f.path: f.hash for f in svc.walk_files(at(repo()), "/") if f.file_type is FileType.FILE} == {
        "/a.txt": ref.hash,
        "/dir/b.txt": ref.hash,
    }
    assert blob_file.stat().st_ino == inode  # the very same file: nothing was rewritten
    session = svc.begin_modify(at(repo()))
    with pytest.raises(NotFound):
        session.put_blob("/missing", BlobRef("0" * 64, 3))
    with pytest.raises(InvalidArgument, match="bytes"):
        session.put_blob("/wrong-size", BlobRef(ref.hash, ref.size + 1))
    session.abort()
    assert read(svc, at(repo()), "/a.txt") == b"already stored"
