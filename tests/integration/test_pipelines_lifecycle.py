"""Stopping, starting, rerunning and deleting pipelines through a real server and the real
client, and pipelines across a restart (helpers: test_pipelines.py)."""

from __future__ import annotations

import pytest

import tusk
from tests.conftest import RunningServer, start_server, stop_server
from tests.integration.test_pipelines import job, jobs_in_set, jobs_of, make_repo, put, spec
from tusk import errors
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tuskd.config import ServerConfig
from tuskd.domain.errors import FailedPrecondition
from tuskd.domain.errors import NotFound as DomainNotFound
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, CommitRef, RepoKey
from tuskd.domain.states import JobState

pytestmark = pytest.mark.timeout(60)


# -- stop, start, rerun ---------------------------------------------------------------------


def test_stopped_pipeline_creates_no_job_until_started(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("montage", repo="edges"))
    client.pps.stop_pipeline("edges")
    info = client.pps.inspect_pipeline("edges")
    assert info.stopped and info.state == pps_pb2.PIPELINE_PAUSED
    set_id = put(server, "images", "/a")
    assert [j.key.pipeline for j in jobs_in_set(server, set_id)] == ["montage"]  # downstream waits
    client.pps.stop_pipeline("edges")  # no-op
    client.pps.start_pipeline("edges")
    assert sorted(j.key.pipeline for j in jobs_in_set(server, set_id)) == ["edges", "montage"]
    info = client.pps.inspect_pipeline("edges")
    assert not info.stopped and info.state != pps_pb2.PIPELINE_PAUSED
    client.pps.start_pipeline("edges")  # no-op
    assert len(jobs_of(server, "edges")) == 2


