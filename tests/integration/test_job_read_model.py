"""InspectJob from the job read model (services/job_views.py) never answers a job older than the
change a client already saw: after StopJob, DeleteJob and a deleted pipeline on this server, after
a change another server on the same PostgreSQL database made (seen on a WaitJob there first), and
after the server lost its database notifications. Both ``details`` variants, and ``wait``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import psycopg
import pytest

import tusk
from tests.conftest import RunningServer, ServerProcess
from tests.reliability.common import pipeline_spec, put_files
from tests.s3servers import S3Server
from tests.shared_db import servers_on_one_database
from tusk import errors
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.jobs import JobKey

pytestmark = pytest.mark.timeout(120)



def _held_job(client: tusk.Client, gate: Path, name: str = "copy") -> str:
    """A job of ``name`` whose datum waits for ``gate`` (it stays unfinished until then)."""
    client.pfs.create_repo(f"{name}_in")
    script = f'while [ ! -e "{gate}" ]; do sleep 0.05; done; cp "${name}_in" /pfs/out/'
    client.pps.create_pipeline(pipeline_spec(name, f"{name}_in", script))
    commit = put_files(client, f"{name}_in", {"/a": b"alpha"})
    return f"{name}@{commit}"


def _until(check: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    """Wait for ``check`` (not a timing assertion: ``limit`` only bounds a hang)."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def _key(job: str) -> JobKey:
    pipeline, _, job_id = job.partition("@")
    return JobKey("default", pipeline, job_id)


def test_stop_job_is_seen_by_the_next_inspect_with_and_without_details(server: RunningServer, tmp_path: Path) -> None:
    with server.client() as client:
        job = _held_job(client, tmp_path / "go")
        before = {d: client.pps.inspect_job(job, details=d) for d in (True, False)}
        assert _key(job) in server.deps.jobs.views  # remembered: the next inspect is served from it
        assert all(info.state != pps_pb2.JOB_KILLED for info in before.values())
        client.pps.stop_job(job, reason="stopped by the test")
        for details in (True, False):
            info = client.pps.inspect_job(job, details=details)
            assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "stopped by the test")
            assert info.HasField("finished")
            assert info.HasField("details") == details
            if details:
                assert list(info.details.transform.cmd)[:2] == ["sh", "-c"]
                assert info.details.input.pfs.commit == job.partition("@")[2]


def test_the_details_variants_match_what_list_job_answers(client: tusk.Client, tmp_path: Path) -> None:
    job = _held_job(client, tmp_path / "go")
    (tmp_path / "go").touch()
    done = client.pps.inspect_job(job, wait=True, details=True)  # the wait variant
    assert done.state == pps_pb2.JOB_SUCCESS
    for details in (True, False):
        inspected = client.pps.inspect_job(job, details=details)
        listed = next(iter(client.pps.list_job(pipeline="copy", details=details)))
        assert inspected == listed
        assert inspected.HasField("details") == details
        assert inspected == client.pps.inspect_job(job, details=details)  # the remembered answer
    assert client.pps.inspect_job(job, details=True) == done
    done.ClearField("details")
    assert client.pps.inspect_job(job, details=False) == done


def test_wait_job_and_inspect_agree_on_every_change(client: tusk.Client, tmp_path: Path) -> None:
    job = _held_job(client, tmp_path / "go")
    stream = client.pps.wait_job(job, details=True, heartbeat=3600)
    next(stream)
    (tmp_path / "go").touch()
    for response in stream:
        if response.heartbeat:
            continue
        # Whatever WaitJob reported, InspectJob answers that change or a later one, never older.
        seen = client.pps.inspect_job(job, details=True)
        assert seen.data_processed >= response.job_info.data_processed
        assert _order(seen.state) >= _order(response.job_info.state)
    assert client.pps.inspect_job(job, details=True).state == pps_pb2.JOB_SUCCESS


def _order(state: int) -> int:
    ladder = [pps_pb2.JOB_CREATED, pps_pb2.JOB_STARTING, pps_pb2.JOB_RUNNING, pps_pb2.JOB_FINISHING]
    return ladder.index(state) if state in ladder else len(ladder)  # terminal last


