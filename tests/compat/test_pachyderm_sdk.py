"""The official Pachyderm Python client (pachyderm-sdk 2.12.2) against a real tusk server.

It speaks Pachyderm's wire format with its own generated messages (betterproto); nothing of
tusk's is imported on the client side of these calls.
"""

from __future__ import annotations

import threading
import time

import pytest

pachyderm_sdk = pytest.importorskip("pachyderm_sdk", reason="pachyderm-sdk is a test dependency")
from pachyderm_sdk.api import pfs, pps  # noqa: E402


@pytest.fixture
def sdk(server: object) -> object:
    host, port = server.address.rsplit(":", 1)  # type: ignore[attr-defined]
    client = pachyderm_sdk.Client(host=host, port=int(port))
    yield client
    client._channel.close()


def _edges_pipeline(sdk: object, cmd: list[str], glob: str = "/*") -> None:
    sdk.pps.create_pipeline(  # type: ignore[attr-defined]
        pipeline=pps.Pipeline(name="edges"),
        transform=pps.Transform(cmd=cmd, image="pachyderm/opencv"),
        input=pps.Input(pfs=pps.PfsInput(repo="images", glob=glob)),
    )


def test_sdk_drives_repos_files_pipelines_and_jobs(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="images"))  # type: ignore[attr-defined]
    repos = [r.repo.name for r in sdk.pfs.list_repo()]  # type: ignore[attr-defined]
    assert "images" in repos

    with sdk.pfs.commit(branch=pfs.Branch.from_uri("images@master")) as commit:  # type: ignore[attr-defined]
        commit.put_file_from_bytes(path="/a.txt", data=b"hello\n")
    _edges_pipeline(sdk, ["sh", "-c", "for f in /pfs/images/*; do wc -c < $f > /pfs/out/$(basename $f).n; done"])
    info = sdk.pps.inspect_pipeline(pipeline=pps.Pipeline(name="edges"))  # type: ignore[attr-defined]
    assert info.pipeline.name == "edges"

    jobs = list(sdk.pps.list_job(pipeline=pps.Pipeline(name="edges")))  # type: ignore[attr-defined]
    assert len(jobs) == 1
    job = sdk.pps.inspect_job(job=jobs[0].job, wait=True, details=True)  # type: ignore[attr-defined]
    assert job.state == pps.JobState.JOB_SUCCESS, job.reason
    assert (job.data_processed, job.data_skipped, job.data_total) == (1, 0, 1)
    assert job.details.transform.image == "pachyderm/opencv"
    assert job.output_commit.id == job.job.id

    out = b"".join(
        chunk.value
        for chunk in sdk.pfs.get_file(  # type: ignore[attr-defined]
            file=pfs.File.from_uri(f"edges@{job.job.id}:/a.txt.n")
        )
    )
    assert out.strip() == b"6"

    # A second commit: a new job sharing the commit's global ID, skipping the unchanged datum.
    with sdk.pfs.commit(branch=pfs.Branch.from_uri("images@master")) as commit:  # type: ignore[attr-defined]
        commit.put_file_from_bytes(path="/b.txt", data=b"hi\n")
    newest = next(iter(sdk.pps.list_job(pipeline=pps.Pipeline(name="edges"))))  # type: ignore[attr-defined]
    done = sdk.pps.inspect_job(job=newest.job, wait=True)  # type: ignore[attr-defined]
    assert (done.data_processed, done.data_skipped, done.data_total) == (1, 1, 2)


def test_sdk_stops_a_running_job(sdk: object) -> None:
    sdk.pfs.create_repo(repo=pfs.Repo(name="images"))  # type: ignore[attr-defined]
    _edges_pipeline(sdk, ["sleep", "600"])
    with sdk.pfs.commit(branch=pfs.Branch.from_uri("images@master")) as commit:  # type: ignore[attr-defined]
        commit.put_file_from_bytes(path="/a.txt", data=b"x")
    deadline = time.monotonic() + 30
    while True:
        newest = next(iter(sdk.pps.list_job(pipeline=pps.Pipeline(name="edges"))))  # type: ignore[attr-defined]
        if newest.state == pps.JobState.JOB_RUNNING and newest.job.id:
            break
        assert time.monotonic() < deadline, f"job never ran: {newest.state}"
        time.sleep(0.05)
    waited: list[object] = []
    waiter = threading.Thread(
        target=lambda: waited.append(sdk.pps.inspect_job(job=newest.job, wait=True))  # type: ignore[attr-defined]
    )
    waiter.start()
    sdk.pps.stop_job(job=newest.job, reason="enough")  # type: ignore[attr-defined]
    stopped = sdk.pps.inspect_job(job=newest.job)  # type: ignore[attr-defined]
    assert stopped.state == pps.JobState.JOB_KILLED
    assert stopped.reason == "enough"
    waiter.join(30)
    assert waited and waited[0].state == pps.JobState.JOB_KILLED  # type: ignore[attr-defined]


def test_sdk_sees_not_found_as_a_grpc_error(sdk: object) -> None:
    import grpc

    with pytest.raises(grpc.RpcError) as info:
        sdk.pps.inspect_job(job=pps.Job(pipeline=pps.Pipeline(name="nope"), id="0" * 32))  # type: ignore[attr-defined]
    assert info.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
