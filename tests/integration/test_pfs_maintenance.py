"""FindCommits, ClearCommit, SquashCommit, DropCommit, the provenance walks, ReposSummary, Fsck,
Egress and PipelinesSummary through a real server with the tusk client, pachd's texts included."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest

import tusk
from tests.conftest import RunningServer
from tusk import errors
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tusk.proto.pps_v2 import pps_pb2

pytestmark = pytest.mark.timeout(60)


def put(client: tusk.Client, repo: str, path: str, data: bytes) -> str:
    """Write one file in a commit of its own on ``repo@master``; the commit's ID."""
    commit = client.pfs.start_commit(f"{repo}@master")
    client.pfs.put_file(f"{repo}@{commit.id}", path, data)
    client.pfs.finish_commit(f"{repo}@{commit.id}")
    return commit.id


def delete(client: tusk.Client, repo: str, path: str) -> str:
    commit = client.pfs.start_commit(f"{repo}@master")
    client.pfs.delete_file(f"{repo}@{commit.id}", path)
    client.pfs.finish_commit(f"{repo}@{commit.id}")
    return commit.id


def found(responses: list[pfs_pb2.FindCommitsResponse]) -> list[tuple[str, int]]:
    return [
        (r.found_commit.id if r.HasField("found_commit") else "last:" + r.last_searched_commit.id, r.commits_searched)
        for r in responses
    ]


# -- FindCommits -----------------------------------------------------------------------------------


def test_find_commits_names_each_commit_that_wrote_or_deleted_the_path(client: tusk.Client) -> None:
    client.pfs.create_repo("r")
    c1 = put(client, "r", "/a", b"1")
    put(client, "r", "/b", b"2")
    c3 = put(client, "r", "/a", b"3")
    c4 = delete(client, "r", "/a")

    assert found(list(client.pfs.find_commits("r@master", "/a"))) == [(c4, 0), (c3, 1), (c1, 3), ("last:" + c1, 4)]
    assert found(list(client.pfs.find_commits("r@master", "a", limit=1))) == [(c4, 0), ("last:" + c4, 1)]
    # Writing the content a file already had still counts, as in pachd (it is in the commit's diff).
    c5 = put(client, "r", "/b", b"2")
    assert found(list(client.pfs.find_commits("r@master", "/b", limit=1))) == [(c5, 0), ("last:" + c5, 1)]
    # Only exact paths: a directory or a prefix is no hit.
    assert found(list(client.pfs.find_commits(f"r@{c3}", "/"))) == [("last:" + c1, 3)]


def test_find_commits_refuses_an_open_commit_and_a_missing_repo(client: tusk.Client) -> None:
    client.pfs.create_repo("r")
    put(client, "r", "/a", b"1")
    open_commit = client.pfs.start_commit("r@master")
    with pytest.raises(errors.Unavailable, match=f"^commit default/r@{open_commit.id} not finished$"):
        list(client.pfs.find_commits("r@master", "/a"))
    with pytest.raises(errors.NotFound):
        list(client.pfs.find_commits("nope@master", "/a"))


# -- ClearCommit -----------------------------------------------------------------------------------


def test_clear_commit_empties_an_open_commit_only(client: tusk.Client) -> None:
    client.pfs.create_repo("r")
    put(client, "r", "/kept", b"k")
    commit = client.pfs.start_commit("r@master")
    client.pfs.put_file(f"r@{commit.id}", "/a", b"aaa")
    client.pfs.delete_file(f"r@{commit.id}", "/kept")
    client.pfs.clear_commit(f"r@{commit.id}")
    client.pfs.finish_commit(f"r@{commit.id}")
    assert [f.file.path for f in client.pfs.list_file("r@master", "/")] == ["/kept"]

    with pytest.raises(errors.FailedPrecondition, match=r"^cannot clear finished commit$"):
        client.pfs.clear_commit("r@master")


# -- SquashCommit / DropCommit ---------------------------------------------------------------------


def test_squash_commit_keeps_its_changes_in_the_child(client: tusk.Client) -> None:
    client.pfs.create_repo("r")
    c1 = put(client, "r", "/a", b"1")
    c2 = put(client, "r", "/b", b"2")
    client.pfs.squash_commit(f"r@{c1}")
    assert [c.commit.id for c in client.pfs.list_commit("r")] == [c2]
    assert client.pfs.get_file_bytes("r@master", "/a") == b"1"
    # The child now carries the squashed changes: FindCommits sees /a written in c2.
    assert found(list(client.pfs.find_commits("r@master", "/a"))) == [(c2, 0), ("last:" + c2, 1)]

    with pytest.raises(errors.FailedPrecondition) as info:
        client.pfs.squash_commit(f"r@{c2}")
    assert str(info.value) == (
        "cannot squash a commit that has no children as that would cause data loss, "
        f"use the drop operation instead: default/r@{c2}"
    )