def test_a_deleted_job_and_a_deleted_pipelines_jobs_are_not_found(client: tusk.Client, tmp_path: Path) -> None:
    (tmp_path / "go").touch()
    job = _held_job(client, tmp_path / "go")
    client.pps.inspect_job(job, wait=True)
    client.pps.inspect_job(job, details=True)
    client.pps.delete_job(job)
    for details in (True, False):
        with pytest.raises(errors.NotFound):
            client.pps.inspect_job(job, details=details)

    other = put_files(client, "copy_in", {"/b": b"bravo"})
    client.pps.inspect_job(f"copy@{other}", wait=True)
    client.pps.inspect_job(f"copy@{other}", details=True)
    client.pps.delete_pipeline("copy")
    with pytest.raises(errors.NotFound):
        client.pps.inspect_job(f"copy@{other}", details=True)


def test_a_change_on_another_server_is_seen_after_its_wait_job_reports_it(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    leader, standby = servers_on_one_database(
        server_process, pg_url, seaweedfs, tmp_path, {"leader": "on", "standby": "standby"}
    )
    with leader.client() as c, standby.client() as s:
        job = _held_job(c, tmp_path / "go")
        cached = {d: s.pps.inspect_job(job, details=d) for d in (True, False)}  # remembered on the standby
        assert cached[True].state != pps_pb2.JOB_KILLED
        stream = s.pps.wait_job(job, heartbeat=3600)  # no heartbeat re-read within the test
        next(stream)
        c.pps.stop_job(job, reason="stopped on the leader")
        states = [r.job_info.state for r in stream if not r.heartbeat]
        assert states[-1] == pps_pb2.JOB_KILLED
        for details in (True, False):  # the standby's WaitJob saw it: so does its InspectJob
            info = s.pps.inspect_job(job, details=details)
            assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "stopped on the leader")
            assert info.HasField("details") == details

        c.pps.delete_job(job)  # a removal on the leader reaches the standby's read model too

        def gone() -> bool:
            try:
                s.pps.inspect_job(job, details=True)
            except errors.NotFound:
                return True
            return False

        _until(gone, "the standby forgets a job the leader deleted")


def test_lost_database_notifications_forget_every_job(make_server: Callable[..., RunningServer], pg_url: str) -> None:
    server = make_server(store=pg_url)
    with server.client() as client:
        client.pfs.create_repo("words")
        client.pps.create_pipeline(pipeline_spec("copy", "words", 'cp "$words" /pfs/out/'))
        commit = put_files(client, "words", {"/a": b"alpha"})
        client.pps.inspect_job(f"copy@{commit}", wait=True)
        client.pps.inspect_job(f"copy@{commit}", details=True)
    views = server.deps.jobs.views
    assert _key(f"copy@{commit}") in views
    with psycopg.connect(pg_url, autocommit=True) as admin:  # the LISTEN connection is cut
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
        ).fetchall()
    assert cut, "the server holds a LISTEN connection"
    _until(lambda: len(views) == 0, "the read model forgets every job when notifications are lost")
    with server.client() as client:  # and reads the store again
        assert client.pps.inspect_job(f"copy@{commit}").state == pps_pb2.JOB_SUCCESS


def test_a_malformed_request_is_invalid_argument(client: tusk.Client) -> None:
    call = client.channel.unary_unary("/pps_v2.API/InspectJob")
    with pytest.raises(grpc.RpcError) as caught:
        call(b"\x0a\x05\x0a\x03\xff\xfe\xfd", timeout=10)  # job.pipeline.name is not UTF-8
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        call(pps_pb2.InspectJobRequest(job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name="copy"), id="x")).SerializeToString(),
             timeout=10)  # fmt: skip
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_token_and_the_error_mapping_still_apply(make_server: Callable[..., RunningServer], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token-0123456789\n")
    token.chmod(0o600)
    server = make_server(auth_token_file=token)
    job = f"copy@{'a' * 32}"
    with server.client() as anonymous, pytest.raises(errors.Unauthenticated):
        anonymous.pps.inspect_job(job, details=True)
    with server.client(auth_token="s3cret-token-0123456789") as client, pytest.raises(errors.NotFound) as caught:
        client.pps.inspect_job(job, details=True)
    assert "copy" in str(caught.value)
