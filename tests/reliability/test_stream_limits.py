"""Long streams and waits cannot take the RPC threads from other calls: each kind (WaitJob,
SubscribeCommit, ...) has a bounded number open at once, the ones past it get
RESOURCE_EXHAUSTED saying how to raise the limit, and GetVersion, health and StopJob keep
answering however many streams are attempted."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from tests.conftest import RunningServer, ServerProcess
from tests.reliability.common import put_files, wait_for
from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

LIMIT = 4


def _blocked_job(c: object, tmp_path: Path) -> str:
    """A job whose only datum runs until the test ends; its ``pipeline@id``."""
    started = tmp_path / "started"
    c.pfs.create_repo("in")  # type: ignore[attr-defined]
    c.pps.create_pipeline(  # type: ignore[attr-defined]
        {
            "pipeline": {"name": "block"},
            "transform": {
                "cmd": ["sh", "-c", 'touch "$STARTED"; sleep 600'],
                "env": {"STARTED": str(started), "MARK": uuid.uuid4().hex},
            },
            "input": {"pfs": {"repo": "in", "glob": "/"}},
        }
    )
    commit = put_files(c, "in", {"/a": b"1"})  # type: ignore[arg-type]
    wait_for(started.exists, what="the datum to start")
    return f"block@{commit}"


def _wait_job_request(job: str) -> pps_pb2.WaitJobRequest:
    pipeline, job_id = job.split("@")
    return pps_pb2.WaitJobRequest(job=pps_pb2.Job(pipeline=pps_pb2.Pipeline(name=pipeline), id=job_id))


def test_streams_past_the_limit_are_refused_and_unary_calls_still_answer(
    make_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    server = make_server(rpc_workers=8, max_streams_per_kind=LIMIT)
    with server.client() as c:
        job = _blocked_job(c, tmp_path)
        request = _wait_job_request(job)
        subscribe = pfs_pb2.SubscribeCommitRequest(repo=pfs_pb2.Repo(name="in", type="user"), branch="master")
        open_streams = []
        for _ in range(LIMIT):  # up to the limit: each stream answers its first message
            wait_call = c.pps.stub.WaitJob(request)
            assert next(wait_call).seq > 0
            sub_call = c.pfs.stub.SubscribeCommit(subscribe)
            assert next(sub_call).commit.repo.name == "in"
            open_streams += [wait_call, sub_call]

        # Many more than the limit and than the threads: each is refused, none waits.
        refused = [c.pps.stub.WaitJob(request) for _ in range(200)]
        refused += [c.pfs.stub.SubscribeCommit(subscribe) for _ in range(50)]
        for call in refused:
            with pytest.raises(grpc.RpcError) as info:
                next(call)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert f"at most {LIMIT}" in info.value.details()
            assert "--max-streams" in info.value.details()
            assert "TUSK_MAX_STREAMS" in info.value.details()

        # Unary calls and health still answer while every stream slot is taken.
        assert c.version().major >= 0
        assert c.health() == "SERVING"
        c.pps.stop_job(job, timeout=30)
        # The stopped job ends the WaitJob streams; their slots free up for new streams.
        for call in open_streams[::2]:
            assert [r.job_info.state for r in call if not r.heartbeat][-1] == pps_pb2.JOB_KILLED
        again = c.pps.stub.WaitJob(request)
        assert next(again).job_info.state == pps_pb2.JOB_KILLED
        for call in open_streams[1::2]:
            call.cancel()


def test_cancelled_streams_give_their_slot_back(make_server: Callable[..., RunningServer]) -> None:
    server = make_server(rpc_workers=8, max_streams_per_kind=1)
    with server.client() as c:
        c.pfs.create_repo("in")
        put_files(c, "in", {"/a": b"1"})
        subscribe = pfs_pb2.SubscribeCommitRequest(repo=pfs_pb2.Repo(name="in", type="user"), branch="master")
        for _ in range(5):  # each one is admitted only if the previous one's slot came back
            admitted = False
            while not admitted:
                call = c.pfs.stub.SubscribeCommit(subscribe)
                try:
                    next(call)
                    admitted = True
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                call.cancel()


def test_the_limit_is_set_by_flag_and_by_environment(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    by_flag = server_process("--max-streams", "1", data_dir=tmp_path / "a")
    by_env = server_process(data_dir=tmp_path / "b", env={"TUSK_MAX_STREAMS": "1"})
    for sp in (by_flag, by_env):
        with sp.client() as c:
            c.pfs.create_repo("in")
            put_files(c, "in", {"/a": b"1"})
            subscribe = pfs_pb2.SubscribeCommitRequest(repo=pfs_pb2.Repo(name="in", type="user"), branch="master")
            first = c.pfs.stub.SubscribeCommit(subscribe)
            next(first)
            with pytest.raises(grpc.RpcError) as info:
                next(c.pfs.stub.SubscribeCommit(subscribe))
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "at most 1 open SubscribeCommit" in info.value.details()
            first.cancel()


def test_a_bad_limit_in_the_environment_stops_the_start(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tusk", "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TUSK_MAX_STREAMS": "lots"},
    )
    assert out.returncode != 0
    assert "--max-streams" in out.stderr and "not a valid integer" in out.stderr
    assert "Traceback" not in out.stderr
