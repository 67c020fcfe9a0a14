"""``tusk serve --engine on|standby|off`` on a SQLite store: standby is refused (it needs a
store several servers share), off serves the API and runs no job, and StopJob there is
UNAVAILABLE saying no engine runs."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

import tusk
from tests.conftest import RunningServer
from tests.integration.test_engine_grpc import create_repo, head_id, put_files
from tusk.proto.pps_v2 import pps_pb2
from tuskd.config import ServerConfig, engine_mode
from tuskd.domain.errors import InvalidArgument
from tuskd.wiring import open_deps


def test_standby_on_sqlite_and_an_unknown_mode_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="--engine standby needs a metadata store several servers share"):
        open_deps(ServerConfig(address="127.0.0.1:0", data_dir=tmp_path / "d", engine="standby"))
    with pytest.raises(InvalidArgument, match="expected one of on, standby, off"):
        engine_mode("maybe")
    deps = open_deps(ServerConfig(address="127.0.0.1:0", data_dir=tmp_path / "d"))  # nothing was left held
    deps.close()


def test_a_server_with_the_engine_off_serves_the_api_and_refuses_stop_job(make_server: object) -> None:
    server: RunningServer = make_server(engine="off")  # type: ignore[operator]
    assert server.deps.leadership is not None and not server.deps.leadership.leading
    with server.client() as client:
        create_repo(client, "images")
        client.pps.create_pipeline(
            {
                "pipeline": {"name": "edges"},
                "transform": {"cmd": ["sh", "-c", "true"]},
                "input": {"pfs": {"repo": "images", "glob": "/*"}},
            }
        )
        put_files(client, "images", {"/a.png": b"alpha"})
        job = f"edges@{head_id(client, 'images')}"
        assert client.pps.inspect_job(job).state == pps_pb2.JOB_CREATED  # recorded, not run here
        with pytest.raises(tusk.TuskError, match=r"this server does not run \(--engine off\)") as caught:
            client.pps.stop_job(job)
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert server.deps.engine.running() == []  # type: ignore[attr-defined]
