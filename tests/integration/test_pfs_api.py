"""pfs_v2.API through a real server on a real port, with the generated stubs over a real channel."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2, timestamp_pb2, wrappers_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import tusk
from tests.conftest import RunningServer
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tuskd.domain.pfs import RepoKey

MiB = 1 << 20


@pytest.fixture
def pfs(client: tusk.Client) -> pfs_pb2_grpc.APIStub:
    return pfs_pb2_grpc.APIStub(client.channel)


def repo(name: str = "images", project: str = "", type: str = "") -> pfs_pb2.Repo:
    return pfs_pb2.Repo(name=name, type=type, project=pfs_pb2.Project(name=project))


def branch(name: str = "master", repo_name: str = "images") -> pfs_pb2.Branch:
    return pfs_pb2.Branch(repo=repo(repo_name), name=name)


def head(repo_name: str = "images", branch_name: str = "master") -> pfs_pb2.Commit:
    return pfs_pb2.Commit(branch=branch(branch_name, repo_name), repo=repo(repo_name))


def by_id(commit_id: str, repo_name: str = "images") -> pfs_pb2.Commit:
    return pfs_pb2.Commit(repo=repo(repo_name), id=commit_id)


def file(path: str, commit: pfs_pb2.Commit | None = None) -> pfs_pb2.File:
    return pfs_pb2.File(commit=commit or head(), path=path)


def put(pfs: pfs_pb2_grpc.APIStub, commit: pfs_pb2.Commit, files: dict[str, bytes]) -> None:
    """The way Pachyderm clients overwrite files: delete, then add (raw add appends)."""

    def requests() -> Iterator[pfs_pb2.ModifyFileRequest]:
        yield pfs_pb2.ModifyFileRequest(set_commit=commit)
        for path, data in files.items():
            yield pfs_pb2.ModifyFileRequest(delete_file=pfs_pb2.DeleteFile(path=path))
            yield pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=b"")))
            for i in range(0, len(data), MiB):
                chunk = wrappers_pb2.BytesValue(value=data[i : i + MiB])
                yield pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path=path, raw=chunk))

    pfs.ModifyFile(requests(), timeout=30)


def get(pfs: pfs_pb2_grpc.APIStub, path: str, commit: pfs_pb2.Commit | None = None, offset: int = 0) -> bytes:
    request = pfs_pb2.GetFileRequest(file=file(path, commit), offset=offset)
    return b"".join(m.value for m in pfs.GetFile(request, timeout=30))


def code_of(call: object, *args: object, **kwargs: object) -> tuple[grpc.StatusCode, str, str]:
    try:
        result = call(*args, timeout=10, **kwargs)  # type: ignore[operator]
        if hasattr(result, "__iter__") and not hasattr(result, "ListFields"):
            list(result)
    except grpc.RpcError as err:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
        reason = ""
        if status is not None:
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    reason = info.reason
        return err.code(), err.details() or "", reason  # type: ignore[attr-defined]
    raise AssertionError("the call succeeded")


# -- repos ---------------------------------------------------------------------------------------


def test_repo_lifecycle_and_defaults(server: RunningServer, pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo(), description="pictures"), timeout=10)
    info = pfs.InspectRepo(pfs_pb2.InspectRepoRequest(repo=repo()), timeout=10)
    assert (info.repo.name, info.repo.type, info.repo.project.name) == ("images", "user", "default")
    assert info.description == "pictures"
    assert info.created.seconds > 0
    assert list(info.branches) == []
    code, details, reason = code_of(pfs.CreateRepo, pfs_pb2.CreateRepoRequest(repo=repo()))
    assert code == grpc.StatusCode.ALREADY_EXISTS and reason == "REPO_EXISTS"
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo(), description="new", update=True), timeout=10)
    assert pfs.InspectRepo(pfs_pb2.InspectRepoRequest(repo=repo()), timeout=10).description == "new"
    # Clients create user repos only; a pipeline's spec repo is made by the server.
    server.deps.pfs.create_repo(RepoKey.of("specs", type="spec"), system=True)
    names = [r.repo.name for r in pfs.ListRepo(pfs_pb2.ListRepoRequest(type="user"), timeout=10)]
    assert names == ["images"]
    assert len(list(pfs.ListRepo(pfs_pb2.ListRepoRequest(), timeout=10))) == 2
    page = pfs_pb2.RepoPage(page_size=1, page_index=1)
    assert len(list(pfs.ListRepo(pfs_pb2.ListRepoRequest(page=page), timeout=10))) == 1
    resp = pfs.DeleteRepo(pfs_pb2.DeleteRepoRequest(repo=repo()), timeout=10)
    assert resp.deleted
    code, details, reason = code_of(pfs.InspectRepo, pfs_pb2.InspectRepoRequest(repo=repo()))
    assert code == grpc.StatusCode.NOT_FOUND and details == 'repo default/images not found'
    assert reason == "REPO_NOT_FOUND"


def test_bad_repo_names_are_invalid_argument(pfs: pfs_pb2_grpc.APIStub) -> None:
    for name in ["", "bad name", "a/b"]:
        code, _, _ = code_of(pfs.CreateRepo, pfs_pb2.CreateRepoRequest(repo=repo(name)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_delete_repo_with_subvenance_needs_force(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo("input")), timeout=10)
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo("out")), timeout=10)
    pfs.CreateBranch(
        pfs_pb2.CreateBranchRequest(branch=branch("master", "out"), provenance=[branch("master", "input")])
    )
    code, _, _ = code_of(pfs.DeleteRepo, pfs_pb2.DeleteRepoRequest(repo=repo("input")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert pfs.DeleteRepo(pfs_pb2.DeleteRepoRequest(repo=repo("input"), force=True), timeout=10).deleted
    pfs.DeleteAll(empty_pb2.Empty(), timeout=10)
    assert list(pfs.ListRepo(pfs_pb2.ListRepoRequest(), timeout=10)) == []


# -- files ---------------------------------------------------------------------------------------


def test_put_and_get_files_in_chunks(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    big = bytes(range(256)) * (3 * MiB // 256 + 17)
    put(pfs, head(), {"/big.bin": big, "/dir/a.txt": b"hello", "/dir/b.txt": b"world"})
    assert get(pfs, "/big.bin") == big
    assert get(pfs, "/dir/a.txt", offset=1) == b"ello"
    assert get(pfs, "/dir") == b"helloworld"
    info = pfs.InspectFile(pfs_pb2.InspectFileRequest(file=file("/big.bin")), timeout=10)
    assert info.file_type == pfs_pb2.FILE
    assert info.size_bytes == len(big)
    assert info.hash == hashlib.sha256(big).digest()
    assert info.file.commit.id
    commits = list(pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo()), timeout=10))
    assert len(commits) == 1 and commits[0].finished.seconds > 0  # put to a branch: one finished commit
    assert commits[0].origin.kind == pfs_pb2.USER


def test_raw_add_file_appends_and_delete_overwrites(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    put(pfs, head(), {"/log": b"one"})

    def append() -> Iterator[pfs_pb2.ModifyFileRequest]:
        yield pfs_pb2.ModifyFileRequest(set_commit=head())
        yield pfs_pb2.ModifyFileRequest(
            add_file=pfs_pb2.AddFile(path="/log", raw=wrappers_pb2.BytesValue(value=b"+two"))
        )

    pfs.ModifyFile(append(), timeout=10)
    assert get(pfs, "/log") == b"one+two"
    put(pfs, head(), {"/log": b"fresh"})
    assert get(pfs, "/log") == b"fresh"


def test_modify_file_protocol_errors(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    add = pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path="/a", raw=wrappers_pb2.BytesValue(value=b"x")))
    code, details, _ = code_of(pfs.ModifyFile, iter([add]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "set_commit" in details
    twice = [pfs_pb2.ModifyFileRequest(set_commit=head()), pfs_pb2.ModifyFileRequest(set_commit=head())]
    code, _, _ = code_of(pfs.ModifyFile, iter(twice))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    bad_path = pfs_pb2.ModifyFileRequest(add_file=pfs_pb2.AddFile(path="/../etc", raw=wrappers_pb2.BytesValue()))
    code, _, reason = code_of(pfs.ModifyFile, iter([pfs_pb2.ModifyFileRequest(set_commit=head()), bad_path]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and reason == "INVALID_PATH"
    code, _, _ = code_of(pfs.ModifyFile, iter([pfs_pb2.ModifyFileRequest(set_commit=head("nope"))]))
    assert code == grpc.StatusCode.NOT_FOUND
    assert list(pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo()), timeout=10)) == []


def test_writing_a_finished_commit_is_failed_precondition(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    commit = pfs.StartCommit(pfs_pb2.StartCommitRequest(branch=branch()), timeout=10)
    pfs.FinishCommit(pfs_pb2.FinishCommitRequest(commit=commit), timeout=10)
    code, _, reason = code_of(pfs.ModifyFile, iter([pfs_pb2.ModifyFileRequest(set_commit=by_id(commit.id))]))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and reason == "COMMIT_FINISHED"


def test_cancelled_upload_leaves_the_commit_as_it_was(pfs: pfs_pb2_grpc.APIStub, server: RunningServer) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    put(pfs, head(), {"/a": b"1"})
    sent = threading.Event()

    def requests() -> Iterator[pfs_pb2.ModifyFileRequest]:
        yield pfs_pb2.ModifyFileRequest(set_commit=head())
        yield pfs_pb2.ModifyFileRequest(delete_file=pfs_pb2.DeleteFile(path="/a"))
        yield pfs_pb2.ModifyFileRequest(
            add_file=pfs_pb2.AddFile(path="/b", raw=wrappers_pb2.BytesValue(value=b"x" * MiB))
        )
        sent.set()
        time.sleep(30)  # the client gives up before the stream ends

    future = pfs.ModifyFile.future(requests(), timeout=30)
    assert sent.wait(10)
    time.sleep(0.3)
    future.cancel()
    with pytest.raises(grpc.FutureCancelledError):
        future.result()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(list(pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo())))) != 1:
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(list(pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo()), timeout=10))) == 1
    assert [f.file.path for f in pfs.ListFile(pfs_pb2.ListFileRequest(file=file("/")), timeout=10)] == ["/a"]


def test_list_walk_glob_diff_and_tar(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    put(pfs, head(), {"/a/1.txt": b"one", "/a/b/2.txt": b"two", "/c.csv": b"cee"})
    listed = list(pfs.ListFile(pfs_pb2.ListFileRequest(file=file("/")), timeout=10))
    assert [(f.file.path, f.file_type, f.size_bytes) for f in listed] == [
        ("/a/", pfs_pb2.DIR, 6),
        ("/c.csv", pfs_pb2.FILE, 3),
    ]
    page = list(
        pfs.ListFile(pfs_pb2.ListFileRequest(file=file("/"), paginationMarker=file("/a/"), number=5), timeout=10)
    )
    assert [f.file.path for f in page] == ["/c.csv"]
    walked = [f.file.path for f in pfs.WalkFile(pfs_pb2.WalkFileRequest(file=file("/a")), timeout=10)]
    assert walked == ["/a/", "/a/1.txt", "/a/b/", "/a/b/2.txt"]
    globbed = [f.file.path for f in pfs.GlobFile(pfs_pb2.GlobFileRequest(commit=head(), pattern="/**.txt"), timeout=10)]
    assert globbed == ["/a/1.txt", "/a/b/2.txt"]
    ranged = pfs_pb2.GlobFileRequest(commit=head(), pattern="/*", path_range=pfs_pb2.PathRange(lower="/b"))
    assert [f.file.path for f in pfs.GlobFile(ranged, timeout=10)] == ["/c.csv"]

    put(pfs, head(), {"/c.csv": b"CEE", "/new": b"n"})
    diffs = list(pfs.DiffFile(pfs_pb2.DiffFileRequest(new_file=file("/")), timeout=10))
    pairs = [(d.old_file.file.path or None, d.new_file.file.path or None) for d in diffs]
    assert pairs == [("/", "/"), ("/c.csv", "/c.csv"), (None, "/new")]

    data = b"".join(m.value for m in pfs.GetFileTAR(pfs_pb2.GetFileRequest(file=file("/a")), timeout=10))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["a", "a/1.txt", "a/b", "a/b/2.txt"]
        member = tar.extractfile("a/b/2.txt")
        assert member is not None and member.read() == b"two"
    code, _, reason = code_of(pfs.GetFile, pfs_pb2.GetFileRequest(file=file("/missing")))
    assert code == grpc.StatusCode.NOT_FOUND and reason == "FILE_NOT_FOUND"
    code, _, _ = code_of(pfs.GetFile, pfs_pb2.GetFileRequest(file=file("/a"), URL="s3://x/y"))
    assert code == grpc.StatusCode.UNIMPLEMENTED


def test_copy_file_between_repos(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo("src")), timeout=10)
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    put(pfs, head("src"), {"/d/x": b"X", "/d/y": b"Y"})
    copy = pfs_pb2.CopyFile(dst="/copied", src=pfs_pb2.File(commit=head("src"), path="/d"))
    pfs.ModifyFile(
        iter([pfs_pb2.ModifyFileRequest(set_commit=head()), pfs_pb2.ModifyFileRequest(copy_file=copy)]), timeout=10
    )
    assert get(pfs, "/copied/y") == b"Y"


# -- commits, waits, subscriptions ---------------------------------------------------------------


def test_start_finish_and_inspect_with_wait(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    commit = pfs.StartCommit(pfs_pb2.StartCommitRequest(branch=branch(), description="d"), timeout=10)
    assert len(commit.id) == 32 and commit.branch.name == "master"
    code, details, _ = code_of(pfs.StartCommit, pfs_pb2.StartCommitRequest(branch=branch()))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "has not been finished" in details
    threading.Timer(0.2, lambda: pfs.FinishCommit(pfs_pb2.FinishCommitRequest(commit=commit, error="oops"))).start()
    info = pfs.InspectCommit(pfs_pb2.InspectCommitRequest(commit=head(), wait=pfs_pb2.FINISHED), timeout=10)
    assert info.commit.id == commit.id and info.finished.seconds > 0
    assert info.error == "oops" and info.description == "d"
    code, _, reason = code_of(pfs.FinishCommit, pfs_pb2.FinishCommitRequest(commit=commit))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and reason == "COMMIT_FINISHED"
    second = pfs.StartCommit(pfs_pb2.StartCommitRequest(branch=branch()), timeout=10)
    parent = pfs.InspectCommit(pfs_pb2.InspectCommitRequest(commit=pfs_pb2.Commit(repo=repo(), id=second.id + "^")))
    assert parent.commit.id == commit.id
    assert (
        pfs.InspectCommit(pfs_pb2.InspectCommitRequest(commit=pfs_pb2.Commit(repo=repo(), id="master^"))).commit.id
        == commit.id
    )
    code, _, reason = code_of(
        pfs.InspectCommit, pfs_pb2.InspectCommitRequest(commit=pfs_pb2.Commit(repo=repo(), id="master^2"))
    )
    assert code == grpc.StatusCode.NOT_FOUND and reason == "COMMIT_NOT_FOUND"


def test_wait_frees_its_thread_when_the_client_gives_up(pfs: pfs_pb2_grpc.APIStub, server: RunningServer) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    pfs.StartCommit(pfs_pb2.StartCommitRequest(branch=branch()), timeout=10)
    baseline = server.deps.hub.subscriber_count()  # other parts of the server may watch too
    future = pfs.InspectCommit.future(pfs_pb2.InspectCommitRequest(commit=head(), wait=pfs_pb2.FINISHED), timeout=0.5)
    deadline = time.monotonic() + 5
    while server.deps.hub.subscriber_count() == baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.deps.hub.subscriber_count() == baseline + 1  # the waiter is registered
    with pytest.raises(grpc.RpcError) as err:
        future.result()
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while server.deps.hub.subscriber_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.deps.hub.subscriber_count() == baseline


def test_list_and_subscribe_commits(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    for i in range(3):
        put(pfs, head(), {f"/{i}": b"x"})
    ids = [c.commit.id for c in pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo()), timeout=10)]
    assert len(ids) == 3
    oldest = [c.commit.id for c in pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo(), reverse=True), timeout=10)]
    assert oldest == ids[::-1]
    two = pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo(), number=2), timeout=10)
    assert [c.commit.id for c in two] == ids[:2]
    ranged = pfs_pb2.ListCommitRequest(repo=repo(), to=head(), **{"from": by_id(ids[2])})
    assert [c.commit.id for c in pfs.ListCommit(ranged, timeout=10)] == ids[:2]
    before = timestamp_pb2.Timestamp()
    before.GetCurrentTime()
    assert len(list(pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo(), started_time=before), timeout=10))) == 3

    stream = pfs.SubscribeCommit(
        pfs_pb2.SubscribeCommitRequest(repo=repo(), branch="master", state=pfs_pb2.FINISHED), timeout=20
    )
    seen = [next(stream).commit.id for _ in range(3)]
    assert seen == ids[::-1]
    threading.Timer(0.2, lambda: put(pfs, head(), {"/later": b"y"})).start()
    later = next(stream)
    assert later.commit.id not in ids and later.finished.seconds > 0
    stream.cancel()


def test_commit_sets_squash_and_drop(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo()), timeout=10)
    for i in range(3):
        put(pfs, head(), {f"/{i}": b"x"})
    ids = [c.commit.id for c in pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo()), timeout=10)]
    sets = list(pfs.ListCommitSet(pfs_pb2.ListCommitSetRequest(), timeout=10))
    assert [s.commit_set.id for s in sets] == ids
    members = list(
        pfs.InspectCommitSet(pfs_pb2.InspectCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=ids[1]), wait=True))
    )
    assert [m.commit.id for m in members] == [ids[1]]
    code, _, _ = code_of(pfs.DropCommitSet, pfs_pb2.DropCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=ids[1])))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    pfs.SquashCommitSet(pfs_pb2.SquashCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=ids[1])), timeout=10)
    pfs.DropCommitSet(pfs_pb2.DropCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=ids[0])), timeout=10)
    remaining = [c.commit.id for c in pfs.ListCommit(pfs_pb2.ListCommitRequest(repo=repo()), timeout=10)]
    assert remaining == [ids[2]]
    assert [f.file.path for f in pfs.ListFile(pfs_pb2.ListFileRequest(file=file("/")), timeout=10)] == ["/0"]
    code, _, _ = code_of(pfs.InspectCommitSet, pfs_pb2.InspectCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=ids[0])))
    assert code == grpc.StatusCode.NOT_FOUND


# -- branches ------------------------------------------------------------------------------------


def test_branches_and_provenance(pfs: pfs_pb2_grpc.APIStub) -> None:
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo("input")), timeout=10)
    pfs.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo("out")), timeout=10)
    pfs.CreateBranch(
        pfs_pb2.CreateBranchRequest(branch=branch("master", "out"), provenance=[branch("master", "input")]), timeout=10
    )
    info = pfs.InspectBranch(pfs_pb2.InspectBranchRequest(branch=branch("master", "out")), timeout=10)
    assert [b.repo.name for b in info.direct_provenance] == ["input"]
    assert info.head.id
    pfs.FinishCommit(pfs_pb2.FinishCommitRequest(commit=head("out")), timeout=10)
    started = pfs.StartCommit(pfs_pb2.StartCommitRequest(branch=branch("master", "input")), timeout=10)
    out_head = pfs.InspectCommit(pfs_pb2.InspectCommitRequest(commit=head("out")), timeout=10)
    assert out_head.commit.id == started.id and out_head.origin.kind == pfs_pb2.AUTO
    assert [c.id for c in out_head.direct_provenance] == [started.id]
    set_members = pfs.InspectCommitSet(pfs_pb2.InspectCommitSetRequest(commit_set=pfs_pb2.CommitSet(id=started.id)))
    assert [m.commit.repo.name for m in set_members] == ["input", "out"]
    code, _, reason = code_of(pfs.StartCommit, pfs_pb2.StartCommitRequest(branch=branch("master", "out")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and reason == "COMMIT_ON_OUTPUT_BRANCH"

    pfs.CreateBranch(
        pfs_pb2.CreateBranchRequest(branch=branch("dev", "input"), head=by_id(started.id, "input")), timeout=10
    )
    names = [b.branch.name for b in pfs.ListBranch(pfs_pb2.ListBranchRequest(repo=repo("input")), timeout=10)]
    assert names == ["dev", "master"]
    pfs.DeleteBranch(pfs_pb2.DeleteBranchRequest(branch=branch("dev", "input")), timeout=10)
    code, details, _ = code_of(pfs.InspectBranch, pfs_pb2.InspectBranchRequest(branch=branch("dev", "input")))
    assert code == grpc.StatusCode.NOT_FOUND and details == 'branch "dev" not found in repo default/input'
    code, _, _ = code_of(pfs.DeleteBranch, pfs_pb2.DeleteBranchRequest(branch=branch("master", "input")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    code, _, _ = code_of(
        pfs.CreateBranch,
        pfs_pb2.CreateBranchRequest(branch=branch("x", "input"), trigger=pfs_pb2.Trigger(branch="master")),
    )
    assert code == grpc.StatusCode.UNIMPLEMENTED
