"""Pipelines through a real server and the real client: create, inspect, list, update, delete,
stop, start, rerun, and the jobs that commits create (ids, versions, one per pipeline of a DAG).

Repos and commits are made with the server's own PfsService (the PFS client API is not what is
under test here); everything about pipelines goes over gRPC.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format

import tusk
from tests.conftest import RunningServer
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import NotFound as DomainNotFound
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.pfs import BranchKey, CommitRef, OriginKind, RepoKey
from tuskd.domain.states import JobState
from tuskd.store.pps import JobQuery

pytestmark = pytest.mark.timeout(60)


def spec(name: str, repo: str = "images", cmd: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "transform": {"cmd": ["true"] if cmd is None else cmd},
        "input": {"pfs": {"repo": repo, "glob": "/*"}},
        **extra,
    }


def make_repo(server: RunningServer, name: str = "images") -> RepoKey:
    repo = RepoKey.of(name)
    server.deps.pfs.create_repo(repo)
    return repo


def put(server: RunningServer, repo: str, path: str, data: bytes = b"x") -> str:
    """Write a file to ``repo@master`` in its own commit; return the commit set's ID."""
    info = server.deps.pfs.put_file(CommitRef(RepoKey.of(repo), branch="master"), path, [data])
    return info.commit.id


def jobs_of(server: RunningServer, pipeline: str) -> list[Job]:
    return [r.job for r in server.deps.jobs.list(JobQuery(pipeline=pipeline, newest_first=False))]


def jobs_in_set(server: RunningServer, set_id: str) -> list[Job]:
    return [r.job for r in server.deps.jobs.list(JobQuery(set_ids=[set_id], newest_first=False))]


def job(server: RunningServer, key: JobKey) -> Job:
    return server.deps.jobs.get(key).job


# -- create, inspect ------------------------------------------------------------------------


def test_create_over_a_repo_without_commits_creates_one_job(server: RunningServer, client: tusk.Client) -> None:
    """The seed's ``create repo images; create pipeline edges``: one job, the zero-datum one."""
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    jobs = jobs_of(server, "edges")
    assert len(jobs) == 1
    only = jobs[0]
    assert (only.pipeline_version, only.output_repo, only.output_branch) == (1, "edges", "master")
    # The job ID is the commit set of the output commit and of the empty input commit made for it.
    pfs = server.deps.pfs
    output = pfs.inspect_commit(CommitRef(RepoKey.of("edges"), id=only.key.id))
    assert output.origin is OriginKind.AUTO and output.commit.branch == "master"
    head = pfs.inspect_branch(BranchKey(RepoKey.of("images"), "master")).head
    assert head is not None and head.id == only.key.id


def test_create_over_a_repo_with_a_head_creates_one_job_for_that_head(
    server: RunningServer, client: tusk.Client
) -> None:
    make_repo(server)
    put(server, "images", "/a.png")
    head_set = put(server, "images", "/b.png")
    client.pps.create_pipeline(spec("edges"))
    jobs = jobs_of(server, "edges")
    assert len(jobs) == 1
    output = server.deps.pfs.inspect_commit(CommitRef(RepoKey.of("edges"), id=jobs[0].key.id))
    provenance = {(c.repo.name, c.id) for c in output.direct_provenance}
    assert ("images", head_set) in provenance


