"""Two real ``tusk serve`` processes on one PostgreSQL database and one SeaweedFS bucket: the
one started ``--engine on`` leads (holds the engine lease) and runs the job; the one started
``--engine standby`` serves the API but runs nothing. SIGKILL the leader in the middle of a job
of slow datums: the standby takes the lease once it lapses (epoch + 1), resumes the job as a
restart does (``restart`` + 1) and finishes it, without running again a datum the leader had
recorded; a write of the dead leader's epoch is refused. StopJob sent to the standby is handed
to the leader through the database, which kills the job's processes. A server with a local blob
directory is refused on a database another server uses, with the reason."""

from __future__ import annotations

import collections
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ServerProcess, spawn_server
from tests.reliability.common import crash, marked_processes, pipeline_spec, put_files, tree, wait_for
from tests.s3servers import S3Server
from tests.shared_db import S3_ENV, servers_on_one_database
from tusk.proto.pps_v2 import pps_pb2
from tuskd.domain.errors import Unavailable
from tuskd.domain.pfs import RepoKey
from tuskd.store.postgres import Fenced, PostgresStore

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


# Records each run of a datum in a host file, sleeps $SLOW seconds (the window in which the
# leader is killed), then upper-cases its input.
UPPER = 'echo "$PACH_DATUM_ID" >> "$RAN"; sleep "$SLOW"; tr a-z A-Z < "$images" > "/pfs/out/$(basename "$images")"'


def _lease(url: str) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT epoch, holder FROM engine_lease WHERE id = 1").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def test_the_standby_takes_over_a_job_when_the_leader_is_killed(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    leader, standby = servers_on_one_database(
        server_process, pg_url, seaweedfs, tmp_path, {"leader": "on", "standby": "standby"}, "--datum-workers", "2"
    )
    first_epoch, holder = _lease(pg_url)
    assert f"pid {leader.proc.pid} " in holder

    marker = f"tusk-failover-{uuid.uuid4().hex}"
    ran = tmp_path / "ran"
    files = {f"/img{i:02d}": f"image number {i}\n".encode() for i in range(8)}
    try:
        with standby.client() as c:  # the API of the standby writes to the shared database
            c.pfs.create_repo("images")
            env = {"RAN": str(ran), "MARK": marker, "SLOW": "1"}
            c.pps.create_pipeline(pipeline_spec("edges", "images", UPPER, env))
            commit = put_files(c, "images", files)
            job = f"edges@{commit}"

            def recorded() -> set[str]:
                return {d.datum.id for d in c.pps.list_datum(job) if d.state == pps_pb2.SUCCESS}

            wait_for(lambda: len(recorded()) >= 2, timeout=60, what="two datums recorded by the leader")
            crash(leader)
            done_before = recorded()
            before = c.pps.inspect_job(job)
            assert before.state == pps_pb2.JOB_RUNNING and before.restart == 0
            assert 2 <= len(done_before) < len(files)

            [info] = c.pps.wait_job_done(job)
            assert (info.state, info.restart) == (pps_pb2.JOB_SUCCESS, 1), info.reason
            assert (info.data_processed, info.data_failed, info.data_total) == (len(files), 0, len(files))
            runs = collections.Counter(ran.read_text().split())
            assert set(runs) == {d.datum.id for d in c.pps.list_datum(job)}
            assert {d: runs[d] for d in done_before} == dict.fromkeys(done_before, 1), "a finished datum ran again"
            assert tree(c, job) == {p: d.upper() for p, d in files.items()}

        second_epoch, holder = _lease(pg_url)
        assert second_epoch == first_epoch + 1
        assert f"pid {standby.proc.pid} " in holder

        # The dead leader's late write, at its old epoch, is refused; nothing is written.
        late = PostgresStore(pg_url)
        try:
            late.fence(first_epoch)
            with pytest.raises(Fenced) as fenced, late.write() as tx:
                tx.insert_repo(RepoKey.of("late"), "", 1)
            assert isinstance(fenced.value, Unavailable)
            with late.read() as tx:
                assert tx.get_repo(RepoKey.of("late")) is None
        finally:
            late.close()
    finally:
        for pid in marked_processes(marker):  # datums the killed leader had started
            os.kill(pid, signal.SIGKILL)


def test_stop_job_on_the_standby_is_run_by_the_leader(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    leader, standby = servers_on_one_database(
        server_process, pg_url, seaweedfs, tmp_path, {"leader": "on", "standby": "standby"}
    )
    marker = f"tusk-stop-{uuid.uuid4().hex}"
    started = tmp_path / "started"
    with leader.client() as c:
        c.pfs.create_repo("images")
        c.pps.create_pipeline(pipeline_spec("hang", "images", f'touch "{started}"; sleep 1000', {"MARK": marker}))
        commit = put_files(c, "images", {"/a": b"a"})
    wait_for(started.exists, timeout=60, what="the datum to start on the leader")
    assert marked_processes(marker), "the datum runs on the leader"
    with standby.client() as s:
        s.pps.stop_job(f"hang@{commit}", reason="stopped through the standby")
        info = s.pps.inspect_job(f"hang@{commit}")
    assert (info.state, info.reason) == (pps_pb2.JOB_KILLED, "stopped through the standby")
    assert marked_processes(marker) == []  # StopJob returned once the leader's processes were gone


def test_a_server_with_local_blobs_is_refused_on_a_shared_database(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    blobs = seaweedfs.url(f"failover/{uuid.uuid4().hex}")
    server_process("--store", pg_url, "--blobs", blobs, data_dir=tmp_path / "a", env=S3_ENV)
    with pytest.raises(RuntimeError, match="servers sharing a database must share a blob store"):
        spawn_server(tmp_path / "b", tmp_path / "b.log", "--store", pg_url)