def test_stop_kills_unfinished_jobs(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges", cmd=["sleep", "30"]))
    set_id = put(server, "images", "/a")
    client.pps.stop_pipeline("edges")
    killed = job(server, JobKey("default", "edges", set_id))
    assert (killed.state, killed.reason) == (JobState.JOB_KILLED, "pipeline stopped")


def test_stop_and_start_of_missing_pipelines(client: tusk.Client) -> None:
    with pytest.raises(errors.NotFound):
        client.pps.stop_pipeline("nope")
    client.pps.stop_pipeline("nope", must_exist=False)
    with pytest.raises(errors.NotFound):
        client.pps.start_pipeline("nope")
    with pytest.raises(errors.NotFound):
        client.pps.rerun_pipeline("nope")


def test_rerun_creates_a_job_with_the_same_version(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    salt = client.pps.inspect_pipeline("edges").details.salt
    client.pps.rerun_pipeline("edges")
    jobs = jobs_of(server, "edges")
    assert [j.pipeline_version for j in jobs] == [1, 1]
    assert jobs[0].key.id != jobs[1].key.id
    info = client.pps.inspect_pipeline("edges")
    assert (info.version, info.details.salt) == (1, salt)


def test_rerun_with_reprocess_renews_the_salt(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    salt = client.pps.inspect_pipeline("edges").details.salt
    client.pps.rerun_pipeline("edges", reprocess=True)
    info = client.pps.inspect_pipeline("edges")
    assert info.version == 2 and info.details.salt != salt
    assert [j.pipeline_version for j in jobs_of(server, "edges")] == [1, 2]


def test_rerun_of_a_stopped_pipeline_waits_for_start(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.stop_pipeline("edges")
    client.pps.rerun_pipeline("edges")
    assert len(jobs_of(server, "edges")) == 1
    client.pps.start_pipeline("edges")
    assert len(jobs_of(server, "edges")) == 2


# -- delete ---------------------------------------------------------------------------------


def test_delete_pipeline_removes_its_repos_and_jobs(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges", cmd=["sleep", "30"]))
    set_id = put(server, "images", "/a")
    client.pps.delete_pipeline("edges")
    with pytest.raises(errors.NotFound):
        client.pps.inspect_pipeline("edges")
    for repo in (RepoKey.of("edges"), RepoKey.of("edges", type="spec")):
        with pytest.raises(DomainNotFound):
            server.deps.pfs.inspect_repo(repo)
    assert jobs_of(server, "edges") == []
    assert jobs_in_set(server, set_id) == []
    put(server, "images", "/b")  # the input repo is free again
    client.pps.create_pipeline(spec("edges"))  # and the name can be reused
    assert len(jobs_of(server, "edges")) == 1


def test_delete_with_keep_repo(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.delete_pipeline("edges", keep_repo=True)
    branch = server.deps.pfs.inspect_branch(BranchKey(RepoKey.of("edges"), "master"))
    assert branch.direct_provenance == ()
    put(server, "images", "/a")  # the kept repo no longer follows its input
    assert len(list(server.deps.pfs.list_commits(RepoKey.of("edges")))) == 1


def test_delete_with_keep_repo_finishes_commits_opened_while_stopped(
    server: RunningServer, client: tusk.Client
) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.stop_pipeline("edges")
    set_id = put(server, "images", "/a")
    client.pps.delete_pipeline("edges", keep_repo=True)
    out = server.deps.pfs.inspect_commit(CommitRef(RepoKey.of("edges"), id=set_id))
    assert out.finished is not None and out.error == "pipeline deleted"


def test_delete_of_a_pipeline_others_read_needs_force(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("montage", repo="edges"))
    with pytest.raises(errors.FailedPrecondition, match="in the provenance of montage@master"):
        client.pps.delete_pipeline("edges")
    assert client.pps.inspect_pipeline("edges").version == 1  # nothing changed
    client.pps.delete_pipeline("edges", force=True)
    assert [i.pipeline.name for i in client.pps.list_pipeline()] == ["montage"]


def test_delete_all_goes_downstream_first(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("montage", repo="edges"))
    client.pps.delete_pipeline(all=True)
    assert client.pps.list_pipeline() == []


def test_delete_missing_pipeline(client: tusk.Client) -> None:
    with pytest.raises(errors.NotFound):
        client.pps.delete_pipeline("nope")
    client.pps.delete_pipeline("nope", must_exist=False)
    with pytest.raises(errors.InvalidArgument):
        client.pps.delete_pipeline()


def test_output_and_spec_repos_cannot_be_deleted_while_the_pipeline_exists(
    server: RunningServer, client: tusk.Client
) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    with pytest.raises(FailedPrecondition, match='output repo of pipeline "edges"; delete the pipeline instead'):
        server.deps.pfs.delete_repo(RepoKey.of("edges"))
    with pytest.raises(FailedPrecondition):  # PFS refuses first: the output branch follows it
        server.deps.pfs.delete_repo(RepoKey.of("edges", type="spec"))
    client.pps.inspect_pipeline("edges")


# -- restart --------------------------------------------------------------------------------


def test_pipelines_survive_a_restart(server_config: ServerConfig) -> None:
    first = start_server(server_config)
    try:
        make_repo(first)
        with first.client() as c:
            c.pps.create_pipeline(spec("edges"))
    finally:
        stop_server(first)
    second = start_server(server_config)
    try:
        with second.client() as c:
            assert c.pps.inspect_pipeline("edges").version == 1
        set_id = put(second, "images", "/a")
        assert [j.key.pipeline for j in jobs_in_set(second, set_id)] == ["edges"]
    finally:
        stop_server(second)


def test_pps_delete_all_removes_every_pipeline_and_its_output(client: tusk.Client) -> None:
    from google.protobuf import empty_pb2

    client.pfs.stub.CreateRepo(pfs_pb2.CreateRepoRequest(repo=pfs_pb2.Repo(name="images")))
    for name, source in (("a", "images"), ("b", "a")):
        client.pps.create_pipeline(
            {
                "pipeline": {"name": name},
                "transform": {"cmd": ["true"]},
                "input": {"pfs": {"repo": source, "glob": "/"}},
            }
        )
    assert {p.pipeline.name for p in client.pps.list_pipeline()} == {"a", "b"}
    client.pps.stub.DeleteAll(empty_pb2.Empty())
    assert list(client.pps.list_pipeline()) == []
    repos = {r.repo.name for r in client.pfs.stub.ListRepo(pfs_pb2.ListRepoRequest())}
    assert repos == {"images"}