def test_inspect_pipeline(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(
        spec("edges", cmd=["python3", "/edges.py"], description="edge detection", datum_timeout="30s", datum_tries=2)
    )
    info = client.pps.inspect_pipeline("edges")
    assert info.pipeline.name == "edges"
    assert info.version == 1
    assert info.type == pps_pb2.PipelineInfo.PIPELINE_TYPE_TRANSFORM
    assert not info.stopped
    assert info.state == pps_pb2.PIPELINE_RUNNING
    assert info.last_job_state != pps_pb2.JOB_STATE_UNKNOWN  # the creation job
    d = info.details
    assert list(d.transform.cmd) == ["python3", "/edges.py"]
    assert d.description == "edge detection"
    assert d.datum_timeout.seconds == 30 and d.datum_tries == 2
    assert d.output_branch == "master" and d.reprocess_spec == "until_success"
    assert len(d.salt) == 32
    assert json_format.MessageToDict(d.input, preserving_proto_field_name=True) == {
        "pfs": {"name": "images", "repo": "images", "repo_type": "user", "branch": "master", "glob": "/*"}
    }
    assert d.HasField("created_at") and d.HasField("updated_at")
    assert info.spec_commit.branch.repo.type == "spec" and len(info.spec_commit.id) == 32
    assert json.loads(info.user_spec_json)["pipeline"] == {"name": "edges"}
    assert json.loads(info.effective_spec_json)["salt"] == d.salt
    # Without details, no details (as Pachyderm).
    assert not client.pps.inspect_pipeline("edges", details=False).HasField("details")


def test_idle_autoscaling_pipeline_is_standby(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges", cmd=["sleep", "30"], autoscaling=True))
    put(server, "images", "/a")
    assert client.pps.inspect_pipeline("edges").state == pps_pb2.PIPELINE_RUNNING  # a job is unfinished
    client.pps.stop_pipeline("edges")
    client.pps.start_pipeline("edges")  # the killed job stays killed: nothing left to do
    info = client.pps.inspect_pipeline("edges")
    assert info.state == pps_pb2.PIPELINE_STANDBY and info.details.autoscaling
    assert info.last_job_state == pps_pb2.JOB_KILLED


def test_output_repo_and_spec_repo_are_created(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    out = server.deps.pfs.inspect_repo(RepoKey.of("edges"))
    assert out.description == "Output repo for pipeline edges."
    branch = server.deps.pfs.inspect_branch(BranchKey(RepoKey.of("edges"), "master"))
    assert {str(b) for b in branch.direct_provenance} == {"images@master", "edges.spec@master"}


def test_custom_output_branch(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges", output_branch="out"))
    set_id = put(server, "images", "/a")
    (_created, second) = jobs_of(server, "edges")
    assert second.key.id == set_id and second.output_branch == "out"
    server.deps.pfs.inspect_commit(CommitRef(RepoKey.of("edges"), branch="out"))


def test_unknown_input_repo_is_not_found(server: RunningServer, client: tusk.Client) -> None:
    with pytest.raises(errors.NotFound) as info:
        client.pps.create_pipeline(spec("edges", repo="nope"))
    assert info.value.message == 'repo default/nope not found'
    with pytest.raises(errors.NotFound):
        client.pps.inspect_pipeline("edges")
    with pytest.raises(DomainNotFound):  # nothing was left behind
        server.deps.pfs.inspect_repo(RepoKey.of("edges"))


def test_duplicate_pipeline_is_already_exists(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    with pytest.raises(errors.AlreadyExists) as info:
        client.pps.create_pipeline(spec("edges"))
    assert info.value.message == 'pipeline "default/edges" already exists'
    assert len(jobs_of(server, "edges")) == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"transform": {"cmd": ["x"]}, "input": {"pfs": {"repo": "images", "glob": "/"}}},
            "request.Pipeline cannot be nil",
        ),
        (spec("bad name"), "invalid pipeline name: name (bad name) invalid"),
        (spec("p", cmd=[]), "transform.cmd cannot be empty"),
        ({**spec("p"), "input": {"pfs": {"glob": "/*"}}}, "input must specify a repo"),
        ({**spec("p"), "input": {"pfs": {"repo": "images"}}}, "input must specify a glob"),
        ({**spec("p"), "input": {}}, "no input set"),
        (
            {
                **spec("p"),
                "input": {"pfs": {"repo": "images", "glob": "/"}, "cross": [{"pfs": {"repo": "images", "glob": "/"}}]},
            },
            "multiple input types set",
        ),
        (
            {
                **spec("p"),
                "input": {
                    "cross": [{"pfs": {"repo": "images", "glob": "/"}}, {"pfs": {"repo": "images", "glob": "/*"}}]
                },
            },
            'name "images" was used more than once',
        ),
        (spec("p", reprocess_spec="never"), "ReprocessSpec must be one of 'until_success' or 'every_job'"),
        (spec("p", service={"internal_port": 8080}), "service pipelines are not supported by tusk"),
    ],
)
def test_invalid_specs_are_invalid_argument(
    server: RunningServer, client: tusk.Client, bad: dict[str, Any], message: str
) -> None:
    make_repo(server)
    with pytest.raises(errors.InvalidArgument) as info:
        client.pps.create_pipeline(bad)
    assert message in info.value.message


def test_dry_run_creates_nothing(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"), dry_run=True)
    with pytest.raises(errors.NotFound):
        client.pps.inspect_pipeline("edges")
    with pytest.raises(errors.NotFound):
        client.pps.create_pipeline(spec("edges", repo="nope"), dry_run=True)


# -- jobs from commits ----------------------------------------------------------------------


def test_commit_creates_one_job_per_pipeline_of_a_dag_sharing_the_commit_set_id(
    server: RunningServer, client: tusk.Client
) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("montage", repo="edges"))
    client.pps.create_pipeline(spec("summary", repo="montage"))
    set_id = put(server, "images", "/cat.png")
    jobs = jobs_in_set(server, set_id)
    assert sorted(j.key.pipeline for j in jobs) == ["edges", "montage", "summary"]
    for j in jobs:
        assert j.key.id == set_id
        assert j.pipeline_version == 1
        assert j.state is not JobState.JOB_STATE_UNKNOWN
        out = server.deps.pfs.inspect_commit(CommitRef(RepoKey.of(j.key.pipeline), id=set_id))
        assert out.origin is OriginKind.AUTO
    # Each pipeline also has its creation job, and nothing more.
    for name in ("edges", "montage", "summary"):
        assert len(jobs_of(server, name)) == 2


def test_commit_to_another_branch_creates_no_job(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    server.deps.pfs.put_file(CommitRef(RepoKey.of("images"), branch="dev"), "/a", [b"x"])
    assert len(jobs_of(server, "edges")) == 1


def test_jobs_run_with_the_engine(server: RunningServer, client: tusk.Client) -> None:
    """The created jobs are the ones the engine runs (a smoke check)."""
    make_repo(server)
    client.pps.create_pipeline(spec("edges", cmd=["sh", "-c", "cp -r /pfs/images/. /pfs/out/"]))
    set_id = put(server, "images", "/a.txt", b"hello")
    done = server.deps.jobs.wait_terminal(JobKey("default", "edges", set_id), timeout=30)
    assert done.state is JobState.JOB_SUCCESS
    content = b"".join(server.deps.pfs.get_file(CommitRef(RepoKey.of("edges"), id=set_id), "/a.txt"))
    assert content == b"hello"


def test_list_pipeline_history(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges", cmd=["v1"]))
    client.pps.create_pipeline(spec("edges", cmd=["v2"]), update=True)
    client.pps.create_pipeline(spec("edges", cmd=["v3"]), update=True)
    assert [i.version for i in client.pps.list_pipeline()] == [3]
    assert [i.version for i in client.pps.list_pipeline(history=1)] == [3, 2]
    every = client.pps.list_pipeline("edges", history=-1)
    assert [(i.version, list(i.details.transform.cmd)) for i in every] == [(3, ["v3"]), (2, ["v2"]), (1, ["v1"])]


# -- list -----------------------------------------------------------------------------------


def test_list_pipeline_filters(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("montage", repo="edges"))
    assert [i.pipeline.name for i in client.pps.list_pipeline()] == ["montage", "edges"]  # newest first
    assert [i.pipeline.name for i in client.pps.list_pipeline("edges")] == ["edges"]
    assert client.pps.list_pipeline(projects=["other"]) == []
    assert len(client.pps.list_pipeline(projects=["default"])) == 2
    assert all(not i.HasField("details") for i in client.pps.list_pipeline(details=False))
    set_id = jobs_of(server, "montage")[0].key.id  # montage's creation job: only montage
    assert [i.pipeline.name for i in client.pps.list_pipeline(commit_set=set_id)] == ["montage"]
    with pytest.raises(errors.NotFound):
        client.pps.list_pipeline("nope")


def test_list_pipeline_jq_filter(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("montage", repo="edges"))
    stub = client.pps.stub
    request = pps_pb2.ListPipelineRequest(details=True, jqFilter='.details.input.pfs.repo == "edges"')
    assert [i.pipeline.name for i in stub.ListPipeline(request)] == ["montage"]
    with pytest.raises(Exception) as info:
        list(stub.ListPipeline(pps_pb2.ListPipelineRequest(jqFilter="((")))
    assert info.value.code().name == "INVALID_ARGUMENT"  # type: ignore[attr-defined]


def test_list_pipeline_pages(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    for name in ("a", "b", "c"):
        client.pps.create_pipeline(spec(name))
    stub = client.pps.stub
    page = pps_pb2.ListPipelineRequest(page=pps_pb2.PipelinePage(page_size=2, page_index=1))
    assert [i.pipeline.name for i in stub.ListPipeline(page)] == ["a"]
    bad = pps_pb2.ListPipelineRequest(page=pps_pb2.PipelinePage(page_size=-1))
    with pytest.raises(Exception) as info:
        list(stub.ListPipeline(bad))
    assert info.value.code().name == "INVALID_ARGUMENT"  # type: ignore[attr-defined]


def test_inspect_missing_pipeline_is_not_found(client: tusk.Client) -> None:
    with pytest.raises(errors.NotFound) as info:
        client.pps.inspect_pipeline("nope")
    assert info.value.message == 'pipeline "default/nope" not found'
