"""Updating pipelines through a real server and the real client: versions, salts, killed jobs,
provenance (helpers: test_pipelines.py)."""

from __future__ import annotations

import pytest

import tusk
from tests.conftest import RunningServer
from tests.integration.test_pipelines import job, jobs_of, make_repo, put, spec
from tusk import errors
from tuskd.domain.jobs import JobKey
from tuskd.domain.pfs import BranchKey, CommitRef, RepoKey
from tuskd.domain.states import JobState

pytestmark = pytest.mark.timeout(60)


# -- update ---------------------------------------------------------------------------------


def test_update_bumps_version_keeps_salt_and_creates_a_job(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    salt = client.pps.inspect_pipeline("edges").details.salt
    client.pps.create_pipeline(spec("edges", cmd=["echo", "v2"]), update=True)
    info = client.pps.inspect_pipeline("edges")
    assert info.version == 2
    assert info.details.salt == salt
    assert list(info.details.transform.cmd) == ["echo", "v2"]
    jobs = jobs_of(server, "edges")
    assert [j.pipeline_version for j in jobs] == [1, 2]
    # The new job's output commit follows the spec commit of version 2.
    assert info.spec_commit.id == jobs[1].key.id


def test_update_with_reprocess_renews_the_salt(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    salt = client.pps.inspect_pipeline("edges").details.salt
    client.pps.update_pipeline(spec("edges"), reprocess=True)
    info = client.pps.inspect_pipeline("edges")
    assert info.version == 2
    assert info.details.salt != salt and len(info.details.salt) == 32


def test_update_of_a_missing_pipeline_creates_it(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"), update=True)
    assert client.pps.inspect_pipeline("edges").version == 1


def test_update_kills_the_old_versions_unfinished_jobs(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges", cmd=["sleep", "30"]))
    set_id = put(server, "images", "/a")
    old = JobKey("default", "edges", set_id)
    client.pps.create_pipeline(spec("edges", cmd=["true"]), update=True)
    killed = job(server, old)
    assert killed.state is JobState.JOB_KILLED
    assert killed.reason == "pipeline updated to version 2"
    # Its output commit is finished with pachd's error, so nothing downstream hangs on it.
    out = server.deps.pfs.inspect_commit(CommitRef(RepoKey.of("edges"), id=set_id))
    assert out.finished is not None and out.error == f"job edges@{set_id} was killed: pipeline updated to version 2"
    assert jobs_of(server, "edges")[-1].pipeline_version == 2


def test_update_with_new_inputs_changes_the_provenance(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    make_repo(server, "labels")
    client.pps.create_pipeline(spec("edges"))
    client.pps.create_pipeline(spec("edges", repo="labels"), update=True)
    branch = server.deps.pfs.inspect_branch(BranchKey(RepoKey.of("edges"), "master"))
    assert {str(b) for b in branch.direct_provenance} == {"labels@master", "edges.spec@master"}
    assert [j.pipeline_version for j in jobs_of(server, "edges")] == [1, 2]
    put(server, "images", "/a")
    assert len(jobs_of(server, "edges")) == 2  # images no longer feeds edges
    put(server, "labels", "/a")
    assert len(jobs_of(server, "edges")) == 3


def test_update_cannot_change_the_output_branch(server: RunningServer, client: tusk.Client) -> None:
    make_repo(server)
    client.pps.create_pipeline(spec("edges"))
    with pytest.raises(errors.InvalidArgument, match="cannot change the output branch"):
        client.pps.create_pipeline(spec("edges", output_branch="other"), update=True)