def test_drop_commit_removes_a_head_and_refuses_a_commit_with_children(client: tusk.Client) -> None:
    client.pfs.create_repo("r")
    c1 = put(client, "r", "/a", b"1")
    c2 = put(client, "r", "/b", b"2")
    with pytest.raises(errors.FailedPrecondition, match=f"^cannot drop a commit that has children: default/r@{c1}$"):
        client.pfs.drop_commit(f"r@{c1}")
    client.pfs.drop_commit(f"r@{c2}")
    assert [c.commit.id for c in client.pfs.list_commit("r")] == [c1]
    assert [f.file.path for f in client.pfs.list_file("r@master", "/")] == ["/a"]
    with pytest.raises(errors.NotFound):
        client.pfs.drop_commit(f"r@{c2}")


def _chain(client: tusk.Client) -> str:
    """Repos a -> b -> c by branch provenance, then one commit to a (propagated to b and c)."""
    for name in ("a", "b", "c"):
        client.pfs.create_repo(name)
    client.pfs.create_branch("b@master", provenance=["a@master"])
    client.pfs.create_branch("c@master", provenance=["b@master"])
    set_id = put(client, "a", "/x", b"x")
    client.pfs.finish_commit(f"b@{set_id}")
    client.pfs.finish_commit(f"c@{set_id}")
    return set_id


def test_drop_and_squash_with_subvenance_need_recursive(client: tusk.Client) -> None:
    set_id = _chain(client)
    with pytest.raises(errors.FailedPrecondition) as info:
        client.pfs.drop_commit(f"a@{set_id}")
    assert str(info.value) == f"cannot drop commit (default/a@{set_id}) with subvenance without recursive"
    with pytest.raises(errors.FailedPrecondition, match=r"^cannot squash commit \(default/a@"):
        client.pfs.squash_commit(f"a@{set_id}")

    client.pfs.drop_commit(f"a@{set_id}", recursive=True)
    for repo in ("a", "b", "c"):
        assert set_id not in [c.commit.id for c in client.pfs.list_commit(repo)]


def test_dropping_an_output_commit_stops_its_running_job(client: tusk.Client) -> None:
    client.pfs.create_repo("in")
    client.pps.create_pipeline(_spec("slow", ["sleep", "600"]))
    set_id = put(client, "in", "/a", b"x")
    deadline = time.monotonic() + 30
    while client.pps.inspect_job(f"slow@{set_id}").state != pps_pb2.JOB_RUNNING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)

    client.pfs.drop_commit(f"in@{set_id}", recursive=True)
    assert set_id not in [c.commit.id for c in client.pfs.list_commit("slow")]
    job = client.pps.inspect_job(f"slow@{set_id}")
    assert job.state == pps_pb2.JOB_KILLED
    assert job.reason == "output commit deleted"


# -- walks -----------------------------------------------------------------------------------------


def test_commit_walks_go_nearest_first_within_the_limits(client: tusk.Client) -> None:
    set_id = _chain(client)

    def repos(infos: object) -> list[str]:
        return [i.commit.repo.name for i in infos]  # type: ignore[attr-defined]

    assert repos(client.pfs.walk_commit_provenance([f"c@{set_id}"])) == ["b", "a"]
    assert repos(client.pfs.walk_commit_provenance(["c@master"], max_depth=1)) == ["b"]
    assert repos(client.pfs.walk_commit_subvenance([f"a@{set_id}"])) == ["b", "c"]
    assert repos(client.pfs.walk_commit_subvenance([f"a@{set_id}"], max_commits=1)) == ["b"]
    assert repos(client.pfs.walk_commit_subvenance([f"a@{set_id}", f"b@{set_id}"])) == ["b", "c", "c"]
    assert all(i.commit.id == set_id for i in client.pfs.walk_commit_provenance([f"c@{set_id}"]))
    with pytest.raises(errors.NotFound):
        list(client.pfs.walk_commit_provenance(["nope@master"]))


def test_branch_walks_follow_branch_provenance(client: tusk.Client) -> None:
    _chain(client)

    def names(infos: object) -> list[str]:
        return [f"{i.branch.repo.name}@{i.branch.name}" for i in infos]  # type: ignore[attr-defined]

    assert names(client.pfs.walk_branch_provenance(["c@master"])) == ["b@master", "a@master"]
    assert names(client.pfs.walk_branch_subvenance(["a@master"], max_depth=1)) == ["b@master"]
    assert names(client.pfs.walk_branch_subvenance(["a@master"], max_branches=5)) == ["b@master", "c@master"]
    assert names(client.pfs.walk_branch_provenance(["a@master"])) == []
    with pytest.raises(errors.NotFound):
        list(client.pfs.walk_branch_provenance(["a@dev"]))


