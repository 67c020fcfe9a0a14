"""A job ended by another server stops running on the engine leader.

Two real ``tusk serve`` processes on one PostgreSQL database and one SeaweedFS bucket, the
leader running a datum that hangs: updating the pipeline through the API server that is not the
leader kills the job in the database (the one terminate path), and the leader, told through
LISTEN/NOTIFY, kills the datum's processes instead of leaving them to run to their end."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.reliability.common import marked_processes, pipeline_spec, put_files, wait_for
from tests.s3servers import S3Server
from tests.shared_db import servers_on_one_database
from tusk.proto.pps_v2 import pps_pb2

pytestmark = pytest.mark.timeout(180)

def test_a_pipeline_updated_through_another_server_stops_the_leaders_datums(
    pg_url: str, seaweedfs: S3Server, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    leader, api = servers_on_one_database(server_process, pg_url, seaweedfs, tmp_path, {"leader": "on", "api": "off"})
    marker = f"tusk-elsewhere-{uuid.uuid4().hex}"
    started = tmp_path / "started"
    try:
        with leader.client() as c:
            c.pfs.create_repo("images")
            c.pps.create_pipeline(pipeline_spec("hang", "images", f'touch "{started}"; sleep 1000', {"MARK": marker}))
            commit = put_files(c, "images", {"/a": b"a"})
        wait_for(started.exists, timeout=60, what="the datum to start on the leader")
        assert marked_processes(marker), "the datum runs on the leader"
        with api.client() as s:
            s.pps.create_pipeline(pipeline_spec("hang", "images", "true", update=True))
            info = s.pps.inspect_job(f"hang@{commit}")
            assert info.state == pps_pb2.JOB_KILLED, info.reason
        wait_for(lambda: marked_processes(marker) == [], timeout=30, what="the leader to kill the datum")
        with leader.client() as c:
            assert c.pps.inspect_job(f"hang@{commit}").state == pps_pb2.JOB_KILLED  # not overwritten
    finally:
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)
