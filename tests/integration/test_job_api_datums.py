"""The pps_v2 datum and log RPCs over gRPC, on a real pipeline run by the server's engine
(helpers and the ``failed_run`` fixture: test_job_api.py)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

import tusk
from tests.conftest import RunningServer
from tests.integration.test_engine import ME, pid_alive
from tests.integration.test_job_api import failed_run, wait_until
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.pfs import CommitRef, RepoKey

__all__ = ["failed_run"]  # fixtures shared with test_job_api.py


# --------------------------------------------------------------------------------------------
# Datums and logs (a real pipeline run by the server's engine)
# --------------------------------------------------------------------------------------------


def test_list_and_inspect_datums(failed_run: pps_pb2.JobInfo, client: tusk.Client) -> None:
    assert failed_run.state == pps_pb2.JOB_FAILURE
    job = f"edges@{failed_run.job.id}"
    datums = list(client.pps.list_datum(job))
    by_path = {d.data[0].file.path: d for d in datums}
    assert sorted(by_path) == ["/a.txt", "/b.txt", "/bad.txt"]
    assert by_path["/a.txt"].state == pps_pb2.SUCCESS and by_path["/bad.txt"].state == pps_pb2.FAILED
    assert by_path["/a.txt"].data[0].file.commit.branch.repo.name == "images"
    assert by_path["/a.txt"].data[0].file.commit.id  # the input commit that was read
    failed = list(client.pps.list_datum(job, states=[pps_pb2.FAILED]))
    assert [d.datum.id for d in failed] == [by_path["/bad.txt"].datum.id]
    info = client.pps.inspect_datum(job, failed[0].datum.id)
    assert info.state == pps_pb2.FAILED and info.attempts == 1 and "3" in info.reason
    assert info.datum.job.id == failed_run.job.id
    # Paging over datum IDs with opaque tokens.
    first = list(client.pps.list_datum(job, page_size=2))
    rest = list(client.pps.list_datum(job, page_size=2, page_token=first[-1].page_token))
    assert [d.datum.id for d in first + rest] == sorted(d.datum.id for d in datums)
    with pytest.raises(errors.InvalidArgument):
        list(client.pps.list_datum(job, page_size=2, page_token=first[-1].page_token, reverse=True))
    with pytest.raises(errors.NotFound, match="datum"):
        client.pps.inspect_datum(job, "0" * 64)
    # A dry run over the same input plans the same datum IDs.
    planned = list(client.pps.list_datum_for_input(pps_pb2.Input(pfs=pps_pb2.PFSInput(repo="images", glob="/*"))))
    assert sorted(d.datum.id for d in planned) == sorted(d.datum.id for d in datums)
    stub = client.pps.stub
    with pytest.raises(grpc.RpcError) as err:
        list(stub.ListDatum(pps_pb2.ListDatumRequest()))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Only a running job's datums restart.
    with pytest.raises(errors.FailedPrecondition, match="rerun"):
        client.pps.restart_datum(job, datum_ids=[failed[0].datum.id])


def test_get_logs(failed_run: pps_pb2.JobInfo, client: tusk.Client) -> None:
    job = f"edges@{failed_run.job.id}"
    lines = list(client.pps.get_logs(job=job))
    user = [m for m in lines if m.user]
    assert sorted(m.message for m in user) == [
        "saw /pfs/images/a.txt",
        "saw /pfs/images/b.txt",
        "saw /pfs/images/bad.txt",
    ]
    assert all(m.pipeline_name == "edges" and m.job_id == failed_run.job.id and not m.master for m in lines)
    # pachd's worker lines around each datum's user code (3 datums ran: 2 succeeded, 1 failed).
    worker = [m.message for m in lines if not m.user]
    assert worker.count("beginning to run user code") == 3
    assert sum(w.startswith("finished running user code after ") for w in worker) == 2
    assert sum(w.startswith("errored running user code after ") for w in worker) == 1
    bad = next(m for m in user if m.message.endswith("bad.txt"))
    assert [d.path for d in bad.data] == ["/bad.txt"]
    only = [m.message for m in client.pps.get_logs(job=job, datum=bad.datum_id)]
    assert only[:2] == ["beginning to run user code", "saw /pfs/images/bad.txt"]
    assert only[2].startswith("errored running user code after ") and len(only) == 3
    filtered = [m.message for m in client.pps.get_logs(job=job, data_filters=["/a.txt"]) if m.user]
    assert filtered == ["saw /pfs/images/a.txt"]
    assert len(list(client.pps.get_logs(pipeline="edges", tail=1))) == 1
    master = list(client.pps.get_logs(pipeline="edges", master=True))
    assert all(m.master and not m.user for m in master)
    assert [m.message for m in master][-2:] == [
        "updating job info, state: JOB_FAILURE",
        f"failing job with reason: {failed_run.reason}",
    ]
    # follow on a finished job: everything, then the end.
    assert len(list(client.pps.get_logs(job=job, follow=True, timeout=10))) == len(lines)
    with pytest.raises(errors.NotFound):
        list(client.pps.get_logs(pipeline="nope"))
    with pytest.raises(errors.InvalidArgument):
        list(client.pps.get_logs())
    # Deleting the job takes its logs along.
    client.pps.delete_job(job)
    assert list(client.pps.get_logs(pipeline="edges")) == []


def test_stop_job_returns_once_its_processes_are_gone(
    server: RunningServer, client: tusk.Client, tmp_path: Path
) -> None:
    pfs = server.deps.pfs
    pfs.create_repo(RepoKey.of("images"))
    pfs.put_file(CommitRef(RepoKey.of("images"), "master"), "/a.txt", [b"a"])
    pidfile = tmp_path / "pid"
    client.pps.create_pipeline(
        {
            "pipeline": {"name": "sleepy"},
            "transform": {
                "cmd": ["sh", "-c", f'{ME} > "$PIDFILE"; exec sleep 60'],
                "env": {"PIDFILE": str(pidfile)},
            },
            "input": {"pfs": {"repo": "images", "glob": "/*"}},
        }
    )
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() != "", timeout=20)
    pid = pidfile.read_text().strip()
    assert pid_alive(pid)
    job = next(client.pps.list_job("sleepy"))
    assert job.state == pps_pb2.JOB_RUNNING
    client.pps.stop_job(f"sleepy@{job.job.id}", timeout=30)
    info = client.pps.inspect_job(f"sleepy@{job.job.id}")
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "job stopped")
    assert not pid_alive(pid)
