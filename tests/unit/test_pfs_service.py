"""PFS use cases against a real SQLite file and a real blob directory (no mocks)."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuskd.blobs.base import BlobRef
from tuskd.blobs.local import LocalBlobStore
from tuskd.domain import paths
from tuskd.domain.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from tuskd.domain.pfs import (
    BranchKey,
    CommitEvent,
    CommitEventKind,
    CommitInfo,
    CommitRef,
    CommitState,
    FileEntry,
    FileType,
    OriginKind,
    PfsEvent,
    RepoEvent,
    RepoEventKind,
    RepoKey,
    aggregate_tree,
    layers_to_merge,
    parse_ref,
    walk_tree,
)
from tuskd.services.events import CancelToken, EventHub, WaitCancelled
from tuskd.services.pfs import PfsService
from tuskd.services.url_sources import UrlLimits
from tuskd.store.base import PfsTx
from tuskd.store.sqlite import SqliteStore
from tuskd.store.sqlite_meta import SqliteMetaTx

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "meta.db")
    yield s
    s.close()


@pytest.fixture
def svc(store: SqliteStore, tmp_path: Path) -> PfsService:
    return PfsService(store, LocalBlobStore(tmp_path / "blobs"), EventHub(), meta_tables=SqliteMetaTx)  # type: ignore[arg-type]


def repo(name: str = "images", **kw: str) -> RepoKey:
    return RepoKey.of(name, **kw)


def at(r: RepoKey, branch: str = "master") -> CommitRef:
    return CommitRef(r, branch=branch)


def by_id(info: CommitInfo) -> CommitRef:
    return CommitRef(info.commit.repo, id=info.commit.id)


def put(svc: PfsService, target: CommitRef, files: dict[str, bytes]) -> CommitInfo:
    with svc.begin_modify(target) as s:
        for path, data in files.items():
            s.add_file(path, [data])
    assert s.result is not None
    return s.result


def read(svc: PfsService, target: CommitRef, path: str, offset: int = 0) -> bytes:
    return b"".join(svc.get_file(target, path, offset))


def listing(svc: PfsService, target: CommitRef, path: str = "/") -> list[str]:
    return [f.path for f in svc.list_files(target, path)]


# ===============================================================================================
# Pure parts: paths, references, trees, compaction policy
# ===============================================================================================


@pytest.mark.parametrize(
    ("raw", "norm"),
    [("", "/"), ("/", "/"), ("a", "/a"), ("a//b/", "/a/b"), ("/a/./b", "/a/b"), ("/a/x/../b", "/a/b")],
)
def test_paths_normalise(raw: str, norm: str) -> None:
    assert paths.normalize_path(raw) == norm


@pytest.mark.parametrize("bad", ["../x", "/a/../../x", "a\x00b", "/" + "n" * 256, "/a" * 2100])
def test_bad_paths_are_invalid(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        paths.normalize_path(bad)


def test_file_path_must_name_a_file() -> None:
    with pytest.raises(InvalidArgument, match="empty name"):
        paths.normalize_file_path("//")


def test_path_helpers() -> None:
    assert paths.ancestors("/a/b/c") == ["/a", "/a/b"]
    assert paths.parent("/a") == "/"
    assert paths.subtree_range("/a") == ("/a/", "/a0")
    assert paths.subtree_range("/") == ("/", "0")
    assert paths.join("/", "x/y") == "/x/y"
    assert paths.relative_to("/a/b/c", "/a") == "b/c"


def test_commit_references_parse() -> None:
    r = repo()
    assert parse_ref(CommitRef(r, branch="master")).branch == "master"
    spec = parse_ref(CommitRef(r, id="master^2"))
    assert (spec.branch, spec.ancestors) == ("master", 2)
    assert parse_ref(CommitRef(r, id="master~3")).ancestors == 3
    assert parse_ref(CommitRef(r, id="master^^")).ancestors == 2
    cid = "0123456789abcdef0123456789abcdef"
    spec = parse_ref(CommitRef(r, branch="master", id=cid + "^"))
    assert (spec.commit_id, spec.ancestors) == (cid, 1)
    with pytest.raises(InvalidArgument):
        parse_ref(CommitRef(r))
    with pytest.raises(InvalidArgument):
        parse_ref(CommitRef(r, id="master^x"))
    with pytest.raises(InvalidArgument):
        parse_ref(CommitRef(r, branch="dev", id="master"))


def test_tree_aggregation_and_walk() -> None:
    files = [FileEntry("/a/x", "h1", 1), FileEntry("/a/y/z", "h2", 2), FileEntry("/b", "h3", 4)]
    post = list(aggregate_tree(files, "/"))
    assert [n.key for n in post] == ["/a/x", "/a/y/z", "/a/y/", "/a/", "/b", "/"]
    sizes = {n.key: n.size for n in post}
    assert sizes == {"/a/x": 1, "/a/y/z": 2, "/a/y/": 2, "/a/": 3, "/b": 4, "/": 7}
    dirs = {n.key: n for n in post if n.is_dir}
    assert [n.key for n in walk_tree(files, "/", dirs)] == ["/", "/a/", "/a/x", "/a/y/", "/a/y/z", "/b"]
    # Directory hashes depend on content.
    changed = list(aggregate_tree([FileEntry("/a/x", "other", 1), *files[1:]], "/"))
    assert changed[-1].hash != post[-1].hash


def test_layer_policy_keeps_sizes_geometric() -> None:
    assert layers_to_merge([1000, 1]) == 0
    assert layers_to_merge([1000, 1, 1]) == 2
    assert layers_to_merge([10, 6]) == 2
    assert layers_to_merge([100, 40, 30, 20]) == 4
    assert layers_to_merge([5] * 30, max_layers=24) >= 7


# ===============================================================================================
# Repos
# ===============================================================================================


def test_create_and_inspect_repo_with_defaults(svc: PfsService) -> None:
    info = svc.create_repo(RepoKey.of("images", project="", type=""), "pictures")
    assert info.repo == RepoKey("default", "images", "user")
    assert info.description == "pictures"
    assert info.branches == ()  # Pachyderm 2.x: no branch until the first commit
    assert svc.inspect_repo(repo()).description == "pictures"


@pytest.mark.parametrize("name", ["", "has space", "a/b", "dot.ted", "ü"])
def test_invalid_repo_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        RepoKey.of(name)


def test_second_create_is_already_exists_unless_update(svc: PfsService) -> None:
    svc.create_repo(repo(), "one")
    with pytest.raises(AlreadyExists, match='repo default/images already exists'):
        svc.create_repo(repo(), "two")
    assert svc.create_repo(repo(), "two", update=True).description == "two"
    assert svc.inspect_repo(repo()).description == "two"


def test_unknown_repo_is_not_found(svc: PfsService) -> None:
    with pytest.raises(NotFound, match='repo default/nope not found'):
        svc.inspect_repo(repo("nope"))


def test_list_repos_by_type_and_project(svc: PfsService) -> None:
    svc.create_repo(repo("a"))
    svc.create_repo(repo("b"))
    svc.create_repo(repo("a", type="spec"), system=True)
    svc.create_repo(repo("c", project="other"))
    assert [str(r.repo) for r in svc.list_repos()] == ["other/c", "a.spec", "b", "a"]
    assert [r.repo.name for r in svc.list_repos(type="user", projects=["default"])] == ["b", "a"]
    assert [r.repo.name for r in svc.list_repos(type="spec")] == ["a"]
    assert [r.repo.name for r in svc.list_repos(projects=["other"])] == ["c"]


def test_repo_size_is_master_head_size(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"12345", "/b": b"678"})
    info = svc.inspect_repo(repo())
    assert info.size_bytes == 8
    assert [b.name for b in info.branches] == ["master"]


def test_delete_repo(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"x"})
    assert svc.delete_repo(repo()) is True
    with pytest.raises(NotFound):
        svc.inspect_repo(repo())
    assert svc.delete_repo(repo()) is False  # as pachd: deleting a missing repo is not an error
    svc.create_repo(repo())  # the name is free again, with nothing left over
    assert svc.inspect_repo(repo()).branches == ()


def test_delete_repo_refused_while_something_has_provenance_on_it(svc: PfsService) -> None:
    svc.create_repo(repo("input"))
    svc.create_repo(repo("out"))
    svc.create_branch(BranchKey(repo("out"), "master"), provenance=[BranchKey(repo("input"), "master")])
    with pytest.raises(FailedPrecondition, match="provenance of out@master"):
        svc.delete_repo(repo("input"))
    assert svc.delete_repo(repo("input"), force=True)
    assert svc.inspect_branch(BranchKey(repo("out"), "master")).direct_provenance == ()


def test_delete_all(svc: PfsService) -> None:
    svc.create_repo(repo("input"))
    svc.create_repo(repo("out"))
    svc.create_branch(BranchKey(repo("out"), "master"), provenance=[BranchKey(repo("input"), "master")])
    svc.delete_all()
    assert svc.list_repos() == []


# ===============================================================================================
# Branches and provenance
# ===============================================================================================


def test_create_branch_without_head_gets_an_empty_finished_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    info = svc.create_branch(BranchKey(repo(), "dev"))
    assert info.head is not None
    head = svc.inspect_commit(at(repo(), "dev"))
    assert head.origin == OriginKind.AUTO
    assert head.state == CommitState.FINISHED
    assert listing(svc, at(repo(), "dev")) == []


def test_create_branch_at_a_commit_and_head_moves_on_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    first = put(svc, at(repo()), {"/a": b"1"})
    put(svc, at(repo()), {"/b": b"2"})
    svc.create_branch(BranchKey(repo(), "old"), head=by_id(first))
    assert svc.inspect_branch(BranchKey(repo(), "old")).head == first.commit
    assert listing(svc, at(repo(), "old")) == ["/a"]
    third = put(svc, at(repo(), "old"), {"/c": b"3"})
    assert svc.inspect_branch(BranchKey(repo(), "old")).head == third.commit
    assert third.parent == first.commit
    assert listing(svc, at(repo(), "old")) == ["/a", "/c"]


def test_branch_names_are_validated(svc: PfsService) -> None:
    svc.create_repo(repo())
    for bad in ["", "with space", "0123456789abcdef0123456789abcdef"]:
        with pytest.raises(InvalidArgument):
            svc.create_branch(BranchKey(repo(), bad))


def test_output_branch_follows_its_input_in_the_same_commit_set(svc: PfsService) -> None:
    svc.create_repo(repo("input"))
    svc.create_repo(repo("out"))
    in_b = BranchKey(repo("input"), "master")
    out_b = BranchKey(repo("out"), "master")
    created = svc.create_branch(out_b, provenance=[in_b])
    assert created.direct_provenance == (in_b,)
    # The missing provenance branch was created with an empty finished commit...
    assert svc.inspect_commit(at(repo("input"))).state == CommitState.FINISHED
    # ... and the output branch got an open AUTO commit depending on it.
    out_head = svc.inspect_commit(at(repo("out")))
    assert out_head.origin == OriginKind.AUTO and out_head.state == CommitState.STARTED
    assert out_head.direct_provenance == (svc.inspect_commit(at(repo("input"))).commit,)

    svc.finish_commit(at(repo("out")))
    started = svc.start_commit(in_b)
    assert HEX32.match(started.commit.id)
    auto = svc.inspect_commit(at(repo("out")))
    assert auto.commit.id == started.commit.id  # one global ID for the whole commit set
    assert auto.origin == OriginKind.AUTO
    assert auto.direct_provenance == (started.commit,)
    assert svc.inspect_commit(by_id(started)).direct_subvenance == (auto.commit,)
    members = svc.inspect_commit_set(started.commit.id)
    assert [c.commit.repo.name for c in members] == ["input", "out"]
    with pytest.raises(FailedPrecondition, match="output branch"):
        svc.start_commit(out_b)


def test_provenance_is_transitive_and_acyclic(svc: PfsService) -> None:
    for name in ("a", "b", "c"):
        svc.create_repo(repo(name))
    a, b, c = (BranchKey(repo(n), "master") for n in "abc")
    svc.create_branch(b, provenance=[a])
    svc.create_branch(c, provenance=[b])
    assert svc.inspect_branch(c).provenance == (a, b)
    assert svc.inspect_branch(a).subvenance == (b, c)
    with pytest.raises(InvalidArgument, match="cycle"):
        svc.create_branch(a, provenance=[c])
    with pytest.raises(InvalidArgument, match="own branch"):
        svc.create_branch(a, provenance=[BranchKey(repo("a"), "other")])
    # Propagation reaches the whole chain with one commit set.
    svc.finish_commit(at(repo("b")))
    svc.finish_commit(at(repo("c")))
    started = svc.start_commit(a)
    ids = {svc.inspect_commit(at(repo(n))).commit.id for n in "abc"}
    assert ids == {started.commit.id}
    c_head = svc.inspect_commit(at(repo("c")))
    assert c_head.direct_provenance == (svc.inspect_commit(at(repo("b"))).commit,)


def test_list_and_delete_branches(svc: PfsService) -> None:
    svc.create_repo(repo())
    svc.create_repo(repo("out"))
    svc.create_branch(BranchKey(repo(), "a"))
    svc.create_branch(BranchKey(repo(), "b"))
    assert [b.branch.name for b in svc.list_branches(repo())] == ["b", "a"]
    assert [b.branch.name for b in svc.list_branches(repo(), reverse=True)] == ["a", "b"]
    svc.create_branch(BranchKey(repo("out"), "master"), provenance=[BranchKey(repo(), "a")])
    with pytest.raises(FailedPrecondition, match="provenance"):
        svc.delete_branch(BranchKey(repo(), "a"))
    svc.delete_branch(BranchKey(repo(), "a"), force=True)
    svc.delete_branch(BranchKey(repo(), "b"))
    assert svc.list_branches(repo()) == []
    with pytest.raises(NotFound, match='branch "b" not found in repo default/images'):
        svc.inspect_branch(BranchKey(repo(), "b"))


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
    done = svc.finish_commit(by_id(first), error="bad data")
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


# ===============================================================================================
# Files: writing
# ===============================================================================================


def test_put_to_a_branch_opens_and_finishes_one_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    info = put(svc, at(repo()), {"/dir/a.txt": b"hello", "b.txt": b"world"})
    assert info.state == CommitState.FINISHED and info.origin == OriginKind.USER
    assert len(list(svc.list_commits(repo()))) == 1
    assert read(svc, at(repo()), "/dir/a.txt") == b"hello"
    assert read(svc, at(repo()), "b.txt") == b"world"
    assert info.size_bytes == 10


def test_writes_to_an_open_head_land_in_that_commit(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    put(svc, at(repo()), {"/a": b"1"})
    put(svc, by_id(c), {"/b": b"2"})
    assert len(list(svc.list_commits(repo()))) == 1
    assert svc.inspect_commit(by_id(c)).state == CommitState.STARTED
    assert listing(svc, by_id(c)) == ["/a", "/b"]  # an open commit is readable
    svc.finish_commit(by_id(c))
    assert listing(svc, at(repo())) == ["/a", "/b"]


def test_writing_a_finished_commit_is_failed_precondition(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = put(svc, at(repo()), {"/a": b"1"})
    with pytest.raises(FailedPrecondition, match="finished"):
        svc.begin_modify(by_id(c))


def test_same_path_twice_last_write_wins_and_append_appends(svc: PfsService) -> None:
    svc.create_repo(repo())
    with svc.begin_modify(at(repo())) as s:
        s.add_file("/f", [b"one"])
        s.add_file("/f", [b"two"])
        s.add_file("/log", [b"a"])
        s.add_file("/log", [b"b", b"c"], append=True)
    assert read(svc, at(repo()), "/f") == b"two"
    assert read(svc, at(repo()), "/log") == b"abc"
    put(svc, at(repo()), {})
    with svc.begin_modify(at(repo())) as s:
        s.add_file("/log", [b"d"], append=True)
        s.add_file("/new", [b"n"], append=True)
    assert read(svc, at(repo()), "/log") == b"abcd"
    assert read(svc, at(repo()), "/new") == b"n"


def test_append_rechecks_content_changed_by_another_writer(svc: PfsService) -> None:
    svc.create_repo(repo())
    c = svc.start_commit(BranchKey(repo(), "master"))
    put(svc, by_id(c), {"/log": b"a"})
    session = svc.begin_modify(by_id(c))
    session.add_file("/log", [b"!"], append=True)  # computed against "a"
    put(svc, by_id(c), {"/log": b"changed"})  # someone else rewrites it first
    session.commit()
    assert read(svc, by_id(c), "/log") == b"changed!"


def test_delete_file_and_directory_subtree(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/d/a": b"1", "/d/e/b": b"2", "/keep": b"3", "/d-x": b"4"})
    with svc.begin_modify(at(repo())) as s:
        s.delete_file("/d")
        s.delete_file("/does/not/exist")  # deleting nothing is not an error
    assert listing(svc, at(repo())) == ["/d-x", "/keep"]
    with svc.begin_modify(at(repo())) as s:
        s.add_file("/d/again", [b"5"])
        s.delete_file("/")
        s.add_file("/only", [b"6"])
    assert listing(svc, at(repo())) == ["/only"]


def test_delete_then_add_in_one_session_applies_in_order(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"old"})
    with svc.begin_modify(at(repo())) as s:
        s.delete_file("/a")
        s.add_file("/a", [b"new"])
        s.add_file("/b", [b"x"])
        s.delete_file("/b")
    assert read(svc, at(repo()), "/a") == b"new"
    assert listing(svc, at(repo())) == ["/a"]


def test_copy_file_and_directory(svc: PfsService) -> None:
    svc.create_repo(repo())
    svc.create_repo(repo("other"))
    src = put(svc, at(repo("other")), {"/src/a": b"A", "/src/sub/b": b"B", "/one": b"1"})
    put(svc, at(repo()), {"/dst/old": b"o"})
    with svc.begin_modify(at(repo())) as s:
        s.copy_file("/dst", by_id(src), "/src")
        s.copy_file("/single", by_id(src), "/one")
        s.copy_file("/dst/old", by_id(src), "/one", append=True)
    assert [f.path for f in svc.walk_files(at(repo()), "/dst")] == [
        "/dst/",
        "/dst/a",
        "/dst/old",
        "/dst/sub/",
        "/dst/sub/b",
    ]
    assert read(svc, at(repo()), "/single") == b"1"
    assert read(svc, at(repo()), "/dst/old") == b"o1"
    assert read(svc, at(repo()), "/dst/sub/b") == b"B"
    with pytest.raises(NotFound), svc.begin_modify(at(repo())) as s:
        s.copy_file("/x", by_id(src), "/missing")


def test_add_file_from_file_urls(svc: PfsService, tmp_path: Path) -> None:
    svc.url_limits = UrlLimits(file_dirs=(tmp_path,))
    svc.create_repo(repo())
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_bytes(b"A")
    (tmp_path / "in" / "sub" / "b.txt").write_bytes(b"B")
    with svc.begin_modify(at(repo())) as s:
        s.add_file_url("/single", (tmp_path / "in" / "a.txt").as_uri())
        s.add_file_url("/tree", (tmp_path / "in").as_uri(), recursive=True)
    assert read(svc, at(repo()), "/single") == b"A"
    assert [f.path for f in svc.walk_files(at(repo()), "/tree")] == [
        "/tree/",
        "/tree/a.txt",
        "/tree/sub/",
        "/tree/sub/b.txt",
    ]
    session = svc.begin_modify(at(repo()))
    with pytest.raises(InvalidArgument, match="recursive"):
        session.add_file_url("/x", (tmp_path / "in").as_uri())
    with pytest.raises(NotFound):
        session.add_file_url("/x", (tmp_path / "missing").as_uri())
    with pytest.raises(InvalidArgument, match="scheme"):
        session.add_file_url("/x", "s3://bucket/key")
    session.abort()


def test_add_file_from_a_localhost_http_url(svc: PfsService, tmp_path: Path) -> None:
    import functools
    import http.server

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "data.csv").write_bytes(b"a,b\n1,2\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        svc.create_repo(repo())
        with svc.begin_modify(at(repo())) as s:
            s.add_file_url("/data.csv", f"{base}/data.csv")
        assert read(svc, at(repo()), "/data.csv") == b"a,b\n1,2\n"
        session = svc.begin_modify(at(repo()))
        with pytest.raises(FailedPrecondition, match="HTTP 404"):
            session.add_file_url("/x", f"{base}/missing")
        session.abort()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_abort_or_exception_leaves_the_commit_exactly_as_it_was(svc: PfsService) -> None:
    svc.create_repo(repo())
    before = put(svc, at(repo()), {"/a": b"1"})
    with pytest.raises(RuntimeError), svc.begin_modify(at(repo())) as s:
        s.add_file("/b", [b"2"])
        s.delete_file("/a")
        raise RuntimeError("client went away")

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionError("stream aborted")

    session = svc.begin_modify(at(repo()))
    session.add_file("/c", [b"3"])
    with pytest.raises(ConnectionError):
        session.add_file("/d", broken())
    session.abort()
    with pytest.raises(FailedPrecondition):
        session.commit()
    assert svc.inspect_commit(at(repo())).commit == before.commit
    assert len(list(svc.list_commits(repo()))) == 1
    assert listing(svc, at(repo())) == ["/a"]


def test_session_given_up_at_the_last_moment_applies_nothing(svc: PfsService) -> None:
    svc.create_repo(repo())
    before = put(svc, at(repo()), {"/a": b"1"})
    session = svc.begin_modify(at(repo()))
    session.add_file("/b", [b"2"])
    with pytest.raises(Aborted, match="cancelled"):
        session.commit(still_wanted=lambda: False)  # e.g. the gRPC client went away
    assert svc.inspect_commit(at(repo())).commit == before.commit
    assert listing(svc, at(repo())) == ["/a"]


def test_failed_apply_rolls_back_everything(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/a": b"1"})
    with pytest.raises(FailedPrecondition, match="both a file and a directory"), svc.begin_modify(at(repo())) as s:
        s.add_file("/fine", [b"ok"])
        s.add_file("/a/b", [b"2"])  # /a is a file
    assert len(list(svc.list_commits(repo()))) == 1
    assert listing(svc, at(repo())) == ["/a"]


def test_path_collisions(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"/dir/x": b"1"})
    with pytest.raises(FailedPrecondition, match="/dir"):
        put(svc, at(repo()), {"/dir": b"file over a directory"})
    with pytest.raises(FailedPrecondition):
        put(svc, at(repo()), {"/p": b"1", "/p/q": b"2"})
    with svc.begin_modify(at(repo())) as s:  # replacing the directory is fine
        s.delete_file("/dir")
        s.add_file("/dir", [b"now a file"])
    assert read(svc, at(repo()), "/dir") == b"now a file"


@pytest.mark.parametrize("bad", ["/../x", "a\x00b", "/", "", "/" + "n" * 300, "/a" * 2100])
def test_bad_file_paths_are_invalid_argument(svc: PfsService, bad: str) -> None:
    svc.create_repo(repo())
    session = svc.begin_modify(at(repo()))
    with pytest.raises(InvalidArgument):
        session.add_file(bad, [b"x"])
    session.abort()


def test_paths_are_normalised_on_write_and_read(svc: PfsService) -> None:
    svc.create_repo(repo())
    put(svc, at(repo()), {"a//b/": b"x"})
    assert read(svc, at(repo()), "/a/b") == b"x"
    assert read(svc, at(repo()), "a/./b") == b"x"
    assert svc.inspect_file(at(repo()), "//a//").file_type == FileType.DIR


def test_modify_unknown_targets(svc: PfsService) -> None:
    with pytest.raises(NotFound, match='repo default/nope not found'):
        svc.begin_modify(at(repo("nope")))
    svc.create_repo(repo())
    with pytest.raises(NotFound):
        svc.begin_modify(CommitRef(repo(), id="0123456789abcdef0123456789abcdef"))


def test_fifty_megabyte_put_streams_in_bounded_memory(svc: PfsService) -> None:
    svc.create_repo(repo())
    chunk = 1 << 20

    def generate() -> Iterator[bytes]:
        for i in range(50):
            yield bytes([i]) * chunk

    tracemalloc.start()
    try:
        info = svc.put_file(at(repo()), "/big", generate())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * chunk, f"peak traced memory {peak}"
    assert info.size_bytes == 50 * chunk
    digest = hashlib.sha256()
    for part in svc.get_file(at(repo()), "/big"):
        assert len(part) <= chunk
        digest.update(part)
    expected = hashlib.sha256()
    for i in range(50):
        expected.update(bytes([i]) * chunk)
    assert digest.hexdigest() == expected.hexdigest()


# ===============================================================================================
# Files: reading
# ===============================================================================================


@pytest.fixture
def tree(svc: PfsService) -> CommitRef:
    svc.create_repo(repo())
    put(
        svc,
        at(repo()),
        {
            "/a/1.txt": b"one",
            "/a/2.csv": b"two",
            "/a/b/3.txt": b"three",
            "/c.txt": b"cee",
            "/a-b": b"dash",
        },
    )
    return at(repo())


def test_inspect_file_and_directory(svc: PfsService, tree: CommitRef) -> None:
    f = svc.inspect_file(tree, "/a/1.txt")
    assert (f.file_type, f.size_bytes, f.hash) == (FileType.FILE, 3, hashlib.sha256(b"one").hexdigest())
    assert f.committed is not None
    d = svc.inspect_file(tree, "/a")
    assert (d.path, d.file_type, d.size_bytes) == ("/a/", FileType.DIR, 11)
    root = svc.inspect_file(tree, "/")
    assert root.size_bytes == 18
    with pytest.raises(NotFound, match='file /nope not found in repo'):
        svc.inspect_file(tree, "/nope")


def test_list_file_children_in_path_order(svc: PfsService, tree: CommitRef) -> None:
    infos = list(svc.list_files(tree, "/"))
    assert [(i.path, i.file_type, i.size_bytes) for i in infos] == [
        ("/a-b", FileType.FILE, 4),
        ("/a/", FileType.DIR, 11),
        ("/c.txt", FileType.FILE, 3),
    ]
    assert listing(svc, tree, "/a") == ["/a/1.txt", "/a/2.csv", "/a/b/"]
    assert listing(svc, tree, "/a/1.txt") == ["/a/1.txt"]
    with pytest.raises(NotFound):
        listing(svc, tree, "/missing")


def test_list_file_pagination(svc: PfsService, tree: CommitRef) -> None:
    assert [i.path for i in svc.list_files(tree, "/", number=2)] == ["/a-b", "/a/"]
    assert [i.path for i in svc.list_files(tree, "/", marker="/a/")] == ["/c.txt"]
    assert [i.path for i in svc.list_files(tree, "/", marker="/a-b", number=1)] == ["/a/"]
    assert [i.path for i in svc.list_files(tree, "/", number=2, reverse=True)] == ["/c.txt", "/a/"]
    assert [i.path for i in svc.list_files(tree, "/", number=5, reverse=True, marker="/c.txt")] == ["/a/", "/a-b"]
    with pytest.raises(InvalidArgument):
        svc.list_files(tree, "/", reverse=True)
    with pytest.raises(InvalidArgument):
        svc.list_files(tree, "/", number=-1)


def test_walk_file_pre_order(svc: PfsService, tree: CommitRef) -> None:
    assert [i.path for i in svc.walk_files(tree)] == [
        "/",
        "/a-b",
        "/a/",
        "/a/1.txt",
        "/a/2.csv",
        "/a/b/",
        "/a/b/3.txt",
        "/c.txt",
    ]
    assert [i.path for i in svc.walk_files(tree, "/a/b")] == ["/a/b/", "/a/b/3.txt"]
    assert [i.path for i in svc.walk_files(tree, "/", number=3)] == ["/", "/a-b", "/a/"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/", ["/"]),
        ("/*", ["/a-b", "/a/", "/c.txt"]),
        ("/*/*", ["/a/1.txt", "/a/2.csv", "/a/b/"]),
        ("/a/*.txt", ["/a/1.txt"]),
        ("/**.txt", ["/a/1.txt", "/a/b/3.txt", "/c.txt"]),
        ("/a/{1.txt,b}", ["/a/1.txt", "/a/b/"]),
        ("/a/?.csv", ["/a/2.csv"]),
        ("/[ac]*", ["/a-b", "/a/", "/c.txt"]),
        ("/nothing*", []),
        ("/a/1.txt", ["/a/1.txt"]),
    ],
)
def test_glob_file(svc: PfsService, tree: CommitRef, pattern: str, expected: list[str]) -> None:
    assert [i.path for i in svc.glob_files(tree, pattern)] == expected


def test_glob_bad_pattern_is_invalid(svc: PfsService, tree: CommitRef) -> None:
    with pytest.raises(InvalidArgument):
        svc.glob_files(tree, "/[unclosed")


def test_get_file_offsets_directories_and_globs(svc: PfsService, tree: CommitRef) -> None:
    assert read(svc, tree, "/a/b/3.txt", offset=2) == b"ree"
    assert read(svc, tree, "/a") == b"onetwothree"
    assert read(svc, tree, "/a", offset=4) == b"wothree"
    assert read(svc, tree, "/**.txt") == b"onethreecee"
    assert read(svc, tree, "/*") == b"dashonetwothreecee"  # a matched directory brings its subtree once
    with pytest.raises(NotFound):
        read(svc, tree, "/missing")
    with pytest.raises(NotFound):
        read(svc, tree, "/none*")
    with pytest.raises(InvalidArgument):
        svc.get_file(tree, "/a", offset=-1)


def test_get_file_tar(svc: PfsService, tree: CommitRef) -> None:
    data = b"".join(svc.get_file_tar(tree, "/a"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["a", "a/1.txt", "a/2.csv", "a/b", "a/b/3.txt"]
        assert members["a/b"].isdir()
        extracted = tar.extractfile("a/b/3.txt")
        assert extracted is not None and extracted.read() == b"three"
    single = b"".join(svc.get_file_tar(tree, "/c.txt"))
    with tarfile.open(fileobj=io.BytesIO(single)) as tar:
        assert tar.getnames() == ["c.txt"]


def test_diff_file_against_parent_and_explicit_old(svc: PfsService, tree: CommitRef) -> None:
    base = svc.inspect_commit(tree)
    with svc.begin_modify(tree) as s:
        s.add_file("/a/1.txt", [b"ONE"])
        s.delete_file("/c.txt")
        s.add_file("/new", [b"n"])
    diffs = [(d.old.path if d.old else None, d.new.path if d.new else None) for d in svc.diff_files(tree)]
    assert diffs == [("/", "/"), ("/a/", "/a/"), ("/a/1.txt", "/a/1.txt"), ("/c.txt", None), (None, "/new")]
    shallow = [
        (d.old.path if d.old else None, d.new.path if d.new else None) for d in svc.diff_files(tree, "/a", shallow=True)
    ]
    assert shallow == [("/a/", "/a/"), ("/a/1.txt", "/a/1.txt")]
    assert list(svc.diff_files(tree, old=by_id(base), old_path="/a/b", new_path="/a/b")) == []
    first = svc.diff_files(CommitRef(repo(), id=base.commit.id))
    assert all(d.old is None for d in first)


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
                svc.create_repo(repo(f"job-{info.commit.repo.name}-{info.commit.id[:8]}"))
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
            svc.create_repo(repo("side-effect"))
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
