"""Wake-ups across two real ``tusk serve`` processes on one PostgreSQL database (LISTEN/NOTIFY,
store/postgres_events.py): a WaitJob and an InspectJob(wait) on the standby, which runs no
engine, follow a job the leader runs, with the heartbeat far longer than the test (the standby
learns of each change from the notification, not from a periodic re-read); a SubscribeCommit on
the standby sees a commit finished through the leader."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.reliability.common import pipeline_spec, put_files
from tests.s3servers import S3Server
from tests.shared_db import servers_on_one_database
from tusk.proto.pps_v2 import pps_pb2

pytestmark = pytest.mark.timeout(120)



def test_waits_on_the_standby_see_the_leaders_job_changes(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    leader, standby = servers_on_one_database(
        server_process, pg_url, seaweedfs, tmp_path, {"leader": "on", "standby": "standby"}
    )
    gate = tmp_path / "go"
    with leader.client() as c:
        c.pfs.create_repo("words")
        # Each datum waits for the test's go, so the waits below start before the job ends.
        script = f'while [ ! -e "{gate}" ]; do sleep 0.05; done; cp "$words" /pfs/out/'
        c.pps.create_pipeline(pipeline_spec("copy", "words", script))
        commit = put_files(c, "words", {"/a": b"alpha", "/b": b"bravo"})
    job = f"copy@{commit}"

    inspected: list[pps_pb2.JobInfo] = []
    with standby.client() as s:
        stream = s.pps.wait_job(job, heartbeat=3600)  # no heartbeat re-read within the test
        first = next(stream)
        assert first.job_info.state not in (pps_pb2.JOB_SUCCESS, pps_pb2.JOB_FAILURE)
        waiter = threading.Thread(target=lambda: inspected.append(s.pps.inspect_job(job, wait=True)))
        waiter.start()
        gate.touch()
        states = [first.job_info.state] + [r.job_info.state for r in stream if not r.heartbeat]
        waiter.join(60)
    assert states[-1] == pps_pb2.JOB_SUCCESS
    assert pps_pb2.JOB_RUNNING in states  # each change, not just the end
    assert [i.state for i in inspected] == [pps_pb2.JOB_SUCCESS]


def test_subscribe_commit_on_one_server_sees_a_commit_made_through_another(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    leader, standby = servers_on_one_database(
        server_process, pg_url, seaweedfs, tmp_path, {"leader": "on", "standby": "standby"}
    )
    with leader.client() as c, standby.client() as s:
        c.pfs.create_repo("notes")
        before = put_files(c, "notes", {"/n": b"first"})
        seen = iter(s.pfs.subscribe_commit("notes", "master"))
        assert next(seen).commit.id == before  # the stream is open on the standby
        commit = put_files(c, "notes", {"/n": b"second"})  # through the leader
        ids = []
        for info in seen:
            ids.append(info.commit.id)
            if info.commit.id == commit:
                break
    assert ids == [commit]
