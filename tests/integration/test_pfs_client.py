"""``client.pfs`` (tusk.pfs.PfsClient) against a real server: every method, the pachctl-style
names it accepts, streaming uploads, one commit per ModifyFile block, and typed errors."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import time
from pathlib import Path

import grpc
import pytest

import tusk
from tests.conftest import RunningServer
from tusk import errors
from tusk.pfs import format_commit, format_repo, parse_branch, parse_commit, parse_file, parse_repo
from tusk.proto.pfs_v2 import pfs_pb2
from tuskd.domain.pfs import RepoKey

MiB = 1 << 20


def commit_ids(client: tusk.Client, repo: str = "images") -> list[str]:
    return [c.commit.id for c in client.pfs.list_commit(repo)]


# -- names -----------------------------------------------------------------------------------------


def test_parsers_read_pachctl_names() -> None:
    repo = parse_repo("images")
    assert (repo.name, repo.type, repo.project.name) == ("images", "user", "default")
    spec = parse_repo("proj/edges.spec")
    assert (spec.name, spec.type, spec.project.name) == ("edges", "spec", "proj")
    assert format_repo(spec) == "proj/edges.spec" and format_repo(repo) == "images"

    head = parse_commit("images@dev")
    assert (head.repo.name, head.branch.name, head.id) == ("images", "dev", "")
    assert parse_commit("images").branch.name == "master"
    cid = "0123456789abcdef0123456789abcdef"
    assert parse_commit(f"images@{cid}").id == cid and not parse_commit(f"images@{cid}").branch.name
    assert parse_commit("images@master^2").id == "master^2"
    both = parse_commit(f"images@master={cid}")
    assert (both.branch.name, both.id) == ("master", cid)
    assert format_commit(parse_commit(f"images@{cid}")) == f"images@{cid}"

    f = parse_file("images@master:/a/b.png")
    assert (f.commit.branch.name, f.path) == ("master", "/a/b.png")
    assert parse_file("images@master:rel.txt").path == "/rel.txt"
    assert parse_file("images@master").path == "/"
    assert parse_branch("images@dev").name == "dev"
    with pytest.raises(errors.InvalidArgument):
        parse_branch(f"images@{cid}")


# -- repos -----------------------------------------------------------------------------------------


def test_repos(server: RunningServer, client: tusk.Client) -> None:
    client.pfs.create_repo("images", description="pictures")
    info = client.pfs.inspect_repo("images")
    assert (info.repo.name, info.repo.type, info.description) == ("images", "user", "pictures")
    with pytest.raises(errors.AlreadyExists):
        client.pfs.create_repo("images")
    client.pfs.create_repo("images", description="new", update=True)
    assert client.pfs.inspect_repo("images").description == "new"
    with pytest.raises(errors.InvalidArgument, match='repo type "spec"'):
        client.pfs.create_repo("edges.spec")  # spec repos are the server's to make
    server.deps.pfs.create_repo(RepoKey.of("edges", type="spec"), system=True)
    assert [r.repo.name for r in client.pfs.list_repo()] == ["images"]
    assert sorted(format_repo(r.repo) for r in client.pfs.list_repo(type="")) == ["edges.spec", "images"]
    assert client.pfs.delete_repo("images") is True
    with pytest.raises(errors.NotFound, match='repo default/images not found'):
        client.pfs.inspect_repo("images")
    for bad in ["", "bad name", "dots.are.types"]:
        with pytest.raises(errors.InvalidArgument):
            client.pfs.create_repo(bad)
    client.pfs.delete_all()
    assert list(client.pfs.list_repo(type="")) == []


def test_delete_repo_read_by_another_needs_force(client: tusk.Client) -> None:
    client.pfs.create_repo("input")
    client.pfs.create_repo("out")
    client.pfs.create_branch("out@master", provenance=["input@master"])
    with pytest.raises(errors.FailedPrecondition):
        client.pfs.delete_repo("input")
    assert client.pfs.delete_repo("input", force=True)


# -- branches --------------------------------------------------------------------------------------


def test_branches(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    client.pfs.put_file("images@master", "/a", b"1")
    head = client.pfs.inspect_branch("images@master").head.id
    client.pfs.create_branch("images@dev", head=f"images@{head}")
    assert client.pfs.inspect_branch("images@dev").head.id == head
    assert [b.branch.name for b in client.pfs.list_branch("images")] == ["dev", "master"]
    assert [b.branch.name for b in client.pfs.list_branch("images", reverse=True)] == ["master", "dev"]
    client.pfs.delete_branch("images@dev")
    with pytest.raises(errors.NotFound):
        client.pfs.inspect_branch("images@dev")
    with pytest.raises(errors.NotFound):
        client.pfs.list_branch("nope").__next__()


# -- commits ---------------------------------------------------------------------------------------


def test_start_finish_inspect_and_wait(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    commit = client.pfs.start_commit("images@master", description="first")
    assert len(commit.id) == 32 and commit.branch.name == "master"
    with pytest.raises(errors.FailedPrecondition):
        client.pfs.start_commit("images@master")
    client.pfs.put_file(commit, "/x", b"x")  # into the open commit, by message
    client.pfs.put_file(f"images@{commit.id}", "/y", b"y")  # and by ID
    info = client.pfs.inspect_commit("images@master")
    assert info.commit.id == commit.id and not info.HasField("finished")
    finisher = threading.Timer(0.2, lambda: client.pfs.finish_commit(f"images@{commit.id}", error="oops"))
    finisher.start()
    done = client.pfs.wait_commit("images@master", timeout=10)
    finisher.join(10)
    assert done.finished.seconds > 0 and done.error == "oops" and done.description == "first"
    assert client.pfs.inspect_commit("images@master", wait="started").commit.id == commit.id
    with pytest.raises(errors.FailedPrecondition):
        client.pfs.finish_commit(f"images@{commit.id}")
    second = client.pfs.start_commit("images@master", parent=f"images@{commit.id}")
    assert client.pfs.inspect_commit("images@master^").commit.id == commit.id
    client.pfs.finish_commit("images@master", description="second")
    assert client.pfs.inspect_commit(f"images@{second.id}").description == "second"
    with pytest.raises(errors.NotFound):
        client.pfs.inspect_commit("images@master^5")
    with pytest.raises(errors.InvalidArgument):
        client.pfs.inspect_commit("images@master", wait="soon")
    with pytest.raises(errors.NotFound):
        client.pfs.start_commit("nope@master")


def test_wait_gives_up_with_deadline_exceeded(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    client.pfs.start_commit("images@master")
    with pytest.raises(errors.DeadlineExceeded):
        client.pfs.wait_commit("images@master", timeout=0.3)


def test_list_and_subscribe_commits(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    for i in range(3):
        client.pfs.put_file("images@master", f"/{i}", b"x")
    ids = commit_ids(client)
    assert len(ids) == 3
    assert [c.commit.id for c in client.pfs.list_commit("images", reverse=True)] == ids[::-1]
    assert [c.commit.id for c in client.pfs.list_commit("images", number=2)] == ids[:2]
    assert [c.commit.id for c in client.pfs.list_commit("images@master", from_=f"images@{ids[2]}")] == ids[:2]
    assert [c.commit.id for c in client.pfs.list_commit(f"images@{ids[1]}")] == ids[1:]
    assert all(c.origin.kind == pfs_pb2.USER for c in client.pfs.list_commit("images", origin_kind="user"))
    assert list(client.pfs.list_commit("images", origin_kind="auto")) == []

    stream = client.pfs.subscribe_commit("images", "master", state="finished")
    assert [next(stream).commit.id for _ in range(3)] == ids[::-1]
    putter = threading.Timer(0.2, lambda: client.pfs.put_file("images@master", "/later", b"y"))
    putter.start()
    later = next(stream)
    putter.join(10)
    assert later.commit.id not in ids and later.finished.seconds > 0
    stream.close()  # cancels the call
    with pytest.raises(errors.NotFound):
        next(client.pfs.list_commit("nope"))


def test_commit_sets(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    for i in range(3):
        client.pfs.put_file("images@master", f"/{i}", b"x")
    ids = commit_ids(client)
    assert [s.commit_set.id for s in client.pfs.list_commit_set()] == ids
    assert [c.commit.id for c in client.pfs.inspect_commit_set(ids[1], wait=True)] == [ids[1]]
    with pytest.raises(errors.FailedPrecondition):
        client.pfs.drop_commit_set(ids[1])  # it has a child
    client.pfs.squash_commit_set(ids[1])
    client.pfs.drop_commit_set(ids[0])
    assert commit_ids(client) == [ids[2]]
    assert [f.file.path for f in client.pfs.list_file("images@master")] == ["/0"]
    with pytest.raises(errors.NotFound):
        list(client.pfs.inspect_commit_set(ids[0]))


# -- files -----------------------------------------------------------------------------------------


def test_put_and_get_bytes_file_objects_and_paths(client: tusk.Client, tmp_path: Path) -> None:
    client.pfs.create_repo("images")
    big = bytes(range(256)) * (5 * MiB // 256 + 3)  # several chunks
    local = tmp_path / "big.bin"
    local.write_bytes(big)
    client.pfs.put_file("images@master", "/from-path.bin", local)
    client.pfs.put_file("images@master", "from-bytes.txt", b"hello")
    client.pfs.put_file("images@master", "/from-io.txt", io.BytesIO(b"stream"))
    client.pfs.put_file("images@master", "/empty", b"")
    assert client.pfs.get_file_bytes("images@master", "/from-path.bin") == big
    assert sum(len(c) for c in client.pfs.get_file("images@master", "/from-path.bin")) == len(big)
    assert client.pfs.get_file_bytes("images@master", "/from-bytes.txt") == b"hello"
    assert client.pfs.get_file_bytes("images@master", "/from-io.txt", offset=2) == b"ream"
    assert client.pfs.get_file_bytes("images@master", "/empty") == b""
    info = client.pfs.inspect_file("images@master", "/from-path.bin")
    assert info.size_bytes == len(big) and info.hash == hashlib.sha256(big).digest()
    assert info.file_type == pfs_pb2.FILE
    assert len(commit_ids(client)) == 4  # each put to a branch: one finished commit

    client.pfs.put_file("images@master", "/from-bytes.txt", b" world", append=True)
    assert client.pfs.get_file_bytes("images@master", "/from-bytes.txt") == b"hello world"
    client.pfs.put_file("images@master", "/from-bytes.txt", b"fresh")
    assert client.pfs.get_file_bytes("images@master", "/from-bytes.txt") == b"fresh"
    client.pfs.delete_file("images@master", "/from-bytes.txt")
    with pytest.raises(errors.NotFound):
        client.pfs.get_file_bytes("images@master", "/from-bytes.txt")
    with pytest.raises(errors.NotFound):
        client.pfs.put_file("nope@master", "/a", b"x")
    with pytest.raises(errors.InvalidArgument):
        client.pfs.put_file("images@master", "/../escape", b"x")


def test_put_files_makes_one_commit(client: tusk.Client, tmp_path: Path) -> None:
    client.pfs.create_repo("images")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_bytes(b"a")
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"bb")
    written = client.pfs.put_files("images@master", tmp_path / "d", "/in")
    assert written == ["/in/a.txt", "/in/sub/b.txt"]
    assert len(commit_ids(client)) == 1
    walked = [(f.file.path, f.size_bytes) for f in client.pfs.walk_file("images@master", "/in")]
    assert walked == [("/in/", 3), ("/in/a.txt", 1), ("/in/sub/", 2), ("/in/sub/b.txt", 2)]
    with pytest.raises(errors.InvalidArgument):
        client.pfs.put_files("images@master", tmp_path / "missing")


def test_modify_file_block_is_one_commit_or_nothing(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    client.pfs.create_repo("src")
    client.pfs.put_file("src@master", "/d/x", b"X")
    client.pfs.put_file("images@master", "/old", b"o")
    with client.pfs.modify_file("images@master") as mf:
        mf.put_file("/a", b"1")
        mf.put_file("/b", io.BytesIO(b"2"))
        mf.delete_file("/old")
        mf.copy_file("/copied", "src@master:/d")
    assert len(commit_ids(client)) == 2
    assert [f.file.path for f in client.pfs.list_file("images@master")] == ["/a", "/b", "/copied/"]
    assert client.pfs.get_file_bytes("images@master", "/copied/x") == b"X"

    with pytest.raises(RuntimeError), client.pfs.modify_file("images@master") as mf:
        mf.put_file("/c", b"3" * MiB)
        raise RuntimeError("changed my mind")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(commit_ids(client)) != 2:
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(commit_ids(client)) == 2  # the aborted block left nothing
    assert [f.file.path for f in client.pfs.list_file("images@master")] == ["/a", "/b", "/copied/"]

    client.pfs.copy_file("src@master:/d/x", "images@master:/x2")
    assert client.pfs.get_file_bytes("images@master", "/x2") == b"X"


def test_modify_file_on_a_finished_commit_fails_typed(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    commit = client.pfs.start_commit("images@master")
    client.pfs.finish_commit(commit)
    with pytest.raises(errors.FailedPrecondition), client.pfs.modify_file(f"images@{commit.id}") as mf:
        for _ in range(64):  # the server refuses at once; a later send or the close reports it
            mf.put_file("/a", b"x" * 1024)


def test_list_walk_glob_diff_and_tar(client: tusk.Client) -> None:
    client.pfs.create_repo("images")
    with client.pfs.modify_file("images@master") as mf:
        mf.put_file("/a/1.txt", b"one")
        mf.put_file("/a/b/2.txt", b"two")
        mf.put_file("/c.csv", b"cee")
    listed = [(f.file.path, f.file_type, f.size_bytes) for f in client.pfs.list_file("images@master")]
    assert listed == [("/a/", pfs_pb2.DIR, 6), ("/c.csv", pfs_pb2.FILE, 3)]
    assert [f.file.path for f in client.pfs.list_file("images@master", "/", after="/a/")] == ["/c.csv"]
    assert [f.file.path for f in client.pfs.list_file("images@master", number=1)] == ["/a/"]
    assert [f.file.path for f in client.pfs.walk_file("images@master", "/a")] == [
        "/a/",
        "/a/1.txt",
        "/a/b/",
        "/a/b/2.txt",
    ]
    assert [f.file.path for f in client.pfs.glob_file("images@master", "/**.txt")] == ["/a/1.txt", "/a/b/2.txt"]
    assert [f.file.path for f in client.pfs.glob_file("images@master", "/*")] == ["/a/", "/c.csv"]

    first = commit_ids(client)[0]
    with client.pfs.modify_file("images@master") as mf:
        mf.put_file("/c.csv", b"CEE")
        mf.put_file("/new", b"n")
    diffs = [
        (d.old_file.file.path or None, d.new_file.file.path or None) for d in client.pfs.diff_file("images@master")
    ]
    assert diffs == [("/", "/"), ("/c.csv", "/c.csv"), (None, "/new")]
    against = list(client.pfs.diff_file("images@master", "/new", old_commit=f"images@{first}"))
    assert [(d.old_file.file.path, d.new_file.file.path) for d in against] == [("", "/new")]
    with pytest.raises(errors.InvalidArgument):
        client.pfs.diff_file("images@master", old_path="/x")

    data = b"".join(client.pfs.get_file_tar("images@master", "/a"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["a", "a/1.txt", "a/b", "a/b/2.txt"]
    with pytest.raises(errors.NotFound):
        client.pfs.inspect_file("images@master", "/missing")
    with pytest.raises(errors.NotFound):
        b"".join(client.pfs.get_file("images@master", "/missing"))


def test_leaving_a_stream_early_cancels_it(client: tusk.Client, server: RunningServer) -> None:
    client.pfs.create_repo("images")
    client.pfs.start_commit("images@master")
    baseline = server.deps.hub.subscriber_count()
    stream = client.pfs.subscribe_commit("images", "master")
    assert len(next(stream).commit.id) == 32
    stream.close()
    deadline = time.monotonic() + 5
    while server.deps.hub.subscriber_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.deps.hub.subscriber_count() == baseline


def test_no_raw_grpc_errors_escape(server: RunningServer) -> None:
    with tusk.Client("127.0.0.1:1") as dead:
        with pytest.raises(errors.Unavailable):
            dead.pfs.inspect_repo("images", timeout=2)
        with pytest.raises(errors.Unavailable):
            list(dead.pfs.list_repo(timeout=2))
        with pytest.raises(errors.TuskError) as err:
            dead.pfs.put_file("images@master", "/a", b"x", timeout=2)
        assert not isinstance(err.value, grpc.RpcError)