def test_walks_refuse_an_empty_picker(client: tusk.Client) -> None:
    stub = pfs_pb2_grpc.APIStub(client.channel)
    request = pfs_pb2.WalkCommitProvenanceRequest(start=[pfs_pb2.CommitPicker()])
    with pytest.raises(grpc.RpcError) as info:
        list(stub.WalkCommitProvenance(request, timeout=10))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "the commit picker is empty"


# -- ReposSummary ----------------------------------------------------------------------------------


def test_repos_summary_counts_user_repos_of_the_projects_asked(client: tusk.Client) -> None:
    client.pfs.create_repo("r1")
    client.pfs.create_repo("r2")
    put(client, "r1", "/a", b"12345")
    stub = pfs_pb2_grpc.APIStub(client.channel)
    stub.CreateProject(pfs_pb2.CreateProjectRequest(project=pfs_pb2.Project(name="p")), timeout=10)
    stub.CreateProject(pfs_pb2.CreateProjectRequest(project=pfs_pb2.Project(name="empty")), timeout=10)
    client.pfs.create_repo("p/q")
    put(client, "p/q", "/b", b"xy")

    summaries = client.pfs.repos_summary(["p", "empty", "default", "missing"])
    assert [(s.project.name, s.user_repo_count, s.size_bytes) for s in summaries] == [("p", 1, 2), ("default", 2, 5)]
    assert client.pfs.repos_summary([]) == []  # pachd answers nothing when asked about nothing
    assert [s.project.name for s in client.pfs.repos_summary(["p", "p"])] == ["p", "p"]  # as pachd

    with pytest.raises(grpc.RpcError) as info:
        stub.ReposSummary(pfs_pb2.ReposSummaryRequest(projects=[pfs_pb2.ProjectPicker()]), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "project picker is of an unknown type: <nil>"


# -- Fsck ------------------------------------------------------------------------------------------


def _blob_file(server: RunningServer, content: bytes) -> Path:
    import hashlib

    name = hashlib.sha256(content).hexdigest()
    matches = list((server.config.data_dir / "blobs").rglob(name))
    assert len(matches) == 1, matches
    return matches[0]


def test_fsck_reports_corrupt_and_missing_blobs(server: RunningServer, client: tusk.Client) -> None:
    client.pfs.create_repo("r")
    put(client, "r", "/good", b"good content")
    c2 = put(client, "r", "/bad", b"bad content")
    put(client, "r", "/gone", b"gone content")
    assert list(client.pfs.fsck()) == []

    bad = _blob_file(server, b"bad content")
    os.chmod(bad, 0o644)
    bad.write_bytes(b"BAD content")  # same length, other bytes
    gone = _blob_file(server, b"gone content")
    gone.unlink()

    problems = list(client.pfs.fsck())
    assert len(problems) == 2, problems
    corrupt = next(p for p in problems if bad.name in p)
    assert corrupt.startswith(f"consistency error: blob {bad.name} (file /bad in commit default/r@{c2}) is corrupt")
    missing = next(p for p in problems if gone.name in p)
    assert missing.endswith("is missing from the blob store")


def test_fsck_refuses_fix_and_the_zombie_check(client: tusk.Client) -> None:
    with pytest.raises(errors.InvalidArgument, match=r"^Fsck cannot fix anything in tusk"):
        list(client.pfs.fsck(fix=True))
    stub = pfs_pb2_grpc.APIStub(client.channel)
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Fsck(pfs_pb2.FsckRequest(zombie_all=True), timeout=10))
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "zombie" in (info.value.details() or "")


# -- Egress ----------------------------------------------------------------------------------------


def test_egress_copies_a_commit_to_a_file_url(make_server: object, tmp_path: Path) -> None:
    client = make_server(file_url_dirs=(tmp_path,)).client()  # type: ignore[operator]
    client.pfs.create_repo("r")
    put(client, "r", "/a.txt", b"hello")
    put(client, "r", "/dir/b.txt", b"world!")
    out = tmp_path / "out"
    assert client.pfs.egress("r@master", f"file://{out}") == 11
    assert (out / "a.txt").read_bytes() == b"hello"
    assert (out / "dir" / "b.txt").read_bytes() == b"world!"


