"""Shared fixtures: a real tusk server on a real port, and real clients.

Every test gets its own data directory (real SQLite file, real blob directory) and its own
in-process server bound to 127.0.0.1 port 0, so tests never share state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

import tusk
from tuskd.app import build_server, set_serving, shutdown
from tuskd.config import ServerConfig
from tuskd.wiring import Deps, open_deps

from .pg import pg_server, pg_url  # noqa: F401 - fixtures: a real PostgreSQL for the tests that ask for one

REPO_ROOT = Path(__file__).resolve().parent.parent

# S3 test servers (SeaweedFS, and moto for injected faults) as session fixtures.
pytest_plugins = ("tests.s3servers", "tests.daskcluster")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files holding long tests (marked ``slow``) run first, each file's tests still in order:
    under `make test`'s workers (pytest-xdist, --dist loadfile --no-loadscope-reorder) a long
    test handed out last would leave the other workers idle while it runs."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order is otherwise kept


@dataclass
class RunningServer:
    address: str
    port: int
    config: ServerConfig
    deps: Deps
    server: grpc.Server

    def client(self, **kwargs: object) -> tusk.Client:
        return tusk.Client(self.address, **kwargs)  # type: ignore[arg-type]


def start_server(config: ServerConfig) -> RunningServer:
    deps = open_deps(config)
    server, port = build_server(config, deps)
    deps.start()
    server.start()
    set_serving(deps, True)
    return RunningServer(f"127.0.0.1:{port}", port, config, deps, server)


def stop_server(running: RunningServer) -> None:
    shutdown(running.server, running.deps, grace=2)


# TUSK_TEST_STORE=postgresql runs every in-process server of the suite with its metadata in a
# fresh database of the session's PostgreSQL (tests/pg.py), instead of SQLite.
ON_POSTGRES = os.environ.get("TUSK_TEST_STORE", "sqlite") == "postgresql"


def _test_store(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("pg_url")) if ON_POSTGRES else None


@pytest.fixture
def server_config(tmp_path: Path, request: pytest.FixtureRequest) -> ServerConfig:
    return ServerConfig(
        address="127.0.0.1:0", data_dir=tmp_path / "data", rpc_workers=64, datum_workers=2, store=_test_store(request)
    )


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    running = start_server(server_config)
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def client(server: RunningServer) -> Iterator[tusk.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def make_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    """Factory for servers with custom config; all are stopped at the end of the test."""
    started: list[RunningServer] = []
    # On PostgreSQL each data directory gets a database of its own, as it has its own SQLite file.
    stores: dict[object, str | None] = {tmp_path / "data": _test_store(request)}
    extra: list[str] = []

    def store_for(data_dir: object) -> str | None:
        if data_dir not in stores:
            pg = request.getfixturevalue("pg_server")
            extra.append(pg.create_database())
            stores[data_dir] = pg.url(extra[-1])
        return stores[data_dir]

    def factory(**overrides: object) -> RunningServer:
        data_dir = overrides.get("data_dir", tmp_path / "data")
        base = ServerConfig(
            address="127.0.0.1:0",
            data_dir=tmp_path / "data",
            rpc_workers=64,
            datum_workers=2,
            store=store_for(data_dir) if ON_POSTGRES else None,
        )
        running = start_server(replace(base, **overrides))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield factory
    for running in started:
        stop_server(running)
    for name in extra:
        request.getfixturevalue("pg_server").drop_database(name)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A tusk server in its own process (for crash and signal tests)."""

    proc: subprocess.Popen[bytes]
    address: str
    data_dir: Path
    log_path: Path

    tls_ca: Path | None = None

    def client(self) -> tusk.Client:
        if self.tls_ca is not None:
            return tusk.Client(f"grpcs://{self.address}", root_certificates=self.tls_ca)
        return tusk.Client(self.address)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def spawn_server(
    data_dir: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None, tls_ca: Path | None = None
) -> ServerProcess:
    port = free_port()
    address = f"127.0.0.1:{port}"
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed when the process is reaped
    proc = subprocess.Popen(
        [sys.executable, "-m", "tusk", "serve", "--address", address, "--data-dir", str(data_dir), *extra],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    log_file.close()
    sp = ServerProcess(proc, address, data_dir, log_path, tls_ca)
    deadline = time.monotonic() + 30
    with sp.client() as c:
        while True:
            try:
                if c.health(timeout=1) == "SERVING":
                    break
            except tusk.TuskError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{sp.log()}")
            time.sleep(0.05)
    return sp


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[object]:
    """Factory that starts `tusk serve` subprocesses; all are killed at the end of the test."""
    procs: list[ServerProcess] = []

    def factory(
        *extra: str, data_dir: Path | None = None, env: dict[str, str] | None = None, tls_ca: Path | None = None
    ) -> ServerProcess:
        log_path = tmp_path / f"server{len(procs)}.log"
        sp = spawn_server(data_dir or tmp_path / "data", log_path, *extra, env=env, tls_ca=tls_ca)
        procs.append(sp)
        return sp

    yield factory
    for sp in procs:
        if sp.proc.poll() is None:
            sp.proc.kill()
        sp.proc.wait(timeout=30)
