"""PFS use cases against a real SQLite file and a real blob directory (no mocks)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuskd.blobs.local import LocalBlobStore
from tuskd.domain import paths
from tuskd.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from tuskd.domain.pfs import (
    BranchKey,
    CommitInfo,
    CommitRef,
    CommitState,
    FileEntry,
    OriginKind,
    RepoKey,
    aggregate_tree,
    layers_to_merge,
    parse_ref,
    walk_tree,
)
from tuskd.services.events import EventHub
from tuskd.services.pfs import PfsService
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