def test_egress_answers_clearly_for_what_it_cannot_do(make_server: object, tmp_path: Path) -> None:
    client = make_server(file_url_dirs=(Path("/"),)).client()  # type: ignore[operator]
    client.pfs.create_repo("r")
    put(client, "r", "/a.txt", b"hello")
    with pytest.raises(errors.Unimplemented, match=r"^Egress to s3:// URLs is not supported by tusk"):
        client.pfs.egress("r@master", "s3://bucket/dir")
    with pytest.raises(errors.InvalidArgument, match="the path must be absolute"):
        client.pfs.egress("r@master", "file:relative/dir")
    with pytest.raises(errors.InvalidArgument, match="only file:// URLs are supported"):
        client.pfs.egress("r@master", "/no/scheme")
    with pytest.raises(errors.NotFound):
        client.pfs.egress("nope@master", "file:///tmp/x")

    stub = pfs_pb2_grpc.APIStub(client.channel)
    commit = pfs_pb2.Commit(repo=pfs_pb2.Repo(name="r"), id="")
    commit.branch.name = "master"
    sql = pfs_pb2.EgressRequest(commit=commit, sql_database=pfs_pb2.SQLDatabaseEgress(url="postgres://db/x"))
    with pytest.raises(grpc.RpcError) as info:
        stub.Egress(sql, timeout=10)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert (info.value.details() or "").startswith("Egress to a SQL database is not supported by tusk")
    with pytest.raises(grpc.RpcError) as info:
        stub.Egress(pfs_pb2.EgressRequest(commit=commit), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith("egress failed")


def test_egress_never_writes_into_the_data_directory(make_server: object, tmp_path: Path) -> None:
    server: RunningServer = make_server(file_url_dirs=(tmp_path,))  # type: ignore[operator]
    client = server.client()
    data_dir = server.config.data_dir
    client.pfs.create_repo("r")
    put(client, "r", "/metadata.db", b"overwritten")
    before = (data_dir / "metadata.db").stat().st_size
    for target in (data_dir, data_dir / "blobs", data_dir.parent / "x" / ".." / data_dir.name):
        with pytest.raises(errors.InvalidArgument, match="would write into the server's data directory"):
            client.pfs.egress("r@master", f"file://{target}")
    put(client, "r", f"/{data_dir.name}/metadata.db", b"overwritten")
    with pytest.raises(errors.InvalidArgument, match="would write into the server's data directory"):
        client.pfs.egress("r@master", f"file://{data_dir.parent}")
    assert (data_dir / "metadata.db").stat().st_size == before
    assert client.pfs.list_repo()  # the server is unharmed


def test_egress_writes_only_under_allowed_directories(make_server: object, tmp_path: Path) -> None:
    closed = make_server()  # type: ignore[operator]  # no --file-url-dir: every file:// URL is refused
    with closed.client() as client:
        client.pfs.create_repo("r")
        put(client, "r", "/a.txt", b"hello")
        with pytest.raises(errors.InvalidArgument, match=r"^file:// URLs are disabled on this server"):
            client.pfs.egress("r@master", f"file://{tmp_path / 'out'}")
    assert not (tmp_path / "out").exists()


def test_egress_refuses_a_directory_outside_the_allowed_ones(make_server: object, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    running = make_server(file_url_dirs=(allowed,), data_dir=tmp_path / "data2")  # type: ignore[operator]
    with running.client() as client:
        client.pfs.create_repo("r")
        put(client, "r", "/a.txt", b"hello")
        with pytest.raises(errors.InvalidArgument, match="is not under a directory this server allows"):
            client.pfs.egress("r@master", f"file://{tmp_path / 'elsewhere'}")
        assert client.pfs.egress("r@master", f"file://{allowed / 'out'}") == 5
    assert not (tmp_path / "elsewhere").exists()


# -- PipelinesSummary ------------------------------------------------------------------------------


def _spec(name: str, cmd: list[str]) -> dict[str, object]:
    return {"pipeline": {"name": name}, "transform": {"cmd": cmd}, "input": {"pfs": {"repo": "in", "glob": "/*"}}}


def test_pipelines_summary_counts_states_and_unhealthy_last_jobs(client: tusk.Client) -> None:
    client.pfs.create_repo("in")
    client.pps.create_pipeline(_spec("ok", ["true"]))
    client.pps.create_pipeline(_spec("bad", ["false"]))
    client.pps.create_pipeline(_spec("paused", ["true"]))
    put(client, "in", "/a", b"x")
    for name in ("ok", "bad", "paused"):
        for job in client.pps.list_job(name):
            client.pps.inspect_job(job.job, wait=True, timeout=30)
    client.pps.stop_pipeline("paused")

    summaries = client.pps.pipelines_summary()
    assert [(s.project.name, s.active_pipelines, s.paused_pipelines, s.failed_pipelines, s.unhealthy_pipelines) for s in summaries] == [
        ("default", 2, 1, 0, 1)
    ]
    assert client.pps.pipelines_summary(["missing"]) == []
    assert isinstance(summaries[0], pps_pb2.PipelinesSummary)
