"""PFS commits and commit sets against a real SQLite file and a real blob directory (no mocks)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.unit.test_pfs_service import HEX32, at, by_id, listing, put, repo, store, svc
from tuskd.domain.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, NotFound
from tuskd.domain.pfs import BranchKey, CommitRef, CommitState, OriginKind
from tuskd.services.events import CancelToken, WaitCancelled
from tuskd.services.pfs import PfsService

__all__ = ["store", "svc"]  # fixtures shared with test_pfs_service.py


# ===============================================================================================
# Commits
# ===============================================================================================


def test_start_and_finish_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = svc.start_commit(BranchKey(repo(), "master"), description="first")
    assert HEX32.match(first.commit.id)
    assert first.origin == OriginKind.USER and first.state == CommitState.STARTED
    assert first.parent is None
    with pytest.raises(FailedPrecondition, match="has not been finished"):
        svc.start_commit(BranchKey(repo(), "master"))
    svc.finish_commit(by_id(first), error="bad data")
    done = svc.inspect_commit(by_id(first))
    assert done.state == CommitState.FINISHED and done.error == "bad data"
    assert done.description == "first"  # an empty description keeps the old one
    with pytest.raises(FailedPrecondition, match="already finished"):
        svc.finish_commit(by_id(first))
    second = svc.start_commit(BranchKey(repo(), "master"))
    assert second.parent == first.commit
    assert svc.inspect_commit(by_id(first)).children == (second.commit,)


def test_commit_references_resolve(svc: PfsService) -> None:
    svc.create_repo(repo())
    commits = [put(svc, at(repo()), {f"/{i}": b"x"}) for i in range(3)]
    assert svc.inspect_commit(at(repo())).commit == commits[2].commit
    assert svc.inspect_commit(CommitRef(repo(), id="master")).commit == commits[2].commit
    assert svc.inspect_commit(CommitRef(repo(), id="master^")).commit == commits[1].commit
    assert svc.inspect_commit(CommitRef(repo(), id="master~2")).commit == commits[0].commit
    assert svc.inspect_commit(CommitRef(repo(), id=commits[2].commit.id + "^2")).commit == commits[0].commit
    with pytest.raises(NotFound, match="not found"):
        svc.inspect_commit(CommitRef(repo(), id="master^3"))


def test_unknown_commits_and_branches_are_not_found(svc: PfsService) -> None:
    svc.create_repo(repo("x"))
    missing = "0123456789abcdef0123456789abcdef"
    with pytest.raises(NotFound, match=f'commit default/x@{missing} not found'):
        svc.inspect_commit(CommitRef(repo("x"), id=missing))
    with pytest.raises(NotFound, match='branch "master" not found in repo default/x'):
        svc.inspect_commit(at(repo("x")))
    with pytest.raises(NotFound, match='repo default/y not found'):
        svc.inspect_commit(at(repo("y")))


def test_inspect_commit_wait_finished_blocks_until_finish(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    threading.Timer(0.2, lambda: svc.finish_commit(by_id(c))).start()
    start = time.monotonic()
    info = svc.inspect_commit(at(repo()), CommitState.FINISHED, timeout=10)
    assert info.state == CommitState.FINISHED
    assert time.monotonic() - start >= 0.15


def test_inspect_commit_wait_already_reached_returns_at_once(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"1"})
    assert svc.inspect_commit(at(repo()), CommitState.FINISHED, timeout=0.01).state == CommitState.FINISHED


def test_inspect_commit_wait_timeout_cancel_and_delete(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    with pytest.raises(DeadlineExceeded):
        svc.inspect_commit(by_id(c), CommitState.FINISHING, timeout=0.1)
    token = CancelToken()
    threading.Timer(0.1, token.cancel).start()
    with pytest.raises(WaitCancelled):
        svc.inspect_commit(by_id(c), CommitState.FINISHED, cancel=token)
    threading.Timer(0.1, lambda: svc.drop_commit_set(c.commit.id)).start()
    with pytest.raises(NotFound, match="deleted"):
        svc.inspect_commit(by_id(c), CommitState.FINISHED, timeout=10)
    assert svc.events.subscriber_count() == 0


def test_inspect_commit_wait_ready_waits_for_provenance(svc: PfsService) -> None:
    svc.create_repo(repo("input"))
    svc.create_repo(repo("out"))
    svc.create_branch(BranchKey(repo("out"), "master"), provenance=[BranchKey(repo("input"), "master")])
    svc.finish_commit(at(repo("out")))
    started = svc.start_commit(BranchKey(repo("input"), "master"))
    out = CommitRef(repo("out"), id=started.commit.id)
    with pytest.raises(DeadlineExceeded):
        svc.inspect_commit(out, CommitState.READY, timeout=0.1)
    threading.Timer(0.1, lambda: svc.finish_commit(by_id(started))).start()
    ready = svc.inspect_commit(out, CommitState.READY, timeout=10)
    assert ready.state == CommitState.STARTED  # ready to be processed, not finished itself


def test_many_concurrent_waiters_never_hang(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    results: list[CommitState] = []
    lock = threading.Lock()

    def waiter() -> None:
        info = svc.inspect_commit(by_id(c), CommitState.FINISHED, timeout=20)
        with lock:
            results.append(info.state)

    threads = [threading.Thread(target=waiter) for _ in range(50)]
    for t in threads:
        t.start()
    svc.finish_commit(by_id(c))  # races with waiters still subscribing: none may miss it
    for t in threads:
        t.join(30)
    assert results == [CommitState.FINISHED] * 50


def test_list_commits(svc: PfsService) -> None:
    svc.create_repo(repo())
    commits = [put(svc, at(repo()), {f"/{i}": b"x"}) for i in range(4)]
    ids = [c.commit.id for c in commits]
    assert [c.commit.id for c in svc.list_commits(repo())] == ids[::-1]
    assert [c.commit.id for c in svc.list_commits(repo(), reverse=True)] == ids
    assert [c.commit.id for c in svc.list_commits(repo(), number=2)] == ids[:1:-1]
    assert [c.commit.id for c in svc.list_commits(repo(), to=by_id(commits[2]))] == ids[2::-1]
    assert [c.commit.id for c in svc.list_commits(repo(), from_=by_id(commits[0]), to=at(repo()))] == ids[:0:-1]
    assert [c.commit.id for c in svc.list_commits(repo(), origin_kind=OriginKind.AUTO)] == []
    assert len(list(svc.list_commits(repo(), origin_kind=OriginKind.AUTO, all=True))) == 4
    assert [c.commit.id for c in svc.list_commits(repo(), started_time=commits[2].started)] == ids[1::-1]
    with pytest.raises(InvalidArgument):
        svc.list_commits(repo(), from_=by_id(commits[0]))
    with pytest.raises(InvalidArgument):
        svc.list_commits(repo(), to=at(repo()), reverse=True)
    with pytest.raises(InvalidArgument):
        svc.list_commits(repo(), number=-1)
    with pytest.raises(NotFound):
        svc.list_commits(repo("nope"))


def test_subscribe_commits_replays_then_follows(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = put(svc, at(repo()), {"/a": b"1"})
    token = CancelToken()
    stream = svc.subscribe_commits(repo(), "master", state=CommitState.FINISHED, cancel=token)
    assert next(stream).commit == first.commit
    c2 = svc.start_commit(BranchKey(repo(), "master"))
    threading.Timer(0.1, lambda: svc.finish_commit(by_id(c2))).start()
    got = next(stream)
    assert got.commit == c2.commit and got.state == CommitState.FINISHED
    token.cancel()
    with pytest.raises(WaitCancelled):
        next(stream)


def test_subscribe_commits_from_and_branch_filter(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = put(svc, at(repo()), {"/a": b"1"})
    put(svc, at(repo(), "dev"), {"/b": b"2"})
    third = put(svc, at(repo()), {"/c": b"3"})
    token = CancelToken()
    stream = svc.subscribe_commits(repo(), "master", from_=by_id(first), cancel=token)
    assert next(stream).commit == third.commit
    token.cancel()
    with pytest.raises(WaitCancelled):
        next(stream)


def test_subscribe_ends_when_the_repo_is_deleted(svc: PfsService) -> None:
    svc.create_repo(repo())
    stream = svc.subscribe_commits(repo())
    threading.Timer(0.1, lambda: svc.delete_repo(repo())).start()
    with pytest.raises(NotFound):
        next(stream)


# ===============================================================================================
# Commit sets
# ===============================================================================================


def test_inspect_commit_set_wait_and_errors(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    assert [i.commit for i in svc.inspect_commit_set(c.commit.id)] == [c.commit]
    with pytest.raises(DeadlineExceeded):
        svc.inspect_commit_set(c.commit.id, wait=True, timeout=0.1)
    threading.Timer(0.1, lambda: svc.finish_commit(by_id(c))).start()
    done = svc.inspect_commit_set(c.commit.id, wait=True, timeout=10)
    assert [i.state for i in done] == [CommitState.FINISHED]
    with pytest.raises(NotFound, match="commit set"):
        svc.inspect_commit_set("0" * 32)
    with pytest.raises(InvalidArgument):
        svc.inspect_commit_set("not-an-id")


def test_list_commit_sets_newest_first(svc: PfsService) -> None:
    svc.create_repo(repo())
    svc.create_repo(repo("other", project="p2"))
    a = put(svc, at(repo()), {"/a": b"1"})
    b = put(svc, at(repo("other", project="p2")), {"/b": b"2"})
    sets = list(svc.list_commit_sets())
    assert [s.id for s in sets] == [b.commit.id, a.commit.id]
    assert [s.id for s in svc.list_commit_sets("p2")] == [b.commit.id]
    assert sets[1].commits[0].commit == a.commit


def test_squash_commit_set_folds_changes_into_children(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = put(svc, at(repo()), {"/a": b"1", "/gone": b"g"})
    middle = svc.start_commit(BranchKey(repo(), "master"))
    with svc.begin_modify(by_id(middle)) as s:
        s.add_file("/b", [b"2"])
        s.delete_file("/gone")
    svc.finish_commit(by_id(middle))
    last = put(svc, at(repo()), {"/c": b"3"})
    with pytest.raises(FailedPrecondition, match="no children"):
        svc.squash_commit_set(last.commit.id)
    svc.squash_commit_set(middle.commit.id)
    with pytest.raises(NotFound):
        svc.inspect_commit(by_id(middle))
    after = svc.inspect_commit(by_id(last))
    assert after.parent == first.commit
    assert listing(svc, at(repo())) == ["/a", "/b", "/c"]
    diff = {(d.old.path if d.old else None, d.new.path if d.new else None) for d in svc.diff_files(at(repo()))}
    assert ("/gone", None) in diff and (None, "/b") in diff and (None, "/c") in diff


def test_squash_and_drop_refused_while_other_sets_depend(svc: PfsService) -> None:
    svc.create_repo(repo("input"))
    svc.create_repo(repo("out"))
    first = put(svc, at(repo("input")), {"/a": b"1"})
    svc.create_branch(BranchKey(repo("out"), "master"), provenance=[BranchKey(repo("input"), "master")])
    put(svc, at(repo("input")), {"/b": b"2"})
    with pytest.raises(FailedPrecondition, match="depend on it"):
        svc.squash_commit_set(first.commit.id)
    with pytest.raises(FailedPrecondition, match="depend on it"):
        svc.drop_commit_set(first.commit.id)


def test_drop_commit_set_moves_heads_back(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = put(svc, at(repo()), {"/a": b"1"})
    second = put(svc, at(repo()), {"/b": b"2"})
    with pytest.raises(FailedPrecondition, match="has children"):
        svc.drop_commit_set(first.commit.id)
    svc.drop_commit_set(second.commit.id)
    assert svc.inspect_commit(at(repo())).commit == first.commit
    assert listing(svc, at(repo())) == ["/a"]
    svc.drop_commit_set(first.commit.id)
    head = svc.inspect_commit(at(repo()))  # the branch keeps an empty head
    assert head.commit.id != first.commit.id and listing(svc, at(repo())) == []


def test_commit_status_is_inspect_commit_without_the_costly_parts(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = put(svc, at(repo()), {"/a": b"a"})
    started = svc.start_commit(BranchKey(repo(), "master"))
    status = svc.commit_status(by_id(started))
    info = svc.inspect_commit(by_id(started))
    assert (status.commit, status.parent, status.direct_provenance) == (info.commit, info.parent, info.direct_provenance)
    assert (status.finishing, status.finished, status.error) == (False, False, "")
    threading.Timer(0.1, lambda: svc.finish_commit(by_id(started), error="bad")).start()
    done = svc.commit_status(by_id(started), CommitState.FINISHED)
    assert (done.finishing, done.finished, done.error) == (True, True, "bad")
    assert svc.commit_status(by_id(first)).parent is None
    with pytest.raises(NotFound):
        svc.commit_status(CommitRef(repo(), id="0" * 32))
